//! BBR's model pieces against draft-ietf-ccwg-bbr-06.

use super::filter::{MAX_BW_FILTER_LEN, MIN_RTT_FILTER_LEN, PROBE_RTT_INTERVAL};
use super::model::*;
use super::*;
use crate::time::{Duration, Instant};

const MSS: u64 = 1448;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(n_ms: u64) -> Instant {
    Instant::from_millis(n_ms)
}

/// Draft 5.5.3 / 5.5.6: BBR.max_bw is the largest sample of the current and the previous
/// ProbeBW cycle (MaxBwFilterLen = 2); advancing the cycle forgets the older one.
#[test]
fn max_bw_filter_spans_two_cycles() {
    assert_eq!(MAX_BW_FILTER_LEN, 2);
    let mut f = MaxBwFilter::new();
    assert_eq!(f.get(), 0);
    f.update(100);
    f.update(80);
    assert_eq!(f.get(), 100);
    f.advance(); // cycle 1: 100 is from the previous cycle, still in the window
    assert_eq!((f.get(), f.cycle()), (100, 1));
    f.update(60);
    assert_eq!(f.get(), 100);
    f.advance(); // cycle 2: the 100 of cycle 0 leaves
    assert_eq!(f.get(), 60);
    f.advance();
    assert_eq!(f.get(), 0);
}

/// Draft 5.3.4.3 `UpdateMinRTT()`: a lower sample replaces BBR.min_rtt at once; higher
/// ones do not until the ProbeRTT-interval minimum has expired (5 s) and BBR.min_rtt
/// itself is older than MinRTTFilterLen (10 s).
#[test]
fn min_rtt_filter_window() {
    assert_eq!(
        (PROBE_RTT_INTERVAL, MIN_RTT_FILTER_LEN),
        (ms(5000), ms(10_000))
    );
    let mut f = MinRttFilter::new();
    assert_eq!(f.min_rtt(), None);
    f.update(at(0), None);
    assert_eq!(f.min_rtt(), None);
    f.update(at(0), Some(ms(50)));
    f.update(at(100), Some(ms(60)));
    assert_eq!(f.min_rtt(), Some(ms(50)));
    f.update(at(200), Some(ms(40)));
    assert_eq!(f.min_rtt(), Some(ms(40)));
    // 5 s later the ProbeRTT minimum expires: the next sample (70 ms) takes its place,
    // but min_rtt (stamped at 0.2 s) holds until 10.2 s.
    f.update(at(5200), Some(ms(70)));
    assert!(!f.probe_rtt_expired());
    f.update(at(5201), Some(ms(70)));
    assert!(f.probe_rtt_expired());
    assert_eq!(f.min_rtt(), Some(ms(40)));
    f.update(at(10_201), Some(ms(75)));
    assert_eq!(f.min_rtt(), Some(ms(70)));
}

/// A path with a bottleneck of `bw` bytes/s and the model of its sender: one ACK per
/// segment, every ACK of a round carrying the delivered count at the round's start as
/// P.delivered (so the first ACK of each round starts a BBR round, draft 5.5.1).
struct Path {
    m: BbrModel,
    now: Instant,
    delivered: u64,
    bw: u64,
    /// C.lost.
    lost: u64,
}

impl Path {
    fn new(bw: u64) -> Path {
        Path {
            m: BbrModel::new(MSS, 10 * MSS, 7),
            now: at(1000),
            delivered: 0,
            bw,
            lost: 0,
        }
    }

    /// The same path for `bbr-draft` (the loss-based bounds on).
    fn with_loss_bounds(bw: u64) -> Path {
        let mut p = Path::new(bw);
        p.m = p.m.clone().with_loss_bounds();
        p
    }

    /// One round like [`Path::round`] in which the sender declares `lost` bytes lost at
    /// its first ACK; every sample's packet left with `inflight` in flight and has seen
    /// those losses (RS.lost, RS.tx_in_flight).
    fn lossy_round(&mut self, acks: u64, rtt: Duration, inflight: u64, lost: u64) {
        let d0 = self.delivered;
        self.lost += lost;
        for _ in 0..acks {
            self.delivered += MSS;
            self.now += Duration::from_micros(rtt.total_micros() / acks);
            let rs = RateSample {
                delivered: self.delivered,
                prior_delivered: d0,
                delivery_rate: self.bw.min(self.m.pacing_rate()),
                is_app_limited: false,
                rtt: Some(rtt),
                newly_acked: MSS,
                inflight,
                is_cwnd_limited: true,
                lost,
                tx_in_flight: inflight,
                lost_total: self.lost,
            };
            self.m.on_ack(self.now, &rs);
        }
    }

