//! Closing (RFC 9293 3.6): half-close, passive close, simultaneous close, TIME-WAIT, FIN
//! retransmission and ordering.

use std::net::SocketAddrV4;

use super::*;
use crate::tcp::State;

/// Closes our side: FIN out, the peer ACKs it; returns the connection in FIN-WAIT-2.
fn to_fin_wait_2(h: &mut Harness, c: &mut Conn) -> Seg {
    h.s.tcp_shutdown(h.now, c.h).unwrap();
    let fin = h.expect(&[flags(FIN | ACK), seq(c.iss.wrapping_add(1)), len(0)]);
    assert_eq!(h.state(c), Some(State::FinWait1));
    c.saw(&fin);
    h.inject(&c.seg(ACK));
    h.expect_none();
    assert_eq!(h.state(c), Some(State::FinWait2));
    fin
}

/// RFC 9293 3.10.4 / 3.6 (half-close): after shutdown(Write) the FIN goes out
/// (FIN-WAIT-1, then FIN-WAIT-2 when acknowledged) and data from the peer is still taken in
/// and acknowledged, until its FIN brings TIME-WAIT.
#[test]
fn half_close_keeps_reading() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    to_fin_wait_2(&mut h, &mut c);
    h.inject(&c.data(b"still talking"));
    c.nxt = c.nxt.wrapping_add(13);
    assert_eq!(h.read(&c), b"still talking");
    h.inject(&c.seg(FIN | ACK));
    c.nxt = c.nxt.wrapping_add(1);
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.state(&c), Some(State::TimeWait));
    assert!(h.s.tcp_conn(c.h).unwrap().at_eof());
}

/// RFC 9293 3.10.7.4 (eighth) and 3.10.4: the peer's FIN moves us to CLOSE-WAIT and the
/// reader sees end of stream; we may still send; our close sends the FIN (LAST-ACK), and
/// its ACK ends the connection.
#[test]
fn passive_close() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.seg(FIN | ACK));
    c.nxt = c.nxt.wrapping_add(1);
    h.expect(&[ack(c.nxt)]);
    assert_eq!(h.state(&c), Some(State::CloseWait));
    let mut buf = [0u8; 8];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(0), "end of stream");
    h.send(&c, b"last words");
    let d = h.expect(&[C::Data(b"last words".to_vec())]);
    c.saw(&d);
    h.s.tcp_close(h.now, c.h);
    let fin = h.expect(&[flags(FIN | ACK), seq(c.una)]);
    assert_eq!(h.state(&c), Some(State::LastAck));
    c.saw(&fin);
    h.inject(&c.seg(ACK));
    h.expect_none();
    assert_eq!(h.state(&c), None, "closed and forgotten");
}

/// RFC 9293 3.6 figure 13 (simultaneous close): our FIN crosses the peer's: CLOSING, and
/// the ACK of our FIN brings TIME-WAIT.
#[test]
fn simultaneous_close() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.s.tcp_shutdown(h.now, c.h).unwrap();
    let fin = h.expect(&[flags(FIN | ACK)]);
    // The peer's FIN, sent before it saw ours.
    h.inject(&c.seg(FIN | ACK));
    c.nxt = c.nxt.wrapping_add(1);
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), seq(fin.seq.wrapping_add(1))]);
    assert_eq!(h.state(&c), Some(State::Closing));
    c.saw(&fin);
    h.inject(&c.seg(ACK));
    assert_eq!(h.state(&c), Some(State::TimeWait));
}

/// Closes actively and lets the peer's FIN arrive: returns when TIME-WAIT began.
pub(super) fn to_time_wait(h: &mut Harness, c: &mut Conn) -> Instant {
    h.s.tcp_close(h.now, c.h);
    let fin = h.expect(&[flags(FIN | ACK)]);
    c.saw(&fin);
    h.inject(&c.seg(FIN | ACK));
    c.nxt = c.nxt.wrapping_add(1);
    h.expect(&[ack(c.nxt)]);
    assert_eq!(h.state(c), Some(State::TimeWait));
    h.now
}

