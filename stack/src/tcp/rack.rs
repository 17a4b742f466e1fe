//! RACK (RFC 8985 section 6): time-based loss detection for every congestion control
//! algorithm when SACK is in use.
//!
//! The sender remembers, per transmission (a segment, or a super-segment split at SACK
//! block edges and retransmissions), when it last left. A segment is lost once a segment
//! sent after it has been delivered (cumulatively or by SACK) and it has waited a
//! round trip plus a reordering window since it left: `xmit_ts + RACK.rtt +
//! RACK.reo_wnd <= now` (6.2 step 5). This replaces RFC 6675's duplicate-ACK threshold
//! (which stays in use when SACK is off), and it finds lost retransmissions anywhere in
//! the window, since a retransmission is re-stamped when it leaves. When a segment is not
//! yet lost only because of the reordering window, the reordering timer (6.3) wakes the
//! sender when it will be.
//!
//! This module holds the per-transmission records and the RACK state as a pure struct
//! fed with `now`; `rack_glue.rs` wires it into the connection.

use std::collections::VecDeque;

use super::seq::SeqNum;
use crate::time::{Duration, Instant};

/// The most records kept: past it, new data joins the last record (coarser, still
/// exact in bytes).
pub const MAX_SEGS: usize = 8192;

/// RFC 8985 6.2 step 4: how many recoveries the widened reordering window persists
/// after the last D-SACK (RACK.reo_wnd_persist's starting value).
const REO_WND_PERSIST: u32 = 16;

/// One transmission record: `[start, end)`, when it last left, and its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    start: SeqNum,
    end: SeqNum,
    /// Segment.xmit_ts: when it was last (re)transmitted.
    xmit: Instant,
    /// Segment.retransmitted: sent more than once.
    rexmit: bool,
    /// Delivered by a SACK block.
    sacked: bool,
    /// Segment.lost (and not retransmitted since).
    lost: bool,
    /// Not exact any more: a split inside it was refused, or newer data joined it and
    /// restamped it, at the record bound. It is judged as a whole, and gives an RTT only
    /// when an ACK covers all of it (`clean_rtt`).
    coarse: bool,
}

impl Seg {
    fn len(&self) -> usize {
        self.end.since(self.start)
    }
}

/// RFC 8985 6.2's `RACK_sent_after(t1, seq1, t2, seq2)`: whether the transmission
/// (t1, seq1) left after (t2, seq2); a tie in time (one burst, one super-segment) is
/// broken by sequence number.
fn sent_after(t1: Instant, seq1: SeqNum, t2: Instant, seq2: SeqNum) -> bool {
    t1 > t2 || (t1 == t2 && seq1 > seq2)
}

/// The RACK state of one connection (RFC 8985 6.1's RACK.* variables) and the
/// transmission records.
#[derive(Clone, Debug)]
pub struct Rack {
    segs: VecDeque<Seg>,
    /// RACK.xmit_ts and RACK.end_seq: the latest transmission known delivered.
    xmit_ts: Option<Instant>,
    end_seq: SeqNum,
    /// RACK.rtt: the RTT of that transmission.
    rtt: Duration,
    /// RACK.min_RTT.
    min_rtt: Option<Duration>,
    /// RACK.fack: the highest end sequence delivered.
    fack: Option<SeqNum>,
    /// RACK.reordering_seen.
    reord: bool,
    /// RACK.dsack_round: SND.NXT when the last D-SACK widened the window.
    dsack_round: Option<SeqNum>,
    /// RACK.reo_wnd_mult.
    reo_wnd_mult: u32,
    /// RACK.reo_wnd_persist.
    reo_wnd_persist: u32,
    /// Bytes in SACKed records.
    sacked: usize,
    /// Bytes in records marked lost and not retransmitted since.
    lost: usize,
    /// The records one ACK delivered (kept to save an allocation per ACK).
    scratch: Vec<Seg>,
    /// When the last retransmission timeout fired (for [`Rack::clean_rtt`]).
    timed_out_at: Option<Instant>,
}

impl Default for Rack {
    fn default() -> Self {
        Rack {
            segs: VecDeque::new(),
            xmit_ts: None,
            end_seq: SeqNum(0),
            rtt: Duration::ZERO,
            min_rtt: None,
            fack: None,
            reord: false,
            dsack_round: None,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            sacked: 0,
            lost: 0,
            scratch: Vec::new(),
            timed_out_at: None,
        }
    }
}

