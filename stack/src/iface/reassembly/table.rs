//! What IPv4 (RFC 791 3.2, RFC 815) and IPv6 (RFC 8200 4.5) fragment reassembly share:
//! datagrams in progress keyed by the family's key, each a sorted list of the byte
//! ranges received and the bytes themselves, bounded in datagrams, bytes and fragments,
//! with a deadline. A fragment that exactly repeats one held is a duplicate (ignored); one
//! that overlaps another fails the datagram (RFC 5722; Linux's rule for IPv4 too); one
//! whose end disagrees with the final fragment's is inconsistent. The families differ in
//! their keys, what they keep of the first fragment (`F`), their size checks, what a
//! completed datagram looks like, and whether an overlapped datagram stays to swallow
//! its later fragments (IPv6, RFC 5722 section 4) or goes at once (IPv4).

use std::collections::HashMap;
use std::hash::Hash;

use crate::time::{Duration, Instant};

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The datagram is complete: its full bytes (the family's first-fragment header,
    /// rewritten as a whole datagram's, then the payload).
    Complete(Vec<u8>),
    /// Held; more fragments are needed.
    Pending,
    /// An exact duplicate of a fragment already held (same offset and length, as a
    /// duplicating link delivers): dropped, the others kept (RFC 8200 4.5 allows this
    /// instead of treating it as an overlap; Linux does the same for IPv4).
    Duplicate,
    /// The fragment was refused and the datagram (if any) dropped.
    Failed(Failure),
}

/// Why reassembly failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Fragments overlap: the datagram is dropped (with IPv6, and its fragments still to
    /// come, until its timeout: RFC 5722 section 4).
    Overlap,
    /// The datagram would exceed 65,535 octets.
    TooBig,
    /// A non-final fragment's length is not a multiple of 8, or the lengths disagree
    /// (data past the end a final fragment set, or two different ends).
    Inconsistent,
    /// Too many fragments, datagrams or bytes in progress.
    NoRoom,
}

/// The bounds of a table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub timeout: Duration,
    pub max_datagrams: usize,
    pub max_bytes: usize,
    pub max_fragments: usize,
}

/// One datagram in progress.
#[derive(Debug)]
pub(crate) struct Entry<F> {
    pub deadline: Instant,
    /// Sequence number of creation, for evicting the oldest.
    born: u64,
    /// After an overlap, with `keep_dead`: every fragment is dropped until the deadline.
    dead: bool,
    /// Received byte ranges `[start, end)`, sorted and disjoint.
    pub ranges: Vec<(usize, usize)>,
    pub received: usize,
    /// Payload length, once the final fragment has arrived.
    total: Option<usize>,
    /// What the family keeps of the first fragment (offset 0), once it has arrived.
    pub first: Option<F>,
    pub payload: Vec<u8>,
}

/// The result of [`Table::place`].
pub(crate) enum Placed<F> {
    /// The datagram is complete, taken out of the table.
    Complete(Entry<F>),
    Pending,
    Duplicate,
    Failed(Failure),
}

/// A fragment's place in its datagram.
pub(crate) struct Piece<'a> {
    /// Offset in bytes.
    pub start: usize,
    pub data: &'a [u8],
    /// More fragments follow (MF, M).
    pub more: bool,
    /// The datagram would exceed the family's largest (65,535 octets).
    pub too_big: bool,
}

/// Datagrams in progress, keyed by `K`.
#[derive(Debug)]
pub(crate) struct Table<K, F> {
    limits: Limits,
    entries: HashMap<K, Entry<F>>,
    bytes: usize,
    born: u64,
    /// On an overlap keep the datagram, dead, until its deadline (RFC 5722 section 4).
    keep_dead: bool,
}

impl<K: Copy + Eq + Hash, F> Table<K, F> {
    pub fn new(limits: Limits, keep_dead: bool) -> Self {
        Table {
            limits,
            entries: HashMap::new(),
            bytes: 0,
            born: 0,
            keep_dead,
        }
    }

