use super::*;
use crate::wire::ethernet::fixtures::*;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

const A1: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const A2: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// A header as Linux sends it from 10.77.0.1 to 10.77.0.2; tests override fields.
fn base(protocol: IpProtocol, payload_len: usize, ident: u16) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: A1,
        dst_addr: A2,
        protocol,
        payload_len,
        ttl: 64,
        ident,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    }
}

/// Parses a captured packet, checks the repr, emits header + the same payload and
/// expects the captured bytes back.
fn round_trip(bytes: &[u8], expect: Ipv4Repr) {
    let p = Ipv4Packet::new_checked(bytes).unwrap();
    assert!(p.verify_checksum());
    let repr = Ipv4Repr::parse(&p).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.buffer_len(), HEADER_LEN);
    assert_eq!(p.payload().len(), repr.payload_len);
    let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
    let mut q = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut q);
    q.payload_mut().copy_from_slice(p.payload());
    assert_eq!(out, bytes);
}

#[test]
fn fixture_echo_request() {
    let bytes = &FRAME_10[L3..];
    round_trip(bytes, base(IpProtocol::Icmp, 64, 0x3083));
    let p = Ipv4Packet::new_checked(bytes).unwrap();
    assert_eq!((p.version(), p.header_len(), p.total_len()), (4, 20, 84));
    assert_eq!((p.tos(), p.dscp(), p.ecn()), (0, 0, 0));
    assert_eq!(p.checksum(), 0xf589);
    assert!(p.options().is_empty());
    assert_eq!(p.header(), &bytes[..20]);
}

#[test]
fn fixture_echo_reply_without_df() {
    let expect = Ipv4Repr {
        src_addr: A2,
        dst_addr: A1,
        dont_frag: false,
        ..base(IpProtocol::Icmp, 64, 0x2ff0)
    };
    round_trip(&FRAME_11[L3..], expect);
}

/// Frame 12: the first fragment of a 2008-byte datagram: MF set, offset 0.
#[test]
fn fixture_first_fragment() {
    let expect = Ipv4Repr {
        dont_frag: false,
        more_frags: true,
        ..base(IpProtocol::Icmp, 1480, 0x3084)
    };
    round_trip(&FRAME_12[L3..], expect);
}

/// Frame 13: the last fragment: MF clear, offset field 185, i.e. 1480 bytes.
#[test]
fn fixture_last_fragment() {
    let bytes = &FRAME_13[L3..];
    let expect = Ipv4Repr {
        dont_frag: false,
        frag_offset: 1480,
        ..base(IpProtocol::Icmp, 528, 0x3084)
    };
    round_trip(bytes, expect);
    assert_eq!(read_u16(bytes, 6) & 0x1fff, 185);
}

#[test]
fn fixture_udp_and_tos() {
    round_trip(&FRAME_16[L3..], base(IpProtocol::Udp, 11, 0x7858));
    // Frame 30: Linux sends ICMP errors with TOS 0xc0 (DSCP CS6, "network control").
    let bytes = &FRAME_30[L3..];
    let expect = Ipv4Repr {
        src_addr: A2,
        dst_addr: A1,
        dont_frag: false,
        tos: 0xc0,
        ..base(IpProtocol::Icmp, 38, 0x3252)
    };
    round_trip(bytes, expect);
    let p = Ipv4Packet::new_checked(bytes).unwrap();
    assert_eq!((p.dscp(), p.ecn()), (48, 0));
}

/// Frame 32: a traceroute probe with TTL 1.
#[test]
fn fixture_ttl_one() {
    let expect = Ipv4Repr {
        ttl: 1,
        dont_frag: false,
        ..base(IpProtocol::Udp, 40, 0x8183)
    };
    round_trip(&FRAME_32[L3..], expect);
}

#[test]
fn into_payload_outlives_view() {
    let payload = {
        let p = Ipv4Packet::new_checked(&FRAME_16[L3..]).unwrap();
        p.into_payload()
    };
    assert_eq!(payload, &FRAME_16[L4..]);
}

