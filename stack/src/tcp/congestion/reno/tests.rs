use super::*;
use crate::tcp::congestion::{Algorithm, MAX_MSS};
use proptest::prelude::*;

const MSS: usize = 1460;
const T0: Instant = Instant::ZERO;

/// A loss signalled after the ACKs of a test's rounds (which all come at T0): an ACK at
/// the same instant would count as the one that reported it (`PreAck`).
fn later() -> Instant {
    T0 + Duration::from_millis(1)
}

fn segs(n: usize) -> usize {
    n * MSS
}

/// One round trip with the pipe kept full: the whole window at the start of the round is
/// acknowledged in ACKs of `per_ack` bytes (the last one may be shorter), each with the
/// flight equal to the current cwnd (the sender refills the window after every ACK).
fn ack_round(cc: &mut Reno, per_ack: usize) {
    let mut left = cc.cwnd();
    while left > 0 {
        let n = left.min(per_ack);
        let flight = cc.cwnd();
        cc.on_ack(T0, n, flight, flight, None);
        left -= n;
    }
}

/// A Reno in congestion avoidance with cwnd = ssthresh = `n` segments.
fn in_avoidance(n: usize) -> Reno {
    let mut cc = Reno::new(MSS);
    cc.set_cwnd(segs(2 * n));
    cc.on_congestion_event(T0, segs(2 * n));
    assert_eq!(cc.cwnd(), segs(n));
    assert_eq!(cc.ssthresh(), segs(n));
    cc
}

/// RFC 6928 section 2: the initial window is min(10*MSS, max(2*MSS, 14600)); RFC 5681
/// 3.1: ssthresh starts arbitrarily high.
#[test]
fn initial_window_per_rfc6928() {
    for (mss, iw) in [(536, 5360), (1460, 14_600), (9000, 18_000)] {
        let cc = Reno::new(mss);
        assert_eq!(cc.cwnd(), iw, "mss {mss}");
        assert_eq!(cc.ssthresh(), usize::MAX);
        assert!(cc.in_slow_start());
        assert_eq!(cc.smss(), mss);
        assert_eq!(Algorithm::Reno.build(mss).cwnd(), iw);
    }
}

/// RFC 6928 section 2: the IW follows the SMSS set after the handshake while no data
/// moved; afterwards cwnd is kept (and never below one SMSS, RFC 5681 3.1).
#[test]
fn set_mss_resets_initial_window_only_before_data() {
    let mut cc = Reno::new(536);
    cc.set_mss(1460);
    assert_eq!(cc.cwnd(), 14_600);
    cc.set_mss(9000);
    assert_eq!(cc.cwnd(), 18_000);
    cc.set_mss(1460);
    cc.on_ack(T0, MSS, segs(10), segs(10), None);
    assert_eq!(cc.cwnd(), segs(11));
    cc.set_mss(536);
    assert_eq!(cc.cwnd(), segs(11));
    cc.on_rto(T0, segs(11), true);
    assert_eq!(cc.cwnd(), 536);
    cc.set_mss(9000);
    assert_eq!(cc.cwnd(), 9000);
    assert_eq!(cc.ssthresh(), 18_000);
}

/// RFC 5681 3.1 / RFC 6928 section 2: after a lost SYN or SYN-ACK the initial window is
/// one segment, also across the SMSS update; ssthresh stays infinite.
#[test]
fn syn_loss_gives_one_segment_initial_window() {
    let mut cc = Reno::new(536);
    cc.on_syn_loss();
    assert_eq!(cc.cwnd(), 536);
    cc.set_mss(1460);
    assert_eq!(cc.cwnd(), MSS);
    assert_eq!(cc.ssthresh(), usize::MAX);
    // Once data moved it has no effect.
    let mut cc = Reno::new(MSS);
    cc.on_ack(T0, MSS, segs(10), segs(10), None);
    cc.on_syn_loss();
    assert_eq!(cc.cwnd(), segs(11));
}

/// RFC 5681 3.1 slow start: one SMSS per ACK of a full segment doubles cwnd every round
/// trip; with delayed ACKs (one per two segments) byte counting (RFC 3465 2.1) still
/// doubles it, and so it does with stretch ACKs of 44 segments (a GRO or TSO receiver).
#[test]
fn slow_start_doubles_per_round_trip() {
    for per_ack in [1, 2, 44] {
        let mut cc = Reno::new(MSS);
        for round in 1..=4 {
            ack_round(&mut cc, per_ack * MSS);
            assert_eq!(
                cc.cwnd(),
                segs(10 << round),
                "round {round}, {per_ack} per ACK"
            );
        }
    }
}

