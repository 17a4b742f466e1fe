//! A kernel TAP device: a layer-2 link that carries Ethernet II frames (no FCS).
//!
//! Opened like [`super::tun::TunDevice`] (no packet-information header, non-blocking), in
//! `Mode::Tap`. The kernel side of the interface has its own Ethernet address
//! ([`TapDevice::mac`]); the stack behind the device picks a different one for itself and
//! answers ARP for its addresses.
//!
//! A TAP device is opened without the virtio-net header: the stack's offloads (TSO,
//! partial checksums) are for TUN devices only so far.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::netdev::Control;
use super::tun::{Mode, RawIface};
use super::{Device, Medium};
use crate::time::Instant;

/// A TAP device (Ethernet frames, no packet-information header, non-blocking).
#[derive(Debug)]
pub struct TapDevice {
    raw: RawIface,
}

impl TapDevice {
    /// Creates (or attaches to) the TAP interface `name` in the calling thread's network
    /// namespace. Needs `CAP_NET_ADMIN`.
    pub fn open(name: &str) -> io::Result<TapDevice> {
        Ok(TapDevice {
            raw: RawIface::open(name, Mode::Tap, false)?,
        })
    }

    /// The interface's name as the kernel knows it.
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// The Ethernet address of the kernel's side of the interface (`SIOCGIFHWADDR`): the
    /// source address of frames the kernel sends into the device.
    pub fn mac(&self) -> io::Result<[u8; 6]> {
        self.raw.ctl.hwaddr(&self.raw.name)
    }

    /// Sets the interface's MTU in the kernel and here.
    pub fn set_mtu(&mut self, mtu: usize) -> io::Result<()> {
        self.raw.set_mtu(mtu)
    }

    /// Re-reads the MTU from the kernel and returns it.
    pub fn refresh_mtu(&mut self) -> io::Result<usize> {
        self.raw.refresh_mtu()
    }

    /// The control socket bound to the device's network namespace.
    pub fn control(&self) -> &Control {
        &self.raw.ctl
    }
}

impl Device for TapDevice {
    fn recv(&mut self, buf: &mut [u8], _now: Instant) -> io::Result<Option<usize>> {
        self.raw.recv_wire(buf, super::ETHERNET_HEADER_LEN)
    }
    fn send(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        self.raw
            .send(frame, &crate::wire::virtio::VirtioNetHdr::NONE)
    }
    fn medium(&self) -> Medium {
        Medium::Ethernet
    }
    fn mtu(&self) -> usize {
        self.raw.mtu
    }
    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.raw.fd.as_raw_fd())
    }
}
