//! System tests for TCP and UDP over IPv6: the `tunstack` binary on a real TUN device
//! (and on TAP, where Neighbor Discovery resolves the next hop) in a test-made
//! namespace, with the kernel's `curl`, `dig`, `nc` and a kernel HTTP server as the
//! peers, over `fd00:77::/64` (the stack at `fd00:77::2`, the kernel side at
//! `fd00:77::1`).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;

use support::{counter, sha256, text, Link, Tunstack};

/// The kernel reaches the stack's servers over IPv6: `curl -g` gets the index page
/// (and `/_stack/connections` lists that connection with IPv6 endpoints), `dig -6`
/// gets the AAAA record of `tunstack.test` (RFC 3596) equal to the stack's address,
/// 16 MiB go through the echo port with `nc -6` unchanged (sha256), and the discard and
/// chargen ports answer too. IPv4 still works beside it, on the same (dual-stack)
/// listeners. The counters printed at exit show the traffic over IPv6.
#[test]
fn kernel_clients_reach_the_stack_over_ipv6_tun() {
    kernel_clients_reach_the_stack_over_ipv6(Link::Tun);
}

#[test]
fn kernel_clients_reach_the_stack_over_ipv6_tap() {
    kernel_clients_reach_the_stack_over_ipv6(Link::Tap);
}

fn kernel_clients_reach_the_stack_over_ipv6(link: Link) {
    if !common::require_root()
        || !common::require_tool("curl")
        || !common::require_tool("dig")
        || !common::require_tool("nc")
    {
        return;
    }
    let ns = common::NetNs::new();
    let www = common::temp_path("www6");
    std::fs::create_dir_all(&www.0).unwrap();
    std::fs::write(www.0.join("index.html"), "<h1>hello over IPv6</h1>\n").unwrap();
    let t = Tunstack::up_on(
        link,
        &link.dev("tstcp6"),
        &[
            "up",
            "--netns",
            ns.name(),
            "--seed",
            "6",
            "--www",
            www.0.to_str().unwrap(),
        ],
    );

    let page = ns.exec_ok("curl", &["-gsS", "-m", "10", "http://[fd00:77::2]/"]);
    assert!(page.contains("hello over IPv6"), "{page}");
    let conns = ns.exec_ok(
        "curl",
        &["-gsS", "-m", "10", "http://[fd00:77::2]/_stack/connections"],
    );
    let conns: Vec<tunstack_apps::http::ConnRow> = serde_json::from_str(&conns).expect(&conns);
    assert!(
        conns
            .iter()
            .any(|c| c.local.to_string() == "[fd00:77::2]:80"
                && c.remote.ip().to_string() == "fd00:77::1"),
        "the listing shows this very connection: {conns:?}"
    );
    // The same listener takes IPv4.
    let page = ns.exec_ok("curl", &["-sS", "-m", "10", "http://10.77.0.2/"]);
    assert!(page.contains("hello over IPv6"), "{page}");

    let aaaa = ns.exec_ok(
        "dig",
        &[
            "-6",
            "@fd00:77::2",
            "AAAA",
            "tunstack.test",
            "+short",
            "+time=2",
            "+tries=2",
        ],
    );
    assert_eq!(aaaa.trim(), "fd00:77::2");
    // Over TCP as well (the DNS listener is on [::]:53 too).
    let aaaa = ns.exec_ok(
        "dig",
        &[
            "-6",
            "@fd00:77::2",
            "AAAA",
            "tunstack.test",
            "+short",
            "+tcp",
            "+time=2",
        ],
    );
    assert_eq!(aaaa.trim(), "fd00:77::2");
    let a = ns.exec_ok(
        "dig",
        &["@10.77.0.2", "A", "tunstack.test", "+short", "+time=2"],
    );
    assert_eq!(a.trim(), "10.77.0.2");

    let input = common::temp_path("16m.bin");
    let output = common::temp_path("16m.out");
    let mut data = vec![0u8; 16 << 20];
    tunstack::rand::Rng::new(16).fill(&mut data);
    std::fs::write(&input.0, &data).unwrap();
    drop(data);
    let sh = |cmd: String| {
        let out = ns.exec("sh", &["-c", &cmd]);
        assert!(out.status.success(), "{cmd}: {}", text(&out));
        out
    };
    sh(format!(
        "nc -6 -N fd00:77::2 7 < {} > {}",
        input.0.display(),
        output.0.display()
    ));
    assert_eq!(std::fs::metadata(&output.0).unwrap().len(), 16 << 20);
    assert_eq!(sha256(&input.0), sha256(&output.0), "echoed data differs");
    sh(format!("nc -6 -N fd00:77::2 9 < {}", input.0.display()));
    let chargen = sh("nc -6 -d fd00:77::2 19 | head -c 1000".to_string());
    assert_eq!(chargen.stdout.len(), 1000);
    // RFC 864: the 95 printable characters from the space on, in rotating lines.
    assert!(
        chargen.stdout.starts_with(b" !\"#$%&"),
        "{}",
        text(&chargen)
    );

    let (ok, lines) = t.stop();
    assert!(ok, "tunstack exit status: {lines:?}");
    let c = |n| counter(&lines, n).unwrap_or(0);
    // 16 MiB in twice (echo, discard) and out once (echo) over IPv6, at an MSS of
    // 1440: more TCP segments in than 2 * 16 MiB / 1440 and out than 16 MiB / 1440 (wire
    // segments, as Linux counts them); the IPv6 counters count packets as the TUN device
    // carries them (a TCPV6 super-segment once, as Linux's do), each at most 64 KiB.
    assert!(c("TcpInSegs") > 2 * (16 << 20) / 1440, "{lines:#?}");
    assert!(c("TcpOutSegs") > (16 << 20) / 1440, "{lines:#?}");
    assert!(c("Ip6InReceives") > 2 * (16 << 20) / 65_536, "{lines:#?}");
    assert!(c("Ip6OutRequests") > (16 << 20) / 65_536, "{lines:#?}");
    assert!(c("Udp6InDatagrams") >= 1, "{lines:#?}");
    assert!(c("Udp6OutDatagrams") >= 1, "{lines:#?}");
    assert_eq!(c("Udp6InErrors"), 0, "{lines:#?}");
    assert_eq!(c("TcpInErrs"), 0, "{lines:#?}");
}

