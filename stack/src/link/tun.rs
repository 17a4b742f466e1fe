//! A kernel TUN device: a layer-3 link that carries bare IP packets.
//!
//! The device is opened with our own `TUNSETIFF` ioctl on `/dev/net/tun` (tuntap(4),
//! Linux `Documentation/networking/tuntap.rst`) without the 4-byte packet-information
//! header (`IFF_NO_PI`), so every read(2) yields one IP packet and every write(2) injects
//! one. Its file descriptor is non-blocking (`O_NONBLOCK`), so [`Device::recv`] returns
//! `Ok(None)` instead of waiting; the runtime waits with poll(2) on [`Device::raw_fd`].
//!
//! # Offloads
//!
//! [`TunDevice::open_with`] with `offload: true` opens the device with `IFF_VNET_HDR` and
//! asks the kernel, with `TUNSETOFFLOAD`, for [`OFFLOADS`] (`TUN_F_CSUM | TUN_F_TSO4 |
//! TUN_F_TSO6`): every packet then travels behind a virtio-net header
//! ([`crate::wire::virtio`]), the kernel hands over TCP super-segments (IPv4 and IPv6) of
//! up to 64 KiB with partial checksums, and takes super-segments from the stack
//! ([`Device::send_offload`]), which its TCP receives whole (it segments them only if it
//! forwards them on). A kernel that refuses `TUN_F_TSO6` but takes the rest gets IPv6
//! super-segments cut in software before they are written. When the kernel refuses the
//! offloads altogether, the device is opened again without the header and works one
//! packet per call, as with `offload: false`; [`Device::offload`] says which.
//!
//! A TAP device ([`super::tap::TapDevice`]) is opened the same way, with the same
//! offloads; its frames start with an Ethernet header, which the header's offsets count.
//!
//! The kernel side of the interface (address, up, MTU) is configured separately, with
//! [`super::netdev`] or `ip`. The device keeps a [`Control`] socket opened in the network
//! namespace it was created in, so [`TunDevice::set_mtu`] and [`TunDevice::refresh_mtu`]
//! work from any thread.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::netdev::Control;
use super::{Device, Medium};
use crate::time::Instant;
use crate::wire::virtio::{self, VirtioNetHdr};

/// `TUNSETIFF`: `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `TUNSETOFFLOAD`: `_IOW('T', 208, unsigned int)`; the argument is the flags, by value.
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
/// `IFF_TUN`, `IFF_TAP`, `IFF_NO_PI`, `IFF_VNET_HDR` (`include/uapi/linux/if_tun.h`).
const IFF_TUN: libc::c_short = 0x0001;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
/// `TUN_F_CSUM`: the stack takes packets with partial checksums.
pub const TUN_F_CSUM: u32 = 0x01;
/// `TUN_F_TSO4`: the stack takes TCP/IPv4 super-segments.
pub const TUN_F_TSO4: u32 = 0x02;
/// `TUN_F_TSO6`: the stack takes TCP/IPv6 super-segments.
pub const TUN_F_TSO6: u32 = 0x04;
/// What [`TunDevice::open_with`] asks the kernel for.
pub const OFFLOADS: u32 = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
/// What it settles for when the kernel refuses [`OFFLOADS`].
const OFFLOADS_V4: u32 = TUN_F_CSUM | TUN_F_TSO4;

/// Which kind of device to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Layer 3: IP packets.
    Tun,
    /// Layer 2: Ethernet frames.
    Tap,
}

/// A TUN device (layer 3, no packet-information header, non-blocking).
#[derive(Debug)]
pub struct TunDevice {
    raw: RawIface,
}

impl TunDevice {
    /// Creates (or attaches to) the TUN interface `name` in the calling thread's network
    /// namespace, without offloads. Needs `CAP_NET_ADMIN`. `name` must be shorter than
    /// `IFNAMSIZ` (16) bytes; it may be empty or contain `%d` for the kernel to pick a name
    /// or number; [`name`](Self::name) tells the real name.
    pub fn open(name: &str) -> io::Result<TunDevice> {
        Self::open_with(name, false)
    }

    /// Like [`open`](Self::open); with `offload`, asks for the virtio-net header and TSO
    /// (see the [module documentation](self)), falling back to none when the kernel
    /// refuses. [`Device::offload`] tells what was granted.
    pub fn open_with(name: &str, offload: bool) -> io::Result<TunDevice> {
        Ok(TunDevice {
            raw: RawIface::open(name, Mode::Tun, offload)?,
        })
    }

