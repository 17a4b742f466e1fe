//! The `std::net`-shaped socket API over two real runtimes joined by an in-memory link
//! (real threads, real time, no root): what a user of `TcpStream`/`TcpListener` sees.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use tunstack::iface::{InterfaceConfig, Ipv4Cidr};
use tunstack::link::impair::{ImpairConfig, Impaired};
use tunstack::link::{Device, Medium, MemoryLink};
use tunstack::rand::Rng;
use tunstack::socket::{Runtime, StackHandle, TcpListener, TcpStream};
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::congestion::Algorithm;

const A: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);

struct Pair {
    a: Runtime,
    b: Runtime,
}

impl Pair {
    fn new(impair: ImpairConfig) -> Pair {
        let (ea, eb) = MemoryLink::pair(Medium::Ip, 1500);
        let mk = |addr: Ipv4Addr, seed: u64, dev: Box<dyn Device + Send>| {
            let mut s = Stack::new(StackConfig::default(), Rng::new(seed));
            let i = s.add_interface(InterfaceConfig::ip("mem", Ipv4Cidr::new(addr, 24).unwrap()));
            Runtime::spawn(s, vec![(i, dev)]).unwrap()
        };
        let db: Box<dyn Device + Send> = if impair.loss > 0.0 {
            Box::new(Impaired::new(eb, impair.clone(), impair, 7))
        } else {
            Box::new(eb)
        };
        Pair {
            a: mk(A, 1, Box::new(ea)),
            b: mk(B, 2, db),
        }
    }

    fn ha(&self) -> StackHandle {
        self.a.handle()
    }

    fn hb(&self) -> StackHandle {
        self.b.handle()
    }
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

#[test]
fn echo_round_trip_and_addresses() {
    let p = Pair::new(ImpairConfig::default());
    let l = TcpListener::bind_on(&p.hb(), sa(B, 7)).unwrap();
    assert_eq!(l.local_addr().unwrap(), sa(B, 7));
    let server = std::thread::spawn(move || {
        let (mut s, peer) = l.accept().unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::V4(A));
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 7), None).unwrap();
    assert_eq!(c.peer_addr().unwrap(), sa(B, 7));
    assert_eq!(c.local_addr().unwrap().ip(), std::net::IpAddr::V4(A));
    let msg: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let reader = c.try_clone().unwrap();
    let expect = msg.len();
    let rt = std::thread::spawn(move || {
        let mut got = Vec::new();
        (&reader).read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), expect);
        got
    });
    c.write_all(&msg).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got = rt.join().unwrap();
    assert_eq!(got, msg);
    server.join().unwrap();
}

#[test]
fn connect_to_closed_port_is_refused() {
    let p = Pair::new(ImpairConfig::default());
    let e = TcpStream::connect_on(&p.ha(), sa(B, 9999), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn connect_into_the_void_times_out() {
    let p = Pair::new(ImpairConfig {
        loss: 1.0,
        ..ImpairConfig::default()
    });
    let t = Instant::now();
    let e =
        TcpStream::connect_on(&p.ha(), sa(B, 80), Some(Duration::from_millis(300))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn bind_twice_is_addr_in_use_and_port_zero_picks_one() {
    let p = Pair::new(ImpairConfig::default());
    let _l = TcpListener::bind_on(&p.hb(), sa(B, 80)).unwrap();
    assert_eq!(
        TcpListener::bind_on(&p.hb(), sa(B, 80)).unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    let l0 = TcpListener::bind_on(&p.hb(), sa(B, 0)).unwrap();
    assert_ne!(l0.local_addr().unwrap().port(), 0);
    assert_eq!(
        TcpListener::bind_on(&p.hb(), sa(Ipv4Addr::new(10, 9, 0, 77), 80))
            .unwrap_err()
            .kind(),
        ErrorKind::AddrNotAvailable
    );
}

#[test]
fn reset_by_peer_surfaces_as_connection_reset() {
    let p = Pair::new(ImpairConfig::default());
    let l = TcpListener::bind_on(&p.hb(), sa(B, 80)).unwrap();
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 80), None).unwrap();
    let (s, _) = l.accept().unwrap();
    c.write_all(b"unread data").unwrap();
    // Wait until the data is there, then close without reading: RFC 2525 2.17 says reset.
    let mut one = [0u8; 1];
    s.peek(&mut one).unwrap();
    drop(s);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let e = c.read(&mut one).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn nonblocking_and_read_timeout_give_would_block() {
    let p = Pair::new(ImpairConfig::default());
    let l = TcpListener::bind_on(&p.hb(), sa(B, 80)).unwrap();
    l.set_nonblocking(true).unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    l.set_nonblocking(false).unwrap();
    let c = TcpStream::connect_on(&p.ha(), sa(B, 80), None).unwrap();
    let (_s, _) = l.accept().unwrap();
    c.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        (&c).read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    c.set_nonblocking(false).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let t = Instant::now();
    assert_eq!(
        (&c).read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert!(t.elapsed() >= Duration::from_millis(90));
    assert!(c.set_read_timeout(Some(Duration::ZERO)).is_err());
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    // TCP_CONGESTION per socket: CUBIC by default, Reno when asked for.
    assert_eq!(c.info().unwrap().congestion, "cubic");
    c.set_congestion_control(Algorithm::Reno).unwrap();
    assert_eq!(c.info().unwrap().congestion, "reno");
}

#[test]
fn half_close_lets_the_other_side_keep_sending() {
    let p = Pair::new(ImpairConfig::default());
    let l = TcpListener::bind_on(&p.hb(), sa(B, 80)).unwrap();
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 80), None).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.write_all(b"request").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut req = Vec::new();
    s.read_to_end(&mut req).unwrap();
    assert_eq!(req, b"request");
    s.write_all(b"response after the client's FIN").unwrap();
    drop(s);
    let mut resp = Vec::new();
    c.read_to_end(&mut resp).unwrap();
    assert_eq!(resp, b"response after the client's FIN");
    // Writing after our own shutdown is a broken pipe, as with the kernel's sockets.
    assert_eq!(c.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
}

#[test]
fn transfer_survives_loss() {
    let p = Pair::new(ImpairConfig {
        loss: 0.02,
        ..ImpairConfig::default()
    });
    let l = TcpListener::bind_on(&p.hb(), sa(B, 9)).unwrap();
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i ^ (i >> 8)) as u8).collect();
    let expect = data.clone();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        got == expect
    });
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 9), None).unwrap();
    c.write_all(&data).unwrap();
    let info = c.info().unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    assert!(server.join().unwrap(), "data intact");
    let _ = info;
    assert!(p.a.handle().stats().tcp_retrans_segs > 0);
}
