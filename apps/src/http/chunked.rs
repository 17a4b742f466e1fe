//! The chunked transfer coding (RFC 9112 7.1), decoded from a [`Conn`]: the server uses it
//! to read and discard request bodies, the client to read response bodies.

use std::io;
use std::time::Instant;

use super::io::Conn;
use crate::net::NetStream;

/// The longest chunk-size line (with extensions) or trailer line accepted.
pub const MAX_LINE: usize = 4096;
/// The most trailer bytes accepted (RFC 9112 7.1.2 lets a recipient discard trailers).
pub const MAX_TRAILERS: usize = 16 * 1024;

/// Why decoding stopped early.
#[derive(Debug)]
pub enum ChunkedError {
    /// The body is longer than the limit given.
    TooLarge,
    /// The coding is malformed, or the stream ended inside it.
    Malformed(&'static str),
    /// The socket failed (or the deadline passed: `TimedOut`).
    Io(io::Error),
}

impl From<io::Error> for ChunkedError {
    fn from(e: io::Error) -> Self {
        ChunkedError::Io(e)
    }
}

impl From<ChunkedError> for io::Error {
    fn from(e: ChunkedError) -> Self {
        match e {
            ChunkedError::TooLarge => io::Error::new(io::ErrorKind::InvalidData, "body too large"),
            ChunkedError::Malformed(m) => io::Error::new(io::ErrorKind::InvalidData, m),
            ChunkedError::Io(e) => e,
        }
    }
}

/// Reads one line (ending in CRLF, or a bare LF) of at most `max` bytes; returns its
/// length including the line end, leaving it in the buffer.
fn line<S: NetStream>(
    conn: &mut Conn<S>,
    max: usize,
    deadline: Option<Instant>,
) -> Result<usize, ChunkedError> {
    loop {
        if let Some(i) = conn.buffered().iter().position(|&b| b == b'\n') {
            if i + 1 > max {
                return Err(ChunkedError::Malformed("chunk line too long"));
            }
            return Ok(i + 1);
        }
        if conn.buffered().len() > max {
            return Err(ChunkedError::Malformed("chunk line too long"));
        }
        if conn.fill(deadline)? == 0 {
            return Err(ChunkedError::Malformed(
                "connection closed inside chunked body",
            ));
        }
    }
}

/// Decodes a chunked body, handing the data to `sink`; at most `limit` data bytes are
/// accepted. Returns the data length.
///
/// RFC 9112 7.1: `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`, ended by a chunk
/// of size 0 and a trailer section closed by an empty line. Chunk extensions are ignored
/// (RFC 9112 7.1.1: "A recipient MUST ignore unrecognized chunk extensions"), and so are
/// trailer fields (RFC 9112 7.1.2 allows discarding them).
pub fn decode<S: NetStream>(
    conn: &mut Conn<S>,
    limit: u64,
    deadline: Option<Instant>,
    sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<u64, ChunkedError> {
    let mut total = 0u64;
    loop {
        let n = line(conn, MAX_LINE, deadline)?;
        let l = &conn.buffered()[..n];
        // httparse accepts an empty size; RFC 9112 7.1 requires at least one hex digit.
        if !l.first().is_some_and(u8::is_ascii_hexdigit) {
            return Err(ChunkedError::Malformed("bad chunk size"));
        }
        let size = match httparse::parse_chunk_size(l) {
            Ok(httparse::Status::Complete((_, size))) => size,
            _ => return Err(ChunkedError::Malformed("bad chunk size")),
        };
        conn.consume(n);
        if size == 0 {
            break;
        }
        if total.saturating_add(size) > limit {
            return Err(ChunkedError::TooLarge);
        }
        let mut left = size;
        while left > 0 {
            if conn.buffered().is_empty() && conn.fill(deadline)? == 0 {
                return Err(ChunkedError::Malformed("connection closed inside a chunk"));
            }
            let take = (conn.buffered().len() as u64).min(left) as usize;
            sink(&conn.buffered()[..take])?;
            conn.consume(take);
            left -= take as u64;
        }
        total += size;
        // The CRLF that ends the chunk data.
        while conn.buffered().len() < 2 && conn.buffered().first() != Some(&b'\n') {
            if conn.fill(deadline)? == 0 {
                return Err(ChunkedError::Malformed(
                    "connection closed inside chunked body",
                ));
            }
        }
        let n = match conn.buffered() {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            _ => return Err(ChunkedError::Malformed("chunk data not followed by CRLF")),
        };
        conn.consume(n);
    }
    // Trailer section: field lines up to an empty line.
    let mut trailers = 0usize;
    loop {
        let n = line(conn, MAX_LINE, deadline)?;
        let empty = conn.buffered()[..n] == *b"\r\n" || conn.buffered()[..n] == *b"\n";
        conn.consume(n);
        if empty {
            return Ok(total);
        }
        trailers += n;
        if trailers > MAX_TRAILERS {
            return Err(ChunkedError::Malformed("trailer section too large"));
        }
    }
}
