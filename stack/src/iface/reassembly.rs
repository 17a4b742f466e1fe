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

use std::net::Ipv4Addr;

use crate::time::{Duration, Instant};

mod table;
pub(crate) use table::{Entry, Limits, Piece, Table};

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

pub use table::{Failure, Outcome};

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

/// The largest IPv4 datagram (RFC 791: total length is 16 bits).
const MAX_DATAGRAM: usize = 65_535;

/// Fragment reassembly state: what is kept of a first fragment is its header.
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    table: Table<Key, Vec<u8>>,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new(config: ReassemblyConfig) -> Reassembler {
        let limits = Limits {
            timeout: config.timeout,
            max_datagrams: config.max_datagrams,
            max_bytes: config.max_bytes,
            max_fragments: config.max_fragments,
        };
        Reassembler {
            config,
            table: Table::new(limits, false),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReassemblyConfig {
        &self.config
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.table.len()
    }

    /// Payload bytes held.
    pub fn bytes_held(&self) -> usize {
        self.table.bytes()
    }

    /// Adds a fragment.
    pub fn push(&mut self, now: Instant, frag: Fragment<'_>) -> Outcome {
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            protocol: frag.protocol,
            ident: frag.ident,
        };
        let piece = Piece {
            start: frag.offset,
            data: frag.payload,
            more: frag.more_frags,
            too_big: frag.offset + frag.payload.len() + frag.header.len() > MAX_DATAGRAM,
        };
        self.table
            .place(now, key, piece, || frag.header.to_vec())
            .outcome(|d| Some(assemble(d)))
    }

    /// The earliest time a datagram in progress expires.
    pub fn poll_at(&self) -> Option<Instant> {
        self.table.poll_at()
    }

    /// Drops every datagram whose time ran out, returning them.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let expired = self.table.expire(now).into_iter();
        expired
            .map(|(key, d)| Expired {
                src: key.src,
                quote: d.first.map(|mut h| {
                    h.extend_from_slice(&d.payload[..d.payload.len().min(8)]);
                    h
                }),
            })
            .collect()
    }
}

/// Builds the reassembled datagram: the first fragment's header with total length set,
/// MF and offset cleared and the checksum recomputed, then the payload.
fn assemble(d: Entry<Vec<u8>>) -> Vec<u8> {
    let header = d.first.unwrap_or_default();
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
