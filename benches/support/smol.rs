//! smoltcp to smoltcp over in-memory queues in virtual time, the comparison for
//! tunstack's `Sim`: two `Interface`s (medium IP, MTU 1500, checksums computed and
//! verified), each with one TCP socket, frames moved through a `VecDeque` per direction.
//! Frame buffers are recycled through a pool shared by both ends, as `Sim` recycles
//! tunstack's, so neither side of the comparison pays an allocation per frame.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

type Queue = Rc<RefCell<VecDeque<Vec<u8>>>>;
/// Frame buffers done with, for the next frame.
type Pool = Rc<RefCell<Vec<Vec<u8>>>>;

/// One end of the in-memory link.
struct QueueDevice {
    rx: Queue,
    tx: Queue,
    pool: Pool,
    sent: u64,
}

impl Device for QueueDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let frame = self.rx.borrow_mut().pop_front()?;
        Some((
            RxToken {
                frame,
                pool: &self.pool,
            },
            TxToken {
                queue: &self.tx,
                pool: &self.pool,
                sent: &mut self.sent,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken {
            queue: &self.tx,
            pool: &self.pool,
            sent: &mut self.sent,
        })
    }
}

struct RxToken<'a> {
    frame: Vec<u8>,
    pool: &'a Pool,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.frame);
        self.pool.borrow_mut().push(self.frame);
        r
    }
}

struct TxToken<'a> {
    queue: &'a Queue,
    pool: &'a Pool,
    sent: &'a mut u64,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // A recycled buffer keeps its old bytes: smoltcp writes every byte of the `len`
        // it asked for (headers and payload), so only a longer frame's tail is zeroed.
        let mut frame = self.pool.borrow_mut().pop().unwrap_or_default();
        frame.resize(len, 0);
        let r = f(&mut frame);
        self.queue.borrow_mut().push_back(frame);
        *self.sent += 1;
        r
    }
}

/// What one transfer moved, in how long (wall clock), and the frames each way.
pub struct SmolOutcome {
    pub bytes: u64,
    pub wall: Duration,
    pub frames: (u64, u64),
}

/// smoltcp A sends `total` bytes to smoltcp B with `buffer`-byte socket buffers on each
/// side, writing and reading `chunk` bytes at a time; the wall time counts from the first
/// write to the last byte read.
///
/// smoltcp decides about ACKs once per `poll`: polled after a whole batch of segments has
/// arrived, it sends one ACK for the lot. With `per_frame`, the receiver instead takes in
/// one frame at a time and sends what is due after each (`poll_ingress_single` then
/// `poll_egress`), as when segments arrive one by one; its delayed-ACK rule then
/// acknowledges every second segment, as tunstack does.
pub fn transfer(total: u64, buffer: usize, chunk: usize, per_frame: bool) -> SmolOutcome {
    let ab: Queue = Rc::default();
    let ba: Queue = Rc::default();
    let pool: Pool = Rc::default();
    let mut dev_a = QueueDevice {
        rx: Rc::clone(&ba),
        tx: Rc::clone(&ab),
        pool: Rc::clone(&pool),
        sent: 0,
    };
    let mut dev_b = QueueDevice {
        rx: Rc::clone(&ab),
        tx: Rc::clone(&ba),
        pool: Rc::clone(&pool),
        sent: 0,
    };
    let mut now = Instant::from_secs(1);
    let ip_a = IpAddress::v4(10, 0, 0, 1);
    let ip_b = IpAddress::v4(10, 0, 0, 2);
    let mut iface_a = Interface::new(Config::new(HardwareAddress::Ip), &mut dev_a, now);
    iface_a.update_ip_addrs(|a| a.push(IpCidr::new(ip_a, 24)).expect("address"));
    let mut iface_b = Interface::new(Config::new(HardwareAddress::Ip), &mut dev_b, now);
    iface_b.update_ip_addrs(|a| a.push(IpCidr::new(ip_b, 24)).expect("address"));

    let socket = || {
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; buffer]),
            tcp::SocketBuffer::new(vec![0; buffer]),
        );
        // Without congestion control, as before the `socket-tcp-cubic` feature (which
        // makes CUBIC the default) was enabled for the TUN comparison.
        s.set_congestion_control(tcp::CongestionControl::None);
        s
    };
    let mut set_a = SocketSet::new(Vec::new());
    let mut set_b = SocketSet::new(Vec::new());
    let ha = set_a.add(socket());
    let hb = set_b.add(socket());
    set_b.get_mut::<tcp::Socket>(hb).listen(80).expect("listen");
    set_a
        .get_mut::<tcp::Socket>(ha)
        .connect(iface_a.context(), (ip_b, 80), 49_152)
        .expect("connect");

    let data = crate::chunk();
    let mut buf = vec![0u8; chunk];
    let (mut sent, mut got) = (0u64, 0u64);
    let mut t0 = None;
    let mut frames0 = (0, 0);
    while got < total {
        iface_a.poll(now, &mut dev_a, &mut set_a);
        let a = set_a.get_mut::<tcp::Socket>(ha);
        if a.may_send() {
            if t0.is_none() {
                t0 = Some(std::time::Instant::now());
                frames0 = (dev_a.sent, dev_b.sent);
            }
            while sent < total && a.can_send() {
                let want = (total - sent).min(chunk as u64) as usize;
                match a.send_slice(&data[..want]) {
                    Ok(n) if n > 0 => sent += n as u64,
                    _ => break,
                }
            }
        }
        iface_a.poll(now, &mut dev_a, &mut set_a);
        if per_frame {
            while iface_b.poll_ingress_single(now, &mut dev_b, &mut set_b)
                != PollIngressSingleResult::None
            {
                iface_b.poll_egress(now, &mut dev_b, &mut set_b);
            }
        }
        iface_b.poll(now, &mut dev_b, &mut set_b);
        let b = set_b.get_mut::<tcp::Socket>(hb);
        while b.can_recv() {
            match b.recv_slice(&mut buf) {
                Ok(n) if n > 0 => got += n as u64,
                _ => break,
            }
        }
        iface_b.poll(now, &mut dev_b, &mut set_b);
        // Frames in flight are delivered at once; otherwise jump to the next deadline.
        if ab.borrow().is_empty() && ba.borrow().is_empty() {
            let next = [iface_a.poll_at(now, &set_a), iface_b.poll_at(now, &set_b)]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) => now = now.max(t),
                None => panic!("smoltcp transfer stalled at {got} of {total}"),
            }
        }
    }
    let wall = t0.map_or(Duration::ZERO, |t| t.elapsed());
    SmolOutcome {
        bytes: got,
        wall,
        frames: (dev_a.sent - frames0.0, dev_b.sent - frames0.1),
    }
}
