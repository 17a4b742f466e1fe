//! System tests of the bundled applications on the `tunstack` binary, with real `curl`
//! and `dig` from the kernel side of a test-made namespace, and `tunstack resolve` /
//! `tunstack get` against servers on the kernel side. Each runs over a TUN device and
//! over a TAP device (Ethernet and ARP): one body, both media ([`Link`]).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;
use std::sync::Arc;

use support::{sha256, text, Link, Tunstack};
use tunstack_apps::dns;

fn write_random(path: &std::path::Path, len: usize, seed: u64) {
    let mut data = vec![0u8; len];
    tunstack::rand::Rng::new(seed).fill(&mut data);
    std::fs::write(path, &data).unwrap();
}

#[test]
fn curl_against_the_tunstack_web_server_tun() {
    curl_against_the_tunstack_web_server(Link::Tun);
}

#[test]
fn curl_against_the_tunstack_web_server_tap() {
    curl_against_the_tunstack_web_server(Link::Tap);
}

/// `curl` against the tunstack web server: index page, 404, HEAD, the stack's pages,
/// connection reuse, and a 64 MiB file whose sha256 matches.
fn curl_against_the_tunstack_web_server(link: Link) {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    let ns = common::NetNs::new();
    let www = common::temp_path("www");
    std::fs::create_dir_all(&www.0).unwrap();
    write_random(&www.0.join("big.bin"), 64 << 20, 7);
    std::fs::write(www.0.join("index.html"), "<h1>hello from tunstack</h1>\n").unwrap();
    let t = Tunstack::up_on(
        link,
        &link.dev("tshttp"),
        &["up", "--netns", ns.name(), "--www", www.0.to_str().unwrap()],
    );

    let page = ns.exec_ok("curl", &["-sS", "-m", "10", "http://10.77.0.2/"]);
    assert!(page.contains("hello from tunstack"), "{page}");
    let code = ns.exec_ok(
        "curl",
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://10.77.0.2/nope",
        ],
    );
    assert_eq!(code, "404");
    let head = ns.exec_ok("curl", &["-sSI", "http://10.77.0.2/big.bin"]);
    assert!(head.contains("Content-Length: 67108864"), "{head}");

    let out = ns.exec(
        "curl",
        &["-sv", "http://10.77.0.2/", "http://10.77.0.2/index.html"],
    );
    let s = text(&out);
    assert!(
        s.contains("Re-using existing connection") || s.contains("Reusing existing"),
        "{s}"
    );

    let got = common::temp_path("big.out");
    ns.exec_ok(
        "curl",
        &[
            "-sS",
            "-m",
            "120",
            "-o",
            got.0.to_str().unwrap(),
            "http://10.77.0.2/big.bin",
        ],
    );
    assert_eq!(sha256(&got.0), sha256(&www.0.join("big.bin")));

    let stats = ns.exec_ok("curl", &["-sS", "http://10.77.0.2/_stack/stats"]);
    let stats: serde_json::Value = serde_json::from_str(&stats).expect(&stats);
    assert!(stats["TcpPassiveOpens"].as_u64() >= Some(1), "{stats}");
    let conns = ns.exec_ok("curl", &["-sS", "http://10.77.0.2/_stack/connections"]);
    let conns: Vec<tunstack_apps::http::ConnRow> = serde_json::from_str(&conns).expect(&conns);
    assert!(
        conns
            .iter()
            .any(|c| c.remote.ip().to_string() == "10.77.0.1" && c.local.port() == 80),
        "the listing shows this very connection: {conns:?}"
    );
    drop(t);
}

