//! Tests of the TCP view and repr against real captures. Option rules are in
//! `tests/options.rs`, property tests (etherparse differential, no panic) in
//! `tests/props.rs`.

use std::net::Ipv4Addr;

use super::*;
use crate::wire::checksum;

mod options;
mod props;

/// The client and server of the connection in `fixtures/veth-capture.pcap`.
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

// Frames 20-27 of `fixtures/veth-capture.pcap`: a Linux-to-Linux TCP connection
// 10.77.0.1:58296 -> 10.77.0.2:8080 over a veth pair, the TCP segments only (the
// Ethernet and IPv4 headers cut off). The capture was taken on the sending side of a veth
// with TX checksum offload on, so every checksum field holds only the pseudo-header sum
// the kernel leaves for the device to complete (CHECKSUM_PARTIAL); see
// `captured_checksums_are_offload_partial_sums`. `completed` finishes them as the device
// would.

/// Frame 20: SYN with MSS 1460, SACK-permitted, timestamps, window scale 10.
const SYN: &[u8] = &[
    0xe3, 0xb8, 0x1f, 0x90, 0x6c, 0x6d, 0x9f, 0xde, 0x00, 0x00, 0x00, 0x00, //
    0xa0, 0x02, 0xfa, 0xf0, 0x14, 0xcb, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, //
    0x04, 0x02, 0x08, 0x0a, 0x3c, 0xd5, 0xcd, 0x57, 0x00, 0x00, 0x00, 0x00, //
    0x01, 0x03, 0x03, 0x0a,
];
/// Frame 21: SYN-ACK with the same options.
const SYN_ACK: &[u8] = &[
    0x1f, 0x90, 0xe3, 0xb8, 0x89, 0x8d, 0x5f, 0x4b, 0x6c, 0x6d, 0x9f, 0xdf, //
    0xa0, 0x12, 0xfe, 0x88, 0x14, 0xcb, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, //
    0x04, 0x02, 0x08, 0x0a, 0xec, 0x88, 0x9c, 0xa1, 0x3c, 0xd5, 0xcd, 0x57, //
    0x01, 0x03, 0x03, 0x0a,
];
/// Frame 22: the handshake's ACK, with timestamps.
const ACK: &[u8] = &[
    0xe3, 0xb8, 0x1f, 0x90, 0x6c, 0x6d, 0x9f, 0xdf, 0x89, 0x8d, 0x5f, 0x4c, //
    0x80, 0x10, 0x00, 0x3f, 0x14, 0xc3, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, //
    0x3c, 0xd5, 0xcd, 0x57, 0xec, 0x88, 0x9c, 0xa1,
];
/// Frame 23: PSH-ACK carrying "GET / HTTP/1.0\n".
const DATA: &[u8] = &[
    0xe3, 0xb8, 0x1f, 0x90, 0x6c, 0x6d, 0x9f, 0xdf, 0x89, 0x8d, 0x5f, 0x4c, //
    0x80, 0x18, 0x00, 0x3f, 0x14, 0xd2, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, //
    0x3c, 0xd5, 0xcd, 0x57, 0xec, 0x88, 0x9c, 0xa1, 0x47, 0x45, 0x54, 0x20, //
    0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x30, 0x0a,
];
/// Frame 24: the server's ACK of the data.
const DATA_ACK: &[u8] = &[
    0x1f, 0x90, 0xe3, 0xb8, 0x89, 0x8d, 0x5f, 0x4c, 0x6c, 0x6d, 0x9f, 0xee, //
    0x80, 0x10, 0x00, 0x40, 0x14, 0xc3, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, //
    0xec, 0x88, 0x9c, 0xa1, 0x3c, 0xd5, 0xcd, 0x57,
];
/// Frame 25: the client's FIN-ACK.
const FIN_CLIENT: &[u8] = &[
    0xe3, 0xb8, 0x1f, 0x90, 0x6c, 0x6d, 0x9f, 0xee, 0x89, 0x8d, 0x5f, 0x4c, //
    0x80, 0x11, 0x00, 0x3f, 0x14, 0xc3, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, //
    0x3c, 0xd5, 0xd1, 0x41, 0xec, 0x88, 0x9c, 0xa1,
];
/// Frame 26: the server's FIN-ACK.
const FIN_SERVER: &[u8] = &[
    0x1f, 0x90, 0xe3, 0xb8, 0x89, 0x8d, 0x5f, 0x4c, 0x6c, 0x6d, 0x9f, 0xef, //
    0x80, 0x11, 0x00, 0x40, 0x14, 0xc3, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, //
    0xec, 0x88, 0xa0, 0x8b, 0x3c, 0xd5, 0xd1, 0x41,
];
/// Frame 27: the last ACK.
const LAST_ACK: &[u8] = &[
    0xe3, 0xb8, 0x1f, 0x90, 0x6c, 0x6d, 0x9f, 0xef, 0x89, 0x8d, 0x5f, 0x4d, //
    0x80, 0x10, 0x00, 0x3f, 0x14, 0xc3, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, //
    0x3c, 0xd5, 0xd1, 0x41, 0xec, 0x88, 0xa0, 0x8b,
];

