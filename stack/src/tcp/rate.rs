//! Delivery-rate sampling, per the delivery rate section of draft-ietf-ccwg-bbr-06
//! (section 4.1, "Delivery Rate Samples", which took in
//! draft-cheng-iccrg-delivery-rate-estimation): each transmitted segment (or
//! super-segment) remembers the connection's delivery state when it left, and each ACK
//! that delivers data — cumulatively or by SACK — yields one rate sample from the most
//! recently sent segment it delivered:
//!
//! ```text
//! rate = (C.delivered - P.delivered) / max(P.send_time - P.first_send_time,
//!                                          C.delivered_time - P.delivered_time)
//! ```
//!
//! The larger of the send and ACK intervals keeps ACK compression from inflating the
//! estimate (4.1.2.3), and an interval shorter than the minimum RTT is no sample at all.
//! The sampler reads no clock: every call takes `now`. All sizes are bytes.

use std::collections::VecDeque;

use super::congestion::bbr::RateSample;
use super::seq::SeqNum;
use crate::time::{Duration, Instant};

/// The most transmission records one connection keeps: past it, new data joins the last
/// record (the samples get coarser, the delivery count stays exact).
pub const MAX_RECORDS: usize = 4096;

/// What the sampler remembers of one transmission (draft 4.1.2.2, the per-packet state
/// `P.*`), for the sequence range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    start: SeqNum,
    end: SeqNum,
    /// P.send_time.
    sent: Instant,
    /// P.delivered: C.delivered when it was sent.
    delivered: u64,
    /// P.delivered_time.
    delivered_time: Instant,
    /// P.first_send_time.
    first_send_time: Instant,
    /// P.is_app_limited.
    app_limited: bool,
    /// P.tx_in_flight (draft 4.1.2.2 for BBR's loss bounds): bytes in flight after it left.
    tx_in_flight: u64,
    /// C.lost when it was sent.
    lost: u64,
    /// Sent more than once (Karn: its ACK times no round trip).
    retransmitted: bool,
    /// Delivered (SACKed) already.
    delivered_flag: bool,
}

/// The connection-wide delivery state (`C.*` of draft 4.1.2.1) and the records.
#[derive(Clone, Debug, Default)]
pub struct RateSampler {
    records: VecDeque<Record>,
    /// C.delivered: bytes delivered over the connection's life.
    delivered: u64,
    /// C.delivered_time; `None` before anything was sent.
    delivered_time: Option<Instant>,
    /// C.first_send_time.
    first_send_time: Option<Instant>,
    /// C.app_limited: 0, or the C.delivered value marking the end of an app-limited
    /// phase.
    app_limited: u64,
    /// C.lost: bytes the sender has declared lost.
    lost: u64,
    /// The last valid delivery rate, bytes per second (0: none yet), for listings.
    last_rate: u64,
    /// The sample being built for the current ACK (draft 4.1.2.3 `UpdateRateSample`).
    acc: Pending,
}

/// Per-ACK accumulation: the newest record delivered so far by this ACK.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    newest: Option<Record>,
    newly_delivered: u64,
}

impl RateSampler {
    /// A sampler with nothing sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// C.delivered.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The last valid delivery rate, bytes per second, if any.
    pub fn last_rate(&self) -> Option<u64> {
        (self.last_rate > 0).then_some(self.last_rate)
    }

    /// Records held (for tests and the bound).
    pub fn records(&self) -> usize {
        self.records.len()
    }

    /// Whether the connection is app-limited now (C.app_limited != 0).
    pub fn is_app_limited(&self) -> bool {
        self.app_limited != 0
    }

