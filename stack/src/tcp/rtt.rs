//! Round-trip time estimation and the retransmission timeout (RFC 6298).
//!
//! * [`RttEstimator`] turns RTT measurements into SRTT, RTTVAR and the RTO (RFC 6298
//!   section 2) and keeps the exponential back-off of the retransmission timer (5.5).
//! * [`RttSampler`] times one segment per round trip and applies Karn's rule (RFC 6298
//!   section 3): a retransmitted segment is never timed.
//! * [`sample_from_tsecr`] measures the RTT from an echoed timestamp (RFC 7323 section 4,
//!   RTTM), which is valid for retransmitted segments too.
//!
//! All arithmetic is in integer microseconds and saturates, so no input can overflow it.

use crate::tcp::SeqNum;
use crate::time::{Duration, Instant};

/// RFC 6298 2.1: "Until a round-trip time (RTT) measurement has been made for a segment
/// sent between the sender and receiver, the sender SHOULD set RTO <- 1 second".
pub const DEFAULT_INITIAL_RTO: Duration = Duration::from_secs(1);

/// The lower bound on the RTO. RFC 6298 2.4 says the RTO SHOULD be rounded up to 1 s;
/// tunstack follows Linux (`TCP_RTO_MIN`) and uses 200 ms, which RFC 6298 2.4 allows
/// ("a lower bound ... MAY be used").
pub const DEFAULT_MIN_RTO: Duration = Duration::from_millis(200);

/// The upper bound on the RTO. RFC 6298 2.5: "A maximum value MAY be placed on RTO
/// provided it is at least 60 seconds." tunstack uses Linux's 120 s (`TCP_RTO_MAX`).
pub const DEFAULT_MAX_RTO: Duration = Duration::from_secs(120);

/// The clock granularity G of RFC 6298 2.2/2.3 (`RTO <- SRTT + max (G, K*RTTVAR)`):
/// tunstack's timers run with millisecond resolution.
pub const CLOCK_GRANULARITY: Duration = Duration::from_millis(1);

/// RFC 6298 5.7: the RTO used once data transmission begins after a SYN or SYN-ACK had
/// to be retransmitted.
pub const SYN_LOSS_RTO: Duration = Duration::from_secs(3);

/// The largest RTT accepted from a timestamp echo (see [`sample_from_tsecr`]).
pub const MAX_TS_RTT: Duration = Duration::from_secs(60);

/// RFC 6298 2.3: K = 4.
const K: u128 = 4;

/// The smoothed RTT, its variation and the retransmission timeout of one connection
/// (RFC 6298 section 2), with the timer's exponential back-off (RFC 6298 5.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RttEstimator {
    min_rto: Duration,
    max_rto: Duration,
    /// SRTT, `None` until the first measurement (RFC 6298 2.1).
    srtt: Option<Duration>,
    /// RTTVAR; zero until the first measurement.
    rttvar: Duration,
    /// The RTO without back-off, already clamped to `[min_rto, max_rto]`.
    base_rto: Duration,
    /// Timer expirations since the last measurement (RFC 6298 5.5).
    backoffs: u32,
}

impl Default for RttEstimator {
    /// [`DEFAULT_INITIAL_RTO`], [`DEFAULT_MIN_RTO`], [`DEFAULT_MAX_RTO`].
    fn default() -> Self {
        RttEstimator::new(DEFAULT_INITIAL_RTO, DEFAULT_MIN_RTO, DEFAULT_MAX_RTO)
    }
}

impl RttEstimator {
    /// An estimator with no measurement yet: RTO = `initial_rto` (RFC 6298 2.1; the RFC's
    /// value is 1 s, see [`DEFAULT_INITIAL_RTO`]).
    ///
    /// The initial RTO is clamped to `[min_rto, max_rto]` like every computed RTO; a
    /// `max_rto` below `min_rto` is raised to `min_rto`.
    pub fn new(initial_rto: Duration, min_rto: Duration, max_rto: Duration) -> Self {
        let max_rto = max_rto.max(min_rto);
        RttEstimator {
            min_rto,
            max_rto,
            srtt: None,
            rttvar: Duration::ZERO,
            base_rto: initial_rto.clamp(min_rto, max_rto),
            backoffs: 0,
        }
    }

