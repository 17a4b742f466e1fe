//! Two real runtimes joined by an in-memory link (real threads, real time, no root), for
//! the readiness and async socket tests (include with `mod mem_pair;`).
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use tunstack::iface::{InterfaceConfig, Ipv4Cidr, Ipv6Cidr};
use tunstack::link::{Medium, MemoryLink};
use tunstack::rand::Rng;
use tunstack::socket::{Runtime, StackHandle};
use tunstack::stack::{Stack, StackConfig};

pub const A: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
pub const B: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
/// A's IPv6 address (both stacks speak both families).
pub const A6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1);
/// B's IPv6 address.
pub const B6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2);

/// Stack A (the client side) and stack B (the server side).
pub struct Pair {
    pub a: Runtime,
    pub b: Runtime,
}

impl Pair {
    /// Each stack on a runtime thread of its own ([`Runtime::spawn`]).
    pub fn new() -> Pair {
        Pair::with(|s, devices| Runtime::spawn(s, devices).unwrap())
    }

    /// Each stack driven by a task on a tokio runtime thread of its own
    /// ([`Runtime::spawn_tokio`]).
    pub fn driven() -> Pair {
        Pair::with(|s, devices| Runtime::spawn_tokio(s, devices).unwrap())
    }

    /// Each stack started by `start`.
    pub fn with(start: impl Fn(Stack, Vec<tunstack::socket::Attached>) -> Runtime) -> Pair {
        let (ea, eb) = MemoryLink::pair(Medium::Ip, 1500);
        Pair::with_devices(Box::new(ea), Box::new(eb), start)
    }

    /// Stacks A and B over the two ends of a link, each started by `start`.
    pub fn with_devices(
        ea: Box<dyn tunstack::link::Device + Send>,
        eb: Box<dyn tunstack::link::Device + Send>,
        start: impl Fn(Stack, Vec<tunstack::socket::Attached>) -> Runtime,
    ) -> Pair {
        let mk = |addr: Ipv4Addr, addr6: Ipv6Addr, seed: u64, dev| {
            let mut s = Stack::new(StackConfig::default(), Rng::new(seed));
            let cfg = InterfaceConfig::ip("mem", Ipv4Cidr::new(addr, 24).unwrap())
                .with_ipv6(Ipv6Cidr::new(addr6, 64).unwrap());
            let i = s.add_interface(cfg);
            start(s, vec![(i, dev)])
        };
        Pair {
            a: mk(A, A6, 1, ea),
            b: mk(B, B6, 2, eb),
        }
    }

    pub fn ha(&self) -> StackHandle {
        self.a.handle()
    }

    pub fn hb(&self) -> StackHandle {
        self.b.handle()
    }
}

pub fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}
