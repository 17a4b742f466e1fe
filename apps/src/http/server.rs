//! The HTTP/1.1 server: event-driven, one thread and a task per connection (see
//! [`crate::aio`]); the per-connection loop (persistent connections, pipelining, limits,
//! timeouts) and request routing.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::chunked::{self, ChunkedError};
use super::files;
use super::io::{AsyncConn, Conn};
use super::pages::{self, StackInfo};
use super::path::{self, PathError};
use super::request::{self, Framing, HeadError, HeadScan, Limits, Reject, Request};
use super::response::{self, Response, CHUNK};
use super::LOG;
use crate::aio::{self, AsyncStream, ConnLimit, IntoAsyncListener};

/// Server settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The web root; `None` serves the built-in index page.
    pub root: Option<PathBuf>,
    /// Connections held at once (`--max-conns`). The one past it is answered
    /// `503 Service Unavailable` with `Retry-After` and closed, and counted
    /// (`TcpExtTunstackConnRefusedMax`). Past 3/4 of this, responses carry
    /// `Connection: close` so idle keep-alive connections give their places back.
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
    /// Slow readers: how long a piece of a response (at most 64 KiB) may take to be
    /// taken by the client; one that reads slower is cut off.
    pub write_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            root: None,
            max_connections: 10_000,
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

/// How long a refused or closing connection is drained before it is closed.
const LINGER: Duration = Duration::from_secs(2);

