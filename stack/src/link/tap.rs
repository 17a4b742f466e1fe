//! A kernel TAP device: a layer-2 link that carries Ethernet II frames (no FCS).
//!
//! Opened like [`super::tun::TunDevice`] (no packet-information header, non-blocking), in
//! `Mode::Tap`. The kernel side of the interface has its own Ethernet address
//! ([`TapDevice::mac`]); the stack behind the device picks a different one for itself and
//! answers ARP for its addresses.
//!
//! [`TapDevice::open_with`] asks for the same offloads as a TUN device (the virtio-net
//! header, `TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6`, see [`super::tun`]), falling back to
//! none when the kernel refuses. On TAP the header's `csum_start` and `hdr_len` count
//! from the start of the Ethernet frame, 14 bytes before the IP header
//! ([`crate::wire::virtio::VirtioNetHdr::behind_link_header`]).

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use super::netdev::Control;
use super::tun::{Mode, RawIface};
use super::{Device, Medium};
use crate::time::Instant;
use crate::wire::virtio::VirtioNetHdr;

/// A TAP device (Ethernet frames, no packet-information header, non-blocking).
#[derive(Debug)]
pub struct TapDevice {
    raw: RawIface,
}

impl TapDevice {
    /// Creates (or attaches to) the TAP interface `name` in the calling thread's network
    /// namespace, without offloads. Needs `CAP_NET_ADMIN`.
    pub fn open(name: &str) -> io::Result<TapDevice> {
        Self::open_with(name, false)
    }

    /// Like [`open`](Self::open); with `offload`, asks for the virtio-net header and TSO,
    /// falling back to none when the kernel refuses. [`Device::offload`] tells what was
    /// granted.
    pub fn open_with(name: &str, offload: bool) -> io::Result<TapDevice> {
        Ok(TapDevice {
            raw: RawIface::open(name, Mode::Tap, offload)?,
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
        self.raw.recv_wire(buf)
    }
    fn send(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        self.raw.send(frame, &VirtioNetHdr::NONE)
    }
    fn recv_offload(
        &mut self,
        buf: &mut [u8],
        _now: Instant,
    ) -> io::Result<Option<(usize, VirtioNetHdr)>> {
        self.raw.recv(buf)
    }
    fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr, now: Instant) -> io::Result<()> {
        if self.raw.vnet {
            self.raw.send(frame, hdr)
        } else {
            super::send_as_wire(self, frame, hdr, now)
        }
    }
    fn offload(&self) -> bool {
        self.raw.vnet
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
    fn split_tx(&self) -> io::Result<Option<super::DeviceTx>> {
        self.raw.split_tx().map(Some)
    }
}
