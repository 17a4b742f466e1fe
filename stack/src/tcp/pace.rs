//! Pacing, and the sender's side of delivery-rate sampling (the sampler itself is
//! `rate.rs`).
//!
//! **Pacing.** A paced connection releases data in bursts of one send quantum — about
//! 1 ms at the pacing rate, at least two segments, at most 64 KiB (draft-ietf-ccwg-bbr-06
//! 5.6.3; as Linux's `tcp_tso_autosize` sizes a TSO burst) — and after each burst waits
//! until the rate allows the next: `next += len / rate`. The wait is the connection's
//! [`Timer::Pace`] in the timer table, so it runs in virtual time under `Sim` and wakes
//! the runtime's `ppoll` in real time; with one timer per quantum the churn is bounded
//! (about a thousand a second at any rate above 2 segments per ms). A timer that fires
//! late loses little: `next` may lag `now` by up to one quantum's time, so the next
//! bursts catch up that much, but no more (a connection that waited for ACKs or was
//! idle does not save up a burst). Four milliseconds of catch-up instead moved BBR's
//! 5%-loss TUN transfer no faster (16.0 and 19.2 Mbit/s with it, 15.6 and 19.1
//! without) and let bursts of 30 segments out after every wait for the window.
//!
//! With TSO, a burst goes as one super-segment of the quantum's size. BBR always paces
//! at its model's rate (draft 5.6.2); Reno and CUBIC pace only when asked
//! ([`TcpConfig::pacing`](super::TcpConfig::pacing)), at Linux's rate:
//! `cwnd / srtt`, times 2 in slow start and 1.2 after (`tcp_update_pacing_rate`).
//! Fast retransmissions of SND.UNA, loss probes, ACKs and control segments are never
//! held back; what they send counts against the rate all the same.

use super::conn::Connection;
use super::seq::SeqNum;
use super::timer::Timer;
use crate::time::{Duration, Instant};

/// The most a burst (and so a paced super-segment) carries.
pub const MAX_QUANTUM: usize = 64 * 1024;

/// A connection's pacer.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pacer {
    /// Pace Reno and CUBIC too (BBR always paces).
    pub forced: bool,
    /// When the next burst may leave (`None`: at once).
    next: Option<Instant>,
    /// Bytes left in the burst under way (`None`: not paced in this dispatch).
    burst: Option<usize>,
    /// The rate and quantum of the dispatch under way.
    rate: u64,
    quantum: usize,
}

impl Pacer {
    /// A pacer; `forced`: pace Reno and CUBIC too.
    pub fn new(forced: bool) -> Self {
        Pacer {
            forced,
            ..Default::default()
        }
    }

    /// When the next burst may leave, if the pacer is holding data back.
    pub fn next(&self) -> Option<Instant> {
        self.next
    }
}

/// `len` bytes at `rate` bytes per second.
fn airtime(len: usize, rate: u64) -> Duration {
    Duration::from_micros((len as u128 * 1_000_000 / u128::from(rate.max(1))) as u64)
}

impl Connection {
    /// The pacing rate, bytes per second, or `None` when the connection is not paced.
    pub fn pacing_rate(&self) -> Option<u64> {
        if let Some(rate) = self.cc.pacing_rate() {
            return Some(rate.max(1));
        }
        if !self.pacer.forced {
            return None;
        }
        // Linux's tcp_update_pacing_rate: 200% of cwnd/srtt in slow start, 120% after.
        let srtt = self.rtt.srtt()?.total_micros().max(1);
        let pct = if self.cc.in_slow_start() { 200 } else { 120 };
        let rate = self.cc.cwnd() as u128 * 1_000_000 * pct / 100 / u128::from(srtt);
        Some((rate as u64).max(1))
    }

    /// Starts a dispatch's pacing: opens a burst if the rate allows one now.
    pub(crate) fn pace_start(&mut self, now: Instant) {
        let Some(rate) = self.pacing_rate() else {
            self.pacer.burst = None;
            self.pacer.next = None;
            return;
        };
        let mss = self.payload_mss();
        let quantum = self
            .cc
            .send_quantum()
            .unwrap_or((rate / 1000) as usize)
            .clamp(2 * mss, MAX_QUANTUM.max(2 * mss));
        self.pacer.rate = rate;
        self.pacer.quantum = quantum;
        self.pacer.burst = Some(0);
        self.pace_refill(now);
    }

    /// A new burst if the time has come.
    fn pace_refill(&mut self, now: Instant) -> bool {
        if self.pacer.next.is_none_or(|n| n <= now) {
            self.pacer.burst = Some(self.pacer.quantum);
            true
        } else {
            false
        }
    }

