use super::*;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn zone(text: &str) -> Zone {
    Zone::parse(text, &n("example.test")).unwrap_or_else(|e| panic!("{e}"))
}

const ZONE: &str = "$TTL 60\n\
    @ SOA ns h 1 3600 600 86400 30\n\
    @ NS ns\n\
    @ A 192.0.2.1\n\
    ns A 192.0.2.2\n\
    www CNAME @\n\
    a.b.c A 192.0.2.3\n\
    sub NS ns.sub\n\
    ns.sub A 192.0.2.4\n";

#[test]
fn lookups_follow_rfc_1034_4_3_2() {
    let z = zone(ZONE);
    let Lookup::Found(rs) = z.lookup(&n("EXAMPLE.test"), RType::A) else {
        panic!()
    };
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 1)));
    // Step 3a: an alias, unless the CNAME itself is asked for.
    assert!(matches!(
        z.lookup(&n("www.example.test"), RType::A),
        Lookup::Cname(_)
    ));
    assert!(matches!(
        z.lookup(&n("www.example.test"), RType::CNAME),
        Lookup::Found(_)
    ));
    // NODATA: the name exists, the type does not (RFC 2308 section 2.2).
    assert_eq!(z.lookup(&n("ns.example.test"), RType::MX), Lookup::NoData);
    // Empty non-terminals exist (RFC 8020): b.c and c have no records but a name below.
    assert_eq!(z.lookup(&n("b.c.example.test"), RType::A), Lookup::NoData);
    assert_eq!(z.lookup(&n("c.example.test"), RType::A), Lookup::NoData);
    // NXDOMAIN below an existing name and beside it.
    assert_eq!(
        z.lookup(&n("x.a.b.c.example.test"), RType::A),
        Lookup::NxDomain
    );
    assert_eq!(
        z.lookup(&n("nope.example.test"), RType::A),
        Lookup::NxDomain
    );
    // Step 3b: at and below a zone cut, a referral, glue included.
    for name in [
        "sub.example.test",
        "x.sub.example.test",
        "ns.sub.example.test",
    ] {
        let Lookup::Delegation(ns) = z.lookup(&n(name), RType::A) else {
            panic!("{name}")
        };
        assert_eq!(ns[0].data, RData::Ns(n("ns.sub.example.test")));
    }
    // The apex's own NS is not a cut.
    assert!(matches!(
        z.lookup(&n("example.test"), RType::NS),
        Lookup::Found(_)
    ));
    let Lookup::Found(all) = z.lookup(&n("example.test"), RType::ANY) else {
        panic!()
    };
    assert_eq!(all.len(), 3);
}

/// RFC 2308 section 3: a negative answer's SOA TTL is min(SOA TTL, MINIMUM).
#[test]
fn negative_soa_ttl() {
    let z = zone(ZONE);
    assert_eq!(z.soa().unwrap().ttl, 60);
    assert_eq!(z.negative_soa().unwrap().ttl, 30);
}

#[test]
fn insert_rules() {
    let mut z = zone(ZONE);
    let rec = |name: &str, data| Record::new(n(name), 60, data);
    // Out of the zone.
    let e = z
        .insert(rec("other.test", RData::A(Ipv4Addr::LOCALHOST)))
        .unwrap_err();
    assert!(e.message.contains("outside"), "{e}");
    // RFC 1034 3.6.2 / RFC 2181 10.1: CNAME and other data do not mix.
    let e = z
        .insert(rec("www.example.test", RData::A(Ipv4Addr::LOCALHOST)))
        .unwrap_err();
    assert!(e.message.contains("CNAME"), "{e}");
    let e = z
        .insert(rec("ns.example.test", RData::Cname(n("x.test"))))
        .unwrap_err();
    assert!(e.message.contains("CNAME"), "{e}");
    let e = z
        .insert(rec("www.example.test", RData::Cname(n("x.test"))))
        .unwrap_err();
    assert!(e.message.contains("CNAME"), "{e}");
    // RFC 2181 5.2: one TTL per RRset.
    let e = z
        .insert(Record::new(
            n("ns.example.test"),
            61,
            RData::A(Ipv4Addr::LOCALHOST),
        ))
        .unwrap_err();
    assert!(e.message.contains("TTL"), "{e}");
    // RFC 2181 5: the same record twice is one record.
    let before = z.records().count();
    z.insert(rec(
        "ns.example.test",
        RData::A(Ipv4Addr::new(192, 0, 2, 2)),
    ))
    .unwrap();
    assert_eq!(z.records().count(), before);
    // SOA: at the apex only, and once.
    let soa = z.soa().unwrap().clone();
    let e = z
        .insert(Record {
            name: n("x.example.test"),
            ..soa.clone()
        })
        .unwrap_err();
    assert!(e.message.contains("apex"), "{e}");
    let other = Record {
        ttl: 60,
        data: RData::Soa(Soa {
            serial: 2,
            ..match soa.data {
                RData::Soa(s) => s,
                _ => unreachable!(),
            }
        }),
        ..soa
    };
    assert!(z
        .insert(other)
        .unwrap_err()
        .message
        .contains("more than one SOA"));
    // A zone without an SOA does not load.
    let e = Zone::parse("$TTL 1\n@ A 192.0.2.1\n", &n("example.test")).unwrap_err();
    assert!(e.message.contains("no SOA"), "{e}");
    // Errors from inserting name the line.
    let e = Zone::parse(
        "$TTL 1\n@ SOA a b 1 2 3 4 5\nx.other. A 192.0.2.1\n",
        &n("example.test"),
    )
    .unwrap_err();
    assert_eq!(e.line, 3);
}

