//! A buffered connection shared by the server and the client: bytes read but not yet
//! used stay in the buffer (the next pipelined request, or the start of a body), and reads
//! can be bounded by a deadline for the whole operation rather than per read.

use std::io;
use std::time::Instant;

use crate::net::NetStream;

/// Read size; also the most a single fill adds to the buffer.
const READ_CHUNK: usize = 16 * 1024;

/// A stream with a read buffer.
pub struct Conn<S> {
    /// The socket.
    pub stream: S,
    /// Initialised storage; `start..end` holds the unread bytes.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<S: NetStream> Conn<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// The bytes received and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` buffered bytes as used.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once more from the socket into the buffer, waiting at most until `deadline`
    /// (`None`: whatever read timeout the socket has). Returns how many bytes arrived
    /// (0 at end of stream); a deadline that passes is `TimedOut`. The buffer grows by
    /// at most [`READ_CHUNK`] a call; callers bound how much they let accumulate.
    pub fn fill(&mut self, deadline: Option<Instant>) -> io::Result<usize> {
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.stream.set_read_timeout(Some(left))?;
        }
        if self.buf.len() - self.end < READ_CHUNK / 4 {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < READ_CHUNK / 4 {
                self.buf.resize(self.end + READ_CHUNK, 0);
            }
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(timeout_kind(e)),
            }
        }
    }

    /// Reads up to `out.len()` bytes of what follows, from the buffer first.
    pub fn read_some(&mut self, out: &mut [u8], deadline: Option<Instant>) -> io::Result<usize> {
        if self.buffered().is_empty() && self.fill(deadline)? == 0 {
            return Ok(0);
        }
        let n = out.len().min(self.buffered().len());
        out[..n].copy_from_slice(&self.buffered()[..n]);
        self.consume(n);
        Ok(n)
    }

    /// Writes all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.stream.write_all(data).map_err(timeout_kind)
    }
}

/// A socket read timeout shows as `WouldBlock` on Linux; report it as `TimedOut`.
pub fn timeout_kind(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "timed out")
    } else {
        e
    }
}

/// A stream with nothing more to give: what [`Conn::replay`] reads from once its buffer
/// is used up (a read fails as a timeout would).
#[derive(Clone, Copy, Debug)]
pub struct Exhausted;

impl io::Read for Exhausted {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl io::Write for Exhausted {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl NetStream for Exhausted {
    fn set_read_timeout(&self, _: Option<std::time::Duration>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_timeout(&self, _: Option<std::time::Duration>) -> io::Result<()> {
        Ok(())
    }
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        Err(io::ErrorKind::NotConnected.into())
    }
    fn shutdown(&self, _: std::net::Shutdown) -> io::Result<()> {
        Ok(())
    }
    fn try_clone(&self) -> io::Result<Self> {
        Ok(Exhausted)
    }
    fn set_nodelay(&self, _: bool) -> io::Result<()> {
        Ok(())
    }
}

impl Conn<Exhausted> {
    /// A connection whose only input is `bytes`: the synchronous decoders run over what
    /// an event-driven connection has buffered so far; a read past it is `TimedOut`.
    pub fn replay(bytes: &[u8]) -> Conn<Exhausted> {
        Conn {
            stream: Exhausted,
            buf: bytes.to_vec(),
            start: 0,
            end: bytes.len(),
        }
    }
}

/// Spare buffers kept per thread, so a keep-alive request takes its read buffer and its
/// response buffer from here instead of allocating (and zeroing) them, while a
/// connection waiting for its next request still holds none.
const SPARE_BUFFERS: usize = 64;

thread_local! {
    static SPARE_READ: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
    static SPARE_OUT: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A read buffer of [`READ_CHUNK`] bytes (its contents are whatever it held).
fn take_read_buffer() -> Vec<u8> {
    SPARE_READ
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| vec![0u8; READ_CHUNK])
}

fn give_read_buffer(buf: Vec<u8>) {
    if buf.len() == READ_CHUNK {
        SPARE_READ.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < SPARE_BUFFERS {
                b.push(buf);
            }
        });
    }
}

/// An empty buffer for a response, from the spares if there is one.
pub fn take_out_buffer() -> Vec<u8> {
    SPARE_OUT.with(|b| b.borrow_mut().pop()).unwrap_or_default()
}

/// Gives a response buffer back (emptied); a large one is dropped.
pub fn give_out_buffer(mut buf: Vec<u8>) {
    if buf.capacity() > 0 && buf.capacity() <= 2 * READ_CHUNK {
        buf.clear();
        SPARE_OUT.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < SPARE_BUFFERS {
                b.push(buf);
            }
        });
    }
}

/// The event-driven twin of [`Conn`]: a stream with a read buffer that exists only while
/// there are unread bytes, so a connection waiting for its next request holds none.
pub struct AsyncConn<S> {
    /// The socket.
    pub stream: S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl<S: crate::aio::AsyncStream> AsyncConn<S> {
    /// Wraps `stream`.
    pub fn new(stream: S) -> Self {
        AsyncConn {
            stream,
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// The bytes received and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` buffered bytes as used; an emptied buffer is given back.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > READ_CHUNK {
                self.buf = Vec::new();
            }
        }
    }

    /// Gives the buffer's memory back if nothing is in it (between requests).
    pub fn release(&mut self) {
        if self.start == self.end {
            give_read_buffer(std::mem::take(&mut self.buf));
        }
    }

    /// Reads once more into the buffer, waiting at most until `deadline`; `TimedOut` if
    /// it passes. Returns how many bytes arrived (0 at end of stream).
    pub async fn fill(&mut self, deadline: Option<Instant>) -> io::Result<usize> {
        use tokio::io::AsyncReadExt;
        if self.buf.is_empty() {
            self.buf = take_read_buffer();
        }
        if self.buf.len() - self.end < READ_CHUNK / 4 {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < READ_CHUNK / 4 {
                self.buf.resize(self.end + READ_CHUNK, 0);
            }
        }
        let read = self.stream.read(&mut self.buf[self.end..]);
        let n = match deadline {
            None => read.await?,
            Some(d) => crate::aio::before(d.into(), read)
                .await
                .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))??,
        };
        self.end += n;
        Ok(n)
    }

    /// Writes all of `data`, within `limit`.
    pub async fn write_all(&mut self, data: &[u8], limit: std::time::Duration) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        crate::aio::within(limit, self.stream.write_all(data)).await
    }

    /// Writes all of `data`, then shuts down the sending side (the FIN with the last
    /// bytes on tunstack, see [`AsyncStream::write_all_shutdown`]), within `limit`.
    pub async fn write_all_shutdown(
        &mut self,
        data: &[u8],
        limit: std::time::Duration,
    ) -> io::Result<()> {
        crate::aio::within(limit, self.stream.write_all_shutdown(data)).await
    }
}
