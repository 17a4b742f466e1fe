//! The event-driven side of the servers: async listener and stream traits that both
//! tunstack's sockets (`tunstack::tokio`) and the kernel's (`tokio::net`) implement, so
//! the same server code runs on either (which is how the two stacks are compared), and
//! the one bounded accept loop every bundled server uses.
//!
//! A server runs on a single-threaded tokio runtime ([`spawn_server`]): the stack's own
//! when its stack has one (`tunstack up`: the servers, the stack's turns and every
//! connection share one thread), else one on a thread of its own; every connection is
//! a task, not a thread. Each server holds at most
//! `max` connections ([`ConnLimit`]); the one past it is accepted and refused at once
//! (HTTP answers 503 with `Retry-After`; the others reset it), and every refusal is
//! counted in [`conn_refused_max`], shown as `TcpExtTunstackConnRefusedMax`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

const LOG: &str = "tunstack::apps";

/// The name the refusal counter goes by in counter listings (`/_stack/stats`, the
/// counters `tunstack up` prints): connections refused because a server held its
/// `--max-conns`.
pub const CONN_REFUSED_MAX: &str = "TcpExtTunstackConnRefusedMax";

static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Connections refused by any server in this process for being past its limit.
pub fn conn_refused_max() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

/// A connected stream the servers can drive.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// TCP_NODELAY.
    fn set_nodelay(&self, on: bool) -> io::Result<()>;
    /// Waits until a read would return at once (data, end of stream or an error), without
    /// reading: a connection waiting for its next request holds no read buffer.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Closes with a reset (RFC 9293 3.10.5 ABORT; the kernel's SO_LINGER of 0).
    fn abort(self);
    /// Writes all of `buf`, then shuts down the sending side: the last response on a
    /// connection that closes. tunstack queues the FIN with the last bytes so that they
    /// leave in one segment (a client that saw the response before the FIN could close
    /// first and keep the port in TIME-WAIT); the kernel's sockets write, then shut down.
    fn write_all_shutdown(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
}

/// A listener the servers can drive.
pub trait AsyncListener: Send + 'static {
    /// Its connections.
    type Stream: AsyncStream;
    /// Waits for a connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;
}

/// A listener made into an [`AsyncListener`] on the server's own thread (tokio's
/// kernel sockets must be registered from inside the runtime that drives them).
pub trait IntoAsyncListener: Send + 'static {
    /// What it becomes.
    type Listener: AsyncListener;
    /// Converts; called inside the server's runtime.
    fn into_async(self) -> io::Result<Self::Listener>;
    /// The tokio runtime the server should run on, if the listener's stack has one
    /// (`tunstack up`'s stack runs its servers on its own thread, see
    /// `tunstack::socket::Runtime::spawn_tokio`); `None`: a thread of its own.
    fn runtime(&self) -> Option<tokio::runtime::Handle> {
        None
    }
}

impl AsyncStream for tunstack::tokio::TcpStream {
    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        tunstack::tokio::TcpStream::set_nodelay(self, on)
    }
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send {
        tunstack::tokio::TcpStream::readable(self)
    }
    fn abort(self) {
        self.get_ref().abort();
    }
    fn write_all_shutdown(&mut self, buf: &[u8]) -> impl Future<Output = io::Result<()>> + Send {
        tunstack::tokio::TcpStream::write_all_shutdown(self, buf)
    }
}

impl AsyncListener for tunstack::tokio::TcpListener {
    type Stream = tunstack::tokio::TcpStream;
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send {
        tunstack::tokio::TcpListener::accept(self)
    }
}

impl IntoAsyncListener for tunstack::TcpListener {
    type Listener = tunstack::tokio::TcpListener;
    fn into_async(self) -> io::Result<Self::Listener> {
        Ok(tunstack::tokio::TcpListener::from_std(self))
    }
    fn runtime(&self) -> Option<tokio::runtime::Handle> {
        self.stack().tokio_runtime()
    }
}

impl IntoAsyncListener for tunstack::tokio::TcpListener {
    type Listener = tunstack::tokio::TcpListener;
    fn into_async(self) -> io::Result<Self::Listener> {
        Ok(self)
    }
    fn runtime(&self) -> Option<tokio::runtime::Handle> {
        self.get_ref().stack().tokio_runtime()
    }
}

impl AsyncStream for tokio::net::TcpStream {
    fn set_nodelay(&self, on: bool) -> io::Result<()> {
        tokio::net::TcpStream::set_nodelay(self, on)
    }
    async fn readable(&self) -> io::Result<()> {
        tokio::net::TcpStream::readable(self).await
    }
    fn abort(self) {
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt on a descriptor this stream owns, with a pointer to a live
        // `linger` and its exact size; close (on drop) then sends a reset.
        unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
    async fn write_all_shutdown(&mut self, buf: &[u8]) -> io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.write_all(buf).await?;
        self.shutdown().await
    }
}

