//! Spurious fast retransmissions detected with D-SACK (RFC 3708) and the window
//! reduction they caused undone.
//!
//! RFC 3708 section 3: the sender counts what it retransmits in a loss episode; each
//! D-SACK (RFC 2883) reporting a retransmitted segment as a duplicate means both copies
//! arrived. When every retransmission of the episode has been so reported, none was
//! needed: the loss was spurious (reordering, a delayed ACK path), and the congestion
//! window reduction is undone, cwnd and ssthresh going back to their values before it
//! (the response RFC 3708 section 5 leaves to the implementation; Linux does the same).
//! Only fast retransmit episodes are tracked: a retransmission timeout ends the
//! episode's undo state.

use super::seq::SeqNum;

/// The undo state of one fast-retransmit episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Undo {
    /// cwnd and ssthresh before the reduction.
    pub prior_cwnd: usize,
    pub prior_ssthresh: usize,
    /// The episode's sequence range: SND.UNA and SND.MAX when it began.
    start: SeqNum,
    end: SeqNum,
    /// Bytes retransmitted in the episode not yet reported duplicate.
    outstanding: usize,
    retransmitted: bool,
}

impl Undo {
    /// A fast retransmit begins an episode over `[start, end)` (SND.UNA, SND.MAX), with
    /// the window as it is before the congestion controller reduces it.
    pub fn new(prior_cwnd: usize, prior_ssthresh: usize, start: SeqNum, end: SeqNum) -> Undo {
        Undo {
            prior_cwnd,
            prior_ssthresh,
            start,
            end,
            outstanding: 0,
            retransmitted: false,
        }
    }

    /// `len` bytes were retransmitted in the episode.
    pub fn on_retransmit(&mut self, len: usize) {
        self.outstanding = self.outstanding.saturating_add(len);
        self.retransmitted = true;
    }

    /// A D-SACK block `[l, r)` arrived: the part of it within the episode is a duplicate
    /// of retransmitted data. Returns whether every retransmission has now been reported
    /// duplicate (the reduction was spurious).
    pub fn on_dsack(&mut self, l: SeqNum, r: SeqNum) -> bool {
        let l = if l.diff(self.start) < 0 {
            self.start
        } else {
            l
        };
        let r = if r.diff(self.end) > 0 { self.end } else { r };
        if r.diff(l) > 0 {
            self.outstanding = self.outstanding.saturating_sub(r.since(l));
        }
        self.retransmitted && self.outstanding == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3708 section 3: spurious only once a D-SACK covered every retransmitted byte.
    #[test]
    fn spurious_when_every_retransmission_is_reported() {
        let mut u = Undo::new(20_000, usize::MAX, SeqNum(1000), SeqNum(11_000));
        assert!(
            !u.on_dsack(SeqNum(1000), SeqNum(2000)),
            "nothing retransmitted yet"
        );
        u.on_retransmit(1000);
        u.on_retransmit(1000);
        assert!(!u.on_dsack(SeqNum(1000), SeqNum(2000)));
        // A block outside the episode counts nothing.
        assert!(!u.on_dsack(SeqNum(20_000), SeqNum(21_000)));
        assert!(u.on_dsack(SeqNum(5000), SeqNum(6000)));
    }

    /// A block reaching below the episode counts only its part within it.
    #[test]
    fn block_clipped_to_the_episode() {
        let mut u = Undo::new(20_000, 10_000, SeqNum(1000), SeqNum(11_000));
        u.on_retransmit(1000);
        assert!(!u.on_dsack(SeqNum(500), SeqNum(1500)));
        assert!(u.on_dsack(SeqNum(1500), SeqNum(2000)));
    }
}
