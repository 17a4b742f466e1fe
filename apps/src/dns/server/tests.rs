use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};

use super::*;
use crate::dns::zone::default_zones;
use crate::dns::{Question, Soa};

const ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

const EXTRA: &str = "$TTL 120\n\
    @ SOA ns h 7 3600 600 86400 40\n\
    @ NS ns\n\
    @ MX 5 mx\n\
    ns A 192.0.2.53\n\
    mx A 192.0.2.25\n\
    mx AAAA 2001:db8::25\n\
    alias CNAME www\n\
    www CNAME @\n\
    @ A 192.0.2.1\n\
    out CNAME elsewhere.example.\n\
    dangling CNAME missing\n\
    loop1 CNAME loop2\n\
    loop2 CNAME loop1\n\
    sub NS ns.sub\n\
    ns.sub A 192.0.2.99\n\
    _dns._udp SRV 0 0 53 ns\n";

fn server_with(config: ServerConfig) -> Server {
    let mut zones = default_zones(ADDR, &[ADDR]);
    zones.push(Zone::parse(EXTRA, &n("extra.test")).unwrap());
    Server::new(Catalog::new(zones), config)
}

fn server() -> Server {
    server_with(ServerConfig::default())
}

fn query_msg(name: &str, rtype: RType, edns: Option<u16>) -> Message {
    let mut q = Message::query(0x1234, Question::new(n(name), rtype));
    q.edns = edns.map(Edns::new);
    q
}

fn query(name: &str, rtype: RType, edns: Option<u16>) -> Vec<u8> {
    query_msg(name, rtype, edns).to_bytes().unwrap()
}

fn ask(s: &Server, name: &str, rtype: RType) -> Message {
    let reply = s.handle(&query(name, rtype, None), Transport::Udp).unwrap();
    Message::parse(&reply).unwrap()
}

/// RFC 1035 section 4.1.1: ID, opcode, RD and question copied, QR and AA set, RA clear.
#[test]
fn authoritative_answer() {
    let s = server();
    let m = ask(&s, "tunstack.test", RType::A);
    assert_eq!(m.header.id, 0x1234);
    assert!(m.header.qr && m.header.aa && m.header.rd && !m.header.ra && !m.header.tc);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert_eq!(
        m.questions,
        vec![Question::new(n("tunstack.test"), RType::A)]
    );
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].data, RData::A(ADDR));
    assert!(m.authority.is_empty());
}

/// RFC 1034 section 4.3.2 step 3a: CNAMEs are followed inside the zone.
#[test]
fn cname_chains_are_chased() {
    let s = server();
    let m = ask(&s, "www.tunstack.test", RType::A);
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.answers[0].data, RData::Cname(n("tunstack.test")));
    assert_eq!(m.answers[1].name, n("tunstack.test"));
    assert_eq!(m.answers[1].data, RData::A(ADDR));
    let m = ask(&s, "alias.extra.test", RType::A);
    let types: Vec<RType> = m.answers.iter().map(Record::rtype).collect();
    assert_eq!(types, vec![RType::CNAME, RType::CNAME, RType::A]);
    assert!(m.header.aa);
    // Out of the zone: the CNAME alone, for the client to follow.
    let m = ask(&s, "out.extra.test", RType::A);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert_eq!(m.answers.len(), 1);
    // A target that does not exist: the rcode is the last name's (RFC 6604 section 2).
    let m = ask(&s, "dangling.extra.test", RType::A);
    assert_eq!(m.rcode(), Rcode::NXDOMAIN);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.authority[0].rtype(), RType::SOA);
    // A loop ends.
    let m = ask(&s, "loop1.extra.test", RType::A);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert_eq!(m.answers.len(), 2);
}

/// RFC 2308 sections 2.1 and 3: NXDOMAIN with the SOA, its TTL min(TTL, MINIMUM).
#[test]
fn nxdomain_carries_the_soa() {
    let s = server();
    let m = ask(&s, "nope.extra.test", RType::A);
    assert_eq!(m.rcode(), Rcode::NXDOMAIN);
    assert!(m.header.aa);
    assert!(m.answers.is_empty());
    assert_eq!(m.authority.len(), 1);
    assert_eq!(m.authority[0].ttl, 40);
    assert!(matches!(
        m.authority[0].data,
        RData::Soa(Soa { serial: 7, .. })
    ));
}

