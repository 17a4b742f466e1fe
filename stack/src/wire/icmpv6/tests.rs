use super::*;
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::Ipv6Packet;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

const A1: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const A2: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);

/// The addresses and ICMPv6 message of a captured frame without extension headers.
fn split(frame: &[u8]) -> (Ipv6Addr, Ipv6Addr, &[u8]) {
    let p = Ipv6Packet::new_checked(&frame[L3..]).unwrap();
    (p.src_addr(), p.dst_addr(), &frame[L4..])
}

/// Parses, checks the repr, emits it and expects the captured bytes back.
#[track_caller]
fn round_trip(frame: &[u8], expect: Icmpv6Repr<'_>) {
    let (src, dst, msg) = split(frame);
    let repr = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(msg).unwrap()).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.buffer_len(), msg.len());
    let mut out = vec![0xeeu8; msg.len()];
    assert_eq!(repr.emit(src, dst, &mut out), Ok(msg.len()));
    assert_eq!(out, msg);
}

/// Frames 19 and 20: Linux's ping -6 and the kernel's reply (RFC 4443 sections 4.1,
/// 4.2), checksums included.
#[test]
fn fixture_echo() {
    let data = &FRAME_19[L4 + 8..];
    assert_eq!(data.len(), 56);
    round_trip(
        &FRAME_19,
        Icmpv6Repr::EchoRequest {
            ident: 0x5521,
            seq_no: 1,
            data,
        },
    );
    round_trip(
        &FRAME_20,
        Icmpv6Repr::EchoReply {
            ident: 0x5521,
            seq_no: 1,
            data,
        },
    );
    let p = Icmpv6Packet::new_checked(&FRAME_19[L4..]).unwrap();
    assert_eq!(
        (p.msg_type(), p.msg_code(), p.echo_ident(), p.echo_seq_no()),
        (128, 0, 0x5521, 1)
    );
    assert!(p.verify_checksum(A1, A2));
}

/// Frame 26: Linux's port unreachable for frame 25 quotes the whole invoking packet
/// (RFC 4443 section 3.1: as much as fits in the minimum MTU).
#[test]
fn fixture_port_unreachable() {
    let (src, dst, msg) = split(&FRAME_26);
    assert_eq!((src, dst), (A2, A1));
    let quoted = &FRAME_25[L3..];
    round_trip(
        &FRAME_26,
        Icmpv6Repr::DstUnreachable {
            reason: DstUnreachable::PortUnreachable,
            data: quoted,
        },
    );
    let r = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(msg).unwrap()).unwrap();
    assert!(r.is_error());
    let q = Ipv6Packet::new_checked(r.quoted().unwrap()).unwrap();
    assert_eq!((q.src_addr(), q.dst_addr()), (A1, A2));
}

/// RFC 4443 section 2.3: the checksum covers the pseudo-header. The right bytes with
/// other addresses, or a flipped bit, fail.
#[test]
fn checksum_failure() {
    let (src, dst, msg) = split(&FRAME_19);
    let p = Icmpv6Packet::new_checked(msg).unwrap();
    assert_eq!(
        Icmpv6Repr::parse(dst, src, &p),
        Ok(Icmpv6Repr::parse(src, dst, &p).unwrap())
    );
    assert_eq!(Icmpv6Repr::parse(src, A1, &p), Err(Error::BadChecksum));
    for at in 0..msg.len() {
        let mut b = msg.to_vec();
        b[at] ^= 0x04;
        let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            Icmpv6Repr::parse(src, dst, &p),
            Err(Error::BadChecksum),
            "byte {at}"
        );
    }
}

#[track_caller]
fn emit_parse(repr: Icmpv6Repr<'_>) -> Vec<u8> {
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(A2, A1, &mut b).unwrap();
    let back = Icmpv6Repr::parse(A2, A1, &Icmpv6Packet::new_checked(&b[..]).unwrap()).unwrap();
    assert_eq!(back, repr);
    b
}

