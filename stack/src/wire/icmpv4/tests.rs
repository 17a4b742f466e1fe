use super::*;
use crate::wire::ethernet::fixtures::*;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

/// Parses a captured message, checks the repr, emits it and expects the same bytes.
fn round_trip(bytes: &[u8], expect: Icmpv4Repr<'_>) {
    let p = Icmpv4Packet::new_checked(bytes).unwrap();
    assert!(p.verify_checksum());
    let repr = Icmpv4Repr::parse(&p).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.buffer_len(), bytes.len());
    let mut out = vec![0x55u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(out, bytes);
}

/// Frame 10: `ping` sends ident 0x1145, seq 1, 56 bytes (a timestamp and a pattern).
#[test]
fn fixture_echo_request() {
    let bytes = &FRAME_10[L4..];
    round_trip(
        bytes,
        Icmpv4Repr::EchoRequest {
            ident: 0x1145,
            seq_no: 1,
            data: &FRAME_10[L4 + 8..],
        },
    );
    let p = Icmpv4Packet::new_checked(bytes).unwrap();
    assert_eq!((p.msg_type(), p.msg_code(), p.checksum()), (8, 0, 0x26a7));
    assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1145, 1));
    assert_eq!(p.data().len(), 56);
}

/// Frame 11: the reply carries the request's ident, sequence number and data.
#[test]
fn fixture_echo_reply() {
    round_trip(
        &FRAME_11[L4..],
        Icmpv4Repr::EchoReply {
            ident: 0x1145,
            seq_no: 1,
            data: &FRAME_10[L4 + 8..],
        },
    );
}

/// Frames 12 and 13 carry one 2008-byte echo request in two fragments; the checksum
/// covers the reassembled message.
#[test]
fn fixture_reassembled_echo_request() {
    let mut msg = FRAME_12[L4..].to_vec();
    msg.extend_from_slice(&FRAME_13[L4..]);
    assert_eq!(msg.len(), 2008);
    let first = Icmpv4Packet::new_checked(&FRAME_12[L4..]).unwrap();
    assert_eq!(
        Icmpv4Repr::parse(&first),
        Err(Error::BadChecksum),
        "a lone fragment does not verify"
    );
    round_trip(
        &msg,
        Icmpv4Repr::EchoRequest {
            ident: 0x1146,
            seq_no: 1,
            data: &msg[8..],
        },
    );
}

/// Frame 30: Linux's port unreachable for frame 29 quotes that whole datagram.
#[test]
fn fixture_port_unreachable() {
    let repr = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        data: &FRAME_29[L3..],
    };
    round_trip(&FRAME_30[L4..], repr);
    assert!(repr.is_error());
    assert_eq!(repr.quoted(), Some(&FRAME_29[L3..]));
}

/// Frame 33: the port unreachable for the traceroute probe of frame 32.
#[test]
fn fixture_port_unreachable_traceroute() {
    round_trip(
        &FRAME_33[L4..],
        Icmpv4Repr::DstUnreachable {
            reason: DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            data: &FRAME_32[L3..],
        },
    );
}

#[test]
fn into_data_outlives_view() {
    let data = {
        let p = Icmpv4Packet::new_checked(&FRAME_10[L4..]).unwrap();
        p.into_data()
    };
    assert_eq!(data, &FRAME_10[L4 + 8..]);
}

fn emit(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    out
}

fn parse(bytes: &[u8]) -> Result<Icmpv4Repr<'_>> {
    Icmpv4Repr::parse(&Icmpv4Packet::new_checked(bytes)?)
}

/// The quote of frame 33 cut to the RFC 792 minimum: IPv4 header + 64 bits.
fn short_quote() -> &'static [u8] {
    &FRAME_32[L3..L4 + 8]
}

#[test]
fn shorter_than_header_is_truncated() {
    for n in 0..HEADER_LEN {
        assert_eq!(
            Icmpv4Packet::new_checked(&FRAME_10[L4..L4 + n]).unwrap_err(),
            Error::Truncated
        );
        let p = Icmpv4Packet::new_unchecked(&FRAME_10[L4..L4 + n]);
        assert_eq!(Icmpv4Repr::parse(&p), Err(Error::Truncated));
    }
}

/// RFC 1122 section 3.2.2: a message whose checksum does not verify is discarded. The
/// checksum covers header and data (RFC 792).
#[test]
fn checksum_failure() {
    for at in 0..FRAME_10.len() - L4 {
        let mut b = FRAME_10[L4..].to_vec();
        b[at] ^= 0x20;
        let p = Icmpv4Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Icmpv4Repr::parse(&p), Err(Error::BadChecksum), "byte {at}");
    }
}