impl Rack {
    /// Records held.
    pub fn records(&self) -> usize {
        self.segs.len()
    }

    /// Bytes marked lost and not yet sent again.
    pub fn lost_bytes(&self) -> usize {
        self.lost
    }

    /// Whether reordering has been seen on the connection (RACK.reordering_seen).
    pub fn reordering_seen(&self) -> bool {
        self.reord
    }

    /// RACK.min_RTT, if measured.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// RFC 8985 6.2 step 1: an RTT measurement (RFC 6298 or RFC 7323) updates
    /// RACK.min_RTT.
    pub fn on_rtt_sample(&mut self, rtt: Duration) {
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
    }

    /// RFC 6675's pipe as RACK sees it: of the `outstanding` bytes (SND.MAX - SND.UNA),
    /// those neither SACKed nor lost and not yet sent again.
    pub fn pipe(&self, outstanding: usize) -> usize {
        outstanding.saturating_sub(self.sacked + self.lost)
    }

    /// RFC 8985 6.1: `[seq, seq + len)` left at `now`. New data gets a record; data sent
    /// again re-stamps its records (Segment.xmit_ts, Segment.retransmitted) and is no
    /// longer lost.
    pub fn on_send(&mut self, now: Instant, seq: SeqNum, len: usize) {
        if len == 0 {
            return;
        }
        let end = seq + len;
        let last_end = self.segs.back().map(|s| s.end);
        let new_from = match last_end {
            Some(e) if seq < e => {
                let upto = end.min(e);
                self.split_at(seq);
                self.split_at(upto);
                let i = self.segs.partition_point(|s| s.end <= seq);
                for s in self.segs.iter_mut().skip(i) {
                    if s.start >= upto {
                        break;
                    }
                    if s.lost {
                        self.lost = self.lost.saturating_sub(s.len());
                        s.lost = false;
                    }
                    s.xmit = now;
                    s.rexmit = true;
                }
                upto
            }
            _ => seq,
        };
        if end <= new_from {
            return;
        }
        // New data that follows the last record and leaves at the same moment joins it,
        // as a super-segment is one record: the records it would have made could never
        // be told apart (one xmit_ts; the tie in RFC 8985 6.2's RACK_sent_after is broken
        // by end sequence, and a record is split again at every SACK block edge and the
        // cumulative ACK before it is judged). A burst of a flush is one record, not one
        // per segment: fewer records to keep, walk and pop per ACK.
        if let Some(last) = self.segs.back_mut() {
            if last.end == new_from
                && last.xmit == now
                && !last.rexmit
                && !last.sacked
                && !last.lost
            {
                last.end = end;
                return;
            }
        }
        let rec = Seg {
            start: new_from,
            end,
            xmit: now,
            rexmit: false,
            sacked: false,
            lost: false,
            coarse: false,
        };
        if self.segs.len() < MAX_SEGS {
            self.segs.push_back(rec);
        } else if let Some(last) = self.segs.back_mut().filter(|l| !l.sacked && !l.lost) {
            last.end = end;
            last.xmit = now;
            last.coarse = true;
        }
    }

    /// Splits the record holding `seq` strictly inside it in two (while under the bound;
    /// at the bound the record is marked coarse instead).
    fn split_at(&mut self, seq: SeqNum) {
        let i = self.segs.partition_point(|s| s.end <= seq);
        let full = self.segs.len() >= MAX_SEGS;
        let Some(s) = self
            .segs
            .get_mut(i)
            .filter(|s| s.start < seq && seq < s.end)
        else {
            return;
        };
        if full {
            s.coarse = true;
            return;
        }
        let mut tail = *s;
        tail.start = seq;
        s.end = seq;
        self.segs.insert(i + 1, tail);
    }

