//! IPv6 fragment reassembly (RFC 8200 section 4.5), with overlapping fragments dropping
//! the whole packet (RFC 5722) and atomic fragments processed on their own (RFC 6946).
//!
//! Packets in progress are keyed by (source, destination, identification) (RFC 8200
//! section 4.5: "Fragments ... are reassembled ... only if they have the same Source
//! Address, Destination Address, and Fragment Identification"). Everything is bounded:
//! packets in progress, bytes held, fragments per packet. A packet that does not complete
//! within 60 seconds is dropped; if its first fragment had arrived, the caller sends an
//! ICMPv6 Time Exceeded, code 1, quoting that fragment (RFC 8200 section 4.5).
//!
//! The fragment checks that need no state (a non-final fragment's length a multiple of 8,
//! the reassembled size within 65,535 octets, the first fragment holding the whole header
//! chain) are made by [`ExtChain::parse`](crate::wire::ipv6::ExtChain::parse), which
//! answers them with Parameter Problems; this module repeats the first two as a guard.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use crate::time::{Duration, Instant};

/// Limits and timeout for reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reassembly6Config {
    /// How long a packet may take to complete: 60 seconds (RFC 8200 section 4.5).
    pub timeout: Duration,
    /// The most packets in progress at once (including dead ones, see [`Failure::Overlap`]).
    pub max_packets: usize,
    /// The most fragmentable-part bytes held across all packets in progress.
    pub max_bytes: usize,
    /// The most fragments one packet may arrive in.
    pub max_fragments: usize,
}

impl Default for Reassembly6Config {
    fn default() -> Self {
        Reassembly6Config {
            timeout: Duration::from_secs(60),
            max_packets: 64,
            max_bytes: 4 * 1024 * 1024,
            max_fragments: 256,
        }
    }
}

/// One received fragment, as the IPv6 layer hands it over after
/// [`ExtChain::parse`](crate::wire::ipv6::ExtChain::parse).
#[derive(Clone, Copy, Debug)]
pub struct Fragment6<'a> {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The Fragment header's identification.
    pub ident: u32,
    /// The fragment offset in bytes.
    pub offset: usize,
    /// The M flag.
    pub more_frags: bool,
    /// The Fragment header's Next Header.
    pub next_header: u8,
    /// The unfragmentable part as received: the IPv6 header and the extension headers
    /// before the Fragment header.
    pub unfragmentable: &'a [u8],
    /// The offset in `unfragmentable` of the Next Header field that names the Fragment
    /// header ([`ExtChain::fragment_named_at`](crate::wire::ipv6::ExtChain)).
    pub named_at: usize,
    /// The fragment data (after the Fragment header).
    pub data: &'a [u8],
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The packet is complete: the unfragmentable part of the first fragment with its
    /// Payload Length and the Next Header that named the Fragment header rewritten, then
    /// the fragmentable part (RFC 8200 section 4.5, "Reassembly").
    Complete(Vec<u8>),
    /// Held; more fragments are needed.
    Pending,
    /// An exact duplicate of a fragment already held; dropped, the others kept (RFC 8200
    /// section 4.5 allows this instead of treating it as an overlap).
    Duplicate,
    /// The fragment was refused and the packet (if any) dropped.
    Failed(Failure),
}

/// Why reassembly failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Fragments overlap (RFC 5722 section 4): the packet is dropped, and so are its
    /// fragments still to come, until its timeout.
    Overlap,
    /// The packet would exceed 65,535 octets of payload.
    TooBig,
    /// A non-final fragment's length is not a multiple of 8, or the lengths disagree
    /// (data past the end a final fragment set, or two different ends).
    Inconsistent,
    /// Too many fragments, packets or bytes in progress.
    NoRoom,
}

/// A packet whose time ran out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    /// Where it came from.
    pub src: Ipv6Addr,
    /// The first fragment as received (unfragmentable part, its Fragment header and its
    /// data), if it had arrived: what the ICMPv6 Time Exceeded quotes. `None` if the
    /// first fragment never came (RFC 8200 section 4.5: then no error is sent) or if the
    /// packet was dead after an overlap.
    pub first_fragment: Option<Vec<u8>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ident: u32,
}

#[derive(Debug)]
struct First {
    unfragmentable: Vec<u8>,
    named_at: usize,
    next_header: u8,
}