    /// Feeds one RTT measurement `rtt` (R, or R' after the first).
    ///
    /// * RFC 6298 2.2, the first measurement: `SRTT <- R`, `RTTVAR <- R/2`.
    /// * RFC 6298 2.3, later ones, RTTVAR first since it uses the old SRTT:
    ///   `RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|`,
    ///   `SRTT <- (1 - alpha) * SRTT + alpha * R'`, with alpha = 1/8 and beta = 1/4.
    /// * Both: `RTO <- SRTT + max (G, K*RTTVAR)` with K = 4 and G = [`CLOCK_GRANULARITY`],
    ///   then clamped to `[min_rto, max_rto]` (2.4, 2.5).
    ///
    /// A measurement also ends any back-off: the RTO is recomputed from SRTT and RTTVAR
    /// (RFC 6298 section 5, after rule 5.7: "once a new RTT measurement is obtained ...
    /// the computations outlined in Section 2 are performed, including the computation of
    /// RTO, which may result in "collapsing" RTO back down after it has been subject to
    /// exponential back off (rule 5.5)").
    pub fn sample(&mut self, rtt: Duration) {
        let r = u128::from(rtt.total_micros());
        let (srtt, rttvar) = match self.srtt {
            None => (r, r / 2),
            Some(srtt) => {
                let srtt = u128::from(srtt.total_micros());
                let rttvar = u128::from(self.rttvar.total_micros());
                let rttvar = (3 * rttvar + srtt.abs_diff(r)) / 4;
                let srtt = (7 * srtt + r) / 8;
                (srtt, rttvar)
            }
        };
        self.srtt = Some(micros(srtt));
        self.rttvar = micros(rttvar);
        let g = u128::from(CLOCK_GRANULARITY.total_micros());
        let rto = micros(srtt + (K * rttvar).max(g));
        self.base_rto = rto.clamp(self.min_rto, self.max_rto);
        self.backoffs = 0;
    }

    /// The current RTO: the computed RTO doubled once per back-off (RFC 6298 5.5), never
    /// above `max_rto` (2.5).
    pub fn rto(&self) -> Duration {
        let factor = 1u64.checked_shl(self.backoffs).unwrap_or(u64::MAX);
        self.base_rto.saturating_mul(factor).min(self.max_rto)
    }

    /// RFC 6298 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")" when the
    /// retransmission timer expires. The RTO stays capped at `max_rto`; the count of
    /// back-offs keeps growing so the caller can give up after a number of retries.
    pub fn back_off(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// The back-off ends without a new measurement: a spurious timeout was undone (RFC
    /// 4015 sections 2 and 3.2: the response re-initializes the retransmission timer;
    /// the doubling was the spurious timeout's doing, not the path's). The RTO is again
    /// the one computed from SRTT and RTTVAR (RFC 6298 section 2).
    pub fn reset_backoff(&mut self) {
        self.backoffs = 0;
    }

    /// Timer expirations since the last measurement (or reset).
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// SRTT, or `None` before the first measurement.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// RTTVAR (zero before the first measurement).
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// The lower bound on the RTO.
    pub fn min_rto(&self) -> Duration {
        self.min_rto
    }

    /// The upper bound on the RTO.
    pub fn max_rto(&self) -> Duration {
        self.max_rto
    }

    /// RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
    /// implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized
    /// to 3 seconds when data transmission begins (i.e., after the three-way handshake
    /// completes)."
    ///
    /// Call this when the connection becomes established after the SYN (or SYN-ACK) was
    /// retransmitted. If no valid measurement has been taken (Karn's rule discards the
    /// handshake's RTT after a retransmission), the RTO becomes max(3 s, computed RTO)
    /// (capped at `max_rto`) and the back-off is cleared. If a measurement exists (from
    /// an echoed timestamp, RFC 7323), it is trusted and nothing changes.
    pub fn reset_after_syn_loss(&mut self) {
        if self.srtt.is_none() {
            self.base_rto = self.base_rto.max(SYN_LOSS_RTO).min(self.max_rto);
            self.backoffs = 0;
        }
    }
}

/// A `u128` count of microseconds as a `Duration`, saturating.
fn micros(us: u128) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

/// Times one segment at a time for RTT measurement, with Karn's rule (RFC 6298 section 3;
/// Karn & Partridge 1987): "RTT samples MUST NOT be made using segments that were
/// retransmitted (and thus for which it is ambiguous whether the reply was for the first
/// instance of the packet or a later instance)."
///
/// Like BSD's `t_rtttime`, at most one segment is timed per round trip (RFC 6298 section
/// 3: "at least once per RTT"). Any retransmission discards the running measurement, and
/// the next segment of new data starts a fresh one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RttSampler {
    /// The end sequence number (one past its last octet) of the timed segment, and when
    /// it was sent.
    timed: Option<(SeqNum, Instant)>,
}

