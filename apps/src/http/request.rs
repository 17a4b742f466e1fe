//! Reading and checking a request head (RFC 9112 2-3, 5), and the framing of the body
//! that follows it (RFC 9112 6).

use std::io;

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method, case-sensitive (RFC 9110 9.1).
    pub method: String,
    /// The request target as received.
    pub target: String,
    /// The minor version: `HTTP/1.0` or `HTTP/1.1`.
    pub minor: u8,
    /// Field lines in order, names as received.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The values of every field line named `name` (case-insensitive, RFC 9110 5.1).
    pub fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).next()
    }

    /// Whether the comma-separated list field `name` holds `token` (case-insensitive),
    /// as in `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.all(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the connection may stay open after the response (RFC 9112 9.3): in
    /// HTTP/1.1 unless the client sent `Connection: close`; in HTTP/1.0 only if it sent
    /// `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        if self.has_token("connection", "close") {
            false
        } else if self.minor == 0 {
            self.has_token("connection", "keep-alive")
        } else {
            true
        }
    }
}

/// Bounds on a request head.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest request line (method, target, version); longer is 414.
    pub max_request_line: usize,
    /// Largest head (request line and field lines); larger is 431.
    pub max_head: usize,
    /// Most field lines; more is 431.
    pub max_headers: usize,
}

/// A head that cannot be served, with the status that says why.
#[derive(Debug, PartialEq, Eq)]
pub struct Reject {
    /// The status code.
    pub status: u16,
    /// A short reason for the log and the body.
    pub why: &'static str,
}

fn reject(status: u16, why: &'static str) -> Reject {
    Reject { status, why }
}

/// Parses a request head from the start of `buf`: `Ok(None)` while it is incomplete and
/// within the limits, `Ok(Some((request, head_len)))` once complete.
///
/// - RFC 9112 3: a request line longer than the server will parse gets 414 ("A server
///   that receives a request-target longer than any URI it wishes to parse MUST respond
///   with a 414"); this also covers a line that never ends.
/// - RFC 6585 5: 431 when the field lines, taken together or by count, are too large.
/// - RFC 9112 2.3 / RFC 9110 15.6.6: a version other than HTTP/1.0 or HTTP/1.1 gets 505.
/// - RFC 9112 3.2: an HTTP/1.1 request without a Host field, or any request with more
///   than one, gets 400.
/// - RFC 9112 2.2: empty lines before the request line are ignored (httparse does so).
pub fn parse_head(buf: &[u8], lim: &Limits) -> Result<Option<(Request, usize)>, Reject> {
    let lead = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line_len = buf[lead..].iter().position(|&b| b == b'\n');
    match line_len {
        Some(n) if n > lim.max_request_line => return Err(reject(414, "request line too long")),
        None if buf.len() - lead > lim.max_request_line => {
            return Err(reject(414, "request line too long"))
        }
        _ => {}
    }
    let mut headers = vec![httparse::EMPTY_HEADER; lim.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > lim.max_head {
                return Err(reject(431, "request header fields too large"));
            }
            return Ok(None);
        }
        Ok(httparse::Status::Complete(n)) => n,
        Err(httparse::Error::TooManyHeaders) => return Err(reject(431, "too many header fields")),
        Err(httparse::Error::Version) => return Err(reject(505, "HTTP version not supported")),
        Err(_) => return Err(reject(400, "malformed request")),
    };
    if head_len > lim.max_head {
        return Err(reject(431, "request header fields too large"));
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(reject(400, "malformed request"));
    };
    let request = Request {
        method: method.to_string(),
        target: target.to_string(),
        minor,
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).trim().to_string(),
                )
            })
            .collect(),
    };
    let hosts = request.all("host").count();
    if hosts > 1 || (hosts == 0 && minor == 1) {
        return Err(reject(400, "a request needs exactly one Host field"));
    }
    Ok(Some((request, head_len)))
}

