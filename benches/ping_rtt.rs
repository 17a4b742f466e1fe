//! Ping round trip through a TUN device: tunstack answering, beside a minimal reflector
//! that only swaps the addresses (the floor: what any user-space stack on a TUN device
//! pays for the two system calls and the kernel's TUN path), in the same run.
//!
//! Inside a fresh network namespace, two TUN devices: `tsb0` (kernel 10.77.0.1/24) with
//! tunstack at 10.77.0.2 behind it, and `tsb1` (kernel 10.77.1.1/24) with the reflector
//! answering 10.77.1.2. The kernel side sends ICMP echo requests from an ICMP datagram
//! socket (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`), one at a time, and times each
//! from `send` to the reply's `recv`. Batches to the two targets alternate, so both see
//! the same machine load; the report is the median over the repetitions of each batch's
//! median and p99.
//!
//! `cargo bench --bench ping_rtt` (as root). `TUNSTACK_BENCH_LONG=1` for 10x as many
//! round trips; `TUNSTACK_BENCH_REPS=n` to change the number of repetitions.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/mod.rs"]
mod support;

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{median, quantile, Row};
use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{netdev, Device, TunDevice};
use tunstack::rand::Rng;
use tunstack::socket::Runtime;
use tunstack::stack::{Stack, StackConfig};
use tunstack::wire::checksum;

const STACK_TUN: &str = "tsb0";
const STACK_HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const REFL_TUN: &str = "tsb1";
const REFL_HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 1);
const REFL_ADDR: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 2);

/// ICMP payload bytes, as iputils ping sends by default (84-byte IP datagrams).
const PAYLOAD: usize = 56;