    /// Draft 4.1.2.2 `OnPacketSent()` for `[seq, seq + len)` at `now`, with
    /// `inflight_before` bytes in flight before it left. New data appends a record; data
    /// sent again is re-stamped where it lies (split off its neighbours).
    pub fn on_send(&mut self, now: Instant, seq: SeqNum, len: usize, inflight_before: usize) {
        if len == 0 {
            return;
        }
        if inflight_before == 0 || self.delivered_time.is_none() {
            // Nothing in flight: the send and ACK intervals start now.
            self.first_send_time = Some(now);
            self.delivered_time = Some(now);
        }
        let end = seq + len;
        let rec = Record {
            start: seq,
            end,
            sent: now,
            delivered: self.delivered,
            delivered_time: self.delivered_time.unwrap_or(now),
            first_send_time: self.first_send_time.unwrap_or(now),
            app_limited: self.app_limited != 0,
            tx_in_flight: (inflight_before + len) as u64,
            lost: self.lost,
            retransmitted: false,
            delivered_flag: false,
        };
        let last_end = self.records.back().map(|r| r.end);
        match last_end {
            Some(e) if seq < e => {
                // A retransmission: re-stamp the records of [seq, end).
                self.split_at(seq);
                self.split_at(end);
                for r in self.records.iter_mut() {
                    if r.start >= seq && r.end <= end {
                        let delivered_flag = r.delivered_flag;
                        *r = Record {
                            start: r.start,
                            end: r.end,
                            retransmitted: true,
                            delivered_flag,
                            ..rec
                        };
                    }
                }
            }
            _ if self.records.len() >= MAX_RECORDS => {
                if let Some(last) = self.records.back_mut() {
                    last.end = end;
                }
            }
            _ => self.records.push_back(rec),
        }
    }

    /// Splits the record holding `seq` strictly inside it in two (while under the bound).
    fn split_at(&mut self, seq: SeqNum) {
        if self.records.len() >= MAX_RECORDS {
            return;
        }
        let i = self.records.partition_point(|r| r.end <= seq);
        let Some(r) = self.records.get(i).copied() else {
            return;
        };
        if r.start < seq && seq < r.end {
            let mut tail = r;
            tail.start = seq;
            self.records[i].end = seq;
            self.records.insert(i + 1, tail);
        }
    }

    /// The sender declared `len` bytes lost (C.lost, for BBR's loss rate).
    pub fn on_lost(&mut self, len: usize) {
        self.lost += len as u64;
    }

    /// Draft 4.1.2.4 `CheckIfApplicationLimited()`: the sender had room in cwnd but
    /// nothing to send; samples taken until what is in flight now is delivered are
    /// app-limited.
    pub fn on_app_limited(&mut self, inflight: usize) {
        self.app_limited = (self.delivered + inflight as u64).max(1);
    }

    /// Draft 4.1.2.3 `UpdateRateSample()` for one delivered record.
    fn deliver(&mut self, r: Record, now: Instant) {
        let len = r.end.since(r.start) as u64;
        self.delivered += len;
        self.delivered_time = Some(now);
        self.acc.newly_delivered += len;
        // The most recently sent record of the ACK is the sample's reference.
        let newer = match self.acc.newest {
            None => true,
            Some(p) => r.sent > p.sent || (r.sent == p.sent && r.end > p.end),
        };
        if newer {
            self.acc.newest = Some(r);
            self.first_send_time = Some(r.sent);
        }
    }

    /// The cumulative ACK reached `una`: every record below it is delivered (unless a
    /// SACK delivered it before).
    pub fn on_cumulative_ack(&mut self, now: Instant, una: SeqNum) {
        self.split_at(una);
        while let Some(r) = self.records.front().copied() {
            if r.end > una {
                break;
            }
            self.records.pop_front();
            if !r.delivered_flag {
                self.deliver(r, now);
            }
        }
    }

    /// A SACK block `[l, r)`: the records inside it are delivered.
    pub fn on_sack(&mut self, now: Instant, l: SeqNum, r: SeqNum) {
        if r <= l {
            return;
        }
        self.split_at(l);
        self.split_at(r);
        let mut i = self.records.partition_point(|x| x.end <= l);
        while let Some(rec) = self.records.get(i).copied() {
            if rec.start >= r {
                break;
            }
            if rec.start >= l && rec.end <= r && !rec.delivered_flag {
                self.records[i].delivered_flag = true;
                self.deliver(rec, now);
            }
            i += 1;
        }
    }

