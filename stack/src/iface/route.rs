//! Addresses with prefixes, and the routing table (longest-prefix match, RFC 1812
//! section 5.2.4.3).

use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

use super::IfaceId;

/// An IPv4 address with a prefix length, such as `10.77.0.2/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// `addr/prefix_len`; `None` when the prefix is longer than 32 bits.
    pub const fn new(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Cidr> {
        if prefix_len > 32 {
            None
        } else {
            Some(Ipv4Cidr { addr, prefix_len })
        }
    }

    /// The address as given (not masked).
    pub const fn address(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length in bits.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask, e.g. `255.255.255.0` for a /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.prefix_len))
    }

    /// The network: the address with the host bits cleared.
    pub fn network(&self) -> Ipv4Cidr {
        Ipv4Cidr {
            addr: Ipv4Addr::from(u32::from(self.addr) & mask(self.prefix_len)),
            prefix_len: self.prefix_len,
        }
    }

    /// The directed broadcast address (RFC 919, RFC 1122 3.2.1.3): all host bits set.
    /// `None` for /31 and /32, which have no broadcast address (RFC 3021).
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        if self.prefix_len >= 31 {
            return None;
        }
        Some(Ipv4Addr::from(
            u32::from(self.addr) | !mask(self.prefix_len),
        ))
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let m = mask(self.prefix_len);
        u32::from(addr) & m == u32::from(self.addr) & m
    }
}

fn mask(prefix_len: u8) -> u32 {
    if prefix_len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix_len.min(32)))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why a CIDR string did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseCidrError(String);

impl fmt::Display for ParseCidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid address/prefix {:?} (expected e.g. 10.77.0.1/24)",
            self.0
        )
    }
}

impl std::error::Error for ParseCidrError {}

impl FromStr for Ipv4Cidr {
    type Err = ParseCidrError;
    /// Parses `a.b.c.d/n`; a bare address is taken as `/32`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseCidrError(s.to_string());
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, p.parse::<u8>().map_err(|_| err())?),
            None => (s, 32),
        };
        let addr = a.parse::<Ipv4Addr>().map_err(|_| err())?;
        Ipv4Cidr::new(addr, p).ok_or_else(err)
    }
}

/// One route: packets to `dest` leave through `iface`, to `gateway` if there is one, else
/// directly to their destination (an on-link route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The destination prefix (`0.0.0.0/0` for the default route).
    pub dest: Ipv4Cidr,
    /// The next hop, or `None` when the destination is on the link.
    pub gateway: Option<Ipv4Addr>,
    /// The interface packets leave through.
    pub iface: IfaceId,
}

impl Route {
    /// The address a packet to `dst` is handed to on the link: the gateway, or `dst`.
    pub fn next_hop(&self, dst: Ipv4Addr) -> Ipv4Addr {
        self.gateway.unwrap_or(dst)
    }
}

/// The routing table.
///
/// Lookup is longest-prefix match (RFC 1812 section 5.2.4.3): of all routes whose prefix
/// contains the destination, the one with the longest prefix wins; among equal prefixes
/// the one added first. Routes are kept sorted by prefix length, longest first, so lookup
/// is the first match of a linear scan: a router for a handful of interfaces holds a
/// handful of routes, and this is faster than a trie at that size.
#[derive(Clone, Debug, Default)]
pub struct RoutingTable {
    routes: Vec<Route>,
}

/// The most routes a table holds (every table has a bound).
pub const MAX_ROUTES: usize = 1024;

impl RoutingTable {
    /// An empty table.
    pub fn new() -> RoutingTable {
        RoutingTable::default()
    }

    /// Adds a route; replaces an existing route to the same prefix. Returns `false` when
    /// the table is full.
    pub fn add(&mut self, route: Route) -> bool {
        let dest = route.dest.network();
        let route = Route { dest, ..route };
        if let Some(r) = self.routes.iter_mut().find(|r| r.dest == dest) {
            *r = route;
            return true;
        }
        if self.routes.len() >= MAX_ROUTES {
            return false;
        }
        let at = self
            .routes
            .iter()
            .position(|r| r.dest.prefix_len() < dest.prefix_len())
            .unwrap_or(self.routes.len());
        self.routes.insert(at, route);
        true
    }

