//! The DNS codec on real messages (dig and NSD, captured on 127.0.0.1 in a namespace; see
//! `dns_fixtures/`), and property tests that the parser never panics or loops on hostile
//! input.

mod dns_support;

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use tunstack_apps::dns::message::EdnsOption;
use tunstack_apps::dns::{Class, Error, Message, Name, RData, RType, Rcode, Record};

use dns_support::{fixtures, frame};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn rec(name: &str, ttl: u32, data: RData) -> Record {
    Record::new(n(name), ttl, data)
}

/// Every captured message reads, and writes back byte for byte: our compression makes
/// the same pointers NSD and dig made.
#[test]
fn every_fixture_round_trips_byte_exact() {
    let all = fixtures();
    assert_eq!(all.len(), 28);
    for f in &all {
        let m = Message::parse(&f.bytes)
            .unwrap_or_else(|e| panic!("frame {} ({}): {e}", f.frame, f.summary));
        assert_eq!(
            m.header.qr,
            f.summary.contains("response"),
            "frame {}",
            f.frame
        );
        let again = m.to_bytes().unwrap();
        assert_eq!(again, f.bytes, "frame {} ({})", f.frame, f.summary);
    }
}

/// dig's query: ID, RD and AD, one question, EDNS0 with a 1232-byte payload and a
/// client COOKIE option (RFC 7873, code 10, 8 bytes).
#[test]
fn dig_query_fields() {
    let m = Message::parse(&frame(1)).unwrap();
    assert_eq!(m.header.id, 0xb808);
    assert!(!m.header.qr && m.header.rd && m.header.ad && !m.header.aa);
    assert_eq!(m.questions.len(), 1);
    assert_eq!(m.questions[0].name, n("fixture.test"));
    assert_eq!(m.questions[0].qtype, RType::A);
    assert_eq!(m.questions[0].qclass, Class::IN);
    let e = m.edns.unwrap();
    assert_eq!(e.udp_payload, 1232);
    assert_eq!((e.version, e.dnssec_ok, e.ext_rcode), (0, false, 0));
    assert_eq!(e.options.len(), 1);
    assert_eq!(e.options[0].code, 10);
    assert_eq!(e.options[0].data.len(), 8);
    // +noedns: no OPT record at all.
    assert_eq!(Message::parse(&frame(3)).unwrap().edns, None);
}

/// NSD's answer to `fixture.test A`: AA, the A record, NS in authority, glue in
/// additional, an OPT record.
#[test]
fn nsd_answer_fields() {
    let m = Message::parse(&frame(2)).unwrap();
    assert!(m.header.qr && m.header.aa && m.header.rd && !m.header.tc);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert_eq!(
        m.answers,
        vec![rec(
            "fixture.test",
            3600,
            RData::A(Ipv4Addr::new(10, 77, 0, 2))
        )]
    );
    assert_eq!(
        m.authority,
        vec![
            rec("fixture.test", 3600, RData::Ns(n("ns1.fixture.test"))),
            rec("fixture.test", 3600, RData::Ns(n("ns2.fixture.test"))),
        ]
    );
    assert_eq!(m.additional.len(), 2);
    assert_eq!(m.edns.unwrap().udp_payload, 1232);
}

/// Mixed case in the question, and NSD's answer owner names compressed against it.
#[test]
fn mixed_case_mx_answer() {
    let m = Message::parse(&frame(6)).unwrap();
    assert_eq!(m.questions[0].name.to_string(), "FiXtUrE.TeSt.");
    assert_eq!(
        m.answers,
        vec![
            rec(
                "FiXtUrE.TeSt",
                3600,
                RData::Mx {
                    preference: 10,
                    exchange: n("mail.FiXtUrE.TeSt")
                }
            ),
            rec(
                "FiXtUrE.TeSt",
                3600,
                RData::Mx {
                    preference: 20,
                    exchange: n("mail2.FiXtUrE.TeSt")
                }
            ),
        ]
    );
    let aaaa: Ipv6Addr = "2001:db8::4".parse().unwrap();
    assert!(m
        .additional
        .contains(&rec("mail.FiXtUrE.TeSt", 3600, RData::Aaaa(aaaa))));
}