fn main() {
    println!("ping_rtt: ICMP echo round trip through a TUN device");
    if !support::root_or_skip("ping_rtt") {
        return;
    }
    let long = support::long();
    let per_batch = if long { 20_000 } else { 2_000 };
    let reps = support::env_usize("TUNSTACK_BENCH_REPS", 5);
    let started = Instant::now();

    // Where the threads run decides the round trip more than anything else here: a
    // wake-up on the same CPU costs little, one across CPUs (an IPI, on a VM a trip
    // through the hypervisor) costs tens of microseconds. Left to the scheduler, each
    // batch lands on one or the other at random; so both placements are measured on
    // purpose. The answering threads (tunstack's runtime, the reflector) run on CPU
    // `near`; the pinging thread moves between `near` and `far`.
    let cpus = allowed_cpus();
    let near = cpus.first().copied();
    let far = cpus.get(1).copied();

    let ns = common::NetNs::new();
    // Let root (group 0) open ICMP datagram sockets in this namespace (the default range
    // in a new namespace, "1 0", allows nobody).
    ns.exec_ok("sysctl", &["-q", "-w", "net.ipv4.ping_group_range=0 0"]);
    let stop = Arc::new(AtomicBool::new(false));
    let (runtime, reflector, mut to_stack, mut to_refl) = ns.run({
        let stop = Arc::clone(&stop);
        move || {
            // Threads spawned from here inherit this CPU.
            if let Some(c) = near {
                pin(c);
            }
            let dev = TunDevice::open(STACK_TUN).expect("open tsb0");
            netdev::set_ipv4(STACK_TUN, STACK_HOST, 24).expect("address tsb0");
            netdev::set_up(STACK_TUN).expect("up tsb0");
            let mut s = Stack::new(StackConfig::default(), Rng::new(1));
            let i = s.add_interface(InterfaceConfig::ip(
                STACK_TUN,
                Ipv4Cidr::new(STACK_ADDR, 24).expect("cidr"),
            ));
            let rt = Runtime::spawn(s, vec![(i, Box::new(dev))]).expect("runtime");

            let rdev = TunDevice::open(REFL_TUN).expect("open tsb1");
            netdev::set_ipv4(REFL_TUN, REFL_HOST, 24).expect("address tsb1");
            netdev::set_up(REFL_TUN).expect("up tsb1");
            let refl = std::thread::Builder::new()
                .name("reflector".into())
                .spawn(move || reflect(rdev, &stop))
                .expect("spawn reflector");

            let a = Pinger::open(STACK_ADDR).expect("ICMP datagram socket");
            let b = Pinger::open(REFL_ADDR).expect("ICMP datagram socket");
            (rt, refl, a, b)
        }
    });

    let placements: Vec<(&str, Option<usize>)> = match (near, far) {
        (Some(n), Some(f)) => vec![("same CPU", Some(n)), ("across CPUs", Some(f))],
        _ => vec![("unpinned", None)],
    };
    let mut results = Vec::new();
    for &(label, cpu) in &placements {
        if let Some(c) = cpu {
            pin(c);
        }
        // Warm up both paths (caches, page faults, CPU frequency).
        let _ = to_stack.batch(500);
        let _ = to_refl.batch(500);
        let mut ours = Samples::default();
        let mut floor = Samples::default();
        for _ in 0..reps {
            ours.add(to_stack.batch(per_batch));
            floor.add(to_refl.batch(per_batch));
        }
        results.push((label, ours, floor));
    }

    stop.store(true, Ordering::Release);
    let _ = reflector.join();
    let stats = runtime.shutdown().ok();
    drop(ns);

    println!(
        "{reps} repetitions of {per_batch} round trips to each, alternating; {PAYLOAD}-byte \
         payload; microseconds: median over repetitions (min-max) of each batch's figure; \
         ratio = tunstack / floor"
    );
    match (near, far) {
        (Some(n), Some(f)) => println!(
            "answering threads on CPU {n}; pinging thread on CPU {n} (same CPU) or {f} (across CPUs)"
        ),
        _ => println!("one CPU available: threads left to the scheduler"),
    }
    println!();
    let mut rows = Vec::new();
    for (label, ours, floor) in &results {
        rows.push(Row::new(
            format!("{label}: RTT median (us)"),
            &ours.medians,
            &floor.medians,
            1,
        ));
        rows.push(Row::new(
            format!("{label}: RTT p99 (us)"),
            &ours.p99s,
            &floor.p99s,
            1,
        ));
        rows.push(Row::text(
            format!("{label}: tunstack - floor (us)"),
            &format!("{:+.1}", median(&ours.medians) - median(&floor.medians)),
            "",
            "",
        ));
        rows.push(Row::text(
            format!("{label}: lost"),
            &format!("{} of {}", ours.lost, ours.sent),
            &format!("{} of {}", floor.lost, floor.sent),
            "",
        ));
    }
    support::print_table(
        ["ping through TUN", "tunstack", "reflector (floor)", "ratio"],
        &rows,
    );
    println!();
    if let Some(s) = stats {
        println!(
            "tunstack counters: IcmpInEchos {} IcmpOutEchoReps {}",
            s.icmp_in_echos, s.icmp_out_echo_reps
        );
    }
    println!("ping_rtt took {:.1} s", started.elapsed().as_secs_f64());
}

/// The CPUs this process may run on, in order.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: fills a live cpu_set_t of the size passed, for the calling thread (0).
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return Vec::new();
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads the set within its bounds (i < CPU_SETSIZE).
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

/// Pins the calling thread to `cpu` (threads it spawns later inherit it).
fn pin(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes within the set; `cpu` came from sched_getaffinity.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: reads a live cpu_set_t of the size passed; 0 is the calling thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r != 0 {
        eprintln!(
            "warning: cannot pin to CPU {cpu}: {}",
            io::Error::last_os_error()
        );
    }
}

/// Per-batch statistics, in microseconds.
#[derive(Default)]
struct Samples {
    medians: Vec<f64>,
    p99s: Vec<f64>,
    means: Vec<f64>,
    sent: usize,
    lost: usize,
}

