//! Packet scripts for IPv6 forwarding (router mode), one per rule.

use std::net::Ipv6Addr;

use super::*;
use crate::iface::{InterfaceConfig, Ipv6Cidr};
use crate::wire::icmpv6::{DstUnreachable, Icmpv6Packet, Icmpv6Repr, TimeExceeded};
use crate::wire::ipv6::{Ipv6Packet, Ipv6Repr};

const A_HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 1);
const A_US: Ipv6Addr = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2);
const B_HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 2, 0, 0, 0, 0, 0, 1);
const T0: Instant = Instant::from_secs(10);

/// A router between fd00:1::/64 (iface 0) and fd00:2::/64 (iface 1, MTU 1280).
fn router(forwarding: bool) -> (Stack, IfaceId, IfaceId) {
    let mut s = Stack::new(
        StackConfig {
            forwarding,
            ..StackConfig::default()
        },
        Rng::new(4),
    );
    let six = |c: &str| c.parse::<Ipv6Cidr>().unwrap();
    let a = s.add_interface(
        InterfaceConfig::ip("a", "10.1.0.2/24".parse().unwrap()).with_ipv6(six("fd00:1::2/64")),
    );
    let mut bc =
        InterfaceConfig::ip("b", "10.2.0.2/24".parse().unwrap()).with_ipv6(six("fd00:2::2/64"));
    bc.mtu = 1280;
    let b = s.add_interface(bc);
    (s, a, b)
}

fn packet(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, len: usize) -> Vec<u8> {
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: 17,
        payload_len: len,
        hop_limit,
        traffic_class: 0,
        flow_label: 0x12345,
    };
    let mut b = vec![0x5a; 40 + len];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut b[..]))
        .unwrap();
    b
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

#[track_caller]
fn error_back(out: &[Transmit], iface: IfaceId) -> (Ipv6Repr, Vec<u8>) {
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, iface);
    let p = Ipv6Packet::new_checked(&out[0].frame[..]).unwrap();
    (Ipv6Repr::parse(&p).unwrap(), p.payload().to_vec())
}

fn icmp<'a>(ip: &Ipv6Repr, m: &'a [u8]) -> Icmpv6Repr<'a> {
    Icmpv6Repr::parse(
        ip.src_addr,
        ip.dst_addr,
        &Icmpv6Packet::new_checked(m).unwrap(),
    )
    .unwrap()
}

/// RFC 8200 section 3: a forwarded packet leaves with its hop limit one less and is
/// otherwise unchanged (no checksum to fix in IPv6).
#[test]
fn forwarded_with_hop_limit_decremented() {
    let (mut s, a, b) = router(true);
    let pkt = packet(A_HOST, B_HOST, 64, 100);
    s.receive(T0, a, &pkt);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, b);
    let mut expect = pkt.clone();
    expect[7] = 63;
    assert_eq!(out[0].frame, expect);
    assert_eq!(s.stats().ip6_out_forw_datagrams, 1);
}

/// RFC 8200 section 3 and RFC 4443 section 3.3: a packet that would leave with hop limit
/// 0 is discarded with Time Exceeded code 0, from our address on the arrival link.
#[test]
fn hop_limit_exceeded() {
    let (mut s, a, _) = router(true);
    let pkt = packet(A_HOST, B_HOST, 1, 100);
    s.receive(T0, a, &pkt);
    let (ip, m) = error_back(&drain(&mut s), a);
    assert_eq!((ip.src_addr, ip.dst_addr), (A_US, A_HOST));
    assert_eq!(
        icmp(&ip, &m),
        Icmpv6Repr::TimeExceeded {
            reason: TimeExceeded::HopLimitExceeded,
            data: &pkt
        }
    );
}

/// RFC 4443 section 3.1: no route to the destination: Destination Unreachable code 0.
#[test]
fn no_route() {
    let (mut s, a, _) = router(true);
    s.receive(T0, a, &packet(A_HOST, "fd00:9::1".parse().unwrap(), 64, 8));
    let (ip, m) = error_back(&drain(&mut s), a);
    assert!(matches!(
        icmp(&ip, &m),
        Icmpv6Repr::DstUnreachable {
            reason: DstUnreachable::NoRoute,
            ..
        }
    ));
    assert_eq!(s.stats().ip6_in_no_routes, 1);
}

/// RFC 8200 section 5 and RFC 4443 section 3.2: routers do not fragment: a packet over
/// the next link's MTU (1280) gets Packet Too Big with that MTU, quoting as much as fits
/// in 1280 octets.
#[test]
fn packet_too_big() {
    let (mut s, a, _) = router(true);
    let pkt = packet(A_HOST, B_HOST, 64, 1281 - 40);
    s.receive(T0, a, &pkt);
    let (ip, m) = error_back(&drain(&mut s), a);
    let Icmpv6Repr::PacketTooBig { mtu, data } = icmp(&ip, &m) else {
        panic!()
    };
    assert_eq!((mtu, data), (1280, &pkt[..1280 - 48]));
    assert_eq!(s.stats().ip6_in_too_big_errors, 1);
    // Exactly 1280 passes.
    s.receive(T0, a, &packet(A_HOST, B_HOST, 64, 1240));
    assert_eq!(drain(&mut s).len(), 1);
}

/// RFC 4291 section 2.5.6: packets with a link-local source or destination are not
/// forwarded; and a host (forwarding off) forwards nothing.
#[test]
fn not_forwarded() {
    let (mut s, a, _) = router(true);
    s.receive(T0, a, &packet("fe80::1".parse().unwrap(), B_HOST, 64, 8));
    s.receive(T0, a, &packet(A_HOST, "fe80::9".parse().unwrap(), 64, 8));
    assert!(drain(&mut s).is_empty());
    let (mut h, a, _) = router(false);
    h.receive(T0, a, &packet(A_HOST, B_HOST, 64, 8));
    assert!(drain(&mut h).is_empty());
    assert_eq!(h.stats().ip6_in_addr_errors, 1);
}
