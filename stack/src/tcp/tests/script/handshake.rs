//! The three-way handshake both ways, its options, simultaneous open, and SYN/SYN-ACK
//! retransmission.

use std::net::SocketAddrV4;

use super::*;
use crate::tcp::{ConnError, State};

/// RFC 9293 3.5 and 3.10.7.2: a SYN to a listener is answered by a SYN-ACK acknowledging
/// SEG.SEQ + 1 and carrying our options: MSS from the link (RFC 9293 3.7.1, MTU - 40),
/// window scale (RFC 7323 2.2, shift 3 for a 256 KiB buffer), SACK-permitted (RFC 2018 2),
/// timestamps echoing the SYN's TSval (RFC 7323 3.2); the window field of a SYN is never
/// scaled (RFC 7323 2.2).
#[test]
fn passive_syn_ack_carries_our_options() {
    let mut h = Harness::new();
    h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::linux()));
    h.expect(&[
        flags(SYN | ACK),
        ack(PEER_ISS.wrapping_add(1)),
        wnd(65_535),
        C::Mss(Some(1460)),
        C::Ws(Some(7)),
        C::SackPerm(true),
        C::TsEcr(PEER_TS),
        C::Ports(LPORT, PPORT),
        len(0),
    ]);
}

/// RFC 9293 3.10.1 (active OPEN) and 3.7.1: our SYN carries no ACK, MSS = MTU - 40, window
/// scale, SACK-permitted and a timestamp with TSecr 0 (RFC 7323 3.2), from an ephemeral
/// port.
#[test]
fn active_syn_carries_mss_ws_sack_ts() {
    let mut h = Harness::new();
    h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
        .unwrap();
    let syn = h.expect(&[
        C::FlagsExact(SYN),
        wnd(65_535),
        C::Mss(Some(1460)),
        C::Ws(Some(7)),
        C::SackPerm(true),
        C::TsEcr(0),
        len(0),
    ]);
    assert_eq!(syn.dport, LPORT);
    assert!((32_768..=60_999).contains(&syn.sport), "{}", syn.sport);
    assert_ne!(
        syn.ts.unwrap().tsval,
        0,
        "RFC 7323 3.2: TSval 0 is never sent"
    );
}

/// RFC 9293 3.7.1 / RFC 1122 4.2.2.6: the MSS we announce is what our link carries in one
/// datagram: the interface MTU less 40 bytes of IP and TCP headers, in SYN and SYN-ACK.
#[test]
fn announced_mss_follows_link_mtu() {
    let mut h = Harness::with_mtu(TcpConfig::default(), 1000);
    h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
        .unwrap();
    h.expect(&[flags(SYN), C::Mss(Some(960))]);
    h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK), C::Mss(Some(960))]);
}

/// RFC 9293 3.10.7.3: in SYN-SENT, a SYN-ACK acknowledging our SYN moves to ESTABLISHED
/// and is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; the options both sides sent
/// are in force.
#[test]
fn syn_ack_completes_active_open() {
    let mut h = Harness::new();
    let c = h.active(PeerOpts::linux());
    assert_eq!(h.state(&c), Some(State::Established));
    let n = h.s.tcp_conn(c.h).unwrap().negotiated();
    assert_eq!(n.smss, 1460);
    // Our shift is for the most the receive buffer can grow to (4 MiB: 7, as Linux's).
    assert_eq!((n.snd_wscale, n.rcv_wscale), (7, 7));
    assert!(n.timestamps && n.sack && n.wscale_ok);
}

/// RFC 9293 3.10.7.4 (SYN-RECEIVED, fifth): the ACK of our SYN-ACK moves the connection to
/// ESTABLISHED, and only then does accept() return it.
#[test]
fn final_ack_completes_passive_open() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    assert_eq!(
        h.s.tcp_accept(l).unwrap(),
        None,
        "not before the handshake ends"
    );
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1)),
    );
    h.expect_none();
    let ch = h.s.tcp_accept(l).unwrap().expect("accepted");
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::Established);
    assert_eq!(h.s.stats().tcp_passive_opens, 1);
}