/// Frames 20-27 with their direction.
pub(super) const CAPTURE: [(&str, &[u8], Ipv4Addr, Ipv4Addr); 8] = [
    ("syn", SYN, CLIENT, SERVER),
    ("syn-ack", SYN_ACK, SERVER, CLIENT),
    ("ack", ACK, CLIENT, SERVER),
    ("data", DATA, CLIENT, SERVER),
    ("data-ack", DATA_ACK, SERVER, CLIENT),
    ("fin-client", FIN_CLIENT, CLIENT, SERVER),
    ("fin-server", FIN_SERVER, SERVER, CLIENT),
    ("last-ack", LAST_ACK, CLIENT, SERVER),
];

// A second capture, made on this machine for these tests: two network namespaces joined
// by a veth pair, 10.77.9.1 (client) and 10.77.9.2 (server), TX checksum offload turned
// off on both ends (`ethtool -K vtfa tx off`), so that the kernel wrote complete
// checksums; the server dropped every 4th (then every 2nd) data segment in an nftables
// prerouting rule (`numgen inc mod 4 == 1 drop`) so that its ACKs carry SACK blocks. The
// second connection ran with `net.ipv4.tcp_timestamps=0` on the client. Captured with
// tshark on the server's veth; TCP segments only, as hex.

const C9: Ipv4Addr = Ipv4Addr::new(10, 77, 9, 1);
const S9: Ipv4Addr = Ipv4Addr::new(10, 77, 9, 2);

/// Real segments with complete checksums: (name, hex, src, dst).
pub(super) const CAPTURE_SACK: [(&str, &str, Ipv4Addr, Ipv4Addr); 8] = [
    // SYN: MSS, SACK-permitted + TS packed, NOP WS.
    ("syn", "9b461f90582553fb00000000a002faf032ab0000020405b40402080a00e08bed000000000103030a", C9, S9),
    ("syn-ack", "1f909b46c9eb8ebc582553fca012fe886d5c0000020405b40402080ab5eeb30e00e08bed0103030a", S9, C9),
    // ACKs with NOP NOP TS and NOP NOP SACK of 1, 2 and 3 blocks.
    ("sack1-ts", "1f909b46c9eb8ebd582559a4b0100046ea2300000101080ab5eeb30e00e08bed0101050a58255f4c582564f4", S9, C9),
    ("sack2-ts", "1f909b46c9eb8ebd582559a4d010004b1cf300000101080ab5eeb30e00e08bed01010512582575ec58257b9458255f4c58257044", S9, C9),
    ("sack3-ts", "1f909b46c9eb8ebd582559a4f010004b228700000101080ab5eeb30e00e08bed0101051a58258c8c58259234582575ec582586e458255f4c58257044", S9, C9),
    // Without timestamps: SYN with MSS, NOP NOP SACK-permitted, NOP WS.
    ("syn-nots", "a4241f91d0ba3681000000008002faf0828f0000020405b4010104020103030a", C9, S9),
    ("syn-ack-nots", "1f91a424adde5520d0ba36828012faf07f7f0000020405b4010104020103030a", S9, C9),
    // An ACK with 4 SACK blocks, the most that fit without timestamps.
    ("sack4", "1f93bf3234033941123daa44e010004b38bb000001010522123dd230123dd7e4123dc6c8123dcc7c123dbb60123dc114123daff8123db5ac", S9, C9),
];

