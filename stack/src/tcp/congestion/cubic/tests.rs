use super::*;
use crate::tcp::congestion::hystart::{Phase, CSS_GROWTH_DIVISOR};
use proptest::prelude::*;

const MSS: usize = 1460;
const T0: Instant = Instant::ZERO;

fn segs(n: f64) -> f64 {
    n * MSS as f64
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(d: Duration) -> f64 {
    d.total_micros() as f64 / 1e6
}

/// `got` is within `tol` segments of `want` (both in bytes).
#[track_caller]
fn near(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= segs(tol),
        "{what}: got {:.3} segments, want {:.3} (± {tol})",
        got / MSS as f64,
        want / MSS as f64
    );
}

/// A pipe kept full for one round trip starting at `now`: the window at the start of the
/// round is acknowledged one segment per ACK, the ACKs spread evenly over `rtt`, each
/// with the flight equal to the current cwnd and an RTT sample of `rtt`. Returns the
/// time at the end of the round.
fn round(cc: &mut Cubic, now: Instant, rtt: Duration) -> Instant {
    let n = (cc.cwnd() / MSS).max(1) as u64;
    let step = rtt.total_micros() / n;
    for i in 1..=n {
        let t = now + Duration::from_micros(step * i);
        let flight = cc.cwnd();
        cc.on_ack(t, MSS, flight, flight, Some(rtt));
    }
    now + rtt
}

/// A CUBIC that saw its first loss at a window of `w` segments (W_max = w) and is now in
/// congestion avoidance at 0.7 w.
fn after_loss(w: usize) -> Cubic {
    let mut cc = Cubic::new(MSS);
    cc.set_cwnd(segs(w as f64));
    cc.on_congestion_event(T0, w * MSS);
    cc
}

/// RFC 9438 4.1.1: β_cubic = 0.7, C = 0.4; 4.3 (Figure 5): α_cubic = 3 (1 - β) / (1 + β).
#[test]
fn constants_per_rfc9438() {
    assert_eq!(BETA, 0.7);
    assert_eq!(C, 0.4);
    assert!((ALPHA - 0.9 / 1.7).abs() < 1e-12);
}

/// RFC 9438 4.6: on a loss, ssthresh = flight_size * β_cubic (at least 2 SMSS; the
/// flight taken at most cwnd), cwnd = max(ssthresh, 2 SMSS); W_max (4.7, first loss) =
/// the window before the reduction. (No ACK has said the sender filled its window
/// here, so the flight is the base; see the next test for cwnd.)
#[test]
fn window_after_loss_is_beta() {
    let cc = after_loss(100);
    assert_eq!(cc.cwnd(), 70 * MSS);
    assert_eq!(cc.ssthresh(), 70 * MSS);
    assert_eq!(cc.w_max(), Some(segs(100.0)));
    assert!(!cc.in_slow_start());
    // ssthresh follows the flight, not cwnd.
    let mut cc = Cubic::new(MSS);
    cc.set_cwnd(segs(100.0));
    cc.on_congestion_event(T0, 40 * MSS);
    assert_eq!(cc.ssthresh(), 28 * MSS);
    assert_eq!(cc.cwnd(), 28 * MSS);
    // Nor beyond cwnd: during SACK recovery the span SND.MAX - SND.UNA (SACKed data
    // included) exceeds cwnd, and 0.7 of it would raise the window on a loss.
    let mut cc = Cubic::new(MSS);
    cc.set_cwnd(segs(100.0));
    cc.on_congestion_event(T0, 200 * MSS);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (70 * MSS, 70 * MSS));
    let mut cc = Cubic::new(MSS);
    cc.set_cwnd(segs(100.0));
    cc.on_rto(T0, 300 * MSS, true);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (70 * MSS, MSS));
    // Never below 2 SMSS.
    let mut cc = Cubic::new(MSS);
    cc.on_congestion_event(T0, 2 * MSS);
    assert_eq!(cc.ssthresh(), 2 * MSS);
    assert_eq!(cc.cwnd(), 2 * MSS);
}

