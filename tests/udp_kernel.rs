//! UDP with the Linux kernel as the peer over a real TUN device in a test-made namespace:
//! tunstack's `UdpSocket` one side, the kernel's `std::net::UdpSocket` the other.

mod common;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{netdev, TunDevice};
use tunstack::rand::Rng;
use tunstack::socket::Runtime;
use tunstack::stack::{Stack, StackConfig};
use tunstack::UdpSocket;

const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn stack_in(ns: &common::NetNs, name: &'static str) -> Runtime {
    ns.run(move || {
        let dev = TunDevice::open(name).unwrap();
        netdev::set_ipv4(name, HOST, 24).unwrap();
        netdev::set_up(name).unwrap();
        let mut s = Stack::new(StackConfig::default(), Rng::new(21));
        let i = s.add_interface(InterfaceConfig::ip(name, Ipv4Cidr::new(STACK, 24).unwrap()));
        Runtime::spawn(s, vec![(i, Box::new(dev))]).unwrap()
    })
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Datagrams both ways, including one large enough to be fragmented, and the kernel's
/// port unreachable surfacing as ConnectionRefused on a connected tunstack socket.
#[test]
fn udp_both_ways_with_the_kernel() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, "tsu0");
    let ours = UdpSocket::bind_on(&rt.handle(), sa(STACK, 5353)).unwrap();
    ours.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let kernel = ns.run(|| std::net::UdpSocket::bind(sa(HOST, 0)).unwrap());
    kernel
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let kaddr = kernel.local_addr().unwrap();

    // Kernel -> tunstack, then the reply back.
    kernel
        .send_to(b"ping from the kernel", sa(STACK, 5353))
        .unwrap();
    let mut buf = vec![0u8; 70_000];
    let (n, from) = ours.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping from the kernel");
    assert_eq!(from, kaddr);
    ours.send_to(b"pong from tunstack", from).unwrap();
    let (n, from) = kernel.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong from tunstack");
    assert_eq!(from, sa(STACK, 5353));

    // Fragmented both ways: 20,000 bytes.
    let big: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
    kernel.send_to(&big, sa(STACK, 5353)).unwrap();
    let (n, _) = ours.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &big[..]);
    ours.send_to(&big, kaddr).unwrap();
    let (n, _) = kernel.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &big[..]);

    // peek_from leaves the datagram queued.
    kernel.send_to(b"peek me", sa(STACK, 5353)).unwrap();
    let (n, _) = ours.peek_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"peek me");
    let (n, _) = ours.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"peek me");

    // A connected socket to a closed kernel port learns ConnectionRefused.
    let c = UdpSocket::bind_on(&rt.handle(), sa(STACK, 0)).unwrap();
    c.connect(sa(HOST, 9)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.send(b"anyone?").unwrap();
    assert_eq!(
        c.recv(&mut buf).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}