/// RFC 2308 section 2.2: NODATA is NOERROR, no answer, the SOA in authority.
#[test]
fn nodata_carries_the_soa() {
    let s = server();
    let m = ask(&s, "ns.tunstack.test", RType::AAAA);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(m.header.aa && m.answers.is_empty());
    assert_eq!(m.authority[0].rtype(), RType::SOA);
    assert_eq!(m.authority[0].ttl, 60);
}

/// Not an open resolver: names outside the zones, other classes and zone transfers are
/// refused, without AA (RFC 1034 section 4.3.1).
#[test]
fn refused_outside_the_zones() {
    let s = server();
    for (name, t) in [
        ("example.com", RType::A),
        (".", RType::NS),
        ("tunstack.test", RType::AXFR),
    ] {
        let m = ask(&s, name, t);
        assert_eq!(m.rcode(), Rcode::REFUSED, "{name}");
        assert!(!m.header.aa && m.answers.is_empty() && m.authority.is_empty());
        assert_eq!(m.questions.len(), 1);
    }
    let mut q = query_msg("tunstack.test", RType::A, None);
    q.questions[0].qclass = Class::CH;
    let m = Message::parse(&s.handle(&q.to_bytes().unwrap(), Transport::Udp).unwrap()).unwrap();
    assert_eq!(m.rcode(), Rcode::REFUSED);
}

/// FORMERR for what cannot be read, for a question count other than one (RFC 9619) and
/// for OPT as a question type (RFC 6891 section 6.1.1); the ID is kept.
#[test]
fn formerr_for_malformed_queries() {
    let s = server();
    let good = query("tunstack.test", RType::A, None);
    for bad in [
        &good[..good.len() - 1],
        &[good.clone(), vec![0]].concat()[..],
    ] {
        let m = Message::parse(&s.handle(bad, Transport::Udp).unwrap()).unwrap();
        assert_eq!(m.rcode(), Rcode::FORMERR);
        assert_eq!(m.header.id, 0x1234);
        assert!(m.header.qr && m.questions.is_empty());
    }
    let mut none = query_msg("tunstack.test", RType::A, None);
    none.questions.clear();
    let mut two = query_msg("tunstack.test", RType::A, None);
    two.questions.push(two.questions[0].clone());
    let opt = query_msg("tunstack.test", RType::OPT, None);
    // RFC 6891 section 6.1.1: two OPT records.
    let mut two_opt = query("tunstack.test", RType::A, Some(1232));
    let opt_rr = two_opt[two_opt.len() - 11..].to_vec();
    two_opt.extend_from_slice(&opt_rr);
    two_opt[11] = 2;
    let m = Message::parse(&s.handle(&two_opt, Transport::Udp).unwrap()).unwrap();
    assert_eq!(m.rcode(), Rcode::FORMERR);
    assert_eq!(m.edns, None);
    for q in [none, two, opt] {
        let m = Message::parse(&s.handle(&q.to_bytes().unwrap(), Transport::Udp).unwrap()).unwrap();
        assert_eq!(m.rcode(), Rcode::FORMERR);
    }
}

/// RFC 1035 section 4.1.1: only standard queries; other opcodes get NOTIMP.
#[test]
fn notimp_for_other_opcodes() {
    let s = server();
    for op in [
        Opcode::IQUERY,
        Opcode::STATUS,
        Opcode::NOTIFY,
        Opcode::UPDATE,
        Opcode(9),
    ] {
        let mut q = query_msg("tunstack.test", RType::A, None);
        q.header.opcode = op;
        let m = Message::parse(&s.handle(&q.to_bytes().unwrap(), Transport::Udp).unwrap()).unwrap();
        assert_eq!(m.rcode(), Rcode::NOTIMP);
        assert_eq!(m.header.opcode, op);
    }
}

/// Responses and runts are not answered (answering responses could loop).
#[test]
fn responses_and_runts_are_dropped() {
    let s = server();
    let mut q = query_msg("tunstack.test", RType::A, None);
    q.header.qr = true;
    assert_eq!(s.handle(&q.to_bytes().unwrap(), Transport::Udp), None);
    assert_eq!(s.handle(&[0; 11], Transport::Udp), None);
    assert_eq!(s.stats().dropped, 2);
}

