//! Packet tests on the core: a crafted datagram in, the expected datagrams (or none) out,
//! in virtual time. Each test names the rule it pins.

use std::net::Ipv4Addr;

use super::*;
use crate::icmp::IcmpError;
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::time::Duration;
use crate::wire::icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr, TimeExceeded};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::udp::{UdpPacket, UdpRepr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const T0: Instant = Instant::from_secs(10);

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

fn host_stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr("10.77.0.2/24")));
    (s, i)
}

/// A router between 10.1.0.0/24 (iface 0, us .2) and 10.2.0.0/24 (iface 1, us .2, MTU
/// 1000), forwarding on.
fn router() -> Stack {
    let mut s = Stack::new(
        StackConfig {
            forwarding: true,
            ..StackConfig::default()
        },
        Rng::new(2),
    );
    s.add_interface(InterfaceConfig::ip("a", cidr("10.1.0.2/24")));
    let mut b = InterfaceConfig::ip("b", cidr("10.2.0.2/24"));
    b.mtu = 1000;
    s.add_interface(b);
    s
}

struct Ip {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: IpProtocol,
    ttl: u8,
    ident: u16,
    df: bool,
    mf: bool,
    offset: u16,
}

impl Ip {
    fn new(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol) -> Ip {
        Ip {
            src,
            dst,
            proto,
            ttl: 64,
            ident: 0x4242,
            df: false,
            mf: false,
            offset: 0,
        }
    }

    fn build(&self, payload: &[u8]) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: self.proto,
            payload_len: payload.len(),
            ttl: self.ttl,
            ident: self.ident,
            dont_frag: self.df,
            more_frags: self.mf,
            frag_offset: self.offset,
            tos: 0,
        };
        let mut buf = vec![0u8; 20 + payload.len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        buf[20..].copy_from_slice(payload);
        buf
    }
}

fn icmp(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    buf
}

fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let m = icmp(&Icmpv4Repr::EchoRequest {
        ident,
        seq_no: seq,
        data,
    });
    Ip::new(src, dst, IpProtocol::Icmp).build(&m)
}

pub(super) fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let r = UdpRepr {
        src_port: sport,
        dst_port: dport,
        payload: data,
    };
    let mut seg = vec![0u8; r.buffer_len()];
    r.emit(&mut UdpPacket::new_unchecked(&mut seg[..]), src, dst);
    Ip::new(src, dst, IpProtocol::Udp).build(&seg)
}

fn tcp_segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let r = TcpRepr {
        src_port: 40000,
        dst_port: 80,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: 65535,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload,
    };
    let mut seg = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), HOST, US);
    Ip::new(HOST, US, IpProtocol::Tcp).build(&seg)
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// Parses an output datagram: IP repr and payload.
fn parse(frame: &[u8]) -> (Ipv4Repr, Vec<u8>) {
    let p = Ipv4Packet::new_checked(frame).expect("valid IPv4");
    assert!(p.verify_checksum(), "IP header checksum");
    (Ipv4Repr::parse(&p).unwrap(), p.payload().to_vec())
}

fn parse_icmp(payload: &[u8]) -> Icmpv4Repr<'_> {
    Icmpv4Repr::parse(&Icmpv4Packet::new_checked(payload).unwrap()).expect("valid ICMP")
}

/// Reassembles output fragments with a fresh stack-independent reassembler.
fn reassemble(frames: &[Transmit]) -> Vec<u8> {
    use crate::iface::reassembly::{Fragment, Outcome};
    let mut r = Reassembler::new(ReassemblyConfig::default());
    for t in frames {
        let p = Ipv4Packet::new_checked(&t.frame[..]).unwrap();
        let o = r.push(
            T0,
            Fragment {
                src: p.src_addr(),
                dst: p.dst_addr(),
                protocol: p.protocol().into(),
                ident: p.ident(),
                offset: usize::from(p.frag_offset()),
                more_frags: p.more_frags(),
                header: &t.frame[..p.header_len()],
                payload: p.payload(),
            },
        );
        if let Outcome::Complete(d) = o {
            return d;
        }
    }
    panic!("fragments did not complete a datagram");
}

