//! HyStart++ (RFC 9406): leave the initial slow start when the round-trip time starts to
//! rise, before the overshoot that fills the bottleneck's queue and ends in a burst of
//! losses; Conservative Slow Start (CSS) guards against leaving too early.
//!
//! Usable by any window-based algorithm ([`super::Cubic`] uses it): the algorithm asks
//! [`HyStart::on_ack`] what to do with each ACK while it is in its initial slow start and
//! applies the answer to its own window.
//!
//! Rounds (RFC 9406 4.2: "windowEnd ... initialized to SND.NXT. When windowEnd is ACKed,
//! the current round ends and windowEnd is set to SND.NXT") are counted here in bytes
//! acknowledged since the start: the congestion interface gives each ACK the bytes it
//! acknowledges and the bytes in flight before it, so SND.NXT at the end of an ACK is
//! `delivered + (flight - acked)` in that count. No sequence number has to cross the
//! interface.

use crate::time::Duration;

/// RFC 9406 4.3: the lower bound of the RTT increase that ends slow start.
pub const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// RFC 9406 4.3: the upper bound of the RTT increase that ends slow start.
pub const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// RFC 9406 4.3: the threshold is the last round's minimum RTT over this divisor.
pub const MIN_RTT_DIVISOR: u64 = 8;
/// RFC 9406 4.3: RTT samples a round needs before its minimum is compared.
pub const N_RTT_SAMPLE: u32 = 8;
/// RFC 9406 4.3: in CSS the window grows by a quarter of what slow start would give.
pub const CSS_GROWTH_DIVISOR: usize = 4;
/// RFC 9406 4.3: CSS lasts at most five rounds.
pub const CSS_ROUNDS: u32 = 5;

/// Where HyStart++ is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Standard slow start, watching the RTT.
    SlowStart,
    /// Conservative Slow Start (RFC 9406 4.2), in its `round`-th round (1-based; the
    /// round in which CSS began counts as the first), with the minimum RTT that made it
    /// leave slow start (`cssBaselineMinRtt`).
    Css { round: u32, baseline: Duration },
    /// CSS ended after [`CSS_ROUNDS`] rounds: the caller set ssthresh = cwnd and is in
    /// congestion avoidance; HyStart++ has nothing more to say.
    Done,
}

/// What the caller does with an ACK in slow start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Grow cwnd by the slow-start growth divided by this: 1 in slow start,
    /// [`CSS_GROWTH_DIVISOR`] in CSS (RFC 9406 4.2), applied before the exit below.
    pub divisor: usize,
    /// CSS is complete: enter congestion avoidance with `ssthresh = cwnd` (RFC 9406 4.2).
    pub exit: bool,
}

/// The HyStart++ state of one connection (RFC 9406 4.2's variables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HyStart {
    phase: Phase,
    /// Bytes acknowledged since the start (the sequence space the rounds are counted in).
    delivered: u64,
    /// `windowEnd` in that count; `None` until the first ACK starts the first round.
    window_end: Option<u64>,
    /// `lastRoundMinRTT`; `None` stands for infinity.
    last_round_min_rtt: Option<Duration>,
    /// `currentRoundMinRTT`; `None` stands for infinity.
    current_round_min_rtt: Option<Duration>,
    /// `rttSampleCount`.
    rtt_sample_count: u32,
    /// Times slow start was left for CSS (for tests and diagnostics).
    css_entries: u32,
}

impl Default for HyStart {
    fn default() -> Self {
        HyStart::new()
    }
}

impl HyStart {
    /// RFC 9406 4.2's initialization: every minimum infinite, no samples, no round yet.
    pub fn new() -> Self {
        HyStart {
            phase: Phase::SlowStart,
            delivered: 0,
            window_end: None,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
            css_entries: 0,
        }
    }

    /// Where HyStart++ is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// How many times slow start was left for CSS.
    pub fn css_entries(&self) -> u32 {
        self.css_entries
    }