#[derive(Debug)]
struct Packet {
    deadline: Instant,
    born: u64,
    /// After an overlap: every fragment is dropped until the deadline (RFC 5722).
    dead: bool,
    /// Received ranges `[start, end)` of the fragmentable part, sorted and disjoint.
    ranges: Vec<(usize, usize)>,
    received: usize,
    /// Length of the fragmentable part, once the last fragment has arrived.
    total: Option<usize>,
    first: Option<First>,
    payload: Vec<u8>,
}

/// The largest payload length (RFC 8200 section 3: 16 bits; no jumbograms here).
const MAX_PAYLOAD: usize = 65_535;

/// IPv6 fragment reassembly state.
#[derive(Debug)]
pub struct Reassembler6 {
    config: Reassembly6Config,
    packets: HashMap<Key, Packet>,
    bytes: usize,
    born: u64,
}

impl Reassembler6 {
    /// An empty reassembler.
    pub fn new(config: Reassembly6Config) -> Reassembler6 {
        Reassembler6 {
            config,
            packets: HashMap::new(),
            bytes: 0,
            born: 0,
        }
    }

    /// Packets in progress (dead ones included).
    pub fn in_progress(&self) -> usize {
        self.packets.len()
    }

    /// Fragment bytes held.
    pub fn bytes_held(&self) -> usize {
        self.bytes
    }

