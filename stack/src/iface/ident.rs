//! IPv4 identification values (RFC 6864).
//!
//! RFC 6864 section 4.1: the ID of a non-atomic datagram (one that may be fragmented) must
//! not repeat for the same (source, destination, protocol) within the datagram's maximum
//! lifetime; the ID of an atomic datagram (DF set, not fragmented) may be any value.
//! A single global counter would satisfy that but leaks traffic volume and lets an
//! off-path host predict IDs (the "idle scan"); like Linux's `ip_idents`, the generator
//! keeps a table of counters, picks one by a keyed hash of the triple and starts each at a
//! random value. Atomic datagrams get IDs from the same counters, which is harmless.

use std::net::Ipv4Addr;

use crate::rand::Rng;

const BUCKETS: usize = 2048;

/// Hands out IPv4 identification values.
#[derive(Clone, Debug)]
pub struct IdentGenerator {
    key: u64,
    counters: Vec<u16>,
}

impl IdentGenerator {
    /// A generator with a random key and random starting counters.
    pub fn new(rng: &mut Rng) -> IdentGenerator {
        let key = rng.next_u64();
        let counters = (0..BUCKETS).map(|_| rng.next_u32() as u16).collect();
        IdentGenerator { key, counters }
    }

    /// The next identification for a datagram from `src` to `dst` carrying `protocol`.
    pub fn next(&mut self, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> u16 {
        self.flow(src, dst, protocol).take()
    }

    /// The counter of the (`src`, `dst`, `protocol`) triple, for a run of datagrams of
    /// one flow (a TCP connection's flush): the keyed hash once for the run, not per
    /// datagram. The IDs are those [`IdentGenerator::next`] would give one by one.
    pub fn flow(&mut self, src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> FlowIdent<'_> {
        let mut h = self.key ^ (u64::from(u32::from(src)) << 32 | u64::from(u32::from(dst)));
        h ^= u64::from(protocol) << 56;
        // A strong 64-bit mix (SplitMix64's finaliser).
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        FlowIdent {
            counter: &mut self.counters[(h as usize) % BUCKETS],
        }
    }
}

/// One triple's identification counter (see [`IdentGenerator::flow`]).
#[derive(Debug)]
pub struct FlowIdent<'a> {
    counter: &'a mut u16,
}

impl FlowIdent<'_> {
    /// The next identification of the flow.
    #[inline]
    pub fn take(&mut self) -> u16 {
        *self.counter = self.counter.wrapping_add(1);
        *self.counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6864 4.1: consecutive datagrams of one triple get distinct IDs (the counter
    /// only repeats after 65,536 datagrams).
    #[test]
    fn ids_do_not_repeat_within_a_triple() {
        let mut g = IdentGenerator::new(&mut Rng::new(1));
        let a = Ipv4Addr::new(10, 77, 0, 2);
        let b = Ipv4Addr::new(10, 77, 0, 1);
        let ids: std::collections::HashSet<u16> = (0..65_536).map(|_| g.next(a, b, 1)).collect();
        assert_eq!(ids.len(), 65_536);
    }

    /// A flush's run of datagrams gets the IDs the triple's datagrams would get one by
    /// one.
    #[test]
    fn a_flow_continues_the_triple_s_counter() {
        let a = Ipv4Addr::new(10, 77, 0, 2);
        let b = Ipv4Addr::new(10, 77, 0, 1);
        let mut one_by_one = IdentGenerator::new(&mut Rng::new(5));
        let mut by_flow = one_by_one.clone();
        let want: Vec<u16> = (0..10).map(|_| one_by_one.next(a, b, 6)).collect();
        let mut got = vec![by_flow.next(a, b, 6)];
        let mut flow = by_flow.flow(a, b, 6);
        got.extend((0..9).map(|_| flow.take()));
        assert_eq!(got, want);
    }

    #[test]
    fn starting_points_depend_on_the_seed() {
        let a = Ipv4Addr::new(10, 77, 0, 2);
        let b = Ipv4Addr::new(10, 77, 0, 1);
        let x = IdentGenerator::new(&mut Rng::new(1)).next(a, b, 17);
        let y = IdentGenerator::new(&mut Rng::new(2)).next(a, b, 17);
        assert_ne!(x, y);
    }
}