    /// The interface's name as the kernel knows it.
    pub fn name(&self) -> &str {
        &self.raw.name
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
        Medium::Ip
    }
    fn mtu(&self) -> usize {
        self.raw.mtu
    }
    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.raw.fd.as_raw_fd())
    }
    fn split_tx(&self) -> io::Result<Option<DeviceTx>> {
        self.raw.split_tx().map(Some)
    }
}

/// What TUN and TAP devices share: the descriptor, a control socket and the cached MTU.
#[derive(Debug)]
pub(super) struct RawIface {
    pub(super) fd: OwnedFd,
    pub(super) name: String,
    pub(super) ctl: Control,
    /// The MTU read at open time or last set/refreshed; cached because the runtime asks
    /// for it per packet and an ioctl per packet would cost a system call each.
    pub(super) mtu: usize,
    /// Packets travel behind a virtio-net header, with offloads on.
    pub(super) vnet: bool,
    /// The kernel took `TUN_F_TSO6`: TCPV6 super-segments are written whole.
    pub(super) tso6: bool,
    /// Bytes of link header in front of the IP packet: 0 on TUN, 14 (Ethernet) on TAP.
    pub(super) link_hl: usize,
    /// Wire packets cut from a super-segment for a caller of `recv_wire`.
    split: VecDeque<Vec<u8>>,
}

impl RawIface {
    pub(super) fn open(name: &str, mode: Mode, offload: bool) -> io::Result<RawIface> {
        // The kernel would silently cut a long name; refuse it instead.
        if name.len() >= libc::IFNAMSIZ || name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid interface name {name:?}"),
            ));
        }
        let (fd, real, vnet, tso6) = match offload {
            true => match open_tun(name, mode, true) {
                Ok((fd, real)) => match set_offload(&fd, OFFLOADS) {
                    Ok(()) => (fd, real, true, true),
                    Err(e) if set_offload(&fd, OFFLOADS_V4).is_ok() => {
                        log::info!(target: "tunstack::link", "{real}: kernel refused TSO6 ({e}); IPv6 super-segments cut in software");
                        (fd, real, true, false)
                    }
                    Err(e) => {
                        log::info!(target: "tunstack::link", "{real}: kernel refused offloads ({e}); without them");
                        // Closing the descriptor removes a non-persistent device; open it
                        // again without the header.
                        drop(fd);
                        let (fd, real) = open_tun(name, mode, false)?;
                        (fd, real, false, false)
                    }
                },
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    let (fd, real) = open_tun(name, mode, false)?;
                    (fd, real, false, false)
                }
                Err(e) => return Err(e),
            },
            false => {
                let (fd, real) = open_tun(name, mode, false)?;
                (fd, real, false, false)
            }
        };
        let ctl = Control::new()?;
        let mtu = ctl.mtu(&real)?;
        log::debug!(target: "tunstack::link", "opened {mode:?} device {real} (mtu {mtu}, offload {vnet})");
        Ok(RawIface {
            fd,
            name: real,
            ctl,
            mtu,
            vnet,
            tso6,
            link_hl: match mode {
                Mode::Tun => 0,
                Mode::Tap => super::ETHERNET_HEADER_LEN,
            },
            split: VecDeque::new(),
        })
    }

    pub(super) fn set_mtu(&mut self, mtu: usize) -> io::Result<()> {
        self.ctl.set_mtu(&self.name, mtu)?;
        self.mtu = mtu;
        Ok(())
    }

    pub(super) fn refresh_mtu(&mut self) -> io::Result<usize> {
        self.mtu = self.ctl.mtu(&self.name)?;
        Ok(self.mtu)
    }

    /// Reads one packet and its virtio-net header (all zero without offloads).
    pub(super) fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<(usize, VirtioNetHdr)>> {
        if !self.vnet {
            return Ok(read_retrying(&self.fd, &mut [], buf)?.map(|n| (n, VirtioNetHdr::NONE)));
        }
        let mut hdr = [0u8; virtio::HEADER_LEN];
        let Some(n) = read_retrying(&self.fd, &mut hdr, buf)? else {
            return Ok(None);
        };
        let Some(len) = n.checked_sub(virtio::HEADER_LEN) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "short read from TUN",
            ));
        };
        // An undefined header from the kernel would be a kernel bug; hand it on as a
        // malformed header (never a valid one) for the core to count and drop.
        let hdr = VirtioNetHdr::parse(&hdr).unwrap_or(VirtioNetHdr {
            flags: virtio::F_NEEDS_CSUM,
            csum_start: u16::MAX,
            ..VirtioNetHdr::NONE
        });
        Ok(Some((len.min(buf.len()), hdr)))
    }

    /// Reads one wire-sized packet with a complete checksum: super-segments are split in
    /// software (the pieces are queued and handed out one per call).
    pub(super) fn recv_wire(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let link_hl = self.link_hl;
        loop {
            if let Some(p) = self.split.pop_front() {
                return Ok(Some(super::copy_truncated(&p, buf)));
            }
            let Some((n, hdr)) = self.recv(buf)? else {
                return Ok(None);
            };
            if hdr.is_none() {
                return Ok(Some(n));
            }
            let split = &mut self.split;
            if let Err(e) = super::wire_frames(link_hl, &buf[..n], &hdr, &mut |f| {
                split.push_back(f.to_vec())
            }) {
                log::debug!(target: "tunstack::link", "{}: dropped a packet with a bad virtio-net header: {e}", self.name);
            }
        }
    }

    /// Writes one frame (behind `hdr` when the device has the virtio-net header). A full
    /// kernel queue (`EAGAIN`, `ENOBUFS`) drops the frame, as a congested link would;
    /// other errors (`EIO` while the interface is down, `EINVAL` for a malformed frame)
    /// are returned.
    pub(super) fn send(&mut self, frame: &[u8], hdr: &VirtioNetHdr) -> io::Result<()> {
        self.tx_info().send(&self.fd, frame, hdr)
    }

    fn tx_info(&self) -> TxInfo<'_> {
        TxInfo {
            name: &self.name,
            vnet: self.vnet,
            tso6: self.tso6,
            link_hl: self.link_hl,
        }
    }

    /// The sending side on a descriptor of its own ([`Device::split_tx`]).
    pub(super) fn split_tx(&self) -> io::Result<DeviceTx> {
        Ok(DeviceTx {
            fd: self.fd.try_clone()?,
            name: self.name.clone(),
            vnet: self.vnet,
            tso6: self.tso6,
            link_hl: self.link_hl,
        })
    }
}