/// RFC 9438 4.6's flight_size is the flight when the loss was detected, that is before
/// the ACK that detected it (the sender takes that ACK's cumulative part off first): a
/// stretch ACK acknowledging 30 of 70 segments and reporting a hole beyond them leaves
/// ssthresh at 0.7 of the 70 (49), not of the 40 left (28); nor does that ACK grow the
/// window before the reduction (W_max, 4.7, is the 70 with fast convergence below the
/// earlier W_max of 100: 59.5). A loss reported later, with no ACK at that instant,
/// measures the flight it is given.
#[test]
fn loss_on_a_stretch_ack_measures_the_window_before_it() {
    let mut cc = after_loss(100);
    let now = T0 + ms(10);
    cc.on_ack(now, 30 * MSS, 70 * MSS, 70 * MSS, Some(ms(20)));
    assert!(cc.cwnd > segs(70.0), "the ACK grew the window");
    cc.on_congestion_event(now, 40 * MSS);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (49 * MSS, 49 * MSS));
    near(cc.w_max().unwrap(), segs(59.5), 1e-9, "W_max");
    assert_eq!(cc.cwnd_prior, segs(70.0));
    // The next loss, at another instant, with 20 of the 49 segments in flight: 14.
    cc.on_ack(now + ms(20), MSS, 20 * MSS, 20 * MSS, Some(ms(20)));
    cc.on_congestion_event(now + ms(40), 20 * MSS);
    assert_eq!(cc.ssthresh(), 14 * MSS);
}

/// RFC 9438 4.6 allows `ssthresh = cwnd * β_cubic` in place of the flight where cwnd
/// cannot grow while the flight is smaller. A sender that filled its window (the most in
/// flight over the current window of data within a segment of cwnd) takes ssthresh from
/// cwnd though the loss is reported with less in flight; one that used 40 segments of a
/// 70-segment window (application-limited, or held by the peer's window) takes it from
/// the flight.
#[test]
fn ssthresh_from_cwnd_only_when_the_sender_filled_it() {
    let rtt = ms(20);
    let mut cc = after_loss(100);
    let now = T0 + ms(10);
    // Filled: 69.5 segments' worth of bytes was the most in flight in a 70-segment window.
    let used = 69 * MSS + MSS / 2;
    cc.on_ack(now, MSS, 70 * MSS, used, Some(rtt));
    let cwnd = cc.cwnd;
    assert!(cwnd > segs(70.0), "congestion avoidance grew the window");
    cc.on_congestion_event(now + ms(5), 60 * MSS);
    assert_eq!(cc.ssthresh(), (cwnd * BETA) as usize);
    assert_eq!(cc.cwnd_prior, cwnd);

    // Not filled: a whole segment short.
    let mut cc = after_loss(100);
    cc.on_ack(now, MSS, 69 * MSS, 69 * MSS, Some(rtt));
    assert_eq!(cc.cwnd, segs(70.0), "no growth without a full window");
    cc.on_congestion_event(now + ms(5), 60 * MSS);
    assert_eq!(cc.ssthresh(), (segs(60.0) * BETA) as usize);
    // Nor when the loss comes on the ACK itself: the flight before it (40 segments) is
    // the base.
    let mut cc = after_loss(100);
    cc.on_ack(now, 10 * MSS, 40 * MSS, 40 * MSS, Some(rtt));
    cc.on_congestion_event(now, 30 * MSS);
    assert_eq!(cc.ssthresh(), (segs(40.0) * BETA) as usize);
}

/// RFC 9438 4.6: an implementation taking ssthresh from cwnd "MUST use other measures
/// to prevent cwnd from growing when the volume of bytes in flight is smaller than
/// cwnd". In congestion avoidance an ACK grows the window only if the sender filled it,
/// so a sender held by a 50-segment peer window keeps a 70-segment cwnd however many
/// ACKs come. Slow start keeps RFC 7661's half-used rule (its flight trails the window
/// by the ACKs on their way).
#[test]
fn congestion_avoidance_grows_only_a_filled_window() {
    let rtt = ms(20);
    let mut cc = after_loss(100);
    let mut now = T0;
    for _ in 0..1000 {
        now += ms(1);
        cc.on_ack(now, MSS, 50 * MSS, 50 * MSS, Some(rtt));
    }
    assert_eq!(cc.cwnd, segs(70.0));
    round(&mut cc, now, rtt);
    assert!(cc.cwnd > segs(70.0));

    let mut ss = Cubic::new(MSS);
    let iw = ss.cwnd;
    ss.on_ack(T0 + ms(1), MSS, 5 * MSS, 5 * MSS, Some(rtt));
    assert!(ss.cwnd > iw, "slow start grows a half-used window");
}

