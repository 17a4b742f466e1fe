//! Packet tests of Ethernet and ARP on the core: frames in at explicit times, the frames
//! (or nothing) that come out. Each test names the rule it pins.

use std::net::Ipv4Addr;

use proptest::strategy::Strategy;

use super::*;
use crate::icmp::EchoEvent;
use crate::iface::{InterfaceConfig, Ipv4Cidr, NeighborState, Route};
use crate::stack::StackConfig;
use crate::stack::WaitKey;
use crate::wire::ethernet::fixtures::{FRAME_10, FRAME_11, FRAME_8, FRAME_9};
use crate::wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::wire::ipv4::IpProtocol;

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const SILENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 9);
const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const HOST_MAC: EthernetAddress = EthernetAddress([0x0a, 0x00, 0x00, 0x00, 0x00, 0x01]);
const T0: Instant = Instant::from_secs(10);
const ETH: IfaceId = IfaceId(0);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

/// A stack on one Ethernet link (10.77.0.2/24, MAC `OUR_MAC`) whose announcements went
/// out before T0.
fn eth_stack_with(config: StackConfig) -> Stack {
    let mut s = Stack::new(config, Rng::new(1));
    s.add_interface(InterfaceConfig::ethernet(
        "tap0",
        cidr("10.77.0.2/24"),
        Some(OUR_MAC),
    ));
    announced(&mut s);
    s
}

/// Lets the announcements of new interfaces go out.
fn announced(s: &mut Stack) {
    s.handle_timeout(Instant::ZERO);
    s.handle_timeout(Instant::ZERO + ANNOUNCE_INTERVAL);
    let out = drain(s);
    assert!(out
        .iter()
        .all(|t| arp_of(t).1.source_protocol_addr == t.next_hop));
}

fn eth_stack() -> Stack {
    eth_stack_with(StackConfig::default())
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// What the runtime does after an application call: send what is ready (datagrams for
/// unresolved addresses are held there), then, the core's timer now being due, run it
/// at `now` and send again (the ARP request).
fn step(s: &mut Stack, now: Instant) -> Vec<Transmit> {
    let mut out = drain(s);
    if s.poll_at().is_some_and(|t| t <= now) {
        s.handle_timeout(now);
    }
    out.extend(drain(s));
    out
}

/// A frame taken apart.
#[derive(Debug)]
enum Out {
    Arp(EthernetRepr, ArpRepr),
    Ip(EthernetRepr, Vec<u8>),
}

fn parse(t: &Transmit) -> Out {
    let f = EthernetFrame::new_checked(&t.frame[..]).unwrap();
    let eth = EthernetRepr::parse(&f).unwrap();
    match eth.ethertype {
        EtherType::Arp => {
            let arp = ArpRepr::parse(&ArpPacket::new_checked(f.payload()).unwrap()).unwrap();
            Out::Arp(eth, arp)
        }
        EtherType::Ipv4 => Out::Ip(eth, f.payload().to_vec()),
        other => panic!("unexpected frame type {other}"),
    }
}

fn arp_of(t: &Transmit) -> (EthernetRepr, ArpRepr) {
    match parse(t) {
        Out::Arp(e, a) => (e, a),
        other => panic!("not ARP: {other:?}"),
    }
}

fn ip_of(t: &Transmit) -> (EthernetRepr, Vec<u8>) {
    match parse(t) {
        Out::Ip(e, p) => (e, p),
        other => panic!("not IPv4: {other:?}"),
    }
}

fn arp_frame(
    op: ArpOperation,
    eth_dst: EthernetAddress,
    sha: EthernetAddress,
    spa: Ipv4Addr,
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let repr = ArpRepr {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_hardware_addr: EthernetAddress::default(),
        target_protocol_addr: tpa,
    };
    let mut p = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut p[..]));
    frame(sha, eth_dst, EtherType::Arp, &p)
}

