use std::net::UdpSocket;
use std::sync::Arc;

use tunstack::rand::Rng;

use super::*;

/// Parses `tunstack resolve`'s arguments the way the CLI does (clap, then the lookup).
fn parse_resolve_args(args: &[&str]) -> Result<ResolveArgs, String> {
    use clap::Parser;
    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        r: ResolveCli,
    }
    let t =
        T::try_parse_from(std::iter::once(&"resolve").chain(args)).map_err(|e| e.to_string())?;
    t.r.into_args()
}
use crate::dns::server::{serve_udp, Catalog, Server, ServerConfig};
use crate::dns::zone::default_zones;

#[test]
fn argument_forms() {
    let a = parse_resolve_args(&["www.tunstack.test"]).unwrap();
    assert_eq!(a.name, Name::parse("www.tunstack.test").unwrap());
    assert_eq!((a.rtype, a.server, a.count), (RType::A, None, 1));
    let a = parse_resolve_args(&["tunstack.test", "@10.77.0.2", "mx", "-n", "3"]).unwrap();
    assert_eq!(a.rtype, RType::MX);
    assert_eq!(a.server, Some("10.77.0.2:53".parse().unwrap()));
    assert_eq!(a.count, 3);
    let a = parse_resolve_args(&["@127.0.0.1:5353", "x.test", "TXT"]).unwrap();
    assert_eq!(a.server, Some("127.0.0.1:5353".parse().unwrap()));
    let a = parse_resolve_args(&["x.test", "@127.0.0.1#5300"]).unwrap();
    assert_eq!(a.server, Some("127.0.0.1:5300".parse().unwrap()));
    let a = parse_resolve_args(&["-x", "10.77.0.2"]).unwrap();
    assert_eq!(a.name.to_string(), "2.0.77.10.in-addr.arpa.");
    assert_eq!(a.rtype, RType::PTR);
    for bad in [
        &[][..],
        &["x.test", "BOGUS"],
        &["x.test", "A", "extra"],
        &["x.test", "@host.name"],
        &["-x", "nope"],
        &["x.test", "-n", "0"],
    ] {
        assert!(parse_resolve_args(bad).is_err(), "{bad:?}");
    }
}

/// Two lookups of the same name: the second from the cache; dig-like sections and the
/// counters printed.
#[test]
fn prints_like_dig_with_counters() {
    let server = Arc::new(Server::new(
        Catalog::new(default_zones(Ipv4Addr::new(10, 77, 0, 2), &[])),
        ServerConfig::default(),
    ));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let s2 = Arc::clone(&server);
    std::thread::spawn(move || serve_udp(sock, s2));
    let mut r = Resolver::new(UdpSocket::bind("127.0.0.1:0").unwrap(), addr, Rng::new(5));
    let args = parse_resolve_args(&["www.tunstack.test", "-n", "2"]).unwrap();
    let mut out = Vec::new();
    let last = resolve_cmd(&mut r, &args, &mut out).unwrap();
    assert_eq!(last.source, Source::Cache);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(";; ->>HEADER<<- opcode: QUERY, status: NOERROR"),
        "{text}"
    );
    assert!(
        text.contains(";; flags: qr aa rd; QUERY: 1, ANSWER: 2"),
        "{text}"
    );
    assert!(
        text.contains(";; QUESTION SECTION:\n;www.tunstack.test.\t\tIN\tA\n"),
        "{text}"
    );
    assert!(
        text.contains("www.tunstack.test.\t300\tIN\tCNAME\ttunstack.test.\n"),
        "{text}"
    );
    assert!(
        text.contains("tunstack.test.\t300\tIN\tA\t10.77.0.2\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(";; SERVER: 127.0.0.1#{}(UDP)", addr.port())),
        "{text}"
    );
    assert!(text.contains("(cache)"), "{text}");
    assert!(text.contains("DnsCacheHits            1"), "{text}");
    assert!(text.contains("DnsCacheMisses          1"), "{text}");
    // NXDOMAIN shows the SOA in the authority section.
    let mut out = Vec::new();
    let nx = parse_resolve_args(&["nope.tunstack.test"]).unwrap();
    resolve_cmd(&mut r, &nx, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("status: NXDOMAIN"), "{text}");
    assert!(
        text.contains(";; AUTHORITY SECTION:\ntunstack.test.\t60\tIN\tSOA\t"),
        "{text}"
    );
    server.stop();
}

#[test]
fn timeouts_are_reported() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut r = Resolver::new(
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        silent.local_addr().unwrap(),
        Rng::new(5),
    )
    .with_config(crate::dns::resolver::ResolverConfig {
        timeout: std::time::Duration::from_millis(50),
        attempts: 2,
        ..Default::default()
    });
    let mut out = Vec::new();
    let args = parse_resolve_args(&["x.test"]).unwrap();
    let e = resolve_cmd(&mut r, &args, &mut out).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with(";; connection timed out"), "{text}");
}
