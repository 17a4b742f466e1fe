//! The HTTP/1.1 client: `GET` a URL, following redirects, with Content-Length, chunked
//! and close-delimited bodies (RFC 9112 6.3). Name resolution and connecting are the
//! caller's: it passes a `connect(host, port)` function, so the same code runs over the
//! kernel's sockets or tunstack's (with the tunstack resolver).

use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::chunked::{self, ChunkedError};
use super::io::Conn;
use crate::net::NetStream;

/// An `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// Host name or address (an IPv6 address without its brackets).
    pub host: String,
    /// Port (80 unless given).
    pub port: u16,
    /// Path and query, starting with `/`, ready for the request line.
    pub path: String,
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

/// Why a GET failed.
#[derive(Debug)]
pub enum ClientError {
    /// The URL cannot be used.
    BadUrl(String),
    /// Connecting, sending or receiving failed.
    Io(io::Error),
    /// The response breaks HTTP/1.1.
    Malformed(String),
    /// More redirects than allowed.
    TooManyRedirects(usize),
    /// A redirect led back to a URL already visited.
    RedirectLoop(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::BadUrl(m) => write!(f, "bad URL: {m}"),
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Malformed(m) => write!(f, "malformed response: {m}"),
            ClientError::TooManyRedirects(n) => write!(f, "more than {n} redirects"),
            ClientError::RedirectLoop(u) => write!(f, "redirect loop at {u}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

fn bad(m: impl Into<String>) -> ClientError {
    ClientError::BadUrl(m.into())
}

fn malformed(m: impl Into<String>) -> ClientError {
    ClientError::Malformed(m.into())
}

/// Percent-encodes what may not appear in a request target (spaces, controls, non-ASCII).
fn encode_target(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3986 5.2.4: removes `.` and `..` segments from an absolute path.
pub fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match *s {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

impl Url {
    /// Parses `http://host[:port][/path][?query]`; a missing scheme means `http://`. The
    /// fragment is dropped (RFC 9110 7.1: not sent). `https`, other schemes and user
    /// information are refused.
    pub fn parse(s: &str) -> Result<Url, ClientError> {
        let s = s.trim();
        let rest = match s.find("://") {
            Some(i) => {
                let scheme = &s[..i];
                if !scheme.eq_ignore_ascii_case("http") {
                    return Err(bad(format!("only http:// is supported, not {scheme}://")));
                }
                &s[i + 3..]
            }
            None => s,
        };
        let rest = rest.split('#').next().unwrap_or(rest);
        let (auth, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if auth.contains('@') {
            return Err(bad("user information in URLs is not supported"));
        }
        let (host, port) = if let Some(v6) = auth.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad(format!("bad IPv6 address {h}")));
            }
            (h, after.strip_prefix(':'))
        } else {
            match auth.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (auth, None),
            }
        };
        let ok_host = !host.is_empty()
            && (host.contains(':')
                || host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)));
        if !ok_host {
            return Err(bad(format!("bad host {host:?}")));
        }
        let port = match port {
            None | Some("") => 80,
            Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u16>() {
                    Ok(v) if v > 0 => v,
                    _ => return Err(bad(format!("bad port {p:?}"))),
                }
            }
            Some(p) => return Err(bad(format!("bad port {p:?}"))),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        Ok(Url {
            host: host.to_ascii_lowercase(),
            port,
            path: encode_target(&path),
        })
    }

    /// `host[:port]` as the Host field carries it (RFC 9110 7.2: the port is left out when
    /// it is the scheme's default).
    pub fn authority(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }

