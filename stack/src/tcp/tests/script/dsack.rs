//! D-SACK (RFC 2883): our receiver reports duplicate segments in the first SACK block;
//! our sender recognizes such blocks.

use super::*;
use crate::tcp::congestion::Algorithm;

fn sack_conn(h: &mut Harness) -> Conn {
    h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    })
}

/// RFC 2883 section 4.1.1: a segment wholly below RCV.NXT (its ACK was lost, say) is
/// answered with an ACK whose first SACK block is the duplicate; the next ACK no longer
/// carries it (rule 2: each duplicate is reported once).
#[test]
fn duplicate_below_rcv_nxt_is_reported_once() {
    let mut h = Harness::new();
    let mut c = sack_conn(&mut h);
    let at = c.nxt;
    h.inject(&c.data(&[1u8; 1000]));
    c.nxt = c.nxt.wrapping_add(1000);
    h.expect_by(h.now + secs(1), &[ack(c.nxt), C::Sack(vec![])]);
    // The same segment again.
    h.inject(&c.data(&[1u8; 1000]).seq(at));
    h.expect(&[
        C::FlagsExact(ACK),
        ack(c.nxt),
        C::Sack(vec![(at, at.wrapping_add(1000))]),
    ]);
    // New data: its ACK carries no D-SACK.
    h.inject(&c.data(&[2u8; 100]).seq(c.nxt));
    let (_, next) = h.expect_by(h.now + secs(1), &[ack(c.nxt.wrapping_add(100))]);
    assert!(next.sack.is_empty(), "{next:?}");
}

/// RFC 2883 section 4 rule 3: for a segment partly below RCV.NXT, the D-SACK block is the
/// duplicate part only; the new part is taken.
#[test]
fn partial_duplicate_reports_the_part_below_rcv_nxt() {
    let mut h = Harness::new();
    let mut c = sack_conn(&mut h);
    let at = c.nxt;
    h.inject(&c.data(&[1u8; 1000]));
    c.nxt = c.nxt.wrapping_add(1000);
    h.expect_by(h.now + secs(1), &[ack(c.nxt)]);
    // 500 old bytes and 500 new ones.
    h.inject(&c.data(&[1u8; 1000]).seq(at.wrapping_add(500)));
    let (_, a) = h.expect_by(h.now + secs(1), &[ack(c.nxt.wrapping_add(500))]);
    assert_eq!(a.sack, vec![(at.wrapping_add(500), c.nxt)]);
    assert_eq!(h.read(&c).len(), 1500);
}

/// RFC 2883 section 4.1.3 and rule 4: a duplicate of out-of-order data held is reported
/// first, followed by the block that holds it, then the other blocks.
#[test]
fn duplicate_of_out_of_order_data_comes_first_then_its_block() {
    let mut h = Harness::new();
    let c = sack_conn(&mut h);
    let a = c.nxt.wrapping_add(1000);
    let b = c.nxt.wrapping_add(3000);
    h.inject(&c.data(&[1u8; 200]).seq(a));
    h.out();
    h.inject(&c.data(&[1u8; 100]).seq(b));
    h.out();
    // The second 100 bytes of the first block again.
    h.inject(&c.data(&[1u8; 100]).seq(a.wrapping_add(100)));
    h.expect(&[
        ack(c.nxt),
        C::Sack(vec![
            (a.wrapping_add(100), a.wrapping_add(200)),
            (a, a.wrapping_add(200)),
            (b, b.wrapping_add(100)),
        ]),
    ]);
}

/// RFC 2883: without SACK permitted there is no D-SACK either.
#[test]
fn no_dsack_without_sack() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    let at = c.nxt;
    h.inject(&c.data(&[1u8; 1000]));
    c.nxt = c.nxt.wrapping_add(1000);
    h.expect_by(h.now + secs(1), &[ack(c.nxt)]);
    h.inject(&c.data(&[1u8; 1000]).seq(at));
    h.expect(&[ack(c.nxt), C::Sack(vec![])]);
}

/// RFC 2883 section 5: the sender counts an ACK whose first block lies below the
/// cumulative ACK, or within the second block, as a D-SACK (TcpExtTCPDSACKRecv); plain
/// SACK blocks are not.
#[test]
fn sender_counts_dsacks() {
    let mut h = Harness::new();
    let mut c = sack_conn(&mut h);
    h.send(&c, &[7u8; 3 * 1460]);
    let out = h.out();
    assert_eq!(out.len(), 3);
    // A plain SACK of the third segment: not a D-SACK.
    let mut s = c.seg(ACK);
    s.sack = vec![(out[2].seq, out[2].seq.wrapping_add(out[2].len()))];
    h.inject(&s);
    assert_eq!(h.s.stats().tcp_dsack_recv, 0);
    // The first segment acknowledged, and reported again below the ACK.
    c.saw(&out[0]);
    let mut s = c.seg(ACK);
    s.sack = vec![(out[0].seq, out[0].seq.wrapping_add(1460))];
    h.inject(&s);
    assert_eq!(h.s.stats().tcp_dsack_recv, 1);
    // A duplicate within a block above the ACK.
    let third = (out[2].seq, out[2].seq.wrapping_add(out[2].len()));
    let mut s = c.seg(ACK);
    s.sack = vec![(third.0, third.0.wrapping_add(100)), third];
    h.inject(&s);
    assert_eq!(h.s.stats().tcp_dsack_recv, 2);
}

