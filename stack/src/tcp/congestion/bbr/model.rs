//! BBR's state machine and control parameters as a pure struct (draft-ietf-ccwg-bbr-06,
//! sections 5.2.3, 5.3, 5.5.1 and 5.6): fed one rate sample per ACK with the time, it
//! moves through Startup, Drain, the four ProbeBW phases and ProbeRTT, and says what the
//! pacing rate, send quantum and cwnd are. It reads no clock and sends nothing.
//!
//! The loss response is packet conservation (5.6.4.4) for one round trip from the loss,
//! once the pipe is full (not in Startup: `STARTUP_WITHOUT_CONSERVATION`, at
//! `on_enter_recovery`). The loss-based bounds (BBR.inflight_longterm, BBR.bw_shortterm,
//! BBR.inflight_shortterm, sections 5.5.10 and 5.3.3.6) and Startup's exit on high loss
//! (5.3.1.3) are `bounds.rs`, on only when built [`BbrModel::with_loss_bounds`] (`bbr-draft`;
//! `bbr` leaves them out on purpose, see `cc.rs`: its bounds stay infinite, as the draft
//! initializes them). Left out: BBR.extra_acked (5.5.9), the offload budget (5.5.8) and
//! undo (5.5.11).

use super::bounds::{inflight_too_high, LossBounds, UNBOUNDED};
use super::filter::{MaxBwFilter, MinRttFilter};
use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// Draft 2.5: BBR.StartupPacingGain, 4 ln 2 (the smallest gain that doubles the sending
/// rate each round).
pub const STARTUP_PACING_GAIN: f64 = 2.77;
/// Draft 2.5: BBR.DrainPacingGain.
pub const DRAIN_PACING_GAIN: f64 = 0.5;
/// Draft 2.6: BBR.DefaultCwndGain.
pub const DEFAULT_CWND_GAIN: f64 = 2.0;
/// Draft 5.3.3.1: ProbeBW_DOWN's pacing gain.
pub const PROBE_DOWN_PACING_GAIN: f64 = 0.9;
/// Draft 5.3.3.5: ProbeBW_UP's pacing gain.
pub const PROBE_UP_PACING_GAIN: f64 = 1.25;
/// Draft 5.3.3.5: ProbeBW_UP's cwnd gain.
pub const PROBE_UP_CWND_GAIN: f64 = 2.25;
/// Draft 2.16.2: BBR.ProbeRTTCwndGain.
pub const PROBE_RTT_CWND_GAIN: f64 = 0.5;
/// Draft 2.16.2: BBR.ProbeRTTDuration.
pub const PROBE_RTT_DURATION: Duration = Duration::from_millis(200);
/// Draft 2.5: BBR.PacingMarginPercent.
pub const PACING_MARGIN_PERCENT: f64 = 1.0;
/// Draft 5.3.1.2: growth below 25% in a round counts towards a plateau...
pub const FULL_BW_GROWTH: f64 = 1.25;
/// ...and three such rounds fill the pipe (compared on BBR.max_bw: see
/// `BbrModel::on_ack`).
pub const FULL_BW_COUNT: u32 = 3;
/// Draft 2.8: BBR.MinPipeCwnd, in SMSS.
pub const MIN_PIPE_CWND_SEGMENTS: u64 = 4;

/// The states of draft 5.1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Startup,
    Drain,
    ProbeBwDown,
    ProbeBwCruise,
    ProbeBwRefill,
    ProbeBwUp,
    ProbeRtt,
}

impl State {
    /// Draft 5.3.3.9 `IsInAProbeBWState()`.
    pub fn is_probe_bw(self) -> bool {
        matches!(
            self,
            State::ProbeBwDown | State::ProbeBwCruise | State::ProbeBwRefill | State::ProbeBwUp
        )
    }
}

/// Draft 2.14 BBR.ack_phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckPhase {
    Init,
    Refilling,
    ProbeStarting,
    ProbeFeedback,
    ProbeStopping,
}

