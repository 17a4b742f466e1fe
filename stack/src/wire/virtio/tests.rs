use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpTimestamp};
use crate::wire::testutil::hostile_buffers;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// A TCP/IPv4 packet with `payload` (complete checksums), flags as given, timestamps on.
fn tcp_packet(payload: &[u8], flags: TcpFlags) -> Vec<u8> {
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
    let ip = Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        protocol: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        ttl: 64,
        ident: 0xfffe,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut buf = vec![0u8; ip.buffer_len() + ip.payload_len];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    tcp.emit(&mut TcpPacket::new_unchecked(&mut buf[20..]), SRC, DST);
    buf
}

/// `packet` with its TCP checksum replaced by the partial (pseudo-header) sum.
fn with_partial_checksum(mut packet: Vec<u8>) -> Vec<u8> {
    let partial = partial_checksum(SRC, DST, 6, packet.len() - 20);
    packet[36..38].copy_from_slice(&partial.to_be_bytes());
    packet
}

#[test]
fn every_gso_type_round_trips() {
    for gso in [
        GsoType::None,
        GsoType::TcpV4,
        GsoType::Udp,
        GsoType::TcpV6,
        GsoType::UdpL4,
    ] {
        for ecn in [false, true] {
            let h = VirtioNetHdr {
                flags: F_NEEDS_CSUM | F_DATA_VALID,
                gso_type: gso,
                ecn,
                hdr_len: 66,
                gso_size: 1448,
                csum_start: 20,
                csum_offset: 16,
            };
            let b = h.to_bytes();
            assert_eq!(VirtioNetHdr::parse(&b), Ok(h), "{gso:?} ecn {ecn}");
        }
    }
}

#[test]
fn fields_are_little_endian_in_kernel_order() {
    // What Linux's tun_put_user writes for a 64 KiB TSO super-segment.
    let b = [1, 1, 66, 0, 0xa8, 0x05, 20, 0, 16, 0];
    let h = VirtioNetHdr::parse(&b).unwrap();
    assert!(h.needs_csum() && h.is_gso());
    assert_eq!(h.gso_type, GsoType::TcpV4);
    assert_eq!(h.gso_size, 1448);
    assert_eq!(h.hdr_len, 66);
    assert_eq!((h.csum_start, h.csum_offset), (20, 16));
    assert_eq!(h.to_bytes(), b);
    assert_eq!(
        VirtioNetHdr::tcp4_tso(0, 20, 32, 1448).to_bytes()[..2],
        [1, 1]
    );
}

