use super::fixtures::*;
use super::*;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

const HOST1: EthernetAddress = EthernetAddress([0x46, 0x32, 0xdc, 0xb3, 0x8c, 0x40]);
const HOST2: EthernetAddress = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);

/// Parses a captured frame, checks its header, emits it again with the same payload and
/// expects the very same bytes.
fn round_trip(bytes: &[u8], expect: EthernetRepr) {
    let frame = EthernetFrame::new_checked(bytes).unwrap();
    let repr = EthernetRepr::parse(&frame).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.buffer_len(), HEADER_LEN);
    let mut out = vec![0u8; bytes.len()];
    let mut f = EthernetFrame::new_unchecked(&mut out[..]);
    repr.emit(&mut f);
    f.payload_mut().copy_from_slice(frame.payload());
    assert_eq!(out, bytes);
}

#[test]
fn fixture_arp_request_broadcast() {
    round_trip(
        &FRAME_8,
        EthernetRepr {
            src_addr: HOST1,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::Arp,
        },
    );
    let frame = EthernetFrame::new_checked(&FRAME_8[..]).unwrap();
    assert!(frame.dst_addr().is_broadcast());
    assert_eq!(frame.payload().len(), 28);
}

#[test]
fn fixture_ipv4_frames() {
    for (bytes, src, dst) in [
        (&FRAME_10[..], HOST1, HOST2),
        (&FRAME_11[..], HOST2, HOST1),
        (&FRAME_12[..], HOST1, HOST2),
        (&FRAME_16[..], HOST1, HOST2),
        (&FRAME_33[..], HOST2, HOST1),
    ] {
        round_trip(
            bytes,
            EthernetRepr {
                src_addr: src,
                dst_addr: dst,
                ethertype: EtherType::Ipv4,
            },
        );
    }
}

#[test]
fn into_payload_outlives_view() {
    let payload = {
        let frame = EthernetFrame::new_checked(&FRAME_16[..]).unwrap();
        frame.into_payload()
    };
    assert_eq!(payload, &FRAME_16[L3..]);
}

#[test]
fn short_frame_is_truncated() {
    for n in 0..HEADER_LEN {
        assert_eq!(
            EthernetFrame::new_checked(&FRAME_8[..n]).unwrap_err(),
            Error::Truncated
        );
        let unchecked = EthernetFrame::new_unchecked(&FRAME_8[..n]);
        assert_eq!(EthernetRepr::parse(&unchecked), Err(Error::Truncated));
    }
    let empty_payload = EthernetFrame::new_checked(&FRAME_8[..HEADER_LEN]).unwrap();
    assert!(empty_payload.payload().is_empty());
}

/// Short frames are padded to 60 bytes (RFC 894); the padding stays in the payload for
/// the next layer to trim with its own length.
#[test]
fn padding_is_part_of_payload() {
    let mut padded = FRAME_9.to_vec();
    padded.resize(60, 0);
    let frame = EthernetFrame::new_checked(&padded[..]).unwrap();
    assert_eq!(frame.payload().len(), 46);
    assert_eq!(&frame.payload()[..28], &FRAME_9[L3..]);
}

#[test]
fn address_classes() {
    assert!(EthernetAddress::BROADCAST.is_broadcast());
    assert!(EthernetAddress::BROADCAST.is_multicast());
    assert!(!EthernetAddress::BROADCAST.is_unicast());
    // 01:00:5e:00:00:01 is the IPv4 all-hosts group (RFC 1112 section 6.4).
    let mcast = EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 1]);
    assert!(mcast.is_multicast() && !mcast.is_broadcast() && !mcast.is_unicast());
    assert!(HOST1.is_unicast() && !HOST1.is_multicast() && !HOST1.is_broadcast());
    // Linux's random veth addresses are locally administered.
    assert!(HOST1.is_local() && HOST2.is_local());
    assert_eq!(EthernetAddress::from_bytes(HOST2.as_bytes()), HOST2);
}

#[test]
fn address_display_and_parse() {
    assert_eq!(HOST2.to_string(), "ea:2c:d8:af:0e:86");
    assert_eq!("ea:2c:d8:af:0e:86".parse::<EthernetAddress>(), Ok(HOST2));
    assert_eq!("EA:2C:D8:AF:E:86".parse::<EthernetAddress>(), Ok(HOST2));
    assert_eq!(
        "ff:ff:ff:ff:ff:ff".parse::<EthernetAddress>(),
        Ok(EthernetAddress::BROADCAST)
    );
    for bad in [
        "",
        "ea:2c:d8:af:0e",
        "ea:2c:d8:af:0e:86:00",
        "ea:2c:d8:af:0e:",
        "ea:2c:d8:af:0e:866",
        "ea-2c-d8-af-0e-86",
        "ea:2c:d8:af:0e:8g",
        "+a:2c:d8:af:0e:86",
        "ea::2c:d8:af:0e",
    ] {
        assert_eq!(
            bad.parse::<EthernetAddress>(),
            Err(Error::Malformed),
            "{bad:?}"
        );
    }
}

