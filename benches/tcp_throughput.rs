//! TCP bulk throughput, each figure beside its comparisons measured in the same run.
//!
//! * **in memory**: tunstack to tunstack through `tunstack::sim::Sim` in virtual time,
//!   beside smoltcp to smoltcp over in-memory queues, same buffers (256 KiB each side),
//!   same MTU (1500), one thread each. Virtual time makes the network free, so the wall
//!   time is the CPU cost of the two stacks (and the harness) for the bytes moved.
//!   smoltcp runs without congestion control here (`CongestionControl::None`, what it
//!   did before its CUBIC feature was enabled for the TUN part), so the figure keeps
//!   its meaning.
//! * **over TUN, one table, both directions** (kernel -> X: the kernel writes to X's
//!   discard port 9 and waits for X to close; X -> kernel: the kernel reads from X's
//!   chargen port 19 with 1 MiB reads), Gbit/s of payload, median of the repetitions,
//!   and CPU seconds per GiB moved, for the whole machine (`/proc/stat` busy time, so
//!   softirq counts) and for this process alone:
//!   - tunstack as `tunstack up` runs it (`tunstack_apps::up::bring_up` and its
//!     discard and chargen services, in this process), with offloads and without;
//!   - smoltcp 0.14 over `phy::TunTapInterface`, 1 MiB socket buffers, CUBIC;
//!   - the raw TUN pump, one 1500-byte packet per syscall each way (bytes count whole
//!     packets here): reads of a kernel UDP flood, writes of prebuilt UDP packets;
//!   - the kernel to the kernel over a veth pair between two namespaces, offloads
//!     off (`rx tx sg tso gso gro`, set by the ethtool ioctl) and on.
//!
//!   Every kernel socket uses CUBIC (`TCP_CONGESTION`). Repetitions go round all the
//!   systems in turn, so a noisy machine hurts them alike; the ratios are the figures
//!   to compare between runs.
//! * **over TUN, 1% loss**: tunstack's links impaired to drop 1% of frames each way,
//!   beside the kernel over the veth (offloads off) with nftables dropping 1% of TCP
//!   packets at the input hook of both namespaces (skipped without `nft`).
//!
//! `cargo bench --bench tcp_throughput` (the TUN parts as root). Knobs:
//! `TUNSTACK_BENCH_LONG=1` moves 1 GiB per transfer (default 256 MiB),
//! `TUNSTACK_BENCH_MIB=n` sets it directly, `TUNSTACK_BENCH_REPS=n` the repetitions
//! (default 3), `TUNSTACK_BENCH_ONLY=a,b` the parts (`memory`, `tunstack`, `smoltcp`,
//! `raw`, `veth`, `loss`; `tun` = the four TUN-table parts; `tunstack-tso` and
//! `tunstack-plain` = tunstack with offloads or `--no-offload` alone; default all),
//! `TUNSTACK_BENCH_DIR=in|out` one direction of the table (`in`: kernel -> X, `out`:
//! X -> kernel; default both), e.g. to profile one of them with `perf record -a`;
//! `TUNSTACK_BENCH_WRITER=auto|thread|inline` tunstack's writer threads (`tunstack up
//! --writer`).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/kernel.rs"]
mod kernel;
#[path = "support/raw_tun.rs"]
mod raw_tun;
#[path = "support/smol.rs"]
mod smol;
#[path = "support/smol_tun.rs"]
mod smol_tun;
#[path = "support/mod.rs"]
mod support;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use common::NetNs;
use cpu::{CpuClock, CpuSpent};
use support::{gbps, median, Row};
use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::ImpairConfig;
use tunstack::rand::Rng;
use tunstack::sim::Sim;
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::TcpConfig;
use tunstack_apps::config::{IfaceSpec, Setup};
use tunstack_apps::services::{self, Service, ServiceConfig};
use tunstack_apps::up::{bring_up, LinkOptions, Running};

const MIB: u64 = 1 << 20;
/// Socket buffers on each side, for both stacks in memory.
const BUFFER: usize = 256 * 1024;
/// The application's read and write size in memory.
const CHUNK: usize = 64 * 1024;

