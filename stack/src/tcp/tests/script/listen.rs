//! Listeners: SYN cookies (RFC 4987 3.6), the accept queue, closing a listener; and the
//! numbers a connection is born with: ISNs (RFC 6528), ephemeral ports (RFC 6056), and
//! lookup among thousands of connections.

use std::collections::HashSet;
use std::net::SocketAddrV4;

use super::*;
use crate::tcp::{SeqNum, State};

fn cookie_config() -> TcpConfig {
    TcpConfig {
        syn_backlog: 1,
        ..TcpConfig::default()
    }
}

/// Fills the SYN queue (one half-open connection from `PPORT`), then sends a SYN from
/// `PPORT + 1` and returns the cookie SYN-ACK.
fn cookie_syn_ack(h: &mut Harness, o: PeerOpts) -> Seg {
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT)]);
    h.inject(&Harness::syn(PPORT + 1, o));
    h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT + 1)])
}

/// The ACK completing a cookie handshake from `PPORT + 1`.
fn cookie_ack(cookie: u32) -> Seg {
    Seg::new(ACK)
        .ports(PPORT + 1, LPORT)
        .seq(PEER_ISS.wrapping_add(1))
        .ack(cookie.wrapping_add(1))
}

/// RFC 4987 3.6: when the SYN queue is full, a SYN is answered statelessly with a cookie
/// SYN-ACK; it carries only the MSS (window scale, SACK and timestamps cannot be rebuilt
/// from a cookie), is counted, and is never retransmitted.
#[test]
fn syn_cookie_when_syn_queue_full() {
    let mut h = Harness::with(cookie_config());
    h.listen(16);
    let sa = cookie_syn_ack(&mut h, PeerOpts::linux());
    check(
        &sa,
        &[
            ack(PEER_ISS.wrapping_add(1)),
            C::Mss(Some(1460)),
            C::Ws(None),
            C::SackPerm(false),
            C::NoTs,
        ],
    );
    assert_eq!(h.s.stats().syncookies_sent, 1);
    // Only the first (queued) SYN-ACK is ever retransmitted.
    for (_, s) in h.advance(T0 + secs(10)) {
        assert_eq!(s.dport, PPORT, "{s:?}");
    }
}

/// RFC 4987 3.6: a valid ACK of a cookie rebuilds the connection; accept() returns it, and
/// it carries data (here data on that very ACK, which also validates).
#[test]
fn valid_cookie_ack_completes_a_connection() {
    let mut h = Harness::with(cookie_config());
    let l = h.listen(16);
    let sa = cookie_syn_ack(&mut h, PeerOpts::linux());
    h.inject(&cookie_ack(sa.seq).data(b"hi"));
    let ch = h.s.tcp_accept(l).unwrap().expect("the cookie connection");
    let conn = h.s.tcp_conn(ch).unwrap();
    assert_eq!(conn.state(), State::Established);
    assert_eq!(conn.remote().port(), PPORT + 1);
    let n = conn.negotiated();
    assert!(!n.timestamps && !n.sack && !n.wscale_ok);
    assert_eq!(n.smss, 1460);
    let mut buf = [0u8; 4];
    assert_eq!(h.s.tcp_recv(h.now, ch, &mut buf), Ok(2));
    assert_eq!(h.s.stats().syncookies_recv, 1);
}

/// RFC 4987 3.6 / RFC 9293 3.10.7.2: an ACK whose cookie does not check out is a bad ACK
/// at a listener: <SEQ=SEG.ACK><CTL=RST>, counted as a failed cookie; no connection.
#[test]
fn forged_cookie_ack_gets_rst_and_is_counted() {
    let mut h = Harness::with(cookie_config());
    let l = h.listen(16);
    let sa = cookie_syn_ack(&mut h, PeerOpts::default());
    let forged = sa.seq.wrapping_add(0x0100_0000);
    h.inject(&cookie_ack(forged));
    h.expect(&[C::FlagsExact(RST), seq(forged.wrapping_add(1))]);
    assert_eq!(h.s.stats().syncookies_failed, 1);
    assert_eq!(h.s.tcp_accept(l).unwrap(), None);
}

