//! HTTP requests per second: the `tunstack` binary's event-driven web server
//! (`tunstack up --www DIR`, release build) through its TUN device, beside nginx (Debian's
//! `nginx-light`, one worker) on the kernel's stack over a veth pair with offloads off,
//! and beside the SAME server code (`tunstack_apps::http::Server`) on the kernel's sockets
//! over that veth pair — one run, one table.
//!
//! Two namespaces: the client's, holding wrk, the TUN device's kernel side
//! (10.77.0.1/24, tunstack at 10.77.0.2) and one end of a veth pair (10.88.0.1/24); and
//! the servers', holding the other end (10.88.0.2/24) with nginx on port 80 and the
//! kernel-socket server on port 8080. TSO, GSO, GRO, scatter-gather and checksum offloads
//! are off on both veth ends, so the kernel does per-packet work as tunstack does. Every
//! server serves the same 4 KiB file; `wrk -t2 -c64 -d5s` keep-alive, then with
//! `Connection: close` (a TCP connection per request). Every answer must be a 200.
//!
//! Goals (issue 12): keep-alive ≥ 1.0× nginx, close ≥ 0.7× nginx. The machine may have
//! few cores: wrk and the servers share them on every side alike.
//!
//! `cargo bench --bench http_nginx` as root, with `wrk` and `nginx` installed
//! (`apt-get install wrk nginx-light`; CI does not install nginx, the benchmark skips
//! without it). `TUNSTACK_BENCH_LONG=1` runs wrk 15 s; `TUNSTACK_BENCH_REPS=n` repeats
//! (median reported). `TUNSTACK_BENCH_MODE=close` (or `keep-alive`) runs only that
//! scenario; `TUNSTACK_BENCH_BIN=PATH` measures that tunstack binary instead of this
//! tree's release build (the kernel-socket side is always this tree's server code).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/http.rs"]
mod http_support;
#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_support::{counter, release_binary, wrk, Stack};

const TUN: &str = "tshngx0";
const FILE: &str = "/4k.html";
const CONNS: u32 = 64;

