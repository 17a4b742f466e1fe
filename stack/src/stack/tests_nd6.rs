//! Packet scripts for IPv6 over Ethernet (TAP): Duplicate Address Detection (RFC 4862
//! section 5.4) and Neighbor Discovery (RFC 4861 section 7) in the core, with Linux's own
//! frames from the IPv6 capture as the other side. The stack takes the address and MAC
//! Linux's fd00:77::2 had (ea:2c:d8:af:0e:86), so its answers can be compared with the
//! kernel's byte for byte.

use std::net::Ipv6Addr;

use super::*;
use crate::iface::ndisc::State6;
use crate::iface::{InterfaceConfig, Ipv6Cidr};
use crate::time::Duration;
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame};
use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::{addr, Ipv6Packet, Ipv6Repr};
use crate::wire::ndp::{NaFlags, NdpOption, NdpRepr};

const US: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const OUR_MAC: EthernetAddress = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);
const HOST_MAC: EthernetAddress = EthernetAddress([0x46, 0x32, 0xdc, 0xb3, 0x8c, 0x40]);
/// The link-local address Linux formed from OUR_MAC (frame 2's target).
const OUR_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xe82c, 0xd8ff, 0xfeaf, 0x0e86);
const HOST_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x4432, 0xdcff, 0xfeb3, 0x8c40);
const T0: Instant = Instant::from_secs(10);

fn tap_stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(9));
    let cfg = InterfaceConfig::ethernet("tap0", "10.77.0.2/24".parse().unwrap(), Some(OUR_MAC))
        .with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    let i = s.add_interface(cfg);
    (s, i)
}

/// The IPv6 frames sent: (Ethernet destination, IPv6 packet).
fn sent6(s: &mut Stack) -> Vec<(EthernetAddress, Vec<u8>)> {
    std::iter::from_fn(|| s.poll_transmit())
        .filter_map(|t| {
            let f = EthernetFrame::new_checked(&t.frame[..]).ok()?;
            (f.ethertype() == EtherType::Ipv6).then(|| (f.dst_addr(), f.payload().to_vec()))
        })
        .collect()
}

fn icmp6(pkt: &[u8]) -> (Ipv6Repr, Icmpv6Repr<'_>) {
    let p = Ipv6Packet::new_checked(pkt).unwrap();
    let r = Ipv6Repr::parse(&p).unwrap();
    let m = Icmpv6Packet::new_checked(&pkt[40..]).unwrap();
    (
        r,
        Icmpv6Repr::parse(r.src_addr, r.dst_addr, &m).expect("valid ICMPv6"),
    )
}

/// A stack whose address has passed DAD (one solicitation, one silent second).
fn assigned() -> (Stack, IfaceId) {
    let (mut s, i) = tap_stack();
    s.handle_timeout(T0);
    let _ = sent6(&mut s);
    s.handle_timeout(T0 + Duration::from_secs(1));
    (s, i)
}

/// RFC 4862 section 5.4.2 (and RFC 7527): the address is tentative at first; the stack
/// sends one solicitation for it from the unspecified address to its solicited-node
/// group (Ethernet 33:33:ff:00:00:02, RFC 2464 section 7), hop limit 255, with a nonce
/// and no link-layer address. Until a second passes in silence, a ping to the address
/// is not answered; then it is.
#[test]
fn dad_then_the_address_is_used() {
    let (mut s, i) = tap_stack();
    s.handle_timeout(T0);
    let out = sent6(&mut s);
    // One for the configured address, one for the link-local address formed from the
    // MAC (RFC 4862 section 5.3; RFC 4291 Appendix A), which Linux had for this MAC.
    assert_eq!(out.len(), 2);
    let targets: Vec<_> = out
        .iter()
        .map(|(_, p)| match icmp6(p).1 {
            Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit { target, .. }) => target,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        targets.contains(&US) && targets.contains(&OUR_LL),
        "{targets:?}"
    );
    let (mac, pkt) = out
        .iter()
        .find(|(_, p)| p[24..40] == addr::solicited_node(&US).octets())
        .unwrap();
    assert_eq!(*mac, EthernetAddress([0x33, 0x33, 0xff, 0, 0, 2]));
    let (ip, m) = icmp6(pkt);
    assert_eq!(
        (ip.src_addr, ip.dst_addr, ip.hop_limit),
        (Ipv6Addr::UNSPECIFIED, addr::solicited_node(&US), 255)
    );
    let Icmpv6Repr::Ndp(ns @ NdpRepr::NeighborSolicit { target: US, .. }) = m else {
        panic!("{m:?}")
    };
    assert_eq!(ns.source_ll_addr(), None);
    assert!(matches!(
        ns.options().next(),
        Some(NdpOption::Unknown { opt_type: 14, .. })
    ));
    // Tentative: Linux's NS for it is not answered (RFC 4862 5.4.3: resolution for a
    // tentative address is ignored), nor is its ping.
    s.receive(T0, i, &FRAME_17);
    s.receive(T0, i, &FRAME_19);
    assert!(sent6(&mut s).is_empty());
    assert_eq!(s.poll_at(), Some(T0 + Duration::from_secs(1)));
    s.handle_timeout(T0 + Duration::from_secs(1));
    // Assigned: the same solicitation now gets an advertisement.
    s.receive(T0 + Duration::from_secs(2), i, &FRAME_17);
    assert_eq!(sent6(&mut s).len(), 1);
}

