//! Packet tests for UDP on the core.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::udp::UdpError;
use crate::wire::icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::udp::{UdpPacket, UdpRepr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const T0: Instant = Instant::from_secs(5);

fn host_stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(9));
    let i = s.add_interface(InterfaceConfig::ip("tun0", Ipv4Cidr::new(US, 24).unwrap()));
    (s, i)
}

fn ip(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: proto,
        payload_len: payload.len(),
        ttl: 64,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut buf = vec![0u8; 20 + payload.len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[20..].copy_from_slice(payload);
    buf
}

fn udp(src: SocketAddrV4, dst: SocketAddrV4, data: &[u8]) -> Vec<u8> {
    let r = UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        payload: data,
    };
    let mut seg = vec![0u8; r.buffer_len()];
    r.emit(
        &mut UdpPacket::new_unchecked(&mut seg[..]),
        *src.ip(),
        *dst.ip(),
    );
    ip(*src.ip(), *dst.ip(), IpProtocol::Udp, &seg)
}

fn out(s: &mut Stack) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|t| t.frame)
        .collect()
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// RFC 768: a datagram to a bound port is queued with its source.
#[test]
fn datagram_reaches_bound_socket() {
    let (mut s, i) = host_stack();
    let h = s.udp_bind(sa(US, 53)).unwrap();
    s.receive(T0, i, &udp(sa(HOST, 40000), sa(US, 53), b"query"));
    assert!(out(&mut s).is_empty());
    let d = s.udp_recv(h).unwrap().unwrap();
    assert_eq!(
        (d.from, d.to, &d.data[..]),
        (sa(HOST, 40000).into(), US.into(), &b"query"[..])
    );
    assert_eq!(s.udp_recv(h), Ok(None));
    assert_eq!(s.stats().udp_in_datagrams, 1);
}

/// RFC 768 / RFC 1122 4.1.3.4: a zero checksum means "none" and is accepted; a wrong one
/// drops the datagram (UdpInErrors), silently.
#[test]
fn checksum_zero_accepted_wrong_dropped() {
    let (mut s, i) = host_stack();
    let h = s.udp_bind(sa(US, 9)).unwrap();
    let mut zero = udp(sa(HOST, 1), sa(US, 9), b"no checksum");
    zero[26] = 0;
    zero[27] = 0;
    s.receive(T0, i, &zero);
    assert_eq!(s.udp_recv(h).unwrap().unwrap().data, b"no checksum");
    let mut bad = udp(sa(HOST, 1), sa(US, 9), b"corrupt");
    bad[30] ^= 0x40;
    s.receive(T0, i, &bad);
    assert_eq!(s.udp_recv(h), Ok(None));
    assert_eq!(s.stats().udp_in_errors, 1);
    assert!(
        out(&mut s).is_empty(),
        "no ICMP error for a corrupt datagram"
    );
}

/// The receive queue is bounded: past the limit datagrams are dropped and counted.
#[test]
fn receive_queue_is_bounded() {
    let (mut s, i) = host_stack();
    let h = s.udp_bind(sa(US, 9)).unwrap();
    let big = vec![0u8; 60_000];
    for _ in 0..10 {
        s.receive(T0, i, &udp(sa(HOST, 1), sa(US, 9), &big));
    }
    let mut n = 0;
    while let Ok(Some(_)) = s.udp_recv(h) {
        n += 1;
    }
    assert_eq!(n, crate::udp::DEFAULT_QUEUE_BYTES / 60_000);
    assert_eq!(s.stats().udp_rcvbuf_errors, 10 - n as u64);
}

/// A connected socket takes datagrams only from its peer; others go to no socket and get
/// port unreachable.
#[test]
fn connected_socket_filters_peers() {
    let (mut s, i) = host_stack();
    let h = s.udp_bind(sa(US, 5000)).unwrap();
    s.udp_connect(h, sa(HOST, 6000)).unwrap();
    s.receive(T0, i, &udp(sa(HOST, 6001), sa(US, 5000), b"stranger"));
    assert_eq!(s.udp_recv(h), Ok(None));
    assert_eq!(out(&mut s).len(), 1, "port unreachable to the stranger");
    s.receive(T0, i, &udp(sa(HOST, 6000), sa(US, 5000), b"peer"));
    assert_eq!(s.udp_recv(h).unwrap().unwrap().data, b"peer");
}