#[test]
fn ecn_bit_rides_on_gso_type() {
    let h = VirtioNetHdr::parse(&[1, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(h.gso_type, GsoType::TcpV4);
    assert!(h.ecn);
}

#[test]
fn bad_headers_are_errors() {
    assert_eq!(VirtioNetHdr::parse(&[0; 9]), Err(Error::Truncated));
    assert_eq!(VirtioNetHdr::parse(&[]), Err(Error::Truncated));
    // gso_type 2 is not defined.
    assert_eq!(
        VirtioNetHdr::parse(&[0, 2, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(Error::Unsupported)
    );
    // Flag bit 3 is not defined.
    assert_eq!(
        VirtioNetHdr::parse(&[8, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(Error::Malformed)
    );
    assert!(VirtioNetHdr::parse(&[0; 10]).unwrap().is_none());
}

#[test]
fn check_accepts_what_the_kernel_sends() {
    let p = tcp_packet(&[7u8; 5000], TcpFlags::ACK);
    let h = VirtioNetHdr::tcp4_tso(0, 20, 32, 1448);
    assert_eq!(h.check_ipv4(0, &p), Ok(()));
    // A checksum offload alone, for a small packet.
    let mut csum = h;
    csum.gso_type = GsoType::None;
    csum.gso_size = 0;
    assert_eq!(csum.check_ipv4(0, &p), Ok(()));
    // With 14 bytes of Ethernet in front, the offsets count them.
    assert_eq!(
        VirtioNetHdr::tcp4_tso(14, 20, 32, 1448).check_ipv4(14, &p),
        Ok(())
    );
    assert_eq!(VirtioNetHdr::NONE.check_ipv4(0, &[]), Ok(()));
}

#[test]
fn check_rejects_headers_that_do_not_fit_the_packet() {
    let p = tcp_packet(&[7u8; 5000], TcpFlags::ACK);
    let good = VirtioNetHdr::tcp4_tso(0, 20, 32, 1448);
    let cases = [
        (
            "csum_start not the transport header",
            VirtioNetHdr {
                csum_start: 24,
                ..good
            },
        ),
        (
            "csum_offset not TCP's checksum",
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
    ];
    for (why, h) in cases {
        assert_eq!(h.check_ipv4(0, &p), Err(Error::Malformed), "{why}");
    }
    // The checksum field beyond the end of a short packet.
    let short = &p[..30];
    assert_eq!(good.check_ipv4(0, short), Err(Error::Malformed));
    // TCPV6 on an IPv4 packet contradicts it.
    let v6 = VirtioNetHdr {
        gso_type: GsoType::TcpV6,
        ..good
    };
    assert_eq!(v6.check_ipv4(0, &p), Err(Error::Malformed));
    // Segmentation the stack never asked for.
    for gso in [GsoType::Udp, GsoType::UdpL4] {
        let h = VirtioNetHdr {
            gso_type: gso,
            ..good
        };
        assert_eq!(h.check_ipv4(0, &p), Err(Error::Unsupported), "{gso:?}");
    }
    // TSO on a UDP packet, a checksum offload on ICMP.
    let mut udp = p.clone();
    udp[9] = 17;
    assert_eq!(good.check_ipv4(0, &udp), Err(Error::Malformed));
    let mut icmp = p.clone();
    icmp[9] = 1;
    assert_eq!(good.check_ipv4(0, &icmp), Err(Error::Malformed));
    assert_eq!(good.check_ipv4(0, &[0x60]), Err(Error::BadVersion));
}

#[test]
fn a_partial_checksum_completes_to_the_full_one() {
    for len in [0, 1, 3, 1448, 4001] {
        let full = tcp_packet(&vec![0xa5; len], TcpFlags::ACK | TcpFlags::PSH);
        let mut p = with_partial_checksum(full.clone());
        assert_ne!(p, full);
        complete_checksum(&mut p, 20, 16).unwrap();
        assert_eq!(p, full, "payload {len}");
    }
    let mut tiny = [0u8; 10];
    assert_eq!(complete_checksum(&mut tiny, 4, 6), Err(Error::Malformed));
    assert_eq!(
        complete_checksum(&mut tiny, usize::MAX, 6),
        Err(Error::Malformed)
    );
}

#[test]
fn segmentation_gives_what_the_wire_would_carry() {
    let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    let sup = with_partial_checksum(tcp_packet(
        &payload,
        TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN | TcpFlags::CWR,
    ));
    let mut segs = Vec::new();
    let n = segment_tcp4(&sup, 1448, &mut |s| segs.push(s.to_vec())).unwrap();
    assert_eq!(n, 7);
    assert_eq!(segs.len(), 7);
    let mut joined = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let ip = Ipv4Repr::parse(&Ipv4Packet::new_checked(&s[..]).unwrap()).unwrap();
        assert_eq!(ip.ident, 0xfffeu16.wrapping_add(i as u16));
        assert!(ip.dont_frag);
        let tcp_bytes = &s[20..];
        let tcp = TcpRepr::parse(&TcpPacket::new_checked(tcp_bytes).unwrap(), SRC, DST)
            .expect("each segment's checksum verifies");
        assert_eq!(tcp.seq_number, 0xffff_f000u32.wrapping_add(1448 * i as u32));
        let last = i == 6;
        assert_eq!(tcp.flags.contains(TcpFlags::FIN), last);
        assert_eq!(tcp.flags.contains(TcpFlags::PSH), last);
        assert_eq!(tcp.flags.contains(TcpFlags::CWR), i == 0);
        assert!(tcp.flags.contains(TcpFlags::ACK));
        assert_eq!(tcp.timestamp.unwrap().tsval, 5);
        assert_eq!(
            tcp.payload.len(),
            if last { 10_000 - 6 * 1448 } else { 1448 }
        );
        joined.extend_from_slice(tcp.payload);
    }
    assert_eq!(joined, payload);
}

#[test]
fn a_packet_within_one_segment_comes_out_whole_with_its_checksum() {
    let full = tcp_packet(b"hello", TcpFlags::ACK | TcpFlags::PSH);
    let mut segs = Vec::new();
    let sup = with_partial_checksum(full.clone());
    assert_eq!(
        segment_tcp4(&sup, 1448, &mut |s| segs.push(s.to_vec())),
        Ok(1)
    );
    assert_eq!(segs, vec![full.clone()]);
    // to_wire: the same, through the header.
    segs.clear();
    let h = VirtioNetHdr::tcp4_tso(0, 20, 32, 1448);
    assert_eq!(to_wire(&h, 0, &sup, &mut |s| segs.push(s.to_vec())), Ok(1));
    assert_eq!(segs, vec![full.clone()]);
    // A checksum offload alone is completed.
    segs.clear();
    let csum = VirtioNetHdr {
        gso_type: GsoType::None,
        gso_size: 0,
        ..h
    };
    assert_eq!(
        to_wire(&csum, 0, &sup, &mut |s| segs.push(s.to_vec())),
        Ok(1)
    );
    assert_eq!(segs, vec![full]);
}

#[test]
fn segmentation_refuses_what_is_not_tcp_over_ipv4() {
    let p = tcp_packet(&[1; 3000], TcpFlags::ACK);
    let mut out = |_: &[u8]| panic!("nothing may come out");
    assert_eq!(segment_tcp4(&p, 0, &mut out), Err(Error::Malformed));
    assert_eq!(
        segment_tcp4(&p[..30], 1448, &mut out),
        Err(Error::Truncated)
    );
    let mut udp = p.clone();
    udp[9] = 17;
    assert_eq!(segment_tcp4(&udp, 1448, &mut out), Err(Error::Malformed));
    let mut short_hl = p.clone();
    short_hl[32] = 0x40; // data offset 4 words
    assert_eq!(
        segment_tcp4(&short_hl, 1448, &mut out),
        Err(Error::BadLength)
    );
    assert_eq!(segment_tcp4(&[], 1448, &mut out), Err(Error::Truncated));
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
        if let Ok(h) = VirtioNetHdr::parse(&bytes) {
            prop_assert_eq!(VirtioNetHdr::parse(&h.to_bytes()), Ok(h));
        }
    }

    #[test]
    fn hostile_packets_never_panic(
        packet in hostile_buffers(tcp_packet(&[3; 150], TcpFlags::ACK)),
        hdr in proptest::collection::vec(any::<u8>(), 10),
        mss in 0usize..200,
    ) {
        if let Ok(h) = VirtioNetHdr::parse(&hdr) {
            let _ = h.check_ipv4(0, &packet);
            let _ = to_wire(&h, 0, &packet, &mut |_| {});
        }
        let _ = segment_tcp4(&packet, mss, &mut |_| {});
        let mut p = packet.clone();
        let _ = complete_checksum(&mut p, mss, 16);
    }
}

/// On a TAP device the frame starts with 14 bytes of Ethernet, and the header's offsets
/// count them (virtio 1.2 5.1.6.2): the header built for the IP packet, moved behind the
/// link header, is the header built with the link header from the start.
#[test]
fn behind_an_ethernet_header_the_offsets_grow_by_14() {
    let ip = VirtioNetHdr::tcp4_tso(0, 20, 32, 1448);
    let eth = ip.behind_link_header(14);
    assert_eq!(eth, VirtioNetHdr::tcp4_tso(14, 20, 32, 1448));
    assert_eq!((eth.csum_start, eth.hdr_len), (34, 66));
    assert_eq!(
        (eth.gso_size, eth.csum_offset, eth.gso_type),
        (1448, 16, GsoType::TcpV4)
    );
    assert_eq!(
        VirtioNetHdr::tcp6_tso(0, 40, 32, 1428).behind_link_header(14),
        VirtioNetHdr::tcp6_tso(14, 40, 32, 1428)
    );
    // An ordinary frame keeps the all-zero header.
    assert_eq!(
        VirtioNetHdr::NONE.behind_link_header(14),
        VirtioNetHdr::NONE
    );
    // A checksum offload alone: csum_start moves, the zero hdr_len stays zero.
    let csum = VirtioNetHdr {
        gso_type: GsoType::None,
        gso_size: 0,
        hdr_len: 0,
        ..ip
    };
    let moved = csum.behind_link_header(14);
    assert_eq!((moved.csum_start, moved.hdr_len), (34, 0));
    // Offsets past 16 bits saturate rather than wrap into a plausible value.
    let far = VirtioNetHdr {
        csum_start: u16::MAX - 4,
        ..ip
    };
    assert_eq!(far.behind_link_header(14).csum_start, u16::MAX);
}

/// The checks and the software path take the link header into account: the moved header
/// fits the packet behind 14 bytes, the unmoved one does not (its `csum_start` would point
/// into the IP header), and a super-segment behind an Ethernet header comes out as the
/// same wire segments, each behind the same Ethernet header.
#[test]
fn a_super_segment_behind_ethernet_checks_and_splits_with_the_link_header() {
    let payload: Vec<u8> = (0..5000u32).map(|i| (i * 13) as u8).collect();
    let sup = with_partial_checksum(tcp_packet(&payload, TcpFlags::ACK));
    let ip = VirtioNetHdr::tcp4_tso(0, 20, 32, 1448);
    let eth = ip.behind_link_header(14);
    assert_eq!(eth.check_ipv4(14, &sup), Ok(()));
    assert_eq!(ip.check_ipv4(14, &sup), Err(Error::Malformed));
    assert_eq!(eth.check_ipv4(0, &sup), Err(Error::Malformed));

    let mut bare = Vec::new();
    to_wire(&ip, 0, &sup, &mut |s| bare.push(s.to_vec())).unwrap();
    let mut behind = Vec::new();
    to_wire(&eth, 14, &sup, &mut |s| behind.push(s.to_vec())).unwrap();
    assert_eq!(bare.len(), 4);
    assert_eq!(
        behind, bare,
        "to_wire takes the packet from its IP header on"
    );

    let link: Vec<u8> = (1..=14).collect();
    let mut frame = link.clone();
    frame.extend_from_slice(&sup);
    let mut framed = Vec::new();
    crate::link::wire_frames(14, &frame, &eth, &mut |f| framed.push(f.to_vec())).unwrap();
    assert_eq!(framed.len(), 4);
    for (f, b) in framed.iter().zip(&bare) {
        assert_eq!(
            &f[..14],
            &link[..],
            "each piece behind the same link header"
        );
        assert_eq!(&f[14..], &b[..]);
    }
    // The unmoved header does not fit the framed packet: an error, nothing sent.
    let mut none = 0;
    assert!(crate::link::wire_frames(14, &frame, &ip, &mut |_| none += 1).is_err());
    assert_eq!(none, 0);
}