    /// Startup, Drain, then ProbeBW_CRUISE at the BDP.
    fn run_to_cruise(&mut self, rtt: Duration) {
        while !self.m.full_bw_reached() {
            self.round(10, rtt, 500_000);
        }
        let bdp = self.bdp();
        self.round(1, rtt, bdp);
        assert_eq!(self.m.state(), State::ProbeBwCruise);
    }

    /// One round of `acks` ACKs over `rtt`, each with that RTT and `inflight` after it
    /// (and when its packet left); the delivery rate is what the bottleneck lets
    /// through of the pacing rate.
    fn round(&mut self, acks: u64, rtt: Duration, inflight: u64) {
        self.lossy_round(acks, rtt, inflight, 0);
    }

    fn bdp(&self) -> u64 {
        self.m.bdp_multiple(1.0)
    }
}

/// Pacing rate = gain * bw * (100 - PacingMarginPercent) / 100 (draft 5.6.2).
#[track_caller]
fn assert_pacing(m: &BbrModel, gain: f64) {
    let want = (gain * m.max_bw() as f64 * 0.99) as u64;
    assert!(
        m.pacing_rate().abs_diff(want) <= 1,
        "{:?}: pacing {} want {want} (gain {gain})",
        m.state(),
        m.pacing_rate()
    );
    assert_eq!(m.pacing_gain(), gain, "{:?}", m.state());
}

/// Draft 5.3.1 and 5.3.2: Startup paces at 2.77 x bw with cwnd gain 2 until three rounds
/// in a row raise the delivery rate by less than 25%; Drain then paces at 0.5 x bw and
/// ends when the flight is down to the BDP, entering ProbeBW_DOWN (0.9), which cruises
/// (1.0) at once as the flight is already at the BDP.
#[test]
fn startup_drain_probe_bw() {
    let mut p = Path::new(12_500_000); // 100 Mbit/s
    let rtt = ms(20);
    assert_eq!(p.m.state(), State::Startup);
    // InitPacingRate(): 2.77 * IW / 1 ms before any RTT sample.
    let initial = (2.77 * 14_480.0 / 0.001) as u64;
    assert_eq!(p.m.pacing_rate(), initial);
    let mut rounds = 0;
    while p.m.state() == State::Startup {
        // Startup has queued a BDP beyond the pipe (cwnd gain 2).
        p.round(10, rtt, 500_000);
        rounds += 1;
        if p.m.state() == State::Startup {
            // Until the pipe is full the pacing rate only rises (5.6.2): here it keeps
            // the initial rate, above 2.77 x 0.99 x bw.
            let rate = (2.77 * p.m.max_bw() as f64 * 0.99) as u64;
            assert_eq!(p.m.pacing_rate(), rate.max(initial));
            assert_eq!(p.m.pacing_gain(), STARTUP_PACING_GAIN);
            assert_eq!(p.m.cwnd_gain(), 2.0);
        }
        assert!(rounds < 20, "Startup never ended");
    }
    assert!(p.m.full_bw_reached());
    assert_eq!(p.m.max_bw(), 12_500_000);
    assert_eq!(p.m.min_rtt(), Some(rtt));
    assert_eq!(p.bdp(), 250_000);
    // Drain: the queue of Startup is still there (twice the BDP in flight).
    assert_eq!(p.m.state(), State::Drain);
    assert_pacing(&p.m, DRAIN_PACING_GAIN);
    p.round(10, rtt, 2 * p.bdp());
    assert_eq!(p.m.state(), State::Drain);
    // Drained to the BDP: ProbeBW_DOWN, and CRUISE since the flight is at the BDP.
    let bdp = p.bdp();
    p.round(1, rtt, bdp);
    assert_eq!(p.m.state(), State::ProbeBwCruise);
    assert_pacing(&p.m, 1.0);
    // cwnd: 2 x BDP once the pipe is full (5.6.4.6), not more.
    p.round(400, rtt, bdp);
    assert_eq!(p.m.cwnd(), 2 * p.bdp());
    // Send quantum (5.6.3): 1 ms at the pacing rate, at most 64 KiB.
    assert_eq!(p.m.send_quantum(), p.m.pacing_rate() / 1000);
}

