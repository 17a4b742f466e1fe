//! The virtio-net header with IPv6: `TCPV6` super-segments (parse/emit, checks,
//! software segmentation) and partial checksums past extension headers.

use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::ipv6::{next_header, Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpTimestamp};
use crate::wire::testutil::hostile_buffers;

const SRC: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const DST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);

/// A TCP/IPv6 packet with `payload` (complete checksum), flags as given, timestamps on,
/// and `ext` bytes of Destination Options (a multiple of 8, 0 for none) before TCP.
fn tcp6_packet(payload: &[u8], flags: TcpFlags, ext: usize) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: 40_000,
        dst_port: 9,
        flags,
        seq_number: 0xffff_f000, // wraps inside a super-segment
        ack_number: 77,
        window_len: 1000,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: Some(TcpTimestamp { tsval: 5, tsecr: 6 }),
        payload,
    };
    let ip = Ipv6Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: if ext > 0 { 60 } else { next_header::TCP },
        payload_len: ext + tcp.buffer_len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0x12345,
    };
    let mut buf = vec![0u8; 40 + ip.payload_len];
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]))
        .unwrap();
    if ext > 0 {
        // Destination Options: next header TCP, length, then PadN filling the rest.
        buf[40] = next_header::TCP;
        buf[41] = (ext / 8 - 1) as u8;
        buf[42] = 1;
        buf[43] = (ext - 4) as u8;
    }
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut buf[40 + ext..]),
        SRC,
        DST,
    );
    buf
}

/// `packet` with its TCP checksum (TCP at `at`) replaced by the partial sum.
fn with_partial_checksum(mut packet: Vec<u8>, at: usize) -> Vec<u8> {
    let partial = partial_checksum6(SRC, DST, 6, packet.len() - at);
    packet[at + 16..at + 18].copy_from_slice(&partial.to_be_bytes());
    packet
}

#[test]
fn a_tcpv6_header_round_trips_and_checks() {
    let h = VirtioNetHdr::tcp6_tso(0, 40, 32, 1428);
    assert_eq!(h.gso_type, GsoType::TcpV6);
    assert_eq!(h.to_bytes()[1], 4, "VIRTIO_NET_HDR_GSO_TCPV6");
    assert_eq!((h.csum_start, h.csum_offset, h.hdr_len), (40, 16, 72));
    assert_eq!(VirtioNetHdr::parse(&h.to_bytes()), Ok(h));
    let ecn = VirtioNetHdr { ecn: true, ..h };
    assert_eq!(ecn.to_bytes()[1], 0x84);
    assert_eq!(VirtioNetHdr::parse(&ecn.to_bytes()), Ok(ecn));
    let p = tcp6_packet(&[7u8; 5000], TcpFlags::ACK, 0);
    assert_eq!(h.check_ipv6(0, &p), Ok(()));
    assert_eq!(
        VirtioNetHdr::tcp6_tso(14, 40, 32, 1428).check_ipv6(14, &p),
        Ok(())
    );
    // Past 16 bytes of Destination Options the transport starts at 56.
    let e = tcp6_packet(&[7u8; 5000], TcpFlags::ACK, 16);
    assert_eq!(ipv6_transport(&e), Ok((6, 56)));
    assert_eq!(
        VirtioNetHdr::tcp6_tso(0, 56, 32, 1428).check_ipv6(0, &e),
        Ok(())
    );
    assert_eq!(h.check_ipv6(0, &e), Err(Error::Malformed));
}

