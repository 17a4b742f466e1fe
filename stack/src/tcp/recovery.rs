//! The sender's loss detection and recovery beside the RFC 5681/6582 duplicate-ACK
//! machinery of `input.rs`: RACK (RFC 8985 section 6, state in `rack.rs`) decides what
//! is lost when SACK is on and starts recovery; the tail loss probe (RFC 8985 section 7);
//! PRR's per-ACK steps (RFC 9937, arithmetic in `prr.rs`); D-SACK reading with the undo
//! of a spurious fast retransmit (RFC 2883 section 5, RFC 3708; state in `undo.rs`); and
//! the go-back to SND.UNA that ends any recovery episode, after a timeout or a lowered
//! path MTU.

use super::conn::Connection;
use super::input::InputCtx;
use super::output::{Outgoing, OutputCtx};
use super::seq::SeqNum;
use super::timer::Timer;
use super::trace::Cause;
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpRepr;

const LOG: &str = "tunstack::tcp";

/// The state of one loss-recovery episode, beside `Connection::in_recovery`: what RFC
/// 5681, RFC 6582 and RFC 6675 keep across the ACKs of an episode, and the tail loss
/// probe outstanding (RFC 8985 7.4). The RACK records, PRR and the undo states have
/// their own types (`rack.rs`, `prr.rs`, `undo.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Episode {
    /// RFC 6582 `recover` / RFC 6675 RecoveryPoint: SND.MAX when the last recovery or
    /// timeout began; no new recovery before the cumulative ACK reaches it.
    pub recover: SeqNum,
    /// RFC 5681 3.2 steps 3-4: the window inflation during fast recovery without SACK
    /// (and RFC 3042 limited transmit before it).
    pub inflation: usize,
    /// RFC 6675 HighRxt: the highest sequence number retransmitted in this recovery.
    pub high_rxt: SeqNum,
    /// RFC 5681 section 2's duplicate ACKs in a row.
    pub dup_acks: u32,
    /// A retransmission of the segment at SND.UNA is due (fast retransmit, partial ACK).
    pub retransmit_una: bool,
    /// RFC 8985 7.4: the probe outstanding (TLP.end_seq, TLP.is_retrans), until its ACK
    /// tells whether it repaired a loss.
    pub tlp_end: Option<(SeqNum, bool)>,
}

impl Episode {
    /// No episode yet, for a connection whose ISS is `iss`.
    pub fn new(iss: SeqNum) -> Episode {
        Episode {
            recover: iss,
            inflation: 0,
            high_rxt: iss,
            dup_acks: 0,
            retransmit_una: false,
            tlp_end: None,
        }
    }

    /// A go-back to SND.UNA (`una`) with SND.MAX at `snd_max`: what was pending is
    /// forgotten and `recover` is SND.MAX (RFC 6582 section 4).
    fn go_back(&mut self, una: SeqNum, snd_max: SeqNum) {
        *self = Episode {
            recover: snd_max,
            high_rxt: una,
            ..Episode::new(una)
        };
    }
}

impl Connection {
    /// Ends any loss recovery episode and rewinds sending to SND.UNA: everything in flight
    /// goes again as the window allows. What a retransmission timeout does (RFC 6298 5.4)
    /// after its congestion response, and what a lowered path MTU does without one
    /// (`pmtu.rs`).
    pub(crate) fn go_back_to_una(&mut self) {
        self.in_recovery = false;
        // RFC 9937 completion steps: the PRR episode ends.
        self.prr.exit();
        // RFC 3708 tracks fast retransmit episodes only.
        self.undo = None;
        // RFC 2018 section 8: the SACK information is dropped (the receiver may have
        // reneged), and with it RACK's marks.
        self.scoreboard.clear();
        self.rack.on_go_back();
        self.timers.stop(Timer::RackReorder);
        // RFC 6582 section 4: `recover` is the highest sequence number sent, so duplicate
        // ACKs the resent data draws do not start a fast retransmit before all of it is
        // acknowledged; nothing else of the episode is kept.
        self.rec.go_back(self.snd_una, self.snd_max);
        // Karn: the retransmission is not timed.
        self.sampler.on_retransmit();
        self.snd_nxt = self.snd_una;
    }