// ---------------------------------------------------------------- echo

/// RFC 792 / RFC 1122 3.2.2.6: the echo reply carries the request's identifier, sequence
/// number and data, from the address the request was sent to.
#[test]
fn echo_request_gets_reply_with_same_ident_seq_and_data() {
    let (mut s, i) = host_stack();
    let data: Vec<u8> = (0..56).collect();
    s.receive(T0, i, &echo_request(HOST, US, 0x1145, 7, &data));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, i);
    let (ip, payload) = parse(&out[0].frame);
    assert_eq!(
        (ip.src_addr, ip.dst_addr, ip.protocol),
        (US, HOST, IpProtocol::Icmp)
    );
    assert_eq!(ip.ttl, 64);
    assert_eq!(
        parse_icmp(&payload),
        Icmpv4Repr::EchoReply {
            ident: 0x1145,
            seq_no: 7,
            data: &data
        }
    );
    assert_eq!(s.stats().icmp_in_echos, 1);
    assert_eq!(s.stats().icmp_out_echo_reps, 1);
    assert_eq!(s.stats().ip_in_delivers, 1);
}

/// RFC 1122 3.2.1.8: options in a request do not stop the reply; the data after them is
/// what is echoed.
#[test]
fn echo_request_with_ip_options_is_answered() {
    let (mut s, i) = host_stack();
    let mut pkt = echo_request(HOST, US, 1, 1, b"abcdefgh");
    // Insert 4 bytes of options (NOP NOP NOP EOL) and fix IHL, length, checksum.
    pkt.splice(20..20, [1u8, 1, 1, 0]);
    pkt[0] = 0x46;
    let len = pkt.len() as u16;
    pkt[2..4].copy_from_slice(&len.to_be_bytes());
    pkt[10..12].copy_from_slice(&[0, 0]);
    let c = crate::wire::checksum::checksum(&pkt[..24]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (_, payload) = parse(&out[0].frame);
    assert_eq!(
        parse_icmp(&payload),
        Icmpv4Repr::EchoReply {
            ident: 1,
            seq_no: 1,
            data: b"abcdefgh"
        }
    );
}

/// RFC 1122 3.2.2.6 (MAY discard echo to broadcast; Linux does by default).
#[test]
fn echo_to_broadcast_is_ignored() {
    let (mut s, i) = host_stack();
    s.receive(
        T0,
        i,
        &echo_request(HOST, Ipv4Addr::new(10, 77, 0, 255), 1, 1, b"x"),
    );
    s.receive(T0, i, &echo_request(HOST, Ipv4Addr::BROADCAST, 1, 2, b"x"));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().icmp_in_echos, 2);
}

/// A corrupted ICMP message is counted and not answered.
#[test]
fn icmp_with_bad_checksum_is_dropped() {
    let (mut s, i) = host_stack();
    let mut pkt = echo_request(HOST, US, 1, 1, b"hello");
    pkt[24] ^= 0xff;
    s.receive(T0, i, &pkt);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().icmp_in_errors, 1);
}

// ---------------------------------------------------------------- IP input validation

/// RFC 1122 3.2.1.2: a datagram with a bad header checksum is silently discarded.
#[test]
fn bad_header_checksum_is_discarded() {
    let (mut s, i) = host_stack();
    let mut pkt = echo_request(HOST, US, 1, 1, b"x");
    pkt[10] ^= 1;
    s.receive(T0, i, &pkt);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_in_hdr_errors, 1);
    assert_eq!(s.stats().ip_in_delivers, 0);
}

/// RFC 1122 3.2.1.1: a version other than 4 is silently discarded.
#[test]
fn wrong_version_is_discarded() {
    let (mut s, i) = host_stack();
    let mut pkt = echo_request(HOST, US, 1, 1, b"x");
    pkt[0] = 0x55;
    s.receive(T0, i, &pkt);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_in_hdr_errors, 1);
}

