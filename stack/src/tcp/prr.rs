//! Proportional Rate Reduction (PRR, RFC 9937, which obsoletes RFC 6937): how much the
//! sender may send on each ACK during SACK loss recovery (RFC 6675), so that the data in
//! flight comes down smoothly to the congestion controller's `ssthresh` by the end of
//! recovery instead of stopping for half a round trip (RFC 6675's `cwnd = ssthresh`
//! with `pipe` still far above it), and so that a burst of losses does not leave the
//! window far below `ssthresh` (the slow-start reduction bound).
//!
//! The sender calls [`Prr::enter`] when recovery starts (RFC 9937's initialization
//! steps), [`Prr::on_ack`] on every ACK during recovery, including the one that starts
//! it (the per-ACK steps), and [`Prr::on_sent`] for every byte it sends or retransmits
//! meanwhile (the per-transmit steps); [`Prr::cwnd`] is the window the RFC 6675 send
//! loop then works to (`cwnd = pipe + sndcnt`). At the end of recovery the sender sets
//! `cwnd = ssthresh` (the completion steps) and calls [`Prr::exit`].

/// The state of one PRR episode (RFC 9937's variables). All sizes in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prr {
    active: bool,
    /// RecoverFS: the data outstanding at the start of recovery that is expected to be
    /// delivered during it (RFC 9937 initialization: `snd.nxt - snd.una`, less what was
    /// SACKed before the ACK that starts recovery).
    recover_fs: usize,
    /// prr_delivered: the total bytes the receiver reported delivered in this episode.
    prr_delivered: usize,
    /// prr_out: the total bytes sent (new data and retransmissions) in this episode.
    prr_out: usize,
    /// The window of the last ACK: `pipe + sndcnt`.
    cwnd: usize,
}

/// What one ACK during recovery tells PRR (RFC 9937 per-ACK steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckSample {
    /// DeliveredData: `change_in(snd.una) + change_in(SACKd)`: the bytes this ACK newly
    /// reports delivered, cumulatively or by SACK.
    pub delivered: usize,
    /// RFC 6675 `pipe` after the ACK was processed.
    pub pipe: usize,
    /// safeACK: SND.UNA advanced and the ACK indicates no further loss; only then does the
    /// slow-start reduction bound (PRR-SSRB) add one SMSS over the conservative bound.
    pub safe: bool,
}

impl Prr {
    /// Whether an episode is under way.
    pub fn active(&self) -> bool {
        self.active
    }

    /// RFC 9937 initialization steps, on entering fast recovery (after the congestion
    /// controller chose ssthresh): `prr_delivered = prr_out = 0` and
    ///
    /// ```text
    /// RecoverFS = snd.nxt - snd.una
    ///           - ((bytes SACKed in scoreboard) - (bytes newly SACKed))
    ///           + (bytes newly cumulatively acknowledged)
    /// ```
    ///
    /// `outstanding` is SND.MAX - SND.UNA after the ACK that starts recovery, `sacked`
    /// the scoreboard's SACKed bytes after it, `newly_sacked` and `newly_acked` what that
    /// ACK reported. Bytes SACKed earlier will not be counted delivered during recovery,
    /// so they are not part of RecoverFS either.
    pub fn enter(
        &mut self,
        outstanding: usize,
        sacked: usize,
        newly_sacked: usize,
        newly_acked: usize,
    ) {
        let recover_fs = outstanding
            .saturating_sub(sacked.saturating_sub(newly_sacked))
            .saturating_add(newly_acked);
        *self = Prr {
            active: true,
            recover_fs: recover_fs.max(1),
            prr_delivered: 0,
            prr_out: 0,
            cwnd: 0,
        };
    }

    /// RFC 9937 per-ACK steps, for every ACK that starts or continues recovery (not the
    /// one that ends it). Returns `sndcnt`, the bytes this ACK lets the sender send, and
    /// sets [`Prr::cwnd`] to `pipe + sndcnt`.
    ///
    /// ```text
    /// if DeliveredData is 0: return
    /// prr_delivered += DeliveredData
    /// if pipe > ssthresh:                       // proportional rate reduction
    ///     sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
    /// else:                                     // PRR-CRB, PRR-SSRB on a safe ACK
    ///     sndcnt = MAX(prr_delivered - prr_out, DeliveredData)
    ///     if safeACK: sndcnt += SMSS
    ///     sndcnt = MIN(ssthresh - pipe, sndcnt)
    /// if prr_out is 0 and sndcnt is 0: sndcnt = SMSS   // the fast retransmit
    /// cwnd = pipe + sndcnt
    /// ```
    pub fn on_ack(&mut self, ack: AckSample, ssthresh: usize, smss: usize) -> usize {
        if !self.active || ack.delivered == 0 {
            return self.cwnd.saturating_sub(ack.pipe);
        }
        self.prr_delivered = self.prr_delivered.saturating_add(ack.delivered);
        let mut sndcnt = if ack.pipe > ssthresh {
            // u128: prr_delivered * ssthresh can exceed 64 bits only in theory, but the
            // division must not wrap.
            let target =
                (self.prr_delivered as u128 * ssthresh as u128).div_ceil(self.recover_fs as u128);
            (target.min(usize::MAX as u128) as usize).saturating_sub(self.prr_out)
        } else {
            let mut limit = self
                .prr_delivered
                .saturating_sub(self.prr_out)
                .max(ack.delivered);
            if ack.safe {
                limit = limit.saturating_add(smss);
            }
            (ssthresh - ack.pipe).min(limit)
        };
        if self.prr_out == 0 && sndcnt == 0 {
            sndcnt = smss;
        }
        self.cwnd = ack.pipe.saturating_add(sndcnt);
        sndcnt
    }