#[test]
fn bad_tcpv6_headers_are_rejected() {
    let p = tcp6_packet(&[7u8; 5000], TcpFlags::ACK, 0);
    let good = VirtioNetHdr::tcp6_tso(0, 40, 32, 1428);
    let cases = [
        (
            "csum_start in the IPv6 header",
            VirtioNetHdr {
                csum_start: 20,
                ..good
            },
        ),
        (
            "csum_offset not TCP's",
            VirtioNetHdr {
                csum_offset: 6,
                ..good
            },
        ),
        (
            "hdr_len beyond the packet",
            VirtioNetHdr {
                hdr_len: 6000,
                ..good
            },
        ),
        (
            "gso_size zero",
            VirtioNetHdr {
                gso_size: 0,
                ..good
            },
        ),
        ("TSO without NEEDS_CSUM", VirtioNetHdr { flags: 0, ..good }),
        (
            "TCPV4 on IPv6",
            VirtioNetHdr {
                gso_type: GsoType::TcpV4,
                ..good
            },
        ),
    ];
    for (why, h) in cases {
        assert_eq!(h.check_ipv6(0, &p), Err(Error::Malformed), "{why}");
        assert_eq!(
            to_wire(&h, 0, &p, &mut |_| panic!("{why}")),
            Err(Error::Malformed)
        );
    }
    let udp_l4 = VirtioNetHdr {
        gso_type: GsoType::UdpL4,
        ..good
    };
    assert_eq!(udp_l4.check_ipv6(0, &p), Err(Error::Unsupported));
    // TSO on UDP; the checksum field past a short packet; IPv4 bytes.
    let mut udp = p.clone();
    udp[6] = 17;
    assert_eq!(good.check_ipv6(0, &udp), Err(Error::Malformed));
    assert_eq!(good.check_ipv6(0, &p[..50]), Err(Error::Malformed));
    assert_eq!(good.check_ipv6(0, &[0x45]), Err(Error::BadVersion));
    // A Routing or Fragment header in front of TCP is not segmented.
    for nh in [next_header::ROUTING, next_header::FRAGMENT] {
        let mut r = tcp6_packet(&[7u8; 5000], TcpFlags::ACK, 16);
        r[6] = nh;
        assert_eq!(good.check_ipv6(0, &r), Err(Error::Unsupported), "{nh}");
    }
    // An extension header that runs past the packet.
    let mut long = tcp6_packet(&[], TcpFlags::ACK, 16);
    long[41] = 200;
    assert_eq!(ipv6_transport(&long), Err(Error::Truncated));
}

#[track_caller]
fn check_segments(sup: &[u8], ext: usize, mss: usize, payload: &[u8]) {
    let mut segs = Vec::new();
    let n = segment_tcp6(sup, mss, &mut |s| segs.push(s.to_vec())).unwrap();
    let count = payload.len().div_ceil(mss).max(1);
    assert_eq!((n, segs.len()), (count, count));
    let orig = TcpFlags::from_bits_truncate(u16::from(sup[40 + ext + 13]));
    let mut joined = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let ip = Ipv6Repr::parse(&Ipv6Packet::new_checked(&s[..]).unwrap()).unwrap();
        assert_eq!(ip.payload_len, s.len() - 40, "Payload Length of piece {i}");
        assert_eq!(s[..4], sup[..4], "version, class, flow label");
        assert_eq!(s[6..40 + ext], sup[6..40 + ext], "addresses, options");
        let tcp = TcpRepr::parse(&TcpPacket::new_checked(&s[40 + ext..]).unwrap(), SRC, DST)
            .expect("each segment's checksum verifies over the IPv6 pseudo-header");
        assert_eq!(
            tcp.seq_number,
            0xffff_f000u32.wrapping_add((mss * i) as u32)
        );
        let last = i + 1 == count;
        let kept = |f: TcpFlags, on: bool| orig.contains(f) && on;
        assert_eq!(tcp.flags.contains(TcpFlags::FIN), kept(TcpFlags::FIN, last));
        assert_eq!(tcp.flags.contains(TcpFlags::PSH), kept(TcpFlags::PSH, last));
        assert_eq!(
            tcp.flags.contains(TcpFlags::CWR),
            kept(TcpFlags::CWR, i == 0)
        );
        assert!(tcp.flags.contains(TcpFlags::ACK));
        assert_eq!(tcp.timestamp.unwrap().tsval, 5);
        assert!(tcp.payload.len() == mss || last);
        joined.extend_from_slice(tcp.payload);
    }
    assert_eq!(joined, payload);
}