/// Slow start counts every acknowledged byte, with no per-ACK limit L (the departure from
/// RFC 3465 2.2's L = 2 and RFC 9406 4.3's unpaced L = 8 argued at
/// `SLOW_START_LIMIT`): a stretch ACK covering 44 segments grows cwnd by 44 segments, a
/// small ACK by the bytes it covers, an empty one not at all.
#[test]
fn slow_start_counts_every_acknowledged_byte() {
    assert_eq!(super::SLOW_START_LIMIT, None);
    let mut cc = Reno::new(MSS);
    cc.set_cwnd(segs(44));
    cc.on_ack(T0, segs(44), segs(44), segs(44), None);
    assert_eq!(cc.cwnd(), segs(88));
    cc.on_ack(T0, 100, segs(88), segs(88), None);
    assert_eq!(cc.cwnd(), segs(88) + 100);
    cc.on_ack(T0, 0, segs(88), segs(88), None);
    assert_eq!(cc.cwnd(), segs(88) + 100);
}

/// RFC 5681 3.1: slow start ends at ssthresh; RFC 3465 2.1 byte counting then takes
/// over, with the rest of the ACK counted towards it.
#[test]
fn slow_start_stops_at_ssthresh() {
    let mut cc = Reno::new(MSS);
    cc.set_cwnd(segs(20));
    cc.on_rto(T0, segs(20), true); // ssthresh 10 segments, cwnd 1
    cc.set_cwnd(segs(9));
    cc.on_ack(T0, segs(2), segs(9), segs(9), None);
    assert_eq!(cc.cwnd(), segs(10));
    assert!(!cc.in_slow_start());
    assert_eq!(cc.bytes_acked, MSS);
    // Nine more segments complete a window of ten: one SMSS more.
    for _ in 0..8 {
        cc.on_ack(T0, MSS, segs(10), segs(10), None);
    }
    assert_eq!(cc.cwnd(), segs(10));
    cc.on_ack(T0, MSS, segs(10), segs(10), None);
    assert_eq!(cc.cwnd(), segs(11));
}

/// RFC 5681 3.1 congestion avoidance with byte counting (RFC 3465 2.1): cwnd grows by one
/// SMSS per window of acknowledged data, i.e. per round trip, and only when the full
/// window is acknowledged.
#[test]
fn congestion_avoidance_one_segment_per_round_trip() {
    let mut cc = in_avoidance(20);
    for _ in 0..19 {
        cc.on_ack(T0, MSS, segs(20), segs(20), None);
    }
    assert_eq!(cc.cwnd(), segs(20));
    cc.on_ack(T0, MSS, segs(20), segs(20), None);
    assert_eq!(cc.cwnd(), segs(21));
    assert_eq!(cc.bytes_acked, 0);
    for round in 1..=5 {
        ack_round(&mut cc, MSS);
        assert_eq!(cc.cwnd(), segs(21 + round));
    }
    // Delayed ACKs: the same growth per round trip.
    for round in 1..=5 {
        ack_round(&mut cc, 2 * MSS);
        assert_eq!(cc.cwnd(), segs(26 + round));
    }
    assert_eq!(cc.ssthresh(), segs(20));
}

/// RFC 5681 3.1: in congestion avoidance cwnd "MUST NOT" grow by more than SMSS per round
/// trip: a stretch ACK covering three windows adds one SMSS, and the excess does not
/// carry over into extra growth.
#[test]
fn congestion_avoidance_stretch_ack() {
    let mut cc = in_avoidance(10);
    cc.on_ack(T0, segs(30), segs(10), segs(10), None);
    assert_eq!(cc.cwnd(), segs(11));
    assert!(cc.bytes_acked < cc.cwnd());
    cc.on_ack(T0, MSS, segs(11), segs(11), None);
    assert_eq!(cc.cwnd(), segs(11));
}