/// RFC 4861 section 7.2.4: Linux's solicitation for our address (frame 17) is answered
/// with a solicited, override advertisement carrying our MAC, sent to its MAC: the very
/// bytes Linux answered with (frame 18).
#[test]
fn neighbor_solicitation_answered_like_linux() {
    let (mut s, i) = assigned();
    s.receive(T0 + Duration::from_secs(2), i, &FRAME_17);
    let out = sent6(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, HOST_MAC);
    assert_eq!(&out[0].1[..], &FRAME_18[L3..]);
    // The solicitation taught the cache the host's MAC (RFC 4861 7.2.3: STALE).
    let cache = s.neighbors6(i).unwrap();
    assert_eq!(cache.get(HOST), Some((State6::Stale, Some(HOST_MAC))));
    assert_eq!(s.stats().icmp6_out_neighbor_advertisements, 1);
}

/// RFC 4861 sections 7.2.3 and 7.3.3: after the solicitation, Linux's ping (frame 19) is
/// answered at once to the learnt MAC, with the kernel's own reply (frame 20); sending to
/// the STALE entry moves it to DELAY.
#[test]
fn ping_answered_to_learnt_address() {
    let (mut s, i) = assigned();
    let t = T0 + Duration::from_secs(2);
    s.receive(t, i, &FRAME_17);
    let _ = sent6(&mut s);
    s.receive(t, i, &FRAME_19);
    let out = sent6(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, HOST_MAC);
    assert_eq!(&out[0].1[40..], &FRAME_20[L4..]);
    assert_eq!(s.neighbors6(i).unwrap().get(HOST).unwrap().0, State6::Delay);
}

/// RFC 4861 section 7.2.2: a packet for a neighbour not in the cache waits while a
/// multicast solicitation (with our MAC) asks for it; the advertisement releases it.
#[test]
fn reply_waits_for_resolution() {
    let (mut s, i) = assigned();
    let t = T0 + Duration::from_secs(2);
    // Linux's ping without the solicitation before it: the host is unknown.
    s.receive(t, i, &FRAME_19);
    let out = sent6(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, EthernetAddress([0x33, 0x33, 0xff, 0, 0, 1]));
    let (ip, m) = icmp6(&out[0].1);
    assert_eq!(
        (ip.src_addr, ip.dst_addr, ip.hop_limit),
        (US, addr::solicited_node(&HOST), 255)
    );
    let Icmpv6Repr::Ndp(ns @ NdpRepr::NeighborSolicit { target: HOST, .. }) = m else {
        panic!("{m:?}")
    };
    assert_eq!(ns.source_ll_addr(), Some(OUR_MAC));
    assert_eq!(
        s.neighbors6(i).unwrap().get(HOST).unwrap().0,
        State6::Incomplete
    );
    // The host answers (Linux's advertisement, with the roles swapped: built here).
    let na = advert(
        HOST,
        HOST_MAC,
        NaFlags {
            router: false,
            solicited: true,
            override_: true,
        },
    );
    s.receive(t, i, &eth(HOST_MAC, OUR_MAC, &na));
    let out = sent6(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, HOST_MAC);
    assert_eq!(&out[0].1[40..], &FRAME_20[L4..]);
    assert_eq!(
        s.neighbors6(i).unwrap().get(HOST),
        Some((State6::Reachable, Some(HOST_MAC)))
    );
}