/// IPv6 on the same TUN device (the kernel's router solicitations) is not IPv4 traffic:
/// ignored, and not counted as an IPv4 header error.
#[test]
fn ipv6_is_ignored_not_counted() {
    let (mut s, i) = host_stack();
    let mut pkt = vec![0u8; 48];
    pkt[0] = 0x60;
    s.receive(T0, i, &pkt);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_in_receives, 0);
    assert_eq!(s.stats().ip_in_hdr_errors, 0);
}

/// RFC 791 / RFC 1812 5.2.2: a total length beyond what arrived, or a header length
/// under 5 words, is discarded; bytes beyond the total length (link padding) are ignored.
#[test]
fn lengths_are_checked_and_padding_ignored() {
    let (mut s, i) = host_stack();
    let pkt = echo_request(HOST, US, 1, 1, b"abcd");
    s.receive(T0, i, &pkt[..pkt.len() - 1]);
    let mut short_ihl = pkt.clone();
    short_ihl[0] = 0x44;
    s.receive(T0, i, &short_ihl);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_in_hdr_errors, 2);

    let mut padded = pkt.clone();
    padded.extend_from_slice(&[0; 6]);
    s.receive(T0, i, &padded);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (_, payload) = parse(&out[0].frame);
    assert_eq!(
        parse_icmp(&payload),
        Icmpv4Repr::EchoReply {
            ident: 1,
            seq_no: 1,
            data: b"abcd"
        }
    );
}

/// RFC 1122 3.2.1.3: a datagram from a broadcast or multicast source is discarded.
#[test]
fn broadcast_or_multicast_source_is_discarded() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &echo_request(Ipv4Addr::BROADCAST, US, 1, 1, b"x"));
    s.receive(
        T0,
        i,
        &echo_request(Ipv4Addr::new(224, 0, 0, 1), US, 1, 1, b"x"),
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_in_addr_errors, 2);
}

/// RFC 1122 3.3.4.2: a host does not forward; a datagram for an address of its subnet
/// that is not its own is dropped without reply.
#[test]
fn host_drops_datagrams_for_other_addresses() {
    let (mut s, i) = host_stack();
    s.receive(
        T0,
        i,
        &echo_request(HOST, Ipv4Addr::new(10, 77, 0, 9), 1, 1, b"x"),
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_in_addr_errors, 1);
    assert_eq!(s.stats().ip_forw_datagrams, 0);
}

// ---------------------------------------------------------------- ICMP errors