fn request(from_mac: EthernetAddress, from: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    arp_frame(
        ArpOperation::Request,
        EthernetAddress::BROADCAST,
        from_mac,
        from,
        target,
    )
}

fn reply(from_mac: EthernetAddress, from: Ipv4Addr) -> Vec<u8> {
    arp_frame(ArpOperation::Reply, OUR_MAC, from_mac, from, US)
}

/// An ICMP echo request datagram.
fn echo(src: Ipv4Addr, dst: Ipv4Addr, seq: u16) -> Vec<u8> {
    let m = Icmpv4Repr::EchoRequest {
        ident: 0x77,
        seq_no: seq,
        data: b"abcdefgh",
    };
    let mut icmp = vec![0u8; m.buffer_len()];
    m.emit(&mut Icmpv4Packet::new_unchecked(&mut icmp[..]));
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: IpProtocol::Icmp,
        payload_len: icmp.len(),
        ttl: 64,
        ident: seq,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut buf = vec![0u8; 20 + icmp.len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[20..].copy_from_slice(&icmp);
    buf
}

fn stat(s: &Stack, name: &str) -> u64 {
    s.stats().get(name).unwrap()
}

/// Sends an echo request from a fresh socket; returns the socket's identifier.
fn ping(s: &mut Stack, now: Instant, dst: Ipv4Addr, seq: u16, size: usize) -> u16 {
    let id = s.echo_open().unwrap();
    s.echo_send(now, id, dst, seq, None, &vec![0x5a; size])
        .unwrap();
    id
}

/// RFC 5227 2.3: an interface that comes up broadcasts ANNOUNCE_NUM announcements
/// (requests with sender and target both our address) ANNOUNCE_INTERVAL apart.
#[test]
fn announces_itself_when_it_comes_up() {
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    s.add_interface(InterfaceConfig::ethernet(
        "tap0",
        cidr("10.77.0.2/24"),
        Some(OUR_MAC),
    ));
    assert_eq!(s.poll_at(), Some(Instant::ZERO), "due at once");
    assert!(drain(&mut s).is_empty(), "sent from handle_timeout");
    s.handle_timeout(T0);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (eth, arp) = arp_of(&out[0]);
    assert_eq!(
        (eth.src_addr, eth.dst_addr),
        (OUR_MAC, EthernetAddress::BROADCAST)
    );
    assert_eq!(arp.operation, ArpOperation::Request);
    assert_eq!(
        (arp.source_hardware_addr, arp.source_protocol_addr),
        (OUR_MAC, US)
    );
    assert_eq!(arp.target_protocol_addr, US);
    assert_eq!(arp.target_hardware_addr, EthernetAddress::default());
    assert_eq!(s.poll_at(), Some(T0 + ANNOUNCE_INTERVAL));
    s.handle_timeout(T0 + ms(1999));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(T0 + ANNOUNCE_INTERVAL);
    assert_eq!(drain(&mut s).len(), 1);
    assert_eq!(s.poll_at(), None, "only two");
    assert_eq!(stat(&s, "ArpOutGratuitous"), 2);
    // An IP interface announces nothing.
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    s.add_interface(InterfaceConfig::ip("tun0", cidr("10.77.0.2/24")));
    assert_eq!(s.poll_at(), None);
}

/// Without a configured address the stack picks a random locally administered unicast
/// one (IEEE 802 U/L bit set, I/G bit clear), from its seeded Rng.
#[test]
fn random_mac_is_local_unicast_and_seeded() {
    let mac = |seed| {
        let mut s = Stack::new(StackConfig::default(), Rng::new(seed));
        let i = s.add_interface(InterfaceConfig::ethernet(
            "tap0",
            cidr("10.77.0.2/24"),
            None,
        ));
        s.interface(i).unwrap().mac().unwrap()
    };
    let a = mac(1);
    assert!(a.is_local() && a.is_unicast(), "{a}");
    assert_eq!(a, mac(1));
    assert_ne!(a, mac(2));
    for seed in 0..64 {
        let m = mac(seed);
        assert!(m.is_local() && m.is_unicast(), "{m}");
    }
    assert_eq!(
        multicast_mac(Ipv4Addr::new(224, 129, 2, 3)),
        EthernetAddress([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03])
    );
}

/// RFC 826: a request for our address is answered to the requester's hardware address,
/// fields swapped, with our addresses as sender. Checked against a real exchange between
/// two Linux hosts: given that host's MAC, our reply is its reply byte for byte.
#[test]
fn reply_matches_a_real_linux_reply() {
    let linux_mac = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    s.add_interface(InterfaceConfig::ethernet(
        "veth",
        cidr("10.77.0.2/24"),
        Some(linux_mac),
    ));
    announced(&mut s);
    s.receive(T0, ETH, &FRAME_8);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frame, FRAME_9.to_vec());
    assert_eq!(
        (stat(&s, "ArpInRequests"), stat(&s, "ArpOutReplies")),
        (1, 1)
    );
    // The ping that followed: answered straight to the MAC learned from the request.
    s.receive(T0 + ms(1), ETH, &FRAME_10);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frame[..14], FRAME_11[..14], "Ethernet header");
    assert_eq!(out[0].frame[34..], FRAME_11[34..], "ICMP message");
    assert_eq!(stat(&s, "ArpOutRequests"), 0);
}

