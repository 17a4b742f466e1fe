use super::*;
use crate::wire::ethernet::fixtures::*;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;
use std::net::Ipv4Addr;

/// Addresses of the `veth-capture.pcap` frames.
const A1: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const A2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// Addresses of the `UDP_*` frames.
const B1: Ipv4Addr = Ipv4Addr::new(10, 77, 9, 1);
const B2: Ipv4Addr = Ipv4Addr::new(10, 77, 9, 2);

fn emit(repr: &UdpRepr<'_>, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut out = vec![0x77u8; repr.buffer_len()];
    repr.emit(&mut UdpPacket::new_unchecked(&mut out[..]), src, dst);
    out
}

fn parse(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<UdpRepr<'_>> {
    UdpRepr::parse(&UdpPacket::new_checked(bytes)?, src, dst)
}

/// Parses a captured datagram, checks the repr, emits it and expects the same bytes.
fn round_trip(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr, expect: UdpRepr<'_>) {
    let p = UdpPacket::new_checked(bytes).unwrap();
    assert!(p.verify_checksum(src, dst));
    let repr = UdpRepr::parse(&p, src, dst).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(emit(&repr, src, dst), bytes);
}

#[test]
fn fixture_full_checksum() {
    let bytes = &UDP_CSUM[L4..];
    round_trip(
        bytes,
        B1,
        B2,
        UdpRepr {
            src_port: 40000,
            dst_port: 5353,
            payload: b"hi\n",
        },
    );
    let p = UdpPacket::new_checked(bytes).unwrap();
    assert_eq!((p.len(), p.checksum()), (11, 0xb5a8));
}

/// RFC 768: "If the computed checksum is zero, it is transmitted as all ones". Linux
/// did so in this capture, and so do we.
#[test]
fn fixture_computed_zero_sent_as_all_ones() {
    let bytes = &UDP_ZERO_SUM[L4..];
    let p = UdpPacket::new_checked(bytes).unwrap();
    assert_eq!(p.checksum(), 0xffff);
    // With the field zero, the complement of the sum is zero.
    let mut zeroed = bytes.to_vec();
    zeroed[6..8].copy_from_slice(&[0, 0]);
    assert_eq!(checksum::transport_checksum(B1, B2, 17, &zeroed), 0);
    round_trip(
        bytes,
        B1,
        B2,
        UdpRepr {
            src_port: 40000,
            dst_port: 5353,
            payload: &bytes[8..],
        },
    );
    // fill_checksum writes 0xffff, never 0.
    UdpPacket::new_unchecked(&mut zeroed[..]).fill_checksum(B1, B2);
    assert_eq!(&zeroed[..], bytes);
    // etherparse agrees.
    let theirs = etherparse::UdpHeader {
        source_port: 40000,
        destination_port: 5353,
        length: 19,
        checksum: 0,
    };
    assert_eq!(
        theirs
            .calc_checksum_ipv4_raw(B1.octets(), B2.octets(), &bytes[8..])
            .unwrap(),
        0xffff
    );
}

/// RFC 768: "An all zero transmitted checksum value means that the transmitter generated
/// no checksum". Linux sent this one with `SO_NO_CHECK`; it is accepted whatever the
/// addresses. We always send a checksum (RFC 1122 section 4.1.3.4).
#[test]
fn fixture_zero_checksum_accepted() {
    let bytes = &UDP_NO_CSUM[L4..];
    let p = UdpPacket::new_checked(bytes).unwrap();
    assert_eq!(p.checksum(), 0);
    let expect = UdpRepr {
        src_port: 40001,
        dst_port: 5353,
        payload: b"no checksum\n",
    };
    for (src, dst) in [(B1, B2), (A1, A2), (Ipv4Addr::UNSPECIFIED, B1)] {
        assert!(p.verify_checksum(src, dst));
        assert_eq!(UdpRepr::parse(&p, src, dst), Ok(expect));
    }
    let out = emit(&expect, B1, B2);
    assert_eq!(&out[..6], &bytes[..6]);
    assert_eq!(&out[8..], &bytes[8..]);
    assert_ne!(&out[6..8], &[0, 0]);
    assert!(UdpPacket::new_checked(&out[..])
        .unwrap()
        .verify_checksum(B1, B2));
}

