use super::*;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// A message: a 12-byte header of zeros, then `body`.
fn msg(body: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 12];
    m.extend_from_slice(body);
    m
}

#[test]
fn text_round_trip_and_escapes() {
    assert_eq!(n("www.Example.com").to_string(), "www.Example.com.");
    assert_eq!(n("www.example.com."), n("www.example.com"));
    assert_eq!(n(".").to_string(), ".");
    assert!(n(".").is_root());
    // RFC 1035 section 5.1: \X and \DDD.
    let odd = n("a\\.b.c\\032d.\\255");
    assert_eq!(
        odd.labels().collect::<Vec<_>>(),
        vec![&b"a.b"[..], b"c d", b"\xff"]
    );
    assert_eq!(odd.to_string(), "a\\.b.c\\032d.\\255.");
    assert_eq!(Name::parse(&odd.to_string()).unwrap(), odd);
    assert!(Name::parse("a\\2").is_err());
    assert!(Name::parse("a\\256").is_err());
}

#[test]
fn relative_names_and_at() {
    let origin = n("tunstack.test");
    assert_eq!(Name::parse_relative("@", &origin).unwrap(), origin);
    assert_eq!(
        Name::parse_relative("www", &origin).unwrap(),
        n("www.tunstack.test")
    );
    assert_eq!(
        Name::parse_relative("www.other.", &origin).unwrap(),
        n("www.other")
    );
}

/// RFC 1035 section 2.3.4: labels of at most 63 octets, names of at most 255.
#[test]
fn length_limits_in_text() {
    let l63 = "a".repeat(63);
    assert!(Name::parse(&l63).is_ok());
    assert_eq!(Name::parse(&"a".repeat(64)), Err(Error::LabelTooLong(64)));
    // 4 labels of 63 = 4 * 64 = 256 octets + root = 257: too long; 3 + a 61 = 255: fits.
    let three = format!("{l63}.{l63}.{l63}");
    let fits = format!("{three}.{}", "b".repeat(61));
    assert_eq!(n(&fits).wire_len(), 255);
    assert_eq!(
        Name::parse(&format!("{three}.{}", "b".repeat(62))),
        Err(Error::NameTooLong)
    );
    assert_eq!(Name::parse("a..b"), Err(Error::EmptyLabel));
    assert!(Name::parse("").is_err());
}

#[test]
fn read_plain_and_pointer() {
    // 12: 3www 7example 3com 0 ; 29: 3ftp + pointer to 16 (example.com)
    let mut body = b"\x03www\x07example\x03com\x00".to_vec();
    body.extend_from_slice(b"\x03ftp\xC0\x10");
    let m = msg(&body);
    let (a, next) = Name::read(&m, 12).unwrap();
    assert_eq!(a, n("www.example.com"));
    assert_eq!(next, 29);
    let (b, next) = Name::read(&m, 29).unwrap();
    assert_eq!(b, n("ftp.example.com"));
    assert_eq!(next, m.len());
}

/// RFC 9267 section 3: a pointer must point backwards, before the name that uses it.
#[test]
fn pointer_forward_or_to_itself_is_refused() {
    let m = msg(b"\xC0\x0E\x01a\x00");
    assert_eq!(
        Name::read(&m, 12),
        Err(Error::BadPointer { at: 12, target: 14 })
    );
    let m = msg(b"\xC0\x0C");
    assert_eq!(
        Name::read(&m, 12),
        Err(Error::BadPointer { at: 12, target: 12 })
    );
    // Into the middle of the name being read (after its first label): a loop.
    let m = msg(b"\x01a\xC0\x0C");
    assert_eq!(
        Name::read(&m, 12),
        Err(Error::BadPointer { at: 14, target: 12 })
    );
}

/// Two names pointing at each other: the second jump is not before the first target.
#[test]
fn pointer_loops_are_refused() {
    // 12: 1a ptr->16 ; 16: 1b ptr->12. Reading at 16: jumps to 12, then 12's pointer
    // goes to 16, which is not before 12.
    let m = msg(b"\x01a\xC0\x10\x01b\xC0\x0C");
    assert!(matches!(Name::read(&m, 16), Err(Error::BadPointer { .. })));
    assert!(matches!(Name::read(&m, 12), Err(Error::BadPointer { .. })));
    // A chain of pointers, each further back than the last, is fine.
    let m = msg(b"\x00\xC0\x0C\xC0\x0D\xC0\x0F");
    assert_eq!(Name::read(&m, 17).unwrap().0, Name::root());
}

#[test]
fn pointer_into_the_header_is_refused() {
    let m = msg(b"\xC0\x02");
    assert_eq!(
        Name::read(&m, 12),
        Err(Error::BadPointer { at: 12, target: 2 })
    );
}

