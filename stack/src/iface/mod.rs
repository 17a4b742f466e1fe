//! Interfaces, routing, IPv4 identification, fragmentation and reassembly, and the ARP
//! neighbour cache: the pieces the IPv4 layer in [`crate::stack`] is built from. For
//! IPv6: [`fragment6`], [`reassembly6`], the Neighbor Discovery cache [`ndisc`], and
//! address formation with Duplicate Address Detection [`addr6`].

pub mod addr6;
pub(crate) mod bind;
pub mod fragment;
pub mod fragment6;
pub mod ident;
pub mod ndisc;
pub mod neighbor;
pub mod reassembly;
pub mod reassembly6;
pub mod route;
pub mod route6;

pub use neighbor::{NeighborCache, NeighborConfig, NeighborState};
pub use reassembly::{Reassembler, ReassemblyConfig};
pub use route::{Ipv4Cidr, Route, RoutingTable};
pub use route6::{Ipv6Cidr, Route6, RoutingTable6};

use std::net::{IpAddr, Ipv4Addr};

use crate::link::Medium;
use crate::wire::ethernet::EthernetAddress;

/// A datagram waiting in a neighbour cache (ARP's [`NeighborCache`], Neighbor
/// Discovery's [`ndisc::NeighborCache6`]) for its next hop to resolve, with the offload
/// header it leaves with: a TCP super-segment held while resolution is pending is still
/// one when it is sent. The header's offsets count from the IP header; the Ethernet
/// framing moves them behind its link header
/// ([`crate::wire::virtio::VirtioNetHdr::behind_link_header`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The IP datagram (header on).
    pub packet: Vec<u8>,
    /// Its offload header (all zero for an ordinary datagram).
    pub offload: crate::wire::virtio::VirtioNetHdr,
}

impl From<Vec<u8>> for Pending {
    /// An ordinary datagram: no offload.
    fn from(packet: Vec<u8>) -> Pending {
        Pending {
            packet,
            offload: crate::wire::virtio::VirtioNetHdr::NONE,
        }
    }
}

/// Names an interface of a [`crate::stack::Stack`]: its index in the order added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfaceId(pub usize);

/// How an interface is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// A name for logs and counters (the TUN device's name, usually).
    pub name: String,
    /// The stack's address on this interface and the prefix of the attached network.
    pub addr: Ipv4Cidr,
    /// The IP MTU: the largest datagram that leaves through this interface unfragmented.
    pub mtu: usize,
    /// What the link carries: bare IP packets (TUN) or Ethernet frames (TAP).
    pub medium: Medium,
    /// The stack's Ethernet address on an Ethernet link. `None`: the stack picks a random
    /// locally administered unicast address when the interface is added (and stores it
    /// here). Unused on IP links.
    pub mac: Option<EthernetAddress>,
    /// The stack's IPv6 address on this interface and the on-link prefix, if it speaks
    /// IPv6 there. On Ethernet the address goes through Duplicate Address Detection
    /// before use, and neighbours are resolved by Neighbor Discovery.
    pub addr6: Option<Ipv6Cidr>,
}

impl InterfaceConfig {
    /// A TUN-style interface: bare IP, the given address, MTU 1500.
    pub fn ip(name: &str, addr: Ipv4Cidr) -> InterfaceConfig {
        InterfaceConfig {
            name: name.to_string(),
            addr,
            mtu: 1500,
            medium: Medium::Ip,
            mac: None,
            addr6: None,
        }
    }

    /// A TAP-style interface: Ethernet with ARP, the given address, MTU 1500, and the
    /// given Ethernet address (`None`: a random one).
    pub fn ethernet(name: &str, addr: Ipv4Cidr, mac: Option<EthernetAddress>) -> InterfaceConfig {
        InterfaceConfig {
            name: name.to_string(),
            addr,
            mtu: 1500,
            medium: Medium::Ethernet,
            mac,
            addr6: None,
        }
    }

    /// The same interface with an IPv6 address and on-link prefix.
    pub fn with_ipv6(mut self, addr6: Ipv6Cidr) -> InterfaceConfig {
        self.addr6 = Some(addr6);
        self
    }
}

/// The smallest MTU IPv4 allows: every link must carry 68-byte datagrams (RFC 791).
pub const MIN_MTU: usize = 68;

