//! Timestamps (RFC 7323): PAWS, the TS.Recent update rule, RTT measurement, TSval 0.

use super::*;
use crate::tcp::{ConnError, State};

/// RFC 7323 5.3 R1: a non-RST segment whose TSval is older than TS.Recent is a duplicate
/// from the past: it is dropped (data not taken), acknowledged, and counted.
#[test]
fn paws_drops_an_old_tsval() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    c.tick(100);
    h.inject(&c.data(b"new"));
    c.nxt = c.nxt.wrapping_add(3);
    h.advance_by(ms(40));
    h.out();
    let old = PEER_TS + 50;
    h.inject(&c.data(b"old").ts(old, 0));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), C::TsEcr(PEER_TS + 100)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 3);
    assert_eq!(h.s.stats().tcp_paws_estab, 1);
}

/// RFC 7323 5.3 R1 ("SEG.TSval < TS.Recent"): an equal TSval passes PAWS (segments sent
/// within one tick share a TSval).
#[test]
fn paws_accepts_an_equal_tsval() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    h.inject(&c.data(b"one"));
    c.nxt = c.nxt.wrapping_add(3);
    h.inject(&c.data(b"two"));
    assert_eq!(h.read(&c), b"onetwo");
    assert_eq!(h.s.stats().tcp_paws_estab, 0);
}

/// RFC 7323 5.3 R1 applies only "if the RST bit is not set": a RST at RCV.NXT with an old
/// TSval still resets.
#[test]
fn paws_does_not_apply_to_rst() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    c.tick(100);
    h.inject(&c.data(b"x"));
    c.nxt = c.nxt.wrapping_add(1);
    h.inject(&c.seg(RST).ts(PEER_TS + 1, 0));
    assert_eq!(h.state(&c), Some(State::Closed));
    assert_eq!(h.s.tcp_conn(c.h).unwrap().error(), Some(ConnError::Reset));
}

/// RFC 7323 4.3 (2): TS.Recent takes the TSval of a segment covering Last.ACK.sent; our
/// next ACK echoes it.
#[test]
fn ts_recent_follows_in_order_segments() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    c.tick(5);
    h.inject(&c.data(b"abc"));
    c.nxt = c.nxt.wrapping_add(3);
    let (_, out) = h.next_out(secs(1)).unwrap();
    check(&out[0], &[ack(c.nxt), C::TsEcr(PEER_TS + 5)]);
}

/// RFC 7323 4.3 (2): an out-of-order segment (beyond Last.ACK.sent) does not update
/// TS.Recent: the immediate duplicate ACK echoes the older TSval.
#[test]
fn out_of_order_segment_does_not_update_ts_recent() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    c.tick(9);
    h.inject(&c.data(b"later").seq(c.nxt.wrapping_add(100)));
    h.expect(&[ack(c.nxt), C::TsEcr(PEER_TS)]);
}

/// RFC 7323 4.3 case (A): with delayed ACKs, the ACK of two segments echoes the TSval of
/// the earlier one, so the peer's RTT measurement includes the delay.
#[test]
fn delayed_ack_echoes_the_earlier_tsval() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    let full = vec![3u8; 1448];
    c.tick(1);
    h.inject(&c.data(&full));
    c.nxt = c.nxt.wrapping_add(1448);
    h.expect_none();
    c.tick(1);
    h.inject(&c.data(&full));
    c.nxt = c.nxt.wrapping_add(1448);
    h.expect(&[ack(c.nxt), C::TsEcr(PEER_TS + 1)]);
}

/// RFC 7323 3.2: once negotiated, every segment we send (data and pure ACKs alike)
/// carries the Timestamps option; without negotiation, none does.
#[test]
fn timestamps_on_every_segment_once_negotiated() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::linux());
    h.send(&c, b"data");
    let d = h.expect(&[len(4)]);
    assert!(d.ts.is_some());
    h.inject(&c.data(b"x").ack(c.una.wrapping_add(4)));
    let (_, out) = h.next_out(secs(1)).unwrap();
    assert!(out[0].ts.is_some(), "{out:#?}");

    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, b"data");
    h.expect(&[len(4), C::NoTs]);
}

/// RFC 7323 3.2: "If a non-RST segment is received without a TSopt, a TCP SHOULD silently
/// drop the segment" once timestamps are in use (and MUST NOT abort the connection).
#[test]
fn segment_without_timestamp_is_dropped() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::linux());
    h.inject(&c.data(b"nots").no_ts());
    h.advance_by(ms(500));
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 0);
    assert_eq!(h.state(&c), Some(State::Established));
    h.inject(&c.seg(RST).no_ts());
    assert_eq!(
        h.state(&c),
        Some(State::Closed),
        "a RST without TSopt counts"
    );
}

/// RFC 7323 3.2 / 4.1: TSval 0 is never sent (an echoed 0 means "no echo" to RTTM), even
/// when the clock plus the connection's offset comes to 0.
#[test]
fn tsval_zero_is_never_sent() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::linux());
    let now_ms = h.now.total_millis() as u32;
    h.s.tcp_configure(c.h, |conn| conn.ts_offset = 0u32.wrapping_sub(now_ms))
        .unwrap();
    h.send(&c, b"z");
    let d = h.expect(&[len(1)]);
    assert_eq!(d.ts.unwrap().tsval, 1);
}

/// RFC 7323 4.1 (RTTM): an echoed TSval measures the RTT even for a retransmitted segment
/// (unlike Karn's timing): the ACK of a retransmission echoing its TSval 50 ms later gives
/// SRTT = 50 ms.
#[test]
fn timestamp_rtt_sample_from_retransmission() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    // The handshake's echo gave a zero RTT; start the estimator afresh for the test.
    h.s.tcp_configure(c.h, |conn| {
        conn.rtt = crate::tcp::rtt::RttEstimator::new(secs(1), ms(200), secs(120))
    })
    .unwrap();
    h.send(&c, b"lost");
    h.expect(&[len(4)]);
    let (_, out) = h.next_out(secs(5)).unwrap();
    let re = &out[0];
    check(re, &[len(4)]);
    c.saw(re);
    h.advance_by(ms(50));
    h.inject(&c.seg(ACK));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(info.srtt, Some(ms(50)));
}
