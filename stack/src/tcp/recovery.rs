//! The sender's loss detection and recovery, behind a small interface: the episode's
//! state ([`Episode`]: in recovery or not, `recover`, inflation, duplicate ACKs,
//! the pending fast retransmit) is this module's alone, as gVisor keeps its
//! recovery behind `recovery` and its congestion control behind `congestionControl`.
//! Here: the ACK field's processing in RFC order ([`Connection::on_ack_field`]), RFC
//! 5681/6582 duplicate ACKs and NewReno's partial and full ACKs; RACK (RFC 8985 section
//! 6, state in `rack.rs`), which decides what is lost when SACK is on and starts
//! recovery; PRR's per-ACK steps (RFC 9937, arithmetic in `prr.rs`); D-SACK reading with
//! the undo of a spurious fast retransmit (RFC 2883 section 5, RFC 3708; state in
//! `undo.rs`); and the go-back to SND.UNA that ends any recovery episode, after a
//! timeout or a lowered path MTU. The tail loss probe is `tlp.rs`; the spurious timeout
//! detection (Eifel, F-RTO) is `undo.rs`.

use super::conn::Connection;
use super::input::InputCtx;
use super::seq::SeqNum;
use super::timer::Timer;
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::wire::tcp::TcpRepr;

const LOG: &str = "tunstack::tcp";

/// The state of one loss-recovery episode: what RFC 5681, RFC 6582 and RFC 6675 keep
/// across the ACKs of an episode. Its fields are this module's alone; the rest of the
/// connection asks through the methods below. The RACK records, PRR, the tail loss
/// probe and the undo states have their own types (`rack.rs`, `prr.rs`, `tlp.rs`,
/// `undo.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Episode {
    /// NewReno (RFC 6582) / RFC 6675: in loss recovery until `recover` is acknowledged.
    active: bool,
    /// RFC 6582 `recover` / RFC 6675 RecoveryPoint: SND.MAX when the last recovery or
    /// timeout began; no new recovery before the cumulative ACK reaches it.
    recover: SeqNum,
    /// RFC 5681 3.2 steps 3-4: the window inflation during fast recovery without SACK
    /// (and RFC 3042 limited transmit before it).
    inflation: usize,
    /// RFC 5681 section 2's duplicate ACKs in a row.
    dup_acks: u32,
    /// A retransmission of the segment at SND.UNA is due (fast retransmit, partial ACK).
    retransmit_una: bool,
}

impl Episode {
    /// No episode yet, for a connection whose ISS is `iss`.
    pub fn new(iss: SeqNum) -> Episode {
        Episode {
            active: false,
            recover: iss,
            inflation: 0,
            dup_acks: 0,
            retransmit_una: false,
        }
    }

    /// A go-back to SND.UNA (`una`) with SND.MAX at `snd_max`: the episode ends, what
    /// was pending is forgotten and `recover` is SND.MAX (RFC 6582 section 4).
    fn go_back(&mut self, una: SeqNum, snd_max: SeqNum) {
        *self = Episode {
            recover: snd_max,
            ..Episode::new(una)
        };
    }

    /// Whether a loss-recovery episode is under way.
    pub fn active(&self) -> bool {
        self.active
    }

    /// RFC 6582 `recover`.
    pub fn recover(&self) -> SeqNum {
        self.recover
    }

    /// An undo (`undo.rs`) puts back the `recover` a spurious timeout replaced, so that
    /// a real loss in the window can still start fast recovery (RFC 4015 3.2).
    pub fn restore_recover(&mut self, recover: SeqNum) {
        self.recover = recover;
    }

    /// The bytes RFC 5681 3.2 (window inflation) or RFC 3042 (limited transmit) let go
    /// beyond cwnd.
    pub fn inflation(&self) -> usize {
        self.inflation
    }

    /// Takes the pending retransmission of the segment at SND.UNA, if one is due.
    pub fn take_retransmit_una(&mut self) -> bool {
        std::mem::take(&mut self.retransmit_una)
    }
}

