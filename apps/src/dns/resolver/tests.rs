use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use super::*;
use crate::dns::server::{self, Catalog, Server, ServerConfig};
use crate::dns::zone::default_zones;
use crate::dns::{Class, RData, Soa};

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn a(name: &str, ttl: u32) -> Record {
    Record::new(n(name), ttl, RData::A(Ipv4Addr::new(192, 0, 2, 1)))
}

fn soa(ttl: u32, minimum: u32) -> Record {
    Record::new(
        n("example.test"),
        ttl,
        RData::Soa(Soa {
            mname: n("ns.example.test"),
            rname: n("h.example.test"),
            serial: 1,
            refresh: 1,
            retry: 1,
            expire: 1,
            minimum,
        }),
    )
}

fn response(q: &Question, rcode: Rcode, answers: Vec<Record>, authority: Vec<Record>) -> Message {
    let mut m = Message::response_to(&Message::query(1, q.clone()));
    m.set_rcode(rcode);
    m.answers = answers;
    m.authority = authority;
    m
}

fn t(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

/// RFC 1035 section 7.4 / RFC 2181 section 5.2: held for the least TTL, TTLs counted down.
#[test]
fn cache_honours_ttls() {
    let mut c = Cache::new(10, 86400, 10800);
    let q = Question::new(n("www.example.test"), RType::A);
    let m = response(
        &q,
        Rcode::NOERROR,
        vec![
            Record::new(n("www.example.test"), 300, RData::Cname(n("example.test"))),
            a("example.test", 100),
        ],
        vec![],
    );
    c.insert(&q, &m, t(1000));
    let got = c.get(&q, t(1030)).unwrap();
    assert_eq!(got.answers[0].ttl, 270);
    assert_eq!(got.answers[1].ttl, 70);
    // Case-insensitive key (RFC 4343).
    assert!(c
        .get(&Question::new(n("WWW.example.TEST"), RType::A), t(1099))
        .is_some());
    assert!(c
        .get(&Question::new(n("www.example.test"), RType::AAAA), t(1000))
        .is_none());
    assert!(c.get(&q, t(1100)).is_none(), "expired at the least TTL");
    assert!(c.is_empty());
}

/// RFC 2308 section 5: NXDOMAIN and NODATA are cached for min(SOA TTL, MINIMUM), and not
/// at all without an SOA.
#[test]
fn negative_caching() {
    let mut c = Cache::new(10, 86400, 10800);
    let q = Question::new(n("nope.example.test"), RType::A);
    c.insert(
        &q,
        &response(&q, Rcode::NXDOMAIN, vec![], vec![soa(3600, 60)]),
        t(0),
    );
    let got = c.get(&q, t(59)).unwrap();
    assert_eq!(got.rcode, Rcode::NXDOMAIN);
    assert_eq!(got.authority[0].rtype(), RType::SOA);
    assert!(c.get(&q, t(60)).is_none());
    let nodata = Question::new(n("www.example.test"), RType::AAAA);
    c.insert(
        &nodata,
        &response(&nodata, Rcode::NOERROR, vec![], vec![soa(20, 900)]),
        t(0),
    );
    assert!(c.get(&nodata, t(19)).unwrap().answers.is_empty());
    assert!(c.get(&nodata, t(20)).is_none());
    c.insert(&q, &response(&q, Rcode::NXDOMAIN, vec![], vec![]), t(0));
    assert!(c.get(&q, t(0)).is_none(), "no SOA, no negative caching");
    // The negative TTL is capped.
    let capped = Cache::new(10, 86400, 30);
    assert_eq!(
        capped.ttl_for(&response(&q, Rcode::NXDOMAIN, vec![], vec![soa(99, 99)])),
        Some(30)
    );
}

#[test]
fn what_is_not_cached() {
    let mut c = Cache::new(10, 100, 100);
    let q = Question::new(n("x.example.test"), RType::A);
    let mut tc = response(&q, Rcode::NOERROR, vec![a("x.example.test", 60)], vec![]);
    tc.header.tc = true;
    assert_eq!(c.ttl_for(&tc), None);
    assert_eq!(
        c.ttl_for(&response(&q, Rcode::SERVFAIL, vec![], vec![soa(9, 9)])),
        None
    );
    assert_eq!(
        c.ttl_for(&response(&q, Rcode::REFUSED, vec![], vec![])),
        None
    );
    // A TTL of zero: used once, not kept.
    c.insert(
        &q,
        &response(&q, Rcode::NOERROR, vec![a("x.example.test", 0)], vec![]),
        t(0),
    );
    assert!(c.is_empty());
    // RFC 2181 section 8: a TTL with the top bit set counts as zero.
    assert_eq!(
        c.ttl_for(&response(
            &q,
            Rcode::NOERROR,
            vec![a("x", 0x8000_0000)],
            vec![]
        )),
        Some(0)
    );
    // The longest hold is capped.
    assert_eq!(
        c.ttl_for(&response(&q, Rcode::NOERROR, vec![a("x", 999_999)], vec![])),
        Some(100)
    );
}

#[test]
fn cache_is_bounded() {
    let mut c = Cache::new(2, 1000, 1000);
    let qs: Vec<Question> = (0..3)
        .map(|i| Question::new(n(&format!("h{i}.example.test")), RType::A))
        .collect();
    for (i, q) in qs.iter().enumerate() {
        let ttl = 100 - i as u32 * 10;
        c.insert(
            q,
            &response(q, Rcode::NOERROR, vec![a("h", ttl)], vec![]),
            t(0),
        );
    }
    assert_eq!(c.len(), 2);
    // Room for h2 was made by evicting the entry closest to expiring: h1 (TTL 90).
    assert!(c.get(&qs[0], t(1)).is_some());
    assert!(c.get(&qs[1], t(1)).is_none());
    assert!(c.get(&qs[2], t(1)).is_some());
}

/// RFC 5452 section 9.1: source, ID, QR, and the question (name without regard to case,
/// type, class) must all match.
#[test]
fn answers_are_checked_against_the_question() {
    let server: SocketAddr = "192.0.2.53:53".parse().unwrap();
    let q = Question::new(n("www.example.test"), RType::A);
    let good = {
        let mut m = response(&q, Rcode::NOERROR, vec![], vec![]);
        m.header.id = 7;
        m
    };
    let bytes = |m: &Message| m.to_bytes().unwrap();
    assert!(check_response(&bytes(&good), server, server, 7, &q).is_ok());
    let mut upper = good.clone();
    upper.questions[0].name = n("WWW.EXAMPLE.TEST");
    assert!(check_response(&bytes(&upper), server, server, 7, &q).is_ok());
    let other: SocketAddr = "192.0.2.53:54".parse().unwrap();
    assert_eq!(
        check_response(&bytes(&good), other, server, 7, &q).unwrap_err(),
        Mismatch::Source(other)
    );
    assert_eq!(
        check_response(&bytes(&good), server, server, 8, &q).unwrap_err(),
        Mismatch::Id(7)
    );
    let mut query = good.clone();
    query.header.qr = false;
    assert_eq!(
        check_response(&bytes(&query), server, server, 7, &q).unwrap_err(),
        Mismatch::NotResponse
    );
    let mut changes: Vec<Message> = Vec::new();
    for f in [
        |m: &mut Message| m.questions[0].name = n("wwx.example.test"),
        |m: &mut Message| m.questions[0].qtype = RType::AAAA,
        |m: &mut Message| m.questions[0].qclass = Class::CH,
        |m: &mut Message| m.questions.clear(),
        |m: &mut Message| m.questions.push(m.questions[0].clone()),
    ] {
        let mut m = good.clone();
        f(&mut m);
        changes.push(m);
    }
    for m in changes {
        assert_eq!(
            check_response(&bytes(&m), server, server, 7, &q).unwrap_err(),
            Mismatch::Question
        );
    }
    assert!(matches!(
        check_response(&[1, 2, 3], server, server, 7, &q),
        Err(Mismatch::Malformed(_))
    ));
}

/// A scripted UDP server on 127.0.0.1: `reply` decides, per query, what to send back.
fn fake_server(
    mut reply: impl FnMut(usize, &Message, SocketAddr, &UdpSocket) + Send + 'static,
) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    sock.set_read_timeout(Some(StdDuration::from_secs(10)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut i = 0;
        while let Ok((len, from)) = sock.recv_from(&mut buf) {
            if let Ok(q) = Message::parse(&buf[..len]) {
                reply(i, &q, from, &sock);
                i += 1;
            }
        }
    });
    addr
}

