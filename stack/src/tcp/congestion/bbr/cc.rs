//! BBR as a [`CongestionControl`] (draft-ietf-ccwg-bbr-06): the model of `model.rs` fed
//! the sender's delivery-rate samples (`tcp/rate.rs`), its cwnd the sender's window and
//! its pacing rate the sender's pacer (`tcp/pace.rs`, always on for BBR).
//!
//! The loss response is the draft's packet conservation (5.6.4.4): on entering fast
//! recovery the cwnd becomes the flight plus what the ACK delivered, for one round,
//! and the saved cwnd comes back when recovery ends; a timeout does the same from one
//! segment. PRR (RFC 9937) does not run for BBR.
//!
//! **Departures from the draft** (see the module of `bbr/` for the list): the draft's
//! loss-based bounds (BBR.inflight_longterm cut when a round loses more than
//! BBR.LossThresh = 2%, 5.5.10, and Startup's high-loss exit, 5.3.1.3) are left out, as
//! in Linux's BBRv1 (`tcp_bbr.c`), which the goal measures against: on a path
//! with random (non-congestive) loss of 1-5% every round loses more than 2%, and those
//! bounds would hold the flow at a fraction of the path, trailing Linux BBR. What the
//! loss does to the model is only through the delivery rate it measures.
//!
//! Measured (`benches/loss_race.rs`, one run, real TUN device, 16 MiB capped at 20 s,
//! Mbit/s, tunstack BBR / Linux BBR, both stacks' buffers autotuned up to 4 MiB): 1%,
//! 10 ms: 312.5 / 276.8; 2%, 10 ms: 309.9 / 277.3; 5%, 10 ms: 234.2 / 168.2; 1%, 50 ms:
//! 61.2 / 58.3; 2%, 50 ms: 66.0 / 58.5; 5%, 50 ms: 49.8 / 52.2 — where loss-based CUBIC
//! moves 0.5-7. (With both buffers fixed at 256 KiB, `TUNSTACK_LOSS_RACE_FIXED=1`, both
//! BBRs are held to about 50 Mbit/s at 10 ms and 10 at 50 ms by the buffers.)
//! The cost of leaving the bounds out shows in the fairness run (`Sim`, 50 Mbit/s, 20 ms
//! base RTT): two BBR flows share the link evenly (52% / 48%, Jain 0.998) but keep its
//! 100-frame queue overflowing (about a fifth of their frames dropped), and BBR beside
//! CUBIC takes over 90% of the link.
//!
//! `bbr-draft` ([`Bbr::with_loss_bounds`]) has the bounds (`bounds.rs`). In the same
//! `Sim` runs (`TUNSTACK_BENCH_ONLY=sim cargo bench --bench loss_race`, deterministic):
//! two `bbr-draft` flows share 50/50 (Jain 1.000) with 2,000 queue drops against
//! `bbr`'s 27,019, and mean SRTT 28.5 ms against 32.2; beside CUBIC it takes 77% (36.8
//! against 10.9 Mbit/s) where `bbr` takes 96%. Under random loss in the 256 KiB grid it
//! moves 49.8, 34.2 and 13.7 Mbit/s at 1, 2 and 5% with 10 ms one way, where `bbr`
//! moves 56.2, 48.4 and 43.4 (CUBIC: 5.2, 3.8, 2.0).

use super::super::{initial_window, CongestionControl, MAX_CWND};
use super::bounds::{LossBounds, UNBOUNDED};
use super::model::{BbrModel, RateSample, State};
use crate::time::{Duration, Instant};

/// BBR's state and estimates as listings show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BbrInfo {
    /// The state (draft 5.1.1), as [`State::name`] spells it.
    pub state: &'static str,
    /// BBR.max_bw, bytes per second.
    pub bw: u64,
    /// BBR.min_rtt, if measured.
    pub min_rtt: Option<Duration>,
    /// BBR.pacing_gain and BBR.cwnd_gain, in hundredths.
    pub pacing_gain_pct: u32,
    pub cwnd_gain_pct: u32,
    /// `bbr-draft`'s loss bounds, when set: BBR.inflight_longterm (bytes) and
    /// BBR.bw_shortterm (bytes per second).
    pub inflight_longterm: Option<u64>,
    pub bw_shortterm: Option<u64>,
}

impl State {
    /// The state's name, as Linux's `ss` prints BBR's modes (lower case).
    pub fn name(self) -> &'static str {
        match self {
            State::Startup => "startup",
            State::Drain => "drain",
            State::ProbeBwDown => "probe_bw_down",
            State::ProbeBwCruise => "probe_bw_cruise",
            State::ProbeBwRefill => "probe_bw_refill",
            State::ProbeBwUp => "probe_bw_up",
            State::ProbeRtt => "probe_rtt",
        }
    }
}

