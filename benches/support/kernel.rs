//! The kernel's side of the TCP transfers, the same for every stack under test:
//!
//! * [`send_to`]: connect to the peer's discard port (9), write `total` bytes, shut down
//!   the write side and read to end of stream. The peer closes after it has read it all,
//!   so the end of stream marks the last byte taken in, measured on the kernel side.
//! * [`recv_from`]: connect to the peer's chargen port (19), read `total` bytes (large
//!   reads, so the reader is not the bottleneck), close.
//!
//! The kernel sockets use CUBIC (`TCP_CONGESTION`, chosen before the handshake: see
//! [`connect_with`]). For the kernel-to-kernel comparison,
//! [`Server`] plays discard and chargen with kernel sockets, and [`veth`] with
//! [`set_offloads`] builds the link between two namespaces.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::common::NetNs;

/// Read and write size of the kernel side: large, so syscalls are not what limits it.
pub const IO_SIZE: usize = 1 << 20;
/// The congestion control asked of every kernel socket.
pub const CONGESTION: &str = "cubic";
/// Well-known ports (RFC 863, RFC 864).
pub const DISCARD: u16 = 9;
pub const CHARGEN: u16 = 19;

/// How long a transfer may make no progress before the run fails.
const STALL: Duration = Duration::from_secs(30);

/// What one transfer moved, in how long.
#[derive(Clone, Copy, Debug)]
pub struct Transfer {
    pub bytes: u64,
    pub wall: Duration,
}

/// Sets `TCP_CONGESTION` on `s`, then reads back what the socket uses.
pub fn set_congestion(s: &impl AsFd, name: &str) -> io::Result<String> {
    SockRef::from(s).set_tcp_congestion(name.as_bytes())?;
    congestion(s)
}

/// The congestion control `s` uses.
pub fn congestion(s: &impl AsFd) -> io::Result<String> {
    let name = SockRef::from(s).tcp_congestion()?;
    // The kernel copies its whole name field, padded with NULs.
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(String::from_utf8_lossy(&name[..end]).into_owned())
}

/// Connects to `addr` with congestion control `name`, chosen before the handshake, and
/// returns the stream with the algorithm it reports using once connected.
///
/// The algorithm must be chosen before `connect`. A socket takes the namespace's default
/// (`bbr` on this machine, and a namespace cannot change it) when it is created, and Linux
/// runs that algorithm's `init` when the connection is established. BBR's `init` marks
/// the socket as needing pacing (`sk_pacing_status = SK_PACING_NEEDED`, `tcp_bbr.c`);
/// switching to another algorithm afterwards does not undo it, so a socket switched to
/// CUBIC after `connect` is a CUBIC paced by TCP itself (at 200% of cwnd/srtt in slow
/// start, 120% after), not the unpaced CUBIC of a host whose default is `cubic`.
pub fn connect_with(
    addr: SocketAddr,
    name: &str,
    timeout: Duration,
) -> io::Result<(TcpStream, String)> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_tcp_congestion(name.as_bytes())?;
    s.connect_timeout(&addr.into(), timeout)?;
    let s = TcpStream::from(s);
    let used = congestion(&s)?;
    Ok((s, used))
}

/// Connects to `addr` with [`CONGESTION`], retrying a refused connection for a while (a
/// server that just finished the previous connection may not be listening again yet).
fn connect(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect_with(addr, CONGESTION, Duration::from_secs(5)) {
            Ok((s, used)) => {
                assert_eq!(used, CONGESTION, "the kernel socket's congestion control");
                // A stalled peer fails the run instead of hanging it.
                s.set_read_timeout(Some(STALL)).expect("SO_RCVTIMEO");
                s.set_write_timeout(Some(STALL)).expect("SO_SNDTIMEO");
                return s;
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("connect to {addr}: {e}"),
        }
    }
}

/// The data the kernel side sends: any bytes do (the receivers only count them).
fn data() -> Vec<u8> {
    (0..IO_SIZE).map(|i| (i % 251) as u8).collect()
}

/// In the calling thread's namespace: sends `total` bytes to the discard service at
/// `addr` (stopping early at `cap`), then waits for the peer to close; the time runs from
/// the first write to the peer's end of stream.
pub fn send_to(addr: SocketAddr, total: u64, cap: Duration) -> Transfer {
    let mut s = connect(addr);
    let data = data();
    let mut sent = 0u64;
    let t0 = Instant::now();
    while sent < total && t0.elapsed() < cap {
        let want = (total - sent).min(IO_SIZE as u64) as usize;
        match s.write(&data[..want]) {
            Ok(n) => sent += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("write to {addr} failed after {sent} bytes: {e}"),
        }
    }
    s.shutdown(Shutdown::Write).expect("shutdown");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("{addr}: waiting for the end of stream: {e}"),
        }
    }
    Transfer {
        bytes: sent,
        wall: t0.elapsed(),
    }
}

