//! tunstack: a TCP/IP stack in user space over a Linux TUN or TAP device.
//!
//! The crate is layered (the map is `docs/DESIGN.md` in the repository):
//!
//! ```text
//! wire  <-  iface / icmp / udp / tcp  <-  stack  <-  socket
//! ```
//!
//! * [`wire`] holds packet formats: zero-copy views with checked constructors and parsed
//!   `Repr`s that can be emitted again.
//! * [`link`] holds devices that carry frames: TUN, TAP, an in-memory pair for simulation,
//!   an impairment wrapper and a pcap writer.
//! * [`time`] holds the stack's own clock types; the protocol cores only ever receive the
//!   time as an argument.
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations)]

pub mod icmp;
pub mod iface;
pub mod link;
pub mod rand;
pub mod sim;
pub mod socket;
pub mod stack;
pub mod stats;
pub mod tcp;
pub mod time;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod udp;
pub mod wire;

pub use socket::{TcpListener, TcpStream, UdpSocket};