fn frame16_ip() -> Vec<u8> {
    FRAME_16[L3..].to_vec()
}

#[test]
fn shorter_than_header_is_truncated() {
    let b = frame16_ip();
    for n in 0..HEADER_LEN {
        assert_eq!(
            Ipv4Packet::new_checked(&b[..n]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..n])),
            Err(Error::Truncated)
        );
    }
}

/// RFC 791 section 3.1 "Version": this format is version 4.
#[test]
fn bad_version() {
    for v in [0u8, 5, 6, 15] {
        let mut b = frame16_ip();
        b[0] = (v << 4) | 5;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadVersion
        );
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..])),
            Err(Error::BadVersion)
        );
    }
}

/// RFC 791 section 3.1 "IHL": "the minimum value for a correct header is 5".
#[test]
fn ihl_under_five() {
    for ihl in 0..5 {
        let mut b = frame16_ip();
        b[0] = 0x40 | ihl;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            Error::BadLength
        );
    }
}

#[test]
fn header_beyond_buffer() {
    let mut b = frame16_ip(); // 31 bytes
    b[0] = 0x48; // 32-byte header
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        Error::Truncated
    );
}

/// RFC 791 section 3.1 "Total Length" counts header and data, so it cannot be less
/// than the header length.
#[test]
fn total_len_under_header_len() {
    let mut b = frame16_ip();
    b[2..4].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        Error::BadLength
    );
    // IHL 6 (24 bytes) with total length 20.
    let mut b = frame16_ip();
    b[0] = 0x46;
    b[2..4].copy_from_slice(&20u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        Error::BadLength
    );
    // Exactly the header: a valid packet with an empty payload.
    let mut b = frame16_ip();
    b[2..4].copy_from_slice(&20u16.to_be_bytes());
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert!(p.payload().is_empty());
}

#[test]
fn total_len_beyond_buffer() {
    let b = FRAME_10[L3..].to_vec();
    assert_eq!(
        Ipv4Packet::new_checked(&b[..83]).unwrap_err(),
        Error::Truncated
    );
    let mut b = frame16_ip();
    b[2..4].copy_from_slice(&32u16.to_be_bytes());
    assert_eq!(
        Ipv4Packet::new_checked(&b[..]).unwrap_err(),
        Error::Truncated
    );
    assert_eq!(
        Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&b[..])),
        Err(Error::Truncated)
    );
}

/// RFC 894: a short IPv4 packet is padded to fill the 46-byte minimum Ethernet payload.
/// The padding is beyond the total length and is not payload.
#[test]
fn ethernet_padding_ignored() {
    let mut b = frame16_ip();
    b.resize(46, 0);
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.payload(), &FRAME_16[L4..]);
    assert_eq!(Ipv4Repr::parse(&p).unwrap().payload_len, 11);
}

/// RFC 1122 section 3.2.1.2: a datagram with a bad header checksum is discarded. The
/// checksum covers the header only (RFC 791 section 3.1), so payload damage passes.
#[test]
fn checksum_failure() {
    for at in 0..HEADER_LEN {
        let mut b = FRAME_10[L3..].to_vec();
        b[at] ^= 0x01;
        let Ok(p) = Ipv4Packet::new_checked(&b[..]) else {
            continue; // flipping version or length bits may fail earlier
        };
        assert!(!p.verify_checksum(), "byte {at}");
        assert_eq!(Ipv4Repr::parse(&p), Err(Error::BadChecksum), "byte {at}");
    }
    let mut b = FRAME_10[L3..].to_vec();
    b[40] ^= 0xff;
    assert!(Ipv4Repr::parse(&Ipv4Packet::new_checked(&b[..]).unwrap()).is_ok());
}

/// Inserts `options` after the 20-byte header of `packet` and fixes IHL, total length
/// and checksum.
fn with_options(packet: &[u8], options: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let mut b = packet[..HEADER_LEN].to_vec();
    b.extend_from_slice(options);
    b.extend_from_slice(&packet[HEADER_LEN..]);
    let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
    p.set_header_len(HEADER_LEN + options.len());
    p.set_total_len((packet.len() + options.len()) as u16);
    p.fill_checksum();
    b
}

