//! The runtime's writer threads (`tunstack::socket::WriterMode`) over a real TUN device
//! without offloads, the kernel's TCP as the peer in a test-made namespace: which
//! devices get one, bulk data intact both ways through it under either runtime (the
//! runtime thread and the tokio-driven one), and a shutdown in the middle of a transfer
//! that writes what it held, in order, and closes the device.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{netdev, Device, TunDevice};
use tunstack::rand::Rng;
use tunstack::socket::{Runtime, RuntimeOptions, WriterMode};
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::TcpConfig;

const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn data(n: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; n];
    Rng::new(seed).fill(&mut v);
    v
}

/// Which runtime drives the stack.
#[derive(Clone, Copy, Debug)]
enum Drive {
    Thread,
    Tokio,
}

/// Opens TUN device `name` in `ns` (offloads as asked), kernel side 10.77.0.1/24, and
/// runs a stack at 10.77.0.2 on it with 1 MiB socket buffers.
fn stack_in(
    ns: &common::NetNs,
    name: &'static str,
    offload: bool,
    drive: Drive,
    writer: WriterMode,
) -> Runtime {
    ns.run(move || {
        let dev = TunDevice::open_with(name, offload).unwrap();
        netdev::set_ipv4(name, HOST, 24).unwrap();
        netdev::set_up(name).unwrap();
        let cfg = StackConfig {
            tcp: TcpConfig {
                recv_buffer: 1 << 20,
                send_buffer: 1 << 20,
                ..TcpConfig::default()
            },
            ..StackConfig::default()
        };
        let mut s = Stack::new(cfg, Rng::new(21));
        let i = s.add_interface(InterfaceConfig::ip(name, Ipv4Cidr::new(STACK, 24).unwrap()));
        s.set_offload(i, dev.offload());
        let options = RuntimeOptions::with_writer(writer);
        let devices: Vec<tunstack::socket::Attached> = vec![(i, Box::new(dev))];
        match drive {
            Drive::Thread => Runtime::spawn_with(s, devices, options).unwrap(),
            Drive::Tokio => Runtime::spawn_tokio_with(s, devices, options).unwrap(),
        }
    })
}

/// The names of this process's threads that write to device `name` (`tstx-NAME`, as
/// `top -H` and `ps -L` show them).
fn writer_threads(name: &str) -> usize {
    let want = format!("tstx-{name}");
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == want)
        .count()
}

/// The number of writer threads of device `name` once it is `want`, or after a second
/// (what it is then): a new thread names itself a moment after it starts, and a joined
/// thread's `/proc` entry may outlive the join by a moment.
fn writer_threads_settle(name: &str, want: usize) -> usize {
    let t = Instant::now();
    loop {
        let n = writer_threads(name);
        if n == want || t.elapsed() > Duration::from_secs(1) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether interface `name` exists in `ns`.
fn link_exists(ns: &common::NetNs, name: &str) -> bool {
    ns.exec("ip", &["link", "show", "dev", name])
        .status
        .success()
}

/// 64 MiB from the stack to a kernel listener and 64 MiB back, each checked byte for
/// byte, through the writer thread `writer` gives the device (or none).
fn both_ways_64_mib(drive: Drive, writer: WriterMode, name: &'static str, threads: usize) {
    const LEN: usize = 64 << 20;
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, name, false, drive, writer);
    assert_eq!(
        writer_threads_settle(name, threads),
        threads,
        "{writer:?} on a device without offloads"
    );
    let listener = ns.run(|| std::net::TcpListener::bind(sa(HOST, 6100)).unwrap());
    let up = data(LEN, 1);
    let down = data(LEN, 2);
    let (up2, down2) = (up.clone(), down.clone());
    let kernel = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut got = vec![0u8; LEN];
        s.read_exact(&mut got).unwrap();
        s.write_all(&down2).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        got == up2
    });
    let h = rt.handle();
    let mut c = tunstack::TcpStream::connect_on(&h, sa(HOST, 6100), None).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    c.write_all(&up).unwrap();
    let mut got = Vec::with_capacity(LEN);
    c.read_to_end(&mut got).unwrap();
    assert_eq!(writer_threads(name), threads, "after the transfer");
    assert!(kernel.join().unwrap(), "the kernel received other bytes");
    assert_eq!(got.len(), LEN);
    assert!(got == down, "the stack received other bytes");
    let stats = rt.shutdown().unwrap();
    assert!(
        stats
            .get("TcpOutSegs")
            .is_some_and(|n| n >= (LEN / 1460) as u64),
        "one wire segment per write: {stats:?}"
    );
    assert_eq!(
        writer_threads_settle(name, 0),
        0,
        "the writer thread ends with the runtime"
    );
}

#[test]
fn writer_thread_carries_64_mib_each_way_intact() {
    if !common::require_root() {
        return;
    }
    both_ways_64_mib(Drive::Thread, WriterMode::Auto, "tsw0", 1);
}

/// The same under the tokio-driven runtime (`tunstack up`'s), whose thread the
/// applications' tasks share.
#[test]
fn writer_thread_carries_64_mib_each_way_intact_under_tokio() {
    if !common::require_root() {
        return;
    }
    both_ways_64_mib(Drive::Tokio, WriterMode::Auto, "tsw1", 1);
}

