//! Congestion control behind a small trait (after smoltcp's `socket/tcp/congestion.rs`
//! and gVisor's `reno.go`/`cubic.go`), so algorithms can be swapped per connection.
//!
//! The sender owns the loss-recovery machinery (fast retransmit, NewReno fast recovery
//! with its window inflation, the retransmission timer); an algorithm only answers "how
//! large is cwnd, and what is ssthresh" as events arrive. All sizes are in bytes.
//!
//! | algorithm | file | specification |
//! |---|---|---|
//! | [`Reno`] | `reno.rs` | RFC 5681, with RFC 3465 byte counting |
//! | [`Cubic`] (the default) | `cubic.rs` | RFC 9438, with HyStart++ (RFC 9406, `hystart.rs`) |
//! | [`Bbr`] | `bbr/` | draft-ietf-ccwg-bbr-06 (BBRv3), with the departures its module names |

use core::fmt;
use core::str::FromStr;

use crate::time::{Duration, Instant};

pub mod bbr;
mod cubic;
pub mod hystart;
mod reno;

pub use bbr::Bbr;
pub use cubic::Cubic;
pub use hystart::HyStart;
pub use reno::Reno;

/// The largest congestion window any algorithm reports: 2^30 bytes, the largest window a
/// peer can advertise (RFC 7323 2.3: 65535 << 14). Growing beyond it is useless and this
/// bound keeps every sum far from overflow.
pub const MAX_CWND: usize = 1 << 30;

/// The largest SMSS an algorithm accepts: the MSS option is 16 bits (RFC 9293 3.7.1).
pub const MAX_MSS: usize = u16::MAX as usize;

/// A congestion control algorithm for one connection's sender.
///
/// Sizes are in bytes. `flight` is the amount of data outstanding in the network (RFC
/// 5681's FlightSize, or the SACK "pipe" of RFC 6675) as the caller measures it at the
/// moment named by each method.
pub trait CongestionControl: fmt::Debug + Send {
    /// The algorithm's name, as [`Algorithm`] parses it ("reno").
    fn name(&self) -> &'static str;

    /// The congestion window in bytes; at least one SMSS.
    fn cwnd(&self) -> usize;

    /// The slow-start threshold in bytes; `usize::MAX` stands for "infinite" (RFC 5681
    /// 3.1: the initial value "SHOULD be set arbitrarily high").
    fn ssthresh(&self) -> usize;

    /// Whether the sender is in slow start (RFC 5681 3.1: `cwnd < ssthresh`).
    fn in_slow_start(&self) -> bool {
        self.cwnd() < self.ssthresh()
    }

    /// The sender's SMSS changed; called once after the handshake with the negotiated
    /// value (clamped to `1..=MAX_MSS`). If no data was sent yet, the window becomes the
    /// initial window of RFC 6928 for that SMSS (or one SMSS after a lost SYN, see
    /// [`CongestionControl::on_syn_loss`]); otherwise cwnd is kept (at least one SMSS).
    fn set_mss(&mut self, mss: usize);

    /// New data was cumulatively acknowledged outside loss recovery.
    ///
    /// * `acked`: bytes newly acknowledged by this ACK.
    /// * `flight`: bytes in flight before this ACK.
    /// * `used`: how much of the window the sender used: the most it had in flight over
    ///   its current window of data, at least `flight` (see `tcp/window_use.rs`; a batch of
    ///   ACKs taken in before the sender can send again lowers `flight` but not this).
    /// * `rtt`: the RTT measurement the sender's estimator took from this ACK, if any
    ///   (RFC 6298 / RFC 7323 4.1; unused by Reno; CUBIC smooths it for RFC 9438 4.2's
    ///   target and HyStart++ watches it, RFC 9406 4.2).
    ///
    /// Slow start grows cwnd per RFC 5681 3.1 by the bytes acknowledged (byte counting
    /// with no per-ACK limit, so a stretch ACK grows it by all it covers; see
    /// `reno::SLOW_START_LIMIT`); congestion avoidance adds one SMSS per cwnd of
    /// acknowledged bytes.
    /// An application-limited sender (judged by `used`) does not grow cwnd; see the
    /// implementation for the exact rule.
    fn on_ack(
        &mut self,
        now: Instant,
        acked: usize,
        flight: usize,
        used: usize,
        rtt: Option<Duration>,
    );