    /// RFC 9937 for an ACK that starts or continues SACK recovery (not the one that ends
    /// it): the episode begins with the ACK that started recovery (initialization steps),
    /// then every ACK feeds its DeliveredData (`change_in(snd.una) + change_in(SACKd)`),
    /// the RFC 6675 pipe and whether it is a safe ACK to PRR, which sets the window the
    /// send loop works to.
    pub(crate) fn prr_on_ack(
        &mut self,
        una_before: SeqNum,
        sacked_before: usize,
        newly_sacked: usize,
        further_loss: bool,
    ) {
        if !self.cc.uses_prr() {
            return;
        }
        let acked = self.snd_una.since(una_before);
        let sacked = self.scoreboard.sacked_bytes();
        if !self.prr.active() {
            self.prr.enter(
                self.snd_max.since(self.snd_una),
                sacked,
                newly_sacked,
                acked,
            );
        }
        let mss = self.payload_mss();
        let delivered = (acked + sacked).saturating_sub(sacked_before);
        let pipe = self.sack_pipe();
        // safeACK: "SND.UNA advances and no further loss indicated": RACK marked nothing
        // newly lost on this ACK.
        let safe = acked > 0 && !further_loss;
        let sample = super::prr::AckSample {
            delivered,
            pipe,
            safe,
        };
        self.prr.on_ack(sample, self.cc.ssthresh(), mss);
    }

    /// RFC 3708 section 3: a D-SACK reports `[l, r)` duplicate; once every retransmission
    /// of the fast-retransmit episode has been so reported and recovery is over (a
    /// retransmission still to come would need its own report), the reduction was
    /// spurious: cwnd and ssthresh go back to their values before it.
    pub(crate) fn on_dsack_undo(
        &mut self,
        now: Instant,
        dsack: Option<(SeqNum, SeqNum)>,
        ctx: &mut InputCtx<'_>,
    ) {
        let Some(undo) = self.undo.as_mut() else {
            return;
        };
        if let Some((l, r)) = dsack {
            undo.on_dsack(l, r);
        }
        if self.in_recovery || !undo.spurious() {
            return;
        }
        let Some(undo) = self.undo.take() else {
            return;
        };
        self.cc.undo(undo.prior_cwnd, undo.prior_ssthresh);
        ctx.stats.tcp_dsack_undo += 1;
        log::debug!(target: LOG, "{} -> {}: spurious fast retransmit (D-SACK), window restored to {} at {:?}",
            self.local, self.remote, self.cc.cwnd(), now);
    }
}

impl Connection {
    /// RFC 6675's pipe with SACK in use: the bytes outstanding that are neither SACKed
    /// nor marked lost by RACK (RFC 8985 6.2) and not yet sent again.
    pub(crate) fn sack_pipe(&self) -> usize {
        self.rack.pipe(self.snd_max.since(self.snd_una))
    }

    /// RFC 8985 6.2 steps 1-5 for an ACK on a connection with SACK: the records it
    /// delivered (cumulatively or by its SACK blocks, not a D-SACK block) update RACK;
    /// a D-SACK widens the reordering window; then loss detection runs, and a loss
    /// starts recovery. Returns the bytes this ACK made lost (RFC 9937's "further loss").
    pub(crate) fn rack_on_ack(
        &mut self,
        now: Instant,
        blocks: &[Option<(u32, u32)>],
        dsack: bool,
        stats: &mut Stats,
    ) -> usize {
        if !self.opts.sack {
            return 0;
        }
        let mut sacked = [(SeqNum(0), SeqNum(0)); 4];
        let mut n = 0;
        for &(l, r) in blocks.iter().skip(usize::from(dsack)).flatten() {
            sacked[n] = (SeqNum(l), SeqNum(r));
            n += 1;
        }
        self.rack.on_ack(now, self.snd_una, &sacked[..n]);
        self.rack.on_dsack(dsack, self.snd_una, self.snd_max);
        self.rack_detect(now, stats)
    }

    /// RFC 8985 6.3: the reordering timer fired: detect losses again (the timer is
    /// re-armed if some segment is still within its window).
    pub(crate) fn rack_on_timer(&mut self, now: Instant, stats: &mut Stats) {
        if self.opts.sack && self.snd_max != self.snd_una {
            self.rack_detect(now, stats);
        }
    }

