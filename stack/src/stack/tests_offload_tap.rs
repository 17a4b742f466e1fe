//! Packet tests of the offloads on an Ethernet interface (a TAP device opened with the
//! virtio-net header): the header's offsets count the 14-byte Ethernet header both ways
//! (virtio 1.2 5.1.6.2, "csum_start ... from the start of the packet"), and a
//! super-segment held while ARP resolves its next hop leaves with its header.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::test_host::{drain, host_packet, host_repr, HOST, US};
use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::tcp::layer::TcpHandle;
use crate::time::Duration;
use crate::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, HEADER_LEN};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::virtio::{self, GsoType};

const OTHER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 3);
const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
const HOST_MAC: EthernetAddress = EthernetAddress([0x0a, 0, 0, 0, 0, 0x01]);
const OTHER_MAC: EthernetAddress = EthernetAddress([0x0a, 0, 0, 0, 0, 0x03]);
const T0: Instant = Instant::from_secs(10);
const MSS: usize = 1460;
const PEER_ISN: u32 = 1_000;

/// A stack on one Ethernet link whose device offloads (or not), announcements sent.
fn tap_stack(offload: bool, config: StackConfig) -> (Stack, IfaceId) {
    let mut s = Stack::new(config, Rng::new(1));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ethernet("tap0", cidr, Some(OUR_MAC)));
    s.set_offload(i, offload);
    s.handle_timeout(Instant::ZERO);
    s.handle_timeout(Instant::ZERO + ethernet::ANNOUNCE_INTERVAL);
    drain(&mut s);
    (s, i)
}

/// Sends what is ready, runs the timers due by `now` (a first ARP request), sends again.
fn step(s: &mut Stack, now: Instant) -> Vec<Transmit> {
    let mut out = drain(s);
    if s.poll_at().is_some_and(|t| t <= now) {
        s.handle_timeout(now);
    }
    out.extend(drain(s));
    out
}

fn arp_reply(from_mac: EthernetAddress, from: Ipv4Addr) -> Vec<u8> {
    let repr = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: from_mac,
        source_protocol_addr: from,
        target_hardware_addr: OUR_MAC,
        target_protocol_addr: US,
    };
    let mut p = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut p[..]));
    ethernet::frame(from_mac, OUR_MAC, EtherType::Arp, &p)
}

/// An Ethernet frame from the host carrying a TCP segment from its port 40000 to our
/// port 9, complete checksum.
fn segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8], syn_opts: bool) -> Vec<u8> {
    let packet = host_packet(&TcpRepr {
        max_seg_size: syn_opts.then_some(MSS as u16),
        window_scale: syn_opts.then_some(7),
        ..host_repr(flags, seq, ack, payload)
    });
    ethernet::frame(HOST_MAC, OUR_MAC, EtherType::Ipv4, &packet)
}

/// The IP packet of an Ethernet frame sent to `dst`.
#[track_caller]
fn ip_to(t: &Transmit, dst: EthernetAddress) -> Vec<u8> {
    let f = EthernetFrame::new_checked(&t.frame[..]).unwrap();
    let eth = EthernetRepr::parse(&f).unwrap();
    assert_eq!((eth.src_addr, eth.dst_addr), (OUR_MAC, dst));
    assert_eq!(eth.ethertype, EtherType::Ipv4);
    f.payload().to_vec()
}

/// The TCP header of a frame sent to the host (its checksum completed first when the
/// offload header leaves it partial).
#[track_caller]
fn tcp_of(t: &Transmit) -> TcpRepr<'static> {
    let mut packet = ip_to(t, HOST_MAC);
    if t.offload.needs_csum() {
        virtio::complete_checksum(&mut packet, 20, 16).unwrap();
    }
    let packet: &'static [u8] = Box::leak(packet.into_boxed_slice());
    TcpRepr::parse(&TcpPacket::new_checked(&packet[20..]).unwrap(), US, HOST)
        .expect("a valid segment once its checksum is completed")
}

