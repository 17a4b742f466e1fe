use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// A 20-byte header for a fragment; only the fields reassembly rewrites matter.
fn header(ident: u16) -> Vec<u8> {
    let mut h = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
    h[4..6].copy_from_slice(&ident.to_be_bytes());
    h.extend_from_slice(&SRC.octets());
    h.extend_from_slice(&DST.octets());
    h
}

fn frag<'a>(
    hdr: &'a [u8],
    ident: u16,
    offset: usize,
    more: bool,
    payload: &'a [u8],
) -> Fragment<'a> {
    Fragment {
        src: SRC,
        dst: DST,
        protocol: 1,
        ident,
        offset,
        more_frags: more,
        header: hdr,
        payload,
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

fn complete(o: Outcome) -> Vec<u8> {
    match o {
        Outcome::Complete(v) => v,
        other => panic!("expected a complete datagram, got {other:?}"),
    }
}

/// RFC 815: fragments in any order fill the holes; the result carries the first
/// fragment's header with the total length fixed, MF/offset cleared and a valid checksum.
#[test]
fn out_of_order_fragments_complete() {
    let h = header(7);
    let d = data(3000);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let t = Instant::from_secs(1);
    assert_eq!(
        r.push(t, frag(&h, 7, 2960, false, &d[2960..])),
        Outcome::Pending
    );
    assert_eq!(
        r.push(t, frag(&h, 7, 1480, true, &d[1480..2960])),
        Outcome::Pending
    );
    let out = complete(r.push(t, frag(&h, 7, 0, true, &d[..1480])));
    assert_eq!(&out[20..], &d[..]);
    assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, 3020);
    assert_eq!(out[6] & 0x3f, 0);
    assert_eq!(out[7], 0);
    assert_eq!(crate::wire::checksum::checksum(&out[..20]), 0);
    assert_eq!(r.in_progress(), 0);
    assert_eq!(r.bytes_held(), 0);
}

/// RFC 791 3.2: the key is (src, dst, protocol, id); different ids never mix.
#[test]
fn different_idents_are_different_datagrams() {
    let h1 = header(1);
    let h2 = header(2);
    let d = data(16);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let t = Instant::ZERO;
    assert_eq!(r.push(t, frag(&h1, 1, 0, true, &d[..8])), Outcome::Pending);
    assert_eq!(r.push(t, frag(&h2, 2, 8, false, &d[8..])), Outcome::Pending);
    assert_eq!(r.in_progress(), 2);
    let mut other_proto = frag(&h1, 1, 8, false, &d[8..]);
    other_proto.protocol = 17;
    assert_eq!(r.push(t, other_proto), Outcome::Pending);
    assert_eq!(r.in_progress(), 3);
    complete(r.push(t, frag(&h1, 1, 8, false, &d[8..])));
}

/// Any overlap drops the whole datagram (teardrop); later fragments start afresh.
#[test]
fn overlap_drops_the_datagram() {
    let h = header(9);
    let d = data(64);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let t = Instant::ZERO;
    assert_eq!(r.push(t, frag(&h, 9, 0, true, &d[..32])), Outcome::Pending);
    assert_eq!(
        r.push(t, frag(&h, 9, 24, true, &d[24..48])),
        Outcome::Failed(Failure::Overlap)
    );
    assert_eq!(r.in_progress(), 0);
    assert_eq!(r.bytes_held(), 0);
    // The rest alone cannot complete it any more.
    assert_eq!(
        r.push(t, frag(&h, 9, 32, false, &d[32..])),
        Outcome::Pending
    );
}

/// An exact duplicate is ignored, as Linux does, and does not break reassembly.
#[test]
fn exact_duplicate_is_ignored() {
    let h = header(3);
    let d = data(24);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let t = Instant::ZERO;
    assert_eq!(r.push(t, frag(&h, 3, 0, true, &d[..16])), Outcome::Pending);
    assert_eq!(
        r.push(t, frag(&h, 3, 0, true, &d[..16])),
        Outcome::Duplicate
    );
    let out = complete(r.push(t, frag(&h, 3, 16, false, &d[16..])));
    assert_eq!(&out[20..], &d[..]);
}