/// RFC 9293 3.3.2 / 3.6: TIME-WAIT lasts 2 MSL (60 s with tunstack's 30 s MSL, as Linux):
/// the connection is there a millisecond before, gone at 2 MSL; then the 4-tuple is a
/// closed port again (RFC 9293 3.10.7.1).
#[test]
fn time_wait_lasts_two_msl() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    let t = to_time_wait(&mut h, &mut c);
    h.idle_until(t + secs(60) - ms(1));
    assert_eq!(h.state(&c), Some(State::TimeWait));
    h.idle_until(t + secs(60));
    assert_eq!(h.state(&c), None);
    h.inject(&c.seg(ACK));
    h.expect(&[C::FlagsExact(RST), seq(c.una)]);
}

/// RFC 9293 3.10.7.4 (TIME-WAIT, eighth): a retransmitted FIN (our ACK was lost) is
/// acknowledged again and restarts the 2 MSL timeout.
#[test]
fn time_wait_reacks_retransmitted_fin_and_restarts() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    let t = to_time_wait(&mut h, &mut c);
    h.advance(t + secs(30));
    h.inject(&c.seg(FIN | ACK).seq(c.nxt.wrapping_sub(1)));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    h.idle_until(t + secs(90) - ms(1));
    assert_eq!(h.state(&c), Some(State::TimeWait));
    h.idle_until(t + secs(90));
    assert_eq!(h.state(&c), None);
}

/// RFC 9293 3.10.7.4 (eighth): a FIN is processed only in sequence: one that arrives ahead
/// of missing data is held (a duplicate ACK goes out) until the hole is filled, and then
/// both are acknowledged at once.
#[test]
fn fin_waits_for_missing_data() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(FIN | ACK).seq(c.nxt.wrapping_add(10)));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.state(&c), Some(State::Established));
    h.inject(&c.data(&[5u8; 10]));
    h.expect(&[ack(c.nxt.wrapping_add(11))]);
    assert_eq!(h.state(&c), Some(State::CloseWait));
}

/// RFC 9293 3.8.1 / RFC 6298: an unacknowledged FIN is retransmitted when the
/// retransmission timer fires, with the same sequence number.
#[test]
fn fin_is_retransmitted() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.s.tcp_shutdown(h.now, c.h).unwrap();
    let fin = h.expect(&[flags(FIN | ACK)]);
    let (_, out) = h.next_out(secs(2)).unwrap();
    check(&out[0], &[flags(FIN | ACK), seq(fin.seq), len(0)]);
    assert_eq!(h.state(&c), Some(State::FinWait1));
}

/// RFC 9293 3.10.4 / RFC 1122 4.2.3.4: the FIN rides on the last queued data, and Nagle
/// does not hold that segment back.
#[test]
fn fin_rides_on_the_last_data() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, b"a");
    h.expect(&[len(1)]);
    h.send(&c, b"bc");
    h.expect_none();
    h.s.tcp_shutdown(h.now, c.h).unwrap();
    h.expect(&[
        flags(FIN | ACK),
        C::Data(b"bc".to_vec()),
        seq(c.iss.wrapping_add(2)),
    ]);
}

/// RFC 9293 3.10.4 (CLOSE in SYN-SENT): the connection is deleted, nothing is sent, and no
/// SYN is retransmitted.
#[test]
fn close_in_syn_sent_deletes_quietly() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    h.expect(&[flags(SYN)]);
    h.s.tcp_close(h.now, ch);
    h.expect_none();
    assert!(h.s.tcp_conn(ch).is_none());
    h.idle_until(h.now + secs(10));
}

/// RFC 9293 3.10.7.4 (seventh, CLOSE-WAIT): after the peer's FIN, text beyond it is
/// ignored.
#[test]
fn data_after_fin_is_ignored() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.seg(FIN | ACK));
    c.nxt = c.nxt.wrapping_add(1);
    h.out();
    h.inject(&c.data(b"ghost"));
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 0);
}

/// RFC 9293 3.10.7.4 (fifth, FIN-WAIT-1): an ACK that does not cover our FIN leaves us in
/// FIN-WAIT-1; a FIN then moves to CLOSING, not TIME-WAIT.
#[test]
fn fin_wait_1_needs_the_ack_of_our_fin() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.send(&c, b"data");
    let d = h.expect(&[len(4)]);
    h.s.tcp_shutdown(h.now, c.h).unwrap();
    let fin = h.expect(&[flags(FIN | ACK)]);
    c.saw(&d);
    h.inject(&c.seg(ACK));
    assert_eq!(h.state(&c), Some(State::FinWait1));
    h.inject(&c.seg(FIN | ACK));
    assert_eq!(h.state(&c), Some(State::Closing));
    c.saw(&fin);
    c.nxt = c.nxt.wrapping_add(1);
    h.inject(&c.seg(ACK));
    assert_eq!(h.state(&c), Some(State::TimeWait));
}