/// `WriterMode::Inline`: no writer thread, the same transfer intact.
#[test]
fn inline_writes_carry_64_mib_each_way_intact() {
    if !common::require_root() {
        return;
    }
    both_ways_64_mib(Drive::Tokio, WriterMode::Inline, "tsw2", 0);
}

/// `Auto` leaves a device with offloads (a write per 64 KiB super-segment) to the
/// runtime's own thread; `Thread` gives it one.
#[test]
fn auto_gives_offloading_devices_no_writer_thread() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, "tsw3", true, Drive::Tokio, WriterMode::Auto);
    assert_eq!(writer_threads_settle("tsw3", 0), 0);
    rt.shutdown().unwrap();
    let rt = stack_in(&ns, "tsw4", true, Drive::Thread, WriterMode::Thread);
    assert_eq!(writer_threads_settle("tsw4", 1), 1);
    rt.shutdown().unwrap();
    assert!(writer_threads_settle("tsw4", 0) == 0);
}

/// Shutting the runtime down while the stack sends at full speed (frames queued for the
/// writer thread): the shutdown returns promptly with the counters, the application's
/// blocked write fails with `ConnectionAborted`, what the kernel received is the start
/// of what was sent, in order and intact, the writer thread is gone and the TUN
/// interface with it (its last descriptor closed).
fn shutdown_mid_transfer(drive: Drive, name: &'static str) {
    const LEN: usize = 1 << 30;
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, name, false, drive, WriterMode::Thread);
    assert_eq!(writer_threads_settle(name, 1), 1);
    let listener = ns.run(|| std::net::TcpListener::bind(sa(HOST, 6200)).unwrap());
    let kernel = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // The stack vanishes without a FIN: a quiet second ends the read.
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    break
                }
                Err(e) => panic!("kernel read: {e}"),
            }
        }
        got
    });
    let sent = data(LEN, 3);
    let h = rt.handle();
    let app = std::thread::spawn(move || {
        let mut c = tunstack::TcpStream::connect_on(&h, sa(HOST, 6200), None).unwrap();
        // Until the shutdown: a 1 GiB transfer outlasts it.
        c.write_all(&sent).map_err(|e| e.kind())
    });
    let t = Instant::now();
    while rt.handle().stats().get("TcpOutSegs").unwrap_or(0) < 4096 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the transfer started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let t = Instant::now();
    let stats = rt.shutdown().expect("an orderly shutdown");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        t.elapsed()
    );
    assert!(stats.get("TcpOutSegs").unwrap_or(0) >= 4096);
    assert_eq!(app.join().unwrap(), Err(ErrorKind::ConnectionAborted));
    assert!(
        writer_threads_settle(name, 0) == 0,
        "the writer thread ended"
    );
    assert!(
        !link_exists(&ns, name),
        "the TUN interface went with the runtime"
    );
    let got = kernel.join().unwrap();
    let expect = data(LEN, 3);
    assert!(
        got.len() >= 1 << 20,
        "the kernel received {} bytes",
        got.len()
    );
    assert!(
        got[..] == expect[..got.len()],
        "the kernel received {} bytes that are not the start of the stream",
        got.len()
    );
}

#[test]
fn shutdown_mid_transfer_writes_in_order_and_closes_the_device() {
    if !common::require_root() {
        return;
    }
    shutdown_mid_transfer(Drive::Thread, "tsw5");
}

#[test]
fn shutdown_mid_transfer_writes_in_order_and_closes_the_device_under_tokio() {
    if !common::require_root() {
        return;
    }
    shutdown_mid_transfer(Drive::Tokio, "tsw6");
}

/// The interface deleted under a transfer (writes and reads then fail with `EBADFD`):
/// the runtime stops with the device's error instead of waiting on its writer thread,
/// the application's write fails, and the writer thread is gone.
#[test]
fn a_vanished_device_stops_the_runtime_with_its_error() {
    if !common::require_root() {
        return;
    }
    let name = "tsw7";
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, name, false, Drive::Thread, WriterMode::Thread);
    let listener = ns.run(|| std::net::TcpListener::bind(sa(HOST, 6300)).unwrap());
    let kernel = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let h = rt.handle();
    let app = std::thread::spawn(move || {
        let mut c = tunstack::TcpStream::connect_on(&h, sa(HOST, 6300), None).unwrap();
        let chunk = data(1 << 20, 4);
        loop {
            if let Err(e) = c.write_all(&chunk) {
                return e.kind();
            }
        }
    });
    let t = Instant::now();
    while rt.handle().stats().get("TcpOutSegs").unwrap_or(0) < 1024 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the transfer started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    ns.exec_ok("ip", &["link", "del", "dev", name]);
    let t = Instant::now();
    while rt.is_running() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the runtime stops when its device goes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        rt.shutdown().is_err(),
        "shutdown reports the device's error"
    );
    assert_eq!(app.join().unwrap(), ErrorKind::ConnectionAborted);
    assert_eq!(writer_threads_settle(name, 0), 0, "the writer thread ended");
    kernel.join().unwrap();
}
