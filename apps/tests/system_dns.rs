//! System tests of the DNS server and resolver on the `tunstack` binary, in a test-made
//! namespace, with the real `dig` (BIND 9) on the kernel side: EDNS0 payload sizes
//! (`+bufsize`) around the size of the big TXT answer, AAAA and SOA from a `--zone` file,
//! 200 queries in a row with the server's counters checked against what dig saw, and
//! `tunstack resolve` asking the tunstack server through the kernel, which forwards
//! between two TUN devices. Also UDP to a closed port: the ICMP port unreachable surfaces
//! as `ConnectionRefused` on the kernel's connected socket (RFC 1122 section 4.1.3.3).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;
use std::time::Duration;

use support::{counter, text, Tunstack};

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
    /// The payload size in the answer's OPT record (`; EDNS: ... udp: N`).
    edns_udp: Option<u32>,
    /// `(UDP)` or `(TCP)` from the `;; SERVER:` line.
    transport: String,
    /// `;; MSG SIZE  rcvd: N`.
    size: Option<usize>,
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

    fn truncated_then_tcp(&self) -> bool {
        self.text.contains(";; Truncated, retrying in TCP mode.")
    }
}

/// Reads one answer of dig's default output (the first, for batch output use
/// [`split_batch`] first).
fn parse_dig(text: &str) -> Dig {
    let mut d = Dig {
        text: text.to_string(),
        ..Dig::default()
    };
    let mut section = "";
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
            if let Some(s) = rest.split("status: ").nth(1) {
                d.status = s.split(',').next().unwrap_or("").to_string();
            }
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            let flags = rest.split(';').next().unwrap_or("");
            d.flags = flags.split_whitespace().map(String::from).collect();
        } else if let Some(rest) = line.strip_prefix("; EDNS: ") {
            d.edns_udp = rest
                .split("udp: ")
                .nth(1)
                .and_then(|u| u.trim().parse().ok());
        } else if let Some(rest) = line.strip_prefix(";; SERVER: ") {
            d.transport = rest
                .rsplit_once(' ')
                .map(|(_, t)| t.to_string())
                .unwrap_or_default();
        } else if let Some(rest) = line.strip_prefix(";; MSG SIZE  rcvd: ") {
            d.size = rest.trim().parse().ok();
        } else if line.starts_with(";; ") && line.ends_with(" SECTION:") {
            section = line;
        } else if line.is_empty() {
            section = "";
        } else if !line.starts_with(';') && !section.is_empty() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 4 {
                continue;
            }
            let rr = Rr {
                name: f[0].to_string(),
                ttl: f[1].parse().unwrap_or(u32::MAX),
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

/// Splits dig's batch output (`-f FILE`) into one text per answer: each starts at the
/// `; <<>> DiG` banner.
fn split_batch(text: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = text.match_indices("; <<>> DiG").map(|(i, _)| i).collect();
    starts.push(text.len());
    starts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// `dig @10.77.0.2 ARGS` in `ns`, read.
fn dig(ns: &common::NetNs, args: &[&str]) -> Dig {
    let mut a = vec!["@10.77.0.2", "+time=3", "+tries=2"];
    a.extend_from_slice(args);
    let out = ns.exec("dig", &a);
    let t = text(&out);
    assert!(out.status.success(), "dig {args:?} failed:\n{t}");
    parse_dig(&t)
}

/// Stops `t` and returns its stdout, asserting a clean exit.
fn stop(t: Tunstack) -> Vec<String> {
    let (ok, lines) = t.stop();
    assert!(ok, "tunstack exited with failure: {lines:#?}");
    lines
}

/// A counter that must be printed (the DNS server's and resolver's print them all).
fn count(lines: &[String], name: &str) -> u64 {
    counter(lines, name).unwrap_or_else(|| panic!("no counter {name} in {lines:#?}"))
}

/// One of the stack's counters: its report leaves out those that are zero.
fn stack_count(lines: &[String], name: &str) -> u64 {
    counter(lines, name).unwrap_or(0)
}

/// The big TXT RRset (`big.tunstack.test`, eight strings of about 100 bytes) against the
/// EDNS0 payload size dig advertises (RFC 6891 section 6.2.5: the responder may send up
/// to the requestor's size, here capped at the server's 1232; below 512 counts as 512).
/// At 4096 it comes whole over UDP; one byte below its own size it is truncated (TC, no
/// answers: RFC 2181 section 9) and dig retries over TCP; at 512 likewise; at exactly its
/// size it fits.
#[test]
fn dig_bufsize_against_the_big_txt() {
    if !common::require_root() || !common::require_tool("dig") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&["up", "--netns", ns.name(), "--tun", "tsbuf0"]);

    let d = dig(&ns, &["+bufsize=4096", "big.tunstack.test", "TXT"]);
    assert_eq!(d.status, "NOERROR", "{}", d.text);
    assert!(!d.truncated_then_tcp(), "{}", d.text);
    assert_eq!(d.transport, "(UDP)", "{}", d.text);
    assert_eq!(d.data("TXT").len(), 8, "{}", d.text);
    assert!(d.data("TXT").iter().all(|s| s.len() > 96), "{}", d.text);
    assert_eq!(d.edns_udp, Some(1232), "the server advertises its own size");
    let size = d.size.expect("dig prints the message size");
    assert!((513..=1232).contains(&size), "{size}");

    // One byte short: TC with nothing in it, then the whole answer over TCP.
    let short = format!("+bufsize={}", size - 1);
    let d = dig(&ns, &["+ignore", &short, "big.tunstack.test", "TXT"]);
    assert!(d.has_flag("tc") && d.has_flag("aa"), "{}", d.text);
    assert!(d.answer.is_empty(), "{}", d.text);
    let d = dig(&ns, &[&short, "big.tunstack.test", "TXT"]);
    assert!(d.truncated_then_tcp(), "{}", d.text);
    assert_eq!(d.transport, "(TCP)", "{}", d.text);
    assert_eq!(d.data("TXT").len(), 8, "{}", d.text);

    // Exactly its size: fits.
    let exact = format!("+bufsize={size}");
    let d = dig(&ns, &[&exact, "big.tunstack.test", "TXT"]);
    assert!(!d.truncated_then_tcp() && !d.has_flag("tc"), "{}", d.text);
    assert_eq!(d.data("TXT").len(), 8, "{}", d.text);

    // 512, and a size below 512 (treated as 512).
    let d = dig(&ns, &["+bufsize=512", "big.tunstack.test", "TXT"]);
    assert!(d.truncated_then_tcp(), "{}", d.text);
    assert_eq!(d.data("TXT").len(), 8, "{}", d.text);
    let d = dig(
        &ns,
        &["+ignore", "+bufsize=100", "big.tunstack.test", "TXT"],
    );
    assert!(d.has_flag("tc"), "{}", d.text);
    let d = dig(&ns, &["+bufsize=100", "tunstack.test", "A"]);
    assert!(!d.has_flag("tc"), "a small answer fits in 512: {}", d.text);
    assert_eq!(d.data("A"), ["10.77.0.2"]);

    let lines = stop(t);
    // Truncated: size-1 twice, 512 once, 100 once.
    assert_eq!(count(&lines, "DnsTruncated"), 4, "{lines:#?}");
    assert_eq!(count(&lines, "DnsQueriesTcp"), 2, "{lines:#?}");
    assert_eq!(count(&lines, "DnsTcpConnections"), 2, "{lines:#?}");
    assert_eq!(count(&lines, "DnsQueriesUdp"), 7, "{lines:#?}");
}

const SIX_ZONE: &str = "\
; a zone with IPv6 addresses, loaded with --zone
$ORIGIN six.test.
$TTL 120
@      IN SOA  ns hostmaster ( 2024060101 ; serial
                               7200       ; refresh
                               900        ; retry
                               1209600    ; expire
                               30 )       ; minimum
@      IN NS   ns
ns     IN A    10.77.0.2
host   IN AAAA 2001:db8:77::2
host   IN A    10.77.0.9
dual   IN AAAA 2001:db8::1
dual   IN AAAA 2001:db8::2
v6     IN CNAME host
";

/// AAAA (RFC 3596) and SOA from a zone file given with `--zone`, served beside the
/// default zone: AAAA answers, one and two records; a CNAME chased to an AAAA; the SOA
/// with every field; NODATA with the SOA's TTL cut to its MINIMUM (RFC 2308 section 5);
/// and the default zone's SOA still there.
#[test]
fn dig_aaaa_and_soa_from_a_zone_file() {
    if !common::require_root() || !common::require_tool("dig") {
        return;
    }
    let ns = common::NetNs::new();
    let zone = common::temp_path("six.zone");
    std::fs::write(&zone.0, SIX_ZONE).unwrap();
    let t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--tun",
        "tssix0",
        "--zone",
        zone.0.to_str().unwrap(),
    ]);

    let d = dig(&ns, &["host.six.test", "AAAA"]);
    assert_eq!(d.status, "NOERROR", "{}", d.text);
    assert!(d.has_flag("aa"), "{}", d.text);
    assert_eq!(d.answer.len(), 1, "{}", d.text);
    assert_eq!(d.answer[0].name, "host.six.test.");
    assert_eq!(d.answer[0].ttl, 120);
    assert_eq!(d.data("AAAA"), ["2001:db8:77::2"]);
    let d = dig(&ns, &["host.six.test", "A"]);
    assert_eq!(d.data("A"), ["10.77.0.9"], "{}", d.text);

    let d = dig(&ns, &["DUAL.six.test", "AAAA"]);
    let mut two = d.data("AAAA");
    two.sort_unstable();
    assert_eq!(two, ["2001:db8::1", "2001:db8::2"], "{}", d.text);
    assert!(d.answer.iter().all(|r| r.name == "DUAL.six.test."));

    let d = dig(&ns, &["v6.six.test", "AAAA"]);
    assert_eq!(d.data("CNAME"), ["host.six.test."], "{}", d.text);
    assert_eq!(d.data("AAAA"), ["2001:db8:77::2"], "{}", d.text);

    let d = dig(&ns, &["six.test", "SOA"]);
    assert_eq!(d.status, "NOERROR", "{}", d.text);
    assert!(d.has_flag("aa"), "{}", d.text);
    assert_eq!(
        d.data("SOA"),
        ["ns.six.test. hostmaster.six.test. 2024060101 7200 900 1209600 30"],
        "{}",
        d.text
    );
    assert_eq!(d.answer[0].ttl, 120);

    // NODATA: no answer, the SOA in authority with TTL min(120, 30).
    let d = dig(&ns, &["ns.six.test", "AAAA"]);
    assert_eq!(d.status, "NOERROR", "{}", d.text);
    assert!(d.answer.is_empty(), "{}", d.text);
    assert_eq!(d.authority.len(), 1, "{}", d.text);
    assert_eq!(d.authority[0].rtype, "SOA");
    assert_eq!(d.authority[0].ttl, 30);
    let d = dig(&ns, &["nope.six.test", "AAAA"]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.text);
    assert_eq!(d.authority[0].name, "six.test.");

    let d = dig(&ns, &["tunstack.test", "SOA"]);
    assert_eq!(
        d.data("SOA"),
        ["ns.tunstack.test. hostmaster.tunstack.test. 1 3600 600 86400 60"],
        "{}",
        d.text
    );
    let d = dig(&ns, &["+tcp", "six.test", "SOA"]);
    assert_eq!(d.transport, "(TCP)", "{}", d.text);
    assert_eq!(d.data("SOA").len(), 1, "{}", d.text);
    drop(stop(t));
}