impl Connection {
    /// Whether the connection is in loss recovery (RFC 6582, RFC 6675): from the loss
    /// that started it until the cumulative ACK covers `recover`, or a go-back.
    pub(crate) fn in_recovery(&self) -> bool {
        self.rec.active()
    }

    /// New data acknowledged (the part of `ack_advance` that is loss recovery's):
    /// RFC 6582 3.2 steps 5 and 6 in recovery, the congestion controller's ACK
    /// otherwise; the duplicate-ACK count and the probe start again.
    pub(crate) fn recovery_on_new_ack(
        &mut self,
        now: Instant,
        data_acked: usize,
        flight_before: usize,
        sample: Option<Duration>,
    ) {
        if self.rec.active {
            if self.snd_una >= self.rec.recover {
                // Full acknowledgement: leave fast recovery.
                self.rec.active = false;
                self.rec.inflation = 0;
                self.rack.on_recovery_exit();
                let flight = if self.prr.active() {
                    // RFC 9937 completion steps: cwnd = ssthresh (RFC 6582's formula
                    // with FlightSize = ssthresh gives exactly that).
                    self.prr.exit();
                    self.cc.ssthresh()
                } else {
                    self.snd_max.since(self.snd_una)
                };
                self.cc.on_recovery_exit(now, flight);
            } else if self.opts.sack {
                // RFC 6675: a partial ACK just updates the scoreboard; the send loop
                // decides what goes next from the pipe.
            } else {
                // Partial acknowledgement: retransmit the next hole, deflate by what was
                // acknowledged, add back one SMSS if that was at least one SMSS.
                self.rec.retransmit_una = true;
                let mss = self.payload_mss();
                self.rec.inflation = self.rec.inflation.saturating_sub(data_acked);
                if data_acked >= mss {
                    self.rec.inflation += mss;
                }
                // RFC 6582 3.2 step 5 resets the retransmit timer on the first partial
                // ACK (the "impatient" variant); `ack_advance` resets it on every one,
                // the "slow-but-steady" variant, which avoids needless timeouts.
            }
        } else {
            let used = self.window_use.used(flight_before);
            self.cc.on_ack(now, data_acked, flight_before, used, sample);
            // Limited transmit's allowance ends with the duplicate ACKs that gave it.
            self.rec.inflation = 0;
        }
        self.rec.dup_acks = 0;
        self.tlp_on_progress();
    }

