//! System tests: the `tunstack` binary on a real TUN device inside a namespace the test
//! creates, with the kernel's iputils `ping` as the peer; the same tests on a TAP device
//! (Ethernet and ARP).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, ping_counts, text, Link, Tunstack, STACK_MAC};

#[test]
fn kernel_ping_to_the_stack_tun() {
    kernel_ping_to_the_stack(Link::Tun);
}

#[test]
fn kernel_ping_to_the_stack_tap() {
    kernel_ping_to_the_stack(Link::Tap);
}

/// `ping -c 20 -i 0.05` gets every reply; `-s 4000` (fragmented both ways) and `-s 65507`
/// come back intact; an unassigned address of the subnet gets nothing; the counters
/// printed at exit match what was sent. On TAP the kernel's neighbour table holds the
/// stack's Ethernet address.
fn kernel_ping_to_the_stack(link: Link) {
    if !common::require_root() || !common::require_tool("ping") {
        return;
    }
    let ns = common::NetNs::new();
    let mut args = vec!["up", "--netns", ns.name(), "--seed", "1"];
    let link_args = link.args("tsping1");
    args.extend(link_args.iter().map(String::as_str));
    let t = Tunstack::up(&args);

    let out = ns.exec("ping", &["-c", "20", "-i", "0.05", "-W", "2", "10.77.0.2"]);
    assert_eq!(ping_counts(&text(&out)), (20, 20), "{}", text(&out));

    // iputils checks the echoed pattern and prints "wrong data byte" on a mismatch.
    let out = ns.exec(
        "ping",
        &["-c", "3", "-i", "0.2", "-s", "4000", "-W", "2", "10.77.0.2"],
    );
    let s = text(&out);
    assert_eq!(ping_counts(&s), (3, 3), "{s}");
    assert!(s.contains("4008 bytes from 10.77.0.2"), "{s}");
    assert!(!s.contains("wrong"), "{s}");

    let out = ns.exec(
        "ping",
        &[
            "-c",
            "2",
            "-i",
            "0.3",
            "-s",
            "65507",
            "-W",
            "3",
            "10.77.0.2",
        ],
    );
    let s = text(&out);
    assert_eq!(ping_counts(&s), (2, 2), "{s}");
    assert!(!s.contains("wrong"), "{s}");

    let out = ns.exec("ping", &["-c", "2", "-i", "0.2", "-W", "1", "10.77.0.9"]);
    assert_eq!(ping_counts(&text(&out)), (2, 0), "{}", text(&out));

    if link == Link::Tap {
        // The kernel resolved the stack's address (RFC 826) and confirmed it.
        let neigh = ns.exec_ok("ip", &["neigh", "show", "10.77.0.2", "dev", "tsping1"]);
        assert!(neigh.contains(&format!("lladdr {STACK_MAC}")), "{neigh}");
        assert!(
            ["REACHABLE", "STALE", "DELAY", "PROBE"]
                .iter()
                .any(|s| neigh.contains(s)),
            "{neigh}"
        );
    }

    let (ok, lines) = t.stop();
    assert!(ok, "tunstack exit status: {lines:?}");
    let c = |n| counter(&lines, n).unwrap_or(0);
    assert_eq!(c("IcmpInEchos"), 25, "{lines:#?}");
    assert_eq!(c("IcmpOutEchoReps"), 25, "{lines:#?}");
    // 4000-byte requests arrive in 3 fragments, 65,507-byte ones in 45.
    assert_eq!(c("IpReasmOKs"), 5, "{lines:#?}");
    assert_eq!(c("IpReasmReqds"), 3 * 3 + 2 * 45, "{lines:#?}");
    assert_eq!(c("IpFragCreates"), 3 * 3 + 2 * 45, "{lines:#?}");
    assert_eq!(c("IpInHdrErrors"), 0, "{lines:#?}");
    match link {
        Link::Tun => {
            assert_eq!(c("IpInAddrErrors"), 2, "{lines:#?}");
            assert_eq!(c("IpInReceives"), 20 + 9 + 90 + 2, "{lines:#?}");
        }
        Link::Tap => {
            // The pings to 10.77.0.9 never leave the kernel: nobody answers its ARP
            // requests for that address (seen, not answered, not learned from).
            assert_eq!(c("IpInAddrErrors"), 0, "{lines:#?}");
            assert_eq!(c("IpInReceives"), 20 + 9 + 90, "{lines:#?}");
            assert!(c("ArpInRequests") >= 2, "{lines:#?}");
            assert!(c("ArpOutReplies") >= 1, "{lines:#?}");
            assert_eq!(c("ArpOutGratuitous"), 2, "{lines:#?}");
            assert_eq!(c("EthInErrors"), 0, "{lines:#?}");
        }
    }
}

#[test]
fn tunstack_pings_the_kernel_tun() {
    tunstack_pings_the_kernel(Link::Tun);
}

#[test]
fn tunstack_pings_the_kernel_tap() {
    tunstack_pings_the_kernel(Link::Tap);
}

/// `tunstack ping 10.77.0.1` pings the kernel from inside the stack (on TAP, resolving
/// its address first).
fn tunstack_pings_the_kernel(link: Link) {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunstack"))
        .args([
            "ping",
            "10.77.0.1",
            "-c",
            "3",
            "-i",
            "0.1",
            "--netns",
            ns.name(),
        ])
        .args(link.args("tsping0"))
        .output()
        .expect("run tunstack ping");
    let s = text(&out);
    assert!(out.status.success(), "{s}");
    assert_eq!(ping_counts(&s), (3, 3), "{s}");
    assert!(
        s.contains("64 bytes from 10.77.0.1: icmp_seq=1 ttl=64"),
        "{s}"
    );
}

/// Without CAP_NET_ADMIN, one line says what is needed; no backtrace.
#[test]
fn without_privilege_it_says_what_it_needs() {
    if !common::require_root() || !common::require_tool("setpriv") {
        return;
    }
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_tunstack"))
        .args(["up", "--tun", "tsnopriv0"])
        .output()
        .expect("run setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("CAP_NET_ADMIN") && err.contains("root"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
