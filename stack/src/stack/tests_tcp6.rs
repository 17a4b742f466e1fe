//! Packet scripts for TCP and UDP over IPv6 in the core: segments in from the host, the
//! stack's answers out, parsed with the IPv6 pseudo-header. Each test names the rule it
//! pins.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;
use crate::iface::{InterfaceConfig, Ipv6Cidr};
use crate::tcp::state::State;
use crate::udp::UdpError;
use crate::wire::checksum;
use crate::wire::icmpv6::{DstUnreachable, Icmpv6Packet, Icmpv6Repr};
use crate::wire::ipv6::{next_header as nh, Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::udp::{UdpPacket, UdpRepr};

const US: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const US4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const T0: Instant = Instant::from_secs(10);

fn stack_mtu(mtu: usize) -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(61));
    let mut cfg = InterfaceConfig::ip("tun0", "10.77.0.2/24".parse().unwrap())
        .with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    cfg.mtu = mtu;
    let i = s.add_interface(cfg);
    (s, i)
}

fn host_stack() -> (Stack, IfaceId) {
    stack_mtu(1500)
}

fn sa6(ip: Ipv6Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(ip), port)
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// An IPv6 packet `src` -> `dst` carrying `payload` as `next`.
fn ip6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: next,
        payload_len: payload.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut b = vec![0u8; 40 + payload.len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut b[..]))
        .unwrap();
    b[40..].copy_from_slice(payload);
    b
}

fn seg(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> TcpRepr<'_> {
    let mut r = crate::tcp::output::bare_repr(40000, 80);
    r.flags = flags;
    r.seq_number = seq;
    r.ack_number = ack;
    r.window_len = 65535;
    r.payload = payload;
    r
}

/// A TCP segment HOST -> US over IPv6, checksummed with the IPv6 pseudo-header.
fn tcp6(r: &TcpRepr<'_>) -> Vec<u8> {
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), HOST, US);
    ip6(HOST, US, nh::TCP, &b)
}

/// The IPv6 header and TCP segment of a frame the stack sent; the checksum must verify
/// with the IPv6 pseudo-header of the frame's addresses.
#[track_caller]
fn parse_tcp6(frame: &[u8]) -> (Ipv6Repr, TcpRepr<'_>) {
    let p = Ipv6Packet::new_checked(frame).expect("an IPv6 packet");
    let ip = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(ip.next_header, nh::TCP, "a TCP segment");
    let t = TcpPacket::new_checked(&frame[40..]).unwrap();
    let r = TcpRepr::parse(&t, ip.src_addr, ip.dst_addr).expect("checksum verifies");
    (ip, r)
}

/// Runs the handshake with a listener on `listen` (HOST:40000 -> US:80 with an MSS
/// option of 1440); returns the accepted connection's handle and the SYN-ACK.
fn handshake(s: &mut Stack, i: IfaceId, listen: SocketAddr) -> (crate::tcp::TcpHandle, u32) {
    let l = s.tcp_listen(listen, 8).unwrap();
    let mut syn = seg(TcpFlags::SYN, 1000, 0, b"");
    syn.max_seg_size = Some(1440);
    s.receive(T0, i, &tcp6(&syn));
    let out = drain(s);
    assert_eq!(out.len(), 1, "one SYN-ACK");
    let (_, r) = parse_tcp6(&out[0].frame);
    assert_eq!(r.flags, TcpFlags::SYN | TcpFlags::ACK);
    let iss = r.seq_number;
    s.receive(T0, i, &tcp6(&seg(TcpFlags::ACK, 1001, iss + 1, b"")));
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    (h, iss)
}

/// RFC 9293 3.10.7.1 over IPv6: a SYN to a closed port gets `<SEQ=0><ACK=SEG.SEQ+1>
/// <CTL=RST,ACK>`, from the address it was sent to, its checksum over the IPv6
/// pseudo-header (RFC 8200 section 8.1).
#[test]
fn syn_to_closed_port_gets_rst_ack() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &tcp6(&seg(TcpFlags::SYN, 1000, 0, b"")));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let (ip, r) = parse_tcp6(&out[0].frame);
    assert_eq!((ip.src_addr, ip.dst_addr), (US, HOST));
    assert_eq!(r.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!((r.seq_number, r.ack_number), (0, 1001));
    assert_eq!((r.src_port, r.dst_port), (80, 40000));
    assert_eq!(s.stats().tcp_out_rsts, 1);
}