/// In the calling thread's namespace: reads `total` bytes from the chargen service at
/// `addr` (stopping early at `cap`), then closes; the time runs from the connection's
/// establishment to the last byte read.
pub fn recv_from(addr: SocketAddr, total: u64, cap: Duration) -> Transfer {
    let mut s = connect(addr);
    let mut buf = vec![0u8; IO_SIZE];
    let mut got = 0u64;
    let t0 = Instant::now();
    while got < total && t0.elapsed() < cap {
        match s.read(&mut buf) {
            Ok(0) => panic!("{addr} closed after {got} of {total} bytes"),
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read from {addr} failed after {got} bytes: {e}"),
        }
    }
    let wall = t0.elapsed();
    // Closing with data unread resets the connection: the sender stops at once.
    drop(s);
    Transfer { bytes: got, wall }
}

/// Discard (port 9) and chargen (port 19) on kernel sockets at `addr` in a namespace,
/// one connection at a time each; stopped when dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
    addr: Ipv4Addr,
    ns_path: std::path::PathBuf,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts both services in `ns` at `addr` (which must be an address of `ns`).
    pub fn start(ns: &NetNs, addr: Ipv4Addr) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for port in [DISCARD, CHARGEN] {
            let l = ns.run(move || {
                TcpListener::bind(SocketAddrV4::new(addr, port)).expect("kernel server bind")
            });
            set_congestion(&l, CONGESTION).expect("TCP_CONGESTION on the listener");
            let stop = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || serve(l, port, &stop)));
        }
        Server {
            stop,
            addr,
            ns_path: ns.path(),
            threads,
        }
    }
}

fn serve(l: TcpListener, port: u16, stop: &AtomicBool) {
    let mut buf = vec![0u8; IO_SIZE];
    let data = data();
    for s in l.incoming() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut s) = s else { continue };
        let _ = set_congestion(&s, CONGESTION);
        if port == DISCARD {
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        } else {
            while s.write(&data).is_ok() {}
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake each accept with a connection of our own, from inside the namespace.
        let (path, addr) = (self.ns_path.clone(), self.addr);
        let _ = std::thread::spawn(move || {
            if crate::common::enter(&path).is_ok() {
                for port in [DISCARD, CHARGEN] {
                    let _ = TcpStream::connect_timeout(
                        &SocketAddr::V4(SocketAddrV4::new(addr, port)),
                        Duration::from_secs(1),
                    );
                }
            }
        })
        .join();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A veth pair `a_dev` (in `a`, `a_addr`/24) - `b_dev` (in `b`, `b_addr`/24), made
/// inside the namespaces (never in the caller's).
pub fn veth(a: &NetNs, a_dev: &str, a_addr: &str, b: &NetNs, b_dev: &str, b_addr: &str) {
    a.exec_ok(
        "ip",
        &[
            "link",
            "add",
            a_dev,
            "type",
            "veth",
            "peer",
            "name",
            b_dev,
            "netns",
            b.name(),
        ],
    );
    a.exec_ok("ip", &["addr", "add", a_addr, "dev", a_dev]);
    b.exec_ok("ip", &["addr", "add", b_addr, "dev", b_dev]);
    a.exec_ok("ip", &["link", "set", a_dev, "up"]);
    b.exec_ok("ip", &["link", "set", b_dev, "up"]);
}

// Legacy ethtool commands (linux/ethtool.h), each with a `struct ethtool_value`; the
// kernel maps them onto the feature bits `ethtool -K` sets.
const SIOCETHTOOL: libc::c_ulong = 0x8946;
/// (name as `ethtool -K` spells it, get command, set command)
const FEATURES: [(&str, u32, u32); 6] = [
    ("rx", 0x14, 0x15),  // ETHTOOL_GRXCSUM / SRXCSUM
    ("tx", 0x16, 0x17),  // ETHTOOL_GTXCSUM / STXCSUM
    ("sg", 0x18, 0x19),  // ETHTOOL_GSG / SSG
    ("tso", 0x1e, 0x1f), // ETHTOOL_GTSO / STSO
    ("gso", 0x23, 0x24), // ETHTOOL_GGSO / SGSO
    ("gro", 0x2b, 0x2c), // ETHTOOL_GGRO / SGRO
];

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

fn ethtool(dev: &str, cmd: u32, data: u32) -> io::Result<u32> {
    // SAFETY: socket takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a socket we just opened and own.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut v = EthtoolValue { cmd, data };
    // SAFETY: all-zero is a valid ifreq.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    if dev.len() >= ifr.ifr_name.len() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "name too long"));
    }
    for (d, s) in ifr.ifr_name.iter_mut().zip(dev.bytes()) {
        *d = s as libc::c_char;
    }
    ifr.ifr_ifru.ifru_data = (&mut v as *mut EthtoolValue).cast();
    // SAFETY: `ifr` names the device and points at `v`, both live and writable for the
    // call; SIOCETHTOOL with a legacy get/set command reads and writes only `v`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v.data)
}

/// In the calling thread's namespace: turns the offloads `ethtool -K dev rx tx sg tso gso
/// gro` on or off (as `ethtool -K` would), then reads them back as `name on|off, ...`.
pub fn set_offloads(dev: &str, on: bool) -> io::Result<String> {
    for (_, _, set) in FEATURES {
        ethtool(dev, set, u32::from(on))?;
    }
    let mut out = Vec::new();
    for (name, get, _) in FEATURES {
        let v = ethtool(dev, get, 0)?;
        out.push(format!("{name} {}", if v != 0 { "on" } else { "off" }));
    }
    Ok(out.join(" "))
}
