//! The sender's SACK scoreboard (RFC 2018; RFC 6675 sections 2-4): what the peer has
//! reported receiving above SND.UNA. The sender reads the SACKed bytes from it (PRR's
//! DeliveredData, RACK's DupThresh test); which segments are lost, and so the pipe, come
//! from RACK (`rack.rs`, RFC 8985), which replaces RFC 6675's IsLost() in the sender.
//! RFC 6675's own IsLost(), NextSeg() and SetPipe() stay here with their tests; the
//! sender no longer calls them.

use super::seq::SeqNum;

/// The most separate SACKed ranges remembered (a bound; the peer reports at most 3-4 per
/// ACK, and older information past this is dropped from the top).
pub const MAX_RANGES: usize = 64;

/// RFC 6675's DupThresh: three duplicate ACKs, or three segments' worth SACKed above.
pub const DUP_THRESH: usize = 3;

/// SACKed ranges above SND.UNA, sorted and disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scoreboard {
    ranges: Vec<(SeqNum, SeqNum)>,
}

impl Scoreboard {
    /// Forgets everything (after a timeout: RFC 2018 section 8, the receiver may renege).
    pub fn clear(&mut self) {
        self.ranges.clear();
    }

    /// Whether nothing is SACKed.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The SACKed ranges.
    pub fn ranges(&self) -> &[(SeqNum, SeqNum)] {
        &self.ranges
    }

    /// The bytes SACKed in all ranges (RFC 9937's "bytes SACKed in scoreboard").
    pub fn sacked_bytes(&self) -> usize {
        self.ranges.iter().map(|&(a, b)| b.since(a)).sum()
    }

    /// The highest SACKed sequence number (the end of the last range).
    pub fn high(&self) -> Option<SeqNum> {
        self.ranges.last().map(|r| r.1)
    }

    /// Adds the blocks of an ACK. Blocks not within (SND.UNA, SND.MAX] — D-SACKs
    /// (RFC 2883) and nonsense — are ignored. Returns whether new data was SACKed.
    pub fn update(
        &mut self,
        blocks: &[Option<(u32, u32)>],
        snd_una: SeqNum,
        snd_max: SeqNum,
    ) -> bool {
        let mut new = false;
        for &(l, r) in blocks.iter().flatten() {
            let (mut l, r) = (SeqNum(l), SeqNum(r));
            if r <= l || r <= snd_una || r > snd_max {
                continue;
            }
            if l < snd_una {
                l = snd_una;
            }
            new |= self.insert(l, r);
        }
        new
    }

    fn insert(&mut self, l: SeqNum, r: SeqNum) -> bool {
        // Covered already?
        if self.ranges.iter().any(|&(a, b)| a <= l && r <= b) {
            return false;
        }
        let mut nl = l;
        let mut nr = r;
        self.ranges.retain(|&(a, b)| {
            let touches = a <= nr && nl <= b;
            if touches {
                nl = nl.min(a);
                nr = nr.max(b);
            }
            !touches
        });
        let at = self
            .ranges
            .iter()
            .position(|&(a, _)| a > nl)
            .unwrap_or(self.ranges.len());
        self.ranges.insert(at, (nl, nr));
        if self.ranges.len() > MAX_RANGES {
            self.ranges.pop();
        }
        true
    }

    /// SND.UNA moved: drop what lies below it.
    pub fn ack(&mut self, snd_una: SeqNum) {
        self.ranges.retain(|&(_, b)| b > snd_una);
        if let Some(first) = self.ranges.first_mut() {
            if first.0 < snd_una {
                first.0 = snd_una;
            }
        }
    }

