//! Links: devices that carry frames to and from the stack.
//!
//! A [`Device`] moves whole frames: IP packets for a layer-3 link ([`Medium::Ip`], a TUN
//! device) or Ethernet frames for a layer-2 link ([`Medium::Ethernet`], a TAP device). It
//! never blocks: the runtime waits on [`Device::raw_fd`] with poll(2) and on
//! [`Device::poll_at`], then drains [`Device::recv`] until it yields `Ok(None)`.
//!
//! What lives here:
//!
//! * [`tun::TunDevice`] and [`tap::TapDevice`]: kernel TUN/TAP interfaces (our own
//!   ioctls), non-blocking, no packet-information header, with the virtio-net offloads;
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
//! # Offloads and batching
//!
//! A device may carry offload metadata beside each frame: a virtio-net header
//! ([`crate::wire::virtio`]) saying that the frame is a TCP super-segment standing for
//! several wire segments, or that its transport checksum is left partial.
//! [`Device::recv_offload`] and [`Device::send_offload`] move a frame with its header; a
//! device that cannot take them ([`Device::offload`] false) gets wire frames from the
//! default [`Device::send_offload`], which splits super-segments and completes checksums in
//! software ([`send_as_wire`]). A TUN device opened with offloads takes 64 KiB per
//! read(2)/write(2) that way: that is its batching. The impairment splits super-segments
//! before it drops, delays or corrupts, so its rates stay per wire segment.

use std::io;

use crate::time::Instant;
use crate::wire::virtio::{self, VirtioNetHdr};

pub mod impair;
pub mod memory;
pub mod netdev;
pub mod pcap;
pub mod tap;
pub mod tun;

pub use impair::{ImpairConfig, ImpairCounters, ImpairStats, Impaired, Impairment};
pub use memory::{MemoryEnd, MemoryLink};
pub use pcap::{LinkType, Pcap, PcapReader, PcapWriter};
pub use tap::TapDevice;
pub use tun::{DeviceTx, TunDevice};

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

    /// Receives one frame and its offload metadata (see the [module documentation](self)).
    ///
    /// The default receives a plain frame: an all-zero header.
    fn recv_offload(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, VirtioNetHdr)>> {
        Ok(self.recv(buf, now)?.map(|n| (n, VirtioNetHdr::NONE)))
    }

    /// Sends one frame with its offload metadata: a super-segment, or a frame whose
    /// checksum is left partial. The default sends what a wire would carry instead
    /// ([`send_as_wire`]).
    fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr, now: Instant) -> io::Result<()> {
        send_as_wire(self, frame, hdr, now)
    }

    /// Whether [`send_offload`](Device::send_offload) passes super-segments and partial
    /// checksums on whole (to a kernel that segments them), so that sending them saves work.
    fn offload(&self) -> bool {
        false
    }

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

    /// The device's sending side as an object of its own, for a writer thread (the
    /// runtime's [`WriterMode`](crate::socket::WriterMode)): TUN and TAP devices have
    /// one ([`DeviceTx`], on a duplicate of their descriptor); wrappers (impairment,
    /// capture) and in-memory links do not (`None`, the default), since what they do
    /// on sending must stay in order with what they do on receiving.
    fn split_tx(&self) -> io::Result<Option<DeviceTx>> {
        Ok(None)
    }
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        (**self).recv(buf, now)
    }
    fn recv_offload(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, VirtioNetHdr)>> {
        (**self).recv_offload(buf, now)
    }
    fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr, now: Instant) -> io::Result<()> {
        (**self).send_offload(frame, hdr, now)
    }
    fn offload(&self) -> bool {
        (**self).offload()
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
    fn split_tx(&self) -> io::Result<Option<DeviceTx>> {
        (**self).split_tx()
    }
}

impl<D: Device + ?Sized> Device for &mut D {
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        (**self).recv(buf, now)
    }
    fn recv_offload(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, VirtioNetHdr)>> {
        (**self).recv_offload(buf, now)
    }
    fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr, now: Instant) -> io::Result<()> {
        (**self).send_offload(frame, hdr, now)
    }
    fn offload(&self) -> bool {
        (**self).offload()
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
    fn split_tx(&self) -> io::Result<Option<DeviceTx>> {
        (**self).split_tx()
    }
}

/// Sends `frame` as the wire packets it stands for ([`wire_frames`]), one
/// [`Device::send`] each. A header that does not fit the frame is an `InvalidInput` error.
pub fn send_as_wire<D: Device + ?Sized>(
    dev: &mut D,
    frame: &[u8],
    hdr: &VirtioNetHdr,
    now: Instant,
) -> io::Result<()> {
    if hdr.is_none() {
        return dev.send(frame, now);
    }
    let link_hl = dev.medium().header_len();
    let mut result = Ok(());
    wire_frames(link_hl, frame, hdr, &mut |f| {
        if result.is_ok() {
            result = dev.send(f, now);
        }
    })
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("offload header: {e}")))?;
    result
}

/// Turns a device frame (`link_hl` bytes of link header, then the IP packet) with its
/// offload header into the frames a wire would carry, handing each to `out`: a
/// super-segment is split, a partial checksum completed ([`virtio::to_wire`]); the link
/// header is repeated in front of each piece.
pub fn wire_frames(
    link_hl: usize,
    frame: &[u8],
    hdr: &VirtioNetHdr,
    out: &mut dyn FnMut(&[u8]),
) -> crate::wire::Result<usize> {
    let (link, packet) = frame
        .split_at_checked(link_hl)
        .ok_or(crate::wire::Error::Truncated)?;
    if link.is_empty() {
        return virtio::to_wire(hdr, 0, packet, out);
    }
    let mut framed = Vec::new();
    virtio::to_wire(hdr, link_hl, packet, &mut |p| {
        framed.clear();
        framed.extend_from_slice(link);
        framed.extend_from_slice(p);
        out(&framed);
    })
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