    /// Loss detected by fast retransmit (three duplicate ACKs, or SACK): the algorithm's
    /// multiplicative decrease, for Reno RFC 5681 3.2 step 2,
    /// `ssthresh = max(flight/2, 2*SMSS)` (equation 4) and `cwnd = ssthresh`; for CUBIC
    /// RFC 9438 4.6 with β = 0.7. Both take the flight at most cwnd: the sender's
    /// SND.MAX - SND.UNA counts SACKed data and outgrows cwnd during SACK recovery.
    /// `flight` is the amount in flight when the loss was detected. The sender adds the
    /// `3*SMSS` inflation of step 3 and later inflation itself.
    fn on_congestion_event(&mut self, now: Instant, flight: usize);

    /// Loss recovery ended with a full acknowledgment (RFC 6582 3.2 step 3, option 1):
    /// `cwnd = min(ssthresh, max(flight, SMSS) + SMSS)`, with `flight` measured after the
    /// ACK. This deflates the window the sender inflated during recovery.
    fn on_recovery_exit(&mut self, now: Instant, flight: usize);

    /// The retransmission timer fired (RFC 5681 3.1): ssthresh as after a loss (Reno:
    /// `max(flight/2, 2*SMSS)`, equation 4; CUBIC: RFC 9438 4.8) only when `first` is true (the first timeout of a series: "the value of
    /// ssthresh is held constant" when the segment was already retransmitted by the
    /// timer), and cwnd falls to the loss window, one SMSS.
    ///
    /// Not for SYN retransmissions: use [`CongestionControl::on_syn_loss`].
    fn on_rto(&mut self, now: Instant, flight: usize, first: bool);

    /// The connection was idle for longer than an RTO (RFC 5681 4.1): "cwnd SHOULD be set
    /// to no more than RW before beginning transmission", `RW = min(IW, cwnd)`.
    fn on_idle_restart(&mut self, now: Instant);

    /// The SYN or SYN-ACK had to be retransmitted (RFC 5681 3.1 and RFC 6928 section 2:
    /// "the initial window used by a sender after a correctly transmitted SYN MUST be one
    /// segment consisting of at most SMSS bytes"). If no data was sent yet, cwnd becomes
    /// one SMSS and stays so across [`CongestionControl::set_mss`]; ssthresh is unchanged.
    fn on_syn_loss(&mut self);

    /// The last window reduction proved spurious (RFC 3708: D-SACKs reported every
    /// retransmission of the loss episode as a duplicate): cwnd and ssthresh go back to
    /// the values they had before it (`ssthresh` may be `usize::MAX`, still in the first
    /// slow start). The algorithm's own history otherwise stays as it is.
    fn undo(&mut self, cwnd: usize, ssthresh: usize);

    /// The connection changes algorithm mid-way (see [`switch`]): this fresh instance
    /// takes over the window and threshold the previous one reached, cwnd within
    /// `[SMSS, MAX_CWND]` and ssthresh infinite (`usize::MAX`) or at least 2*SMSS. Its
    /// own history (e.g. CUBIC's W_max) starts empty.
    fn inherit(&mut self, cwnd: usize, ssthresh: usize);

    /// Whether the algorithm wants a delivery-rate sample per ACK
    /// ([`CongestionControl::on_rate_sample`]; the sender only runs its sampler,
    /// `tcp/rate.rs`, for those that do).
    fn wants_rate_samples(&self) -> bool {
        false
    }

    /// One ACK's delivery-rate sample (draft-ietf-ccwg-bbr-06 4.1), on every ACK that
    /// delivered data, in recovery or not, after the other calls for that ACK.
    fn on_rate_sample(&mut self, _now: Instant, _rs: &bbr::RateSample) {}

    /// The pacing rate the algorithm asks for, bytes per second (`None`: the sender's
    /// own choice, see `tcp/pace.rs`).
    fn pacing_rate(&self) -> Option<u64> {
        None
    }

    /// The send quantum (draft-ietf-ccwg-bbr-06 5.6.3), bytes, if the algorithm sets one.
    fn send_quantum(&self) -> Option<usize> {
        None
    }

    /// Whether the sender runs RFC 9937 PRR for this algorithm's window in SACK
    /// recovery (BBR sets its own window there, draft-ietf-ccwg-bbr-06 5.6.4.4, as
    /// Linux's `cong_control` hook bypasses PRR).
    fn uses_prr(&self) -> bool {
        true
    }

    /// A seed for the algorithm's randomness (BBR's probe wait), given once by the
    /// connection.
    fn reseed(&mut self, _seed: u64) {}

    /// BBR's state and estimates, for listings.
    fn bbr_info(&self) -> Option<bbr::BbrInfo> {
        None
    }
}

