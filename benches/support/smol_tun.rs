//! smoltcp 0.14 over a real TUN device (`phy::TunTapInterface`, medium IP): a discard
//! (port 9) and a chargen (port 19) server, each one TCP socket with 1 MiB buffers and
//! CUBIC, polled in one thread in the usual smoltcp loop (`poll`, serve the sockets,
//! `phy::wait` for the next deadline). The same services as `tunstack up` runs, so the
//! kernel side of the transfer is the same code for both stacks.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Medium, TunTapInterface};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use crate::common::NetNs;
use crate::kernel::{CHARGEN, DISCARD};

/// Each socket's receive and send buffer.
pub const SOCKET_BUFFER: usize = 1 << 20;
/// The application's read and write size (as the tunstack services use).
const APP_IO: usize = 64 * 1024;

/// The server thread; stopped when dropped.
pub struct SmolServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmolServer {
    /// Opens TUN device `name` in `ns` with the kernel side at `host`/24, and serves at
    /// `addr` until dropped.
    pub fn start(ns: &NetNs, name: &'static str, host: Ipv4Addr, addr: Ipv4Addr) -> SmolServer {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = ns.spawn(move || {
            let dev = TunTapInterface::new(name, Medium::Ip).expect("smoltcp: open TUN");
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
            tunstack::link::netdev::set_ipv4(name, host, 24).expect("address TUN");
            tunstack::link::netdev::set_up(name).expect("up TUN");
            ready_tx.send(()).expect("ready");
            run(dev, addr, &flag);
        });
        ready_rx.recv().expect("smoltcp server failed to start");
        SmolServer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SmolServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn socket() -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]),
        tcp::SocketBuffer::new(vec![0; SOCKET_BUFFER]),
    );
    s.set_congestion_control(tcp::CongestionControl::Cubic);
    s
}

fn listen(sockets: &mut SocketSet, h: SocketHandle, port: u16) {
    let s = sockets.get_mut::<tcp::Socket>(h);
    if s.state() == tcp::State::Closed {
        s.listen(port).expect("smoltcp listen");
    }
}

fn run(mut dev: TunTapInterface, addr: Ipv4Addr, stop: &AtomicBool) {
    let fd = dev.as_raw_fd();
    let mut iface = Interface::new(Config::new(HardwareAddress::Ip), &mut dev, Instant::now());
    iface.update_ip_addrs(|a| {
        a.push(IpCidr::new(IpAddress::Ipv4(addr), 24))
            .expect("address")
    });
    let mut sockets = SocketSet::new(Vec::new());
    let sink = sockets.add(socket());
    let source = sockets.add(socket());
    let data: Vec<u8> = (0..APP_IO).map(|i| (i % 251) as u8).collect();
    let mut buf = vec![0u8; APP_IO];
    // Wake at least this often to see the stop flag.
    let idle = Duration::from_millis(50);
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        iface.poll(now, &mut dev, &mut sockets);

        listen(&mut sockets, sink, DISCARD);
        let s = sockets.get_mut::<tcp::Socket>(sink);
        while s.can_recv() {
            if s.recv_slice(&mut buf).is_err() {
                break;
            }
        }
        if s.state() == tcp::State::CloseWait {
            s.close();
        }

        listen(&mut sockets, source, CHARGEN);
        let s = sockets.get_mut::<tcp::Socket>(source);
        if s.state() == tcp::State::CloseWait {
            // The reader is done (chargen sends until the peer goes away).
            s.abort();
        } else {
            while s.can_send() {
                match s.send_slice(&data) {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }

        let delay = iface
            .poll_delay(now, &sockets)
            .map_or(idle, |d| d.min(idle));
        phy::wait(fd, Some(delay)).expect("phy::wait");
    }
}
