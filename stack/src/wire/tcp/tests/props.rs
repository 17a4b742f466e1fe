//! Property tests: differential against etherparse 0.18 in both directions, and no panic
//! on hostile input.

use std::net::Ipv4Addr;

use etherparse::{TcpHeader, TcpOptionElement};
use proptest::prelude::*;

use super::super::*;
use super::{completed, hex, CAPTURE, CAPTURE_SACK};
use crate::wire::testutil::hostile_buffers;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn blocks_array(blocks: &[(u32, u32)]) -> [Option<(u32, u32)>; 4] {
    let mut out = [None; 4];
    for (slot, b) in out.iter_mut().zip(blocks) {
        *slot = Some(*b);
    }
    out
}

prop_compose! {
    /// A repr with any fields and options, and its payload.
    fn arb_repr()(
        ports in any::<(u16, u16)>(),
        flags in any::<u16>(),
        seq_ack in any::<(u32, u32)>(),
        window_len in any::<u16>(),
        urgent_pointer in any::<u16>(),
        max_seg_size in proptest::option::of(any::<u16>()),
        window_scale in proptest::option::of(any::<u8>()),
        sack_permitted in any::<bool>(),
        sack in proptest::collection::vec(any::<(u32, u32)>(), 0..=4),
        timestamp in proptest::option::of(any::<(u32, u32)>()),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) -> (TcpRepr<'static>, Vec<u8>) {
        let repr = TcpRepr {
            src_port: ports.0,
            dst_port: ports.1,
            flags: TcpFlags::from_bits_truncate(flags),
            seq_number: seq_ack.0,
            ack_number: seq_ack.1,
            window_len,
            urgent_pointer,
            max_seg_size,
            window_scale,
            sack_permitted,
            sack_ranges: blocks_array(&sack),
            timestamp: timestamp.map(|(tsval, tsecr)| TcpTimestamp { tsval, tsecr }),
            payload: &[],
        };
        (repr, payload)
    }
}

/// `repr` with the SACK blocks that `emit` leaves out removed.
fn as_emitted<'a>(repr: &TcpRepr<'a>) -> TcpRepr<'a> {
    let mut out = *repr;
    for slot in out.sack_ranges.iter_mut().skip(repr.sack_blocks_emitted()) {
        *slot = None;
    }
    out
}

/// etherparse's view of the options `emit` writes, in Linux's order, NOPs left out.
fn expected_elements(repr: &TcpRepr<'_>) -> Vec<TcpOptionElement> {
    use TcpOptionElement::*;
    let mut v = Vec::new();
    if let Some(mss) = repr.max_seg_size {
        v.push(MaximumSegmentSize(mss));
    }
    if let Some(ts) = repr.timestamp {
        if repr.sack_permitted {
            v.push(SelectiveAcknowledgementPermitted);
        }
        v.push(Timestamp(ts.tsval, ts.tsecr));
    } else if repr.sack_permitted {
        v.push(SelectiveAcknowledgementPermitted);
    }
    if let Some(ws) = repr.window_scale {
        v.push(WindowScale(ws));
    }
    let blocks: Vec<_> = as_emitted(repr)
        .sack_ranges
        .iter()
        .flatten()
        .copied()
        .collect();
    if let Some((first, rest)) = blocks.split_first() {
        let mut more = [None; 3];
        for (slot, b) in more.iter_mut().zip(rest) {
            *slot = Some(*b);
        }
        v.push(SelectiveAcknowledgement(*first, more));
    }
    v
}