/// RFC 4862 section 5.4.4: an advertisement for our tentative address means another node
/// has it: the address is never used (no answer to pings, no further DAD).
#[test]
fn duplicate_address_never_used() {
    let (mut s, i) = tap_stack();
    s.handle_timeout(T0);
    let _ = sent6(&mut s);
    let na = advert(
        US,
        HOST_MAC,
        NaFlags {
            router: false,
            solicited: false,
            override_: true,
        },
    );
    s.receive(
        T0 + Duration::from_millis(10),
        i,
        &eth(HOST_MAC, EthernetAddress([0x33, 0x33, 0, 0, 0, 1]), &na),
    );
    s.handle_timeout(T0 + Duration::from_secs(5));
    s.receive(T0 + Duration::from_secs(5), i, &FRAME_17);
    s.receive(T0 + Duration::from_secs(5), i, &FRAME_19);
    assert!(sent6(&mut s).is_empty());
}

/// RFC 4861 section 7.1.1: a solicitation whose hop limit is not 255 may have crossed a
/// router, and is discarded.
#[test]
fn solicitation_with_hop_limit_below_255_ignored() {
    let (mut s, i) = assigned();
    let mut f = FRAME_17.to_vec();
    f[L3 + 7] = 64;
    s.receive(T0 + Duration::from_secs(2), i, &f);
    assert!(sent6(&mut s).is_empty());
    assert_eq!(s.stats().icmp6_in_errors, 1);
}

/// RFC 4862 section 5.3 and RFC 4861 section 7.2: the link-local address, once past
/// DAD, is resolved and answered like the other: Linux's link-local solicitation for it
/// gets an advertisement, and a ping to it is answered from it.
#[test]
fn link_local_address_answers() {
    let (mut s, i) = assigned();
    let t = T0 + Duration::from_secs(2);
    let ns = {
        let mut opt = [0u8; 8];
        NdpOption::SourceLinkLayerAddr(HOST_MAC)
            .emit(&mut opt)
            .unwrap();
        let r = Icmpv6Repr::Ndp(NdpRepr::NeighborSolicit {
            target: OUR_LL,
            options: &opt,
        });
        ip_icmp(HOST_LL, addr::solicited_node(&OUR_LL), 255, &r)
    };
    s.receive(
        t,
        i,
        &eth(
            HOST_MAC,
            EthernetAddress([0x33, 0x33, 0xff, 0xaf, 0x0e, 0x86]),
            &ns,
        ),
    );
    let out = sent6(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, HOST_MAC);
    let (ip, m) = icmp6(&out[0].1);
    assert_eq!((ip.src_addr, ip.dst_addr), (OUR_LL, HOST_LL));
    assert!(matches!(
        m,
        Icmpv6Repr::Ndp(NdpRepr::NeighborAdvert { target: OUR_LL, .. })
    ));
    let ping = ip_icmp(
        HOST_LL,
        OUR_LL,
        64,
        &Icmpv6Repr::EchoRequest {
            ident: 3,
            seq_no: 4,
            data: b"ll",
        },
    );
    s.receive(t, i, &eth(HOST_MAC, OUR_MAC, &ping));
    let out = sent6(&mut s);
    assert_eq!(out.len(), 1);
    let (ip, m) = icmp6(&out[0].1);
    assert_eq!((ip.src_addr, ip.dst_addr), (OUR_LL, HOST_LL));
    assert!(matches!(
        m,
        Icmpv6Repr::EchoReply {
            ident: 3,
            seq_no: 4,
            data: b"ll"
        }
    ));
}

fn ip_icmp(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, r: &Icmpv6Repr<'_>) -> Vec<u8> {
    let mut pkt = vec![0u8; 40 + r.buffer_len()];
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: 58,
        payload_len: r.buffer_len(),
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut pkt[..]))
    .unwrap();
    r.emit(src, dst, &mut pkt[40..]).unwrap();
    pkt
}

/// An advertisement from `target` at `mac` to fd00:77::2, all-nodes if unsolicited.
fn advert(target: Ipv6Addr, mac: EthernetAddress, flags: NaFlags) -> Vec<u8> {
    let mut opt = [0u8; 8];
    NdpOption::TargetLinkLayerAddr(mac).emit(&mut opt).unwrap();
    let na = Icmpv6Repr::Ndp(NdpRepr::NeighborAdvert {
        flags,
        target,
        options: &opt,
    });
    let dst = if flags.solicited { US } else { addr::ALL_NODES };
    let mut pkt = vec![0u8; 40 + na.buffer_len()];
    Ipv6Repr {
        src_addr: HOST,
        dst_addr: dst,
        next_header: 58,
        payload_len: na.buffer_len(),
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut pkt[..]))
    .unwrap();
    na.emit(HOST, dst, &mut pkt[40..]).unwrap();
    pkt
}

fn eth(src: EthernetAddress, dst: EthernetAddress, pkt: &[u8]) -> Vec<u8> {
    super::ethernet::frame(src, dst, EtherType::Ipv6, pkt)
}
