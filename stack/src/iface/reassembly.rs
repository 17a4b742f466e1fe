//! IPv4 fragment reassembly (RFC 791 section 3.2, RFC 815, RFC 1122 section 3.3.2).
//!
//! Datagrams in progress are keyed by (source, destination, protocol, identification), as
//! RFC 791 requires. Everything is bounded: the number of datagrams in progress, the total
//! bytes held, the fragments per datagram, and the size of a datagram (65,535 bytes, the
//! largest IPv4 datagram). A datagram that does not complete within the timeout is
//! dropped; if its first fragment had arrived, the caller sends an ICMP time exceeded
//! (fragment reassembly time exceeded) quoting it (RFC 792; RFC 1122 3.3.2).
//!
//! Overlapping fragments drop the whole datagram, as Linux has done since 2018
//! (overlaps are how "teardrop" and fragment-smuggling attacks work; RFC 5722 made the
//! same rule for IPv6). An exact duplicate of a fragment already held (same offset and
//! length, as a duplicating link delivers) is ignored instead, also as Linux does.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::time::{Duration, Instant};

/// Limits and timeout for reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// How long a datagram may take to complete. RFC 1122 3.3.2 recommends 60 to 120
    /// seconds; the default is 60 s.
    pub timeout: Duration,
    /// The most datagrams in progress at once.
    pub max_datagrams: usize,
    /// The most payload bytes held across all datagrams in progress.
    pub max_bytes: usize,
    /// The most fragments one datagram may arrive in.
    pub max_fragments: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            timeout: Duration::from_secs(60),
            max_datagrams: 64,
            max_bytes: 4 * 1024 * 1024,
            max_fragments: 256,
        }
    }
}

/// One received fragment, as the IP layer hands it over.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Identification.
    pub ident: u16,
    /// Fragment offset in bytes.
    pub offset: usize,
    /// More-fragments flag.
    pub more_frags: bool,
    /// The fragment's IP header, options included, as received.
    pub header: &'a [u8],
    /// The fragment's payload.
    pub payload: &'a [u8],
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The datagram is complete: its full bytes (header of the first fragment with the
    /// length, flags and checksum rewritten, then the whole payload).
    Complete(Vec<u8>),
    /// Held; more fragments are needed.
    Pending,
    /// An exact duplicate of a fragment already held; ignored.
    Duplicate,
    /// The fragment was refused and the datagram (if any) dropped.
    Failed(Failure),
}

/// Why reassembly failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Fragments overlap.
    Overlap,
    /// The datagram would exceed 65,535 bytes.
    TooBig,
    /// A fragment other than the last is not a multiple of 8 bytes, or lengths disagree.
    Inconsistent,
    /// Too many fragments, datagrams or bytes in progress.
    NoRoom,
}

/// A datagram whose time ran out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    /// Where it came from.
    pub src: Ipv4Addr,
    /// The first fragment's header and the first 8 bytes of its data, if the first
    /// fragment had arrived: what an ICMP time exceeded quotes (RFC 792).
    pub quote: Option<Vec<u8>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ident: u16,
}

#[derive(Debug)]
struct Datagram {
    deadline: Instant,
    /// Sequence number of creation, for evicting the oldest.
    born: u64,
    /// Received byte ranges `[start, end)`, sorted and disjoint.
    ranges: Vec<(usize, usize)>,
    received: usize,
    /// Payload length, once the last fragment (MF clear) has arrived.
    total: Option<usize>,
    /// The first fragment's header (offset 0), once it has arrived.
    header: Option<Vec<u8>>,
    payload: Vec<u8>,
}

/// The largest IPv4 datagram (RFC 791: total length is 16 bits).
const MAX_DATAGRAM: usize = 65_535;