/// RFC 826: requests for another address get no answer, and (merge rule: only a packet
/// for us adds its sender) teach us nothing about an unknown sender.
#[test]
fn no_reply_and_no_learning_for_other_targets() {
    let mut s = eth_stack();
    s.receive(T0, ETH, &request(HOST_MAC, HOST, OTHER));
    assert!(drain(&mut s).is_empty());
    assert!(s.neighbors().get(T0, (ETH, HOST)).is_none());
    assert_eq!(stat(&s, "ArpInRequests"), 1);
    assert_eq!(stat(&s, "ArpOutReplies"), 0);
}

/// RFC 826 merge rule: the sender of a request for us is added, so the answer to what
/// follows (a ping) needs no request of ours; a later packet from that sender updates
/// its address whatever it was for (a gratuitous ARP after a NIC change).
#[test]
fn learns_from_requests_for_us_and_merges_later_packets() {
    let mut s = eth_stack();
    s.receive(T0, ETH, &request(HOST_MAC, HOST, US));
    let out = drain(&mut s);
    let (eth, arp) = arp_of(&out[0]);
    assert_eq!(eth.dst_addr, HOST_MAC);
    assert_eq!(arp.operation, ArpOperation::Reply);
    assert_eq!(
        (arp.target_hardware_addr, arp.target_protocol_addr),
        (HOST_MAC, HOST)
    );
    assert_eq!(
        s.neighbors().get(T0, (ETH, HOST)),
        Some((NeighborState::Reachable, Some(HOST_MAC)))
    );
    s.receive(
        T0,
        ETH,
        &frame(HOST_MAC, OUR_MAC, EtherType::Ipv4, &echo(HOST, US, 1)),
    );
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(ip_of(&out[0]).0.dst_addr, HOST_MAC);

    let moved = EthernetAddress([0x0a, 0, 0, 0, 0, 0x99]);
    s.receive(T0 + ms(5), ETH, &request(moved, HOST, HOST));
    assert!(drain(&mut s).is_empty(), "not for us: no reply");
    ping(&mut s, T0 + ms(6), HOST, 1, 8);
    let out = drain(&mut s);
    assert_eq!(ip_of(&out[0]).0.dst_addr, moved);
    assert_eq!(stat(&s, "ArpOutRequests"), 0);
}

