//! System test of path MTU discovery: tunstack behind a smaller hop. The kernel in the
//! stack's namespace routes between the TUN link (MTU 1500) and a veth link to a second
//! namespace with MTU 1000; the peer there announces an MSS of 1460 (its route's
//! `advmss`), as a host behind a tunnel would. The stack's full-sized DF segments are
//! refused by the kernel router with ICMP fragmentation needed (MTU 1000), and the stack
//! must lower its segment size to get the data through.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::net::Ipv4Addr;
use std::time::Duration;

use support::{counter, sha256, Tunstack};
use tunstack::wire::icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr};
use tunstack::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};

/// Sends a forged ICMP fragmentation needed (next-hop MTU `mtu`) to `to`, from a raw
/// socket of the calling thread's namespace, quoting a TCP segment `quoted_src` ->
/// `quoted_dst` with sequence number `seq`.
fn send_forged_frag_needed(
    to: Ipv4Addr,
    quoted_src: (Ipv4Addr, u16),
    quoted_dst: (Ipv4Addr, u16),
    seq: u32,
    mtu: u16,
) {
    let ip = Ipv4Repr {
        src_addr: quoted_src.0,
        dst_addr: quoted_dst.0,
        protocol: IpProtocol::Tcp,
        payload_len: 1480,
        ttl: 63,
        ident: 1,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut quote = vec![0u8; 28];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut quote[..]));
    quote[20..22].copy_from_slice(&quoted_src.1.to_be_bytes());
    quote[22..24].copy_from_slice(&quoted_dst.1.to_be_bytes());
    quote[24..28].copy_from_slice(&seq.to_be_bytes());
    let repr = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::FragRequired,
        next_hop_mtu: mtu,
        data: &quote,
    };
    let mut msg = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut msg[..]));
    // SAFETY: socket(2) takes no pointers; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(to).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `msg` and `addr` outlive the call, and the lengths passed are theirs.
    let n = unsafe {
        libc::sendto(
            fd,
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    let err = std::io::Error::last_os_error();
    // SAFETY: `fd` is the socket opened above, closed once.
    unsafe { libc::close(fd) };
    assert_eq!(n, msg.len() as isize, "sendto: {err}");
}

/// Sends `len` pseudo-random bytes (from `seed`) from namespace `ns` through the stack's
/// echo port with `nc {nc_args} 7` (waiting up to `wait_s` seconds) and checks that every
/// byte comes back in order (sha256 of what went and what came back).
#[track_caller]
fn echo_through(ns: &common::NetNs, nc_args: &str, len: usize, seed: u64, wait_s: u32) {
    let input = common::temp_path("pmtu.bin");
    let output = common::temp_path("pmtu.out");
    let mut data = vec![0u8; len];
    tunstack::rand::Rng::new(seed).fill(&mut data);
    std::fs::write(&input.0, &data).unwrap();
    drop(data);
    let cmd = format!(
        "nc -N -w {wait_s} {nc_args} 7 < {} > {}",
        input.0.display(),
        output.0.display()
    );
    let out = ns.exec("sh", &["-c", &cmd]);
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::metadata(&output.0).unwrap().len(), len as u64);
    assert_eq!(sha256(&input.0), sha256(&output.0), "echoed data differs");
}

/// The kernel's `Ip` counter `name` in namespace `ns` (from `/proc/net/snmp`).
fn kernel_ip_counter(ns: &common::NetNs, name: &str) -> u64 {
    let snmp = ns.exec_ok("cat", &["/proc/net/snmp"]);
    let mut ip = snmp.lines().filter(|l| l.starts_with("Ip:"));
    let (names, values) = (ip.next().unwrap(), ip.next().unwrap());
    let k = names
        .split_whitespace()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no {name} in {names}"));
    values.split_whitespace().nth(k).unwrap().parse().unwrap()
}

