use super::fixtures::*;
use super::*;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

const A1: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const A2: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);

/// Parses a captured packet, checks the repr, emits header + the same payload and
/// expects the captured bytes back.
#[track_caller]
fn round_trip(bytes: &[u8], expect: Ipv6Repr) {
    let p = Ipv6Packet::new_checked(bytes).unwrap();
    let repr = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(p.payload().len(), repr.payload_len);
    let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
    let mut q = Ipv6Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut q).unwrap();
    q.payload_mut().copy_from_slice(p.payload());
    assert_eq!(out, bytes);
}

fn echo(src: Ipv6Addr, dst: Ipv6Addr, payload_len: usize) -> Ipv6Repr {
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: next_header::ICMPV6,
        payload_len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    }
}

#[test]
fn fixture_echo_request_and_reply() {
    let req = &FRAME_19[L3..];
    let p = Ipv6Packet::new_checked(req).unwrap();
    assert_eq!((p.version(), p.payload_len(), p.next_header()), (6, 64, 58));
    // Linux sets a flow label on its echo requests (RFC 6437 auto flow labels).
    let flow = p.flow_label();
    assert_ne!(flow, 0);
    assert_eq!(p.header(), &req[..40]);
    assert_eq!(p.packet(), req);
    round_trip(
        req,
        Ipv6Repr {
            flow_label: flow,
            ..echo(A1, A2, 64)
        },
    );
    let rep = &FRAME_20[L3..];
    let flow = Ipv6Packet::new_checked(rep).unwrap().flow_label();
    round_trip(
        rep,
        Ipv6Repr {
            flow_label: flow,
            ..echo(A2, A1, 64)
        },
    );
}

/// Frame 29: `ping -t 1` sets the hop limit to 1.
#[test]
fn fixture_hop_limit_one() {
    let p = Ipv6Packet::new_checked(&FRAME_29[L3..]).unwrap();
    assert_eq!(Ipv6Repr::parse(&p).unwrap().hop_limit, 1);
}

/// Frame 1: an MLD report from the unspecified address with hop limit 1 and a
/// Hop-by-Hop header first (RFC 3810 section 5).
#[test]
fn fixture_mld_with_hop_by_hop() {
    let b = &FRAME_1[L3..];
    let p = Ipv6Packet::new_checked(b).unwrap();
    let r = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(r.src_addr, Ipv6Addr::UNSPECIFIED);
    assert_eq!(r.dst_addr, "ff02::16".parse::<Ipv6Addr>().unwrap());
    assert_eq!((r.next_header, r.hop_limit), (next_header::HOP_BY_HOP, 1));
    assert!(addr::is_multicast(&r.dst_addr));
    round_trip(b, r);
}

#[test]
fn fixture_fragments() {
    for f in [&FRAME_21[L3..], &FRAME_22[L3..]] {
        let p = Ipv6Packet::new_checked(f).unwrap();
        assert_eq!(p.next_header(), next_header::FRAGMENT);
        assert_eq!(usize::from(p.payload_len()) + HEADER_LEN, f.len());
        round_trip(f, Ipv6Repr::parse(&p).unwrap());
    }
}

#[test]
fn shorter_than_header_is_truncated() {
    let b = &FRAME_19[L3..];
    for n in 0..HEADER_LEN {
        assert_eq!(
            Ipv6Packet::new_checked(&b[..n]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Ipv6Packet::new_checked_header(&b[..n]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&b[..n])),
            Err(Error::Truncated)
        );
    }
}

/// RFC 8200 section 3 "Version": 4-bit Internet Protocol version number = 6.
#[test]
fn bad_version() {
    for v in [0u8, 4, 5, 7, 15] {
        let mut b = FRAME_19[L3..].to_vec();
        b[0] = (v << 4) | (b[0] & 0x0f);
        assert_eq!(
            Ipv6Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadVersion
        );
        assert_eq!(
            Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&b[..])),
            Err(Error::BadVersion)
        );
    }
}