/// RFC 7323 2.2 and 3.2, RFC 2018 2: window scale, timestamps and SACK-permitted go in a
/// SYN-ACK only when the SYN carried them.
#[test]
fn syn_ack_options_only_when_offered() {
    let mut h = Harness::new();
    h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    h.expect(&[
        flags(SYN | ACK),
        C::Mss(Some(1460)),
        C::Ws(None),
        C::SackPerm(false),
        C::NoTs,
    ]);
}

/// RFC 9293 3.5 figure 8, simultaneous open: a SYN in SYN-SENT moves to SYN-RECEIVED and
/// sends SYN-ACK <SEQ=ISS><ACK=RCV.NXT>; the peer's SYN-ACK then completes the handshake
/// (RFC 5961 4.2 exempts it from the challenge ACK) without a further segment.
#[test]
fn simultaneous_open() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    let their_syn = Seg::new(SYN)
        .ports(LPORT, syn.sport)
        .seq(PEER_ISS)
        .mss(Some(1460));
    h.inject(&their_syn);
    h.expect(&[
        flags(SYN | ACK),
        seq(syn.seq),
        ack(PEER_ISS.wrapping_add(1)),
        C::Mss(Some(1460)),
    ]);
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::SynReceived);
    h.inject(
        &their_syn
            .clone()
            .flags(SYN | ACK)
            .ack(syn.seq.wrapping_add(1)),
    );
    h.expect_none();
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::Established);
    // Data flows: the first byte after the peer's SYN is taken in.
    h.inject(
        &Seg::new(ACK | PSH)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(syn.seq.wrapping_add(1))
            .data(b"x"),
    );
    h.advance_by(ms(40));
    let mut buf = [0u8; 8];
    assert_eq!(h.s.tcp_recv(h.now, ch, &mut buf), Ok(1));
}

/// RFC 9293 3.8.1 / 3.10.7.4: a retransmitted SYN in SYN-RECEIVED means our SYN-ACK was
/// lost: it is sent again, with the same ISS.
#[test]
fn retransmitted_syn_gets_the_same_syn_ack() {
    let mut h = Harness::new();
    h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let first = h.expect(&[flags(SYN | ACK)]);
    h.advance_by(ms(300));
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    h.expect(&[flags(SYN | ACK), seq(first.seq), ack(first.ack)]);
    assert_eq!(h.s.stats().tcp_challenge_acks, 0);
}

/// RFC 6298 2.1 and 5.5: with no RTT sample, the SYN-ACK is retransmitted after the 1 s
/// initial RTO, then after 2 s, 4 s, ... (exponential back-off).
#[test]
fn syn_ack_retransmitted_with_backoff() {
    let mut h = Harness::new();
    h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    let got = h.advance(T0 + secs(8));
    let times: Vec<Duration> = got.iter().map(|(t, _)| *t - T0).collect();
    assert_eq!(times, [secs(1), secs(3), secs(7)]);
    for (_, s) in &got {
        check(s, &[flags(SYN | ACK), seq(sa.seq), ack(sa.ack)]);
    }
}

/// RFC 6298 2.1/5.5 for the SYN, and RFC 1122 4.2.3.5 (R2 for a SYN, at least 3 minutes;
/// tunstack gives up after 127 s like Linux): retransmissions at 1, 3, 7, 15, 31 and 63 s,
/// then the attempt fails with `TimedOut` at 127 s, sending nothing (no RST before
/// synchronization).
#[test]
fn syn_retransmissions_then_timeout() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    let got = h.advance(T0 + secs(200));
    let times: Vec<u64> = got.iter().map(|(t, _)| (*t - T0).total_millis()).collect();
    assert_eq!(times, [1_000, 3_000, 7_000, 15_000, 31_000, 63_000]);
    for (_, s) in &got {
        check(s, &[C::FlagsExact(SYN), seq(syn.seq)]);
    }
    let c = h.s.tcp_conn(ch).expect("kept until the application looks");
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.error(), Some(ConnError::TimedOut));
    let mut buf = [0u8; 4];
    assert!(h.s.tcp_recv(h.now, ch, &mut buf).is_err());
    assert_eq!(h.s.stats().tcp_attempt_fails, 1);
}

