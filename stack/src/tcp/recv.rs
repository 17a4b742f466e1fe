//! The receive buffer: a ring of `capacity` bytes holding the in-order data the application
//! has not read yet, followed by the rest of the receive window, into which out-of-order
//! segments are written straight into place.
//!
//! Everything here is in byte offsets, not sequence numbers: offset 0 is the next byte
//! expected (RCV.NXT), and the connection does the mapping. The rules it implements:
//!
//! * RFC 9293 section 3.10.7.4, "seventh, process the segment text": in-order text moves to
//!   the receive buffer and RCV.NXT advances over it; [`RecvBuffer::write`] returns that
//!   advance.
//! * RFC 9293 section 3.10.7.4, "first, check sequence number": segments that begin beyond
//!   RCV.NXT "SHOULD be held for later processing", and RFC 1122 section 4.2.2.20 (g): "TCP
//!   SHOULD queue out-of-order segments". They are held, bounded by the window and by a
//!   maximum count of separate ranges (docs/DESIGN.md: every queue has a bound).
//! * RFC 9293 section 3.8.6 (window management): the window offered is the free space,
//!   `capacity - readable`; out-of-order data sits inside it, so holding it never shrinks
//!   the window (RFC 9293 3.8.6: the window SHOULD NOT be shrunk).
//! * RFC 2018 section 4: the SACK blocks reported, the one holding the most recently
//!   received segment first.
//!
//! Memory grows with use: the ring's storage is allocated when data first arrives, grown
//! (doubling, up to the capacity) to cover what is held, and given back
//! ([`RecvBuffer::release`]) once the application has read everything, nothing is held
//! out of order, and the connection saw no data for a while, so an idle connection holds
//! no receive buffer. The window offered is the capacity's, whatever
//! is allocated at the moment.

use core::fmt;

/// Default bound on separate out-of-order ranges held by [`RecvBuffer::new`].
pub const DEFAULT_MAX_RANGES: usize = 64;

/// One contiguous range of out-of-order data, in absolute stream offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OooRange {
    start: u64,
    end: u64,
    /// When the range last received a segment: larger is more recent (RFC 2018 section 4).
    stamp: u64,
}

/// The smallest storage allocated for data.
const MIN_STORAGE: usize = 4096;

/// A receive buffer with reassembly of out-of-order segments. See the module docs.
pub struct RecvBuffer {
    /// The ring storage, allocated on demand (empty while nothing is held); its length is
    /// the ring's size, at most `capacity`.
    buf: Box<[u8]>,
    /// The most bytes held: what the window can offer.
    capacity: usize,
    /// The storage size last given back, to grow straight to it when data comes again
    /// (a busy connection does not double its way up after every read).
    last_size: usize,
    /// Ring index of the first readable byte.
    head: usize,
    /// In-order bytes ready for the application, starting at `head`.
    readable: usize,
    /// Absolute stream offset of the next expected byte (bytes ever made in order).
    /// Absolute offsets let ranges stay put while the window slides; a u64 does not wrap.
    nxt: u64,
    /// Out-of-order ranges, sorted by start, disjoint and not adjacent (touching ranges are
    /// merged), all starting after `nxt` and ending within the window. At most
    /// `max_ranges` long; allocated when out-of-order data first comes.
    ranges: Vec<OooRange>,
    max_ranges: usize,
    /// Sum of the lengths of `ranges`.
    ooo: usize,
    /// Source of `OooRange::stamp`.
    clock: u64,
    /// The next in-order segment's bytes, already copied into free space by
    /// [`stage`](Self::stage): absolute start, length and ring index. Good for the next
    /// [`write`](Self::write) only.
    staged: Option<(u64, usize, usize)>,
}

impl fmt::Debug for RecvBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBuffer")
            .field("capacity", &self.capacity)
            .field("allocated", &self.buf.len())
            .field("readable", &self.readable)
            .field("nxt", &self.nxt)
            .field("ranges", &self.ranges)
            .field("max_ranges", &self.max_ranges)
            .finish()
    }
}

