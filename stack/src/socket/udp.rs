//! `UdpSocket`, shaped like `std::net::UdpSocket`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::{first_addr, StackHandle};
use crate::stack::WaitKey;
use crate::udp::{UdpError, UdpHandle};

pub(crate) fn udp_error(e: UdpError) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        UdpError::AddrInUse => K::AddrInUse,
        UdpError::AddrNotAvailable => K::AddrNotAvailable,
        UdpError::InvalidHandle | UdpError::NotConnected => K::NotConnected,
        UdpError::NoRoute | UdpError::Unreachable => K::HostUnreachable,
        UdpError::MessageTooLong => K::InvalidInput,
        UdpError::ConnectionRefused => K::ConnectionRefused,
    };
    io::Error::new(kind, e)
}

/// A UDP socket on a tunstack stack.
#[derive(Debug)]
pub struct UdpSocket {
    handle: StackHandle,
    sock: UdpHandle,
    read_timeout: Mutex<Option<Duration>>,
    nonblocking: AtomicBool,
}

impl UdpSocket {
    /// Binds on the default stack. Port 0 picks a random free port.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        UdpSocket::bind_on(&StackHandle::default_handle()?, addr)
    }

    /// Binds on the given stack.
    pub fn bind_on(handle: &StackHandle, addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let local = first_addr(addr)?;
        let sock = handle.with(|s, _| s.udp_bind(local)).map_err(udp_error)?;
        Ok(UdpSocket {
            handle: handle.clone(),
            sock,
            read_timeout: Mutex::new(None),
            nonblocking: AtomicBool::new(false),
        })
    }

    /// Sets the default destination; only datagrams from it are received afterwards.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let peer = first_addr(addr)?;
        let h = self.sock;
        self.handle
            .with(|s, _| s.udp_connect(h, peer))
            .map_err(udp_error)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock;
        self.handle
            .with(|s, _| s.udp_addrs(h))
            .map(|(l, _)| l)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// The connected peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let h = self.sock;
        self.handle
            .with(|s, _| s.udp_addrs(h))
            .and_then(|(_, p)| p)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// Sends to `addr`.
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let dst = first_addr(addr)?;
        let h = self.sock;
        self.handle
            .with(|s, now| s.udp_send_to(now, h, buf, Some(dst)))
            .map_err(udp_error)
    }

    /// Sends to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let h = self.sock;
        self.handle
            .with(|s, now| s.udp_send_to(now, h, buf, None))
            .map_err(udp_error)
    }

    /// Receives a datagram; bytes beyond `buf` are discarded, as with the kernel.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.take(buf, false)
    }

    /// Receives from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.take(buf, false).map(|(n, _)| n)
    }

    /// Like `recv_from`, leaving the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.take(buf, true)
    }

    fn take(&self, buf: &mut [u8], peek: bool) -> io::Result<(usize, SocketAddr)> {
        let h = self.sock;
        let f = |s: &mut crate::stack::Stack| -> Option<io::Result<(usize, SocketAddr)>> {
            if !s.udp_readable(h) {
                return None;
            }
            let copy = |d: &crate::udp::Datagram, buf: &mut [u8]| {
                let n = d.data.len().min(buf.len());
                buf[..n].copy_from_slice(&d.data[..n]);
                (n, d.from)
            };
            Some(if peek {
                match s.udp_peek(h) {
                    Ok(Some(d)) => Ok(copy(d, buf)),
                    Ok(None) => return None,
                    Err(e) => Err(udp_error(e)),
                }
            } else {
                match s.udp_recv(h) {
                    Ok(Some(d)) => Ok(copy(&d, buf)),
                    Ok(None) => return None,
                    Err(e) => Err(udp_error(e)),
                }
            })
        };
        let timeout = *self.read_timeout.lock().unwrap_or_else(|e| e.into_inner());
        let nonblocking = self.nonblocking.load(Ordering::Relaxed);
        super::wait_io(&self.handle, WaitKey::Udp(h.idx), nonblocking, timeout, f)
    }

    /// How long a receive waits (`None`: forever). Zero is an error, as in std.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        if t == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "zero timeout"));
        }
        *self.read_timeout.lock().unwrap_or_else(|e| e.into_inner()) = t;
        Ok(())
    }

    /// The receive timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self.read_timeout.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Non-blocking mode: receives return `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }
}

impl UdpSocket {
    /// The stack and the socket's handle (for readiness and async sockets).
    pub(crate) fn parts(&self) -> (&StackHandle, UdpHandle) {
        (&self.handle, self.sock)
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let h = self.sock;
        // Its wakers (keyed by slot) are dropped when the slot's key next fires: a
        // reused slot's wakers belong to the new socket.
        self.handle.with(|s, _| s.udp_close(h));
    }
}