/// RFC 1122 2.3.2.2: datagrams for an address being resolved are held (all the
/// fragments of a large one too) and sent, in order, as soon as the reply comes. The
/// request is a broadcast for the next hop with our addresses as sender.
#[test]
fn queue_and_flush() {
    let mut s = eth_stack();
    ping(&mut s, T0, HOST, 1, 8);
    ping(&mut s, T0, HOST, 2, 4000); // three fragments
    assert!(drain(&mut s).is_empty(), "held until the request goes out");
    assert_eq!(s.neighbors().held(), 4);
    assert!(s.poll_at().is_some_and(|t| t <= T0), "request due at once");
    s.handle_timeout(T0);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (eth, arp) = arp_of(&out[0]);
    assert_eq!(
        (eth.src_addr, eth.dst_addr),
        (OUR_MAC, EthernetAddress::BROADCAST)
    );
    assert_eq!(arp.operation, ArpOperation::Request);
    assert_eq!(
        (arp.source_hardware_addr, arp.source_protocol_addr),
        (OUR_MAC, US)
    );
    assert_eq!(arp.target_protocol_addr, HOST);
    assert_eq!(out[0].next_hop, HOST);

    s.receive(T0 + ms(3), ETH, &reply(HOST_MAC, HOST));
    let out = drain(&mut s);
    assert_eq!(out.len(), 4);
    let mut offsets = Vec::new();
    for t in &out {
        let (eth, ip) = ip_of(t);
        assert_eq!((eth.src_addr, eth.dst_addr), (OUR_MAC, HOST_MAC));
        let r = Ipv4Repr::parse(&Ipv4Packet::new_checked(&ip[..]).unwrap()).unwrap();
        assert_eq!(r.dst_addr, HOST);
        offsets.push((r.ident, r.frag_offset));
    }
    assert_eq!(offsets[0].1, 0);
    assert_eq!(
        offsets[1..].iter().map(|o| o.1).collect::<Vec<_>>(),
        vec![0, 1480, 2960],
        "fragments in order"
    );
    assert_eq!(s.neighbors().held(), 0);
    assert_eq!(s.poll_at(), None, "no more requests");
    assert_eq!(stat(&s, "ArpInReplies"), 1);
    assert_eq!(stat(&s, "ArpOutRequests"), 1);
}

/// RFC 1122 2.3.2.1: no more than one request per second per destination, however much
/// traffic waits; another destination has its own pace.
#[test]
fn requests_are_rate_limited_per_destination() {
    let mut s = eth_stack();
    let mut requests = Vec::new();
    for n in 0..25u64 {
        let now = T0 + ms(n * 100);
        ping(&mut s, now, HOST, n as u16, 8);
        for t in step(&mut s, now) {
            requests.push((now, arp_of(&t).1.target_protocol_addr));
        }
    }
    assert_eq!(
        requests,
        vec![(T0, HOST), (T0 + ms(1000), HOST), (T0 + ms(2000), HOST)]
    );
    ping(&mut s, T0 + ms(2450), OTHER, 1, 8);
    let out = step(&mut s, T0 + ms(2450));
    assert_eq!(out.len(), 1);
    assert_eq!(arp_of(&out[0]).1.target_protocol_addr, OTHER);
}

/// Three requests a second apart, then the resolution gives up: the echo socket whose
/// request waited sees "host unreachable" from our own address; nothing is sent (no ICMP
/// to ourselves); the waiting datagrams are counted as discarded.
#[test]
fn retry_then_give_up_and_tell_the_local_sender() {
    let mut s = eth_stack();
    let id = ping(&mut s, T0, SILENT, 1, 8);
    s.echo_send(T0, id, SILENT, 2, None, b"x").unwrap();
    let mut sent = Vec::new();
    for n in 0..=3 {
        let now = T0 + Duration::from_secs(n);
        sent.extend(
            step(&mut s, now)
                .iter()
                .map(|t| (now, arp_of(t).1.target_protocol_addr)),
        );
        if n < 3 {
            assert!(s.echo_recv(id).is_none());
        }
    }
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2].0, T0 + Duration::from_secs(2));
    let mut events = Vec::new();
    s.take_events(&mut events);
    assert!(events.contains(&WaitKey::Echo(id)));
    let e = s.echo_recv(id).unwrap();
    assert_eq!(
        e,
        EchoEvent::Error {
            from: US,
            seq: 1,
            error: IcmpError::DstUnreachable { code: 1, mtu: 0 },
            at: T0 + Duration::from_secs(3),
        }
    );
    assert!(matches!(
        s.echo_recv(id),
        Some(EchoEvent::Error { seq: 2, .. })
    ));
    assert!(drain(&mut s).is_empty());
    assert_eq!(stat(&s, "ArpResolveFailures"), 1);
    assert_eq!(stat(&s, "ArpUnresolvedDiscards"), 2);
    assert_eq!(stat(&s, "IcmpOutDestUnreachs"), 0);
    assert!(s.neighbors().is_empty());
    assert_eq!(s.poll_at(), None);
    // The next datagram starts over.
    s.echo_send(T0 + Duration::from_secs(4), id, SILENT, 3, None, b"x")
        .unwrap();
    assert_eq!(step(&mut s, T0 + Duration::from_secs(4)).len(), 1);
}