    /// RFC 8985 6.2 step 5 and 6.3: marks losses, arms or stops the reordering timer,
    /// and enters recovery when something is lost.
    fn rack_detect(&mut self, now: Instant, stats: &mut Stats) -> usize {
        let mss = self.payload_mss();
        let segs_sacked = self.scoreboard.sacked_bytes() / mss;
        let reo_wnd = self
            .rack
            .reo_wnd(self.in_recovery, segs_sacked, self.rtt.srtt());
        let (newly, timeout) = self.rack.detect_loss(now, reo_wnd);
        match timeout {
            Some(t) => self.timers.set(Timer::RackReorder, now + t),
            None => self.timers.stop(Timer::RackReorder),
        }
        if newly > 0 {
            log::debug!(target: LOG, "{} -> {}: RACK: {newly} bytes lost (reo_wnd {reo_wnd})",
                self.local, self.remote);
        }
        if self.rack.lost_bytes() > 0 && !self.in_recovery {
            self.enter_recovery(now, stats);
        }
        newly
    }

    /// Loss detected (RFC 5681 3.2's third duplicate ACK without SACK; RACK with it):
    /// unless the ACK does not yet cover `recover` (RFC 6582 3.2 step 2: "the Cumulative
    /// Acknowledgment field covers more than recover", the highest sequence number sent
    /// when the last recovery or timeout began, which is `recover - 1` here: no second
    /// reduction for the same window, nor for the echoes of a go-back after a timeout),
    /// fast recovery starts: one congestion event, and the first lost segment goes at
    /// once (RFC 6675 5 (4.2)). A loss of the very segment at `recover`, sent after the
    /// last recovery began, is a new window's.
    pub(crate) fn enter_recovery(&mut self, now: Instant, stats: &mut Stats) {
        if self.snd_una < self.rec.recover && self.rec.recover != self.iss {
            return;
        }
        let flight = self.snd_max.since(self.snd_una);
        let mss = self.payload_mss();
        if self.opts.sack {
            // RFC 3708: remember the window, to undo the reduction if D-SACKs show the
            // retransmissions spurious.
            self.undo = Some(super::undo::Undo::new(self.cc.cwnd(), self.cc.ssthresh()));
        }
        self.in_recovery = true;
        self.rec.recover = self.snd_max;
        self.cc.on_congestion_event(now, flight);
        self.rec.high_rxt = self.snd_una;
        self.timers.stop(Timer::LossProbe);
        // The retransmission of the first lost segment leaves in this turn: the RTO
        // restarts with it (RFC 6298 5.1's "including a retransmission", as Linux
        // re-arms it when it retransmits the head), so a timer due at the same instant
        // does not pre-empt the fast retransmit.
        self.arm_rto(now);
        if self.opts.sack {
            // RFC 6675: the pipe estimate replaces window inflation; the send loop then
            // retransmits what RACK marked lost (NextSeg rule 1).
            self.rec.inflation = 0;
            self.rec.retransmit_una = self
                .rack
                .next_lost(self.snd_una)
                .is_some_and(|(s, _)| s == self.snd_una);
        } else {
            self.rec.inflation = 3 * mss;
            self.rec.retransmit_una = true;
        }
        self.stats.fast_retransmits += 1;
        stats.tcp_fast_retrans += 1;
        self.sampler.on_retransmit();
        log::debug!(target: LOG, "{} -> {}: fast retransmit at {} (cwnd {})",
            self.local, self.remote, self.snd_una, self.cc.cwnd());
    }

    /// RFC 8985 7.2's conditions for a probe: data outstanding, not in loss recovery, no
    /// probe outstanding, and (with SACK) nothing SACKed, which RACK would handle.
    pub(crate) fn tlp_may_fire(&self) -> bool {
        self.tlp_enabled
            && self.snd_max != self.snd_una
            && !self.in_recovery
            && !self.tlp_out
            && self.state.is_synchronized()
            && self.scoreboard.is_empty()
    }

    /// RFC 8985 section 7.2: arms the tail loss probe timer, PTO = 2 * SRTT (plus the
    /// peer's delayed-ACK allowance, 40 ms, when one segment is in flight), at most
    /// until the RTO would fire: a lost tail then costs a couple of round trips, not an
    /// RTO. (RFC 8985 asks for SACK; tunstack probes without it too, where the probe's
    /// duplicate ACK can still start early retransmit.)
    pub(crate) fn arm_tlp(&mut self, now: Instant) {
        let Some(srtt) = self.rtt.srtt() else {
            return;
        };
        if !self.tlp_may_fire() {
            self.timers.stop(Timer::LossProbe);
            return;
        }
        let mut pto = srtt.saturating_mul(2).max(Duration::from_millis(10));
        if self.snd_max.since(self.snd_una) <= self.payload_mss() {
            pto += Duration::from_millis(40);
        }
        let mut at = now + pto;
        if let Some(rto) = self.timers.get(Timer::Retransmit) {
            at = at.min(rto);
        }
        self.timers.set(Timer::LossProbe, at);
    }