/// RFC 9438 4.7: fast convergence. A loss at a window below the previous W_max sets
/// W_max = cwnd * (1 + β_cubic) / 2; one at or above it sets W_max = cwnd.
#[test]
fn fast_convergence() {
    let mut cc = after_loss(100); // W_max 100, cwnd 70
    cc.set_cwnd(segs(80.0));
    cc.on_congestion_event(T0, 80 * MSS);
    near(
        cc.w_max().unwrap(),
        segs(80.0 * 1.7 / 2.0),
        1e-9,
        "W_max below the last",
    );
    assert_eq!(cc.cwnd(), 56 * MSS);
    cc.set_cwnd(segs(90.0));
    cc.on_congestion_event(T0, 90 * MSS);
    near(
        cc.w_max().unwrap(),
        segs(90.0),
        1e-9,
        "W_max above the last",
    );
    assert_eq!(cc.cwnd(), 63 * MSS);
}

/// RFC 9438 4.2: K = cubic_root((W_max - cwnd_epoch) / C), and the window follows
/// W_cubic(t) = C (t - K)^3 + W_max: below W_max it is concave (4.4), reaching W_max at
/// t = K, then convex (4.5). Checked against the formula at several t, with a long RTT
/// so that the Reno-friendly estimate stays below the curve.
#[test]
fn growth_follows_w_cubic() {
    let rtt = ms(200);
    let mut cc = after_loss(100);
    let mut now = round(&mut cc, T0, rtt); // the stage begins with the first ACK
    let k = (30.0f64 / 0.4).cbrt(); // 4.217 s
    assert!((secs(cc.k().unwrap()) - k).abs() < 1e-5, "K {:?}", cc.k());
    let w = |t: f64| segs(0.4 * (t - k).powi(3) + 100.0);
    let start = T0 + Duration::from_micros(200_000 / 70);
    // The formula itself.
    for t in [0.0, 1.0, 2.5, k, 6.0, 8.0] {
        near(cc.w_cubic(t).unwrap(), w(t), 1e-6, &format!("W_cubic({t})"));
    }
    near(w(0.0), segs(70.0), 1e-9, "W_cubic(0) = cwnd_epoch");
    near(w(k), segs(100.0), 1e-9, "W_cubic(K) = W_max");
    // The window the ACK clock grows: each round aims at W_cubic(t + RTT), so at the end
    // of a round cwnd is within a segment of W_cubic(now).
    let mut checked = 0;
    while secs(now - start) < 8.0 {
        now = round(&mut cc, now, rtt);
        let t = secs(now - start);
        let wc = w(t);
        if [1.0, 2.0, 3.0, 4.2, 5.0, 6.0, 7.0, 8.0]
            .iter()
            .any(|&x| (t - x).abs() < 0.1)
        {
            near(cc.cwnd, wc, 1.0, &format!("cwnd at t = {t:.2}"));
            assert!(cc.w_est().unwrap() < wc, "Reno-friendly at t = {t:.2}");
            checked += 1;
        }
        // Concave below W_max: growth slows as cwnd nears it; convex above.
    }
    assert!(checked >= 8, "{checked} points checked");
}

/// RFC 9438 4.3: with a short RTT, Reno would grow faster than the cubic curve; CUBIC
/// then sets cwnd = W_est, which grows by α_cubic = 0.53 segments per round trip until it
/// reaches cwnd_prior, then by one segment (α_cubic = 1) as Reno does.
#[test]
fn reno_friendly_region() {
    let rtt = ms(1);
    let mut cc = after_loss(20); // cwnd 14, cwnd_prior 20
    let mut now = round(&mut cc, T0, rtt);
    let mut last = cc.cwnd;
    let mut rounds_alpha = 0;
    let mut rounds_one = 0;
    for _ in 0..40 {
        now = round(&mut cc, now, rtt);
        let t = secs(now - T0);
        assert!(
            cc.w_cubic(t).unwrap() < cc.w_est().unwrap(),
            "Reno-friendly at {t}"
        );
        let grown = (cc.cwnd - last) / MSS as f64;
        if cc.cwnd < segs(19.5) {
            assert!(
                (grown - ALPHA).abs() < 0.03,
                "grew {grown} per round below cwnd_prior"
            );
            rounds_alpha += 1;
        } else if last >= segs(20.5) {
            assert!(
                (grown - 1.0).abs() < 0.05,
                "grew {grown} per round above cwnd_prior"
            );
            rounds_one += 1;
        }
        last = cc.cwnd;
    }
    assert!(
        rounds_alpha >= 8 && rounds_one >= 20,
        "{rounds_alpha} {rounds_one}"
    );
    near(cc.cwnd, cc.w_est().unwrap(), 1e-9, "cwnd = W_est");
}