/// RFC 1122 4.1.3.1 and 3.2.2.1: UDP to a closed port gets port unreachable from the
/// address it was sent to, quoting the IP header and the start of the datagram.
#[test]
fn udp_to_closed_port_gets_port_unreachable() {
    let (mut s, i) = host_stack();
    let pkt = udp(HOST, US, 42421, 9999, b"x\n");
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (ip, payload) = parse(&out[0].frame);
    assert_eq!((ip.src_addr, ip.dst_addr), (US, HOST));
    match parse_icmp(&payload) {
        Icmpv4Repr::DstUnreachable { reason, data, .. } => {
            assert_eq!(reason, DstUnreachable::PortUnreachable);
            assert_eq!(data, &pkt[..]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.stats().udp_no_ports, 1);
    assert_eq!(s.stats().icmp_out_dest_unreachs, 1);
}

/// RFC 1812 4.3.2.3: the quote is as much of the datagram as fits in 576 bytes.
#[test]
fn error_quote_is_capped_at_576_bytes_total() {
    let (mut s, i) = host_stack();
    let pkt = udp(HOST, US, 1, 9, &[7u8; 1200]);
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    assert_eq!(out[0].frame.len(), 576);
}

/// RFC 1122 3.2.2.1: protocol unreachable for a protocol the host does not speak.
#[test]
fn unknown_protocol_gets_protocol_unreachable() {
    let (mut s, i) = host_stack();
    let pkt = Ip::new(HOST, US, IpProtocol::Unknown(253)).build(b"experimental");
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (_, payload) = parse(&out[0].frame);
    assert!(matches!(
        parse_icmp(&payload),
        Icmpv4Repr::DstUnreachable {
            reason: DstUnreachable::ProtoUnreachable,
            ..
        }
    ));
    assert_eq!(s.stats().ip_in_unknown_protos, 1);
}

/// RFC 1122 3.2.2: no ICMP error about a datagram sent to a broadcast address.
#[test]
fn no_error_about_broadcast_datagrams() {
    let (mut s, i) = host_stack();
    s.receive(
        T0,
        i,
        &udp(HOST, Ipv4Addr::new(10, 77, 0, 255), 1, 9999, b"x"),
    );
    s.receive(T0, i, &udp(HOST, Ipv4Addr::BROADCAST, 1, 9999, b"x"));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().udp_no_ports, 2);
}

/// RFC 1122 3.2.2: never an ICMP error about an ICMP error: a forwarded error whose TTL
/// runs out gets no time exceeded, where an echo request would.
#[test]
fn no_error_about_an_error() {
    let mut r = router();
    let quoted = udp(
        Ipv4Addr::new(10, 2, 0, 1),
        Ipv4Addr::new(10, 1, 0, 1),
        1,
        2,
        b"q",
    );
    let err = icmp(&Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        data: &quoted,
    });
    let mut ip = Ip::new(
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
        IpProtocol::Icmp,
    );
    ip.ttl = 1;
    r.receive(T0, IfaceId(0), &ip.build(&err));
    assert!(drain(&mut r).is_empty());
    // The same with an echo request does get time exceeded.
    let echo = icmp(&Icmpv4Repr::EchoRequest {
        ident: 1,
        seq_no: 1,
        data: b"",
    });
    r.receive(T0, IfaceId(0), &ip.build(&echo));
    assert_eq!(drain(&mut r).len(), 1);
}

/// RFC 1812 4.3.2.8: ICMP errors are rate-limited (burst 50, then 1000/s by default).
#[test]
fn icmp_errors_are_rate_limited() {
    let (mut s, i) = host_stack();
    for port in 0..200u16 {
        s.receive(T0, i, &udp(HOST, US, 1, 10_000 + port, b"x"));
    }
    assert_eq!(drain(&mut s).len(), 50);
    assert_eq!(s.stats().icmp_out_rate_limit, 150);
    // 10 ms later, 10 more tokens.
    for port in 0..20u16 {
        s.receive(
            T0 + Duration::from_millis(10),
            i,
            &udp(HOST, US, 1, port, b"x"),
        );
    }
    assert_eq!(drain(&mut s).len(), 10);
    // Echo replies are not errors and are not limited.
    for seq in 0..100 {
        s.receive(
            T0 + Duration::from_millis(10),
            i,
            &echo_request(HOST, US, 1, seq, b""),
        );
    }
    assert_eq!(drain(&mut s).len(), 100);
}

// ---------------------------------------------------------------- TCP to a closed port

/// RFC 9293 3.10.7.1: a segment without ACK to a closed port gets
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
#[test]
fn syn_to_closed_port_gets_rst_ack() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &tcp_segment(TcpFlags::SYN, 1000, 0, b""));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (ip, payload) = parse(&out[0].frame);
    let p = TcpPacket::new_checked(&payload[..]).unwrap();
    let r = TcpRepr::parse(&p, ip.src_addr, ip.dst_addr).unwrap();
    assert_eq!(r.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!((r.seq_number, r.ack_number), (0, 1001));
    assert_eq!((r.src_port, r.dst_port), (80, 40000));
}