/// RFC 1812 4.3.3.1 / 5.2.7.1: a router that cannot reach a host on a directly
/// connected network ("does not respond to ARP") answers what it was forwarding with
/// destination unreachable, code 1, to the datagram's source.
#[test]
fn forwarded_datagram_to_a_silent_host_gets_host_unreachable() {
    let mut s = Stack::new(
        StackConfig {
            forwarding: true,
            ..StackConfig::default()
        },
        Rng::new(3),
    );
    let tun = s.add_interface(InterfaceConfig::ip("tun0", cidr("10.1.0.2/24")));
    let tap = s.add_interface(InterfaceConfig::ethernet(
        "tap0",
        cidr("10.2.0.2/24"),
        Some(OUR_MAC),
    ));
    announced(&mut s);
    let src = Ipv4Addr::new(10, 1, 0, 1);
    let dst = Ipv4Addr::new(10, 2, 0, 9);
    s.receive(T0, tun, &echo(src, dst, 5));
    for n in 0..3 {
        let out = step(&mut s, T0 + Duration::from_secs(n));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].iface, tap);
    }
    let out = step(&mut s, T0 + Duration::from_secs(3));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, tun);
    let pkt = Ipv4Packet::new_checked(&out[0].frame[..]).unwrap();
    let ip = Ipv4Repr::parse(&pkt).unwrap();
    assert_eq!(
        (ip.src_addr, ip.dst_addr),
        (Ipv4Addr::new(10, 1, 0, 2), src)
    );
    let icmp = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(pkt.payload()).unwrap()).unwrap();
    let Icmpv4Repr::DstUnreachable { reason, data, .. } = icmp else {
        panic!("{icmp:?}")
    };
    assert_eq!(reason, DstUnreachable::HostUnreachable);
    assert_eq!(data[16..20], dst.octets(), "quotes the forwarded datagram");
    assert_eq!(data[8], 63, "as forwarded: TTL decremented");
    assert_eq!(stat(&s, "IcmpOutDestUnreachs"), 1);
}

/// RFC 1122 2.3.2.1: a cached address ages (REACHABLE to STALE after reachable_time); a
/// STALE entry is still used, and using it polls the neighbour with a unicast request;
/// the reply makes it REACHABLE again.
#[test]
fn stale_entry_is_used_polled_and_refreshed() {
    let mut s = eth_stack();
    s.receive(T0, ETH, &reply(HOST_MAC, HOST));
    let later = T0 + Duration::from_secs(31);
    assert_eq!(
        s.neighbors().get(later, (ETH, HOST)).unwrap().0,
        NeighborState::Stale
    );
    s.handle_timeout(later);
    ping(&mut s, later, HOST, 1, 8);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "sent at once, to the stale address");
    assert_eq!(ip_of(&out[0]).0.dst_addr, HOST_MAC);
    assert_eq!(
        s.neighbors().get(later, (ETH, HOST)).unwrap().0,
        NeighborState::Probe
    );
    s.handle_timeout(later);
    let out = drain(&mut s);
    let (eth, arp) = arp_of(&out[0]);
    assert_eq!(eth.dst_addr, HOST_MAC, "a unicast poll");
    assert_eq!(arp.target_protocol_addr, HOST);
    s.receive(later + ms(1), ETH, &reply(HOST_MAC, HOST));
    assert_eq!(
        s.neighbors().get(later + ms(1), (ETH, HOST)).unwrap().0,
        NeighborState::Reachable
    );
    assert_eq!(s.poll_at(), None, "no more polls");
}