/// Draft 5.3.3: from CRUISE, BBR probes again after min(Reno's rounds, 63) rounds or
/// 2-3 s: REFILL at 1.0 for one round, then UP at 1.25 with cwnd gain 2.25 until the
/// bandwidth stops growing for three rounds, then DOWN at 0.9; one round after leaving UP
/// the max_bw filter's cycle advances (5.5.6).
#[test]
fn probe_bw_cycle() {
    let mut p = Path::new(12_500_000);
    let rtt = ms(20);
    while !p.m.full_bw_reached() {
        p.round(10, rtt, 500_000);
    }
    let bdp = p.bdp();
    p.round(1, rtt, bdp);
    assert_eq!(p.m.state(), State::ProbeBwCruise);
    let cycle = p.m.cycle_count();
    let mut rounds = 0;
    while p.m.state() == State::ProbeBwCruise {
        p.round(10, rtt, bdp);
        rounds += 1;
        assert!(rounds <= 64, "never left CRUISE");
    }
    // The BDP is 172 segments: the Reno-coexistence bound, min(172, 63) rounds since
    // the last probe, comes before the 2-3 s of wall clock (100 rounds of 20 ms).
    assert_eq!(p.m.rounds_since_probe_up(), 63, "after {rounds} rounds");
    assert_eq!(p.m.state(), State::ProbeBwRefill);
    assert_pacing(&p.m, 1.0);
    p.round(10, rtt, bdp);
    assert_eq!(p.m.state(), State::ProbeBwUp);
    assert_pacing(&p.m, PROBE_UP_PACING_GAIN);
    assert_eq!(p.m.cwnd_gain(), PROBE_UP_CWND_GAIN);
    let mut up = 0;
    while p.m.state() == State::ProbeBwUp {
        p.round(10, rtt, bdp * 5 / 4);
        up += 1;
        assert!(up <= 5, "never left UP");
    }
    assert_eq!(up, 3, "three rounds without growth end UP");
    assert_eq!(p.m.state(), State::ProbeBwDown);
    assert_pacing(&p.m, PROBE_DOWN_PACING_GAIN);
    assert_eq!(p.m.cycle_count(), cycle);
    // Still queued from UP: DOWN holds while the flight exceeds the BDP; the next round
    // advances the filter's cycle.
    p.round(10, rtt, bdp * 5 / 4);
    assert_eq!(p.m.state(), State::ProbeBwDown);
    assert_eq!(p.m.cycle_count(), cycle + 1);
    p.round(1, rtt, bdp);
    assert_eq!(p.m.state(), State::ProbeBwCruise);
}

/// Draft 5.3.4: without a new minimum RTT for ProbeRTTInterval (5 s), BBR enters ProbeRTT
/// (pacing gain 1, cwnd at most max(BDP/2, 4 SMSS)); once the flight is that low it stays
/// 200 ms and at least a round, then goes back to ProbeBW (CRUISE) with its cwnd back.
#[test]
fn probe_rtt() {
    let mut p = Path::new(12_500_000);
    let rtt = ms(20);
    while !p.m.full_bw_reached() {
        p.round(10, rtt, 500_000);
    }
    let bdp = p.bdp();
    // Queueing keeps every later sample above the minimum, first taken by the first ACK
    // (at 1.002 s): ProbeRTT comes with the first ACK more than 5 s after it.
    let first = at(1002);
    while p.m.state() != State::ProbeRtt {
        let before = p.now;
        p.round(10, ms(25), bdp);
        assert!(p.now - first < ms(6000), "no ProbeRTT");
        if p.m.state() == State::ProbeRtt {
            assert!(before <= first + ms(5000) && p.now > first + ms(5000));
        }
    }
    assert_pacing(&p.m, 1.0);
    assert_eq!(p.m.cwnd_gain(), 0.5);
    assert_eq!(p.m.probe_rtt_cwnd(), bdp / 2);
    assert_eq!(p.m.cwnd(), bdp / 2);
    // The flight falls to the ProbeRTT cwnd: 200 ms and one round from then.
    let low = p.now;
    while p.m.state() == State::ProbeRtt {
        p.round(10, rtt, bdp / 2);
        assert!(p.now - low < ms(400), "stuck in ProbeRTT");
    }
    assert!(p.now - low > ms(200));
    assert_eq!(p.m.state(), State::ProbeBwCruise);
    assert!(p.m.cwnd() >= 2 * bdp, "cwnd {} restored", p.m.cwnd());
}

