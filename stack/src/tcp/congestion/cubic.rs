//! CUBIC congestion control (RFC 9438), with HyStart++ (RFC 9406) in its initial slow
//! start.
//!
//! Windows are kept in bytes (as `f64`, so that the per-ACK fractions of RFC 9438's
//! increments add up); the RFC's formulas are written in segments, so every window is
//! divided by SMSS where a formula needs it. Time `t` is in seconds.

use super::hystart::HyStart;
use super::reno::slow_start_growth;
use super::{clamp_mss, initial_window, CongestionControl, PreAck, MAX_CWND};
use crate::tcp::window_use::fills;
use crate::time::{Duration, Instant};

const LOG: &str = "tunstack::tcp";

/// RFC 9438 4.1.1: the multiplicative decrease factor, β_cubic = 0.7.
pub const BETA: f64 = 0.7;
/// RFC 9438 4.1.1: the constant that sets CUBIC's aggressiveness, C = 0.4 (segments per
/// second cubed).
pub const C: f64 = 0.4;
/// RFC 9438 4.3 (Figure 5): the additive increase of the Reno-friendly estimate,
/// α_cubic = 3 (1 - β_cubic) / (1 + β_cubic), which gives CUBIC Reno's average window
/// under the same loss rate.
pub const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// One congestion avoidance stage (RFC 9438 4.1.2's `t_epoch`, `cwnd_epoch`, `W_max`,
/// `K`, and the Reno-friendly `W_est`), in bytes and seconds.
#[derive(Clone, Debug, PartialEq)]
struct Epoch {
    /// `t_epoch`: when the stage began (moved later by application-limited time, RFC
    /// 9438 5.8).
    start: Instant,
    /// `cwnd_epoch`.
    cwnd: f64,
    /// `W_max` for this stage.
    w_max: f64,
    /// `K`, seconds.
    k: f64,
    /// `W_est`.
    w_est: f64,
}

/// RFC 9438 CUBIC. Fast retransmit, fast recovery and the retransmission timer live in
/// the sender; this answers with the window as events arrive.
///
/// Invariants: `smss <= cwnd <= MAX_CWND`; ssthresh is `usize::MAX` until the first
/// congestion event or HyStart++ exit, then within `[2*SMSS, MAX_CWND]`.
#[derive(Clone, Debug)]
pub struct Cubic {
    smss: usize,
    cwnd: f64,
    ssthresh: usize,
    /// HyStart++ while the initial slow start lasts (RFC 9406 4.3: only the initial slow
    /// start, "when ssthresh is at its initial value of arbitrarily high").
    hystart: Option<HyStart>,
    /// `W_max` of the last congestion event (RFC 9438 4.6, 4.7), bytes; `None` before any.
    w_max: Option<f64>,
    /// `cwnd_prior`: cwnd when ssthresh was last set (RFC 9438 4.3, 4.6), bytes.
    cwnd_prior: f64,
    /// The current congestion avoidance stage; `None` until its first ACK.
    epoch: Option<Epoch>,
    /// The next stage starts with `K = 0` and `W_max = cwnd_epoch`: after a timeout (RFC
    /// 9438 4.8) or when HyStart++ ended slow start without a loss (RFC 9438 4.10).
    from_epoch_cwnd: bool,
    /// Smoothed RTT (RFC 9438 4.2 uses it for the target), from the samples `on_ack` gets.
    srtt: Option<Duration>,
    /// When the last ACK arrived, to leave application-limited time out of `t`.
    last_ack: Option<Instant>,
    /// The window before the last ACK of new data (see [`Cubic::loss_window`]).
    pre_ack: PreAck,
    /// The most in flight over the current window of data, as of the last ACK of new
    /// data (see [`Cubic::filled`]).
    used: usize,
    started: bool,
    syn_lost: bool,
}

impl Cubic {
    /// A fresh CUBIC for SMSS `mss` (clamped to `1..=MAX_MSS`): cwnd = IW of RFC 6928,
    /// ssthresh infinite, HyStart++ watching the initial slow start.
    pub fn new(mss: usize) -> Self {
        let smss = clamp_mss(mss);
        Cubic {
            smss,
            cwnd: initial_window(smss) as f64,
            ssthresh: usize::MAX,
            hystart: Some(HyStart::new()),
            w_max: None,
            cwnd_prior: 0.0,
            epoch: None,
            from_epoch_cwnd: false,
            srtt: None,
            last_ack: None,
            pre_ack: PreAck::default(),
            used: 0,
            started: false,
            syn_lost: false,
        }
    }

