//! BBR (draft-ietf-ccwg-bbr-06) and pacing wired into the sender, in virtual time: one
//! bulk flow A -> B through a rate-limited link, watched after every step of the
//! simulation (its state, estimates, pacing rate and the frames it puts on the link).

use super::*;
use crate::tcp::congestion::Algorithm;
use crate::tcp::{ConnInfo, TcpHandle};
use crate::time::{Duration, Instant};

/// The bottleneck: 20 Mbit/s, 10 ms each way.
const RATE_BPS: u64 = 20_000_000;
const ONE_WAY: Duration = Duration::from_millis(10);

/// What one step of the run showed.
#[derive(Clone, Debug)]
struct Step {
    now: Instant,
    info: ConnInfo,
    /// Frames A put on the link in this step (all at `now`).
    frames: u64,
}

/// Runs a bulk transfer A -> B for `secs` virtual seconds with A's TCP settings `tcp`
/// over the bottleneck (`rate`) or a link with only the delay, returning every step.
fn bulk(tcp: TcpConfig, secs: u64, rate: bool) -> Vec<Step> {
    let link = ImpairConfig {
        delay: ONE_WAY,
        rate_bps: rate.then_some(RATE_BPS),
        ..ImpairConfig::default()
    };
    bulk_over(tcp, secs, link)
}

/// [`bulk`] over any link (impaired the same way both ways).
fn bulk_over(tcp: TcpConfig, secs: u64, link: ImpairConfig) -> Vec<Step> {
    let mut sim = sim_pair(tcp, link, 7);
    let now = sim.now;
    let l = sim.b.tcp_listen(addr(B, 80), 4).unwrap();
    let ca = sim.a.tcp_connect(now, addr(B, 80), None).unwrap();
    let mut cb: Option<TcpHandle> = None;
    let data = pattern(3, 1 << 20);
    let mut buf = vec![0u8; 1 << 16];
    let mut steps = Vec::new();
    let mut pushed = 0;
    let end = now + Duration::from_secs(secs);
    while sim.now < end {
        let now = sim.now;
        if cb.is_none() {
            cb = sim.b.tcp_accept(l).unwrap();
        }
        let _ = sim.a.tcp_send(now, ca, &data);
        if let Some(h) = cb {
            while matches!(sim.b.tcp_recv(now, h, &mut buf), Ok(n) if n > 0) {}
        }
        assert!(sim.step());
        let total = sim.ab.stats().pushed;
        let info = sim.a.tcp_conn(ca).unwrap().info();
        steps.push(Step {
            now,
            info,
            frames: total - pushed,
        });
        pushed = total;
    }
    steps
}

fn bbr() -> TcpConfig {
    TcpConfig {
        congestion: Algorithm::Bbr,
        ..TcpConfig::default()
    }
}