/// RFC 4343 section 4.1: the question comes back exactly as asked, and the answer's
/// owner too, here compressed as a pointer to the question.
#[test]
fn query_case_is_echoed() {
    let s = server();
    let reply = s
        .handle(&query("WwW.TuNsTaCk.TeSt", RType::A, None), Transport::Udp)
        .unwrap();
    assert!(reply
        .windows(18)
        .any(|w| w == b"\x03WwW\x08TuNsTaCk\x04TeSt"));
    let m = Message::parse(&reply).unwrap();
    assert_eq!(m.questions[0].name.to_string(), "WwW.TuNsTaCk.TeSt.");
    assert_eq!(m.answers[0].name.to_string(), "WwW.TuNsTaCk.TeSt.");
    assert_eq!(m.answers[1].data, RData::A(ADDR));
}

/// RFC 6891: an OPT answers an OPT, advertising our payload size; version 1 gets
/// BADVERS (section 6.1.3).
#[test]
fn edns_is_answered() {
    let s = server();
    let reply = s.handle(
        &query("tunstack.test", RType::A, Some(4096)),
        Transport::Udp,
    );
    let m = Message::parse(&reply.unwrap()).unwrap();
    assert_eq!(m.edns.as_ref().unwrap().udp_payload, 1232);
    assert_eq!(ask(&s, "tunstack.test", RType::A).edns, None);
    let mut q = query_msg("tunstack.test", RType::A, Some(1232));
    q.edns.as_mut().unwrap().version = 1;
    let m = Message::parse(&s.handle(&q.to_bytes().unwrap(), Transport::Udp).unwrap()).unwrap();
    assert_eq!(m.rcode(), Rcode::BADVERS);
    assert_eq!(m.edns.unwrap().version, 0);
}

fn big(s: &Server, edns: Option<u16>, t: Transport) -> (usize, Message) {
    let reply = s
        .handle(&query("big.tunstack.test", RType::TXT, edns), t)
        .unwrap();
    (reply.len(), Message::parse(&reply).unwrap())
}

/// RFC 1035 section 4.2.1 and RFC 6891 section 6.2.5: 512 bytes without EDNS0 (and for
/// payload sizes below 512), else the lesser of the client's size and ours; TC when the
/// answer does not fit; TCP takes it whole.
#[test]
fn udp_size_limits_and_tc() {
    let s = server();
    let (len, m) = big(&s, None, Transport::Udp);
    assert!(len <= 512 && m.header.tc && m.answers.is_empty(), "{len}");
    let (_, m) = big(&s, Some(100), Transport::Udp);
    assert!(m.header.tc);
    let (len, m) = big(&s, Some(1232), Transport::Udp);
    assert!(!m.header.tc && m.answers.len() == 8, "{len}");
    let (_, m) = big(&s, None, Transport::Tcp);
    assert!(!m.header.tc && m.answers.len() == 8);
    // Our own limit caps the client's.
    let small = server_with(ServerConfig {
        max_udp_payload: 600,
        ..ServerConfig::default()
    });
    let (len, m) = big(&small, Some(4096), Transport::Udp);
    assert!(len <= 600 && m.header.tc);
    assert_eq!(m.edns.unwrap().udp_payload, 600);
    assert_eq!(s.stats().truncated, 2);
}

/// Additional section processing (RFC 1035 sections 3.3.9 and 3.3.11, RFC 2782).
#[test]
fn additional_addresses() {
    let s = server();
    let m = ask(&s, "extra.test", RType::MX);
    let add: Vec<RType> = m.additional.iter().map(Record::rtype).collect();
    assert_eq!(add, vec![RType::A, RType::AAAA]);
    assert_eq!(m.additional[0].name, n("mx.extra.test"));
    let m = ask(&s, "_dns._udp.extra.test", RType::SRV);
    assert_eq!(m.additional[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 53)));
}

/// RFC 1034 section 4.3.2 step 3b: below a zone cut, a referral without AA, with glue.
#[test]
fn referrals() {
    let s = server();
    let m = ask(&s, "host.sub.extra.test", RType::A);
    assert_eq!(m.rcode(), Rcode::NOERROR);
    assert!(!m.header.aa && m.answers.is_empty());
    assert_eq!(m.authority[0].data, RData::Ns(n("ns.sub.extra.test")));
    assert_eq!(m.additional[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 99)));
}