/// Gives a connection's sender a fresh `algorithm` for SMSS `mss`, unless it already
/// runs it. As Linux does for `TCP_CONGESTION` on a live socket
/// (`tcp_reinit_congestion_control` keeps the socket's cwnd and ssthresh), the new
/// algorithm continues from the old one's window and threshold.
pub fn switch(cc: &mut Box<dyn CongestionControl>, algorithm: Algorithm, mss: usize) {
    if cc.name() == algorithm.name() {
        return;
    }
    let mut fresh = algorithm.build(mss);
    fresh.inherit(cc.cwnd(), cc.ssthresh());
    fresh.reseed(mss as u64 ^ cc.cwnd() as u64);
    *cc = fresh;
}

impl crate::tcp::Connection {
    /// Changes this connection's congestion control algorithm (as `TCP_CONGESTION`
    /// does; see [`switch`]). Kept here, beside the algorithms, rather than with the
    /// rest of the connection's user calls.
    pub fn set_congestion_control(&mut self, algorithm: Algorithm) {
        let mss = self.payload_mss();
        switch(&mut self.cc, algorithm, mss);
        // PRR belongs to the algorithm that entered the episode.
        if !self.cc.uses_prr() {
            self.prr.exit();
        }
    }
}

/// The window a loss is measured against: what the window and the flight were when the
/// loss was detected, for RFC 5681's equation (4) (`FlightSize`) and RFC 9438 4.6
/// (`flight_size`, `cwnd_prior`), kept by [`Reno`] and [`Cubic`].
///
/// The sender takes an ACK's cumulative part off (and calls
/// [`CongestionControl::on_ack`] with it) before its SACK blocks are read for losses, so
/// the flight it reports with a loss that the same ACK reveals is the flight after that
/// ACK. A receiver that acknowledges several segments at once (Linux does when its
/// reader lags) answers a hole with an ACK that also acknowledges everything before it:
/// the flight after that ACK is a fraction of the window the lost segment went out in.
/// Measured in `benches/loss_race.rs` (`TUNSTACK_LOSS_RACE_INFO=1`, CUBIC to a Linux
/// receiver, 1% loss, 10 ms one way): a median ACK covered 2 segments and a third of
/// them 6 or more, and the mean ssthresh came out at 0.53 of the window at the loss
/// instead of β = 0.7.
///
/// So the flight when the loss was detected is the flight before the ACK that detected
/// it, and that ACK does not grow the window before the reduction (cwnd goes back to its
/// value before it). Linux orders it so: `tcp_ack` runs loss detection and the window
/// reduction (`tcp_fastretrans_alert`) before the ACK's growth (`tcp_cong_control`),
/// which a reduction replaces. The ACK is recognised by its time: the last ACK that
/// acknowledged data outside recovery, at the same instant as the loss signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PreAck {
    /// When the last ACK that acknowledged data came, cwnd and the flight before it.
    last: Option<(Instant, usize, usize)>,
}

impl PreAck {
    /// An ACK of new data outside recovery, before it changes the window: `cwnd` now and
    /// the `flight` before it.
    pub(crate) fn on_ack(&mut self, now: Instant, cwnd: usize, flight: usize) {
        self.last = Some((now, cwnd, flight));
    }

    /// The window changed for another reason (a loss, the end of recovery, an undo): no
    /// later loss is measured against the ACK before it.
    pub(crate) fn clear(&mut self) {
        self.last = None;
    }

    /// `(cwnd, flight)` to measure a loss signalled at `now` against, given the window
    /// `cwnd` now and the `flight` the sender reports with it: before the ACK at the same
    /// instant, if there is one.
    pub(crate) fn at_loss(&self, now: Instant, cwnd: usize, flight: usize) -> (usize, usize) {
        match self.last {
            Some((at, c, f)) if at == now => (c, flight.max(f)),
            _ => (cwnd, flight),
        }
    }
}

/// The initial window of RFC 6928 section 2: `IW = min(10*MSS, max(2*MSS, 14600))`.
///
/// With `mss` clamped to `1..=MAX_MSS`: 5360 for 536, 14600 for 1460, 18000 for 9000.
pub fn initial_window(mss: usize) -> usize {
    let mss = clamp_mss(mss);
    (10 * mss).min((2 * mss).max(14_600))
}

/// A usable SMSS: at least 1 byte, at most [`MAX_MSS`].
pub(crate) fn clamp_mss(mss: usize) -> usize {
    mss.clamp(1, MAX_MSS)
}

/// The available algorithms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RFC 5681 Reno.
    Reno,
    /// RFC 9438 CUBIC with HyStart++ (RFC 9406), as Linux, Windows and Apple default to.
    #[default]
    Cubic,
    /// BBR (draft-ietf-ccwg-bbr-06), paced, without the draft's loss-based bounds (as
    /// Linux's `bbr`; see `bbr/cc.rs` for why).
    Bbr,
    /// BBR with the draft's loss-based bounds and Startup's high-loss exit
    /// (`bbr/bounds.rs`): it keeps shallow queues and shares with CUBIC, at a cost
    /// under random loss.
    BbrDraft,
}