/// Draft 5.3.1.2 with tunstack's departure (`FULL_BW_COUNT`): the plateau test looks at
/// BBR.max_bw, not at the sample of the ACK that starts each round. Here the first ACK
/// of every round comes after a loss and samples 1 MB/s while the round's other ACKs
/// show the bandwidth doubling each round up to the path's 12.5 MB/s: Startup goes on
/// until BBR.max_bw stops growing (the draft's test would have ended it in the fourth
/// round, at 8 MB/s), then ends three rounds after the first round-start check that sees
/// the plateau.
#[test]
fn startup_plateau_follows_max_bw_not_the_round_start_sample() {
    let mut m = BbrModel::new(MSS, 10 * MSS, 7);
    let mut now = at(1000);
    let mut delivered = 0;
    let mut level: u64 = 1_000_000;
    let mut rounds = 0;
    let mut plateau_at = None;
    while m.state() == State::Startup {
        let d0 = delivered;
        for i in 0..10 {
            delivered += MSS;
            now += ms(2);
            let rs = RateSample {
                delivered,
                prior_delivered: d0,
                delivery_rate: if i == 0 { 1_000_000 } else { level },
                rtt: Some(ms(20)),
                newly_acked: MSS,
                inflight: 500_000,
                ..RateSample::default()
            };
            m.on_ack(now, &rs);
        }
        rounds += 1;
        if level == 12_500_000 && plateau_at.is_none() {
            plateau_at = Some(rounds);
        }
        level = (level * 2).min(12_500_000);
        assert!(rounds < 20, "Startup never ended");
    }
    assert_eq!(
        m.max_bw(),
        12_500_000,
        "Startup ended at the path's bandwidth"
    );
    let plateau_at = plateau_at.unwrap();
    assert!(
        rounds > plateau_at && rounds <= plateau_at + 4,
        "ended {rounds}, plateau from {plateau_at}"
    );
}

/// Draft 5.6.4.4: entering fast recovery saves the cwnd and sets it to the flight plus
/// what the ACK delivered; for one round trip — until a packet sent after the loss was
/// detected is delivered — packets are conserved (cwnd = max(cwnd, flight + newly
/// acked), no growth beyond); after it the cwnd grows with what is delivered again, and
/// leaving recovery restores the saved cwnd.
#[test]
fn recovery_conserves_packets_for_one_round_trip() {
    let mut p = Path::new(12_500_000);
    let rtt = ms(20);
    while !p.m.full_bw_reached() {
        p.round(10, rtt, 500_000);
    }
    let bdp = p.bdp();
    p.round(400, rtt, bdp);
    let saved = p.m.cwnd();
    assert_eq!(saved, 2 * bdp);
    let ack = |p: &mut Path, prior: u64, inflight: u64| {
        p.delivered += MSS;
        p.now += ms(1);
        let rs = RateSample {
            delivered: p.delivered,
            prior_delivered: prior,
            delivery_rate: 12_500_000,
            rtt: Some(rtt),
            newly_acked: MSS,
            inflight,
            ..RateSample::default()
        };
        p.m.on_ack(p.now, &rs);
    };
    // The ACK that shows the loss: cwnd = flight + newly acked.
    let before = p.delivered;
    p.m.on_enter_recovery();
    ack(&mut p, before - 100 * MSS, 100 * MSS);
    let at_loss = p.delivered;
    assert!(p.m.packet_conservation());
    assert_eq!(p.m.cwnd(), 101 * MSS);
    // ACKs of packets sent before: packet conservation, the cwnd follows the flight
    // plus what each ACK delivers and no more.
    for i in 0..50 {
        ack(&mut p, before - 50 * MSS + i * MSS, 100 * MSS);
        assert!(p.m.packet_conservation());
        assert_eq!(p.m.cwnd(), 101 * MSS);
    }
    // The first packet sent after the loss is delivered: one round trip is over, the
    // cwnd grows again with each ACK (up to 2 BDP).
    ack(&mut p, at_loss, 100 * MSS);
    assert!(!p.m.packet_conservation());
    assert_eq!(p.m.cwnd(), 102 * MSS);
    ack(&mut p, at_loss, 100 * MSS);
    assert_eq!(p.m.cwnd(), 103 * MSS);
    // Recovery ends: the cwnd saved at its start comes back.
    p.m.on_exit_recovery();
    assert_eq!(p.m.cwnd(), saved);
}