    /// RFC 8985 7.3: the loss probe: one new segment if the receiver's window allows,
    /// else the last segment sent again; then the RTO is re-armed. TLP.end_seq is noted
    /// for 7.4's loss detection.
    pub(crate) fn send_loss_probe(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_>),
    ) {
        self.trace.why(Cause::Tlp);
        let mss = self.payload_mss();
        let offset = self.snd_nxt.since(self.snd_una);
        let unsent = self.send_buf.len().saturating_sub(offset);
        let room = (self.snd_una + self.snd_wnd).since(self.snd_nxt);
        self.tlp_out = true;
        ctx.stats.tcp_loss_probes += 1;
        let rexmit = !(unsent > 0 && room > 0 && self.snd_nxt == self.snd_max);
        if !rexmit {
            let len = unsent.min(room).min(mss);
            let seq = self.snd_nxt;
            self.emit_segment(now, seq, len, false, ctx, emit, false);
        } else {
            let data_end = self.snd_una + self.send_buf.len().min(self.snd_max.since(self.snd_una));
            let len = data_end.since(self.snd_una).min(mss);
            if len == 0 {
                return;
            }
            let seq = data_end - len;
            self.emit_segment(now, seq, len, false, ctx, emit, true);
        }
        self.rec.tlp_end = Some((self.snd_max, rexmit));
        self.arm_rto(now);
    }

    /// RFC 8985 7.4.2: the ACK of a probe episode. A probe of new data needs nothing
    /// (RACK sees any loss). For a retransmitted probe: a D-SACK means both copies
    /// arrived (no loss); an ACK beyond TLP.end_seq means the probe repaired a loss
    /// RACK could not see, and the congestion controller answers it as a loss (7.4.2:
    /// "invoke the congestion control"), leaving cwnd at the reduced ssthresh.
    pub(crate) fn tlp_on_ack(
        &mut self,
        now: Instant,
        ack: SeqNum,
        dsack: bool,
        pure_dup: bool,
        stats: &mut Stats,
    ) {
        let Some((end, rexmit)) = self.rec.tlp_end else {
            return;
        };
        if ack < end {
            return;
        }
        if !rexmit || dsack {
            self.rec.tlp_end = None;
        } else if ack > end {
            self.rec.tlp_end = None;
            if !self.in_recovery {
                // The loss was of the window the probe ended (what is in flight now
                // says nothing about it): as Linux's ssthresh from cwnd.
                let window = self.cc.cwnd();
                self.cc.on_congestion_event(now, window);
                self.cc.on_recovery_exit(now, self.cc.ssthresh());
                stats.tcp_loss_probe_recovery += 1;
                log::debug!(target: LOG, "{} -> {}: the loss probe repaired a loss: cwnd {}",
                    self.local, self.remote, self.cc.cwnd());
            }
        } else if pure_dup {
            // The ACK of TLP.end_seq itself, once more: the episode is over.
            self.rec.tlp_end = None;
        }
    }
}

impl Connection {
    /// RFC 3522 section 3 / RFC 4015: on the first timeout of a series, with timestamps
    /// in use, remember the window and the retransmission's timestamp (the go-back
    /// retransmission leaves in this same turn, with this TSval or a later one, which only
    /// makes the test stricter). A later timeout in the series forgets it.
    pub(crate) fn rto_undo_on_rto(&mut self, now: Instant) {
        self.rto_undo =
            (self.opts.timestamps && self.rto_count == 1).then(|| super::undo::RtoUndo {
                prior_cwnd: self.cc.cwnd(),
                prior_ssthresh: self.cc.ssthresh(),
                prior_recover: self.rec.recover,
                retransmit_ts: self.ts_now(now),
            });
    }