/// What one ACK tells the model (draft 2.2 and 2.3; the delivery-rate sampler of draft
/// 4.1 fills it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateSample {
    /// C.delivered after this ACK: bytes delivered over the connection's life.
    pub delivered: u64,
    /// P.delivered of the most recently sent packet this ACK covers: C.delivered when it
    /// was sent.
    pub prior_delivered: u64,
    /// RS.delivery_rate, bytes per second (0: no sample).
    pub delivery_rate: u64,
    /// RS.is_app_limited.
    pub is_app_limited: bool,
    /// RS.rtt.
    pub rtt: Option<Duration>,
    /// RS.newly_acked, bytes.
    pub newly_acked: u64,
    /// RS.lost: bytes declared lost between the sending of the packet the sample is
    /// taken from and this ACK.
    pub lost: u64,
    /// RS.tx_in_flight: bytes in flight when that packet was sent (with it).
    pub tx_in_flight: u64,
    /// C.inflight after this ACK, bytes.
    pub inflight: u64,
    /// C.is_cwnd_limited.
    pub is_cwnd_limited: bool,
    /// C.lost after this ACK: bytes declared lost over the connection's life.
    pub lost_total: u64,
}

/// The BBR model of one connection.
#[derive(Clone, Debug)]
pub struct BbrModel {
    smss: u64,
    initial_cwnd: u64,
    state: State,
    pacing_gain: f64,
    cwnd_gain: f64,
    // Draft 5.5.1 round counting.
    round_count: u64,
    round_start: bool,
    next_round_delivered: u64,
    rounds_since_probe_up: u64,
    // Draft 5.5.3 and 5.5.7 filters.
    max_bw: MaxBwFilter,
    min_rtt: MinRttFilter,
    // Draft 5.3.1.2 full pipe estimation.
    full_bw: u64,
    full_bw_count: u32,
    full_bw_now: bool,
    full_bw_reached: bool,
    drain_start_round: u64,
    // Draft 5.3.3 ProbeBW.
    ack_phase: AckPhase,
    cycle_stamp: Instant,
    bw_probe_wait: Duration,
    // Draft 5.3.4 ProbeRTT.
    probe_rtt_done_stamp: Option<Instant>,
    probe_rtt_round_done: bool,
    prior_cwnd: u64,
    idle_restart: bool,
    // Draft 5.6.4.4: loss recovery.
    /// An ACK entered fast recovery: the next sample sets the conservation window.
    recovery_pending: bool,
    /// BBR.packet_conservation, for one round trip: until an ACK delivers a packet sent
    /// after C.delivered reached `conservation_end` (the round starts at the loss).
    packet_conservation: bool,
    conservation_end: u64,
    /// C.delivered as of the last ACK.
    delivered: u64,
    /// After a timeout, BBR.prior_cwnd comes back when packet conservation ends.
    restore_after_conservation: bool,
    /// The loss-based bounds (`bounds.rs`), when on.
    bounds: Option<LossBounds>,
    // Outputs (draft 2.4).
    pacing_rate: u64,
    send_quantum: u64,
    cwnd: u64,
    rng: Rng,
}

impl BbrModel {
    /// Draft 5.2.1 `OnInit()` for SMSS `smss` and the transport's initial window
    /// `initial_cwnd` (bytes); `seed` drives `PickProbeWait()`'s randomness. The pacing
    /// rate starts from `InitPacingRate()` with no RTT sample yet (1 ms).
    pub fn new(smss: u64, initial_cwnd: u64, seed: u64) -> Self {
        let smss = smss.max(1);
        let mut m = BbrModel {
            smss,
            initial_cwnd,
            state: State::Startup,
            pacing_gain: STARTUP_PACING_GAIN,
            cwnd_gain: DEFAULT_CWND_GAIN,
            round_count: 0,
            round_start: false,
            next_round_delivered: 0,
            rounds_since_probe_up: 0,
            max_bw: MaxBwFilter::new(),
            min_rtt: MinRttFilter::new(),
            full_bw: 0,
            full_bw_count: 0,
            full_bw_now: false,
            full_bw_reached: false,
            drain_start_round: 0,
            ack_phase: AckPhase::Init,
            cycle_stamp: Instant::ZERO,
            bw_probe_wait: Duration::ZERO,
            probe_rtt_done_stamp: None,
            probe_rtt_round_done: false,
            prior_cwnd: 0,
            idle_restart: false,
            recovery_pending: false,
            packet_conservation: false,
            conservation_end: 0,
            delivered: 0,
            restore_after_conservation: false,
            bounds: None,
            pacing_rate: 0,
            send_quantum: 2 * smss,
            cwnd: initial_cwnd.max(MIN_PIPE_CWND_SEGMENTS * smss),
            rng: Rng::new(seed),
        };
        m.init_pacing_rate(None);
        m
    }