    /// Resolves a Location value against this URL (RFC 9110 10.2.2: a URI reference,
    /// resolved relative to the target URI by RFC 3986 5.2).
    pub fn join(&self, loc: &str) -> Result<Url, ClientError> {
        let loc = loc.trim();
        // RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), before a ":"
        // that comes ahead of any "/", "?" or "#".
        let scheme_end = loc
            .find([':', '/', '?', '#'])
            .filter(|&i| loc[i..].starts_with(':'));
        let has_scheme = scheme_end.is_some_and(|i| {
            loc.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                && loc[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        });
        if has_scheme {
            if !loc.contains("://") {
                return Err(bad(format!("unsupported redirect to {loc}")));
            }
            return Url::parse(loc);
        }
        if let Some(rest) = loc.strip_prefix("//") {
            return Url::parse(&format!("http://{rest}"));
        }
        let loc = loc.split('#').next().unwrap_or(loc);
        let (base_path, base_query) = match self.path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.path.as_str(), None),
        };
        let (lpath, lquery) = match loc.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (loc, None),
        };
        let path = if lpath.is_empty() {
            base_path.to_string()
        } else if lpath.starts_with('/') {
            remove_dot_segments(lpath)
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            remove_dot_segments(&format!("{dir}{lpath}"))
        };
        let query = if lpath.is_empty() && lquery.is_none() {
            base_query
        } else {
            lquery
        };
        let full = match query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        Ok(Url {
            host: self.host.clone(),
            port: self.port,
            path: encode_target(&full),
        })
    }
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// How long one read or write may wait.
    pub timeout: Duration,
    /// Largest response head accepted.
    pub max_head: usize,
    /// Most header fields accepted.
    pub max_headers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_redirects: 10,
            timeout: Duration::from_secs(30),
            max_head: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// The final response of a GET.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Its URL (after redirects).
    pub url: Url,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields.
    pub headers: Vec<(String, String)>,
    /// Body bytes written out.
    pub body_len: u64,
    /// Redirects followed.
    pub redirects: usize,
}