/// RFC 8200 section 3 "Payload Length": the rest of the packet; a buffer shorter than
/// it says is truncated. Bytes after it (Ethernet padding) are not payload.
#[test]
fn payload_length() {
    let b = &FRAME_19[L3..];
    assert_eq!(
        Ipv6Packet::new_checked(&b[..b.len() - 1]).unwrap_err(),
        Error::Truncated
    );
    let mut padded = b.to_vec();
    padded.extend_from_slice(&[0xee; 10]);
    let p = Ipv6Packet::new_checked(&padded[..]).unwrap();
    assert_eq!(p.payload(), &b[40..]);
    assert_eq!(p.packet(), b);
    assert_eq!(Ipv6Repr::parse(&p).unwrap().payload_len, 64);
}

/// An ICMPv6 error quotes a packet cut short (RFC 4443 section 2.4 (c)): the header
/// still reads, the payload is what is there.
#[test]
fn quoted_header_only() {
    let quote = &FRAME_19[L3..L3 + 48];
    assert_eq!(
        Ipv6Packet::new_checked(quote).unwrap_err(),
        Error::Truncated
    );
    let p = Ipv6Packet::new_checked_header(quote).unwrap();
    assert_eq!((p.src_addr(), p.dst_addr(), p.payload_len()), (A1, A2, 64));
    assert_eq!(p.payload(), &FRAME_19[L4..L4 + 8]);
    assert_eq!(p.into_payload().len(), 8);
}

#[test]
fn setters_keep_neighbouring_bits() {
    let mut b = FRAME_19[L3..].to_vec();
    let flow = Ipv6Packet::new_checked(&b[..]).unwrap().flow_label();
    let mut p = Ipv6Packet::new_checked(&mut b[..]).unwrap();
    p.set_traffic_class(0xb9); // DSCP 46 (EF), ECN 1
    assert_eq!(
        (p.version(), p.traffic_class(), p.flow_label()),
        (6, 0xb9, flow)
    );
    assert_eq!((p.dscp(), p.ecn()), (46, 1));
    p.set_flow_label(0xfffff);
    assert_eq!(
        (p.version(), p.traffic_class(), p.flow_label()),
        (6, 0xb9, 0xfffff)
    );
    p.set_flow_label(0x123456); // only 20 bits are kept
    assert_eq!((p.traffic_class(), p.flow_label()), (0xb9, 0x23456));
    p.set_version(6);
    p.set_hop_limit(1);
    p.set_next_header(next_header::NO_NEXT_HEADER);
    p.set_src_addr(A2);
    p.set_dst_addr(A1);
    p.set_payload_len(8);
    p.payload_mut()[0] = 0xab;
    assert_eq!((p.hop_limit(), p.next_header()), (1, 59));
    assert_eq!((p.src_addr(), p.dst_addr()), (A2, A1));
    assert_eq!(p.payload().len(), 8);
    assert_eq!(p.payload()[0], 0xab);
    assert_eq!(p.into_inner().len(), 104);
}

/// No jumbograms (RFC 2675): a payload over 65,535 octets cannot be emitted.
#[test]
fn emit_refuses_what_does_not_fit() {
    let mut out = [0u8; 40];
    let too_long = echo(A1, A2, 65_536);
    assert_eq!(
        too_long.emit(&mut Ipv6Packet::new_unchecked(&mut out[..])),
        Err(Error::BadLength)
    );
    let mut short = [0u8; 39];
    assert_eq!(
        echo(A1, A2, 0).emit(&mut Ipv6Packet::new_unchecked(&mut short[..])),
        Err(Error::BufferTooSmall)
    );
}

/// RFC 4291 sections 2.5.6 and 2.7.1: the address classes and the solicited-node
/// address, checked against the kernel's own choices in the capture (frame 17 solicits
/// fd00:77::2 at ff02::1:ff00:2).
#[test]
fn address_classes() {
    let p = Ipv6Packet::new_checked(&FRAME_17[L3..]).unwrap();
    assert_eq!(addr::solicited_node(&A2), p.dst_addr());
    assert!(addr::is_solicited_node(&p.dst_addr()));
    assert!(!addr::is_solicited_node(&addr::ALL_NODES));
    let ll: Ipv6Addr = "fe80::e82c:d8ff:feaf:e86".parse().unwrap();
    assert!(addr::is_link_local(&ll));
    assert!(addr::is_link_local(&"febf::1".parse().unwrap()));
    assert!(!addr::is_link_local(&"fec0::1".parse().unwrap()));
    assert!(!addr::is_link_local(&A1));
    let dad = Ipv6Packet::new_checked(&FRAME_2[L3..]).unwrap();
    assert_eq!(addr::solicited_node(&ll), dad.dst_addr());
    assert!(addr::is_multicast(&addr::ALL_ROUTERS));
}

