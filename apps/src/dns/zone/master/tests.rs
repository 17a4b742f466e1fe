use super::*;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn records(text: &str) -> Vec<Record> {
    parse(text, &n("example.test"))
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

fn error(text: &str) -> ZoneError {
    parse(text, &n("example.test")).unwrap_err()
}

/// The zone file NSD served for the captured fixtures reads as NSD read it.
#[test]
fn reads_the_fixture_zone() {
    let text = include_str!("../../../../tests/dns_fixtures/fixture.test.zone");
    let rs = records(text);
    assert_eq!(rs.len(), 16);
    assert!(rs.iter().all(|r| r.ttl == 3600 && r.class == Class::IN));
    assert_eq!(
        rs[0].to_string(),
        "fixture.test.\t3600\tIN\tSOA\tns1.fixture.test. hostmaster.fixture.test. 2024010101 7200 900 1209600 300"
    );
    assert_eq!(
        rs[7].data,
        RData::Txt(vec![
            b"v=spf1 -all".to_vec(),
            b"second string with \"quotes\" and \\ backslash".to_vec()
        ])
    );
    let srv = rs.last().unwrap();
    assert_eq!(srv.name, n("_http._tcp.fixture.test"));
    assert_eq!(
        srv.data,
        RData::Srv {
            priority: 0,
            weight: 5,
            port: 80,
            target: n("www.fixture.test")
        }
    );
}

/// RFC 1035 section 5.1: `@`, relative names, a blank owner repeating the last one.
#[test]
fn owners_at_relative_and_blank() {
    let rs = records(
        "$TTL 60\n\
         @ A 192.0.2.1\n\
         \tAAAA 2001:db8::1\n\
         www CNAME @\n\
         abs.other. A 192.0.2.2\n",
    );
    assert_eq!(rs[0].name, n("example.test"));
    assert_eq!(rs[1].name, n("example.test"));
    assert_eq!(rs[1].data, RData::Aaaa("2001:db8::1".parse().unwrap()));
    assert_eq!(rs[2].name, n("www.example.test"));
    assert_eq!(rs[2].data, RData::Cname(n("example.test")));
    assert_eq!(rs[3].name, n("abs.other"));
}

#[test]
fn origin_directive_changes_relative_names() {
    let rs = records(
        "$TTL 60\n\
         $ORIGIN sub.example.test.\n\
         a A 192.0.2.1\n\
         $ORIGIN deeper\n\
         b A 192.0.2.2\n",
    );
    assert_eq!(rs[0].name, n("a.sub.example.test"));
    assert_eq!(rs[1].name, n("b.deeper.sub.example.test"));
}

/// Parentheses continue an entry over lines; comments end at the line's end.
#[test]
fn parentheses_and_comments() {
    let rs = records(
        "; a comment line\n\
         $TTL 1h ; an hour\n\
         @ IN SOA ns1 hostmaster ( ; the SOA\n\
         \t\t2024 ; serial\n\
         \t\t1d 2h 3w 30m ) ; timers with units\n\
         @ NS ns1 ; trailing comment\n",
    );
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].ttl, 3600);
    assert_eq!(
        rs[0].data,
        RData::Soa(Soa {
            mname: n("ns1.example.test"),
            rname: n("hostmaster.example.test"),
            serial: 2024,
            refresh: 86400,
            retry: 7200,
            expire: 3 * 604800,
            minimum: 1800,
        })
    );
}

/// Quoted strings keep blanks and semicolons; escapes are `\X` and `\DDD`.
#[test]
fn txt_strings() {
    let rs = records(
        "$TTL 60\n\
         a TXT \"hello; world\" unquoted \"tab\\009 and \\\"q\\\"\"\n\
         b TXT \"\"\n",
    );
    assert_eq!(
        rs[0].data,
        RData::Txt(vec![
            b"hello; world".to_vec(),
            b"unquoted".to_vec(),
            b"tab\t and \"q\"".to_vec()
        ])
    );
    assert_eq!(rs[1].data, RData::Txt(vec![Vec::new()]));
    let long = format!("$TTL 60\na TXT \"{}\"\n", "x".repeat(256));
    assert!(error(&long).message.contains("255"));
}

/// TTL and class in either order (RFC 1035 section 5.1); TTL from $TTL (RFC 2308
/// section 4), else the last one given.
#[test]
fn ttl_and_class_order_and_defaults() {
    let rs = records(
        "a 30 IN A 192.0.2.1\n\
         b IN 40 A 192.0.2.2\n\
         c A 192.0.2.3\n\
         $TTL 50\n\
         d A 192.0.2.4\n",
    );
    let ttls: Vec<u32> = rs.iter().map(|r| r.ttl).collect();
    assert_eq!(ttls, vec![30, 40, 40, 50]);
    assert!(error("a A 192.0.2.1\n").message.contains("no TTL"));
    // An SOA without any TTL takes its MINIMUM.
    let rs = records("@ SOA ns h 1 2 3 4 5\n");
    assert_eq!(rs[0].ttl, 5);
}

