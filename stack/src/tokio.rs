//! Async sockets for tokio (the `tokio` feature): [`TcpListener`], [`TcpStream`] and
//! [`UdpSocket`], with tokio's `AsyncRead`/`AsyncWrite`, so `tokio::io::copy`, `BufReader`,
//! codecs and hyper-style servers run on tunstack.
//!
//! They need no tokio reactor and no thread of their own: a pending operation leaves its
//! task's [`std::task::Waker`] in the runtime's registry under the socket's key, and the
//! runtime thread wakes it after the turn that touched that socket (nothing else is woken,
//! nothing polls). Any executor works; tokio's is the one the traits come from.
//! Dropping a future mid-operation loses nothing: the bytes stay in the socket until the
//! next read. Like tokio's own sockets, every operation spends the task's cooperative
//! budget, so a task whose socket is always ready still lets the others run.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::task::coop;

use crate::socket::{self, Interest, StackHandle};
use crate::stack::WaitKey;
use crate::tcp::State;

/// A TCP listener whose `accept` is a future.
#[derive(Debug)]
pub struct TcpListener {
    inner: socket::TcpListener,
}

impl TcpListener {
    /// Listens on `addr` on `handle`'s stack (port 0 picks a free port).
    pub fn bind_on(handle: &StackHandle, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with_backlog(handle, addr, socket::DEFAULT_BACKLOG)
    }

    /// Listens with an accept queue of `backlog`.
    pub fn bind_with_backlog(
        handle: &StackHandle,
        addr: impl ToSocketAddrs,
        backlog: usize,
    ) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: socket::TcpListener::bind_with_backlog(handle, addr, backlog)?,
        })
    }

    /// Wraps a blocking listener (its blocking mode no longer matters).
    pub fn from_std(inner: socket::TcpListener) -> TcpListener {
        TcpListener { inner }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for a connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection; when none is queued, `cx` is woken when one is.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        cooperate(cx, |cx| self.inner.poll_accept(cx))
            .map_ok(|(inner, peer)| (TcpStream { inner }, peer))
    }

    /// The blocking listener underneath.
    pub fn get_ref(&self) -> &socket::TcpListener {
        &self.inner
    }
}

/// A TCP connection with tokio's `AsyncRead` and `AsyncWrite`.
#[derive(Debug)]
pub struct TcpStream {
    inner: socket::TcpStream,
}

impl TcpStream {
    /// Connects to `addr` on `handle`'s stack (fails as the blocking `connect` does:
    /// `ConnectionRefused`, `TimedOut` after the stack's SYN retries, ...).
    pub async fn connect_on(
        handle: &StackHandle,
        addr: impl ToSocketAddrs,
    ) -> io::Result<TcpStream> {
        let remote = socket::first_addr(addr)?;
        let c = handle
            .with(|s, now| s.tcp_connect(now, remote, None))
            .map_err(socket::tcp_error)?;
        // Closes the half-open connection if this future is dropped before it completes.
        struct Pending<'a>(&'a StackHandle, Option<crate::tcp::TcpHandle>);
        impl Drop for Pending<'_> {
            fn drop(&mut self) {
                if let Some(c) = self.1 {
                    self.0.with(|s, now| {
                        s.tcp_abort(now, c);
                        s.tcp_close(now, c);
                    });
                }
            }
        }
        let mut guard = Pending(handle, Some(c));
        poll_fn(|cx| {
            handle.poll_io(&[WaitKey::TcpWrite(c.idx)], cx.waker(), |s, _| {
                let k = s.tcp_conn(c)?;
                if let Some(e) = k.error() {
                    return Some(Err(socket::conn_error(e)));
                }
                match k.state() {
                    State::SynSent | State::SynReceived => None,
                    State::Closed => Some(Err(io::ErrorKind::ConnectionRefused.into())),
                    _ => Some(Ok(())),
                }
            })
        })
        .await?;
        guard.1 = None;
        Ok(TcpStream {
            inner: socket::TcpStream::from_handle(handle, c)?,
        })
    }

    /// Wraps a blocking stream (its blocking mode and timeouts no longer matter).
    pub fn from_std(inner: socket::TcpStream) -> TcpStream {
        TcpStream { inner }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// TCP_NODELAY.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// The blocking stream underneath (for `info`, keep-alive, ...).
    pub fn get_ref(&self) -> &socket::TcpStream {
        &self.inner
    }

    /// Writes all of `buf`, then shuts down the sending side (RFC 9293 3.10.4), the FIN
    /// queued in the same call as the last bytes so that both leave together (one
    /// segment, one wake-up of the stack), as the kernel's `close()` does with data still
    /// queued; what `write_all` then `shutdown` gives, without the FIN trailing the data.
    pub async fn write_all_shutdown(&mut self, mut buf: &[u8]) -> io::Result<()> {
        loop {
            let n = poll_fn(|cx| self.inner.poll_write_last(cx, buf)).await?;
            if n == buf.len() {
                return Ok(());
            }
            buf = &buf[n..];
        }
    }

    /// Waits until a read would return at once (data, end of stream or an error).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_ready(cx, Interest::READABLE))
            .await
            .map(drop)
    }

    /// Waits until a write would make progress (or would fail at once).
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_ready(cx, Interest::WRITABLE))
            .await
            .map(drop)
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = match cooperate(cx, |cx| self.inner.poll_read(cx, buf.initialize_unfilled())) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written bytes are the stack's to send already; there is no user-space buffer.
        Poll::Ready(Ok(()))
    }

    /// Sends a FIN after the queued data (RFC 9293 3.10.4).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.inner.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            r => Poll::Ready(r),
        }
    }
}

/// A UDP socket whose sends and receives are futures.
#[derive(Debug)]
pub struct UdpSocket {
    inner: socket::UdpSocket,
}

impl UdpSocket {
    /// Binds on `handle`'s stack.
    pub fn bind_on(handle: &StackHandle, addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: socket::UdpSocket::bind_on(handle, addr)?,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sends a datagram to `addr` (never waits: a full transmit queue drops it, as a
    /// full NIC ring would).
    pub async fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        self.inner.send_to(buf, addr)
    }

    /// Receives a datagram; bytes beyond `buf` are discarded.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls for a datagram.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        cooperate(cx, |cx| self.inner.poll_recv_from(cx, buf))
    }
}

/// Runs `op` if the task has cooperative budget left (otherwise yields, woken at once),
/// and spends a unit of it when `op` completes.
fn cooperate<T>(cx: &mut Context<'_>, op: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
    let budget = std::task::ready!(coop::poll_proceed(cx));
    let r = op(cx);
    if r.is_ready() {
        budget.made_progress();
    }
    r
}