    /// The threshold of RFC 9406 4.2:
    /// `RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR, MAX_RTT_THRESH))`.
    pub fn rtt_thresh(last_round_min_rtt: Duration) -> Duration {
        let eighth = Duration::from_micros(last_round_min_rtt.total_micros() / MIN_RTT_DIVISOR);
        eighth.clamp(MIN_RTT_THRESH, MAX_RTT_THRESH)
    }

    /// An ACK arrived while the caller is in its initial slow start (or in CSS, which the
    /// caller also treats as slow start: ssthresh is still unset).
    ///
    /// * `acked`: bytes this ACK newly acknowledges (N of RFC 9406 4.2).
    /// * `flight`: bytes in flight before this ACK.
    /// * `rtt`: the RTT sample this ACK gave, if any.
    ///
    /// In order, per RFC 9406 4.2:
    /// 1. If the ACK covers `windowEnd`, the round ends: a new one starts
    ///    (`lastRoundMinRTT = currentRoundMinRTT`, `currentRoundMinRTT = infinity`,
    ///    `rttSampleCount = 0`, `windowEnd = SND.NXT`); in CSS the round is counted, and
    ///    after [`CSS_ROUNDS`] rounds CSS ends ([`Step::exit`]).
    /// 2. The sample joins the (new) round's minimum and count.
    /// 3. In slow start, with at least [`N_RTT_SAMPLE`] samples in this round and both
    ///    minima known: if `currentRoundMinRTT >= lastRoundMinRTT + RttThresh`, CSS begins
    ///    with `cssBaselineMinRtt = currentRoundMinRTT` (this ACK still grows cwnd as slow
    ///    start did: the growth is decided before the check, as in the RFC's order).
    /// 4. In CSS, with at least [`N_RTT_SAMPLE`] samples in this round: if
    ///    `currentRoundMinRTT < cssBaselineMinRtt`, the exit was spurious and slow start
    ///    resumes, HyStart++ included.
    pub fn on_ack(&mut self, acked: usize, flight: usize, rtt: Option<Duration>) -> Step {
        let divisor = match self.phase {
            Phase::Css { .. } => CSS_GROWTH_DIVISOR,
            _ => 1,
        };
        if self.phase == Phase::Done {
            return Step {
                divisor: 1,
                exit: false,
            };
        }
        self.delivered = self.delivered.saturating_add(acked as u64);
        let snd_nxt = self
            .delivered
            .saturating_add(flight.saturating_sub(acked) as u64);
        let mut exit = false;
        match self.window_end {
            None => self.window_end = Some(snd_nxt),
            Some(end) if self.delivered >= end => {
                self.window_end = Some(snd_nxt);
                self.last_round_min_rtt = self.current_round_min_rtt;
                self.current_round_min_rtt = None;
                self.rtt_sample_count = 0;
                if let Phase::Css { round, baseline } = self.phase {
                    if round >= CSS_ROUNDS {
                        self.phase = Phase::Done;
                        exit = true;
                    } else {
                        self.phase = Phase::Css {
                            round: round + 1,
                            baseline,
                        };
                    }
                }
            }
            Some(_) => {}
        }
        if exit {
            return Step { divisor, exit };
        }
        if let Some(rtt) = rtt {
            self.current_round_min_rtt =
                Some(self.current_round_min_rtt.map_or(rtt, |m| m.min(rtt)));
            self.rtt_sample_count += 1;
        }
        if self.rtt_sample_count >= N_RTT_SAMPLE {
            match (self.phase, self.current_round_min_rtt) {
                (Phase::SlowStart, Some(current)) => {
                    if let Some(last) = self.last_round_min_rtt {
                        if current.total_micros()
                            >= last
                                .total_micros()
                                .saturating_add(Self::rtt_thresh(last).total_micros())
                        {
                            self.phase = Phase::Css {
                                round: 1,
                                baseline: current,
                            };
                            self.css_entries += 1;
                        }
                    }
                }
                (Phase::Css { baseline, .. }, Some(current)) if current < baseline => {
                    self.phase = Phase::SlowStart;
                }
                _ => {}
            }
        }
        Step { divisor, exit }
    }
}

#[cfg(test)]
mod tests;
