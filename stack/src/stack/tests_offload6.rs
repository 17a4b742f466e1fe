//! Packet tests of the offload path over IPv6: TCP/IPv6 super-segments (`gso_type`
//! TCPV6) in from a device that offloads, taken whole or split in software, and built by
//! the sender for the device to cut.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::*;
use crate::iface::{InterfaceConfig, Ipv6Cidr};
use crate::tcp::layer::TcpHandle;
use crate::time::Duration;
use crate::wire::ipv6::{next_header as nh, Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::virtio::{self, GsoType};

const US: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const T0: Instant = Instant::from_secs(10);
/// The MSS over IPv6 on a 1500-byte link: 1500 - 40 - 20.
const MSS: usize = 1440;
const PEER_ISN: u32 = 1_000;

fn stack(offload: bool) -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(7));
    let cfg = InterfaceConfig::ip("tun0", "10.77.0.2/24".parse().unwrap())
        .with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    let i = s.add_interface(cfg);
    s.set_offload(i, offload);
    (s, i)
}

/// A segment HOST:40000 -> US:9 over IPv6 (complete checksum), with `ext` bytes of
/// Destination Options (a multiple of 8, 0 for none) before TCP.
fn segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8], ext: usize) -> Vec<u8> {
    let mut r = crate::tcp::output::bare_repr(40_000, 9);
    r.flags = flags;
    r.seq_number = seq;
    r.ack_number = ack;
    r.window_len = 65_535;
    r.payload = payload;
    if flags.contains(TcpFlags::SYN) {
        r.max_seg_size = Some(MSS as u16);
        r.window_scale = Some(7);
    }
    let ip = Ipv6Repr {
        src_addr: HOST,
        dst_addr: US,
        next_header: if ext > 0 { nh::DST_OPTS } else { nh::TCP },
        payload_len: ext + r.buffer_len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut buf = vec![0u8; 40 + ip.payload_len];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]))
        .unwrap();
    if ext > 0 {
        buf[40] = nh::TCP;
        buf[41] = (ext / 8 - 1) as u8;
        buf[42] = 1; // PadN over the rest
        buf[43] = (ext - 4) as u8;
    }
    r.emit(
        &mut TcpPacket::new_unchecked(&mut buf[40 + ext..]),
        HOST,
        US,
    );
    buf
}

/// `packet` (TCP at `40 + ext`) as the kernel hands a TCPV6 super-segment over: the
/// checksum field holding only the pseudo-header sum, and the header that says so.
fn as_super_segment(mut packet: Vec<u8>, ext: usize, mss: u16) -> (Vec<u8>, VirtioNetHdr) {
    let at = 40 + ext;
    let partial = virtio::partial_checksum6(HOST, US, 6, packet.len() - at);
    packet[at + 16..at + 18].copy_from_slice(&partial.to_be_bytes());
    (packet, VirtioNetHdr::tcp6_tso(0, at, 20, mss))
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// The TCP header of an output frame (its checksum completed first when it is partial).
#[track_caller]
fn tcp_of(t: &Transmit) -> (TcpRepr<'static>, usize) {
    let mut frame = t.frame.clone();
    if t.offload.needs_csum() {
        assert_eq!((t.offload.csum_start, t.offload.csum_offset), (40, 16));
        virtio::complete_checksum(&mut frame, 40, 16).unwrap();
    }
    let frame: &'static [u8] = Box::leak(frame.into_boxed_slice());
    let tcp = TcpRepr::parse(&TcpPacket::new_checked(&frame[40..]).unwrap(), US, HOST)
        .expect("a valid segment once its checksum is completed");
    let len = tcp.payload.len();
    (tcp, len)
}

/// A connection accepted on port 9 after a handshake; returns it and our ISN.
fn established(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32) {
    let l = s.tcp_listen(SocketAddr::new(IpAddr::V6(US), 9), 8).unwrap();
    s.receive(T0, i, &segment(TcpFlags::SYN, PEER_ISN, 0, &[], 0));
    let out = drain(s);
    assert_eq!(out.len(), 1, "a SYN-ACK");
    let iss = tcp_of(&out[0]).0.seq_number;
    let ack = segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), &[], 0);
    s.receive(T0, i, &ack);
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    (h, iss)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|n| (n % 251) as u8).collect()
}

/// A TCPV6 super-segment of ten wire segments is taken in one pass, as over IPv4: its
/// partial checksum is the kernel's promise (virtio 1.2 5.1.6.2), TcpInSegs counts the
/// ten (Linux's `gso_segs`), and one stretch ACK answers the run.
#[test]
fn ipv6_super_segment_in_is_taken_whole_and_answered_once() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let d = data(10 * MSS);
    let pkt = segment(TcpFlags::ACK | TcpFlags::PSH, PEER_ISN + 1, iss + 1, &d, 0);
    let (sup, hdr) = as_super_segment(pkt, 0, MSS as u16);
    let before = s.stats().tcp_in_segs;
    s.receive_offload(T0, i, &sup, &hdr);
    assert_eq!(s.stats().tcp_in_segs - before, 10);
    assert_eq!(s.stats().tun_gso_in, 1);
    assert_eq!(s.stats().tcp_in_errs, 0);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "one ACK for the run: {out:?}");
    assert_eq!(tcp_of(&out[0]).0.ack_number, PEER_ISN + 1 + d.len() as u32);
    let mut got = vec![0u8; d.len() + 10];
    let n = s.tcp_recv(T0, h, &mut got).unwrap();
    assert_eq!(&got[..n], &d[..]);
}