/// RFC 8200 section 8.1: the TCP checksum over IPv6 covers the IPv6 pseudo-header. A
/// segment checksummed with the IPv4 pseudo-header of the same bytes (or with another
/// destination address) fails, is counted in TcpInErrs and gets no answer.
#[test]
fn checksum_covers_the_ipv6_pseudo_header() {
    let (mut s, i) = host_stack();
    let r = seg(TcpFlags::SYN, 1000, 0, b"");
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), HOST4, US4);
    s.receive(T0, i, &ip6(HOST, US, nh::TCP, &b));
    let other = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 3);
    r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), HOST, other);
    s.receive(T0, i, &ip6(HOST, US, nh::TCP, &b));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().tcp_in_errs, 2);
    // The same segment with the right pseudo-header is taken (and reset: no listener).
    r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), HOST, US);
    s.receive(T0, i, &ip6(HOST, US, nh::TCP, &b));
    assert_eq!(drain(&mut s).len(), 1);
    assert_eq!(s.stats().tcp_in_errs, 2);
    // The pseudo-header sum itself: source, destination, 32-bit length, next header.
    let ph = checksum::pseudo_header_ip(HOST.into(), US.into(), 6, 20);
    let mut bytes = [0u8; 40];
    bytes[..16].copy_from_slice(&HOST.octets());
    bytes[16..32].copy_from_slice(&US.octets());
    bytes[32..36].copy_from_slice(&20u32.to_be_bytes());
    bytes[39] = 6;
    assert_eq!(checksum::fold(ph), checksum::fold(checksum::sum(0, &bytes)));
}