pub(super) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("fixture hex"))
        .collect()
}

/// A captured segment with its checksum completed, as the veth's offload would have.
pub(super) fn completed(segment: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut buf = segment.to_vec();
    TcpPacket::new_unchecked(&mut buf[..]).fill_checksum(src, dst);
    buf
}

/// Parses `bytes`, emits the repr again and checks the bytes are identical.
fn round_trip(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> TcpRepr<'_> {
    let packet = TcpPacket::new_checked(bytes).expect("new_checked");
    assert!(packet.verify_checksum(src, dst), "checksum of {bytes:02x?}");
    let repr = TcpRepr::parse(&packet, src, dst).expect("parse");
    assert_eq!(repr.header_len(), packet.header_len());
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(repr.segment_len(), packet.segment_len());
    let mut out = vec![0xa5; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
    assert_eq!(out, bytes, "emit differs from capture {bytes:02x?}");
    repr
}

/// The checksum fields of the veth capture hold the folded pseudo-header sum (RFC 9293
/// section 3.1 pseudo-header, not complemented): what Linux leaves for a device doing TX
/// checksum offload. They do not verify; completing them does.
#[test]
fn captured_checksums_are_offload_partial_sums() {
    for (name, seg, src, dst) in CAPTURE {
        let packet = TcpPacket::new_checked(seg).unwrap();
        let partial = checksum::fold(checksum::pseudo_header(src, dst, 6, seg.len() as u32));
        assert_eq!(packet.checksum(), partial, "{name}");
        assert!(!packet.verify_checksum(src, dst), "{name}");
        assert_eq!(
            TcpRepr::parse(&packet, src, dst),
            Err(Error::BadChecksum),
            "{name}"
        );
        let fixed = completed(seg, src, dst);
        assert!(TcpPacket::new_checked(&fixed[..])
            .unwrap()
            .verify_checksum(src, dst));
    }
}

#[test]
fn capture_round_trips_byte_for_byte() {
    for (name, seg, src, dst) in CAPTURE {
        let fixed = completed(seg, src, dst);
        let packet = TcpPacket::new_checked(&fixed[..]).unwrap();
        let repr = TcpRepr::parse(&packet, src, dst).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
        assert_eq!(out, fixed, "{name}");
        // Everything but the checksum is the captured bytes.
        assert_eq!(out[..16], seg[..16], "{name}");
        assert_eq!(out[18..], seg[18..], "{name}");
    }
}

#[test]
fn sack_capture_round_trips_with_real_checksums() {
    for (_, h, src, dst) in CAPTURE_SACK {
        let bytes = hex(h);
        round_trip(&bytes, src, dst);
    }
}

#[test]
fn syn_fields() {
    let fixed = completed(SYN, CLIENT, SERVER);
    let packet = TcpPacket::new_checked(&fixed[..]).unwrap();
    assert_eq!(packet.src_port(), 58296);
    assert_eq!(packet.dst_port(), 8080);
    assert_eq!(packet.seq_number(), 0x6c6d_9fde);
    assert_eq!(packet.ack_number(), 0);
    assert_eq!(packet.header_len(), 40);
    assert_eq!(packet.flags(), TcpFlags::SYN);
    assert_eq!(packet.window_len(), 64240);
    assert_eq!(packet.urgent_at(), 0);
    assert_eq!(packet.options(), &SYN[20..40]);
    assert!(packet.payload().is_empty());
    assert_eq!(packet.segment_len(), 1);
    let options: Vec<_> = packet.options_iter().collect::<Result<_>>().unwrap();
    assert_eq!(
        options,
        [
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamps {
                tsval: 1_020_644_695,
                tsecr: 0
            },
            TcpOption::NoOperation,
            TcpOption::WindowScale(10),
        ]
    );
    let repr = round_trip(&fixed, CLIENT, SERVER);
    assert_eq!(
        repr,
        TcpRepr {
            src_port: 58296,
            dst_port: 8080,
            flags: TcpFlags::SYN,
            seq_number: 0x6c6d_9fde,
            ack_number: 0,
            window_len: 64240,
            urgent_pointer: 0,
            max_seg_size: Some(1460),
            window_scale: Some(10),
            sack_permitted: true,
            sack_ranges: [None; 4],
            timestamp: Some(TcpTimestamp {
                tsval: 1_020_644_695,
                tsecr: 0
            }),
            payload: &[],
        }
    );
}

#[test]
fn syn_ack_fields() {
    let fixed = completed(SYN_ACK, SERVER, CLIENT);
    let repr = round_trip(&fixed, SERVER, CLIENT);
    assert_eq!(
        repr,
        TcpRepr {
            src_port: 8080,
            dst_port: 58296,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            seq_number: 0x898d_5f4b,
            ack_number: 0x6c6d_9fdf,
            window_len: 65160,
            max_seg_size: Some(1460),
            window_scale: Some(10),
            sack_permitted: true,
            timestamp: Some(TcpTimestamp {
                tsval: 3_968_375_969,
                tsecr: 1_020_644_695
            }),
            ..TcpRepr::default()
        }
    );
    assert_eq!(repr.segment_len(), 1);
    assert_eq!(repr.flags.to_string(), "S.");
}

#[test]
fn ack_with_timestamps_fields() {
    let fixed = completed(ACK, CLIENT, SERVER);
    let repr = round_trip(&fixed, CLIENT, SERVER);
    assert_eq!(
        repr,
        TcpRepr {
            src_port: 58296,
            dst_port: 8080,
            flags: TcpFlags::ACK,
            seq_number: 0x6c6d_9fdf,
            ack_number: 0x898d_5f4c,
            window_len: 63,
            timestamp: Some(TcpTimestamp {
                tsval: 1_020_644_695,
                tsecr: 3_968_375_969
            }),
            ..TcpRepr::default()
        }
    );
    assert_eq!(repr.segment_len(), 0);
    assert_eq!(repr.header_len(), 32);
}

#[test]
fn data_segment_fields() {
    let fixed = completed(DATA, CLIENT, SERVER);
    let packet = TcpPacket::new_checked(&fixed[..]).unwrap();
    assert_eq!(packet.payload(), b"GET / HTTP/1.0\n");
    let repr = round_trip(&fixed, CLIENT, SERVER);
    assert_eq!(repr.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(repr.flags.to_string(), "P.");
    assert_eq!(repr.payload, b"GET / HTTP/1.0\n");
    assert_eq!(repr.segment_len(), 15);
    assert_eq!(repr.buffer_len(), 32 + 15);
}

#[test]
fn fin_segment_fields() {
    for (seg, src, dst) in [(FIN_CLIENT, CLIENT, SERVER), (FIN_SERVER, SERVER, CLIENT)] {
        let fixed = completed(seg, src, dst);
        let repr = round_trip(&fixed, src, dst);
        assert_eq!(repr.flags, TcpFlags::FIN | TcpFlags::ACK);
        assert_eq!(repr.flags.to_string(), "F.");
        assert_eq!(repr.segment_len(), 1, "FIN occupies one sequence number");
        assert!(repr.payload.is_empty());
    }
    let fixed = completed(FIN_CLIENT, CLIENT, SERVER);
    let repr = round_trip(&fixed, CLIENT, SERVER);
    assert_eq!(repr.seq_number, 0x6c6d_9fee);
    assert_eq!(
        repr.timestamp,
        Some(TcpTimestamp {
            tsval: 1_020_645_697,
            tsecr: 3_968_375_969
        })
    );
}

#[test]
fn sack_blocks_from_real_acks() {
    let expect: [(&str, &[(u32, u32)]); 4] = [
        ("sack1-ts", &[(0x5825_5f4c, 0x5825_64f4)]),
        (
            "sack2-ts",
            &[(0x5825_75ec, 0x5825_7b94), (0x5825_5f4c, 0x5825_7044)],
        ),
        (
            "sack3-ts",
            &[
                (0x5825_8c8c, 0x5825_9234),
                (0x5825_75ec, 0x5825_86e4),
                (0x5825_5f4c, 0x5825_7044),
            ],
        ),
        (
            "sack4",
            &[
                (0x123d_d230, 0x123d_d7e4),
                (0x123d_c6c8, 0x123d_cc7c),
                (0x123d_bb60, 0x123d_c114),
                (0x123d_aff8, 0x123d_b5ac),
            ],
        ),
    ];
    for (name, blocks) in expect {
        let (_, h, src, dst) = CAPTURE_SACK.into_iter().find(|f| f.0 == name).unwrap();
        let bytes = hex(h);
        let repr = round_trip(&bytes, src, dst);
        let got: Vec<_> = repr.sack_ranges.iter().flatten().copied().collect();
        assert_eq!(got, blocks, "{name}");
        assert_eq!(repr.timestamp.is_some(), name.ends_with("-ts"), "{name}");
        assert_eq!(repr.sack_blocks_emitted(), blocks.len(), "{name}");
    }
}

#[test]
fn syn_without_timestamps_layout() {
    let (_, h, src, dst) = CAPTURE_SACK[5];
    let bytes = hex(h);
    let repr = round_trip(&bytes, src, dst);
    assert_eq!(repr.max_seg_size, Some(1460));
    assert!(repr.sack_permitted);
    assert_eq!(repr.window_scale, Some(10));
    assert_eq!(repr.timestamp, None);
    // MSS; NOP NOP SACK-permitted; NOP WS.
    assert_eq!(&bytes[20..], [2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 10]);
}

#[test]
fn new_checked_lengths() {
    let fixed = completed(SYN, CLIENT, SERVER);
    // RFC 9293 section 3.1: a header is at least 20 bytes.
    assert_eq!(
        TcpPacket::new_checked(&fixed[..19]).unwrap_err(),
        Error::Truncated
    );
    assert_eq!(
        TcpPacket::new_checked(&[][..]).unwrap_err(),
        Error::Truncated
    );
    // The data offset announces 40 bytes.
    assert_eq!(
        TcpPacket::new_checked(&fixed[..39]).unwrap_err(),
        Error::Truncated
    );
    assert!(TcpPacket::new_checked(&fixed[..40]).is_ok());
    // A data offset under 5 words is impossible.
    for offset in 0..5u8 {
        let mut b = fixed.clone();
        b[12] = offset << 4;
        assert_eq!(
            TcpPacket::new_checked(&b[..]).unwrap_err(),
            Error::BadLength,
            "{offset}"
        );
    }
    // The largest offset, 15 words, needs 60 bytes.
    let mut b = fixed.clone();
    b[12] = 0xf0;
    assert_eq!(
        TcpPacket::new_checked(&b[..]).unwrap_err(),
        Error::Truncated
    );
    b.resize(60, 0);
    assert_eq!(TcpPacket::new_checked(&b[..]).unwrap().header_len(), 60);
}

#[test]
fn setters_round_trip() {
    let mut buf = [0u8; 28];
    let mut p = TcpPacket::new_unchecked(&mut buf[..]);
    p.set_src_port(1234);
    p.set_dst_port(80);
    p.set_seq_number(0xdead_beef);
    p.set_ack_number(0x0102_0304);
    p.set_header_len(24);
    p.set_flags(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::NS);
    p.set_window_len(0xabcd);
    p.set_urgent_at(7);
    p.options_mut().copy_from_slice(&[2, 4, 0x05, 0xb4]);
    p.payload_mut().copy_from_slice(b"abcd");
    p.fill_checksum(CLIENT, SERVER);
    let p = TcpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(p.src_port(), 1234);
    assert_eq!(p.dst_port(), 80);
    assert_eq!(p.seq_number(), 0xdead_beef);
    assert_eq!(p.ack_number(), 0x0102_0304);
    assert_eq!(p.header_len(), 24);
    assert_eq!(
        p.flags(),
        TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::NS
    );
    assert_eq!(p.window_len(), 0xabcd);
    assert_eq!(p.urgent_at(), 7);
    assert_eq!(p.options(), [2, 4, 5, 0xb4]);
    assert_eq!(p.payload(), b"abcd");
    assert_eq!(p.segment_len(), 5);
    assert!(p.verify_checksum(CLIENT, SERVER));
    assert!(!p.verify_checksum(SERVER, Ipv4Addr::new(10, 77, 0, 3)));
    assert_eq!(buf[12], 0x61, "data offset 6, NS in bit 0");
}

/// RFC 9293 section 3.1: the reserved bits "must be zero in generated segments and must be
/// ignored in received segments".
#[test]
fn reserved_bits_ignored_and_cleared() {
    let mut seg = completed(ACK, CLIENT, SERVER);
    seg[12] |= 0x0e;
    let seg = completed(&seg, CLIENT, SERVER);
    let packet = TcpPacket::new_checked(&seg[..]).unwrap();
    assert_eq!(packet.flags(), TcpFlags::ACK);
    assert_eq!(packet.header_len(), 32);
    let repr = TcpRepr::parse(&packet, CLIENT, SERVER).unwrap();
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), CLIENT, SERVER);
    assert_eq!(out[12], 0x80, "emit writes the reserved bits as zero");
    assert_eq!(out, completed(ACK, CLIENT, SERVER));

    let mut p = TcpPacket::new_unchecked(seg);
    p.set_flags(TcpFlags::ACK | TcpFlags::NS);
    assert_eq!(
        p.as_ref()[12],
        0x81,
        "set_flags keeps the offset, clears reserved"
    );
}

