//! Helpers shared by the virtual-time tests (`sim_tcp.rs`, `interop_smoltcp.rs`): stacks
//! on a simulated link, deterministic byte streams, and a sender/receiver pair that checks
//! a transfer byte for byte and by hash as it goes.
#![allow(dead_code)]

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};

use tunstack::iface::{IfaceId, InterfaceConfig, Ipv4Cidr, Ipv6Cidr};
use tunstack::rand::Rng;
use tunstack::stack::{Stack, StackConfig};
use tunstack::tcp::TcpConfig;
use tunstack::time::Duration;

/// Address of side A (the client in most tests).
pub const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Address of side B (the server in most tests).
pub const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Side A's IPv6 address (`fd00:0:0:a::1`).
pub const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0xa, 0, 0, 0, 1);
/// Side B's IPv6 address.
pub const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0xa, 0, 0, 0, 2);

/// A stack with one point-to-point IP interface (MTU 1500) holding `addr`/24.
pub fn stack(addr: Ipv4Addr, seed: u64, tcp: TcpConfig) -> (Stack, IfaceId) {
    stack_dual(addr, None, seed, tcp)
}

/// [`stack`], with `addr6`/64 on the interface as well when given.
pub fn stack_dual(
    addr: Ipv4Addr,
    addr6: Option<Ipv6Addr>,
    seed: u64,
    tcp: TcpConfig,
) -> (Stack, IfaceId) {
    let mut s = Stack::new(
        StackConfig {
            tcp,
            ..StackConfig::default()
        },
        Rng::new(seed),
    );
    let cidr = Ipv4Cidr::new(addr, 24).expect("a /24 is a valid prefix");
    let mut cfg = InterfaceConfig::ip("sim", cidr);
    if let Some(a6) = addr6 {
        cfg = cfg.with_ipv6(Ipv6Cidr::new(a6, 64).expect("a /64 is a valid prefix"));
    }
    let i = s.add_interface(cfg);
    (s, i)
}