/// RFC 9293 3.5 (three-way handshake) and 3.7.1 with RFC 8200 section 8.3: a listener
/// on an IPv6 address answers a SYN with a SYN-ACK whose MSS option is the MTU less 60
/// (1440 on a 1500-byte link, 20 less than over IPv4); data flows both ways and the
/// connection's addresses are IPv6.
#[test]
fn handshake_and_data_over_ipv6() {
    let (mut s, i) = host_stack();
    let l = s.tcp_listen(sa6(US, 80), 8).unwrap();
    let mut syn = seg(TcpFlags::SYN, 1000, 0, b"");
    syn.max_seg_size = Some(1440);
    s.receive(T0, i, &tcp6(&syn));
    let out = drain(&mut s);
    let (ip, r) = parse_tcp6(&out[0].frame);
    assert_eq!((ip.src_addr, ip.dst_addr), (US, HOST));
    assert_eq!(r.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(r.ack_number, 1001);
    assert_eq!(r.max_seg_size, Some(1440));
    let iss = r.seq_number;
    s.receive(
        T0,
        i,
        &tcp6(&seg(TcpFlags::ACK | TcpFlags::PSH, 1001, iss + 1, b"hello")),
    );
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    let c = s.tcp_conn(h).unwrap();
    assert_eq!(c.state(), State::Established);
    assert_eq!((c.local(), c.remote()), (sa6(US, 80), sa6(HOST, 40000)));
    let mut buf = [0u8; 16];
    assert_eq!(s.tcp_recv(T0, h, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(s.tcp_send(T0, h, b"world").unwrap(), 5);
    let out = drain(&mut s);
    let data = out
        .iter()
        .map(|t| parse_tcp6(&t.frame).1)
        .find(|r| !r.payload.is_empty())
        .expect("the data went out");
    assert_eq!(data.payload, b"world");
    assert_eq!((data.seq_number, data.ack_number), (iss + 1, 1006));
    assert!(out.iter().all(|t| t.offload.is_none()));
    assert_eq!(s.stats().ip6_out_requests as usize, 1 + out.len());
}

/// RFC 9293 3.7.1 ("SendMSS ... 536 for IPv4 or 1220 for IPv6") and RFC 8200 section
/// 8.3: on a link of IPv6's minimum MTU (1280) the MSS offered is 1220; a SYN without an
/// MSS option makes the send MSS 1220, not IPv4's 536; an IPv4 connection on the same
/// link offers 1240.
#[test]
fn mss_from_the_ipv6_mtu() {
    let (mut s, i) = stack_mtu(1280);
    let l = s.tcp_listen(sa6(Ipv6Addr::UNSPECIFIED, 80), 8).unwrap();
    s.receive(T0, i, &tcp6(&seg(TcpFlags::SYN, 1000, 0, b"")));
    let out = drain(&mut s);
    let (_, r) = parse_tcp6(&out[0].frame);
    assert_eq!(r.max_seg_size, Some(1220));
    let iss = r.seq_number;
    s.receive(T0, i, &tcp6(&seg(TcpFlags::ACK, 1001, iss + 1, b"")));
    let h = s.tcp_accept(l).unwrap().unwrap();
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 1220);
    // Active open: the SYN offers the same.
    let c = s.tcp_connect(T0, sa6(HOST, 8080), None).unwrap();
    let out = drain(&mut s);
    let (ip, syn) = parse_tcp6(&out[0].frame);
    assert_eq!((ip.src_addr, ip.dst_addr), (US, HOST));
    assert_eq!((syn.flags, syn.dst_port), (TcpFlags::SYN, 8080));
    assert_eq!(syn.max_seg_size, Some(1220));
    assert!(s.tcp_conn(c).unwrap().local().is_ipv6());
    // IPv4 on the same link: 1280 - 40.
    let _ = s
        .tcp_connect(T0, SocketAddr::new(HOST4.into(), 8080), None)
        .unwrap();
    let out = drain(&mut s);
    let p = crate::wire::Ipv4Packet::new_checked(&out[0].frame[..]).unwrap();
    let t = TcpPacket::new_checked(p.payload()).unwrap();
    let r4 = TcpRepr::parse(&t, p.src_addr(), p.dst_addr()).unwrap();
    assert_eq!(r4.max_seg_size, Some(1240));
}

/// RFC 3493 section 3.7 with Linux's bindv6only=0: a listener on `[::]` takes IPv4
/// connections too (reported with their IPv4 addresses), and `0.0.0.0` on its port is
/// then taken (`AddrInUse`), while `0.0.0.0` on another port does not take IPv6.
#[test]
fn dual_stack_listener() {
    let (mut s, i) = host_stack();
    let (h6, _) = handshake(&mut s, i, sa6(Ipv6Addr::UNSPECIFIED, 80));
    assert_eq!(s.tcp_conn(h6).unwrap().local(), sa6(US, 80));
    assert_eq!(
        s.tcp_listen(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 80), 8),
        Err(TcpError::AddrInUse)
    );
    // An IPv4 SYN to port 80 reaches the same listener.
    let r = seg(TcpFlags::SYN, 5000, 0, b"");
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), HOST4, US4);
    let ip = crate::wire::Ipv4Repr {
        src_addr: HOST4,
        dst_addr: US4,
        protocol: crate::wire::IpProtocol::Tcp,
        payload_len: b.len(),
        ttl: 64,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut pkt = vec![0u8; 20 + b.len()];
    ip.emit(&mut crate::wire::Ipv4Packet::new_unchecked(&mut pkt[..]));
    pkt[20..].copy_from_slice(&b);
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frame[0] >> 4, 4, "answered over IPv4");
    // An IPv4-only listener does not take IPv6.
    s.tcp_listen(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 81), 8)
        .unwrap();
    let mut syn = seg(TcpFlags::SYN, 1000, 0, b"");
    syn.dst_port = 81;
    s.receive(T0, i, &tcp6(&syn));
    let out = drain(&mut s);
    let (_, r) = parse_tcp6(&out[0].frame);
    assert_eq!(r.flags, TcpFlags::RST | TcpFlags::ACK);
}

// IPv6 connections on a device that offloads send TCPV6 super-segments: see
// `tests_offload6`.

// ---------------------------------------------------------------- UDP

fn udp6(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let r = UdpRepr {
        src_port: sport,
        dst_port: dport,
        payload: data,
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut UdpPacket::new_unchecked(&mut b[..]), HOST, US);
    ip6(HOST, US, nh::UDP, &b)
}