impl RecvBuffer {
    /// A buffer of `capacity` bytes (the most the window can ever offer), holding at most
    /// [`DEFAULT_MAX_RANGES`] separate out-of-order ranges.
    pub fn new(capacity: usize) -> Self {
        Self::with_max_ranges(capacity, DEFAULT_MAX_RANGES)
    }

    /// A buffer of `capacity` bytes holding at most `max_ranges` separate out-of-order
    /// ranges (0: out-of-order data is never held).
    pub fn with_max_ranges(capacity: usize, max_ranges: usize) -> Self {
        RecvBuffer {
            buf: Box::default(),
            capacity,
            last_size: 0,
            head: 0,
            readable: 0,
            nxt: 0,
            ranges: Vec::new(),
            max_ranges,
            ooo: 0,
            clock: 0,
            staged: None,
        }
    }

    /// The size of the buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of storage allocated now (what the buffer costs in memory).
    pub fn allocated(&self) -> usize {
        self.buf.len() + self.ranges.capacity() * std::mem::size_of::<OooRange>()
    }

    /// Makes the storage at least `need` bytes (at most the capacity), keeping what is
    /// held: the readable bytes and the out-of-order ranges after them move to the start,
    /// and so do staged bytes (which then stay staged, at their new place).
    fn grow(&mut self, need: usize) {
        let size = need
            .max(self.buf.len() * 2)
            .max(self.last_size)
            .max(MIN_STORAGE)
            .min(self.capacity.max(need));
        let staged = self
            .staged
            .filter(|&(start, _, _)| start == self.nxt && self.ranges.is_empty());
        let extent = self.readable
            + self
                .ranges
                .last()
                .map_or(0, |r| (r.end - self.nxt) as usize)
                .max(staged.map_or(0, |(_, len, _)| len));
        let mut buf = vec![0; size].into_boxed_slice();
        if extent > 0 {
            let first = extent.min(self.buf.len() - self.head);
            buf[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
            buf[first..extent].copy_from_slice(&self.buf[..extent - first]);
        }
        self.buf = buf;
        self.head = 0;
        self.staged = staged.map(|(start, len, _)| (start, len, self.readable));
    }

    /// The bound on separate out-of-order ranges.
    pub fn max_ranges(&self) -> usize {
        self.max_ranges
    }

    /// How many separate out-of-order ranges are held.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Stores `data` that starts `offset` bytes after the next expected byte (offset 0 = in
    /// order) and returns how many bytes became newly in order, contiguous from the old
    /// next expected byte: how far RCV.NXT advances (RFC 9293 3.10.7.4, seventh).
    ///
    /// * Bytes beyond the window (`offset >= window()`) are dropped: RFC 9293 3.10.7.4
    ///   keeps only the part of a segment inside the window.
    /// * Bytes already held are ignored: the first copy received wins, and a duplicate is
    ///   never written over held data.
    /// * Out-of-order data is written straight into its place in the ring and its range
    ///   recorded, merged with ranges it overlaps or touches (RFC 1122 4.2.2.20 (g)).
    /// * If the data would need a new separate range and `max_ranges` are already held,
    ///   the new data is dropped, not an older range: the peer retransmits it anyway.
    /// * A segment that lands in a held range, even a pure duplicate, makes that range the
    ///   most recent one for [`sack_ranges`](Self::sack_ranges) (RFC 2018 section 4: the
    ///   first block reports the segment that triggered the ACK).
    ///
    /// Bytes [`stage`](Self::stage)d for this segment are not copied again.
    pub fn write(&mut self, offset: usize, data: &[u8]) -> usize {
        let advance = self.write_unstaged(offset, data);
        self.staged = None;
        advance
    }

    fn write_unstaged(&mut self, offset: usize, data: &[u8]) -> usize {
        let window = self.window();
        if offset >= window || data.is_empty() {
            return 0;
        }
        let len = data.len().min(window - offset);
        let data = &data[..len];
        if offset == 0 && self.ranges.is_empty() {
            // The bulk case, in order with nothing held: what the general path below
            // does for it, without its range searches.
            self.store(self.nxt, data);
            self.readable += len;
            self.nxt += len as u64;
            return len;
        }
        let s = self.nxt + offset as u64;
        let e = s + len as u64;

        // Held ranges that overlap or touch [s, e) form the run i..j (ranges are sorted,
        // disjoint and not adjacent).
        let i = self.ranges.partition_point(|r| r.end < s);
        let j = i + self.ranges[i..].partition_point(|r| r.start <= e);
        if i == j && offset != 0 && self.ranges.len() >= self.max_ranges {
            // RFC 1122 4.2.2.20 (g) queueing is a SHOULD; the bound takes precedence.
            return 0;
        }

        // Copy only into the holes, so held bytes are never overwritten.
        let mut cursor = s;
        let mut held = 0usize;
        for k in i..j {
            let r = self.ranges[k];
            if r.start > cursor {
                self.store(
                    cursor,
                    &data[(cursor - s) as usize..(r.start.min(e) - s) as usize],
                );
            }
            cursor = cursor.max(r.end);
            held += (r.end - r.start) as usize;
        }
        if cursor < e {
            self.store(cursor, &data[(cursor - s) as usize..]);
        }

        let (start, end) = if i < j {
            (s.min(self.ranges[i].start), e.max(self.ranges[j - 1].end))
        } else {
            (s, e)
        };

        if start == self.nxt {
            // In order (necessarily i == 0): the merged run becomes readable.
            self.ranges.drain(i..j);
            self.ooo -= held;
            let advance = (end - start) as usize;
            self.readable += advance;
            self.nxt = end;
            return advance;
        }

        self.clock += 1;
        let merged = OooRange {
            start,
            end,
            stamp: self.clock,
        };
        self.ooo += (end - start) as usize - held;
        if i < j {
            self.ranges[i] = merged;
            self.ranges.drain(i + 1..j);
        } else {
            self.ranges.insert(i, merged);
        }
        0
    }

    /// Copies `data` to absolute stream offset `at`, which lies within the window.
    fn store(&mut self, at: u64, data: &[u8]) {
        let rel = self.readable + (at - self.nxt) as usize;
        if rel + data.len() > self.buf.len() {
            self.grow(rel + data.len());
        }
        let pos = self.wrap(self.head + rel);
        if let Some((s, len, spos)) = self.staged {
            let end = at + data.len() as u64;
            if at >= s && end <= s + len as u64 && self.wrap(spos + (at - s) as usize) == pos {
                return; // already in place, copied when the checksum was verified
            }
        }
        let first = data.len().min(self.buf.len() - pos);
        self.buf[pos..pos + first].copy_from_slice(&data[..first]);
        self.buf[..data.len() - first].copy_from_slice(&data[first..]);
    }

    /// Reduces a ring index below `2 * capacity` into the ring.
    fn wrap(&self, idx: usize) -> usize {
        if idx >= self.buf.len() {
            idx - self.buf.len()
        } else {
            idx
        }
    }

    /// Copies `data`, the next in-order segment's payload (it starts at the next expected
    /// byte), into the free space where [`write`](Self::write) would put it, and returns
    /// its one's-complement sum ([`checksum::copy_and_sum`]): the caller verifies the
    /// segment's checksum from it (RFC 9293 3.1) without reading the payload twice.
    ///
    /// Nothing the buffer holds changes: the bytes land past the readable data, in space
    /// no held byte occupies (only while nothing is held out of order), within the window
    /// (the storage grows to take them if it must, keeping what it holds), so a segment
    /// that then fails its checksum, or that TCP refuses, leaves only bytes in free
    /// space, as if never copied. If the segment is accepted,
    /// the next `write` finds them in place and does not copy them again. Returns `None`
    /// (nothing copied) where that does not hold; the caller then verifies and writes as
    /// usual. [`unstage`](Self::unstage) forgets the copy once the segment is processed.
    ///
    /// The caller's promise: the next `write` stores this segment's bytes (all or part of
    /// them, at their own offsets), as TCP's processing of the same segment does.
    ///
    /// [`checksum::copy_and_sum`]: crate::wire::checksum::copy_and_sum
    pub fn stage(&mut self, data: &[u8]) -> Option<u64> {
        let rel = self.readable;
        if data.is_empty() || !self.ranges.is_empty() || data.len() > self.window() {
            return None;
        }
        if rel + data.len() > self.buf.len() {
            // Within the window, so within the capacity: the storage grows now, as the
            // write would grow it.
            self.staged = None;
            self.grow(rel + data.len());
        }
        let (sum, pos) = self.copy_in_summed(rel, data);
        self.staged = Some((self.nxt, data.len(), pos));
        Some(sum)
    }

    /// Copies `data` into the ring `rel` bytes after the head (it fits the storage),
    /// wrapping as it must, and returns its one's-complement sum
    /// ([`checksum::copy_and_sum`], a second piece at an odd offset swapped by
    /// `add_at`) and the ring index it starts at.
    ///
    /// [`checksum::copy_and_sum`]: crate::wire::checksum::copy_and_sum
    #[inline]
    fn copy_in_summed(&mut self, rel: usize, data: &[u8]) -> (u64, usize) {
        use crate::wire::checksum;
        let pos = self.wrap(self.head + rel);
        let first = data.len().min(self.buf.len() - pos);
        let (a, b) = data.split_at(first);
        let sa = checksum::copy_and_sum(0, &mut self.buf[pos..pos + first], a);
        let sb = checksum::copy_and_sum(0, &mut self.buf[..b.len()], b);
        (checksum::add_at(sa, sb, first), pos)
    }

    /// Copies `data`, the payload of the segment that follows the staged bytes in
    /// sequence, right after them, and returns its sum, as [`stage`](Self::stage) does
    /// for the first: the core merging a run of in-order segments stages each one so.
    /// The staged bytes grow only by [`extend_staged`](Self::extend_staged), once the
    /// segment's checksum verified; until then these bytes lie in free space, past the
    /// staged ones, meaning nothing. `None` (nothing copied) when nothing is staged at
    /// the next expected byte, or the bytes would not fit the window or the storage.
    pub fn stage_after(&mut self, data: &[u8]) -> Option<u64> {
        let (start, len, _) = self.staged?;
        let rel = self.readable + len;
        if start != self.nxt
            || data.is_empty()
            || !self.ranges.is_empty()
            || len + data.len() > self.window()
        {
            return None;
        }
        if rel + data.len() > self.buf.len() {
            // Within the window: the storage grows, the staged bytes moving with the rest.
            self.grow(rel + data.len());
        }
        Some(self.copy_in_summed(rel, data).0)
    }

    /// Counts the `n` bytes [`stage_after`](Self::stage_after) just copied as staged too.
    pub fn extend_staged(&mut self, n: usize) {
        if let Some((_, len, _)) = self.staged.as_mut() {
            *len += n;
        }
    }

    /// Takes the staged bytes in order, as [`write`](Self::write) at offset 0 would take
    /// them: they become readable and the next expected byte moves past them. Returns
    /// how many (at most `max`, what TCP takes of them; none if nothing is staged at the
    /// next expected byte).
    pub fn take_staged(&mut self, max: usize) -> usize {
        let Some((start, len, _)) = self.staged.take() else {
            return 0;
        };
        if start != self.nxt || !self.ranges.is_empty() {
            return 0;
        }
        let n = len.min(max).min(self.window());
        self.readable += n;
        self.nxt += n as u64;
        n
    }

    /// Forgets what [`stage`](Self::stage) copied (the bytes stay in free space, where
    /// they mean nothing).
    pub fn unstage(&mut self) {
        self.staged = None;
    }

    /// In-order bytes ready for the application.
    pub fn readable(&self) -> usize {
        self.readable
    }

    /// Copies out and consumes up to `buf.len()` in-order bytes; returns the count.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = self.peek(buf);
        self.consume(n);
        n
    }

