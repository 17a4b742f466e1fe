//! Configuring a kernel network interface without running `ip`.
//!
//! These are the classic `ifconfig` ioctls (netdevice(7)) issued on an `AF_INET` datagram
//! socket: `SIOCSIFADDR` + `SIOCSIFNETMASK` to give an interface an IPv4 address and
//! prefix, `SIOCGIFFLAGS`/`SIOCSIFFLAGS` to bring it up, `SIOCGIFMTU`/`SIOCSIFMTU` for the
//! MTU, `SIOCGIFHWADDR` for an Ethernet address. Setting anything needs `CAP_NET_ADMIN`.
//!
//! An ioctl acts on the network namespace of the socket it is issued on. The free
//! functions open a fresh socket, so they act on the calling thread's current network
//! namespace. A [`Control`] keeps its socket, so it keeps acting on the namespace it was
//! created in, whichever thread later uses it; TUN/TAP devices hold one for that reason.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A control socket for interface ioctls, bound to the network namespace it was created in.
#[derive(Debug)]
pub struct Control {
    sock: OwnedFd,
}

impl Control {
    /// Opens a control socket in the calling thread's current network namespace.
    pub fn new() -> io::Result<Control> {
        // SAFETY: socket takes no pointers; it returns a new descriptor or -1.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket, is open, and nothing else owns it.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Control { sock })
    }

    /// Gives interface `name` the IPv4 address `addr` with a `prefix_len`-bit netmask
    /// (`SIOCSIFADDR` then `SIOCSIFNETMASK`). The kernel derives the broadcast address and
    /// installs the connected route for the prefix.
    pub fn set_ipv4(&self, name: &str, addr: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
        let mask = prefix_to_mask(prefix_len)?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_addr = sockaddr_in(addr);
        self.ioctl(libc::SIOCSIFADDR, &mut req)?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_netmask = sockaddr_in(mask);
        self.ioctl(libc::SIOCSIFNETMASK, &mut req)
    }

    /// The interface's flags (`IFF_UP`, `IFF_RUNNING`, ...), by `SIOCGIFFLAGS`.
    pub fn flags(&self, name: &str) -> io::Result<i32> {
        let mut req = ifreq(name)?;
        self.ioctl(libc::SIOCGIFFLAGS, &mut req)?;
        // SAFETY: SIOCGIFFLAGS filled the `ifru_flags` member of the union; a c_short has
        // no invalid bit patterns.
        let flags = unsafe { req.ifr_ifru.ifru_flags };
        Ok(i32::from(flags) & 0xffff)
    }

    fn set_flags(&self, name: &str, flags: i32) -> io::Result<()> {
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_flags = flags as libc::c_short;
        self.ioctl(libc::SIOCSIFFLAGS, &mut req)
    }

    /// Brings the interface up: adds `IFF_UP | IFF_RUNNING` to its flags. (The kernel
    /// manages `IFF_RUNNING` itself; asking for it is harmless and `ifconfig` does too.)
    pub fn set_up(&self, name: &str) -> io::Result<()> {
        let flags = self.flags(name)?;
        self.set_flags(name, flags | libc::IFF_UP | libc::IFF_RUNNING)
    }

    /// Takes the interface down: clears `IFF_UP`.
    pub fn set_down(&self, name: &str) -> io::Result<()> {
        let flags = self.flags(name)?;
        self.set_flags(name, flags & !libc::IFF_UP)
    }

