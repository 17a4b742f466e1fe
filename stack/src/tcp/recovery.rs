//! The sender's answers to an ACK during and after SACK loss recovery that live beside
//! the RFC 6675 machinery of `input.rs`: PRR's per-ACK steps (RFC 9937, arithmetic in
//! `prr.rs`) and D-SACK reading with the undo of a spurious fast retransmit (RFC 2883
//! section 5, RFC 3708; state in `undo.rs`); and the go-back to SND.UNA that ends any
//! recovery episode, after a timeout or a lowered path MTU.

use super::conn::Connection;
use super::input::InputCtx;
use super::seq::SeqNum;
use crate::time::Instant;

const LOG: &str = "tunstack::tcp";

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
        self.inflation = 0;
        self.dup_acks = 0;
        // RFC 2018 section 8: the SACK information is dropped (the receiver may have
        // reneged), and with it RACK's queue of lost retransmissions.
        self.scoreboard.clear();
        self.delivery.clear_lost_again();
        self.high_rxt = self.snd_una;
        // RFC 6582 section 4: `recover` is the highest sequence number sent, so duplicate
        // ACKs the resent data draws do not start a fast retransmit before all of it is
        // acknowledged.
        self.recover = self.snd_max;
        // Karn: the retransmission is not timed.
        self.sampler.on_retransmit();
        self.snd_nxt = self.snd_una;
        self.retransmit_una = false;
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
        lost_before: Option<SeqNum>,
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
        let pipe = self
            .scoreboard
            .pipe(self.snd_una, self.snd_max, self.high_rxt, mss);
        // safeACK: "SND.UNA advances and no further loss indicated": this ACK's SACK
        // blocks made no data lost (RFC 6675 IsLost) that was not deemed lost before.
        let lost_after = self.scoreboard.lost_frontier(self.snd_una, mss);
        let further_loss = match (lost_before, lost_after) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(b), Some(a)) => a.diff(b) > 0,
        };
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

/// RFC 2883 section 5: whether the first SACK block of an ACK reports a duplicate: it
/// covers data at or below the cumulative ACK, or lies within the second block.
pub(crate) fn is_dsack(blocks: &[Option<(u32, u32)>], ack: SeqNum) -> bool {
    let Some(Some((l, r))) = blocks.first().copied() else {
        return false;
    };
    let (l, r) = (SeqNum(l), SeqNum(r));
    if r.diff(l) <= 0 {
        return false;
    }
    if r.diff(ack) <= 0 {
        return true;
    }
    match blocks.get(1).copied().flatten() {
        Some((l2, r2)) => SeqNum(l2).diff(l) <= 0 && r.diff(SeqNum(r2)) <= 0,
        None => false,
    }
}