/// RFC 1122 4.2.2.13: "if new data is received after CLOSE is called, its TCP SHOULD send
/// a RST to show that data was lost": the closed connection resets and is gone.
#[test]
fn data_after_close_gets_rst() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.s.tcp_close(h.now, c.h);
    let fin = h.expect(&[flags(FIN | ACK)]);
    c.saw(&fin);
    h.inject(&c.seg(ACK));
    h.expect_none();
    h.inject(&c.data(b"too late"));
    h.expect(&[flags(RST), seq(fin.seq.wrapping_add(1))]);
    assert!(h.s.tcp_conn(c.h).is_none());
}

/// After shutdown(Write) (not close) the application still reads: data in FIN-WAIT-2 is
/// taken, not reset (RFC 9293 3.10.4 half-close; contrast RFC 1122 4.2.2.13 after CLOSE).
#[test]
fn data_after_shutdown_is_read() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    to_fin_wait_2(&mut h, &mut c);
    h.inject(&c.data(b"fine"));
    assert_eq!(h.read(&c), b"fine");
}

/// An orphaned connection (closed by the application) waits in FIN-WAIT-2 for the peer's
/// FIN at most `fin_timeout` (60 s, Linux's tcp_fin_timeout), then is dropped silently;
/// one merely shut down for writing waits as long as the application keeps it.
#[test]
fn orphaned_fin_wait_2_times_out() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.s.tcp_close(h.now, c.h);
    let fin = h.expect(&[flags(FIN | ACK)]);
    c.saw(&fin);
    h.inject(&c.seg(ACK));
    let t = h.now;
    assert_eq!(h.state(&c), Some(State::FinWait2));
    h.idle_until(t + secs(60) - ms(1));
    assert_eq!(h.state(&c), Some(State::FinWait2));
    h.idle_until(t + secs(60));
    assert!(h.s.tcp_conn(c.h).is_none());

    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    to_fin_wait_2(&mut h, &mut c);
    h.idle_until(h.now + secs(600));
    assert_eq!(h.state(&c), Some(State::FinWait2));
}

/// RFC 9293 3.6.1 / RFC 6191: a SYN for the 4-tuple of a connection in TIME-WAIT whose
/// sequence number lies beyond RCV.NXT (no timestamps here) cannot be an old duplicate: it
/// opens a new connection at once (as Linux does), instead of waiting out 2 MSL.
#[test]
fn new_syn_in_time_wait_opens_a_new_connection() {
    let mut h = Harness::new();
    let l = h.s.tcp_listen(SocketAddrV4::new(US, LPORT), 4).unwrap();
    let mut c = h.passive_on(l, PPORT, PeerOpts::default());
    to_time_wait(&mut h, &mut c);
    let new_syn = Harness::syn(PPORT, PeerOpts::default()).seq(PEER_ISS.wrapping_add(99_999));
    h.inject(&new_syn);
    h.expect(&[flags(SYN | ACK), ack(PEER_ISS.wrapping_add(100_000))]);
}

/// RFC 5961 4.2 in TIME-WAIT: a SYN that could be an old duplicate (sequence number not
/// beyond RCV.NXT) gets a challenge ACK; the peer (in SYN-SENT, RFC 9293 3.10.7.3) answers
/// it with <SEQ=SEG.ACK><CTL=RST>, which is exact and frees the 4-tuple; its retransmitted
/// SYN then reaches the listener.
#[test]
fn old_syn_in_time_wait_recovers_through_challenge_ack() {
    let mut h = Harness::new();
    let l = h.s.tcp_listen(SocketAddrV4::new(US, LPORT), 4).unwrap();
    let mut c = h.passive_on(l, PPORT, PeerOpts::default());
    to_time_wait(&mut h, &mut c);
    let old_syn = Harness::syn(PPORT, PeerOpts::default()).seq(c.nxt.wrapping_sub(10));
    h.inject(&old_syn);
    let ch = h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    h.inject(&Seg::new(RST).seq(ch.ack));
    h.expect_none();
    h.advance_by(secs(1));
    h.inject(&old_syn);
    h.expect(&[flags(SYN | ACK), ack(c.nxt.wrapping_sub(9))]);
}