const SIM_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SIM_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Which parts run (`TUNSTACK_BENCH_ONLY`).
struct Parts(Vec<String>);

impl Parts {
    fn from_env() -> Parts {
        let v = std::env::var("TUNSTACK_BENCH_ONLY").unwrap_or_default();
        Parts(
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    fn wants(&self, part: &str) -> bool {
        let tun_part = matches!(part, "tunstack" | "smoltcp" | "raw" | "veth");
        let half = matches!(part, "tunstack-tso" | "tunstack-plain");
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|p| p == part || (p == "tun" && tun_part) || (p == "tunstack" && half))
    }
}

fn main() {
    println!(
        "tcp_throughput: bulk TCP, tunstack beside smoltcp, the raw TUN device and the kernel"
    );
    let started = Instant::now();
    let parts = Parts::from_env();
    let reps = support::env_usize("TUNSTACK_BENCH_REPS", 3).max(1);
    let default_mib = if support::long() { 1024 } else { 256 };
    let total = support::env_usize("TUNSTACK_BENCH_MIB", default_mib).max(1) as u64 * MIB;
    let mut notes = Vec::new();
    println!(
        "{} MiB per transfer, {reps} repetitions; {} CPUs, busy before the run: {:.2} CPUs",
        total / MIB,
        cpu::cpus(),
        cpu::background_load(Duration::from_secs(1))
    );

    if parts.wants("memory") {
        in_memory(reps, total, &mut notes);
    }
    let table = ["tunstack-tso", "tunstack-plain", "smoltcp", "raw", "veth"]
        .iter()
        .any(|p| parts.wants(p));
    if (table || parts.wants("loss")) && support::root_or_skip("the TUN and veth scenarios") {
        let t = Instant::now();
        if table {
            tun_table(&parts, reps, total, &mut notes);
        }
        if parts.wants("loss") {
            lossy(reps, total, &mut notes);
        }
        notes.push(format!(
            "TUN and veth scenarios took {:.1} s; busy after the run: {:.2} CPUs",
            t.elapsed().as_secs_f64(),
            cpu::background_load(Duration::from_secs(1))
        ));
    }
    println!();
    for n in notes {
        println!("{n}");
    }
    println!(
        "tcp_throughput took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------------ in memory

fn in_memory(reps: usize, total: u64, notes: &mut Vec<String>) {
    let t = Instant::now();
    let (mut ours, mut smol_batched, mut smol_per_frame) = (Vec::new(), Vec::new(), Vec::new());
    let mut frames = [(0, 0); 3];
    for _ in 0..reps {
        let r = tunstack_sim(total);
        ours.push(gbps(r.bytes, r.wall));
        frames[0] = r.frames;
        let r = smol::transfer(total, BUFFER, CHUNK, false);
        smol_batched.push(gbps(r.bytes, r.wall));
        frames[1] = r.frames;
        let r = smol::transfer(total, BUFFER, CHUNK, true);
        smol_per_frame.push(gbps(r.bytes, r.wall));
        frames[2] = r.frames;
    }
    let mib = total / MIB;
    let rows = [
        Row::new(
            format!("in memory, {mib} MiB (vs smoltcp, batched polls; goal >= 1.5)"),
            &ours,
            &smol_batched,
            2,
        ),
        Row::new(
            format!("in memory, {mib} MiB (vs smoltcp, polled per frame)"),
            &ours,
            &smol_per_frame,
            2,
        ),
    ];
    println!();
    println!(
        "In memory: Gbit/s of payload, median of {reps} (min-max); ratio = tunstack / smoltcp"
    );
    println!();
    support::print_table(["scenario", "tunstack", "smoltcp", "ratio"], &rows);
    notes.push(format!(
        "in memory, frames carried data/ack direction: tunstack {}/{}, smoltcp {}/{} \
         (batched), {}/{} (per frame); took {:.1} s",
        frames[0].0,
        frames[0].1,
        frames[1].0,
        frames[1].1,
        frames[2].0,
        frames[2].1,
        t.elapsed().as_secs_f64()
    ));
}

/// What one transfer moved and in how long.
pub struct Outcome {
    pub bytes: u64,
    pub wall: Duration,
    /// Frames carried in the data direction and the ack direction.
    pub frames: (u64, u64),
}

/// A deterministic chunk of application data.
pub fn chunk() -> Vec<u8> {
    let mut v = vec![0u8; CHUNK];
    Rng::new(7).fill(&mut v);
    v
}

fn sim_stack(addr: Ipv4Addr, seed: u64) -> (Stack, tunstack::iface::IfaceId) {
    let cfg = StackConfig {
        tcp: TcpConfig {
            recv_buffer: BUFFER,
            recv_buffer_max: BUFFER, // fixed, as smoltcp's is
            send_buffer: BUFFER,
            send_buffer_max: BUFFER, // fixed, as smoltcp's is
            ..TcpConfig::default()
        },
        ..StackConfig::default()
    };
    let mut s = Stack::new(cfg, Rng::new(seed));
    let i = s.add_interface(InterfaceConfig::ip(
        "sim",
        Ipv4Cidr::new(addr, 24).expect("cidr"),
    ));
    (s, i)
}

/// tunstack A sends `total` bytes to tunstack B over a clean `Sim` link in virtual time;
/// the wall time counts from the first write to the last byte read.
fn tunstack_sim(total: u64) -> Outcome {
    let (a, ia) = sim_stack(SIM_A, 1);
    let (b, ib) = sim_stack(SIM_B, 2);
    let clean = ImpairConfig::default();
    let mut sim = Sim::new(a, ia, b, ib, clean.clone(), clean, 3);
    let server = SocketAddrV4::new(SIM_B, 80);
    let l = sim.b.tcp_listen(server, 4).expect("listen");
    let now = sim.now;
    let ca = sim.a.tcp_connect(now, server, None).expect("connect");
    let mut cb = None;
    assert!(sim.run_until(tunstack::time::Duration::from_secs(10), |s| {
        cb = s.b.tcp_accept(l).expect("accept");
        cb.is_some()
    }));
    let cb = cb.expect("accepted");
    let data = chunk();
    let mut buf = vec![0u8; CHUNK];
    let (mut sent, mut got) = (0u64, 0u64);
    let before = sim.delivered;
    let t0 = Instant::now();
    let done = sim.run_until(tunstack::time::Duration::from_secs(1_000_000), |s| {
        let now = s.now;
        while sent < total {
            let want = (total - sent).min(CHUNK as u64) as usize;
            match s.a.tcp_send(now, ca, &data[..want]) {
                Ok(n) if n > 0 => sent += n as u64,
                _ => break,
            }
        }
        loop {
            match s.b.tcp_recv(now, cb, &mut buf) {
                Ok(n) if n > 0 => got += n as u64,
                _ => break,
            }
        }
        got >= total
    });
    let wall = t0.elapsed();
    assert!(
        done,
        "tunstack in-memory transfer stalled at {got} of {total}"
    );
    Outcome {
        bytes: got,
        wall,
        frames: (sim.delivered.0 - before.0, sim.delivered.1 - before.1),
    }
}

// ------------------------------------------------------------------ over TUN and veth

/// Addresses: the kernel side of each TUN device is `10.77.N.1`, the stack behind it
/// `10.77.N.2`; the veth pair is 10.77.2.1 (client) - 10.77.2.2 (server).
fn net(n: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, n, host)
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// One repetition's figures: Gbit/s, and CPU seconds per GiB (machine, this process).
#[derive(Clone, Copy, Debug)]
struct Measure {
    gbps: f64,
    machine: f64,
    process: f64,
}

impl Measure {
    fn new(bytes: u64, wall: Duration, cpu: CpuSpent) -> Measure {
        let (machine, process) = cpu.per_gib(bytes);
        Measure {
            gbps: gbps(bytes, wall),
            machine,
            process,
        }
    }
}

/// The two directions: the kernel sends to X, X sends to the kernel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    KernelToX,
    XToKernel,
}

/// What is measured and how.
enum Kind<'a> {
    /// A TCP stack serving discard and chargen at `addr`, the kernel client in `client`;
    /// for the veth, the offloads to set on both ends first.
    Tcp {
        client: &'a NetNs,
        addr: Ipv4Addr,
        veth: Option<(&'a NetNs, &'a NetNs, bool)>,
    },
    /// The raw TUN device, the kernel side in `ns`.
    Raw {
        ns: &'a NetNs,
        tun: &'a raw_tun::RawTun,
    },
}

/// One row of the TUN table.
struct Subject<'a> {
    label: String,
    kind: Kind<'a>,
    /// Per direction (kernel -> X, X -> kernel), one entry per repetition.
    runs: [Vec<Measure>; 2],
    /// Said once, after the table.
    note: Option<String>,
}