    /// Removes the route to exactly this prefix; returns it if there was one.
    pub fn remove(&mut self, dest: Ipv4Cidr) -> Option<Route> {
        let dest = dest.network();
        let at = self.routes.iter().position(|r| r.dest == dest)?;
        Some(self.routes.remove(at))
    }

    /// Removes every route through `iface`.
    pub fn remove_iface(&mut self, iface: IfaceId) {
        self.routes.retain(|r| r.iface != iface);
    }

    /// The best route to `dst`, if any (longest prefix wins).
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<&Route> {
        self.routes.iter().find(|r| r.dest.contains(dst))
    }

    /// All routes, longest prefix first.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parts() {
        let c = cidr("10.77.0.2/24");
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.network(), cidr("10.77.0.0/24"));
        assert_eq!(c.broadcast(), Some(Ipv4Addr::new(10, 77, 0, 255)));
        assert!(c.contains(Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!c.contains(Ipv4Addr::new(10, 77, 1, 1)));
        assert_eq!(
            cidr("10.0.0.1/31").broadcast(),
            None,
            "RFC 3021: /31 has no broadcast"
        );
        assert!(cidr("0.0.0.0/0").contains(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            cidr("192.0.2.1"),
            Ipv4Cidr::new(Ipv4Addr::new(192, 0, 2, 1), 32).unwrap()
        );
        assert!("10.0.0.1/33".parse::<Ipv4Cidr>().is_err());
        assert!("10.0.0/8".parse::<Ipv4Cidr>().is_err());
        assert_eq!(c.to_string(), "10.77.0.2/24");
    }

    /// RFC 1812 5.2.4.3: the longest matching prefix wins, whatever the insertion order.
    #[test]
    fn longest_prefix_match() {
        let mut t = RoutingTable::new();
        let gw = Some(Ipv4Addr::new(10, 0, 0, 254));
        t.add(Route {
            dest: cidr("0.0.0.0/0"),
            gateway: gw,
            iface: IfaceId(0),
        });
        t.add(Route {
            dest: cidr("10.1.0.0/16"),
            gateway: None,
            iface: IfaceId(1),
        });
        t.add(Route {
            dest: cidr("10.1.2.0/24"),
            gateway: None,
            iface: IfaceId(2),
        });
        t.add(Route {
            dest: cidr("10.0.0.0/8"),
            gateway: None,
            iface: IfaceId(3),
        });
        let via = |a: [u8; 4]| t.lookup(Ipv4Addr::from(a)).map(|r| r.iface.0);
        assert_eq!(via([10, 1, 2, 3]), Some(2));
        assert_eq!(via([10, 1, 3, 3]), Some(1));
        assert_eq!(via([10, 9, 9, 9]), Some(3));
        assert_eq!(via([192, 0, 2, 1]), Some(0));
        let r = t.lookup(Ipv4Addr::new(192, 0, 2, 1)).unwrap();
        assert_eq!(
            r.next_hop(Ipv4Addr::new(192, 0, 2, 1)),
            Ipv4Addr::new(10, 0, 0, 254)
        );
    }

    #[test]
    fn no_default_route_means_no_route() {
        let mut t = RoutingTable::new();
        t.add(Route {
            dest: cidr("10.77.0.0/24"),
            gateway: None,
            iface: IfaceId(0),
        });
        assert!(t.lookup(Ipv4Addr::new(10, 78, 0, 1)).is_none());
        assert_eq!(
            t.remove(cidr("10.77.0.9/24")).map(|r| r.iface),
            Some(IfaceId(0))
        );
        assert!(t.lookup(Ipv4Addr::new(10, 77, 0, 1)).is_none());
    }

    #[test]
    fn adding_the_same_prefix_replaces() {
        let mut t = RoutingTable::new();
        t.add(Route {
            dest: cidr("10.0.0.0/8"),
            gateway: None,
            iface: IfaceId(0),
        });
        t.add(Route {
            dest: cidr("10.0.0.0/8"),
            gateway: None,
            iface: IfaceId(1),
        });
        assert_eq!(t.iter().count(), 1);
        assert_eq!(
            t.lookup(Ipv4Addr::new(10, 0, 0, 1)).unwrap().iface,
            IfaceId(1)
        );
    }
}
