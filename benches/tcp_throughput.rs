//! TCP bulk throughput, each figure beside a comparison measured in the same run:
//!
//! * **in memory**: tunstack to tunstack through `tunstack::sim::Sim` in virtual time,
//!   beside smoltcp to smoltcp over in-memory queues, same buffers (256 KiB each side),
//!   same MTU (1500), one thread each. Virtual time makes the network free, so the wall
//!   time is the CPU cost of the two stacks (and the harness) for the bytes moved.
//! * **over TUN**: the kernel sends to a tunstack listener that reads and discards, and
//!   tunstack sends to a kernel listener, through a TUN device in a fresh namespace;
//!   beside the kernel to the kernel over a veth pair between two fresh namespaces.
//! * **over TUN, 1% loss**: tunstack's TUN device wrapped in `Impaired` dropping 1% of
//!   frames each way; beside kernel to kernel over the veth with nftables dropping 1% of
//!   TCP packets at the input hook of both namespaces (both ways, like the impairment).
//!
//! The veth pair runs with TSO/GSO/GRO off, so the kernel moves 1500-byte packets as it
//! must through the TUN device (and a 1% drop at the input hook drops 1% of packets, not
//! of 64 KiB aggregates); the kernel with its offloads on is printed for reference.
//!
//! `cargo bench --bench tcp_throughput` (the TUN parts as root). `TUNSTACK_BENCH_LONG=1`
//! moves 1 GiB per transfer; `TUNSTACK_BENCH_REPS=n` sets the repetitions (default 3).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/smol.rs"]
mod smol;
#[path = "support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use support::{gbps, Row};
use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{netdev, Device, ImpairConfig, Impaired, TunDevice};
use tunstack::rand::Rng;
use tunstack::sim::Sim;
use tunstack::socket::{Runtime, StackHandle};
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::{ConnStats, TcpConfig};

const MIB: u64 = 1 << 20;
/// Socket buffers on each side, for both stacks in memory.
const BUFFER: usize = 256 * 1024;
/// The application's read and write size.
const CHUNK: usize = 64 * 1024;