#[test]
fn reverse_answers_for_own_addresses() {
    let s = server();
    let m = ask(&s, "2.0.77.10.in-addr.arpa", RType::PTR);
    assert!(m.header.aa);
    assert_eq!(m.answers[0].data, RData::Ptr(n("tunstack.test")));
    // Another address in the same /24 is not ours.
    assert_eq!(
        ask(&s, "3.0.77.10.in-addr.arpa", RType::PTR).rcode(),
        Rcode::REFUSED
    );
}

#[test]
fn counters() {
    let s = server();
    ask(&s, "tunstack.test", RType::A);
    ask(&s, "nope.tunstack.test", RType::A);
    ask(&s, "example.com", RType::A);
    s.handle(&query("tunstack.test", RType::A, None), Transport::Tcp);
    let st = s.stats();
    assert_eq!((st.queries_udp, st.queries_tcp), (3, 1));
    assert_eq!(st.answers(Rcode::NOERROR), 2);
    assert_eq!(st.answers(Rcode::NXDOMAIN), 1);
    assert_eq!(st.answers(Rcode::REFUSED), 1);
    let text = st.to_string();
    assert!(text.contains("DnsAnswersNxDomain      1"), "{text}");
}

fn tcp_write(s: &mut TcpStream, msg: &[u8]) {
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    s.write_all(&out).unwrap();
}

fn tcp_read(s: &mut TcpStream) -> Message {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut m).unwrap();
    Message::parse(&m).unwrap()
}

/// RFC 7766 section 6.2.1: several queries on one connection, sent back to back, answered
/// in order; then the idle timeout closes it (section 6.2.3).
#[test]
fn tcp_pipelined_queries_and_idle_timeout() {
    let s = Arc::new(server_with(ServerConfig {
        tcp_idle_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    }));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let s2 = Arc::clone(&s);
    std::thread::spawn(move || serve_tcp(l, s2));
    let mut c = TcpStream::connect(addr).unwrap();
    let names = ["tunstack.test", "www.tunstack.test", "nope.tunstack.test"];
    let mut all = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut q = query_msg(name, RType::A, None);
        q.header.id = i as u16;
        let b = q.to_bytes().unwrap();
        all.extend_from_slice(&(b.len() as u16).to_be_bytes());
        all.extend_from_slice(&b);
    }
    c.write_all(&all).unwrap();
    for (i, name) in names.iter().enumerate() {
        let m = tcp_read(&mut c);
        assert_eq!(m.header.id, i as u16);
        assert_eq!(m.questions[0].name, n(name));
    }
    // The big answer whole over TCP.
    tcp_write(&mut c, &query("big.tunstack.test", RType::TXT, None));
    assert_eq!(tcp_read(&mut c).answers.len(), 8);
    // Idle: the server closes.
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = std::time::Instant::now();
    let mut b = [0u8; 1];
    assert_eq!(c.read(&mut b).unwrap_or(0), 0);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(s.stats().queries_tcp, 4);
    assert_eq!(s.stats().tcp_connections, 1);
}

/// RFC 7766 section 6.2.2: past the connection limit, new connections are closed.
#[test]
fn tcp_connection_limit() {
    let s = Arc::new(server_with(ServerConfig {
        max_tcp_connections: 1,
        ..ServerConfig::default()
    }));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let s2 = Arc::clone(&s);
    std::thread::spawn(move || serve_tcp(l, s2));
    let mut first = TcpStream::connect(addr).unwrap();
    tcp_write(&mut first, &query("tunstack.test", RType::A, None));
    tcp_read(&mut first);
    let mut second = TcpStream::connect(addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut b = [0u8; 1];
    assert_eq!(second.read(&mut b).unwrap_or(0), 0);
    assert_eq!(s.stats().tcp_rejected, 1);
    // The first still works.
    tcp_write(&mut first, &query("tunstack.test", RType::A, None));
    assert_eq!(tcp_read(&mut first).answers.len(), 1);
}

#[test]
fn udp_loop_answers_and_stops() {
    let s = Arc::new(server());
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let s2 = Arc::clone(&s);
    let h = std::thread::spawn(move || serve_udp(sock, s2));
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.send_to(&query("ns.tunstack.test", RType::A, None), addr)
        .unwrap();
    let mut buf = [0u8; 512];
    let (len, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(from, addr);
    assert_eq!(
        Message::parse(&buf[..len]).unwrap().answers[0].data,
        RData::A(ADDR)
    );
    s.stop();
    h.join().unwrap().unwrap();
}