/// RFC 9293 3.10.7.1: with ACK set, the RST takes its sequence number from SEG.ACK;
/// an incoming RST is never answered.
#[test]
fn ack_to_closed_port_gets_rst_and_rst_gets_nothing() {
    let (mut s, i) = host_stack();
    s.receive(
        T0,
        i,
        &tcp_segment(TcpFlags::ACK | TcpFlags::PSH, 5, 777, b"data"),
    );
    let out = drain(&mut s);
    let (ip, payload) = parse(&out[0].frame);
    let p = TcpPacket::new_checked(&payload[..]).unwrap();
    let r = TcpRepr::parse(&p, ip.src_addr, ip.dst_addr).unwrap();
    assert_eq!(r.flags, TcpFlags::RST);
    assert_eq!(r.seq_number, 777);
    s.receive(T0, i, &tcp_segment(TcpFlags::RST, 5, 0, b""));
    s.receive(
        T0,
        i,
        &tcp_segment(TcpFlags::RST | TcpFlags::ACK, 5, 9, b""),
    );
    assert!(drain(&mut s).is_empty());
}

// ---------------------------------------------------------------- fragments

fn fragments_of(pkt: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    crate::iface::fragment::fragment(pkt, mtu, |f| v.push(f)).unwrap();
    v
}

/// RFC 791 3.2 / RFC 815: a fragmented echo request is reassembled and answered; the
/// reply is fragmented to the MTU and carries the data intact.
#[test]
fn fragmented_ping_is_reassembled_and_reply_fragmented() {
    let (mut s, i) = host_stack();
    let data: Vec<u8> = (0..4000u32).map(|x| (x % 251) as u8).collect();
    let pkt = echo_request(HOST, US, 9, 3, &data);
    let frags = fragments_of(&pkt, 1500);
    assert_eq!(frags.len(), 3);
    for f in frags.iter().rev() {
        s.receive(T0, i, f);
    }
    let out = drain(&mut s);
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|t| t.frame.len() <= 1500));
    let whole = reassemble(&out);
    let (_, payload) = parse(&whole);
    assert_eq!(
        parse_icmp(&payload),
        Icmpv4Repr::EchoReply {
            ident: 9,
            seq_no: 3,
            data: &data
        }
    );
    assert_eq!(s.stats().ip_reasm_reqds, 3);
    assert_eq!(s.stats().ip_reasm_oks, 1);
    assert_eq!(s.stats().ip_frag_oks, 1);
    assert_eq!(s.stats().ip_frag_creates, 3);
}

/// The largest ping (65,507 bytes of data: 65,535 - 20 - 8) round-trips.
#[test]
fn largest_ping_round_trips() {
    let (mut s, i) = host_stack();
    let data = vec![0xa5u8; 65_507];
    let pkt = echo_request(HOST, US, 1, 1, &data);
    assert_eq!(pkt.len(), 65_535);
    for f in fragments_of(&pkt, 1500) {
        s.receive(T0, i, &f);
    }
    let out = drain(&mut s);
    assert_eq!(out.len(), 45);
    let (_, payload) = parse(&reassemble(&out));
    assert_eq!(
        parse_icmp(&payload),
        Icmpv4Repr::EchoReply {
            ident: 1,
            seq_no: 1,
            data: &data
        }
    );
}

/// RFC 6864 4.1: the fragments of one datagram share its ID; consecutive datagrams to the
/// same destination get different IDs.
#[test]
fn fragments_share_an_id_and_datagrams_differ() {
    let (mut s, i) = host_stack();
    for f in fragments_of(&echo_request(HOST, US, 1, 1, &[1; 3000]), 1500) {
        s.receive(T0, i, &f);
    }
    for f in fragments_of(&echo_request(HOST, US, 1, 2, &[1; 3000]), 1500) {
        s.receive(T0, i, &f);
    }
    let ids: Vec<u16> = drain(&mut s)
        .iter()
        .map(|t| Ipv4Packet::new_checked(&t.frame[..]).unwrap().ident())
        .collect();
    assert_eq!(ids.len(), 6);
    assert!(ids[..3].iter().all(|&x| x == ids[0]));
    assert!(ids[3..].iter().all(|&x| x == ids[3]));
    assert_ne!(ids[0], ids[3]);
}