/// RFC 1122 section 3.2.1.8: options not understood are ignored. The repr skips them;
/// the payload starts after them; the view still shows them.
#[test]
fn options_skipped() {
    // Router Alert (RFC 2113): type 148, length 4, value 0.
    let ra = [0x94, 0x04, 0x00, 0x00];
    let b = with_options(&FRAME_16[L3..], &ra);
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.header_len(), 24);
    assert_eq!(p.options(), &ra);
    assert_eq!(p.payload(), &FRAME_16[L4..]);
    let repr = Ipv4Repr::parse(&p).unwrap();
    assert_eq!(repr, base(IpProtocol::Udp, 11, 0x7858));
    // etherparse agrees on where the options end.
    let (theirs, rest) = etherparse::Ipv4Header::from_slice(&b).unwrap();
    assert_eq!(theirs.options.as_slice(), &ra);
    assert_eq!(rest, &FRAME_16[L4..]);
    // Emitting the repr drops the options: the same packet without them.
    let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
    let mut q = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut q);
    q.payload_mut().copy_from_slice(p.payload());
    assert_eq!(out, &FRAME_16[L3..]);
}

#[test]
fn maximum_options() {
    // IHL 15: 40 bytes of options, NOPs ending in End of Option List (RFC 791 3.1).
    let mut opts = [0x01u8; 40];
    opts[39] = 0x00;
    let b = with_options(&FRAME_10[L3..], &opts);
    let p = Ipv4Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.header_len(), 60);
    assert_eq!(p.options(), &opts);
    assert_eq!(p.payload(), &FRAME_10[L4..]);
    assert_eq!(Ipv4Repr::parse(&p).unwrap().payload_len, 64);
}

/// The quoted datagram in an ICMP error is cut short: `new_checked_header` reads its
/// header anyway, and `payload` returns what is there.
#[test]
fn quoted_header_only() {
    // Frame 33 quotes the whole 60-byte probe; keep the RFC 792 minimum, 20 + 8 bytes.
    let quote = &FRAME_33[L4 + 8..L4 + 8 + 28];
    assert_eq!(
        Ipv4Packet::new_checked(quote).unwrap_err(),
        Error::Truncated
    );
    let p = Ipv4Packet::new_checked_header(quote).unwrap();
    assert_eq!(
        (p.src_addr(), p.dst_addr(), p.protocol()),
        (A1, A2, IpProtocol::Udp)
    );
    assert_eq!((p.total_len(), p.ttl(), p.ident()), (60, 1, 0x8183));
    assert_eq!(p.payload(), &FRAME_32[L4..L4 + 8]);
    assert!(p.verify_checksum());
    assert_eq!(p.into_payload().len(), 8);
    let mut bad = quote.to_vec();
    bad[0] = 0x65;
    assert_eq!(
        Ipv4Packet::new_checked_header(&bad[..]).unwrap_err(),
        Error::BadVersion
    );
    assert_eq!(
        Ipv4Packet::new_checked_header(&quote[..19]).unwrap_err(),
        Error::Truncated
    );
}