impl AsyncListener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        tokio::net::TcpListener::accept(self).await
    }
}

impl IntoAsyncListener for std::net::TcpListener {
    type Listener = tokio::net::TcpListener;
    fn into_async(self) -> io::Result<Self::Listener> {
        self.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(self)
    }
}

/// A server's connection limit: how many it holds now and how many it refused.
#[derive(Debug)]
pub struct ConnLimit {
    max: usize,
    active: AtomicUsize,
    refused: AtomicU64,
}

/// A held connection; dropping it gives the place back.
#[derive(Debug)]
pub struct Held(Arc<ConnLimit>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnLimit {
    /// At most `max` connections (at least one).
    pub fn new(max: usize) -> Arc<ConnLimit> {
        Arc::new(ConnLimit {
            max: max.max(1),
            active: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        })
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections held now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Connections refused for being past the limit.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// A place, if one is free; otherwise the refusal is counted.
    pub fn try_hold(self: &Arc<Self>) -> Option<Held> {
        let mut n = self.active.load(Ordering::Acquire);
        loop {
            if n >= self.max {
                self.refused.fetch_add(1, Ordering::Relaxed);
                REFUSED.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            match self
                .active
                .compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(Held(Arc::clone(self))),
                Err(now) => n = now,
            }
        }
    }
}

/// Whether an accept error is worth going on after (a connection that went away before
/// it was taken, a descriptor shortage that closing connections will relieve).
pub fn transient(e: &io::Error) -> bool {
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

/// The accept loop of every bundled server: each connection accepted becomes a task
/// running `serve` while it holds a place under `limit`; past the limit it is handed to
/// `refuse` instead (counted). Returns on an accept error that is not transient, or
/// when `stop` says so after an accept.
pub async fn accept_loop<L, S, F, R>(
    listener: L,
    limit: Arc<ConnLimit>,
    stop: impl Fn() -> bool,
    serve: S,
    refuse: R,
) -> io::Result<()>
where
    L: AsyncListener,
    S: Fn(L::Stream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
    R: Fn(L::Stream, SocketAddr),
{
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            // tunstack's stack has stopped (no OS error behind it): nothing more comes.
            Err(e)
                if e.kind() == io::ErrorKind::ConnectionAborted && e.raw_os_error().is_none() =>
            {
                return Ok(())
            }
            Err(e) if transient(&e) => {
                log::debug!(target: LOG, "accept: {e}");
                if e.raw_os_error().is_some() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if stop() {
            return Ok(());
        }
        // Let the connections' tasks run between accepts in a burst (on the kernel's
        // sockets accept does not spend tokio's budget).
        tokio::task::consume_budget().await;
        match limit.try_hold() {
            Some(held) => {
                let task = serve(stream, peer);
                tokio::spawn(async move {
                    task.await;
                    drop(held);
                });
            }
            None => {
                log::debug!(target: LOG, "{peer}: refused, {} connections held", limit.max());
                refuse(stream, peer);
            }
        }
    }
}

/// Refuses a connection with a reset (the services and DNS over TCP).
pub fn reset<S: AsyncStream>(stream: S, _peer: SocketAddr) {
    stream.abort();
}

/// Runs `make()`'s future as a task on `on` (the stack's own runtime, so the server
/// shares the stack's thread), or else on a thread of its own named `name` with a
/// single-threaded tokio runtime. An error that ends the server is logged.
pub fn spawn_server<F, Fut>(
    name: &str,
    on: Option<tokio::runtime::Handle>,
    make: F,
) -> io::Result<()>
where
    F: FnOnce() -> io::Result<Fut> + Send + 'static,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let what = name.to_string();
    let run = async move {
        if let Err(e) = async move { make()?.await }.await {
            log::error!(target: LOG, "{what}: {e}");
        }
    };
    match on {
        Some(rt) => {
            rt.spawn(run);
            Ok(())
        }
        None => {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(run),
                        Err(e) => log::error!(target: LOG, "server runtime: {e}"),
                    }
                })?;
            Ok(())
        }
    }
}

/// `fut`, unless `limit` passes first (`TimedOut`).
pub async fn within<T>(limit: Duration, fut: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    match before(tokio::time::Instant::now() + limit, fut).await {
        Some(r) => r,
        None => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// `fut`'s output, unless `deadline` passes first (`None`). A future that is ready at
/// its first poll (a write the send buffer takes whole, a read of bytes already there:
/// most of a busy server's) costs no timer: the timer is set only once it has to wait.
pub async fn before<F: Future>(deadline: tokio::time::Instant, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(out) = first {
        return Some(out);
    }
    tokio::time::timeout_at(deadline, fut).await.ok()
}