/// RFC 1122 3.3.2 / RFC 792: when reassembly times out and the first fragment was there,
/// time exceeded (code 1) goes back quoting it; without the first fragment, nothing.
#[test]
fn reassembly_timeout_sends_time_exceeded_code_1() {
    let (mut s, i) = host_stack();
    let pkt = echo_request(HOST, US, 1, 1, &[3; 3000]);
    let frags = fragments_of(&pkt, 1500);
    s.receive(T0, i, &frags[0]);
    let mut other = Ip::new(HOST, US, IpProtocol::Icmp);
    other.ident = 99;
    other.offset = 1480;
    s.receive(T0, i, &other.build(&[0; 16])); // a last fragment alone
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.poll_at(), Some(T0 + Duration::from_secs(60)));
    s.handle_timeout(T0 + Duration::from_secs(59));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(T0 + Duration::from_secs(60));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (ip, payload) = parse(&out[0].frame);
    assert_eq!(ip.dst_addr, HOST);
    match parse_icmp(&payload) {
        Icmpv4Repr::TimeExceeded { reason, data } => {
            assert_eq!(reason, TimeExceeded::FragReassembly);
            assert_eq!(&data[..28], &frags[0][..28]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.stats().ip_reasm_fails, 2);
    assert_eq!(s.stats().ip_reasm_timeout, 2);
    assert_eq!(s.poll_at(), None);
}

/// Overlapping fragments drop the datagram (see `iface::reassembly`).
#[test]
fn overlapping_fragments_are_dropped() {
    let (mut s, i) = host_stack();
    let pkt = echo_request(HOST, US, 1, 1, &[3; 3000]);
    let frags = fragments_of(&pkt, 1500);
    s.receive(T0, i, &frags[0]);
    let mut evil = Ip::new(HOST, US, IpProtocol::Icmp);
    evil.ident = Ipv4Packet::new_checked(&frags[0][..]).unwrap().ident();
    evil.offset = 1472;
    evil.mf = true;
    s.receive(T0, i, &evil.build(&[0; 16]));
    s.receive(T0, i, &frags[1]);
    s.receive(T0, i, &frags[2]);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip_reasm_fails, 1);
}

/// DF on output: a datagram bigger than the MTU is refused, not fragmented.
#[test]
fn dont_fragment_on_output_refuses_big_datagrams() {
    let (mut s, _) = host_stack();
    let r = s.send_ip_with(
        T0,
        None,
        HOST,
        IpProtocol::Udp,
        None,
        true,
        2000,
        |_, _, _| {},
    );
    assert_eq!(r, Err(SendError::MessageTooLong { mtu: 1500 }));
    let r = s.send_ip_with(
        T0,
        None,
        Ipv4Addr::new(192, 0, 2, 1),
        IpProtocol::Udp,
        None,
        false,
        8,
        |_, _, _| {},
    );
    assert_eq!(r, Err(SendError::NoRoute));
}

// ---------------------------------------------------------------- forwarding

/// RFC 1812 5.2.4.3 and 5.3.1: forwarded by longest prefix, TTL decremented, checksum
/// updated incrementally (RFC 1624) and still valid.
#[test]
fn forwarding_decrements_ttl_and_keeps_checksum_valid() {
    let mut r = router();
    let pkt = echo_request(
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
        1,
        1,
        b"hi",
    );
    r.receive(T0, IfaceId(0), &pkt);
    let out = drain(&mut r);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, IfaceId(1));
    assert_eq!(out[0].next_hop, Ipv4Addr::new(10, 2, 0, 1));
    let (ip, payload) = parse(&out[0].frame);
    assert_eq!(ip.ttl, 63);
    assert_eq!(&payload[..], &pkt[20..]);
    assert_eq!(r.stats().ip_forw_datagrams, 1);
}