/// RFC 5681 3.2 step 2 (equation 4): on fast retransmit ssthresh = max(FlightSize/2,
/// 2*SMSS) and cwnd = ssthresh (the sender adds the 3*SMSS inflation).
#[test]
fn fast_retransmit_halves() {
    let mut cc = Reno::new(MSS);
    ack_round(&mut cc, MSS); // cwnd 20 segments
    cc.on_congestion_event(later(), segs(20));
    assert_eq!(cc.ssthresh(), segs(10));
    assert_eq!(cc.cwnd(), segs(10));
    // FlightSize, not cwnd, is halved.
    cc.on_congestion_event(later(), segs(6));
    assert_eq!(cc.ssthresh(), segs(3));
    assert_eq!(cc.cwnd(), segs(3));
    // Never below 2*SMSS.
    cc.on_congestion_event(later(), MSS);
    assert_eq!(cc.ssthresh(), segs(2));
    assert_eq!(cc.cwnd(), segs(2));
    // Nor above half of cwnd: a flight beyond cwnd (the span SND.MAX - SND.UNA during
    // SACK recovery, SACKed data included) counts as cwnd ("no more than" equation 4).
    cc.set_cwnd(segs(20));
    cc.on_congestion_event(later(), segs(60));
    assert_eq!((cc.ssthresh(), cc.cwnd()), (segs(10), segs(10)));
    cc.set_cwnd(segs(20));
    cc.on_rto(later(), segs(60), true);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (segs(10), MSS));
}

/// RFC 6582 3.2 step 3 (option 1): on a full ACK, cwnd = min(ssthresh, max(FlightSize,
/// SMSS) + SMSS), FlightSize after the ACK.
#[test]
fn recovery_exit_deflates() {
    let mut cc = Reno::new(MSS);
    cc.set_cwnd(segs(20));
    cc.on_congestion_event(T0, segs(20)); // ssthresh 10 segments
    cc.on_recovery_exit(T0, segs(3));
    assert_eq!(cc.cwnd(), segs(4));
    cc.on_recovery_exit(T0, segs(15));
    assert_eq!(cc.cwnd(), segs(10));
    cc.on_recovery_exit(T0, 0);
    assert_eq!(cc.cwnd(), segs(2));
    assert_eq!(cc.ssthresh(), segs(10));
}

/// RFC 5681 3.1: on a timeout cwnd falls to the loss window (1 SMSS, whatever IW is) and
/// ssthresh = max(FlightSize/2, 2*SMSS) — but when the segment was already retransmitted
/// by the timer, "the value of ssthresh is held constant".
#[test]
fn rto_one_segment_and_halves_once() {
    let mut cc = Reno::new(MSS);
    ack_round(&mut cc, MSS); // cwnd 20 segments
    cc.on_rto(later(), segs(20), true);
    assert_eq!(cc.cwnd(), MSS);
    assert_eq!(cc.ssthresh(), segs(10));
    // The same segment times out again: flight is now one segment, ssthresh is kept.
    cc.on_rto(later(), MSS, false);
    assert_eq!(cc.cwnd(), MSS);
    assert_eq!(cc.ssthresh(), segs(10));
    // Slow start afterwards, up to ssthresh.
    assert!(cc.in_slow_start());
    for _ in 0..4 {
        ack_round(&mut cc, MSS);
    }
    assert_eq!(cc.cwnd(), segs(10));
    // A new series of timeouts halves again.
    cc.on_rto(later(), segs(8), true);
    assert_eq!(cc.ssthresh(), segs(4));
    // A small flight gives 2*SMSS.
    cc.on_rto(later(), 0, true);
    assert_eq!(cc.ssthresh(), segs(2));
}

/// RFC 5681 4.1: after an idle period longer than the RTO, cwnd = min(RW, cwnd) with
/// RW = min(IW, cwnd); ssthresh is kept.
#[test]
fn idle_restart() {
    let mut cc = Reno::new(MSS);
    ack_round(&mut cc, MSS);
    ack_round(&mut cc, MSS);
    assert_eq!(cc.cwnd(), segs(40));
    cc.on_idle_restart(T0);
    assert_eq!(cc.cwnd(), segs(10));
    assert_eq!(cc.ssthresh(), usize::MAX);
    cc.on_congestion_event(T0, segs(8)); // cwnd 4 segments, below IW
    cc.on_idle_restart(T0);
    assert_eq!(cc.cwnd(), segs(4));
    assert_eq!(cc.ssthresh(), segs(4));
}

/// RFC 7661 4.3 style: cwnd grows only while the flight before the ACK was at least half
/// of cwnd; an application-limited sender keeps its window, and in congestion avoidance
/// its ACKs are not counted either.
#[test]
fn application_limited_does_not_grow() {
    let mut cc = Reno::new(MSS); // cwnd 10 segments
    cc.on_ack(T0, MSS, segs(4), segs(4), None);
    assert_eq!(cc.cwnd(), segs(10));
    cc.on_ack(T0, MSS, segs(5), segs(5), None);
    assert_eq!(cc.cwnd(), segs(11));
    // Odd windows: 2*flight >= cwnd.
    let mut cc = Reno::new(1);
    cc.set_cwnd(5);
    cc.on_ack(T0, 1, 2, 2, None);
    assert_eq!(cc.cwnd(), 5);
    cc.on_ack(T0, 1, 3, 3, None);
    assert_eq!(cc.cwnd(), 6);

    let mut cc = in_avoidance(10);
    for _ in 0..100 {
        cc.on_ack(T0, MSS, segs(4), segs(4), None);
    }
    assert_eq!(cc.cwnd(), segs(10));
    assert_eq!(cc.bytes_acked, 0);
}

