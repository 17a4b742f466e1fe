//! Loss recovery from duplicate ACKs: fast retransmit (RFC 5681 3.2) and NewReno fast
//! recovery (RFC 6582).

use super::*;

const MSS: u32 = 1460;

/// A connection with ten full segments in flight (the whole initial window); returns the
/// connection and the segments.
fn ten_in_flight(h: &mut Harness, extra: usize) -> (Conn, Vec<Seg>) {
    let c = h.passive(PeerOpts::default());
    h.send(&c, &vec![0x11; 14_600 + extra]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    (c, out)
}

/// The peer's duplicate ACK: ACK = `at`, no data, the same window.
fn dup(c: &Conn, at: u32) -> Seg {
    c.seg(ACK).ack(at)
}

/// RFC 5681 3.2 (step 2): the third duplicate ACK, and not the first or second, makes the
/// sender retransmit the segment the ACKs ask for.
#[test]
fn fast_retransmit_on_exactly_the_third_dup_ack() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 0);
    let una = out[1].seq;
    h.inject(&c.seg(ACK).ack(una));
    h.expect_none();
    h.inject(&dup(&c, una));
    h.expect_none();
    h.inject(&dup(&c, una));
    h.expect_none();
    h.inject(&dup(&c, una));
    h.expect(&[seq(una), len(1460)]);
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.info().stats.fast_retransmits, 1);
    assert_eq!(h.s.stats().tcp_fast_retrans, 1);
}

/// RFC 5681 section 2 (e): an ACK that changes the advertised window is not a duplicate
/// ACK: three of them start nothing.
#[test]
fn window_change_is_not_a_dup_ack() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 0);
    let una = out[0].seq;
    for w in [60_000u16, 59_000, 58_000, 57_000] {
        h.inject(&dup(&c, una).wnd(w));
    }
    h.expect_none();
}

/// RFC 5681 section 2 (b): an ACK carrying data is not a duplicate ACK.
#[test]
fn ack_with_data_is_not_a_dup_ack() {
    let mut h = Harness::new();
    let (mut c, out) = ten_in_flight(&mut h, 0);
    let una = out[0].seq;
    for _ in 0..3 {
        h.inject(&c.data(b"d").ack(una));
        c.nxt = c.nxt.wrapping_add(1);
    }
    // Only ACKs of that data come out (the second one at once), no retransmission.
    for s in h.out() {
        check(&s, &[len(0)]);
    }
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().stats.fast_retransmits, 0);
}

/// RFC 5681 3.2 step 2, equation (4): on fast retransmit ssthresh = max(FlightSize/2,
/// 2*SMSS) and cwnd = ssthresh (the sender adds the 3*SMSS inflation on top).
#[test]
fn fast_retransmit_halves_the_window() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let (c, out) = ten_in_flight(&mut h, 0);
    for _ in 0..3 {
        h.inject(&dup(&c, out[0].seq));
    }
    h.expect(&[seq(out[0].seq)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.ssthresh, info.cwnd), (7300, 7300));
}

/// RFC 5681 3.2 step 4 (window inflation): each further duplicate ACK adds one SMSS to
/// cwnd; new data goes out once cwnd + inflation exceeds the flight by a segment: with 10
/// segments in flight, ssthresh 7300 and 3*SMSS inflation, after the sixth duplicate.
#[test]
fn further_dup_acks_inflate_the_window() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let (c, out) = ten_in_flight(&mut h, 5000);
    let una = out[0].seq;
    for _ in 0..3 {
        h.inject(&dup(&c, una));
    }
    h.expect(&[seq(una)]);
    h.inject(&dup(&c, una));
    h.expect_none();
    h.inject(&dup(&c, una));
    h.expect_none();
    h.inject(&dup(&c, una));
    h.expect(&[seq(una.wrapping_add(10 * MSS)), len(1460)]);
}