/// A connection accepted on port 9 after a handshake (the SYN-ACK waits for ARP);
/// returns it and our ISN.
fn established(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32) {
    let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
    s.receive(T0, i, &segment(TcpFlags::SYN, PEER_ISN, 0, &[], true));
    let out = step(s, T0);
    assert_eq!(out.len(), 1, "an ARP request, the SYN-ACK held: {out:?}");
    s.receive(T0, i, &arp_reply(HOST_MAC, HOST));
    let out = drain(s);
    assert_eq!(out.len(), 1, "the SYN-ACK released: {out:?}");
    let iss = tcp_of(&out[0]).seq_number;
    s.receive(
        T0,
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), &[], false),
    );
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    (h, iss)
}

/// Cuts an offloaded Ethernet frame as the kernel would and checks each piece: behind
/// the same Ethernet header, a valid checksum, MSS-sized, in sequence from `seq`.
/// Returns the payload bytes.
#[track_caller]
fn cut(t: &Transmit, seq: u32) -> Vec<u8> {
    let mut pieces = Vec::new();
    crate::link::wire_frames(HEADER_LEN, &t.frame, &t.offload, &mut |f| {
        pieces.push(f.to_vec())
    })
    .expect("the header fits the frame behind its Ethernet header");
    let mut stream = Vec::new();
    for (k, f) in pieces.iter().enumerate() {
        assert_eq!(&f[..HEADER_LEN], &t.frame[..HEADER_LEN]);
        let tcp = TcpRepr::parse(
            &TcpPacket::new_checked(&f[HEADER_LEN + 20..]).unwrap(),
            US,
            HOST,
        )
        .expect("each wire segment verifies");
        assert_eq!(tcp.seq_number, seq + (k * MSS) as u32);
        assert_eq!(tcp.payload.len(), MSS);
        stream.extend_from_slice(tcp.payload);
    }
    stream
}

/// A super-segment from the kernel behind an Ethernet header (`csum_start` 34: 14 + 20)
/// is taken whole, as on TUN: all its data delivered on the kernel's promise of a
/// checksum, counted once in TunGsoIn and as its ten wire segments in TcpInSegs, one ACK
/// for the run.
#[test]
fn a_super_segment_in_behind_ethernet_is_taken_whole() {
    let (mut s, i) = tap_stack(true, StackConfig::default());
    let (h, iss) = established(&mut s, i);
    let data: Vec<u8> = (0..10 * MSS).map(|n| (n % 251) as u8).collect();
    let mut frame = segment(
        TcpFlags::ACK | TcpFlags::PSH,
        PEER_ISN + 1,
        iss + 1,
        &data,
        false,
    );
    let partial = virtio::partial_checksum(HOST, US, 6, frame.len() - HEADER_LEN - 20);
    frame[HEADER_LEN + 36..HEADER_LEN + 38].copy_from_slice(&partial.to_be_bytes());
    let hdr = VirtioNetHdr::tcp4_tso(HEADER_LEN, 20, 20, MSS as u16);
    let segs_before = s.stats().tcp_in_segs;
    s.receive_offload(T0, i, &frame, &hdr);
    assert_eq!(s.stats().tun_vnet_hdr_errors, 0);
    assert_eq!(s.stats().tun_gso_in, 1);
    assert_eq!(s.stats().tcp_in_segs - segs_before, 10);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "one ACK for the run: {out:?}");
    let ack = tcp_of(&out[0]);
    assert_eq!(ack.ack_number, PEER_ISN + 1 + data.len() as u32);
    let mut got = vec![0u8; data.len() + 10];
    let n = s.tcp_recv(T0, h, &mut got).unwrap();
    assert_eq!(&got[..n], &data[..]);

    // The header the TUN path would use (offsets from the IP header) does not fit an
    // Ethernet frame: dropped and counted.
    let bare = VirtioNetHdr::tcp4_tso(0, 20, 20, MSS as u16);
    s.receive_offload(T0, i, &frame, &bare);
    assert_eq!(s.stats().tun_vnet_hdr_errors, 1);
}

