//! Helpers shared by the HTTP benchmarks (include with
//! `#[path = "support/http.rs"] mod http_support;` beside `mod common;`): the release
//! `tunstack` binary, `tunstack up --www` in a namespace, and wrk runs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The release `tunstack` binary beside this bench's executable
/// (`target/release/deps/http_wrk-*` → `target/release/tunstack`), built (or brought up
/// to date) first with cargo.
///
/// `TUNSTACK_BENCH_BIN=PATH` uses that binary instead (an older build, to compare in one
/// session).
pub fn release_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("TUNSTACK_BENCH_BIN") {
        let bin = PathBuf::from(bin);
        println!(
            "note: tunstack binary {} (TUNSTACK_BENCH_BIN)",
            bin.display()
        );
        return Ok(bin);
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot place the bench executable")?;
    let bin = dir.join("tunstack");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let target_dir = dir.parent().ok_or("cannot place the target directory")?;
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "tunstack-apps",
            "--bin",
            "tunstack",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) if bin.is_file() => println!("note: cargo build exited {s}; using {}", bin.display()),
        Ok(s) => return Err(format!("cargo build exited {s}")),
        Err(e) if bin.is_file() => {
            println!("note: cannot run cargo ({e}); using {}", bin.display())
        }
        Err(e) => return Err(format!("cannot run cargo: {e}")),
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} is missing", bin.display()))
    }
}

/// `tunstack up` (the release binary) in the namespace on TUN device `tun`, serving `www`.
pub struct Stack {
    child: Option<Child>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Stack {
    pub fn up(bin: &Path, ns: &crate::common::NetNs, tun: &str, www: &Path) -> Stack {
        let mut child = Command::new(bin)
            .args(["up", "--netns", ns.name(), "--tun", tun, "--www"])
            .arg(www)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tunstack");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let s = Stack {
            child: Some(child),
            lines,
        };
        loop {
            match s.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) if l.starts_with("tunstack: up on") => return s,
                Ok(_) => {}
                Err(_) => panic!("tunstack did not come up"),
            }
        }
    }

    /// SIGTERM, then (exited cleanly, the counter lines it printed).
    pub fn stop(mut self) -> (bool, Vec<String>) {
        let mut child = self.child.take().expect("child");
        // SAFETY: kill takes no pointers; the pid is our own unreaped child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let ok = child.wait().is_ok_and(|s| s.success());
        let mut lines = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(l);
        }
        (ok, lines)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Counter `name` from the lines `tunstack` printed at exit ("0" when left out).
pub fn counter(lines: &[String], name: &str) -> String {
    lines
        .iter()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next().map(str::to_string))?
        })
        // The report leaves out counters that are zero.
        .unwrap_or_else(|| "0".into())
}

/// What one wrk run reported.
#[derive(Debug, Default)]
pub struct Wrk {
    /// Requests per second.
    pub rps: f64,
    /// Requests completed.
    pub requests: u64,
    /// connect, read, write, timeout; `None` when wrk printed no socket errors.
    pub errors: Option<[u64; 4]>,
    /// Answers that were not 2xx or 3xx.
    pub non_2xx: u64,
}

/// `wrk -t2 -cCONNS -dSECSs [EXTRA] URL` in `ns`, parsed.
pub fn wrk(ns: &crate::common::NetNs, url: &str, conns: u32, secs: u64, extra: &[&str]) -> Wrk {
    let d = format!("-d{secs}s");
    let c = format!("-c{conns}");
    let mut args = vec!["-t2", &c, &d];
    args.extend_from_slice(extra);
    args.push(url);
    let out = ns.exec("wrk", &args);
    let s = String::from_utf8_lossy(&out.stdout);
    let mut r = Wrk::default();
    for l in s.lines().map(str::trim) {
        if let Some((n, _)) = l.split_once(" requests in ") {
            r.requests = n.trim().parse().unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(rest) = l.strip_prefix("Socket errors:") {
            let n: Vec<u64> = rest
                .split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse().ok())
                .collect();
            r.errors = Some(match n[..] {
                [a, b, c, d] => [a, b, c, d],
                _ => [u64::MAX; 4],
            });
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            r.non_2xx = v.trim().parse().unwrap_or(u64::MAX);
        }
    }
    if !out.status.success() {
        println!(
            "wrk {args:?} failed: {}{}",
            s,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    r
}