/// RFC 6582 3.2 step 5 (NewReno partial acknowledgment): an ACK that covers the
/// retransmitted segment but not all data sent before recovery started means the next
/// hole is lost too: it is retransmitted at once, and recovery goes on.
#[test]
fn partial_ack_retransmits_the_next_hole() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 0);
    let una = out[0].seq;
    for _ in 0..3 {
        h.inject(&dup(&c, una));
    }
    h.expect(&[seq(una)]);
    // Segments 1-3 arrive (the retransmission filled the first hole); 4 was lost too.
    h.inject(&c.seg(ACK).ack(out[3].seq));
    let re = h.out();
    assert_eq!(re.len(), 1, "{re:#?}");
    check(&re[0], &[seq(out[3].seq), len(1460)]);
    assert!(h.s.tcp_conn(c.h).unwrap().in_recovery());
}

/// RFC 6582 3.2 step 6 (full acknowledgment) with option (1): an ACK of everything sent
/// before recovery ends it: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS), no
/// retransmission.
#[test]
fn full_ack_ends_recovery() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 0);
    let una = out[0].seq;
    for _ in 0..3 {
        h.inject(&dup(&c, una));
    }
    h.expect(&[seq(una)]);
    let end = out[9].seq.wrapping_add(MSS);
    h.inject(&c.seg(ACK).ack(end));
    h.expect_none();
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert!(!conn.in_recovery());
    assert_eq!(conn.info().cwnd, 2920);
    assert_eq!(conn.info().bytes_in_flight, 0);
}

/// RFC 6582 3.2 step 2 (the "recover" variable): duplicate ACKs that do not cover what was
/// outstanding at the last retransmission timeout start no new fast retransmit: they are
/// the echoes of the go-back-N retransmissions.
#[test]
fn no_fast_retransmit_for_dup_acks_below_recover() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 0);
    let una = out[0].seq;
    // A timeout: one segment goes again.
    let (_, re) = h.next_out(secs(2)).unwrap();
    check(&re[0], &[seq(una)]);
    // It is acknowledged; then duplicates of that ACK arrive (still below recover).
    h.inject(&c.seg(ACK).ack(out[1].seq));
    let _ = h.out();
    for _ in 0..3 {
        h.inject(&dup(&c, out[1].seq));
    }
    h.expect_none();
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().stats.fast_retransmits, 0);
}

/// RFC 6675 section 2 (DupAck): with SACK, an ACK whose SACK block reports new data is a
/// duplicate ACK even though its window changed (receivers such as Linux open their
/// window as their application reads); three of them start fast retransmit.
#[test]
fn acks_sacking_new_data_count_despite_window_changes() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    h.send(&c, &vec![0x22; 14_600]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    let una = out[0].seq;
    for (k, w) in [(2usize, 60_000u16), (3, 59_000), (4, 58_000)] {
        let sacked = (out[1].seq, out[k].seq);
        let mut s = dup(&c, una).wnd(w);
        s.sack = vec![sacked];
        h.inject(&s);
    }
    h.expect(&[seq(una), len(1460)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().stats.fast_retransmits, 1);
}

/// RFC 3042 limited transmit: each of the first two duplicate ACKs sends one new segment
/// beyond cwnd (here cwnd is full with the initial window of ten).
#[test]
fn limited_transmit_on_first_two_dup_acks() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 3 * 1460);
    let una = out[0].seq;
    h.inject(&dup(&c, una));
    h.expect(&[seq(out[9].seq.wrapping_add(MSS)), len(1460)]);
    h.inject(&dup(&c, una));
    h.expect(&[seq(out[9].seq.wrapping_add(2 * MSS)), len(1460)]);
    // The third starts fast retransmit of the first segment.
    h.inject(&dup(&c, una));
    let again = h.out();
    assert_eq!(again[0].seq, una);
}