#[test]
fn tcpv6_segmentation_gives_what_the_wire_would_carry() {
    let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let flags = TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN | TcpFlags::CWR;
    for ext in [0, 16] {
        let sup = with_partial_checksum(tcp6_packet(&payload, flags, ext), 40 + ext);
        check_segments(&sup, ext, 1428, &payload);
        // Through the header, and with link padding after the packet.
        let h = VirtioNetHdr::tcp6_tso(0, 40 + ext, 32, 1428);
        let mut padded = sup.clone();
        padded.extend_from_slice(&[0xee; 6]);
        let mut via = Vec::new();
        assert_eq!(
            to_wire(&h, 0, &padded, &mut |s| via.push(s.to_vec())),
            Ok(8)
        );
        let mut direct = Vec::new();
        segment_tcp6(&sup, 1428, &mut |s| direct.push(s.to_vec())).unwrap();
        assert_eq!(via, direct);
    }
}

#[test]
fn a_small_tcpv6_packet_comes_out_whole_with_its_checksum() {
    let full = tcp6_packet(b"hello", TcpFlags::ACK | TcpFlags::PSH, 0);
    let sup = with_partial_checksum(full.clone(), 40);
    assert_ne!(sup, full);
    let mut segs = Vec::new();
    assert_eq!(
        segment_tcp6(&sup, 1428, &mut |s| segs.push(s.to_vec())),
        Ok(1)
    );
    assert_eq!(segs, vec![full.clone()]);
    // A checksum offload alone is completed where the header says.
    let csum = VirtioNetHdr {
        gso_type: GsoType::None,
        gso_size: 0,
        ..VirtioNetHdr::tcp6_tso(0, 40, 32, 0)
    };
    segs.clear();
    assert_eq!(
        to_wire(&csum, 0, &sup, &mut |s| segs.push(s.to_vec())),
        Ok(1)
    );
    assert_eq!(segs, vec![full]);
}

#[test]
fn tcpv6_segmentation_refuses_what_it_cannot_cut() {
    let p = tcp6_packet(&[1; 3000], TcpFlags::ACK, 0);
    let mut out = |_: &[u8]| panic!("nothing may come out");
    assert_eq!(segment_tcp6(&p, 0, &mut out), Err(Error::Malformed));
    assert_eq!(
        segment_tcp6(&p[..30], 1428, &mut out),
        Err(Error::Truncated)
    );
    assert_eq!(
        segment_tcp6(&p[..100], 1428, &mut out),
        Err(Error::Truncated)
    );
    let mut udp = p.clone();
    udp[6] = 17;
    assert_eq!(segment_tcp6(&udp, 1428, &mut out), Err(Error::Malformed));
    let mut jumbo = p.clone();
    jumbo[4..6].copy_from_slice(&[0, 0]);
    assert_eq!(segment_tcp6(&jumbo, 1428, &mut out), Err(Error::Malformed));
    let mut short_hl = p.clone();
    short_hl[40 + 12] = 0x40; // data offset 4 words
    assert_eq!(
        segment_tcp6(&short_hl, 1428, &mut out),
        Err(Error::BadLength)
    );
    assert_eq!(
        segment_tcp6(&[0x45; 60], 1428, &mut out),
        Err(Error::BadVersion)
    );
    assert_eq!(segment_tcp6(&[], 1428, &mut out), Err(Error::Truncated));
}

proptest! {
    #[test]
    fn hostile_ipv6_packets_never_panic(
        packet in hostile_buffers(tcp6_packet(&[3; 150], TcpFlags::ACK, 8)),
        hdr in proptest::collection::vec(any::<u8>(), 10),
        mss in 0usize..200,
    ) {
        if let Ok(h) = VirtioNetHdr::parse(&hdr) {
            let _ = h.check_ipv6(0, &packet);
            let _ = to_wire(&h, 0, &packet, &mut |_| {});
        }
        let _ = ipv6_transport(&packet);
        let _ = segment_tcp6(&packet, mss, &mut |_| {});
    }

    #[test]
    fn tcpv6_segments_carry_the_payload_in_order(
        len in 0usize..9000,
        mss in 1usize..2000,
        ext in prop_oneof![Just(0usize), Just(8), Just(24)],
    ) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
        let sup = with_partial_checksum(tcp6_packet(&payload, TcpFlags::ACK | TcpFlags::FIN, ext), 40 + ext);
        check_segments(&sup, ext, mss, &payload);
    }
}
