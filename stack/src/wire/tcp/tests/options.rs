//! One test per option rule (RFC 9293 sections 3.1 and 3.2, RFC 1122 section 4.2.2.5,
//! RFC 7323, RFC 2018).

use std::net::Ipv4Addr;

use super::super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// An ACK segment whose options area is `options` padded with zeros (End of Option
/// List) to a multiple of 4, followed by `payload`, checksum filled.
fn segment(options: &[u8], payload: &[u8]) -> Vec<u8> {
    let options_len = options.len().div_ceil(4) * 4;
    assert!(options_len <= 40);
    let header_len = 20 + options_len;
    let mut buf = vec![0u8; header_len + payload.len()];
    let mut p = TcpPacket::new_unchecked(&mut buf[..]);
    p.set_src_port(1);
    p.set_dst_port(2);
    p.set_header_len(header_len);
    p.set_flags(TcpFlags::ACK);
    p.options_mut()[..options.len()].copy_from_slice(options);
    p.payload_mut().copy_from_slice(payload);
    p.fill_checksum(SRC, DST);
    buf
}

/// The repr parsed from a segment with these options (its payload dropped).
fn parse(options: &[u8]) -> Result<TcpRepr<'static>> {
    let buf = segment(options, &[]);
    let packet = TcpPacket::new_checked(&buf[..])?;
    TcpRepr::parse(&packet, SRC, DST).map(|r| TcpRepr { payload: &[], ..r })
}

fn options_of(bytes: &[u8]) -> Vec<Result<TcpOption<'_>>> {
    TcpOptions::new(bytes).collect()
}

/// RFC 9293 section 3.1: kinds 0 and 1 are a single octet.
#[test]
fn eol_and_nop_are_one_byte() {
    assert_eq!(
        TcpOption::parse(&[0, 9, 9]),
        Ok((&[9u8, 9][..], TcpOption::EndOfList))
    );
    assert_eq!(
        TcpOption::parse(&[1, 9]),
        Ok((&[9u8][..], TcpOption::NoOperation))
    );
    assert_eq!(TcpOption::EndOfList.buffer_len(), 1);
    assert_eq!(TcpOption::NoOperation.buffer_len(), 1);
    let mut b = [0xff; 2];
    assert_eq!(TcpOption::NoOperation.emit(&mut b), 1);
    assert_eq!(b, [1, 0xff]);
    assert_eq!(TcpOption::EndOfList.emit(&mut b), 1);
    assert_eq!(b, [0, 0xff]);
}

/// RFC 1122 section 4.2.2.5: a TCP "MUST be prepared to handle an illegal option length
/// (e.g., zero) without crashing". A zero length, known kind or not, is `BadOption`
/// (and would otherwise loop forever).
#[test]
fn zero_length_is_bad() {
    for kind in [2u8, 3, 4, 5, 8, 0x22, 0xff] {
        assert_eq!(
            TcpOption::parse(&[kind, 0, 0, 0]),
            Err(Error::BadOption),
            "{kind}"
        );
        assert_eq!(parse(&[kind, 0, 0, 0]), Err(Error::BadOption), "{kind}");
    }
}

/// A length of 1 cannot even cover the kind and length octets.
#[test]
fn length_one_is_bad() {
    assert_eq!(TcpOption::parse(&[0x22, 1, 0, 0]), Err(Error::BadOption));
    assert_eq!(parse(&[1, 1, 0x22, 1]), Err(Error::BadOption));
}

/// A kind other than 0 and 1 at the very end of the area has no length octet.
#[test]
fn missing_length_byte_is_bad() {
    assert_eq!(TcpOption::parse(&[2]), Err(Error::BadOption));
    assert_eq!(TcpOption::parse(&[0x22]), Err(Error::BadOption));
    assert_eq!(parse(&[1, 1, 1, 2]), Err(Error::BadOption));
    assert_eq!(TcpOption::parse(&[]), Err(Error::Truncated));
}