/// With 5% loss each way on the stack's link, the 64 MiB download is still intact and
/// `/_stack/stats` shows retransmissions.
///
/// TUN only: it takes about 90 s in a debug build, and TAP would add nothing but ARP
/// under loss, which the core's packet tests pin (retry and give up, stale refresh);
/// TCP's loss recovery above the link is the same code on both media.
#[test]
fn curl_download_survives_loss() {
    let link = Link::Tun;
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    let ns = common::NetNs::new();
    let www = common::temp_path("wwwloss");
    std::fs::create_dir_all(&www.0).unwrap();
    write_random(&www.0.join("big.bin"), 64 << 20, 8);
    let _t = Tunstack::up_on(
        link,
        &link.dev("tsloss"),
        &[
            "up",
            "--netns",
            ns.name(),
            "--www",
            www.0.to_str().unwrap(),
            "--loss",
            "5%",
            "--seed",
            "42",
        ],
    );
    let got = common::temp_path("loss.out");
    ns.exec_ok(
        "curl",
        &[
            "-sS",
            "-m",
            "300",
            "-o",
            got.0.to_str().unwrap(),
            "http://10.77.0.2/big.bin",
        ],
    );
    assert_eq!(sha256(&got.0), sha256(&www.0.join("big.bin")));
    let stats = ns.exec_ok(
        "curl",
        &[
            "-sS",
            "--retry",
            "5",
            "-m",
            "30",
            "http://10.77.0.2/_stack/stats",
        ],
    );
    let stats: serde_json::Value = serde_json::from_str(&stats).expect(&stats);
    let retrans = stats["TcpRetransSegs"].as_u64().expect("TcpRetransSegs");
    assert!(retrans > 0, "{stats}");
}

fn dig(ns: &common::NetNs, args: &[&str]) -> String {
    let mut a = vec!["@10.77.0.2", "+time=3", "+tries=2"];
    a.extend_from_slice(args);
    text(&ns.exec("dig", &a))
}

#[test]
fn dig_against_the_tunstack_dns_server_tun() {
    dig_against_the_tunstack_dns_server(Link::Tun);
}

#[test]
fn dig_against_the_tunstack_dns_server_tap() {
    dig_against_the_tunstack_dns_server(Link::Tap);
}

/// `dig` against the tunstack DNS server: answers, CNAME chase, reverse, negative
/// answers, REFUSED outside its zones, TCP, and truncation then TCP.
fn dig_against_the_tunstack_dns_server(link: Link) {
    if !common::require_root() || !common::require_tool("dig") {
        return;
    }
    let ns = common::NetNs::new();
    let _t = Tunstack::up_on(link, &link.dev("tsdns"), &["up", "--netns", ns.name()]);
    let a = dig(&ns, &["tunstack.test", "A"]);
    assert!(
        a.contains("status: NOERROR") && a.contains("flags: qr aa"),
        "{a}"
    );
    assert!(
        a.contains("tunstack.test.\t\t300\tIN\tA\t10.77.0.2") || a.contains("IN\tA\t10.77.0.2"),
        "{a}"
    );
    let cname = dig(&ns, &["WWW.TunStack.Test", "A"]);
    assert!(
        cname.contains("WWW.TunStack.Test.")
            && cname.contains("CNAME")
            && cname.contains("10.77.0.2"),
        "{cname}"
    );
    let mx = dig(&ns, &["tunstack.test", "MX"]);
    assert!(mx.contains("MX\t10 "), "{mx}");
    let txt = dig(&ns, &["tunstack.test", "TXT"]);
    assert!(txt.contains("TXT\t\""), "{txt}");
    let rev = dig(&ns, &["-x", "10.77.0.2"]);
    assert!(rev.contains("PTR\ttunstack.test."), "{rev}");
    let nx = dig(&ns, &["nosuch.tunstack.test", "A"]);
    assert!(
        nx.contains("status: NXDOMAIN") && nx.contains("SOA"),
        "{nx}"
    );
    // The stack's IPv6 address (RFC 3596), over the IPv4 transport.
    let aaaa = dig(&ns, &["tunstack.test", "AAAA"]);
    assert!(aaaa.contains("IN\tAAAA\tfd00:77::2"), "{aaaa}");
    // A name with records, none of the type asked: NOERROR with no answer and the SOA
    // (RFC 2308 section 2.2).
    let nodata = dig(&ns, &["mail.tunstack.test", "TXT"]);
    assert!(
        nodata.contains("status: NOERROR")
            && nodata.contains("ANSWER: 0")
            && nodata.contains("SOA"),
        "{nodata}"
    );
    let refused = dig(&ns, &["example.com", "A"]);
    assert!(refused.contains("status: REFUSED"), "{refused}");
    let tcp = dig(&ns, &["+tcp", "tunstack.test", "SOA"]);
    assert!(tcp.contains("(TCP)") && tcp.contains("SOA"), "{tcp}");
    let tc = dig(&ns, &["+noedns", "big.tunstack.test", "TXT"]);
    assert!(
        tc.contains("Truncated, retrying in TCP mode") && tc.contains("status: NOERROR"),
        "{tc}"
    );
}

