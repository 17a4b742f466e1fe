//! HTTP requests per second and bulk download throughput: the `tunstack` binary's web
//! server (`tunstack up --www DIR`, release build) through its TUN device, beside the
//! SAME server code (`tunstack_apps::http::Server`) on the kernel's `std::net` sockets,
//! in the same namespace, in the same run.
//!
//! In a fresh namespace, `tunstack up` makes the TUN device (kernel side 10.77.0.1/24,
//! stack 10.77.0.2) and serves HTTP on 10.77.0.2:80; the kernel-side server listens on
//! 10.77.0.1:8080 (bound from a thread inside the namespace). Both serve the same web
//! root. The clients run in the namespace too:
//!
//! * `wrk -t2 -c50 -dNs` on the index page (a small HTML file), keep-alive, and with
//!   `-H "Connection: close"` (a TCP connection per request);
//! * `curl` of a 256 MiB file to /dev/null: one bulk download.
//!
//! What the comparison is: the kernel side talks to its own server over its loopback
//! path (no device at all), so the ratio is what tunstack's stack and TUN device cost
//! against the kernel's best case for the same application code. The machine may have
//! few cores: wrk, curl and the server share them on both sides alike.
//!
//! `cargo bench --bench http_wrk` (as root; wrk and curl installed). The release
//! `tunstack` binary is built first if needed (`cargo build --release -p tunstack-apps
//! --bin tunstack`). `TUNSTACK_BENCH_LONG=1` runs wrk 15 s per run; `TUNSTACK_BENCH_REPS=n`
//! sets the repetitions (default 1 for wrk, 2 for the download).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/http.rs"]
mod http_support;
#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_support::{counter, release_binary, wrk, Stack};
use support::Row;

const TUN: &str = "tshwrk0";
const STACK_URL: &str = "http://10.77.0.2";
const KERNEL_ADDR: &str = "10.77.0.1:8080";
const KERNEL_URL: &str = "http://10.77.0.1:8080";
const BULK: u64 = 256 << 20;

