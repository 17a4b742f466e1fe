//! Spurious fast retransmissions detected with D-SACK (RFC 3708) and the window
//! reduction they caused undone.
//!
//! RFC 3708 section 3: the sender counts what it retransmits in a loss episode; each
//! D-SACK (RFC 2883) reporting a retransmitted segment as a duplicate means both copies
//! arrived. When every retransmission of the episode has been so reported, none was
//! needed: the loss was spurious (reordering, a delayed ACK path), and the congestion
//! window reduction is undone, cwnd and ssthresh going back to their values before it
//! (the response RFC 3708 section 5 leaves to the implementation; Linux does the same).
//! Only fast retransmit episodes are tracked here: a retransmission timeout ends the
//! episode's undo state.
//!
//! A retransmission timeout has its own undo, [`RtoUndo`]: the Eifel detection
//! algorithm (RFC 3522) with timestamps, F-RTO (RFC 5682, `frto.rs`) without, and for
//! either the Eifel response (RFC 4015).

use super::conn::Connection;
use super::seq::SeqNum;
use crate::stats::Stats;
use crate::time::Instant;

const LOG: &str = "tunstack::tcp";

/// The most separate retransmitted ranges tracked; an episode with more is not undone.
const MAX_RANGES: usize = 32;

/// The undo state of one fast-retransmit episode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undo {
    /// cwnd and ssthresh before the reduction.
    pub prior_cwnd: usize,
    pub prior_ssthresh: usize,
    /// What was retransmitted in the episode and not yet reported duplicate: only a
    /// D-SACK of retransmitted data counts (a duplicate the network made of other data
    /// proves nothing about the retransmissions).
    ranges: Vec<(SeqNum, SeqNum)>,
    retransmitted: bool,
    overflow: bool,
}

impl Undo {
    /// A fast retransmit begins an episode, with the window as it is before the
    /// congestion controller reduces it.
    pub fn new(prior_cwnd: usize, prior_ssthresh: usize) -> Undo {
        Undo {
            prior_cwnd,
            prior_ssthresh,
            ranges: Vec::new(),
            retransmitted: false,
            overflow: false,
        }
    }

    /// `[seq, seq + len)` was retransmitted in the episode.
    pub fn on_retransmit(&mut self, seq: SeqNum, len: usize) {
        if len == 0 {
            return;
        }
        self.retransmitted = true;
        if self.ranges.len() >= MAX_RANGES {
            self.overflow = true;
            return;
        }
        self.ranges.push((seq, seq + len));
    }

    /// A D-SACK block `[l, r)` arrived: the retransmitted data it covers was received
    /// twice. Returns whether every retransmission has now been reported duplicate (the
    /// reduction was spurious).
    pub fn on_dsack(&mut self, l: SeqNum, r: SeqNum) -> bool {
        let mut rest = Vec::with_capacity(self.ranges.len() + 1);
        for &(a, b) in &self.ranges {
            // Keep the parts of [a, b) outside [l, r).
            if l > a {
                rest.push((a, if l < b { l } else { b }));
            }
            if b > r {
                rest.push((if r > a { r } else { a }, b));
            }
        }
        rest.retain(|&(a, b)| b > a);
        self.ranges = rest;
        self.spurious()
    }

    /// Whether every retransmission so far has been reported duplicate.
    pub fn spurious(&self) -> bool {
        self.retransmitted && !self.overflow && self.ranges.is_empty()
    }
}

/// What a retransmission timeout changed, kept until the ACKs after it tell whether
/// the timeout was spurious: by the timestamp echo (Eifel, RFC 3522) when timestamps
/// are in use, else by F-RTO (RFC 5682, `frto.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoUndo {
    /// cwnd and ssthresh before the timeout's reduction.
    pub prior_cwnd: usize,
    pub prior_ssthresh: usize,
    /// `recover` before the timeout set it to SND.MAX.
    pub prior_recover: SeqNum,
    /// How the timeout is being judged.
    pub detect: Detect,
}

/// The detection algorithm a timeout is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detect {
    /// RFC 3522 2: the TSval of the retransmission (RetransmitTS). An ACK echoing an
    /// earlier timestamp acknowledges the original transmission.
    Eifel { retransmit_ts: u32 },
    /// RFC 5682: an F-RTO episode.
    Frto(super::frto::Frto),
}

impl RtoUndo {
    /// RFC 3522 section 2: the first acceptable ACK after the retransmission, echoing
    /// `tsecr`, shows the retransmission spurious when "the value of the Timestamp Echo
    /// Reply field ... is smaller than the value of RetransmitTS". (False under F-RTO.)
    pub fn spurious(&self, tsecr: u32) -> bool {
        match self.detect {
            Detect::Eifel { retransmit_ts } => super::rtt::ts_before(tsecr, retransmit_ts),
            Detect::Frto(_) => false,
        }
    }

    /// The F-RTO episode, when the timeout is judged by F-RTO.
    pub fn frto_mut(&mut self) -> Option<&mut super::frto::Frto> {
        match &mut self.detect {
            Detect::Frto(f) => Some(f),
            Detect::Eifel { .. } => None,
        }
    }
}

