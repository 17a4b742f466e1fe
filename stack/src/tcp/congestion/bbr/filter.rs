//! BBR's two model filters (draft-ietf-ccwg-bbr-06): the windowed maximum of delivery-rate
//! samples over ProbeBW cycles (BBR.max_bw, sections 5.5.3 to 5.5.6) and the windowed
//! minimum RTT with its ProbeRTT scheduling stamp (BBR.min_rtt, sections 5.3.4.3 and
//! 5.5.7).

use crate::time::{Duration, Instant};

/// Draft 2.11: BBR.MaxBwFilterLen, the BBR.max_bw window in ProbeBW cycles: the current
/// cycle and the previous full one.
pub const MAX_BW_FILTER_LEN: u64 = 2;
/// Draft 2.16.1: BBR.MinRTTFilterLen, the BBR.min_rtt window.
pub const MIN_RTT_FILTER_LEN: Duration = Duration::from_secs(10);
/// Draft 2.16.2: BBR.ProbeRTTInterval, the most time between ProbeRTT states.
pub const PROBE_RTT_INTERVAL: Duration = Duration::from_secs(5);

/// The BBR.max_bw max filter (draft 5.5.3, 5.5.5, 5.5.6): the largest delivery rate
/// (bytes per second) seen in the last [`MAX_BW_FILTER_LEN`] ProbeBW cycles. Time is the
/// virtual BBR.cycle_count, so the window is exactly two slots, "the previous ProbeBW
/// cycle and the current ProbeBW cycle": each slot holds its cycle's maximum, and
/// advancing the cycle forgets the older one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaxBwFilter {
    /// The maxima of the previous cycle and of the current one.
    slots: [u64; 2],
    /// BBR.cycle_count.
    cycle: u64,
}

impl MaxBwFilter {
    /// An empty filter: BBR.max_bw = 0.
    pub fn new() -> Self {
        MaxBwFilter::default()
    }

    /// BBR.max_bw: the largest sample in the window.
    pub fn get(&self) -> u64 {
        self.slots[0].max(self.slots[1])
    }

    /// BBR.cycle_count.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// A delivery-rate sample for the current cycle.
    pub fn update(&mut self, rate: u64) {
        self.slots[1] = self.slots[1].max(rate);
    }

    /// Draft 5.5.6 `AdvanceMaxBwFilter()`: `BBR.cycle_count++`; the previous cycle's
    /// samples leave the window.
    pub fn advance(&mut self) {
        self.cycle = self.cycle.wrapping_add(1);
        self.slots = [self.slots[1], 0];
    }
}

/// BBR.min_rtt and its ProbeRTT companion (draft 5.3.4.3 `UpdateMinRTT()`):
/// BBR.probe_rtt_min_delay is the minimum RTT of the last [`PROBE_RTT_INTERVAL`], and
/// BBR.min_rtt the minimum of the last [`MIN_RTT_FILTER_LEN`], each with the time its
/// sample was taken.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinRttFilter {
    /// (BBR.probe_rtt_min_delay, BBR.probe_rtt_min_stamp); `None` before any sample.
    probe: Option<(Duration, Instant)>,
    /// (BBR.min_rtt, BBR.min_rtt_stamp); `None` stands for infinity.
    min: Option<(Duration, Instant)>,
    /// BBR.probe_rtt_expired, as of the last update.
    probe_rtt_expired: bool,
}

impl MinRttFilter {
    /// No samples: BBR.min_rtt is infinite.
    pub fn new() -> Self {
        MinRttFilter::default()
    }

    /// BBR.min_rtt (`None`: infinity).
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min.map(|(d, _)| d)
    }

    /// BBR.probe_rtt_expired: the ProbeRTT-interval minimum is older than
    /// [`PROBE_RTT_INTERVAL`] (set by [`MinRttFilter::update`]).
    pub fn probe_rtt_expired(&self) -> bool {
        self.probe_rtt_expired
    }

    /// Draft 5.3.4.3 `CheckProbeRTTDone()`: "schedule next ProbeRTT" by restarting the
    /// ProbeRTT interval at `now`.
    pub fn restart_probe_rtt_interval(&mut self, now: Instant) {
        if let Some((_, stamp)) = self.probe.as_mut() {
            *stamp = now;
        }
        self.probe_rtt_expired = false;
    }

    /// Draft 5.3.4.3 `UpdateMinRTT()` at `now` with the ACK's RTT sample, if any:
    /// * `probe_rtt_expired = now > probe_rtt_min_stamp + ProbeRTTInterval`;
    /// * a sample below probe_rtt_min_delay, or any sample once that expired, becomes
    ///   the new probe_rtt_min_delay (stamped now);
    /// * when probe_rtt_min_delay is below min_rtt, or min_rtt is older than
    ///   MinRTTFilterLen, min_rtt takes probe_rtt_min_delay and its stamp.
    pub fn update(&mut self, now: Instant, rtt: Option<Duration>) {
        let expired =
            |stamp: Instant, len: Duration| stamp.checked_add(len).is_some_and(|end| now > end);
        self.probe_rtt_expired = self
            .probe
            .is_some_and(|(_, stamp)| expired(stamp, PROBE_RTT_INTERVAL));
        if let Some(rtt) = rtt {
            if self.probe.is_none_or(|(d, _)| rtt < d) || self.probe_rtt_expired {
                self.probe = Some((rtt, now));
            }
        }
        let min_expired = self
            .min
            .is_some_and(|(_, stamp)| expired(stamp, MIN_RTT_FILTER_LEN));
        if let Some((d, stamp)) = self.probe {
            if self.min.is_none_or(|(m, _)| d < m) || min_expired {
                self.min = Some((d, stamp));
            }
        }
    }
}