#[test]
fn flags_print_like_tcpdump() {
    let f = |flags: TcpFlags| flags.to_string();
    assert_eq!(f(TcpFlags::SYN), "S");
    assert_eq!(f(TcpFlags::SYN | TcpFlags::ACK), "S.");
    assert_eq!(f(TcpFlags::ACK), ".");
    assert_eq!(f(TcpFlags::PSH | TcpFlags::ACK), "P.");
    assert_eq!(f(TcpFlags::FIN | TcpFlags::ACK), "F.");
    assert_eq!(f(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK), "FP.");
    assert_eq!(f(TcpFlags::RST), "R");
    assert_eq!(f(TcpFlags::RST | TcpFlags::ACK), "R.");
    assert_eq!(f(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR), "SEW");
    assert_eq!(f(TcpFlags::URG | TcpFlags::ACK), ".U");
    assert_eq!(f(TcpFlags::empty()), "none");
    assert_eq!(f(TcpFlags::from_bits_truncate(0xffff)), "FSRP.UEWe");
    assert_eq!(format!("{:?}", TcpFlags::SYN | TcpFlags::ACK), "S.");
}

#[test]
fn flags_operations() {
    let mut f = TcpFlags::SYN;
    assert!(f.contains(TcpFlags::SYN));
    assert!(!f.contains(TcpFlags::SYN | TcpFlags::ACK));
    assert!(f.intersects(TcpFlags::SYN | TcpFlags::ACK));
    f.insert(TcpFlags::ACK);
    assert_eq!(f.bits(), 0x012);
    f.remove(TcpFlags::SYN);
    assert_eq!(f, TcpFlags::ACK);
    f.set(TcpFlags::FIN, true);
    assert_eq!(f, TcpFlags::FIN | TcpFlags::ACK);
    f.set(TcpFlags::FIN, false);
    assert_eq!(f & TcpFlags::ACK, TcpFlags::ACK);
    assert_eq!(TcpFlags::from_bits_truncate(0xfe00), TcpFlags::empty());
    assert_eq!((!TcpFlags::ACK).bits(), 0x1ef);
    assert!(TcpFlags::default().is_empty());
    let mut g = TcpFlags::RST;
    g |= TcpFlags::ACK;
    g &= TcpFlags::ACK;
    assert_eq!(g, TcpFlags::ACK);
}

