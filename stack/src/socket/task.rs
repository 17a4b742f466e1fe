//! Waker-based calls: each socket operation as a `poll_*` that returns `Pending` and
//! leaves the task's [`Waker`](std::task::Waker) with the runtime, which wakes it after
//! the turn that touched this socket. Executor-neutral; `tunstack::tokio` (the `tokio`
//! feature) builds tokio's `AsyncRead`/`AsyncWrite` on these.

use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::{conn_error, tcp_error, udp_error, Readiness, TcpListener, TcpStream, UdpSocket};
use crate::stack::{TcpError, WaitKey};
use crate::tcp::ConnError;

impl TcpStream {
    /// Reads into `buf` if a read would return at once; otherwise `Pending`, and `cx` is
    /// woken when the connection next changes. Never blocks.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() || self.read_shut() {
            return Poll::Ready(Ok(0));
        }
        let (h, c) = self.parts();
        h.poll_io(&[WaitKey::Tcp(c.idx)], cx.waker(), |s, now| {
            if !s.tcp_conn(c)?.can_recv() {
                return None;
            }
            Some(s.tcp_recv(now, c, buf).map_err(tcp_error))
        })
    }

    /// Writes from `buf` if there is room; otherwise `Pending`, and `cx` is woken when
    /// there is (or the connection fails). Never blocks.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_write_then(cx, buf, false)
    }

    /// As [`poll_write`](Self::poll_write), and when all of `buf` fit, the sending side
    /// is shut down in the same call (RFC 9293 3.10.4: the FIN queued behind the data):
    /// the last data and the FIN leave together, in one segment when the window allows,
    /// with one wake-up of the runtime, as the kernel's `close()` piggybacks its FIN on
    /// data still queued. A peer that gets the response and the FIN apart may close in
    /// between and end up in TIME-WAIT itself (a client's connect() then has to search
    /// past its TIME-WAIT ports). Returns the bytes written; an empty `buf` only shuts
    /// down.
    pub fn poll_write_last(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(match self.shutdown(std::net::Shutdown::Write) {
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(0),
                r => r.map(|()| 0),
            });
        }
        self.poll_write_then(cx, buf, true)
    }

    fn poll_write_then(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        shut: bool,
    ) -> Poll<io::Result<usize>> {
        let (h, c) = self.parts();
        h.poll_io(&[WaitKey::TcpWrite(c.idx)], cx.waker(), |s, now| {
            let k = s.tcp_conn(c)?;
            if let Some(e) = k.error() {
                return Some(Err(conn_error(e)));
            }
            if !k.can_send() {
                return None;
            }
            let sent = if shut {
                s.tcp_send_last(now, c, buf)
            } else {
                s.tcp_send(now, c, buf)
            };
            match sent {
                Ok(0) => None,
                Ok(n) => Some(Ok(n)),
                Err(TcpError::Conn(ConnError::Aborted)) => {
                    Some(Err(io::ErrorKind::BrokenPipe.into()))
                }
                Err(e) => Some(Err(tcp_error(e))),
            }
        })
    }

    /// `Ready` with the connection's readiness once it has any of `want` (errors and
    /// hang-ups always count); otherwise `Pending`, woken on the next change.
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        want: super::Interest,
    ) -> Poll<io::Result<Readiness>> {
        let (h, c) = self.parts();
        let keys: Vec<WaitKey> = super::ready::keys(super::ready::SourceId::Tcp(c), want).collect();
        h.poll_io(&keys, cx.waker(), |s, _| {
            let r = super::ready_of(s, c);
            let hit = (want.readable && r.readable)
                || (want.writable && r.writable)
                || r.error
                || r.read_closed;
            hit.then_some(Ok(r))
        })
    }
}

impl TcpListener {
    /// Takes a connection from the accept queue, or `Pending` (woken when one arrives).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (h, l) = self.parts();
        let r = h.poll_io(&[WaitKey::Listen(l.idx)], cx.waker(), |s, _| {
            match s.tcp_accept(l) {
                Ok(Some(c)) => Some(Ok(c)),
                Ok(None) => None,
                Err(e) => Some(Err(tcp_error(e))),
            }
        });
        match r {
            Poll::Ready(Ok(c)) => {
                let s = TcpStream::from_handle(h, c)?;
                let peer = s.peer_addr()?;
                Poll::Ready(Ok((s, peer)))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl UdpSocket {
    /// Receives a datagram (bytes beyond `buf` are discarded), or `Pending` (woken when
    /// one arrives).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let (h, u) = self.parts();
        h.poll_io(&[WaitKey::Udp(u.idx)], cx.waker(), |s, _| {
            match s.udp_recv(u) {
                Ok(Some(d)) => {
                    let n = d.data.len().min(buf.len());
                    buf[..n].copy_from_slice(&d.data[..n]);
                    Some(Ok((n, d.from)))
                }
                Ok(None) => None,
                Err(e) => Some(Err(udp_error(e))),
            }
        })
    }
}