/// tunstack's departure `STARTUP_WITHOUT_CONSERVATION`: a loss in Startup leaves the
/// cwnd growing with what is delivered (no packet conservation until the pipe is full);
/// once it is full, the same loss sets the cwnd to the flight (draft 5.6.4.4).
#[test]
fn no_packet_conservation_in_startup() {
    let mut p = Path::new(12_500_000);
    let rtt = ms(20);
    p.round(10, rtt, 30 * MSS);
    assert_eq!(p.m.state(), State::Startup);
    let cwnd = p.m.cwnd();
    p.m.on_enter_recovery();
    p.round(10, rtt, 5 * MSS);
    assert!(!p.m.packet_conservation());
    assert_eq!(p.m.cwnd(), cwnd + 10 * MSS, "Startup's growth goes on");
    while !p.m.full_bw_reached() {
        p.round(10, rtt, 500_000);
    }
    p.m.on_enter_recovery();
    p.round(1, rtt, 5 * MSS);
    assert!(p.m.packet_conservation());
    assert_eq!(p.m.cwnd(), 6 * MSS);
}

fn longterm(p: &Path) -> u64 {
    p.m.loss_bounds().expect("bbr-draft").inflight_longterm
}

/// Draft 5.5.10 (`bbr-draft`): a bandwidth probe (ProbeBW_UP) whose samples see more
/// than BBR.LossThresh (2%) of their flight lost sets BBR.inflight_longterm to that
/// flight (`HandleInflightTooHigh()`, no less than BBR.Beta of the target) and goes
/// DOWN at once; the cwnd is then held to it while probing and to it less BBR.Headroom
/// (15%) while cruising (5.6.4.7 `BoundCwndForModel()`). `bbr` ignores the same loss.
#[test]
fn a_probe_that_loses_too_much_sets_inflight_longterm() {
    let rtt = ms(20);
    for bounded in [true, false] {
        let mut p = if bounded {
            Path::with_loss_bounds(12_500_000)
        } else {
            Path::new(12_500_000)
        };
        p.run_to_cruise(rtt);
        let bdp = p.bdp();
        while p.m.state() != State::ProbeBwUp {
            p.round(10, rtt, bdp);
        }
        if bounded {
            assert_eq!(longterm(&p), u64::MAX, "unbounded until a probe loses");
        }
        // 3% of the probe's flight lost.
        let flight = bdp * 5 / 4;
        p.lossy_round(10, rtt, flight, flight * 3 / 100);
        if !bounded {
            assert_eq!(p.m.state(), State::ProbeBwUp, "bbr keeps probing");
            assert!(p.m.loss_bounds().is_none());
            continue;
        }
        assert_eq!(p.m.state(), State::ProbeBwDown);
        assert_eq!(longterm(&p), flight);
        assert!(
            p.m.cwnd() <= flight,
            "DOWN holds cwnd {} to the bound",
            p.m.cwnd()
        );
        // Back to the BDP: CRUISE, with 15% of the bound left free.
        p.round(10, rtt, bdp);
        assert_eq!(p.m.state(), State::ProbeBwCruise);
        assert_eq!(p.m.cwnd(), flight - (flight as f64 * 0.15) as u64);
    }
}

/// Draft 5.3.3.9 `ProbeInflightLongtermUpward()` and `RaiseInflightLongtermSlope()`: in
/// ProbeBW_UP, cwnd-limited at BBR.inflight_longterm with a safe loss rate, the bound
/// grows by one SMSS per cwnd/2^n delivered, n the rounds of the probe so far (1, 2, 4,
/// 8 ... segments a round).
#[test]
fn safe_probes_raise_inflight_longterm_ever_faster() {
    let rtt = ms(20);
    let mut p = Path::with_loss_bounds(12_500_000);
    p.run_to_cruise(rtt);
    let bdp = p.bdp();
    while p.m.state() != State::ProbeBwUp {
        p.round(10, rtt, bdp);
    }
    let flight = bdp * 5 / 4;
    p.lossy_round(10, rtt, flight, flight * 3 / 100);
    let cut = longterm(&p);
    // The next probe: REFILL, then UP at the bound, losing nothing.
    while p.m.state() != State::ProbeBwUp {
        p.round(10, rtt, bdp);
    }
    let mut grown = vec![longterm(&p)];
    for _ in 0..4 {
        let cwnd = p.m.cwnd();
        let acks = cwnd / MSS;
        p.round(acks, rtt, cwnd);
        grown.push(longterm(&p));
        if p.m.state() != State::ProbeBwUp {
            break;
        }
    }
    assert_eq!(grown[0], cut);
    // Segments added per round: the first round brings cwnd up to the bound; then 1, 2,
    // 4 ... a round, less what cwnd's own growth within a round takes off.
    let steps: Vec<u64> = grown.windows(2).map(|w| (w[1] - w[0]) / MSS).collect();
    assert!(steps.len() >= 4, "{steps:?}");
    assert!(steps[1] > 0, "{steps:?}");
    assert!(
        steps.windows(2).all(|w| w[1] > w[0]),
        "faster each round: {steps:?}"
    );
    assert!(steps[1..].iter().sum::<u64>() >= 1 + 2 + 4, "{steps:?}");
}