impl Algorithm {
    /// Every algorithm, for help texts.
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::Reno,
        Algorithm::Cubic,
        Algorithm::Bbr,
        Algorithm::BbrDraft,
    ];

    /// A fresh instance for a sender whose SMSS is `mss` (the initial window follows RFC
    /// 6928 for it).
    pub fn build(self, mss: usize) -> Box<dyn CongestionControl> {
        match self {
            Algorithm::Reno => Box::new(Reno::new(mss)),
            Algorithm::Cubic => Box::new(Cubic::new(mss)),
            Algorithm::Bbr => Box::new(Bbr::new(mss)),
            Algorithm::BbrDraft => Box::new(Bbr::with_loss_bounds(mss)),
        }
    }

    /// The name [`FromStr`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Reno => "reno",
            Algorithm::Cubic => "cubic",
            Algorithm::Bbr => "bbr",
            Algorithm::BbrDraft => "bbr-draft",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An algorithm name that [`Algorithm::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown congestion control algorithm {:?} (known:",
            self.0
        )?;
        for a in Algorithm::ALL {
            write!(f, " {a}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses a name case-insensitively: "reno", "cubic", "bbr", "bbr-draft".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownAlgorithm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6928 section 2: IW = min(10*MSS, max(2*MSS, 14600)).
    #[test]
    fn initial_window_rfc6928() {
        assert_eq!(initial_window(536), 5360);
        assert_eq!(initial_window(1460), 14_600);
        assert_eq!(initial_window(9000), 18_000);
        assert_eq!(initial_window(0), 10);
        assert_eq!(initial_window(usize::MAX), 2 * MAX_MSS);
    }

    /// A switch keeps cwnd and ssthresh (as Linux's `TCP_CONGESTION` on a live socket);
    /// switching to the algorithm already running changes nothing.
    #[test]
    fn switch_keeps_the_window() {
        let now = Instant::ZERO;
        let mut cc = Algorithm::Reno.build(1000);
        // Slow start: 20 segments. The loss comes later than that ACK (see `PreAck`).
        cc.on_ack(now, 10_000, 10_000, 10_000, None);
        let now = now + Duration::from_millis(1);
        cc.on_congestion_event(now, 20_000);
        let (cwnd, ssthresh) = (cc.cwnd(), cc.ssthresh());
        assert_eq!((cwnd, ssthresh), (10_000, 10_000));
        switch(&mut cc, Algorithm::Cubic, 1000);
        assert_eq!(cc.name(), "cubic");
        assert_eq!((cc.cwnd(), cc.ssthresh()), (cwnd, ssthresh));
        // CUBIC's own rules from there: a loss keeps 0.7 of the flight.
        cc.on_congestion_event(now, 10_000);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (7_000, 7_000));
        switch(&mut cc, Algorithm::Cubic, 1000);
        assert_eq!(cc.cwnd(), 7_000);
        // Back to Reno, still in slow start when no threshold was ever set.
        let mut cc = Algorithm::Cubic.build(1000);
        switch(&mut cc, Algorithm::Reno, 1000);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (10_000, usize::MAX));
        // Out-of-range values are brought within the invariants.
        cc.inherit(0, 1);
        assert_eq!((cc.cwnd(), cc.ssthresh()), (1000, 2000));
    }

    #[test]
    fn algorithm_parses_and_builds() {
        assert_eq!("reno".parse::<Algorithm>(), Ok(Algorithm::Reno));
        assert_eq!("Reno".parse::<Algorithm>(), Ok(Algorithm::Reno));
        assert_eq!(" CUBIC".parse::<Algorithm>(), Ok(Algorithm::Cubic));
        assert_eq!("BBR".parse::<Algorithm>(), Ok(Algorithm::Bbr));
        assert_eq!("bbr-draft".parse::<Algorithm>(), Ok(Algorithm::BbrDraft));
        let err = "vegas".parse::<Algorithm>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown congestion control algorithm \"vegas\" (known: reno cubic bbr bbr-draft)"
        );
        assert_eq!(Algorithm::default(), Algorithm::Cubic);
        assert_eq!(Algorithm::default().to_string(), "cubic");
        for &a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>(), Ok(a));
            let cc = a.build(1460);
            assert_eq!(cc.name(), a.name());
            assert_eq!(cc.cwnd(), 14_600);
            assert_eq!(cc.ssthresh(), usize::MAX);
            assert!(cc.in_slow_start());
        }
    }
}