impl Subject<'_> {
    fn run(&mut self, dir: Dir, total: u64, cap: Duration) {
        let m = match &self.kind {
            Kind::Tcp { client, addr, veth } => {
                if let Some((a, b, on)) = veth {
                    let on = *on;
                    let sa = a.run(move || kernel::set_offloads("tsv0", on));
                    let sb = b.run(move || kernel::set_offloads("tsv1", on));
                    match (sa, sb) {
                        (Ok(sa), Ok(sb)) => {
                            self.note.get_or_insert(format!(
                                "{}: client end {sa}; server end {sb}",
                                self.label
                            ));
                        }
                        (Err(e), _) | (_, Err(e)) => {
                            self.note = Some(format!(
                                "{}: setting the offloads failed ({e}): figures are for the \
                                 veth as it was",
                                self.label
                            ));
                        }
                    }
                }
                let addr = *addr;
                let c = CpuClock::now();
                let t = client.run(move || match dir {
                    Dir::KernelToX => kernel::send_to(sa(addr, kernel::DISCARD), total, cap),
                    Dir::XToKernel => kernel::recv_from(sa(addr, kernel::CHARGEN), total, cap),
                });
                Measure::new(t.bytes, t.wall, c.since())
            }
            Kind::Raw { ns, tun } => {
                let c = CpuClock::now();
                let p = match dir {
                    Dir::KernelToX => tun.read_flood(ns, total),
                    Dir::XToKernel => tun.write_flood(ns, total),
                }
                .unwrap_or_else(|e| panic!("raw TUN pump: {e}"));
                let m = Measure::new(p.bytes, p.wall, c.since());
                let what = match dir {
                    Dir::KernelToX => format!(
                        "read {} packets ({:.2} M/s), the kernel sent {} datagrams{}",
                        p.packets,
                        p.packets as f64 / p.wall.as_secs_f64() / 1e6,
                        p.seen,
                        if p.batched {
                            " (UDP GSO, paced by the reader)"
                        } else {
                            " (one per send, paced by the reader)"
                        }
                    ),
                    Dir::XToKernel => format!(
                        "wrote {} packets ({:.2} M/s), the kernel's UDP socket took {}",
                        p.packets,
                        p.packets as f64 / p.wall.as_secs_f64() / 1e6,
                        p.seen
                    ),
                };
                if self.runs[dir as usize].is_empty() {
                    let note = self
                        .note
                        .get_or_insert_with(|| "raw TUN pump, first repetition:".into());
                    note.push_str(&format!(" {what};"));
                }
                m
            }
        };
        self.runs[dir as usize].push(m);
    }
}

