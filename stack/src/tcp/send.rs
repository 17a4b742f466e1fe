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

use core::fmt;

/// A bounded ring of bytes from SND.UNA onward. See the module docs.
pub struct SendBuffer {
    /// The ring storage. Its length is at least `capacity` unless `capacity` was lowered
    /// below `len` (then it is kept until the data drains and `set_capacity` runs again).
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
    /// An empty buffer of `capacity` bytes, allocated now.
    pub fn new(capacity: usize) -> Self {
        SendBuffer {
            buf: vec![0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
            capacity,
        }
    }

    /// The most bytes the buffer holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity. Growing reallocates (once, here). Shrinking never drops
    /// data: below [`len`](Self::len) the buffer just accepts no more writes until acks
    /// bring it under the new capacity; otherwise the storage shrinks now.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        if capacity == self.buf.len() || capacity < self.len {
            return;
        }
        let mut buf = vec![0; capacity].into_boxed_slice();
        let n = self.copy_out(0, &mut buf);
        debug_assert_eq!(n, self.len);
        self.buf = buf;
        self.head = 0;
    }

    /// Appends as much of `data` as fits; returns the count (0 when full).
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        if n == 0 {
            return 0;
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
            // Realign an empty ring so the next data is more likely to be one slice.
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