/// Fragment reassembly state.
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    datagrams: HashMap<Key, Datagram>,
    bytes: usize,
    born: u64,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        Reassembler {
            config,
            datagrams: HashMap::new(),
            bytes: 0,
            born: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReassemblyConfig {
        &self.config
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.datagrams.len()
    }

    /// Payload bytes held.
    pub fn bytes_held(&self) -> usize {
        self.bytes
    }

    /// Adds a fragment.
    pub fn push(&mut self, now: Instant, frag: Fragment<'_>) -> Outcome {
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            protocol: frag.protocol,
            ident: frag.ident,
        };
        let start = frag.offset;
        let end = start + frag.payload.len();
        // RFC 791: every fragment but the last carries a multiple of 8 bytes.
        if frag.more_frags && (frag.payload.is_empty() || !frag.payload.len().is_multiple_of(8)) {
            return self.fail(key, Failure::Inconsistent);
        }
        if end + frag.header.len() > MAX_DATAGRAM {
            return self.fail(key, Failure::TooBig);
        }

        if !self.datagrams.contains_key(&key) {
            if self.datagrams.len() >= self.config.max_datagrams && !self.evict_oldest() {
                return Outcome::Failed(Failure::NoRoom);
            }
            self.born += 1;
            self.datagrams.insert(
                key,
                Datagram {
                    deadline: now + self.config.timeout,
                    born: self.born,
                    ranges: Vec::new(),
                    received: 0,
                    total: None,
                    header: None,
                    payload: Vec::new(),
                },
            );
        }
        // Make room for the bytes before touching the datagram, evicting others if needed.
        while self.bytes + frag.payload.len() > self.config.max_bytes {
            if !self.evict_oldest_except(key) {
                return self.fail(key, Failure::NoRoom);
            }
        }

        let Some(d) = self.datagrams.get_mut(&key) else {
            return Outcome::Failed(Failure::NoRoom);
        };
        // Where the new range goes among the sorted ranges.
        let at = d.ranges.partition_point(|&(s, _)| s < start);
        if d.ranges.get(at) == Some(&(start, end)) {
            return Outcome::Duplicate;
        }
        let overlaps_prev = at > 0 && d.ranges[at - 1].1 > start;
        let overlaps_next = d.ranges.get(at).is_some_and(|&(s, _)| s < end);
        if overlaps_prev || overlaps_next {
            return self.fail(key, Failure::Overlap);
        }
        if !frag.more_frags {
            if d.total.is_some_and(|t| t != end) || d.ranges.last().is_some_and(|&(_, e)| e > end) {
                return self.fail(key, Failure::Inconsistent);
            }
            d.total = Some(end);
        } else if d.total.is_some_and(|t| end > t) {
            return self.fail(key, Failure::Inconsistent);
        }
        if d.ranges.len() >= self.config.max_fragments {
            return self.fail(key, Failure::NoRoom);
        }

        d.ranges.insert(at, (start, end));
        if d.payload.len() < end {
            d.payload.resize(end, 0);
        }
        d.payload[start..end].copy_from_slice(frag.payload);
        d.received += frag.payload.len();
        self.bytes += frag.payload.len();
        if start == 0 {
            d.header = Some(frag.header.to_vec());
        }

        match (d.total, &d.header) {
            (Some(total), Some(_)) if d.received == total => {
                let Some(d) = self.datagrams.remove(&key) else {
                    return Outcome::Pending;
                };
                self.bytes -= d.received;
                Outcome::Complete(assemble(d))
            }
            _ => Outcome::Pending,
        }
    }

    /// The earliest time a datagram in progress expires.
    pub fn poll_at(&self) -> Option<Instant> {
        self.datagrams.values().map(|d| d.deadline).min()
    }

    /// Drops every datagram whose time ran out, returning them.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let expired: Vec<Key> = self
            .datagrams
            .iter()
            .filter(|(_, d)| d.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::with_capacity(expired.len());
        for key in expired {
            if let Some(d) = self.datagrams.remove(&key) {
                self.bytes -= d.received;
                let quote = d.header.map(|mut h| {
                    let n = d.payload.len().min(8);
                    h.extend_from_slice(&d.payload[..n]);
                    h
                });
                out.push(Expired {
                    src: key.src,
                    quote,
                });
            }
        }
        out
    }

    fn fail(&mut self, key: Key, why: Failure) -> Outcome {
        if let Some(d) = self.datagrams.remove(&key) {
            self.bytes -= d.received;
        }
        Outcome::Failed(why)
    }

    fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .datagrams
            .iter()
            .min_by_key(|(_, d)| d.born)
            .map(|(k, _)| *k);
        match oldest {
            Some(k) => {
                self.fail(k, Failure::NoRoom);
                true
            }
            None => false,
        }
    }

    fn evict_oldest_except(&mut self, keep: Key) -> bool {
        let oldest = self
            .datagrams
            .iter()
            .filter(|(k, _)| **k != keep)
            .min_by_key(|(_, d)| d.born)
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

/// Builds the reassembled datagram: the first fragment's header with total length set,
/// MF and offset cleared and the checksum recomputed, then the payload.
fn assemble(d: Datagram) -> Vec<u8> {
    let header = d.header.unwrap_or_default();
    let hl = header.len();
    let mut out = Vec::with_capacity(hl + d.payload.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&d.payload);
    if hl >= 20 {
        let total = (hl + d.payload.len()) as u16;
        out[2..4].copy_from_slice(&total.to_be_bytes());
        // Keep DF (and the reserved bit); clear MF and the offset.
        out[6] &= 0xc0;
        out[7] = 0;
        out[10] = 0;
        out[11] = 0;
        let c = crate::wire::checksum::checksum(&out[..hl]);
        out[10..12].copy_from_slice(&c.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests;