/// Brings tunstack up as `tunstack up` does, on TUN device `tun` in `ns` (kernel side
/// `10.77.n.1`, stack `10.77.n.2`), with its discard and chargen services.
fn tunstack_up(ns: &NetNs, tun: &str, n: u8, offload: bool, loss: f64) -> Running {
    let spec = IfaceSpec {
        tun: tun.into(),
        netns: Some(ns.name().into()),
        host_addr: Ipv4Cidr::new(net(n, 1), 24).expect("cidr"),
        addr: net(n, 2),
        mtu: 1500,
        // IPv4 only: the devices share a namespace, and the transfers are IPv4.
        host_addr6: None,
        addr6: None,
        ..IfaceSpec::default_single()
    };
    let setup = Setup {
        ifaces: vec![spec],
        routes: Vec::new(),
        routes6: Vec::new(),
        forwarding: false,
    };
    let link = LinkOptions {
        impair: ImpairConfig {
            loss,
            ..ImpairConfig::default()
        },
        seed: Some(11),
        no_offload: !offload,
        writer: writer_mode(),
        ..LinkOptions::default()
    };
    let running = bring_up(&setup, &link).unwrap_or_else(|e| panic!("tunstack up: {e}"));
    let h = running.runtime.handle();
    for svc in [Service::Discard, Service::Chargen] {
        services::spawn(&h, Ipv4Addr::UNSPECIFIED, svc, &ServiceConfig::default())
            .expect("tunstack service");
    }
    running
}

