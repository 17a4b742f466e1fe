//! System tests of the TUN/TAP devices and the ioctl-based interface configuration, with
//! the Linux kernel on the other side, each inside a network namespace of its own.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use common::{recv_matching, require_root, NetNs};
use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use tunstack::link::{netdev, Device, Medium, TapDevice, TunDevice};
use tunstack::time::Instant;

const WAIT: Duration = Duration::from_secs(5);

/// The UDP datagram in an IP packet (or Ethernet frame): (src, dst, src port, dst port,
/// payload), if it is one.
fn udp_of(sliced: &SlicedPacket<'_>) -> Option<(SocketAddrV4, SocketAddrV4, Vec<u8>)> {
    let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
        return None;
    };
    let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
        return None;
    };
    let h = ip.header();
    Some((
        SocketAddrV4::new(h.source_addr(), udp.source_port()),
        SocketAddrV4::new(h.destination_addr(), udp.destination_port()),
        udp.payload().to_vec(),
    ))
}

fn udp_in_ip(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, Vec<u8>)> {
    udp_of(&SlicedPacket::from_ip(frame).ok()?)
}

fn udp_in_ethernet(frame: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, Vec<u8>)> {
    udp_of(&SlicedPacket::from_ethernet(frame).ok()?)
}

/// Whether the UDP checksum of an IPv4 packet verifies (RFC 768, with the pseudo-header).
fn udp_checksum_ok(ip_packet: &[u8]) -> bool {
    let Ok(p) = etherparse::PacketHeaders::from_ip_slice(ip_packet) else {
        return false;
    };
    match (p.net, p.transport) {
        (
            Some(etherparse::NetHeaders::Ipv4(ip, _)),
            Some(etherparse::TransportHeader::Udp(udp)),
        ) => {
            let payload = p.payload.slice();
            udp.calc_checksum_ipv4(&ip, payload).ok() == Some(udp.checksum)
        }
        _ => false,
    }
}

#[test]
fn tun_device_carries_udp_to_and_from_the_kernel() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new();
    ns.run(|| {
        let mut dev = TunDevice::open("tun0").expect("open TUN");
        assert_eq!(dev.name(), "tun0");
        assert_eq!(dev.medium(), Medium::Ip);
        assert!(dev.raw_fd().is_some());
        // Non-blocking: nothing is waiting, and recv says so at once.
        let mut buf = [0u8; 2048];
        assert_eq!(dev.recv(&mut buf, Instant::now()).unwrap(), None);

        netdev::set_ipv4("tun0", Ipv4Addr::new(10, 77, 0, 1), 24).expect("set address");
        netdev::set_up("tun0").expect("set up");
        assert_ne!(netdev::flags("tun0").unwrap() & libc::IFF_UP, 0);
        // `ip` independently sees what the ioctls configured.
        let shown = ns.exec_ok("ip", &["-o", "-4", "addr", "show", "dev", "tun0"]);
        assert!(shown.contains("inet 10.77.0.1/24"), "{shown}");
        let link = ns.exec_ok("ip", &["-o", "link", "show", "dev", "tun0"]);
        assert!(link.contains(",UP"), "{link}");

        // Kernel -> device.
        let sock = UdpSocket::bind("10.77.0.1:0").unwrap();
        let local = match sock.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            other => panic!("{other}"),
        };
        let peer = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 9999);
        sock.send_to(b"hello through tun", peer).unwrap();
        let frame = recv_matching(&mut dev, WAIT, |f| {
            udp_in_ip(f).is_some_and(|(_, dst, _)| dst == peer)
        })
        .expect("the kernel's datagram reaches the device");
        let (src, dst, payload) = udp_in_ip(&frame).unwrap();
        assert_eq!((src, dst), (local, peer));
        assert_eq!(payload, b"hello through tun");
        assert!(
            udp_checksum_ok(&frame),
            "the kernel computed a valid UDP checksum"
        );

        // Device -> kernel.
        let mut reply = Vec::new();
        PacketBuilder::ipv4(peer.ip().octets(), local.ip().octets(), 64)
            .udp(peer.port(), local.port())
            .write(&mut reply, b"reply from the device")
            .unwrap();
        dev.send(&reply, Instant::now()).unwrap();
        sock.set_read_timeout(Some(WAIT)).unwrap();
        let mut rbuf = [0u8; 256];
        let (n, from) = sock
            .recv_from(&mut rbuf)
            .expect("the kernel socket gets the reply");
        assert_eq!(from, std::net::SocketAddr::V4(peer));
        assert_eq!(&rbuf[..n], b"reply from the device");
    });
}

#[test]
fn tun_mtu_is_read_and_set_by_ioctl() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new();
    ns.run(|| {
        let mut dev = TunDevice::open("tunm%d").expect("open TUN");
        let name = dev.name().to_string();
        assert!(name.starts_with("tunm"), "{name}");
        assert_eq!(dev.mtu(), 1500);
        dev.set_mtu(1400).unwrap();
        assert_eq!(dev.mtu(), 1400);
        assert_eq!(netdev::mtu(&name).unwrap(), 1400);
        let link = ns.exec_ok("ip", &["-o", "link", "show", "dev", &name]);
        assert!(link.contains("mtu 1400"), "{link}");
        netdev::set_mtu(&name, 1280).unwrap();
        assert_eq!(dev.refresh_mtu().unwrap(), 1280);
        assert_eq!(dev.mtu(), 1280);
        netdev::set_up(&name).unwrap();
        netdev::set_down(&name).unwrap();
        assert_eq!(netdev::flags(&name).unwrap() & libc::IFF_UP, 0);
    });
    // The device's control socket keeps working from a thread outside the namespace.
    let dev = ns.run(|| TunDevice::open("tunx").expect("open TUN"));
    dev.control()
        .set_mtu("tunx", 1300)
        .expect("control socket stays in its namespace");
    assert_eq!(dev.control().mtu("tunx").unwrap(), 1300);
    assert!(
        netdev::mtu("tunx").is_err(),
        "tunx is not in the test's own namespace"
    );
}

