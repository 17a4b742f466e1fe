//! BBR's loss-based bounds (draft-ietf-ccwg-bbr-06, "Updating the Model Upon Packet
//! Loss" and the ProbeBW algorithm details): the long-term model's
//! BBR.inflight_longterm, cut when a bandwidth probe loses more than BBR.LossThresh (2%)
//! of what it had in flight and raised again, slowly then faster, while probes stay
//! under it; the short-term model's BBR.bw_shortterm and BBR.inflight_shortterm, cut
//! by BBR.Beta once per round trip with loss while not probing; and Startup's exit on
//! high loss. They run for `bbr-draft` ([`Algorithm::BbrDraft`]); `bbr` leaves them out
//! (see `cc.rs` for why and what it costs).
//!
//! What is simplified, and why:
//! - Loss is judged on each ACK's rate sample (RS.lost against RS.tx_in_flight, as
//!   Linux's BBRv3 `bbr_adapt_upper_bounds` does), not also per packet marked lost
//!   (the draft's `HandleLostPacket()` with `InflightAtLoss()`): the sender's loss
//!   marking has no per-packet hook into the algorithm. The bound set is then the
//!   flight when the sampled packet left, which may exceed the draft's estimate of the
//!   flight at which the loss rate crossed 2%.
//! - Startup's high-loss exit counts lost data, six segments in the round, where the
//!   draft counts six discontiguous lost ranges (`BBRStartupFullLossCnt`).
//! - Precautionary probing (BBR.prev_probe_precautionary) and the undo of these bounds
//!   after a spurious recovery are not modelled.
//!
//! [`Algorithm::BbrDraft`]: crate::tcp::congestion::Algorithm::BbrDraft

/// BBR.LossThresh: the most loss per round trip a probe may cause.
pub const LOSS_THRESH: f64 = 0.02;
/// BBR.Beta: the multiplicative cut of the bounds (no deeper than CUBIC's 0.7).
pub const BETA: f64 = 0.7;
/// BBR.Headroom: the share of BBR.inflight_longterm left free while cruising.
pub const HEADROOM: f64 = 0.15;
/// BBRStartupFullLossCnt, counted here in lost segments (see the module notes).
pub const STARTUP_FULL_LOSS_SEGMENTS: u64 = 6;

/// "Infinity" for the bounds.
pub const UNBOUNDED: u64 = u64::MAX;

/// The loss-based bounds of one connection, and the per-round signals they need.
#[derive(Clone, Debug)]
pub struct LossBounds {
    /// BBR.inflight_longterm, bytes.
    pub inflight_longterm: u64,
    /// BBR.bw_shortterm, bytes per second.
    pub bw_shortterm: u64,
    /// BBR.inflight_shortterm, bytes.
    pub inflight_shortterm: u64,
    /// BBR.bw_latest and BBR.inflight_latest: the round's largest delivery rate and
    /// delivered volume.
    bw_latest: u64,
    inflight_latest: u64,
    /// BBR.loss_round_delivered and BBR.loss_round_start.
    loss_round_delivered: u64,
    pub loss_round_start: bool,
    /// BBR.is_loss_in_round, and the data declared lost in the round (for Startup).
    pub is_loss_in_round: bool,
    lost_in_round: u64,
    /// C.delivered when the loss round began, and what the round that just ended
    /// delivered (for Startup's loss rate).
    round_begin: u64,
    round_delivered: u64,
    /// C.lost as of the previous sample.
    lost_total: u64,
    /// BBR.is_bw_probe_sample: ACKs now carry samples of a bandwidth probe.
    pub is_bw_probe_sample: bool,
    /// BBR.prev_probe_too_high.
    pub prev_probe_too_high: bool,
    /// BBR.bw_probe_up_rounds, BBR.bw_probe_up_acked, BBR.probe_up_acked_per_inc.
    bw_probe_up_rounds: u32,
    bw_probe_up_acked: u64,
    probe_up_acked_per_inc: u64,
}

impl Default for LossBounds {
    fn default() -> Self {
        LossBounds {
            inflight_longterm: UNBOUNDED,
            bw_shortterm: UNBOUNDED,
            inflight_shortterm: UNBOUNDED,
            bw_latest: 0,
            inflight_latest: 0,
            loss_round_delivered: 0,
            loss_round_start: false,
            is_loss_in_round: false,
            lost_in_round: 0,
            round_begin: 0,
            round_delivered: 0,
            lost_total: 0,
            is_bw_probe_sample: false,
            prev_probe_too_high: false,
            bw_probe_up_rounds: 0,
            bw_probe_up_acked: 0,
            probe_up_acked_per_inc: UNBOUNDED,
        }
    }
}