/// `TUNSTACK_BENCH_WRITER=auto|thread|inline`: which of tunstack's devices get a
/// writer thread (`tunstack up --writer`; default auto).
fn writer_mode() -> tunstack::socket::WriterMode {
    std::env::var("TUNSTACK_BENCH_WRITER")
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|e| panic!("TUNSTACK_BENCH_WRITER: {e}"))
        })
        .unwrap_or_default()
}

/// Counters worth reading after the runs, by `nstat` name (absent ones print `-`).
fn counters(label: &str, stats: &tunstack::stats::Stats) -> String {
    let names = [
        "TcpInSegs",
        "TcpOutSegs",
        "TcpRetransSegs",
        "TcpExtTCPFastRetrans",
        "TcpExtTCPTimeouts",
        "TunGsoIn",
        "TunGsoOut",
        "TunVnetHdrErrors",
    ];
    let kv: Vec<String> = names
        .iter()
        .map(|n| match stats.get(n) {
            Some(v) => format!("{n} {v}"),
            None => format!("{n} -"),
        })
        .collect();
    format!("{label} counters: {}", kv.join(", "))
}

fn tun_table(parts: &Parts, reps: usize, total: u64, notes: &mut Vec<String>) {
    let cap = Duration::from_secs(120);
    let ns = NetNs::new();
    let va = NetNs::new();
    let vb = NetNs::new();

    let mut stacks: Vec<(String, Running)> = Vec::new();
    let mut subjects: Vec<Subject> = Vec::new();
    let tcp = |label: String, client, addr, veth| Subject {
        label,
        kind: Kind::Tcp { client, addr, veth },
        runs: [Vec::new(), Vec::new()],
        note: None,
    };
    if parts.wants("tunstack-tso") {
        let on = tunstack_up(&ns, "tsb0", 0, true, 0.0);
        // What the device took (the ready line's `offload tso|off`).
        let status = if on.offload {
            ""
        } else {
            " (the kernel refused: runs without)"
        };
        stacks.push(("tunstack (offloads)".into(), on));
        subjects.push(tcp(
            format!("tunstack, offloads on{status}"),
            &ns,
            net(0, 2),
            None,
        ));
    }
    if parts.wants("tunstack-plain") {
        stacks.push((
            "tunstack --no-offload".into(),
            tunstack_up(&ns, "tsb1", 1, false, 0.0),
        ));
        subjects.push(tcp("tunstack --no-offload".into(), &ns, net(1, 2), None));
    }
    let _smol = parts.wants("smoltcp").then(|| {
        subjects.push(tcp(
            "smoltcp 0.14 (CUBIC, 1 MiB buffers)".into(),
            &ns,
            net(3, 2),
            None,
        ));
        smol_tun::SmolServer::start(&ns, "tsb3", net(3, 1), net(3, 2))
    });
    let raw = parts
        .wants("raw")
        .then(|| raw_tun::RawTun::open(&ns, "tsb4", net(4, 1), net(4, 2)));
    if let Some(tun) = &raw {
        subjects.push(Subject {
            label: "raw TUN pump, 1500 B per syscall".into(),
            kind: Kind::Raw { ns: &ns, tun },
            runs: [Vec::new(), Vec::new()],
            note: None,
        });
    }
    let _server = parts.wants("veth").then(|| {
        kernel::veth(&va, "tsv0", "10.77.2.1/24", &vb, "tsv1", "10.77.2.2/24");
        for on in [false, true] {
            let state = if on { "on" } else { "off" };
            subjects.push(tcp(
                format!("kernel veth, offloads {state}"),
                &va,
                net(2, 2),
                Some((&va, &vb, on)),
            ));
        }
        kernel::Server::start(&vb, net(2, 2))
    });
    let cc = ns.run(|| {
        let l = std::net::TcpListener::bind(sa(Ipv4Addr::LOCALHOST, 0)).expect("bind");
        kernel::set_congestion(&l, kernel::CONGESTION)
    });
    match cc {
        Ok(c) => notes.push(format!("kernel sockets: TCP_CONGESTION {c}")),
        Err(e) => notes.push(format!(
            "kernel sockets: TCP_CONGESTION {} refused ({e})",
            kernel::CONGESTION
        )),
    }

    let dirs: &[Dir] = match std::env::var("TUNSTACK_BENCH_DIR").as_deref() {
        Ok("in") => &[Dir::KernelToX],
        Ok("out") => &[Dir::XToKernel],
        _ => &[Dir::KernelToX, Dir::XToKernel],
    };
    for _ in 0..reps {
        for s in subjects.iter_mut() {
            for &d in dirs {
                s.run(d, total, cap);
            }
        }
    }

    print_tun_table(&subjects, reps, total);
    for s in &subjects {
        if let Some(n) = &s.note {
            notes.push(n.clone());
        }
    }
    for (label, r) in stacks {
        match r.shutdown() {
            Ok(st) => notes.push(counters(&label, &st)),
            Err(e) => notes.push(format!("{label}: shutdown: {e}")),
        }
    }
}