    /// The sender's maximum segment size.
    pub fn smss(&self) -> usize {
        self.smss
    }

    /// `W_max` (bytes): the window at the last congestion event, after fast convergence
    /// (RFC 9438 4.7); `None` before the first.
    pub fn w_max(&self) -> Option<f64> {
        self.w_max
    }

    /// `K` of the current congestion avoidance stage (RFC 9438 4.2, Figure 2), if one
    /// has begun.
    pub fn k(&self) -> Option<Duration> {
        self.epoch
            .as_ref()
            .map(|e| Duration::from_micros((e.k * 1e6).round() as u64))
    }

    /// `W_est` (bytes), the Reno-friendly estimate (RFC 9438 4.3), if a stage has begun.
    pub fn w_est(&self) -> Option<f64> {
        self.epoch.as_ref().map(|e| e.w_est)
    }

    /// HyStart++'s state, while the initial slow start lasts.
    pub fn hystart(&self) -> Option<&HyStart> {
        self.hystart.as_ref()
    }

    /// RFC 9438 4.2, Figure 1: `W_cubic(t) = C * (t - K)^3 + W_max` for the current stage,
    /// in bytes, `t` seconds after it began; `None` before the stage's first ACK.
    pub fn w_cubic(&self, t: f64) -> Option<f64> {
        self.epoch.as_ref().map(|e| self.w_cubic_in(e, t))
    }

    fn w_cubic_in(&self, e: &Epoch, t: f64) -> f64 {
        let d = t - e.k;
        C * d * d * d * self.smss as f64 + e.w_max
    }

    fn start_window(&self) -> usize {
        if self.syn_lost {
            self.smss
        } else {
            initial_window(self.smss)
        }
    }

    fn set_cwnd(&mut self, cwnd: f64) {
        self.cwnd = cwnd.clamp(self.smss as f64, MAX_CWND as f64);
    }

    /// Whether an ACK may grow the window, judged by `used` (the most in flight over the
    /// current window of data). RFC 9438 5.8: "CUBIC does not increase its congestion
    /// window if a flow is currently application limited".
    ///
    /// * Slow start, as Reno's (RFC 7661 4.3 style): the sender used at least half of
    ///   cwnd (the flight of a slow start trails its window by the ACKs on their way).
    /// * Congestion avoidance: the sender filled cwnd ([`Cubic::filled`]). RFC 9438 4.6:
    ///   implementations that take ssthresh from cwnd "MUST use other measures to prevent
    ///   cwnd from growing when the volume of bytes in flight is smaller than cwnd"; this
    ///   also keeps cwnd from growing past the peer's window. Linux's
    ///   `tcp_is_cwnd_limited` has the same two cases.
    fn cwnd_limited(&self, used: usize) -> bool {
        if (self.cwnd as usize) < self.ssthresh {
            used as f64 >= self.cwnd / 2.0
        } else {
            fills(used, self.cwnd as usize, self.smss)
        }
    }

    /// Whether the sender filled `cwnd` at the last ACK: the most it had in flight over
    /// its current window of data came within one SMSS of it ([`fills`]).
    fn filled(&self, cwnd: f64) -> bool {
        fills(self.used, cwnd as usize, self.smss)
    }