#[test]
fn setters_keep_neighbouring_bits() {
    let mut b = FRAME_12[L3..].to_vec();
    let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
    p.set_dscp(46); // EF
    p.set_ecn(2); // ECT(0)
    assert_eq!(p.tos(), (46 << 2) | 2);
    p.set_dscp(0);
    assert_eq!(p.ecn(), 2);
    p.set_ecn(0);
    p.set_tos(0xb8);
    assert_eq!((p.dscp(), p.ecn()), (46, 0));
    p.set_frag_offset(1480);
    assert!(p.more_frags() && !p.dont_frag());
    assert_eq!(p.frag_offset(), 1480);
    p.set_dont_frag(true);
    p.set_more_frags(false);
    assert_eq!(
        (p.dont_frag(), p.more_frags(), p.frag_offset()),
        (true, false, 1480)
    );
    p.set_reserved_flag(true);
    assert!(p.reserved_flag() && p.dont_frag());
    p.set_frag_offset(65528);
    assert_eq!(p.frag_offset(), 65528);
    assert!(p.reserved_flag() && p.dont_frag() && !p.more_frags());
    p.set_ident(0xbeef);
    p.set_ttl(3);
    p.set_protocol(IpProtocol::Unknown(253));
    p.set_src_addr(A2);
    p.set_dst_addr(A1);
    p.set_version(4);
    assert!(!p.verify_checksum());
    p.fill_checksum();
    assert!(p.verify_checksum());
    assert_eq!(p.ident(), 0xbeef);
    assert_eq!(p.ttl(), 3);
    assert_eq!(p.protocol(), IpProtocol::Unknown(253));
    assert_eq!((p.src_addr(), p.dst_addr()), (A2, A1));
    p.header_mut()[8] = 9;
    p.payload_mut()[0] = 0xab;
    assert_eq!(p.ttl(), 9);
    assert_eq!(p.payload()[0], 0xab);
    assert_eq!(p.into_inner().len(), 1500);
}

/// RFC 791 section 3.1: the reserved flag "must be zero". It is ignored on input and
/// never sent.
#[test]
fn reserved_flag_ignored_and_cleared() {
    let mut b = FRAME_10[L3..].to_vec();
    let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
    p.set_reserved_flag(true);
    p.fill_checksum();
    let repr = Ipv4Repr::parse(&Ipv4Packet::new_checked(&b[..]).unwrap()).unwrap();
    assert_eq!(repr, base(IpProtocol::Icmp, 64, 0x3083));
    let mut out = [0xffu8; 20];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(&out[..], &FRAME_10[L3..L4]);
}

/// RFC 791 section 3.1 "Fragment Offset" counts 8-octet units; emitting an offset that
/// is not a multiple of 8 is a bug, caught in debug builds.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "frag_offset")]
fn emit_rejects_unaligned_offset() {
    let repr = Ipv4Repr {
        frag_offset: 1481,
        ..base(IpProtocol::Udp, 0, 1)
    };
    let mut out = [0u8; 20];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
}

#[test]
fn protocol_values() {
    for v in 0..=u8::MAX {
        assert_eq!(u8::from(IpProtocol::from(v)), v);
    }
    assert_eq!(IpProtocol::from(1), IpProtocol::Icmp);
    assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
    assert_eq!(IpProtocol::from(17), IpProtocol::Udp);
}

#[test]
fn display() {
    let p = Ipv4Packet::new_checked(&FRAME_13[L3..]).unwrap();
    assert_eq!(
        Ipv4Repr::parse(&p).unwrap().to_string(),
        "IPv4 10.77.0.1 -> 10.77.0.2 ICMP len=528 ttl=64 id=0x3084 off=1480"
    );
}

fn arb_repr() -> impl Strategy<Value = (Ipv4Repr, Vec<u8>)> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        (any::<u8>(), any::<u16>(), any::<bool>(), any::<bool>()),
        (0u16..=0x1fff, any::<u8>()),
    )
        .prop_map(
            |(src, dst, proto, payload, (ttl, ident, df, mf), (units, tos))| {
                let repr = Ipv4Repr {
                    src_addr: Ipv4Addr::from(src),
                    dst_addr: Ipv4Addr::from(dst),
                    protocol: IpProtocol::from(proto),
                    payload_len: payload.len(),
                    ttl,
                    ident,
                    dont_frag: df,
                    more_frags: mf,
                    frag_offset: units * 8,
                    tos,
                };
                (repr, payload)
            },
        )
}