    /// Adds a fragment.
    ///
    /// An atomic fragment (offset 0, M clear) is returned whole at once and touches no
    /// state: RFC 6946 section 4, "MUST process such packet in isolation from any other
    /// packets/fragments, even if such packets/fragments contain the same set {IPv6
    /// Source Address, IPv6 Destination Address, Fragment Identification}".
    pub fn push(&mut self, now: Instant, frag: Fragment6<'_>) -> Outcome {
        if frag.offset == 0 && !frag.more_frags {
            return match assemble_one(&frag) {
                Some(p) => Outcome::Complete(p),
                None => Outcome::Failed(Failure::Inconsistent),
            };
        }
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            ident: frag.ident,
        };
        let start = frag.offset;
        let end = start + frag.data.len();
        if frag.more_frags && (frag.data.is_empty() || !frag.data.len().is_multiple_of(8)) {
            return self.fail(key, Failure::Inconsistent);
        }
        if frag.unfragmentable.len() < 40 || frag.named_at >= frag.unfragmentable.len() {
            return Outcome::Failed(Failure::Inconsistent);
        }
        if frag.unfragmentable.len() - 40 + end > MAX_PAYLOAD {
            return self.fail(key, Failure::TooBig);
        }
        if !self.packets.contains_key(&key) {
            if self.packets.len() >= self.config.max_packets && !self.evict_oldest(None) {
                return Outcome::Failed(Failure::NoRoom);
            }
            self.born += 1;
            self.packets.insert(
                key,
                Packet {
                    deadline: now + self.config.timeout,
                    born: self.born,
                    dead: false,
                    ranges: Vec::new(),
                    received: 0,
                    total: None,
                    first: None,
                    payload: Vec::new(),
                },
            );
        }
        if self.packets.get(&key).is_some_and(|p| p.dead) {
            return Outcome::Failed(Failure::Overlap);
        }
        while self.bytes + frag.data.len() > self.config.max_bytes {
            if !self.evict_oldest(Some(key)) {
                return self.fail(key, Failure::NoRoom);
            }
        }
        let Some(p) = self.packets.get_mut(&key) else {
            return Outcome::Failed(Failure::NoRoom);
        };
        let at = p.ranges.partition_point(|&(s, _)| s < start);
        if p.ranges.get(at) == Some(&(start, end)) {
            return Outcome::Duplicate;
        }
        let overlaps_prev = at > 0 && p.ranges[at - 1].1 > start;
        let overlaps_next = p.ranges.get(at).is_some_and(|&(s, _)| s < end);
        if overlaps_prev || overlaps_next {
            // RFC 5722 section 4: "the entire datagram (and any constituent fragments,
            // including those not yet received) MUST be silently discarded".
            self.bytes -= p.received;
            p.received = 0;
            p.ranges = Vec::new();
            p.payload = Vec::new();
            p.first = None;
            p.dead = true;
            return Outcome::Failed(Failure::Overlap);
        }
        if !frag.more_frags {
            if p.total.is_some_and(|t| t != end) || p.ranges.last().is_some_and(|&(_, e)| e > end) {
                return self.fail(key, Failure::Inconsistent);
            }
            p.total = Some(end);
        } else if p.total.is_some_and(|t| end > t) {
            return self.fail(key, Failure::Inconsistent);
        }
        if p.ranges.len() >= self.config.max_fragments {
            return self.fail(key, Failure::NoRoom);
        }
        p.ranges.insert(at, (start, end));
        if p.payload.len() < end {
            p.payload.resize(end, 0);
        }
        p.payload[start..end].copy_from_slice(frag.data);
        p.received += frag.data.len();
        self.bytes += frag.data.len();
        if start == 0 {
            // RFC 8200 section 4.5: the unfragmentable part and the Next Header come from
            // the Offset zero fragment only.
            p.first = Some(First {
                unfragmentable: frag.unfragmentable.to_vec(),
                named_at: frag.named_at,
                next_header: frag.next_header,
            });
        }
        match (p.total, &p.first) {
            (Some(total), Some(_)) if p.received == total => {
                let Some(p) = self.packets.remove(&key) else {
                    return Outcome::Pending;
                };
                self.bytes -= p.received;
                match assemble(p) {
                    Some(out) => Outcome::Complete(out),
                    None => Outcome::Failed(Failure::TooBig),
                }
            }
            _ => Outcome::Pending,
        }
    }

    /// The earliest time a packet in progress expires.
    pub fn poll_at(&self) -> Option<Instant> {
        self.packets.values().map(|p| p.deadline).min()
    }

    /// Drops every packet whose time ran out (RFC 8200 section 4.5: "within 60 seconds
    /// of the reception of the first-arriving fragment"), returning them.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let keys: Vec<Key> = self
            .packets
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(p) = self.packets.remove(&key) else {
                continue;
            };
            self.bytes -= p.received;
            let first_fragment = p.first.map(|f| {
                // Rebuild the first fragment as it arrived: unfragmentable part, the
                // Fragment header (offset 0, M set), and its data.
                let data_len = p
                    .ranges
                    .first()
                    .map_or(0, |&(s, e)| if s == 0 { e } else { 0 });
                let mut b = f.unfragmentable;
                b.extend_from_slice(&[f.next_header, 0, 0, 1]);
                b.extend_from_slice(&key.ident.to_be_bytes());
                b.extend_from_slice(&p.payload[..data_len]);
                let plen = (b.len() - 40) as u16;
                b[4..6].copy_from_slice(&plen.to_be_bytes());
                b
            });
            out.push(Expired {
                src: key.src,
                first_fragment,
            });
        }
        out
    }

    fn fail(&mut self, key: Key, why: Failure) -> Outcome {
        if let Some(p) = self.packets.remove(&key) {
            self.bytes -= p.received;
        }
        Outcome::Failed(why)
    }

    fn evict_oldest(&mut self, keep: Option<Key>) -> bool {
        let oldest = self
            .packets
            .iter()
            .filter(|(k, _)| Some(**k) != keep)
            .min_by_key(|(_, p)| p.born)
            .map(|(k, _)| *k);
        match oldest {
            Some(k) => {
                self.fail(k, Failure::NoRoom);
                true
            }
            None => false,
        }
    }
}

/// Builds the reassembled packet (RFC 8200 section 4.5): the first fragment's
/// unfragmentable part, with the Next Header field that named the Fragment header set to
/// the Fragment header's Next Header and the Payload Length recomputed, then the
/// fragmentable part.
fn assemble(p: Packet) -> Option<Vec<u8>> {
    let first = p.first?;
    let mut out = first.unfragmentable;
    out[first.named_at] = first.next_header;
    out.extend_from_slice(&p.payload);
    let plen = u16::try_from(out.len() - 40).ok()?;
    out[4..6].copy_from_slice(&plen.to_be_bytes());
    Some(out)
}

/// An atomic fragment as a whole packet: the Fragment header taken out.
fn assemble_one(frag: &Fragment6<'_>) -> Option<Vec<u8>> {
    if frag.unfragmentable.len() < 40 || frag.named_at >= frag.unfragmentable.len() {
        return None;
    }
    let mut out = frag.unfragmentable.to_vec();
    out[frag.named_at] = frag.next_header;
    out.extend_from_slice(frag.data);
    let plen = u16::try_from(out.len() - 40).ok()?;
    out[4..6].copy_from_slice(&plen.to_be_bytes());
    Some(out)
}

#[cfg(test)]
mod tests;