/// RFC 8200 section 8.1: "IPv6 receivers must discard UDP packets containing a zero
/// checksum". Such a datagram reaches no socket, earns no ICMPv6 error, and is counted
/// in Udp6InErrors and Udp6InCsumErrors; the same datagram checksummed is delivered.
#[test]
fn zero_udp_checksum_dropped_and_counted() {
    let (mut s, i) = host_stack();
    let u = s.udp_bind(sa6(US, 53)).unwrap();
    let mut zero = udp6(4000, 53, b"query");
    zero[40 + 6] = 0;
    zero[40 + 7] = 0;
    s.receive(T0, i, &zero);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.udp_recv(u).unwrap(), None);
    let st = s.stats();
    assert_eq!((st.udp6_in_errors, st.udp6_in_csum_errors), (1, 1));
    assert_eq!(st.get("Udp6InCsumErrors"), Some(1));
    s.receive(T0, i, &udp6(4000, 53, b"query"));
    let d = s.udp_recv(u).unwrap().expect("delivered");
    assert_eq!((d.from, d.to), (sa6(HOST, 4000), IpAddr::V6(US)));
    assert_eq!(d.data, b"query");
    assert_eq!(s.stats().udp6_in_datagrams, 1);
}

/// RFC 8200 section 8.1 on output: the stack's datagrams carry a checksum over the IPv6
/// pseudo-header, never zero; an answer goes from the bound address to the sender.
#[test]
fn udp_reply_over_ipv6() {
    let (mut s, i) = host_stack();
    let u = s.udp_bind(sa6(Ipv6Addr::UNSPECIFIED, 53)).unwrap();
    s.receive(T0, i, &udp6(4000, 53, b"q"));
    let d = s.udp_recv(u).unwrap().unwrap();
    s.udp_send_to(T0, u, b"answer", Some(d.from)).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let p = Ipv6Packet::new_checked(&out[0].frame[..]).unwrap();
    let ip = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(
        (ip.src_addr, ip.dst_addr, ip.next_header),
        (US, HOST, nh::UDP)
    );
    let up = UdpPacket::new_checked(&out[0].frame[40..]).unwrap();
    assert_ne!(up.checksum(), 0);
    let r = UdpRepr::parse(&up, ip.src_addr, ip.dst_addr).expect("checksum verifies");
    assert_eq!(
        (r.src_port, r.dst_port, r.payload),
        (53, 4000, &b"answer"[..])
    );
    assert_eq!(s.stats().udp6_out_datagrams, 1);
    // A socket bound to IPv4's wildcard cannot send to an IPv6 peer.
    let v4 = s
        .udp_bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
        .unwrap();
    assert_eq!(
        s.udp_send_to(T0, v4, b"x", Some(sa6(HOST, 9))),
        Err(UdpError::AddrNotAvailable)
    );
}

/// RFC 4443 section 3.1 (code 4) with RFC 1122 4.1.3.1: a datagram for a port with no
/// socket gets ICMPv6 port unreachable quoting it, counted in Udp6NoPorts.
#[test]
fn udp_to_closed_port_gets_port_unreachable() {
    let (mut s, i) = host_stack();
    let pkt = udp6(4000, 9999, b"anyone?");
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    let p = Ipv6Packet::new_checked(&out[0].frame[..]).unwrap();
    let ip = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(ip.next_header, nh::ICMPV6);
    let m = Icmpv6Packet::new_checked(p.payload()).unwrap();
    let r = Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, &m).unwrap();
    let Icmpv6Repr::DstUnreachable { reason, data } = r else {
        panic!("expected destination unreachable, got {r:?}");
    };
    assert_eq!(reason, DstUnreachable::PortUnreachable);
    assert_eq!(data, &pkt[..]);
    assert_eq!(s.stats().udp6_no_ports, 1);
}