    /// The window a loss signalled at `now` with `flight` is measured against:
    /// `(cwnd, base)` for `cwnd_prior` (RFC 9438 4.6) and `W_max` (4.7), and for
    /// ssthresh. Both as [`PreAck`] gives them (the flight and the window before the ACK
    /// that reported the loss).
    ///
    /// The base is cwnd when the sender filled it (the most in flight over the current
    /// window of data came within one SMSS of it, [`Cubic::filled`]), as Linux's
    /// `bictcp_recalc_ssthresh` takes it; RFC 9438 4.6 allows cwnd in place of flight_size in
    /// implementations that keep cwnd from growing while the flight is smaller, which
    /// [`Cubic::cwnd_limited`] does in congestion avoidance. Otherwise (an
    /// application-limited sender, or one held by the peer's window) it is the flight, at
    /// most cwnd: the span SND.MAX - SND.UNA counts SACKed data and outgrows cwnd during
    /// SACK recovery (RFC 6675 holds the pipe, not that span, to cwnd). Before that bound,
    /// two CUBIC flows through `loss_race`'s bottleneck saw one flow's ssthresh go from 46
    /// to 883 segments within a second and the queue drop 16% of all frames.
    ///
    /// Why not the flight always: a sender that filled its window still reports a flight
    /// below it at the loss (whole segments, and the ACK that reveals a loss frees part
    /// of the window), and the ssthresh it gave came out at 0.63 of the window at the
    /// loss instead of β = 0.7. Measured with `benches/loss_race.rs` (stop 22):
    ///
    /// * over TUN against Linux CUBIC (medians of 3, loss 0/1/2/5%, the flight's figures
    ///   from stop 20's run): at 10 ms one way 1.00, 0.95, 0.98, 1.09 with the flight,
    ///   1.00, 1.07, 1.07, 1.18 with this base; at 50 ms 1.05, 0.93, 0.96, 0.96 and 1.05,
    ///   1.02, 0.99, 1.05;
    /// * in virtual time, 1/2/5% loss at 10 ms: 6.61/4.13/2.32 Mbit/s with the flight,
    ///   6.73/4.56/2.52 with this base; smoltcp's netsim setting (32 KiB, 100 ms RTT):
    ///   167,732/114,868/62,830 B/s and 171,926/119,244/68,577;
    /// * two CUBIC flows through the 50 Mbit/s bottleneck: 50/50 with the flight and
    ///   55/45 with this base over 5-30 s, but 47/53 against 53/47 over 5-20 s, 53/47
    ///   either way over 5-60 s and 52/48 over 5-90 s. Where a short run's window cuts
    ///   the flows' saw-tooth decides the shares, so the bench measures 10-60 s.
    fn loss_window(&self, now: Instant, flight: usize) -> (f64, f64) {
        let (c, flight) = self.pre_ack.at_loss(now, self.cwnd as usize, flight);
        // Whole bytes in PreAck; the fraction of a byte CUBIC carries stays when no ACK
        // at this instant changed the window.
        let cwnd = if c == self.cwnd as usize {
            self.cwnd
        } else {
            c as f64
        };
        let base = if self.filled(cwnd) {
            cwnd
        } else {
            (flight as f64).min(cwnd)
        };
        (cwnd, base)
    }

    /// RFC 9438 4.6: `ssthresh = flight_size * β_cubic` (or `cwnd * β_cubic`), at least
    /// 2 SMSS, from the base [`Cubic::loss_window`] gives; `cwnd_prior` keeps the window
    /// it came from (which is returned). Ends HyStart++ (RFC 9406 4.2: a loss during slow
    /// start or CSS enters congestion avoidance) and the current stage.
    fn reduce(&mut self, now: Instant, flight: usize) -> f64 {
        let (cwnd, base) = self.loss_window(now, flight);
        self.cwnd_prior = cwnd;
        let ssthresh = (base * BETA) as usize;
        self.ssthresh = ssthresh.max(2 * self.smss).min(MAX_CWND);
        self.hystart = None;
        self.epoch = None;
        self.pre_ack.clear();
        cwnd
    }

    /// The first ACK of a congestion avoidance stage (RFC 9438 4.2): `t_epoch = now`,
    /// `cwnd_epoch = cwnd`, `W_est = cwnd_epoch` (4.3), and
    /// `K = cubic_root((W_max - cwnd_epoch) / C)` (Figure 2), or `K = 0` with
    /// `W_max = cwnd_epoch` after a timeout (4.8), after a HyStart++ exit (4.10), or when
    /// no congestion event has set W_max. A W_max below cwnd_epoch (the window grew past
    /// it, e.g. through the Reno-friendly region) also gives K = 0 from cwnd_epoch.
    fn begin_epoch(&mut self, now: Instant) -> Epoch {
        let cwnd = self.cwnd;
        let w_max = match self.w_max {
            Some(w) if !self.from_epoch_cwnd => w.max(cwnd),
            _ => {
                self.w_max = Some(cwnd);
                cwnd
            }
        };
        self.from_epoch_cwnd = false;
        let k = ((w_max - cwnd) / self.smss as f64 / C).cbrt();
        Epoch {
            start: now,
            cwnd,
            w_max,
            k,
            w_est: cwnd,
        }
    }

