//! Two tunstacks in virtual time over an impaired link: moves N MiB from A to B and prints
//! how long it took (virtual and wall time) and what TCP did about the impairment. No root
//! needed.
//!
//!     cargo run --release -p tunstack --example sim_transfer -- 64 loss=1%,delay=10ms
//!
//! Environment: `SIM_BUF` (both buffers, bytes, fixed), `SIM_SNDBUF` (the send buffer's
//! starting size), `SIM_CC` (`reno`, `cubic`, `bbr`), `SIM_READ` (the reader's read size,
//! default 256 KiB), `SIM_LIMIT` (frames each way's impairment queue holds, as
//! `tunstack up`'s 1000; default 100,000), `SIM_WATCH=MS` (the sender's window, flight,
//! frames sent and dropped by the queue bound, and BBR state every MS ms of virtual
//! time). At the end: the sender's counters (D-SACKs received count spurious
//! retransmissions) and what each link's queue bound dropped.

use std::net::{Ipv4Addr, SocketAddrV4};

use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::impair::ImpairConfig;
use tunstack::rand::Rng;
use tunstack::sim::Sim;
use tunstack::stack::{Stack, StackConfig};
use tunstack::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(64);
    let link: ImpairConfig = match args.get(1) {
        Some(s) => s.parse().unwrap_or_else(|e| {
            eprintln!("bad impairment {s:?}: {e}");
            std::process::exit(2)
        }),
        None => ImpairConfig::default(),
    };
    let a_ip = Ipv4Addr::new(10, 0, 0, 1);
    let b_ip = Ipv4Addr::new(10, 0, 0, 2);
    let mk = |ip, seed| {
        let mut cfg = StackConfig::default();
        if let Ok(b) = std::env::var("SIM_BUF") {
            let b: usize = b.parse().unwrap();
            cfg.tcp.recv_buffer = b;
            cfg.tcp.send_buffer = b;
            // Fixed, not autotuned.
            cfg.tcp.recv_buffer_max = b;
            cfg.tcp.send_buffer_max = b;
        }
        if let Ok(b) = std::env::var("SIM_SNDBUF") {
            cfg.tcp.send_buffer = b.parse().unwrap();
        }
        if let Ok(cc) = std::env::var("SIM_CC") {
            cfg.tcp.congestion = cc.parse().unwrap();
        }
        let mut s = Stack::new(cfg, Rng::new(seed));
        let i = s.add_interface(InterfaceConfig::ip("sim", Ipv4Cidr::new(ip, 24).unwrap()));
        (s, i)
    };
    let (a, ia) = mk(a_ip, 1);
    let (b, ib) = mk(b_ip, 2);
    let mut sim = Sim::new(a, ia, b, ib, link.clone(), link, 3);
    if let Some(limit) = std::env::var("SIM_LIMIT").ok().and_then(|v| v.parse().ok()) {
        sim.ab.set_limit(limit);
        sim.ba.set_limit(limit);
    }
    let l = sim.b.tcp_listen(SocketAddrV4::new(b_ip, 9), 4).unwrap();
    let now = sim.now;
    let c = sim
        .a
        .tcp_connect(now, SocketAddrV4::new(b_ip, 9), None)
        .unwrap();
    let total = mib << 20;
    let chunk = vec![0x5au8; 256 * 1024];
    let mut sent = 0usize;
    let mut got = 0usize;
    let mut server = None;
    let mut buf = vec![0u8; 256 * 1024];
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let read = env("SIM_READ").map_or(buf.len(), |r| (r as usize).clamp(1, buf.len()));
    let watch = env("SIM_WATCH").filter(|&ms| ms > 0);
    let mut last_watch = u64::MAX;
    let start_v = sim.now;
    let start_w = std::time::Instant::now();
    let done = sim.run_until(Duration::from_secs(24 * 3600), |s| {
        let now = s.now;
        if server.is_none() {
            server = s.b.tcp_accept(l).unwrap();
        }
        while sent < total {
            let n =
                s.a.tcp_send(now, c, &chunk[..chunk.len().min(total - sent)])
                    .unwrap_or(0);
            if n == 0 {
                break;
            }
            sent += n;
        }
        if let Some(every) = watch.filter(|&ms| now.total_millis() / ms != last_watch) {
            last_watch = now.total_millis() / every;
            if let Some(i) = s.a.tcp_conn(c).map(|c| c.info()) {
                println!(
                    "{:>8} cwnd {:>7} fl {:>7} snd_wnd {:>7} sent {:>6} dropped {:>5} pace {:?} bbr {:?}",
                    now.total_millis(),
                    i.cwnd,
                    i.bytes_in_flight,
                    i.snd_wnd,
                    s.ab.stats().pushed,
                    s.ab.stats().dropped,
                    i.pacing_rate,
                    i.bbr
                );
            }
        }
        if let Some(h) = server {
            while let Ok(n) = s.b.tcp_recv(now, h, &mut buf[..read]) {
                if n == 0 {
                    break;
                }
                got += n;
            }
        }
        got >= total
    });
    let virt = sim.now - start_v;
    let wall = start_w.elapsed();
    let info = sim.a.tcp_conn(c).map(|c| c.info());
    println!(
        "moved {got} of {total} bytes: {}",
        if done { "done" } else { "NOT done" }
    );
    println!(
        "virtual time {virt}, goodput {:.1} Mbit/s; wall time {:.3} s ({:.2} Gbit/s of CPU)",
        got as f64 * 8.0 / (virt.total_micros() as f64),
        wall.as_secs_f64(),
        got as f64 * 8.0 / wall.as_secs_f64() / 1e9
    );
    for name in [
        "TcpOutSegs",
        "TcpRetransSegs",
        "TcpExtTCPTimeouts",
        "TcpExtTCPFastRetrans",
        "TcpExtTCPDSACKRecv",
    ] {
        println!("A {name:<22} {}", sim.a.stats().get(name).unwrap_or(0));
    }
    // What the links' queue bound (`SIM_LIMIT`) dropped: the congestion losses.
    let (ab, ba) = (sim.ab.stats(), sim.ba.stats());
    println!(
        "link A->B dropped {} of {} frames, B->A {} of {}",
        ab.dropped, ab.pushed, ba.dropped, ba.pushed
    );
    if let Some(i) = info {
        println!(
            "A cwnd {} ssthresh {} srtt {:?} rto {}",
            i.cwnd, i.ssthresh, i.srtt, i.rto
        );
    }
}
