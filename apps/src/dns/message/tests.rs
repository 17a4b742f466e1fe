use super::*;

/// RFC 1035 section 4.1.1 (and RFC 4035 for AD and CD): every header bit in its place.
#[test]
fn header_bits() {
    let all = Header {
        id: 0xABCD,
        qr: true,
        opcode: Opcode(0xF),
        aa: true,
        tc: true,
        rd: true,
        ra: true,
        z: true,
        ad: true,
        cd: true,
        rcode: 0xF,
    };
    assert_eq!(all.flags(), 0xFFFF);
    assert_eq!(Header::from_flags(0xABCD, 0xFFFF), all);
    let bits = [
        (0x8000, "qr"),
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
        (0x0040, "z"),
        (0x0020, "ad"),
        (0x0010, "cd"),
    ];
    for (bit, name) in bits {
        let h = Header::from_flags(0, bit);
        let set = [h.qr, h.aa, h.tc, h.rd, h.ra, h.z, h.ad, h.cd];
        assert_eq!(set.iter().filter(|b| **b).count(), 1, "{name}");
        assert_eq!(h.flags(), bit, "{name}");
    }
    assert_eq!(Header::from_flags(0, 0x2800).opcode, Opcode::UPDATE);
    assert_eq!(Header::from_flags(0, 0x0003).rcode, 3);
    assert!(Header::read(&[0; 11]).is_err());
}

#[test]
fn response_to_copies_what_it_must() {
    let mut q = Message::query(77, Question::new(Name::parse("a.test").unwrap(), RType::MX));
    q.header.cd = true;
    q.header.opcode = Opcode::NOTIFY;
    let r = Message::response_to(&q);
    assert_eq!(r.header.id, 77);
    assert!(r.header.qr && r.header.rd && r.header.cd && !r.header.aa);
    assert_eq!(r.header.opcode, Opcode::NOTIFY);
    assert_eq!(r.questions, q.questions);
    assert!(r.answers.is_empty() && r.edns.is_none());
}

/// RFC 6891 section 6.1.3: a 12-bit rcode splits between header and OPT.
#[test]
fn extended_rcodes() {
    let mut m = Message {
        edns: Some(Edns::new(1232)),
        ..Message::default()
    };
    m.set_rcode(Rcode(0xABC));
    assert_eq!(m.header.rcode, 0xC);
    assert_eq!(m.edns.as_ref().unwrap().ext_rcode, 0xAB);
    assert_eq!(m.rcode(), Rcode(0xABC));
    let back = Message::parse(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(back.rcode(), Rcode(0xABC));
    // Without OPT only the low four bits can be sent.
    let mut plain = Message::default();
    plain.set_rcode(Rcode::BADVERS);
    assert_eq!(plain.rcode(), Rcode::NOERROR);
}

#[test]
fn edns_flags_and_options_round_trip() {
    let m = Message {
        edns: Some(Edns {
            udp_payload: 4096,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: true,
            z: 0x1234,
            options: vec![
                EdnsOption {
                    code: 10,
                    data: vec![1; 8],
                },
                EdnsOption {
                    code: 12,
                    data: vec![],
                },
            ],
        }),
        ..Message::default()
    };
    let b = m.to_bytes().unwrap();
    // Root owner, type 41, class = payload size, TTL = ext rcode, version, DO + z.
    assert_eq!(&b[12..23], &[0, 0, 41, 0x10, 0, 0, 0, 0x92, 0x34, 0, 16]);
    assert_eq!(Message::parse(&b).unwrap(), m);
    // An option running past RDLENGTH is refused.
    let mut bad = b.clone();
    bad[22] = 15;
    bad.pop();
    assert!(matches!(Message::parse(&bad), Err(Error::BadOpt(_))));
}

#[test]
fn names_for_codes() {
    assert_eq!(Rcode::NXDOMAIN.to_string(), "NXDOMAIN");
    assert_eq!(Rcode::BADVERS.to_string(), "BADVERS");
    assert_eq!(Rcode(3000).to_string(), "RESERVED3000");
    assert_eq!(Opcode::QUERY.to_string(), "QUERY");
    assert_eq!(Opcode(3).to_string(), "RESERVED3");
    assert_eq!(RType::from_text("aaaa"), Some(RType::AAAA));
    assert_eq!(RType::from_text("TYPE65300"), Some(RType(65300)));
    assert_eq!(RType::from_text("TYPEx"), None);
    assert_eq!(RType(65300).to_string(), "TYPE65300");
    assert_eq!(Class::from_text("class3"), Some(Class::CH));
    assert_eq!(Class(9).to_string(), "CLASS9");
}