    /// Congestion avoidance for an ACK of `acked` bytes (RFC 9438 4.2 to 4.5).
    fn avoid(&mut self, now: Instant, acked: usize) {
        let mut e = match self.epoch.take() {
            Some(e) => e,
            None => self.begin_epoch(now),
        };
        let t = now.saturating_duration_since(e.start).total_micros() as f64 / 1e6;
        let smss = self.smss as f64;
        // RFC 9438 4.3, Figure 4: W_est += α_cubic * segments_acked / cwnd, with α_cubic
        // set to 1 once W_est reaches cwnd_prior ("the sender SHOULD set α_cubic to 1").
        let alpha = if e.w_est >= self.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        e.w_est += alpha * acked as f64 / self.cwnd * smss;
        let w_cubic = self.w_cubic_in(&e, t);
        if w_cubic < e.w_est {
            // RFC 9438 4.3: the Reno-friendly region, "cwnd SHOULD be set to W_est". An
            // ACK never shrinks the window, so a cwnd already above W_est is kept.
            self.set_cwnd(self.cwnd.max(e.w_est));
        } else {
            // RFC 9438 4.2 (Figure 3) for the concave (4.4, cwnd < W_max) and convex
            // (4.5) regions alike: target = W_cubic(t + RTT) within [cwnd, 1.5 cwnd], and
            // cwnd grows by (target - cwnd) / cwnd per segment acknowledged.
            let rtt = self.srtt.unwrap_or_default().total_micros() as f64 / 1e6;
            let target = self
                .w_cubic_in(&e, t + rtt)
                .clamp(self.cwnd, 1.5 * self.cwnd);
            let grown = self.cwnd + (target - self.cwnd) / self.cwnd * acked as f64;
            self.set_cwnd(grown);
        }
        self.epoch = Some(e);
    }
}

impl CongestionControl for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn cwnd(&self) -> usize {
        self.cwnd as usize
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// As [`super::Reno`]: before data moves the window follows the SMSS (RFC 6928);
    /// afterwards cwnd is kept in bytes, at least one SMSS.
    fn set_mss(&mut self, mss: usize) {
        self.smss = clamp_mss(mss);
        if self.started {
            if self.ssthresh != usize::MAX {
                self.ssthresh = self.ssthresh.max(2 * self.smss);
            }
            self.set_cwnd(self.cwnd);
        } else {
            self.set_cwnd(self.start_window() as f64);
        }
    }

    /// * The RTT sample, if any, updates the smoothed RTT (RFC 6298's gain of 1/8) that
    ///   RFC 9438 4.2's target uses.
    /// * Slow start (`cwnd < ssthresh`, RFC 9438 4.10): the growth of
    ///   [`super::Reno`] (every acknowledged byte, up to ssthresh), divided by
    ///   CSS_GROWTH_DIVISOR in HyStart++'s CSS; when CSS ends, ssthresh = cwnd (RFC 9406
    ///   4.2) and congestion avoidance starts with `K = 0`, `W_max = cwnd_epoch` (RFC
    ///   9438 4.10).
    /// * Congestion avoidance: RFC 9438 4.2 to 4.5 (see `avoid`).
    /// * Application-limited (RFC 9438 5.8): no growth, and the time since the previous
    ///   ACK is left out of `t` ("it is required that t ... not include
    ///   application-limited periods"). HyStart++ still counts the ACK's bytes and sample
    ///   so its rounds stay aligned with the sequence space.
    fn on_ack(
        &mut self,
        now: Instant,
        acked: usize,
        flight: usize,
        used: usize,
        rtt: Option<Duration>,
    ) {
        self.started = true;
        if let Some(r) = rtt {
            self.srtt = Some(match self.srtt {
                None => r,
                Some(s) => Duration::from_micros((7 * s.total_micros() + r.total_micros()) / 8),
            });
        }
        let previous = self.last_ack.replace(now);
        if acked == 0 {
            return;
        }
        self.pre_ack.on_ack(now, self.cwnd as usize, flight);
        self.used = used;
        let limited = self.cwnd_limited(used);
        if !limited {
            if let (Some(e), Some(prev)) = (self.epoch.as_mut(), previous) {
                e.start += now.saturating_duration_since(prev);
            }
        }
        if (self.cwnd as usize) < self.ssthresh {
            let mut growth = slow_start_growth(acked, self.smss) as f64;
            let mut exit = false;
            if let Some(h) = self.hystart.as_mut() {
                let step = h.on_ack(acked, flight, rtt);
                growth /= step.divisor as f64;
                exit = step.exit;
            }
            if limited {
                let grown = (self.cwnd + growth).min(self.ssthresh as f64);
                self.set_cwnd(grown);
            }
            if exit {
                self.hystart = None;
                self.ssthresh = (self.cwnd as usize).max(2 * self.smss);
                self.cwnd_prior = self.cwnd;
                self.from_epoch_cwnd = true;
                log::debug!(target: LOG, "cubic: HyStart++ ends slow start at cwnd {}",
                    self.cwnd as usize);
            }
            return;
        }
        if limited {
            self.avoid(now, acked);
        }
    }