    /// Datagrams in progress (dead ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Payload bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds `piece` to the datagram `key` (made if new); `first` tells what to keep of
    /// a first fragment (offset 0). A datagram completes when its final fragment and
    /// every byte before it have arrived, the first fragment among them.
    pub fn place(
        &mut self,
        now: Instant,
        key: K,
        piece: Piece<'_>,
        first: impl FnOnce() -> F,
    ) -> Placed<F> {
        let (start, end) = (piece.start, piece.start + piece.data.len());
        // RFC 791, RFC 8200 4.5: every fragment but the last carries a multiple of 8.
        if piece.more && (piece.data.is_empty() || !piece.data.len().is_multiple_of(8)) {
            return self.fail(key, Failure::Inconsistent);
        }
        if piece.too_big {
            return self.fail(key, Failure::TooBig);
        }
        if !self.entries.contains_key(&key) {
            if self.entries.len() >= self.limits.max_datagrams && !self.evict_oldest(None) {
                return Placed::Failed(Failure::NoRoom);
            }
            self.born += 1;
            let entry = Entry {
                deadline: now + self.limits.timeout,
                born: self.born,
                dead: false,
                ranges: Vec::new(),
                received: 0,
                total: None,
                first: None,
                payload: Vec::new(),
            };
            self.entries.insert(key, entry);
        }
        if self.entries.get(&key).is_some_and(|e| e.dead) {
            return Placed::Failed(Failure::Overlap);
        }
        // Make room for the bytes before touching the datagram, evicting others.
        while self.bytes + piece.data.len() > self.limits.max_bytes {
            if !self.evict_oldest(Some(key)) {
                return self.fail(key, Failure::NoRoom);
            }
        }
        let Some(e) = self.entries.get_mut(&key) else {
            return Placed::Failed(Failure::NoRoom);
        };
        // Where the new range goes among the sorted ranges.
        let at = e.ranges.partition_point(|&(s, _)| s < start);
        if e.ranges.get(at) == Some(&(start, end)) {
            return Placed::Duplicate;
        }
        let overlaps_prev = at > 0 && e.ranges[at - 1].1 > start;
        let overlaps_next = e.ranges.get(at).is_some_and(|&(s, _)| s < end);
        if overlaps_prev || overlaps_next {
            if !self.keep_dead {
                return self.fail(key, Failure::Overlap);
            }
            // RFC 5722 section 4: "the entire datagram (and any constituent fragments,
            // including those not yet received) MUST be silently discarded".
            self.bytes -= e.received;
            *e = Entry {
                dead: true,
                ranges: Vec::new(),
                received: 0,
                total: None,
                first: None,
                payload: Vec::new(),
                ..*e
            };
            return Placed::Failed(Failure::Overlap);
        }
        if !piece.more {
            if e.total.is_some_and(|t| t != end) || e.ranges.last().is_some_and(|&(_, x)| x > end) {
                return self.fail(key, Failure::Inconsistent);
            }
            e.total = Some(end);
        } else if e.total.is_some_and(|t| end > t) {
            return self.fail(key, Failure::Inconsistent);
        }
        if e.ranges.len() >= self.limits.max_fragments {
            return self.fail(key, Failure::NoRoom);
        }
        e.ranges.insert(at, (start, end));
        if e.payload.len() < end {
            e.payload.resize(end, 0);
        }
        e.payload[start..end].copy_from_slice(piece.data);
        e.received += piece.data.len();
        self.bytes += piece.data.len();
        if start == 0 {
            e.first = Some(first());
        }
        if e.first.is_none() || e.total != Some(e.received) {
            return Placed::Pending;
        }
        match self.entries.remove(&key) {
            Some(e) => {
                self.bytes -= e.received;
                Placed::Complete(e)
            }
            None => Placed::Pending,
        }
    }

    /// Drops the datagram `key`, if any, for `why`.
    pub fn fail(&mut self, key: K, why: Failure) -> Placed<F> {
        if let Some(e) = self.entries.remove(&key) {
            self.bytes -= e.received;
        }
        Placed::Failed(why)
    }

    /// The earliest deadline of a datagram in progress.
    pub fn poll_at(&self) -> Option<Instant> {
        self.entries.values().map(|e| e.deadline).min()
    }

    /// Takes out every datagram whose time ran out.
    pub fn expire(&mut self, now: Instant) -> Vec<(K, Entry<F>)> {
        let keys: Vec<K> = self
            .entries
            .iter()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(e) = self.entries.remove(&key) {
                self.bytes -= e.received;
                out.push((key, e));
            }
        }
        out
    }

    fn evict_oldest(&mut self, keep: Option<K>) -> bool {
        let oldest = self
            .entries
            .iter()
            .filter(|(k, _)| Some(**k) != keep)
            .min_by_key(|(_, e)| e.born)
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

impl<F> Placed<F> {
    /// The outcome, with a completed datagram built by `assemble` (`None`: too big).
    pub fn outcome(self, assemble: impl FnOnce(Entry<F>) -> Option<Vec<u8>>) -> Outcome {
        match self {
            Placed::Complete(e) => match assemble(e) {
                Some(d) => Outcome::Complete(d),
                None => Outcome::Failed(Failure::TooBig),
            },
            Placed::Pending => Outcome::Pending,
            Placed::Duplicate => Outcome::Duplicate,
            Placed::Failed(f) => Outcome::Failed(f),
        }
    }
}