    /// The RTT an ACK measures without timestamps (RFC 6298 3, Karn: never from a
    /// retransmitted segment): from the latest-sent transmission it delivers that was
    /// never retransmitted, as Linux takes its `seq_rtt` and `sack_rtt`. Read before
    /// [`Rack::on_ack_echoing`] takes the ACK in. Data acknowledged cumulatively gives a
    /// sample only if none of it was retransmitted (else the ACK may have waited for
    /// the retransmission filling a hole below it); newly SACKed data does (the receiver
    /// SACKs out-of-order data as it arrives). After a timeout only data sent since
    /// counts (RFC 6298 5: a new measurement "can only happen when new data has been
    /// sent and acknowledged"): the first report of an older segment, its ACKs lost
    /// while the sender waited out the back-off, would measure the wait (a 20%-loss
    /// `Sim` transfer's SRTT went to 8 s and its RTO to the 120 s maximum).
    pub fn clean_rtt(
        &self,
        now: Instant,
        una: SeqNum,
        blocks: &[(SeqNum, SeqNum)],
    ) -> Option<Duration> {
        let mut newest: Option<Instant> = None;
        let since = self.timed_out_at;
        let mut note = |s: &Seg| {
            let fresh = since.is_none_or(|t| s.xmit >= t);
            if fresh && !s.sacked && !s.rexmit && newest.is_none_or(|t| s.xmit > t) {
                newest = Some(s.xmit);
            }
        };
        // A record the ACK covers only in part counts: all of it left at one time (it
        // is split at the ACK's edges only once `on_ack_echoing` takes the ACK in, and
        // every earlier ACK's edges split it, so the part covered is new). A coarse
        // record (a split refused at the record bound) may hold a part an earlier ACK
        // or SACK block already covered, which would give a sample again: it counts
        // only when wholly covered. Karn's guard looks at everything covered.
        let covered = self.segs.iter().take_while(|s| s.start < una);
        if !covered.clone().any(|s| s.rexmit && !s.sacked) {
            covered
                .filter(|s| !s.coarse || s.end <= una)
                .for_each(&mut note);
        }
        for &(l, r) in blocks {
            let i = self.segs.partition_point(|s| s.end <= l);
            let inside = self.segs.range(i..).take_while(|s| s.start < r);
            inside
                .filter(|s| !s.coarse || (s.start >= l && s.end <= r))
                .for_each(&mut note);
        }
        newest.map(|t| now.saturating_duration_since(t))
    }

    /// RFC 8985 6.2 steps 2 and 3 for the records an ACK delivered: the cumulative ACK
    /// `una` and the SACK blocks `blocks` (D-SACK blocks left out by the caller). Updates
    /// RACK.xmit_ts/end_seq/rtt from the latest transmission delivered and notes
    /// reordering. Returns the bytes newly delivered by SACK. (Without timestamps: no
    /// echo to check, see [`Rack::on_ack_echoing`].)
    #[cfg(test)]
    pub fn on_ack(&mut self, now: Instant, una: SeqNum, blocks: &[(SeqNum, SeqNum)]) -> usize {
        self.on_ack_echoing(now, una, blocks, |_| false)
    }

    /// As [`Rack::on_ack`], for an ACK whose timestamp echo is known:
    /// `echo_predates(t)` says whether the ACK's TSecr is earlier than the timestamp of
    /// a transmission at `t` (RFC 8985 6.2 step 2's "ACK.ts_option.echo_reply <
    /// Segment.xmit_ts"): such an ACK, acknowledging a retransmitted segment
    /// cumulatively, was drawn by an earlier copy, and the retransmission gives RACK no
    /// RTT or send time.
    pub fn on_ack_echoing(
        &mut self,
        now: Instant,
        una: SeqNum,
        blocks: &[(SeqNum, SeqNum)],
        echo_predates: impl Fn(Instant) -> bool,
    ) -> usize {
        let mut newest: Option<Seg> = None;
        let mut delivered = std::mem::take(&mut self.scratch);
        delivered.clear();
        // Cumulatively acknowledged records.
        self.split_at(una);
        while let Some(s) = self.segs.front().copied() {
            if s.end > una {
                break;
            }
            self.segs.pop_front();
            if s.sacked {
                self.sacked = self.sacked.saturating_sub(s.len());
                continue;
            }
            if s.lost {
                self.lost = self.lost.saturating_sub(s.len());
            }
            delivered.push(s);
        }
        let mut newly_sacked = 0;
        for &(l, r) in blocks {
            if r <= l || r <= una {
                continue;
            }
            self.split_at(l);
            self.split_at(r);
            let i = self.segs.partition_point(|s| s.end <= l);
            for s in self.segs.iter_mut().skip(i) {
                if s.start >= r {
                    break;
                }
                if s.sacked || s.start < l {
                    continue;
                }
                s.sacked = true;
                self.sacked += s.len();
                newly_sacked += s.len();
                if s.lost {
                    self.lost = self.lost.saturating_sub(s.len());
                    s.lost = false;
                }
                delivered.push(*s);
            }
        }
        // Step 3 in ascending order of end sequence (records are in sequence order,
        // the cumulative part first, then each block's).
        delivered.sort_by(|a, b| a.end.diff(b.end).cmp(&0));
        for s in &delivered {
            match self.fack {
                Some(f) if s.end < f => {
                    if !s.rexmit {
                        self.reord = true;
                    }
                }
                _ => self.fack = Some(s.end),
            }
            // Step 2: a retransmission delivered sooner than the minimum RTT allows, or
            // acknowledged cumulatively by an ACK whose timestamp echo predates it, was
            // the original's delivery (a spurious retransmission): it says nothing about
            // when the retransmission left. The echo speaks only for the cumulative
            // part: RFC 7323 4.3 updates TS.Recent from in-order segments only, so the
            // ACK of a SACKed retransmission echoes an older segment's TSval whichever
            // copy arrived (skipping those starved lost-retransmission detection, an
            // RTO storm in the 20%-loss Sim transfer).
            let rtt = now - s.xmit;
            let echo_stale = s.end <= una && echo_predates(s.xmit);
            if s.rexmit && (echo_stale || self.min_rtt.is_some_and(|m| rtt < m)) {
                continue;
            }
            if newest.is_none_or(|n| sent_after(s.xmit, s.end, n.xmit, n.end)) {
                newest = Some(*s);
            }
        }
        self.scratch = delivered;
        if let Some(n) = newest {
            self.rtt = now - n.xmit;
            let later = self
                .xmit_ts
                .is_none_or(|t| sent_after(n.xmit, n.end, t, self.end_seq));
            if later {
                self.xmit_ts = Some(n.xmit);
                self.end_seq = n.end;
            }
        }
        newly_sacked
    }

