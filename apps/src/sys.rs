//! The few OS operations the `tunstack` command needs beyond the stack's link layer:
//! network namespaces, host-side routes, and signals. Each `unsafe` block states why it
//! is sound.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tunstack::iface::{Ipv4Cidr, Ipv6Cidr};

/// Where `ip netns` keeps named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// A network namespace the calling thread has entered; removed on drop if this process
/// created it.
#[derive(Debug)]
pub struct Netns {
    path: PathBuf,
    created: bool,
}

impl Netns {
    /// Moves the calling thread into the named namespace (as `ip netns exec` does),
    /// creating it first (as `ip netns add` does) if it does not exist. Threads spawned
    /// afterwards inherit it.
    pub fn enter_or_create(name: &str) -> io::Result<Netns> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad namespace name",
            ));
        }
        let path = PathBuf::from(NETNS_DIR).join(name);
        if path.exists() {
            let f = File::open(&path)?;
            // SAFETY: setns takes a namespace file descriptor we hold open for the call.
            let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
            return Ok(Netns {
                path,
                created: false,
            });
        }
        std::fs::create_dir_all(NETNS_DIR)?;
        File::create(&path)?;
        // SAFETY: unshare takes no pointers; it moves only the calling thread.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            let e = io::Error::last_os_error();
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let src = CString::new("/proc/thread-self/ns/net").expect("no NUL");
        let dst = CString::new(path.as_os_str().as_encoded_bytes()).map_err(io::Error::other)?;
        // SAFETY: both paths are valid NUL-terminated strings that outlive the call; a
        // bind mount takes no filesystem type or data.
        let r = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        bring_up_loopback();
        Ok(Netns {
            path,
            created: true,
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.created {
            return;
        }
        if let Ok(p) = CString::new(self.path.as_os_str().as_encoded_bytes()) {
            // SAFETY: a valid NUL-terminated path; detaching an unused mount is harmless.
            unsafe {
                libc::umount2(p.as_ptr(), libc::MNT_DETACH);
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn bring_up_loopback() {
    let _ = tunstack::link::netdev::set_up("lo");
}

/// Runs `f` on a new thread inside namespace `name` (created if missing), returning its
/// result and the namespace guard. What `f` opens (a TUN device) stays in that namespace.
pub fn in_netns<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<(T, Netns)> {
    let name = name.to_string();
    std::thread::spawn(move || {
        let ns = Netns::enter_or_create(&name)?;
        let t = f()?;
        Ok((t, ns))
    })
    .join()
    .map_err(|_| io::Error::other("namespace thread panicked"))?
}

/// Gives interface `dev` the IPv6 address `cidr` (address and prefix), as `ip -6 addr
/// add` does: `SIOCSIFADDR` with a `struct in6_ifreq` on an `AF_INET6` socket.
pub fn set_ipv6(dev: &str, cidr: Ipv6Cidr) -> io::Result<()> {
    let dev_c = CString::new(dev).map_err(io::Error::other)?;
    // SAFETY: if_nametoindex reads the NUL-terminated name, which outlives the call.
    let index = unsafe { libc::if_nametoindex(dev_c.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    let req = libc::in6_ifreq {
        ifr6_addr: libc::in6_addr {
            s6_addr: cidr.address().octets(),
        },
        ifr6_prefixlen: u32::from(cidr.prefix_len()),
        ifr6_ifindex: index as libc::c_int,
    };
    // SAFETY: a plain datagram socket, owned (and closed) by `sock` below.
    let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket this function just opened and nothing else owns.
    let sock = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCSIFADDR on an AF_INET6 socket reads one struct in6_ifreq, which `req`
    // is, alive for the call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFADDR, &req) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    wait_ipv6_usable(cidr.address(), Duration::from_secs(2));
    Ok(())
}

/// Waits (up to `limit`) until the kernel no longer marks `addr` tentative.
///
/// Even with duplicate address detection skipped (a TUN device is `IFF_NOARP`; on TAP
/// `accept_dad` is off) the kernel finishes an address's set-up from a work queue, and
/// until then the address is tentative: source address selection (RFC 6724) passes it
/// over, so an ICMPv6 error or a first connection sent at once would leave from another
/// interface's address. `/proc/net/if_inet6` lists each address with its `IFA_F_*` flags.
fn wait_ipv6_usable(addr: Ipv6Addr, limit: Duration) {
    const IFA_F_TENTATIVE: u32 = 0x40;
    let hex: String = addr.octets().iter().map(|b| format!("{b:02x}")).collect();
    let deadline = std::time::Instant::now() + limit;
    loop {
        let tentative = std::fs::read_to_string("/proc/net/if_inet6")
            .map(|t| {
                t.lines().any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() >= 5
                        && f[0] == hex
                        && u32::from_str_radix(f[4], 16).is_ok_and(|x| x & IFA_F_TENTATIVE != 0)
                })
            })
            .unwrap_or(false);
        if !tentative || std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Linux's `struct in6_rtmsg` (`include/uapi/linux/ipv6_route.h`); the libc crate's
/// has private fields.
#[repr(C)]
struct In6Rtmsg {
    dst: libc::in6_addr,
    src: libc::in6_addr,
    gateway: libc::in6_addr,
    rtmsg_type: u32,
    dst_len: u16,
    src_len: u16,
    metric: u32,
    info: libc::c_ulong,
    flags: u32,
    ifindex: libc::c_int,
}

/// Adds a kernel IPv6 route `dest` via `gateway` through device `dev` (SIOCADDRT with a
/// `struct in6_rtmsg` on an `AF_INET6` socket, as `route -A inet6 add` does), in the
/// calling thread's namespace.
pub fn add_route6(dest: Ipv6Cidr, gateway: Ipv6Addr, dev: &str) -> io::Result<()> {
    let dev_c = CString::new(dev).map_err(io::Error::other)?;
    // SAFETY: if_nametoindex reads the NUL-terminated name, which outlives the call.
    let index = unsafe { libc::if_nametoindex(dev_c.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    let rt = In6Rtmsg {
        dst: libc::in6_addr {
            s6_addr: dest.network().address().octets(),
        },
        src: libc::in6_addr { s6_addr: [0; 16] },
        gateway: libc::in6_addr {
            s6_addr: gateway.octets(),
        },
        rtmsg_type: 0,
        dst_len: u16::from(dest.prefix_len()),
        src_len: 0,
        metric: 1,
        info: 0,
        flags: (libc::RTF_UP | libc::RTF_GATEWAY) as u32,
        ifindex: index as libc::c_int,
    };
    // SAFETY: a plain datagram socket, owned (and closed) by `sock` below.
    let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket this function just opened and nothing else owns.
    let sock = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCADDRT on an AF_INET6 socket reads one struct in6_rtmsg, which `rt` is
    // (same layout), alive for the call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCADDRT, &rt) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Adds a kernel route `dest` via `gateway` through device `dev` (ioctl SIOCADDRT, as
/// `route add` does), in the calling thread's namespace.
pub fn add_route(dest: Ipv4Cidr, gateway: Option<Ipv4Addr>, dev: &str) -> io::Result<()> {
    fn sockaddr(a: Ipv4Addr) -> libc::sockaddr {
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(a).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: sockaddr_in and sockaddr have the same size on Linux, and every bit
        // pattern is a valid sockaddr.
        unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
    }
    let dev_c = CString::new(dev).map_err(io::Error::other)?;
    // SAFETY: rtentry is a plain C struct for which all-zero is a valid value.
    let mut rt: libc::rtentry = unsafe { std::mem::zeroed() };
    rt.rt_dst = sockaddr(dest.network().address());
    rt.rt_genmask = sockaddr(dest.netmask());
    rt.rt_flags = libc::RTF_UP;
    if let Some(gw) = gateway {
        rt.rt_gateway = sockaddr(gw);
        rt.rt_flags |= libc::RTF_GATEWAY;
    }
    rt.rt_dev = dev_c.as_ptr() as *mut libc::c_char;
    // SAFETY: a plain datagram socket, closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCADDRT reads a struct rtentry; `rt` and the device name it points to
    // live until after the call.
    let r = unsafe { libc::ioctl(sock, libc::SIOCADDRT, &rt as *const libc::rtentry) };
    let e = io::Error::last_os_error();
    // SAFETY: closing the socket opened above, once.
    unsafe {
        libc::close(sock);
    }
    if r < 0 {
        if e.raw_os_error() == Some(libc::EEXIST) {
            return Ok(());
        }
        return Err(e);
    }
    Ok(())
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs handlers so SIGINT and SIGTERM set a flag instead of killing the process.
pub fn catch_stop_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe; the
        // sigaction struct is fully initialised (zeroed, then handler and mask set).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