/// An HTTP server; cheap to share between connection tasks.
pub struct Server {
    cfg: Config,
    root: Option<PathBuf>,
    /// The web root, open: paths are opened beneath it ([`path::open`]).
    root_dir: Option<std::fs::File>,
    info: Option<Arc<dyn StackInfo>>,
    limit: Arc<ConnLimit>,
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
        let root_dir = root.as_ref().map(std::fs::File::open).transpose()?;
        let limit = ConnLimit::new(cfg.max_connections);
        Ok(Server {
            cfg,
            root,
            root_dir,
            info: None,
            limit,
        })
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
        self.limit.active()
    }

    /// Connections refused (503) for being past `max_connections`.
    pub fn refused(&self) -> u64 {
        self.limit.refused()
    }

    fn limits(&self) -> Limits {
        Limits {
            max_request_line: self.cfg.max_request_line,
            max_head: self.cfg.max_head,
            max_headers: self.cfg.max_headers,
        }
    }

    /// Serves `listener` (tunstack's or the kernel's) on the calling thread until an
    /// accept error that is not transient: every connection a task, at most
    /// `max_connections` at once, the next refused with 503.
    pub fn serve<L: IntoAsyncListener>(self: &Arc<Self>, listener: L) -> io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let me = Arc::clone(self);
        rt.block_on(async move { me.run(listener.into_async()?).await })
    }

    /// Runs [`Server::serve`] in the background: on the stack's own tokio runtime if
    /// the listener's stack has one, else on a thread of its own.
    pub fn spawn<L: IntoAsyncListener>(self: Arc<Self>, listener: L) -> io::Result<()> {
        let on = listener.runtime();
        aio::spawn_server("tunstack-http", on, move || {
            let l = listener.into_async()?;
            Ok(async move { self.run(l).await })
        })
    }

    async fn run<L: aio::AsyncListener>(self: Arc<Self>, listener: L) -> io::Result<()> {
        let limit = Arc::clone(&self.limit);
        let me = Arc::clone(&self);
        aio::accept_loop(
            listener,
            limit,
            || false,
            move |s, peer| {
                let me = Arc::clone(&me);
                async move { me.serve_connection(s, peer).await }
            },
            |s, peer| {
                tokio::spawn(refuse(s, peer));
            },
        )
        .await
    }

    /// Serves one connection until it closes: requests are read and answered in order
    /// (pipelined ones too: bytes after a request stay buffered for the next).
    pub async fn serve_connection<S: AsyncStream>(&self, stream: S, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let mut conn = AsyncConn::new(stream);
        let mut out = Vec::new();
        let lim = self.limits();
        loop {
            let req = self.read_head(&mut conn, &lim).await;
            let started = Instant::now();
            let req = match req {
                Ok(r) => r,
                Err(HeadError::Idle) | Err(HeadError::Io(_)) => break,
                Err(HeadError::Timeout) => {
                    let r = Response::text(408, "the request head took too long").closing();
                    self.finish(&mut conn, &mut out, None, r, (peer, started), true)
                        .await;
                    break;
                }
                Err(HeadError::Reject(Reject { status, why })) => {
                    let r = Response::text(status, why).closing();
                    self.finish(&mut conn, &mut out, None, r, (peer, started), true)
                        .await;
                    break;
                }
            };
            // Whether the client may still be sending when we close: then the close goes
            // in stages (see `linger_close`); after a request read whole, with nothing
            // more buffered, a plain close loses nothing.
            let mut linger = true;
            let resp = match self.read_body(&mut conn, &req).await {
                Ok((close, complete)) => {
                    let mut r = self.handle(&req);
                    r.close |= close || !req.keep_alive() || self.busy();
                    linger = !complete || !conn.buffered().is_empty();
                    r
                }
                Err(BodyError::Reject(Reject { status, why })) => {
                    Response::text(status, why).closing()
                }
                Err(BodyError::Io) => break,
            };
            if !self
                .finish(
                    &mut conn,
                    &mut out,
                    Some(&req),
                    resp,
                    (peer, started),
                    linger,
                )
                .await
            {
                break;
            }
            if out.is_empty() {
                // Between requests a connection holds no buffers (they go back to the
                // thread's spares).
                super::io::give_out_buffer(std::mem::take(&mut out));
                conn.release();
            }
        }
        if !out.is_empty() {
            let _ = conn.write_all(&out, self.cfg.write_timeout).await;
        }
        let _ = conn.stream.shutdown().await;
    }

    /// Reads the next request head. The wait for its first byte is bounded by
    /// `idle_timeout` and holds no buffer; once that byte is in, the whole head must
    /// arrive within `head_timeout`: one deadline for the head, not a timeout per read,
    /// so a client trickling a byte at a time (slowloris) cannot hold the connection
    /// longer than that.
    async fn read_head<S: AsyncStream>(
        &self,
        conn: &mut AsyncConn<S>,
        lim: &Limits,
    ) -> Result<Request, HeadError> {
        let mut scan = HeadScan::default();
        let idle_deadline = Instant::now() + self.cfg.idle_timeout;
        let mut head_deadline =
            (!conn.buffered().is_empty()).then(|| Instant::now() + self.cfg.head_timeout);
        loop {
            if let Some((req, n)) = scan.check(conn.buffered(), lim)? {
                conn.consume(n);
                return Ok(req);
            }
            if head_deadline.is_none() {
                let ready = aio::before(idle_deadline.into(), conn.stream.readable());
                match ready.await {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return Err(HeadError::Io(e)),
                    None => return Err(HeadScan::at_timeout(conn.buffered())),
                }
            }
            match conn
                .fill(Some(head_deadline.unwrap_or(idle_deadline)))
                .await
            {
                Ok(0) => return Err(HeadScan::at_eof(conn.buffered())),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(HeadScan::at_timeout(conn.buffered()))
                }
                Err(e) => return Err(HeadError::Io(e)),
            }
            if head_deadline.is_none() && !conn.buffered().is_empty() {
                head_deadline = Some(Instant::now() + self.cfg.head_timeout);
            }
        }
    }

    /// Whether the server is near its connection limit.
    fn busy(&self) -> bool {
        self.active() * 4 > self.cfg.max_connections * 3
    }

    /// Reads and discards the request body, so the next request on the connection starts
    /// in the right place. `Ok((close, complete))`: whether the connection must close
    /// after the response, and whether the body was read whole.
    async fn read_body<S: AsyncStream>(
        &self,
        conn: &mut AsyncConn<S>,
        req: &Request,
    ) -> Result<(bool, bool), BodyError> {
        let (framing, close) = request::framing(req).map_err(BodyError::Reject)?;
        if matches!(framing, Framing::None | Framing::Length(0)) {
            return Ok((close, true));
        }
        // RFC 9110 10.1.1: a server that answers with a final status without reading the
        // body of a request that expects 100-continue then closes (or reads it all);
        // the client may never send it. Any other expectation gets 417.
        if let Some(e) = req.header("expect") {
            if e.eq_ignore_ascii_case("100-continue") {
                return Ok((true, false));
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
                while left > 0 {
                    if conn.buffered().is_empty() {
                        match conn.fill(deadline).await {
                            Ok(0) | Err(_) => return Err(BodyError::Io),
                            Ok(_) => {}
                        }
                    }
                    let k = (conn.buffered().len() as u64).min(left);
                    conn.consume(k as usize);
                    left -= k;
                }
            }
            Framing::Chunked => {
                // The one chunked decoder is synchronous: run it over what has arrived,
                // and read more when it runs out (bounded: the body is at most max_body).
                let most = self.cfg.max_body as usize * 2 + 64 * 1024;
                loop {
                    let mut replay = Conn::replay(conn.buffered());
                    match chunked::decode(&mut replay, self.cfg.max_body, None, &mut |_| Ok(())) {
                        Ok(_) => {
                            let used = conn.buffered().len() - replay.buffered().len();
                            conn.consume(used);
                            break;
                        }
                        Err(ChunkedError::TooLarge) => return Err(BodyError::Reject(too_large)),
                        Err(ChunkedError::Malformed(why)) => {
                            return Err(BodyError::Reject(Reject { status: 400, why }))
                        }
                        Err(ChunkedError::Io(_)) => {
                            if conn.buffered().len() > most {
                                return Err(BodyError::Reject(too_large));
                            }
                            match conn.fill(deadline).await {
                                Ok(0) => {
                                    return Err(BodyError::Reject(Reject {
                                        status: 400,
                                        why: "connection closed inside chunked body",
                                    }))
                                }
                                Ok(_) => {}
                                Err(_) => return Err(BodyError::Io),
                            }
                        }
                    }
                }
            }
        }
        Ok((close, true))
    }

    /// Writes `resp`, logs it, and returns whether the connection stays open. A closing
    /// response is followed by a shutdown, and with `linger` by a staged close.
    async fn finish<S: AsyncStream>(
        &self,
        conn: &mut AsyncConn<S>,
        out: &mut Vec<u8>,
        req: Option<&Request>,
        resp: Response,
        (peer, started): (SocketAddr, Instant),
        linger: bool,
    ) -> bool {
        let minor = req.map_or(1, |r| r.minor);
        let head_only = req.is_some_and(|r| r.method == "HEAD");
        let close = resp.close;
        let status = resp.status;
        let limit = self.cfg.write_timeout;
        if out.capacity() == 0 {
            *out = super::io::take_out_buffer();
        }
        response::write_head(out, &resp, close, minor);
        let sent = if head_only {
            Ok(0)
        } else {
            response::write_body_async(conn, out, resp.body, limit).await
        };
        // Pipelining: while another complete request is already buffered, hold small
        // responses back and send them together.
        let more = !close && out.len() < CHUNK && next_head_buffered(conn.buffered());
        let result = match sent {
            Ok(n) if more => Ok(n),
            // The last response: its FIN goes with its last bytes.
            Ok(n) if close => conn.write_all_shutdown(out, limit).await.map(|()| n),
            Ok(n) => conn.write_all(out, limit).await.map(|()| n),
            Err(e) => Err(e),
        };
        if !more {
            out.clear();
        }
        access_log(peer, req, status, result.as_ref().ok().copied(), started);
        match result {
            Ok(_) if !close => true,
            Ok(_) if linger => {
                linger_close(conn).await;
                false
            }
            Ok(_) => false,
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
        let (Some(root), Some(root_dir)) = (&self.root, &self.root_dir) else {
            if path == "/" || path == "/index.html" {
                let page = pages::index_html(self.info.is_some());
                return Response::bytes(200, "text/html; charset=utf-8", page.into_bytes());
            }
            return Response::text(404, "not found");
        };
        match path::open(root, root_dir, &req.target) {
            Err(PathError::Bad) => Response::text(400, "bad path"),
            Err(PathError::NotFound) => Response::text(404, "not found"),
            Ok(o) if o.meta.is_dir() => {
                let p = o.path;
                if !o.slash {
                    // A directory is addressed with a trailing slash, so relative links work.
                    return Response::text(301, "moved").with("Location", format!("{path}/"));
                }
                let index = p.join("index.html");
                match index.canonicalize() {
                    Ok(i) if i.starts_with(root) && i.is_file() => files::serve_file(req, &i),
                    _ => files::listing(path, &p),
                }
            }
            Ok(o) => files::serve_opened(req, &o.path, o.file, &o.meta),
        }
    }
}