    /// RFC 8985 6.2 step 4, on every ACK: a D-SACK widens the reordering window by one
    /// quarter of the minimum RTT, once per round trip (`snd_nxt` marks the round), for
    /// the next [`REO_WND_PERSIST`] recoveries.
    pub fn on_dsack(&mut self, dsack: bool, snd_una: SeqNum, snd_nxt: SeqNum) {
        if self.dsack_round.is_some_and(|r| snd_una >= r) {
            self.dsack_round = None;
        }
        if dsack && self.dsack_round.is_none() {
            self.dsack_round = Some(snd_nxt);
            self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1);
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// RFC 8985 6.2 step 4: a recovery (fast or after a timeout) ended: the widened
    /// window persists one recovery less.
    pub fn on_recovery_exit(&mut self) {
        if self.reo_wnd_persist > 0 {
            self.reo_wnd_persist -= 1;
            if self.reo_wnd_persist == 0 {
                self.reo_wnd_mult = 1;
            }
        }
    }

    /// RFC 8985 6.2 step 4's `RACK_update_reo_wnd()`: with no reordering seen, 0 in
    /// loss recovery or once DupThresh segments are SACKed (which keeps RFC 6675's
    /// fast-retransmit behaviour); else `reo_wnd_mult * min_RTT / 4`, at most SRTT.
    pub fn reo_wnd(
        &self,
        in_recovery: bool,
        segs_sacked: usize,
        srtt: Option<Duration>,
    ) -> Duration {
        if !self.reord && (in_recovery || segs_sacked >= super::sack::DUP_THRESH) {
            return Duration::ZERO;
        }
        let base = self.min_rtt.or(srtt).unwrap_or(self.rtt);
        let wnd = Duration::from_micros(
            base.total_micros()
                .saturating_mul(u64::from(self.reo_wnd_mult))
                / 4,
        );
        match srtt {
            Some(s) => wnd.min(s),
            None => wnd,
        }
    }

    /// RFC 8985 6.2 step 5, `RACK_detect_loss()`: marks lost every record sent before
    /// the latest delivered transmission that has waited `RACK.rtt + reo_wnd` since it
    /// left. Returns the bytes newly marked lost and, when some record is not yet lost
    /// only because of the reordering window, how long until it will be (6.3's
    /// reordering timer).
    pub fn detect_loss(&mut self, now: Instant, reo_wnd: Duration) -> (usize, Option<Duration>) {
        let Some(xmit_ts) = self.xmit_ts else {
            return (0, None);
        };
        let mut newly = 0;
        let mut timeout: Option<Duration> = None;
        for s in self.segs.iter_mut() {
            if sent_after(s.xmit, s.end, xmit_ts, self.end_seq) {
                // First transmissions leave in sequence order and sending again only
                // moves a record's time later, so every record after one sent once and
                // after RACK.xmit_ts was sent after it too: none of them is lost yet.
                // (Without this, each ACK walked the whole flight.)
                if !s.rexmit {
                    break;
                }
                continue;
            }
            if s.sacked || s.lost {
                continue;
            }
            judge(s, now, self.rtt + reo_wnd, &mut newly, &mut timeout);
        }
        self.lost += newly;
        (newly, timeout)
    }

    /// The first record marked lost and not yet sent again, from `from` on: RFC 6675's
    /// NextSeg() rule 1 with RACK's idea of lost. Returns its start and end.
    pub fn next_lost(&self, from: SeqNum) -> Option<(SeqNum, SeqNum)> {
        if self.lost == 0 {
            return None;
        }
        let i = self.segs.partition_point(|s| s.end <= from);
        self.segs
            .iter()
            .skip(i)
            .find(|s| s.lost)
            .map(|s| (s.start.max(from), s.end))
    }

    /// The retransmission timer fired at `now` (see [`Rack::clean_rtt`]).
    pub fn on_timeout(&mut self, now: Instant) {
        self.timed_out_at = Some(now);
    }

    /// RFC 8985 6.3 / RFC 2018 section 8: after a retransmission timeout the sender
    /// starts again from SND.UNA and forgets the SACK information (the receiver may
    /// renege): no record stays SACKed or lost; each is re-stamped when sent again.
    /// RACK.fack starts again too: the cumulative ACKs to come deliver data the receiver
    /// held all along (SACKed before and forgotten), which is no reordering (6.2 step 3).
    pub fn on_go_back(&mut self) {
        for s in self.segs.iter_mut() {
            s.sacked = false;
            s.lost = false;
        }
        self.sacked = 0;
        self.lost = 0;
        self.fack = None;
    }
}

/// RFC 8985 6.2 step 5 for one record sent before the latest delivered one: lost once
/// it has waited `wait` (RACK.rtt + RACK.reo_wnd) since it left, counted in `newly`;
/// otherwise `timeout` keeps the longest time still to wait (6.3's reordering timer).
fn judge(
    s: &mut Seg,
    now: Instant,
    wait: Duration,
    newly: &mut usize,
    timeout: &mut Option<Duration>,
) {
    let due = s.xmit + wait;
    if due <= now {
        s.lost = true;
        *newly += s.len();
    } else {
        let left = due - now;
        *timeout = Some(timeout.map_or(left, |t| t.max(left)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn dms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Ten segments at t = 0..9 ms from sequence 0.
    fn ten() -> Rack {
        let mut r = Rack::default();
        for i in 0..10u64 {
            r.on_send(ms(i), SeqNum(0) + i as usize * MSS, MSS);
        }
        r.on_rtt_sample(dms(100));
        r
    }

    fn s(n: usize) -> SeqNum {
        SeqNum(0) + n * MSS
    }

    /// RFC 8985 6.2 step 5: a segment sent before a delivered one is lost once RACK.rtt
    /// plus the reordering window has passed since it left; before then, the reordering
    /// timer's delay is returned.
    #[test]
    fn lost_after_rtt_plus_reordering_window() {
        let mut r = ten();
        // Segment 1 (sent at 1 ms) is SACKed at 101 ms: RACK.rtt = 100 ms.
        assert_eq!(r.on_ack(ms(101), s(0), &[(s(1), s(2))]), MSS);
        // reo_wnd = min_RTT / 4 = 25 ms: segment 0 (sent at 0) is lost at 125 ms.
        let wnd = r.reo_wnd(false, 1, Some(dms(100)));
        assert_eq!(wnd, dms(25));
        assert_eq!(r.detect_loss(ms(101), wnd), (0, Some(dms(24))));
        assert_eq!(r.detect_loss(ms(125), wnd), (MSS, None));
        assert_eq!(r.next_lost(s(0)), Some((s(0), s(1))));
        assert_eq!(r.pipe(10 * MSS), 8 * MSS, "one SACKed, one lost");
        // Sent again: no longer lost, in flight again, a retransmission.
        r.on_send(ms(126), s(0), MSS);
        assert_eq!(r.next_lost(s(0)), None);
        assert_eq!(r.pipe(10 * MSS), 9 * MSS);
    }

    /// RFC 8985 6.2 step 4: no reordering seen: the window is 0 in recovery and once
    /// DupThresh segments are SACKed; seen: min_RTT / 4 always, at most SRTT.
    #[test]
    fn reordering_window_rules() {
        let mut r = ten();
        assert_eq!(r.reo_wnd(true, 0, Some(dms(100))), Duration::ZERO);
        assert_eq!(r.reo_wnd(false, 3, Some(dms(100))), Duration::ZERO);
        assert_eq!(r.reo_wnd(false, 2, Some(dms(100))), dms(25));
        assert_eq!(
            r.reo_wnd(false, 2, Some(dms(10))),
            dms(10),
            "capped at SRTT"
        );
        // Segment 2 is SACKed, then segment 1 arrives late (never retransmitted):
        // reordering (step 3).
        r.on_ack(ms(102), s(0), &[(s(2), s(3))]);
        assert!(!r.reordering_seen());
        r.on_ack(ms(103), s(0), &[(s(1), s(3))]);
        assert!(r.reordering_seen());
        assert_eq!(r.reo_wnd(true, 5, Some(dms(100))), dms(25));
    }

    /// RFC 8985 6.2 step 4: a D-SACK widens the window by a quarter min RTT once per
    /// round; it falls back after 16 recoveries.
    #[test]
    fn dsack_widens_the_window() {
        let mut r = ten();
        r.on_ack(ms(102), s(0), &[(s(2), s(3))]);
        r.on_ack(ms(103), s(0), &[(s(1), s(3))]);
        r.on_dsack(true, s(0), s(10));
        r.on_dsack(true, s(0), s(10));
        assert_eq!(r.reo_wnd(false, 0, Some(dms(200))), dms(50));
        r.on_dsack(false, s(10), s(12));
        r.on_dsack(true, s(10), s(12));
        assert_eq!(r.reo_wnd(false, 0, Some(dms(200))), dms(75));
        for _ in 0..REO_WND_PERSIST {
            r.on_recovery_exit();
        }
        assert_eq!(r.reo_wnd(false, 0, Some(dms(200))), dms(25));
    }

    /// RFC 8985 6.2: a retransmission that is lost again is found lost once data sent
    /// after it is delivered, wherever it lies in the window.
    #[test]
    fn lost_retransmission_is_detected() {
        let mut r = ten();
        r.on_ack(ms(110), s(0), &[(s(3), s(10))]);
        let (lost, _) = r.detect_loss(ms(110), Duration::ZERO);
        assert_eq!(lost, 3 * MSS);
        // 0, 1, 2 sent again at 110 ms; new data 10 at 111 ms.
        for k in 0..3 {
            r.on_send(ms(110), s(k), MSS);
        }
        r.on_send(ms(111), s(10), MSS);
        assert_eq!(r.lost_bytes(), 0);
        // 0 and 2 arrive, 1 is lost again; 10 arrives at 211 ms.
        r.on_ack(ms(210), s(1), &[(s(2), s(10))]);
        r.on_ack(ms(211), s(1), &[(s(2), s(11))]);
        assert_eq!(r.detect_loss(ms(211), Duration::ZERO), (MSS, None));
        assert_eq!(r.next_lost(s(1)), Some((s(1), s(2))));
    }

    /// RFC 8985 6.2 step 2: a retransmission (of segment 0, at 150 ms) acknowledged
    /// cumulatively by an ACK whose timestamp echo predates it was the original's
    /// delivery: RACK.xmit_ts
    /// stays, and nothing sent before the retransmission is deemed lost. The same ACK
    /// echoing the retransmission itself moves RACK.xmit_ts to 150 ms, and segments 1-9
    /// (sent at 1-9 ms, a round trip ago) are lost; so does a SACK of a retransmission,
    /// whatever its ACK echoes.
    #[test]
    fn echo_older_than_a_retransmission_gives_no_rack_sample() {
        let mut r = ten();
        r.on_send(ms(150), s(0), MSS);
        r.on_ack_echoing(ms(260), s(1), &[], |t| t > ms(0));
        assert_eq!(r.detect_loss(ms(260), Duration::ZERO), (0, None));
        let mut r = ten();
        r.on_send(ms(150), s(0), MSS);
        r.on_ack_echoing(ms(260), s(1), &[], |_| false);
        assert_eq!(r.detect_loss(ms(260), Duration::ZERO), (9 * MSS, None));
        // A SACKed retransmission counts whatever the echo: the ACK of out-of-order
        // data echoes an older in-order segment's TSval (RFC 7323 4.3).
        let mut r = ten();
        r.on_send(ms(150), s(5), MSS);
        r.on_ack_echoing(ms(260), s(0), &[(s(5), s(6))], |t| t > ms(0));
        assert_eq!(r.detect_loss(ms(260), Duration::ZERO), (9 * MSS, None));
    }

    /// A burst (segments that leave at one moment, back to back) is one record, as a
    /// super-segment is: the same verdicts as one record per segment, since a SACK
    /// splits it at the block's edges before anything is judged. A segment sent later
    /// starts a record of its own.
    #[test]
    fn a_burst_is_one_record_judged_as_its_segments() {
        let mut r = Rack::default();
        for k in 0..10 {
            r.on_send(ms(0), s(k), MSS);
        }
        r.on_send(ms(1), s(10), MSS);
        assert_eq!(r.records(), 2);
        // Segments 4-9 and 10 are SACKed 100 ms later: 0-3, sent before them, are lost.
        r.on_ack(ms(100), s(0), &[(s(4), s(11))]);
        assert_eq!(r.detect_loss(ms(100), Duration::ZERO), (4 * MSS, None));
        assert_eq!(r.next_lost(s(0)), Some((s(0), s(4))));
        // Sending 0 again re-stamps 0 alone; 1-3 stay lost.
        r.on_send(ms(100), s(0), MSS);
        assert_eq!(r.lost_bytes(), 3 * MSS);
        assert_eq!(r.next_lost(s(0)), Some((s(1), s(4))));
    }

    /// RFC 6298 3 (Karn) at the record bound: a split the bound refuses leaves the
    /// record straddling SND.UNA coarse, and a later ACK that covers no more of it
    /// measures nothing (counted as partly covered, its old part would be timed again
    /// from its send).
    #[test]
    fn a_record_left_unsplit_at_the_bound_is_not_timed_again() {
        let mut r = Rack::default();
        for k in 0..MAX_SEGS {
            r.on_send(ms(k as u64), s(k), MSS);
        }
        assert_eq!(r.records(), MAX_SEGS);
        let una = s(5) + MSS / 2;
        assert!(
            r.clean_rtt(ms(9000), una, &[]).is_some(),
            "the first ACK measures"
        );
        r.on_ack(ms(9000), una, &[]);
        assert!(r.records() < MAX_SEGS, "records 0-4 went");
        assert_eq!(r.clean_rtt(ms(9100), una, &[]), None, "nothing new covered");
    }

    /// RFC 6298 3 through RACK's records (`clean_rtt`): an ACK that covers only part of
    /// a burst's record measures from the burst's send time.
    #[test]
    fn part_of_a_burst_acknowledged_measures_its_rtt() {
        let mut r = Rack::default();
        for k in 0..10 {
            r.on_send(ms(5), s(k), MSS);
        }
        assert_eq!(
            r.clean_rtt(ms(45), s(3), &[]),
            Some(Duration::from_millis(40))
        );
        assert_eq!(
            r.clean_rtt(ms(45), s(0), &[(s(6), s(7))]),
            Some(Duration::from_millis(40))
        );
    }

    /// A super-segment is split at SACK block edges; its parts share a send time, so
    /// the tie is broken by sequence (RACK_sent_after).
    #[test]
    fn super_segment_split_by_sacks() {
        let mut r = Rack::default();
        r.on_send(ms(0), s(0), 10 * MSS);
        r.on_ack(ms(50), s(0), &[(s(4), s(10))]);
        assert_eq!(r.records(), 2);
        assert_eq!(r.detect_loss(ms(50), Duration::ZERO), (4 * MSS, None));
        assert_eq!(r.next_lost(s(2)), Some((s(2), s(4))));
        r.on_ack(ms(60), s(10), &[]);
        assert_eq!((r.records(), r.lost_bytes(), r.pipe(0)), (0, 0, 0));
    }

    /// RFC 8985 6.2 step 5 as written, looking at every record: what `detect_loss`,
    /// which stops at the first record sent once after RACK.xmit_ts, must agree with.
    fn detect_loss_every_record(
        r: &mut Rack,
        now: Instant,
        reo_wnd: Duration,
    ) -> (usize, Option<Duration>) {
        let Some(xmit_ts) = r.xmit_ts else {
            return (0, None);
        };
        let (mut newly, mut timeout) = (0, None::<Duration>);
        for s in r.segs.iter_mut() {
            if s.sacked || s.lost || sent_after(s.xmit, s.end, xmit_ts, r.end_seq) {
                continue;
            }
            judge(s, now, r.rtt + reo_wnd, &mut newly, &mut timeout);
        }
        r.lost += newly;
        (newly, timeout)
    }

    /// The byte counts behind the pipe stay equal to the records' flags, and the records
    /// sorted and disjoint, whatever the peer's ACKs and SACK blocks say (hostile or
    /// nonsense blocks included) and whatever is sent again; and loss detection marks
    /// what a look at every record would.
    #[test]
    fn counts_stay_exact_under_random_acks() {
        let mut rng = crate::rand::Rng::new(7);
        let mut r = Rack::default();
        let base = SeqNum(u32::MAX - 50_000);
        let (mut una, mut nxt) = (base, base);
        let (mut ever_lost, mut ever_sacked) = (false, false);
        for step in 0..20_000u64 {
            let now = ms(step);
            match rng.range_u64(0, 5) {
                0 | 1 => {
                    let len = rng.range_u64(1, 3 * MSS as u64) as usize;
                    r.on_send(now, nxt, len);
                    nxt += len;
                }
                2 if nxt > una => {
                    let off = rng.range_u64(0, nxt.since(una) as u64) as usize;
                    let len = rng.range_u64(1, 2 * MSS as u64) as usize;
                    r.on_send(now, una + off, len.min(nxt.since(una + off)).max(1));
                }
                3 => {
                    let wild = |rng: &mut crate::rand::Rng| SeqNum(rng.next_u32());
                    let near = |rng: &mut crate::rand::Rng| {
                        una + rng.range_u64(0, nxt.since(una) as u64 + 1) as usize
                    };
                    let blocks: Vec<(SeqNum, SeqNum)> = (0..rng.range_u64(0, 4))
                        .map(|_| {
                            if rng.chance(0.1) {
                                (wild(&mut rng), wild(&mut rng))
                            } else {
                                (near(&mut rng), near(&mut rng))
                            }
                        })
                        .collect();
                    if rng.chance(0.3) {
                        una = una + rng.range_u64(0, nxt.since(una) as u64 + 1) as usize;
                    }
                    r.on_ack(now, una, &blocks);
                    let reo_wnd = Duration::from_millis(rng.range_u64(0, 50));
                    let mut every = r.clone();
                    let want = detect_loss_every_record(&mut every, now, reo_wnd);
                    assert_eq!(r.detect_loss(now, reo_wnd), want, "step {step}");
                    assert_eq!(r.segs, every.segs, "step {step}");
                }
                _ => {
                    if rng.chance(0.01) {
                        r.on_go_back();
                    }
                }
            }
            let lost: usize = r.segs.iter().filter(|s| s.lost).map(Seg::len).sum();
            let sacked: usize = r.segs.iter().filter(|s| s.sacked).map(Seg::len).sum();
            assert_eq!((r.lost, r.sacked), (lost, sacked), "step {step}");
            ever_lost |= lost > 0;
            ever_sacked |= sacked > 0;
            assert!(r.segs.iter().all(|s| s.start < s.end), "step {step}");
            assert!(
                r.segs
                    .iter()
                    .zip(r.segs.iter().skip(1))
                    .all(|(a, b)| a.end <= b.start),
                "step {step}: records overlap"
            );
            if let Some((s, e)) = r.next_lost(una) {
                assert!(s >= una && s < e, "step {step}");
            }
        }
        assert!(
            ever_lost && ever_sacked,
            "the walk marked records lost and SACKed"
        );
    }

    /// After a timeout nothing stays SACKed or lost (RFC 2018 section 8), and the
    /// cumulative ACK of data SACKed before it is no reordering.
    #[test]
    fn go_back_forgets() {
        let mut r = ten();
        r.on_ack(ms(110), s(0), &[(s(3), s(10))]);
        r.detect_loss(ms(110), Duration::ZERO);
        r.on_go_back();
        assert_eq!(r.pipe(10 * MSS), 10 * MSS);
        assert_eq!(r.next_lost(s(0)), None);
        for k in 0..3 {
            r.on_send(ms(300), s(k), MSS);
        }
        r.on_ack(ms(400), s(10), &[]);
        assert!(!r.reordering_seen());
    }
}