/// Option elements for etherparse to write: each option at most once, any order, NOPs
/// sprinkled in.
fn arb_elements() -> impl Strategy<Value = Vec<TcpOptionElement>> {
    use TcpOptionElement::*;
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::option::of(any::<(u32, u32)>()),
        proptest::collection::vec(any::<(u32, u32)>(), 0..=4),
        0usize..4,
    )
        .prop_map(|(mss, ws, sack_perm, ts, sack, nops)| {
            let mut v = Vec::new();
            v.extend(mss.map(MaximumSegmentSize));
            v.extend(ws.map(WindowScale));
            if sack_perm {
                v.push(SelectiveAcknowledgementPermitted);
            }
            v.extend(ts.map(|(a, b)| Timestamp(a, b)));
            if let Some((first, rest)) = sack.split_first() {
                let mut more = [None; 3];
                for (slot, b) in more.iter_mut().zip(rest) {
                    *slot = Some(*b);
                }
                v.push(SelectiveAcknowledgement(*first, more));
            }
            v.resize(v.len() + nops, Noop);
            v
        })
        .prop_shuffle()
}

/// Calls every accessor, iterates the options, parses (with the checksum as it is and
/// completed) and, when that succeeds, emits again and re-parses.
fn exercise(bytes: &[u8]) {
    let _ = TcpOption::parse(bytes);
    let _ = TcpOptions::new(bytes).count();
    let Ok(p) = TcpPacket::new_checked(bytes) else {
        return;
    };
    let _ = (
        p.src_port(),
        p.dst_port(),
        p.seq_number(),
        p.ack_number(),
        p.header_len(),
    );
    let _ = (
        p.flags(),
        p.window_len(),
        p.checksum(),
        p.urgent_at(),
        p.segment_len(),
    );
    let _ = (p.options(), p.payload(), p.verify_checksum(SRC, DST));
    let _ = p.flags().to_string();
    for option in p.options_iter() {
        let _ = option.map(|o| o.buffer_len());
    }
    let _ = TcpRepr::parse(&p, SRC, DST);
    let fixed = completed(bytes, SRC, DST);
    let p = TcpPacket::new_checked(&fixed[..]).expect("same lengths");
    if let Ok(repr) = TcpRepr::parse(&p, SRC, DST) {
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), SRC, DST);
        let back = TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap(), SRC, DST);
        assert_eq!(back, Ok(as_emitted(&repr)));
    }
}