/// RFC 6928 2 / RFC 5681 3.1: "the initial window used by a sender after a correctly
/// transmitted SYN MUST be one segment" when the SYN had to be retransmitted
/// (`on_syn_loss`).
#[test]
fn lost_syn_leaves_one_segment_initial_window() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.advance(T0 + secs(1));
    h.advance(T0 + ms(1100));
    h.inject(
        &Seg::new(SYN | ACK)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS)
            .ack(syn.seq.wrapping_add(1))
            .mss(Some(1460)),
    );
    h.expect(&[flags(ACK)]);
    assert_eq!(h.s.tcp_send(h.now, ch, &[7u8; 10_000]), Ok(10_000));
    h.expect(&[flags(ACK), seq(syn.seq.wrapping_add(1)), len(1460)]);
}

/// RFC 6298 5.7: after a SYN retransmission, with no valid RTT sample (Karn: the SYN-ACK
/// answers an ambiguous SYN), the RTO is 3 s when data transmission begins.
#[test]
fn lost_syn_sets_rto_to_three_seconds() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.advance(T0 + secs(1));
    h.advance(T0 + ms(1100));
    h.inject(
        &Seg::new(SYN | ACK)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS)
            .ack(syn.seq.wrapping_add(1))
            .mss(Some(1460)),
    );
    h.expect(&[flags(ACK)]);
    assert_eq!(
        h.s.tcp_conn(ch).unwrap().info().srtt,
        None,
        "Karn: no sample"
    );
    h.s.tcp_send(h.now, ch, b"data").unwrap();
    let sent = h.now;
    h.expect(&[len(4)]);
    let (t, out) = h.next_out(secs(10)).unwrap();
    assert_eq!(t - sent, secs(3));
    check(&out[0], &[len(4), seq(syn.seq.wrapping_add(1))]);
}

/// RFC 9293 3.10.7.4: data on the ACK that completes a passive open is taken in.
#[test]
fn data_on_final_ack_is_accepted() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    h.inject(
        &Seg::new(ACK | PSH)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1))
            .data(b"hello"),
    );
    let ch = h.s.tcp_accept(l).unwrap().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(h.s.tcp_recv(h.now, ch, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"hello");
}

/// RFC 9293 3.10.7.3 fifth: in SYN-SENT, a segment with neither SYN nor RST (even with an
/// acceptable ACK) is dropped.
#[test]
fn syn_sent_drops_segment_without_syn_or_rst() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.inject(
        &Seg::new(ACK)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS)
            .ack(syn.seq.wrapping_add(1))
            .data(b"early"),
    );
    h.expect_none();
    assert_eq!(h.s.tcp_conn(ch).unwrap().state(), State::SynSent);
}

/// RFC 6928 2: the initial congestion window is min(10*MSS, max(2*MSS, 14600)): ten
/// 1460-byte segments go out at once, no more.
#[test]
fn initial_window_is_ten_segments() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, &vec![1u8; 30_000]);
    let out = h.out();
    assert_eq!(out.len(), 10, "{out:#?}");
    for (k, s) in out.iter().enumerate() {
        check(
            s,
            &[
                flags(ACK),
                seq(c.iss.wrapping_add(1 + 1460 * k as u32)),
                len(1460),
            ],
        );
    }
}

/// RFC 7323 2.2 in a simultaneous open: the peer's SYN-ACK completes the handshake, and
/// its window, in a segment with SYN set, is not scaled.
#[test]
fn simultaneous_open_syn_ack_window_is_not_scaled() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    let their_syn = Seg::new(SYN)
        .ports(LPORT, syn.sport)
        .seq(PEER_ISS)
        .mss(Some(1460))
        .ws(Some(2))
        .wnd(1000);
    h.inject(&their_syn);
    h.expect(&[flags(SYN | ACK), C::Ws(Some(7))]);
    h.inject(&their_syn.flags(SYN | ACK).ack(syn.seq.wrapping_add(1)));
    let c = h.s.tcp_conn(ch).unwrap();
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.info().snd_wnd, 1000);
}