/// RFC 4443 section 3.1 with RFC 1122 4.1.3.3: an ICMPv6 port unreachable quoting a
/// datagram of a connected socket is reported on its next call as `ConnectionRefused`
/// (once); an unconnected socket is not told.
#[test]
fn icmp6_port_unreachable_reaches_a_connected_socket() {
    let (mut s, i) = host_stack();
    let u = s.udp_bind(sa6(US, 5000)).unwrap();
    s.udp_connect(u, sa6(HOST, 53)).unwrap();
    s.udp_send_to(T0, u, b"query", None).unwrap();
    let out = drain(&mut s);
    let sent = out[0].frame.clone();
    let err = Icmpv6Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        data: &sent,
    };
    let mut m = vec![0u8; err.buffer_len()];
    err.emit(HOST, US, &mut m).unwrap();
    s.receive(T0, i, &ip6(HOST, US, nh::ICMPV6, &m));
    assert_eq!(s.udp_recv(u), Err(UdpError::ConnectionRefused));
    assert_eq!(s.udp_recv(u), Ok(None));
    // Not connected: nothing to report.
    let v = s.udp_bind(sa6(US, 5001)).unwrap();
    s.udp_send_to(T0, v, b"query", Some(sa6(HOST, 53))).unwrap();
    let sent = drain(&mut s)[0].frame.clone();
    let err = Icmpv6Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        data: &sent,
    };
    let mut m = vec![0u8; err.buffer_len()];
    err.emit(HOST, US, &mut m).unwrap();
    s.receive(T0, i, &ip6(HOST, US, nh::ICMPV6, &m));
    assert_eq!(s.udp_recv(v), Ok(None));
}

/// RFC 1122 3.3.1 over IPv6: a connection to the stack's own IPv6 address loops back
/// inside the stack (never reaching a device) and completes its handshake and data.
#[test]
fn connection_to_our_own_ipv6_address_loops_back() {
    let (mut s, _) = host_stack();
    let l = s.tcp_listen(sa6(US, 80), 8).unwrap();
    let c = s.tcp_connect(T0, sa6(US, 80), None).unwrap();
    for _ in 0..4 {
        s.handle_timeout(T0);
    }
    assert!(drain(&mut s).is_empty(), "nothing leaves for a device");
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    assert_eq!(s.tcp_conn(c).unwrap().state(), State::Established);
    assert_eq!(
        s.tcp_conn(h).unwrap().remote(),
        s.tcp_conn(c).unwrap().local()
    );
    assert_eq!(s.tcp_send(T0, c, b"to myself").unwrap(), 9);
    s.handle_timeout(T0);
    let mut buf = [0u8; 16];
    assert_eq!(s.tcp_recv(T0, h, &mut buf).unwrap(), 9);
    assert_eq!(&buf[..9], b"to myself");
}

/// RFC 8200 section 8.1 on the path that verifies the checksum in the copy into the
/// receive buffer: once the connection has storage, an in-order IPv6 segment with one
/// payload bit flipped is dropped and counted (TcpInErrs, TcpInCsumErrors), and the intact
/// segment after it is read as sent.
#[test]
fn corrupted_in_order_ipv6_segment_is_dropped_and_counted() {
    let (mut s, i) = host_stack();
    let (h, iss) = handshake(&mut s, i, sa6(US, 80));
    let first = tcp6(&seg(TcpFlags::ACK, 1001, iss + 1, b"warm"));
    s.receive(T0, i, &first);
    let mut buf = [0u8; 2000];
    assert_eq!(s.tcp_recv(T0, h, &mut buf).unwrap(), 4);
    drain(&mut s);
    let payload: Vec<u8> = (0..1001u32).map(|n| (n * 13 % 251) as u8).collect();
    let mut bad = tcp6(&seg(TcpFlags::ACK, 1005, iss + 1, &payload));
    let at = bad.len() - 500;
    bad[at] ^= 0x10;
    s.receive(T0, i, &bad);
    assert_eq!(
        (s.stats().tcp_in_errs, s.stats().tcp_in_csum_errors),
        (1, 1)
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.tcp_conn(h).unwrap().recv_queue(), 0);
    s.receive(T0, i, &tcp6(&seg(TcpFlags::ACK, 1005, iss + 1, &payload)));
    assert_eq!(s.tcp_recv(T0, h, &mut buf).unwrap(), payload.len());
    assert_eq!(&buf[..payload.len()], &payload[..]);
    assert_eq!(s.stats().tcp_in_csum_errors, 1);
}
