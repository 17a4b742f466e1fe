//! Acceptability and the blind-attack defences: RFC 9293 3.10.7.4's sequence and ACK
//! checks, RFC 5961's challenge ACKs for SYNs (4.2) and old ACKs (5.2) and their rate
//! limit (7).

use super::*;
use crate::tcp::State;

/// RFC 5961 4.2 / RFC 9293 3.10.7.4 (fourth): a SYN in a synchronized state, in the
/// window, gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>; the connection is not reset.
#[test]
fn syn_in_established_gets_challenge_ack() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(SYN).seq(c.nxt.wrapping_add(10)));
    h.expect(&[
        C::FlagsExact(ACK),
        seq(c.iss.wrapping_add(1)),
        ack(c.nxt),
        len(0),
    ]);
    assert_eq!(h.state(&c), Some(State::Established));
    assert_eq!(h.s.stats().tcp_challenge_acks, 1);
}

/// RFC 5961 4.2: "regardless of the sequence number", a SYN gets a challenge ACK: one
/// outside the window is answered the same way, and counted as a challenge ACK (so the
/// section 7 limit applies to it).
#[test]
fn out_of_window_syn_gets_challenge_ack() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(SYN).seq(c.nxt.wrapping_add(0x4000_0000)));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.state(&c), Some(State::Established));
    assert_eq!(h.s.stats().tcp_challenge_acks, 1);
}

/// RFC 5961 section 7: challenge ACKs are rate limited (here 2 a second): of five in-window
/// RSTs at once, two are answered; a second later one more may go.
#[test]
fn challenge_acks_are_rate_limited() {
    let mut h = Harness::with(TcpConfig {
        challenge_ack_rate: 2,
        ..TcpConfig::default()
    });
    let c = h.passive(PeerOpts::default());
    let mut answered = 0;
    for k in 1..=5u32 {
        h.inject(&c.seg(RST).seq(c.nxt.wrapping_add(k * 100)));
        answered += h.out().len();
    }
    assert_eq!(answered, 2);
    assert_eq!(h.s.stats().tcp_challenge_acks, 2);
    assert_eq!(h.s.stats().tcp_challenge_ack_limited, 3);
    h.advance_by(ms(500));
    h.inject(&c.seg(RST).seq(c.nxt.wrapping_add(700)));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.state(&c), Some(State::Established));
}

/// RFC 9293 3.10.7.4 (fifth, ESTABLISHED): "If the ACK acks something not yet sent
/// (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return": its data is not
/// taken in.
#[test]
fn ack_of_unsent_data_is_answered_and_dropped() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"bogus").ack(c.una.wrapping_add(100)));
    h.expect(&[C::FlagsExact(ACK), seq(c.una), ack(c.nxt)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 0);
}

/// RFC 5961 5.2: an ACK below SND.UNA - MAX.SND.WND is too old to be genuine: the segment
/// is dropped (its data too) and a (challenge) ACK sent.
#[test]
fn too_old_ack_is_answered_and_dropped() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"bogus").ack(c.una.wrapping_sub(70_000)));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 0);
    assert_eq!(h.s.stats().tcp_challenge_acks, 1);
}

/// RFC 5961 5.2 / RFC 9293 3.10.7.4: an old ACK within [SND.UNA - MAX.SND.WND, SND.UNA] is
/// a harmless duplicate: ignored, and the segment's data is processed.
#[test]
fn old_ack_within_max_window_is_accepted() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"fine").ack(c.una.wrapping_sub(60_000)));
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 4);
}

/// RFC 9293 3.10.7.4 (first): a segment beyond the receive window is not acceptable: "an
/// acknowledgment should be sent in reply (unless the RST bit is set)" and the segment
/// dropped.
#[test]
fn out_of_window_data_is_acked_and_dropped() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"far").seq(c.nxt.wrapping_add(300_000)));
    h.expect(&[C::FlagsExact(ACK), seq(c.una), ack(c.nxt)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 0);
}

/// RFC 9293 3.10.7.4 (first): an old duplicate wholly below RCV.NXT is not acceptable and
/// is acknowledged at once, telling the peer where we are.
#[test]
fn old_duplicate_is_acked_at_once() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"abcd"));
    c.nxt = c.nxt.wrapping_add(4);
    h.expect_by(h.now + ms(40), &[ack(c.nxt)]);
    h.inject(&c.data(b"abcd").seq(c.nxt.wrapping_sub(4)));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 4);
}

/// RFC 9293 3.10.7.4 (first): a segment that starts before RCV.NXT but reaches into the
/// window is acceptable; only its new part is taken.
#[test]
fn overlapping_segment_is_trimmed() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"abcd"));
    c.nxt = c.nxt.wrapping_add(4);
    h.inject(&c.data(b"cdef").seq(c.nxt.wrapping_sub(2)));
    assert_eq!(h.read(&c), b"abcdef");
}

/// RFC 9293 3.10.7.4 (fifth): a segment without ACK in a synchronized state is dropped
/// (after the sequence, RST and SYN checks): its data is not taken.
#[test]
fn segment_without_ack_is_dropped() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(PSH).data(b"noack"));
    h.advance_by(ms(200));
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 0);
}