enum BodyError {
    Reject(Reject),
    Io,
}

/// Past the connection limit: `503 Service Unavailable` with `Retry-After` (RFC 9110
/// 15.6.4, 10.2.3), then the connection closes in stages.
async fn refuse<S: AsyncStream>(stream: S, peer: SocketAddr) {
    let mut conn = AsyncConn::new(stream);
    let mut out = Vec::new();
    let r = Response::text(503, "too many connections; try again shortly")
        .with("Retry-After", "1")
        .closing();
    response::write_head(&mut out, &r, true, 1);
    let _ = response::body_piece(&mut { r.body }, &mut out);
    if conn.write_all(&out, LINGER).await.is_ok() {
        linger_close(&mut conn).await;
    }
    log::info!(target: LOG, "{peer} refused: 503 (connection limit)");
}

/// Whether `buf` already holds a whole request head.
fn next_head_buffered(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Closes after a response without losing it: shut down the sending side, then read and
/// drop what the client still sends for a short while, so that closing with unread data
/// does not reset the connection before the client has read the response (RFC 9112
/// 9.6: a server "SHOULD ... close the connection in stages").
async fn linger_close<S: AsyncStream>(conn: &mut AsyncConn<S>) {
    let _ = conn.stream.shutdown().await;
    let deadline = Some(Instant::now() + LINGER);
    let mut drained = 0usize;
    while drained < 1 << 20 {
        let n = conn.buffered().len();
        conn.consume(n);
        match conn.fill(deadline).await {
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
    if !log::log_enabled!(target: LOG, log::Level::Info) {
        return;
    }
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