/// Draft 5.3.3.6 / "When not Probing for Bandwidth" (`bbr-draft`): once per round trip
/// with loss while not probing, BBR.bw_shortterm becomes max(BBR.bw_latest, 0.7 x
/// BBR.bw_shortterm) (starting from BBR.max_bw) and the pacing rate follows BBR.bw =
/// min(max_bw, bw_shortterm); the next probe (REFILL) forgets it.
#[test]
fn loss_while_cruising_cuts_the_short_term_bandwidth() {
    let rtt = ms(20);
    let mut p = Path::with_loss_bounds(12_500_000);
    p.run_to_cruise(rtt);
    let max_bw = p.m.max_bw();
    let short = |p: &Path| p.m.loss_bounds().unwrap().bw_shortterm;
    assert_eq!(short(&p), u64::MAX);
    // The path slows to 5 MB/s and loses a segment a round. A loss round runs from a
    // loss to the ACK of data sent after it, so with a loss at each round's first ACK
    // every other round ends one with loss.
    p.bw = 5_000_000;
    let bdp = p.bdp();
    let mut seen = vec![];
    for _ in 0..8 {
        p.lossy_round(10, rtt, bdp, MSS);
        assert_eq!(p.m.state(), State::ProbeBwCruise);
        if seen.last() != Some(&short(&p)) {
            seen.push(short(&p));
            assert_eq!(p.m.bw(), short(&p).min(max_bw));
            assert_pacing_bw(&p.m, 1.0, p.m.bw());
        }
    }
    let first = (0.7 * max_bw as f64) as u64;
    assert_eq!(
        seen,
        [u64::MAX, first, (0.7 * first as f64) as u64, 5_000_000],
        "0.7 x max_bw, then 0.7 x that, no lower than the latest delivery rate"
    );
    // Without loss the bound holds until the next probe's REFILL resets it.
    p.bw = 12_500_000;
    while p.m.state() != State::ProbeBwRefill {
        assert_eq!(short(&p), 5_000_000);
        p.round(10, rtt, p.bdp());
    }
    assert_eq!(short(&p), u64::MAX);
}

#[track_caller]
fn assert_pacing_bw(m: &BbrModel, gain: f64, bw: u64) {
    let want = (gain * bw as f64 * 0.99) as u64;
    assert!(
        m.pacing_rate().abs_diff(want) <= 1,
        "pacing {} want {want}",
        m.pacing_rate()
    );
}

/// Draft 5.3.1.3 `CheckStartupHighLoss()` (`bbr-draft`): a Startup round that loses more
/// than 2% of what it sent, and at least six segments, ends Startup with
/// BBR.inflight_longterm at max(BDP, the round's delivered volume); `bbr` stays in
/// Startup (its departure, `cc.rs`), and a round losing less does not end it.
#[test]
fn startup_ends_on_high_loss() {
    let rtt = ms(20);
    for (bounded, lost_segs, ends) in [(true, 8, true), (true, 1, false), (false, 8, false)] {
        let mut p = if bounded {
            Path::with_loss_bounds(12_500_000)
        } else {
            Path::new(12_500_000)
        };
        // Growing rounds: the plateau test does not end Startup.
        p.round(10, rtt, 30_000);
        p.bw = 25_000_000;
        p.round(40, rtt, 60_000);
        assert_eq!(p.m.state(), State::Startup);
        p.lossy_round(40, rtt, 60_000, lost_segs * MSS);
        p.round(1, rtt, 60_000);
        let case = format!("bounded {bounded}, {lost_segs} lost");
        if ends {
            // Drain, and at once ProbeBW: the flight is already below the BDP.
            assert!(p.m.state().is_probe_bw(), "{case}: {:?}", p.m.state());
            assert!(p.m.full_bw_reached());
            assert_eq!(longterm(&p), p.bdp().max(40 * MSS), "{case}");
        } else {
            assert_eq!(p.m.state(), State::Startup, "{case}");
        }
    }
}