/// Median Gbit/s in `dir` of the subject whose label starts with `label`, if it ran.
fn med(subjects: &[Subject], label: &str, dir: Dir) -> Option<f64> {
    let s = subjects.iter().find(|s| s.label.starts_with(label))?;
    let xs: Vec<f64> = s.runs[dir as usize].iter().map(|m| m.gbps).collect();
    (!xs.is_empty()).then(|| median(&xs))
}

fn print_tun_table(subjects: &[Subject], reps: usize, total: u64) {
    let mut rows: Vec<Vec<String>> = Vec::new();
    for s in subjects {
        let mut row = vec![s.label.clone()];
        for runs in &s.runs {
            let g: Vec<f64> = runs.iter().map(|m| m.gbps).collect();
            let cm: Vec<f64> = runs.iter().map(|m| m.machine).collect();
            let cp: Vec<f64> = runs.iter().map(|m| m.process).collect();
            row.push(support::summary(&g, 2));
            row.push(format!("{:.2}", median(&cm)));
            row.push(format!("{:.2}", median(&cp)));
        }
        rows.push(row);
    }
    let ratios = [
        ("tunstack, offloads on", "smoltcp", 2.0),
        ("tunstack, offloads on", "raw TUN pump", 1.0),
        ("tunstack --no-offload", "kernel veth, offloads off", 1.0),
        ("tunstack, offloads on", "tunstack --no-offload", 0.0),
    ];
    for (ours, theirs, goal) in ratios {
        let goal_text = if goal > 0.0 {
            format!("; goal >= {goal:.1}")
        } else {
            String::new()
        };
        let mut row = vec![format!("ratio {ours} / {theirs}{goal_text}")];
        for dir in [Dir::KernelToX, Dir::XToKernel] {
            let cell = match (med(subjects, ours, dir), med(subjects, theirs, dir)) {
                (Some(a), Some(b)) if b > 0.0 => {
                    let r = a / b;
                    if goal > 0.0 {
                        format!("{r:.2} {}", if r >= goal { "met" } else { "not met" })
                    } else {
                        format!("{r:.2}")
                    }
                }
                _ => "-".into(),
            };
            row.extend([cell, String::new(), String::new()]);
        }
        rows.push(row);
    }
    println!();
    println!(
        "Over TUN and veth, {} MiB per transfer: Gbit/s (median of {reps}, min-max), CPU \
         seconds per GiB moved (median): whole machine (/proc/stat, softirq included; it \
         counts other programs too when the machine is not idle) and this process alone \
         (its threads, with the softirq work that ran on them); kernel -> X bytes for the \
         raw pump are packets read, X -> kernel packets written",
        total / MIB
    );
    println!();
    support::print_grid(
        &[
            "system",
            "kernel -> X Gbit/s",
            "CPU s/GiB",
            "(process)",
            "X -> kernel Gbit/s",
            "CPU s/GiB",
            "(process)",
        ],
        &rows,
    );
}