/// RFC 9438 4.8: a timeout sets ssthresh with β_cubic (once per series, RFC 5681 3.1) and
/// cwnd to one segment; slow start climbs back to ssthresh; the first congestion
/// avoidance stage then has K = 0 and W_max = cwnd_epoch, so it grows convexly at once.
#[test]
fn timeout_then_k_zero() {
    let mut cc = Cubic::new(MSS);
    cc.set_cwnd(segs(100.0));
    cc.on_rto(T0, 100 * MSS, true);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 70 * MSS));
    cc.on_rto(T0, MSS, false);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 70 * MSS));
    let mut now = T0;
    while cc.in_slow_start() {
        now += ms(10);
        cc.on_ack(now, MSS, cc.cwnd(), cc.cwnd(), Some(ms(100)));
    }
    assert_eq!(cc.cwnd(), 70 * MSS);
    round(&mut cc, now, ms(100));
    assert_eq!(cc.k(), Some(Duration::ZERO));
    assert_eq!(cc.w_max(), Some(segs(70.0)));
    near(
        cc.w_cubic(2.0).unwrap(),
        segs(70.0 + 0.4 * 8.0),
        1e-9,
        "W_cubic(2)",
    );
    assert!(cc.cwnd > segs(70.0));
}

/// RFC 9406 4.2 inside CUBIC (RFC 9438 4.10): rising RTTs move the initial slow start to
/// CSS, where an ACK grows cwnd by a quarter of what it acknowledges; after CSS_ROUNDS
/// rounds ssthresh = cwnd, and congestion avoidance begins with K = 0 and W_max = cwnd.
#[test]
fn hystart_exit_in_cubic() {
    let mut cc = Cubic::new(MSS);
    let mut now = T0;
    let mut rtt = 40;
    while cc.hystart().unwrap().phase() == Phase::SlowStart {
        now = round(&mut cc, now, ms(rtt));
        rtt += 10;
        assert!(rtt < 200, "never left slow start");
    }
    let before = cc.cwnd;
    cc.on_ack(now, MSS, cc.cwnd(), cc.cwnd(), Some(ms(rtt)));
    near(
        cc.cwnd - before,
        segs(1.0 / CSS_GROWTH_DIVISOR as f64),
        1e-9,
        "CSS growth",
    );
    let mut acks = 0;
    while cc.in_slow_start() {
        now += ms(1);
        cc.on_ack(now, MSS, cc.cwnd(), cc.cwnd(), Some(ms(rtt)));
        acks += 1;
        // Five rounds of at most cwnd / MSS ACKs each.
        assert!(acks <= 5 * cc.cwnd() / MSS, "CSS did not end");
    }
    assert!(cc.hystart().is_none());
    assert_eq!(cc.ssthresh(), cc.cwnd());
    round(&mut cc, now, ms(rtt));
    assert_eq!(cc.k(), Some(Duration::ZERO));
}

/// Slow start counts every byte a stretch ACK covers (as Reno, `SLOW_START_LIMIT`).
#[test]
fn slow_start_stretch_ack() {
    let mut cc = Cubic::new(MSS);
    cc.on_ack(T0, 10 * MSS, 10 * MSS, 10 * MSS, None);
    assert_eq!(cc.cwnd(), 20 * MSS);
    cc.set_cwnd(segs(44.0));
    cc.on_ack(T0, 44 * MSS, 44 * MSS, 44 * MSS, None);
    assert_eq!(cc.cwnd(), 88 * MSS);
}