/// A new request from a stale neighbour refreshes its entry (RFC 826 merge), so no poll
/// is needed when it is next used.
#[test]
fn a_request_refreshes_a_stale_entry() {
    let mut s = eth_stack();
    s.receive(T0, ETH, &request(HOST_MAC, HOST, US));
    drain(&mut s);
    let later = T0 + Duration::from_secs(45);
    assert_eq!(
        s.neighbors().get(later, (ETH, HOST)).unwrap().0,
        NeighborState::Stale
    );
    s.receive(later, ETH, &request(HOST_MAC, HOST, US));
    assert_eq!(drain(&mut s).len(), 1, "the reply");
    assert_eq!(
        s.neighbors().get(later, (ETH, HOST)).unwrap().0,
        NeighborState::Reachable
    );
    ping(&mut s, later, HOST, 1, 8);
    let out = step(&mut s, later);
    assert_eq!(out.len(), 1);
    assert!(matches!(parse(&out[0]), Out::Ip(..)));
    assert_eq!(stat(&s, "ArpOutRequests"), 0);
}

/// RFC 1122 2.3.2.1 unicast poll: when the polls go unanswered the entry is flushed, and
/// the next datagram is resolved afresh with a broadcast.
#[test]
fn unanswered_polls_flush_the_entry() {
    let mut s = eth_stack();
    s.receive(T0, ETH, &reply(HOST_MAC, HOST));
    let later = T0 + Duration::from_secs(40);
    ping(&mut s, later, HOST, 1, 8);
    let out = step(&mut s, later);
    assert_eq!(out.len(), 2, "the datagram and the first poll");
    assert!(matches!(parse(&out[0]), Out::Ip(..)));
    assert_eq!(arp_of(&out[1]).0.dst_addr, HOST_MAC);
    for n in 1..3 {
        let out = step(&mut s, later + Duration::from_secs(n));
        assert_eq!(arp_of(&out[0]).0.dst_addr, HOST_MAC);
    }
    s.handle_timeout(later + Duration::from_secs(3));
    assert!(s.neighbors().is_empty());
    assert_eq!(stat(&s, "ArpResolveFailures"), 0, "nothing was waiting");
    let t = later + Duration::from_secs(4);
    ping(&mut s, t, HOST, 2, 8);
    let out = step(&mut s, t);
    assert_eq!(arp_of(&out[0]).0.dst_addr, EthernetAddress::BROADCAST);
}

/// The cache is bounded: requests from more senders than it holds evict the least
/// recently used entries, counted.
#[test]
fn cache_bound() {
    let mut s = eth_stack_with(StackConfig {
        arp: NeighborConfig {
            max_entries: 4,
            ..NeighborConfig::default()
        },
        ..StackConfig::default()
    });
    for n in 0..10u8 {
        let ip = Ipv4Addr::new(10, 77, 0, 100 + n);
        let mac = EthernetAddress([0x0a, 0, 0, 0, 1, n]);
        s.receive(T0 + ms(u64::from(n)), ETH, &request(mac, ip, US));
    }
    assert_eq!(drain(&mut s).len(), 10, "every request answered");
    assert_eq!(s.neighbors().len(), 4);
    assert_eq!(stat(&s, "ArpCacheEvictions"), 6);
    let kept: Vec<u8> = (0..10)
        .filter(|n| {
            s.neighbors()
                .get(T0, (ETH, Ipv4Addr::new(10, 77, 0, 100 + n)))
                .is_some()
        })
        .collect();
    assert_eq!(kept, vec![6, 7, 8, 9], "the most recent");
}