impl Connection {
    /// On the first timeout of a series (RFC 3522 section 3, RFC 5682 step 1): remember
    /// the window and `recover`, and start the detection: with timestamps, Eifel's
    /// RetransmitTS (the go-back retransmission leaves in this same turn, with this
    /// TSval or a later one, which only makes the test stricter); without, F-RTO, its
    /// SACK-enhanced variant when SACK is on. A later timeout in the series forgets it.
    pub(crate) fn rto_undo_on_rto(&mut self, now: Instant) {
        if self.rto_count != 1 {
            self.rto_undo = None;
            return;
        }
        let detect = if self.opts.timestamps {
            Detect::Eifel {
                retransmit_ts: self.ts_now(now),
            }
        } else {
            let rexmit_end = self.snd_una + self.payload_mss().min(self.send_buf.len());
            Detect::Frto(super::frto::Frto::new(
                self.opts.sack,
                self.snd_max,
                rexmit_end,
            ))
        };
        self.rto_undo = Some(RtoUndo {
            prior_cwnd: self.cc.cwnd(),
            prior_ssthresh: self.cc.ssthresh(),
            prior_recover: self.rec.recover(),
            detect,
        });
    }

    /// RFC 3522 section 2 (Eifel detection): the first ACK of new data after a timeout
    /// echoes a timestamp older than the retransmission's: it acknowledges the original
    /// transmission, and the timeout was spurious.
    pub(crate) fn rto_undo_on_ack(&mut self, now: Instant, tsecr: Option<u32>, stats: &mut Stats) {
        if !matches!(
            self.rto_undo,
            Some(RtoUndo {
                detect: Detect::Eifel { .. },
                ..
            })
        ) {
            return;
        }
        let Some(u) = self.rto_undo.take() else {
            return;
        };
        if tsecr.is_some_and(|e| u.spurious(e)) {
            self.rto_undo_respond(now, u, "Eifel", stats);
        }
    }

    /// The response to a spurious timeout (RFC 4015 section 3.2, the Eifel response,
    /// which RFC 5682 section 4 also names for F-RTO): cwnd and ssthresh go back to
    /// their values before it (as Linux's undo does), sending resumes with new data
    /// (SND.NXT = SND.MAX: the originals are on their way; step 3), `recover` is what
    /// it was, so a real loss in the window can still start fast recovery, and the RTO's
    /// exponential back-off is reset (RFC 4015 sections 2 and 3.2: the timer is
    /// re-initialized from SRTT and RTTVAR, the backed-off value being the spurious
    /// timeout's doing), the running timer re-armed with it.
    /// `TcpExtTCPSpuriousRTOs` counts it.
    pub(crate) fn rto_undo_respond(
        &mut self,
        now: Instant,
        u: RtoUndo,
        how: &str,
        stats: &mut Stats,
    ) {
        self.cc.undo(u.prior_cwnd, u.prior_ssthresh);
        self.snd_nxt = self.snd_max;
        self.rec.restore_recover(u.prior_recover);
        self.rtt.reset_backoff();
        if self.snd_una != self.snd_max {
            self.arm_rto(now);
        }
        stats.tcp_spurious_rtos += 1;
        log::debug!(target: LOG, "{} -> {}: spurious RTO ({how}), window restored to {} at {:?}",
            self.local, self.remote, self.cc.cwnd(), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3708 section 3: spurious only once D-SACKs covered every retransmitted byte;
    /// a duplicate of data not retransmitted counts nothing.
    #[test]
    fn spurious_when_every_retransmission_is_reported() {
        let mut u = Undo::new(20_000, usize::MAX);
        assert!(
            !u.on_dsack(SeqNum(1000), SeqNum(2000)),
            "nothing retransmitted yet"
        );
        u.on_retransmit(SeqNum(1000), 1000);
        u.on_retransmit(SeqNum(5000), 1000);
        assert!(!u.on_dsack(SeqNum(1000), SeqNum(2000)));
        assert!(
            !u.on_dsack(SeqNum(1000), SeqNum(2000)),
            "the same report twice"
        );
        assert!(!u.on_dsack(SeqNum(7000), SeqNum(8000)), "not retransmitted");
        assert!(u.on_dsack(SeqNum(5000), SeqNum(6000)));
    }

    /// Parts of a retransmission reported separately add up; a block wider than the
    /// retransmission covers it.
    #[test]
    fn partial_reports_add_up() {
        let mut u = Undo::new(20_000, 10_000);
        u.on_retransmit(SeqNum(1000), 1000);
        assert!(!u.on_dsack(SeqNum(500), SeqNum(1500)));
        assert!(!u.on_dsack(SeqNum(1700), SeqNum(1800)));
        assert!(!u.on_dsack(SeqNum(1500), SeqNum(1700)));
        assert!(u.on_dsack(SeqNum(1800), SeqNum(3000)));
    }

    /// An episode with more separate retransmissions than are tracked is never undone.
    #[test]
    fn too_many_ranges_are_not_undone() {
        let mut u = Undo::new(20_000, 10_000);
        for k in 0..=MAX_RANGES as u32 {
            u.on_retransmit(SeqNum(k * 2000), 1000);
        }
        assert!(!u.on_dsack(SeqNum(0), SeqNum(MAX_RANGES as u32 * 2000 + 1000)));
    }
}
