//! Packet tests of TCP path MTU discovery over IPv6 (RFC 8201): ICMPv6 Packet Too Big
//! checked against the connection (RFC 5927 4.1) and acted on, IPv6's 1280-byte floor.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::*;
use crate::iface::{InterfaceConfig, Ipv6Cidr};
use crate::tcp::layer::TcpHandle;
use crate::tcp::pmtu::PMTU_RAISE_AFTER;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{next_header as nh, Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

const US: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
/// A router on the path, the source of the Packet Too Big messages.
const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 0xfe);
const T0: Instant = Instant::from_secs(10);
/// The peer's MSS: its link MTU 1500 less 60.
const MSS: usize = 1440;
const PEER_ISN: u32 = 9_000;

fn stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(62));
    let cfg = InterfaceConfig::ip("tun0", "10.77.0.2/24".parse().unwrap())
        .with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    let i = s.add_interface(cfg);
    (s, i)
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

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

/// A segment HOST:40000 -> US:80.
fn segment(flags: TcpFlags, seq: u32, ack: u32, syn: bool) -> Vec<u8> {
    let mut r = crate::tcp::output::bare_repr(40_000, 80);
    r.flags = flags;
    r.seq_number = seq;
    r.ack_number = ack;
    r.window_len = 65_535;
    if syn {
        r.max_seg_size = Some(MSS as u16);
        r.window_scale = Some(7);
    }
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut b[..]), HOST, US);
    ip6(HOST, US, nh::TCP, &b)
}

/// An ICMPv6 Packet Too Big from [`ROUTER`] reporting `mtu`, quoting `sent` (as much as
/// fits in 1280 bytes, RFC 4443 3.2).
fn packet_too_big(sent: &[u8], mtu: u32) -> Vec<u8> {
    let repr = Icmpv6Repr::PacketTooBig {
        mtu,
        data: &sent[..sent.len().min(1280 - 48)],
    };
    let mut m = vec![0u8; repr.buffer_len()];
    repr.emit(ROUTER, US, &mut m).unwrap();
    ip6(ROUTER, US, nh::ICMPV6, &m)
}

/// `sent` with its quoted sequence number replaced by `seq`.
fn with_seq(sent: &[u8], seq: u32) -> Vec<u8> {
    let mut f = sent.to_vec();
    f[44..48].copy_from_slice(&seq.to_be_bytes());
    f
}

#[track_caller]
fn parse_out(t: &Transmit) -> TcpRepr<'_> {
    let p = Ipv6Packet::new_checked(&t.frame[..]).expect("an IPv6 packet");
    let ip = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(ip.next_header, nh::TCP);
    TcpRepr::parse(&TcpPacket::new_checked(&t.frame[40..]).unwrap(), US, HOST)
        .expect("a valid segment")
}

/// A connection accepted on [fd00:77::2]:80 with ten full segments in flight; returns
/// it, our ISN, the frames and the data.
fn in_flight(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32, Vec<Transmit>, Vec<u8>) {
    let l = s
        .tcp_listen(SocketAddr::new(IpAddr::V6(US), 80), 8)
        .unwrap();
    s.receive(T0, i, &segment(TcpFlags::SYN, PEER_ISN, 0, true));
    let out = drain(s);
    assert_eq!(out.len(), 1, "a SYN-ACK");
    let iss = parse_out(&out[0]).seq_number;
    s.receive(
        T0,
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), false),
    );
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    let data: Vec<u8> = (0..10 * MSS).map(|n| (n % 241) as u8).collect();
    assert_eq!(s.tcp_send(T0, h, &data), Ok(data.len()));
    let out = drain(s);
    assert_eq!(out.len(), 10, "the initial window");
    for t in &out {
        assert_eq!(parse_out(t).payload.len(), MSS);
    }
    (h, iss, out, data)
}