/// RFC 9267 section 4: the name must end inside the data.
#[test]
fn truncated_names() {
    assert!(matches!(
        Name::read(&msg(b"\x03ww"), 12),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        Name::read(&msg(b"\x03www"), 12),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        Name::read(&msg(b"\xC0"), 12),
        Err(Error::Truncated { .. })
    ));
    assert!(matches!(
        Name::read(&msg(b""), 12),
        Err(Error::Truncated { .. })
    ));
}

/// RFC 6891 section 5: label types 01 and 10 are not plain labels or pointers.
#[test]
fn reserved_label_types() {
    for b in [0x41u8, 0x80, 0xBF] {
        let m = msg(&[b, 0, 0]);
        assert_eq!(
            Name::read(&m, 12),
            Err(Error::BadLabelType { at: 12, byte: b })
        );
    }
}

/// RFC 9267 section 2: pointers cannot assemble a name over 255 octets.
#[test]
fn name_too_long_through_pointers() {
    // 12: a 63-octet label then root; then three names each adding 63 octets and
    // pointing back at the previous one: 4 * 64 + 1 = 257 octets in the last.
    let mut body = Vec::new();
    let label = [b'x'; 63];
    let mut prev = 12usize;
    body.push(63);
    body.extend_from_slice(&label);
    body.push(0);
    let mut starts = vec![12usize];
    for _ in 0..3 {
        let start = 12 + body.len();
        body.push(63);
        body.extend_from_slice(&label);
        body.extend_from_slice(&(0xC000u16 | prev as u16).to_be_bytes());
        prev = start;
        starts.push(start);
    }
    let m = msg(&body);
    assert_eq!(Name::read(&m, starts[2]).unwrap().0.wire_len(), 193);
    assert_eq!(Name::read(&m, starts[3]), Err(Error::NameTooLong));
}

#[test]
fn compression_points_at_exact_suffixes() {
    let mut out = vec![0u8; 12];
    let mut comp = Compressor::default();
    n("www.example.com").write_compressed(&mut out, &mut comp);
    n("mail.example.com").write_compressed(&mut out, &mut comp);
    n("example.com").write_compressed(&mut out, &mut comp);
    // Letter case differs: no pointer, so the name is kept exactly.
    n("EXAMPLE.com").write_compressed(&mut out, &mut comp);
    let mut expect = vec![0u8; 12];
    expect.extend_from_slice(b"\x03www\x07example\x03com\x00");
    expect.extend_from_slice(b"\x04mail\xC0\x10");
    expect.extend_from_slice(b"\xC0\x10");
    expect.extend_from_slice(b"\x07EXAMPLE\xC0\x18");
    assert_eq!(out, expect);
    let (a, p) = Name::read(&out, 29).unwrap();
    assert_eq!(a, n("mail.example.com"));
    let (b, p) = Name::read(&out, p).unwrap();
    assert_eq!(b, n("example.com"));
    assert_eq!(Name::read(&out, p).unwrap().0.to_string(), "EXAMPLE.com.");
}

#[test]
fn compression_rollback_forgets_later_suffixes() {
    let mut out = vec![0u8; 12];
    let mut comp = Compressor::default();
    n("a.example").write_compressed(&mut out, &mut comp);
    let keep = out.len();
    n("b.other").write_compressed(&mut out, &mut comp);
    out.truncate(keep);
    comp.rollback(keep);
    n("c.other").write_compressed(&mut out, &mut comp);
    assert_eq!(&out[keep..], b"\x01c\x05other\x00");
}

#[test]
fn case_insensitive_comparisons() {
    assert!(n("WwW.TunStack.TEST").eq_ignore_case(&n("www.tunstack.test")));
    assert_ne!(n("WwW.TunStack.TEST"), n("www.tunstack.test"));
    assert!(n("a.B.tunstack.test").is_subdomain_of(&n("TUNSTACK.test")));
    assert!(n("tunstack.test").is_subdomain_of(&n("tunstack.test")));
    assert!(!n("xtunstack.test").is_subdomain_of(&n("tunstack.test")));
    assert!(!n("test").is_subdomain_of(&n("tunstack.test")));
    assert!(n("anything").is_subdomain_of(&Name::root()));
    assert_eq!(n("a.b.c").parent(), Some(n("b.c")));
    assert_eq!(Name::root().parent(), None);
    assert_eq!(n("b.c").prepend(b"a").unwrap(), n("a.b.c"));
}

#[test]
fn reverse_names() {
    assert_eq!(
        Name::reverse_v4(Ipv4Addr::new(10, 77, 0, 2)).to_string(),
        "2.0.77.10.in-addr.arpa."
    );
}