fn answer_a(q: &Message, ttl: u32) -> Vec<u8> {
    let mut m = Message::response_to(q);
    m.header.aa = true;
    m.answers.push(Record::new(
        q.questions[0].name.clone(),
        ttl,
        RData::A(Ipv4Addr::new(192, 0, 2, 7)),
    ));
    m.to_bytes().unwrap()
}

fn resolver(server: SocketAddr, clock: Arc<AtomicU64>) -> Resolver<UdpSocket> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    Resolver::new(sock, server, Rng::new(1))
        .with_config(ResolverConfig {
            timeout: StdDuration::from_millis(150),
            ..ResolverConfig::default()
        })
        .with_clock(move || Instant::from_secs(clock.load(Ordering::Relaxed)))
}

/// Lookups come from the cache until the TTL runs out in (injected) time.
#[test]
fn resolver_caches_until_the_ttl_runs_out() {
    let asked = Arc::new(AtomicU64::new(0));
    let asked2 = Arc::clone(&asked);
    let server = fake_server(move |_, q, from, s| {
        asked2.fetch_add(1, Ordering::Relaxed);
        s.send_to(&answer_a(q, 30), from).unwrap();
    });
    let clock = Arc::new(AtomicU64::new(100));
    let mut r = resolver(server, Arc::clone(&clock));
    let name = n("host.example.test");
    let first = r.lookup(&name, RType::A).unwrap();
    assert_eq!(first.source, Source::Udp);
    assert_eq!(first.answers[0].ttl, 30);
    clock.store(110, Ordering::Relaxed);
    let second = r.lookup(&name, RType::A).unwrap();
    assert_eq!(second.source, Source::Cache);
    assert_eq!(second.answers[0].ttl, 20);
    clock.store(130, Ordering::Relaxed);
    assert_eq!(r.lookup(&name, RType::A).unwrap().source, Source::Udp);
    assert_eq!(asked.load(Ordering::Relaxed), 2);
    assert_eq!((r.stats().cache_hits, r.stats().cache_misses), (1, 2));
}

