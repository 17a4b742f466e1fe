//! The HTTP/1.1 server: the accept loop with bounded concurrency, the per-connection
//! loop (persistent connections, pipelining, limits, timeouts) and request routing.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::chunked::{self, ChunkedError};
use super::files;
use super::io::Conn;
use super::pages::{self, StackInfo};
use super::path::{self, PathError};
use super::request::{self, Framing, HeadError, Limits, Reject, Request};
use super::response::{self, Response, CHUNK};
use super::LOG;
use crate::net::{NetListener, NetStream};

/// Server settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The web root; `None` serves the built-in index page.
    pub root: Option<PathBuf>,
    /// Connections served at once; more wait in the listener's accept queue. Past 3/4 of
    /// this, responses carry `Connection: close` so idle keep-alive connections give
    /// their slots back.
    pub max_connections: usize,
    /// Longest request line; longer gets 414.
    pub max_request_line: usize,
    /// Largest request head; larger gets 431.
    pub max_head: usize,
    /// Most header fields; more gets 431.
    pub max_headers: usize,
    /// Largest request body read (and discarded); larger gets 413.
    pub max_body: u64,
    /// How long a persistent connection may wait for the next request.
    pub idle_timeout: Duration,
    /// How long a request head may take from its first byte to its last.
    pub head_timeout: Duration,
    /// How long a request body may take.
    pub body_timeout: Duration,
    /// How long one write may wait for the client to make room.
    pub write_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            root: None,
            max_connections: 256,
            max_request_line: 8 * 1024,
            max_head: 32 * 1024,
            max_headers: 100,
            max_body: 1024 * 1024,
            idle_timeout: Duration::from_secs(15),
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// An HTTP server; cheap to share between connection threads.
pub struct Server {
    cfg: Config,
    root: Option<PathBuf>,
    info: Option<Arc<dyn StackInfo>>,
    /// Slots taken: connections served plus the one the accept loop has reserved.
    slots: Mutex<usize>,
    /// Connections being served.
    serving: AtomicUsize,
    freed: Condvar,
}

/// A connection being served; its slot is given back when this is dropped: when the
/// connection ends, if its thread panics, or if the thread could not be started.
struct Slot(Arc<Server>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::AcqRel);
        self.0.release();
    }
}