/// Frames 16, 29 and 32 of `veth-capture.pcap` were captured with checksum offload on:
/// the field holds the folded pseudo-header sum, the rest is left to the NIC. The
/// header parses; the checksum does not verify until it is completed.
#[test]
fn fixture_partial_checksums() {
    let cases: [(&[u8], u16, u16, &[u8]); 3] = [
        (&FRAME_16[L4..], 58622, 5353, b"hi\n"),
        (&FRAME_29[L4..], 42421, 9999, b"x\n"),
        (&FRAME_32[L4..], 39330, 33434, &FRAME_32[L4 + 8..]),
    ];
    for (bytes, src_port, dst_port, payload) in cases {
        let p = UdpPacket::new_checked(bytes).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (src_port, dst_port));
        assert_eq!(usize::from(p.len()), bytes.len());
        assert_eq!(p.payload(), payload);
        let partial = checksum::fold(checksum::pseudo_header(A1, A2, 17, u32::from(p.len())));
        assert_eq!(p.checksum(), partial);
        assert!(!p.verify_checksum(A1, A2));
        assert_eq!(UdpRepr::parse(&p, A1, A2), Err(Error::BadChecksum));
        // Complete it as the NIC would, then it round-trips.
        let mut fixed = bytes.to_vec();
        UdpPacket::new_unchecked(&mut fixed[..]).fill_checksum(A1, A2);
        let expect = UdpRepr {
            src_port,
            dst_port,
            payload,
        };
        round_trip(&fixed, A1, A2, expect);
    }
}

#[test]
fn into_payload_outlives_view() {
    let payload = {
        let p = UdpPacket::new_checked(&UDP_CSUM[L4..]).unwrap();
        p.into_payload()
    };
    assert_eq!(payload, b"hi\n");
}

#[test]
fn shorter_than_header_is_truncated() {
    let b = &UDP_CSUM[L4..];
    for n in 0..HEADER_LEN {
        assert_eq!(
            UdpPacket::new_checked(&b[..n]).unwrap_err(),
            Error::Truncated
        );
        let p = UdpPacket::new_unchecked(&b[..n]);
        assert_eq!(UdpRepr::parse(&p, B1, B2), Err(Error::Truncated));
    }
}

/// RFC 768 "Length": it counts header and data, so its minimum is eight.
#[test]
fn length_under_eight_is_bad() {
    for len in 0u16..8 {
        let mut b = UDP_CSUM[L4..].to_vec();
        b[4..6].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            UdpPacket::new_checked(&b[..]).unwrap_err(),
            Error::BadLength
        );
        let p = UdpPacket::new_unchecked(&b[..]);
        assert_eq!(UdpRepr::parse(&p, B1, B2), Err(Error::BadLength));
    }
}

#[test]
fn length_beyond_buffer_is_truncated() {
    let b = &UDP_CSUM[L4..];
    assert_eq!(
        UdpPacket::new_checked(&b[..10]).unwrap_err(),
        Error::Truncated
    );
    let mut b = b.to_vec();
    b[4..6].copy_from_slice(&12u16.to_be_bytes());
    assert_eq!(
        UdpPacket::new_checked(&b[..]).unwrap_err(),
        Error::Truncated
    );
}

/// Bytes past the length field are not part of the datagram: not payload, not summed.
#[test]
fn bytes_past_length_ignored() {
    let mut b = UDP_CSUM[L4..].to_vec();
    b.extend_from_slice(&[0xde, 0xad]);
    let p = UdpPacket::new_checked(&b[..]).unwrap();
    assert_eq!(p.payload(), b"hi\n");
    assert_eq!(parse(&b, B1, B2).unwrap().payload, b"hi\n");
    let mut q = UdpPacket::new_checked(&mut b[..]).unwrap();
    q.set_checksum(0x1234);
    q.fill_checksum(B1, B2);
    assert_eq!(&b[..11], &UDP_CSUM[L4..]);
}