// ------------------------------------------------------------------ 1% loss

/// Drops `percent`% of incoming TCP packets at the input hook of `ns` (nftables).
fn nft_drop(ns: &NetNs, percent: u32) -> Result<(), String> {
    use std::io::Write;
    let rules = format!(
        "table ip tsbench {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    \
         ip protocol tcp numgen random mod 100 < {percent} drop\n  }}\n}}\n"
    );
    let mut child = ns
        .command("nft", &["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(rules.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// tunstack through 1% loss each way beside the kernel over a veth (offloads off) with
/// 1% of TCP packets dropped at both inputs; transfers stop after a few seconds and count
/// what arrived.
fn lossy(reps: usize, total: u64, notes: &mut Vec<String>) {
    let cap = Duration::from_secs(if total > 256 * MIB { 30 } else { 3 });
    let ns = NetNs::new();
    let va = NetNs::new();
    let vb = NetNs::new();
    let stack = tunstack_up(&ns, "tsb5", 5, true, 0.01);
    kernel::veth(&va, "tsv0", "10.77.2.1/24", &vb, "tsv1", "10.77.2.2/24");
    let offloads_off = va.run(|| kernel::set_offloads("tsv0", false)).is_ok()
        && vb.run(|| kernel::set_offloads("tsv1", false)).is_ok();
    let drop_ok = match (common::find_tool("nft"), nft_drop(&va, 1), nft_drop(&vb, 1)) {
        (Some(_), Ok(()), Ok(())) => true,
        (None, _, _) => {
            notes.push("note: nft not found: kernel->kernel with loss skipped".into());
            false
        }
        (_, Err(e), _) | (_, _, Err(e)) => {
            notes.push(format!(
                "note: nft refused the drop rule ({e}): kernel->kernel with loss skipped"
            ));
            false
        }
    };
    let _server = drop_ok.then(|| kernel::Server::start(&vb, net(2, 2)));
    let (mut k2t, mut t2k, mut k2k, mut k2k_back) = (vec![], vec![], vec![], vec![]);
    let rate = |t: kernel::Transfer| gbps(t.bytes, t.wall);
    let addr = net(5, 2);
    for _ in 0..reps {
        k2t.push(rate(
            ns.run(|| kernel::send_to(sa(addr, kernel::DISCARD), total, cap)),
        ));
        t2k.push(rate(ns.run(|| {
            kernel::recv_from(sa(addr, kernel::CHARGEN), total, cap)
        })));
        if drop_ok {
            let server = net(2, 2);
            k2k.push(rate(va.run(|| {
                kernel::send_to(sa(server, kernel::DISCARD), total, cap)
            })));
            k2k_back.push(rate(
                va.run(|| kernel::recv_from(sa(server, kernel::CHARGEN), total, cap)),
            ));
        }
    }
    let rows = [
        Row::new(
            "TUN 1% loss: kernel -> tunstack (vs veth 1% loss)",
            &k2t,
            &k2k,
            2,
        ),
        Row::new(
            "TUN 1% loss: tunstack -> kernel (vs veth 1% loss)",
            &t2k,
            &k2k_back,
            2,
        ),
    ];
    println!();
    println!(
        "Through 1% loss each way (transfers stop after {} s): Gbit/s, median of {reps} \
         (min-max); ratio = tunstack / kernel{}",
        cap.as_secs(),
        if offloads_off {
            ", veth offloads off"
        } else {
            ", veth offloads as they were"
        }
    );
    println!();
    support::print_table(["scenario", "tunstack", "kernel veth", "ratio"], &rows);
    match stack.shutdown() {
        Ok(st) => notes.push(counters("tunstack through 1% loss", &st)),
        Err(e) => notes.push(format!("tunstack through 1% loss: shutdown: {e}")),
    }
}