/// Draft 5.3 (the state machine) and 5.6.2 (pacing rate = gain * BBR.bw * 99%):
/// Startup (gain 2.77) ends when the bandwidth stops growing (5.3.1.2), Drain (0.5)
/// follows, then ProbeBW cycles DOWN (0.9; it cruises on the same ACK when the flight
/// is already at the BDP, 5.3.3.1), CRUISE (1.0), REFILL (1.0) and UP (1.25);
/// ProbeRTT (1.0, 5.3.4) comes once the ProbeRTT interval (5 s, 2.16.2) passes without
/// a lower RTT, and ProbeBW resumes after it. The bandwidth estimate is the
/// bottleneck's, and the queue stays short (the smoothed RTT near the base 20 ms).
#[test]
fn state_machine_and_pacing_rate_per_state() {
    let steps = bulk(bbr(), 14, true);
    let mut seen: Vec<(&'static str, Instant)> = Vec::new();
    for s in &steps {
        let b = s.info.bbr.expect("BBR reports its state");
        if seen.last().is_none_or(|(st, _)| *st != b.state) {
            seen.push((b.state, s.now));
        }
        let (Some(rate), bw) = (s.info.pacing_rate, b.bw) else {
            panic!("BBR always paces");
        };
        if bw == 0 {
            continue;
        }
        let gain = f64::from(b.pacing_gain_pct) / 100.0;
        let want = gain * bw as f64 * 0.99;
        let expect_gain = match b.state {
            "startup" => 2.77,
            "drain" => 0.5,
            "probe_bw_down" => 0.9,
            "probe_bw_up" => 1.25,
            _ => 1.0,
        };
        assert!(
            (gain - expect_gain).abs() < 0.01,
            "{} at {:?}: gain {gain}",
            b.state,
            s.now
        );
        if b.state == "startup" {
            // 5.6.2: until the pipe is full the rate only rises.
            assert!(rate as f64 >= want * 0.999, "startup {rate} < {want}");
        } else {
            assert!(
                (rate as f64 - want).abs() <= want * 0.001 + 1.0,
                "{} {rate} != {want}",
                b.state
            );
        }
    }
    let names: Vec<&str> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(&names[..2], ["startup", "drain"], "{names:?}");
    assert!(
        matches!(names[2], "probe_bw_down" | "probe_bw_cruise"),
        "{names:?}"
    );
    for want in [
        "probe_bw_cruise",
        "probe_bw_refill",
        "probe_bw_up",
        "probe_rtt",
    ] {
        assert!(names.contains(&want), "{want} never seen: {names:?}");
    }
    // REFILL is followed by UP, UP by DOWN (5.3.3.6-5.3.3.7).
    for w in names.windows(2) {
        match w[0] {
            "probe_bw_refill" => assert_eq!(w[1], "probe_bw_up", "{names:?}"),
            "probe_bw_up" => assert_eq!(w[1], "probe_bw_down", "{names:?}"),
            "probe_rtt" => assert!(w[1].starts_with("probe_bw"), "{names:?}"),
            _ => {}
        }
    }
    // ProbeRTT no sooner than the ProbeRTT interval after the last lower RTT (the first
    // samples), and it lasts at least ProbeRTTDuration (200 ms, 2.16.2).
    let start = steps[0].now;
    let i = seen.iter().position(|(s, _)| *s == "probe_rtt").unwrap();
    assert!(seen[i].1 - start >= Duration::from_secs(5), "{seen:?}");
    assert!(
        seen[i + 1].1 - seen[i].1 >= Duration::from_millis(200),
        "{seen:?}"
    );
    // The model: BBR.max_bw within 10% of the bottleneck's payload rate (1448 of each
    // 1500 bytes on the wire), BBR.min_rtt the base RTT.
    let last = steps.last().unwrap().info.bbr.unwrap();
    let payload_rate = RATE_BPS as f64 / 8.0 * 1448.0 / 1500.0;
    let bw = last.bw as f64;
    assert!(
        (bw / payload_rate - 1.0).abs() < 0.1,
        "bw {bw} vs {payload_rate}"
    );
    let min_rtt = last.min_rtt.unwrap();
    let base = ONE_WAY.saturating_mul(2);
    assert!(
        min_rtt >= base && min_rtt < base + Duration::from_millis(3),
        "{min_rtt:?}"
    );
    // A short queue: after Startup the smoothed RTT is on average within 25% of the
    // base RTT (a loss-based sender fills the link's queue; this one is unbounded).
    let late: Vec<u64> = steps
        .iter()
        .filter(|s| s.now - start > Duration::from_secs(3))
        .filter_map(|s| s.info.srtt.map(|d| d.total_micros()))
        .collect();
    let mean = late.iter().sum::<u64>() / late.len() as u64;
    assert!(mean < 25_000, "mean srtt {mean} us");
}

/// The frames A put on the link within `window` of each step, at most, from `from` on.
#[track_caller]
fn most_frames_within(steps: &[Step], from: Instant, window: Duration) -> u64 {
    let mut most = 0;
    let s: Vec<&Step> = steps.iter().filter(|s| s.now >= from).collect();
    let mut j = 0;
    let mut sum = 0;
    for i in 0..s.len() {
        sum += s[i].frames;
        while s[i].now - s[j].now >= window {
            sum -= s[j].frames;
            j += 1;
        }
        most = most.max(sum);
    }
    most
}

/// Pacing in virtual time (`tcp/pace.rs`), on a link with delay but no bottleneck to
/// space the ACKs: a paced sender puts at most a send quantum (draft 5.6.3: ~1 ms at the
/// pacing rate, at least 2 segments) on the link at one instant, and over any 10 ms
/// about the pacing rate's worth; CUBIC without pacing sends its window in bursts at the
/// instants its ACKs arrive, and with `TcpConfig::pacing` it is paced like BBR.
#[test]
fn pacing_spreads_segments_in_virtual_time() {
    let mss = 1448.0;
    let check = |tcp: TcpConfig| {
        let steps = bulk(tcp, 4, false);
        let from = steps[0].now + Duration::from_secs(2);
        let burst = steps
            .iter()
            .filter(|s| s.now >= from)
            .map(|s| s.frames)
            .max()
            .unwrap();
        let rate = steps
            .iter()
            .filter(|s| s.now >= from)
            .filter_map(|s| s.info.pacing_rate)
            .max();
        let in_10ms = most_frames_within(&steps, from, Duration::from_millis(10));
        (burst, rate, in_10ms)
    };
    let (burst, rate, in_10ms) = check(bbr());
    let rate = rate.unwrap() as f64;
    // One quantum: max(rate * 1 ms, 2 MSS), plus an ACK riding along.
    let quantum = (rate / 1000.0).max(2.0 * mss);
    assert!(
        burst as f64 <= (quantum / mss).ceil() + 1.0,
        "BBR burst {burst} frames"
    );
    // 10 ms at the pacing rate and one quantum of slack, plus the ACKs.
    let bound = (rate * 0.010 + quantum) / mss + 2.0;
    assert!(
        (in_10ms as f64) <= bound,
        "BBR sent {in_10ms} frames in 10 ms (bound {bound})"
    );

    let cubic = TcpConfig {
        congestion: Algorithm::Cubic,
        ..TcpConfig::default()
    };
    let (burst_unpaced, rate_unpaced, _) = check(cubic.clone());
    assert_eq!(rate_unpaced, None, "CUBIC is not paced unless asked");
    let (burst_paced, rate_paced, _) = check(TcpConfig {
        pacing: true,
        ..cubic
    });
    let rate_paced = rate_paced.expect("paced when asked") as f64;
    let quantum = (rate_paced / 1000.0).max(2.0 * mss);
    assert!(
        burst_paced as f64 <= (quantum / mss).ceil() + 1.0,
        "paced CUBIC burst {burst_paced}"
    );
    assert!(
        burst_unpaced > 2 * burst_paced,
        "unpaced CUBIC bursts {burst_unpaced} frames, paced {burst_paced}"
    );
}

/// Startup under random loss (draft 5.3.1 with tunstack's departures
/// `STARTUP_WITHOUT_CONSERVATION` and `FULL_BW_ON_MAX_BW`): through the 20 Mbit/s
/// bottleneck with 5% of frames lost each way, every Startup round loses a segment, yet
/// Startup runs until the bandwidth estimate is near the bottleneck's, and the flow then
/// moves most of the link's rate (packet conservation after each loss lasts one round
/// trip, 5.6.4.4, and the saved cwnd comes back after recovery). (This seed's losses do
/// not end Startup early even with the draft's rules; the model tests in
/// `congestion/bbr/tests.rs` pin the departures themselves.)
#[test]
fn startup_under_random_loss_fills_the_pipe() {
    let link = ImpairConfig {
        delay: ONE_WAY,
        rate_bps: Some(RATE_BPS),
        loss: 0.05,
        ..ImpairConfig::default()
    };
    let steps = bulk_over(bbr(), 6, link);
    let bottleneck = RATE_BPS / 8;
    let exit = steps
        .iter()
        .find(|s| s.info.bbr.is_some_and(|b| b.state != "startup"))
        .expect("Startup ended");
    let bw = exit.info.bbr.unwrap().bw;
    assert!(
        bw >= bottleneck * 7 / 10,
        "Startup ended at {bw} B/s of {bottleneck}"
    );
    let last = steps.last().unwrap();
    let acked = last.info.stats.bytes_acked as f64;
    let secs = (last.now - steps[0].now).total_micros() as f64 / 1e6;
    assert!(
        acked / secs >= bottleneck as f64 * 0.6,
        "{:.0} B/s over the run",
        acked / secs
    );
}
