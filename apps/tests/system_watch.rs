//! Watching a running stack as a user would: `tunstack ss` and `tunstack stats` against a
//! `tunstack up` in a test-made namespace during a download, and the command line's
//! promises (every `--help` exits 0; a bad value exits 2 naming its flag).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::Tunstack;

const BIN: &str = env!("CARGO_BIN_EXE_tunstack");

/// A directory in the temp directory, removed with its files when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("tunstack-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `tunstack ARGS` run on the host; (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN).args(args).output().expect("run tunstack");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The value of counter `name` in `nstat`-style lines.
#[track_caller]
fn counter(out: &str, name: &str) -> u64 {
    support::counter(&out.lines().map(String::from).collect::<Vec<_>>(), name)
        .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
}

/// Every subcommand's `--help` exits 0 and shows its usage; `tunstack` alone shows the
/// list. Needs no root: nothing is opened.
#[test]
fn every_subcommand_has_help() {
    let (code, out, _) = run(&[]);
    assert_eq!(code, 0, "{out}");
    let subcommands = [
        "up",
        "resolve",
        "get",
        "ping",
        "traceroute",
        "ss",
        "stats",
        "plot",
        "completions",
    ];
    for sub in subcommands {
        assert!(out.contains(sub), "{sub} missing from the list:\n{out}");
        let (code, help, err) = run(&[sub, "--help"]);
        assert_eq!(code, 0, "{sub} --help: {err}");
        assert!(
            help.contains(&format!("Usage: tunstack {sub}")),
            "{sub}:\n{help}"
        );
    }
    let (code, script, _) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(script.contains("_tunstack") && script.contains("--no-offload"));
}

/// Bad values exit 2 before anything is opened, naming the flag and what a valid value
/// looks like (`--mtu 50` used to reach the kernel and come back as "Invalid argument").
#[test]
fn bad_values_exit_2_naming_the_flag() {
    for (args, flag, hint) in [
        (&["up", "--mtu", "50"][..], "--mtu", "68..=65535"),
        // RFC 8200 5: IPv6 needs 1280-byte links; IPv6 is on unless --no-ipv6.
        (&["up", "--mtu", "1000"], "--mtu", "1280"),
        (&["up", "--loss", "banana"], "--loss", "5%"),
        (&["up", "--delay", "soon"], "--delay", "20ms"),
        (&["up", "--cc", "vegas"], "--cc", "reno"),
        (&["up", "--max-conns", "many"], "--max-conns", ""),
        (&["ping", "10.77.0.1", "-c", "x"], "-c", ""),
        (&["ss", "banana"], "ADDR", "10.77.0.2"),
        (&["stats", "-d", "0"], "-d", "seconds"),
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(flag) && err.contains(hint), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
    }
}

/// `ss` and `stats` against a stack that is not there fail with exit 1 and say why.
#[test]
fn watching_nothing_says_so() {
    let (code, _, err) = run(&["ss", "127.0.0.1:9", "--netns", "tunstack-no-such-ns"]);
    assert_eq!(code, 1);
    assert!(err.contains("no network namespace"), "{err}");
}

/// During a slowed download from `tunstack up`, `tunstack ss` (run on the host, entering
/// the stack's namespace) lists the connection as `ss -ti` would, and `tunstack stats`
/// shows the counters and, with `-d`, that segments went out in the interval.
#[test]
fn ss_and_stats_against_a_running_stack() {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    let ns = common::NetNs::new();
    let www = TempDir::new("watch-www");
    let mut data = vec![0u8; 8 << 20];
    tunstack::rand::Rng::new(3).fill(&mut data);
    std::fs::write(www.0.join("slow.bin"), &data).unwrap();
    let t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--tun",
        "tswatch0",
        "--www",
        www.path(),
    ]);
    const PORT: &str = "45679";
    let _download = ns.spawn_cmd(
        "curl",
        &[
            "-sS",
            "--limit-rate",
            "400K",
            "--local-port",
            PORT,
            "-m",
            "60",
            "-o",
            "/dev/null",
            "http://10.77.0.2/slow.bin",
        ],
    );
    let peer = format!("10.77.0.1:{PORT}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let (row, info) = loop {
        let (code, out, err) = run(&["ss", "--netns", ns.name()]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("State"), "{out}");
        // The row may show the handshake's SYN-RECV for a moment (a loaded machine
        // caught it once): wait for the download's established connection.
        let row = lines.iter().position(|l| l.contains(&peer));
        if let Some(i) = row.filter(|&i| lines[i].starts_with("ESTAB")) {
            break (lines[i].to_string(), lines[i + 1].to_string());
        }
        assert!(Instant::now() < deadline, "no ESTAB row for {peer}:\n{out}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let w: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(w[0], "ESTAB", "{row}");
    assert!(w[1].parse::<u64>().unwrap() > 0, "an id: {row}");
    assert_eq!(w[2..], ["10.77.0.2:80", peer.as_str()], "{row}");
    let field = |name: &str| -> u64 {
        info.split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {info}"))
    };
    assert!(info.starts_with('\t'), "{info:?}");
    assert_eq!(field("mss:"), 1460, "{info}");
    assert!(field("cwnd:") >= 10, "{info}");
    assert!(field("rto:") >= 200, "{info}");
    assert!(field("segs_out:") > 0, "{info}");
    assert!(info.contains(" rtt:"), "{info}");

    // The same from the address given explicitly, from inside the namespace.
    let out = ns.exec_ok(BIN, &["ss", "10.77.0.2"]);
    assert!(out.contains(&peer), "{out}");

    let (code, out, err) = run(&["stats", "--netns", ns.name()]);
    assert_eq!(code, 0, "{err}");
    assert!(counter(&out, "TcpPassiveOpens") >= 2, "curl and ss: {out}");
    assert!(counter(&out, "TcpOutSegs") > 0, "{out}");
    // With -z, counters that did not change in the second are shown too: the kernel's
    // receive window may hold the rate-limited download back for a whole second.
    let (code, out, err) = run(&["stats", "--netns", ns.name(), "-d", "1", "-c", "2", "-z"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.matches("#tunstack 10.77.0.2:80 over").count(),
        2,
        "{out}"
    );
    let first = out.split("#tunstack").nth(1).unwrap();
    let line = first
        .lines()
        .find(|l| l.starts_with("TcpOutSegs"))
        .unwrap_or_else(|| panic!("segments went out in the second:\n{out}"));
    let w: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    // Rate-limited to 400 KB/s: about 280 segments a second on average once the
    // kernel's receive buffer (autotuned up to 6 MB) has filled, which the first seconds
    // may still be doing at full speed, and bursty as its window opens; the rate column
    // is the delta over the interval.
    assert!(w[0] < 20_000.0, "{line}");
    assert!(
        (w[1] - w[0]).abs() <= (w[0] * 0.2).max(1.0),
        "rate is per second: {line}"
    );
    drop(t);
}