    /// How much of a segment of `len` bytes the pacer lets go now: all of it unpaced;
    /// within a burst, up to what is left of it in whole segments (at least one); 0 when
    /// the burst is spent, and then [`Timer::Pace`] is armed for the next.
    pub(crate) fn pace_limit(&mut self, now: Instant, len: usize) -> usize {
        let Some(mut left) = self.pacer.burst else {
            return len;
        };
        if left == 0 {
            if !self.pace_refill(now) {
                if let Some(next) = self.pacer.next {
                    self.timers.set(Timer::Pace, next);
                }
                return 0;
            }
            left = self.pacer.quantum;
        }
        if len <= left {
            return len;
        }
        let mss = self.payload_mss();
        (left - left % mss).max(mss).min(len)
    }

    /// `len` bytes of data left: they use up the burst and push the next one back by
    /// their time at the pacing rate.
    pub(crate) fn pace_sent(&mut self, now: Instant, len: usize) {
        let Some(left) = self.pacer.burst else {
            return;
        };
        self.pacer.burst = Some(left.saturating_sub(len));
        let slack = airtime(self.pacer.quantum, self.pacer.rate);
        let base = self.pacer.next.map_or(now, |n| n.max(now - slack));
        self.pacer.next = Some(base + airtime(len, self.pacer.rate));
    }

    /// Draft-ietf-ccwg-bbr-06 4.1.2.2: a data segment `[seq, seq + len)` left (for the
    /// delivery-rate sampler, when the algorithm wants samples).
    pub(crate) fn rate_on_send(&mut self, now: Instant, seq: SeqNum, len: usize, rexmit: bool) {
        if !self.cc.wants_rate_samples() || len == 0 {
            return;
        }
        if rexmit {
            // C.lost: a retransmission stands for data given up as lost.
            self.delivery.on_lost(len);
        }
        let inflight = self.snd_max.since(self.snd_una);
        self.delivery.on_send(now, seq, len, inflight);
    }

    /// Draft-ietf-ccwg-bbr-06 4.1.2.4: the sender had room in its window but no data.
    ///
    /// **Extension**: a sender held back by the peer's receive window while that window
    /// is still growing (it grew within the last two round trips: the receiver's buffer
    /// is autotuning, as Linux's does from 64 KiB) is marked application-limited too, a
    /// departure from the draft's 4.1.2.4, which counts only a sender without data: RFC
    /// 9002 7.8 counts a window left unused because of flow-control limits as not
    /// congestion-limited, as QUIC senders do. What such a flight delivers
    /// measures the receiver's ramp, not the path: counted, three rounds of it ended
    /// BBR's Startup (the full-pipe plateau, 5.3.1.2) at a fraction of the path. On the
    /// loss race (real TUN, 5%, 50 ms one way, Linux receiving) four runs in five left
    /// Startup at 15 Mbit/s, flight equal to the window, and moved 15-16 Mbit/s where
    /// Linux's BBR moved 52-56. A window that stopped growing is a bound like the cwnd
    /// and its samples count as usual.
    pub(crate) fn rate_check_app_limited(&mut self, now: Instant) {
        if !self.cc.wants_rate_samples() {
            return;
        }
        let mss = self.payload_mss();
        let flight = self.snd_max.since(self.snd_una);
        let unsent = self.unsent();
        let room = flight + mss <= self.cc.cwnd();
        let rwnd_limited = unsent >= mss && self.window_room() < mss;
        let growing = self
            .rtt
            .srtt()
            .is_some_and(|srtt| now < self.snd_wnd_grew_at + srtt.saturating_mul(2));
        if room && rwnd_limited && growing {
            self.delivery.on_app_limited(flight);
            return;
        }
        if self.in_recovery() {
            return;
        }
        if unsent < mss && room {
            self.delivery.on_app_limited(flight);
        }
    }

    /// Draft-ietf-ccwg-bbr-06 4.1.2.3: after an ACK's processing, what it delivered —
    /// cumulatively up to SND.UNA and by its SACK blocks (not a D-SACK block) — makes a
    /// rate sample for the algorithm.
    pub(crate) fn rate_on_ack(&mut self, now: Instant, sacked: &[(SeqNum, SeqNum)]) {
        if !self.cc.wants_rate_samples() {
            return;
        }
        self.delivery.on_cumulative_ack(now, self.snd_una);
        if self.opts.sack {
            for &(l, r) in sacked {
                self.delivery.on_sack(now, l, r);
            }
        }
        let inflight = if self.opts.sack {
            self.sack_pipe()
        } else {
            self.snd_max.since(self.snd_una)
        };
        let min_rtt = self.cc.bbr_info().and_then(|b| b.min_rtt);
        if let Some(mut rs) = self.delivery.take_sample(now, inflight, min_rtt) {
            // C.is_cwnd_limited by the window the sender filled (`window_use.rs`): the
            // flight before each ACK of a batch falls while the refill waits for the poll.
            rs.is_cwnd_limited = self.window_use.filled(self.cc.cwnd(), self.payload_mss());
            self.cc.on_rate_sample(now, &rs);
        }
    }

    /// The last delivery rate measured, bytes per second.
    pub fn delivery_rate(&self) -> Option<u64> {
        self.delivery.last_rate()
    }
}
