//! F-RTO (RFC 5682): a spurious retransmission timeout detected without timestamps, and
//! undone (RFC 4015's response); a genuine one recovered as usual.

use super::*;

/// A connection without timestamps (with SACK when `sack`), a 100 ms RTT sample, twelve
/// segments queued of which the initial window sends ten, and no ACK for them until the
/// retransmission timer has fired and sent the first again. Returns the connection, the
/// flight, and the RTO before the timeout.
fn timed_out_flight(h: &mut Harness, sack: bool) -> (Conn, Vec<Seg>, Duration) {
    let c = h.passive_rtt(
        PeerOpts {
            sack,
            ..PeerOpts::default()
        },
        ms(100),
    );
    h.send(&c, &vec![7u8; 12 * 1460]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    let rto_before = h.s.tcp_conn(c.h).unwrap().info().rto;
    let (_, re) = h.next_out(secs(2)).expect("the RTO");
    assert_eq!(re.len(), 1, "{re:#?}");
    check(&re[0], &[seq(out[0].seq), len(1460)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.stats.timeouts, info.cwnd), (1, 1460));
    assert!(info.rto > rto_before, "backed off: {:?}", info.rto);
    (c, out, rto_before)
}

fn end(s: &Seg) -> u32 {
    s.seq.wrapping_add(s.data.len() as u32)
}

/// RFC 5682 step 2b: the ACK that advances the window without covering `recover` draws
/// two new segments, the two never sent, and nothing of the old flight.
#[track_caller]
fn expect_two_new(h: &mut Harness, out: &[Seg]) -> Vec<Seg> {
    let sent = h.out();
    assert_eq!(sent.len(), 2, "two new segments: {sent:#?}");
    check(&sent[0], &[seq(end(&out[9])), len(1460)]);
    check(&sent[1], &[seq(end(&out[9]) + 1460), len(1460)]);
    sent
}

/// RFC 4015 3.2's response to a spurious timeout: cwnd and ssthresh back to their values
/// before it, the backed-off RTO reset to the one computed from the RTT, counted.
#[track_caller]
fn expect_undone(h: &Harness, c: &Conn, rto_before: Duration) {
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(info.ssthresh, usize::MAX, "ssthresh restored");
    assert!(info.cwnd >= 10 * 1460, "cwnd restored: {}", info.cwnd);
    assert_eq!(info.rto, rto_before, "the back-off is reset");
    assert_eq!(h.s.stats().tcp_spurious_rtos, 1);
}

/// RFC 5682 section 2.1 (basic F-RTO, no SACK): the ACK of the retransmission
/// acknowledges three segments, and F-RTO sends two new ones (2b); the next ACK
/// advances the window again, acknowledging data sent before the timeout and never
/// retransmitted (3b): the timeout was spurious. RFC 4015 3.2's response: cwnd and
/// ssthresh back to their values before it, the rest of the flight (on its way) not
/// sent again, and the backed-off RTO reset to the one computed from the RTT.
#[test]
fn spurious_rto_without_timestamps_is_undone_by_frto() {
    let mut h = Harness::new();
    let (c, out, rto_before) = timed_out_flight(&mut h, false);
    h.inject(&c.seg(ACK).ack(out[3].seq));
    expect_two_new(&mut h, &out);
    h.inject(&c.seg(ACK).ack(out[6].seq));
    let sent = h.out();
    assert!(
        sent.iter().all(|s| s.data.is_empty()),
        "nothing of the flight again: {sent:#?}"
    );
    expect_undone(&h, &c, rto_before);
}

/// RFC 5682 2.1 step 3a: after the two new segments, a duplicate ACK (the originals were
/// lost; the new segments arrived out of order): the timeout was genuine. Nothing is
/// undone, cwnd is at most 3 * SMSS, and the unacknowledged segments go again from
/// SND.UNA.
#[test]
fn genuine_rto_is_not_undone_by_frto() {
    let mut h = Harness::new();
    let (c, out, _) = timed_out_flight(&mut h, false);
    h.inject(&c.seg(ACK).ack(out[1].seq));
    expect_two_new(&mut h, &out);
    h.inject(&c.seg(ACK).ack(out[1].seq));
    let sent = h.out();
    assert!(!sent.is_empty(), "the go-back goes on");
    check(&sent[0], &[seq(out[1].seq), len(1460)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert!(info.ssthresh < usize::MAX, "the reduction stands");
    assert!(info.cwnd <= 3 * 1460, "cwnd {}", info.cwnd);
    assert_eq!(h.s.stats().tcp_spurious_rtos, 0);
}

/// RFC 5682 2.1 step 2a: an ACK that does not acknowledge the whole retransmitted
/// segment, or a duplicate ACK first, ends F-RTO: conventional recovery retransmits
/// old data, no new segment goes.
#[test]
fn basic_frto_reverts_on_a_duplicate_first() {
    let mut h = Harness::new();
    let (c, out, _) = timed_out_flight(&mut h, false);
    h.inject(&c.seg(ACK).ack(out[0].seq));
    h.inject(&c.seg(ACK).ack(out[2].seq));
    let sent = h.out();
    assert!(!sent.is_empty());
    check(&sent[0], &[seq(out[2].seq), len(1460)]);
    assert!(
        sent.iter()
            .all(|s| (end(&out[9]).wrapping_sub(s.seq) as i32) > 0),
        "old data only: {sent:#?}"
    );
    h.inject(&c.seg(ACK).ack(out[6].seq));
    assert_eq!(h.s.stats().tcp_spurious_rtos, 0);
}

/// RFC 5682 section 3.1 (SACK-enhanced F-RTO): a duplicate ACK with a SACK block before
/// the retransmission's ACK is waited out (step 2, where the basic algorithm would give
/// up); the retransmission's ACK draws two new segments (2b); the next ACK SACKs data
/// below RecoveryPoint not reported before (3b): spurious, undone.
#[test]
fn sack_enhanced_frto_detects_a_spurious_rto() {
    let mut h = Harness::new();
    let (c, out, rto_before) = timed_out_flight(&mut h, true);
    let mut d = c.seg(ACK).ack(out[0].seq);
    d.sack = vec![(out[2].seq, end(&out[2]))];
    h.inject(&d);
    h.out();
    let mut a = c.seg(ACK).ack(out[1].seq);
    a.sack = vec![(out[2].seq, end(&out[2]))];
    h.inject(&a);
    expect_two_new(&mut h, &out);
    let mut b = c.seg(ACK).ack(out[1].seq);
    b.sack = vec![(out[2].seq, end(&out[4]))];
    h.inject(&b);
    expect_undone(&h, &c, rto_before);
}

/// RFC 5682 3.1 step 3a: the ACK after the new segments SACKs one of them (beyond
/// RecoveryPoint) while the originals are still missing: genuine; recovery goes back to
/// SND.UNA and nothing is undone.
#[test]
fn sack_enhanced_frto_keeps_a_genuine_rto() {
    let mut h = Harness::new();
    let (c, out, _) = timed_out_flight(&mut h, true);
    h.inject(&c.seg(ACK).ack(out[1].seq));
    let new = expect_two_new(&mut h, &out);
    let mut b = c.seg(ACK).ack(out[1].seq);
    b.sack = vec![(new[0].seq, end(&new[0]))];
    h.inject(&b);
    let sent = h.out();
    assert!(!sent.is_empty(), "the go-back goes on");
    check(&sent[0], &[seq(out[1].seq), len(1460)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert!(info.ssthresh < usize::MAX);
    assert_eq!(h.s.stats().tcp_spurious_rtos, 0);
}

/// RFC 6298 3 and 5 without timestamps, with SACK (`Rack::clean_rtt`, as Linux's
/// `sack_rtt`): after a timeout, the ACK that cumulatively acknowledges only the
/// retransmitted segment measures nothing (Karn: it may answer either copy), nor does a
/// first SACK of a segment sent before the timeout (its report may have waited out the
/// back-off: "a new RTT measurement ... can only happen when new data has been sent and
/// acknowledged"); a SACK of new data sent after it measures its RTT and collapses the
/// back-off. Karn's single timed segment, dropped at the retransmission, gave none.
#[test]
fn without_timestamps_a_sack_of_new_data_ends_the_back_off() {
    let mut h = Harness::new();
    let (c, out, _) = timed_out_flight(&mut h, true);
    let backoffs = |h: &Harness| h.s.tcp_conn(c.h).unwrap().rtt.backoffs();
    assert_eq!(backoffs(&h), 1);
    let mut a = c.seg(ACK).ack(end(&out[0]));
    a.sack = vec![(out[2].seq, end(&out[2]))];
    h.inject(&a);
    assert_eq!(backoffs(&h), 1, "nothing measured");
    // F-RTO (RFC 5682 2b) sends two new segments; 30 ms later the first is SACKed.
    let new = expect_two_new(&mut h, &out);
    let srtt = h.s.tcp_conn(c.h).unwrap().info().srtt;
    let _ = h.advance_by(ms(30));
    let mut b = c.seg(ACK).ack(end(&out[0]));
    b.sack = vec![(out[2].seq, end(&out[2])), (new[0].seq, end(&new[0]))];
    h.inject(&b);
    assert_eq!(backoffs(&h), 0, "a SACK of new data measures");
    let after = h.s.tcp_conn(c.h).unwrap().info().srtt;
    assert!(
        after < srtt,
        "a 30 ms sample lowered SRTT: {srtt:?} -> {after:?}"
    );
}