    /// RFC 9438 4.6 and 4.7: with fast convergence, a loss below the previous W_max
    /// leaves `W_max = cwnd * (1 + β_cubic) / 2` (the flow releases bandwidth for a new
    /// one), else `W_max = cwnd`; `ssthresh = flight_size * β_cubic` (at least 2 SMSS;
    /// cwnd and flight_size as [`Cubic::loss_window`] takes them) and
    /// `cwnd = max(ssthresh, 2 SMSS)`.
    fn on_congestion_event(&mut self, now: Instant, flight: usize) {
        self.started = true;
        let cwnd = self.reduce(now, flight);
        self.w_max = Some(match self.w_max {
            Some(w) if cwnd < w => cwnd * (1.0 + BETA) / 2.0,
            _ => cwnd,
        });
        self.from_epoch_cwnd = false;
        self.set_cwnd(self.ssthresh as f64);
        log::debug!(
            target: LOG,
            "cubic: fast retransmit, flight {flight}: cwnd {} ssthresh {} W_max {:.0}",
            self.cwnd as usize,
            self.ssthresh,
            self.w_max.unwrap_or_default()
        );
    }

    /// RFC 6582 3.2 step 3 as for Reno: `cwnd = min(ssthresh, max(flight, SMSS) + SMSS)`.
    /// The congestion avoidance stage (and `t`) starts with the next ACK.
    fn on_recovery_exit(&mut self, _now: Instant, flight: usize) {
        self.started = true;
        self.epoch = None;
        self.pre_ack.clear();
        let cwnd = self
            .ssthresh
            .min(flight.max(self.smss).saturating_add(self.smss));
        self.set_cwnd(cwnd as f64);
    }

    /// RFC 9438 4.8: "CUBIC follows Reno to reduce cwnd [RFC5681] but sets ssthresh using
    /// β_cubic (same as in Section 4.6)": ssthresh only on the first timeout of a series
    /// (RFC 5681 3.1), cwnd one SMSS. The first congestion avoidance stage afterwards
    /// uses `K = 0` and `W_max` = the window it begins with.
    fn on_rto(&mut self, now: Instant, flight: usize, first: bool) {
        self.started = true;
        if first {
            self.reduce(now, flight);
        }
        self.hystart = None;
        self.epoch = None;
        self.from_epoch_cwnd = true;
        self.set_cwnd(self.smss as f64);
        log::debug!(
            target: LOG,
            "cubic: retransmission timeout (first: {first}), flight {flight}: cwnd {} ssthresh {}",
            self.cwnd as usize,
            self.ssthresh
        );
    }

    /// RFC 5681 4.1: `cwnd = min(RW, cwnd)` with `RW = min(IW, cwnd)`. The congestion
    /// avoidance stage ends; the next begins when slow start reaches ssthresh again.
    fn on_idle_restart(&mut self, _now: Instant) {
        let cwnd = self.cwnd.min(initial_window(self.smss) as f64);
        self.set_cwnd(cwnd);
        self.epoch = None;
        self.pre_ack.clear();
    }

    fn on_syn_loss(&mut self) {
        if !self.started {
            self.syn_lost = true;
            self.set_cwnd(self.start_window() as f64);
        }
    }

    /// Continues from another algorithm's window: with an ssthresh already set, HyStart++
    /// is over (RFC 9406 4.3: only the initial slow start) and the next congestion
    /// avoidance stage starts with K = 0 from its own cwnd (no W_max is known).
    /// RFC 3708's undo: cwnd and ssthresh as before the reduction; the congestion
    /// avoidance epoch restarts from the restored window (W_max keeps the value the
    /// reduction recorded, which is the window it undoes).
    fn undo(&mut self, cwnd: usize, ssthresh: usize) {
        self.epoch = None;
        self.pre_ack.clear();
        self.ssthresh = ssthresh.max(2 * self.smss);
        self.set_cwnd(cwnd as f64);
        self.cwnd_prior = self.cwnd;
    }

    fn inherit(&mut self, cwnd: usize, ssthresh: usize) {
        self.started = true;
        self.epoch = None;
        self.pre_ack.clear();
        self.w_max = None;
        if ssthresh != usize::MAX {
            self.ssthresh = ssthresh.clamp(2 * self.smss, MAX_CWND);
            self.hystart = None;
        }
        self.set_cwnd(cwnd as f64);
        self.cwnd_prior = self.cwnd;
    }
}

#[cfg(test)]
mod tests;