#[test]
fn txt_soa_cname_srv_ptr_answers() {
    let txt = Message::parse(&frame(8)).unwrap();
    assert_eq!(
        txt.answers[0].data,
        RData::Txt(vec![
            b"v=spf1 -all".to_vec(),
            b"second string with \"quotes\" and \\ backslash".to_vec()
        ])
    );
    assert_eq!(
        txt.answers[0].to_string(),
        "fixture.test.\t3600\tIN\tTXT\t\"v=spf1 -all\" \"second string with \\\"quotes\\\" and \\\\ backslash\""
    );
    let soa = Message::parse(&frame(10)).unwrap();
    assert_eq!(
        soa.answers[0].to_string(),
        "fixture.test.\t3600\tIN\tSOA\tns1.fixture.test. hostmaster.fixture.test. 2024010101 7200 900 1209600 300"
    );
    let cname = Message::parse(&frame(12)).unwrap();
    let types: Vec<RType> = cname.answers.iter().map(Record::rtype).collect();
    assert_eq!(types, vec![RType::CNAME, RType::CNAME, RType::A]);
    let ptr = Message::parse(&frame(18)).unwrap();
    assert_eq!(ptr.answers[0].name, n("2.0.77.10.in-addr.arpa"));
    assert_eq!(ptr.answers[0].data, RData::Ptr(n("fixture.test")));
    let srv = Message::parse(&frame(20)).unwrap();
    assert_eq!(
        srv.answers[0].data,
        RData::Srv {
            priority: 0,
            weight: 5,
            port: 80,
            target: n("www.fixture.test")
        }
    );
}

/// RFC 2308: NXDOMAIN and NODATA carry the SOA, its TTL the SOA's MINIMUM (300).
#[test]
fn negative_answers_carry_the_soa() {
    let nx = Message::parse(&frame(14)).unwrap();
    assert_eq!(nx.rcode(), Rcode::NXDOMAIN);
    assert!(nx.answers.is_empty());
    assert_eq!(nx.authority[0].rtype(), RType::SOA);
    assert_eq!(nx.authority[0].ttl, 300);
    let nodata = Message::parse(&frame(24)).unwrap();
    assert_eq!(nodata.rcode(), Rcode::NOERROR);
    assert!(nodata.answers.is_empty());
    assert_eq!(nodata.authority[0].rtype(), RType::SOA);
}

/// Every proper prefix of every real message is refused with an error that says so.
#[test]
fn every_truncation_of_every_fixture_is_an_error() {
    for f in fixtures() {
        for len in 0..f.bytes.len() {
            match Message::parse(&f.bytes[..len]) {
                Err(Error::Truncated { .. }) | Err(Error::BadRdata { .. }) => {}
                Err(Error::BadOpt(_)) => {}
                other => panic!("frame {} cut at {len}: {other:?}", f.frame),
            }
        }
    }
}

/// RFC 9267 section 5: a count larger than the records present is an error, and so are
/// bytes after the last record.
#[test]
fn counts_are_checked_against_the_data() {
    let mut b = frame(2);
    b[7] += 1; // ANCOUNT
    assert!(matches!(Message::parse(&b), Err(Error::Truncated { .. })));
    let mut b = frame(2);
    b[11] -= 1; // ARCOUNT one short: the OPT record is left over
    assert_eq!(Message::parse(&b), Err(Error::TrailingData(11)));
    let mut b = frame(1);
    b.push(0);
    assert_eq!(Message::parse(&b), Err(Error::TrailingData(1)));
}

/// RFC 9267 section 6: RDLENGTH must match the record's data.
#[test]
fn rdlength_is_checked() {
    // frame 2's answer: A record, RDLENGTH at offset 40..42 (after 30 bytes of header and
    // question, pointer, type, class, TTL).
    let b = frame(2);
    assert_eq!(&b[40..42], &[0, 4]);
    let mut long = b.clone();
    long[41] = 5;
    assert!(Message::parse(&long).is_err());
    let mut short = b;
    short[41] = 3;
    assert!(matches!(
        Message::parse(&short),
        Err(Error::BadRdata { rtype: 1, .. }) | Err(Error::Truncated { .. })
    ));
}