/// The queue of held datagrams is bounded per destination (the oldest pushed out) and
/// in total; what is dropped is counted.
#[test]
fn queue_bound() {
    let mut s = eth_stack_with(StackConfig {
        arp: NeighborConfig {
            queue_per_neighbor: 2,
            queue_total: 3,
            ..NeighborConfig::default()
        },
        ..StackConfig::default()
    });
    let id = s.echo_open().unwrap();
    for seq in 1..=5 {
        s.echo_send(T0, id, HOST, seq, None, b"x").unwrap();
    }
    ping(&mut s, T0, OTHER, 1, 8);
    ping(&mut s, T0, SILENT, 1, 8);
    drain(&mut s);
    assert_eq!(s.neighbors().held(), 3);
    assert_eq!(stat(&s, "ArpUnresolvedDiscards"), 4);
    s.receive(T0 + ms(1), ETH, &reply(HOST_MAC, HOST));
    let seqs: Vec<u16> = drain(&mut s)
        .iter()
        .map(|t| {
            let ip = ip_of(t).1;
            u16::from_be_bytes([ip[26], ip[27]])
        })
        .collect();
    assert_eq!(seqs, vec![4, 5], "the newest two");
}

/// Only frames for our address or the broadcast address are taken; others, unknown
/// EtherTypes (IPv6 too) and runts are dropped and counted; a link broadcast carrying a
/// unicast datagram is discarded (RFC 1122 3.3.6).
#[test]
fn frames_not_for_us_are_dropped_and_counted() {
    let mut s = eth_stack();
    s.receive(T0, ETH, &request(HOST_MAC, HOST, US));
    drain(&mut s);
    let ping_to = |dst: EthernetAddress| frame(HOST_MAC, dst, EtherType::Ipv4, &echo(HOST, US, 1));
    s.receive(T0, ETH, &ping_to(EthernetAddress([0x0a, 0, 0, 0, 0, 0x42])));
    s.receive(T0, ETH, &ping_to(EthernetAddress([0x01, 0, 0x5e, 0, 0, 1])));
    s.receive(T0, ETH, &ping_to(EthernetAddress::BROADCAST));
    assert!(drain(&mut s).is_empty());
    assert_eq!(stat(&s, "EthInDropped"), 3);
    assert_eq!(stat(&s, "IpInReceives"), 0);
    s.receive(
        T0,
        ETH,
        &frame(HOST_MAC, OUR_MAC, EtherType::Ipv6, &[0x60; 40]),
    );
    s.receive(
        T0,
        ETH,
        &frame(HOST_MAC, OUR_MAC, EtherType::Unknown(0x88cc), &[0; 40]),
    );
    assert_eq!(stat(&s, "EthInUnknownProtos"), 2);
    s.receive(T0, ETH, &[0xff; 13]);
    let mut bad_src = ping_to(OUR_MAC);
    bad_src[6] = 0x01;
    s.receive(T0, ETH, &bad_src);
    assert_eq!(stat(&s, "EthInErrors"), 2);
    assert!(drain(&mut s).is_empty());
    // And the one that is for us is answered.
    s.receive(T0, ETH, &ping_to(OUR_MAC));
    assert_eq!(drain(&mut s).len(), 1);
}