    /// The model with the draft's loss-based bounds and Startup's high-loss exit on
    /// (`bounds.rs`).
    pub fn with_loss_bounds(mut self) -> Self {
        self.bounds = Some(LossBounds::default());
        self
    }

    /// The loss-based bounds, when on.
    pub fn loss_bounds(&self) -> Option<&LossBounds> {
        self.bounds.as_ref()
    }

    /// BBR.bw (draft `BoundBWForModel()`): BBR.max_bw within BBR.bw_shortterm.
    pub fn bw(&self) -> u64 {
        let short = self.bounds.as_ref().map_or(UNBOUNDED, |b| b.bw_shortterm);
        self.max_bw().min(short)
    }

    pub fn state(&self) -> State {
        self.state
    }
    pub fn pacing_gain(&self) -> f64 {
        self.pacing_gain
    }
    pub fn cwnd_gain(&self) -> f64 {
        self.cwnd_gain
    }
    /// C.pacing_rate, bytes per second.
    pub fn pacing_rate(&self) -> u64 {
        self.pacing_rate
    }
    /// C.send_quantum, bytes.
    pub fn send_quantum(&self) -> u64 {
        self.send_quantum
    }
    /// C.cwnd, bytes.
    pub fn cwnd(&self) -> u64 {
        self.cwnd
    }
    /// BBR.max_bw (= BBR.bw while the short-term model is unbounded), bytes per second.
    pub fn max_bw(&self) -> u64 {
        self.max_bw.get()
    }
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.min_rtt()
    }
    pub fn round_count(&self) -> u64 {
        self.round_count
    }
    pub fn full_bw_reached(&self) -> bool {
        self.full_bw_reached
    }
    /// BBR.rounds_since_probe_up.
    pub fn rounds_since_probe_up(&self) -> u64 {
        self.rounds_since_probe_up
    }
    /// BBR.cycle_count, the max_bw filter's virtual time.
    pub fn cycle_count(&self) -> u64 {
        self.max_bw.cycle()
    }

    fn min_pipe_cwnd(&self) -> u64 {
        MIN_PIPE_CWND_SEGMENTS * self.smss
    }

    /// Draft 5.6.2 `InitPacingRate()`: StartupPacingGain * InitialCwnd / (srtt or 1 ms).
    /// At initialization the transport has no srtt yet (5.2.1), hence 1 ms.
    fn init_pacing_rate(&mut self, srtt: Option<Duration>) {
        let secs = srtt
            .filter(|d| *d > Duration::ZERO)
            .unwrap_or(Duration::from_millis(1))
            .total_micros() as f64
            / 1e6;
        self.pacing_rate = (STARTUP_PACING_GAIN * self.initial_cwnd as f64 / secs) as u64;
    }

    /// Draft 5.6.4.2 `BDPMultiple(gain)`: gain * bw * min_rtt, or the initial window
    /// before any RTT sample.
    pub fn bdp_multiple(&self, gain: f64) -> u64 {
        match self.min_rtt() {
            None => self.initial_cwnd,
            Some(rtt) => (gain * self.bw() as f64 * rtt.total_micros() as f64 / 1e6) as u64,
        }
    }

    /// Draft 5.6.4.2 `Inflight(gain)` with `QuantizationBudget()` (no offload budget
    /// yet): at least MinPipeCwnd, two more segments in ProbeBW_UP.
    pub fn inflight(&self, gain: f64) -> u64 {
        let mut cap = self.bdp_multiple(gain).max(self.min_pipe_cwnd());
        if self.state == State::ProbeBwUp {
            cap += 2 * self.smss;
        }
        cap
    }

    /// Draft 5.3.1.1 `EnterStartup()`.
    fn enter_startup(&mut self) {
        self.state = State::Startup;
        self.pacing_gain = STARTUP_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    /// Draft 5.3.2 `EnterDrain()`.
    fn enter_drain(&mut self) {
        self.state = State::Drain;
        self.pacing_gain = DRAIN_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
        self.drain_start_round = self.round_count;
    }

    /// Draft 5.5.1 `StartRound()`.
    fn start_round(&mut self, delivered: u64) {
        self.next_round_delivered = delivered;
    }

    /// Draft 5.3.1.2 `ResetFullBW()`.
    fn reset_full_bw(&mut self) {
        self.full_bw = 0;
        self.full_bw_count = 0;
        self.full_bw_now = false;
    }

    /// Draft 5.3.3.9 `StartProbeBW_DOWN()` (the congestion signals it resets are not
    /// modelled yet) with `PickProbeWait()`: 0 or 1 rounds, 2 to 3 s.
    fn start_probe_bw_down(&mut self, now: Instant, delivered: u64) {
        self.rounds_since_probe_up = self.rng.range_u64(0, 2);
        self.bw_probe_wait = Duration::from_micros(2_000_000 + self.rng.range_u64(0, 1_000_001));
        self.cycle_stamp = now;
        self.ack_phase = AckPhase::ProbeStopping;
        self.start_round(delivered);
        if let Some(b) = self.bounds.as_mut() {
            b.reset_congestion_signals();
        }
        self.state = State::ProbeBwDown;
        self.pacing_gain = PROBE_DOWN_PACING_GAIN;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    fn start_probe_bw_cruise(&mut self) {
        self.state = State::ProbeBwCruise;
        self.pacing_gain = 1.0;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    fn start_probe_bw_refill(&mut self, delivered: u64) {
        if let Some(b) = self.bounds.as_mut() {
            b.start_refill();
        }
        self.ack_phase = AckPhase::Refilling;
        self.start_round(delivered);
        self.state = State::ProbeBwRefill;
        self.pacing_gain = 1.0;
        self.cwnd_gain = DEFAULT_CWND_GAIN;
    }

    fn start_probe_bw_up(&mut self, rs: &RateSample) {
        self.ack_phase = AckPhase::ProbeStarting;
        self.start_round(rs.delivered);
        self.reset_full_bw();
        self.full_bw = self.max_bw();
        self.state = State::ProbeBwUp;
        self.pacing_gain = PROBE_UP_PACING_GAIN;
        self.cwnd_gain = PROBE_UP_CWND_GAIN;
        let (cwnd, smss) = (self.cwnd, self.smss);
        if let Some(b) = self.bounds.as_mut() {
            b.raise_slope(cwnd, smss);
        }
    }

    /// Draft 5.3.3.9 `IsProbingBW()`.
    fn is_probing_bw(&self) -> bool {
        matches!(
            self.state,
            State::Startup | State::ProbeBwRefill | State::ProbeBwUp
        )
    }

    /// C.is_cwnd_limited: the sample says so, or the flight before this ACK filled the
    /// cwnd to within a segment.
    fn cwnd_limited(&self, rs: &RateSample) -> bool {
        rs.is_cwnd_limited || rs.inflight + rs.newly_acked + self.smss > self.cwnd
    }

    /// `AdaptLongTermModel()`'s loss part at this ACK (see `bounds.rs` on why per ACK):
    /// a bandwidth probe that lost too much cuts BBR.inflight_longterm
    /// (`HandleInflightTooHigh()`, leaving ProbeBW_UP for DOWN); a safe loss rate lets it
    /// rise. Returns whether it decided a state transition.
    fn adapt_long_term_model(&mut self, now: Instant, rs: &RateSample) -> bool {
        let target = self.bdp_multiple(1.0).min(self.cwnd);
        let cwnd_limited = self.cwnd_limited(rs);
        let (state, cwnd, smss, round_start) = (self.state, self.cwnd, self.smss, self.round_start);
        let Some(b) = self.bounds.as_mut() else {
            return false;
        };
        if inflight_too_high(rs.lost, rs.tx_in_flight) {
            if b.is_bw_probe_sample {
                b.cut_longterm(rs.tx_in_flight, target, rs.is_app_limited);
                if state == State::ProbeBwUp {
                    self.start_probe_bw_down(now, rs.delivered);
                    return true;
                }
            }
        } else {
            b.follow_safe_flight(rs.tx_in_flight);
            if state == State::ProbeBwUp {
                b.probe_upward(cwnd_limited, cwnd, rs.newly_acked, round_start, smss);
            }
        }
        false
    }

    /// Draft 5.3.3.8 `IsTimeToProbeBW()`: the wall-clock wait elapsed, or as many rounds
    /// as Reno would take to grow back (`min(TargetInflight() in segments, 63)`).
    fn is_time_to_probe_bw(&mut self, now: Instant, delivered: u64) -> bool {
        let elapsed = self
            .cycle_stamp
            .checked_add(self.bw_probe_wait)
            .is_some_and(|t| now > t);
        let target = self.bdp_multiple(1.0).min(self.cwnd) / self.smss;
        if elapsed || self.rounds_since_probe_up >= target.min(63) {
            self.start_probe_bw_refill(delivered);
            return true;
        }
        false
    }

    /// Draft 5.3.3.9 `UpdateProbeBWCyclePhase()` with the part of `AdaptLongTermModel()`
    /// that does not depend on loss (the ACK phases and the max_bw filter's clock).
    fn update_probe_bw_cycle_phase(&mut self, now: Instant, rs: &RateSample) {
        if !self.full_bw_reached {
            return;
        }
        if self.ack_phase == AckPhase::ProbeStarting && self.round_start {
            self.ack_phase = AckPhase::ProbeFeedback;
        }
        if self.ack_phase == AckPhase::ProbeStopping && self.round_start {
            self.ack_phase = AckPhase::Init;
            if let Some(b) = self.bounds.as_mut() {
                b.is_bw_probe_sample = false;
            }
            if self.state.is_probe_bw() && !rs.is_app_limited {
                self.max_bw.advance();
            }
        }
        if self.adapt_long_term_model(now, rs) {
            return;
        }
        match self.state {
            State::ProbeBwDown => {
                if self.is_time_to_probe_bw(now, rs.delivered) {
                    return;
                }
                // IsTimeToCruise(): headroom under BBR.inflight_longterm (infinite
                // without the loss bounds), and the flight down to the BDP.
                let headroom = self.bounds.as_ref().map_or(UNBOUNDED, |b| {
                    b.inflight_with_headroom(self.smss, self.min_pipe_cwnd())
                });
                if rs.inflight <= headroom && rs.inflight <= self.inflight(1.0) {
                    self.start_probe_bw_cruise();
                }
            }
            State::ProbeBwCruise => {
                self.is_time_to_probe_bw(now, rs.delivered);
            }
            // After one round of REFILL, UP: its ACKs are bandwidth-probe samples.
            State::ProbeBwRefill if self.round_start => {
                if let Some(b) = self.bounds.as_mut() {
                    b.is_bw_probe_sample = true;
                }
                self.start_probe_bw_up(rs);
            }
            State::ProbeBwUp => {
                // IsTimeToGoDown(): a flow held at BBR.inflight_longterm has not yet
                // measured the path's bandwidth; keep probing (and raising the bound).
                let longterm = self
                    .bounds
                    .as_ref()
                    .map_or(UNBOUNDED, |b| b.inflight_longterm);
                if self.cwnd_limited(rs) && self.cwnd >= longterm {
                    self.reset_full_bw();
                    self.full_bw = rs.delivery_rate;
                } else if self.full_bw_now {
                    if let Some(b) = self.bounds.as_mut() {
                        b.prev_probe_too_high = false;
                    }
                    self.start_probe_bw_down(now, rs.delivered);
                }
            }
            _ => {}
        }
    }

    /// Draft 5.2.3 `UpdateOnACK()` for one ACK at `now` (the parts listed in the module
    /// documentation are left out).
    ///
    /// **Departure** (`FULL_BW_ON_MAX_BW`), in 5.3.1.2: the draft's
    /// `CheckFullBWReached()` compares the delivery rate of the ACK that starts a round
    /// with BBR.full_bw; tunstack compares BBR.max_bw, as Linux's
    /// `bbr_check_full_bw_reached` does. Under random loss the ACK that starts a round
    /// often comes just after a loss, its sample low while the bandwidth is still
    /// growing, and three such rounds end Startup early (on the loss race, real TUN, 1%,
    /// 50 ms: at 11 Mbit/s where the path carried 19, ProbeBW taking 4 s more to get
    /// there). Measured (three runs each, Mbit/s, with `STARTUP_WITHOUT_CONSERVATION`):
    /// 2%/10 ms 45.3, 42.2, 45.4 with the draft's test and 46.0, 48.1, 48.8 with this one;
    /// 5%/10 ms 28.4, 39.4, 29.3 and 38.8, 31.2, 30.4; 1%/50 ms 9.0, 10.8, 12.1 and 11.8,
    /// 11.7, 11.9. The same test ends ProbeBW_UP (`IsTimeToGoDown()`).
    pub fn on_ack(&mut self, now: Instant, rs: &RateSample) {
        self.delivered = rs.delivered;
        let in_sample = rs.delivered.saturating_sub(rs.prior_delivered);
        if let Some(b) = self.bounds.as_mut() {
            // UpdateLatestDeliverySignals(), with NoteLoss() for new losses.
            b.update_latest(
                rs.delivery_rate,
                rs.delivered,
                in_sample,
                rs.prior_delivered,
                rs.lost_total,
            );
        }
        // 5.5.5 UpdateMaxBw(), with 5.5.1 UpdateRound().
        if rs.prior_delivered >= self.next_round_delivered {
            self.start_round(rs.delivered);
            self.round_count += 1;
            self.rounds_since_probe_up += 1;
            self.round_start = true;
        } else {
            self.round_start = false;
        }
        if rs.delivery_rate > 0 && (rs.delivery_rate >= self.max_bw() || !rs.is_app_limited) {
            self.max_bw.update(rs.delivery_rate);
        }
        // 5.3.1.2 CheckFullBWReached(), on BBR.max_bw rather than the round's first
        // sample (departure `FULL_BW_ON_MAX_BW`, see `on_ack`).
        if !self.full_bw_now && self.round_start && !rs.is_app_limited {
            let bw = self.max_bw();
            if bw as f64 >= self.full_bw as f64 * FULL_BW_GROWTH {
                self.reset_full_bw();
                self.full_bw = bw;
            } else {
                self.full_bw_count += 1;
                self.full_bw_now = self.full_bw_count >= FULL_BW_COUNT;
                if self.full_bw_now {
                    self.full_bw_reached = true;
                }
            }
        }
        // 5.3.1.3 CheckStartupHighLoss(), with the loss bounds: a round that lost too
        // much ends Startup, BBR.inflight_longterm set to what seemed safe.
        if self.state == State::Startup && !self.full_bw_reached {
            let (bdp, smss) = (self.bdp_multiple(1.0), self.smss);
            let exit = self
                .bounds
                .as_ref()
                .and_then(|b| b.startup_high_loss(bdp, smss));
            if let (Some(longterm), Some(b)) = (exit, self.bounds.as_mut()) {
                b.inflight_longterm = longterm;
                self.full_bw_reached = true;
            }
        }
        // The rest of UpdateCongestionSignals(): once per loss round, a round with loss
        // while not probing cuts the short-term model.
        let (probing, max_bw, cwnd) = (self.is_probing_bw(), self.max_bw(), self.cwnd);
        if let Some(b) = self.bounds.as_mut() {
            b.adapt_lower_bounds(probing, max_bw, cwnd);
        }
        // 5.3.1 CheckStartupDone().
        if self.state == State::Startup && self.full_bw_reached {
            self.enter_drain();
        }
        // 5.3.2 CheckDrainDone().
        if self.state == State::Drain
            && (rs.inflight <= self.inflight(1.0) || self.round_count > self.drain_start_round + 3)
        {
            self.cwnd_gain = DEFAULT_CWND_GAIN;
            self.start_probe_bw_down(now, rs.delivered);
        }
        self.update_probe_bw_cycle_phase(now, rs);
        // 5.3.4.3 UpdateMinRTT() and CheckProbeRTT().
        self.min_rtt.update(now, rs.rtt);
        self.check_probe_rtt(now, rs);
        if let Some(b) = self.bounds.as_mut() {
            b.advance_latest(rs.delivery_rate, in_sample);
        }
        self.update_control_parameters(rs);
    }

    /// Draft 5.3.4.3 `CheckProbeRTT()` with `HandleProbeRTT()`, `CheckProbeRTTDone()` and
    /// 5.3.4.4 `ExitProbeRTT()`.
    fn check_probe_rtt(&mut self, now: Instant, rs: &RateSample) {
        if self.state != State::ProbeRtt && self.min_rtt.probe_rtt_expired() && !self.idle_restart {
            // SaveCwnd() (5.6.4.4).
            self.save_cwnd();
            self.state = State::ProbeRtt;
            self.pacing_gain = 1.0;
            self.cwnd_gain = PROBE_RTT_CWND_GAIN;
            self.probe_rtt_done_stamp = None;
            self.ack_phase = AckPhase::ProbeStopping;
            self.start_round(rs.delivered);
        }
        if self.state == State::ProbeRtt {
            if self.probe_rtt_done_stamp.is_none() && rs.inflight <= self.probe_rtt_cwnd() {
                self.probe_rtt_done_stamp = now.checked_add(PROBE_RTT_DURATION);
                self.probe_rtt_round_done = false;
                self.start_round(rs.delivered);
            } else if let Some(done) = self.probe_rtt_done_stamp {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done && now > done {
                    self.min_rtt.restart_probe_rtt_interval(now);
                    // RestoreCwnd(), then ExitProbeRTT().
                    self.cwnd = self.cwnd.max(self.prior_cwnd);
                    self.prior_cwnd = 0;
                    if self.full_bw_reached {
                        self.start_probe_bw_down(now, rs.delivered);
                        self.start_probe_bw_cruise();
                    } else {
                        self.enter_startup();
                    }
                }
            }
        }
        if rs.delivered > 0 {
            self.idle_restart = false;
        }
    }

    /// Draft 5.6.4.5 `ProbeRTTCwnd()`.
    pub fn probe_rtt_cwnd(&self) -> u64 {
        self.bdp_multiple(PROBE_RTT_CWND_GAIN)
            .max(self.min_pipe_cwnd())
    }

    /// Draft 5.6: `SetPacingRate()`, `SetSendQuantum()`, `SetCwnd()`.
    fn update_control_parameters(&mut self, rs: &RateSample) {
        // 5.6.2 SetPacingRate(): until the pipe is full the rate only rises.
        let rate = self.pacing_gain * self.bw() as f64 * (100.0 - PACING_MARGIN_PERCENT) / 100.0;
        if self.full_bw_reached || rate as u64 > self.pacing_rate {
            self.pacing_rate = rate as u64;
        }
        // 5.6.3: about 1 ms at the pacing rate, within [2 SMSS, 64 KiB].
        self.send_quantum = (self.pacing_rate / 1000).clamp(2 * self.smss, 64 * 1024);
        // 5.6.4.6 SetCwnd() (no extra_acked yet in max_inflight), with 5.6.4.4
        // ModulateCwndForRecovery().
        let max_inflight = self.inflight(self.cwnd_gain);
        if std::mem::take(&mut self.recovery_pending) && self.full_bw_reached {
            // 5.6.4.4: "upon entering Fast Recovery, set cwnd to the number of packets
            // still in flight (allowing at least one for a fast retransmit)", and
            // conserve packets for one round. Not in Startup: see
            // `STARTUP_WITHOUT_CONSERVATION` (`on_enter_recovery`).
            self.cwnd = rs.inflight + rs.newly_acked.max(self.smss);
            self.packet_conservation = true;
            self.conservation_end = rs.delivered;
        } else if self.packet_conservation && rs.prior_delivered >= self.conservation_end {
            // "After one round-trip in Fast Recovery": a packet sent after the loss
            // was detected is delivered (as Linux's BBR, which starts a round there).
            self.packet_conservation = false;
            if std::mem::take(&mut self.restore_after_conservation) {
                self.restore_cwnd();
            }
        }
        if self.packet_conservation {
            self.cwnd = self.cwnd.max(rs.inflight + rs.newly_acked);
        } else if self.full_bw_reached {
            self.cwnd = (self.cwnd + rs.newly_acked).min(max_inflight);
        } else if self.cwnd < max_inflight || rs.delivered < self.initial_cwnd {
            self.cwnd += rs.newly_acked;
        }
        self.cwnd = self.cwnd.max(self.min_pipe_cwnd());
        if self.state == State::ProbeRtt {
            self.cwnd = self.cwnd.min(self.probe_rtt_cwnd());
        }
        // 5.6.4.7 BoundCwndForModel().
        if let Some(b) = &self.bounds {
            let probing = self.state.is_probe_bw() && self.state != State::ProbeBwCruise;
            let cruising = matches!(self.state, State::ProbeBwCruise | State::ProbeRtt);
            let cap = b.cwnd_cap(probing, cruising, self.smss, self.min_pipe_cwnd());
            self.cwnd = self.cwnd.min(cap);
        }
    }

    /// Draft 5.6.4.4 `SaveCwnd()`: outside recovery and ProbeRTT the cwnd as it is,
    /// else the larger of it and what was saved.
    fn save_cwnd(&mut self) {
        if !self.packet_conservation && self.state != State::ProbeRtt {
            self.prior_cwnd = self.cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(self.cwnd);
        }
    }

    /// Draft 5.6.4.4 `RestoreCwnd()`.
    fn restore_cwnd(&mut self) {
        self.cwnd = self.cwnd.max(self.prior_cwnd);
    }

    /// Draft 5.6.4.4: the sender entered fast recovery. The cwnd is saved; the next
    /// rate sample (of the same ACK) sets it to the flight plus what the ACK delivered,
    /// and packets are conserved for a round.
    ///
    /// **Departure** (`STARTUP_WITHOUT_CONSERVATION`): entering fast recovery before the
    /// pipe is full (in Startup) leaves the cwnd alone — no packet conservation (draft
    /// 5.6.4.4) — so Startup's cwnd keeps growing with what is delivered, within its own
    /// bound (cwnd gain x BDP). Under random loss every Startup round loses a packet; with
    /// conservation each round's cwnd fell to the flight, the delivery rate stopped growing
    /// and three such rounds ended Startup (5.3.1.2) at a fraction of the path: on the loss
    /// race (real TUN, 5%, 10 ms) at 14 Mbit/s, where without it Startup reached 37 and the
    /// transfer went from 22-23 to 33 Mbit/s (two runs each). mvfst made the same change
    /// for the same reason. A congested bottleneck still ends Startup by the plateau.
    pub fn on_enter_recovery(&mut self) {
        self.save_cwnd();
        self.recovery_pending = true;
    }

    /// Draft 5.6.4.4: fast recovery ended: packet conservation stops and the saved
    /// cwnd comes back.
    pub fn on_exit_recovery(&mut self) {
        self.recovery_pending = false;
        self.packet_conservation = false;
        self.restore_cwnd();
    }

    /// Draft 5.6.4.4 for a retransmission timeout: cwnd is saved, then set to the flight
    /// plus one segment — after a timeout nothing counts as in flight, so one segment —
    /// and grows with the data delivered for one round, after which the saved cwnd
    /// comes back (as Linux's BBR does when it leaves its Loss state).
    pub fn on_rto(&mut self) {
        self.save_cwnd();
        self.cwnd = self.smss;
        self.recovery_pending = false;
        self.packet_conservation = true;
        self.conservation_end = self.delivered;
        self.restore_after_conservation = true;
    }

    /// Draft 5.4.1 (restarting from idle): the flow restarts after an idle period.
    pub fn on_idle_restart(&mut self) {
        self.idle_restart = true;
        if self.state.is_probe_bw() {
            // "SetPacingRateWithGain(1)": resume at the estimated bandwidth.
            let rate = self.bw() as f64 * (100.0 - PACING_MARGIN_PERCENT) / 100.0;
            if rate > 0.0 {
                self.pacing_rate = rate as u64;
            }
        }
    }

    /// Takes over a cwnd (an algorithm switch, or an undone reduction), at least
    /// MinPipeCwnd.
    pub fn set_cwnd(&mut self, cwnd: u64) {
        self.cwnd = cwnd.max(self.min_pipe_cwnd());
    }

    /// The SMSS changed after data was sent (the model keeps its estimates).
    pub fn set_smss(&mut self, smss: u64) {
        self.smss = smss.max(1);
    }

    /// A new seed for `PickProbeWait()`.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// Whether the packet conservation of 5.6.4.4 is on.
    pub fn packet_conservation(&self) -> bool {
        self.packet_conservation
    }
}
