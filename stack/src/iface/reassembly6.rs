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

use std::net::Ipv6Addr;

use super::reassembly::{Entry, Limits, Piece, Table};
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

pub use super::reassembly::{Failure, Outcome};

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

/// The largest payload length (RFC 8200 section 3: 16 bits; no jumbograms here).
const MAX_PAYLOAD: usize = 65_535;

/// IPv6 fragment reassembly state.
#[derive(Debug)]
pub struct Reassembler6 {
    table: Table<Key, First>,
}

impl Reassembler6 {
    /// An empty reassembler. An overlapped packet stays, dead, until its timeout
    /// (RFC 5722 section 4).
    pub fn new(config: Reassembly6Config) -> Reassembler6 {
        let limits = Limits {
            timeout: config.timeout,
            max_datagrams: config.max_packets,
            max_bytes: config.max_bytes,
            max_fragments: config.max_fragments,
        };
        Reassembler6 {
            table: Table::new(limits, true),
        }
    }

    /// Packets in progress (dead ones included).
    pub fn in_progress(&self) -> usize {
        self.table.len()
    }

    /// Fragment bytes held.
    pub fn bytes_held(&self) -> usize {
        self.table.bytes()
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
        if frag.unfragmentable.len() < 40 || frag.named_at >= frag.unfragmentable.len() {
            return Outcome::Failed(Failure::Inconsistent);
        }
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            ident: frag.ident,
        };
        let end = frag.offset + frag.data.len();
        let piece = Piece {
            start: frag.offset,
            data: frag.data,
            more: frag.more_frags,
            too_big: frag.unfragmentable.len() - 40 + end > MAX_PAYLOAD,
        };
        // RFC 8200 section 4.5: the unfragmentable part and the Next Header come from
        // the Offset zero fragment only.
        let first = || First {
            unfragmentable: frag.unfragmentable.to_vec(),
            named_at: frag.named_at,
            next_header: frag.next_header,
        };
        self.table.place(now, key, piece, first).outcome(assemble)
    }

    /// The earliest time a packet in progress expires.
    pub fn poll_at(&self) -> Option<Instant> {
        self.table.poll_at()
    }

    /// Drops every packet whose time ran out (RFC 8200 section 4.5: "within 60 seconds
    /// of the reception of the first-arriving fragment"), returning them.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let expired = self.table.expire(now).into_iter();
        expired
            .map(|(key, p)| {
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
                Expired {
                    src: key.src,
                    first_fragment,
                }
            })
            .collect()
    }
}

/// Builds the reassembled packet (RFC 8200 section 4.5): the first fragment's
/// unfragmentable part, with the Next Header field that named the Fragment header set to
/// the Fragment header's Next Header and the Payload Length recomputed, then the
/// fragmentable part.
fn assemble(p: Entry<First>) -> Option<Vec<u8>> {
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
