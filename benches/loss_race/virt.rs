//! The virtual-time half of the loss race: tunstack to tunstack through
//! `tunstack::sim::Sim`, smoltcp to smoltcp through the same seeded `Impairment`s, and two
//! tunstack flows sharing a rate-limited bottleneck. No root, no clock: every figure is
//! bytes over virtual time, identical from run to run.

#[path = "../../tests/smol_queue/mod.rs"]
mod smol_queue;

use smol_queue::{smol_time, QueueDevice};
use std::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::iface::{Config, Interface, PollIngressSingleResult, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use tunstack::iface::{IfaceId, InterfaceConfig, Ipv4Cidr};
use tunstack::link::impair::{ImpairConfig, Impairment};
use tunstack::rand::Rng;
use tunstack::sim::Sim;
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::congestion::Algorithm;
use tunstack::tcp::TcpConfig;
use tunstack::time::{Duration, Instant};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// One transfer's result: bytes delivered and the virtual time they took (the cap, if
/// the transfer did not finish).
#[derive(Clone, Copy, Debug)]
pub struct Goodput {
    pub bytes: u64,
    pub secs: f64,
    pub finished: bool,
}

impl Goodput {
    pub fn bytes_per_sec(&self) -> f64 {
        self.bytes as f64 / self.secs
    }

    pub fn mbit(&self) -> f64 {
        self.bytes_per_sec() * 8.0 / 1e6
    }
}

/// A link with `loss` each way and `delay` one way.
pub fn link(loss: f64, delay_ms: u64) -> ImpairConfig {
    ImpairConfig {
        loss,
        delay: Duration::from_millis(delay_ms),
        ..ImpairConfig::default()
    }
}

fn secs(d: Duration) -> f64 {
    d.total_micros() as f64 / 1e6
}

fn stack(addr: Ipv4Addr, seed: u64, buffer: usize, cc: Algorithm) -> (Stack, IfaceId) {
    let cfg = StackConfig {
        tcp: TcpConfig {
            recv_buffer: buffer,
            recv_buffer_max: buffer, // fixed, as smoltcp's is
            send_buffer: buffer,
            send_buffer_max: buffer, // fixed, as smoltcp's is
            congestion: cc,
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

/// tunstack A sends `total` bytes to tunstack B (both with `buffer`-byte socket buffers
/// and algorithm `cc`) over `link` (both ways, impairment seed `seed`); the clock runs
/// from `connect` (handshake included, as smoltcp's netsim counts) to the last byte read,
/// or stops at `cap`.
pub fn tunstack(
    cc: Algorithm,
    link: &ImpairConfig,
    seed: u64,
    buffer: usize,
    total: u64,
    cap: Duration,
) -> Goodput {
    let (a, ia) = stack(A, seed, buffer, cc);
    let (b, ib) = stack(B, seed + 1, buffer, cc);
    let mut sim = Sim::new(a, ia, b, ib, link.clone(), link.clone(), seed);
    let server = SocketAddrV4::new(B, 80);
    let l = sim.b.tcp_listen(server, 4).expect("listen");
    let start = sim.now;
    let ca = sim.a.tcp_connect(start, server, None).expect("connect");
    let mut cb = None;
    let data = vec![0x5a; 64 * 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let (mut sent, mut got) = (0u64, 0u64);
    let finished = sim.run_until(cap, |s| {
        let now = s.now;
        if cb.is_none() {
            cb = s.b.tcp_accept(l).expect("accept");
        }
        while sent < total {
            let want = (total - sent).min(data.len() as u64) as usize;
            match s.a.tcp_send(now, ca, &data[..want]) {
                Ok(n) if n > 0 => sent += n as u64,
                _ => break,
            }
        }
        if let Some(cb) = cb {
            while let Ok(n @ 1..) = s.b.tcp_recv(now, cb, &mut buf) {
                got += n as u64;
            }
        }
        got >= total
    });
    let elapsed = if finished { sim.now - start } else { cap };
    Goodput {
        bytes: got,
        secs: secs(elapsed),
        finished,
    }
}

// ------------------------------------------------------------------ smoltcp

fn our_time(t: smoltcp::time::Instant) -> Instant {
    Instant::from_micros(t.total_micros().max(0) as u64)
}

/// One smoltcp endpoint.
struct Smol {
    iface: Interface,
    dev: QueueDevice,
    sockets: SocketSet<'static>,
    sock: smoltcp::iface::SocketHandle,
}

impl Smol {
    fn new(
        ip: Ipv4Addr,
        buffer: usize,
        now: Instant,
        seed: u64,
        cc: tcp::CongestionControl,
    ) -> Smol {
        let mut dev = QueueDevice::default();
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut dev, smol_time(now));
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(ip), 24))
                .expect("room for one address");
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; buffer]),
            tcp::SocketBuffer::new(vec![0; buffer]),
        );
        // smoltcp's published netsim table runs without congestion control, its default
        // without the `socket-tcp-cubic` feature (which the TUN bench turns on); the
        // like-for-like tables run its Reno and CUBIC.
        socket.set_congestion_control(cc);
        let mut sockets = SocketSet::new(Vec::new());
        let sock = sockets.add(socket);
        Smol {
            iface,
            dev,
            sockets,
            sock,
        }
    }

    fn poll(&mut self, now: Instant) {
        self.iface
            .poll(smol_time(now), &mut self.dev, &mut self.sockets);
    }

    /// Takes in the waiting frames one at a time, sending what is due after each (as
    /// when segments arrive one by one), then polls as usual.
    fn poll_per_frame(&mut self, now: Instant) {
        let t = smol_time(now);
        while self
            .iface
            .poll_ingress_single(t, &mut self.dev, &mut self.sockets)
            != PollIngressSingleResult::None
        {
            self.iface.poll_egress(t, &mut self.dev, &mut self.sockets);
        }
        self.poll(now);
    }

    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.sock)
    }

    fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface
            .poll_at(smol_time(now), &self.sockets)
            .map(our_time)
    }
}

