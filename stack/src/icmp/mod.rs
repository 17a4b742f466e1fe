//! ICMP (RFC 792, RFC 1122 section 3.2.2, RFC 1812 section 4.3): the rules for when an
//! error may be sent, and echo sockets for ping and traceroute.
//!
//! The IPv4 core in [`crate::stack`] answers echo requests and sends errors; this module
//! holds what it decides with, so each rule can be pinned on its own.

pub mod echo;

pub use echo::{EchoEvent, EchoSockets, IcmpError};

use std::net::Ipv4Addr;

use crate::wire::ipv4::IpProtocol;

/// ICMP types that are error messages (RFC 792; RFC 1122 3.2.2): destination unreachable
/// (3), source quench (4), redirect (5), time exceeded (11), parameter problem (12).
pub fn is_error_type(msg_type: u8) -> bool {
    matches!(msg_type, 3 | 4 | 5 | 11 | 12)
}

/// What is known about a datagram an ICMP error would be about.
#[derive(Clone, Copy, Debug)]
pub struct Offender<'a> {
    /// Its source address (where the error would go).
    pub src: Ipv4Addr,
    /// Whether it was addressed to a broadcast or multicast address.
    pub to_broadcast: bool,
    /// Its protocol.
    pub protocol: IpProtocol,
    /// Its fragment offset in bytes.
    pub frag_offset: u16,
    /// Its payload (for ICMP, to see whether it is itself an error).
    pub payload: &'a [u8],
}

/// Why no ICMP error may be sent about a datagram, per RFC 1122 section 3.2.2 ("An ICMP
/// error message MUST NOT be sent as the result of receiving: ...").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suppressed {
    /// It is itself an ICMP error message.
    IcmpError,
    /// It was addressed to a broadcast or multicast address.
    Broadcast,
    /// It is a fragment other than the first.
    NonInitialFragment,
    /// Its source does not name a single host (zero, broadcast, multicast, class E,
    /// loopback).
    BadSource,
}

/// Whether an ICMP error may be sent about `d` (RFC 1122 3.2.2; RFC 1812 4.3.2.7).
pub fn may_send_error(d: &Offender<'_>) -> Result<(), Suppressed> {
    if d.protocol == IpProtocol::Icmp && d.payload.first().is_some_and(|&t| is_error_type(t)) {
        return Err(Suppressed::IcmpError);
    }
    if d.to_broadcast {
        return Err(Suppressed::Broadcast);
    }
    if d.frag_offset != 0 {
        return Err(Suppressed::NonInitialFragment);
    }
    let s = d.src;
    if s.is_unspecified() || s.is_loopback() || !crate::iface::is_valid_source(s) {
        return Err(Suppressed::BadSource);
    }
    Ok(())
}

/// The most of the offending datagram an error quotes: RFC 1812 4.3.2.3 says the error
/// should carry as much of it as fits in 576 bytes (RFC 792's minimum, the IP header plus
/// 64 bits of data, is always included). 576 - 20 (IP) - 8 (ICMP) = 548.
pub const MAX_QUOTE: usize = 548;

#[cfg(test)]
mod tests {
    use super::*;

    fn offender(payload: &[u8]) -> Offender<'_> {
        Offender {
            src: Ipv4Addr::new(10, 77, 0, 1),
            to_broadcast: false,
            protocol: IpProtocol::Udp,
            frag_offset: 0,
            payload,
        }
    }

    /// RFC 1122 3.2.2: never an error about an error, but errors about queries are fine.
    #[test]
    fn no_error_about_an_error() {
        for t in [3u8, 4, 5, 11, 12] {
            let msg = [t, 0];
            let d = Offender {
                protocol: IpProtocol::Icmp,
                ..offender(&msg)
            };
            assert_eq!(may_send_error(&d), Err(Suppressed::IcmpError), "type {t}");
        }
        for t in [0u8, 8, 13] {
            let msg = [t, 0];
            let d = Offender {
                protocol: IpProtocol::Icmp,
                ..offender(&msg)
            };
            assert_eq!(may_send_error(&d), Ok(()), "type {t}");
        }
    }

    /// RFC 1122 3.2.2: not about broadcasts, non-initial fragments, or odd sources.
    #[test]
    fn no_error_about_broadcast_fragment_or_bad_source() {
        let d = Offender {
            to_broadcast: true,
            ..offender(&[])
        };
        assert_eq!(may_send_error(&d), Err(Suppressed::Broadcast));
        let d = Offender {
            frag_offset: 1480,
            ..offender(&[])
        };
        assert_eq!(may_send_error(&d), Err(Suppressed::NonInitialFragment));
        for s in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [224, 0, 0, 5],
            [240, 1, 2, 3],
            [127, 0, 0, 1],
        ] {
            let d = Offender {
                src: Ipv4Addr::from(s),
                ..offender(&[])
            };
            assert_eq!(may_send_error(&d), Err(Suppressed::BadSource), "{s:?}");
        }
        assert_eq!(may_send_error(&offender(&[])), Ok(()));
    }
}