/// RFC 2883 section 5 with nothing outstanding: once everything is acknowledged, an
/// ACK that moves nothing still has its D-SACK read (the ACK-field fast path,
/// `ack_says_nothing`, takes only ACKs without SACK blocks), and one without blocks
/// changes nothing.
#[test]
fn a_dsack_after_everything_is_acknowledged_still_counts() {
    let mut h = Harness::new();
    let mut c = sack_conn(&mut h);
    h.send(&c, &[7u8; 2 * 1460]);
    let out = h.out();
    assert_eq!(out.len(), 2);
    c.saw(&out[0]);
    c.saw(&out[1]);
    h.inject(&c.seg(ACK));
    let acked = h.s.tcp_conn(c.h).unwrap().info();
    h.inject(&c.seg(ACK));
    assert_eq!(h.s.stats().tcp_dsack_recv, 0);
    let mut s = c.seg(ACK);
    s.sack = vec![(out[1].seq, out[1].seq.wrapping_add(1460))];
    h.inject(&s);
    assert_eq!(h.s.stats().tcp_dsack_recv, 1);
    let after = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((after.cwnd, after.ssthresh), (acked.cwnd, acked.ssthresh));
}

/// A SACK connection running Reno with ten full segments in flight; the peer's first
/// three duplicate ACKs SACK segments 1-3, so segment 0 is fast retransmitted.
fn fast_retransmit_of_first(h: &mut Harness) -> (Conn, Vec<Seg>) {
    let c = sack_conn(h);
    h.send(&c, &[9u8; 10 * 1460]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    let una = out[0].seq;
    for k in 1..=3 {
        let mut s = c.seg(ACK).ack(una);
        s.sack = vec![(out[1].seq, out[k].seq.wrapping_add(1460))];
        h.inject(&s);
    }
    let rexmit = h.out();
    check(&rexmit[0], &[seq(una), len(1460)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.cwnd, info.ssthresh), (5 * 1460, 5 * 1460));
    (c, out)
}

/// RFC 3708 section 3: the original of the retransmitted segment was only late (the
/// peer's cumulative ACK covers everything, then the retransmission arrives as a
/// duplicate and is D-SACKed): every retransmission of the episode is reported
/// duplicate, so the reduction is undone: cwnd and ssthresh as before it (ten segments,
/// ssthresh still infinite in the first slow start).
#[test]
fn dsack_of_every_retransmission_undoes_the_reduction() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let (mut c, out) = fast_retransmit_of_first(&mut h);
    c.saw(&out[9]);
    h.inject(&c.seg(ACK));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(info.cwnd, 5 * 1460, "recovery ends at ssthresh");
    let mut s = c.seg(ACK);
    s.sack = vec![(out[0].seq, out[0].seq.wrapping_add(1460))];
    h.inject(&s);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.cwnd, info.ssthresh), (10 * 1460, usize::MAX));
    assert_eq!(h.s.stats().tcp_dsack_recv, 1);
    assert_eq!(h.s.stats().tcp_dsack_undo, 1);
}

/// RFC 3708 section 3: a D-SACK for only part of what was retransmitted proves nothing;
/// neither does one after a retransmission timeout (the episode's undo state is gone).
#[test]
fn partial_dsack_or_timeout_keeps_the_reduction() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let (mut c, out) = fast_retransmit_of_first(&mut h);
    c.saw(&out[9]);
    h.inject(&c.seg(ACK));
    // Half of the retransmitted segment reported duplicate.
    let mut s = c.seg(ACK);
    s.sack = vec![(out[0].seq, out[0].seq.wrapping_add(700))];
    h.inject(&s);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.cwnd, info.ssthresh), (5 * 1460, 5 * 1460));
    assert_eq!(h.s.stats().tcp_dsack_undo, 0);

    let mut h = Harness::with_cc(Algorithm::Reno);
    let (mut c, out) = fast_retransmit_of_first(&mut h);
    // The retransmission timer fires before anything more arrives.
    h.advance_by(secs(2));
    c.saw(&out[9]);
    let mut s = c.seg(ACK);
    s.sack = vec![(out[0].seq, out[0].seq.wrapping_add(1460))];
    h.inject(&s);
    assert_eq!(h.s.stats().tcp_dsack_recv, 1);
    assert_eq!(h.s.stats().tcp_dsack_undo, 0);
    assert!(h.s.tcp_conn(c.h).unwrap().info().stats.timeouts >= 1);
}

/// RFC 3708: a D-SACK that arrives while recovery is still under way (a partial ACK)
/// waits: the window is restored when recovery ends with no retransmission left
/// unreported, not before (a hole still to be retransmitted would need its own report).
#[test]
fn undo_waits_for_the_end_of_recovery() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let (mut c, out) = fast_retransmit_of_first(&mut h);
    // Segments 0-4 arrived, 0 twice: a partial ACK (recovery goes on to segment 9).
    let mut s = c.seg(ACK).ack(out[5].seq);
    s.sack = vec![(out[0].seq, out[0].seq.wrapping_add(1460))];
    h.inject(&s);
    assert_eq!(h.s.stats().tcp_dsack_recv, 1);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(info.ssthresh, 5 * 1460, "not yet undone");
    assert_eq!(h.s.stats().tcp_dsack_undo, 0);
    // The rest arrives: recovery ends, and with it the reduction.
    c.saw(&out[9]);
    h.inject(&c.seg(ACK));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.cwnd, info.ssthresh), (10 * 1460, usize::MAX));
    assert_eq!(h.s.stats().tcp_dsack_undo, 1);
}