/// RFC 6928 2 / RFC 5681 3.1 for the passive side (`on_syn_loss` after a SYN-ACK
/// timeout): the initial window is one segment.
#[test]
fn lost_syn_ack_leaves_one_segment_initial_window() {
    let mut h = Harness::new();
    let l = h.listen(4);
    h.inject(&Harness::syn(PPORT, PeerOpts::default()));
    let sa = h.expect(&[flags(SYN | ACK)]);
    h.expect_by(T0 + secs(1), &[flags(SYN | ACK)]);
    h.inject(
        &Seg::new(ACK)
            .seq(PEER_ISS.wrapping_add(1))
            .ack(sa.seq.wrapping_add(1)),
    );
    let ch = h.s.tcp_accept(l).unwrap().unwrap();
    assert_eq!(h.s.tcp_send(h.now, ch, &[1u8; 10_000]), Ok(10_000));
    h.expect(&[len(1460)]);
}

/// RFC 9293 3.10.2 (SEND in SYN-SENT): data written before the handshake completes is
/// queued and sent once ESTABLISHED, right after the ACK of the SYN-ACK.
#[test]
fn data_queued_in_syn_sent_goes_after_the_handshake() {
    let mut h = Harness::new();
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    assert_eq!(h.s.tcp_send(h.now, ch, b"early"), Ok(5));
    h.expect_none();
    h.inject(
        &Seg::new(SYN | ACK)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS)
            .ack(syn.seq.wrapping_add(1))
            .mss(Some(1460)),
    );
    let out = h.out();
    let data: Vec<&Seg> = out.iter().filter(|s| !s.data.is_empty()).collect();
    assert_eq!(data.len(), 1, "{out:#?}");
    check(
        data[0],
        &[
            flags(ACK),
            seq(syn.seq.wrapping_add(1)),
            ack(PEER_ISS.wrapping_add(1)),
            C::Data(b"early".to_vec()),
        ],
    );
}

/// Karn's algorithm (RFC 6298 3) with timestamps (RFC 7323 4.1): after a SYN
/// retransmission, a SYN-ACK echoing the first SYN's TSval (a peer that got the first
/// SYN and lost its SYN-ACK keeps that echo, as Linux does) times the peer's SYN-ACK
/// timeout, not a round trip: no sample, so the RTO stays RFC 6298 5.7's 3 s. An echo
/// of the retransmitted SYN's TSval is a valid sample.
#[test]
fn syn_ack_echoing_the_first_syn_times_nothing() {
    for echo_first in [true, false] {
        let mut h = Harness::new();
        let ch =
            h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
                .unwrap();
        let syn = h.expect(&[flags(SYN)]);
        let out = h.advance(T0 + secs(1));
        let (t, again) = out.last().expect("the SYN again at 1 s");
        assert_eq!((*t, again.flags), (T0 + secs(1), SYN));
        let first_ts = syn.ts.unwrap().tsval;
        let again_ts = again.ts.unwrap().tsval;
        assert!(again_ts > first_ts);
        h.advance(T0 + ms(1100));
        let echo = if echo_first { first_ts } else { again_ts };
        h.inject(
            &Seg::new(SYN | ACK)
                .ports(LPORT, syn.sport)
                .seq(PEER_ISS)
                .ack(syn.seq.wrapping_add(1))
                .mss(Some(1460))
                .ts(PEER_TS, echo),
        );
        h.expect(&[flags(ACK)]);
        let srtt = h.s.tcp_conn(ch).unwrap().info().srtt;
        if echo_first {
            assert_eq!(srtt, None, "the echo of the first SYN is stale");
        } else {
            assert_eq!(srtt, Some(ms(100)), "the retransmitted SYN's echo");
        }
    }
}