/// RFC 4987 3.6 as Linux applies it (`tcp_synq_no_recent_overflow`): a listener that has
/// sent no cookie within their lifetime (128 s) takes no ACK as a cookie answer, even a
/// valid one: RST, and no cookie check is even made.
#[test]
fn cookie_ack_refused_without_recent_cookies() {
    let mut h = Harness::with(cookie_config());
    let l = h.listen(16);
    let local = SocketAddrV4::new(US, LPORT);
    let remote = SocketAddrV4::new(PEER, PPORT + 1);
    // Never sent a cookie.
    let cookie =
        h.s.tcp_cookie_for_test(local, remote, SeqNum(PEER_ISS), 1460, h.now);
    h.inject(&cookie_ack(cookie.0));
    h.expect(&[C::FlagsExact(RST)]);
    assert_eq!(h.s.tcp_accept(l).unwrap(), None);
    assert_eq!(h.s.stats().syncookies_failed, 0);
    // Sent cookies once, but 200 s ago: a cookie made now still is not taken.
    cookie_syn_ack(&mut h, PeerOpts::default());
    h.advance_by(secs(200));
    let cookie =
        h.s.tcp_cookie_for_test(local, remote, SeqNum(PEER_ISS), 1460, h.now);
    h.inject(&cookie_ack(cookie.0));
    let out = h.out();
    assert!(out.iter().any(|s| s.flags == RST), "{out:#?}");
    assert_eq!(h.s.tcp_accept(l).unwrap(), None);
}

/// RFC 4987 3.6: the cookie encodes the MSS as one of eight values, rounded down: a peer
/// MSS of 1400 becomes 1360.
#[test]
fn cookie_mss_is_rounded_down() {
    let mut h = Harness::with(cookie_config());
    let l = h.listen(16);
    let sa = cookie_syn_ack(
        &mut h,
        PeerOpts {
            mss: Some(1400),
            ..PeerOpts::default()
        },
    );
    h.inject(&cookie_ack(sa.seq));
    let ch = h.s.tcp_accept(l).unwrap().unwrap();
    assert_eq!(h.s.tcp_conn(ch).unwrap().negotiated().smss, 1360);
    h.s.tcp_send(h.now, ch, &[0u8; 3000]).unwrap();
    assert_eq!(h.out()[0].data.len(), 1360);
}

/// Backlog (RFC 9293 3.10.1 leaves queueing to the implementation; Linux drops): when the
/// accept queue is full a SYN is dropped silently and counted (ListenOverflows); once the
/// application accepts, the retransmitted SYN gets its SYN-ACK.
#[test]
fn full_accept_queue_drops_syn() {
    let mut h = Harness::new();
    let l = h.listen(1);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1)),
    );
    h.inject(&Harness::syn(PPORT + 1, PeerOpts::default()));
    h.expect_none();
    assert_eq!(h.s.stats().listen_overflows, 1);
    assert!(h.s.tcp_accept(l).unwrap().is_some());
    h.inject(&Harness::syn(PPORT + 1, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT + 1)]);
}

/// RFC 4987 3.6 with a full accept queue: a valid cookie ACK is dropped (and counted as a
/// listen overflow), not reset; the client will retransmit.
#[test]
fn cookie_ack_with_full_accept_queue_is_dropped() {
    let mut h = Harness::with(cookie_config());
    let l = h.listen(1);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let first = h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT)]);
    h.inject(&Harness::syn(PPORT + 1, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT + 1), C::Ws(None)]);
    // The queued connection completes: the accept queue (backlog 1) is full.
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(first.seq.wrapping_add(1)),
    );
    h.expect_none();
    h.inject(&cookie_ack(sa.seq));
    h.expect_none();
    assert_eq!(h.s.stats().listen_overflows, 1);
    let a = h.s.tcp_accept(l).unwrap().unwrap();
    assert_eq!(h.s.tcp_conn(a).unwrap().remote().port(), PPORT);
    assert_eq!(h.s.tcp_accept(l).unwrap(), None);
}

/// A listener that is closed resets the connections waiting in its accept queue (RFC 9293
/// 3.10.5 ABORT for each).
#[test]
fn closing_a_listener_resets_its_queue() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1)),
    );
    h.s.tcp_unlisten(h.now, l);
    h.expect(&[
        flags(RST),
        seq(sa.seq.wrapping_add(1)),
        C::Ports(LPORT, PPORT),
    ]);
    h.inject(&Harness::syn(PPORT + 1, PeerOpts::default()));
    h.expect(&[C::FlagsExact(RST | ACK)]);
}

/// RFC 9293 3.4.1 / RFC 6528: the ISN differs per connection: for different 4-tuples, and
/// for the same 4-tuple later on.
#[test]
fn isn_differs_per_connection() {
    let mut h = Harness::new();
    h.listen(64);
    let mut seen = HashSet::new();
    for k in 0..20u16 {
        h.inject(&Harness::syn(PPORT + k, PeerOpts::default()));
        let sa = h.expect(&[flags(SYN | ACK)]);
        assert!(seen.insert(sa.seq), "ISS repeated: {:#x}", sa.seq);
    }
    // The same 4-tuple again, a second later, after a reset.
    h.inject(&Seg::new(RST).seq(PEER_ISS.wrapping_add(1)));
    h.advance_by(secs(1));
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK), C::Ports(LPORT, PPORT)]);
    assert!(seen.insert(sa.seq));
}