/// Why no request could be read.
#[derive(Debug)]
pub enum HeadError {
    /// The connection ended, or stayed idle past the idle timeout, between requests: close
    /// without a response (RFC 9112 9.5 allows closing an idle connection).
    Idle,
    /// Part of a head arrived but not all of it in time: 408 (RFC 9110 15.5.9).
    Timeout,
    /// The head is unacceptable.
    Reject(Reject),
    /// The socket failed.
    Io(io::Error),
}

/// The part of reading a head that does not depend on how bytes arrive (the server's
/// reader adds the waiting and the deadlines).
#[derive(Debug, Default)]
pub struct HeadScan {
    scanned: usize,
}

impl HeadScan {
    /// Parses `buf` once a line has ended or a limit may have been crossed since the
    /// last look, so a head trickling in a byte at a time costs work in proportion to its
    /// lines, not bytes. `Ok(Some((request, head length)))` when it is complete.
    pub fn check(
        &mut self,
        buf: &[u8],
        lim: &Limits,
    ) -> Result<Option<(Request, usize)>, HeadError> {
        let new_line = buf[self.scanned.min(buf.len())..].contains(&b'\n');
        self.scanned = buf.len();
        let check = new_line
            || buf.len() > lim.max_head
            || (buf.len() > lim.max_request_line && !buf.contains(&b'\n'));
        if check && !buf.is_empty() {
            return parse_head(buf, lim).map_err(HeadError::Reject);
        }
        Ok(None)
    }

    /// What the stream ending before a complete head means: stray CRLFs after the last
    /// request (RFC 9112 2.2) are not a request.
    pub fn at_eof(buf: &[u8]) -> HeadError {
        if only_line_ends(buf) {
            HeadError::Idle
        } else {
            HeadError::Reject(reject(400, "incomplete request"))
        }
    }

    /// What a deadline passing means: idle if no request had begun, 408 if one had.
    pub fn at_timeout(buf: &[u8]) -> HeadError {
        if only_line_ends(buf) {
            HeadError::Idle
        } else {
            HeadError::Timeout
        }
    }
}

fn only_line_ends(buf: &[u8]) -> bool {
    buf.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// How the request body is delimited (RFC 9112 6.3).
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// The chunked coding.
    Chunked,
}

/// The body framing of `req`, and whether the connection must close after the response.
///
/// RFC 9112 6.3, for requests: Transfer-Encoding wins over Content-Length, and a request
/// carrying both is answered and then the connection closed (RFC 9112 6.1: "the server
/// MUST close the connection after responding to such a request"). Transfer-Encoding
/// whose final coding is not chunked is 400 and close (6.3 item 4); a coding other than
/// chunked is 501 (6.1: "SHOULD respond with 501"). Transfer-Encoding in an HTTP/1.0
/// request means faulty framing (6.1): 400 and close. Content-Length that is not a
/// number, or several differing values, is 400 (6.3 item 5). Neither field: no body
/// (6.3 item 6).
pub fn framing(req: &Request) -> Result<(Framing, bool), Reject> {
    let te: Vec<String> = req
        .all("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let has_cl = req.header("content-length").is_some();
    if req.all("transfer-encoding").next().is_some() {
        if req.minor == 0 {
            return Err(reject(400, "Transfer-Encoding in an HTTP/1.0 request"));
        }
        if te.last().map(String::as_str) != Some("chunked") {
            return Err(reject(400, "final transfer coding is not chunked"));
        }
        if te.len() > 1 {
            return Err(reject(501, "transfer coding not implemented"));
        }
        return Ok((Framing::Chunked, has_cl));
    }
    let mut len: Option<u64> = None;
    for v in req.all("content-length").flat_map(|v| v.split(',')) {
        let v = v.trim();
        if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(reject(400, "bad Content-Length"));
        }
        let n: u64 = v.parse().map_err(|_| reject(400, "bad Content-Length"))?;
        if len.is_some_and(|l| l != n) {
            return Err(reject(400, "conflicting Content-Length"));
        }
        len = Some(n);
    }
    Ok((len.map_or(Framing::None, Framing::Length), false))
}