#[test]
fn default_zone_contents() {
    let addr = Ipv4Addr::new(10, 77, 0, 2);
    let z = default_zone(addr);
    assert_eq!(z.origin(), &n("tunstack.test"));
    let a = |name: &str| match z.lookup(&n(name), RType::A) {
        Lookup::Found(rs) => rs[0].data.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(a("tunstack.test"), RData::A(addr));
    assert_eq!(a("ns.tunstack.test"), RData::A(addr));
    assert_eq!(a("mail.tunstack.test"), RData::A(addr));
    let Lookup::Cname(c) = z.lookup(&n("www.tunstack.test"), RType::A) else {
        panic!()
    };
    assert_eq!(c.data, RData::Cname(n("tunstack.test")));
    assert_eq!(
        z.rrset(&n("tunstack.test"), RType::NS)[0].data,
        RData::Ns(n("ns.tunstack.test"))
    );
    assert_eq!(z.rrset(&n("tunstack.test"), RType::MX).len(), 1);
    assert_eq!(z.rrset(&n("tunstack.test"), RType::TXT).len(), 1);
    // `big`'s TXT records do not fit 512 bytes, but do fit 1232.
    let big: usize = z
        .rrset(&n("big.tunstack.test"), RType::TXT)
        .iter()
        .map(|r| r.name.wire_len() + 10 + 2 + 100)
        .sum();
    assert!(big > 512 && big < 1100, "{big}");
}

/// RFC 3596 section 2.1: with the stack's IPv6 address, the apex, `ns` and `mail` have
/// AAAA records for it beside their A records; without one, no AAAA at all.
#[test]
fn default_zone_has_aaaa_for_the_ipv6_address() {
    let a6: std::net::Ipv6Addr = "fd00:77::2".parse().unwrap();
    let z = default_zone_with(Ipv4Addr::new(10, 77, 0, 2), Some(a6));
    for name in ["tunstack.test", "ns.tunstack.test", "mail.tunstack.test"] {
        let Lookup::Found(rs) = z.lookup(&n(name), RType::AAAA) else {
            panic!("{name}: no AAAA");
        };
        assert_eq!(rs[0].data, RData::Aaaa(a6));
        assert!(matches!(z.lookup(&n(name), RType::A), Lookup::Found(_)));
    }
    let z4 = default_zone(Ipv4Addr::new(10, 77, 0, 2));
    assert!(z4.rrset(&n("tunstack.test"), RType::AAAA).is_empty());
}

#[test]
fn reverse_zones_for_own_addresses() {
    let own = [
        Ipv4Addr::new(10, 77, 0, 2),
        Ipv4Addr::new(10, 1, 0, 1),
        Ipv4Addr::new(10, 77, 0, 2),
    ];
    let zones = default_zones(own[0], &own);
    assert_eq!(zones.len(), 3);
    let rev = &zones[1];
    assert_eq!(rev.origin(), &n("2.0.77.10.in-addr.arpa"));
    let Lookup::Found(ptr) = rev.lookup(&n("2.0.77.10.in-addr.arpa"), RType::PTR) else {
        panic!()
    };
    assert_eq!(ptr[0].data, RData::Ptr(n("tunstack.test")));
    assert_eq!(zones[2].origin(), &n("1.0.1.10.in-addr.arpa"));
}

/// A master file read without a given origin: the apex is the SOA's owner.
#[test]
fn zone_from_a_file_with_its_own_origin() {
    let text = include_str!("../../../tests/dns_fixtures/fixture.test.zone");
    let z = Zone::from_text(text, None).unwrap();
    assert_eq!(z.origin(), &n("fixture.test"));
    assert_eq!(z.records().count(), 16);
    let dir = std::env::temp_dir().join(format!("tunstack-zone-{}", std::process::id()));
    std::fs::write(&dir, "$TTL 5\n@ SOA ns h 1 2 3 4 5\nwww A 192.0.2.1\n").unwrap();
    let z = Zone::load(&dir, Some(&n("example.test"))).unwrap();
    let _ = std::fs::remove_file(&dir);
    assert!(matches!(
        z.lookup(&n("www.example.test"), RType::A),
        Lookup::Found(_)
    ));
    let e = Zone::load(std::path::Path::new("/nonexistent/zone"), None).unwrap_err();
    assert!(e.message.contains("/nonexistent/zone"), "{e}");
    assert!(Zone::from_text("$TTL 1\nx. A 192.0.2.1\n", None).is_err());
}
