//! Which local addresses a socket bound to an address takes, shared by TCP listeners and
//! UDP sockets: Linux's rules with `net.ipv6.bindv6only = 0` (its default; RFC 3493
//! section 5.3 makes dual-stack the default of the sockets API).
//!
//! A socket bound to `0.0.0.0` takes every IPv4 address of the stack; one bound to `::`
//! takes every address of both families (RFC 3493 section 3.7: IPv4 peers reach it). So
//! `0.0.0.0:p` and `[::]:p` overlap, as they do in Linux (the second bind gets
//! `EADDRINUSE`), while `0.0.0.0:p` and `[fd00::2]:p` do not. Unlike Linux, an IPv4 peer
//! that reaches a `::` socket is reported with its IPv4 address, not as an IPv4-mapped
//! IPv6 one (`::ffff:a.b.c.d`).

use std::net::IpAddr;

/// Whether `ip` is IPv6's unspecified address (`::`), the dual-stack wildcard.
fn is_any6(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(a) if a.is_unspecified())
}

/// Whether a socket bound to `bound` takes a packet for our address `dst`: the same
/// address, or a wildcard that covers it.
pub(crate) fn accepts(bound: IpAddr, dst: IpAddr) -> bool {
    bound == dst || is_any6(bound) || (bound.is_unspecified() && bound.is_ipv4() == dst.is_ipv4())
}

/// Whether two sockets bound to `a` and `b` (on one port) would take some address in
/// common, so that the second bind is refused (`AddrInUse`).
pub(crate) fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a == b
        || is_any6(a)
        || is_any6(b)
        || (a.is_ipv4() == b.is_ipv4() && (a.is_unspecified() || b.is_unspecified()))
}

/// How exactly `bound` names `dst`, for choosing among sockets that all take a packet:
/// the address itself (2) beats the family's wildcard (1), which beats the dual-stack
/// wildcard (0).
pub(crate) fn specificity(bound: IpAddr, dst: IpAddr) -> u8 {
    if bound == dst {
        2
    } else if bound.is_ipv4() == dst.is_ipv4() {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2));
    const V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2));
    const ANY4: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    const ANY6: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

    /// RFC 3493 3.7: a `::` socket takes IPv4 peers too; `0.0.0.0` only IPv4.
    #[test]
    fn wildcards_take_their_families() {
        assert!(accepts(ANY6, V4) && accepts(ANY6, V6));
        assert!(accepts(ANY4, V4) && !accepts(ANY4, V6));
        assert!(accepts(V6, V6) && !accepts(V6, V4) && !accepts(V4, V6));
    }

    /// Linux with bindv6only=0: `[::]:p` and `0.0.0.0:p` overlap; specific addresses of
    /// the other family do not.
    #[test]
    fn overlapping_binds() {
        assert!(overlaps(ANY6, ANY4) && overlaps(ANY4, ANY6));
        assert!(overlaps(ANY6, V4) && overlaps(V6, ANY6) && overlaps(ANY4, V4));
        assert!(!overlaps(ANY4, V6) && !overlaps(V4, V6) && !overlaps(V6, ANY4));
        assert!(specificity(V4, V4) > specificity(ANY4, V4));
        assert!(specificity(ANY4, V4) > specificity(ANY6, V4));
    }
}
