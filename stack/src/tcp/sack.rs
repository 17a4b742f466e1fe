//! The sender's SACK scoreboard (RFC 2018; RFC 6675 sections 2-4): what the peer has
//! reported receiving above SND.UNA. The sender reads the SACKed bytes from it (PRR's
//! DeliveredData, RACK's DupThresh test); which segments are lost, and so the pipe, come
//! from RACK (`rack.rs`, RFC 8985), which replaces RFC 6675's IsLost(), NextSeg() and
//! SetPipe() in the sender.

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
