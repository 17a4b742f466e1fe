//! System tests of the TAP variant: the `tunstack` binary on a real TAP device inside a
//! namespace the test creates, with the kernel (iputils `arping` and `ping`, `ip neigh`,
//! `nc`) as its Ethernet neighbour, and `tshark` reading what `--pcap` captured.
//!
//! What runs on TUN and TAP alike (kernel ping, tunstack ping) is in `system_ping.rs`,
//! parameterised by [`support::Link`].

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use support::{counter, ping_counts, text, Link, Tunstack, STACK_MAC};

/// The kernel side's Ethernet address of device `dev` in `ns`.
fn kernel_mac(ns: &common::NetNs, dev: &str) -> String {
    ns.exec_ok("cat", &[&format!("/sys/class/net/{dev}/address")])
        .trim()
        .to_string()
}

fn up_tap(ns: &common::NetNs, dev: &str, extra: &[&str]) -> Tunstack {
    let mut args = vec!["up", "--netns", ns.name(), "--seed", "7"];
    let link = Link::Tap.args(dev);
    args.extend(link.iter().map(String::as_str));
    args.extend_from_slice(extra);
    Tunstack::up(&args)
}

/// RFC 826: `arping` (raw ARP requests from the kernel side) gets a reply to each, from
/// the stack's Ethernet address; the stack counts them.
#[test]
fn arping_gets_replies() {
    if !common::require_root() || !common::require_tool("arping") {
        return;
    }
    let ns = common::NetNs::new();
    let t = up_tap(&ns, "tsarp0", &[]);
    let out = ns.exec(
        "arping",
        &["-c", "3", "-w", "5", "-I", "tsarp0", "10.77.0.2"],
    );
    let s = text(&out);
    assert!(out.status.success(), "{s}");
    assert!(s.contains("Received 3 response(s)"), "{s}");
    let replies: Vec<&str> = s.lines().filter(|l| l.contains("reply from")).collect();
    assert_eq!(replies.len(), 3, "{s}");
    for l in replies {
        assert!(
            l.to_lowercase()
                .contains(&format!("10.77.0.2 [{STACK_MAC}]")),
            "{l}"
        );
    }
    // Nobody answers for an address that is not the stack's.
    let out = ns.exec(
        "arping",
        &["-c", "2", "-w", "2", "-I", "tsarp0", "10.77.0.9"],
    );
    assert!(
        text(&out).contains("Received 0 response(s)"),
        "{}",
        text(&out)
    );

    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert_eq!(counter(&lines, "ArpOutReplies"), Some(3), "{lines:#?}");
    assert!(
        counter(&lines, "ArpInRequests").unwrap_or(0) >= 5,
        "{lines:#?}"
    );
}

/// Without `--mac` the stack picks a random locally administered unicast address, which
/// the kernel learns (and which is not the TAP device's own).
#[test]
fn random_mac_is_what_the_kernel_learns() {
    if !common::require_root() || !common::require_tool("ping") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&["up", "--netns", ns.name(), "--tap", "tsrnd0"]);
    let out = ns.exec("ping", &["-c", "1", "-W", "2", "10.77.0.2"]);
    assert_eq!(ping_counts(&text(&out)), (1, 1), "{}", text(&out));
    let neigh = ns.exec_ok("ip", &["neigh", "show", "10.77.0.2", "dev", "tsrnd0"]);
    let mac = neigh
        .split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or_else(|| panic!("no lladdr in {neigh:?}"))
        .to_string();
    let first = u8::from_str_radix(&mac[..2], 16).unwrap();
    assert_eq!(first & 0x03, 0x02, "local, unicast: {mac}");
    assert_ne!(mac, kernel_mac(&ns, "tsrnd0"));
    drop(t);
}