/// A bulk send on an offloading Ethernet interface leaves in one super-segment whose
/// header counts the Ethernet header (`csum_start` 34, `hdr_len` 54); cut as the kernel
/// cuts it, it is the byte stream in MSS-sized segments with valid checksums.
#[test]
fn super_segments_out_count_the_ethernet_header() {
    let (mut s, i) = tap_stack(true, StackConfig::default());
    let (h, iss) = established(&mut s, i);
    let data: Vec<u8> = (0..10 * MSS).map(|n| (n % 239) as u8).collect();
    assert_eq!(s.tcp_send(T0, h, &data), Ok(data.len()));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "{out:?}");
    let hdr = out[0].offload;
    assert_eq!(hdr.gso_type, GsoType::TcpV4);
    assert_eq!(usize::from(hdr.gso_size), MSS);
    assert_eq!(usize::from(hdr.csum_start), HEADER_LEN + 20);
    assert_eq!(hdr.csum_offset, 16);
    let tcp_hl = usize::from(out[0].frame[HEADER_LEN + 32] >> 4) * 4;
    assert_eq!(usize::from(hdr.hdr_len), HEADER_LEN + 20 + tcp_hl);
    assert_eq!(s.stats().tun_gso_out, 1);
    assert_eq!(cut(&out[0], iss + 1), data);

    // Without offload the same send leaves as ten wire frames with complete checksums.
    let (mut s, i) = tap_stack(false, StackConfig::default());
    let (h, _) = established(&mut s, i);
    s.tcp_send(T0, h, &data).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 10);
    for t in &out {
        assert!(t.offload.is_none());
        assert_eq!(tcp_of(t).payload.len(), MSS);
    }
}

/// RFC 1122 2.3.2.2: a datagram for an address being resolved is held and sent when the
/// answer comes. A TCP super-segment held so leaves as it would have without the wait:
/// its offload header kept through the queue and moved behind the Ethernet header.
#[test]
fn a_super_segment_held_for_arp_keeps_its_offload_header() {
    let mut config = StackConfig::default();
    config.arp.max_entries = 1;
    let (mut s, i) = tap_stack(true, config);
    let (h, iss) = established(&mut s, i);
    // Resolving another address evicts the host's entry (the table holds one).
    let id = s.echo_open().unwrap();
    s.echo_send(T0, id, OTHER, 1, None, b"ping").unwrap();
    let out = step(&mut s, T0);
    assert_eq!(
        out.len(),
        1,
        "an ARP request for the other address: {out:?}"
    );
    s.receive(T0, i, &arp_reply(OTHER_MAC, OTHER));
    assert_eq!(drain(&mut s).len(), 1, "the echo request released");
    assert_eq!(s.neighbors().len(), 1);

    // The host must be resolved again: the super-segment waits.
    let data: Vec<u8> = (0..10 * MSS).map(|n| (n % 233) as u8).collect();
    s.tcp_send(T0, h, &data).unwrap();
    let t1 = T0 + Duration::from_millis(1);
    let out = step(&mut s, t1);
    assert_eq!(out.len(), 1, "only the ARP request goes: {out:?}");
    assert_eq!(s.neighbors().held(), 1, "the super-segment is held");
    s.receive(t1, i, &arp_reply(HOST_MAC, HOST));
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "the super-segment released: {out:?}");
    assert_eq!(out[0].offload.gso_type, GsoType::TcpV4);
    assert_eq!(usize::from(out[0].offload.csum_start), HEADER_LEN + 20);
    ip_to(&out[0], HOST_MAC);
    assert_eq!(cut(&out[0], iss + 1), data);
    assert_eq!(s.stats().arp_unresolved_discards, 0);
}