const SIM_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SIM_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn main() {
    println!("tcp_throughput: bulk TCP, tunstack beside smoltcp and the kernel");
    let started = Instant::now();
    let long = support::long();
    let reps = support::env_usize("TUNSTACK_BENCH_REPS", 3);
    let mem_bytes = if long { 1024 * MIB } else { 256 * MIB };
    let tun_bytes = if long { 1024 * MIB } else { 256 * MIB };
    // Transfers through the 1% loss stop early after this long and count what arrived.
    let lossy_cap = Duration::from_secs(if long { 30 } else { 3 });
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    // Which parts to run: `TUNSTACK_BENCH_ONLY=memory` or `=tun` (default: both).
    let only = std::env::var("TUNSTACK_BENCH_ONLY").unwrap_or_default();

    // -------------------------------------------------------------- in memory
    if only != "tun" {
        let t = Instant::now();
        let (mut ours, mut smol_batched, mut smol_per_frame) = (Vec::new(), Vec::new(), Vec::new());
        let mut frames = [(0, 0); 3];
        for _ in 0..reps {
            let r = tunstack_sim(mem_bytes);
            ours.push(gbps(r.bytes, r.wall));
            frames[0] = r.frames;
            let r = smol::transfer(mem_bytes, BUFFER, CHUNK, false);
            smol_batched.push(gbps(r.bytes, r.wall));
            frames[1] = r.frames;
            let r = smol::transfer(mem_bytes, BUFFER, CHUNK, true);
            smol_per_frame.push(gbps(r.bytes, r.wall));
            frames[2] = r.frames;
        }
        let mib = mem_bytes / MIB;
        rows.push(Row::new(
            format!("in memory, {mib} MiB (vs smoltcp, batched polls)"),
            &ours,
            &smol_batched,
            2,
        ));
        rows.push(Row::new(
            format!("in memory, {mib} MiB (vs smoltcp, polled per frame)"),
            &ours,
            &smol_per_frame,
            2,
        ));
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

    // -------------------------------------------------------------- over TUN
    if only == "memory" {
    } else if support::root_or_skip("the TUN and veth scenarios") {
        let t = Instant::now();
        tun_scenarios(&mut rows, &mut notes, reps, tun_bytes, lossy_cap);
        notes.push(format!(
            "TUN and veth scenarios took {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    } else {
        for s in [
            "TUN: kernel -> tunstack",
            "TUN: tunstack -> kernel",
            "TUN 1% loss: kernel -> tunstack",
            "TUN 1% loss: tunstack -> kernel",
        ] {
            rows.push(Row::text(s, "skipped", "skipped", "-"));
        }
    }

    println!();
    println!(
        "Gbit/s of payload, median of {reps} (min-max); ratio = tunstack / comparison \
         (higher is better for tunstack)"
    );
    println!();
    support::print_table(["scenario", "tunstack", "comparison", "ratio"], &rows);
    println!();
    for n in notes {
        println!("{n}");
    }
    println!(
        "tcp_throughput took {:.1} s",
        started.elapsed().as_secs_f64()
    );
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
            send_buffer: BUFFER,
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

const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const LOSSY_HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
const LOSSY_STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);
const VETH_B: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// A tunstack runtime on TUN device `name` in `ns`: the kernel side has `host`/24, the
/// stack `addr`; `loss` (if non-zero) drops that fraction of frames each way.
fn tun_stack(
    ns: &common::NetNs,
    name: &'static str,
    host: Ipv4Addr,
    addr: Ipv4Addr,
    loss: f64,
) -> Runtime {
    ns.run(move || {
        let dev = TunDevice::open(name).expect("open TUN");
        netdev::set_ipv4(name, host, 24).expect("address TUN");
        netdev::set_up(name).expect("up TUN");
        let mut s = Stack::new(StackConfig::default(), Rng::new(11));
        let i = s.add_interface(InterfaceConfig::ip(
            name,
            Ipv4Cidr::new(addr, 24).expect("cidr"),
        ));
        let dev: Box<dyn Device + Send> = if loss > 0.0 {
            let cfg = ImpairConfig {
                loss,
                ..ImpairConfig::default()
            };
            Box::new(Impaired::new(dev, cfg.clone(), cfg, 5))
        } else {
            Box::new(dev)
        };
        Runtime::spawn(s, vec![(i, dev)]).expect("runtime")
    })
}

/// Writes `data` over and over until `total` bytes or `deadline`; returns bytes written.
fn pump(w: &mut impl Write, data: &[u8], total: u64, deadline: Instant) -> u64 {
    let mut sent = 0u64;
    while sent < total && Instant::now() < deadline {
        let want = (total - sent).min(data.len() as u64) as usize;
        match w.write(&data[..want]) {
            Ok(n) => sent += n as u64,
            Err(e) => panic!("write failed after {sent} bytes: {e}"),
        }
    }
    sent
}

/// Reads to end of stream; returns the bytes read and when the end came.
fn drain(r: &mut impl Read) -> (u64, Instant) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (got, Instant::now()),
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read failed after {got} bytes: {e}"),
        }
    }
}

/// The kernel (in `ns`) sends to a tunstack listener at `addr:port`; Gbit/s.
fn kernel_to_tunstack(
    ns: &common::NetNs,
    h: &StackHandle,
    addr: Ipv4Addr,
    port: u16,
    total: u64,
    cap: Duration,
) -> f64 {
    let l = tunstack::TcpListener::bind_on(h, sa(addr, port)).expect("tunstack bind");
    let rx = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("tunstack accept");
        drain(&mut s)
    });
    let t0 = ns.run(move || {
        let mut c = std::net::TcpStream::connect(sa(addr, port)).expect("kernel connect");
        let data = chunk();
        let t0 = Instant::now();
        pump(&mut c, &data, total, t0 + cap);
        c.shutdown(Shutdown::Write).expect("shutdown");
        t0
    });
    let (got, t1) = rx.join().expect("tunstack reader");
    gbps(got, t1 - t0)
}