/// RFC 1122 section 4.1.3.4: a datagram whose checksum fails is discarded. The sum
/// covers the pseudo-header (RFC 768), so a wrong address fails too.
#[test]
fn checksum_failure() {
    for at in 0..11 {
        let mut b = UDP_CSUM[L4..].to_vec();
        b[at] ^= 0x04;
        let Ok(p) = UdpPacket::new_checked(&b[..]) else {
            continue; // the length field changed
        };
        assert_eq!(
            UdpRepr::parse(&p, B1, B2),
            Err(Error::BadChecksum),
            "byte {at}"
        );
    }
    let b = &UDP_CSUM[L4..];
    assert_eq!(parse(b, B1, A2), Err(Error::BadChecksum));
    assert_eq!(
        parse(b, B2, B1).map(|r| r.dst_port),
        Ok(5353),
        "swapped addresses sum the same"
    );
}

#[test]
fn setters() {
    let mut b = [0u8; 12];
    let mut p = UdpPacket::new_unchecked(&mut b[..]);
    p.set_src_port(1);
    p.set_dst_port(2);
    p.set_len(12);
    p.payload_mut().copy_from_slice(b"abcd");
    p.fill_checksum(B1, B2);
    assert!(p.verify_checksum(B1, B2));
    assert_eq!((p.src_port(), p.dst_port(), p.len()), (1, 2, 12));
    p.set_checksum(0);
    assert!(p.verify_checksum(A1, A2));
    assert_eq!(p.into_inner().len(), 12);
}

#[test]
fn display() {
    assert_eq!(
        parse(&UDP_CSUM[L4..], B1, B2).unwrap().to_string(),
        "UDP 40000 -> 5353 len=3"
    );
}

fn arb_datagram() -> impl Strategy<Value = ([u8; 4], [u8; 4], u16, u16, Vec<u8>)> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u16>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..100),
    )
}

proptest! {
    /// What we emit, etherparse reads to the same fields, and its checksum agrees.
    #[test]
    fn emit_parses_in_etherparse((src, dst, sp, dp, payload) in arb_datagram()) {
        let (src_ip, dst_ip) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        let repr = UdpRepr { src_port: sp, dst_port: dp, payload: &payload };
        let bytes = emit(&repr, src_ip, dst_ip);
        let theirs = etherparse::UdpSlice::from_slice(&bytes).unwrap();
        prop_assert_eq!(theirs.source_port(), sp);
        prop_assert_eq!(theirs.destination_port(), dp);
        prop_assert_eq!(usize::from(theirs.length()), bytes.len());
        prop_assert_eq!(theirs.payload(), &payload[..]);
        let expect = theirs.to_header().calc_checksum_ipv4_raw(src, dst, &payload).unwrap();
        prop_assert_eq!(theirs.checksum(), expect);
        prop_assert_ne!(theirs.checksum(), 0);
    }

    /// What etherparse emits, we read to the same fields.
    #[test]
    fn etherparse_emit_parses_here((src, dst, sp, dp, payload) in arb_datagram()) {
        let mut h = etherparse::UdpHeader {
            source_port: sp,
            destination_port: dp,
            length: (HEADER_LEN + payload.len()) as u16,
            checksum: 0,
        };
        h.checksum = h.calc_checksum_ipv4_raw(src, dst, &payload).unwrap();
        let mut bytes = h.to_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        let (src_ip, dst_ip) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        let p = UdpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(p.checksum(), h.checksum);
        prop_assert_eq!(
            UdpRepr::parse(&p, src_ip, dst_ip),
            Ok(UdpRepr { src_port: sp, dst_port: dp, payload: &payload })
        );
    }

    #[test]
    fn no_panic_hostile(buf in hostile_buffers(UDP_CSUM[L4..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }
}

fn exercise(buf: &[u8]) {
    let _ = UdpRepr::parse(&UdpPacket::new_unchecked(buf), B1, B2);
    if let Ok(p) = UdpPacket::new_checked(buf) {
        let _ = (p.src_port(), p.dst_port(), p.len(), p.checksum());
        let _ = (p.payload(), p.verify_checksum(B1, B2));
        if let Ok(repr) = UdpRepr::parse(&p, B1, B2) {
            let _ = repr.to_string();
            assert_eq!(repr.buffer_len(), usize::from(p.len()));
            assert_eq!(parse(&emit(&repr, B1, B2), B1, B2), Ok(repr));
        }
    }
}
