//! The send buffer: the bytes the application has written and the peer has not yet
//! acknowledged, in a ring.
//!
//! Offsets are bytes, not sequence numbers: offset 0 is the oldest unacknowledged byte
//! (SND.UNA, RFC 9293 section 3.3.1), and the connection does the mapping. The buffer
//! holds both the unacknowledged bytes already sent (kept for retransmission, RFC 9293
//! section 3.8.1) and those not sent yet; which is which is the connection's business
//! (SND.NXT - SND.UNA). An acknowledgment drops bytes from the front (RFC 9293 3.10.7.4,
//! fifth, "check the ACK field": segments fully acknowledged are removed from the
//! retransmission queue).
//!
//! Memory grows with use: the ring's storage is allocated when data is first written,
//! grown (doubling, up to the capacity) as more is held, and given back once everything
//! is acknowledged, so an idle connection holds no send buffer at all.

use core::fmt;

/// The smallest storage allocated for data.
const MIN_STORAGE: usize = 4096;

/// A bounded ring of bytes from SND.UNA onward. See the module docs.
pub struct SendBuffer {
    /// The ring storage, allocated on demand: empty while nothing is held, and never
    /// longer than `capacity` unless `capacity` was lowered below `len`.
    buf: Box<[u8]>,
    /// Ring index of offset 0 (SND.UNA).
    head: usize,
    /// Bytes held.
    len: usize,
    /// The most bytes [`write`](SendBuffer::write) accepts.
    capacity: usize,
}

impl fmt::Debug for SendBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBuffer")
            .field("capacity", &self.capacity)
            .field("len", &self.len)
            .field("head", &self.head)
            .finish()
    }
}

impl SendBuffer {
    /// An empty buffer that holds at most `capacity` bytes (storage comes with data).
    pub fn new(capacity: usize) -> Self {
        SendBuffer {
            buf: Box::default(),
            head: 0,
            len: 0,
            capacity,
        }
    }

    /// Bytes of storage allocated now (what the buffer costs in memory).
    pub fn allocated(&self) -> usize {
        self.buf.len()
    }

    /// Moves the held bytes into storage of `size` bytes, starting at index 0.
    fn resize_storage(&mut self, size: usize) {
        let mut buf = vec![0; size].into_boxed_slice();
        let n = self.copy_out(0, &mut buf[..self.len.min(size)]);
        debug_assert_eq!(n, self.len);
        self.buf = buf;
        self.head = 0;
    }

    /// The most bytes the buffer holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity. Growing allocates nothing until data needs it. Shrinking
    /// never drops data: below [`len`](Self::len) the buffer just accepts no more writes
    /// until acks bring it under the new capacity; otherwise the storage shrinks now.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        if self.buf.len() > capacity && capacity >= self.len {
            self.resize_storage(capacity);
        }
    }

    /// Appends as much of `data` as fits; returns the count (0 when full).
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
        }
        if self.len + n > self.buf.len() {
            // Grow by doubling (at least a page), up to the capacity.
            let want = (self.len + n)
                .max(self.buf.len() * 2)
                .max(MIN_STORAGE)
                .min(self.capacity.max(self.len + n));
            self.resize_storage(want);
        }
        let size = self.buf.len();
        let tail = self.wrap(self.head + self.len);
        let first = n.min(size - tail);
        self.buf[tail..tail + first].copy_from_slice(&data[..first]);
        self.buf[..n - first].copy_from_slice(&data[first..n]);
        self.len += n;
        n
    }

    /// Bytes held: unacknowledged plus unsent.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room left for [`write`](Self::write).
    pub fn free(&self) -> usize {
        self.capacity.saturating_sub(self.len)
    }

    /// Drops `n` acknowledged bytes from the front (clamped to [`len`](Self::len)): SND.UNA
    /// advanced by `n` (RFC 9293 3.10.7.4, fifth).
    pub fn ack(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head = if self.len == 0 {
            // All acknowledged: give the storage back (an idle connection holds none).
            self.buf = Box::default();
            0
        } else {
            self.wrap(self.head + n)
        };
    }

    /// Copies bytes `[offset, offset + dst.len())`, clamped to the bytes held, into `dst`;
    /// returns the count. Builds segments and retransmissions.
    pub fn copy_out(&self, offset: usize, dst: &mut [u8]) -> usize {
        let (a, b) = self.slices(offset, dst.len());
        dst[..a.len()].copy_from_slice(a);
        dst[a.len()..a.len() + b.len()].copy_from_slice(b);
        a.len() + b.len()
    }

    /// A zero-copy view of up to `len` bytes from `offset` (clamped to the bytes held), as
    /// two slices: the second is empty unless the range wraps around the end of the ring.
    pub fn slices(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        if offset >= self.len {
            return (&[], &[]);
        }
        let n = len.min(self.len - offset);
        let start = self.wrap(self.head + offset);
        let first = n.min(self.buf.len() - start);
        (&self.buf[start..start + first], &self.buf[..n - first])
    }

    /// Reduces a ring index below `2 * size` into the ring.
    fn wrap(&self, idx: usize) -> usize {
        if idx >= self.buf.len() {
            idx - self.buf.len()
        } else {
            idx
        }
    }
}

#[cfg(test)]
mod tests;
