//! The socket traits the applications are written against, so the same server code runs
//! on the kernel's `std::net` sockets and on tunstack's — which is how the two stacks are
//! compared fairly.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

/// Whether a socket call ran out of time rather than failed: a read timeout shows as
/// `WouldBlock` or `TimedOut` (the kernel's EAGAIN), and a signal as `Interrupted`.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// A listening TCP socket.
pub trait NetListener: Send + Sync + 'static {
    /// Its connections.
    type Stream: NetStream;
    /// Waits for a connection.
    fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)>;
    /// The address listened on.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A connected TCP socket.
pub trait NetStream: Read + Write + Send + Sync + Sized + 'static {
    /// Bounds how long a read waits (`None`: forever); a read that runs out of time fails
    /// with `WouldBlock` or `TimedOut`.
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// Bounds how long a write waits.
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// The peer's address.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
    /// Shuts down one or both directions.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// Another handle to the same connection.
    fn try_clone(&self) -> io::Result<Self>;
    /// TCP_NODELAY.
    fn set_nodelay(&self, on: bool) -> io::Result<()>;
}

/// A UDP socket.
pub trait NetDatagram: Send + Sync + 'static {
    /// Sends a datagram to `addr`.
    fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize>;
    /// Receives a datagram and its source.
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)>;
    /// Bounds how long `recv_from` waits.
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

macro_rules! stream_impl {
    ($t:ty) => {
        impl NetStream for $t {
            fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
                <$t>::set_read_timeout(self, t)
            }
            fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
                <$t>::set_write_timeout(self, t)
            }
            fn peer_addr(&self) -> io::Result<SocketAddr> {
                <$t>::peer_addr(self)
            }
            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$t>::shutdown(self, how)
            }
            fn try_clone(&self) -> io::Result<Self> {
                <$t>::try_clone(self)
            }
            fn set_nodelay(&self, on: bool) -> io::Result<()> {
                <$t>::set_nodelay(self, on)
            }
        }
    };
}

stream_impl!(std::net::TcpStream);
stream_impl!(tunstack::TcpStream);

impl NetListener for std::net::TcpListener {
    type Stream = std::net::TcpStream;
    fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        std::net::TcpListener::accept(self)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        std::net::TcpListener::local_addr(self)
    }
}

impl NetListener for tunstack::TcpListener {
    type Stream = tunstack::TcpStream;
    fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        tunstack::TcpListener::accept(self)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        tunstack::TcpListener::local_addr(self)
    }
}

impl NetDatagram for std::net::UdpSocket {
    fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        std::net::UdpSocket::send_to(self, buf, addr)
    }
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::net::UdpSocket::recv_from(self, buf)
    }
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        std::net::UdpSocket::set_read_timeout(self, t)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        std::net::UdpSocket::local_addr(self)
    }
}

impl NetDatagram for tunstack::UdpSocket {
    fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        tunstack::UdpSocket::send_to(self, buf, addr)
    }
    fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        tunstack::UdpSocket::recv_from(self, buf)
    }
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        tunstack::UdpSocket::set_read_timeout(self, t)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        tunstack::UdpSocket::local_addr(self)
    }
}
