use super::*;
use crate::wire::ethernet::fixtures::{FRAME_8, FRAME_9, L3};
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

const MAC1: EthernetAddress = EthernetAddress([0x46, 0x32, 0xdc, 0xb3, 0x8c, 0x40]);
const MAC2: EthernetAddress = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);
const IP1: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const IP2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn round_trip(bytes: &[u8], expect: ArpRepr) {
    let p = ArpPacket::new_checked(bytes).unwrap();
    assert_eq!(p.hardware_type(), 1);
    assert_eq!(p.protocol_type(), EtherType::Ipv4);
    assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
    assert_eq!(p.packet_len(), PACKET_LEN);
    let repr = ArpRepr::parse(&p).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.buffer_len(), 28);
    let mut out = [0xaau8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], bytes);
}

/// Frame 8: Linux asks who has 10.77.0.2; the target hardware address is all zeros.
#[test]
fn fixture_request() {
    round_trip(
        &FRAME_8[L3..],
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: MAC1,
            source_protocol_addr: IP1,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: IP2,
        },
    );
}

/// Frame 9: the reply, unicast back to the asker.
#[test]
fn fixture_reply() {
    round_trip(
        &FRAME_9[L3..],
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: MAC2,
            source_protocol_addr: IP2,
            target_hardware_addr: MAC1,
            target_protocol_addr: IP1,
        },
    );
}

/// Ethernet pads an ARP packet to 46 bytes (RFC 894 minimum frame); the padding is
/// allowed and ignored.
#[test]
fn padding_ignored() {
    let mut padded = FRAME_9[L3..].to_vec();
    padded.resize(46, 0);
    let p = ArpPacket::new_checked(&padded[..]).unwrap();
    let repr = ArpRepr::parse(&p).unwrap();
    assert_eq!(repr.source_protocol_addr, IP2);
    assert_eq!(repr.target_hardware_addr, MAC1);
}

#[test]
fn truncated() {
    let bytes = &FRAME_8[L3..];
    for n in 0..PACKET_LEN {
        assert_eq!(
            ArpPacket::new_checked(&bytes[..n]).unwrap_err(),
            Error::Truncated,
            "{n}"
        );
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&bytes[..n])),
            Err(Error::Truncated)
        );
    }
}

fn with(mut bytes: Vec<u8>, at: usize, v: u8) -> Vec<u8> {
    bytes[at] = v;
    bytes
}

/// RFC 826 "Packet Reception": the receiver checks `ar$hrd` and `ar$pro` and drops what
/// it does not speak. Only Ethernet/IPv4 is spoken here.
#[test]
fn unsupported_hardware_type() {
    // ar$hrd = 6, IEEE 802 networks.
    let bytes = with(FRAME_8[L3..].to_vec(), 1, 6);
    let p = ArpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.hardware_type(), 6);
    assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
}

#[test]
fn unsupported_protocol_type() {
    // ar$pro = 0x86dd with ar$pln still 4: IPv6 is not resolved by ARP.
    let mut bytes = FRAME_8[L3..].to_vec();
    bytes[2..4].copy_from_slice(&[0x86, 0xdd]);
    let p = ArpPacket::new_checked(&bytes[..]).unwrap();
    assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
}

#[test]
fn unsupported_address_lengths() {
    // ar$hln = 8 (e.g. a 64-bit hardware address): 8 + 2 * (8 + 4) = 32 bytes needed.
    let mut long = with(FRAME_8[L3..].to_vec(), 4, 8);
    assert_eq!(
        ArpPacket::new_checked(&long[..]).unwrap_err(),
        Error::Truncated
    );
    long.resize(32, 0);
    let p = ArpPacket::new_checked(&long[..]).unwrap();
    assert_eq!(p.source_hardware_addr().len(), 8);
    assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
    // ar$pln = 3 is shorter than the buffer needs and still unsupported.
    let short = with(FRAME_8[L3..].to_vec(), 5, 3);
    let p = ArpPacket::new_checked(&short[..]).unwrap();
    assert_eq!(p.packet_len(), 26);
    assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
    // ar$hln = 0 and ar$pln = 0: an 8-byte packet with empty addresses.
    let empty = with(with(FRAME_8[L3..L3 + 8].to_vec(), 4, 0), 5, 0);
    let p = ArpPacket::new_checked(&empty[..]).unwrap();
    assert!(p.source_hardware_addr().is_empty() && p.target_protocol_addr().is_empty());
    assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported));
}

#[test]
fn unknown_operation_round_trips() {
    let repr = ArpRepr {
        operation: ArpOperation::Unknown(3), // RARP request (RFC 903)
        source_hardware_addr: MAC1,
        source_protocol_addr: IP1,
        target_hardware_addr: MAC2,
        target_protocol_addr: IP2,
    };
    let mut buf = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[6..8], &[0, 3]);
    let parsed = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(parsed, repr);
    assert!(parsed.to_string().contains("op=3"));
}

#[test]
fn operation_values() {
    for v in 0..=u16::MAX {
        assert_eq!(u16::from(ArpOperation::from(v)), v);
    }
    assert_eq!(ArpOperation::from(1), ArpOperation::Request);
    assert_eq!(ArpOperation::from(2), ArpOperation::Reply);
}