/// A length that runs past the options area is `BadOption`, even when payload bytes
/// follow the area: options end at the data offset (RFC 9293 section 3.1).
#[test]
fn overlong_length_is_bad() {
    assert_eq!(TcpOption::parse(&[2, 4, 5]), Err(Error::BadOption));
    assert_eq!(TcpOption::parse(&[0x22, 10, 1, 2]), Err(Error::BadOption));
    assert_eq!(TcpOption::parse(&[0x22, 0xff, 0, 0]), Err(Error::BadOption));
    let buf = segment(&[1, 1, 0x22, 8], &[0; 16]);
    let packet = TcpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(TcpRepr::parse(&packet, SRC, DST), Err(Error::BadOption));
    assert_eq!(
        packet.options_iter().collect::<Vec<_>>(),
        [
            Ok(TcpOption::NoOperation),
            Ok(TcpOption::NoOperation),
            Err(Error::BadOption)
        ]
    );
}

/// Each known kind has exactly one length: MSS 4 (RFC 9293 section 3.2), window scale 3
/// (RFC 7323 section 2.2), SACK-permitted 2 (RFC 2018 section 2), timestamps 10 (RFC 7323
/// section 3.2), SACK `2 + 8n` with `1 <= n <= 4` (RFC 2018 section 3).
#[test]
fn wrong_length_per_kind_is_bad() {
    let cases: [(u8, &[u8]); 5] = [
        (2, &[2, 3, 5, 6, 7]),
        (3, &[2, 4, 5]),
        (4, &[3, 4]),
        (8, &[8, 9, 11, 12]),
        (5, &[2, 3, 9, 11, 17, 19, 42]),
    ];
    for (kind, lengths) in cases {
        for &len in lengths {
            let mut opt = vec![0u8; 40];
            opt[0] = kind;
            opt[1] = len;
            assert_eq!(
                TcpOption::parse(&opt),
                Err(Error::BadOption),
                "kind {kind} len {len}"
            );
            let n = usize::from(len).clamp(2, 40);
            assert_eq!(
                parse(&opt[..n]),
                Err(Error::BadOption),
                "kind {kind} len {len}"
            );
        }
    }
    // The right lengths parse.
    assert_eq!(
        TcpOption::parse(&[2, 4, 5, 0xb4]).unwrap().1,
        TcpOption::MaxSegmentSize(1460)
    );
    assert_eq!(
        TcpOption::parse(&[3, 3, 7]).unwrap().1,
        TcpOption::WindowScale(7)
    );
    assert_eq!(
        TcpOption::parse(&[4, 2]).unwrap().1,
        TcpOption::SackPermitted
    );
    let ts = [8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
    assert_eq!(
        TcpOption::parse(&ts).unwrap().1,
        TcpOption::Timestamps { tsval: 1, tsecr: 2 }
    );
}

/// RFC 9293 section 3.1: a TCP "MUST ignore without error any TCP option it does not
/// implement, assuming that the option has a length field". Unknown kinds are skipped by
/// their length; the options after them are read.
#[test]
fn unknown_kind_is_skipped() {
    // An experimental option (kind 254, RFC 6994), MD5 (kind 19, 18 bytes), then MSS.
    let mut opts = vec![254, 4, 0xf9, 0x89];
    opts.extend_from_slice(&[19, 18]);
    opts.extend_from_slice(&[0xaa; 16]);
    opts.extend_from_slice(&[2, 4, 0x02, 0x18]);
    let parsed = options_of(&opts);
    assert_eq!(
        parsed[0],
        Ok(TcpOption::Unknown {
            kind: 254,
            data: &[0xf9, 0x89]
        })
    );
    assert_eq!(
        parsed[1],
        Ok(TcpOption::Unknown {
            kind: 19,
            data: &[0xaa; 16]
        })
    );
    assert_eq!(parsed[2], Ok(TcpOption::MaxSegmentSize(536)));
    assert_eq!(parse(&opts).unwrap().max_seg_size, Some(536));
    // An unknown option of length 2 has no data.
    assert_eq!(
        TcpOption::parse(&[99, 2]),
        Ok((
            &[][..],
            TcpOption::Unknown {
                kind: 99,
                data: &[]
            }
        ))
    );
}

/// RFC 9293 section 3.2: End of Option List ends the list; what follows is padding and is
/// not looked at, even if it would not parse.
#[test]
fn eol_stops_parsing() {
    let opts = [2, 4, 5, 0xb4, 0, 0x22, 0, 0];
    assert_eq!(
        options_of(&opts),
        [
            Ok(TcpOption::MaxSegmentSize(1460)),
            Ok(TcpOption::EndOfList)
        ]
    );
    let repr = parse(&opts).unwrap();
    assert_eq!(repr.max_seg_size, Some(1460));
    // Garbage or a valid option after EOL is ignored alike.
    assert_eq!(parse(&[0, 3, 3, 7]).unwrap().window_scale, None);
}

/// RFC 9293 section 3.2: No-Operation "may be used between options", and receivers must
/// handle options that do not begin on a word boundary.
#[test]
fn nop_padding_and_unaligned_options() {
    let opts = [1, 1, 1, 2, 4, 5, 0xb4, 1, 3, 3, 14];
    let parsed = options_of(&opts);
    assert_eq!(
        parsed
            .iter()
            .filter(|o| **o == Ok(TcpOption::NoOperation))
            .count(),
        4
    );
    let repr = parse(&opts).unwrap();
    assert_eq!(repr.max_seg_size, Some(1460));
    assert_eq!(repr.window_scale, Some(14));
    // Options packed with no padding at all, as some stacks send them.
    let tight = [3, 3, 2, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 4, 2];
    let repr = parse(&tight).unwrap();
    assert_eq!(repr.window_scale, Some(2));
    assert_eq!(repr.timestamp, Some(TcpTimestamp { tsval: 5, tsecr: 6 }));
    assert!(repr.sack_permitted);
}

/// RFC 7323 section 2.3 says a shift over 14 is used as 14; that is the TCP layer's to do.
/// The wire keeps the raw value.
#[test]
fn window_scale_kept_raw() {
    assert_eq!(parse(&[1, 3, 3, 200]).unwrap().window_scale, Some(200));
}

/// RFC 2018 section 3: a SACK option carries 1 to 4 blocks of two 32-bit edges.
#[test]
fn sack_one_to_four_blocks() {
    for n in 1..=4usize {
        let mut blocks = [None; 4];
        let mut opt = vec![5, (2 + 8 * n) as u8];
        for (i, slot) in blocks.iter_mut().enumerate().take(n) {
            let (l, r) = (1000 * i as u32 + 1, 1000 * i as u32 + 500);
            *slot = Some((l, r));
            opt.extend_from_slice(&l.to_be_bytes());
            opt.extend_from_slice(&r.to_be_bytes());
        }
        let (rest, got) = TcpOption::parse(&opt).unwrap();
        assert!(rest.is_empty());
        assert_eq!(got, TcpOption::SackRange(blocks), "{n}");
        assert_eq!(got.buffer_len(), opt.len());
        let mut out = vec![0; got.buffer_len()];
        assert_eq!(got.emit(&mut out), opt.len());
        assert_eq!(out, opt);
        let mut with_nops = vec![1, 1];
        with_nops.extend_from_slice(&opt);
        assert_eq!(parse(&with_nops).unwrap().sack_ranges, blocks, "{n}");
    }
}

/// Emit writes as many SACK blocks as fit in the 40-byte option area in Linux's layout:
/// 4 alone, 3 with timestamps, fewer with SYN options (RFC 2018 section 3: with the
/// timestamps option "a maximum of 3 SACK blocks will be allowed in this case"). The first blocks are kept
/// (RFC 2018 section 4: the first block reports the most recent data).
#[test]
fn too_many_sack_blocks_are_cut_on_emit() {
    let blocks = [Some((1, 2)), Some((3, 4)), Some((5, 6)), Some((7, 8))];
    let ts = Some(TcpTimestamp {
        tsval: 9,
        tsecr: 10,
    });
    let base = TcpRepr {
        flags: TcpFlags::ACK,
        sack_ranges: blocks,
        ..TcpRepr::default()
    };
    let cases = [
        (base, 4),
        (
            TcpRepr {
                timestamp: ts,
                ..base
            },
            3,
        ),
        (
            TcpRepr {
                timestamp: ts,
                window_scale: Some(7),
                ..base
            },
            2,
        ),
        (
            TcpRepr {
                max_seg_size: Some(1),
                timestamp: ts,
                window_scale: Some(7),
                ..base
            },
            2,
        ),
        (
            TcpRepr {
                max_seg_size: Some(1),
                sack_permitted: true,
                window_scale: Some(7),
                ..base
            },
            3,
        ),
    ];
    for (i, (repr, expected)) in cases.into_iter().enumerate() {
        assert_eq!(repr.sack_blocks_emitted(), expected, "case {i}");
        assert!(
            repr.header_len() <= 60 && repr.header_len() % 4 == 0,
            "case {i}"
        );
        let mut buf = vec![0; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), SRC, DST);
        let packet = TcpPacket::new_checked(&buf[..]).unwrap();
        let back = TcpRepr::parse(&packet, SRC, DST).unwrap();
        let mut kept = [None; 4];
        kept[..expected].copy_from_slice(&blocks[..expected]);
        assert_eq!(
            back,
            TcpRepr {
                sack_ranges: kept,
                ..repr
            },
            "case {i}"
        );
    }
    // A full-size emit with timestamps is exactly Linux's 60-byte header.
    assert_eq!(
        TcpRepr {
            timestamp: ts,
            ..base
        }
        .header_len(),
        20 + 12 + 4 + 24
    );
    // No blocks, no SACK option at all.
    assert_eq!(TcpRepr::default().header_len(), 20);
}