#[test]
fn resolver_caches_negative_answers() {
    let server = fake_server(move |_, q, from, s| {
        let mut m = Message::response_to(q);
        m.set_rcode(Rcode::NXDOMAIN);
        m.authority.push(soa(300, 45));
        s.send_to(&m.to_bytes().unwrap(), from).unwrap();
    });
    let clock = Arc::new(AtomicU64::new(0));
    let mut r = resolver(server, Arc::clone(&clock));
    let name = n("nope.example.test");
    assert_eq!(r.lookup(&name, RType::A).unwrap().rcode, Rcode::NXDOMAIN);
    clock.store(44, Ordering::Relaxed);
    let again = r.lookup(&name, RType::A).unwrap();
    assert_eq!(
        (again.rcode, again.source),
        (Rcode::NXDOMAIN, Source::Cache)
    );
    clock.store(45, Ordering::Relaxed);
    assert_eq!(r.lookup(&name, RType::A).unwrap().source, Source::Udp);
}

/// Spoofed or stray datagrams are ignored; the real answer still counts.
#[test]
fn resolver_ignores_mismatched_answers() {
    let server = fake_server(move |_, q, from, s| {
        let good = answer_a(q, 60);
        let mut wrong_id = Message::parse(&good).unwrap();
        wrong_id.header.id ^= 1;
        let mut wrong_name = Message::parse(&good).unwrap();
        wrong_name.questions[0].name = n("evil.example.test");
        s.send_to(&wrong_id.to_bytes().unwrap(), from).unwrap();
        s.send_to(&wrong_name.to_bytes().unwrap(), from).unwrap();
        // From another port: not the server.
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .send_to(&good, from)
            .unwrap();
        s.send_to(b"garbage", from).unwrap();
        s.send_to(&good, from).unwrap();
    });
    let mut r = resolver(server, Arc::new(AtomicU64::new(0)));
    let got = r.lookup(&n("host.example.test"), RType::A).unwrap();
    assert_eq!(got.answers[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 7)));
    assert_eq!(r.stats().mismatched, 4);
    assert_eq!(r.stats().retries, 0);
}