    /// Copies up to `buf.len()` in-order bytes without consuming them; returns the count.
    pub fn peek(&self, buf: &mut [u8]) -> usize {
        let (a, b) = self.readable_slices();
        let n = buf.len().min(a.len() + b.len());
        let first = n.min(a.len());
        buf[..first].copy_from_slice(&a[..first]);
        buf[first..n].copy_from_slice(&b[..n - first]);
        n
    }

    /// The readable data as two slices (the second is empty unless the data wraps around
    /// the end of the ring), for zero-copy access; follow with [`consume`](Self::consume).
    pub fn readable_slices(&self) -> (&[u8], &[u8]) {
        let first = self.readable.min(self.buf.len() - self.head);
        (
            &self.buf[self.head..self.head + first],
            &self.buf[..self.readable - first],
        )
    }

    /// Consumes `n` readable bytes (clamped to [`readable`](Self::readable)), which opens
    /// the window by as much.
    pub fn consume(&mut self, n: usize) {
        self.staged = None;
        let n = n.min(self.readable);
        self.readable -= n;
        self.head = if self.readable == 0 && self.ranges.is_empty() {
            0
        } else {
            self.wrap(self.head + n)
        };
    }

    /// Whether nothing is held but storage is allocated: [`release`](Self::release)
    /// would give some back.
    pub fn is_drained(&self) -> bool {
        self.readable == 0 && self.ranges.is_empty() && !self.buf.is_empty()
    }