/// smoltcp A sends `total` bytes to smoltcp B (`buffer`-byte socket buffers, its default
/// settings, as its netsim test, with congestion control `cc`) through the same
/// impairment as [`tunstack`]; the clock runs from `connect` to the last byte read, or
/// stops at `cap`.
///
/// smoltcp decides about ACKs once per `poll`: frames that arrive at the same virtual
/// instant (a window's burst, after the link's delay) get one ACK between them. Its Reno
/// and CUBIC grow cwnd by at most one MSS per ACK in slow start, so that starves them.
/// With `per_frame` the receiver takes its frames in one at a time
/// ([`Smol::poll_per_frame`]) and its delayed-ACK rule acknowledges every second
/// segment. That favours smoltcp: tunstack's receiver takes the same batches and
/// acknowledges a batch with one ACK too (`tcp_throughput`'s in-memory run counts about
/// one ACK per 180 data frames), but its sender counts the bytes each ACK covers, so a
/// stretch ACK does not starve its slow start.
pub fn smoltcp(
    cc: tcp::CongestionControl,
    per_frame: bool,
    link: &ImpairConfig,
    seed: u64,
    buffer: usize,
    total: u64,
    cap: Duration,
) -> Goodput {
    let start = Instant::from_secs(1);
    let mut now = start;
    let mut a = Smol::new(A, buffer, now, seed, cc);
    let mut b = Smol::new(B, buffer, now, seed + 1, cc);
    let mut ab = Impairment::new(link.clone(), seed);
    let mut ba = Impairment::new(link.clone(), seed ^ 0x9e37_79b9_7f4a_7c15);
    ab.set_limit(100_000);
    ba.set_limit(100_000);
    b.socket().listen(80).expect("listen");
    let cx = a.iface.context();
    a.sockets
        .get_mut::<tcp::Socket>(a.sock)
        .connect(cx, (IpAddress::Ipv4(B), 80), 49_152)
        .expect("connect");
    let end = start + cap;
    let (mut sent, mut got) = (0u64, 0u64);
    let zeros = vec![0u8; 64 * 1024];
    let mut buf = vec![0u8; 64 * 1024];
    while got < total && now <= end {
        a.poll(now);
        let s = a.socket();
        while sent < total && s.can_send() {
            let want = (total - sent).min(zeros.len() as u64) as usize;
            match s.send_slice(&zeros[..want]) {
                Ok(n) if n > 0 => sent += n as u64,
                _ => break,
            }
        }
        a.poll(now);
        if per_frame {
            b.poll_per_frame(now);
        } else {
            b.poll(now);
        }
        let s = b.socket();
        while s.can_recv() {
            match s.recv_slice(&mut buf) {
                Ok(n) if n > 0 => got += n as u64,
                _ => break,
            }
        }
        b.poll(now);
        while let Some(f) = a.dev.tx.pop_front() {
            ab.push_owned(now, f);
        }
        while let Some(f) = b.dev.tx.pop_front() {
            ba.push_owned(now, f);
        }
        let mut moved = false;
        while let Some(f) = ab.pop(now) {
            b.dev.rx.push_back(f);
            moved = true;
        }
        while let Some(f) = ba.pop(now) {
            a.dev.rx.push_back(f);
            moved = true;
        }
        if moved {
            continue;
        }
        let next = [a.poll_at(now), b.poll_at(now), ab.poll_at(), ba.poll_at()]
            .into_iter()
            .flatten()
            .min();
        match next {
            // smoltcp may ask to be polled "now" again; move on by 1 us so time advances.
            Some(t) => now = t.max(now + Duration::from_micros(1)),
            None => break,
        }
    }
    let finished = got >= total;
    let elapsed = if finished { now - start } else { cap };
    Goodput {
        bytes: got,
        secs: secs(elapsed),
        finished,
    }
}