/// RFC 1122 4.1.3.3: an ICMP port unreachable for a connected socket's datagram is
/// reported to it (as ConnectionRefused, once); an unconnected socket is not told.
#[test]
fn icmp_port_unreachable_reaches_connected_socket_once() {
    let (mut s, i) = host_stack();
    let h = s.udp_bind(sa(US, 0)).unwrap();
    s.udp_connect(h, sa(HOST, 7777)).unwrap();
    s.udp_send_to(T0, h, b"hello?", None).unwrap();
    let sent = out(&mut s).pop().unwrap();
    let err = {
        let r = Icmpv4Repr::DstUnreachable {
            reason: DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            data: &sent,
        };
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..]));
        ip(HOST, US, IpProtocol::Icmp, &b)
    };
    s.receive(T0, i, &err);
    assert_eq!(s.udp_recv(h), Err(UdpError::ConnectionRefused));
    assert_eq!(s.udp_recv(h), Ok(None), "reported once");

    let u = s.udp_bind(sa(US, 0)).unwrap();
    s.udp_send_to(T0, u, b"x", Some(sa(HOST, 7777).into()))
        .unwrap();
    let sent = out(&mut s).pop().unwrap();
    let r = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        data: &sent,
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..]));
    s.receive(T0, i, &ip(HOST, US, IpProtocol::Icmp, &b));
    assert_eq!(s.udp_recv(u), Ok(None));
}

/// RFC 6056 3.3.1: ephemeral ports are random within the range and distinct; a taken
/// port is AddrInUse; an address not ours is AddrNotAvailable.
#[test]
fn binding_rules() {
    let (mut s, _) = host_stack();
    let ports: Vec<u16> = (0..50)
        .map(|_| {
            let h = s.udp_bind(sa(US, 0)).unwrap();
            s.udp_addrs(h).unwrap().0.port()
        })
        .collect();
    assert!(ports.iter().all(|p| (32_768..=60_999).contains(p)));
    let mut sorted = ports.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 50);
    assert!(ports.windows(2).any(|w| w[1] != w[0] + 1), "not sequential");
    s.udp_bind(sa(US, 53)).unwrap();
    assert_eq!(s.udp_bind(sa(US, 53)), Err(UdpError::AddrInUse));
    assert_eq!(
        s.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 53)),
        Err(UdpError::AddrInUse)
    );
    assert_eq!(
        s.udp_bind(sa(Ipv4Addr::new(10, 77, 0, 9), 54)),
        Err(UdpError::AddrNotAvailable)
    );
}

/// What we send verifies: checksum, addresses, ports; too large is refused; unconnected
/// `send` is NotConnected.
#[test]
fn sending() {
    let (mut s, _) = host_stack();
    let h = s.udp_bind(sa(US, 1234)).unwrap();
    assert_eq!(
        s.udp_send_to(T0, h, b"x", None),
        Err(UdpError::NotConnected)
    );
    s.udp_send_to(T0, h, b"payload", Some(sa(HOST, 53).into()))
        .unwrap();
    let f = out(&mut s).pop().unwrap();
    let p = Ipv4Packet::new_checked(&f[..]).unwrap();
    let u = UdpPacket::new_checked(p.payload()).unwrap();
    let r = UdpRepr::parse(&u, p.src_addr(), p.dst_addr()).unwrap();
    assert_eq!(
        (
            p.src_addr(),
            p.dst_addr(),
            r.src_port,
            r.dst_port,
            r.payload
        ),
        (US, HOST, 1234, 53, &b"payload"[..])
    );
    assert_eq!(
        s.udp_send_to(T0, h, &vec![0; 65_508], Some(sa(HOST, 53).into())),
        Err(UdpError::MessageTooLong)
    );
    // The largest datagram goes out fragmented.
    s.udp_send_to(T0, h, &vec![0; 65_507], Some(sa(HOST, 53).into()))
        .unwrap();
    assert_eq!(out(&mut s).len(), 45);
    assert_eq!(s.stats().udp_out_datagrams, 2);
}

/// A socket bound to the wildcard address takes broadcasts; one bound to the exact
/// address is preferred for unicast.
#[test]
fn wildcard_and_specific_binding() {
    let (mut s, i) = host_stack();
    let any = s.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 67)).unwrap();
    s.receive(
        T0,
        i,
        &udp(sa(HOST, 68), sa(Ipv4Addr::BROADCAST, 67), b"discover"),
    );
    assert_eq!(s.udp_recv(any).unwrap().unwrap().to, Ipv4Addr::BROADCAST);
    let (mut s, i) = host_stack();
    let wild = s.udp_bind(sa(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    let port = s.udp_addrs(wild).unwrap().0.port();
    s.udp_close(wild);
    let specific = s.udp_bind(sa(US, port)).unwrap();
    s.receive(T0, i, &udp(sa(HOST, 1), sa(US, port), b"u"));
    assert!(s.udp_recv(specific).unwrap().is_some());
}
