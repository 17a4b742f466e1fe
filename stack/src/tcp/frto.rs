//! F-RTO (RFC 5682): detecting a spurious retransmission timeout without timestamps.
//!
//! After a timeout the sender retransmits the first unacknowledged segment (step 1).
//! When the ACK of that retransmission advances the window without covering what had
//! been sent before the timeout (`recover`, RFC 5682's RecoveryPoint), F-RTO sends up
//! to two *new* segments instead of more old ones (step 2b). The next ACK decides (step
//! 3): if it acknowledges data that was sent before the timeout and never
//! retransmitted, the originals were only delayed and the timeout was spurious; if it
//! is a duplicate ACK (or, with SACK, reports the new segments delivered), the
//! originals were lost and conventional RTO recovery goes on.
//!
//! The basic algorithm (section 2) runs on connections without SACK; the SACK-enhanced
//! one (section 3) on connections with it, where duplicate ACKs before the first new
//! ACK are waited out (step 2, their SACK blocks taken in) and SACK blocks count in step
//! 3. With timestamps the Eifel detection (RFC 3522, `undo.rs`) is used instead. Either
//! way a spurious timeout gets the same response (`undo.rs`, RFC 4015).
//!
//! Only the first timeout of a series runs F-RTO (a second one ends it: the undo would
//! have to restore the window from before the first, and a path that times out twice is
//! not spuriously slow). The window-limited cases of RFC 5682 Appendix A take the
//! recommended action: with no new data to send, or no room for it in the peer's
//! window, step 3 is skipped and conventional recovery goes on.

use super::conn::Connection;
use super::output::{Outgoing, OutputCtx};
use super::seq::SeqNum;
use crate::stats::Stats;
use crate::time::Instant;

const LOG: &str = "tunstack::tcp";

/// Where an F-RTO episode stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Step 2: waiting for the first ACK that advances the window after the timeout's
    /// retransmission.
    AwaitFirst,
    /// Step 2b: up to two new segments are to go with the next dispatch.
    SendNew,
    /// Step 3: the new segments are out; waiting for the next ACK.
    AwaitSecond,
}

/// What F-RTO decided on an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing decided yet (an ACK the step ignores, or step 2b reached).
    Continue,
    /// Back to conventional RTO recovery, nothing else to do (steps 2a, 2b without new
    /// data to send).
    Revert,
    /// The timeout was genuine (step 3a): cwnd at most 3 * SMSS, and the unacknowledged
    /// segments are retransmitted.
    Genuine,
    /// The timeout was spurious (step 3b: SpuriousRecovery = SPUR_TO).
    Spurious,
}

/// What one ACK says, as F-RTO reads it.
#[derive(Clone, Copy, Debug, Default)]
pub struct AckFacts {
    /// The cumulative ACK advanced SND.UNA to `una`.
    pub advanced: bool,
    /// SND.UNA after the ACK.
    pub una: SeqNum,
    /// A duplicate ACK (RFC 5681 section 2, or RFC 6675's with SACK).
    pub dup: bool,
    /// A SACK block of the ACK reaches beyond `recover` (the new segments).
    pub sacked_above: bool,
    /// The ACK's SACK blocks reported data below `recover` not reported before.
    pub newly_sacked_below: bool,
}

/// One F-RTO episode (RFC 5682).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frto {
    /// The SACK-enhanced variant (section 3) rather than the basic one (section 2).
    sack: bool,
    step: Step,
    /// Step 1: "the highest sequence number transmitted so far" when the timer expired
    /// (`recover`, RecoveryPoint).
    recover: SeqNum,
    /// The end of the segment retransmitted in step 1: the basic algorithm's first ACK
    /// must acknowledge all of it (2a).
    rexmit_end: SeqNum,
}

impl Frto {
    /// Step 1: the timer expired with `recover` the highest sequence number sent; the
    /// first unacknowledged segment, ending at `rexmit_end`, goes again.
    pub fn new(sack: bool, recover: SeqNum, rexmit_end: SeqNum) -> Frto {
        Frto {
            sack,
            step: Step::AwaitFirst,
            recover,
            rexmit_end,
        }
    }

    /// The step the episode is in.
    pub fn step(&self) -> Step {
        self.step
    }

    /// Steps 2 and 3 for one ACK.
    pub fn on_ack(&mut self, a: &AckFacts) -> Verdict {
        match self.step {
            // An ACK before the new data left (two in one batch) is still step 2's.
            Step::AwaitFirst | Step::SendNew => self.step_two(a),
            Step::AwaitSecond if self.sack => self.step_three_sack(a),
            Step::AwaitSecond => self.step_three_basic(a),
        }
    }