    /// Draft 4.1.2.3 `GenerateRateSample()` at the end of an ACK's processing, with
    /// `inflight` bytes in flight after it and the minimum RTT known so far. `None` when
    /// the ACK delivered nothing.
    pub fn take_sample(
        &mut self,
        now: Instant,
        inflight: usize,
        min_rtt: Option<Duration>,
    ) -> Option<RateSample> {
        let acc = std::mem::take(&mut self.acc);
        let p = acc.newest?;
        // Clear the app-limited bubble once it is delivered.
        if self.app_limited != 0 && self.delivered > self.app_limited {
            self.app_limited = 0;
        }
        let send_elapsed = p.sent - p.first_send_time;
        let ack_elapsed = now - p.delivered_time;
        let interval = send_elapsed.max(ack_elapsed);
        let delivered = self.delivered - p.delivered;
        // "the interval is no shorter than the minimum RTT", else the sample is
        // discarded (4.1.2.3): it would overestimate.
        let valid = interval > Duration::ZERO && min_rtt.is_none_or(|m| interval >= m);
        let rate = if valid {
            (delivered as u128 * 1_000_000 / u128::from(interval.total_micros())) as u64
        } else {
            0
        };
        if rate > 0 {
            self.last_rate = rate;
        }
        Some(RateSample {
            delivered: self.delivered,
            prior_delivered: p.delivered,
            delivery_rate: rate,
            is_app_limited: p.app_limited,
            rtt: (!p.retransmitted).then(|| now - p.sent),
            newly_acked: acc.newly_delivered,
            lost: self.lost - p.lost,
            tx_in_flight: p.tx_in_flight,
            inflight: inflight as u64,
            // The connection judges it by the window it filled (`window_use.rs`).
            is_cwnd_limited: false,
            lost_total: self.lost,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    /// Draft 4.1.2: ten segments sent back to back at t=0, ACKed one per ms from 100 ms:
    /// the first ACK's interval is its RTT (100 ms, 1000 B: 10 kB/s); the i-th covers
    /// i segments over (99 + i) ms, the ACK interval since the flight left. A segment
    /// sent at the first ACK carries that ACK's delivery state, so its own ACK measures
    /// the ten segments delivered since; an interval shorter than the minimum RTT is no
    /// sample (rate 0).
    #[test]
    fn samples_from_acks() {
        let mut s = RateSampler::new();
        let base = SeqNum(1);
        for i in 0..10 {
            s.on_send(ms(0), base + i * MSS, MSS, i * MSS);
        }
        assert_eq!(s.records(), 10);
        s.on_cumulative_ack(ms(100), base + MSS);
        let rs = s.take_sample(ms(100), 9 * MSS, None).unwrap();
        assert_eq!(rs.delivered, 1000);
        assert_eq!(rs.prior_delivered, 0);
        assert_eq!(rs.delivery_rate, 10_000); // 1000 B over 100 ms
        assert_eq!(rs.rtt, Some(Duration::from_millis(100)));
        assert_eq!(rs.newly_acked, 1000);
        // A segment sent now carries C.delivered = 1000, delivered_time = 100 ms.
        s.on_send(ms(100), base + 10 * MSS, MSS, 9 * MSS);
        for i in 2..=10u64 {
            s.on_cumulative_ack(ms(99 + i), base + i as usize * MSS);
            let rs = s.take_sample(ms(99 + i), 0, Some(Duration::from_millis(100)));
            assert_eq!(rs.unwrap().delivery_rate, i * 1_000_000 / (99 + i));
        }
        s.on_cumulative_ack(ms(200), base + 11 * MSS);
        let rs = s
            .take_sample(ms(200), 0, Some(Duration::from_millis(100)))
            .unwrap();
        // 10000 B delivered since it left (C.delivered 11000 - 1000), over 100 ms.
        assert_eq!(rs.delivery_rate, 100_000);
        assert_eq!(rs.prior_delivered, 1000);
        // The same over a path whose minimum RTT is 150 ms: discarded.
        s.on_send(ms(200), base + 11 * MSS, MSS, 0);
        s.on_cumulative_ack(ms(300), base + 12 * MSS);
        let rs = s.take_sample(ms(300), 0, Some(Duration::from_millis(150)));
        assert_eq!(rs.unwrap().delivery_rate, 0);
    }

    /// Draft 4.1.2.3: SACKed segments are delivered when the SACK arrives, once; the
    /// cumulative ACK that later covers them delivers only the hole.
    #[test]
    fn sacked_segments_deliver_once() {
        let mut s = RateSampler::new();
        let base = SeqNum(1000);
        // One super-segment of 4 MSS.
        s.on_send(ms(0), base, 4 * MSS, 0);
        s.on_sack(ms(50), base + MSS, base + 3 * MSS);
        let rs = s.take_sample(ms(50), 2 * MSS, None).unwrap();
        assert_eq!((rs.newly_acked, s.delivered()), (2000, 2000));
        assert_eq!(s.records(), 3, "split at the SACK block's edges");
        s.on_sack(ms(51), base + MSS, base + 3 * MSS);
        assert!(s.take_sample(ms(51), 2 * MSS, None).is_none());
        s.on_cumulative_ack(ms(60), base + 4 * MSS);
        let rs = s.take_sample(ms(60), 0, None).unwrap();
        assert_eq!((rs.newly_acked, s.delivered()), (2000, 4000));
        assert_eq!(s.records(), 0);
    }

    /// A retransmission re-stamps the range it covers (and its ACK times no RTT, Karn);
    /// the losses declared since a record left are its sample's `lost`.
    #[test]
    fn retransmission_restamps() {
        let mut s = RateSampler::new();
        let base = SeqNum(0);
        s.on_send(ms(0), base, 3 * MSS, 0);
        s.on_lost(MSS);
        s.on_send(ms(300), base + MSS, MSS, 3 * MSS);
        assert_eq!(s.records(), 3);
        s.on_sack(ms(310), base + 2 * MSS, base + 3 * MSS);
        assert!(s.take_sample(ms(310), 2 * MSS, None).is_some());
        s.on_cumulative_ack(ms(350), base + 3 * MSS);
        let rs = s.take_sample(ms(350), 0, None).unwrap();
        assert_eq!(rs.rtt, None, "the newest delivered was retransmitted");
        assert_eq!(rs.newly_acked, 2000);
        assert_eq!(rs.lost, 0, "no loss declared after the retransmission left");
    }

    /// Draft 4.1.2.4: after the sender ran out of data, samples are app-limited until
    /// the data then in flight is delivered.
    #[test]
    fn app_limited_bubble() {
        let mut s = RateSampler::new();
        s.on_send(ms(0), SeqNum(0), MSS, 0);
        s.on_app_limited(MSS);
        assert!(s.is_app_limited());
        s.on_send(ms(1), SeqNum(MSS as u32), MSS, MSS);
        s.on_cumulative_ack(ms(100), SeqNum(MSS as u32));
        let rs = s.take_sample(ms(100), MSS, None).unwrap();
        assert!(!rs.is_app_limited, "sent before the bubble");
        s.on_cumulative_ack(ms(101), SeqNum(2 * MSS as u32));
        let rs = s.take_sample(ms(101), 0, None).unwrap();
        assert!(rs.is_app_limited);
        assert!(!s.is_app_limited(), "the bubble is delivered");
    }

    /// The record table is bounded: past the bound, new data joins the last record and
    /// the delivered count stays exact.
    #[test]
    fn bounded_records() {
        let mut s = RateSampler::new();
        for i in 0..(MAX_RECORDS + 100) {
            s.on_send(ms(0), SeqNum(0) + i * 10, 10, i * 10);
        }
        assert_eq!(s.records(), MAX_RECORDS);
        s.on_cumulative_ack(ms(10), SeqNum(0) + (MAX_RECORDS + 100) * 10);
        s.take_sample(ms(10), 0, None).unwrap();
        assert_eq!(s.delivered(), (MAX_RECORDS as u64 + 100) * 10);
    }
}
