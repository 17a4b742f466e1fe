use super::*;

const MSS: usize = 1460;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// A sender with ten segments in flight that sends one new segment per ACK: one ACK of
/// one segment, each with an RTT sample. Rounds (RFC 9406 4.2, windowEnd = SND.NXT) then
/// last nine ACKs: ACKs 1-9, 10-18, 19-27, ...
fn ack(h: &mut HyStart, rtt: Duration) -> Step {
    h.on_ack(MSS, 10 * MSS, Some(rtt))
}

/// Feeds `n` ACKs with the same RTT; returns the steps.
fn feed(h: &mut HyStart, n: usize, rtt: Duration) -> Vec<Step> {
    (0..n).map(|_| ack(h, rtt)).collect()
}

const SS: Step = Step {
    divisor: 1,
    exit: false,
};
const CSS: Step = Step {
    divisor: CSS_GROWTH_DIVISOR,
    exit: false,
};

/// RFC 9406 4.3's constants.
#[test]
fn constants_per_rfc9406() {
    assert_eq!(MIN_RTT_THRESH, ms(4));
    assert_eq!(MAX_RTT_THRESH, ms(16));
    assert_eq!(MIN_RTT_DIVISOR, 8);
    assert_eq!(N_RTT_SAMPLE, 8);
    assert_eq!(CSS_GROWTH_DIVISOR, 4);
    assert_eq!(CSS_ROUNDS, 5);
}

/// RFC 9406 4.2: RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
/// MAX_RTT_THRESH)): 4 ms for short paths, an eighth in between, 16 ms for long ones.
#[test]
fn rtt_thresh_is_an_eighth_within_bounds() {
    assert_eq!(HyStart::rtt_thresh(ms(1)), ms(4));
    assert_eq!(HyStart::rtt_thresh(ms(20)), ms(4));
    assert_eq!(HyStart::rtt_thresh(ms(40)), ms(5));
    assert_eq!(HyStart::rtt_thresh(ms(100)), us(12_500));
    assert_eq!(HyStart::rtt_thresh(ms(128)), ms(16));
    assert_eq!(HyStart::rtt_thresh(ms(500)), ms(16));
}

/// RFC 9406 4.2: slow start is left for CSS once a round with at least N_RTT_SAMPLE
/// samples has a minimum RTT at least RttThresh above the last round's; the ACK that
/// shows it still grows cwnd as slow start, the next ones by a quarter.
#[test]
fn exit_to_css_on_rtt_increase() {
    let mut h = HyStart::new();
    assert_eq!(feed(&mut h, 9, ms(40)), vec![SS; 9]); // round 0: min 40 ms
                                                      // Round 1 at 45 ms = 40 + 40/8: the first seven samples are not enough.
    assert_eq!(feed(&mut h, 7, ms(45)), vec![SS; 7]);
    assert_eq!(h.phase(), Phase::SlowStart);
    assert_eq!(ack(&mut h, ms(45)), SS);
    assert_eq!(
        h.phase(),
        Phase::Css {
            round: 1,
            baseline: ms(45)
        }
    );
    assert_eq!(h.css_entries(), 1);
    assert_eq!(ack(&mut h, ms(45)), CSS);
}

/// RFC 9406 4.2: an increase below RttThresh, or a round with too few samples, keeps
/// standard slow start.
#[test]
fn small_increase_or_few_samples_keep_slow_start() {
    let mut h = HyStart::new();
    feed(&mut h, 9, ms(40));
    assert_eq!(feed(&mut h, 9, us(44_999)), vec![SS; 9]);
    assert_eq!(h.phase(), Phase::SlowStart);

    // The same RTT jump, but only one ACK in eight carries a sample (no timestamps).
    let mut h = HyStart::new();
    for i in 0..60 {
        let rtt = if i < 9 { ms(40) } else { ms(80) };
        let sample = (i % 8 == 0).then_some(rtt);
        assert_eq!(h.on_ack(MSS, 10 * MSS, sample), SS, "ACK {i}");
    }
    assert_eq!(h.phase(), Phase::SlowStart);
}

