//! Reno congestion control (RFC 5681), with byte counting (RFC 3465; no per-ACK limit in
//! slow start, see [`SLOW_START_LIMIT`]).

use super::{clamp_mss, initial_window, CongestionControl, PreAck, MAX_CWND};
use crate::time::{Duration, Instant};

const LOG: &str = "tunstack::tcp";

/// RFC 5681 Reno: slow start and congestion avoidance with byte counting, the
/// `max(FlightSize/2, 2*SMSS)` threshold on loss, and the one-segment loss window after a
/// timeout. Fast retransmit and NewReno fast recovery live in the sender, which calls
/// [`CongestionControl::on_congestion_event`] and
/// [`CongestionControl::on_recovery_exit`].
///
/// Invariants: `smss <= cwnd <= MAX_CWND`; ssthresh is `usize::MAX` until the first
/// loss, then within `[2*SMSS, MAX_CWND]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reno {
    /// The sender's maximum segment size, SMSS.
    smss: usize,
    cwnd: usize,
    ssthresh: usize,
    /// RFC 3465 2.1 `bytes_acked` for congestion avoidance; always below cwnd.
    bytes_acked: usize,
    /// Whether any data-related event happened; until then [`Reno::set_mss`] re-derives
    /// the initial window.
    started: bool,
    /// The SYN or SYN-ACK was retransmitted: the initial window is one SMSS.
    syn_lost: bool,
    /// The window before the last ACK of new data, to measure a loss that ACK reports
    /// ([`PreAck`]).
    pre_ack: PreAck,
}

impl Reno {
    /// A fresh Reno for SMSS `mss` (clamped to `1..=MAX_MSS`): cwnd = IW of RFC 6928,
    /// ssthresh infinite (RFC 5681 3.1).
    pub fn new(mss: usize) -> Self {
        let smss = clamp_mss(mss);
        Reno {
            smss,
            cwnd: initial_window(smss),
            ssthresh: usize::MAX,
            bytes_acked: 0,
            started: false,
            syn_lost: false,
            pre_ack: PreAck::default(),
        }
    }

    /// The sender's maximum segment size.
    pub fn smss(&self) -> usize {
        self.smss
    }

    /// The window to start with: RFC 6928's IW, or one SMSS after a lost SYN.
    fn start_window(&self) -> usize {
        if self.syn_lost {
            self.smss
        } else {
            initial_window(self.smss)
        }
    }

    /// RFC 5681 equation (4), `ssthresh = max (FlightSize / 2, 2*SMSS)`, with FlightSize
    /// taken at most cwnd, kept at most [`MAX_CWND`]. Both are those when the loss was
    /// detected, before the ACK that reported it ([`PreAck::at_loss`]).
    ///
    /// RFC 5681 3.1 and 3.2 step 2 require ssthresh to be set "to no more than" equation
    /// (4), so a smaller base is allowed. The flight the sender reports is SND.MAX minus
    /// SND.UNA, SACKed data included; during SACK recovery (RFC 6675 holds the pipe, not
    /// that span, to cwnd) it grows past cwnd, and half of it can exceed the window
    /// that was lost. Measured in `benches/loss_race.rs` (a Reno and a CUBIC flow through
    /// a 50 Mbit/s bottleneck with a 100-frame queue) before this rule: Reno took 85% and
    /// the queue dropped a third of all frames.
    fn halve(&mut self, now: Instant, flight: usize) {
        let (cwnd, flight) = self.pre_ack.at_loss(now, self.cwnd, flight);
        let base = flight.min(cwnd);
        self.pre_ack.clear();
        self.ssthresh = (base / 2).max(2 * self.smss).min(MAX_CWND);
    }

    /// Sets cwnd within `[SMSS, MAX_CWND]` and keeps `bytes_acked` below it.
    fn set_cwnd(&mut self, cwnd: usize) {
        self.cwnd = cwnd.clamp(self.smss, MAX_CWND);
        self.bytes_acked = self.bytes_acked.min(self.cwnd - 1);
    }