/// Behind a Destination Options header (RFC 8200 4.6) the super-segment is split in
/// software into wire segments with complete checksums, each counted once: the data
/// arrives all the same.
#[test]
fn ipv6_super_segment_behind_options_is_split_and_delivered() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let d = data(4 * MSS + 100);
    let pkt = segment(TcpFlags::ACK, PEER_ISN + 1, iss + 1, &d, 8);
    let (sup, hdr) = as_super_segment(pkt, 8, MSS as u16);
    let before = s.stats().tcp_in_segs;
    s.receive_offload(T0, i, &sup, &hdr);
    assert_eq!(s.stats().tcp_in_segs - before, 5);
    assert_eq!((s.stats().tun_gso_in, s.stats().tcp_in_errs), (1, 0));
    let mut got = vec![0u8; d.len() + 10];
    let n = s.tcp_recv(T0, h, &mut got).unwrap();
    assert_eq!(&got[..n], &d[..]);
}

/// A TCPV6 header that does not fit its packet (a checksum start inside the IPv6
/// header, or TCPV4 on an IPv6 packet) drops the frame, counted in TunVnetHdrErrors.
#[test]
fn ipv6_super_segment_with_a_bad_header_is_dropped_and_counted() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let pkt = segment(TcpFlags::ACK, PEER_ISN + 1, iss + 1, &data(4 * MSS), 0);
    let (sup, good) = as_super_segment(pkt, 0, MSS as u16);
    let bad = [
        VirtioNetHdr {
            csum_start: 20,
            ..good
        },
        VirtioNetHdr {
            gso_type: GsoType::TcpV4,
            ..good
        },
    ];
    for (k, hdr) in bad.iter().enumerate() {
        s.receive_offload(T0, i, &sup, hdr);
        assert_eq!(s.stats().tun_vnet_hdr_errors, k as u64 + 1);
    }
    assert_eq!(s.stats().tun_gso_in, 0);
    assert_eq!(s.tcp_conn(h).unwrap().recv_queue(), 0);
    assert!(drain(&mut s).is_empty());
}

/// With offload, an IPv6 bulk send leaves in TCPV6 super-segments of whole MSS-sized
/// segments (RFC 9293 3.7.1), the checksum partial over the IPv6 pseudo-header (RFC 8200
/// 8.1) from `csum_start` 40; counted as wire segments in TcpOutSegs and once in
/// TunGsoOut; cut in software they are the byte stream with valid checksums.
#[test]
fn ipv6_bulk_data_leaves_in_super_segments() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let d = data(40 * MSS);
    let out_before = s.stats().tcp_out_segs;
    assert_eq!(s.tcp_send(T0, h, &d), Ok(d.len()));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "the initial window in one: {out:?}");
    let hdr = out[0].offload;
    assert_eq!(hdr.gso_type, GsoType::TcpV6);
    assert_eq!(usize::from(hdr.gso_size), MSS);
    assert!(hdr.needs_csum());
    assert_eq!(hdr.check_ipv6(0, &out[0].frame), Ok(()));
    assert_eq!(s.stats().tun_gso_out, 1);
    assert_eq!(s.stats().tcp_out_segs - out_before, 10);
    let mut wire = Vec::new();
    crate::link::wire_frames(0, &out[0].frame, &hdr, &mut |f| wire.push(f.to_vec())).unwrap();
    assert_eq!(wire.len(), 10);
    let mut stream = Vec::new();
    for (k, f) in wire.iter().enumerate() {
        assert_eq!(f.len(), 40 + 20 + MSS, "one MSS each, no options");
        let tcp = TcpRepr::parse(&TcpPacket::new_checked(&f[40..]).unwrap(), US, HOST)
            .expect("each wire segment verifies");
        assert_eq!(tcp.seq_number, iss + 1 + (k * MSS) as u32);
        stream.extend_from_slice(tcp.payload);
    }
    assert_eq!(stream, d[..10 * MSS]);
    // A stretch ACK for all ten: the next flight goes in whole segments, each
    // super-segment's Payload Length within 16 bits.
    let acked = iss + 1 + (10 * MSS) as u32;
    let ack = segment(TcpFlags::ACK, PEER_ISN + 1, acked, &[], 0);
    s.receive(T0 + Duration::from_millis(1), i, &ack);
    let out = drain(&mut s);
    assert!(!out.is_empty());
    for t in &out {
        let (_, len) = tcp_of(t);
        assert!(t.frame.len() - 40 <= 65_535);
        assert_eq!(len % MSS, 0, "whole segments only");
    }
}

/// Without offload on the interface, IPv6 data segments are one MSS each with complete
/// checksums, as before.
#[test]
fn ipv6_without_offload_segments_are_wire_sized() {
    let (mut s, i) = stack(false);
    let (h, _) = established(&mut s, i);
    s.tcp_send(T0, h, &data(20 * MSS)).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 10);
    for t in &out {
        assert!(t.offload.is_none());
        assert!(tcp_of(t).1 <= MSS);
    }
    assert_eq!(s.stats().tun_gso_out, 0);
}