/// RFC 1213 / RFC 4022 tcpCurrEstab ("ESTABLISHED or CLOSE-WAIT") and tcpEstabResets
/// (direct transitions from those to CLOSED) follow the connections' states.
#[test]
fn established_counters_follow_states() {
    let mut h = Harness::new();
    let l = h.listen(16);
    let mut a = h.passive_on(l, PPORT, PeerOpts::default());
    let b = h.passive_on(l, PPORT + 1, PeerOpts::default());
    let c = h.passive_on(l, PPORT + 2, PeerOpts::default());
    assert_eq!(h.s.stats().tcp_curr_estab, 3);
    // a: the peer closes (CLOSE-WAIT still counts), then we do (LAST-ACK does not).
    h.inject(&a.seg(FIN | ACK));
    a.nxt = a.nxt.wrapping_add(1);
    assert_eq!(h.s.stats().tcp_curr_estab, 3);
    h.s.tcp_close(h.now, a.h);
    assert_eq!(h.s.stats().tcp_curr_estab, 2);
    // b: we shut down writing (FIN-WAIT-1 does not count).
    h.s.tcp_shutdown(h.now, b.h).unwrap();
    assert_eq!(h.s.stats().tcp_curr_estab, 1);
    // c: reset by the peer: a direct ESTABLISHED -> CLOSED transition.
    h.inject(&c.seg(RST));
    assert_eq!(h.s.stats().tcp_curr_estab, 0);
    assert_eq!(h.s.stats().tcp_estab_resets, 1);
}

/// RFC 6191 section 2: with timestamps, a SYN in TIME-WAIT opens a new connection when its
/// TSval is newer than the last one seen — even with an old-looking sequence number — and
/// gets a challenge ACK when its TSval is not newer.
#[test]
fn syn_in_time_wait_with_timestamps_is_judged_by_tsval() {
    let mut h = Harness::new();
    let l = h.s.tcp_listen(SocketAddrV4::new(US, LPORT), 4).unwrap();
    let mut c = h.passive_on(l, PPORT, PeerOpts::linux());
    to_time_wait(&mut h, &mut c);
    let (last_ts, _) = c.ts.unwrap();
    let stale = Harness::syn(PPORT, PeerOpts::linux())
        .seq(c.nxt.wrapping_sub(10))
        .ts(last_ts, 0);
    h.inject(&stale);
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    let fresh = Harness::syn(PPORT, PeerOpts::linux())
        .seq(c.nxt.wrapping_sub(10))
        .ts(last_ts.wrapping_add(1000), 0);
    h.advance_by(secs(1));
    h.inject(&fresh);
    h.expect(&[flags(SYN | ACK), ack(c.nxt.wrapping_sub(9))]);
}

/// RFC 9293 3.10.4 (CLOSE: the FIN follows the queued data): `tcp_send_last` queues the
/// last data and the FIN in one step, so they leave in one segment, as the kernel's
/// `close()` piggybacks its FIN on unsent data. (Sent apart, a client that reads the
/// response first closes first and keeps its port in TIME-WAIT.)
#[test]
fn last_data_and_fin_leave_in_one_segment() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    let n =
        h.s.tcp_send_last(h.now, c.h, b"HTTP/1.1 200 OK\r\n\r\n")
            .unwrap();
    assert_eq!(n, 19);
    let seg = h.expect(&[flags(FIN | ACK), seq(c.iss.wrapping_add(1)), len(19)]);
    h.expect_none();
    assert_eq!(h.state(&c), Some(State::FinWait1));
    c.saw(&seg);
    h.inject(&c.seg(ACK));
    assert_eq!(h.state(&c), Some(State::FinWait2));
}

/// `tcp_send_last` with more than the send buffer takes: no FIN yet (the rest of the
/// data still has to come), the connection stays ESTABLISHED.
#[test]
fn send_last_that_does_not_fit_queues_no_fin() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    let big = vec![7u8; 4 << 20];
    let n = h.s.tcp_send_last(h.now, c.h, &big).unwrap();
    assert!(n < big.len(), "{n}");
    assert_eq!(h.state(&c), Some(State::Established));
    let out = h.out();
    assert!(out.iter().all(|s| !s.flags.contains(FIN)), "{out:?}");
}