/// RFC 3597 section 5: `TYPEnnn` and `\# len hex`, for unknown and known types.
#[test]
fn generic_rdata() {
    let rs = records(
        "$TTL 60\n\
         a TYPE65300 \\# 3 abcdef\n\
         b TYPE1 \\# 4 C0000201\n\
         c TYPE65301 \\# 0\n\
         d CLASS1 A 192.0.2.9\n",
    );
    assert_eq!(
        rs[0].data,
        RData::Unknown {
            rtype: RType(65300),
            data: vec![0xab, 0xcd, 0xef]
        }
    );
    assert_eq!(rs[1].data, RData::A(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(
        rs[2].data,
        RData::Unknown {
            rtype: RType(65301),
            data: vec![]
        }
    );
    assert_eq!(rs[3].class, Class::IN);
    assert!(error("$TTL 1\na TYPE1 \\# 3 C00002\n")
        .message
        .contains("RDATA"));
    assert!(error("$TTL 1\na TYPE65300 \\# 2 abc\n")
        .message
        .contains("hex"));
}

/// A record's Display form reads back as the same record.
#[test]
fn display_reads_back() {
    let text = "$TTL 60\n\
                a A 192.0.2.1\n\
                a AAAA 2001:db8::1\n\
                a MX 10 mail\n\
                a TXT \"x\\\"y\" \"\\255\\000 z\"\n\
                _s._tcp SRV 1 2 3 t\n\
                b\\.c PTR a\n\
                u TYPE65300 \\# 2 0102\n";
    for r in records(text) {
        let again = records(&format!("{r}\n"));
        assert_eq!(again, vec![r]);
    }
}

#[test]
fn errors_name_their_line() {
    let e = error("$TTL 60\n\na A 192.0.2.300\n");
    assert_eq!(e.line, 3);
    assert!(e.to_string().starts_with("line 3: "), "{e}");
    assert!(error("$TTL 60\na BOGUS x\n")
        .message
        .contains("unknown record type"));
    assert!(error("$TTL 60\na TXT \"open\n")
        .message
        .contains("unterminated"));
    assert!(error("$TTL 60\na A ( 192.0.2.1\n").message.contains("'('"));
    assert!(error("$TTL 60\na A 192.0.2.1 )\n").message.contains("')'"));
    assert!(error("$TTL 60\n A 192.0.2.1\n").message.contains("owner"));
    assert!(error("$INCLUDE other\n").message.contains("not supported"));
    assert!(error("$TTL 60\na CH A 192.0.2.1\n")
        .message
        .contains("only IN"));
    assert!(error("$TTL 60\na MX 10\n").message.contains("2 fields"));
    assert!(error("$TTL 60\na TYPE65300 x\n")
        .message
        .contains("generic"));
    assert!(error("$TTL 60\na OPT \\# 0\n")
        .message
        .contains("not a record type"));
    assert!(error("$TTL x\n").message.contains("TTL"));
}

#[test]
fn ttl_units() {
    assert_eq!(parse_ttl("300"), Some(300));
    assert_eq!(parse_ttl("1h30m"), Some(5400));
    assert_eq!(parse_ttl("1W"), Some(604800));
    assert_eq!(parse_ttl("h"), None);
    assert_eq!(parse_ttl("1h30"), None);
    assert_eq!(parse_ttl("99999999999"), None);
    assert_eq!(parse_ttl("IN"), None);
}

proptest::proptest! {
    /// Master files are input too: any text gives records or an error, never a panic.
    #[test]
    fn any_text_never_panics(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "$ORIGIN", "$TTL", "@", "a", "b.c.", " ", "\t", "\n", "(", ")", ";c", "\"",
                "\\", "\\0", "\\255", "IN", "A", "TXT", "SOA", "MX", "TYPE65300", "\\#", "1",
                "300", "1h", "192.0.2.1", "::1", "ff", "é", "CNAME", "CH", "x\\.y",
            ]),
            0..40,
        )
    ) {
        let text: String = parts.join(" ");
        let _ = parse(&text, &n("example.test"));
        let _ = crate::dns::zone::Zone::from_text(&text, None);
        let squashed: String = parts.concat();
        let _ = parse(&squashed, &n("example.test"));
    }
}