    /// Step 2 (2.1 and 3.1): the first ACK after the retransmission.
    ///
    /// Basic, 2a: "If the acknowledgment is a duplicate ACK, OR the Acknowledgment field
    /// covers "recover" but not more than "recover", OR the acknowledgment does not
    /// acknowledge all of the data that was retransmitted in step 1", conventional
    /// recovery. SACK-enhanced: duplicate ACKs are waited out (their SACK blocks were
    /// taken in); 2a, an ACK covering RecoveryPoint, reverts. 2b (both): an ACK that
    /// advances the window without covering `recover`: up to two new segments go, and
    /// step 3 follows.
    fn step_two(&mut self, a: &AckFacts) -> Verdict {
        if !a.advanced {
            return if a.dup && !self.sack {
                Verdict::Revert
            } else {
                Verdict::Continue
            };
        }
        if a.una >= self.recover || (!self.sack && a.una < self.rexmit_end) {
            return Verdict::Revert;
        }
        self.step = Step::SendNew;
        Verdict::Continue
    }

    /// The new segments of step 2b left (`sent`: whether any could: without new data
    /// or room in the peer's window, step 3 is skipped and conventional recovery goes
    /// on, 2b's recommended action).
    pub fn on_new_data_sent(&mut self, sent: bool) -> Verdict {
        if sent {
            self.step = Step::AwaitSecond;
            Verdict::Continue
        } else {
            Verdict::Revert
        }
    }

    /// Basic step 3 (2.1): "a) If the acknowledgment is a duplicate ACK", the timeout
    /// was genuine; "b) If the acknowledgment advances the window (i.e., if it
    /// acknowledges data that was not retransmitted after the timeout)", spurious.
    fn step_three_basic(&mut self, a: &AckFacts) -> Verdict {
        if a.advanced {
            Verdict::Spurious
        } else if a.dup {
            Verdict::Genuine
        } else {
            Verdict::Continue
        }
    }

    /// SACK-enhanced step 3 (3.1): "a) If the Cumulative Acknowledgment field or the
    /// SACK information covers more than RecoveryPoint", or the ACK is a duplicate ACK
    /// that acknowledges no new data below RecoveryPoint, genuine. "b) If the
    /// acknowledgment does not cover more than RecoveryPoint AND it acknowledges data
    /// that was not acknowledged earlier (either with cumulative acknowledgment or
    /// using SACK information)", spurious. Other ACKs are ignored.
    fn step_three_sack(&mut self, a: &AckFacts) -> Verdict {
        if a.una > self.recover || a.sacked_above {
            Verdict::Genuine
        } else if a.advanced || a.newly_sacked_below {
            Verdict::Spurious
        } else if a.dup {
            Verdict::Genuine
        } else {
            Verdict::Continue
        }
    }
}

impl Connection {
    /// RFC 5682 steps 2 and 3 for an ACK (after `on_ack_field` took it in): `una_before`
    /// is SND.UNA before it, `dup` whether it was a duplicate ACK, `blocks` its SACK
    /// blocks (without a D-SACK block), and `newly_sacked` the bytes the scoreboard
    /// learned from it.
    pub(crate) fn frto_on_ack(
        &mut self,
        now: Instant,
        una_before: SeqNum,
        dup: bool,
        blocks: &[(SeqNum, SeqNum)],
        newly_sacked: usize,
        stats: &mut Stats,
    ) {
        let Some(f) = self.rto_undo.as_mut().and_then(|u| u.frto_mut()) else {
            return;
        };
        let recover = f.recover;
        let facts = AckFacts {
            advanced: self.snd_una > una_before,
            una: self.snd_una,
            dup,
            sacked_above: blocks.iter().any(|&(_, r)| r > recover),
            newly_sacked_below: newly_sacked > 0 && blocks.iter().any(|&(l, _)| l < recover),
        };
        let verdict = f.on_ack(&facts);
        self.frto_act(now, verdict, stats);
    }

    /// Step 2b: up to two new (never sent) segments leave, within the peer's window but
    /// not cwnd's ("sending two segments in this step is allowed by TCP congestion
    /// control requirements": a conventional sender would send two old ones), Nagle
    /// overridden as the step allows.
    pub(crate) fn frto_send_new(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) {
        let Some(f) = self.rto_undo.as_mut().and_then(|u| u.frto_mut()) else {
            return;
        };
        if f.step() != Step::SendNew {
            return;
        }
        let mss = self.payload_mss();
        let mut sent = false;
        for _ in 0..2 {
            let offset = self.snd_max.since(self.snd_una);
            let unsent = self.send_buf.len().saturating_sub(offset);
            let room = (self.snd_una + self.snd_wnd).since(self.snd_max);
            let len = unsent.min(room).min(mss);
            if len == 0 {
                break;
            }
            let seq = self.snd_max;
            self.emit_segment(now, seq, len, false, ctx, emit, false);
            sent = true;
        }
        let verdict = match self.rto_undo.as_mut().and_then(|u| u.frto_mut()) {
            Some(f) => f.on_new_data_sent(sent),
            None => return,
        };
        self.frto_act(now, verdict, ctx.stats);
    }