/// BBR for one connection.
#[derive(Clone, Debug)]
pub struct Bbr {
    model: BbrModel,
    smss: usize,
    /// Data has been sent (the SMSS no longer resets the initial window).
    started: bool,
    /// The SYN was retransmitted: the initial window is one segment (RFC 6928 2).
    syn_lost: bool,
    seed: u64,
    /// `bbr-draft`: the draft's loss-based bounds are on (`bounds.rs`).
    loss_bounds: bool,
}

impl Bbr {
    /// BBR with SMSS `mss` and the RFC 6928 initial window.
    pub fn new(mss: usize) -> Self {
        let smss = super::super::clamp_mss(mss);
        Bbr {
            model: BbrModel::new(smss as u64, initial_window(smss) as u64, 0x0062_6272),
            smss,
            started: false,
            syn_lost: false,
            seed: 0x0062_6272,
            loss_bounds: false,
        }
    }

    /// `bbr-draft`: BBR with the draft's loss-based bounds and Startup's high-loss exit
    /// (`bounds.rs`).
    pub fn with_loss_bounds(mss: usize) -> Self {
        let mut b = Bbr::new(mss);
        b.loss_bounds = true;
        b.rebuild();
        b
    }

    /// The model (for tests and listings).
    pub fn model(&self) -> &BbrModel {
        &self.model
    }

    fn rebuild(&mut self) {
        let iw = if self.syn_lost {
            self.smss
        } else {
            initial_window(self.smss)
        };
        self.model = BbrModel::new(self.smss as u64, iw as u64, self.seed);
        if self.loss_bounds {
            self.model = self.model.clone().with_loss_bounds();
        }
    }
}

impl CongestionControl for Bbr {
    fn name(&self) -> &'static str {
        if self.loss_bounds {
            "bbr-draft"
        } else {
            "bbr"
        }
    }

    fn cwnd(&self) -> usize {
        (self.model.cwnd() as usize).clamp(self.smss, MAX_CWND)
    }

    /// BBR has no threshold; listings show "infinite" until Startup ends, then cwnd.
    fn ssthresh(&self) -> usize {
        if self.model.full_bw_reached() {
            self.cwnd()
        } else {
            usize::MAX
        }
    }

    fn set_mss(&mut self, mss: usize) {
        self.smss = super::super::clamp_mss(mss);
        if self.started {
            self.model.set_smss(self.smss as u64);
        } else {
            self.rebuild();
        }
    }

    /// Cumulative ACKs are taken through the rate samples.
    fn on_ack(
        &mut self,
        _now: Instant,
        acked: usize,
        _flight: usize,
        _used: usize,
        _rtt: Option<Duration>,
    ) {
        if acked > 0 {
            self.started = true;
        }
    }

    fn on_congestion_event(&mut self, _now: Instant, _flight: usize) {
        self.started = true;
        self.model.on_enter_recovery();
    }

    fn on_recovery_exit(&mut self, _now: Instant, _flight: usize) {
        self.model.on_exit_recovery();
    }

    fn on_rto(&mut self, _now: Instant, _flight: usize, _first: bool) {
        self.started = true;
        self.model.on_rto();
    }

    fn on_idle_restart(&mut self, _now: Instant) {
        self.model.on_idle_restart();
    }

    fn on_syn_loss(&mut self) {
        if !self.started {
            self.syn_lost = true;
            self.rebuild();
        }
    }

    /// RFC 3708 undo: the cwnd before the reduction comes back.
    fn undo(&mut self, cwnd: usize, _ssthresh: usize) {
        self.model.set_cwnd(cwnd.max(self.cwnd()) as u64);
    }

    fn inherit(&mut self, cwnd: usize, _ssthresh: usize) {
        self.started = true;
        self.model.set_cwnd(cwnd.clamp(self.smss, MAX_CWND) as u64);
    }

    fn wants_rate_samples(&self) -> bool {
        true
    }

    fn on_rate_sample(&mut self, now: Instant, rs: &RateSample) {
        self.started = true;
        self.model.on_ack(now, rs);
    }

    fn pacing_rate(&self) -> Option<u64> {
        Some(self.model.pacing_rate())
    }

    fn send_quantum(&self) -> Option<usize> {
        Some(self.model.send_quantum() as usize)
    }

    fn uses_prr(&self) -> bool {
        false
    }

    fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.model.reseed(seed);
    }

    fn bbr_info(&self) -> Option<BbrInfo> {
        let bound = |f: fn(&LossBounds) -> u64| {
            let b = self.model.loss_bounds().map(f);
            b.filter(|&v| v != UNBOUNDED)
        };
        Some(BbrInfo {
            state: self.model.state().name(),
            bw: self.model.max_bw(),
            min_rtt: self.model.min_rtt(),
            pacing_gain_pct: (self.model.pacing_gain() * 100.0).round() as u32,
            cwnd_gain_pct: (self.model.cwnd_gain() * 100.0).round() as u32,
            inflight_longterm: bound(|b| b.inflight_longterm),
            bw_shortterm: bound(|b| b.bw_shortterm),
        })
    }
}