/// RFC 792: an error message carries "Internet Header + 64 bits of Original Data
/// Datagram". Data that cannot be an IPv4 header is Malformed.
#[test]
fn error_without_ipv4_header_is_malformed() {
    let mut not_v6 = short_quote().to_vec();
    not_v6[0] = 0x65;
    let mut ihl_4 = short_quote().to_vec();
    ihl_4[0] = 0x44;
    let mut ihl_beyond = short_quote()[..24].to_vec();
    ihl_beyond[0] = 0x47; // a 28-byte header in 24 bytes
    let bad: [&[u8]; 5] = [&[], &short_quote()[..19], &not_v6, &ihl_4, &ihl_beyond];
    for data in bad {
        for repr in [
            Icmpv4Repr::DstUnreachable {
                reason: DstUnreachable::HostUnreachable,
                next_hop_mtu: 0,
                data,
            },
            Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::TtlExpired,
                data,
            },
            Icmpv4Repr::ParamProblem {
                code: 0,
                pointer: 1,
                data,
            },
        ] {
            assert_eq!(parse(&emit(&repr)), Err(Error::Malformed), "{repr:?}");
        }
    }
}

/// A bare 20-byte header, or one with options, is enough to be an error message; the
/// "64 bits" of data are checked by whoever reads the transport header.
#[test]
fn error_with_header_only_is_accepted() {
    for data in [&short_quote()[..20], short_quote()] {
        let repr = Icmpv4Repr::TimeExceeded {
            reason: TimeExceeded::FragReassembly,
            data,
        };
        assert_eq!(parse(&emit(&repr)), Ok(repr));
    }
}

/// RFC 1191 section 4: "fragmentation needed and DF set" carries the next-hop MTU in
/// the low-order 16 bits of the second word, the high-order 16 bits unused (zero).
#[test]
fn frag_needed_next_hop_mtu_round_trip() {
    let quote = &FRAME_10[L3..L4 + 8];
    let repr = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::FragRequired,
        next_hop_mtu: 1400,
        data: quote,
    };
    let bytes = emit(&repr);
    assert_eq!(&bytes[..2], &[3, 4]);
    assert_eq!(&bytes[4..8], &[0, 0, 0x05, 0x78]);
    let p = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.next_hop_mtu(), 1400);
    assert_eq!(Icmpv4Repr::parse(&p), Ok(repr));
    let theirs = etherparse::Icmpv4Slice::from_slice(&bytes).unwrap();
    assert_eq!(
        theirs.icmp_type(),
        etherparse::Icmpv4Type::DestinationUnreachable(
            etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 }
        )
    );
    assert!(repr.to_string().ends_with("FragRequired mtu=1400"));
}

/// RFC 1191 section 4: routers predating it send zero there; that parses as 0.
#[test]
fn frag_needed_from_old_router() {
    let repr = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::FragRequired,
        next_hop_mtu: 0,
        data: short_quote(),
    };
    assert_eq!(parse(&emit(&repr)), Ok(repr));
}

/// RFC 1122 section 3.2.2: unused fields are ignored on receipt (and RFC 792 has them
/// zero on send).
#[test]
fn unused_fields_ignored() {
    let repr = Icmpv4Repr::TimeExceeded {
        reason: TimeExceeded::TtlExpired,
        data: short_quote(),
    };
    let mut b = emit(&repr);
    b[4..8].copy_from_slice(&[1, 2, 3, 4]);
    Icmpv4Packet::new_unchecked(&mut b[..]).fill_checksum();
    assert_eq!(parse(&b), Ok(repr));
    assert_eq!(&emit(&repr)[4..8], &[0; 4]);
}

/// RFC 792 "Parameter Problem Message": the pointer is the first byte of the second
/// word, the rest unused.
#[test]
fn param_problem_pointer() {
    let repr = Icmpv4Repr::ParamProblem {
        code: 0,
        pointer: 20,
        data: short_quote(),
    };
    let b = emit(&repr);
    assert_eq!(&b[..8][4..], &[20, 0, 0, 0]);
    assert_eq!(Icmpv4Packet::new_checked(&b[..]).unwrap().pointer(), 20);
    assert_eq!(parse(&b), Ok(repr));
}