/// `--pcap` on TAP writes an Ethernet capture that tshark decodes: the stack's
/// announcement, the kernel's ARP request and the stack's reply, ICMP echo both ways and
/// a TCP exchange with the echo service, each frame between the right two addresses.
#[test]
fn pcap_decodes_as_arp_icmp_and_tcp_with_the_right_macs() {
    if !common::require_root()
        || !common::require_tool("tshark")
        || !common::require_tool("ping")
        || !common::require_tool("nc")
    {
        return;
    }
    let ns = common::NetNs::new();
    let pcap = common::temp_path("tap.pcap");
    // IPv4 only: the frames between the two are then exactly ARP, ICMP and TCP (IPv6
    // on TAP, with its multicast Neighbor Discovery, is tested in system_ping6).
    let t = up_tap(
        &ns,
        "tspcap0",
        &["--pcap", pcap.0.to_str().unwrap(), "--no-ipv6"],
    );
    let kernel = kernel_mac(&ns, "tspcap0");
    let out = ns.exec("ping", &["-c", "2", "-i", "0.2", "-W", "2", "10.77.0.2"]);
    assert_eq!(ping_counts(&text(&out)), (2, 2), "{}", text(&out));
    let out = ns.exec("sh", &["-c", "echo tap-hello | nc -N -w 3 10.77.0.2 7"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "tap-hello\n",
        "{}",
        text(&out)
    );
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");

    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            pcap.0.to_str().unwrap(),
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args(["-e", "eth.src", "-e", "eth.dst", "-e", "_ws.col.Protocol"])
        .args([
            "-e",
            "arp.opcode",
            "-e",
            "arp.src.hw_mac",
            "-e",
            "arp.src.proto_ipv4",
        ])
        .args([
            "-e",
            "arp.dst.proto_ipv4",
            "-e",
            "icmp.type",
            "-e",
            "tcp.srcport",
        ])
        .output()
        .expect("run tshark");
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    let rows: Vec<Vec<&str>> = s.lines().map(|l| l.split('|').collect()).collect();
    let has = |pred: &dyn Fn(&[&str]) -> bool| rows.iter().any(|r| r.len() >= 9 && pred(r));
    let bcast = "ff:ff:ff:ff:ff:ff";
    assert!(
        has(&|r| r[0] == STACK_MAC && r[1] == bcast && r[3] == "1" && r[5] == r[6]),
        "gratuitous ARP: {s}"
    );
    assert!(
        has(&|r| r[0] == kernel && r[1] == bcast && r[3] == "1" && r[6] == "10.77.0.2"),
        "kernel's request: {s}"
    );
    assert!(
        has(&|r| r[0] == STACK_MAC && r[1] == kernel && r[3] == "2" && r[4] == STACK_MAC),
        "stack's reply: {s}"
    );
    assert!(
        has(&|r| r[0] == kernel && r[1] == STACK_MAC && r[7] == "8"),
        "echo request: {s}"
    );
    assert!(
        has(&|r| r[0] == STACK_MAC && r[1] == kernel && r[7] == "0"),
        "echo reply: {s}"
    );
    assert!(
        has(&|r| r[0] == STACK_MAC && r[1] == kernel && r[8] == "7"),
        "TCP from port 7: {s}"
    );
    assert!(
        has(&|r| r[0] == kernel && r[1] == STACK_MAC && r[2] == "TCP"),
        "TCP to us: {s}"
    );
    // Every frame is between the two of them (or a broadcast from one of them).
    for r in &rows {
        assert!(r[0] == STACK_MAC || r[0] == kernel, "{r:?}");
        assert!(
            r[1] == STACK_MAC || r[1] == kernel || r[1] == bcast,
            "{r:?}"
        );
    }
}

/// The stack pinging an address nobody answers: three ARP requests a second apart
/// (RFC 1122 2.3.2.1), then ping reports "Destination Host Unreachable" from the stack's
/// own address for each request, and exits 1.
#[test]
fn tunstack_ping_to_a_silent_address_reports_host_unreachable() {
    if !common::require_root() || !common::require_tool("tshark") {
        return;
    }
    let ns = common::NetNs::new();
    let pcap = common::temp_path("unreach.pcap");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunstack"))
        .args([
            "ping",
            "10.77.0.9",
            "-c",
            "2",
            "-W",
            "5",
            "--netns",
            ns.name(),
        ])
        .args(Link::Tap.args("tsunr0"))
        .args(["--pcap", pcap.0.to_str().unwrap()])
        .output()
        .expect("run tunstack ping");
    let s = text(&out);
    assert_eq!(out.status.code(), Some(1), "{s}");
    assert_eq!(ping_counts(&s), (2, 0), "{s}");
    for seq in [1, 2] {
        assert!(
            s.contains(&format!(
                "From 10.77.0.2 icmp_seq={seq} Destination Host Unreachable"
            )),
            "{s}"
        );
    }
    assert!(s.contains("+2 errors"), "{s}");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "each try takes 3 s"
    );

    // The requests for 10.77.0.9: 3 per try, about a second apart.
    let out = std::process::Command::new("tshark")
        .args(["-r", pcap.0.to_str().unwrap(), "-Y"])
        .args(["arp.opcode == 1 && arp.dst.proto_ipv4 == 10.77.0.9"])
        .args(["-T", "fields", "-e", "frame.time_relative"])
        .output()
        .expect("run tshark");
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(times.len(), 6, "{times:?}");
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 0.9, "rate limit: {times:?}");
    }
}