/// Every option kind emits what it parses from, and `buffer_len` is what `emit` writes.
#[test]
fn option_emit_parse_round_trip() {
    let options = [
        TcpOption::NoOperation,
        TcpOption::MaxSegmentSize(0x1234),
        TcpOption::WindowScale(3),
        TcpOption::SackPermitted,
        TcpOption::SackRange([Some((1, 2)), None, None, None]),
        TcpOption::Timestamps {
            tsval: 0xdead_beef,
            tsecr: 0x0102_0304,
        },
        TcpOption::Unknown {
            kind: 30,
            data: &[1, 2, 3],
        },
        TcpOption::EndOfList,
    ];
    for option in options {
        let mut buf = [0xee; 40];
        let n = option.emit(&mut buf);
        assert_eq!(n, option.buffer_len(), "{option:?}");
        let (rest, back) = TcpOption::parse(&buf[..n]).unwrap();
        assert!(rest.is_empty());
        assert_eq!(back, option);
    }
}

/// An option that appears twice takes its last value.
#[test]
fn repeated_option_last_wins() {
    let repr = parse(&[2, 4, 0, 100, 2, 4, 0, 200]).unwrap();
    assert_eq!(repr.max_seg_size, Some(200));
}

/// The iterator yields one error and stops: after a bad length nothing can be located.
#[test]
fn iterator_stops_after_error() {
    let opts = [1, 2, 0, 1, 1];
    assert_eq!(
        options_of(&opts),
        [Ok(TcpOption::NoOperation), Err(Error::BadOption)]
    );
    assert!(options_of(&[]).is_empty());
}