/// `ip:port`.
pub fn addr(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// A deterministic pseudo-random byte stream of `len` bytes, one per `tag`.
pub fn pattern(tag: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    Rng::new(tag.wrapping_mul(7919) + 1).fill(&mut v);
    v
}

/// A streaming 64-bit hash (FNV-1a over little-endian 64-bit words, the tail zero-padded
/// and the length mixed in at the end): the same bytes give the same hash however they
/// are split into chunks.
#[derive(Clone, Debug)]
pub struct StreamHash {
    h: u64,
    tail: [u8; 8],
    tail_len: usize,
    len: u64,
}

impl Default for StreamHash {
    fn default() -> Self {
        StreamHash {
            h: 0xcbf2_9ce4_8422_2325,
            tail: [0; 8],
            tail_len: 0,
            len: 0,
        }
    }
}

impl StreamHash {
    fn mix(&mut self, w: u64) {
        self.h = (self.h ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }

    /// Adds bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < 8 {
                return;
            }
            self.mix(u64::from_le_bytes(self.tail));
            self.tail_len = 0;
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.mix(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The hash of everything added so far.
    pub fn finish(&self) -> u64 {
        let mut c = self.clone();
        if c.tail_len > 0 {
            c.tail[c.tail_len..].fill(0);
            c.mix(u64::from_le_bytes(c.tail));
        }
        c.mix(c.len);
        c.h
    }

    /// The hash of `data`.
    pub fn of(data: &[u8]) -> u64 {
        let mut h = StreamHash::default();
        h.update(data);
        h.finish()
    }
}

/// One direction of a transfer: the sender's position in a known stream, and the
/// receiver's count, running hash and first mismatch.
#[derive(Debug)]
pub struct Flow {
    data: Vec<u8>,
    /// Bytes the sender has handed to its socket.
    pub sent: usize,
    /// Bytes the receiver has read.
    pub got: usize,
    hash: StreamHash,
    /// The first offset where the received bytes differed from the sent ones.
    pub mismatch: Option<usize>,
    /// The receiver read past the end of the stream.
    pub overrun: bool,
}

impl Flow {
    /// A flow of `len` pattern bytes of stream `tag`.
    pub fn new(tag: u64, len: usize) -> Flow {
        Flow {
            data: pattern(tag, len),
            sent: 0,
            got: 0,
            hash: StreamHash::default(),
            mismatch: None,
            overrun: false,
        }
    }

    /// The stream's length.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// What the sender still has to hand over.
    pub fn unsent(&self) -> &[u8] {
        &self.data[self.sent..]
    }

    /// Whether the sender handed over everything.
    pub fn all_sent(&self) -> bool {
        self.sent == self.data.len()
    }

    /// Whether the receiver has read the whole stream.
    pub fn all_received(&self) -> bool {
        self.got == self.data.len()
    }

    /// The receiver read `chunk`: check it against the stream and hash it.
    pub fn received(&mut self, chunk: &[u8]) {
        let end = self.got + chunk.len();
        if end > self.data.len() {
            self.overrun = true;
        } else if self.mismatch.is_none() && self.data[self.got..end] != *chunk {
            let i = (0..chunk.len())
                .find(|&i| self.data[self.got + i] != chunk[i])
                .unwrap_or(0);
            self.mismatch = Some(self.got + i);
        }
        self.hash.update(chunk);
        self.got = end;
    }

    /// Asserts that the receiver got exactly the sent stream; `what` names the flow.
    pub fn check(&self, what: &str) {
        assert!(!self.overrun, "{what}: received more than was sent");
        assert_eq!(self.mismatch, None, "{what}: first differing byte");
        assert_eq!(self.got, self.data.len(), "{what}: length");
        assert_eq!(
            self.hash.finish(),
            StreamHash::of(&self.data),
            "{what}: hash"
        );
    }
}

/// The largest receive window one side's segments advertised, after window scaling
/// (RFC 7323 2.2: the SYN's window is never scaled; the shift is the one the side's own SYN
/// offered). Valid when the peer also offered scaling, as all peers here do.
#[derive(Clone, Copy, Debug, Default)]
pub struct WindowWatch {
    wscale: u8,
    /// The largest window advertised, in bytes.
    pub max: usize,
}

impl WindowWatch {
    /// Looks at one IPv4 packet the side sent.
    pub fn see(&mut self, packet: &[u8]) {
        let Ok(p) = etherparse::PacketHeaders::from_ip_slice(packet) else {
            return;
        };
        let Some(etherparse::TransportHeader::Tcp(t)) = p.transport else {
            return;
        };
        let window = usize::from(t.window_size);
        if t.syn {
            for o in t.options_iterator().flatten() {
                if let etherparse::TcpOptionElement::WindowScale(s) = o {
                    self.wscale = s;
                }
            }
            self.max = self.max.max(window);
        } else {
            self.max = self.max.max(window << self.wscale);
        }
    }
}

/// Seconds as a float, for reports.
pub fn secs(d: Duration) -> f64 {
    d.total_micros() as f64 / 1e6
}

/// Goodput in MB/s (10^6 bytes per second) for `bytes` over `d`.
pub fn mbps(bytes: usize, d: Duration) -> f64 {
    if d.total_micros() == 0 {
        return f64::INFINITY;
    }
    bytes as f64 / d.total_micros() as f64
}

/// A wall-clock stopwatch for the reports.
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }

    /// Wall-clock seconds since the start.
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// How long one simulated transfer may take in wall-clock time before it is stopped and
/// reported as stuck (`SIM_WALL_S`, default 100 s): a livelock in virtual time must fail
/// the test, not hang CI.
pub fn wall_limit() -> f64 {
    std::env::var("SIM_WALL_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100.0)
}

impl fmt::Display for Stopwatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}s", self.0.elapsed().as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_hash_ignores_chunking() {
        let data = pattern(9, 1000);
        let whole = StreamHash::of(&data);
        for split in [1, 3, 7, 8, 9, 500, 999] {
            let mut h = StreamHash::default();
            for c in data.chunks(split) {
                h.update(c);
            }
            assert_eq!(h.finish(), whole, "chunks of {split}");
        }
        assert_ne!(StreamHash::of(&data[..999]), whole);
        let mut flipped = data.clone();
        flipped[500] ^= 1;
        assert_ne!(StreamHash::of(&flipped), whole);
    }
}
