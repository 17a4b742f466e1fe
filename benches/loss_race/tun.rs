//! The real-TUN half of the loss race (root): per grid point, a fresh namespace with a
//! TUN device and a tunstack runtime over `Impaired` (the point's loss and one-way delay
//! each way, impairment seed 11, as `tunstack up --loss L --delay D --seed 11`), then one
//! bulk transfer: tunstack sending to a kernel listener with one of its algorithms, or
//! the kernel sending to a tunstack listener with its algorithm chosen per socket by
//! `TCP_CONGESTION`. Every transfer gets its own namespace and runtime, so each starts
//! from the same impairment seed, and the data direction draws from the same random
//! stream whichever way the data flows (see `runtime`).

use crate::kernel;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{netdev, Device, ImpairConfig, Impaired, TunDevice};
use tunstack::rand::Rng;
use tunstack::socket::Runtime;
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::congestion::Algorithm;

use crate::common::NetNs;
use crate::probe;

const HOST: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
const PORT: u16 = 5001;
/// The impairment seed of every transfer.
const SEED: u64 = 11;

/// Who sends.
#[derive(Clone, Debug)]
pub enum Sender {
    Tunstack(Algorithm),
    /// The kernel with this `TCP_CONGESTION` name.
    Linux(String),
}

/// One transfer's result: goodput and, for the kernel, the algorithm it reported using.
pub struct Run {
    pub mbit: f64,
    pub bytes: u64,
    pub used: String,
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// The kernel's available algorithms (`/proc/sys/net/ipv4/tcp_available_congestion_control`).
pub fn linux_available() -> Vec<String> {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Loads `tcp_<name>` if the kernel does not list `name` yet; returns whether it is
/// available afterwards.
pub fn linux_ensure(name: &str) -> bool {
    if linux_available().iter().any(|a| a == name) {
        return true;
    }
    let _ = std::process::Command::new("modprobe")
        .arg(format!("tcp_{name}"))
        .status();
    linux_available().iter().any(|a| a == name)
}

/// A tunstack runtime on TUN `ts-lr0` in `ns` with the point's impairment each way.
/// The data direction draws from the same random stream whichever way the data flows
/// (`data_out`: tunstack sends): the stream `Impaired::new` gives the transmit side for
/// seed 11 goes to the receive side when the kernel sends, so the kernel's n-th frame
/// meets the fate tunstack's n-th frame meets, as it does in the other direction for
/// the ACKs.
fn runtime(ns: &NetNs, loss: f64, delay_ms: u64, data_out: bool) -> Runtime {
    ns.run(move || {
        let name = "ts-lr0";
        let dev = TunDevice::open(name).expect("open TUN");
        netdev::set_ipv4(name, HOST, 24).expect("address TUN");
        netdev::set_up(name).expect("up TUN");
        // The library's buffers, as it ships them: 256 KiB each to begin with, both
        // autotuned up to 4 MiB (`TcpConfig::send_buffer_max`, `recv_buffer_max`), as
        // Linux autotunes its own (tcp_wmem, tcp_rmem), so neither sender is held to a
        // buffer the other does not have.
        let mut config = StackConfig::default();
        // `TUNSTACK_LOSS_RACE_SNDBUF=BYTES`: tunstack's starting send buffer.
        if let Ok(b) = std::env::var("TUNSTACK_LOSS_RACE_SNDBUF") {
            config.tcp.send_buffer = b.parse().expect("TUNSTACK_LOSS_RACE_SNDBUF");
        }
        // `TUNSTACK_LOSS_RACE_FIXED=1`: both buffers fixed at their starting size (the
        // grid as earlier runs measured it, each sender bounded by a 256 KiB tunstack
        // buffer at 1-2% loss).
        if std::env::var_os("TUNSTACK_LOSS_RACE_FIXED").is_some() {
            config.tcp.send_buffer_max = config.tcp.send_buffer;
            config.tcp.recv_buffer_max = config.tcp.recv_buffer;
        }
        if std::env::var_os("TUNSTACK_LOSS_RACE_PACE").is_some() {
            config.tcp.pacing = true;
        }
        if probe::enabled() {
            // The sender's trace, read every few ms by `sample_tunstack`.
            config.tcp.trace_events = 1 << 16;
        }
        let mut s = Stack::new(config, Rng::new(SEED));
        let i = s.add_interface(InterfaceConfig::ip(
            name,
            Ipv4Cidr::new(STACK, 24).expect("cidr"),
        ));
        let cfg = ImpairConfig {
            loss,
            delay: tunstack::time::Duration::from_millis(delay_ms),
            ..ImpairConfig::default()
        };
        let (data, acks) = Impaired::<TunDevice>::stream_seeds(SEED);
        let (tx_seed, rx_seed) = if data_out { (data, acks) } else { (acks, data) };
        let dev: Box<dyn Device + Send> = Box::new(Impaired::with_stream_seeds(
            dev,
            cfg.clone(),
            cfg,
            tx_seed,
            rx_seed,
        ));
        Runtime::spawn(s, vec![(i, dev)]).expect("runtime")
    })
}

/// Writes until `total` bytes are written or `deadline` passes (writes time out so the
/// deadline is kept); stops quietly at an error (the reader hung up).
fn pump(w: &mut impl Write, total: u64, deadline: Instant) {
    let data = vec![0x5a; 64 * 1024];
    let mut sent = 0u64;
    while sent < total && Instant::now() < deadline {
        let want = (total - sent).min(data.len() as u64) as usize;
        match w.write(&data[..want]) {
            Ok(n) => sent += n as u64,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Reads until `total` bytes or `deadline` (reads time out so the deadline is kept);
/// returns the bytes read and when the last one came (or the deadline).
fn drain(r: &mut impl Read, total: u64, deadline: Instant) -> (u64, Instant) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while got < total {
        if Instant::now() >= deadline {
            return (got, deadline);
        }
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n as u64,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
    (got, Instant::now().min(deadline))
}

/// Prints the sender's window, flight, rates and BBR state every `ms` until `deadline`
/// or the connection is gone (one line each, Mbit/s for rates).
fn watch(c: &tunstack::TcpStream, total: u64, t0: Instant, deadline: Instant, ms: u64) {
    let mut last = (0u64, 0u64, 0u64);
    while Instant::now() < deadline {
        let Ok(i) = c.info() else { return };
        if i.bytes_in_flight == 0 && i.stats.bytes_acked >= total {
            return;
        }
        let mbit = |r: Option<u64>| r.map_or(0.0, |r| r as f64 * 8.0 / 1e6);
        let (b, st, mr) = i.bbr.map_or(("-", 0.0, 0), |b| {
            (
                b.state,
                b.bw as f64 * 8.0 / 1e6,
                b.min_rtt.map_or(0, |d| d.total_micros()),
            )
        });
        let s = &i.stats;
        println!(
            "    t {:6.3} cwnd {:7} flight {:7} snd_wnd {:7} pace {:6.1} dr {:6.1} bw {:6.1} minrtt {:6} {} srtt {:?} rexmit +{} rto +{} fast +{}",
            t0.elapsed().as_secs_f64(), i.cwnd, i.bytes_in_flight, i.snd_wnd, mbit(i.pacing_rate), mbit(i.delivery_rate), st, mr, b,
            i.srtt.map(|d| d.total_micros()), s.retransmits - last.0, s.timeouts - last.1, s.fast_retransmits - last.2
        );
        last = (s.retransmits, s.timeouts, s.fast_retransmits);
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// One transfer of `total` bytes (at most `cap`) at loss `loss`, one-way delay
/// `delay_ms`, sent by `who`.
pub fn transfer(who: &Sender, loss: f64, delay_ms: u64, total: u64, cap: Duration) -> Run {
    let ns = NetNs::new();
    let rt = runtime(&ns, loss, delay_ms, matches!(who, Sender::Tunstack(_)));
    let before = probe::enabled().then(|| ns.run(probe::counters));
    let h = rt.handle();
    let tick = Some(Duration::from_millis(100));
    let run = match who {
        Sender::Tunstack(alg) => {
            let l = ns.run(move || std::net::TcpListener::bind(sa(HOST, PORT)).expect("bind"));
            let c = tunstack::TcpStream::connect_on(&h, sa(HOST, PORT), Some(cap))
                .expect("tunstack connect");
            c.set_congestion_control(*alg).expect("set cc");
            c.set_write_timeout(tick).expect("write timeout");
            let t0 = Instant::now();
            let deadline = t0 + cap;
            let rx = std::thread::spawn(move || {
                let (mut s, _) = l.accept().expect("kernel accept");
                s.set_read_timeout(tick).expect("read timeout");
                drain(&mut s, total, deadline)
            });
            let stop = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|sc| {
                // `TUNSTACK_LOSS_RACE_WATCH=MS`: the sender's state every MS ms.
                if let Some(ms) = std::env::var("TUNSTACK_LOSS_RACE_WATCH")
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    let c = &c;
                    sc.spawn(move || watch(c, total, t0, deadline, ms));
                }
                let sampler = probe::enabled().then(|| {
                    let (c, stop) = (&c, &stop);
                    let h = &h;
                    sc.spawn(move || sample_tunstack(c, h, stop, deadline))
                });
                pump(&mut &c, total, deadline);
                // The sampler covers the tail too: until the last byte is acknowledged.
                while sampler.is_some()
                    && c.info().is_ok_and(|i| i.bytes_in_flight > 0)
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                if let Some(j) = sampler {
                    let (m, t) = j.join().expect("sampler");
                    println!("  {alg} sender: {}", m.line());
                    println!("  {alg} sender: {}", t.line());
                }
            });
            let (got, t1) = rx.join().expect("kernel reader");
            if std::env::var_os("TUNSTACK_LOSS_RACE_INFO").is_some() {
                if let Ok(i) = c.info() {
                    println!(
                        "  {alg} {}%/{delay_ms} ms: snd_wnd {} retrans {} timeouts {} fast {} cwnd {} \
                         pacing {:?} bbr {:?}",
                        loss * 100.0,
                        i.snd_wnd,
                        i.stats.retransmits,
                        i.stats.timeouts,
                        i.stats.fast_retransmits,
                        i.cwnd,
                        i.pacing_rate,
                        i.bbr
                    );
                    println!(
                        "  {alg} sender: segs out {} in {} (data segments per ACK {:.2})",
                        i.stats.segs_out,
                        i.stats.segs_in,
                        i.stats.segs_out as f64 / i.stats.segs_in.max(1) as f64
                    );
                }
            }
            let _ = c.shutdown(Shutdown::Both);
            Run {
                mbit: got as f64 * 8.0 / (t1 - t0).as_secs_f64() / 1e6,
                bytes: got,
                used: alg.to_string(),
            }
        }
        Sender::Linux(name) => {
            let l = tunstack::TcpListener::bind_on(&h, sa(STACK, PORT)).expect("tunstack bind");
            let asked = name.clone();
            let (mut c, used) = ns.run(move || {
                // Chosen before the handshake, so the namespace's default (bbr) never
                // runs on this socket and leaves it paced (see `kernel::connect_with`).
                kernel::connect_with(sa(STACK, PORT), &asked, cap).expect("kernel connect")
            });
            c.set_write_timeout(tick).expect("write timeout");
            let t0 = Instant::now();
            let deadline = t0 + cap;
            let rx = std::thread::spawn(move || {
                let (mut s, _) = l.accept().expect("tunstack accept");
                s.set_read_timeout(tick).expect("read timeout");
                drain(&mut s, total, deadline)
            });
            let stop = std::sync::atomic::AtomicBool::new(false);
            let probe_c = c.try_clone().expect("clone kernel socket");
            let (got, t1) = std::thread::scope(|sc| {
                let sampler = probe::enabled().then(|| {
                    let stop = &stop;
                    let probe_c = &probe_c;
                    sc.spawn(move || probe::sample_kernel(probe_c, stop, deadline))
                });
                pump(&mut c, total, deadline);
                let got = rx.join().expect("tunstack reader");
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                if let Some(h) = sampler {
                    let (m, last) = h.join().expect("sampler");
                    println!("  linux-{name} sender: {}", m.line());
                    if let Some(i) = last {
                        println!(
                            "  linux-{name} sender: total_retrans {} bytes_retrans {} segs out {} \
                             (data {}) in {} (data segments per ACK {:.2}) delivered {} \
                             cwnd {} ssthresh {} rtt {} us mss {}",
                            i.total_retrans,
                            i.bytes_retrans,
                            i.segs_out,
                            i.data_segs_out,
                            i.segs_in,
                            i.data_segs_out as f64 / i.segs_in.max(1) as f64,
                            i.delivered,
                            i.cwnd,
                            i.ssthresh,
                            i.rtt_us,
                            i.snd_mss
                        );
                    }
                }
                got
            });
            let _ = c.shutdown(Shutdown::Both);
            Run {
                mbit: got as f64 * 8.0 / (t1 - t0).as_secs_f64() / 1e6,
                bytes: got,
                used,
            }
        }
    };
    if let Some(before) = before {
        let after = ns.run(probe::counters);
        println!("  kernel side: {}", probe::counter_delta(&before, &after));
    }
    drop(rt);
    drop(ns);
    run
}

/// Samples the tunstack sender's window and flight (in segments) until `stop`.
fn sample_tunstack(
    c: &tunstack::TcpStream,
    h: &tunstack::socket::StackHandle,
    stop: &std::sync::atomic::AtomicBool,
    deadline: Instant,
) -> (probe::Means, probe::TraceStats) {
    let mut m = probe::Means::default();
    let mut t = probe::TraceStats::default();
    let p = probe::period();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
        let Ok(i) = c.info() else { break };
        if i.bytes_in_flight > 0 {
            let mss = i.mss.max(1) as f64;
            m.add(i.cwnd as f64 / mss, i.bytes_in_flight as f64 / mss, 0);
        }
        for chunk in h.with(|s, _| s.tcp_take_traces()) {
            t.add(&chunk);
        }
        std::thread::sleep(p);
    }
    for chunk in h.with(|s, _| s.tcp_take_traces()) {
        t.add(&chunk);
    }
    (m, t)
}