impl Samples {
    fn add(&mut self, b: Batch) {
        let us: Vec<f64> = b.rtts.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        self.medians.push(median(&us));
        self.p99s.push(quantile(&us, 0.99));
        self.means
            .push(us.iter().sum::<f64>() / us.len().max(1) as f64);
        self.sent += b.sent;
        self.lost += b.sent - b.rtts.len();
    }
}

struct Batch {
    rtts: Vec<Duration>,
    sent: usize,
}

/// A connected ICMP datagram socket: the kernel fills in the identifier and checksum and
/// hands back only replies to this socket.
struct Pinger {
    fd: OwnedFd,
    seq: u16,
}

impl Pinger {
    fn open(dst: Ipv4Addr) -> io::Result<Pinger> {
        // SAFETY: socket takes no pointers; the result is checked and then owned.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::IPPROTO_ICMP,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from(dst).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `sa` is a live sockaddr_in of the size passed.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Pinger { fd, seq: 0 })
    }

    /// `n` round trips, one after another; a request unanswered for 1 s counts as lost.
    fn batch(&mut self, n: usize) -> Batch {
        let mut rtts = Vec::with_capacity(n);
        for _ in 0..n {
            match self.once(Duration::from_secs(1)) {
                Ok(Some(d)) => rtts.push(d),
                Ok(None) => {}
                Err(e) => panic!("ping failed: {e}"),
            }
        }
        Batch { rtts, sent: n }
    }

    fn once(&mut self, timeout: Duration) -> io::Result<Option<Duration>> {
        self.seq = self.seq.wrapping_add(1);
        let mut req = [0u8; 8 + PAYLOAD];
        req[0] = 8; // echo request; the kernel sets identifier and checksum
        req[6..8].copy_from_slice(&self.seq.to_be_bytes());
        for (i, b) in req[8..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let fd = self.fd.as_raw_fd();
        let t0 = Instant::now();
        // SAFETY: sends from a live buffer of the length given on our own socket.
        if unsafe { libc::send(fd, req.as_ptr().cast(), req.len(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = [0u8; 1500];
        loop {
            let left = timeout.saturating_sub(t0.elapsed());
            if left.is_zero() || !common::wait_readable(fd, left) {
                return Ok(None);
            }
            // SAFETY: receives into a live buffer of the length given.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            let elapsed = t0.elapsed();
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            // An echo reply with our sequence number (a late reply to an earlier,
            // timed-out request is skipped).
            if n >= 8 && buf[0] == 0 && buf[6..8] == self.seq.to_be_bytes() {
                return Ok(Some(elapsed));
            }
        }
    }
}

/// The floor: answer every ICMP echo request on `dev` by swapping the IPv4 addresses and
/// turning the type into echo reply (RFC 792), the ICMP checksum fixed incrementally
/// (RFC 1624); the IPv4 header checksum does not change when its two addresses swap.
fn reflect(mut dev: TunDevice, stop: &AtomicBool) {
    let fd: RawFd = dev.raw_fd().expect("TUN has a descriptor");
    let mut buf = vec![0u8; 65_536];
    let now = tunstack::time::Instant::ZERO;
    while !stop.load(Ordering::Acquire) {
        if !common::wait_readable(fd, Duration::from_millis(100)) {
            continue;
        }
        while let Ok(Some(n)) = dev.recv(&mut buf, now) {
            if to_reply(&mut buf[..n]) {
                dev.send(&buf[..n], now).expect("TUN write");
            }
        }
    }
}

/// Rewrites an IPv4 ICMP echo request in place into the reply; false for anything else.
fn to_reply(p: &mut [u8]) -> bool {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return false;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < 20 || p.len() < ihl + 8 || p[9] != 1 || p[ihl] != 8 || p[ihl + 1] != 0 {
        return false;
    }
    for i in 0..4 {
        p.swap(12 + i, 16 + i);
    }
    p[ihl] = 0;
    let old = u16::from_be_bytes([p[ihl + 2], p[ihl + 3]]);
    let new = checksum::update(old, 0x0800, 0x0000);
    p[ihl + 2..ihl + 4].copy_from_slice(&new.to_be_bytes());
    true
}