/// RFC 1812 5.3.1 and 4.3.2.4: TTL 1 is not forwarded; time exceeded goes back from the
/// address of the interface it arrived on.
#[test]
fn ttl_expiry_sends_time_exceeded_from_arrival_interface() {
    let mut r = router();
    let mut ip = Ip::new(
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
        IpProtocol::Icmp,
    );
    ip.ttl = 1;
    let pkt = ip.build(&icmp(&Icmpv4Repr::EchoRequest {
        ident: 5,
        seq_no: 1,
        data: b"",
    }));
    r.receive(T0, IfaceId(0), &pkt);
    let out = drain(&mut r);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, IfaceId(0));
    let (ip, payload) = parse(&out[0].frame);
    assert_eq!(
        (ip.src_addr, ip.dst_addr),
        (Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 1, 0, 1))
    );
    assert!(matches!(
        parse_icmp(&payload),
        Icmpv4Repr::TimeExceeded {
            reason: TimeExceeded::TtlExpired,
            ..
        }
    ));
    assert_eq!(r.stats().ip_forw_datagrams, 0);
    assert_eq!(r.stats().icmp_out_time_excds, 1);
}

/// RFC 1122 3.2.2: no time exceeded about a non-initial fragment.
#[test]
fn no_time_exceeded_for_non_initial_fragment() {
    let mut r = router();
    let mut ip = Ip::new(
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
        IpProtocol::Udp,
    );
    ip.ttl = 1;
    ip.offset = 800;
    r.receive(T0, IfaceId(0), &ip.build(&[0; 32]));
    assert!(drain(&mut r).is_empty());
}

/// RFC 1812 5.2.7.1: no route means destination unreachable (net).
#[test]
fn no_route_sends_net_unreachable() {
    let mut r = router();
    r.receive(
        T0,
        IfaceId(0),
        &echo_request(
            Ipv4Addr::new(10, 1, 0, 1),
            Ipv4Addr::new(192, 0, 2, 9),
            1,
            1,
            b"",
        ),
    );
    let out = drain(&mut r);
    assert_eq!(out.len(), 1);
    let (_, payload) = parse(&out[0].frame);
    assert!(matches!(
        parse_icmp(&payload),
        Icmpv4Repr::DstUnreachable {
            reason: DstUnreachable::NetUnreachable,
            ..
        }
    ));
    assert_eq!(r.stats().ip_out_no_routes, 1);
}

/// RFC 1191 / RFC 1812 5.2.7.1: too big for the next hop with DF set: fragmentation
/// needed, carrying the next-hop MTU.
#[test]
fn df_too_big_sends_frag_needed_with_mtu() {
    let mut r = router();
    let mut ip = Ip::new(
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
        IpProtocol::Udp,
    );
    ip.df = true;
    let seg = [0u8; 1400];
    r.receive(T0, IfaceId(0), &ip.build(&seg));
    let out = drain(&mut r);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].iface, IfaceId(0));
    let (_, payload) = parse(&out[0].frame);
    match parse_icmp(&payload) {
        Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            ..
        } => {
            assert_eq!(reason, DstUnreachable::FragRequired);
            assert_eq!(next_hop_mtu, 1000);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.stats().ip_frag_fails, 1);
}

/// RFC 791 3.2: without DF a router fragments to the next hop's MTU.
#[test]
fn forwarding_fragments_without_df() {
    let mut r = router();
    let pkt = Ip::new(
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 2, 0, 1),
        IpProtocol::Udp,
    )
    .build(&[9u8; 1400]);
    r.receive(T0, IfaceId(0), &pkt);
    let out = drain(&mut r);
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|t| t.frame.len() <= 1000 && t.iface == IfaceId(1)));
    let (ip, payload) = parse(&reassemble(&out));
    assert_eq!(ip.ttl, 63);
    assert_eq!(payload, vec![9u8; 1400]);
    assert_eq!(r.stats().ip_frag_creates, 2);
}

/// RFC 1812 5.3.5.2 (RFC 2644): directed broadcasts to another attached network are not
/// forwarded.
#[test]
fn directed_broadcast_is_not_forwarded() {
    let mut r = router();
    r.receive(
        T0,
        IfaceId(0),
        &udp(
            Ipv4Addr::new(10, 1, 0, 1),
            Ipv4Addr::new(10, 2, 0, 255),
            1,
            2,
            b"",
        ),
    );
    assert!(drain(&mut r).is_empty());
}