// ------------------------------------------------------------------ fairness

/// Two flows sharing a bottleneck: each one's goodput, its mean smoothed RTT, and Jain's
/// index over the two.
pub struct Shares {
    pub goodput: [f64; 2],
    pub srtt_ms: [f64; 2],
    pub jain: f64,
    pub dropped: u64,
}

/// Jain's fairness index, `(sum x)^2 / (n * sum x^2)`.
pub fn jain(xs: &[f64]) -> f64 {
    let sum: f64 = xs.iter().sum();
    let sq: f64 = xs.iter().map(|x| x * x).sum();
    if sq == 0.0 {
        1.0
    } else {
        sum * sum / (xs.len() as f64 * sq)
    }
}

/// Two bulk flows from A to B, with algorithms `ccs`, through a `rate_mbit` bottleneck
/// with a drop-tail queue of `queue` frames and `delay_ms` one way, for `secs` of virtual
/// time; goodput counts the bytes read after the first `warmup` seconds.
pub fn fairness(
    ccs: [Algorithm; 2],
    rate_mbit: u64,
    queue: usize,
    delay_ms: u64,
    secs_total: u64,
    warmup: u64,
) -> Shares {
    let bottleneck = ImpairConfig {
        rate_bps: Some(rate_mbit * 1_000_000),
        delay: Duration::from_millis(delay_ms),
        ..ImpairConfig::default()
    };
    let buffer = 4 << 20;
    let (a, ia) = stack(A, 11, buffer, Algorithm::default());
    let (b, ib) = stack(B, 12, buffer, Algorithm::default());
    let mut sim = Sim::new(a, ia, b, ib, bottleneck.clone(), bottleneck, 11);
    sim.ab.set_limit(queue);
    sim.ba.set_limit(queue);
    let server = SocketAddrV4::new(B, 80);
    let l = sim.b.tcp_listen(server, 4).expect("listen");
    let start = sim.now;
    let ca: Vec<_> = ccs
        .iter()
        .map(|&cc| {
            let h = sim.a.tcp_connect(start, server, None).expect("connect");
            sim.a
                .tcp_configure(h, |c| c.set_congestion_control(cc))
                .expect("configure");
            h
        })
        .collect();
    // Accepted in connect order: the first SYN is answered first.
    let mut cb = Vec::new();
    let data = vec![0x5a; 64 * 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = [0u64; 2];
    let mut srtt = [(0.0f64, 0u32); 2];
    let mut next_sample = start;
    let warm = start + Duration::from_secs(warmup);
    sim.run_until(Duration::from_secs(secs_total), |s| {
        let now = s.now;
        while let Some(h) = s.b.tcp_accept(l).expect("accept") {
            cb.push(h);
        }
        for &h in &ca {
            while let Ok(1..) = s.a.tcp_send(now, h, &data) {}
        }
        for (i, &h) in cb.iter().enumerate() {
            while let Ok(n @ 1..) = s.b.tcp_recv(now, h, &mut buf) {
                if now >= warm {
                    got[i] += n as u64;
                }
            }
        }
        if now >= next_sample && now >= warm {
            next_sample = now + Duration::from_millis(100);
            for (i, &h) in ca.iter().enumerate() {
                if let Some(r) = s.a.tcp_conn(h).and_then(|c| c.info().srtt) {
                    srtt[i].0 += secs(r) * 1e3;
                    srtt[i].1 += 1;
                }
            }
        }
        now >= start + Duration::from_secs(secs_total)
    });
    let span = (secs_total - warmup) as f64;
    // B accepts in the order the handshakes completed; map each accepted connection back
    // to its client by port.
    let mut by_client = [0.0f64; 2];
    for (i, &h) in cb.iter().enumerate() {
        let remote = sim.b.tcp_conn(h).map(|c| c.info().remote);
        for (j, &ha) in ca.iter().enumerate() {
            if sim.a.tcp_conn(ha).map(|c| c.info().local) == remote {
                by_client[j] = got[i] as f64 * 8.0 / span / 1e6;
            }
        }
    }
    Shares {
        goodput: by_client,
        srtt_ms: srtt.map(|(sum, n)| if n == 0 { 0.0 } else { sum / f64::from(n) }),
        jain: jain(&by_client),
        dropped: sim.ab.stats().dropped,
    }
}