#[test]
fn display() {
    let r = Ipv6Repr::parse(&Ipv6Packet::new_checked(&FRAME_21[L3..]).unwrap()).unwrap();
    assert!(r
        .to_string()
        .starts_with("IPv6 fd00:77::1 -> fd00:77::2 nh=44 len=1456 hlim=64"));
}

fn arb_repr() -> impl Strategy<Value = (Ipv6Repr, Vec<u8>)> {
    (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        (any::<u8>(), any::<u8>(), 0u32..=0xfffff),
    )
        .prop_map(|(src, dst, nh, payload, (hlim, tc, flow))| {
            let repr = Ipv6Repr {
                src_addr: Ipv6Addr::from(src),
                dst_addr: Ipv6Addr::from(dst),
                next_header: nh,
                payload_len: payload.len(),
                hop_limit: hlim,
                traffic_class: tc,
                flow_label: flow,
            };
            (repr, payload)
        })
}

proptest! {
    /// What we emit, etherparse reads to the same fields.
    #[test]
    fn emit_parses_in_etherparse((repr, payload) in arb_repr()) {
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let mut p = Ipv6Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut p).unwrap();
        p.payload_mut().copy_from_slice(&payload);
        let (h, rest) = etherparse::Ipv6Header::from_slice(&buf).unwrap();
        prop_assert_eq!(h.source, repr.src_addr.octets());
        prop_assert_eq!(h.destination, repr.dst_addr.octets());
        prop_assert_eq!(h.next_header.0, repr.next_header);
        prop_assert_eq!(usize::from(h.payload_length), repr.payload_len);
        prop_assert_eq!(h.hop_limit, repr.hop_limit);
        prop_assert_eq!(h.traffic_class, repr.traffic_class);
        prop_assert_eq!(h.flow_label.value(), repr.flow_label);
        prop_assert_eq!(rest, &payload[..]);
    }

    /// What etherparse emits, we read to the same fields.
    #[test]
    fn etherparse_emit_parses_here((repr, payload) in arb_repr()) {
        let h = etherparse::Ipv6Header {
            traffic_class: repr.traffic_class,
            flow_label: etherparse::Ipv6FlowLabel::try_new(repr.flow_label).unwrap(),
            payload_length: payload.len() as u16,
            next_header: etherparse::IpNumber(repr.next_header),
            hop_limit: repr.hop_limit,
            source: repr.src_addr.octets(),
            destination: repr.dst_addr.octets(),
        };
        let mut buf = h.to_bytes().to_vec();
        buf.extend_from_slice(&payload);
        let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Ipv6Repr::parse(&p), Ok(repr));
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert_eq!((p.dscp(), p.ecn()), (h.dscp().value(), h.ecn().value()));
    }

    #[test]
    fn no_panic_hostile(buf in hostile_buffers(FRAME_19[L3..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&buf);
    }

    /// Random bytes behind a version-6 first byte, to get past the version check.
    #[test]
    fn no_panic_random_v6(
        first in 0x60u8..=0x6f,
        rest in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut buf = vec![first];
        buf.extend_from_slice(&rest);
        exercise(&buf);
    }
}

fn exercise(buf: &[u8]) {
    let _ = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(buf));
    if let Ok(p) = Ipv6Packet::new_checked_header(buf) {
        touch(&p);
    }
    if let Ok(p) = Ipv6Packet::new_checked(buf) {
        touch(&p);
        assert_eq!(p.payload().len(), usize::from(p.payload_len()));
        let repr = Ipv6Repr::parse(&p).unwrap();
        let _ = repr.to_string();
        let _ = ExtChain::parse(&p);
    }
}

fn touch<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) {
    let _ = (
        p.version(),
        p.traffic_class(),
        p.dscp(),
        p.ecn(),
        p.flow_label(),
    );
    let _ = (p.payload_len(), p.next_header(), p.hop_limit());
    let _ = (
        p.src_addr(),
        p.dst_addr(),
        p.header(),
        p.payload(),
        p.packet(),
    );
}