/// RFC 6675 section 5: with SACK, every hole the scoreboard shows lost is retransmitted
/// in the same round trip (as the pipe allows), not one per partial ACK as NewReno does.
#[test]
fn sack_recovery_retransmits_every_lost_hole_at_once() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    h.send(&c, &vec![0x33; 14_600]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    let una = out[0].seq;
    let end = |k: usize| out[k].seq.wrapping_add(MSS);
    // Segments 0 and 3 are lost; the peer SACKs 1-2, then 1-2 and 4.., growing.
    let mut acks = Vec::new();
    for k in 4..10 {
        let mut s = dup(&c, una);
        s.sack = vec![(out[4].seq, end(k)), (out[1].seq, end(2))];
        acks.push(s);
    }
    let mut retransmitted = Vec::new();
    for a in &acks {
        h.inject(a);
        retransmitted.extend(h.out().into_iter().map(|s| s.seq));
    }
    assert!(
        retransmitted.contains(&una),
        "the first hole: {retransmitted:?}"
    );
    assert!(
        retransmitted.contains(&out[3].seq),
        "the second hole too: {retransmitted:?}"
    );
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().stats.fast_retransmits, 1);
}

/// RFC 6582 3.2 step 2: a new fast retransmit needs an ACK that "covers more than
/// recover", the highest sequence number sent when the last one began. A segment sent
/// after that (here the first one sent during recovery, lost) is a new window's loss:
/// its duplicate ACKs, which acknowledge exactly up to it, start a new fast retransmit
/// (early retransmit here, two segments out and nothing more to send) instead of
/// leaving it to the RTO.
#[test]
fn loss_just_above_recover_starts_a_new_recovery() {
    let mut h = Harness::new();
    let (c, out) = ten_in_flight(&mut h, 2 * 1460);
    let una = out[0].seq;
    for _ in 0..3 {
        h.inject(&dup(&c, una));
    }
    h.expect(&[seq(una)]);
    // Inflation lets the two new segments go.
    let mut new = Vec::new();
    for _ in 0..4 {
        h.inject(&dup(&c, una));
        new.extend(h.out());
    }
    assert_eq!(new.len(), 2, "{new:#?}");
    let recover = out[9].seq.wrapping_add(MSS);
    check(&new[0], &[seq(recover)]);
    // The retransmission fills the hole: a full ACK, recovery ends.
    h.inject(&c.seg(ACK).ack(recover));
    h.expect_none();
    assert!(!h.s.tcp_conn(c.h).unwrap().in_recovery());
    // The first new segment was lost, the second arrived: a duplicate ACK at recover.
    h.inject(&dup(&c, recover));
    h.expect(&[seq(recover), len(1460)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.stats.fast_retransmits, info.stats.timeouts), (2, 0));
}

/// RFC 6675 5.1: a new SACK recovery may start once HighACK reaches RecoveryPoint; when
/// recovery ended on an ACK of exactly `recover` and the very next segment is lost, the
/// SACK blocks above it start a new recovery and retransmit it at once (RFC 6582's
/// "covers more than recover" would hold it until the retransmission timeout).
#[test]
fn sack_recovery_again_when_the_segment_at_recover_is_lost() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let mut c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    h.send(&c, &vec![0x11; 60 * MSS as usize]);
    let mut sent = h.out();
    assert_eq!(sent.len(), 10);
    let una = sent[0].seq;
    // The first segment is lost: three duplicate ACKs SACKing the next ones.
    for k in 1..=3 {
        let mut s = dup(&c, una);
        s.sack = vec![(sent[1].seq, sent[k].seq.wrapping_add(MSS))];
        h.inject(&s);
        sent.extend(h.out());
    }
    assert!(sent[10..].iter().any(|s| s.seq == una), "fast retransmit");
    let recover = sent.iter().map(|s| s.seq.wrapping_add(MSS)).max().unwrap();
    // A full ACK of exactly `recover` ends the recovery; new data follows.
    c.una = recover;
    h.inject(&c.seg(ACK));
    let after = h.out();
    assert!(after.len() >= 4, "new data after recovery: {}", after.len());
    assert_eq!(after[0].seq, recover);
    // The segment at `recover` is lost; the next three arrive and are SACKed.
    let mut again = Vec::new();
    for k in 1..=3 {
        let mut s = c.seg(ACK);
        s.sack = vec![(after[1].seq, after[k].seq.wrapping_add(MSS))];
        h.inject(&s);
        again.extend(h.out());
    }
    assert!(
        again
            .iter()
            .any(|s| s.seq == recover && s.data.len() == MSS as usize),
        "the segment at recover is retransmitted at once"
    );
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().stats.fast_retransmits, 2);
}