    /// Sets the interface's MTU (`SIOCSIFMTU`).
    pub fn set_mtu(&self, name: &str, mtu: usize) -> io::Result<()> {
        let mtu = libc::c_int::try_from(mtu)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "MTU out of range"))?;
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_mtu = mtu;
        self.ioctl(libc::SIOCSIFMTU, &mut req)
    }

    /// The interface's MTU (`SIOCGIFMTU`).
    pub fn mtu(&self, name: &str) -> io::Result<usize> {
        let mut req = ifreq(name)?;
        self.ioctl(libc::SIOCGIFMTU, &mut req)?;
        // SAFETY: SIOCGIFMTU filled the `ifru_mtu` member; any c_int is valid.
        let mtu = unsafe { req.ifr_ifru.ifru_mtu };
        usize::try_from(mtu).map_err(|_| io::Error::other("negative MTU"))
    }

    /// The interface's hardware (Ethernet) address (`SIOCGIFHWADDR`).
    pub fn hwaddr(&self, name: &str) -> io::Result<[u8; 6]> {
        let mut req = ifreq(name)?;
        self.ioctl(libc::SIOCGIFHWADDR, &mut req)?;
        // SAFETY: SIOCGIFHWADDR filled the `ifru_hwaddr` sockaddr; its bytes are plain data.
        let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
        let mut mac = [0u8; 6];
        for (m, d) in mac.iter_mut().zip(data.iter()) {
            *m = *d as u8;
        }
        Ok(mac)
    }

    fn ioctl(&self, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
        // SAFETY: `req` is a valid, initialised ifreq that lives across the call, and each
        // request used here reads or writes only an ifreq (netdevice(7)). The cast of the
        // request number matches the libc target's ioctl signature.
        let r =
            unsafe { libc::ioctl(self.sock.as_raw_fd(), request as _, req as *mut libc::ifreq) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Gives interface `name` the address `addr/prefix_len` (see [`Control::set_ipv4`]), in
/// the calling thread's network namespace.
pub fn set_ipv4(name: &str, addr: Ipv4Addr, prefix_len: u8) -> io::Result<()> {
    Control::new()?.set_ipv4(name, addr, prefix_len)
}

/// Brings interface `name` up (see [`Control::set_up`]).
pub fn set_up(name: &str) -> io::Result<()> {
    Control::new()?.set_up(name)
}

/// Takes interface `name` down.
pub fn set_down(name: &str) -> io::Result<()> {
    Control::new()?.set_down(name)
}

/// Sets the MTU of interface `name`.
pub fn set_mtu(name: &str, mtu: usize) -> io::Result<()> {
    Control::new()?.set_mtu(name, mtu)
}

/// The MTU of interface `name`.
pub fn mtu(name: &str) -> io::Result<usize> {
    Control::new()?.mtu(name)
}

/// The flags of interface `name` (`libc::IFF_UP`, ...).
pub fn flags(name: &str) -> io::Result<i32> {
    Control::new()?.flags(name)
}

/// The hardware address of interface `name`.
pub fn hwaddr(name: &str) -> io::Result<[u8; 6]> {
    Control::new()?.hwaddr(name)
}

/// The netmask of a `prefix_len`-bit prefix; an error above 32.
pub fn prefix_to_mask(prefix_len: u8) -> io::Result<Ipv4Addr> {
    match prefix_len {
        0 => Ok(Ipv4Addr::UNSPECIFIED),
        1..=32 => Ok(Ipv4Addr::from(u32::MAX << (32 - u32::from(prefix_len)))),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "IPv4 prefix length above 32",
        )),
    }
}

/// A zeroed `ifreq` naming interface `name`, or an error if the name cannot be one
/// (empty, `IFNAMSIZ` bytes or longer, or containing a NUL).
fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid interface name {name:?}"),
        ));
    }
    // SAFETY: ifreq is a plain C struct (a char array and a union of plain data and one
    // raw pointer) for which all-zero bytes are a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    Ok(req)
}

/// An `AF_INET` sockaddr (port 0) holding `addr`, in the generic `sockaddr` shape that
/// `ifreq` carries.
fn sockaddr_in(addr: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(addr).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr are both 16-byte plain C structs (the kernel reads
    // the former through the latter); transmute_copy reads exactly size_of::<sockaddr>()
    // bytes, which equals size_of::<sockaddr_in>() (asserted at compile time below).
    unsafe { std::mem::transmute_copy::<libc::sockaddr_in, libc::sockaddr>(&sin) }
}

const _: () =
    assert!(std::mem::size_of::<libc::sockaddr_in>() == std::mem::size_of::<libc::sockaddr>());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_lengths_become_masks() {
        assert_eq!(prefix_to_mask(24).unwrap(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(prefix_to_mask(0).unwrap(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(prefix_to_mask(32).unwrap(), Ipv4Addr::BROADCAST);
        assert_eq!(prefix_to_mask(17).unwrap(), Ipv4Addr::new(255, 255, 128, 0));
        assert!(prefix_to_mask(33).is_err());
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(ifreq("").is_err());
        assert!(ifreq("0123456789abcdef").is_err());
        assert!(ifreq("a\0b").is_err());
        let r = ifreq("0123456789abcde").unwrap();
        assert_eq!(r.ifr_name[14] as u8, b'e');
        assert_eq!(r.ifr_name[15], 0);
    }

    #[test]
    fn sockaddr_in_is_network_order() {
        let sa = sockaddr_in(Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(sa.sa_family, libc::AF_INET as libc::sa_family_t);
        // sa_data: 2 bytes of port, then the address.
        let d: Vec<u8> = sa.sa_data[..6].iter().map(|b| *b as u8).collect();
        assert_eq!(d, [0, 0, 10, 77, 0, 1]);
    }

    #[test]
    fn loopback_mtu_and_flags_are_readable_without_privileges() {
        // Every namespace has `lo`; reading needs no capability.
        let lo_mtu = mtu("lo").unwrap();
        assert!(lo_mtu >= 1280, "lo mtu {lo_mtu}");
        assert!(mtu("no-such-if0").is_err());
        let _ = flags("lo").unwrap();
    }
}