/// The sending side of a TUN or TAP device on a thread of its own (the runtime's writer
/// thread, see [`Device::split_tx`]): a duplicate of the device's descriptor (the
/// interface lives until both are closed) and what sending needs to know. It sends as
/// the device's [`Device::send_offload`] does.
#[derive(Debug)]
pub struct DeviceTx {
    fd: OwnedFd,
    name: String,
    vnet: bool,
    tso6: bool,
    link_hl: usize,
}

impl DeviceTx {
    /// Writes one frame with its offload header, as [`Device::send_offload`] does on the
    /// device: a full kernel queue drops it (`Ok`), other errors are returned.
    pub fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr) -> io::Result<()> {
        TxInfo {
            name: &self.name,
            vnet: self.vnet,
            tso6: self.tso6,
            link_hl: self.link_hl,
        }
        .send(&self.fd, frame, hdr)
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
impl DeviceTx {
    /// A writer onto any descriptor (a pipe, in tests) named `name`: frames are written
    /// as they are, with no offload header, as to a TUN device opened without one.
    pub(crate) fn on_fd(fd: OwnedFd, name: &str) -> DeviceTx {
        DeviceTx {
            fd,
            name: name.to_string(),
            vnet: false,
            tso6: false,
            link_hl: 0,
        }
    }
}

/// What writing a frame needs to know of its device.
struct TxInfo<'a> {
    name: &'a str,
    vnet: bool,
    tso6: bool,
    link_hl: usize,
}

