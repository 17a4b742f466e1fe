//! System test for IPv6 router mode: two namespaces, a TUN in each, tunstack forwarding
//! IPv6 between them; the kernel's ping -6, traceroute -6 and TCP see it as the middle
//! hop, and its Packet Too Big messages (RFC 4443 section 3.2) make the kernel's TCP
//! adapt to the smaller link.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use support::{counter, ping_counts, text, Tunstack};

#[test]
fn stack_routes_ipv6_between_two_namespaces() {
    if !common::require_root()
        || !common::require_tool("ping")
        || !common::require_tool("traceroute")
        || !common::require_tool("nc")
        || !common::require_tool("sha256sum")
    {
        return;
    }
    let a = common::NetNs::new();
    let b = common::NetNs::new();
    let conf = common::temp_path("router6.conf");
    std::fs::write(
        &conf.0,
        format!(
            "forwarding on\n\
             interface tsr6a0\n netns {}\n host-addr 10.1.0.1/24\n addr 10.1.0.2\n\
             \x20host-addr6 fd00:1::1/64\n addr6 fd00:1::2\n host-route6 fd00:2::/64\n\
             interface tsr6b0\n netns {}\n host-addr 10.2.0.1/24\n addr 10.2.0.2\n mtu 1280\n\
             \x20host-addr6 fd00:2::1/64\n addr6 fd00:2::2\n host-route6 fd00:1::/64\n",
            a.name(),
            b.name()
        ),
    )
    .unwrap();
    let t = Tunstack::up(&["up", "--config", conf.0.to_str().unwrap(), "--seed", "3"]);
    // The stack's side of B's link stays at 1280; the kernel in B is told 1500, so that
    // its TCP advertises a large MSS and only the stack knows of the bottleneck.
    b.exec_ok("ip", &["link", "set", "tsr6b0", "mtu", "1500"]);

    // Across: the kernel in B answers the kernel in A, one hop less.
    let out = a.exec(
        "ping",
        &["-6", "-c", "5", "-i", "0.1", "-W", "2", "fd00:2::1"],
    );
    let s = text(&out);
    assert_eq!(ping_counts(&s), (5, 5), "{s}");
    assert!(
        s.contains("ttl=63"),
        "one hop decremented the hop limit: {s}"
    );

    // Hop limit 1: Time Exceeded from the stack's address on A's link (RFC 4443 3.3).
    let out = a.exec(
        "ping",
        &["-6", "-c", "1", "-t", "1", "-W", "2", "fd00:2::1"],
    );
    let s = text(&out);
    assert!(
        s.contains("From fd00:1::2 icmp_seq=1 Time exceeded: Hop limit"),
        "{s}"
    );

    // traceroute -6: hop 1 is the stack, hop 2 the destination.
    let out = a.exec(
        "traceroute",
        &["-6", "-n", "-q", "1", "-w", "2", "-m", "5", "fd00:2::1"],
    );
    let s = text(&out);
    let hops: Vec<&str> = s.lines().skip(1).collect();
    assert!(hops.len() >= 2, "{s}");
    assert!(hops[0].trim_start().starts_with("1  fd00:1::2 "), "{s}");
    assert!(hops[1].trim_start().starts_with("2  fd00:2::1 "), "{s}");

    // 1448-octet pings do not fit the 1280 link: the stack answers Packet Too Big with
    // MTU 1280 (RFC 8200 section 5: routers do not fragment), the kernel in A then
    // fragments at the source and the later pings get through.
    let out = a.exec(
        "ping",
        &[
            "-6",
            "-c",
            "4",
            "-i",
            "0.3",
            "-s",
            "1400",
            "-W",
            "2",
            "fd00:2::1",
        ],
    );
    let s = text(&out);
    assert!(s.contains("Packet too big: mtu=1280"), "{s}");
    assert!(ping_counts(&s).1 >= 3, "{s}");

    // The kernel's TCP from A to B learns the path MTU from the stack's Packet Too Big
    // (RFC 8201) and the transfer completes byte for byte. The path MTU the pings taught
    // is forgotten first, so that TCP's own full-sized segments meet the bottleneck.
    a.exec_ok("ip", &["-6", "route", "flush", "cache"]);
    let before = a.exec_ok("ip", &["-6", "route", "get", "fd00:2::1"]);
    assert!(!before.contains("mtu 1280"), "{before}");
    let (src_t, dst_t) = (common::temp_path("sent"), common::temp_path("received"));
    let (src, dst) = (src_t.0.clone(), dst_t.0.clone());
    let listener = b.spawn_cmd(
        "sh",
        &["-c", &format!("nc -6 -l -w 10 5001 > {}", dst.display())],
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = a.exec(
        "sh",
        &[
            "-c",
            &format!(
                "head -c 2000000 /dev/urandom > {0} && nc -6 -N -w 10 fd00:2::1 5001 < {0}",
                src.display()
            ),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let _ = listener.wait_with_output();
    let sum = |p: &std::path::Path| {
        let o = std::process::Command::new("sha256sum")
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split(' ')
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(std::fs::metadata(&dst).unwrap().len(), 2_000_000);
    assert_eq!(sum(&src), sum(&dst));
    let route = a.exec_ok("ip", &["-6", "route", "get", "fd00:2::1"]);
    assert!(route.contains("mtu 1280"), "the kernel's path MTU: {route}");

    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    let c = |n| counter(&lines, n).unwrap_or(0);
    assert!(c("Ip6OutForwDatagrams") >= 10, "{lines:#?}");
    assert!(c("Icmp6OutTimeExcds") >= 2, "{lines:#?}");
    assert!(c("Icmp6OutPktTooBigs") >= 2, "{lines:#?}");
    assert_eq!(
        c("Ip6InTooBigErrors"),
        c("Icmp6OutPktTooBigs"),
        "{lines:#?}"
    );
}

/// `tunstack traceroute fd00:88::2` from inside the stack (ICMPv6 echo probes of rising
/// hop limit): the kernel of the test's namespace routes to a second namespace over a
/// veth pair; hop 1 is the kernel (Time Exceeded), hop 2 the destination (echo reply).
#[test]
fn tunstack_traceroute6_through_a_kernel_router() {
    if !common::require_root() {
        return;
    }
    let r = common::NetNs::new(); // the kernel router, holding the TUN device
    let far = common::NetNs::new();
    let (va, vb) = r.veth_to(&far, "v6r", None);
    r.ip(&["-6", "addr", "add", "fd00:88::1/64", "dev", &va, "nodad"]);
    far.ip(&["-6", "addr", "add", "fd00:88::2/64", "dev", &vb, "nodad"]);
    // No DAD on the veth link-local addresses either: the kernel waits for it (a second
    // or more) before its first Neighbor Solicitation, delaying the first forwarded probe.
    r.exec_ok(
        "sysctl",
        &["-qw", &format!("net.ipv6.conf.{va}.accept_dad=0")],
    );
    far.exec_ok(
        "sysctl",
        &["-qw", &format!("net.ipv6.conf.{vb}.accept_dad=0")],
    );
    r.ip(&["link", "set", &va, "up"]);
    far.ip(&["link", "set", &vb, "up"]);
    far.ip(&["-6", "route", "add", "fd00:77::/64", "via", "fd00:88::1"]);
    r.exec_ok("sysctl", &["-qw", "net.ipv6.conf.all.forwarding=1"]);
    // The kernel's side of the path works before the traceroute starts: a freshly
    // raised veth pair can take a moment to carry traffic (carrier, neighbour
    // discovery), and under load hop 2's only probe was lost to it once.
    r.exec_ok("ping", &["-6", "-c", "1", "-w", "10", "fd00:88::2"]);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunstack"))
        .args(["traceroute", "fd00:88::2", "-q", "1", "-w", "2", "-m", "5"])
        .args([
            "--netns",
            r.name(),
            "--tun",
            "tstr6",
            "--gateway6",
            "fd00:77::1",
        ])
        .output()
        .expect("run tunstack traceroute");
    let s = text(&out);
    assert!(out.status.success(), "{s}");
    let hops: Vec<&str> = s.lines().skip(1).collect();
    assert_eq!(hops.len(), 2, "{s}");
    // Hop 1 is the kernel router. Which of its addresses its Time Exceeded comes from
    // is the router's choice (RFC 4443 section 2.2: an address of the interface the
    // packet came in on, or any of its unicast addresses); Linux picks the one on the
    // arriving interface, unless that address was still being set up.
    let hop1 = hops[0].trim_start();
    assert!(
        hop1.starts_with("1  fd00:77::1 ") || hop1.starts_with("1  fd00:88::1 "),
        "{s}"
    );
    assert!(hops[1].trim_start().starts_with("2  fd00:88::2 "), "{s}");
}