/// RFC 6891 section 6.1.1: one OPT at most, only in the additional section.
#[test]
fn opt_rules() {
    let q = Message::parse(&frame(1)).unwrap();
    let mut two = q.to_bytes().unwrap();
    let opt = two[two.len() - 23..].to_vec();
    two.extend_from_slice(&opt);
    two[11] = 2;
    assert_eq!(Message::parse(&two), Err(Error::BadOpt("more than one")));
    let mut in_answer = q.to_bytes().unwrap();
    in_answer[7] = 1;
    in_answer[11] = 0;
    assert_eq!(
        Message::parse(&in_answer),
        Err(Error::BadOpt("outside the additional section"))
    );
}

#[test]
fn edns_extended_rcode() {
    let mut m = Message::parse(&frame(2)).unwrap();
    m.set_rcode(Rcode::BADVERS);
    assert_eq!(m.header.rcode, 0);
    assert_eq!(m.edns.as_ref().unwrap().ext_rcode, 1);
    let back = Message::parse(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(back.rcode(), Rcode::BADVERS);
    let opt = EdnsOption {
        code: 65001,
        data: vec![1, 2, 3],
    };
    m.edns.as_mut().unwrap().options.push(opt.clone());
    let back = Message::parse(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(back.edns.unwrap().options.last(), Some(&opt));
}

/// Writing under a size limit: answer and authority go whole or not at all (TC set),
/// additional records are dropped silently, the OPT record stays.
#[test]
fn truncated_writing() {
    let m = Message::parse(&frame(6)).unwrap(); // MX answer, 212 bytes
    let full = m.to_bytes().unwrap();
    assert_eq!(full.len(), 212);
    let fits = m.to_bytes_limited(212).unwrap();
    assert_eq!(fits, full);
    // Room for the answers but not all the additional records: no TC.
    let partial = Message::parse(&m.to_bytes_limited(150).unwrap()).unwrap();
    assert!(!partial.header.tc);
    assert_eq!(partial.answers, m.answers);
    assert!(partial.additional.len() < m.additional.len());
    assert!(partial.edns.is_some());
    // No room for the answers: TC, empty sections, OPT kept.
    let tc = Message::parse(&m.to_bytes_limited(60).unwrap()).unwrap();
    assert!(tc.header.tc);
    assert!(tc.answers.is_empty() && tc.authority.is_empty() && tc.additional.is_empty());
    assert_eq!(tc.questions, m.questions);
    assert!(tc.edns.is_some());
}

fn all_fixture_bytes() -> Vec<Vec<u8>> {
    fixtures().into_iter().map(|f| f.bytes).collect()
}

/// What the parser must do with any input: return, never panic; and whatever it accepts
/// must write back to something that reads as the same message.
fn check(data: &[u8]) {
    tunstack_apps::dns::fuzz_one(data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&data);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..28,
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = all_fixture_bytes().swap_remove(which);
        for (i, v) in muts {
            let at = i.index(b.len());
            b[at] = v;
        }
        check(&b);
        let c = cut.index(b.len() + 1);
        check(&b[..c]);
    }

    /// Pointer soup: a header claiming many records, then bytes drawn mostly from
    /// compression pointers and small labels, so loops and long chains abound.
    #[test]
    fn pointer_soup_never_panics_or_loops(
        counts in proptest::array::uniform4(0u8..20),
        body in proptest::collection::vec(
            prop_oneof![
                (0xC0u8..=0xFF).prop_map(|b| b),
                0u8..64,
                any::<u8>(),
            ],
            0..400,
        ),
    ) {
        let mut b = vec![0x12, 0x34, 0x01, 0x00];
        for c in counts {
            b.extend_from_slice(&[0, c]);
        }
        b.extend_from_slice(&body);
        let started = std::time::Instant::now();
        check(&b);
        prop_assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}

/// The worst case for name reading: a 64 KiB message of pointers each one step further
/// back, read from the end, is refused or read quickly (every name is at most 255
/// octets, every pointer strictly backwards).
#[test]
fn long_pointer_chains_are_cheap() {
    let mut b = vec![0u8; 12];
    b[5] = 1; // one question
    b.push(0);
    while b.len() < 65000 {
        let target = (b.len() - 2).max(12) as u16;
        b.extend_from_slice(&(0xC000 | (target & 0x3FFF)).to_be_bytes());
    }
    let started = std::time::Instant::now();
    for start in (12..b.len()).step_by(97) {
        let _ = Name::read(&b, start);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