/// RFC 6056 3.3.1 (simple port randomization): ephemeral ports are drawn at random from
/// the range (Linux's 32768-60999), not handed out in sequence.
#[test]
fn ephemeral_ports_are_random() {
    let mut h = Harness::new();
    let mut ports = Vec::new();
    for _ in 0..32 {
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
        let syn = h.expect(&[flags(SYN)]);
        assert!((32_768..=60_999).contains(&syn.sport));
        ports.push(syn.sport);
    }
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len());
    let sequential = ports.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(sequential < 3, "{ports:?}");
    let spread = ports.iter().max().unwrap() - ports.iter().min().unwrap();
    assert!(spread > 10_000, "{ports:?}");
}

/// Demultiplexing (RFC 9293 3.10.7: the segment goes to the connection of its 4-tuple)
/// with 3000 connections open: data sent on one reaches that one and no other.
#[test]
fn lookup_among_thousands_of_connections() {
    let mut h = Harness::new();
    let l = h.listen(4096);
    let mut conns = Vec::new();
    for k in 0..3000u16 {
        conns.push(h.passive_on(l, 1024 + k, PeerOpts::default()));
    }
    let target = conns[1777];
    h.inject(&target.data(b"needle"));
    for (k, c) in conns.iter().enumerate() {
        let q = h.s.tcp_conn(c.h).unwrap().recv_queue();
        assert_eq!(q, if k == 1777 { 6 } else { 0 }, "connection {k}");
    }
    let (_, out) = h.next_out(secs(1)).unwrap();
    check(
        &out[0],
        &[
            C::Ports(LPORT, 1024 + 1777),
            ack(target.nxt.wrapping_add(6)),
        ],
    );
    assert_eq!(h.s.tcp_connections().len(), 3000);
}

/// RFC 6298 2.1 and 5.5: a cookie connection has no RTT sample (its SYN-ACK was sent
/// without state, so nothing timed it): its first data is retransmitted after the 1 s
/// initial RTO, then after 2 s and 4 s.
#[test]
fn cookie_connection_starts_with_the_initial_rto() {
    let mut h = Harness::with(cookie_config());
    let l = h.listen(16);
    let sa = cookie_syn_ack(&mut h, PeerOpts::default());
    h.inject(&cookie_ack(sa.seq));
    let ch = h.s.tcp_accept(l).unwrap().unwrap();
    assert_eq!(h.s.tcp_conn(ch).unwrap().info().srtt, None);
    h.s.tcp_send(h.now, ch, b"data").unwrap();
    let start = h.now;
    // Only the other (queued) connection's SYN-ACKs and our data retransmissions follow.
    let times: Vec<u64> = h
        .advance(start + secs(8))
        .into_iter()
        .filter(|(_, s)| s.dport == PPORT + 1)
        .map(|(t, s)| {
            check(&s, &[seq(sa.seq.wrapping_add(1)), len(4)]);
            (t - start).total_millis()
        })
        .collect();
    assert_eq!(times, [0, 1000, 3000, 7000]);
}

/// Each connection has a number of its own (`ConnInfo::id`, what `/_stack/connections`
/// lists): the same for its whole life, and never handed to a later connection even
/// when that one takes over the freed slot.
#[test]
fn connection_ids_are_stable_and_never_reused() {
    let mut h = Harness::new();
    let l = h.listen(16);
    let a = h.passive_on(l, 2001, PeerOpts::default());
    let b = h.passive_on(l, 2002, PeerOpts::default());
    let id = |h: &Harness, c: &Conn| h.s.tcp_conn(c.h).unwrap().info().id;
    let (ia, ib) = (id(&h, &a), id(&h, &b));
    assert!(ia != 0 && ib != 0 && ia != ib, "{ia} {ib}");
    let listed: HashSet<u64> = h.s.tcp_connections().iter().map(|c| c.id).collect();
    assert_eq!(listed, HashSet::from([ia, ib]));
    // a is aborted and forgotten; c reuses its slot but not its number.
    h.s.tcp_abort(h.now, a.h);
    h.s.tcp_close(h.now, a.h);
    let _ = h.out();
    assert_eq!(h.state(&a), None);
    let c = h.passive_on(l, 2003, PeerOpts::default());
    assert_eq!(c.h.idx, a.h.idx, "the freed slot is reused");
    let ic = id(&h, &c);
    assert!(ic != ia && ic != ib, "{ic}");
    assert_eq!(id(&h, &b), ib);
}