/// `tunstack get` reaches a kernel HTTP server over IPv6 (`python3 -m http.server` bound
/// to fd00:77::1): the file arrives intact.
#[test]
fn tunstack_get_from_a_kernel_server_over_ipv6() {
    if !common::require_root() || !common::require_tool("python3") {
        return;
    }
    let ns = common::NetNs::new();
    let files = common::temp_path("files6");
    std::fs::create_dir_all(&files.0).unwrap();
    let mut data = vec![0u8; 3 << 20];
    tunstack::rand::Rng::new(63).fill(&mut data);
    std::fs::write(files.0.join("data.bin"), &data).unwrap();
    // `::` rather than fd00:77::1: that address appears only when tunstack creates its
    // device. With bindv6only=0 the kernel server takes both families.
    let mut http = ns
        .command(
            "python3",
            &[
                "-m",
                "http.server",
                "8080",
                "--bind",
                "::",
                "--directory",
                files.0.to_str().unwrap(),
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ns
        .run(|| std::net::TcpStream::connect("[::1]:8080"))
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "python3 -m http.server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let got = common::temp_path("got6.bin");
    let out = Command::new(env!("CARGO_BIN_EXE_tunstack"))
        .args([
            "get",
            "http://[fd00:77::1]:8080/data.bin",
            "-o",
            got.0.to_str().unwrap(),
            "--netns",
            ns.name(),
            "--tun",
            "tsget6",
        ])
        .output()
        .unwrap();
    let _ = http.kill();
    let _ = http.wait();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(sha256(&got.0), sha256(&files.0.join("data.bin")));
}

/// `tunstack ss`, pointed at the stack's IPv6 address, lists a download over IPv6 as
/// `ss -ti` would: IPv6 endpoints in brackets, and an MSS of 1440 (the 1500-byte MTU less
/// 60, RFC 8200 section 8.3).
#[test]
fn ss_lists_an_ipv6_connection() {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    let ns = common::NetNs::new();
    let www = common::temp_path("ss6www");
    std::fs::create_dir_all(&www.0).unwrap();
    let mut data = vec![0u8; 4 << 20];
    tunstack::rand::Rng::new(46).fill(&mut data);
    std::fs::write(www.0.join("slow.bin"), &data).unwrap();
    let _t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--tun",
        "tsss6",
        "--www",
        www.0.to_str().unwrap(),
    ]);
    const PORT: &str = "45680";
    let _download = ns.spawn_cmd(
        "curl",
        &[
            "-gsS",
            "--limit-rate",
            "300K",
            "--local-port",
            PORT,
            "-m",
            "60",
            "-o",
            "/dev/null",
            "http://[fd00:77::2]/slow.bin",
        ],
    );
    let peer = format!("[fd00:77::1]:{PORT}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (row, info) = loop {
        let out = ns.exec_ok(env!("CARGO_BIN_EXE_tunstack"), &["ss", "fd00:77::2"]);
        let lines: Vec<&str> = out.lines().collect();
        // The first look may catch the handshake (SYN-RECV): look again until the
        // connection is established or the deadline passes.
        let found = lines.iter().position(|l| l.contains(&peer));
        if let Some(i) = found.filter(|&i| lines[i].starts_with("ESTAB")) {
            break (lines[i].to_string(), lines[i + 1].to_string());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no established row for {peer}:\n{out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let w: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(w[0], "ESTAB", "{row}");
    assert_eq!(w[2..], ["[fd00:77::2]:80", peer.as_str()], "{row}");
    assert!(info.contains("mss:1440"), "{info}");
}