    /// Gives the storage back when nothing is held (an idle connection holds none; held
    /// out-of-order data pins its ring position, so only when there is none). The
    /// connection calls this a while after the buffer drained, not at once: a bulk
    /// receiver drains it again and again, and reallocating each time would cost a
    /// zeroed allocation per burst.
    pub fn release(&mut self) {
        self.staged = None;
        if self.is_drained() {
            self.last_size = self.buf.len();
            self.buf = Box::default();
            self.ranges = Vec::new();
            self.head = 0;
        }
    }

    /// Grows the buffer to `capacity` bytes (never shrinks it: a window offered is not
    /// taken back, RFC 9293 3.8.6.2.2). Storage follows as data comes.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = self.capacity.max(capacity);
    }

    /// Free space to advertise as the receive window: `capacity - readable`. Out-of-order
    /// data sits inside the window (RFC 9293 3.8.6).
    pub fn window(&self) -> usize {
        self.capacity - self.readable
    }

    /// The out-of-order ranges held, as `(start, end)` offsets relative to the next
    /// expected byte, the most recently changed first (RFC 2018 section 4: the first SACK
    /// block reports the most recently received segment, the rest follow by recency), at
    /// most `n` of them.
    pub fn sack_ranges(&self, n: usize) -> Vec<(usize, usize)> {
        let mut out = vec![(0, 0); n.min(self.ranges.len())];
        let k = self.sack_ranges_into(&mut out);
        out.truncate(k);
        out
    }

    /// [`sack_ranges`](Self::sack_ranges) without allocating: fills `out` and returns how
    /// many entries were written.
    pub fn sack_ranges_into(&self, out: &mut [(usize, usize)]) -> usize {
        let mut below = u64::MAX;
        let mut k = 0;
        while k < out.len() {
            // Stamps are unique: pick the most recent one older than the last picked.
            let Some(r) = self
                .ranges
                .iter()
                .filter(|r| r.stamp < below)
                .max_by_key(|r| r.stamp)
            else {
                break;
            };
            out[k] = ((r.start - self.nxt) as usize, (r.end - self.nxt) as usize);
            below = r.stamp;
            k += 1;
        }
        k
    }

    /// The first part of `[offset, offset + len)` (relative to the next expected byte)
    /// already held out of order, relative likewise: what a segment there duplicates (RFC
    /// 2883 section 4: the D-SACK block reports "a duplicate contiguous sequence").
    pub fn held_overlap(&self, offset: usize, len: usize) -> Option<(usize, usize)> {
        let s = self.nxt + offset as u64;
        let e = s + len as u64;
        self.ranges
            .iter()
            .find(|r| r.start < e && s < r.end)
            .map(|r| {
                let a = r.start.max(s) - self.nxt;
                let b = r.end.min(e) - self.nxt;
                (a as usize, b as usize)
            })
    }

    /// Bytes held out of order.
    pub fn ooo_bytes(&self) -> usize {
        self.ooo
    }

    /// Whether nothing is readable and nothing is held out of order.
    pub fn is_empty(&self) -> bool {
        self.readable == 0 && self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_stage;
