//! `TcpListener` and `TcpStream`, shaped like `std::net`'s: the same names, `io::Read` and
//! `io::Write` (also for `&TcpStream`), timeouts, non-blocking mode, `try_clone`, and
//! failures as the `io::ErrorKind` the kernel's sockets give (`ConnectionRefused`,
//! `ConnectionReset`, `TimedOut`, `WouldBlock`, `AddrInUse`, `NotConnected`).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{first_addr, StackHandle};
use crate::stack::{TcpError, WaitKey};
use crate::tcp::{ConnError, ConnInfo, ListenHandle, State, TcpHandle, Unreachable};

/// The accept queue length `bind` uses (Linux's default `somaxconn` is 4096; 128 is the
/// traditional value and plenty for the bundled servers).
pub const DEFAULT_BACKLOG: usize = 128;

pub(crate) fn conn_error(e: ConnError) -> io::Error {
    match e {
        ConnError::Refused => io::Error::from(io::ErrorKind::ConnectionRefused),
        ConnError::Reset => io::Error::from(io::ErrorKind::ConnectionReset),
        ConnError::TimedOut => io::Error::from(io::ErrorKind::TimedOut),
        ConnError::Aborted => io::Error::from(io::ErrorKind::ConnectionAborted),
        ConnError::Unreachable(u) => io::Error::from(match u {
            Unreachable::Network => io::ErrorKind::NetworkUnreachable,
            Unreachable::Host => io::ErrorKind::HostUnreachable,
            Unreachable::Port => io::ErrorKind::ConnectionRefused,
        }),
    }
}

pub(crate) fn tcp_error(e: TcpError) -> io::Error {
    match e {
        TcpError::AddrInUse => io::Error::from(io::ErrorKind::AddrInUse),
        TcpError::AddrNotAvailable | TcpError::Exhausted => {
            io::Error::from(io::ErrorKind::AddrNotAvailable)
        }
        TcpError::NoRoute => io::Error::from(io::ErrorKind::HostUnreachable),
        TcpError::InvalidHandle | TcpError::NotConnected => {
            io::Error::from(io::ErrorKind::NotConnected)
        }
        TcpError::Conn(c) => conn_error(c),
    }
}

/// The last byte of an address (spreads the ports that port-0 listeners try).
fn last_octet(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(a) => a.octets()[3],
        IpAddr::V6(a) => a.octets()[15],
    }
}

fn would_block() -> io::Error {
    io::Error::from(io::ErrorKind::WouldBlock)
}

/// A TCP listener on a tunstack stack.
#[derive(Debug)]
pub struct TcpListener {
    handle: StackHandle,
    listen: ListenHandle,
    local: SocketAddr,
    nonblocking: AtomicBool,
}