impl Fetched {
    /// The first value of a header field.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Head {
    minor: u8,
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a response head, skipping interim 1xx responses (RFC 9110 15.2: a client MUST be
/// able to parse one or more 1xx responses before the final one).
fn read_head<S: NetStream>(conn: &mut Conn<S>, opts: &Options) -> Result<Head, ClientError> {
    loop {
        let parsed = {
            let mut hs = vec![httparse::EMPTY_HEADER; opts.max_headers];
            let mut r = httparse::Response::new(&mut hs);
            match r.parse(conn.buffered()) {
                Ok(httparse::Status::Complete(n)) => {
                    let head = Head {
                        minor: r.version.unwrap_or(1),
                        status: r.code.unwrap_or(0),
                        reason: r.reason.unwrap_or("").to_string(),
                        headers: r
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
                    Some((head, n))
                }
                Ok(httparse::Status::Partial) => None,
                Err(e) => return Err(malformed(format!("bad response head: {e}"))),
            }
        };
        match parsed {
            Some((head, n)) if n > opts.max_head => {
                let _ = head;
                return Err(malformed("response head too large"));
            }
            Some((head, n)) => {
                conn.consume(n);
                if head.status == 101 {
                    return Err(malformed("unexpected 101 Switching Protocols"));
                }
                if (100..200).contains(&head.status) {
                    continue;
                }
                return Ok(head);
            }
            None => {
                if conn.buffered().len() > opts.max_head {
                    return Err(malformed("response head too large"));
                }
                if conn.fill(None)? == 0 {
                    return Err(if conn.buffered().is_empty() {
                        malformed("connection closed before any response")
                    } else {
                        malformed("connection closed inside the response head")
                    });
                }
            }
        }
    }
}

/// How a response body is delimited (RFC 9112 6.3, for a response to GET).
#[derive(Debug, PartialEq, Eq)]
enum BodyLen {
    None,
    Length(u64),
    Chunked,
    Close,
}

/// RFC 9112 6.3: 1. 1xx, 204 and 304 have no body (nor does a response to HEAD, which this
/// client never sends). 3. Transfer-Encoding: chunked as the final coding is chunked;
/// any other final coding reads until close; an HTTP/1.0 response with Transfer-Encoding
/// has faulty framing (6.1) and is also read until close. Transfer-Encoding overrides
/// Content-Length. 5. An invalid Content-Length, or several different values, is an
/// unrecoverable error. 6. A valid Content-Length gives the length. 8. Otherwise the body
/// lasts until the server closes.
fn body_len(head: &Head) -> Result<BodyLen, ClientError> {
    if head.status == 204 || head.status == 304 {
        return Ok(BodyLen::None);
    }
    let te: Vec<String> = head
        .all("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    if head.all("transfer-encoding").next().is_some() {
        if head.minor == 1 && te.last().map(String::as_str) == Some("chunked") {
            return Ok(BodyLen::Chunked);
        }
        return Ok(BodyLen::Close);
    }
    let mut len: Option<u64> = None;
    for v in head.all("content-length").flat_map(|v| v.split(',')) {
        let v = v.trim();
        let n = if !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<u64>().ok()
        } else {
            None
        };
        match (n, len) {
            (None, _) => return Err(malformed(format!("bad Content-Length {v:?}"))),
            (Some(n), Some(l)) if n != l => {
                return Err(malformed("conflicting Content-Length values"))
            }
            (Some(n), _) => len = Some(n),
        }
    }
    Ok(len.map_or(BodyLen::Close, BodyLen::Length))
}

/// Copies the body to `out`, reporting progress as `(bytes so far, total if known)`.
fn read_body<S: NetStream>(
    conn: &mut Conn<S>,
    len: BodyLen,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<u64, ClientError> {
    let mut got = 0u64;
    match len {
        BodyLen::None => {}
        BodyLen::Chunked => {
            let mut sink = |b: &[u8]| {
                out.write_all(b)?;
                got += b.len() as u64;
                progress(got, None);
                Ok(())
            };
            match chunked::decode(conn, u64::MAX, None, &mut sink) {
                Ok(_) => {}
                Err(ChunkedError::Io(e)) => return Err(e.into()),
                Err(ChunkedError::Malformed(m)) => return Err(malformed(m)),
                Err(ChunkedError::TooLarge) => return Err(malformed("body too large")),
            }
        }
        BodyLen::Length(total) => {
            while got < total {
                if conn.buffered().is_empty() && conn.fill(None)? == 0 {
                    // RFC 9112 8: a message cut short by a close is incomplete.
                    return Err(malformed(format!(
                        "connection closed after {got} of {total} body bytes"
                    )));
                }
                let take = (conn.buffered().len() as u64).min(total - got) as usize;
                out.write_all(&conn.buffered()[..take])?;
                conn.consume(take);
                got += take as u64;
                progress(got, Some(total));
            }
        }
        BodyLen::Close => loop {
            if conn.buffered().is_empty() && conn.fill(None)? == 0 {
                break;
            }
            let n = conn.buffered().len();
            out.write_all(conn.buffered())?;
            conn.consume(n);
            got += n as u64;
            progress(got, None);
        },
    }
    Ok(got)
}

/// GETs `url` with default [`Options`]; see [`get_with`].
pub fn get<S, C>(
    url: &str,
    connect: C,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Fetched, ClientError>
where
    S: NetStream,
    C: Fn(&str, u16) -> io::Result<S>,
{
    get_with(url, connect, out, progress, &Options::default())
}

/// GETs `url`: connects with `connect(host, port)`, sends the request, follows redirects
/// (301, 302, 303, 307, 308 with a Location; at most `opts.max_redirects`, and never to a
/// URL already visited), and writes the final response's body to `out` whatever its
/// status, calling `progress(received, total)` as it arrives. Each request uses its own
/// connection (`Connection: close`).
pub fn get_with<S, C>(
    url: &str,
    connect: C,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64, Option<u64>),
    opts: &Options,
) -> Result<Fetched, ClientError>
where
    S: NetStream,
    C: Fn(&str, u16) -> io::Result<S>,
{
    let mut url = Url::parse(url)?;
    let mut visited = vec![url.to_string()];
    let mut redirects = 0;
    loop {
        let stream = connect(&url.host, url.port)?;
        stream.set_read_timeout(Some(opts.timeout))?;
        stream.set_write_timeout(Some(opts.timeout))?;
        let mut conn = Conn::new(stream);
        let req = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: tunstack/{}\r\nAccept: */*\r\n\
             Connection: close\r\n\r\n",
            url.path,
            url.authority(),
            env!("CARGO_PKG_VERSION")
        );
        conn.write_all(req.as_bytes())?;
        let head = read_head(&mut conn, opts)?;
        let len = body_len(&head)?;
        let location = head
            .all("location")
            .next()
            .filter(|_| matches!(head.status, 301 | 302 | 303 | 307 | 308));
        if let Some(loc) = location {
            if redirects >= opts.max_redirects {
                return Err(ClientError::TooManyRedirects(opts.max_redirects));
            }
            let next = url.join(loc)?;
            let key = next.to_string();
            log::debug!(target: super::LOG, "{} redirects to {key}", head.status);
            if visited.contains(&key) {
                return Err(ClientError::RedirectLoop(key));
            }
            visited.push(key);
            redirects += 1;
            url = next;
            // The redirect's own body is not needed; dropping the connection discards it.
            continue;
        }
        let body_len = read_body(&mut conn, len, out, progress)?;
        out.flush()?;
        return Ok(Fetched {
            url,
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            body_len,
            redirects,
        });
    }
}

/// Formats a byte count in binary units.
fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// What `tunstack get URL [-o FILE]` does once the CLI has parsed its arguments: GET the
/// URL through `connect`, write the body to `output` (or standard output), show progress
/// on standard error while it runs (when standard error is a terminal), and end with a
/// one-line summary there. A final status other than 2xx is an error (and an output file
/// is removed).
pub fn get_cmd<S, C>(url: &str, output: Option<&Path>, connect: C) -> Result<Fetched, String>
where
    S: NetStream,
    C: Fn(&str, u16) -> io::Result<S>,
{
    let started = Instant::now();
    // indicatif draws on standard error only when that is a terminal.
    let bar = indicatif::ProgressBar::with_draw_target(
        None,
        indicatif::ProgressDrawTarget::stderr_with_hz(5),
    );
    let counting = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
    )
    .expect("valid template");
    bar.set_style(counting);
    let mut sized = false;
    let mut progress = |got: u64, total: Option<u64>| {
        if let (Some(t), false) = (total, sized) {
            sized = true;
            bar.set_length(t);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bytes}/{total_bytes} [{wide_bar}] {percent}% {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
        }
        bar.set_position(got);
    };
    let result = match output {
        Some(p) => {
            let file = std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut w = io::BufWriter::with_capacity(256 * 1024, file);
            let r = get(url, connect, &mut w, &mut progress);
            let ok = matches!(&r, Ok(f) if (200..300).contains(&f.status));
            drop(w);
            if !ok {
                let _ = std::fs::remove_file(p);
            }
            r
        }
        None => {
            let stdout = io::stdout();
            let mut w = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
            get(url, connect, &mut w, &mut progress)
        }
    };
    bar.finish_and_clear();
    let f = result.map_err(|e| format!("{url}: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "tunstack get: {} {} {}, {} bytes in {secs:.2} s ({}/s){}",
        f.url,
        f.status,
        f.reason,
        f.body_len,
        human((f.body_len as f64 / secs.max(1e-6)) as u64),
        if f.redirects > 0 {
            format!(" after {} redirect(s)", f.redirects)
        } else {
            String::new()
        }
    );
    if !(200..300).contains(&f.status) {
        return Err(format!("{}: HTTP {} {}", f.url, f.status, f.reason));
    }
    Ok(f)
}
