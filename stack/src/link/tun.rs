//! A kernel TUN device: a layer-3 link that carries bare IP packets.
//!
//! The device is opened through the `tun-tap` crate without the 4-byte packet-information
//! header (`IFF_NO_PI`), so every read(2) yields one IP packet and every write(2) injects
//! one. Its file descriptor is put in non-blocking mode (`O_NONBLOCK`), so [`Device::recv`]
//! returns `Ok(None)` instead of waiting; the runtime waits with poll(2) on
//! [`Device::raw_fd`].
//!
//! The kernel side of the interface (address, up, MTU) is configured separately, with
//! [`super::netdev`] or `ip`. The device keeps a [`Control`] socket opened in the network
//! namespace it was created in, so [`TunDevice::set_mtu`] and [`TunDevice::refresh_mtu`]
//! work from any thread.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use tun_tap::{Iface, Mode};

use super::netdev::Control;
use super::{Device, Medium};
use crate::time::Instant;

/// A TUN device (layer 3, no packet-information header, non-blocking).
#[derive(Debug)]
pub struct TunDevice {
    raw: RawIface,
}

impl TunDevice {
    /// Creates (or attaches to) the TUN interface `name` in the calling thread's network
    /// namespace. Needs `CAP_NET_ADMIN`. `name` must be shorter than `IFNAMSIZ` (16) bytes; it
    /// may be empty or contain `%d` for the kernel to pick a name or number;
    /// [`name`](Self::name) tells the real name.
    pub fn open(name: &str) -> io::Result<TunDevice> {
        Ok(TunDevice {
            raw: RawIface::open(name, Mode::Tun)?,
        })
    }

    /// The interface's name as the kernel knows it.
    pub fn name(&self) -> &str {
        self.raw.iface.name()
    }

    /// Sets the interface's MTU in the kernel and here.
    pub fn set_mtu(&mut self, mtu: usize) -> io::Result<()> {
        self.raw.set_mtu(mtu)
    }

    /// Re-reads the MTU from the kernel (after someone else changed it) and returns it.
    pub fn refresh_mtu(&mut self) -> io::Result<usize> {
        self.raw.refresh_mtu()
    }

    /// The control socket bound to the device's network namespace, for further ioctls
    /// (`set_ipv4`, `set_up`) from any thread.
    pub fn control(&self) -> &Control {
        &self.raw.ctl
    }
}

impl Device for TunDevice {
    fn recv(&mut self, buf: &mut [u8], _now: Instant) -> io::Result<Option<usize>> {
        self.raw.recv(buf)
    }
    fn send(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        self.raw.send(frame)
    }
    fn medium(&self) -> Medium {
        Medium::Ip
    }
    fn mtu(&self) -> usize {
        self.raw.mtu
    }
    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.raw.iface.as_raw_fd())
    }
}

/// What TUN and TAP devices share: the descriptor, a control socket and the cached MTU.
#[derive(Debug)]
pub(super) struct RawIface {
    pub(super) iface: Iface,
    pub(super) ctl: Control,
    /// The MTU read at open time or last set/refreshed; cached because the runtime asks
    /// for it per packet and an ioctl per packet would cost a system call each.
    pub(super) mtu: usize,
}

impl RawIface {
    pub(super) fn open(name: &str, mode: Mode) -> io::Result<RawIface> {
        // The kernel (and tun-tap) would silently cut a long name; refuse it instead.
        if name.len() >= libc::IFNAMSIZ || name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid interface name {name:?}"),
            ));
        }
        let iface = Iface::without_packet_info(name, mode)?;
        set_nonblocking(iface.as_raw_fd())?;
        let ctl = Control::new()?;
        let mtu = ctl.mtu(iface.name())?;
        log::debug!(target: "tunstack::link", "opened {:?} device {} (mtu {mtu})", mode, iface.name());
        Ok(RawIface { iface, ctl, mtu })
    }

    pub(super) fn set_mtu(&mut self, mtu: usize) -> io::Result<()> {
        self.ctl.set_mtu(self.iface.name(), mtu)?;
        self.mtu = mtu;
        Ok(())
    }

    pub(super) fn refresh_mtu(&mut self) -> io::Result<usize> {
        self.mtu = self.ctl.mtu(self.iface.name())?;
        Ok(self.mtu)
    }

    pub(super) fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.iface.recv(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes one frame. A full kernel queue (`EAGAIN`, `ENOBUFS`) drops the frame, as a
    /// congested link would; other errors (`EIO` while the interface is down, `EINVAL` for
    /// a malformed frame) are returned.
    pub(super) fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        loop {
            match self.iface.send(frame) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS) =>
                {
                    log::debug!(target: "tunstack::link", "{}: kernel queue full, frame dropped", self.iface.name());
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Adds `O_NONBLOCK` to the descriptor's file status flags.
fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL on a descriptor we own takes no pointer argument.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFL with an integer flag argument on a descriptor we own.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
