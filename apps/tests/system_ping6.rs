//! System tests for IPv6: the `tunstack` binary on a real TUN or TAP device inside a
//! namespace the test creates, with the kernel's iputils `ping -6` as the peer.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, ping_counts, text, Tunstack, STACK_MAC};

/// `tunstack up` gives the kernel side fd00:77::1/64 and answers on fd00:77::2:
/// `ping -6` gets every reply; `-s 4000` is fragmented both ways (RFC 8200 section 4.5:
/// the kernel fragments the request, the stack reassembles it and fragments the reply)
/// and comes back intact; an unassigned address of the prefix gets nothing; the IPv6
/// counters printed at exit match what was sent.
#[test]
fn kernel_ping6_to_the_stack_tun() {
    if !common::require_root() || !common::require_tool("ping") {
        return;
    }
    let ns = common::NetNs::new();
    let pcap = common::temp_path("ping6.pcap");
    let t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--seed",
        "1",
        "--tun",
        "tsping6",
        "--pcap",
        pcap.0.to_str().unwrap(),
    ]);
    assert!(
        t.seen
            .iter()
            .any(|l| l.contains("fd00:77::2") && l.contains("fd00:77::1/64")),
        "{:?}",
        t.seen
    );
    let addrs = ns.exec_ok("ip", &["-6", "addr", "show", "dev", "tsping6"]);
    assert!(addrs.contains("inet6 fd00:77::1/64"), "{addrs}");

    let out = ns.exec(
        "ping",
        &["-6", "-c", "10", "-i", "0.05", "-W", "2", "fd00:77::2"],
    );
    assert_eq!(ping_counts(&text(&out)), (10, 10), "{}", text(&out));

    // iputils checks the echoed pattern and prints "wrong data byte" on a mismatch.
    let out = ns.exec(
        "ping",
        &[
            "-6",
            "-c",
            "3",
            "-i",
            "0.2",
            "-s",
            "4000",
            "-W",
            "2",
            "fd00:77::2",
        ],
    );
    let s = text(&out);
    assert_eq!(ping_counts(&s), (3, 3), "{s}");
    assert!(s.contains("4008 bytes from fd00:77::2"), "{s}");
    assert!(!s.contains("wrong"), "{s}");

    let out = ns.exec(
        "ping",
        &["-6", "-c", "2", "-i", "0.2", "-W", "1", "fd00:77::9"],
    );
    assert_eq!(ping_counts(&text(&out)), (2, 0), "{}", text(&out));

    // IPv4 still works beside it.
    let out = ns.exec("ping", &["-c", "2", "-i", "0.1", "-W", "2", "10.77.0.2"]);
    assert_eq!(ping_counts(&text(&out)), (2, 2), "{}", text(&out));

    let (ok, lines) = t.stop();
    assert!(ok, "tunstack exit status: {lines:?}");
    let c = |n| counter(&lines, n).unwrap_or(0);
    assert_eq!(c("Icmp6InEchos"), 13, "{lines:#?}");
    assert_eq!(c("Icmp6OutEchoReplies"), 13, "{lines:#?}");
    // A 4048-octet ICMPv6 message at MTU 1500: three fragments of up to 1448 octets,
    // each way.
    assert_eq!(c("Ip6ReasmOKs"), 3, "{lines:#?}");
    assert_eq!(c("Ip6ReasmReqds"), 9, "{lines:#?}");
    assert_eq!(c("Ip6FragOKs"), 3, "{lines:#?}");
    assert_eq!(c("Ip6FragCreates"), 9, "{lines:#?}");
    assert_eq!(c("Ip6InAddrErrors"), 2, "{lines:#?}");
    assert_eq!(c("Ip6InHdrErrors"), 0, "{lines:#?}");
    assert_eq!(c("Icmp6InErrors"), 0, "{lines:#?}");
    assert_eq!(c("IcmpInEchos"), 2, "{lines:#?}");

    // The capture (raw IP on TUN) decodes in tshark: the echo replies, and the reply to
    // a 4000-octet request in fragments that tshark reassembles.
    if common::find_tool("tshark").is_some() {
        let out = std::process::Command::new("tshark")
            .args([
                "-r",
                pcap.0.to_str().unwrap(),
                "-Y",
                "icmpv6.type == 129",
                "-T",
                "fields",
            ])
            .args([
                "-e",
                "ipv6.src",
                "-e",
                "icmpv6.echo.sequence_number",
                "-e",
                "data.len",
            ])
            .output()
            .expect("run tshark");
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(s.lines().count(), 13, "{s}");
        assert!(s.lines().all(|l| l.starts_with("fd00:77::2\t")), "{s}");
        assert_eq!(
            s.lines().filter(|l| l.ends_with("\t4000")).count(),
            3,
            "{s}"
        );
    }
}