/// tunstack sends to a kernel listener (in `ns`) at `host:port`; Gbit/s, and the sending
/// connection's counters at the end.
fn tunstack_to_kernel(
    ns: &common::NetNs,
    h: &StackHandle,
    host: Ipv4Addr,
    port: u16,
    total: u64,
    cap: Duration,
) -> (f64, Option<ConnStats>) {
    let l = ns.run(move || std::net::TcpListener::bind(sa(host, port)).expect("kernel bind"));
    let rx = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("kernel accept");
        drain(&mut s)
    });
    let mut c = tunstack::TcpStream::connect_on(h, sa(host, port), Some(Duration::from_secs(5)))
        .expect("tunstack connect");
    let data = chunk();
    let t0 = Instant::now();
    pump(&mut c, &data, total, t0 + cap);
    c.shutdown(Shutdown::Write).expect("shutdown");
    let (got, t1) = rx.join().expect("kernel reader");
    let stats = c.info().ok().map(|i| i.stats);
    drop(c);
    (gbps(got, t1 - t0), stats)
}

/// The kernel in `from` sends to a kernel listener in `to` at `addr:port`; Gbit/s.
fn kernel_to_kernel(
    from: &common::NetNs,
    to: &common::NetNs,
    addr: Ipv4Addr,
    port: u16,
    total: u64,
    cap: Duration,
) -> f64 {
    let l = to.run(move || std::net::TcpListener::bind(sa(addr, port)).expect("kernel bind"));
    let rx = std::thread::spawn(move || {
        let (mut s, _) = l.accept().expect("kernel accept");
        drain(&mut s)
    });
    let t0 = from.run(move || {
        let mut c = std::net::TcpStream::connect(sa(addr, port)).expect("kernel connect");
        let data = chunk();
        let t0 = Instant::now();
        pump(&mut c, &data, total, t0 + cap);
        c.shutdown(Shutdown::Write).expect("shutdown");
        t0
    });
    let (got, t1) = rx.join().expect("kernel reader");
    gbps(got, t1 - t0)
}

/// A veth pair `tsv0` (in `a`, 10.77.2.1) - `tsv1` (in `b`, 10.77.2.2), made inside the
/// namespaces (never in the caller's).
fn veth(a: &common::NetNs, b: &common::NetNs) {
    a.exec_ok(
        "ip",
        &[
            "link",
            "add",
            "tsv0",
            "type",
            "veth",
            "peer",
            "name",
            "tsv1",
            "netns",
            b.name(),
        ],
    );
    a.exec_ok("ip", &["addr", "add", "10.77.2.1/24", "dev", "tsv0"]);
    b.exec_ok("ip", &["addr", "add", "10.77.2.2/24", "dev", "tsv1"]);
    a.exec_ok("ip", &["link", "set", "tsv0", "up"]);
    b.exec_ok("ip", &["link", "set", "tsv1", "up"]);
}

/// Turns segmentation and receive offloads off (`ethtool -K`); false if it cannot.
fn offloads_off(ns: &common::NetNs, dev: &str) -> bool {
    let out = ns.exec(
        "ethtool",
        &["-K", dev, "tso", "off", "gso", "off", "gro", "off"],
    );
    out.status.success()
}

