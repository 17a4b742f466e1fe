//! The raw TUN packet pump: what the device itself carries, one 1500-byte IP packet per
//! `read` or `write`, with no stack behind it (a plain TUN device, `IFF_TUN | IFF_NO_PI`,
//! no virtio-net header).
//!
//! * [`RawTun::read_flood`]: the kernel sends 1500-byte UDP datagrams into the TUN route
//!   (one UDP GSO send of many datagrams per syscall where the kernel allows, so the
//!   sender costs little; paced by the reader, so the device queue never overflows); the
//!   bench reads them one per syscall and counts reads and bytes.
//! * [`RawTun::write_flood`]: the bench writes one prebuilt 1500-byte IPv4/UDP packet
//!   (checksums valid) per syscall; the kernel takes each in, through IP and UDP, to a
//!   socket that counts them. The figure is what the device accepts per second.
//!
//! Bytes count whole IP packets (1500 each).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::NetNs;

/// Size of every packet, IP header included.
pub const PACKET: usize = 1500;
/// The UDP payload that makes a 1500-byte packet.
const PAYLOAD: usize = PACKET - 20 - 8;
/// Datagrams per UDP GSO send (the kernel allows up to 64, within 64 KiB).
const GSO_SEGMENTS: usize = 40;
/// Packets the sender may have ahead of the reader (the TUN device's ring holds 500,
/// and the device drops what does not fit).
const WINDOW: u64 = 400;
const PORT: u16 = 9;

/// A TUN device opened without a stack.
pub struct RawTun {
    fd: OwnedFd,
    host: Ipv4Addr,
    addr: Ipv4Addr,
}

/// What a pump moved.
#[derive(Clone, Copy, Debug)]
pub struct Pumped {
    pub packets: u64,
    pub bytes: u64,
    pub wall: Duration,
    /// Packets the other end counted: sent by the kernel (reads), taken in by the
    /// kernel's UDP socket (writes).
    pub seen: u64,
    /// Whether the kernel's sender used UDP GSO (reads).
    pub batched: bool,
}

impl RawTun {
    /// Opens TUN device `name` in `ns`, kernel side `host`/24 and up; packets to `addr`
    /// go into the device.
    pub fn open(ns: &NetNs, name: &'static str, host: Ipv4Addr, addr: Ipv4Addr) -> RawTun {
        let fd = ns.run(move || {
            let fd = open_tun(name).expect("open raw TUN");
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
            tunstack::link::netdev::set_ipv4(name, host, 24).expect("address TUN");
            tunstack::link::netdev::set_up(name).expect("up TUN");
            fd
        });
        RawTun { fd, host, addr }
    }

    /// Reads `total` bytes of a kernel UDP flood (sent from inside `ns`).
    pub fn read_flood(&self, ns: &NetNs, total: u64) -> io::Result<Pumped> {
        let pace = Arc::new(Pace::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let (dst, p) = (self.addr, Arc::clone(&pace));
        let sender = ns.spawn(move || {
            tx.send(std::thread::current()).expect("sender handle");
            flood(dst, &p)
        });
        let sender_thread = rx.recv().expect("sender started");
        let mut buf = vec![0u8; 65_536];
        let (mut packets, mut bytes) = (0u64, 0u64);
        let t0 = Instant::now();
        let result = loop {
            if bytes >= total {
                break Ok(());
            }
            // SAFETY: `buf` is writable for its whole length during the call.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    pace.read.store(packets, Ordering::Release);
                    pace.drained.store(true, Ordering::Release);
                    sender_thread.unpark();
                    if !crate::common::wait_readable(self.fd.as_raw_fd(), Duration::from_secs(2)) {
                        break Err(io::Error::other(format!(
                            "no packet from the kernel's UDP flood in 2 s ({packets} read)"
                        )));
                    }
                    continue;
                }
                break Err(e);
            }
            packets += 1;
            bytes += n as u64;
            if packets % 8 == 0 {
                pace.read.store(packets, Ordering::Release);
                sender_thread.unpark();
            }
        };
        let wall = t0.elapsed();
        pace.done.store(true, Ordering::Release);
        sender_thread.unpark();
        let (sent, batched) = sender.join().expect("UDP flood sender")?;
        result?;
        Ok(Pumped {
            packets,
            bytes,
            wall,
            seen: sent,
            batched,
        })
    }

    /// Writes `total` bytes of prebuilt 1500-byte packets to a kernel UDP socket (in `ns`)
    /// that counts them.
    pub fn write_flood(&self, ns: &NetNs, total: u64) -> io::Result<Pumped> {
        let sock = ns.run({
            let host = self.host;
            move || UdpSocket::bind(SocketAddrV4::new(host, PORT))
        })?;
        let _ = set_int(&sock, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 8 << 20);
        sock.set_read_timeout(Some(Duration::from_millis(50)))?;
        let done = Arc::new(AtomicBool::new(false));
        let d = Arc::clone(&done);
        let counter = std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            let mut seen = 0u64;
            loop {
                match sock.recv(&mut buf) {
                    Ok(_) => seen += 1,
                    Err(_) if d.load(Ordering::Acquire) => return seen,
                    Err(_) => {}
                }
            }
        });
        let packet = udp_packet(self.addr, self.host, PORT);
        let (mut packets, mut bytes) = (0u64, 0u64);
        let t0 = Instant::now();
        let result = loop {
            if bytes >= total {
                break Ok(());
            }
            // SAFETY: `packet` is readable for its whole length during the call.
            let n =
                unsafe { libc::write(self.fd.as_raw_fd(), packet.as_ptr().cast(), packet.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    continue;
                }
                break Err(e);
            }
            packets += 1;
            bytes += n as u64;
        };
        let wall = t0.elapsed();
        // Let the counter take in what is still queued, then stop it.
        std::thread::sleep(Duration::from_millis(100));
        done.store(true, Ordering::Release);
        let seen = counter.join().expect("UDP counter");
        result?;
        Ok(Pumped {
            packets,
            bytes,
            wall,
            seen,
            batched: false,
        })
    }
}