#[test]
fn display() {
    let p = ArpPacket::new_checked(&FRAME_8[L3..]).unwrap();
    assert_eq!(
        ArpRepr::parse(&p).unwrap().to_string(),
        "ARP who-has 10.77.0.2 tell 10.77.0.1 (46:32:dc:b3:8c:40)"
    );
}

fn arb_repr() -> impl Strategy<Value = ArpRepr> {
    (
        any::<u16>(),
        any::<[u8; 6]>(),
        any::<[u8; 4]>(),
        any::<[u8; 6]>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(op, sha, spa, tha, tpa)| ArpRepr {
            operation: ArpOperation::from(op),
            source_hardware_addr: EthernetAddress(sha),
            source_protocol_addr: Ipv4Addr::from(spa),
            target_hardware_addr: EthernetAddress(tha),
            target_protocol_addr: Ipv4Addr::from(tpa),
        })
}

proptest! {
    /// What we emit, etherparse's `ArpPacket` reads (as Ethernet/IPv4) to the same fields.
    #[test]
    fn emit_parses_in_etherparse(repr in arb_repr()) {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        let theirs = etherparse::ArpPacket::from_slice(&buf).unwrap();
        prop_assert_eq!(theirs.packet_len(), PACKET_LEN);
        let theirs = theirs.try_eth_ipv4().unwrap();
        prop_assert_eq!(theirs.operation.0, u16::from(repr.operation));
        prop_assert_eq!(theirs.sender_mac, repr.source_hardware_addr.0);
        prop_assert_eq!(theirs.sender_ipv4_addr(), repr.source_protocol_addr);
        prop_assert_eq!(theirs.target_mac, repr.target_hardware_addr.0);
        prop_assert_eq!(theirs.target_ipv4_addr(), repr.target_protocol_addr);
    }

    /// What etherparse emits for Ethernet/IPv4, we read to the same fields.
    #[test]
    fn etherparse_emit_parses_here(repr in arb_repr()) {
        let theirs = etherparse::ArpEthIpv4Packet {
            operation: etherparse::ArpOperation(u16::from(repr.operation)),
            sender_mac: repr.source_hardware_addr.0,
            sender_ipv4: repr.source_protocol_addr.octets(),
            target_mac: repr.target_hardware_addr.0,
            target_ipv4: repr.target_protocol_addr.octets(),
        };
        let bytes = theirs.to_bytes();
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&p), Ok(repr));
    }

    /// For any hardware/protocol type and address sizes, the generic view reads what
    /// etherparse wrote, and the parser accepts exactly the Ethernet/IPv4 combination.
    #[test]
    fn generic_view_matches_etherparse(
        htype in prop_oneof![Just(1u16), any::<u16>()],
        ptype in prop_oneof![Just(0x0800u16), any::<u16>()],
        op in any::<u16>(),
        hlen in prop_oneof![Just(6usize), 0usize..20],
        plen in prop_oneof![Just(4usize), 0usize..20],
        addrs in proptest::collection::vec(any::<u8>(), 80),
    ) {
        let (sha, rest) = addrs.split_at(hlen);
        let (spa, rest) = rest.split_at(plen);
        let (tha, rest) = rest.split_at(hlen);
        let tpa = &rest[..plen];
        let theirs = etherparse::ArpPacket::new(
            etherparse::ArpHardwareId(htype),
            etherparse::EtherType(ptype),
            etherparse::ArpOperation(op),
            sha, spa, tha, tpa,
        ).unwrap();
        let bytes = theirs.to_bytes();
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(p.hardware_type(), htype);
        prop_assert_eq!(u16::from(p.protocol_type()), ptype);
        prop_assert_eq!(u16::from(p.operation()), op);
        prop_assert_eq!(p.source_hardware_addr(), sha);
        prop_assert_eq!(p.source_protocol_addr(), spa);
        prop_assert_eq!(p.target_hardware_addr(), tha);
        prop_assert_eq!(p.target_protocol_addr(), tpa);
        let supported = htype == 1 && ptype == 0x0800 && hlen == 6 && plen == 4;
        let parsed = ArpRepr::parse(&p);
        prop_assert_eq!(parsed.is_ok(), supported);
        if !supported {
            prop_assert_eq!(parsed, Err(Error::Unsupported));
        }
    }

    #[test]
    fn no_panic_hostile(buf in hostile_buffers(FRAME_9[L3..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }
}

fn exercise(buf: &[u8]) {
    let _ = ArpRepr::parse(&ArpPacket::new_unchecked(buf));
    if let Ok(p) = ArpPacket::new_checked(buf) {
        let _ = (p.hardware_type(), p.protocol_type(), p.operation());
        let _ = (p.hardware_len(), p.protocol_len(), p.packet_len());
        let _ = (p.source_hardware_addr(), p.source_protocol_addr());
        let _ = (p.target_hardware_addr(), p.target_protocol_addr());
        if let Ok(repr) = ArpRepr::parse(&p) {
            let _ = repr.to_string();
            let mut out = [0u8; PACKET_LEN];
            repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
            assert_eq!(&out[..], &buf[..PACKET_LEN]);
        }
    }
}
