//! Links: devices that carry frames to and from the stack.
//!
//! A [`Device`] moves whole frames: IP packets for a layer-3 link ([`Medium::Ip`], a TUN
//! device) or Ethernet frames for a layer-2 link ([`Medium::Ethernet`], a TAP device). It
//! never blocks: the runtime waits on [`Device::raw_fd`] with poll(2) and on
//! [`Device::poll_at`], then drains [`Device::recv`] until it yields `Ok(None)`.
//!
//! What lives here:
//!
//! * [`tun::TunDevice`] and [`tap::TapDevice`]: kernel TUN/TAP interfaces (the `tun-tap`
//!   crate), non-blocking, no packet-information header;
//! * [`netdev`]: configuring a kernel interface (address, netmask, up, MTU) with ioctls,
//!   without running `ip`;
//! * [`memory::MemoryLink`]: a connected in-memory pair for simulation and tests;
//! * [`impair::Impaired`]: a seeded loss/duplication/reordering/delay/corruption/rate
//!   model (after Linux netem and smoltcp's `phy/fault_injector.rs`) around any device;
//! * [`pcap::Pcap`]: a capture of both directions of any device into a libpcap file that
//!   Wireshark and tshark read.
//!
//! Wrappers compose: `Pcap::new(Impaired::new(TunDevice::open("tun0")?, tx, rx, 7), w)`
//! captures what the stack sends and receives after impairment.
//!
//! # Batching
//!
//! The trait moves one frame per call. A batched interface would add, with default
//! methods looping over `recv`/`send` so that every device keeps working:
//!
//! ```text
//! fn recv_batch(&mut self, bufs: &mut [&mut [u8]], lens: &mut [usize], now: Instant)
//!     -> io::Result<usize>;                  // recvmmsg(2)-style, for a packet socket
//! fn send_batch(&mut self, frames: &[&[u8]], now: Instant) -> io::Result<usize>;
//! ```
//!
//! TUN/TAP file descriptors take one frame per read(2)/write(2); batching pays off there
//! only with `IFF_MULTI_QUEUE` (one queue per thread) or with `IFF_VNET_HDR` offloads
//! (one 64 KiB "super-frame" per call), both left for later.

use std::io;

use crate::time::Instant;

pub mod impair;
pub mod memory;
pub mod netdev;
pub mod pcap;
pub mod tap;
pub mod tun;

pub use impair::{ImpairConfig, ImpairStats, Impaired, Impairment};
pub use memory::{MemoryEnd, MemoryLink};
pub use pcap::{LinkType, Pcap, PcapReader, PcapWriter};
pub use tap::TapDevice;
pub use tun::TunDevice;

/// Length of an Ethernet II header (destination, source, EtherType), without FCS or VLAN tag.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// What a device's frames start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Medium {
    /// Bare IP packets (a TUN device).
    Ip,
    /// Ethernet II frames without FCS (a TAP device).
    Ethernet,
}

impl Medium {
    /// Bytes of link header in front of the IP packet: 0 for IP, 14 for Ethernet.
    pub const fn header_len(self) -> usize {
        match self {
            Medium::Ip => 0,
            Medium::Ethernet => ETHERNET_HEADER_LEN,
        }
    }
}

/// A link that carries frames. See the [module documentation](self).
pub trait Device {
    /// Receives one frame into `buf`: Ok(Some(len)), or Ok(None) when nothing is ready now (never blocks).
    ///
    /// A frame longer than `buf` is truncated to `buf.len()`, as read(2) on a TUN device
    /// does; a buffer of `mtu() + medium().header_len()` bytes always suffices.
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>>;

    /// Sends one frame (may drop it, e.g. impairment; never blocks).
    fn send(&mut self, frame: &[u8], now: Instant) -> io::Result<()>;

    /// The kind of frames this device carries.
    fn medium(&self) -> Medium;

    /// Largest frame payload (IP MTU; for Ethernet the frame is mtu + 14).
    fn mtu(&self) -> usize;

    /// When this device will have a frame to deliver without outside input (e.g. a delayed frame), if ever.
    ///
    /// The runtime must call [`recv`](Device::recv) (and it may call `send`) at or after
    /// this instant; wrappers that delay outgoing frames flush them from either call.
    fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// A file descriptor that becomes readable when a frame may be received, for poll(2).
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        None
    }
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        (**self).recv(buf, now)
    }
    fn send(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        (**self).send(frame, now)
    }
    fn medium(&self) -> Medium {
        (**self).medium()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn poll_at(&self) -> Option<Instant> {
        (**self).poll_at()
    }
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        (**self).raw_fd()
    }
}

impl<D: Device + ?Sized> Device for &mut D {
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        (**self).recv(buf, now)
    }
    fn send(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        (**self).send(frame, now)
    }
    fn medium(&self) -> Medium {
        (**self).medium()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn poll_at(&self) -> Option<Instant> {
        (**self).poll_at()
    }
    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        (**self).raw_fd()
    }
}

/// Copies `frame` into `buf`, truncating like read(2) on a TUN device; returns the length
/// copied.
pub(crate) fn copy_truncated(frame: &[u8], buf: &mut [u8]) -> usize {
    let n = frame.len().min(buf.len());
    buf[..n].copy_from_slice(&frame[..n]);
    if n < frame.len() {
        log::warn!(
            target: "tunstack::link",
            "receive buffer of {} bytes truncated a {}-byte frame",
            buf.len(),
            frame.len()
        );
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_and_borrowed_devices_delegate() {
        let (a, mut b) = MemoryLink::pair(Medium::Ip, 1280);
        let mut boxed: Box<dyn Device> = Box::new(a);
        assert_eq!(boxed.medium(), Medium::Ip);
        assert_eq!(boxed.mtu(), 1280);
        boxed.send(b"frame", Instant::ZERO).unwrap();
        let by_ref = &mut b;
        let mut buf = [0u8; 16];
        assert_eq!(by_ref.recv(&mut buf, Instant::ZERO).unwrap(), Some(5));
        assert_eq!(&buf[..5], b"frame");
        assert_eq!(by_ref.recv(&mut buf, Instant::ZERO).unwrap(), None);
        assert_eq!(Medium::Ethernet.header_len(), 14);
        assert_eq!(Medium::Ip.header_len(), 0);
    }

    #[test]
    fn copy_truncated_copies_what_fits() {
        let mut small = [0u8; 3];
        assert_eq!(copy_truncated(b"hello", &mut small), 3);
        assert_eq!(&small, b"hel");
        let mut big = [0u8; 8];
        assert_eq!(copy_truncated(b"hello", &mut big), 5);
    }
}