/// 200 queries in a row from one dig process (`dig -f FILE`): each one answered, with
/// the status its name calls for, and the server's counters printed at exit agree with
/// what dig saw.
#[test]
fn dig_200_queries_in_a_row() {
    if !common::require_root() || !common::require_tool("dig") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&["up", "--netns", ns.name(), "--tun", "tsmany0"]);
    // (query line, expected status, expected answer records)
    let kinds: [(&str, &str, usize); 8] = [
        ("tunstack.test A", "NOERROR", 1),
        ("www.tunstack.test A", "NOERROR", 2),
        ("tunstack.test MX", "NOERROR", 1),
        ("mail.tunstack.test A", "NOERROR", 1),
        ("nosuch.tunstack.test A", "NXDOMAIN", 0),
        ("tunstack.test AAAA", "NOERROR", 1),
        ("example.com A", "REFUSED", 0),
        ("-x 10.77.0.2", "NOERROR", 1),
    ];
    let n = 200;
    let batch: String = (0..n)
        .map(|i| format!("{}\n", kinds[i % kinds.len()].0))
        .collect();
    let file = common::temp_path("batch");
    std::fs::write(&file.0, batch).unwrap();
    let out = ns.exec(
        "dig",
        &[
            "@10.77.0.2",
            "+time=3",
            "+tries=2",
            "-f",
            file.0.to_str().unwrap(),
        ],
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let answers: Vec<Dig> = split_batch(&all).into_iter().map(parse_dig).collect();
    assert_eq!(answers.len(), n, "{all}");
    for (i, d) in answers.iter().enumerate() {
        let (q, status, records) = kinds[i % kinds.len()];
        assert_eq!(d.status, status, "query {i} ({q}):\n{}", d.text);
        assert_eq!(d.answer.len(), records, "query {i} ({q}):\n{}", d.text);
        assert_eq!(d.transport, "(UDP)", "query {i} ({q}):\n{}", d.text);
    }
    assert!(!all.contains("timed out"), "{all}");

    let lines = stop(t);
    let per_kind = (n / kinds.len()) as u64;
    assert_eq!(count(&lines, "DnsQueriesUdp"), n as u64, "{lines:#?}");
    assert_eq!(count(&lines, "DnsQueriesTcp"), 0);
    assert_eq!(count(&lines, "DnsAnswersNoError"), 6 * per_kind);
    assert_eq!(count(&lines, "DnsAnswersNxDomain"), per_kind);
    assert_eq!(count(&lines, "DnsAnswersRefused"), per_kind);
    assert_eq!(count(&lines, "DnsAnswersFormErr"), 0);
    assert_eq!(count(&lines, "DnsAnswersServFail"), 0);
    assert_eq!(count(&lines, "DnsTruncated"), 0);
    assert_eq!(count(&lines, "DnsDropped"), 0);
    // The stack's own view: one datagram in and one out per query (dig sends nothing
    // else to the stack), none dropped for want of a port or of buffer room.
    assert_eq!(
        stack_count(&lines, "UdpInDatagrams"),
        n as u64,
        "{lines:#?}"
    );
    assert_eq!(
        stack_count(&lines, "UdpOutDatagrams"),
        n as u64,
        "{lines:#?}"
    );
    assert_eq!(stack_count(&lines, "UdpRcvbufErrors"), 0);
}

