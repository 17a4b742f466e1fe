//! System test for router mode: two namespaces, a TUN in each, tunstack forwarding
//! between them; the kernel's ping and traceroute see it as the middle hop.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, ping_counts, text, Tunstack};

#[test]
fn stack_routes_between_two_namespaces() {
    if !common::require_root()
        || !common::require_tool("ping")
        || !common::require_tool("traceroute")
    {
        return;
    }
    let a = common::NetNs::new();
    let b = common::NetNs::new();
    let conf = common::temp_path("router.conf");
    std::fs::write(
        &conf.0,
        format!(
            "forwarding on\n\
             interface tsra0\n netns {}\n host-addr 10.1.0.1/24\n addr 10.1.0.2\n host-route 10.2.0.0/24\n\
             interface tsrb0\n netns {}\n host-addr 10.2.0.1/24\n addr 10.2.0.2\n mtu 1400\n host-route 10.1.0.0/24\n",
            a.name(),
            b.name()
        ),
    )
    .unwrap();
    let t = Tunstack::up(&["up", "--config", conf.0.to_str().unwrap(), "--seed", "3"]);

    // Across: the kernel in B answers the kernel in A, through the stack.
    let out = a.exec("ping", &["-c", "5", "-i", "0.1", "-W", "2", "10.2.0.1"]);
    assert_eq!(ping_counts(&text(&out)), (5, 5), "{}", text(&out));
    assert!(
        text(&out).contains("ttl=63"),
        "one hop decremented the TTL: {}",
        text(&out)
    );

    // Fragmented by the stack towards B's smaller MTU, reassembled by B's kernel.
    let out = a.exec(
        "ping",
        &["-c", "2", "-i", "0.2", "-s", "3000", "-W", "2", "10.2.0.1"],
    );
    assert_eq!(ping_counts(&text(&out)), (2, 2), "{}", text(&out));

    // TTL 1: the stack says time exceeded from its address on A's link.
    let out = a.exec("ping", &["-c", "1", "-t", "1", "-W", "2", "10.2.0.1"]);
    let s = text(&out);
    assert!(
        s.contains("From 10.1.0.2 icmp_seq=1 Time to live exceeded"),
        "{s}"
    );

    // traceroute: hop 1 is the stack, hop 2 the destination.
    let out = a.exec(
        "traceroute",
        &["-n", "-q", "1", "-w", "2", "-m", "5", "10.2.0.1"],
    );
    let s = text(&out);
    let hops: Vec<&str> = s.lines().skip(1).collect();
    assert!(hops.len() >= 2, "{s}");
    assert!(hops[0].trim_start().starts_with("1  10.1.0.2 "), "{s}");
    assert!(hops[1].trim_start().starts_with("2  10.2.0.1 "), "{s}");

    let (ok, lines) = t.stop();
    assert!(ok);
    assert!(
        counter(&lines, "IpForwDatagrams").unwrap_or(0) >= 10,
        "{lines:#?}"
    );
    assert!(
        counter(&lines, "IcmpOutTimeExcds").unwrap_or(0) >= 2,
        "{lines:#?}"
    );
}

/// `tunstack traceroute` from inside the stack: the kernel of the test's namespace routes
/// to a second namespace over a veth pair; hop 1 is the kernel (time exceeded), hop 2 the
/// destination (echo reply).
#[test]
fn tunstack_traceroute_through_a_kernel_router() {
    if !common::require_root() {
        return;
    }
    let r = common::NetNs::new(); // the kernel router, holding the TUN device
    let far = common::NetNs::new();
    let (va, vb) = r.veth_to(&far, "vr", None);
    r.ip(&["addr", "add", "10.88.0.1/24", "dev", &va]);
    far.ip(&["addr", "add", "10.88.0.2/24", "dev", &vb]);
    r.ip(&["link", "set", &va, "up"]);
    far.ip(&["link", "set", &vb, "up"]);
    far.ip(&["route", "add", "10.77.0.0/24", "via", "10.88.0.1"]);
    r.exec_ok("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunstack"))
        .args(["traceroute", "10.88.0.2", "-q", "1", "-w", "2", "-m", "5"])
        .args([
            "--netns",
            r.name(),
            "--tun",
            "tstrace0",
            "--gateway",
            "10.77.0.1",
        ])
        .output()
        .expect("run tunstack traceroute");
    let s = text(&out);
    assert!(out.status.success(), "{s}");
    let hops: Vec<&str> = s.lines().skip(1).collect();
    assert_eq!(hops.len(), 2, "{s}");
    assert!(hops[0].trim_start().starts_with("1  10.77.0.1 "), "{s}");
    assert!(hops[1].trim_start().starts_with("2  10.88.0.2 "), "{s}");
}