/// RFC 8201 section 4 and 5.4, RFC 5927 4.1: a Packet Too Big of 1280 quoting a segment
/// in flight lowers the MSS to 1220 (1280 less 60); the flight goes again at once in
/// segments that size with the same bytes, cwnd and ssthresh unchanged.
#[test]
fn packet_too_big_in_window_lowers_mss_and_resends_at_once() {
    let (mut s, i) = stack();
    let (h, iss, out, data) = in_flight(&mut s, i);
    let before = s.tcp_conn(h).unwrap().info();
    s.receive(T0, i, &packet_too_big(&out[2].frame, 1280));
    assert_eq!(s.stats().icmp6_in_pkt_too_bigs, 1);
    assert_eq!(s.stats().tcp_pmtu_lowered, 1);
    let after = s.tcp_conn(h).unwrap().info();
    assert_eq!((after.pmtu, after.mss), (1280, 1220));
    assert_eq!((after.cwnd, after.ssthresh), (before.cwnd, before.ssthresh));
    let resent = drain(&mut s);
    // 14400 bytes of cwnd: eleven segments of 1220; the 980-byte tail waits (Nagle).
    assert_eq!(resent.len(), 11);
    let mut stream = Vec::new();
    for (k, t) in resent.iter().enumerate() {
        assert!(t.frame.len() <= 1280, "fits the path");
        let r = parse_out(t);
        assert_eq!(r.seq_number, iss + 1 + (k * 1220) as u32);
        assert_eq!(r.payload.len(), 1220);
        stream.extend_from_slice(r.payload);
    }
    assert_eq!(stream, data[..11 * 1220]);
}

/// RFC 8201 section 4: "If a node receives a Packet Too Big message reporting a next-hop
/// MTU that is less than the IPv6 minimum link MTU, it must discard it"; the MSS stays.
/// A report not below the estimate is ignored too.
#[test]
fn packet_too_big_below_1280_or_not_smaller_is_discarded() {
    let (mut s, i) = stack();
    let (h, _, out, _) = in_flight(&mut s, i);
    for mtu in [1000, 68, 0, 1500, 9000] {
        s.receive(T0, i, &packet_too_big(&out[0].frame, mtu));
        assert!(drain(&mut s).is_empty(), "MTU {mtu}: nothing resent");
        assert_eq!(s.tcp_conn(h).unwrap().info().mss, MSS, "MTU {mtu}");
    }
    assert_eq!(s.stats().tcp_pmtu_lowered, 0);
    assert_eq!(s.stats().tcp_out_of_window_icmps, 0);
}

/// RFC 5927 4.1 over IPv6: a Packet Too Big quoting a sequence number outside
/// SND.UNA..SND.NXT is ignored and counted in TcpExtOutOfWindowIcmps.
#[test]
fn forged_packet_too_big_out_of_window_is_ignored_and_counted() {
    let (mut s, i) = stack();
    let (h, iss, out, _) = in_flight(&mut s, i);
    let snd_nxt = iss + 1 + (10 * MSS) as u32;
    for (n, seq) in [iss, snd_nxt, snd_nxt + 50_000].into_iter().enumerate() {
        s.receive(T0, i, &packet_too_big(&with_seq(&out[0].frame, seq), 1280));
        assert_eq!(s.stats().tcp_out_of_window_icmps, n as u64 + 1);
        assert!(drain(&mut s).is_empty());
    }
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, MSS);
}

/// RFC 8201 section 4: the estimate goes back to the link MTU ten minutes later.
#[test]
fn raise_timer_restores_the_ipv6_mss() {
    let (mut s, i) = stack();
    let (h, iss, out, _) = in_flight(&mut s, i);
    s.receive(T0, i, &packet_too_big(&out[0].frame, 1400));
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 1340);
    drain(&mut s);
    let all = iss + 1 + (10 * MSS) as u32;
    s.receive(T0, i, &segment(TcpFlags::ACK, PEER_ISN + 1, all, false));
    drain(&mut s);
    let raise = T0 + PMTU_RAISE_AFTER;
    while let Some(at) = s.poll_at().filter(|&at| at < raise) {
        s.handle_timeout(at);
        drain(&mut s);
    }
    s.handle_timeout(raise);
    let info = s.tcp_conn(h).unwrap().info();
    assert_eq!((info.pmtu, info.mss), (1500, MSS));
}