/// Drops `percent`% of incoming TCP packets at the input hook of `ns` (nftables).
fn nft_drop(ns: &common::NetNs, percent: u32) -> Result<(), String> {
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

fn tun_scenarios(
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
    reps: usize,
    total: u64,
    lossy_cap: Duration,
) {
    let cap = Duration::from_secs(60);
    let ns = common::NetNs::new();
    let clean = tun_stack(&ns, "tsb0", HOST, STACK, 0.0);
    let lossy = tun_stack(&ns, "tsb1", LOSSY_HOST, LOSSY_STACK, 0.01);
    let (h, hl) = (clean.handle(), lossy.handle());

    let va = common::NetNs::new();
    let vb = common::NetNs::new();
    veth(&va, &vb);

    let mut port = 5000u16;
    let mut next = || {
        port += 1;
        port
    };

    // Kernel to kernel with its offloads on, for reference.
    let mut k_offload = Vec::new();
    for _ in 0..reps {
        k_offload.push(kernel_to_kernel(&va, &vb, VETH_B, next(), total, cap));
    }
    let have_ethtool = common::find_tool("ethtool").is_some()
        && offloads_off(&va, "tsv0")
        && offloads_off(&vb, "tsv1");
    if !have_ethtool {
        notes.push("note: ethtool missing or refused: the veth keeps its offloads on".into());
    }

    // Clean: alternate tunstack and kernel runs so they share the machine's load.
    let (mut k2t, mut t2k, mut k2k) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        k2t.push(kernel_to_tunstack(&ns, &h, STACK, next(), total, cap));
        t2k.push(tunstack_to_kernel(&ns, &h, HOST, next(), total, cap).0);
        k2k.push(kernel_to_kernel(&va, &vb, VETH_B, next(), total, cap));
    }
    let mib = total / MIB;
    rows.push(Row::new(
        format!("TUN: kernel -> tunstack, {mib} MiB (vs kernel->kernel veth)"),
        &k2t,
        &k2k,
        2,
    ));
    rows.push(Row::new(
        format!("TUN: tunstack -> kernel, {mib} MiB (vs kernel->kernel veth)"),
        &t2k,
        &k2k,
        2,
    ));

    // 1% loss each way.
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
    let (mut k2t_l, mut t2k_l, mut k2k_l) = (Vec::new(), Vec::new(), Vec::new());
    let mut sender = ConnStats::default();
    for _ in 0..reps {
        k2t_l.push(kernel_to_tunstack(
            &ns,
            &hl,
            LOSSY_STACK,
            next(),
            total,
            lossy_cap,
        ));
        let (g, st) = tunstack_to_kernel(&ns, &hl, LOSSY_HOST, next(), total, lossy_cap);
        t2k_l.push(g);
        if let Some(st) = st {
            sender.retransmits += st.retransmits;
            sender.fast_retransmits += st.fast_retransmits;
            sender.timeouts += st.timeouts;
            sender.segs_out += st.segs_out;
        }
        if drop_ok {
            k2k_l.push(kernel_to_kernel(&va, &vb, VETH_B, next(), total, lossy_cap));
        }
    }
    rows.push(Row::new(
        "TUN 1% loss: kernel -> tunstack (vs veth 1% loss)",
        &k2t_l,
        &k2k_l,
        2,
    ));
    rows.push(Row::new(
        "TUN 1% loss: tunstack -> kernel (vs veth 1% loss)",
        &t2k_l,
        &k2k_l,
        2,
    ));
    rows.push(Row::new(
        "reference: kernel->kernel veth, offloads on, no loss",
        &[],
        &k_offload,
        2,
    ));

    let s = clean.shutdown().ok();
    let sl = lossy.shutdown().ok();
    if let (Some(s), Some(sl)) = (s, sl) {
        notes.push(format!(
            "tunstack counters, clean / 1% loss stack: TcpRetransSegs {} / {}, \
             TcpExtTCPFastRetrans {} / {}, TcpExtTCPTimeouts {} / {}; \
             transfers through loss stop after {} s",
            s.tcp_retrans_segs,
            sl.tcp_retrans_segs,
            s.tcp_fast_retrans,
            sl.tcp_fast_retrans,
            s.tcp_timeouts,
            sl.tcp_timeouts,
            lossy_cap.as_secs()
        ));
    }
    notes.push(format!(
        "tunstack as sender through 1% loss ({reps} connections): {} segments out, {} \
         retransmitted, {} fast retransmits, {} retransmission timeouts",
        sender.segs_out, sender.retransmits, sender.fast_retransmits, sender.timeouts
    ));
}