/// How the reader paces the kernel's sender.
#[derive(Default)]
struct Pace {
    /// Packets read so far.
    read: AtomicU64,
    /// Set by the reader when the device had nothing to read: every packet sent before
    /// was read or lost, so the sender counts none in flight.
    drained: AtomicBool,
    /// The reader is done.
    done: AtomicBool,
}

/// Sends 1500-byte UDP datagrams to `dst` until `pace.done`, never more than [`WINDOW`]
/// packets ahead of the reader; returns the packets sent and whether UDP GSO was on.
fn flood(dst: Ipv4Addr, pace: &Pace) -> io::Result<(u64, bool)> {
    let sock = UdpSocket::bind("0.0.0.0:0")?;
    sock.connect(SocketAddrV4::new(dst, PORT))?;
    // UDP_SEGMENT (linux/udp.h): one send carries many datagrams of this size.
    let gso = set_int(&sock, libc::SOL_UDP, 103, PAYLOAD as i32).is_ok();
    let per_send = if gso { GSO_SEGMENTS } else { 1 };
    let buf = vec![0x5au8; PAYLOAD * per_send];
    // Packets sent in all, and those counted as possibly in flight (the reader's count
    // plus what it has not read yet).
    let (mut sent, mut ahead) = (0u64, 0u64);
    while !pace.done.load(Ordering::Acquire) {
        let read = pace.read.load(Ordering::Acquire);
        if pace.drained.swap(false, Ordering::AcqRel) {
            ahead = read;
        }
        if ahead >= read + WINDOW {
            std::thread::park_timeout(Duration::from_millis(1));
            continue;
        }
        match sock.send(&buf) {
            Ok(_) => {
                sent += per_send as u64;
                ahead += per_send as u64;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => std::thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    Ok((sent, gso))
}

fn set_int(s: &impl AsRawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a readable c_int for the duration of the call.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A 1500-byte IPv4/UDP packet from `src` to `dst:port`, checksums valid.
fn udp_packet(src: Ipv4Addr, dst: Ipv4Addr, port: u16) -> Vec<u8> {
    let payload = vec![0xa5u8; PAYLOAD];
    let mut out = Vec::with_capacity(PACKET);
    etherparse::PacketBuilder::ipv4(src.octets(), dst.octets(), 64)
        .udp(40_000, port)
        .write(&mut out, &payload)
        .expect("build UDP packet");
    assert_eq!(out.len(), PACKET);
    out
}

/// Opens `/dev/net/tun` as TUN device `name` (no packet information header), non-blocking.
fn open_tun(name: &str) -> io::Result<OwnedFd> {
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    const IFF_TUN: libc::c_short = 0x0001;
    const IFF_NO_PI: libc::c_short = 0x1000;
    // SAFETY: a valid NUL-terminated path; open takes no other pointers.
    let fd = unsafe {
        libc::open(
            c"/dev/net/tun".as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid ifreq.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= ifr.ifr_name.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "name too long"));
    }
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    ifr.ifr_ifru.ifru_flags = IFF_TUN | IFF_NO_PI;
    // SAFETY: `ifr` is a valid ifreq naming the device; TUNSETIFF reads and writes only it.
    if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut ifr) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}
