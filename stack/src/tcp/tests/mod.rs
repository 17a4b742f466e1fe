//! TCP tests: packet scripts on one stack (`script/`) and two stacks in simulation
//! (`sim.rs`).

mod bbr;
mod script;
mod sim;

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::iface::{IfaceId, InterfaceConfig, Ipv4Cidr};
use crate::link::impair::ImpairConfig;
use crate::rand::Rng;
use crate::sim::Sim;
use crate::stack::{Stack, StackConfig};
use crate::tcp::TcpConfig;

pub(super) const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

pub(super) fn stack(addr: Ipv4Addr, seed: u64, tcp: TcpConfig) -> (Stack, IfaceId) {
    let mut s = Stack::new(
        StackConfig {
            tcp,
            ..StackConfig::default()
        },
        Rng::new(seed),
    );
    let i = s.add_interface(InterfaceConfig::ip("sim", Ipv4Cidr::new(addr, 24).unwrap()));
    (s, i)
}

pub(super) fn sim_pair(tcp: TcpConfig, link: ImpairConfig, seed: u64) -> Sim {
    let (a, ia) = stack(A, seed, tcp.clone());
    let (b, ib) = stack(B, seed + 1, tcp);
    Sim::new(a, ia, b, ib, link.clone(), link, seed + 2)
}

pub(super) fn addr(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// A deterministic byte stream: byte `i` of stream `tag`.
pub(super) fn pattern(tag: u8, len: usize) -> Vec<u8> {
    let mut r = Rng::new(u64::from(tag) * 7919 + 1);
    let mut v = vec![0u8; len];
    r.fill(&mut v);
    v
}

/// FNV-1a, to compare large transfers by hash.
pub(super) fn hash(data: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
