//! The blocking, `std::net`-shaped socket API and the runtime thread that drives the core.
//!
//! One runtime owns the devices and, behind a mutex, the [`Stack`]: a thread of its own
//! ([`Runtime::spawn`]) that sleeps in `ppoll(2)` until a device has a frame, the core's
//! next deadline comes, or an application thread wakes it (an `eventfd`); or, with the
//! `tokio` feature, a task on a single-threaded tokio runtime ([`Runtime::spawn_tokio`])
//! whose other tasks then share the stack's thread. Application threads lock the core to
//! do their operation, wake the runtime so it sends what they queued, and wait until the
//! runtime wakes them after a turn that touched their socket.
//!
//! Why a mutex rather than channels: a socket call then costs one uncontended lock and a
//! wake-up instead of two channel hops and a reply; the core stays single-threaded inside
//! the lock, so it needs no internal synchronisation at all. See `benches/` for figures.

#[cfg(feature = "tokio")]
mod driven;
#[cfg(feature = "futures-io")]
mod futures_io;
mod icmp;
mod poll;
mod ready;
mod runtime;
mod task;
mod tcp;
mod udp;
mod writer;

pub use icmp::EchoSocket;
pub use ready::{Event, Interest, Poller, Readiness, Source};
pub use runtime::{Attached, Runtime, StackHandle};
pub use tcp::{Incoming, TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
pub use writer::{RuntimeOptions, WriterMode};

pub(crate) use tcp::{conn_error, tcp_error};
pub(crate) use udp::udp_error;

/// What TCP connection `c` is ready for now.
pub(crate) fn ready_of(s: &Stack, c: crate::tcp::TcpHandle) -> Readiness {
    ready::readiness(s, ready::SourceId::Tcp(c))
}

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::stack::{Stack, WaitKey};

/// The first address of `addr`, of either family. An IPv4-mapped IPv6 address
/// (`[::ffff:a.b.c.d]`, RFC 4291 2.5.5.2) is taken as the IPv4 address it names, as a
/// dual-stack kernel socket reaches it over IPv4.
pub(crate) fn first_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    let a = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address given"))?;
    Ok(match a {
        SocketAddr::V6(v) => match v.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::new(ip.into(), v.port()),
            None => a,
        },
        v4 => v4,
    })
}

/// A blocking socket call, as `std::net` behaves: in non-blocking mode `f` is tried once
/// (`WouldBlock` if it yields nothing); otherwise it is retried whenever the core touches
/// `key`, until it yields, `timeout` passes (`WouldBlock`, like the kernel's EAGAIN) or
/// the stack stops (`ConnectionAborted`).
pub(crate) fn wait_io<R>(
    handle: &StackHandle,
    key: WaitKey,
    nonblocking: bool,
    timeout: Option<std::time::Duration>,
    mut f: impl FnMut(&mut Stack) -> Option<io::Result<R>>,
) -> io::Result<R> {
    if nonblocking {
        return handle
            .with(|s, _| f(s))
            .unwrap_or_else(|| Err(io::Error::from(io::ErrorKind::WouldBlock)));
    }
    match handle.wait(key, timeout, |s, _| f(s)) {
        Some(r) => r,
        None if timeout.is_some() => Err(io::Error::from(io::ErrorKind::WouldBlock)),
        None => Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "stack stopped",
        )),
    }
}