/// Runs `tunstack resolve ARGS` as a client in `ns` on its own TUN device `tsres1`
/// (kernel 10.78.0.1/24, stack 10.78.0.2, default route via the kernel), asking the
/// tunstack server at 10.77.0.2: the kernel forwards between the two devices.
fn resolve_through_the_kernel(ns: &common::NetNs, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tunstack"))
        .arg("resolve")
        .args(args)
        .args([
            "@10.77.0.2",
            "--netns",
            ns.name(),
            "--tun",
            "tsres1",
            "--host-addr",
            "10.78.0.1/24",
            "--addr",
            "10.78.0.2",
            "--gateway",
            "10.78.0.1",
        ])
        .output()
        .expect("run tunstack resolve");
    (out.status.success(), text(&out))
}

/// `tunstack resolve` against the tunstack server: two tunstack processes in one
/// namespace, each on its own TUN device and subnet, the kernel routing between them
/// (`net.ipv4.ip_forward=1`). `-n 3` asks the server once and answers twice from the
/// cache (DnsCacheHits 2), and the server's counters show the one query. A 942-byte
/// answer (the big TXT, within the resolver's EDNS0 size) crosses the forwarding kernel
/// whole over UDP.
#[test]
fn tunstack_resolve_against_the_tunstack_server() {
    if !common::require_root() || !common::require_tool("sysctl") {
        return;
    }
    let ns = common::NetNs::new();
    ns.exec_ok("sysctl", &["-q", "-w", "net.ipv4.ip_forward=1"]);
    let server = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--tun",
        "tsres0",
        "--gateway",
        "10.77.0.1",
    ]);

    let (ok, s) = resolve_through_the_kernel(&ns, &["www.tunstack.test", "-n", "3"]);
    assert!(ok, "{s}");
    assert!(
        s.contains("www.tunstack.test.") && s.contains("CNAME") && s.contains("10.77.0.2"),
        "{s}"
    );
    assert!(s.contains("status: NOERROR"), "{s}");
    let lines: Vec<String> = s.lines().map(String::from).collect();
    assert_eq!(count(&lines, "DnsCacheHits"), 2, "{s}");
    assert_eq!(count(&lines, "DnsCacheMisses"), 1, "{s}");
    assert_eq!(count(&lines, "DnsUdpQueries"), 1, "{s}");
    assert_eq!(count(&lines, "DnsMismatched"), 0, "{s}");

    let (ok, s) = resolve_through_the_kernel(&ns, &["big.tunstack.test", "TXT"]);
    assert!(ok, "{s}");
    assert_eq!(s.matches("\tTXT\t").count(), 8, "{s}");
    let lines: Vec<String> = s.lines().map(String::from).collect();
    assert_eq!(count(&lines, "DnsTcpFallbacks"), 0, "{s}");

    let (ok, s) = resolve_through_the_kernel(&ns, &["nosuch.tunstack.test", "-n", "2"]);
    assert!(s.contains("NXDOMAIN"), "{s}");
    let lines: Vec<String> = s.lines().map(String::from).collect();
    assert_eq!(
        count(&lines, "DnsCacheHits"),
        1,
        "negative caching (exit ok {ok}): {s}"
    );

    let lines = stop(server);
    assert_eq!(count(&lines, "DnsQueriesUdp"), 3, "{lines:#?}");
    assert_eq!(count(&lines, "DnsAnswersNoError"), 2, "{lines:#?}");
    assert_eq!(count(&lines, "DnsAnswersNxDomain"), 1, "{lines:#?}");
}

/// UDP to a port nobody listens on: the stack answers with an ICMP port unreachable
/// (RFC 1122 section 4.1.3.1), which the kernel's connected socket reports as
/// `ConnectionRefused` (RFC 1122 section 4.1.3.3).
#[test]
fn udp_to_a_closed_port_is_refused() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&["up", "--netns", ns.name(), "--tun", "tsclosed0"]);
    let err = ns.run(|| {
        let s = std::net::UdpSocket::bind("10.77.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.connect("10.77.0.2:9999").unwrap();
        s.send(b"anyone?").unwrap();
        let mut buf = [0u8; 64];
        s.recv(&mut buf).expect_err("nobody answers")
    });
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    // (`nc -u` is no help here: OpenBSD nc 1.219 exits silently, with status 0, on the
    // socket error the ICMP message leaves.)
    let lines = stop(t);
    assert_eq!(stack_count(&lines, "UdpNoPorts"), 1, "{lines:#?}");
    assert_eq!(stack_count(&lines, "IcmpOutDestUnreachs"), 1, "{lines:#?}");
}
