//! DNS queries per second: the `tunstack up` server (release build of the `tunstack`
//! binary) over its TUN device, beside the same server code (`tunstack_apps::dns::server`,
//! same zones) on the kernel's `std::net` sockets, in the same namespace and the same run.
//!
//! In a fresh network namespace, `tunstack up --tun tsq0` answers at 10.77.0.2:53 (kernel
//! side 10.77.0.1/24); `dns::server::spawn` runs the default zones on UDP and TCP
//! 10.77.0.1:5353. The load generator is a kernel UDP socket in the namespace, connected to
//! one server, keeping a fixed number of queries outstanding (a closed loop, like
//! `dnsperf -q N`): each answer releases the next query; a query unanswered for 250 ms
//! counts as lost and is replaced. Answers are matched by ID and their response code
//! checked. The two targets alternate, repetition by repetition, so they see the same
//! machine load; the figure is the median (min-max) over the repetitions of answers per
//! second.
//!
//! What the ratio compares: the same authoritative server loop, on tunstack's UDP socket
//! (its runtime thread, the TUN device, the kernel's TUN path) versus on a kernel socket
//! reached over the namespace's loopback path.
//!
//! `cargo bench --bench dns_qps` (as root; builds the release `tunstack` binary if it is
//! missing or older than the sources). `TUNSTACK_BENCH_LONG=1` runs 5 s per measurement
//! instead of 0.6 s; `TUNSTACK_BENCH_REPS=n` sets the repetitions (default 5).
//!
//! On a 2-CPU machine the figures move a lot from one repetition to the next (the
//! load generator, tunstack's runtime thread and its DNS thread share two CPUs, and
//! where the scheduler puts them decides much): read the medians, and the ranges.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime};

use support::Row;
use tunstack_apps::dns::server::{self, Catalog, Server, ServerConfig};
use tunstack_apps::dns::zone::default_zones;
use tunstack_apps::dns::{Edns, Message, Name, Question, RType, Rcode};

const TUN: &str = "tsq0";
const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const KERNEL_PORT: u16 = 5353;
/// A query unanswered this long is lost.
const LOST_AFTER: Duration = Duration::from_millis(250);

/// One kind of query and how many are kept outstanding.
struct Scenario {
    label: &'static str,
    name: &'static str,
    rtype: RType,
    rcode: Rcode,
    window: usize,
}

const SCENARIOS: [Scenario; 6] = [
    Scenario {
        label: "A tunstack.test, 1 outstanding",
        name: "tunstack.test",
        rtype: RType::A,
        rcode: Rcode::NOERROR,
        window: 1,
    },
    Scenario {
        label: "A tunstack.test, 16 outstanding",
        name: "tunstack.test",
        rtype: RType::A,
        rcode: Rcode::NOERROR,
        window: 16,
    },
    Scenario {
        label: "A tunstack.test, 64 outstanding",
        name: "tunstack.test",
        rtype: RType::A,
        rcode: Rcode::NOERROR,
        window: 64,
    },
    Scenario {
        label: "A www (CNAME chase), 64 outstanding",
        name: "www.tunstack.test",
        rtype: RType::A,
        rcode: Rcode::NOERROR,
        window: 64,
    },
    Scenario {
        label: "NXDOMAIN, 64 outstanding",
        name: "nosuch.tunstack.test",
        rtype: RType::A,
        rcode: Rcode::NXDOMAIN,
        window: 64,
    },
    Scenario {
        label: "TXT big (942-byte answer), 16 outstanding",
        name: "big.tunstack.test",
        rtype: RType::TXT,
        rcode: Rcode::NOERROR,
        window: 16,
    },
];

