//! Resets: for closed ports, in SYN-SENT and SYN-RECEIVED, in synchronized states (RFC
//! 5961 3.2), and the resets we send on abort.

use std::net::SocketAddrV4;

use super::*;
use crate::stack::TcpError;
use crate::tcp::{ConnError, State};

/// RFC 9293 3.10.7.1 (CLOSED): a segment without ACK to a port nobody listens on gets
/// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; the SYN counts in SEG.LEN.
#[test]
fn closed_port_syn_gets_rst_ack() {
    let mut h = Harness::new();
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    h.expect(&[
        C::FlagsExact(RST | ACK),
        seq(0),
        ack(PEER_ISS.wrapping_add(1)),
        C::Ports(LPORT, PPORT),
        len(0),
    ]);
    assert_eq!(h.s.stats().tcp_out_rsts, 1);
}

/// RFC 9293 3.10.7.1: SEG.LEN counts the data and the FIN of a segment without ACK.
#[test]
fn closed_port_rst_acks_data_and_fin() {
    let mut h = Harness::new();
    h.inject(&Seg::new(FIN).seq(5000).data(b"abc"));
    h.expect(&[C::FlagsExact(RST | ACK), seq(0), ack(5004)]);
}

/// RFC 9293 3.10.7.1: a segment with ACK to a closed port gets <SEQ=SEG.ACK><CTL=RST>.
#[test]
fn closed_port_ack_gets_rst_from_its_ack() {
    let mut h = Harness::new();
    h.inject(&Seg::new(ACK).seq(5000).ack(0xDEAD_BEEF).data(b"x"));
    h.expect(&[C::FlagsExact(RST), seq(0xDEAD_BEEF), len(0)]);
}

/// RFC 9293 3.10.7.1: "An incoming segment containing a RST is discarded."
#[test]
fn closed_port_rst_is_not_answered() {
    let mut h = Harness::new();
    h.inject(&Seg::new(RST).seq(5000));
    h.inject(&Seg::new(RST | ACK).seq(5000).ack(9));
    h.expect_none();
}

/// RFC 9293 3.10.7.3 (SYN-SENT, second): a RST with an acceptable ACK refuses the
/// connection: the application sees `ConnectionRefused` (`ConnError::Refused`); nothing is
/// sent.
#[test]
fn syn_sent_rst_with_acceptable_ack_refuses() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.inject(
        &Seg::new(RST | ACK)
            .ports(LPORT, syn.sport)
            .seq(0)
            .ack(syn.seq.wrapping_add(1)),
    );
    h.expect_none();
    let c = h.s.tcp_conn(ch).unwrap();
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.error(), Some(ConnError::Refused));
    assert_eq!(
        h.s.tcp_send(h.now, ch, b"x"),
        Err(TcpError::Conn(ConnError::Refused))
    );
    // And no more SYNs.
    h.idle_until(T0 + secs(10));
}

/// RFC 9293 3.10.7.3 (SYN-SENT, second) / RFC 5961 3.2: a RST without ACK in SYN-SENT is
/// dropped.
#[test]
fn syn_sent_rst_without_ack_is_ignored() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.inject(&Seg::new(RST).ports(LPORT, syn.sport).seq(0));
    h.expect_none();
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::SynSent);
}

/// RFC 9293 3.10.7.3 (SYN-SENT, first): a RST whose ACK does not acknowledge our SYN is
/// dropped (and, being a RST, not answered).
#[test]
fn syn_sent_rst_with_bad_ack_is_ignored() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.inject(
        &Seg::new(RST | ACK)
            .ports(LPORT, syn.sport)
            .ack(syn.seq.wrapping_add(5)),
    );
    h.expect_none();
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::SynSent);
}

/// RFC 9293 3.10.7.3 (SYN-SENT, first): an ACK outside (ISS, SND.NXT] gets
/// <SEQ=SEG.ACK><CTL=RST> and is dropped; the attempt goes on.
#[test]
fn syn_sent_bad_ack_gets_rst() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    let bad = syn.seq.wrapping_add(100);
    h.inject(
        &Seg::new(SYN | ACK)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS)
            .ack(bad),
    );
    h.expect(&[C::FlagsExact(RST), seq(bad)]);
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::SynSent);
}

/// RFC 9293 3.10.7.1 via 3.10.7.3: connecting to a port the peer does not listen on: its
/// <RST,ACK> makes the connect fail with `ConnError::Refused` and counts an attempt
/// failure.
#[test]
fn connect_to_closed_port_is_refused() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, 9), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.inject(
        &Seg::new(RST | ACK)
            .ports(9, syn.sport)
            .ack(syn.seq.wrapping_add(1)),
    );
    let c = h.s.tcp_conn(ch).unwrap();
    assert!(c.is_connected_or_failed());
    assert_eq!(c.error(), Some(ConnError::Refused));
    assert_eq!(h.s.stats().tcp_attempt_fails, 1);
}

/// RFC 5961 3.2 / RFC 9293 3.10.7.4 (second): a RST whose SEQ is exactly RCV.NXT resets
/// the connection: `ConnectionReset`, nothing sent, the connection counted in
/// TcpEstabResets.
#[test]
fn exact_rst_resets_the_connection() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(RST));
    h.expect_none();
    assert_eq!(h.state(&c), Some(State::Closed));
    let mut buf = [0u8; 4];
    assert_eq!(
        h.s.tcp_recv(h.now, c.h, &mut buf),
        Err(TcpError::Conn(ConnError::Reset))
    );
    assert_eq!(
        h.s.tcp_send(h.now, c.h, b"x"),
        Err(TcpError::Conn(ConnError::Reset))
    );
    assert_eq!(h.s.stats().tcp_estab_resets, 1);
}