proptest! {
    /// What we emit, etherparse reads to the same fields, with a valid checksum.
    #[test]
    fn emit_parses_in_etherparse((repr, payload) in arb_repr()) {
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut p);
        p.payload_mut().copy_from_slice(&payload);
        let (h, rest) = etherparse::Ipv4Header::from_slice(&buf).unwrap();
        prop_assert_eq!(h.source, repr.src_addr.octets());
        prop_assert_eq!(h.destination, repr.dst_addr.octets());
        prop_assert_eq!(h.protocol.0, u8::from(repr.protocol));
        prop_assert_eq!(usize::from(h.payload_len().unwrap()), repr.payload_len);
        prop_assert_eq!(h.time_to_live, repr.ttl);
        prop_assert_eq!(h.identification, repr.ident);
        prop_assert_eq!(h.dont_fragment, repr.dont_frag);
        prop_assert_eq!(h.more_fragments, repr.more_frags);
        prop_assert_eq!(h.fragment_offset.byte_offset(), repr.frag_offset);
        prop_assert_eq!((h.dscp.value() << 2) | h.ecn.value(), repr.tos);
        prop_assert!(h.options.is_empty());
        prop_assert_eq!(h.header_checksum, h.calc_header_checksum());
        prop_assert_eq!(rest, &payload[..]);
    }

    /// What etherparse emits (options included), we read to the same fields.
    #[test]
    fn etherparse_emit_parses_here(
        (repr, payload) in arb_repr(),
        opt_words in 0usize..=10,
        opt_bytes in proptest::collection::vec(any::<u8>(), 40),
    ) {
        let options = &opt_bytes[..opt_words * 4];
        let mut h = etherparse::Ipv4Header {
            dscp: etherparse::IpDscp::try_new(repr.tos >> 2).unwrap(),
            ecn: etherparse::IpEcn::try_new(repr.tos & 3).unwrap(),
            total_len: 0,
            identification: repr.ident,
            dont_fragment: repr.dont_frag,
            more_fragments: repr.more_frags,
            fragment_offset: etherparse::IpFragOffset::try_new(repr.frag_offset / 8).unwrap(),
            time_to_live: repr.ttl,
            protocol: etherparse::IpNumber(u8::from(repr.protocol)),
            header_checksum: 0,
            source: repr.src_addr.octets(),
            destination: repr.dst_addr.octets(),
            options: etherparse::Ipv4Options::try_from(options).unwrap(),
        };
        h.set_payload_len(payload.len()).unwrap();
        h.header_checksum = h.calc_header_checksum();
        let mut buf = h.to_bytes().to_vec();
        buf.extend_from_slice(&payload);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&p), Ok(repr));
        prop_assert_eq!(p.header_len(), HEADER_LEN + options.len());
        prop_assert_eq!(p.options(), options);
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert_eq!(p.checksum(), h.header_checksum);
    }

    #[test]
    fn no_panic_hostile(buf in hostile_buffers(FRAME_10[L3..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_hostile_fragment(buf in hostile_buffers(FRAME_13[L3..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..1600)) {
        exercise(&buf);
    }

    /// Random bytes behind a plausible first byte, to get past the version check often.
    #[test]
    fn no_panic_random_v4(
        first in 0x40u8..=0x4f,
        rest in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut buf = vec![first];
        buf.extend_from_slice(&rest);
        exercise(&buf);
    }
}

fn exercise(buf: &[u8]) {
    let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(buf));
    if let Ok(p) = Ipv4Packet::new_checked_header(buf) {
        touch(&p);
    }
    if let Ok(p) = Ipv4Packet::new_checked(buf) {
        touch(&p);
        assert_eq!(
            p.header_len() + p.payload().len(),
            usize::from(p.total_len())
        );
        if let Ok(repr) = Ipv4Repr::parse(&p) {
            let _ = repr.to_string();
            assert_eq!(repr.payload_len, p.payload().len());
        }
    }
}

fn touch<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) {
    let _ = (p.version(), p.header_len(), p.tos(), p.dscp(), p.ecn());
    let _ = (p.total_len(), p.ident(), p.reserved_flag(), p.dont_frag());
    let _ = (
        p.more_frags(),
        p.frag_offset(),
        p.ttl(),
        p.protocol(),
        p.checksum(),
    );
    let _ = (
        p.src_addr(),
        p.dst_addr(),
        p.header(),
        p.options(),
        p.payload(),
    );
    let _ = p.verify_checksum();
}