impl Server {
    /// A server with `cfg`; the web root must exist (it is canonicalised here, once).
    pub fn new(cfg: Config) -> io::Result<Server> {
        let root = match &cfg.root {
            Some(r) => {
                let c = r.canonicalize()?;
                if !c.is_dir() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("web root {} is not a directory", r.display()),
                    ));
                }
                Some(c)
            }
            None => None,
        };
        Ok(Server {
            cfg,
            root,
            info: None,
            slots: Mutex::new(0),
            serving: AtomicUsize::new(0),
            freed: Condvar::new(),
        })
    }

    /// Gives a slot back.
    fn release(&self) {
        let mut n = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        self.freed.notify_one();
    }

    /// Serves `/_stack/stats` and `/_stack/connections` from `info`.
    pub fn with_stack_info(mut self, info: Arc<dyn StackInfo>) -> Server {
        self.info = Some(info);
        self
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Connections being served now.
    pub fn active(&self) -> usize {
        self.serving.load(Ordering::Acquire)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_request_line: self.cfg.max_request_line,
            max_head: self.cfg.max_head,
            max_headers: self.cfg.max_headers,
        }
    }

    /// Accepts connections forever, each served on its own thread, at most
    /// `max_connections` at once: a new connection is accepted only when a slot is free,
    /// so the excess waits in the listener's accept queue. Returns on an accept error
    /// that is not transient.
    pub fn serve<L: NetListener>(self: &Arc<Self>, listener: L) -> io::Result<()> {
        loop {
            {
                let mut n = self.slots.lock().unwrap_or_else(|e| e.into_inner());
                while *n >= self.cfg.max_connections.max(1) {
                    n = self.freed.wait(n).unwrap_or_else(|e| e.into_inner());
                }
                *n += 1;
            }
            let (stream, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) => {
                    self.release();
                    if transient(&e) {
                        log::warn!(target: LOG, "accept: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    return Err(e);
                }
            };
            self.serving.fetch_add(1, Ordering::AcqRel);
            let slot = Slot(Arc::clone(self));
            let spawned = std::thread::Builder::new()
                .name("tunstack-http".into())
                .spawn(move || {
                    slot.0.serve_connection(stream, peer);
                    drop(slot);
                });
            if let Err(e) = spawned {
                // The closure, and with it the slot and the stream, has been dropped.
                log::warn!(target: LOG, "cannot start a connection thread: {e}");
            }
        }
    }

    /// Runs [`Server::serve`] on a thread of its own.
    pub fn spawn<L: NetListener>(
        self: Arc<Self>,
        listener: L,
    ) -> io::Result<std::thread::JoinHandle<io::Result<()>>> {
        std::thread::Builder::new()
            .name("tunstack-http-accept".into())
            .spawn(move || self.serve(listener))
    }

    /// Serves one connection until it closes: requests are read and answered in order
    /// (pipelined ones too: bytes after a request stay buffered for the next).
    pub fn serve_connection<S: NetStream>(&self, stream: S, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(self.cfg.write_timeout));
        let mut conn = Conn::new(stream);
        let mut out = Vec::with_capacity(CHUNK);
        let lim = self.limits();
        loop {
            let req = request::read_head(
                &mut conn,
                &lim,
                self.cfg.idle_timeout,
                self.cfg.head_timeout,
            );
            let started = Instant::now();
            let req = match req {
                Ok(r) => r,
                Err(HeadError::Idle) | Err(HeadError::Io(_)) => break,
                Err(HeadError::Timeout) => {
                    let r = Response::text(408, "the request head took too long").closing();
                    self.finish(&mut conn, &mut out, None, r, peer, started);
                    break;
                }
                Err(HeadError::Reject(Reject { status, why })) => {
                    let r = Response::text(status, why).closing();
                    self.finish(&mut conn, &mut out, None, r, peer, started);
                    break;
                }
            };
            let resp = match self.read_body(&mut conn, &req) {
                Ok(close) => {
                    let mut r = self.handle(&req);
                    r.close |= close || !req.keep_alive() || self.busy();
                    r
                }
                Err(BodyError::Reject(Reject { status, why })) => {
                    Response::text(status, why).closing()
                }
                Err(BodyError::Io) => break,
            };
            if !self.finish(&mut conn, &mut out, Some(&req), resp, peer, started) {
                break;
            }
        }
        if !out.is_empty() {
            let _ = conn.write_all(&out);
        }
        let _ = conn.stream.shutdown(Shutdown::Both);
    }

    /// Whether the server is near its connection limit.
    fn busy(&self) -> bool {
        self.active() * 4 > self.cfg.max_connections * 3
    }

    /// Reads and discards the request body, so the next request on the connection starts
    /// in the right place. `Ok(true)`: the connection must close after the response.
    fn read_body<S: NetStream>(
        &self,
        conn: &mut Conn<S>,
        req: &Request,
    ) -> Result<bool, BodyError> {
        let (framing, close) = request::framing(req).map_err(BodyError::Reject)?;
        if matches!(framing, Framing::None | Framing::Length(0)) {
            return Ok(close);
        }
        // RFC 9110 10.1.1: a server that answers with a final status without reading the
        // body of a request that expects 100-continue then closes (or reads it all);
        // the client may never send it. Any other expectation gets 417.
        if let Some(e) = req.header("expect") {
            if e.eq_ignore_ascii_case("100-continue") {
                return Ok(true);
            }
            return Err(BodyError::Reject(Reject {
                status: 417,
                why: "unsupported expectation",
            }));
        }
        let deadline = Some(Instant::now() + self.cfg.body_timeout);
        let too_large = Reject {
            status: 413,
            why: "request body too large",
        };
        match framing {
            Framing::None => {}
            Framing::Length(n) => {
                // RFC 9110 15.5.14: 413, and the connection closes (the body is not read).
                if n > self.cfg.max_body {
                    return Err(BodyError::Reject(too_large));
                }
                let mut left = n;
                let mut scratch = [0u8; 4096];
                while left > 0 {
                    let want = (left as usize).min(scratch.len());
                    match conn.read_some(&mut scratch[..want], deadline) {
                        Ok(0) | Err(_) => return Err(BodyError::Io),
                        Ok(k) => left -= k as u64,
                    }
                }
            }
            Framing::Chunked => {
                match chunked::decode(conn, self.cfg.max_body, deadline, &mut |_| Ok(())) {
                    Ok(_) => {}
                    Err(ChunkedError::TooLarge) => return Err(BodyError::Reject(too_large)),
                    Err(ChunkedError::Malformed(why)) => {
                        return Err(BodyError::Reject(Reject { status: 400, why }))
                    }
                    Err(ChunkedError::Io(_)) => return Err(BodyError::Io),
                }
            }
        }
        Ok(close)
    }

    /// Writes `resp`, logs it, and returns whether the connection stays open.
    fn finish<S: NetStream>(
        &self,
        conn: &mut Conn<S>,
        out: &mut Vec<u8>,
        req: Option<&Request>,
        resp: Response,
        peer: SocketAddr,
        started: Instant,
    ) -> bool {
        let minor = req.map_or(1, |r| r.minor);
        let head_only = req.is_some_and(|r| r.method == "HEAD");
        let close = resp.close;
        let status = resp.status;
        response::write_head(out, &resp, close, minor);
        let sent = if head_only {
            Ok(0)
        } else {
            response::write_body(conn, out, resp.body)
        };
        // Pipelining: while another complete request is already buffered, hold small
        // responses back and send them together.
        let more = !close && out.len() < CHUNK && next_head_buffered(conn.buffered());
        let result = match sent {
            Ok(n) if more => Ok(n),
            Ok(n) => conn.write_all(out).map(|()| n),
            Err(e) => Err(e),
        };
        if !more {
            out.clear();
        }
        access_log(peer, req, status, result.as_ref().ok().copied(), started);
        match result {
            Ok(_) if !close => true,
            Ok(_) => {
                linger_close(conn);
                false
            }
            Err(_) => false,
        }
    }

    /// Routes a request to its response (the body, if any, has been read).
    pub fn handle(&self, req: &Request) -> Response {
        // RFC 9110 9.1/15.5.6: only GET and HEAD; 405 lists them in Allow (RFC 9110 10.2.1).
        if req.method != "GET" && req.method != "HEAD" {
            return Response::text(405, "only GET and HEAD are supported")
                .with("Allow", "GET, HEAD");
        }
        let Some(path) = path::target_path(&req.target) else {
            return Response::text(400, "unsupported request target");
        };
        if let Some(r) = self
            .info
            .as_ref()
            .and_then(|info| pages::stack_page(&**info, req, path))
        {
            return r;
        }
        let Some(root) = &self.root else {
            if path == "/" || path == "/index.html" {
                let page = pages::index_html(self.info.is_some());
                return Response::bytes(200, "text/html; charset=utf-8", page.into_bytes());
            }
            return Response::text(404, "not found");
        };
        match path::resolve(root, &req.target) {
            Err(PathError::Bad) => Response::text(400, "bad path"),
            Err(PathError::NotFound) => Response::text(404, "not found"),
            Ok((p, slash)) if p.is_dir() => {
                if !slash {
                    // A directory is addressed with a trailing slash, so relative links work.
                    return Response::text(301, "moved").with("Location", format!("{path}/"));
                }
                let index = p.join("index.html");
                match index.canonicalize() {
                    Ok(i) if i.starts_with(root) && i.is_file() => files::serve_file(req, &i),
                    _ => files::listing(path, &p),
                }
            }
            Ok((p, _)) => files::serve_file(req, &p),
        }
    }
}

