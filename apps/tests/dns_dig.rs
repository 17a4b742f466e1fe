//! End to end: the real `dig` (BIND 9) against the DNS server running on the kernel's
//! `std::net` sockets on 127.0.0.1, its output parsed and asserted. (The same queries
//! against the tunstack server over TUN belong to the system tests.)

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::Command;
use std::sync::Arc;

use tunstack_apps::dns::server::{spawn, Catalog, Server, ServerConfig};
use tunstack_apps::dns::zone::{default_zones, Zone};
use tunstack_apps::dns::{Name, Rcode};

const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// One record line of dig's output.
#[derive(Debug, Clone, PartialEq)]
struct Rr {
    name: String,
    ttl: u32,
    rtype: String,
    data: String,
}

/// dig's output, read.
#[derive(Debug, Default)]
struct Dig {
    status: String,
    flags: Vec<String>,
    answer: Vec<Rr>,
    authority: Vec<Rr>,
    additional: Vec<Rr>,
    edns_udp: Option<u32>,
    text: String,
}

impl Dig {
    fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
    fn data(&self, rtype: &str) -> Vec<&str> {
        self.answer
            .iter()
            .filter(|r| r.rtype == rtype)
            .map(|r| r.data.as_str())
            .collect()
    }
}

fn parse_dig(text: &str) -> Dig {
    let mut d = Dig {
        text: text.to_string(),
        ..Dig::default()
    };
    let mut section = "";
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
            let status = rest.split("status: ").nth(1).unwrap();
            d.status = status.split(',').next().unwrap().to_string();
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            let flags = rest.split(';').next().unwrap();
            d.flags = flags.split_whitespace().map(String::from).collect();
        } else if let Some(rest) = line.strip_prefix("; EDNS: ") {
            d.edns_udp = rest
                .split("udp: ")
                .nth(1)
                .map(|u| u.trim().parse().unwrap());
        } else if line.starts_with(";; ") && line.ends_with(" SECTION:") {
            section = line;
        } else if line.is_empty() {
            section = "";
        } else if !line.starts_with(';') && !section.is_empty() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let rr = Rr {
                name: f[0].to_string(),
                ttl: f[1].parse().unwrap(),
                rtype: f[3].to_string(),
                data: f[4..].join(" "),
            };
            match section {
                ";; ANSWER SECTION:" => d.answer.push(rr),
                ";; AUTHORITY SECTION:" => d.authority.push(rr),
                ";; ADDITIONAL SECTION:" => d.additional.push(rr),
                _ => {}
            }
        }
    }
    d
}

struct Running {
    server: Arc<Server>,
    addr: SocketAddr,
}

/// The server on 127.0.0.1 (UDP and TCP on one ephemeral port) with the default zones
/// and the zone NSD served for the fixtures.
fn start() -> Running {
    let mut zones = default_zones(STACK, &[STACK]);
    let text = include_str!("dns_fixtures/fixture.test.zone");
    zones.push(Zone::parse(text, &Name::parse("fixture.test").unwrap()).unwrap());
    let server = Arc::new(Server::new(Catalog::new(zones), ServerConfig::default()));
    // A UDP port whose TCP twin is free too.
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
            break (udp, tcp);
        }
    };
    let addr = udp.local_addr().unwrap();
    spawn(&server, udp, tcp).unwrap();
    Running { server, addr }
}

fn have_dig() -> bool {
    let ok = Command::new("dig").arg("-v").output().is_ok();
    if !ok {
        eprintln!("SKIP: dig not installed (bind9-dnsutils)");
    }
    ok
}

fn dig(r: &Running, args: &[&str]) -> Dig {
    let out = Command::new("dig")
        .arg("@127.0.0.1")
        .args(["-p", &r.addr.port().to_string()])
        .args(["+time=2", "+tries=1"])
        .args(args)
        .output()
        .expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "dig {args:?}: {text}");
    parse_dig(&text)
}