/// `IsInflightTooHigh()`: the sample's packet saw more than BBR.LossThresh of what was
/// in flight when it left declared lost (with SACK; the sender of this model has it
/// whenever BBR's bounds matter, and without it RS.lost stays 0 but for timeouts).
pub fn inflight_too_high(lost: u64, tx_in_flight: u64) -> bool {
    lost as f64 > tx_in_flight as f64 * LOSS_THRESH
}

impl LossBounds {
    /// `UpdateLatestDeliverySignals()`, and `NoteLoss()` for what the sender declared
    /// lost since the previous sample (`lost_total` is C.lost; `delivered` C.delivered,
    /// `delivered_in_sample` RS.delivered, `prior_delivered` P.delivered).
    pub fn update_latest(
        &mut self,
        delivery_rate: u64,
        delivered: u64,
        delivered_in_sample: u64,
        prior_delivered: u64,
        lost_total: u64,
    ) {
        if lost_total > self.lost_total {
            if !self.is_loss_in_round {
                self.loss_round_delivered = delivered;
                self.round_begin = delivered;
            }
            self.is_loss_in_round = true;
            self.lost_in_round += lost_total - self.lost_total;
        }
        self.lost_total = lost_total;
        self.loss_round_start = false;
        self.bw_latest = self.bw_latest.max(delivery_rate);
        self.inflight_latest = self.inflight_latest.max(delivered_in_sample);
        if prior_delivered >= self.loss_round_delivered {
            self.loss_round_delivered = delivered;
            self.loss_round_start = true;
            self.round_delivered = delivered.saturating_sub(self.round_begin);
            self.round_begin = delivered;
        }
    }

    /// The end of `UpdateCongestionSignals()`: once per round trip, while not probing
    /// (`probing`: Startup, ProbeBW_REFILL or ProbeBW_UP), a round with loss cuts the
    /// short-term model (`AdaptLowerBoundsFromCongestion()`: `InitLowerBounds()` from
    /// BBR.max_bw and the cwnd, then `LossLowerBounds()`).
    pub fn adapt_lower_bounds(&mut self, probing: bool, max_bw: u64, cwnd: u64) {
        if !self.loss_round_start {
            return;
        }
        if !probing && self.is_loss_in_round {
            if self.bw_shortterm == UNBOUNDED {
                self.bw_shortterm = max_bw;
            }
            if self.inflight_shortterm == UNBOUNDED {
                self.inflight_shortterm = cwnd;
            }
            self.bw_shortterm = self.bw_latest.max((BETA * self.bw_shortterm as f64) as u64);
            self.inflight_shortterm = self
                .inflight_latest
                .max((BETA * self.inflight_shortterm as f64) as u64);
        }
        self.is_loss_in_round = false;
        self.lost_in_round = 0;
    }

    /// `AdvanceLatestDeliverySignals()`: a new loss round starts from this sample.
    pub fn advance_latest(&mut self, delivery_rate: u64, delivered_in_sample: u64) {
        if self.loss_round_start {
            self.bw_latest = delivery_rate;
            self.inflight_latest = delivered_in_sample;
        }
    }

    /// `ResetCongestionSignals()` (on entering ProbeBW_DOWN).
    pub fn reset_congestion_signals(&mut self) {
        self.is_loss_in_round = false;
        self.lost_in_round = 0;
        self.bw_latest = 0;
        self.inflight_latest = 0;
        self.probe_up_acked_per_inc = UNBOUNDED;
    }

    /// `StartProbeBW_REFILL()`'s part: `ResetShortTermModel()` and a fresh probe.
    pub fn start_refill(&mut self) {
        self.bw_shortterm = UNBOUNDED;
        self.inflight_shortterm = UNBOUNDED;
        self.bw_probe_up_rounds = 0;
        self.bw_probe_up_acked = 0;
    }