/// RFC 4443 sections 3.1-3.4: the four errors, their 32-bit word (unused and zero, MTU,
/// pointer) and the quoted packet.
#[test]
fn error_messages() {
    let quote = &FRAME_19[L3..];
    let b = emit_parse(Icmpv6Repr::PacketTooBig {
        mtu: 1280,
        data: quote,
    });
    assert_eq!(&b[..2], &[2, 0]);
    assert_eq!(&b[4..8], &1280u32.to_be_bytes());
    assert_eq!(&b[8..], quote);
    let b = emit_parse(Icmpv6Repr::TimeExceeded {
        reason: TimeExceeded::HopLimitExceeded,
        data: quote,
    });
    assert_eq!(&b[..2], &[3, 0]);
    assert_eq!(&b[4..8], &[0; 4]);
    let b = emit_parse(Icmpv6Repr::TimeExceeded {
        reason: TimeExceeded::FragReassembly,
        data: quote,
    });
    assert_eq!(b[1], 1);
    let b = emit_parse(Icmpv6Repr::ParamProblem {
        code: 1,
        pointer: 40,
        data: quote,
    });
    assert_eq!(&b[..2], &[4, 1]);
    assert_eq!(&b[4..8], &40u32.to_be_bytes());
    let b = emit_parse(Icmpv6Repr::DstUnreachable {
        reason: DstUnreachable::AddrUnreachable,
        data: quote,
    });
    assert_eq!(&b[..2], &[1, 3]);
    for v in 0..=u8::MAX {
        assert_eq!(u8::from(DstUnreachable::from(v)), v);
        assert_eq!(u8::from(TimeExceeded::from(v)), v);
    }
}

/// An error must quote at least the invoking packet's IPv6 header (RFC 4443 section 2.4
/// (b): the upper layer is found from it); shorter or non-IPv6 quotes are dropped.
#[test]
fn error_without_ipv6_header_is_malformed() {
    let quote = &FRAME_19[L3..L3 + 40];
    let mut b = emit_parse(Icmpv6Repr::PacketTooBig {
        mtu: 1280,
        data: quote,
    });
    let short = &b[..8 + 39];
    let mut short = short.to_vec();
    Icmpv6Packet::new_unchecked(&mut short[..]).fill_checksum(A2, A1);
    let p = Icmpv6Packet::new_checked(&short[..]).unwrap();
    assert_eq!(Icmpv6Repr::parse(A2, A1, &p), Err(Error::Malformed));
    b[8] = 0x45;
    Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(A2, A1);
    let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
    assert_eq!(Icmpv6Repr::parse(A2, A1, &p), Err(Error::Malformed));
}

/// The `icmpv6` fuzz target's first crash (`crash-450732ec...`): addresses and message
/// all ones overflowed the pseudo-header sum. It parses now, and fails on its checksum.
#[test]
fn fuzz_all_ones_pseudo_header() {
    let ones = Ipv6Addr::from([0xff; 16]);
    let msg = [0xffu8; 23];
    let p = Icmpv6Packet::new_checked(&msg[..]).unwrap();
    assert_eq!(Icmpv6Repr::parse(ones, ones, &p), Err(Error::BadChecksum));
}

#[test]
fn short_messages() {
    for n in 0..MIN_LEN {
        assert_eq!(
            Icmpv6Packet::new_checked(&FRAME_19[L4..L4 + n]).unwrap_err(),
            Error::Truncated
        );
    }
    // An echo request of 4..7 octets is truncated; an unknown type of 4 is kept.
    let mut b = [128u8, 0, 0, 0, 0, 1];
    Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(A1, A2);
    let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.echo_seq_no(), 0);
    assert_eq!(Icmpv6Repr::parse(A1, A2, &p), Err(Error::Truncated));
    let mut b = [200u8, 7, 0, 0];
    Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(A1, A2);
    let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
    assert_eq!(
        Icmpv6Repr::parse(A1, A2, &p),
        Ok(Icmpv6Repr::Other {
            msg_type: 200,
            code: 7,
            body: &[]
        })
    );
}

/// Frame 1: an MLDv2 report parses as `Other` (no MLD here) and emits back the same.
#[test]
fn mld_is_other() {
    let msg = &FRAME_1[L3 + 48..];
    let src = Ipv6Addr::UNSPECIFIED;
    let dst: Ipv6Addr = "ff02::16".parse().unwrap();
    let r = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(msg).unwrap()).unwrap();
    assert!(matches!(
        r,
        Icmpv6Repr::Other {
            msg_type: msg_type::MLDV2_REPORT,
            code: 0,
            ..
        }
    ));
    assert!(!r.is_error());
    let mut out = vec![0u8; r.buffer_len()];
    r.emit(src, dst, &mut out).unwrap();
    assert_eq!(out, msg);
}

#[test]
fn emit_buffer_too_small() {
    let r = Icmpv6Repr::EchoRequest {
        ident: 1,
        seq_no: 2,
        data: b"abc",
    };
    assert_eq!(r.emit(A1, A2, &mut [0u8; 10]), Err(Error::BufferTooSmall));
}

#[test]
fn display() {
    let r = Icmpv6Repr::PacketTooBig {
        mtu: 1400,
        data: &[],
    };
    assert_eq!(r.to_string(), "ICMPv6 packet too big mtu=1400");
}