#[test]
fn other_messages_kept_as_is() {
    // A timestamp request (RFC 792), 12 bytes of timestamps.
    let ts = [0u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let repr = Icmpv4Repr::Other {
        msg_type: msg_type::TIMESTAMP,
        code: 0,
        rest_of_header: 0x1234_0001,
        data: &ts,
    };
    let b = emit(&repr);
    assert_eq!(parse(&b), Ok(repr));
    assert!(!repr.is_error() && repr.quoted().is_none());
    // An echo request with a non-zero code is not an echo request (RFC 792: code 0).
    let mut b = FRAME_10[L4..].to_vec();
    b[1] = 1;
    Icmpv4Packet::new_unchecked(&mut b[..]).fill_checksum();
    assert_eq!(
        parse(&b),
        Ok(Icmpv4Repr::Other {
            msg_type: 8,
            code: 1,
            rest_of_header: 0x1145_0001,
            data: &FRAME_10[L4 + 8..],
        })
    );
    assert_eq!(
        parse(&emit(&parse(&b).unwrap())).unwrap(),
        parse(&b).unwrap()
    );
}

#[test]
fn unknown_codes() {
    let repr = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::Unknown(16),
        next_hop_mtu: 0,
        data: short_quote(),
    };
    assert_eq!(parse(&emit(&repr)), Ok(repr));
    let repr = Icmpv4Repr::TimeExceeded {
        reason: TimeExceeded::Unknown(2),
        data: short_quote(),
    };
    assert_eq!(parse(&emit(&repr)), Ok(repr));
}

#[test]
fn code_values() {
    for v in 0..=u8::MAX {
        assert_eq!(u8::from(DstUnreachable::from(v)), v);
        assert_eq!(u8::from(TimeExceeded::from(v)), v);
        assert_eq!(
            matches!(DstUnreachable::from(v), DstUnreachable::Unknown(_)),
            v > 15
        );
        assert_eq!(
            matches!(TimeExceeded::from(v), TimeExceeded::Unknown(_)),
            v > 1
        );
    }
    assert_eq!(DstUnreachable::from(3), DstUnreachable::PortUnreachable);
    assert_eq!(DstUnreachable::from(4), DstUnreachable::FragRequired);
    assert_eq!(DstUnreachable::from(13), DstUnreachable::CommProhibited);
}

/// Emitting into a buffer longer than the message sums only the message.
#[test]
fn emit_into_larger_buffer() {
    let repr = parse(&FRAME_10[L4..]).unwrap();
    let mut out = [0xeeu8; 100];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
    assert_eq!(&out[..64], &FRAME_10[L4..]);
    assert!(out[64..].iter().all(|&b| b == 0xee));
}

#[test]
fn setters() {
    let mut b = [0u8; 12];
    let mut p = Icmpv4Packet::new_checked(&mut b[..]).unwrap();
    p.set_msg_type(0);
    p.set_msg_code(0);
    p.set_echo_ident(0xabcd);
    p.set_echo_seq_no(7);
    p.data_mut().copy_from_slice(b"ping");
    p.fill_checksum();
    assert!(p.verify_checksum());
    assert_eq!(p.rest_of_header(), 0xabcd_0007);
    p.set_pointer(9);
    assert_eq!(p.echo_ident(), 0x09cd);
    p.set_next_hop_mtu(576);
    assert_eq!(p.echo_seq_no(), 576);
    p.set_rest_of_header(1);
    p.payload_mut()[0] = b'P';
    assert_eq!(p.payload(), b"Ping");
    p.set_checksum(0);
    assert_eq!(p.checksum(), 0);
    assert_eq!(p.into_inner().len(), 12);
}

#[test]
fn display() {
    assert_eq!(
        parse(&FRAME_10[L4..]).unwrap().to_string(),
        "ICMP echo request id=0x1145 seq=1 len=56"
    );
    assert_eq!(
        parse(&FRAME_30[L4..]).unwrap().to_string(),
        "ICMP destination unreachable PortUnreachable"
    );
}

/// A plausible quoted datagram: an IPv4 first byte with IHL 5-15, the header, a few
/// more bytes.
fn arb_quote() -> impl Strategy<Value = Vec<u8>> {
    (
        5u8..=15,
        0usize..=16,
        proptest::collection::vec(any::<u8>(), 76),
    )
        .prop_map(|(ihl, extra, bytes)| {
            let mut q = vec![0x40 | ihl];
            q.extend_from_slice(&bytes[..usize::from(ihl) * 4 - 1 + extra]);
            q
        })
}

/// A kind of message and its fields, data aside; `to_repr` attaches the data.
#[derive(Clone, Debug)]
enum Kind {
    Request(u16, u16),
    Reply(u16, u16),
    Unreachable(u8, u16),
    Exceeded(u8),
    Param(u8, u8),
}