/// On TAP, the stack runs DAD for fd00:77::2 and its link-local address (RFC 4862 5.4),
/// then answers the kernel's Neighbor Solicitations (RFC 4861 7.2.4): after a ping, `ip -6
/// neigh` shows the stack's MAC for fd00:77::2, `-s 4000` comes back whole through the
/// fragments, and the link-local address answers too.
#[test]
fn kernel_ping6_to_the_stack_tap() {
    if !common::require_root() || !common::require_tool("ping") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--seed",
        "1",
        "--tap",
        "tsping6t",
        "--mac",
        STACK_MAC,
    ]);
    // DAD takes a second after start: wait for the first answer.
    let first = (0..10).any(|_| {
        let out = ns.exec("ping", &["-6", "-c", "1", "-W", "1", "fd00:77::2"]);
        ping_counts(&text(&out)) == (1, 1)
    });
    assert!(first, "no answer after DAD");
    let out = ns.exec(
        "ping",
        &["-6", "-c", "5", "-i", "0.05", "-W", "2", "fd00:77::2"],
    );
    assert_eq!(ping_counts(&text(&out)), (5, 5), "{}", text(&out));
    let out = ns.exec(
        "ping",
        &[
            "-6",
            "-c",
            "2",
            "-i",
            "0.2",
            "-s",
            "4000",
            "-W",
            "2",
            "fd00:77::2",
        ],
    );
    let s = text(&out);
    assert_eq!(ping_counts(&s), (2, 2), "{s}");
    assert!(!s.contains("wrong"), "{s}");

    // The link-local address formed from the MAC (RFC 4862 5.3, RFC 4291 Appendix A):
    // 02:00:5e:77:00:02 gives fe80::5eff:fe77:2.
    let out = ns.exec(
        "ping",
        &[
            "-6",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            "fe80::5eff:fe77:2%tsping6t",
        ],
    );
    assert_eq!(ping_counts(&text(&out)), (2, 2), "{}", text(&out));

    let neigh = ns.exec_ok(
        "ip",
        &["-6", "neigh", "show", "fd00:77::2", "dev", "tsping6t"],
    );
    assert!(neigh.contains(&format!("lladdr {STACK_MAC}")), "{neigh}");
    assert!(
        ["REACHABLE", "STALE", "DELAY", "PROBE"]
            .iter()
            .any(|s| neigh.contains(s)),
        "{neigh}"
    );
    let (ok, lines) = t.stop();
    assert!(ok, "tunstack exit status: {lines:?}");
    let c = |n| counter(&lines, n).unwrap_or(0);
    assert!(c("Icmp6InNeighborSolicits") >= 1, "{lines:#?}");
    assert!(c("Icmp6OutNeighborAdvertisements") >= 1, "{lines:#?}");
    // One DAD solicitation at least.
    assert!(c("Icmp6OutNeighborSolicits") >= 1, "{lines:#?}");
    assert_eq!(c("Ip6ReasmOKs"), 2, "{lines:#?}");
}

/// `--no-ipv6` leaves IPv6 off the link: the kernel side has no IPv6 address there.
#[test]
fn no_ipv6_flag() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&["up", "--netns", ns.name(), "--tun", "tsnov6", "--no-ipv6"]);
    let addrs = ns.exec_ok("ip", &["-6", "addr", "show", "dev", "tsnov6"]);
    assert!(!addrs.contains("fd00:77"), "{addrs}");
    let (ok, _) = t.stop();
    assert!(ok);
}

/// `tunstack ping fd00:77::1` pings the kernel over IPv6 from inside the stack, on TUN and
/// on TAP (there after DAD, resolving the kernel's address by Neighbor Discovery); with
/// `-s 3000` the request leaves in fragments and the reply comes back in them.
#[test]
fn tunstack_pings_the_kernel_over_ipv6() {
    if !common::require_root() {
        return;
    }
    for tap in [false, true] {
        let ns = common::NetNs::new();
        let mut args = vec![
            "ping",
            "fd00:77::1",
            "-c",
            "3",
            "-i",
            "0.1",
            "--netns",
            ns.name(),
        ];
        args.extend(if tap {
            ["--tap", "tsp6t0"]
        } else {
            ["--tun", "tsp6u0"]
        });
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunstack"))
            .args(&args)
            .output()
            .expect("run tunstack ping");
        let s = text(&out);
        assert!(out.status.success(), "{s}");
        assert_eq!(ping_counts(&s), (3, 3), "{s}");
        assert!(
            s.contains("64 bytes from fd00:77::1: icmp_seq=1 ttl=64"),
            "{s}"
        );
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunstack"))
            .args(&args)
            .args(["-s", "3000"])
            .output()
            .expect("run tunstack ping");
        let s = text(&out);
        assert_eq!(ping_counts(&s), (3, 3), "{s}");
        assert!(s.contains("3008 bytes from fd00:77::1"), "{s}");
    }
}