impl TcpListener {
    /// Listens on `addr` on the default stack (the first runtime started in this process).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_on(&StackHandle::default_handle()?, addr)
    }

    /// Listens on `addr` on the given stack. Port 0 picks a free port.
    pub fn bind_on(handle: &StackHandle, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(handle, addr, DEFAULT_BACKLOG)
    }

    /// Listens with an accept queue of `backlog` connections.
    pub fn bind_with_backlog(
        handle: &StackHandle,
        addr: impl ToSocketAddrs,
        backlog: usize,
    ) -> io::Result<TcpListener> {
        let want = first_addr(addr)?;
        let (listen, local) = handle
            .with(|s, _| {
                if want.port() != 0 {
                    return s.tcp_listen(want, backlog).map(|l| (l, want));
                }
                // Port 0: a random free port from the ephemeral range.
                let mut last = TcpError::Exhausted;
                for i in 0..64u32 {
                    let port = 32_768
                        + ((u32::from(last_octet(want.ip())) * 7919
                            + i * 104_729
                            + std::process::id())
                            % 28_232) as u16;
                    let a = SocketAddr::new(want.ip(), port);
                    match s.tcp_listen(a, backlog) {
                        Ok(l) => return Ok((l, a)),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            })
            .map_err(tcp_error)?;
        Ok(TcpListener {
            handle: handle.clone(),
            listen,
            local,
            nonblocking: AtomicBool::new(false),
        })
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The stack this listener is on.
    pub fn stack(&self) -> &StackHandle {
        &self.handle
    }

    /// Waits for a connection (unless non-blocking) and returns it with its peer address.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let l = self.listen;
        let take = |s: &mut crate::stack::Stack, _| match s.tcp_accept(l) {
            Ok(Some(h)) => Some(Ok(h)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        };
        let h = if self.nonblocking.load(Ordering::Relaxed) {
            self.handle.with(take).ok_or_else(would_block)?
        } else {
            self.handle
                .wait(WaitKey::Listen(l.idx), None, take)
                .ok_or_else(|| io::Error::new(io::ErrorKind::ConnectionAborted, "stack stopped"))?
        }
        .map_err(tcp_error)?;
        let stream = TcpStream::from_handle(&self.handle, h)?;
        let peer = stream.peer_addr()?;
        Ok((stream, peer))
    }

    /// An endless iterator of accepted connections.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Non-blocking mode: `accept` returns `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }
}

impl TcpListener {
    /// The stack and the listener's handle (for readiness and async sockets).
    pub(crate) fn parts(&self) -> (&StackHandle, ListenHandle) {
        (&self.handle, self.listen)
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let l = self.listen;
        // As for streams: forget its wakers only while the slot is still this listener's.
        self.handle.with_wakers(|s, w, _| {
            if s.tcp_accept_ready(l).is_some() {
                w.forget(WaitKey::Listen(l.idx));
            }
        });
        self.handle.with(|s, now| s.tcp_unlisten(now, l));
    }
}

/// Accepted connections, as `std::net::Incoming`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

#[derive(Debug)]
struct StreamInner {
    handle: StackHandle,
    conn: TcpHandle,
    local: SocketAddr,
    peer: SocketAddr,
    read_timeout: Mutex<Option<Duration>>,
    write_timeout: Mutex<Option<Duration>>,
    nonblocking: AtomicBool,
    read_shut: AtomicBool,
}

impl Drop for StreamInner {
    fn drop(&mut self) {
        let c = self.conn;
        self.handle.with(|s, now| s.tcp_close(now, c));
        // Wait keys are slot numbers: forget this connection's wakers only while the slot
        // is still its own (a reused slot's wakers belong to the new connection; stale
        // ones are dropped when their key next fires).
        self.handle.with_wakers(|s, w, _| {
            if s.tcp_conn(c).is_some() {
                w.forget(WaitKey::Tcp(c.idx));
                w.forget(WaitKey::TcpWrite(c.idx));
            }
        });
    }
}

/// A TCP connection on a tunstack stack. Clones made with `try_clone` share the
/// connection; it closes when the last one is dropped.
#[derive(Debug)]
pub struct TcpStream {
    inner: Arc<StreamInner>,
}

impl TcpStream {
    /// Connects to `addr` on the default stack, waiting as long as the stack's SYN timeout.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::connect_on(&StackHandle::default_handle()?, addr, None)
    }

    /// Connects to `addr` on the default stack, giving up after `timeout` (`TimedOut`).
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero timeout"));
        }
        TcpStream::connect_on(&StackHandle::default_handle()?, addr, Some(timeout))
    }

    /// Connects on the given stack.
    pub fn connect_on(
        handle: &StackHandle,
        addr: impl ToSocketAddrs,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let remote = first_addr(addr)?;
        let h = handle
            .with(|s, now| s.tcp_connect(now, remote, None))
            .map_err(tcp_error)?;
        let outcome = handle.wait(WaitKey::TcpWrite(h.idx), timeout, |s, _| {
            let c = s.tcp_conn(h)?;
            if let Some(e) = c.error() {
                return Some(Err(conn_error(e)));
            }
            match c.state() {
                State::SynSent | State::SynReceived => None,
                State::Closed => Some(Err(io::Error::from(io::ErrorKind::ConnectionRefused))),
                _ => Some(Ok(())),
            }
        });
        match outcome {
            Some(Ok(())) => TcpStream::from_handle(handle, h),
            Some(Err(e)) => {
                handle.with(|s, now| s.tcp_close(now, h));
                Err(e)
            }
            None => {
                handle.with(|s, now| s.tcp_abort(now, h));
                handle.with(|s, now| s.tcp_close(now, h));
                Err(io::Error::from(io::ErrorKind::TimedOut))
            }
        }
    }

    /// The stack and the connection's handle (for readiness and async sockets).
    pub(crate) fn parts(&self) -> (&StackHandle, TcpHandle) {
        (&self.inner.handle, self.inner.conn)
    }

    /// Whether `shutdown(Read)` was called: reads return end of stream.
    pub(crate) fn read_shut(&self) -> bool {
        self.inner.read_shut.load(Ordering::Relaxed)
    }

    pub(crate) fn from_handle(handle: &StackHandle, conn: TcpHandle) -> io::Result<TcpStream> {
        let (local, peer) = handle
            .with(|s, _| s.tcp_conn(conn).map(|c| (c.local(), c.remote())))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        Ok(TcpStream {
            inner: Arc::new(StreamInner {
                handle: handle.clone(),
                conn,
                local,
                peer,
                read_timeout: Mutex::new(None),
                write_timeout: Mutex::new(None),
                nonblocking: AtomicBool::new(false),
                read_shut: AtomicBool::new(false),
            }),
        })
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// Shuts down reading, writing or both. Writing sends a FIN after queued data
    /// (RFC 9293 3.10.4); reading makes later reads return end of stream.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.inner.read_shut.store(true, Ordering::Relaxed);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            let c = self.inner.conn;
            self.inner
                .handle
                .with(|s, now| s.tcp_shutdown(now, c))
                .map_err(tcp_error)?;
        }
        Ok(())
    }

    /// Closes the connection at once with a reset (RFC 9293 3.10.5 ABORT; what the
    /// kernel does on close with SO_LINGER of 0): queued data is dropped, the peer sees
    /// `ConnectionReset`. Every clone of this stream then fails.
    pub fn abort(&self) {
        let c = self.inner.conn;
        self.inner.handle.with(|s, now| s.tcp_abort(now, c));
    }

    /// Another handle to the same connection (one thread reads while another writes).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Arc::clone(&self.inner),
        })
    }

    /// TCP_NODELAY: turn Nagle's algorithm off (on) or on (off).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        let c = self.inner.conn;
        self.inner
            .handle
            .with(|s, _| s.tcp_configure(c, |k| k.set_nodelay(on)))
            .map_err(tcp_error)
    }

    /// SO_KEEPALIVE with an idle time (RFC 1122 4.2.3.6): probes after `idle` without
    /// traffic, then the connection is dropped (`TimedOut`) if they go unanswered.
    /// `None` turns keep-alive off. (An extension: std has no such call.)
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let c = self.inner.conn;
        let idle = idle.map(crate::time::Duration::from);
        self.inner
            .handle
            .with(|s, now| s.tcp_configure(c, |k| k.set_keepalive(idle, now)))
            .map_err(tcp_error)
    }

    /// TCP_USER_TIMEOUT (RFC 5482): how long sent data may stay unacknowledged before
    /// the connection is dropped (`TimedOut`). (An extension: std has no such call.)
    pub fn set_user_timeout(&self, t: Duration) -> io::Result<()> {
        let c = self.inner.conn;
        let t = crate::time::Duration::from(t);
        self.inner
            .handle
            .with(|s, _| s.tcp_configure(c, |k| k.set_user_timeout(t)))
            .map_err(tcp_error)
    }

    /// TCP_CONGESTION: this connection's congestion control algorithm from now on (the
    /// stack's `TcpConfig::congestion` is the default); the window reached so far is
    /// kept. (An extension: std has no such call.)
    pub fn set_congestion_control(
        &self,
        algorithm: crate::tcp::congestion::Algorithm,
    ) -> io::Result<()> {
        let c = self.inner.conn;
        self.inner
            .handle
            .with(|s, _| s.tcp_configure(c, |k| k.set_congestion_control(algorithm)))
            .map_err(tcp_error)
    }

    /// Whether TCP_NODELAY is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        let c = self.inner.conn;
        self.inner
            .handle
            .with(|s, _| s.tcp_conn(c).map(|k| k.nodelay()))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// How long a read waits (`None`: forever). A zero duration is an error, as in std.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        if t == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero timeout"));
        }
        *self
            .inner
            .read_timeout
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = t;
        Ok(())
    }

    /// How long a write waits (`None`: forever).
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        if t == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero timeout"));
        }
        *self
            .inner
            .write_timeout
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = t;
        Ok(())
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .read_timeout
            .lock()
            .unwrap_or_else(|e| e.into_inner()))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .write_timeout
            .lock()
            .unwrap_or_else(|e| e.into_inner()))
    }

    /// Non-blocking mode: reads and writes return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// Reads without consuming.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let c = self.inner.conn;
        self.io_wait(
            WaitKey::Tcp(c.idx),
            *self
                .inner
                .read_timeout
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
            |s| {
                let k = s.tcp_conn(c)?;
                if k.recv_queue() > 0 {
                    return Some(Ok(k.peek(buf)));
                }
                k.can_recv().then(|| match k.error() {
                    Some(e) if !k.at_eof() => Err(conn_error(e)),
                    _ => Ok(0),
                })
            },
        )
    }

    /// A snapshot of the connection (state, cwnd, RTT, counters), as `ss -ti` shows.
    pub fn info(&self) -> io::Result<ConnInfo> {
        let c = self.inner.conn;
        self.inner
            .handle
            .with(|s, _| s.tcp_conn(c).map(|k| k.info()))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// Waits (per the timeout and non-blocking mode) until `f` yields a result.
    fn io_wait<R>(
        &self,
        key: WaitKey,
        timeout: Option<Duration>,
        f: impl FnMut(&mut crate::stack::Stack) -> Option<io::Result<R>>,
    ) -> io::Result<R> {
        let nonblocking = self.inner.nonblocking.load(Ordering::Relaxed);
        super::wait_io(&self.inner.handle, key, nonblocking, timeout, f)
    }

    fn read_inner(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.inner.read_shut.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let c = self.inner.conn;
        let timeout = *self
            .inner
            .read_timeout
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.io_wait(WaitKey::Tcp(c.idx), timeout, |s| {
            let k = s.tcp_conn(c)?;
            if !k.can_recv() {
                return None;
            }
            let now = crate::time::Instant::now();
            Some(s.tcp_recv(now, c, buf).map_err(tcp_error))
        })
    }

    fn write_inner(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let c = self.inner.conn;
        let timeout = *self
            .inner
            .write_timeout
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.io_wait(WaitKey::TcpWrite(c.idx), timeout, |s| {
            let k = s.tcp_conn(c)?;
            if let Some(e) = k.error() {
                return Some(Err(conn_error(e)));
            }
            if !k.can_send() {
                return None;
            }
            let now = crate::time::Instant::now();
            match s.tcp_send(now, c, buf) {
                Ok(0) => None,
                Ok(n) => Some(Ok(n)),
                Err(TcpError::Conn(ConnError::Aborted)) => {
                    Some(Err(io::Error::from(io::ErrorKind::BrokenPipe)))
                }
                Err(e) => Some(Err(tcp_error(e))),
            }
        })
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