    /// Whether `seq` is SACKed.
    pub fn is_sacked(&self, seq: SeqNum) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= seq && seq < b)
    }

    /// If `seq` is inside a SACKed range, where that range ends.
    pub fn sacked_until(&self, seq: SeqNum) -> Option<SeqNum> {
        self.ranges
            .iter()
            .find(|&&(a, b)| a <= seq && seq < b)
            .map(|r| r.1)
    }

    /// RFC 6675 IsLost(SeqNum): lost when DupThresh discontiguous SACKed ranges lie above
    /// it, or more than (DupThresh - 1) * SMSS bytes are SACKed above it.
    pub fn is_lost(&self, seq: SeqNum, smss: usize) -> bool {
        let mut bytes = 0;
        let mut count = 0;
        for &(a, b) in self.ranges.iter().rev() {
            if b <= seq {
                break;
            }
            count += 1;
            bytes += b.since(a.max(seq));
        }
        count >= DUP_THRESH || bytes > (DUP_THRESH - 1) * smss
    }

    /// The un-SACKed holes between `from` and the highest SACKed byte, in order.
    pub fn holes(&self, from: SeqNum) -> impl Iterator<Item = (SeqNum, SeqNum)> + '_ {
        let mut at = from;
        self.ranges.iter().filter_map(move |&(a, b)| {
            let hole = (a > at).then_some((at, a));
            if b > at {
                at = b;
            }
            hole
        })
    }

    /// RFC 6675 NextSeg() rule 1: the first lost, un-SACKed hole at or after `from`
    /// (normally HighRxt + 1); returns its start and end.
    pub fn next_lost(&self, from: SeqNum, smss: usize) -> Option<(SeqNum, SeqNum)> {
        self.holes(from).find(|&(s, _)| self.is_lost(s, smss))
    }

    /// The end of the highest hole at or after `from` that IsLost() deems lost (IsLost is
    /// true for everything below a lost byte): how far loss has been indicated. An ACK
    /// that moves it up indicates further loss (RFC 9937's safeACK test).
    pub fn lost_frontier(&self, from: SeqNum, smss: usize) -> Option<SeqNum> {
        self.holes(from)
            .filter(|&(s, _)| self.is_lost(s, smss))
            .last()
            .map(|h| h.1)
    }

    /// RFC 6675 SetPipe(): octets in [SND.UNA, SND.MAX) that are not SACKed and either not
    /// lost or retransmitted (at or below HighRxt) — counted once each way, as the RFC
    /// says.
    pub fn pipe(&self, snd_una: SeqNum, snd_max: SeqNum, high_rxt: SeqNum, smss: usize) -> usize {
        let mut pipe = 0;
        let top = self.high().unwrap_or(snd_una).max(snd_una);
        for (s, e) in self.holes(snd_una) {
            if !self.is_lost(s, smss) {
                pipe += e.since(s);
            }
            if high_rxt > s {
                pipe += high_rxt.min(e).since(s);
            }
        }
        // Above the highest SACKed byte nothing is lost yet.
        pipe += snd_max.since(top);
        pipe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNum {
        SeqNum(n)
    }

    /// RFC 2018: blocks merge; blocks outside (SND.UNA, SND.MAX] are ignored (D-SACK).
    #[test]
    fn update_merges_and_ignores_nonsense() {
        let mut sb = Scoreboard::default();
        assert!(sb.update(
            &[Some((2000, 3000)), Some((4000, 5000))],
            s(1000),
            s(10_000)
        ));
        assert!(sb.update(&[Some((3000, 4000))], s(1000), s(10_000)));
        assert_eq!(sb.ranges(), &[(s(2000), s(5000))]);
        assert!(
            !sb.update(&[Some((2500, 3500))], s(1000), s(10_000)),
            "nothing new"
        );
        assert!(
            !sb.update(&[Some((500, 900))], s(1000), s(10_000)),
            "D-SACK below SND.UNA"
        );
        assert!(
            !sb.update(&[Some((9000, 11_000))], s(1000), s(10_000)),
            "beyond SND.MAX"
        );
        assert!(
            !sb.update(&[Some((7000, 6000))], s(1000), s(10_000)),
            "backwards"
        );
        sb.ack(s(3000));
        assert_eq!(sb.ranges(), &[(s(3000), s(5000))]);
        sb.ack(s(6000));
        assert!(sb.is_empty());
    }

    /// RFC 6675 IsLost: more than (DupThresh-1)*SMSS bytes, or DupThresh ranges, above.
    #[test]
    fn is_lost_rule() {
        let mut sb = Scoreboard::default();
        sb.update(&[Some((2000, 4000))], s(1000), s(20_000));
        assert!(
            !sb.is_lost(s(1000), 1000),
            "2000 bytes = 2 SMSS is not more than 2"
        );
        sb.update(&[Some((4000, 4001))], s(1000), s(20_000));
        assert!(sb.is_lost(s(1000), 1000));
        let mut sb = Scoreboard::default();
        sb.update(
            &[Some((2000, 2010)), Some((3000, 3010)), Some((4000, 4010))],
            s(1000),
            s(20_000),
        );
        assert!(sb.is_lost(s(1000), 1000), "three discontiguous ranges");
        assert!(!sb.is_lost(s(2500), 1000), "only two ranges above");
    }

    /// RFC 6675 SetPipe and NextSeg: holes that are lost leave the pipe until they are
    /// retransmitted; data above the highest SACK counts.
    #[test]
    fn pipe_and_next_lost() {
        let mut sb = Scoreboard::default();
        // Sent 1000..11000 in ten 1000-byte segments; 1000..2000 lost, 2000..6000 SACKed.
        sb.update(&[Some((2000, 6000))], s(1000), s(11_000));
        assert_eq!(sb.next_lost(s(1000), 1000), Some((s(1000), s(2000))));
        assert_eq!(
            sb.pipe(s(1000), s(11_000), s(1000), 1000),
            5000,
            "the lost hole is out"
        );
        assert_eq!(
            sb.pipe(s(1000), s(11_000), s(2000), 1000),
            6000,
            "retransmitted: back in"
        );
        assert_eq!(sb.next_lost(s(2000), 1000), None);
        assert_eq!(sb.sacked_until(s(2500)), Some(s(6000)));
        assert_eq!(
            sb.holes(s(1000)).collect::<Vec<_>>(),
            vec![(s(1000), s(2000))]
        );
    }

    #[test]
    fn bounded() {
        let mut sb = Scoreboard::default();
        for k in 0..200u32 {
            sb.update(
                &[Some((1000 + k * 100, 1050 + k * 100))],
                s(0),
                s(1_000_000),
            );
        }
        assert_eq!(sb.ranges().len(), MAX_RANGES);
    }
}
