//! TCP with the Linux kernel as the peer: tunstack's sockets on one side of a real TUN
//! device, the kernel's `std::net` sockets on the other, inside a test-made namespace.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::{netdev, TunDevice};
use tunstack::rand::Rng;
use tunstack::socket::{Runtime, StackHandle};
use tunstack::stack::{Stack, StackConfig};

const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// Opens a TUN device in `ns`, gives the kernel side 10.77.0.1/24, and runs a stack at
/// 10.77.0.2 on it.
fn stack_in(ns: &common::NetNs, name: &'static str) -> Runtime {
    ns.run(move || {
        let dev = TunDevice::open(name).unwrap();
        netdev::set_ipv4(name, HOST, 24).unwrap();
        netdev::set_up(name).unwrap();
        let mut s = Stack::new(StackConfig::default(), Rng::new(11));
        let i = s.add_interface(InterfaceConfig::ip(name, Ipv4Cidr::new(STACK, 24).unwrap()));
        Runtime::spawn(s, vec![(i, Box::new(dev))]).unwrap()
    })
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn data(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    Rng::new(n as u64).fill(&mut v);
    v
}

/// tunstack serves (an echo server on its sockets); the kernel's std::net connects.
#[test]
fn kernel_client_tunstack_server() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, "tsk0");
    let h: StackHandle = rt.handle();
    let l = tunstack::TcpListener::bind_on(&h, sa(STACK, 5000)).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::V4(HOST));
        let mut buf = vec![0u8; 65536];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let msg = data(4 << 20);
    let expect = msg.clone();
    let got = ns.run(move || {
        let mut c = std::net::TcpStream::connect(sa(STACK, 5000)).unwrap();
        let reader = c.try_clone().unwrap();
        let rt = std::thread::spawn(move || {
            let mut got = Vec::new();
            (&reader).read_to_end(&mut got).unwrap();
            got
        });
        c.write_all(&msg).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        rt.join().unwrap()
    });
    assert!(
        got == expect,
        "echo differs ({} of {} bytes)",
        got.len(),
        expect.len()
    );
    server.join().unwrap();
}

/// tunstack connects to a kernel listener (std::net) and exchanges data both ways.
#[test]
fn tunstack_client_kernel_server() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, "tsk1");
    let listener = ns.run(|| std::net::TcpListener::bind(sa(HOST, 6000)).unwrap());
    let up = data(3 << 20);
    let down = data(5 << 20);
    let (up2, down2) = (up.clone(), down.clone());
    let kernel = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut got = vec![0u8; up2.len()];
        s.read_exact(&mut got).unwrap();
        s.write_all(&down2).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        got == up2
    });
    let mut c = tunstack::TcpStream::connect_on(&rt.handle(), sa(HOST, 6000), None).unwrap();
    c.write_all(&up).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert!(kernel.join().unwrap(), "kernel got the upload intact");
    assert!(
        got == down,
        "download intact ({} of {})",
        got.len(),
        down.len()
    );
}

/// Refused, reset and timed out surface as the io::ErrorKind std::net gives.
#[test]
fn errors_from_the_kernel_map_to_io_error_kinds() {
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let rt = stack_in(&ns, "tsk2");
    let h = rt.handle();
    // Refused: nothing listens on the kernel side; the kernel answers RST.
    let e = tunstack::TcpStream::connect_on(&h, sa(HOST, 6001), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);

    // Reset: the kernel closes with SO_LINGER 0, which sends RST.
    let listener = ns.run(|| std::net::TcpListener::bind(sa(HOST, 6002)).unwrap());
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let kernel = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        wait.recv().unwrap();
        set_linger_zero(&s);
        drop(s);
    });
    let mut c = tunstack::TcpStream::connect_on(&h, sa(HOST, 6002), None).unwrap();
    go.send(()).unwrap();
    kernel.join().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        c.read(&mut buf).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );

    // Timed out: an address on the link that nobody has.
    let e = tunstack::TcpStream::connect_on(
        &h,
        sa(Ipv4Addr::new(10, 77, 0, 99), 80),
        Some(Duration::from_millis(500)),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
}

fn set_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads a linger struct of the size given from a live local.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
}
