//! TIME-WAIT under connection churn: which SYNs for a 4-tuple still in TIME-WAIT open a
//! new incarnation (RFC 6191 section 2, RFC 9293 3.6.1), and the bound on how many
//! connections TIME-WAIT may hold.

use std::net::SocketAddrV4;

use super::close::to_time_wait;
use super::*;
use crate::tcp::State;

/// A connection from a Linux-like peer (timestamps on), brought to TIME-WAIT; returns it
/// with the last TSval the peer sent (TS.Recent on our side).
fn linux_in_time_wait(h: &mut Harness) -> (Conn, u32) {
    let l = h.s.tcp_listen(SocketAddrV4::new(US, LPORT), 4).unwrap();
    let mut c = h.passive_on(l, PPORT, PeerOpts::linux());
    to_time_wait(h, &mut c);
    let (last_ts, _) = c.ts.unwrap();
    (c, last_ts)
}

/// RFC 6191 section 2: "the timestamp contained in the incoming SYN segment is equal to
/// the last timestamp seen on the previous incarnation ... and the Sequence Number of the
/// incoming SYN segment is greater than the last sequence number seen ...: honor the
/// connection request". A Linux client that reuses its port within one millisecond of the
/// old connection's last segment sends exactly this SYN; it must not be challenged.
#[test]
fn syn_with_equal_tsval_and_higher_seq_opens_a_new_connection() {
    let mut h = Harness::new();
    let (c, last_ts) = linux_in_time_wait(&mut h);
    let syn = Harness::syn(PPORT, PeerOpts::linux())
        .seq(c.nxt.wrapping_add(135_805))
        .ts(last_ts, 0);
    h.inject(&syn);
    h.expect(&[flags(SYN | ACK), ack(c.nxt.wrapping_add(135_806))]);
    assert_eq!(h.s.stats().tcp_challenge_acks, 0);
}

/// RFC 6191 section 2: an equal TSval with a sequence number not beyond the old RCV.NXT
/// may be an old duplicate: TIME-WAIT stays, and the SYN gets a challenge ACK
/// (RFC 5961 4.2).
#[test]
fn syn_with_equal_tsval_and_old_seq_is_challenged() {
    let mut h = Harness::new();
    let (c, last_ts) = linux_in_time_wait(&mut h);
    let syn = Harness::syn(PPORT, PeerOpts::linux())
        .seq(c.nxt.wrapping_sub(1))
        .ts(last_ts, 0);
    h.inject(&syn);
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.s.stats().tcp_challenge_acks, 1);
}

/// RFC 6191 section 2 (with RFC 7323 5.3's PAWS): a TSval older than TS.Recent marks an
/// old segment whatever its sequence number: TIME-WAIT stays.
#[test]
fn syn_with_older_tsval_is_challenged_even_with_higher_seq() {
    let mut h = Harness::new();
    let (c, last_ts) = linux_in_time_wait(&mut h);
    let syn = Harness::syn(PPORT, PeerOpts::linux())
        .seq(c.nxt.wrapping_add(1000))
        .ts(last_ts.wrapping_sub(1), 0);
    h.inject(&syn);
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
}

/// RFC 6191 section 2: "If TCP Timestamps would not be enabled for the new incarnation of
/// the connection, but the Sequence Number of the incoming SYN segment is greater than
/// the last sequence number seen ..., honor the connection request" — even though the old
/// incarnation used timestamps; not beyond, it is challenged.
#[test]
fn syn_without_timestamps_after_one_with_them_is_judged_by_seq() {
    let mut h = Harness::new();
    let (c, _) = linux_in_time_wait(&mut h);
    let no_ts = PeerOpts {
        ts: false,
        ..PeerOpts::linux()
    };
    h.inject(&Harness::syn(PPORT, no_ts).seq(c.nxt.wrapping_sub(5)));
    h.expect_none();
    assert_eq!(h.state(&c), Some(State::TimeWait));
    h.inject(&Harness::syn(PPORT, no_ts).seq(c.nxt.wrapping_add(5)));
    h.expect(&[flags(SYN | ACK), ack(c.nxt.wrapping_add(6))]);
}

/// RFC 6191 section 2: "If the previous incarnation of the connection did not use
/// Timestamps, then: If TCP Timestamps would be enabled for the new incarnation of the
/// connection, honor the incoming connection request" — no old duplicate carries a
/// timestamp, whatever its sequence number.
#[test]
fn syn_with_timestamps_after_one_without_them_opens_a_new_connection() {
    let mut h = Harness::new();
    let l = h.s.tcp_listen(SocketAddrV4::new(US, LPORT), 4).unwrap();
    let mut c = h.passive_on(l, PPORT, PeerOpts::default());
    to_time_wait(&mut h, &mut c);
    let syn = Harness::syn(PPORT, PeerOpts::linux()).seq(c.nxt.wrapping_sub(10));
    h.inject(&syn);
    h.expect(&[flags(SYN | ACK), ack(c.nxt.wrapping_sub(9))]);
    assert_eq!(h.state(&c), None);
}