/// Retries with exponential back-off: 150 ms, then 300 ms, then an answer.
#[test]
fn resolver_retries_with_back_off() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let times2 = Arc::clone(&times);
    let server = fake_server(move |i, q, from, s| {
        times2.lock().unwrap().push(std::time::Instant::now());
        if i == 2 {
            s.send_to(&answer_a(q, 60), from).unwrap();
        }
    });
    let mut r = resolver(server, Arc::new(AtomicU64::new(0)));
    r.lookup(&n("slow.example.test"), RType::A).unwrap();
    assert_eq!(r.stats().retries, 2);
    assert_eq!(r.stats().udp_queries, 3);
    let t = times.lock().unwrap();
    let gap1 = t[1] - t[0];
    let gap2 = t[2] - t[1];
    assert!(
        gap1 >= StdDuration::from_millis(140) && gap2 >= StdDuration::from_millis(290),
        "{gap1:?} {gap2:?}"
    );
}

#[test]
fn resolver_gives_up_with_timed_out() {
    let server = fake_server(|_, _, _, _| {});
    let mut r = resolver(server, Arc::new(AtomicU64::new(0)));
    let e = r.lookup(&n("x.example.test"), RType::A).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_eq!(r.stats().udp_queries, 3);
}

/// Query IDs come from the seeded generator: the same seed gives the same IDs.
#[test]
fn query_ids_are_seeded_random() {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let ids2 = Arc::clone(&ids);
    let server = fake_server(move |_, q, from, s| {
        ids2.lock().unwrap().push(q.header.id);
        s.send_to(&answer_a(q, 0), from).unwrap();
    });
    for _ in 0..2 {
        let mut r = resolver(server, Arc::new(AtomicU64::new(0)));
        for i in 0..3 {
            r.lookup(&n(&format!("h{i}.example.test")), RType::A)
                .unwrap();
        }
    }
    let ids = ids.lock().unwrap();
    assert_eq!(ids[..3], ids[3..]);
    assert!(ids[0] != ids[1] && ids[1] != ids[2]);
}

/// RFC 7766 section 5: a truncated UDP answer is asked again over TCP — here against the
/// real server loops on 127.0.0.1.
#[test]
fn truncated_answers_are_retried_over_tcp() {
    let srv = Arc::new(Server::new(
        Catalog::new(default_zones(Ipv4Addr::new(10, 77, 0, 2), &[])),
        ServerConfig::default(),
    ));
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).unwrap();
    let (s1, s2) = (Arc::clone(&srv), Arc::clone(&srv));
    std::thread::spawn(move || server::serve_udp(udp, s1));
    std::thread::spawn(move || server::serve_tcp(tcp, s2));
    let no_edns = ResolverConfig {
        udp_payload: None,
        ..ResolverConfig::default()
    };
    let big = n("big.tunstack.test");
    // Without TCP: the truncated answer as it came, not cached.
    let mut r = Resolver::new(UdpSocket::bind("127.0.0.1:0").unwrap(), addr, Rng::new(2))
        .with_config(no_edns.clone());
    let got = r.lookup(&big, RType::TXT).unwrap();
    assert!(got.header.tc && got.answers.is_empty());
    assert_eq!(r.cache_mut().len(), 0);
    // With TCP: the whole answer.
    let mut r = Resolver::new(UdpSocket::bind("127.0.0.1:0").unwrap(), addr, Rng::new(3))
        .with_config(no_edns)
        .with_tcp(TcpStream::connect);
    let got = r.lookup(&big, RType::TXT).unwrap();
    assert_eq!(got.source, Source::Tcp);
    assert!(!got.header.tc);
    assert_eq!(got.answers.len(), 8);
    assert_eq!(r.stats().tcp_fallbacks, 1);
    assert_eq!(r.lookup(&big, RType::TXT).unwrap().source, Source::Cache);
    assert_eq!(srv.stats().truncated, 2);
    assert_eq!(srv.stats().queries_tcp, 1);
}