fn main() {
    println!("dns_qps: DNS queries per second, tunstack over TUN beside the kernel's sockets");
    if !support::root_or_skip("dns_qps") {
        return;
    }
    let bin = match tunstack_binary() {
        Ok(b) => b,
        Err(e) => {
            println!("skipped: dns_qps: no release tunstack binary: {e}");
            return;
        }
    };
    let per_run = if support::long() {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(600)
    };
    let reps = support::env_usize("TUNSTACK_BENCH_REPS", 5);
    let started = Instant::now();

    let ns = common::NetNs::new();
    let mut tunstack = match Up::start(&bin, ns.name()) {
        Ok(t) => t,
        Err(e) => {
            println!("skipped: dns_qps: tunstack did not come up: {e}");
            return;
        }
    };
    // The kernel's copy of the server: the zones `tunstack up` serves.
    let kernel = Arc::new(Server::new(
        Catalog::new(default_zones(STACK, &[STACK])),
        ServerConfig::default(),
    ));
    let (udp, tcp) = ns.run(|| {
        let a = SocketAddr::from((HOST, KERNEL_PORT));
        (
            UdpSocket::bind(a).expect("bind the kernel server (UDP)"),
            TcpListener::bind(a).expect("bind the kernel server (TCP)"),
        )
    });
    server::spawn(&kernel, udp, tcp).expect("start the kernel server");

    let targets = [
        SocketAddr::from((STACK, 53)),
        SocketAddr::from((HOST, KERNEL_PORT)),
    ];
    let mut rows = Vec::new();
    let mut totals = [Totals::default(), Totals::default()];
    for sc in &SCENARIOS {
        let query = query_bytes(sc);
        // Warm up both (page faults, caches, the ARP-free TUN path).
        for t in targets {
            let _ = ns.run(|| load(t, &query, sc, Duration::from_millis(150)));
        }
        let mut qps: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..reps {
            for (i, t) in targets.iter().enumerate() {
                let r = ns.run(|| load(*t, &query, sc, per_run)).expect("load run");
                qps[i].push(r.answered as f64 / r.elapsed.as_secs_f64());
                totals[i].add(&r);
            }
        }
        rows.push(Row::new(sc.label, &qps[0], &qps[1], 0));
    }

    kernel.stop();
    let counters = tunstack.stop();
    drop(ns);

    println!(
        "{reps} repetitions of {:.1} s per target and scenario, alternating; queries per \
         second: median (min-max); ratio = tunstack / kernel",
        per_run.as_secs_f64()
    );
    println!(
        "tunstack: `tunstack up` (release binary) at {STACK}:53 over TUN {TUN}; kernel: the \
         same server code on std::net sockets at {HOST}:{KERNEL_PORT}; load: one kernel UDP \
         socket per run, closed loop"
    );
    println!();
    support::print_table(["scenario", "tunstack", "kernel", "ratio"], &rows);
    println!();
    for (name, t) in ["tunstack", "kernel"].iter().zip(&totals) {
        println!(
            "{name}: {} queries sent, {} answered, {} lost (unanswered after {} ms), {} wrong \
             (unknown ID or unexpected response code)",
            t.sent,
            t.answered,
            t.lost,
            LOST_AFTER.as_millis(),
            t.wrong
        );
    }
    let get = |n: &str| support_counter(&counters, n);
    println!(
        "tunstack's counters: DnsQueriesUdp {}, UdpInDatagrams {}, UdpRcvbufErrors {}; \
         kernel server: {} UDP queries",
        get("DnsQueriesUdp"),
        get("UdpInDatagrams"),
        get("UdpRcvbufErrors"),
        kernel.stats().queries_udp
    );
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}

