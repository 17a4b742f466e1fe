//! The blocking, `std::net`-shaped socket API and the runtime thread that drives the core.
//!
//! One runtime thread owns the devices and, behind a mutex, the [`Stack`]: it sleeps in
//! `ppoll(2)` until a device has a frame, the core's next deadline comes, or an
//! application thread wakes it (an `eventfd`). Application threads lock the core to do
//! their operation, wake the runtime so it sends what they queued, and wait on a condition
//! variable that the runtime signals after every turn.
//!
//! Why a mutex rather than channels: a socket call then costs one uncontended lock and a
//! wake-up instead of two channel hops and a reply; the core stays single-threaded inside
//! the lock, so it needs no internal synchronisation at all. See `benches/` for figures.

mod icmp;
mod runtime;
mod tcp;
mod udp;

pub use icmp::EchoSocket;
pub use runtime::{Attached, Runtime, StackHandle};
pub use tcp::{Incoming, TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
