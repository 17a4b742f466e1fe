//! RACK (RFC 8985 section 6) and the tail loss probe (section 7) with SACK: losses found
//! by time, with the reordering window, instead of by counting duplicate ACKs.

use super::*;

const MSS: u32 = 1460;

/// A SACK connection with a 100 ms RTT and `segs` full segments queued; returns the
/// connection and what went out at once (the initial window, ten segments).
fn flight(h: &mut Harness, segs: usize) -> (Conn, Vec<Seg>) {
    let c = h.passive_rtt(
        PeerOpts {
            sack: true,
            ..PeerOpts::default()
        },
        ms(100),
    );
    h.send(&c, &vec![0x44; segs * MSS as usize]);
    let out = h.out();
    assert_eq!(out.len(), segs.min(10));
    (c, out)
}

fn end(s: &Seg) -> u32 {
    s.seq.wrapping_add(s.data.len() as u32)
}

/// RFC 8985 6.2: reordering within the reordering window (min RTT / 4 = 25 ms, with
/// fewer than DupThresh segments SACKed) retransmits nothing: segment 1 arrives before
/// segment 0, which follows 10 ms later.
#[test]
fn reordering_within_the_window_is_not_a_loss() {
    let mut h = Harness::new();
    let (c, out) = flight(&mut h, 10);
    h.idle_until(h.now + ms(100));
    let mut a = c.seg(ACK).ack(out[0].seq);
    a.sack = vec![(out[1].seq, end(&out[1]))];
    h.inject(&a);
    h.expect_none();
    h.idle_until(h.now + ms(10));
    h.inject(&c.seg(ACK).ack(end(&out[1])));
    h.idle_until(h.now + ms(100));
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.info().stats.retransmits, 0);
    assert!(conn.rack.reordering_seen(), "segment 0 came after 1");
}

/// RFC 8985 6.2 and 6.3: a segment not delivered when one sent after it was is lost
/// once RACK.rtt plus the reordering window has passed since it left: the reordering
/// timer fires then (100 + 25 ms after it was sent) and it is retransmitted, with one
/// SACKed segment, where RFC 6675 would wait for three.
#[test]
fn beyond_the_window_the_reordering_timer_retransmits() {
    let mut h = Harness::new();
    let (c, out) = flight(&mut h, 10);
    let sent = h.now;
    h.idle_until(h.now + ms(100));
    let mut a = c.seg(ACK).ack(out[0].seq);
    a.sack = vec![(out[1].seq, end(&out[1]))];
    h.inject(&a);
    h.expect_none();
    let (at, re) = h.expect_by(h.now + ms(50), &[seq(out[0].seq), len(1460)]);
    assert_eq!(at, sent + ms(125), "xmit_ts + RACK.rtt + reo_wnd: {re:?}");
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.stats.fast_retransmits, info.stats.timeouts), (1, 0));
}

/// RFC 8985 6.2: retransmissions that are lost again are found lost once data sent
/// after them is delivered, wherever they lie in the window (not only the first hole),
/// and sent again without waiting for the RTO (with CUBIC, which keeps no delivery-rate
/// records).
#[test]
fn lost_retransmissions_are_resent_without_an_rto() {
    let mut h = Harness::with_cc(Algorithm::Cubic);
    let (c, out) = flight(&mut h, 30);
    h.idle_until(h.now + ms(100));
    // Segments 0 and 1 arrive, 2 and 4 are lost, 3 and 5-9 are SACKed: with three
    // segments SACKed the reordering window is 0 and both holes are lost.
    let mut a = c.seg(ACK).ack(out[2].seq);
    a.sack = vec![(out[5].seq, end(&out[9])), (out[3].seq, end(&out[3]))];
    h.inject(&a);
    let first = h.out();
    let seqs: Vec<u32> = first.iter().map(|s| s.seq).collect();
    assert_eq!(&seqs[..2], &[out[2].seq, out[4].seq], "{first:#?}");
    assert!(seqs.len() > 2, "PRR lets new data go too: {first:#?}");
    let last_new = &first[first.len() - 1];
    // A round trip later: the new data arrived, both retransmissions were lost.
    h.advance_by(ms(100));
    let mut a = c.seg(ACK).ack(out[2].seq);
    a.sack = vec![
        (first[2].seq, end(last_new)),
        (out[5].seq, end(&out[9])),
        (out[3].seq, end(&out[3])),
    ];
    h.inject(&a);
    let again: Vec<u32> = h.out().iter().map(|s| s.seq).collect();
    assert!(
        again.contains(&out[2].seq) && again.contains(&out[4].seq),
        "both lost retransmissions go again at once: {again:?}"
    );
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(info.stats.timeouts, 0);
}