#[test]
fn tunstack_resolve_and_get_from_the_kernel_side_tun() {
    tunstack_resolve_and_get_from_the_kernel_side(Link::Tun);
}

#[test]
fn tunstack_resolve_and_get_from_the_kernel_side_tap() {
    tunstack_resolve_and_get_from_the_kernel_side(Link::Tap);
}

/// `tunstack resolve` and `tunstack get` against servers on the kernel side: a DNS
/// server (tunstack's server code on the kernel's sockets) with a zone naming the kernel
/// side, and `python3 -m http.server`; the file matches, and repeated lookups hit the
/// cache. Here the stack speaks first: on TAP it resolves the kernel's address itself.
fn tunstack_resolve_and_get_from_the_kernel_side(link: Link) {
    if !common::require_root() || !common::require_tool("python3") {
        return;
    }
    let ns = common::NetNs::new();
    let files = common::temp_path("files");
    std::fs::create_dir_all(&files.0).unwrap();
    write_random(&files.0.join("data.bin"), 3 << 20, 9);
    let zone = "$ORIGIN kernel.test.\n$TTL 60\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 10.77.0.1\nfiles IN A 10.77.0.1\n";
    let zone = dns::zone::Zone::from_text(zone, None).unwrap();
    let server = Arc::new(dns::server::Server::new(
        dns::server::Catalog::new(vec![zone]),
        Default::default(),
    ));

    // The servers bind to the wildcard address: 10.77.0.1 appears on the kernel side
    // only when tunstack creates its TUN or TAP device.
    let (udp, tcp) = ns.run(|| {
        (
            std::net::UdpSocket::bind("0.0.0.0:53").unwrap(),
            std::net::TcpListener::bind("0.0.0.0:53").unwrap(),
        )
    });
    dns::server::spawn(&server, udp, tcp).unwrap();
    let mut http = ns
        .command(
            "python3",
            &[
                "-m",
                "http.server",
                "8000",
                "--bind",
                "0.0.0.0",
                "--directory",
                files.0.to_str().unwrap(),
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until python listens (it can take seconds to start on a loaded machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ns
        .run(|| std::net::TcpStream::connect("127.0.0.1:8000"))
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "python3 -m http.server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let bin = env!("CARGO_BIN_EXE_tunstack");
    let out = Command::new(bin)
        .args([
            "resolve",
            "files.kernel.test",
            "-n",
            "3",
            "--netns",
            ns.name(),
            "--host-addr",
            "10.77.0.1/24",
        ])
        .args(link.args(&link.dev("tsres")))
        .output()
        .unwrap();
    let s = text(&out);
    assert!(out.status.success(), "{s}");
    assert!(
        s.contains("files.kernel.test.") && s.contains("10.77.0.1"),
        "{s}"
    );
    assert!(
        s.lines()
            .any(|l| l.starts_with("DnsCacheHits") && l.trim_end().ends_with('2')),
        "{s}"
    );

    let got = common::temp_path("got.bin");
    let out = Command::new(bin)
        .args([
            "get",
            "http://files.kernel.test:8000/data.bin",
            "-o",
            got.0.to_str().unwrap(),
        ])
        .args(["--netns", ns.name()])
        .args(link.args(&link.dev("tsget")))
        .output()
        .unwrap();
    let _ = http.kill();
    let _ = http.wait();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha256(&got.0), sha256(&files.0.join("data.bin")));
}