fn support_counter(lines: &[String], name: &str) -> u64 {
    lines
        .iter()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name))
                .then(|| w.next()?.parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

/// The query for `sc`, with EDNS0 (1232 bytes, as dig and the resolver send), ID 0.
fn query_bytes(sc: &Scenario) -> Vec<u8> {
    let name = Name::parse(sc.name).expect("a valid name");
    let mut m = Message::query(0, Question::new(name, sc.rtype));
    m.edns = Some(Edns::new(1232));
    m.to_bytes().expect("a small query")
}

/// What one load run did.
#[derive(Debug, Default)]
struct RunResult {
    sent: u64,
    answered: u64,
    lost: u64,
    wrong: u64,
    elapsed: Duration,
}

#[derive(Debug, Default)]
struct Totals {
    sent: u64,
    answered: u64,
    lost: u64,
    wrong: u64,
}

impl Totals {
    fn add(&mut self, r: &RunResult) {
        self.sent += r.sent;
        self.answered += r.answered;
        self.lost += r.lost;
        self.wrong += r.wrong;
    }
}

/// Keeps `sc.window` copies of `query` (IDs counting up) outstanding at `target` for
/// `dur`; answers counted are those that arrive within `dur`. Runs on the caller's thread,
/// which must be in the namespace.
fn load(target: SocketAddr, query: &[u8], sc: &Scenario, dur: Duration) -> io::Result<RunResult> {
    let sock = UdpSocket::bind((HOST, 0))?;
    sock.connect(target)?;
    sock.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut q = query.to_vec();
    // When each outstanding ID was sent (None: not outstanding).
    let mut pending: Vec<Option<Instant>> = vec![None; 1 << 16];
    let mut in_flight = 0usize;
    let mut next_id: u16 = 0;
    let mut r = RunResult::default();
    let mut buf = vec![0u8; 4096];
    let start = Instant::now();
    let deadline = start + dur;
    let mut send = |pending: &mut Vec<Option<Instant>>, r: &mut RunResult| -> io::Result<()> {
        // Skip IDs still outstanding (possible only after 65536 sends with losses).
        while pending[usize::from(next_id)].is_some() {
            next_id = next_id.wrapping_add(1);
        }
        q[..2].copy_from_slice(&next_id.to_be_bytes());
        match sock.send(&q) {
            Ok(_) => {}
            // An ICMP error from an earlier datagram; this one was not sent.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e),
        }
        pending[usize::from(next_id)] = Some(Instant::now());
        next_id = next_id.wrapping_add(1);
        r.sent += 1;
        Ok(())
    };
    while in_flight < sc.window {
        send(&mut pending, &mut r)?;
        in_flight += 1;
    }
    let mut last_sweep = start;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        match sock.recv(&mut buf) {
            Ok(n) => {
                let Some(id) = buf.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
                    r.wrong += 1;
                    continue;
                };
                let ok = Message::parse(&buf[..n])
                    .map(|m| m.header.qr && m.rcode() == sc.rcode)
                    .unwrap_or(false);
                if pending[usize::from(id)].take().is_none() || !ok {
                    r.wrong += 1;
                    continue;
                }
                r.answered += 1;
                in_flight -= 1;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e),
        }
        // Give up on queries unanswered for too long.
        let now = Instant::now();
        if now.duration_since(last_sweep) >= LOST_AFTER / 2 {
            last_sweep = now;
            for p in pending.iter_mut() {
                if p.is_some_and(|t| now.duration_since(t) >= LOST_AFTER) {
                    *p = None;
                    r.lost += 1;
                    in_flight -= 1;
                }
            }
        }
        while in_flight < sc.window && now < deadline {
            send(&mut pending, &mut r)?;
            in_flight += 1;
        }
    }
    r.elapsed = start.elapsed();
    // Drain what is still in flight, so it does not meet the next run's socket.
    let drain_until = Instant::now() + LOST_AFTER;
    while in_flight > 0 && Instant::now() < drain_until {
        if let Ok(n) = sock.recv(&mut buf) {
            if n >= 2
                && pending[usize::from(u16::from_be_bytes([buf[0], buf[1]]))]
                    .take()
                    .is_some()
            {
                in_flight -= 1;
            }
        }
    }
    Ok(r)
}

/// The release `tunstack` binary beside this benchmark's own (`target/release/`), built
/// with `cargo build --release -p tunstack-apps --bin tunstack` if it is missing or older
/// than the sources of `apps/` and `stack/`.
fn tunstack_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/release/deps/dns_qps-HASH -> target/release
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot place the target directory")?;
    let bin = dir.join("tunstack");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let newest_source = [
        "apps/src",
        "stack/src",
        "apps/Cargo.toml",
        "stack/Cargo.toml",
    ]
    .iter()
    .filter_map(|p| newest_mtime(&root.join(p)))
    .max();
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let fresh = match (built, newest_source) {
        (Some(b), Some(s)) => b >= s,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !fresh {
        println!("building the release tunstack binary (cargo build --release -p tunstack-apps)");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "tunstack-apps",
                "--bin",
                "tunstack",
            ])
            .current_dir(root)
            .env("CARGO_TARGET_DIR", dir.parent().unwrap_or(dir))
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build failed ({status})"));
        }
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} not found", bin.display()))
    }
}

/// The latest modification time of `path` or anything below it.
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    let own = meta.modified().ok();
    if !meta.is_dir() {
        return own;
    }
    let children = std::fs::read_dir(path).ok()?;
    children
        .flatten()
        .filter_map(|e| newest_mtime(&e.path()))
        .chain(own)
        .max()
}

/// A running `tunstack up`.
struct Up {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
}

impl Up {
    /// Starts `BIN up --netns NS --tun tsq0` and waits for its ready line.
    fn start(bin: &Path, ns: &str) -> Result<Up, String> {
        let mut child = Command::new(bin)
            .args(["up", "--netns", ns, "--tun", TUN])
            // Its web server warns when the stack stops under it; only errors matter here.
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let up = Up {
            child: Some(child),
            lines: rx,
        };
        loop {
            match up.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) if l.starts_with("tunstack: up on") => return Ok(up),
                Ok(_) => {}
                Err(_) => return Err("no ready line within 20 s".into()),
            }
        }
    }

    /// SIGTERM, then the lines it printed on the way out (its counters).
    fn stop(&mut self) -> Vec<String> {
        let Some(mut child) = self.child.take() else {
            return Vec::new();
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill takes no pointers; `pid` is our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = child.wait();
        let mut out = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            out.push(l);
        }
        out
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