/// RFC 5961 3.2: a RST inside the window but not at RCV.NXT gets a challenge ACK
/// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the connection stays.
#[test]
fn in_window_rst_gets_challenge_ack() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(RST).seq(c.nxt.wrapping_add(1000)));
    h.expect(&[
        C::FlagsExact(ACK),
        seq(c.iss.wrapping_add(1)),
        ack(c.nxt),
        len(0),
    ]);
    assert_eq!(h.state(&c), Some(State::Established));
    assert_eq!(h.s.stats().tcp_challenge_acks, 1);
}

/// RFC 5961 3.2 / RFC 9293 3.10.7.4 (first): a RST outside the window is silently dropped.
#[test]
fn out_of_window_rst_is_ignored() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(RST).seq(c.nxt.wrapping_add(1_000_000)));
    h.inject(&c.seg(RST).seq(c.nxt.wrapping_sub(1)));
    h.expect_none();
    assert_eq!(h.state(&c), Some(State::Established));
}

/// RFC 9293 3.10.7.4 (SYN-RECEIVED, second): an exact RST in SYN-RECEIVED from a passive
/// open removes the half-open connection silently; the listener goes on and nothing
/// reaches accept().
#[test]
fn rst_in_syn_received_removes_half_open_connection() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK)]);
    h.inject(&Seg::new(RST).seq(PEER_ISS.wrapping_add(1)));
    h.expect_none();
    assert_eq!(h.s.tcp_accept(l).unwrap(), None);
    // No SYN-ACK retransmission follows.
    h.idle_until(T0 + secs(5));
    // The port still listens.
    h.inject(&Harness::syn(PPORT + 1, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT + 1)]);
}

/// RFC 5961 3.2 applies in SYN-RECEIVED too: an in-window RST not at RCV.NXT gets a
/// challenge ACK, and the half-open connection stays.
#[test]
fn inexact_rst_in_syn_received_gets_challenge_ack() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    h.inject(&Seg::new(RST).seq(PEER_ISS.wrapping_add(50)));
    let out = h.out();
    assert_eq!(out.len(), 1, "{out:#?}");
    check(&out[0], &[ack(PEER_ISS.wrapping_add(1))]);
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1)),
    );
    assert!(h.s.tcp_accept(l).unwrap().is_some());
}

/// RFC 9293 3.10.7.4 (SYN-RECEIVED, fifth): an ACK that does not acknowledge our SYN-ACK
/// gets <SEQ=SEG.ACK><CTL=RST>; the half-open connection stays.
#[test]
fn bad_ack_in_syn_received_gets_rst() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    let bad = sa.seq.wrapping_add(77);
    h.inject(&Seg::new(ACK).seq(PEER_ISS.wrapping_add(1)).ack(bad));
    h.expect(&[C::FlagsExact(RST), seq(bad)]);
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1)),
    );
    assert!(h.s.tcp_accept(l).unwrap().is_some());
}

/// RFC 9293 3.10.7.2 (LISTEN, second): any ACK-bearing segment to a listener, a SYN-ACK
/// included, gets <SEQ=SEG.ACK><CTL=RST>.
#[test]
fn listener_answers_syn_ack_with_rst() {
    let mut h = Harness::new();
    h.listen(4);
    h.inject(&Seg::new(SYN | ACK).seq(PEER_ISS).ack(0x1234_5678));
    h.expect(&[C::FlagsExact(RST), seq(0x1234_5678)]);
}

/// RFC 9293 3.10.7.2 (LISTEN, first and fourth): a RST, and a segment with neither SYN,
/// ACK nor RST, are dropped by a listener.
#[test]
fn listener_drops_rst_and_bare_segments() {
    let mut h = Harness::new();
    h.listen(4);
    h.inject(&Seg::new(RST).seq(1));
    h.inject(&Seg::new(FIN).seq(1).data(b"x"));
    h.inject(&Seg::new(TcpFlags::empty()).seq(1).data(b"x"));
    h.expect_none();
}

/// RFC 9293 3.10.5 (ABORT): <SEQ=SND.NXT><CTL=RST> is sent and the connection is gone;
/// later segments from the peer meet a closed port (RFC 9293 3.10.7.1).
#[test]
fn abort_sends_rst_and_forgets() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.s.tcp_abort(h.now, c.h);
    h.expect(&[flags(RST), seq(c.iss.wrapping_add(1))]);
    h.inject(&c.data(b"late"));
    h.expect(&[C::FlagsExact(RST), seq(c.una)]);
}

/// RFC 2525 2.17 (and RFC 9293 3.10.4, as Linux does): closing with unread received data
/// sends a RST instead of a FIN, so the peer learns the data was lost.
#[test]
fn close_with_unread_data_sends_rst() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"unread"));
    h.advance_by(ms(100));
    h.s.tcp_close(h.now, c.h);
    h.expect(&[flags(RST), seq(c.iss.wrapping_add(1))]);
    assert!(h.s.tcp_conn(c.h).is_none());
}

/// RFC 9293 3.10.7.4 (second, TIME-WAIT): an acceptable RST closes a connection in
/// TIME-WAIT (RFC 1337's alternative is not taken, as Linux's default).
#[test]
fn rst_in_time_wait_closes() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.s.tcp_close(h.now, c.h);
    let fin = h.expect(&[flags(FIN | ACK)]);
    c.saw(&fin);
    h.inject(&c.seg(FIN | ACK));
    h.expect(&[flags(ACK)]);
    c.nxt = c.nxt.wrapping_add(1);
    assert_eq!(h.state(&c), Some(State::TimeWait));
    h.inject(&c.seg(RST));
    h.expect_none();
    h.advance_by(ms(1));
    assert!(h.s.tcp_conn(c.h).is_none());
}