fn arb_repr(quote: &'static [u8]) -> impl Strategy<Value = Icmpv6Repr<'static>> {
    prop_oneof![
        (any::<u16>(), any::<u16>(), 0..quote.len()).prop_map(move |(ident, seq_no, n)| {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data: &quote[..n],
            }
        }),
        (any::<u16>(), any::<u16>(), 0..quote.len()).prop_map(move |(ident, seq_no, n)| {
            Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data: &quote[..n],
            }
        }),
        (0u8..7).prop_map(move |c| Icmpv6Repr::DstUnreachable {
            reason: c.into(),
            data: quote
        }),
        any::<u32>().prop_map(move |mtu| Icmpv6Repr::PacketTooBig { mtu, data: quote }),
        (0u8..2).prop_map(move |c| Icmpv6Repr::TimeExceeded {
            reason: c.into(),
            data: quote
        }),
        (0u8..4, any::<u32>()).prop_map(move |(code, pointer)| Icmpv6Repr::ParamProblem {
            code,
            pointer,
            data: quote
        }),
    ]
}

fn etherparse_type(r: &Icmpv6Repr<'_>) -> etherparse::Icmpv6Type {
    use etherparse::icmpv6::*;
    use etherparse::{IcmpEchoHeader, Icmpv6Type};
    match *r {
        Icmpv6Repr::EchoRequest { ident, seq_no, .. } => Icmpv6Type::EchoRequest(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Icmpv6Repr::EchoReply { ident, seq_no, .. } => Icmpv6Type::EchoReply(IcmpEchoHeader {
            id: ident,
            seq: seq_no,
        }),
        Icmpv6Repr::DstUnreachable { reason, .. } => {
            Icmpv6Type::DestinationUnreachable(DestUnreachableCode::from_u8(reason.into()).unwrap())
        }
        Icmpv6Repr::PacketTooBig { mtu, .. } => Icmpv6Type::PacketTooBig { mtu },
        Icmpv6Repr::TimeExceeded { reason, .. } => {
            Icmpv6Type::TimeExceeded(TimeExceededCode::from_u8(reason.into()).unwrap())
        }
        Icmpv6Repr::ParamProblem { code, pointer, .. } => {
            Icmpv6Type::ParameterProblem(ParameterProblemHeader {
                code: ParameterProblemCode::from_u8(code).unwrap(),
                pointer,
            })
        }
        _ => unreachable!(),
    }
}

proptest! {
    /// What we emit, etherparse reads to the same type, fields and checksum; what it
    /// emits, we read to the same repr.
    #[test]
    fn etherparse_differential(r in arb_repr(&FRAME_20[L3..])) {
        let mut ours = vec![0u8; r.buffer_len()];
        r.emit(A1, A2, &mut ours).unwrap();
        let (h, rest) = etherparse::Icmpv6Header::from_slice(&ours).unwrap();
        let expect = etherparse_type(&r);
        prop_assert_eq!(&h.icmp_type, &expect);
        prop_assert_eq!(h.checksum, h.icmp_type.calc_checksum(A1.octets(), A2.octets(), rest).unwrap());
        let data = &ours[8..];
        let theirs_h = etherparse::Icmpv6Header::with_checksum(expect, A1.octets(), A2.octets(), data).unwrap();
        let mut theirs = theirs_h.to_bytes().to_vec();
        theirs.extend_from_slice(data);
        prop_assert_eq!(&theirs, &ours);
        let back = Icmpv6Repr::parse(A1, A2, &Icmpv6Packet::new_checked(&theirs[..]).unwrap());
        prop_assert_eq!(back, Ok(r));
    }

    #[test]
    fn no_panic_hostile(buf in hostile_buffers(FRAME_26[L4..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(buf in proptest::collection::vec(any::<u8>(), 0..120)) {
        exercise(&buf);
    }

    /// Random messages with a correct checksum, to get past it.
    #[test]
    fn no_panic_random_checksummed(
        ty in prop_oneof![0u8..5, 128u8..138, any::<u8>()],
        rest in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut b = vec![ty, 0, 0, 0];
        b.extend_from_slice(&rest);
        Icmpv6Packet::new_unchecked(&mut b[..]).fill_checksum(A1, A2);
        exercise(&b);
    }
}

fn exercise(buf: &[u8]) {
    let Ok(p) = Icmpv6Packet::new_checked(buf) else {
        return;
    };
    let _ = (
        p.msg_type(),
        p.msg_code(),
        p.checksum(),
        p.word(),
        p.echo_ident(),
    );
    let _ = (p.echo_seq_no(), p.mtu(), p.pointer(), p.body(), p.data());
    if let Ok(r) = Icmpv6Repr::parse(A1, A2, &p) {
        let _ = r.to_string();
        let mut out = vec![0u8; r.buffer_len()];
        r.emit(A1, A2, &mut out).unwrap();
        let again = Icmpv6Repr::parse(A1, A2, &Icmpv6Packet::new_checked(&out[..]).unwrap());
        assert_eq!(again, Ok(r));
    }
}