    /// RFC 7661-style validation (section 4.3, "pipeACK >= (1/2)*cwnd" means the window
    /// is validated): cwnd only grows while the sender used at least half the window (the
    /// most it had in flight over its current window of data). A sender that leaves most of its window unused (application-limited,
    /// or limited by the peer's receive window) would otherwise grow a cwnd it never
    /// tested against the network (RFC 7661 section 1, RFC 2861).
    fn cwnd_limited(&self, used: usize) -> bool {
        used >= self.cwnd.div_ceil(2)
    }
}

/// The per-ACK limit on slow-start growth, in SMSS: none.
///
/// RFC 3465 2.2 caps the growth one ACK may give at L = 2*SMSS, and RFC 9406 4.3 (whose
/// section 4.2 applies the same `min(N, L*SMSS)` in slow start) recommends L = infinity
/// for a paced sender and L = 8 otherwise. tunstack does not pace Reno or CUBIC yet and
/// follows Linux (`tcp_slow_start` grows cwnd by every acknowledged segment, up to
/// ssthresh), departing from the RFCs' unpaced L on purpose:
///
/// * The limit exists to bound the burst an ACK releases (RFC 3465 3.2). Without it an
///   ACK for N bytes releases at most 2N bytes (the N it frees plus N of growth), the same
///   doubling a per-segment ACK clock gives; the burst only becomes large when the ACK
///   covers a large run, and that run was itself sent as one burst.
/// * Receivers that coalesce (Linux's GRO receiver, tunstack's own TSO receiver) ACK up
///   to 44 full segments at once. With L = 2 (or 8), such stretch ACKs would grow cwnd by
///   2 (or 8) SMSS per 44 segments delivered, and slow start would need ten times as many
///   round trips: the starvation issue #10 measured.
/// * HyStart++ (RFC 9406, used by CUBIC) and ssthresh still end slow start; the limit is
///   about burst size, not about how far slow start goes.
pub(crate) const SLOW_START_LIMIT: Option<usize> = None;

/// The growth slow start gives an ACK of `acked` new bytes: `min(acked, L*SMSS)` (RFC 3465
/// 2.2, RFC 9406 4.2) with L = [`SLOW_START_LIMIT`], i.e. `acked` itself.
pub(crate) fn slow_start_growth(acked: usize, smss: usize) -> usize {
    match SLOW_START_LIMIT {
        Some(l) => acked.min(l.saturating_mul(smss)),
        None => acked,
    }
}