/// RFC 9438 5.8: an application-limited flow does not grow its window, and t leaves the
/// application-limited time out: after a long pause the window goes on from where it
/// was, not from W_cubic at the wall-clock time.
#[test]
fn application_limited() {
    let rtt = ms(100);
    let mut cc = after_loss(100);
    let mut now = round(&mut cc, T0, rtt);
    now = round(&mut cc, now, rtt);
    let w = cc.cwnd;
    // Ten seconds of ACKs for a small flight.
    for _ in 0..100 {
        now += rtt;
        cc.on_ack(now, MSS, 10 * MSS, 10 * MSS, Some(rtt));
    }
    assert_eq!(cc.cwnd, w);
    let mut paused = cc.clone();
    let mut steady = after_loss(100);
    let mut then = round(&mut steady, T0, rtt);
    then = round(&mut steady, then, rtt);
    round(&mut paused, now, rtt);
    round(&mut steady, then, rtt);
    near(paused.cwnd, steady.cwnd, 0.01, "after the pause");
}

/// RFC 5681 3.1 / RFC 6928 as for Reno: the initial window, the SYN-loss window, the
/// recovery exit and the idle restart.
#[test]
fn shared_rules_with_reno() {
    let mut cc = Cubic::new(MSS);
    assert_eq!(cc.cwnd(), 14_600);
    cc.on_syn_loss();
    cc.set_mss(1000);
    assert_eq!(cc.cwnd(), 1000);
    let mut cc = after_loss(100);
    cc.set_cwnd(segs(100.0));
    cc.on_recovery_exit(T0, 10 * MSS);
    assert_eq!(cc.cwnd(), 11 * MSS);
    cc.on_idle_restart(T0);
    assert_eq!(cc.cwnd(), 10 * MSS);
}

#[derive(Clone, Debug)]
enum Op {
    SetMss(usize),
    Ack(u64, usize, usize, Option<u64>),
    Loss(usize),
    Exit(usize),
    Rto(usize, bool),
    Idle,
    SynLoss,
    Inherit(usize, usize),
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..100_000,
        Just(0usize),
        Just(usize::MAX),
        0usize..=MAX_CWND
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..70_000).prop_map(Op::SetMss),
        (
            0u64..2_000_000,
            size(),
            size(),
            proptest::option::of(0u64..2_000_000)
        )
            .prop_map(|(d, a, f, r)| Op::Ack(d, a, f, r)),
        size().prop_map(Op::Loss),
        size().prop_map(Op::Exit),
        (size(), any::<bool>()).prop_map(|(f, b)| Op::Rto(f, b)),
        Just(Op::Idle),
        Just(Op::SynLoss),
        (size(), size()).prop_map(|(c, s)| Op::Inherit(c, s)),
    ]
}

proptest! {
    /// Whatever happens, cwnd stays within [SMSS, MAX_CWND] and ssthresh is infinite or
    /// within [2 SMSS, MAX_CWND]; nothing panics or overflows.
    #[test]
    fn invariants_hold(mss in 0usize..20_000, ops in proptest::collection::vec(op(), 0..300)) {
        let mut cc = Cubic::new(mss);
        let mut now = T0;
        for op in ops {
            match op {
                Op::SetMss(m) => cc.set_mss(m),
                Op::Ack(d, a, f, r) => {
                    now += Duration::from_micros(d);
                    cc.on_ack(now, a, f, f, r.map(Duration::from_micros));
                }
                Op::Loss(f) => cc.on_congestion_event(now, f),
                Op::Exit(f) => cc.on_recovery_exit(now, f),
                Op::Rto(f, first) => cc.on_rto(now, f, first),
                Op::Idle => cc.on_idle_restart(now),
                Op::SynLoss => cc.on_syn_loss(),
                Op::Inherit(c, s) => cc.inherit(c, s),
            }
            prop_assert!(cc.cwnd() >= cc.smss() && cc.cwnd() <= MAX_CWND, "{cc:?}");
            prop_assert!(
                cc.ssthresh() == usize::MAX
                    || (cc.ssthresh() >= 2 * cc.smss() && cc.ssthresh() <= MAX_CWND),
                "{cc:?}"
            );
            prop_assert!(cc.cwnd.is_finite());
        }
    }
}