    /// RFC 9937 per-transmit steps: `prr_out += (data sent)`.
    pub fn on_sent(&mut self, bytes: usize) {
        if self.active {
            self.prr_out = self.prr_out.saturating_add(bytes);
        }
    }

    /// The congestion window during recovery: `pipe + sndcnt` of the last ACK.
    pub fn cwnd(&self) -> usize {
        self.cwnd
    }

    /// RFC 9937 completion steps: the episode ends with the end of fast recovery (the
    /// sender then sets `cwnd = ssthresh`) or before a retransmission timeout's recovery.
    pub fn exit(&mut self) {
        self.active = false;
    }

    /// prr_delivered and prr_out, for tests and traces.
    pub fn counters(&self) -> (usize, usize) {
        (self.prr_delivered, self.prr_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    fn ack(delivered: usize, pipe: usize, safe: bool) -> AckSample {
        AckSample {
            delivered: delivered * MSS,
            pipe: pipe * MSS,
            safe,
        }
    }

    /// RFC 9937's proportional part: with ssthresh half of RecoverFS, a sender of whole
    /// segments sends one for every two delivered (sndcnt is in bytes: half a segment
    /// on the first ACK, a whole one on the second).
    #[test]
    fn proportional_part_sends_ssthresh_over_recover_fs() {
        let mut p = Prr::default();
        p.enter(20 * MSS, MSS, MSS, 0);
        let ssthresh = 10 * MSS;
        let mut sent = Vec::new();
        let mut pipe = 18;
        for _ in 0..8 {
            let sndcnt = p.on_ack(ack(1, pipe, false), ssthresh, MSS);
            let segs = sndcnt / MSS;
            p.on_sent(segs * MSS);
            sent.push(segs);
            pipe = pipe - 1 + segs;
        }
        assert_eq!(sent, [0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(p.counters(), (8 * MSS, 4 * MSS));
    }

    /// RFC 9937: the window ends recovery at ssthresh: over RecoverFS delivered bytes the
    /// proportional part sends exactly ssthresh (rounded up to whole bytes).
    #[test]
    fn proportional_part_totals_ssthresh() {
        let mut p = Prr::default();
        p.enter(14 * MSS, 0, 0, 0);
        let ssthresh = 7 * MSS + 1; // not a multiple: CEIL matters
        let mut total = 0;
        for _ in 0..14 {
            let n = p.on_ack(ack(1, 100, false), ssthresh, MSS);
            p.on_sent(n);
            total += n;
        }
        assert_eq!(total, ssthresh);
    }

    /// RFC 9937: once pipe is at or below ssthresh the conservative bound (PRR-CRB)
    /// sends no more than was delivered...
    #[test]
    fn conservative_bound_without_safe_ack() {
        let mut p = Prr::default();
        p.enter(10 * MSS, 0, 0, 0);
        p.on_sent(MSS); // the fast retransmit
        let n = p.on_ack(ack(3, 2, false), 10 * MSS, MSS);
        // prr_delivered - prr_out = 2, DeliveredData = 3: MAX is 3.
        assert_eq!(n, 3 * MSS);
        assert_eq!(p.cwnd(), 5 * MSS);
    }

    /// ... and on a safe ACK (SND.UNA advanced, no new loss) the slow-start reduction
    /// bound (PRR-SSRB) allows one SMSS more, never beyond ssthresh - pipe.
    #[test]
    fn slow_start_reduction_bound_on_safe_ack() {
        let mut p = Prr::default();
        p.enter(10 * MSS, 0, 0, 0);
        p.on_sent(MSS);
        assert_eq!(p.on_ack(ack(3, 2, true), 10 * MSS, MSS), 4 * MSS);
        let mut q = Prr::default();
        q.enter(10 * MSS, 0, 0, 0);
        q.on_sent(MSS);
        assert_eq!(q.on_ack(ack(3, 8, true), 10 * MSS, MSS), 2 * MSS);
    }

    /// RFC 9937: an ACK delivering nothing changes nothing; and the first ACK of an
    /// episode always allows the fast retransmit (sndcnt = SMSS when prr_out is 0).
    #[test]
    fn zero_delivery_is_ignored_and_first_ack_forces_retransmit() {
        let mut p = Prr::default();
        p.enter(100 * MSS, 0, 0, 0);
        // 1 of 100 delivered, ssthresh 1 segment: CEIL(1 * 1 / 100) = 1 byte... and the
        // forced retransmission only applies to zero.
        assert_eq!(p.on_ack(ack(1, 99, false), MSS, MSS), 10);
        let before = p;
        p.on_ack(ack(0, 99, false), MSS, MSS);
        assert_eq!(p, before);
        let mut q = Prr::default();
        q.enter(10 * MSS, 0, 0, 0);
        // pipe == ssthresh: no room, yet the first ACK sends one segment.
        assert_eq!(q.on_ack(ack(1, 5, false), 5 * MSS, MSS), MSS);
    }

    /// RFC 9937 initialization: bytes SACKed before the ACK that starts recovery are not
    /// part of RecoverFS; those this ACK SACKed (and cumulatively acknowledged) are.
    #[test]
    fn recover_fs_excludes_earlier_sacks() {
        let mut p = Prr::default();
        p.enter(20 * MSS, 3 * MSS, MSS, 0);
        assert_eq!(p.recover_fs, 18 * MSS);
        p.enter(20 * MSS, 3 * MSS, MSS, 2 * MSS);
        assert_eq!(p.recover_fs, 20 * MSS);
        p.exit();
        assert!(!p.active());
        p.on_sent(MSS);
        assert_eq!(p.counters().1, 0);
    }
}