fn fixture_bases() -> Vec<Vec<u8>> {
    let mut v: Vec<_> = CAPTURE
        .iter()
        .map(|(_, s, src, dst)| completed(s, *src, *dst))
        .collect();
    v.extend(CAPTURE_SACK.iter().map(|(_, h, _, _)| hex(h)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Our emit, read by etherparse: same fields, same options, valid checksum.
    #[test]
    fn our_emit_etherparse_reads((base, payload) in arb_repr()) {
        let repr = TcpRepr { payload: &payload, ..base };
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), SRC, DST);
        prop_assert!(repr.header_len() <= 60);

        let (h, rest) = TcpHeader::from_slice(&buf).expect("etherparse reads our emit");
        prop_assert_eq!(rest, &payload[..]);
        prop_assert_eq!(h.source_port, repr.src_port);
        prop_assert_eq!(h.destination_port, repr.dst_port);
        prop_assert_eq!(h.sequence_number, repr.seq_number);
        prop_assert_eq!(h.acknowledgment_number, repr.ack_number);
        prop_assert_eq!(h.window_size, repr.window_len);
        prop_assert_eq!(h.urgent_pointer, repr.urgent_pointer);
        let f = repr.flags;
        prop_assert_eq!(
            (h.fin, h.syn, h.rst, h.psh, h.ack, h.urg, h.ece, h.cwr, h.ns),
            (
                f.contains(TcpFlags::FIN), f.contains(TcpFlags::SYN), f.contains(TcpFlags::RST),
                f.contains(TcpFlags::PSH), f.contains(TcpFlags::ACK), f.contains(TcpFlags::URG),
                f.contains(TcpFlags::ECE), f.contains(TcpFlags::CWR), f.contains(TcpFlags::NS),
            )
        );
        let sum = h.calc_checksum_ipv4_raw(SRC.octets(), DST.octets(), rest).unwrap();
        prop_assert_eq!(h.checksum, sum);
        let elements: Vec<_> = h
            .options_iterator()
            .map(|e| e.expect("etherparse reads our options"))
            .filter(|e| *e != TcpOptionElement::Noop)
            .collect();
        prop_assert_eq!(elements, expected_elements(&repr));

        // And we read it back, less the SACK blocks that did not fit.
        let back = TcpRepr::parse(&TcpPacket::new_checked(&buf[..]).unwrap(), SRC, DST);
        prop_assert_eq!(back, Ok(as_emitted(&repr)));
    }

    /// etherparse's emit, in any option order, read by us: same fields and options.
    #[test]
    fn etherparse_emit_we_read(
        (base, payload) in arb_repr(),
        elements in arb_elements(),
    ) {
        let mut h = TcpHeader::new(base.src_port, base.dst_port, base.seq_number, base.window_len);
        h.acknowledgment_number = base.ack_number;
        h.urgent_pointer = base.urgent_pointer;
        let f = base.flags;
        h.fin = f.contains(TcpFlags::FIN);
        h.syn = f.contains(TcpFlags::SYN);
        h.rst = f.contains(TcpFlags::RST);
        h.psh = f.contains(TcpFlags::PSH);
        h.ack = f.contains(TcpFlags::ACK);
        h.urg = f.contains(TcpFlags::URG);
        h.ece = f.contains(TcpFlags::ECE);
        h.cwr = f.contains(TcpFlags::CWR);
        h.ns = f.contains(TcpFlags::NS);
        prop_assume!(h.set_options(&elements).is_ok());
        h.checksum = h.calc_checksum_ipv4_raw(SRC.octets(), DST.octets(), &payload).unwrap();
        let mut buf = h.to_bytes().to_vec();
        buf.extend_from_slice(&payload);

        let packet = TcpPacket::new_checked(&buf[..]).expect("new_checked");
        let repr = TcpRepr::parse(&packet, SRC, DST).expect("parse");
        let mut expected = TcpRepr { payload: &payload, ..base };
        expected.max_seg_size = None;
        expected.window_scale = None;
        expected.sack_permitted = false;
        expected.timestamp = None;
        expected.sack_ranges = [None; 4];
        for e in &elements {
            match *e {
                TcpOptionElement::Noop => {}
                TcpOptionElement::MaximumSegmentSize(m) => expected.max_seg_size = Some(m),
                TcpOptionElement::WindowScale(w) => expected.window_scale = Some(w),
                TcpOptionElement::SelectiveAcknowledgementPermitted => {
                    expected.sack_permitted = true
                }
                TcpOptionElement::Timestamp(tsval, tsecr) => {
                    expected.timestamp = Some(TcpTimestamp { tsval, tsecr })
                }
                TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                    expected.sack_ranges = [Some(first), rest[0], rest[1], rest[2]]
                }
            }
        }
        prop_assert_eq!(repr, expected);
        prop_assert_eq!(packet.header_len(), h.header_len());
    }

    /// Hostile buffers built from every fixture never make anything panic.
    #[test]
    fn hostile_fixtures_do_not_panic(
        bytes in proptest::sample::select(fixture_bases()).prop_flat_map(hostile_buffers),
    ) {
        exercise(&bytes);
    }

    /// Headers with random options areas: a valid-looking fixed header (data offset
    /// matching) followed by random option bytes reach the option parser.
    #[test]
    fn random_options_do_not_panic(
        words in 5usize..=15,
        fill in proptest::collection::vec(any::<u8>(), 60),
        extra in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = fill[..words * 4].to_vec();
        bytes[12] = ((words as u8) << 4) | (bytes[12] & 0x0f);
        bytes.extend_from_slice(&extra);
        exercise(&bytes);
    }

    /// Plain random bytes.
    #[test]
    fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        exercise(&bytes);
    }
}