    /// `RaiseInflightLongtermSlope()`: each round of ProbeBW_UP doubles how fast
    /// BBR.inflight_longterm grows (one SMSS per cwnd / 2^rounds delivered).
    pub fn raise_slope(&mut self, cwnd: u64, smss: u64) {
        let growth = 1u64 << self.bw_probe_up_rounds;
        self.bw_probe_up_rounds = (self.bw_probe_up_rounds + 1).min(30);
        self.probe_up_acked_per_inc = (cwnd / growth).max(smss);
    }

    /// `HandleInflightTooHigh()`'s bound: BBR.inflight_longterm becomes the flight when
    /// the sampled packet left, but no less than BBR.Beta of the target flight.
    pub fn cut_longterm(&mut self, tx_in_flight: u64, target_inflight: u64, app_limited: bool) {
        self.prev_probe_too_high = true;
        self.is_bw_probe_sample = false;
        if !app_limited {
            self.inflight_longterm = tx_in_flight.max((BETA * target_inflight as f64) as u64);
        }
    }

    /// `AdaptLongTermModel()` when the loss rate is safe: BBR.inflight_longterm follows a
    /// larger flight that lost little.
    pub fn follow_safe_flight(&mut self, tx_in_flight: u64) {
        if self.inflight_longterm != UNBOUNDED {
            self.inflight_longterm = self.inflight_longterm.max(tx_in_flight);
        }
    }

    /// `ProbeInflightLongtermUpward()`, in ProbeBW_UP with a safe loss rate: while the
    /// flow is cwnd-limited at BBR.inflight_longterm, the bound grows one SMSS per
    /// `probe_up_acked_per_inc` delivered, and each round that step shrinks
    /// (`RaiseInflightLongtermSlope()`).
    pub fn probe_upward(
        &mut self,
        cwnd_limited: bool,
        cwnd: u64,
        newly_acked: u64,
        round_start: bool,
        smss: u64,
    ) {
        if self.inflight_longterm == UNBOUNDED || !cwnd_limited || cwnd < self.inflight_longterm {
            return;
        }
        self.bw_probe_up_acked += newly_acked;
        if self.bw_probe_up_acked >= self.probe_up_acked_per_inc {
            let delta = self.bw_probe_up_acked / self.probe_up_acked_per_inc;
            self.bw_probe_up_acked -= delta * self.probe_up_acked_per_inc;
            self.inflight_longterm = self.inflight_longterm.saturating_add(delta * smss);
        }
        if round_start {
            self.raise_slope(cwnd, smss);
        }
    }

    /// `InflightWithHeadroom()`: BBR.inflight_longterm less BBR.Headroom of it (at least
    /// one SMSS), no lower than `min_pipe`.
    pub fn inflight_with_headroom(&self, smss: u64, min_pipe: u64) -> u64 {
        if self.inflight_longterm == UNBOUNDED {
            return UNBOUNDED;
        }
        let headroom = smss.max((HEADROOM * self.inflight_longterm as f64) as u64);
        self.inflight_longterm
            .saturating_sub(headroom)
            .max(min_pipe)
    }

    /// `CheckStartupHighLoss()` at the end of a loss round in Startup: the round lost
    /// more than BBR.LossThresh of what it sent (lost and delivered) and at least six
    /// segments. Returns the BBR.inflight_longterm to set — max(BDP,
    /// BBR.inflight_latest) — when Startup should end.
    pub fn startup_high_loss(&self, bdp: u64, smss: u64) -> Option<u64> {
        let lost = self.lost_in_round;
        let exit = self.loss_round_start
            && self.is_loss_in_round
            && lost >= STARTUP_FULL_LOSS_SEGMENTS * smss
            && inflight_too_high(lost, lost + self.round_delivered);
        exit.then(|| bdp.max(self.inflight_latest))
    }

    /// `BoundCwndForModel()`'s cap for the state: BBR.inflight_longterm while probing in
    /// ProbeBW (`probe_bw_not_cruise`), with headroom while cruising or in ProbeRTT
    /// (`cruise_or_probe_rtt`), and BBR.inflight_shortterm always; at least `min_pipe`.
    pub fn cwnd_cap(
        &self,
        probe_bw_not_cruise: bool,
        cruise_or_probe_rtt: bool,
        smss: u64,
        min_pipe: u64,
    ) -> u64 {
        let cap = if probe_bw_not_cruise {
            self.inflight_longterm
        } else if cruise_or_probe_rtt {
            self.inflight_with_headroom(smss, min_pipe)
        } else {
            UNBOUNDED
        };
        cap.min(self.inflight_shortterm).max(min_pipe)
    }
}