/// RFC 8985 section 7: after a tail loss (the last two segments), the probe goes at
/// PTO = 2 * SRTT after the last ACK, resending the last segment (nothing new to send);
/// its SACK lets RACK find the other lost segment, retransmitted without an RTO.
#[test]
fn tail_loss_probe_then_rack_repairs_the_tail() {
    let mut h = Harness::with(TcpConfig::default());
    let (c, out) = flight(&mut h, 10);
    h.idle_until(h.now + ms(100));
    h.inject(&c.seg(ACK).ack(out[8].seq));
    let acked = h.now;
    h.expect_none();
    let srtt = h.s.tcp_conn(c.h).unwrap().info().srtt.unwrap();
    let (at, probe) = h.next_out(secs(1)).expect("a probe");
    assert_eq!(probe.len(), 1, "{probe:#?}");
    check(&probe[0], &[seq(out[9].seq), len(1460)]);
    assert_eq!(at, acked + srtt + srtt, "PTO = 2 * SRTT");
    assert_eq!(h.s.stats().tcp_loss_probes, 1);
    h.idle_until(at + ms(100));
    let mut a = c.seg(ACK).ack(out[8].seq);
    a.sack = vec![(out[9].seq, end(&out[9]))];
    h.inject(&a);
    let re = h.out();
    assert_eq!(re.len(), 1, "{re:#?}");
    check(&re[0], &[seq(out[8].seq), len(1460)]);
    h.inject(&c.seg(ACK).ack(end(&out[9])));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.stats.timeouts, info.bytes_in_flight), (0, 0));
}

/// The tail of ten segments with the last one lost, probed: returns the connection, the
/// flight and the probe (a retransmission of the last segment).
fn probed_tail(h: &mut Harness) -> (Conn, Vec<Seg>, Seg) {
    let (c, out) = flight(h, 10);
    h.idle_until(h.now + ms(100));
    h.inject(&c.seg(ACK).ack(out[9].seq));
    h.expect_none();
    let (_, probe) = h.next_out(secs(1)).expect("a probe");
    check(&probe[0], &[seq(out[9].seq), len(1460)]);
    (c, out, probe[0].clone())
}

/// RFC 8985 7.4: a retransmitted probe followed by an ACK beyond it (new data sent
/// after it arrived too) and no D-SACK repaired a loss: the congestion controller
/// answers it as one (CUBIC: ssthresh = 0.7 cwnd).
#[test]
fn probe_that_repaired_a_loss_reduces_the_window() {
    let mut h = Harness::with(TcpConfig::default());
    let (c, _, probe) = probed_tail(&mut h);
    let before = h.s.tcp_conn(c.h).unwrap().info().cwnd;
    h.send(&c, &[9u8; 1460]);
    let new = h.expect(&[seq(end(&probe)), len(1460)]);
    h.advance_by(ms(100));
    h.inject(&c.seg(ACK).ack(end(&new)));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(h.s.stats().tcp_loss_probe_recovery, 1);
    assert_eq!(info.ssthresh, before * 7 / 10, "cwnd was {before}");
}

/// RFC 8985 7.4: a D-SACK for the probe means the original arrived too: no loss, the
/// window stays.
#[test]
fn probe_reported_duplicate_is_no_loss() {
    let mut h = Harness::with(TcpConfig::default());
    let (c, _, probe) = probed_tail(&mut h);
    h.advance_by(ms(100));
    h.inject(&c.seg(ACK).ack(end(&probe)));
    let mut d = c.seg(ACK).ack(end(&probe));
    d.sack = vec![(probe.seq, end(&probe))];
    h.inject(&d);
    h.send(&c, &[9u8; 1460]);
    let new = h.expect(&[seq(end(&probe))]);
    h.advance_by(ms(100));
    h.inject(&c.seg(ACK).ack(end(&new)));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(h.s.stats().tcp_loss_probe_recovery, 0);
    assert_eq!(info.ssthresh, usize::MAX);
}

/// RFC 6298 5.1 (a retransmission restarts a timer that is not running; Linux re-arms
/// it whenever it retransmits the head): an ACK that makes RACK start recovery at the
/// very instant the RTO is due restarts the timer with the fast retransmission, so the
/// timer does not fire as well and send the segment twice.
#[test]
fn fast_retransmit_restarts_the_rto_due_at_the_same_instant() {
    let mut h = Harness::new();
    let (c, out) = flight(&mut h, 10);
    let rto = h.s.tcp_conn(c.h).unwrap().info().rto;
    h.now += rto;
    let mut a = c.seg(ACK).ack(out[0].seq);
    a.sack = vec![(out[1].seq, end(&out[3]))];
    h.inject(&a);
    h.expect(&[seq(out[0].seq), len(1460)]);
    h.idle_until(h.now + ms(1));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.stats.timeouts, info.stats.retransmits), (0, 1));
}