/// RFC 791: a datagram is at most 65,535 bytes; a fragment reaching past that fails.
#[test]
fn nothing_beyond_65535_bytes() {
    let h = header(4);
    let d = data(16);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let last_ok = 65_535 - 20 - 15; // offset + 15 bytes + header = 65,535
    let last_ok = last_ok / 8 * 8;
    assert_eq!(
        r.push(Instant::ZERO, frag(&h, 4, last_ok, false, &d[..15])),
        Outcome::Pending
    );
    assert_eq!(
        r.push(Instant::ZERO, frag(&h, 5, 65_528, false, &d[..16])),
        Outcome::Failed(Failure::TooBig)
    );
}

/// RFC 791: fragments other than the last carry a multiple of 8 bytes.
#[test]
fn non_final_fragment_must_be_multiple_of_eight() {
    let h = header(6);
    let d = data(20);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    assert_eq!(
        r.push(Instant::ZERO, frag(&h, 6, 0, true, &d[..12])),
        Outcome::Failed(Failure::Inconsistent)
    );
}

/// Two "last" fragments that disagree on the length drop the datagram.
#[test]
fn conflicting_last_fragments_fail() {
    let h = header(8);
    let d = data(40);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    assert_eq!(
        r.push(Instant::ZERO, frag(&h, 8, 16, false, &d[16..24])),
        Outcome::Pending
    );
    assert_eq!(
        r.push(Instant::ZERO, frag(&h, 8, 32, false, &d[32..40])),
        Outcome::Failed(Failure::Inconsistent)
    );
}

/// RFC 1122 3.3.2: an incomplete datagram is dropped after the timeout; the first
/// fragment's header and 8 bytes are returned so ICMP time exceeded can quote them.
#[test]
fn timeout_expires_and_quotes_first_fragment() {
    let h = header(11);
    let d = data(48);
    let cfg = ReassemblyConfig {
        timeout: Duration::from_secs(30),
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let t0 = Instant::from_secs(100);
    r.push(t0, frag(&h, 11, 0, true, &d[..16]));
    let h2 = header(12);
    r.push(
        t0 + Duration::from_secs(1),
        frag(&h2, 12, 16, true, &d[16..32]),
    );
    assert_eq!(r.poll_at(), Some(Instant::from_secs(130)));
    assert!(r.expire(Instant::from_secs(129)).is_empty());
    let e = r.expire(Instant::from_secs(130));
    assert_eq!(e.len(), 1);
    let quote = e[0].quote.as_ref().expect("first fragment was there");
    assert_eq!(&quote[..20], &h[..]);
    assert_eq!(&quote[20..], &d[..8]);
    // The one without its first fragment expires without a quote (nothing to send).
    let e = r.expire(Instant::from_secs(131));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].quote, None);
    assert_eq!(r.bytes_held(), 0);
    assert_eq!(r.poll_at(), None);
}

/// Bounded: beyond `max_datagrams` the oldest datagram in progress is evicted, and the
/// byte budget is never exceeded.
#[test]
fn bounds_hold_under_a_flood() {
    let cfg = ReassemblyConfig {
        max_datagrams: 8,
        max_bytes: 8 * 1024,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let d = data(1024);
    for id in 0..1000u16 {
        let h = header(id);
        r.push(Instant::ZERO, frag(&h, id, 0, true, &d));
        assert!(r.in_progress() <= 8);
        assert!(r.bytes_held() <= 8 * 1024);
    }
    // A real datagram still gets through.
    let h = header(5000);
    r.push(Instant::ZERO, frag(&h, 5000, 0, true, &d[..8]));
    complete(r.push(Instant::ZERO, frag(&h, 5000, 8, false, &d[8..16])));
}

#[test]
fn too_many_fragments_fail() {
    let cfg = ReassemblyConfig {
        max_fragments: 4,
        ..ReassemblyConfig::default()
    };
    let mut r = Reassembler::new(cfg);
    let h = header(1);
    let d = data(8);
    for i in 0..4 {
        assert_eq!(
            r.push(Instant::ZERO, frag(&h, 1, i * 16, true, &d)),
            Outcome::Pending
        );
    }
    assert_eq!(
        r.push(Instant::ZERO, frag(&h, 1, 100 * 8, true, &d)),
        Outcome::Failed(Failure::NoRoom)
    );
    assert_eq!(r.bytes_held(), 0);
}
