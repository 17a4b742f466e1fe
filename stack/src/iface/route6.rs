//! IPv6 prefixes and the IPv6 routing table (longest-prefix match, RFC 4291 section 2.3
//! for the prefix notation, RFC 8504 section 5.1 for on-link determination from a
//! configured prefix).

use core::fmt;
use core::str::FromStr;
use std::net::Ipv6Addr;

use super::IfaceId;

/// An IPv6 address with a prefix length, such as `fd00:77::2/64` (RFC 4291 section 2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Cidr {
    addr: Ipv6Addr,
    prefix_len: u8,
}

impl Ipv6Cidr {
    /// `addr/prefix_len`; `None` when the prefix is longer than 128 bits.
    pub const fn new(addr: Ipv6Addr, prefix_len: u8) -> Option<Ipv6Cidr> {
        if prefix_len > 128 {
            None
        } else {
            Some(Ipv6Cidr { addr, prefix_len })
        }
    }

    /// The address as given.
    pub const fn address(&self) -> Ipv6Addr {
        self.addr
    }

    /// The prefix length in bits.
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `addr` lies inside this prefix.
    pub fn contains(&self, addr: Ipv6Addr) -> bool {
        let m = mask(self.prefix_len);
        u128::from(addr) & m == u128::from(self.addr) & m
    }

    /// The prefix: the address with the interface bits cleared.
    pub fn network(&self) -> Ipv6Cidr {
        Ipv6Cidr {
            addr: Ipv6Addr::from(u128::from(self.addr) & mask(self.prefix_len)),
            prefix_len: self.prefix_len,
        }
    }
}

fn mask(prefix_len: u8) -> u128 {
    if prefix_len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix_len.min(128)))
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why a string is not an IPv6 prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseCidr6Error(pub String);

impl fmt::Display for ParseCidr6Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an IPv6 address/prefix: {}", self.0)
    }
}

impl std::error::Error for ParseCidr6Error {}

impl FromStr for Ipv6Cidr {
    type Err = ParseCidr6Error;

    /// `fd00:77::2/64`, or a bare address as a /128.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseCidr6Error(s.to_string());
        let (a, p) = s.split_once('/').unwrap_or((s, "128"));
        let addr: Ipv6Addr = a.parse().map_err(|_| err())?;
        let len: u8 = p.parse().map_err(|_| err())?;
        Ipv6Cidr::new(addr, len).ok_or_else(err)
    }
}

/// A route: packets for `dest` leave through `iface`, to `gateway` if set (else the
/// destination is on the link).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route6 {
    /// The destination prefix.
    pub dest: Ipv6Cidr,
    /// The next-hop router, or `None` for an on-link prefix.
    pub gateway: Option<Ipv6Addr>,
    /// The interface.
    pub iface: IfaceId,
}

impl Route6 {
    /// The next hop for `dst` on this route.
    pub fn next_hop(&self, dst: Ipv6Addr) -> Ipv6Addr {
        self.gateway.unwrap_or(dst)
    }
}

/// The IPv6 routing table: the longest matching prefix wins; among equals, the first
/// added.
#[derive(Clone, Debug, Default)]
pub struct RoutingTable6 {
    routes: Vec<Route6>,
}

impl RoutingTable6 {
    /// An empty table.
    pub fn new() -> Self {
        RoutingTable6::default()
    }

    /// Adds a route (the prefix is stored masked).
    pub fn add(&mut self, mut r: Route6) {
        r.dest = r.dest.network();
        self.routes.push(r);
    }

    /// The route for `dst`.
    pub fn lookup(&self, dst: Ipv6Addr) -> Option<&Route6> {
        self.routes.iter().filter(|r| r.dest.contains(dst)).fold(
            None,
            |best: Option<&Route6>, r| match best {
                Some(b) if b.dest.prefix_len() >= r.dest.prefix_len() => Some(b),
                _ => Some(r),
            },
        )
    }

    /// Every route, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Route6> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Ipv6Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes() {
        let p = c("fd00:77::2/64");
        assert_eq!(
            (p.address(), p.prefix_len()),
            ("fd00:77::2".parse().unwrap(), 64)
        );
        assert!(p.contains("fd00:77::ffff:1".parse().unwrap()));
        assert!(!p.contains("fd00:78::1".parse().unwrap()));
        assert_eq!(p.network().to_string(), "fd00:77::/64");
        assert_eq!(c("::1"), Ipv6Cidr::new(Ipv6Addr::LOCALHOST, 128).unwrap());
        assert!(c("::/0").contains("2001:db8::1".parse().unwrap()));
        assert!("fd00::/129".parse::<Ipv6Cidr>().is_err());
        assert!("10.0.0.1/8".parse::<Ipv6Cidr>().is_err());
        assert!(Ipv6Cidr::new(Ipv6Addr::LOCALHOST, 129).is_none());
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = RoutingTable6::new();
        let gw: Ipv6Addr = "fd00:77::1".parse().unwrap();
        t.add(Route6 {
            dest: c("::/0"),
            gateway: Some(gw),
            iface: IfaceId(0),
        });
        t.add(Route6 {
            dest: c("fd00:77::5/64"),
            gateway: None,
            iface: IfaceId(1),
        });
        t.add(Route6 {
            dest: c("fd00:77::/64"),
            gateway: None,
            iface: IfaceId(2),
        });
        let on_link: Ipv6Addr = "fd00:77::9".parse().unwrap();
        let r = t.lookup(on_link).unwrap();
        assert_eq!((r.iface, r.next_hop(on_link)), (IfaceId(1), on_link));
        let far: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(t.lookup(far).unwrap().next_hop(far), gw);
        assert_eq!(t.iter().count(), 3);
        assert!(RoutingTable6::new().lookup(far).is_none());
    }
}