#[test]
fn ethertype_values() {
    assert_eq!(EtherType::from(0x0800), EtherType::Ipv4);
    assert_eq!(EtherType::from(0x0806), EtherType::Arp);
    assert_eq!(EtherType::from(0x86dd), EtherType::Ipv6);
    assert_eq!(EtherType::from(0x88cc), EtherType::Unknown(0x88cc));
    for v in 0..=u16::MAX {
        assert_eq!(u16::from(EtherType::from(v)), v);
    }
}

#[test]
fn setters() {
    let mut buf = FRAME_10;
    let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
    f.set_dst_addr(EthernetAddress::BROADCAST);
    f.set_src_addr(HOST2);
    f.set_ethertype(EtherType::Unknown(0x1234));
    f.payload_mut()[0] = 0x46;
    let f = EthernetFrame::new_checked(&buf[..]).unwrap();
    assert_eq!(f.dst_addr(), EthernetAddress::BROADCAST);
    assert_eq!(f.src_addr(), HOST2);
    assert_eq!(f.ethertype(), EtherType::Unknown(0x1234));
    assert_eq!(f.payload()[0], 0x46);
    assert_eq!(&f.payload()[1..], &FRAME_10[L3 + 1..]);
    assert_eq!(f.into_inner().len(), FRAME_10.len());
}

fn arb_mac() -> impl Strategy<Value = [u8; 6]> {
    any::<[u8; 6]>()
}

proptest! {
    /// What we emit, etherparse reads to the same fields and payload.
    #[test]
    fn emit_parses_in_etherparse(
        src in arb_mac(),
        dst in arb_mac(),
        ty in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let repr = EthernetRepr {
            src_addr: EthernetAddress(src),
            dst_addr: EthernetAddress(dst),
            ethertype: EtherType::from(ty),
        };
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        repr.emit(&mut f);
        f.payload_mut().copy_from_slice(&payload);
        let (hdr, rest) = etherparse::Ethernet2Header::from_slice(&buf).unwrap();
        prop_assert_eq!(hdr.source, src);
        prop_assert_eq!(hdr.destination, dst);
        prop_assert_eq!(hdr.ether_type.0, ty);
        prop_assert_eq!(rest, &payload[..]);
    }

    /// What etherparse emits, we read to the same fields and payload.
    #[test]
    fn etherparse_emit_parses_here(
        src in arb_mac(),
        dst in arb_mac(),
        ty in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let hdr = etherparse::Ethernet2Header {
            source: src,
            destination: dst,
            ether_type: etherparse::EtherType(ty),
        };
        let mut buf = hdr.to_bytes().to_vec();
        buf.extend_from_slice(&payload);
        let f = EthernetFrame::new_checked(&buf[..]).unwrap();
        let repr = EthernetRepr::parse(&f).unwrap();
        prop_assert_eq!(repr.src_addr, EthernetAddress(src));
        prop_assert_eq!(repr.dst_addr, EthernetAddress(dst));
        prop_assert_eq!(u16::from(repr.ethertype), ty);
        prop_assert_eq!(f.payload(), &payload[..]);
    }

    /// Address text round-trips.
    #[test]
    fn address_text_round_trip(a in arb_mac()) {
        let a = EthernetAddress(a);
        prop_assert_eq!(a.to_string().parse::<EthernetAddress>(), Ok(a));
    }

    /// No input makes the checked view, the parser or an accessor panic.
    #[test]
    fn no_panic_hostile(buf in hostile_buffers(FRAME_10.to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..1600)) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_from_str(s in "\\PC{0,24}") {
        let _ = s.parse::<EthernetAddress>();
    }
}

fn exercise(buf: &[u8]) {
    let _ = EthernetRepr::parse(&EthernetFrame::new_unchecked(buf));
    if let Ok(f) = EthernetFrame::new_checked(buf) {
        let repr = EthernetRepr::parse(&f).unwrap();
        let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.header_len());
        assert_eq!(f.payload().len() + HEADER_LEN, buf.len());
        let _ = repr.to_string();
    }
}