fn main() {
    println!("http_wrk: HTTP through tunstack's TUN device beside the same server on the kernel");
    let started = Instant::now();
    if !support::root_or_skip("http_wrk") {
        return;
    }
    for tool in ["wrk", "curl"] {
        if common::find_tool(tool).is_none() {
            println!("skipped: http_wrk: needs `{tool}` on the PATH (apt-get install {tool})");
            return;
        }
    }
    let t = Instant::now();
    let bin = match release_binary() {
        Ok(b) => b,
        Err(e) => {
            println!("skipped: http_wrk: no release tunstack binary: {e}");
            return;
        }
    };
    let build = t.elapsed();
    let long = support::long();
    let wrk_secs = if long { 15 } else { 5 };
    let wrk_reps = support::env_usize("TUNSTACK_BENCH_REPS", 1);
    let bulk_reps = support::env_usize("TUNSTACK_BENCH_REPS", 2);
    let www = web_root();

    let ns = common::NetNs::new();
    let stack = Stack::up(&bin, &ns, TUN, &www);
    let server = Arc::new(
        tunstack_apps::http::Server::new(tunstack_apps::http::Config {
            root: Some(www.clone()),
            ..Default::default()
        })
        .expect("the kernel-side server"),
    );
    // 10.77.0.1 exists once tunstack has configured its TUN device's kernel side.
    let listener = ns.run(|| std::net::TcpListener::bind(KERNEL_ADDR));
    let listener = listener.expect("bind the kernel-side server");
    server
        .spawn(listener)
        .expect("start the kernel-side server");

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (label, extra) in [
        ("wrk keep-alive, req/s", &[][..]),
        (
            "wrk Connection: close, req/s",
            &["-H", "Connection: close"][..],
        ),
    ] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..wrk_reps {
            for (side, base, out) in [
                ("tunstack", STACK_URL, &mut ours),
                ("kernel", KERNEL_URL, &mut theirs),
            ] {
                let r = wrk(&ns, &format!("{base}/"), 50, wrk_secs, extra);
                if r.requests == 0 || r.errors.is_some() || r.non_2xx > 0 {
                    notes.push(format!(
                        "{label}, {side}: {} requests, socket errors (connect, read, write, \
                         timeout) {:?}, non-2xx {}",
                        r.requests, r.errors, r.non_2xx
                    ));
                }
                out.push(r.rps);
            }
        }
        rows.push(Row::new(label, &ours, &theirs, 0));
    }

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..bulk_reps {
        for (side, base, out) in [
            ("tunstack", STACK_URL, &mut ours),
            ("kernel", KERNEL_URL, &mut theirs),
        ] {
            match bulk(&ns, base) {
                Ok(gbps) => out.push(gbps),
                Err(e) => notes.push(format!("bulk download, {side}: {e}")),
            }
        }
    }
    rows.push(Row::new(
        format!("curl {} MiB download, Gbit/s", BULK >> 20),
        &ours,
        &theirs,
        2,
    ));

    // Every `Connection: close` connection ends in TIME-WAIT on the server (it closes
    // first); tunstack keeps them 2 MSL (60 s), and the kernel client, not knowing,
    // reuses their ports.
    let listing = ns.exec_ok(
        "curl",
        &[
            "-sS",
            "-m",
            "10",
            &format!("{STACK_URL}/_stack/connections"),
        ],
    );
    notes.push(format!(
        "tunstack connections after the runs: {} in TIME-WAIT, {} in all",
        listing.matches("\"TIME-WAIT\"").count(),
        listing.matches("\"state\"").count()
    ));
    let (clean, counters) = stack.stop();
    notes.push(format!(
        "tunstack exited {}; TcpPassiveOpens {}, TcpRetransSegs {}, TcpEstabResets {} \
         (wrk closing keep-alive connections with requests in flight), \
         TcpExtTCPChallengeACK {} (SYNs that hit a TIME-WAIT connection)",
        if clean { "cleanly" } else { "with an error" },
        counter(&counters, "TcpPassiveOpens"),
        counter(&counters, "TcpRetransSegs"),
        counter(&counters, "TcpEstabResets"),
        counter(&counters, "TcpExtTCPChallengeACK"),
    ));
    if build > Duration::from_secs(2) {
        notes.push(format!(
            "building the release tunstack binary took {:.1} s (in the total below)",
            build.as_secs_f64()
        ));
    }
    drop(ns);

    println!();
    println!(
        "wrk -t2 -c50 -d{wrk_secs}s on the index page ({wrk_reps} run(s) each) and a single \
         curl download (median of {bulk_reps}); kernel = the same server on std::net at \
         {KERNEL_ADDR} in the same namespace; ratio = tunstack / kernel"
    );
    println!();
    support::print_table(["scenario", "tunstack", "kernel", "ratio"], &rows);
    println!();
    for n in notes {
        println!("{n}");
    }
    println!("http_wrk took {:.1} s", started.elapsed().as_secs_f64());
}

/// The web root, made once and kept in Cargo's scratch directory: `index.html` (a small
/// page, what wrk asks for) and `big.bin` (256 MiB of pseudo-random bytes).
fn web_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-wrk-www");
    std::fs::create_dir_all(&dir).expect("create the web root");
    let mut index = String::from(
        "<!DOCTYPE html>\n<html><head><title>tunstack</title></head>\n<body><h1>tunstack</h1>\n",
    );
    for i in 0..8 {
        index.push_str(&format!(
            "<p>Paragraph {i}: a TCP/IP stack written from scratch, in user space, over a \
             Linux TUN device.</p>\n"
        ));
    }
    index.push_str("</body></html>\n");
    std::fs::write(dir.join("index.html"), index).expect("write index.html");
    let big = dir.join("big.bin");
    if std::fs::metadata(&big).map(|m| m.len()).ok() != Some(BULK) {
        let tmp = dir.join(format!("big.bin.{}", std::process::id()));
        let mut data = vec![0u8; BULK as usize];
        tunstack::rand::Rng::new(42).fill(&mut data);
        std::fs::write(&tmp, &data).expect("write big.bin");
        std::fs::rename(&tmp, &big).expect("rename big.bin");
    }
    dir
}

/// One `curl` of big.bin to /dev/null: Gbit/s of body over curl's total time.
fn bulk(ns: &common::NetNs, base: &str) -> Result<f64, String> {
    let url = format!("{base}/big.bin");
    let out = ns.exec(
        "curl",
        &[
            "-sS",
            "--fail",
            "-m",
            "60",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download} %{time_total}",
            &url,
        ],
    );
    let s = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "curl failed ({}): {s}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut w = s.split_whitespace();
    let size: u64 = w.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let secs: f64 = w.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    if size != BULK || secs <= 0.0 {
        return Err(format!("curl got {size} bytes in {secs} s"));
    }
    Ok(size as f64 * 8.0 / secs / 1e9)
}