/// A static route through a gateway: next hop is the gateway.
#[test]
fn static_route_via_gateway() {
    let mut r = router();
    r.routes_mut().add(Route {
        dest: cidr("192.168.7.0/24"),
        gateway: Some(Ipv4Addr::new(10, 2, 0, 1)),
        iface: IfaceId(1),
    });
    r.receive(
        T0,
        IfaceId(0),
        &echo_request(
            Ipv4Addr::new(10, 1, 0, 1),
            Ipv4Addr::new(192, 168, 7, 7),
            1,
            1,
            b"",
        ),
    );
    let out = drain(&mut r);
    assert_eq!(out[0].next_hop, Ipv4Addr::new(10, 2, 0, 1));
}

// ---------------------------------------------------------------- echo sockets

/// Ping from the stack: the request goes out with the socket's identifier; the reply is
/// delivered with its TTL; a time exceeded quoting the request reaches the same socket
/// (how traceroute learns the hops).
#[test]
fn echo_socket_gets_replies_and_quoted_errors() {
    let (mut s, i) = host_stack();
    let id = s.echo_open().unwrap();
    s.echo_send(T0, id, HOST, 1, Some(3), b"payload").unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (ip, payload) = parse(&out[0].frame);
    assert_eq!(ip.ttl, 3);
    assert_eq!(
        parse_icmp(&payload),
        Icmpv4Repr::EchoRequest {
            ident: id,
            seq_no: 1,
            data: b"payload"
        }
    );

    let reply = icmp(&Icmpv4Repr::EchoReply {
        ident: id,
        seq_no: 1,
        data: b"payload",
    });
    let mut rip = Ip::new(HOST, US, IpProtocol::Icmp);
    rip.ttl = 61;
    s.receive(T0 + Duration::from_millis(5), i, &rip.build(&reply));
    assert_eq!(
        s.echo_recv(id),
        Some(EchoEvent::Reply {
            from: HOST,
            seq: 1,
            ttl: 61,
            data: b"payload".to_vec(),
            at: T0 + Duration::from_millis(5)
        })
    );

    let te = icmp(&Icmpv4Repr::TimeExceeded {
        reason: TimeExceeded::TtlExpired,
        data: &out[0].frame[..28],
    });
    s.receive(
        T0,
        i,
        &Ip::new(Ipv4Addr::new(10, 77, 0, 254), US, IpProtocol::Icmp).build(&te),
    );
    assert_eq!(
        s.echo_recv(id),
        Some(EchoEvent::Error {
            from: Ipv4Addr::new(10, 77, 0, 254),
            seq: 1,
            error: IcmpError::TimeExceeded { code: 0 },
            at: T0
        })
    );
    // A reply for another identifier is not ours.
    let other = icmp(&Icmpv4Repr::EchoReply {
        ident: id.wrapping_add(1),
        seq_no: 1,
        data: b"",
    });
    s.receive(T0, i, &Ip::new(HOST, US, IpProtocol::Icmp).build(&other));
    assert_eq!(s.echo_recv(id), None);
}

/// Pinging the stack's own address loops back without touching the link.
#[test]
fn ping_own_address_loops_back() {
    let (mut s, _) = host_stack();
    let id = s.echo_open().unwrap();
    s.echo_send(T0, id, US, 1, None, b"me").unwrap();
    assert!(drain(&mut s).is_empty());
    assert!(matches!(
        s.echo_recv(id),
        Some(EchoEvent::Reply {
            from: US,
            seq: 1,
            ..
        })
    ));
}

#[test]
fn echo_send_on_closed_socket_fails() {
    let (mut s, _) = host_stack();
    assert_eq!(
        s.echo_send(T0, 1234, HOST, 1, None, b""),
        Err(SendError::NotOpen)
    );
}