#[test]
fn bad_checksum_is_rejected() {
    let mut fixed = completed(DATA, CLIENT, SERVER);
    fixed[40] ^= 0x01;
    let packet = TcpPacket::new_checked(&fixed[..]).unwrap();
    assert_eq!(
        TcpRepr::parse(&packet, CLIENT, SERVER),
        Err(Error::BadChecksum)
    );
    // The pseudo-header is covered too: the right bytes from the wrong address fail.
    let fixed = completed(DATA, CLIENT, SERVER);
    let packet = TcpPacket::new_checked(&fixed[..]).unwrap();
    let other = Ipv4Addr::new(10, 77, 0, 3);
    assert_eq!(
        TcpRepr::parse(&packet, other, SERVER),
        Err(Error::BadChecksum)
    );
}

#[test]
#[should_panic(expected = "TcpRepr::emit")]
fn emit_into_short_buffer_panics() {
    let repr = TcpRepr {
        payload: b"hello",
        ..TcpRepr::default()
    };
    let mut out = [0u8; 24];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), CLIENT, SERVER);
}

/// A segment whose payload was copied in first and summed by the caller (in two pieces,
/// the second at an odd offset, as a wrapped send ring gives them) comes out byte for
/// byte as `emit` writes it, checksum included, over both families.
#[test]
fn emit_before_payload_matches_emit() {
    let payload: Vec<u8> = (0..1001u32).map(|i| (i * 29 + 3) as u8).collect();
    let repr = TcpRepr {
        src_port: 8080,
        dst_port: 58296,
        flags: TcpFlags::ACK | TcpFlags::PSH,
        seq_number: 0x0102_0304,
        ack_number: 0xfffe_fffd,
        window_len: 501,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: Some(TcpTimestamp { tsval: 7, tsecr: 9 }),
        payload: &payload,
    };
    let v6 = |n: u16| std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n);
    let pairs: [(std::net::IpAddr, std::net::IpAddr); 2] =
        [(SERVER.into(), CLIENT.into()), (v6(2).into(), v6(1).into())];
    for (src, dst) in pairs {
        let mut want = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut want[..]), src, dst);
        let header = TcpRepr {
            payload: &[],
            ..repr
        };
        let hl = header.header_len();
        let mut got = vec![0u8; hl];
        got.extend_from_slice(&payload);
        let (a, b) = payload.split_at(333);
        let sum = checksum::sum_at(checksum::sum(0, a), b, a.len());
        header.emit_before_payload(&mut TcpPacket::new_unchecked(&mut got[..]), src, dst, sum);
        assert_eq!(got, want, "{src} -> {dst}");
    }
}