/// RFC 9406 4.2: in CSS, a round whose minimum RTT (over N_RTT_SAMPLE samples) falls
/// below cssBaselineMinRtt shows the exit was spurious: slow start resumes, HyStart++
/// included (it can leave again later).
#[test]
fn css_back_to_slow_start_when_rtt_falls() {
    let mut h = HyStart::new();
    feed(&mut h, 9, ms(40));
    feed(&mut h, 9, ms(45)); // CSS from the 8th sample of round 1
    assert!(matches!(h.phase(), Phase::Css { round: 1, .. }));
    // Round 2 back at 40 ms: CSS until its eighth sample.
    assert_eq!(feed(&mut h, 7, ms(40)), vec![CSS; 7]);
    assert!(matches!(h.phase(), Phase::Css { round: 2, .. }));
    assert_eq!(ack(&mut h, ms(40)), CSS);
    assert_eq!(h.phase(), Phase::SlowStart);
    assert_eq!(ack(&mut h, ms(40)), SS);
    // And leaves again on the next increase.
    feed(&mut h, 8, ms(60));
    assert!(matches!(h.phase(), Phase::Css { round: 1, .. }));
    assert_eq!(h.css_entries(), 2);
}

/// RFC 9406 4.2: "CSS lasts at most CSS_ROUNDS rounds. If the transition into CSS happens
/// in the middle of a round, that partial round counts towards the limit." Then the
/// caller enters congestion avoidance (ssthresh = cwnd) and HyStart++ is done.
#[test]
fn css_ends_after_css_rounds() {
    let mut h = HyStart::new();
    feed(&mut h, 9, ms(40));
    feed(&mut h, 8, ms(45)); // CSS on ACK 17, in round 1 (ACKs 10-18)
                             // The rest of round 1 and rounds 2-5 (ACKs 18-54) are CSS.
    assert_eq!(feed(&mut h, 37, ms(45)), vec![CSS; 37]);
    assert!(matches!(h.phase(), Phase::Css { round: 5, .. }));
    // ACK 55 ends round 5: congestion avoidance.
    assert_eq!(
        ack(&mut h, ms(45)),
        Step {
            divisor: CSS_GROWTH_DIVISOR,
            exit: true
        }
    );
    assert_eq!(h.phase(), Phase::Done);
    assert_eq!(ack(&mut h, ms(10)), SS);
    assert_eq!(h.phase(), Phase::Done);
}

/// Rounds follow windowEnd = SND.NXT in bytes acknowledged, whatever the ACK size: a
/// stretch ACK covering the whole window ends the round at once.
#[test]
fn rounds_follow_stretch_acks() {
    let mut h = HyStart::new();
    // 44-segment ACKs with 44 segments in flight: each ACK ends a round, so no round
    // ever holds N_RTT_SAMPLE samples, however high the RTT.
    for i in 0..20 {
        assert_eq!(h.on_ack(44 * MSS, 44 * MSS, Some(ms(40 + 10 * i))), SS);
    }
    // Small ACKs inside a 44-segment window: 44 ACKs per round.
    let mut h = HyStart::new();
    for _ in 0..43 {
        h.on_ack(MSS, 44 * MSS, Some(ms(40)));
    }
    // The 44th ACK ends round 0 and its sample is round 1's first: at the eighth sample
    // at 50 ms, slow start ends.
    for _ in 0..7 {
        h.on_ack(MSS, 44 * MSS, Some(ms(50)));
    }
    assert_eq!(h.phase(), Phase::SlowStart);
    h.on_ack(MSS, 44 * MSS, Some(ms(50)));
    assert!(matches!(h.phase(), Phase::Css { round: 1, .. }));
}