/// RFC 7323 Appendix A: the `NOP NOP TS` layout (read on a fast path) parses to the same
/// repr as the same option in any other place, and a malformed option after an aligned
/// timestamp is still refused.
#[test]
fn aligned_timestamps_parse_like_any_other_layout() {
    let ts = [8, 10, 0, 0, 0, 7, 0, 0, 0, 9];
    let aligned = [&[1u8, 1][..], &ts[..]].concat();
    let trailing = [&ts[..], &[1u8, 1][..]].concat();
    let want = Some(TcpTimestamp { tsval: 7, tsecr: 9 });
    assert_eq!(parse(&aligned).map(|r| r.timestamp), Ok(want));
    assert_eq!(parse(&trailing).map(|r| r.timestamp), Ok(want));
    assert_eq!(parse(&aligned), parse(&trailing));
    // Sixteen bytes: the aligned timestamp, then an option with a bad length.
    let bad_after = [&aligned[..], &[3u8, 9, 0, 0][..]].concat();
    assert_eq!(parse(&bad_after), Err(Error::BadOption));
    // A timestamp with a wrong length in the aligned place is no timestamp.
    let mut wrong = aligned.clone();
    wrong[3] = 11;
    assert_eq!(parse(&wrong), Err(Error::BadOption));
}