enum BodyError {
    Reject(Reject),
    Io,
}

fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Whether `buf` already holds a whole request head.
fn next_head_buffered(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Closes after a response without losing it: shut down the sending side, then read and
/// drop what the client still sends for a short while, so that closing with unread data
/// does not reset the connection before the client has read the response (RFC 9112
/// 9.6: a server "SHOULD ... close the connection in stages").
fn linger_close<S: NetStream>(conn: &mut Conn<S>) {
    let _ = conn.stream.shutdown(Shutdown::Write);
    let deadline = Some(Instant::now() + Duration::from_secs(2));
    let mut drained = 0usize;
    while drained < 1 << 20 {
        let n = conn.buffered().len();
        conn.consume(n);
        match conn.fill(deadline) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// One line per request, through `log` at target `tunstack::http`: peer, request line
/// (control characters escaped, long targets cut), status, body bytes sent, duration.
fn access_log(
    peer: SocketAddr,
    req: Option<&Request>,
    status: u16,
    sent: Option<u64>,
    started: Instant,
) {
    let line = match req {
        Some(r) => {
            let mut t: String = r.target.chars().take(256).collect();
            if r.target.len() > t.len() {
                t.push_str("...");
            }
            format!("{} {} HTTP/1.{}", r.method, t, r.minor)
                .escape_debug()
                .to_string()
        }
        None => "-".into(),
    };
    let sent = sent.map_or("-".to_string(), |n| n.to_string());
    log::info!(
        target: LOG,
        "{peer} \"{line}\" {status} {sent} {}us",
        started.elapsed().as_micros()
    );
}