fn main() {
    println!("http_nginx: tunstack's HTTP server beside nginx and beside itself on kernel sockets");
    let started = Instant::now();
    if !support::root_or_skip("http_nginx") {
        return;
    }
    for tool in ["wrk", "nginx", "ethtool"] {
        if common::find_tool(tool).is_none() {
            println!("skipped: http_nginx: needs `{tool}` on the PATH (apt-get install wrk nginx-light ethtool)");
            return;
        }
    }
    let bin = match release_binary() {
        Ok(b) => b,
        Err(e) => {
            println!("skipped: http_nginx: no release tunstack binary: {e}");
            return;
        }
    };
    let secs = if support::long() { 15 } else { 5 };
    let reps = support::env_usize("TUNSTACK_BENCH_REPS", 1);
    let www = web_root();

    let cli = common::NetNs::new();
    let srv = common::NetNs::new();
    let stack = Stack::up(&bin, &cli, TUN, &www);
    veth(&cli, &srv);
    let _nginx = Nginx::start(&srv, &www);
    let server = Arc::new(
        tunstack_apps::http::Server::new(tunstack_apps::http::Config {
            root: Some(www.clone()),
            ..Default::default()
        })
        .expect("the kernel-socket server"),
    );
    let listener = srv
        .run(|| std::net::TcpListener::bind("10.88.0.2:8080"))
        .expect("bind the kernel-socket server");
    server
        .spawn(listener)
        .expect("start the kernel-socket server");
    wait_ready(&cli, "http://10.88.0.2/4k.html");

    let sides = [
        ("tunstack", "http://10.77.0.2"),
        ("nginx", "http://10.88.0.2"),
        ("same code, kernel", "http://10.88.0.2:8080"),
    ];
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mode = std::env::var("TUNSTACK_BENCH_MODE").unwrap_or_default();
    for (label, extra) in [
        ("keep-alive", &[][..]),
        ("Connection: close", &["-H", "Connection: close"][..]),
    ] {
        let close = !extra.is_empty();
        if (mode == "close" && !close) || (mode == "keep-alive" && close) {
            continue;
        }
        let mut rps = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..reps {
            for (i, (side, base)) in sides.iter().enumerate() {
                let r = wrk(&cli, &format!("{base}{FILE}"), CONNS, secs, extra);
                if r.requests == 0 || r.errors.is_some() || r.non_2xx > 0 {
                    notes.push(format!(
                        "{label}, {side}: {} requests, socket errors (connect, read, write, \
                         timeout) {:?}, non-2xx {}",
                        r.requests, r.errors, r.non_2xx
                    ));
                }
                rps[i].push(r.rps);
                // Let TIME-WAIT and queues settle between sides.
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        rows.push((label, rps.map(|v| support::median(&v))));
    }
    let (clean, counters) = stack.stop();
    notes.push(format!(
        "tunstack exited {}; TcpPassiveOpens {}, TcpRetransSegs {}, TcpExtListenOverflows {}, \
         TcpExtTunstackConnRefusedMax {}",
        if clean { "cleanly" } else { "with an error" },
        counter(&counters, "TcpPassiveOpens"),
        counter(&counters, "TcpRetransSegs"),
        counter(&counters, "TcpExtListenOverflows"),
        counter(&counters, "TcpExtTunstackConnRefusedMax"),
    ));
    drop(cli);
    drop(srv);

    println!();
    println!(
        "wrk -t2 -c{CONNS} -d{secs}s GET {FILE} (4 KiB), median of {reps}; req/s; goals: \
         keep-alive >= 1.0x nginx, close >= 0.7x nginx"
    );
    println!();
    println!(
        "{:<20} {:>12} {:>12} {:>18} {:>12} {:>14}",
        "scenario", "tunstack", "nginx", "same code, kernel", "vs nginx", "vs same code"
    );
    for (label, [ours, nginx, same]) in &rows {
        println!(
            "{:<20} {:>12.0} {:>12.0} {:>18.0} {:>11.2}x {:>13.2}x",
            label,
            ours,
            nginx,
            same,
            ours / nginx.max(1e-9),
            ours / same.max(1e-9)
        );
    }
    println!();
    for n in notes {
        println!("{n}");
    }
    println!("http_nginx took {:.1} s", started.elapsed().as_secs_f64());
}

/// The web root: the 4 KiB file every server serves.
fn web_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-nginx-www");
    std::fs::create_dir_all(&dir).expect("create the web root");
    let mut page = String::from("<!DOCTYPE html>\n<html><body>\n");
    while page.len() < 4096 - 16 {
        page.push_str("<p>tunstack, a TCP/IP stack in user space.</p>\n");
    }
    page.truncate(4096 - 16);
    page.push_str("\n</body></html>\n");
    assert_eq!(page.len(), 4096);
    std::fs::write(dir.join("4k.html"), page).expect("write 4k.html");
    dir
}

/// A veth pair from `cli` (10.88.0.1) to `srv` (10.88.0.2), offloads off on both ends.
fn veth(cli: &common::NetNs, srv: &common::NetNs) {
    cli.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "vcli",
            "type",
            "veth",
            "peer",
            "name",
            "vsrv",
            "netns",
            srv.name(),
        ],
    );
    for (ns, dev, addr) in [(cli, "vcli", "10.88.0.1/24"), (srv, "vsrv", "10.88.0.2/24")] {
        ns.exec_ok("ip", &["addr", "add", addr, "dev", dev]);
        ns.exec_ok("ip", &["link", "set", dev, "up"]);
        ns.exec_ok("ip", &["link", "set", "lo", "up"]);
        let out = ns.exec(
            "ethtool",
            &[
                "-K", dev, "tso", "off", "gso", "off", "gro", "off", "sg", "off", "tx", "off",
                "rx", "off",
            ],
        );
        if !out.status.success() {
            println!(
                "note: ethtool -K {dev}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
}

/// nginx with one worker in `ns`, serving `www` on 10.88.0.2:80; stopped on drop.
/// `tcp_nopush` (TCP_CORK) is off: with it on, nginx's keep-alive answers over the
/// offload-less veth ran at 7.5k-16k req/s against 33k-35k without it in the same session
/// (its close answers were unaffected), which flattered tunstack's keep-alive ratio.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(ns: &common::NetNs, www: &Path) -> Nginx {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("nginx directory");
        let conf = format!(
            "user root;\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log;\nevents {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush off;\n  \
             keepalive_requests 1000000;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             server {{ listen 10.88.0.2:80 backlog=4096; root {w}; }}\n}}\n",
            d = dir.display(),
            w = www.display()
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("write nginx.conf");
        let child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "nginx", "-c"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        Nginx { child, dir }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SAFETY: kill takes no pointers; the pid is our own unreaped child (`ip netns
        // exec` execs nginx, so it is the nginx master); SIGQUIT stops it gracefully.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGQUIT) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `url` answers from `ns` (nginx takes a moment to start).
fn wait_ready(ns: &common::NetNs, url: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if ns
            .exec("curl", &["-sf", "-o", "/dev/null", url])
            .status
            .success()
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} did not answer");
}