/// ARP packets that must not be believed or that are not ours to answer: a multicast
/// sender address (RFC 1812 3.3.2), an unknown operation, a truncated packet; an ARP
/// probe (sender 0.0.0.0, RFC 5227 2.1.1) is answered but teaches nothing; another host
/// claiming our address is a conflict, counted, not learned.
#[test]
fn arp_input_sanity() {
    let mut s = eth_stack();
    let group = EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]);
    let mut f = request(HOST_MAC, HOST, US);
    f[22..28].copy_from_slice(&group.0);
    s.receive(T0, ETH, &f);
    let mut f = request(HOST_MAC, HOST, US);
    f[21] = 9;
    s.receive(T0, ETH, &f);
    s.receive(T0, ETH, &request(HOST_MAC, HOST, US)[..30]);
    assert_eq!(stat(&s, "ArpInErrors"), 3);
    assert!(drain(&mut s).is_empty());
    assert!(s.neighbors().is_empty());

    s.receive(T0, ETH, &request(HOST_MAC, Ipv4Addr::UNSPECIFIED, US));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (eth, arp) = arp_of(&out[0]);
    assert_eq!(eth.dst_addr, HOST_MAC);
    assert_eq!(arp.target_protocol_addr, Ipv4Addr::UNSPECIFIED);
    assert!(s.neighbors().is_empty());

    s.receive(T0, ETH, &request(HOST_MAC, US, HOST));
    assert_eq!(stat(&s, "ArpAddrConflicts"), 1);
    // Our own announcement coming back is no conflict.
    s.receive(T0, ETH, &request(OUR_MAC, US, US));
    assert_eq!(stat(&s, "ArpAddrConflicts"), 1);
    assert!(s.neighbors().is_empty());
    assert!(drain(&mut s).is_empty());
}

/// The next hop comes from the routing table: through a gateway ARP resolves the
/// gateway, not the destination; a broadcast destination needs no ARP.
#[test]
fn next_hop_is_the_gateway_and_broadcast_needs_no_arp() {
    let mut s = eth_stack();
    s.routes_mut().add(Route {
        dest: cidr("0.0.0.0/0"),
        gateway: Some(HOST),
        iface: ETH,
    });
    ping(&mut s, T0, Ipv4Addr::new(10, 9, 0, 1), 1, 8);
    let out = step(&mut s, T0);
    assert_eq!(arp_of(&out[0]).1.target_protocol_addr, HOST);
    s.receive(T0 + ms(1), ETH, &reply(HOST_MAC, HOST));
    let out = drain(&mut s);
    let (eth, ip) = ip_of(&out[0]);
    assert_eq!(eth.dst_addr, HOST_MAC);
    assert_eq!(ip[16..20], [10, 9, 0, 1]);

    ping(&mut s, T0, Ipv4Addr::new(10, 77, 0, 255), 1, 8);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(ip_of(&out[0]).0.dst_addr, EthernetAddress::BROADCAST);
}

/// The IP path is untouched by all this: a TUN interface still gets bare datagrams.
#[test]
fn ip_interfaces_are_unaffected() {
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    s.add_interface(InterfaceConfig::ip("tun0", cidr("10.77.0.2/24")));
    s.receive(T0, ETH, &echo(HOST, US, 1));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frame[0] >> 4, 4);
}

proptest::proptest! {
    /// Every input is hostile: mangled real frames (ARP request and reply, an echo
    /// request, a fragment) never panic the Ethernet and ARP input, and whatever the
    /// stack sends in answer is a well-formed frame from our address.
    #[test]
    fn hostile_frames_never_panic(
        buf in proptest::sample::select(vec![
            FRAME_8.to_vec(),
            FRAME_9.to_vec(),
            FRAME_10.to_vec(),
            crate::wire::ethernet::fixtures::FRAME_12.to_vec(),
        ])
        .prop_flat_map(crate::wire::testutil::hostile_buffers)
    ) {
        let linux_mac = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);
        let mut s = Stack::new(StackConfig::default(), Rng::new(1));
        s.add_interface(InterfaceConfig::ethernet("veth", cidr("10.77.0.2/24"), Some(linux_mac)));
        announced(&mut s);
        s.receive(T0, ETH, &buf);
        for t in step(&mut s, T0 + Duration::from_secs(1)) {
            let f = EthernetFrame::new_checked(&t.frame[..]).unwrap();
            proptest::prop_assert_eq!(f.src_addr(), linux_mac);
        }
    }
}