/// Namespaces A (the stack on TUN `dev`, the kernel routing) and B (behind a veth link of
/// MTU `mtu` from A, announcing MSS 1460 through its route's `advmss`, 1440 over IPv6),
/// and the stack. With `mtu` at least 1280 the link carries IPv6 too (fd00:88::/64).
fn behind_a_small_hop(dev: &str, mtu: u16) -> (common::NetNs, common::NetNs, Tunstack) {
    let v6 = mtu >= 1280;
    let a = common::NetNs::new();
    let b = common::NetNs::new();
    let t = Tunstack::up(&[
        "up",
        "--netns",
        a.name(),
        "--tun",
        dev,
        "--gateway",
        "10.77.0.1",
        "--gateway6",
        "fd00:77::1",
        "--seed",
        "11",
    ]);
    // A: the kernel routes between the TUN link and the 1000-byte veth to B.
    let (va, vb) = a.veth_to(&b, "pmtu", Some(u32::from(mtu)));
    a.exec_ok("ip", &["addr", "add", "10.88.0.1/24", "dev", &va]);
    a.exec_ok("ip", &["link", "set", &va, "up"]);
    a.exec_ok("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
    b.exec_ok("ip", &["addr", "add", "10.88.0.2/24", "dev", &vb]);
    b.exec_ok("ip", &["link", "set", &vb, "up"]);
    // B announces MSS 1460 towards the stack although its own link is 1000 bytes.
    b.exec_ok(
        "ip",
        &[
            "route",
            "add",
            "10.77.0.0/24",
            "via",
            "10.88.0.1",
            "advmss",
            "1460",
        ],
    );

    if v6 {
        a.exec_ok(
            "ip",
            &["-6", "addr", "add", "fd00:88::1/64", "dev", &va, "nodad"],
        );
        a.exec_ok("sysctl", &["-qw", "net.ipv6.conf.all.forwarding=1"]);
        b.exec_ok(
            "ip",
            &["-6", "addr", "add", "fd00:88::2/64", "dev", &vb, "nodad"],
        );
        b.exec_ok(
            "ip",
            &[
                "-6",
                "route",
                "add",
                "fd00:77::/64",
                "via",
                "fd00:88::1",
                "advmss",
                "1440",
            ],
        );
    }
    (a, b, t)
}

/// First a forged fragmentation needed (MTU 600) for an idle connection: its quoted
/// sequence number cannot lie in the empty SND.UNA..SND.NXT, so it is ignored and
/// counted (RFC 5927 4.1, TcpExtOutOfWindowIcmps). Then 8 MiB through the echo port from
/// behind the 1000-byte hop come back byte for byte; the stack counts the fragmentation
/// needed messages it took (IcmpInFragNeeded) and the lowered path MTU (TcpPmtuLowered),
/// and the far namespace reassembled nothing: every segment carried DF and fitted.
#[test]
fn sender_behind_a_smaller_hop_lowers_its_segment_size() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let (a, b, t) = behind_a_small_hop("tspmtu0", 1000);

    // An idle connection from B's port 40123 to the echo port: "hello" goes and comes
    // back, then nothing is in flight.
    let mut idle = b.spawn_cmd(
        "sh",
        &["-c", "(printf hello; sleep 5) | nc -p 40123 10.77.0.2 7"],
    );
    std::thread::sleep(Duration::from_millis(1500));
    a.run(|| {
        send_forged_frag_needed(
            Ipv4Addr::new(10, 77, 0, 2),
            (Ipv4Addr::new(10, 77, 0, 2), 7),
            (Ipv4Addr::new(10, 88, 0, 2), 40123),
            0x0102_0304,
            600,
        )
    });
    assert!(
        idle.child().try_wait().unwrap().is_none(),
        "the idle connection is still open"
    );

    echo_through(&b, "10.77.0.2", 8 << 20, 1191, 20);
    assert_eq!(
        kernel_ip_counter(&b, "ReasmReqds"),
        0,
        "no fragment reached B: the stack's segments carried DF and fitted"
    );

    drop(idle);
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert_eq!(
        counter(&lines, "TcpExtOutOfWindowIcmps"),
        Some(1),
        "the forged message: {lines:#?}"
    );
    assert!(
        counter(&lines, "IcmpInFragNeeded").unwrap_or(0) >= 1,
        "{lines:#?}"
    );
    assert!(
        counter(&lines, "TcpPmtuLowered").unwrap_or(0) >= 1,
        "{lines:#?}"
    );
}

/// RFC 4821 7.7 on a real path: the kernel router in A still refuses the stack's DF
/// segments, but a policy rule there drops every ICMP message to the stack (a black
/// hole), so no fragmentation needed arrives. The far link is 1200 bytes: after three
/// timeouts in a row the stack takes its path MTU to 1024 (7.2), which fits, and 1 MiB
/// through the echo port comes back byte for byte, nothing fragmented on the way.
#[test]
fn sender_behind_an_icmp_black_hole_falls_back() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let (a, b, t) = behind_a_small_hop("tspmtu1", 1200);
    a.exec_ok(
        "ip",
        &[
            "rule",
            "add",
            "to",
            "10.77.0.2",
            "ipproto",
            "icmp",
            "blackhole",
        ],
    );
    echo_through(&b, "10.77.0.2", 1 << 20, 4821, 30);
    assert_eq!(kernel_ip_counter(&b, "ReasmReqds"), 0, "nothing fragmented");

    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert_eq!(counter(&lines, "IcmpInFragNeeded"), None, "{lines:#?}");
    assert!(
        counter(&lines, "TcpPmtuBlackHoles").unwrap_or(0) >= 1,
        "{lines:#?}"
    );
}

/// RFC 8201 on a real path: B behind a 1280-byte hop reaches the stack over IPv6; the
/// kernel router in A answers the stack's 1500-byte packets with ICMPv6 Packet Too Big
/// (1280), the stack's MSS falls to 1220, and 4 MiB through the echo port come back byte
/// for byte (`nc -6`), counted in Icmp6InPktTooBigs and TcpPmtuLowered.
#[test]
fn ipv6_sender_behind_a_smaller_hop_lowers_its_segment_size() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let (_a, b, t) = behind_a_small_hop("tspmtu2", 1280);
    echo_through(&b, "-6 fd00:77::2", 4 << 20, 8201, 20);

    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert!(
        counter(&lines, "Icmp6InPktTooBigs").unwrap_or(0) >= 1,
        "{lines:#?}"
    );
    assert!(
        counter(&lines, "TcpPmtuLowered").unwrap_or(0) >= 1,
        "{lines:#?}"
    );
    assert_eq!(counter(&lines, "TcpPmtuBlackHoles"), None, "{lines:#?}");
}