    /// Carries out a verdict: a spurious timeout is undone (`undo.rs`, RFC 4015); a
    /// genuine one goes back to SND.UNA with cwnd at most 3 * SMSS (RFC 5682 3a: "two
    /// round-trip times have elapsed since the RTO, and a conventional TCP sender would
    /// have increased cwnd to 3 during the same time").
    fn frto_act(&mut self, now: Instant, verdict: Verdict, stats: &mut Stats) {
        match verdict {
            Verdict::Continue => {}
            Verdict::Revert => self.rto_undo = None,
            Verdict::Genuine => {
                self.rto_undo = None;
                let cap = 3 * self.payload_mss();
                if self.cc.cwnd() > cap {
                    let ssthresh = self.cc.ssthresh();
                    self.cc.undo(cap, ssthresh);
                }
                log::debug!(target: LOG, "{} -> {}: F-RTO: the timeout was genuine", self.local, self.remote);
                self.go_back_to_una();
            }
            Verdict::Spurious => {
                if let Some(u) = self.rto_undo.take() {
                    self.rto_undo_respond(now, u, "F-RTO", stats);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(una: u32) -> AckFacts {
        AckFacts {
            advanced: true,
            una: SeqNum(una),
            ..AckFacts::default()
        }
    }

    fn dup(una: u32) -> AckFacts {
        AckFacts {
            una: SeqNum(una),
            dup: true,
            ..AckFacts::default()
        }
    }

    /// RFC 5682 2.1: a new ACK below `recover`, then one that advances: spurious.
    #[test]
    fn basic_spurious() {
        let mut f = Frto::new(false, SeqNum(10_000), SeqNum(1_000));
        assert_eq!(f.on_ack(&ack(3_000)), Verdict::Continue);
        assert_eq!(f.step(), Step::SendNew);
        assert_eq!(f.on_new_data_sent(true), Verdict::Continue);
        assert_eq!(f.on_ack(&ack(5_000)), Verdict::Spurious);
    }

    /// RFC 5682 2.1 step 2a: a duplicate ACK, an ACK of `recover`, or one short of the
    /// retransmitted segment reverts; 3a: a duplicate ACK after the new data, genuine.
    #[test]
    fn basic_reverts_and_genuine() {
        let mut f = Frto::new(false, SeqNum(10_000), SeqNum(1_000));
        assert_eq!(f.on_ack(&dup(0)), Verdict::Revert);
        let mut f = Frto::new(false, SeqNum(10_000), SeqNum(1_000));
        assert_eq!(f.on_ack(&ack(10_000)), Verdict::Revert);
        let mut f = Frto::new(false, SeqNum(10_000), SeqNum(1_000));
        assert_eq!(f.on_ack(&ack(500)), Verdict::Revert);
        let mut f = Frto::new(false, SeqNum(10_000), SeqNum(1_000));
        f.on_ack(&ack(1_000));
        assert_eq!(
            f.on_new_data_sent(false),
            Verdict::Revert,
            "nothing new to send"
        );
        let mut f = Frto::new(false, SeqNum(10_000), SeqNum(1_000));
        f.on_ack(&ack(1_000));
        f.on_new_data_sent(true);
        assert_eq!(f.on_ack(&dup(1_000)), Verdict::Genuine);
    }

    /// RFC 5682 3.1: duplicate ACKs wait in step 2; in step 3, SACK of data above
    /// RecoveryPoint is genuine, new SACKed data below it spurious.
    #[test]
    fn sack_enhanced() {
        let mut f = Frto::new(true, SeqNum(10_000), SeqNum(1_000));
        assert_eq!(f.on_ack(&dup(0)), Verdict::Continue);
        assert_eq!(f.step(), Step::AwaitFirst);
        f.on_ack(&ack(2_000));
        f.on_new_data_sent(true);
        let mut g = f;
        let above = AckFacts {
            sacked_above: true,
            ..dup(2_000)
        };
        assert_eq!(f.on_ack(&above), Verdict::Genuine);
        let below = AckFacts {
            newly_sacked_below: true,
            ..dup(2_000)
        };
        assert_eq!(g.on_ack(&below), Verdict::Spurious);
    }
}
