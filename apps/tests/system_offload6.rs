//! System tests of the TUN offloads over IPv6 (`TUN_F_TSO6`, `gso_type` TCPV6): the
//! kernel's TCP (`nc -6` from netcat-openbsd) against the `tunstack` binary's echo,
//! discard and chargen services at `fd00:77::2` over a real TUN device in a test-made
//! namespace, with offloads, with `--no-offload`, and with offloads under loss.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, sha256, Link, Tunstack};

const MIB64: usize = 64 << 20;

/// Writes `len` seeded random bytes to a fresh temporary file.
fn random_file(tag: &str, len: usize, seed: u64) -> common::TempPath {
    let p = common::temp_path(tag);
    let mut data = vec![0u8; len];
    tunstack::rand::Rng::new(seed).fill(&mut data);
    std::fs::write(&p.0, &data).unwrap();
    p
}

/// Runs `cmd` with `sh -c` in the namespace and insists it succeeds.
#[track_caller]
fn sh(ns: &common::NetNs, cmd: &str) {
    let out = ns.exec("sh", &["-c", cmd]);
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Over IPv6: `input` to the discard port, then through the echo port (what comes back
/// is byte for byte what went in), then 64 MiB read from chargen, checked line by line
/// against RFC 864's rotation (72 printable characters, each line starting one later,
/// CR LF).
#[track_caller]
fn services_over_ipv6(ns: &common::NetNs, input: &common::TempPath, tag: &str) {
    let input_path = input.0.display();
    sh(ns, &format!("nc -6 -N fd00:77::2 9 < {input_path}"));
    let echoed = common::temp_path(&format!("{tag}.echo"));
    sh(
        ns,
        &format!(
            "nc -6 -N fd00:77::2 7 < {input_path} > {}",
            echoed.0.display()
        ),
    );
    assert_eq!(
        std::fs::metadata(&echoed.0).unwrap().len(),
        std::fs::metadata(&input.0).unwrap().len()
    );
    assert_eq!(sha256(&input.0), sha256(&echoed.0), "echoed data differs");
    let generated = common::temp_path(&format!("{tag}.chargen"));
    // `head` closing the pipe ends `nc`; only what `head` wrote is checked.
    let _ = ns.exec(
        "sh",
        &[
            "-c",
            &format!(
                "nc -6 fd00:77::2 19 | head -c {MIB64} > {}",
                generated.0.display()
            ),
        ],
    );
    let got = std::fs::read(&generated.0).unwrap();
    assert_eq!(got.len(), MIB64, "64 MiB of chargen");
    for (k, line) in got.chunks(74).enumerate() {
        let first = 32 + (k % 95) as u8;
        let expect = |i: usize| match i {
            72 => b'\r',
            73 => b'\n',
            _ => 32 + (first - 32 + i as u8) % 95,
        };
        for (i, b) in line.iter().enumerate() {
            assert_eq!(*b, expect(i), "chargen line {k}, column {i}");
        }
    }
}

/// With offloads (the default, now with `TUN_F_TSO6`), 64 MiB go in over IPv6 (discard,
/// then echo), 64 MiB come back through echo and 64 MiB from chargen, all intact, and the
/// counters show TCPV6 super-segments taken in and sent whole (TunGsoIn, TunGsoOut above
/// zero; IPv4 carries nothing here) while TcpInSegs and TcpOutSegs still count wire
/// segments, as Linux counts `gso_segs`.
#[test]
fn ipv6_offload_64_mib_each_way_is_intact_and_uses_super_segments() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up_on(
        Link::Tun,
        &Link::Tun.dev("ts6gso"),
        &["up", "--netns", ns.name(), "--seed", "13"],
    );
    assert!(
        t.seen.iter().any(|l| l.contains("offload tso")),
        "the ready line says the offloads are on: {:?}",
        t.seen
    );
    let input = random_file("gso6.bin", MIB64, 13);
    services_over_ipv6(&ns, &input, "gso6");
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert!(counter(&lines, "TunGsoIn").unwrap_or(0) > 0, "{lines:#?}");
    assert!(counter(&lines, "TunGsoOut").unwrap_or(0) > 0, "{lines:#?}");
    // 128 MiB in and 128 MiB out, as wire segments of at most 1428 bytes (1500 - 40 -
    // 20 - 12 of timestamps).
    let wire = |bytes: u64| bytes / 1428;
    assert!(
        counter(&lines, "TcpInSegs").unwrap_or(0) >= wire(128 << 20),
        "{lines:#?}"
    );
    assert!(
        counter(&lines, "TcpOutSegs").unwrap_or(0) >= wire(128 << 20),
        "{lines:#?}"
    );
    assert_eq!(counter(&lines, "TunVnetHdrErrors").unwrap_or(0), 0);
    assert_eq!(counter(&lines, "TcpInErrs").unwrap_or(0), 0, "{lines:#?}");
}

/// `--no-offload`: the same IPv6 transfers are intact, and no super-segment moves
/// either way.
#[test]
fn ipv6_no_offload_64_mib_each_way_is_intact() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up_on(
        Link::Tun,
        &Link::Tun.dev("ts6nogso"),
        &["up", "--netns", ns.name(), "--seed", "14", "--no-offload"],
    );
    assert!(
        t.seen.iter().any(|l| l.contains("offload off")),
        "{:?}",
        t.seen
    );
    let input = random_file("nogso6.bin", MIB64, 14);
    services_over_ipv6(&ns, &input, "nogso6");
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert_eq!(counter(&lines, "TunGsoIn").unwrap_or(0), 0, "{lines:#?}");
    assert_eq!(counter(&lines, "TunGsoOut").unwrap_or(0), 0, "{lines:#?}");
}

/// `--loss 2%` with offloads on over IPv6: TCPV6 super-segments are split in software
/// (`segment_tcp6`) before the impairment both ways, so it drops 2% of wire segments
/// (within 1.5-2.5% over more than 20,000 frames each way), and 16 MiB through echo
/// come back intact.
#[test]
fn ipv6_loss_with_offload_drops_per_wire_segment() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up_on(
        Link::Tun,
        &Link::Tun.dev("ts6gsol"),
        &["up", "--netns", ns.name(), "--seed", "15", "--loss", "2%"],
    );
    let input = random_file("gso6loss.bin", 16 << 20, 15);
    let echoed = common::temp_path("gso6loss.echo");
    let cmd = format!(
        "nc -6 -N fd00:77::2 7 < {} > {}",
        input.0.display(),
        echoed.0.display()
    );
    sh(&ns, &cmd);
    assert_eq!(sha256(&input.0), sha256(&echoed.0), "echoed data differs");
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    for dir in ["Rx", "Tx"] {
        let frames = counter(&lines, &format!("Impair{dir}Frames")).unwrap_or(0);
        let lost = counter(&lines, &format!("Impair{dir}Lost")).unwrap_or(0);
        assert!(frames >= (16 << 20) / 1428, "{dir}: {lines:#?}");
        let rate = lost as f64 / frames as f64;
        assert!(
            (0.015..=0.025).contains(&rate),
            "{dir} loss {lost}/{frames} = {rate:.4}: {lines:#?}"
        );
        let split = counter(&lines, &format!("Impair{dir}SuperSegmentsSplit")).unwrap_or(0);
        assert!(split > 0, "{dir}: {lines:#?}");
    }
}