impl RttSampler {
    /// A sampler timing nothing.
    pub fn new() -> Self {
        RttSampler::default()
    }

    /// A segment of new data ending at `seq_end` (exclusive) was sent at `now` for the
    /// first time. It is timed unless another segment is being timed already. Never call
    /// this for a retransmission.
    pub fn start(&mut self, seq_end: SeqNum, now: Instant) {
        if self.timed.is_none() {
            self.timed = Some((seq_end, now));
        }
    }

    /// A cumulative acknowledgment `ack` arrived at `now`. Returns the RTT when it covers
    /// the timed segment (`ack >= seq_end`, RFC 9293 3.4 modular comparison), which also
    /// ends the measurement.
    pub fn on_ack(&mut self, ack: SeqNum, now: Instant) -> Option<Duration> {
        let (seq_end, sent) = self.timed?;
        if ack >= seq_end {
            self.timed = None;
            Some(now.saturating_duration_since(sent))
        } else {
            None
        }
    }

    /// A segment was retransmitted: Karn's rule, the running measurement is discarded, as
    /// its acknowledgment could be delayed behind the retransmission or be ambiguous.
    pub fn on_retransmit(&mut self) {
        self.timed = None;
    }

    /// Whether a segment is being timed.
    pub fn is_timing(&self) -> bool {
        self.timed.is_some()
    }
}

/// An RTT measurement from the Timestamps option (RFC 7323 section 4.1, RTTM): the time
/// now on the sender's timestamp clock minus the TSecr echoed by the peer.
///
/// `now_ts_ms` is the current value of the clock the sender puts in TSval, with 1 ms ticks
/// (RFC 7323 5.4 recommends 1 ms to 1 s). Returns `None`:
/// * for a TSecr of 0, which tunstack treats as "no echo" like Linux does (RFC 7323 3.2:
///   TSecr is only meaningful when the peer had a TSval to echo; the sender therefore
///   never puts 0 in TSval);
/// * for an RTT above [`MAX_TS_RTT`] (60 s), which cannot be a real round trip; this
///   includes a TSecr from the future, whose difference wraps modulo 2^32 (RFC 7323 5.2)
///   to more than 49 days.
///
/// A difference of 0 is a valid sub-millisecond RTT; the 1 ms clock granularity term of
/// the RTO covers it. Unlike [`RttSampler`], this is valid for retransmitted segments:
/// the echo names the transmission it answers (RFC 7323 4.1).
pub fn sample_from_tsecr(now_ts_ms: u32, tsecr: u32) -> Option<Duration> {
    if tsecr == 0 {
        return None;
    }
    let delta = now_ts_ms.wrapping_sub(tsecr);
    let rtt = Duration::from_millis(u64::from(delta));
    (rtt <= MAX_TS_RTT).then_some(rtt)
}

/// Our timestamp clock at `now` (RFC 7323 5.4): milliseconds plus the connection's
/// `offset`, never 0 (an echoed 0 means "no echo" to the RTT code).
pub fn ts_clock(now: crate::time::Instant, offset: u32) -> u32 {
    (now.total_millis() as u32).wrapping_add(offset).max(1)
}

/// RFC 7323 5.3's timestamp comparison, modulo 2^32: whether `a` is earlier than `b`
/// (`a < b` in the RFC's "considered as a 32-bit unsigned integer ... compared modulo
/// 2^32" sense; timestamps less than 2^31 apart). The one helper for every timestamp
/// comparison: PAWS, TS.Recent, and the echoes that tell a retransmission from the
/// original (RFC 3522, Karn's rule with timestamps).
pub fn ts_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
mod tests;
