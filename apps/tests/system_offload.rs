//! System tests of the TUN and TAP offloads (virtio-net header, TSO both ways): the
//! kernel's TCP (`nc` from netcat-openbsd) against the `tunstack` binary's echo and
//! discard services over a real TUN or TAP device in a test-made namespace, with
//! offloads, without them, and with offloads under loss.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, sha256, Link, Tunstack};

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

/// Sends `input` to the discard port, then through the echo port, and checks what came
/// back is byte for byte what went in.
#[track_caller]
fn discard_then_echo(ns: &common::NetNs, input: &common::TempPath, tag: &str) {
    let output = common::temp_path(tag);
    sh(ns, &format!("nc -N 10.77.0.2 9 < {}", input.0.display()));
    sh(
        ns,
        &format!(
            "nc -N 10.77.0.2 7 < {} > {}",
            input.0.display(),
            output.0.display()
        ),
    );
    assert_eq!(
        std::fs::metadata(&output.0).unwrap().len(),
        std::fs::metadata(&input.0).unwrap().len()
    );
    assert_eq!(sha256(&input.0), sha256(&output.0), "echoed data differs");
}

/// With offloads (the default), 64 MiB go in (discard, then echo) and 64 MiB come back
/// intact over `link`, and the counters show super-segments taken in and sent whole:
/// TunGsoIn and TunGsoOut above zero, while TcpInSegs and TcpOutSegs still count
/// wire-sized segments, as Linux counts `gso_segs`.
fn offload_64_mib_each_way(link: Link, stem: &str, seed: u64) {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let seed_s = seed.to_string();
    let t = Tunstack::up_on(
        link,
        &link.dev(stem),
        &["up", "--netns", ns.name(), "--seed", &seed_s],
    );
    assert!(
        t.seen.iter().any(|l| l.contains("offload tso")),
        "the ready line says the offloads are on: {:?}",
        t.seen
    );
    let input = random_file(&format!("{stem}.bin"), 64 << 20, seed);
    discard_then_echo(&ns, &input, &format!("{stem}.out"));
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    let gso_in = counter(&lines, "TunGsoIn").unwrap_or(0);
    let gso_out = counter(&lines, "TunGsoOut").unwrap_or(0);
    assert!(gso_in > 0, "super-segments in: {lines:#?}");
    assert!(gso_out > 0, "super-segments out: {lines:#?}");
    // 128 MiB in and 64 MiB out, counted as wire segments of at most 1448 bytes.
    let wire = |bytes: u64| bytes / 1448;
    assert!(
        counter(&lines, "TcpInSegs").unwrap_or(0) >= wire(128 << 20),
        "{lines:#?}"
    );
    assert!(
        counter(&lines, "TcpOutSegs").unwrap_or(0) >= wire(64 << 20),
        "{lines:#?}"
    );
    assert_eq!(counter(&lines, "TunVnetHdrErrors").unwrap_or(0), 0);
    assert_eq!(counter(&lines, "TcpInErrs").unwrap_or(0), 0, "{lines:#?}");
}

/// `--no-offload`: the ready line says so, the same transfer over `link` is intact, and
/// no super-segment moves either way.
fn no_offload_64_mib_each_way(link: Link, stem: &str, seed: u64) {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let seed_s = seed.to_string();
    let t = Tunstack::up_on(
        link,
        &link.dev(stem),
        &[
            "up",
            "--netns",
            ns.name(),
            "--seed",
            &seed_s,
            "--no-offload",
        ],
    );
    assert!(
        t.seen.iter().any(|l| l.contains("offload off")),
        "{:?}",
        t.seen
    );
    let input = random_file(&format!("{stem}.bin"), 64 << 20, seed);
    discard_then_echo(&ns, &input, &format!("{stem}.out"));
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert_eq!(counter(&lines, "TunGsoIn").unwrap_or(0), 0, "{lines:#?}");
    assert_eq!(counter(&lines, "TunGsoOut").unwrap_or(0), 0, "{lines:#?}");
    // The kernel's TCP segments were wire-sized both ways: it counted as many.
    assert!(
        counter(&lines, "TcpInSegs").unwrap_or(0) >= (128 << 20) / 1460,
        "{lines:#?}"
    );
}

#[test]
fn offload_64_mib_each_way_is_intact_and_uses_super_segments() {
    offload_64_mib_each_way(Link::Tun, "tsgso", 10);
}

/// The same over a TAP device: the virtio-net header's offsets count the Ethernet
/// header, and super-segments go through ARP.
#[test]
fn tap_offload_64_mib_each_way_is_intact_and_uses_super_segments() {
    offload_64_mib_each_way(Link::Tap, "tsgso", 13);
}

#[test]
fn no_offload_64_mib_each_way_is_intact() {
    no_offload_64_mib_each_way(Link::Tun, "tsnogso", 11);
}

#[test]
fn tap_no_offload_64_mib_each_way_is_intact() {
    no_offload_64_mib_each_way(Link::Tap, "tsnogso", 14);
}

/// `--loss 2%` with offloads on: super-segments are split before the impairment, so it
/// drops 2% of wire segments (not of super-segments): the receive direction counts at
/// least as many frames as wire segments carried the data, and its loss rate lands
/// within 1.5-2.5% (a binomial over more than 20,000 frames strays by ~0.1%); the
/// transfer is intact.
#[test]
fn loss_with_offload_drops_per_wire_segment() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up_on(
        Link::Tun,
        &Link::Tun.dev("tsgsol"),
        &["up", "--netns", ns.name(), "--seed", "12", "--loss", "2%"],
    );
    assert!(
        t.seen.iter().any(|l| l.contains("offload tso")),
        "{:?}",
        t.seen
    );
    let input = random_file("gsoloss.bin", 16 << 20, 12);
    discard_then_echo(&ns, &input, "gsoloss.out");
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    let frames = counter(&lines, "ImpairRxFrames").unwrap_or(0);
    let lost = counter(&lines, "ImpairRxLost").unwrap_or(0);
    // 32 MiB came in from the kernel, in segments of at most 1448 bytes.
    assert!(frames >= (32 << 20) / 1448, "{lines:#?}");
    let rate = lost as f64 / frames as f64;
    assert!(
        (0.015..=0.025).contains(&rate),
        "rx loss {lost}/{frames} = {rate:.4}: {lines:#?}"
    );
    let tx_frames = counter(&lines, "ImpairTxFrames").unwrap_or(0);
    let tx_lost = counter(&lines, "ImpairTxLost").unwrap_or(0);
    let tx_rate = tx_lost as f64 / tx_frames as f64;
    assert!(
        (0.015..=0.025).contains(&tx_rate),
        "tx loss {tx_lost}/{tx_frames} = {tx_rate:.4}: {lines:#?}"
    );
    // The kernel still sent super-segments, and so did the stack: the impairment split
    // them (the core saw only wire segments, so TunGsoIn stays 0 here).
    assert!(
        counter(&lines, "ImpairRxSuperSegmentsSplit").unwrap_or(0) > 0,
        "{lines:#?}"
    );
    assert!(
        counter(&lines, "ImpairTxSuperSegmentsSplit").unwrap_or(0) > 0,
        "{lines:#?}"
    );
}