fn arb_message() -> impl Strategy<Value = (Kind, Vec<u8>)> {
    let echo_data = proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (any::<u16>(), any::<u16>(), echo_data.clone())
            .prop_map(|(i, s, d)| (Kind::Request(i, s), d)),
        (any::<u16>(), any::<u16>(), echo_data).prop_map(|(i, s, d)| (Kind::Reply(i, s), d)),
        (0u8..=15, any::<u16>(), arb_quote()).prop_map(|(c, mtu, d)| {
            // RFC 792: the second word is unused (zero) except for RFC 1191's MTU.
            (Kind::Unreachable(c, if c == 4 { mtu } else { 0 }), d)
        }),
        (0u8..=1, arb_quote()).prop_map(|(c, d)| (Kind::Exceeded(c), d)),
        (0u8..=2, any::<u8>(), arb_quote())
            .prop_map(|(c, p, d)| (Kind::Param(c, if c == 0 { p } else { 0 }), d)),
    ]
}

fn to_repr<'a>(kind: &Kind, data: &'a [u8]) -> Icmpv4Repr<'a> {
    match *kind {
        Kind::Request(ident, seq_no) => Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        },
        Kind::Reply(ident, seq_no) => Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        },
        Kind::Unreachable(code, next_hop_mtu) => Icmpv4Repr::DstUnreachable {
            reason: code.into(),
            next_hop_mtu,
            data,
        },
        Kind::Exceeded(code) => Icmpv4Repr::TimeExceeded {
            reason: code.into(),
            data,
        },
        Kind::Param(code, pointer) => Icmpv4Repr::ParamProblem {
            code,
            pointer,
            data,
        },
    }
}

fn to_etherparse(kind: &Kind) -> etherparse::Icmpv4Type {
    use etherparse::{icmpv4, IcmpEchoHeader, Icmpv4Type};
    match *kind {
        Kind::Request(id, seq) => Icmpv4Type::EchoRequest(IcmpEchoHeader { id, seq }),
        Kind::Reply(id, seq) => Icmpv4Type::EchoReply(IcmpEchoHeader { id, seq }),
        Kind::Unreachable(code, mtu) => Icmpv4Type::DestinationUnreachable(
            icmpv4::DestUnreachableHeader::from_values(code, mtu).unwrap(),
        ),
        Kind::Exceeded(code) => {
            Icmpv4Type::TimeExceeded(icmpv4::TimeExceededCode::from_u8(code).unwrap())
        }
        Kind::Param(code, pointer) => Icmpv4Type::ParameterProblem(
            icmpv4::ParameterProblemHeader::from_values(code, pointer).unwrap(),
        ),
    }
}

proptest! {
    /// What we emit, etherparse reads as the same message, and its checksum agrees.
    #[test]
    fn emit_parses_in_etherparse((kind, data) in arb_message()) {
        let repr = to_repr(&kind, &data);
        let bytes = emit(&repr);
        let theirs = etherparse::Icmpv4Slice::from_slice(&bytes).unwrap();
        let expect = to_etherparse(&kind);
        prop_assert_eq!(theirs.icmp_type(), expect.clone());
        prop_assert_eq!(theirs.payload(), &data[..]);
        let with_sum = etherparse::Icmpv4Header::with_checksum(expect, &data);
        prop_assert_eq!(theirs.checksum(), with_sum.checksum);
    }

    /// What etherparse emits, we read as the same message.
    #[test]
    fn etherparse_emit_parses_here((kind, data) in arb_message()) {
        let hdr = etherparse::Icmpv4Header::with_checksum(to_etherparse(&kind), &data);
        let mut bytes = hdr.to_bytes().to_vec();
        bytes.extend_from_slice(&data);
        prop_assert_eq!(parse(&bytes), Ok(to_repr(&kind, &data)));
    }

    #[test]
    fn no_panic_hostile_echo(buf in hostile_buffers(FRAME_10[L4..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_hostile_error(buf in hostile_buffers(FRAME_33[L4..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }

    /// Random messages with a valid checksum, so that parsing goes past the checksum.
    #[test]
    fn no_panic_random_checksummed(mut buf in proptest::collection::vec(any::<u8>(), 8..100)) {
        Icmpv4Packet::new_unchecked(&mut buf[..]).fill_checksum();
        exercise(&buf);
        prop_assert!(Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&buf[..])) != Err(Error::BadChecksum));
    }
}

fn exercise(buf: &[u8]) {
    let _ = Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(buf));
    if let Ok(p) = Icmpv4Packet::new_checked(buf) {
        let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.rest_of_header());
        let _ = (
            p.echo_ident(),
            p.echo_seq_no(),
            p.next_hop_mtu(),
            p.pointer(),
        );
        let _ = (p.data(), p.payload(), p.verify_checksum());
        if let Ok(repr) = Icmpv4Repr::parse(&p) {
            let _ = (repr.to_string(), repr.is_error(), repr.quoted());
            assert_eq!(repr.buffer_len(), buf.len());
            let again = emit(&repr);
            assert_eq!(parse(&again), Ok(repr));
        }
    }
}