    /// RFC 5681 section 2's duplicate ACK: no data, no SYN/FIN, the same window, data
    /// outstanding, ACK == SND.UNA. The third starts fast retransmit (3.2); later ones
    /// inflate the window (3.2 step 4).
    pub(crate) fn maybe_dup_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        seg_len: usize,
        sacks_new: bool,
        ctx: &mut InputCtx<'_>,
    ) -> bool {
        let wnd = usize::from(seg.window_len) << self.opts.snd_wscale;
        let outstanding = self.snd_max != self.snd_una;
        // RFC 6675 section 2 (DupAck): an ACK whose SACK blocks report new data counts,
        // whatever its window says (receivers such as Linux change the window as their
        // application reads).
        // A zero window: the ACKs answer zero-window probes (whose byte lies beyond the
        // window and counts in SND.MAX); they say nothing about loss (RFC 5681 2 (a): only
        // outstanding data, and the probe byte is not in flight, RFC 9293 3.8.6.1).
        let rfc5681_dup = wnd == self.snd_wnd;
        if seg_len != 0 || !outstanding || wnd == 0 || !(rfc5681_dup || sacks_new) {
            return false;
        }
        self.rec.dup_acks += 1;
        let mss = self.payload_mss();
        if self.rec.active {
            self.rec.inflation += mss;
            return true;
        }
        let after_timeout = self.snd_una <= self.rec.recover && self.rec.recover != self.iss;
        if self.rec.dup_acks < 3 && self.snd_nxt == self.snd_max && !after_timeout {
            // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new
            // segment go beyond cwnd, keeping the ACK clock alive for small windows. (Not
            // while going back after a timeout: what follows SND.NXT then is old data.)
            self.rec.inflation = self.rec.dup_acks as usize * mss;
        }
        if sacks_new {
            self.tlp_on_progress();
        }
        if self.opts.sack {
            // RFC 8985 section 6: with SACK, RACK's time-based detection (`rack_on_ack`)
            // replaces the duplicate-ACK threshold.
            return true;
        }
        // RFC 5827 early retransmit: with fewer than four segments outstanding and
        // nothing more to send, fewer duplicate ACKs can ever arrive; the threshold is
        // one less than the segments outstanding.
        let segs_out = self.snd_max.since(self.snd_una).div_ceil(mss.max(1));
        let unsent = self.unsent();
        let dupthresh = if segs_out < 4 && unsent == 0 {
            segs_out.saturating_sub(1).max(1)
        } else {
            3
        };
        if self.rec.dup_acks as usize >= dupthresh {
            // RFC 5681 3.2: the third duplicate ACK starts loss recovery (RFC 6582 3.2
            // step 2: only if the ACK covers more than `recover`).
            self.enter_recovery(now, ctx.stats);
        }
        true
    }

    /// Ends any loss recovery episode and rewinds sending to SND.UNA: everything in flight
    /// goes again as the window allows. What a retransmission timeout does (RFC 6298 5.4)
    /// after its congestion response, and what a lowered path MTU does without one
    /// (`pmtu.rs`).
    pub(crate) fn go_back_to_una(&mut self) {
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
        self.tlp_on_go_back();
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
        if self.rec.active || !undo.spurious() {
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
        sacked: &[(SeqNum, SeqNum)],
        dsack: bool,
        tsecr: Option<u32>,
        stats: &mut Stats,
    ) -> usize {
        if !self.opts.sack {
            return 0;
        }
        // RFC 8985 6.2 step 2's echo check, with timestamps in use (RFC 7323 5.3's
        // comparison, against the TSval the transmission carried).
        let echo = tsecr.filter(|_| self.opts.timestamps);
        let offset = self.ts_offset;
        let echo_predates = |xmit: Instant| {
            echo.is_some_and(|e| super::rtt::ts_before(e, super::rtt::ts_clock(xmit, offset)))
        };
        self.rack
            .on_ack_echoing(now, self.snd_una, sacked, echo_predates);
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
            .reo_wnd(self.in_recovery(), segs_sacked, self.rtt.srtt());
        let (newly, timeout) = self.rack.detect_loss(now, reo_wnd);
        match timeout {
            Some(t) => self.timers.set(Timer::RackReorder, now + t),
            None => self.timers.stop(Timer::RackReorder),
        }
        if newly > 0 {
            log::debug!(target: LOG, "{} -> {}: RACK: {newly} bytes lost (reo_wnd {reo_wnd})",
                self.local, self.remote);
        }
        if self.rack.lost_bytes() > 0 && !self.in_recovery() {
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
        self.rec.active = true;
        self.rec.recover = self.snd_max;
        self.cc.on_congestion_event(now, flight);
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
}

/// The SACK blocks of an ACK as sequence numbers, without its D-SACK block.
fn sack_blocks(blocks: &[Option<(u32, u32)>], dsack: bool) -> ([(SeqNum, SeqNum); 4], usize) {
    let mut sacked = [(SeqNum(0), SeqNum(0)); 4];
    let mut n = 0;
    for &(l, r) in blocks.iter().skip(usize::from(dsack)).flatten().take(4) {
        sacked[n] = (SeqNum(l), SeqNum(r));
        n += 1;
    }
    (sacked, n)
}

impl Connection {
    /// Whether the ACK field of a segment can change nothing here: it acknowledges
    /// nothing new (SEG.ACK = SND.UNA), nothing is outstanding (so it is no duplicate
    /// ACK, RFC 5681 section 2 (a), and RACK has no record to judge), it carries no
    /// SACK block (nor D-SACK), and no recovery, loss probe, timeout undo or D-SACK undo
    /// found spurious is open for it to end (an `Undo` kept after a recovery that no
    /// D-SACK has shown spurious waits for a D-SACK, which this ACK does not carry).
    ///
    /// The receiver of a bulk transfer takes every data segment through here: as
    /// Linux's header prediction (`tcp_rcv_established` calls `tcp_ack` only for an ACK
    /// that moves), it skips the steps below instead of running each to find it has
    /// nothing to do. The send window is still updated by the caller.
    #[inline]
    pub(crate) fn ack_says_nothing(&self, ack: SeqNum, seg: &TcpRepr<'_>) -> bool {
        ack == self.snd_una
            && self.snd_una == self.snd_max
            && seg.sack_ranges[0].is_none()
            && !self.in_recovery()
            && !self.tlp.episode_open()
            && self.undo.as_ref().is_none_or(|u| !u.spurious())
            && self.rto_undo.is_none()
    }

    /// RFC 9293 3.10.7.4 fifth, the ACK field of an acceptable segment, in the order the
    /// RFCs stack up: D-SACK (RFC 2883 5), the SACK scoreboard (RFC 2018), SND.UNA and the
    /// RTT, congestion control and the end of recovery (`ack_advance`) or a duplicate ACK
    /// (RFC 5681 2, `maybe_dup_ack`), RACK's loss detection (RFC 8985 6.2), the TLP
    /// episode (RFC 8985 7.4), PRR (RFC 9937), the delivery-rate sample, and F-RTO (RFC
    /// 5682 steps 2-3) and D-SACK undo (RFC 3708).
    pub(crate) fn on_ack_field(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        ack: SeqNum,
        seg_len: usize,
        ctx: &mut InputCtx<'_>,
    ) {
        if self.ack_says_nothing(ack, seg) {
            return;
        }
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
        // Without timestamps, with SACK: the RTT from RACK's records (`Rack::clean_rtt`),
        // also from ACKs that only SACK. Karn's one timed segment at a time, discarded
        // at every retransmission, gave so few samples under heavy loss that a backed-off
        // RTO could grow to the user timeout before one came (RFC 6298 5.7: only a new
        // measurement collapses the back-off).
        // The SACK blocks as sequence numbers, without a D-SACK block, once for all below.
        let (blocks, n) = sack_blocks(&seg.sack_ranges, dsack.is_some());
        let sacked = &blocks[..n];
        let clean_rtt = if self.opts.sack && !self.opts.timestamps && ack >= self.snd_una {
            self.rack.clean_rtt(now, ack.max(self.snd_una), sacked)
        } else {
            None
        };
        let dup = if ack > self.snd_una {
            self.ack_advance(now, ack, seg, clean_rtt, ctx);
            false
        } else if ack == self.snd_una {
            let dup = self.maybe_dup_ack(now, seg, seg_len, sacks_new, ctx);
            if let Some(rtt) = clean_rtt {
                self.take_rtt_sample(now, rtt);
            }
            dup
        } else {
            false
        };
        // RFC 8985 6.2: RACK's loss detection (SACK only), which may start recovery.
        let further_loss = self.rack_on_ack(
            now,
            sacked,
            dsack.is_some(),
            seg.timestamp.map(|t| t.tsecr),
            ctx.stats,
        ) > 0;
        let pure_dup = self.snd_una == una_before && !sacks_new;
        self.tlp_on_ack(now, ack, dsack.is_some(), pure_dup, ctx.stats);
        if self.in_recovery() && self.opts.sack {
            self.prr_on_ack(una_before, sacked_before, newly_sacked, further_loss);
        }
        // Draft-ietf-ccwg-bbr-06 4.1: the ACK's delivery-rate sample (`pace.rs`).
        self.rate_on_ack(now, sacked);
        // RFC 5682: F-RTO's steps 2 and 3 after a timeout (without timestamps).
        self.frto_on_ack(now, una_before, dup, sacked, newly_sacked, ctx.stats);
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