#[test]
fn dig_against_the_server() {
    if !have_dig() {
        return;
    }
    let r = start();

    // A: authoritative, the stack's address; EDNS0 answered with our payload size.
    let d = dig(&r, &["tunstack.test", "A"]);
    assert_eq!(d.status, "NOERROR", "{}", d.text);
    assert!(
        d.has_flag("aa") && d.has_flag("qr") && !d.has_flag("ra"),
        "{}",
        d.text
    );
    assert_eq!(d.data("A"), vec!["10.77.0.2"]);
    assert_eq!(d.edns_udp, Some(1232));

    // AAAA from the fixture zone.
    let d = dig(&r, &["mail.fixture.test", "AAAA"]);
    assert_eq!(d.data("AAAA"), vec!["2001:db8::4"]);

    // CNAME chased inside the zone.
    let d = dig(&r, &["www.tunstack.test", "A"]);
    assert_eq!(d.answer.len(), 2, "{}", d.text);
    assert_eq!(d.answer[0].rtype, "CNAME");
    assert_eq!(d.answer[0].data, "tunstack.test.");
    assert_eq!(d.answer[1].name, "tunstack.test.");
    assert_eq!(d.answer[1].data, "10.77.0.2");
    let d = dig(&r, &["alias.fixture.test", "A"]);
    assert_eq!(d.data("CNAME"), vec!["www.fixture.test.", "fixture.test."]);

    // MX, with the exchange's address in the additional section.
    let d = dig(&r, &["tunstack.test", "MX"]);
    assert_eq!(d.data("MX"), vec!["10 mail.tunstack.test."]);
    assert_eq!(d.additional[0].name, "mail.tunstack.test.");
    assert_eq!(d.additional[0].data, "10.77.0.2");

    // TXT, quoting as dig prints it.
    let d = dig(&r, &["tunstack.test", "TXT"]);
    assert_eq!(
        d.data("TXT"),
        vec!["\"tunstack: a TCP/IP stack in user space\""]
    );
    let d = dig(&r, &["fixture.test", "TXT"]);
    assert_eq!(
        d.data("TXT"),
        vec!["\"v=spf1 -all\" \"second string with \\\"quotes\\\" and \\\\ backslash\""]
    );

    // SOA.
    let d = dig(&r, &["tunstack.test", "SOA"]);
    assert_eq!(
        d.data("SOA"),
        vec!["ns.tunstack.test. hostmaster.tunstack.test. 1 3600 600 86400 60"]
    );

    // SRV.
    let d = dig(&r, &["_http._tcp.fixture.test", "SRV"]);
    assert_eq!(d.data("SRV"), vec!["0 5 80 www.fixture.test."]);

    // -x: the reverse name of the stack's address.
    let d = dig(&r, &["-x", "10.77.0.2"]);
    assert_eq!(d.answer[0].name, "2.0.77.10.in-addr.arpa.");
    assert_eq!(d.data("PTR"), vec!["tunstack.test."]);

    // NXDOMAIN and NODATA, the SOA in authority with the negative TTL.
    let d = dig(&r, &["nope.tunstack.test", "A"]);
    assert_eq!(d.status, "NXDOMAIN");
    assert!(d.has_flag("aa") && d.answer.is_empty());
    assert_eq!(d.authority[0].rtype, "SOA");
    assert_eq!(d.authority[0].ttl, 60);
    let d = dig(&r, &["ns.tunstack.test", "AAAA"]);
    assert_eq!(d.status, "NOERROR");
    assert!(d.answer.is_empty());
    assert_eq!(d.authority[0].rtype, "SOA");

    // REFUSED outside the zones.
    let d = dig(&r, &["example.com", "A"]);
    assert_eq!(d.status, "REFUSED");
    assert!(!d.has_flag("aa"));

    // Mixed case echoed.
    let d = dig(&r, &["WwW.TuNsTaCk.TeSt", "A"]);
    assert_eq!(d.answer[0].name, "WwW.TuNsTaCk.TeSt.");
    assert!(
        d.text.contains(";WwW.TuNsTaCk.TeSt.\t\tIN\tA"),
        "{}",
        d.text
    );

    // +tcp.
    let before = r.server.stats().queries_tcp;
    let d = dig(&r, &["+tcp", "fixture.test", "MX"]);
    assert_eq!(d.data("MX").len(), 2);
    assert_eq!(r.server.stats().queries_tcp, before + 1);
}

/// A response too big for 512 bytes: TC over UDP, then dig retries over TCP and gets it
/// all; with +bufsize large enough it comes over UDP at once.
#[test]
fn dig_truncation_and_bufsize() {
    if !have_dig() {
        return;
    }
    let r = start();
    let d = dig(&r, &["+noedns", "big.tunstack.test", "TXT"]);
    assert!(
        d.text.contains(";; Truncated, retrying in TCP mode."),
        "{}",
        d.text
    );
    assert_eq!(d.answer.len(), 8);
    let st = r.server.stats();
    assert_eq!((st.truncated, st.queries_tcp), (1, 1));

    // +ignore shows the truncated UDP answer itself.
    let d = dig(&r, &["+noedns", "+ignore", "big.tunstack.test", "TXT"]);
    assert!(d.has_flag("tc") && d.answer.is_empty(), "{}", d.text);

    let d = dig(&r, &["+bufsize=512", "big.tunstack.test", "TXT"]);
    assert!(d.text.contains("Truncated"), "{}", d.text);
    assert_eq!(d.answer.len(), 8);
    let tcp_before = r.server.stats().queries_tcp;
    let d = dig(&r, &["+bufsize=1232", "big.tunstack.test", "TXT"]);
    assert!(!d.text.contains("Truncated"), "{}", d.text);
    assert_eq!(d.answer.len(), 8);
    assert_eq!(r.server.stats().queries_tcp, tcp_before);
}

/// Many queries in a row (dig's batch mode): every one answered.
#[test]
fn dig_many_queries_in_a_row() {
    if !have_dig() {
        return;
    }
    let r = start();
    let dir = std::env::temp_dir().join(format!("tunstack-dns-batch-{}", std::process::id()));
    let names = [
        "tunstack.test A",
        "www.tunstack.test A",
        "nope.tunstack.test A",
        "fixture.test MX",
    ];
    let batch: String = (0..100)
        .map(|i| format!("{}\n", names[i % names.len()]))
        .collect();
    std::fs::write(&dir, batch).unwrap();
    let out = Command::new("dig")
        .arg("@127.0.0.1")
        .args(["-p", &r.addr.port().to_string(), "+time=2", "+tries=1"])
        .arg("-f")
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    let noerror = text.matches("status: NOERROR").count();
    let nx = text.matches("status: NXDOMAIN").count();
    assert_eq!((noerror, nx), (75, 25), "{text}");
    let st = r.server.stats();
    assert_eq!(st.queries_udp, 100);
    assert_eq!(st.answers(Rcode::NOERROR), 75);
    assert_eq!(st.answers(Rcode::NXDOMAIN), 25);
}