/// TIME-WAIT is bounded in memory (Linux's `tcp_max_tw_buckets`): past `max_time_wait`
/// connections in TIME-WAIT the oldest goes before its 2 MSL (RFC 9293 3.6.1's wait
/// yields to the bound, as in Linux), counted in `TcpExtTCPTimeWaitOverflow`; the newer
/// ones stay and still answer as TIME-WAIT does.
#[test]
fn time_wait_beyond_its_bound_lets_the_oldest_go() {
    let mut h = Harness::with(TcpConfig {
        tail_loss_probe: false,
        max_time_wait: 2,
        ..TcpConfig::default()
    });
    let l = h.listen(8);
    let mut conns: Vec<Conn> = (0..3)
        .map(|i| h.passive_on(l, PPORT + i, PeerOpts::default()))
        .collect();
    for (i, c) in conns.iter_mut().enumerate() {
        to_time_wait(&mut h, c);
        h.advance_by(Duration::from_millis(10));
        let overflow = u64::from(i == 2);
        assert_eq!(h.s.stats().tcp_time_wait_overflow, overflow, "after {i}");
    }
    assert_eq!(h.state(&conns[0]), None);
    assert_eq!(h.state(&conns[1]), Some(State::TimeWait));
    assert_eq!(h.state(&conns[2]), Some(State::TimeWait));
    // The oldest's 4-tuple is free: an old-looking SYN there opens a connection at once
    // (no challenge ACK), while the one still in TIME-WAIT challenges it.
    let old = conns[0].nxt.wrapping_sub(10);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()).seq(old));
    h.expect(&[flags(SYN | ACK), ack(old.wrapping_add(1))]);
    let old = conns[1].nxt.wrapping_sub(10);
    h.inject(&Harness::syn(PPORT + 1, PeerOpts::default()).seq(old));
    h.expect(&[C::FlagsExact(ACK), ack(conns[1].nxt)]);
}

/// When the connection table is full, a new connection takes the place of the oldest in
/// TIME-WAIT (counted in `TcpExtTCPTimeWaitOverflow`) rather than being refused or
/// answered with a SYN cookie.
#[test]
fn full_table_recycles_time_wait_for_a_new_connection() {
    let mut h = Harness::with(TcpConfig {
        tail_loss_probe: false,
        max_connections: 2,
        ..TcpConfig::default()
    });
    let l = h.listen(8);
    let mut a = h.passive_on(l, PPORT, PeerOpts::default());
    let b = h.passive_on(l, PPORT + 1, PeerOpts::default());
    to_time_wait(&mut h, &mut a);
    h.inject(&Harness::syn(PPORT + 2, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK), ack(PEER_ISS.wrapping_add(1))]);
    assert_eq!(h.s.stats().tcp_time_wait_overflow, 1);
    assert_eq!(h.s.stats().syncookies_sent, 0);
    assert_eq!(h.state(&a), None);
    assert_eq!(h.state(&b), Some(State::Established));
    // Full again with no connection in TIME-WAIT: the next SYN gets a cookie.
    h.inject(&Harness::syn(PPORT + 3, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK)]);
    assert_eq!(h.s.stats().syncookies_sent, 1);
    assert_eq!(h.s.stats().tcp_time_wait_overflow, 1);
}

/// Connection churn leaves the timer heap entries of connections that went (a TIME-WAIT
/// connection let go early keeps its 2 MSL entry); the heap is compacted when they
/// outnumber the live connections, and compaction keeps every live deadline: a
/// connection waiting for an ACK through thousands of connections opened, closed and let
/// go from TIME-WAIT still retransmits exactly at its RTO, and the last of them still
/// leaves TIME-WAIT at 2 MSL.
#[test]
fn timers_fire_on_time_through_heavy_churn() {
    let mut h = Harness::with(TcpConfig {
        tail_loss_probe: false,
        max_time_wait: 4,
        ..TcpConfig::default()
    });
    let l = h.listen(8);
    let mut waiting = h.passive_on(l, PPORT, PeerOpts::default());
    h.send(&waiting, b"waiting for its ACK");
    h.expect(&[len(19)]);
    let sent_at = h.now;
    let rto = h.s.tcp_conn(waiting.h).unwrap().info().rto;
    let mut last = None;
    for i in 0..3000u16 {
        let mut c = h.passive_on(l, 10_000 + i, PeerOpts::default());
        let t = to_time_wait(&mut h, &mut c);
        last = Some((c, t));
    }
    assert!(h.s.stats().tcp_time_wait_overflow >= 2990);
    let (t, again) = h.expect_by(sent_at + rto, &[len(19)]);
    assert_eq!(t, sent_at + rto, "retransmitted at its RTO");
    waiting.saw(&again);
    h.inject(&waiting.seg(ACK));
    let (c, tw_at) = last.unwrap();
    h.idle_until(tw_at + secs(60) - ms(1));
    assert_eq!(h.state(&c), Some(State::TimeWait));
    let _ = h.advance(tw_at + secs(60));
    assert_eq!(h.state(&c), None);
}