impl CongestionControl for Reno {
    fn name(&self) -> &'static str {
        "reno"
    }

    fn cwnd(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// Until data moves, the window follows the SMSS (RFC 6928 section 2 defines IW from
    /// the MSS). Afterwards cwnd is kept in bytes, raised to one SMSS if needed (RFC 5681
    /// 3.1 never lets it below the loss window); an ssthresh already set is raised to
    /// 2*SMSS if needed.
    fn set_mss(&mut self, mss: usize) {
        self.smss = clamp_mss(mss);
        if self.started {
            if self.ssthresh != usize::MAX {
                self.ssthresh = self.ssthresh.max(2 * self.smss);
            }
            self.set_cwnd(self.cwnd);
        } else {
            self.bytes_acked = 0;
            self.set_cwnd(self.start_window());
        }
    }

    /// * RFC 5681 3.1, slow start (`cwnd < ssthresh`): byte counting without a per-ACK
    ///   limit, `cwnd += acked` (see [`slow_start_growth`]). Growth stops at ssthresh and
    ///   the rest of the ACK counts towards congestion avoidance (as Linux does).
    /// * RFC 5681 3.1, congestion avoidance (`cwnd >= ssthresh`), byte counting as the RFC
    ///   recommends (RFC 3465 2.1): acknowledged bytes accumulate in `bytes_acked`; when it
    ///   reaches cwnd, it is decremented by cwnd and cwnd grows by one SMSS, at most once
    ///   per ACK (RFC 5681: "MUST NOT increment cwnd by more than SMSS bytes" per RTT).
    ///   The carry after an increment is capped at the ABC limit L = 2*SMSS (RFC 3465
    ///   2.2), so a stretch ACK covering more than a window cannot buy later growth.
    /// * Application-limited rule (RFC 7661 4.3 style): if `2*used < cwnd` (the most the
    ///   sender had in flight over its current window, `tcp/window_use.rs`), nothing grows
    ///   and nothing is counted.
    fn on_ack(
        &mut self,
        now: Instant,
        acked: usize,
        flight: usize,
        used: usize,
        _rtt: Option<Duration>,
    ) {
        self.started = true;
        if acked == 0 {
            return;
        }
        self.pre_ack.on_ack(now, self.cwnd, flight);
        if !self.cwnd_limited(used) {
            return;
        }
        let mut acked = acked;
        if self.cwnd < self.ssthresh {
            let grown = self
                .cwnd
                .saturating_add(slow_start_growth(acked, self.smss))
                .min(self.ssthresh);
            acked -= acked.min(grown - self.cwnd);
            self.set_cwnd(grown);
            if acked == 0 || self.cwnd < self.ssthresh {
                return;
            }
        }
        self.bytes_acked = self.bytes_acked.saturating_add(acked);
        if self.bytes_acked >= self.cwnd {
            self.bytes_acked = (self.bytes_acked - self.cwnd).min(2 * self.smss);
            self.set_cwnd(self.cwnd + self.smss);
        }
    }

    /// RFC 5681 3.2 step 2: `ssthresh = max(FlightSize / 2, 2*SMSS)` (see `halve`),
    /// then `cwnd = ssthresh` (the sender adds step 3's inflation itself).
    fn on_congestion_event(&mut self, now: Instant, flight: usize) {
        self.started = true;
        self.halve(now, flight);
        self.bytes_acked = 0;
        self.set_cwnd(self.ssthresh);
        log::debug!(
            target: LOG,
            "reno: fast retransmit, flight {flight}: cwnd {} ssthresh {}",
            self.cwnd,
            self.ssthresh
        );
    }

    fn on_recovery_exit(&mut self, _now: Instant, flight: usize) {
        self.started = true;
        self.bytes_acked = 0;
        self.pre_ack.clear();
        let cwnd = self
            .ssthresh
            .min(flight.max(self.smss).saturating_add(self.smss));
        self.set_cwnd(cwnd);
    }

    /// RFC 5681 3.1: "Furthermore, upon a timeout cwnd MUST be set to no more than the loss
    /// window, LW, which equals 1 full-sized segment (regardless of the value of IW)."
    fn on_rto(&mut self, now: Instant, flight: usize, first: bool) {
        self.started = true;
        if first {
            self.halve(now, flight);
        }
        self.bytes_acked = 0;
        self.set_cwnd(self.smss);
        log::debug!(
            target: LOG,
            "reno: retransmission timeout (first: {first}), flight {flight}: cwnd {} ssthresh {}",
            self.cwnd,
            self.ssthresh
        );
    }

    /// RFC 5681 4.1: `cwnd = min(RW, cwnd)` with `RW = min(IW, cwnd)`; ssthresh is kept.
    fn on_idle_restart(&mut self, _now: Instant) {
        self.bytes_acked = 0;
        self.pre_ack.clear();
        self.set_cwnd(self.cwnd.min(initial_window(self.smss)));
    }

    fn on_syn_loss(&mut self) {
        if !self.started {
            self.syn_lost = true;
            self.bytes_acked = 0;
            self.set_cwnd(self.start_window());
        }
    }

    fn undo(&mut self, cwnd: usize, ssthresh: usize) {
        self.bytes_acked = 0;
        self.pre_ack.clear();
        self.ssthresh = ssthresh.max(2 * self.smss);
        self.set_cwnd(cwnd);
    }

    fn inherit(&mut self, cwnd: usize, ssthresh: usize) {
        self.started = true;
        self.bytes_acked = 0;
        self.pre_ack.clear();
        if ssthresh != usize::MAX {
            self.ssthresh = ssthresh.clamp(2 * self.smss, MAX_CWND);
        }
        self.set_cwnd(cwnd);
    }
}

#[cfg(test)]
mod tests;