/// RFC 5681 3.1 with no loss: slow start stops at the largest useful window (RFC 7323
/// 2.3) instead of overflowing.
#[test]
fn growth_is_bounded() {
    let mut cc = Reno::new(MAX_MSS);
    for _ in 0..40 {
        ack_round(&mut cc, 2 * MAX_MSS);
    }
    assert_eq!(cc.cwnd(), MAX_CWND);
    cc.on_ack(T0, usize::MAX, usize::MAX, usize::MAX, None);
    assert_eq!(cc.cwnd(), MAX_CWND);
    cc.on_congestion_event(T0, usize::MAX);
    assert_eq!(cc.ssthresh(), MAX_CWND / 2);
    cc.on_recovery_exit(T0, usize::MAX);
    assert_eq!(cc.cwnd(), MAX_CWND / 2);
}

#[derive(Clone, Debug)]
enum Op {
    SetMss(usize),
    Ack(usize, usize),
    Congestion(usize),
    RecoveryExit(usize),
    Rto(usize, bool),
    Idle,
    SynLoss,
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..200_000, 0usize..=(1 << 31), any::<usize>()]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop_oneof![0usize..10_000, any::<usize>()].prop_map(Op::SetMss),
        (size(), size()).prop_map(|(a, f)| Op::Ack(a, f)),
        (0usize..3_000, size()).prop_map(|(a, f)| Op::Ack(a, f)),
        size().prop_map(Op::Congestion),
        size().prop_map(Op::RecoveryExit),
        (size(), any::<bool>()).prop_map(|(f, first)| Op::Rto(f, first)),
        Just(Op::Idle),
        Just(Op::SynLoss),
    ]
}

proptest! {
    /// RFC 5681 3.1: cwnd never falls below the loss window (1 SMSS); ssthresh never below
    /// 2*SMSS once set (equation 4); nothing overflows, whatever the caller passes.
    #[test]
    fn invariants_hold(mss in 0usize..20_000, ops in proptest::collection::vec(op(), 0..200)) {
        let mut cc = Reno::new(mss);
        for op in ops {
            match op {
                Op::SetMss(m) => cc.set_mss(m),
                Op::Ack(a, f) => cc.on_ack(T0, a, f, f, None),
                Op::Congestion(f) => cc.on_congestion_event(T0, f),
                Op::RecoveryExit(f) => cc.on_recovery_exit(T0, f),
                Op::Rto(f, first) => cc.on_rto(T0, f, first),
                Op::Idle => cc.on_idle_restart(T0),
                Op::SynLoss => cc.on_syn_loss(),
            }
            prop_assert!(cc.smss() >= 1 && cc.smss() <= MAX_MSS);
            prop_assert!(cc.cwnd() >= cc.smss(), "{cc:?}");
            prop_assert!(cc.cwnd() <= MAX_CWND, "{cc:?}");
            prop_assert!(cc.bytes_acked < cc.cwnd(), "{cc:?}");
            prop_assert!(
                cc.ssthresh() == usize::MAX
                    || (cc.ssthresh() >= 2 * cc.smss() && cc.ssthresh() <= MAX_CWND),
                "{cc:?}"
            );
        }
    }
}

/// RFC 5681 equation (4) with the FlightSize of the loss: before the ACK that reported
/// it. A stretch ACK that acknowledges 10 of 20 segments in flight and reveals a hole
/// beyond them halves the 20 (ssthresh 10 segments, not 5), and does not grow the window
/// first. A loss reported at another instant halves the flight given.
#[test]
fn loss_on_a_stretch_ack_halves_the_window_before_it() {
    let mut cc = in_avoidance(20);
    let now = T0 + Duration::from_millis(10);
    cc.on_ack(now, segs(10), segs(20), segs(20), None);
    cc.on_congestion_event(now, segs(10));
    assert_eq!((cc.ssthresh(), cc.cwnd()), (segs(10), segs(10)));
    cc.on_ack(
        now + Duration::from_millis(20),
        MSS,
        segs(10),
        segs(10),
        None,
    );
    cc.on_congestion_event(now + Duration::from_millis(40), segs(8));
    assert_eq!(cc.ssthresh(), segs(4));
}