#[test]
fn bad_configuration_is_an_error_not_a_panic() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new();
    ns.run(|| {
        assert!(netdev::set_ipv4("nosuch0", Ipv4Addr::new(10, 77, 0, 1), 24).is_err());
        assert!(netdev::set_ipv4("lo", Ipv4Addr::new(10, 77, 0, 1), 33).is_err());
        assert!(netdev::set_up("nosuch0").is_err());
        assert!(netdev::set_mtu("lo", usize::MAX).is_err());
        assert!(TunDevice::open("name-far-too-long-for-ifnamsiz").is_err());
    });
}

/// An ARP packet for Ethernet/IPv4 (RFC 826): hardware type 1, protocol 0x0800, lengths
/// 6 and 4, then operation, sender and target addresses.
fn arp(op: u16, sha: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0x00, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha);
    p.extend_from_slice(&spa.octets());
    p.extend_from_slice(&tha);
    p.extend_from_slice(&tpa.octets());
    p
}

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn tap_device_sees_arp_then_carries_udp_both_ways() {
    if !require_root() {
        return;
    }
    let ns = NetNs::new();
    ns.run(|| {
        let mut dev = TapDevice::open("tap0").expect("open TAP");
        assert_eq!(dev.medium(), Medium::Ethernet);
        let kernel_mac = dev.mac().unwrap();
        assert_eq!(kernel_mac[0] & 1, 0, "a unicast address");
        let our_mac = [0x02, 0, 0, 0x77, 0, 2];
        let kernel_ip = Ipv4Addr::new(10, 77, 1, 1);
        let our_ip = Ipv4Addr::new(10, 77, 1, 2);
        netdev::set_ipv4("tap0", kernel_ip, 24).unwrap();
        netdev::set_up("tap0").unwrap();

        let sock = UdpSocket::bind((kernel_ip, 0)).unwrap();
        let local = match sock.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            other => panic!("{other}"),
        };
        let peer = SocketAddrV4::new(our_ip, 9999);
        sock.send_to(b"hello through tap", peer).unwrap();

        // The kernel first asks who has 10.77.1.2.
        let is_arp_request = |f: &[u8]| {
            f.len() >= 42
                && f[12..14] == [0x08, 0x06]
                && f[20..22] == [0, 1]
                && f[38..42] == our_ip.octets()
        };
        let req = recv_matching(&mut dev, WAIT, is_arp_request).expect("an ARP request");
        assert_eq!(&req[0..6], &[0xff; 6], "broadcast");
        assert_eq!(&req[6..12], &kernel_mac);
        assert_eq!(&req[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&req[22..28], &kernel_mac, "sender hardware address");
        assert_eq!(&req[28..32], &kernel_ip.octets(), "sender protocol address");

        // Answer it; the queued datagram follows, addressed to our MAC.
        let reply = arp(2, our_mac, our_ip, kernel_mac, kernel_ip);
        dev.send(
            &ethernet(kernel_mac, our_mac, 0x0806, &reply),
            Instant::now(),
        )
        .unwrap();
        let frame = recv_matching(&mut dev, WAIT, |f| {
            udp_in_ethernet(f).is_some_and(|(_, dst, _)| dst == peer)
        })
        .expect("the datagram after ARP resolution");
        assert_eq!(&frame[0..6], &our_mac);
        assert_eq!(&frame[6..12], &kernel_mac);
        let (src, _, payload) = udp_in_ethernet(&frame).unwrap();
        assert_eq!(src, local);
        assert_eq!(payload, b"hello through tap");

        let mut back = Vec::new();
        PacketBuilder::ethernet2(our_mac, kernel_mac)
            .ipv4(our_ip.octets(), kernel_ip.octets(), 64)
            .udp(peer.port(), local.port())
            .write(&mut back, b"reply over ethernet")
            .unwrap();
        dev.send(&back, Instant::now()).unwrap();
        sock.set_read_timeout(Some(WAIT)).unwrap();
        let mut rbuf = [0u8; 256];
        let (n, from) = sock
            .recv_from(&mut rbuf)
            .expect("the kernel socket gets the reply");
        assert_eq!(from, std::net::SocketAddr::V4(peer));
        assert_eq!(&rbuf[..n], b"reply over ethernet");
        // The kernel learnt our address from the ARP reply.
        let neigh = ns.exec_ok("ip", &["neigh", "show", "dev", "tap0"]);
        assert!(
            neigh.contains("10.77.1.2 lladdr 02:00:00:77:00:02"),
            "{neigh}"
        );
    });
}

#[test]
fn the_namespace_guard_cleans_up_even_after_a_panic() {
    if !require_root() {
        return;
    }
    let name = {
        let ns = NetNs::new();
        let name = ns.name().to_string();
        assert!(ns.path().exists());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ns.run(|| panic!("deliberate panic inside the namespace"))
        }));
        assert!(r.is_err(), "the panic is passed on");
        // Devices made in the namespace are not visible outside it.
        let dev = ns.run(|| TunDevice::open("tunguard").unwrap());
        assert!(netdev::mtu(dev.name()).is_err());
        assert!(ns.exec_ok("ip", &["link"]).contains("tunguard"));
        name
    };
    assert!(!std::path::Path::new("/run/netns").join(&name).exists());
}
