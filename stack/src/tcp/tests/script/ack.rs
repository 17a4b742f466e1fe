//! When we acknowledge: delayed ACKs (RFC 1122 4.2.3.2, RFC 5681 4.2), immediate ACKs for
//! out-of-order data and filled holes, SACK blocks (RFC 2018), piggybacking.

use super::*;

/// RFC 5681 4.2 / RFC 1122 4.2.3.2: "an ACK SHOULD be generated for at least every second
/// full-sized segment": the first full segment waits, the second is acknowledged at once.
#[test]
fn second_full_segment_is_acked_at_once() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(&[1u8; 1460]));
    c.nxt = c.nxt.wrapping_add(1460);
    h.expect_none();
    h.inject(&c.data(&[2u8; 1460]));
    c.nxt = c.nxt.wrapping_add(1460);
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), len(0)]);
}

/// RFC 1122 4.2.3.2 (delay under 0.5 s; tunstack uses Linux's 40 ms): a single segment is
/// acknowledged when the delayed-ACK timer fires, 40 ms later, and counted.
#[test]
fn single_segment_is_acked_after_the_delay() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"hello"));
    c.nxt = c.nxt.wrapping_add(5);
    let at = h.now;
    h.expect_none();
    let (t, _) = h.expect_by(at + secs(1), &[C::FlagsExact(ACK), ack(c.nxt)]);
    assert_eq!(t - at, ms(40));
    assert_eq!(h.s.stats().tcp_delayed_acks, 1);
}

/// RFC 5681 4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an
/// out-of-order segment arrives"; with SACK permitted it reports the data held (RFC 2018
/// section 4).
#[test]
fn out_of_order_data_gets_immediate_ack_with_sack() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    let at = c.nxt.wrapping_add(1000);
    h.inject(&c.data(&[3u8; 100]).seq(at));
    h.expect(&[
        C::FlagsExact(ACK),
        ack(c.nxt),
        C::Sack(vec![(at, at.wrapping_add(100))]),
    ]);
}

/// RFC 2018 section 4: without SACK-permitted in the handshake, no SACK blocks are sent.
#[test]
fn no_sack_blocks_unless_permitted() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.data(&[3u8; 100]).seq(c.nxt.wrapping_add(1000)));
    h.expect(&[ack(c.nxt), C::Sack(vec![])]);
}

/// RFC 5681 4.2: "an immediate ACK ... when the segment fills in all or part of a gap":
/// the ACK covers the held data too, and no SACK block is left.
#[test]
fn filling_a_hole_is_acked_at_once() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    h.inject(&c.data(&[3u8; 100]).seq(c.nxt.wrapping_add(1000)));
    h.expect(&[ack(c.nxt)]);
    h.inject(&c.data(&[4u8; 1000]));
    h.expect(&[ack(c.nxt.wrapping_add(1100)), C::Sack(vec![])]);
    assert_eq!(h.read(&c).len(), 1100);
}

/// RFC 2018 section 4: the first SACK block reports the most recently received segment;
/// the others follow, most recent first.
#[test]
fn sack_blocks_most_recent_first() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    let a = c.nxt.wrapping_add(1000);
    let b = c.nxt.wrapping_add(3000);
    h.inject(&c.data(&[1u8; 100]).seq(a));
    h.out();
    h.inject(&c.data(&[1u8; 100]).seq(b));
    h.expect(&[C::Sack(vec![
        (b, b.wrapping_add(100)),
        (a, a.wrapping_add(100)),
    ])]);
}

/// RFC 2018 section 3: with timestamps the option space holds at most three SACK blocks.
#[test]
fn at_most_three_sack_blocks_with_timestamps() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::linux());
    for k in 1..=4u32 {
        h.inject(&c.data(&[1u8; 10]).seq(c.nxt.wrapping_add(k * 100)));
    }
    let acks = h.out();
    let last = acks.last().unwrap();
    assert_eq!(last.sack.len(), 3, "{last:?}");
    let newest = c.nxt.wrapping_add(400);
    assert_eq!(last.sack[0], (newest, newest.wrapping_add(10)));
}

/// RFC 9293 3.10.7.4 / RFC 1122 4.2.3.2: an ACK rides on data we send: the segment carries
/// ACK = RCV.NXT and the delayed ACK is not sent separately.
#[test]
fn ack_piggybacks_on_data() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"request"));
    c.nxt = c.nxt.wrapping_add(7);
    h.advance_by(ms(5));
    h.send(&c, b"reply");
    h.expect(&[ack(c.nxt), C::Data(b"reply".to_vec())]);
    h.idle_until(h.now + ms(100));
}

/// RFC 9293 3.10.7.4 (eighth): a FIN is acknowledged at once (no delay).
#[test]
fn fin_is_acked_at_once() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.inject(&c.seg(FIN | ACK));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt.wrapping_add(1))]);
}

/// RFC 5681 4.2: "an immediate duplicate ACK when an out-of-order segment arrives" — also
/// when several arrive in one batch that the stack answers together: one ACK each.
#[test]
fn one_dup_ack_per_out_of_order_segment_in_a_batch() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    let base = c.nxt;
    // Three segments after a hole of 100 bytes, received before the stack is polled.
    for k in 0..3u32 {
        let s = c
            .seg(ACK)
            .seq(base.wrapping_add(100 + k * 100))
            .data(&[7u8; 100]);
        h.inject(&s);
    }
    let out = h.out();
    assert_eq!(out.len(), 3, "{out:#?}");
    assert!(out.iter().all(|s| s.ack == base && s.data.is_empty()));
}