    /// RFC 3522 section 2 (Eifel detection): the first ACK of new data after a timeout
    /// echoes a timestamp older than the retransmission's: it acknowledges the original
    /// transmission, and the timeout was spurious. RFC 4015 section 3.2 (Eifel
    /// response): cwnd and ssthresh go back to their values before it, sending resumes
    /// with new data (SND.NXT = SND.MAX: the originals are on their way), and `recover`
    /// is what it was, so a real loss in the window can still start fast recovery.
    pub(crate) fn rto_undo_on_ack(&mut self, now: Instant, tsecr: Option<u32>, stats: &mut Stats) {
        let Some(u) = self.rto_undo.take() else {
            return;
        };
        if !tsecr.is_some_and(|e| u.spurious(e)) {
            return;
        }
        self.cc.undo(u.prior_cwnd, u.prior_ssthresh);
        self.snd_nxt = self.snd_max;
        self.rec.recover = u.prior_recover;
        stats.tcp_spurious_rtos += 1;
        log::debug!(target: LOG, "{} -> {}: spurious RTO (Eifel), window restored to {} at {:?}",
            self.local, self.remote, self.cc.cwnd(), now);
    }
}

impl Connection {
    /// RFC 9293 3.10.7.4 fifth, the ACK field of an acceptable segment, in the order the
    /// RFCs stack up: D-SACK (RFC 2883 5), the SACK scoreboard (RFC 2018), SND.UNA and the
    /// RTT, congestion control and the end of recovery (`ack_advance`) or a duplicate ACK
    /// (RFC 5681 2, `maybe_dup_ack`), RACK's loss detection (RFC 8985 6.2), the TLP
    /// episode (RFC 8985 7.4), PRR (RFC 9937), the delivery-rate sample, and D-SACK undo
    /// (RFC 3708).
    pub(crate) fn on_ack_field(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ack: SeqNum,
        seg_len: usize,
        ctx: &mut InputCtx<'_>,
    ) {
        // RFC 2883 section 5: the first SACK block is a D-SACK when it lies at or below
        // the cumulative ACK, or within the second block.
        let dsack = (self.opts.sack && is_dsack(&seg.sack_ranges, ack))
            .then(|| seg.sack_ranges[0])
            .flatten();
        if dsack.is_some() {
            ctx.stats.tcp_dsack_recv += 1;
        }
        // RFC 2018 / RFC 6675: take in the SACK blocks before acting on the ACK.
        let sacked_before = self.scoreboard.sacked_bytes();
        let una_before = self.snd_una;
        let sacks_new = self.opts.sack
            && self
                .scoreboard
                .update(&seg.sack_ranges, self.snd_una, self.snd_max);
        let newly_sacked = self.scoreboard.sacked_bytes().saturating_sub(sacked_before);
        if ack > self.snd_una {
            self.ack_advance(now, ack, seg, ctx);
        } else if ack == self.snd_una {
            self.maybe_dup_ack(now, seg, seg_len, sacks_new, ctx);
        }
        // RFC 8985 6.2: RACK's loss detection (SACK only), which may start recovery.
        let further_loss = self.rack_on_ack(now, &seg.sack_ranges, dsack.is_some(), ctx.stats) > 0;
        let pure_dup = self.snd_una == una_before && !sacks_new;
        self.tlp_on_ack(now, ack, dsack.is_some(), pure_dup, ctx.stats);
        if self.in_recovery && self.opts.sack {
            self.prr_on_ack(una_before, sacked_before, newly_sacked, further_loss);
        }
        // Draft-ietf-ccwg-bbr-06 4.1: the ACK's delivery-rate sample (`pace.rs`).
        self.rate_on_ack(now, &seg.sack_ranges, dsack.is_some());
        let dsack = dsack.map(|(l, r)| (SeqNum(l), SeqNum(r)));
        self.on_dsack_undo(now, dsack, ctx);
    }
}

/// RFC 2883 section 5: whether the first SACK block of an ACK reports a duplicate: it
/// covers data at or below the cumulative ACK, or lies within the second block.
pub(crate) fn is_dsack(blocks: &[Option<(u32, u32)>], ack: SeqNum) -> bool {
    let Some(Some((l, r))) = blocks.first().copied() else {
        return false;
    };
    let (l, r) = (SeqNum(l), SeqNum(r));
    if r <= l {
        return false;
    }
    if r <= ack {
        return true;
    }
    match blocks.get(1).copied().flatten() {
        Some((l2, r2)) => SeqNum(l2) <= l && r <= SeqNum(r2),
        None => false,
    }
}
