//! Responses and how they are written (RFC 9112 4, 6; RFC 9110 6.6.1, 8.6).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::SystemTime;

use super::date;
use super::io::{AsyncConn, Conn};
use crate::net::NetStream;

/// Responses are written in pieces of at most this much (a file is never read whole).
pub const CHUNK: usize = 64 * 1024;

/// A response body.
#[derive(Debug)]
pub enum Body {
    /// No content, and no Content-Length (304, RFC 9110 15.4.5).
    None,
    /// In memory.
    Bytes(Vec<u8>),
    /// `len` bytes of `file` from `start`, read in [`CHUNK`]s as they are sent.
    File {
        /// The open file.
        file: File,
        /// First byte.
        start: u64,
        /// How many bytes.
        len: u64,
    },
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Fields other than Date, Server, Content-Length and Connection, which the writer adds.
    pub headers: Vec<(&'static str, String)>,
    /// The content.
    pub body: Body,
    /// Close the connection after this response.
    pub close: bool,
}

impl Response {
    /// A response with a body in memory.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: Body::Bytes(body),
            close: false,
        }
    }

    /// A short plain-text error or notice: the reason phrase and `detail`.
    pub fn text(status: u16, detail: &str) -> Response {
        let body = format!("{} {}\n{detail}\n", status, reason(status));
        Response::bytes(status, "text/plain; charset=utf-8", body.into_bytes())
    }

    /// Adds a field.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// Marks the connection to close after this response.
    pub fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    /// The Content-Length this response declares (`None`: the field is left out).
    pub fn content_length(&self) -> Option<u64> {
        match &self.body {
            Body::None => None,
            Body::Bytes(b) => Some(b.len() as u64),
            Body::File { len, .. } => Some(*len),
        }
    }
}

/// The reason phrase (RFC 9110 15; the phrase is informational only).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Writes the status line and fields of `resp` into `out`.
///
/// Every response carries Date (RFC 9110 6.6.1: an origin server with a clock MUST send
/// it) and, unless it is a 304, Content-Length — for HEAD the length GET would have sent
/// (RFC 9110 8.6, 9.3.2) — so every body is length-delimited and the connection can
/// persist. `Connection: close` when it will close (RFC 9112 9.6); to an HTTP/1.0 client
/// that asked for keep-alive, `Connection: keep-alive` (RFC 9112 9.3, C.2.2).
pub fn write_head(out: &mut Vec<u8>, resp: &Response, close: bool, minor: u8) {
    use std::io::Write as _;
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\nDate: ",
        resp.status,
        reason(resp.status)
    );
    date::append_now(out, SystemTime::now());
    out.extend_from_slice(b"\r\nServer: tunstack\r\n");
    for (n, v) in &resp.headers {
        for part in [n.as_bytes(), b": ", v.as_bytes(), b"\r\n"] {
            out.extend_from_slice(part);
        }
    }
    if let Some(len) = resp.content_length() {
        let _ = write!(out, "Content-Length: {len}\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// How many body bytes `body` sends.
fn body_len(body: &Body) -> u64 {
    match body {
        Body::None => 0,
        Body::Bytes(b) => b.len() as u64,
        Body::File { len, .. } => *len,
    }
}

/// Appends the next piece of `body` to `out` (all of an in-memory body; up to
/// [`CHUNK`] less what `out` holds of a file, read where the last piece ended) and
/// returns whether the body is complete. A file that turns out shorter than promised is
/// an error: the caller must close, since the declared Content-Length can no longer be
/// met.
pub fn body_piece(body: &mut Body, out: &mut Vec<u8>) -> io::Result<bool> {
    match body {
        Body::None => Ok(true),
        Body::Bytes(b) => {
            out.extend_from_slice(b);
            *body = Body::None;
            Ok(true)
        }
        Body::File { file, start, len } => {
            if *len == 0 {
                return Ok(true);
            }
            let old = out.len();
            let want = ((CHUNK.saturating_sub(old)).max(1) as u64).min(*len) as usize;
            out.resize(old + want, 0);
            let n = loop {
                // pread(2): one call, and the file's offset is never relied on.
                match file.read_at(&mut out[old..], *start) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        out.truncate(old);
                        return Err(e);
                    }
                }
            };
            out.truncate(old + n);
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while being sent",
                ));
            }
            *start += n as u64;
            *len -= n as u64;
            Ok(*len == 0)
        }
    }
}

/// Appends the body to `out`, writing to `conn` whenever half a [`CHUNK`] is pending;
/// what is left stays in `out` for the caller to flush. Returns the body bytes sent.
pub fn write_body<S: NetStream>(
    conn: &mut Conn<S>,
    out: &mut Vec<u8>,
    mut body: Body,
) -> io::Result<u64> {
    let len = body_len(&body);
    loop {
        if out.len() >= CHUNK / 2 {
            conn.write_all(out)?;
            out.clear();
        }
        if body_piece(&mut body, out)? {
            return Ok(len);
        }
    }
}

/// [`write_body`] on an event-driven connection: each write must finish within
/// `limit` (a client that takes no bytes for that long is cut off).
pub async fn write_body_async<S: crate::aio::AsyncStream>(
    conn: &mut AsyncConn<S>,
    out: &mut Vec<u8>,
    mut body: Body,
    limit: std::time::Duration,
) -> io::Result<u64> {
    let len = body_len(&body);
    loop {
        if out.len() >= CHUNK / 2 {
            conn.write_all(out, limit).await?;
            out.clear();
        }
        if body_piece(&mut body, out)? {
            return Ok(len);
        }
    }
}