impl TxInfo<'_> {
    /// One frame, behind its header with the virtio-net header; as wire packets without
    /// it (or for a TCPV6 super-segment the kernel did not agree to take).
    fn send(&self, fd: &OwnedFd, frame: &[u8], hdr: &VirtioNetHdr) -> io::Result<()> {
        if !hdr.is_none() && (!self.vnet || (hdr.gso_type == virtio::GsoType::TcpV6 && !self.tso6))
        {
            return self.send_cut(fd, frame, hdr);
        }
        let h = hdr.to_bytes();
        let parts: &[&[u8]] = if self.vnet { &[&h, frame] } else { &[frame] };
        loop {
            match write_all_parts(fd, parts) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::ENOBUFS) =>
                {
                    log::debug!(target: "tunstack::link", "{}: kernel queue full, frame dropped", self.name);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes a frame the device cannot take whole (a super-segment or a partial
    /// checksum without the virtio-net header; TCPV6 without `TUN_F_TSO6`) as the wire
    /// frames it stands for (each behind the frame's link header on TAP).
    fn send_cut(&self, fd: &OwnedFd, frame: &[u8], hdr: &VirtioNetHdr) -> io::Result<()> {
        let mut pieces = Vec::new();
        super::wire_frames(self.link_hl, frame, hdr, &mut |f| pieces.push(f.to_vec())).map_err(
            |e| io::Error::new(io::ErrorKind::InvalidInput, format!("offload header: {e}")),
        )?;
        for p in pieces {
            self.send(fd, &p, &VirtioNetHdr::NONE)?;
        }
        Ok(())
    }
}

/// Opens `/dev/net/tun` and attaches it to interface `name` (created if missing) with
/// `IFF_NO_PI`, and `IFF_VNET_HDR` when `vnet`; returns the descriptor and the name the
/// kernel gave the interface.
fn open_tun(name: &str, mode: Mode, vnet: bool) -> io::Result<(OwnedFd, String)> {
    let path = c"/dev/net/tun";
    // SAFETY: open takes a NUL-terminated path that outlives the call; it returns a new
    // descriptor or -1.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CLOEXEC | libc::O_NONBLOCK,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by open, is open, and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is a plain C struct for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = *src as libc::c_char;
    }
    let kind = match mode {
        Mode::Tun => IFF_TUN,
        Mode::Tap => IFF_TAP,
    };
    req.ifr_ifru.ifru_flags = kind | IFF_NO_PI | if vnet { IFF_VNET_HDR } else { 0 };
    // SAFETY: TUNSETIFF reads and writes one ifreq, which lives across the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut req as *mut libc::ifreq) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let real: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    Ok((fd, String::from_utf8_lossy(&real).into_owned()))
}

/// `TUNSETOFFLOAD` with `flags`.
fn set_offload(fd: &OwnedFd, flags: u32) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value and reads no memory.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETOFFLOAD as _, flags as libc::c_ulong) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One read(2) (readv(2) into `head` then `buf`), retried on `EINTR`; `None` when nothing
/// is ready. Returns the bytes read in all.
fn read_retrying(fd: &OwnedFd, head: &mut [u8], buf: &mut [u8]) -> io::Result<Option<usize>> {
    let mut iov = [
        libc::iovec {
            iov_base: head.as_mut_ptr().cast(),
            iov_len: head.len(),
        },
        libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        },
    ];
    let iov = if head.is_empty() {
        &mut iov[1..]
    } else {
        &mut iov[..]
    };
    loop {
        // SAFETY: each iovec points into a live, exclusively borrowed buffer of the
        // stated length; the count matches the array.
        let n = unsafe { libc::readv(fd.as_raw_fd(), iov.as_ptr(), iov.len() as libc::c_int) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// One writev(2) of `parts` as a single packet (a plain write(2) for one part: without
/// the virtio-net header, which spares the kernel importing an iovec array per packet).
fn write_all_parts(fd: &OwnedFd, parts: &[&[u8]]) -> io::Result<()> {
    if let [one] = parts {
        // SAFETY: `one` is a live buffer of the stated length, which write only reads.
        let n = unsafe { libc::write(fd.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        return Ok(());
    }
    let mut arr = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; 2];
    for (v, p) in arr.iter_mut().zip(parts) {
        v.iov_base = p.as_ptr() as *mut libc::c_void;
        v.iov_len = p.len();
    }
    // SAFETY: the iovecs point into live buffers of the stated lengths, which writev
    // only reads; the count is at most the array's length.
    let n = unsafe {
        libc::writev(
            fd.as_raw_fd(),
            arr.as_ptr(),
            parts.len().min(2) as libc::c_int,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