/// Where datagrams to one destination leave: the interface, the next hop on its link,
/// or back into the stack when the destination is one of its own addresses (the
/// route lookup's answer, kept by connections so it is made once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    /// The interface.
    pub iface: IfaceId,
    /// The gateway, or the destination itself on its link; its family is the
    /// destination's (ARP resolves an IPv4 one on Ethernet, Neighbor Discovery an IPv6
    /// one).
    pub next_hop: IpAddr,
    /// The destination is one of ours: datagrams loop back.
    pub local: bool,
}

/// An interface of the stack.
#[derive(Clone, Debug)]
pub struct Interface {
    /// Its identifier.
    pub id: IfaceId,
    /// Its configuration.
    pub config: InterfaceConfig,
    /// Its device takes TCP super-segments and partial checksums
    /// ([`crate::link::Device::offload`]); set with `Stack::set_offload`.
    pub offload: bool,
}

impl Interface {
    /// The stack's address on this interface.
    pub fn addr(&self) -> Ipv4Addr {
        self.config.addr.address()
    }

    /// The stack's Ethernet address on this interface (Ethernet links only).
    pub fn mac(&self) -> Option<EthernetAddress> {
        self.config.mac
    }

    /// The stack's IPv6 address on this interface, if any.
    pub fn addr6(&self) -> Option<std::net::Ipv6Addr> {
        self.config.addr6.map(|c| c.address())
    }

    /// The IP MTU, never below the IPv4 minimum of 68.
    pub fn mtu(&self) -> usize {
        self.config.mtu.max(MIN_MTU)
    }

    /// Whether `dst` is a broadcast address on this interface: the limited broadcast
    /// 255.255.255.255 or the network's directed broadcast (RFC 1122 3.2.1.3, RFC 919).
    pub fn is_broadcast(&self, dst: Ipv4Addr) -> bool {
        dst == Ipv4Addr::BROADCAST || self.config.addr.broadcast() == Some(dst)
    }
}

/// Whether `addr` may appear as the source of a datagram: RFC 1122 3.2.1.3 says a
/// datagram whose source is a broadcast or multicast address (or, RFC 1812 5.3.7, a
/// class E address) MUST be silently discarded. 0.0.0.0 is allowed as a source only while
/// a host learns its address (DHCP), so it is accepted here.
pub fn is_valid_source(addr: Ipv4Addr) -> bool {
    !(addr.is_broadcast() || addr.is_multicast() || u32::from(addr) >> 28 == 0xf)
}

/// A token bucket, for rate-limiting ICMP errors (RFC 1812 4.3.2.8, RFC 1122 3.2.2).
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate_per_sec: u64,
    burst: u64,
    /// Tokens in millionths, so refill is exact in microseconds.
    micro_tokens: u64,
    last: Option<crate::time::Instant>,
}

impl TokenBucket {
    /// A bucket that refills `rate_per_sec` tokens a second and holds at most `burst`.
    pub fn new(rate_per_sec: u64, burst: u64) -> TokenBucket {
        TokenBucket {
            rate_per_sec,
            burst,
            micro_tokens: burst.saturating_mul(1_000_000),
            last: None,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: crate::time::Instant) -> bool {
        let cap = self.burst.saturating_mul(1_000_000);
        if let Some(last) = self.last {
            let elapsed = (now - last).total_micros();
            self.micro_tokens = self
                .micro_tokens
                .saturating_add(elapsed.saturating_mul(self.rate_per_sec))
                .min(cap);
        }
        self.last = Some(now);
        if self.micro_tokens >= 1_000_000 {
            self.micro_tokens -= 1_000_000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Duration, Instant};

    #[test]
    fn token_bucket_bursts_then_refills_at_rate() {
        let mut b = TokenBucket::new(10, 5);
        let t = Instant::from_secs(1);
        assert_eq!((0..20).filter(|_| b.take(t)).count(), 5);
        // 100 ms later one token has come back.
        let t = t + Duration::from_millis(100);
        assert!(b.take(t));
        assert!(!b.take(t));
        // After a long pause only `burst` tokens are there.
        let t = t + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| b.take(t)).count(), 5);
    }

    #[test]
    fn invalid_sources() {
        assert!(!is_valid_source(Ipv4Addr::BROADCAST));
        assert!(!is_valid_source(Ipv4Addr::new(224, 0, 0, 1)));
        assert!(!is_valid_source(Ipv4Addr::new(240, 0, 0, 1)));
        assert!(is_valid_source(Ipv4Addr::new(10, 77, 0, 1)));
    }
}
