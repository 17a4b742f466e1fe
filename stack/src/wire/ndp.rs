//! Neighbor Discovery for IPv6 (RFC 4861): the five messages and their options.
//!
//! The messages are ICMPv6 messages (types 133-137); [`NdpRepr`] is their body after
//! type, code and checksum. Options are TLVs in 8-octet units (RFC 4861 section 4.6):
//!
//! ```text
//! +---------------+---------------+---------------------------------+
//! |     Type      |    Length     |              ...                |
//! +---------------+---------------+---------------------------------+
//! ```

use core::fmt;
use std::net::Ipv6Addr;

use super::ethernet::EthernetAddress;
use super::icmpv6::msg_type;
use super::ipv6::addr;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// Option types (RFC 4861 section 4.6).
pub mod option_type {
    /// Source Link-Layer Address (RFC 4861 section 4.6.1).
    pub const SOURCE_LL_ADDR: u8 = 1;
    /// Target Link-Layer Address (RFC 4861 section 4.6.1).
    pub const TARGET_LL_ADDR: u8 = 2;
    /// Prefix Information (RFC 4861 section 4.6.2).
    pub const PREFIX_INFO: u8 = 3;
    /// Redirected Header (RFC 4861 section 4.6.3).
    pub const REDIRECTED_HEADER: u8 = 4;
    /// MTU (RFC 4861 section 4.6.4).
    pub const MTU: u8 = 5;
}

/// The Prefix Information option (RFC 4861 section 4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrefixInfo {
    /// The number of leading bits of `prefix` that are valid (0-128).
    pub prefix_len: u8,
    /// L: the prefix can be used for on-link determination.
    pub on_link: bool,
    /// A: the prefix can be used for stateless address configuration (RFC 4862).
    pub autonomous: bool,
    /// Valid lifetime in seconds (all ones: infinity).
    pub valid_lifetime: u32,
    /// Preferred lifetime in seconds (all ones: infinity).
    pub preferred_lifetime: u32,
    /// The prefix; bits after `prefix_len` are to be ignored.
    pub prefix: Ipv6Addr,
}

/// One Neighbor Discovery option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NdpOption<'a> {
    /// Source Link-Layer Address, for Ethernet (length 1).
    SourceLinkLayerAddr(EthernetAddress),
    /// Target Link-Layer Address, for Ethernet (length 1).
    TargetLinkLayerAddr(EthernetAddress),
    /// Prefix Information (length 4).
    PrefixInformation(PrefixInfo),
    /// Redirected Header: as much of the redirected packet as fits (RFC 4861 section
    /// 4.6.3), after six reserved octets.
    RedirectedHeader(&'a [u8]),
    /// MTU (length 1, RFC 4861 section 4.6.4).
    Mtu(u32),
    /// Any other option (or a known one with a length this code does not read, such as a
    /// link-layer address of another link type), kept as is: RFC 4861 section 4.6
    /// "Receivers MUST silently ignore any options they do not recognize".
    Unknown {
        /// The option type.
        opt_type: u8,
        /// Everything after type and length.
        data: &'a [u8],
    },
}

impl NdpOption<'_> {
    /// The emitted length in octets, a multiple of 8.
    pub fn buffer_len(&self) -> usize {
        match self {
            NdpOption::SourceLinkLayerAddr(_)
            | NdpOption::TargetLinkLayerAddr(_)
            | NdpOption::Mtu(_) => 8,
            NdpOption::PrefixInformation(_) => 32,
            NdpOption::RedirectedHeader(d) => (8 + d.len()).next_multiple_of(8),
            NdpOption::Unknown { data, .. } => (2 + data.len()).next_multiple_of(8),
        }
    }

    /// Writes the option (zero-padded to 8 octets) at the start of `buf`; returns its
    /// length. [`Error::BadOption`] if longer than 255 units, [`Error::BufferTooSmall`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if len / 8 > 255 {
            return Err(Error::BadOption);
        }
        if buf.len() < len {
            return Err(Error::BufferTooSmall);
        }
        let buf = &mut buf[..len];
        buf.fill(0);
        buf[1] = (len / 8) as u8;
        match *self {
            NdpOption::SourceLinkLayerAddr(a) | NdpOption::TargetLinkLayerAddr(a) => {
                buf[0] = if matches!(self, NdpOption::SourceLinkLayerAddr(_)) {
                    option_type::SOURCE_LL_ADDR
                } else {
                    option_type::TARGET_LL_ADDR
                };
                buf[2..8].copy_from_slice(&a.0);
            }
            NdpOption::PrefixInformation(p) => {
                buf[0] = option_type::PREFIX_INFO;
                buf[2] = p.prefix_len;
                buf[3] = (u8::from(p.on_link) << 7) | (u8::from(p.autonomous) << 6);
                write_u32(buf, 4, p.valid_lifetime);
                write_u32(buf, 8, p.preferred_lifetime);
                buf[16..32].copy_from_slice(&p.prefix.octets());
            }
            NdpOption::RedirectedHeader(d) => {
                buf[0] = option_type::REDIRECTED_HEADER;
                buf[8..8 + d.len()].copy_from_slice(d);
            }
            NdpOption::Mtu(m) => {
                buf[0] = option_type::MTU;
                write_u32(buf, 4, m);
            }
            NdpOption::Unknown { opt_type, data } => {
                buf[0] = opt_type;
                buf[2..2 + data.len()].copy_from_slice(data);
            }
        }
        Ok(len)
    }
}

/// The options of a message, in order. Yields one `Err` and stops at an option with
/// length zero (RFC 4861 section 4.6: "Nodes MUST silently discard an ND packet that
/// contains an option with length zero") or one that runs past the message.
#[derive(Clone, Debug)]
pub struct NdpOptionsIter<'a> {
    data: &'a [u8],
}

impl<'a> NdpOptionsIter<'a> {
    /// Walks an options area.
    pub fn new(data: &'a [u8]) -> Self {
        NdpOptionsIter { data }
    }
}

impl<'a> Iterator for NdpOptionsIter<'a> {
    type Item = Result<NdpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        let d = self.data;
        let len = usize::from(*d.get(1).unwrap_or(&0)) * 8;
        if len == 0 || len > d.len() {
            self.data = &[];
            return Some(Err(Error::BadOption));
        }
        self.data = &d[len..];
        let o = &d[..len];
        let mac = || {
            let mut m = [0u8; 6];
            m.copy_from_slice(&o[2..8]);
            EthernetAddress(m)
        };
        let opt = match (o[0], len) {
            (option_type::SOURCE_LL_ADDR, 8) => NdpOption::SourceLinkLayerAddr(mac()),
            (option_type::TARGET_LL_ADDR, 8) => NdpOption::TargetLinkLayerAddr(mac()),
            (option_type::PREFIX_INFO, 32) => {
                let mut p = [0u8; 16];
                p.copy_from_slice(&o[16..32]);
                NdpOption::PrefixInformation(PrefixInfo {
                    prefix_len: o[2],
                    on_link: o[3] & 0x80 != 0,
                    autonomous: o[3] & 0x40 != 0,
                    valid_lifetime: read_u32(o, 4),
                    preferred_lifetime: read_u32(o, 8),
                    prefix: Ipv6Addr::from(p),
                })
            }
            (option_type::REDIRECTED_HEADER, _) => NdpOption::RedirectedHeader(&o[8..]),
            (option_type::MTU, 8) => NdpOption::Mtu(read_u32(o, 4)),
            (opt_type, _) => NdpOption::Unknown {
                opt_type,
                data: &o[2..],
            },
        };
        Some(Ok(opt))
    }
}

/// Writes `opts` one after the other into `buf`; returns the length written.
pub fn emit_options(opts: &[NdpOption<'_>], buf: &mut [u8]) -> Result<usize> {
    let mut at = 0;
    for o in opts {
        at += o.emit(buf.get_mut(at..).ok_or(Error::BufferTooSmall)?)?;
    }
    Ok(at)
}

/// The length of `opts` emitted.
pub fn options_len(opts: &[NdpOption<'_>]) -> usize {
    opts.iter().map(NdpOption::buffer_len).sum()
}

/// Neighbor Advertisement flags (RFC 4861 section 4.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NaFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a Neighbor Solicitation.
    pub solicited: bool,
    /// O: the advertisement should override an existing cache entry.
    pub override_: bool,
}

/// A parsed Neighbor Discovery message body (after type, code and checksum). The
/// options stay raw: walk them with [`NdpOptionsIter`] (or [`NdpRepr::options`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NdpRepr<'a> {
    /// Router Solicitation (RFC 4861 section 4.1).
    RouterSolicit {
        /// The options.
        options: &'a [u8],
    },
    /// Router Advertisement (RFC 4861 section 4.2).
    RouterAdvert {
        /// The hop limit hosts should use (0: unspecified).
        cur_hop_limit: u8,
        /// M: addresses are available via DHCPv6.
        managed: bool,
        /// O: other configuration is available via DHCPv6.
        other: bool,
        /// Router lifetime in seconds (0: not a default router).
        router_lifetime: u16,
        /// Reachable time in milliseconds (0: unspecified).
        reachable_time: u32,
        /// Retransmission timer in milliseconds (0: unspecified).
        retrans_timer: u32,
        /// The options.
        options: &'a [u8],
    },
    /// Neighbor Solicitation (RFC 4861 section 4.3).
    NeighborSolicit {
        /// The address being resolved.
        target: Ipv6Addr,
        /// The options.
        options: &'a [u8],
    },
    /// Neighbor Advertisement (RFC 4861 section 4.4).
    NeighborAdvert {
        /// R, S, O.
        flags: NaFlags,
        /// The address advertised.
        target: Ipv6Addr,
        /// The options.
        options: &'a [u8],
    },
    /// Redirect (RFC 4861 section 4.5).
    Redirect {
        /// The better first hop.
        target: Ipv6Addr,
        /// The destination being redirected.
        dest: Ipv6Addr,
        /// The options.
        options: &'a [u8],
    },
}

fn addr_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(a)
}

impl<'a> NdpRepr<'a> {
    /// Parses the body (octets after the checksum) of a message of type `ty`.
    ///
    /// The checks of RFC 4861 sections 6.1.1, 6.1.2, 7.1.1, 7.1.2 and 8.1 that need only
    /// the message: ICMP code 0 ([`Error::Malformed`]); the ICMP length at least 8, 16,
    /// 24, 24 or 40 octets ([`Error::Truncated`]); every option with a length above zero
    /// and inside the message ([`Error::BadOption`]); the target (NS, NA) and the
    /// destination (redirect) not multicast ([`Error::Malformed`]); a redirect's target
    /// link-local or equal to its destination ([`Error::Malformed`]). The checks that
    /// need the IPv6 header are [`NdpRepr::validate`]. Reserved fields are ignored.
    pub fn parse(ty: u8, code: u8, body: &'a [u8]) -> Result<Self> {
        if code != 0 {
            return Err(Error::Malformed);
        }
        // Fixed part of the body, after the 4 octets of type, code, checksum.
        let fixed = match ty {
            msg_type::ROUTER_SOLICIT => 4,
            msg_type::ROUTER_ADVERT => 12,
            msg_type::NEIGHBOR_SOLICIT | msg_type::NEIGHBOR_ADVERT => 20,
            msg_type::REDIRECT => 36,
            _ => return Err(Error::Unsupported),
        };
        if body.len() < fixed {
            return Err(Error::Truncated);
        }
        let options = &body[fixed..];
        for o in NdpOptionsIter::new(options) {
            o?;
        }
        let repr = match ty {
            msg_type::ROUTER_SOLICIT => NdpRepr::RouterSolicit { options },
            msg_type::ROUTER_ADVERT => NdpRepr::RouterAdvert {
                cur_hop_limit: body[0],
                managed: body[1] & 0x80 != 0,
                other: body[1] & 0x40 != 0,
                router_lifetime: read_u16(body, 2),
                reachable_time: read_u32(body, 4),
                retrans_timer: read_u32(body, 8),
                options,
            },
            msg_type::NEIGHBOR_SOLICIT => NdpRepr::NeighborSolicit {
                target: addr_at(body, 4),
                options,
            },
            msg_type::NEIGHBOR_ADVERT => NdpRepr::NeighborAdvert {
                flags: NaFlags {
                    router: body[0] & 0x80 != 0,
                    solicited: body[0] & 0x40 != 0,
                    override_: body[0] & 0x20 != 0,
                },
                target: addr_at(body, 4),
                options,
            },
            _ => NdpRepr::Redirect {
                target: addr_at(body, 4),
                dest: addr_at(body, 20),
                options,
            },
        };
        match repr {
            NdpRepr::NeighborSolicit { target, .. } | NdpRepr::NeighborAdvert { target, .. }
                if addr::is_multicast(&target) =>
            {
                return Err(Error::Malformed)
            }
            NdpRepr::Redirect { target, dest, .. }
                if addr::is_multicast(&dest)
                    || !(addr::is_link_local(&target) || target == dest) =>
            {
                return Err(Error::Malformed)
            }
            _ => {}
        }
        Ok(repr)
    }

    /// The ICMPv6 type.
    pub fn msg_type(&self) -> u8 {
        match self {
            NdpRepr::RouterSolicit { .. } => msg_type::ROUTER_SOLICIT,
            NdpRepr::RouterAdvert { .. } => msg_type::ROUTER_ADVERT,
            NdpRepr::NeighborSolicit { .. } => msg_type::NEIGHBOR_SOLICIT,
            NdpRepr::NeighborAdvert { .. } => msg_type::NEIGHBOR_ADVERT,
            NdpRepr::Redirect { .. } => msg_type::REDIRECT,
        }
    }

    /// The raw options.
    pub fn options_raw(&self) -> &'a [u8] {
        match *self {
            NdpRepr::RouterSolicit { options }
            | NdpRepr::RouterAdvert { options, .. }
            | NdpRepr::NeighborSolicit { options, .. }
            | NdpRepr::NeighborAdvert { options, .. }
            | NdpRepr::Redirect { options, .. } => options,
        }
    }

    /// The options, parsed (they were checked by [`Self::parse`]; a repr built by hand
    /// with bad options stops at the first bad one).
    pub fn options(&self) -> impl Iterator<Item = NdpOption<'a>> {
        NdpOptionsIter::new(self.options_raw()).map_while(Result::ok)
    }

    /// The Source Link-Layer Address option, if present.
    pub fn source_ll_addr(&self) -> Option<EthernetAddress> {
        self.options().find_map(|o| match o {
            NdpOption::SourceLinkLayerAddr(a) => Some(a),
            _ => None,
        })
    }

    /// The Target Link-Layer Address option, if present.
    pub fn target_ll_addr(&self) -> Option<EthernetAddress> {
        self.options().find_map(|o| match o {
            NdpOption::TargetLinkLayerAddr(a) => Some(a),
            _ => None,
        })
    }

    fn fixed_len(&self) -> usize {
        match self {
            NdpRepr::RouterSolicit { .. } => 4,
            NdpRepr::RouterAdvert { .. } => 12,
            NdpRepr::NeighborSolicit { .. } | NdpRepr::NeighborAdvert { .. } => 20,
            NdpRepr::Redirect { .. } => 36,
        }
    }

    /// The body length (after type, code and checksum).
    pub fn body_len(&self) -> usize {
        self.fixed_len() + self.options_raw().len()
    }

    /// Writes the body into the start of `buf` (reserved fields zero, RFC 4861 section
    /// 4: "MUST be initialized to zero by the sender"); returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.body_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall);
        }
        let fixed = self.fixed_len();
        buf[..fixed].fill(0);
        match *self {
            NdpRepr::RouterSolicit { .. } => {}
            NdpRepr::RouterAdvert {
                cur_hop_limit,
                managed,
                other,
                router_lifetime,
                reachable_time,
                retrans_timer,
                ..
            } => {
                buf[0] = cur_hop_limit;
                buf[1] = (u8::from(managed) << 7) | (u8::from(other) << 6);
                write_u16(buf, 2, router_lifetime);
                write_u32(buf, 4, reachable_time);
                write_u32(buf, 8, retrans_timer);
            }
            NdpRepr::NeighborSolicit { target, .. } => {
                buf[4..20].copy_from_slice(&target.octets());
            }
            NdpRepr::NeighborAdvert { flags, target, .. } => {
                buf[0] = (u8::from(flags.router) << 7)
                    | (u8::from(flags.solicited) << 6)
                    | (u8::from(flags.override_) << 5);
                buf[4..20].copy_from_slice(&target.octets());
            }
            NdpRepr::Redirect { target, dest, .. } => {
                buf[4..20].copy_from_slice(&target.octets());
                buf[20..36].copy_from_slice(&dest.octets());
            }
        }
        buf[fixed..len].copy_from_slice(self.options_raw());
        Ok(len)
    }

    /// The checks of RFC 4861 that need the IPv6 header the message came in (sections
    /// 6.1.1, 6.1.2, 7.1.1, 7.1.2, 8.1). A message that fails is silently discarded.
    pub fn validate(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
    ) -> core::result::Result<(), NdpInvalid> {
        // "The IP Hop Limit field has a value of 255, i.e., the packet could not possibly
        // have been forwarded by a router." (every message)
        if hop_limit != 255 {
            return Err(NdpInvalid::HopLimitNot255);
        }
        let unspecified = src.is_unspecified();
        match *self {
            NdpRepr::RouterSolicit { .. } => {
                // 6.1.1: "If the IP source address is the unspecified address, there is no
                // source link-layer address option in the message."
                if unspecified && self.source_ll_addr().is_some() {
                    return Err(NdpInvalid::UnspecifiedSourceWithLinkLayerAddr);
                }
            }
            NdpRepr::RouterAdvert { .. } | NdpRepr::Redirect { .. } => {
                // 6.1.2 and 8.1: "IP Source Address is a link-local address."
                if !addr::is_link_local(&src) {
                    return Err(NdpInvalid::SourceNotLinkLocal);
                }
            }
            NdpRepr::NeighborSolicit { .. } => {
                // 7.1.1: from the unspecified address (DAD), the destination is a
                // solicited-node multicast address and there is no SLLA option.
                if unspecified && !addr::is_solicited_node(&dst) {
                    return Err(NdpInvalid::UnspecifiedSourceNotToSolicitedNode);
                }
                if unspecified && self.source_ll_addr().is_some() {
                    return Err(NdpInvalid::UnspecifiedSourceWithLinkLayerAddr);
                }
            }
            NdpRepr::NeighborAdvert { flags, .. } => {
                // 7.1.2: "If the IP Destination Address is a multicast address the
                // Solicited flag is zero."
                if addr::is_multicast(&dst) && flags.solicited {
                    return Err(NdpInvalid::SolicitedToMulticast);
                }
            }
        }
        Ok(())
    }
}

/// Why a Neighbor Discovery message failed [`NdpRepr::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NdpInvalid {
    /// The hop limit was not 255, so it may have crossed a router.
    HopLimitNot255,
    /// A Router Advertisement or Redirect not from a link-local address.
    SourceNotLinkLocal,
    /// A solicitation from the unspecified address carrying a Source Link-Layer Address.
    UnspecifiedSourceWithLinkLayerAddr,
    /// A Neighbor Solicitation from the unspecified address not sent to a
    /// solicited-node multicast address.
    UnspecifiedSourceNotToSolicitedNode,
    /// A Neighbor Advertisement to a multicast address with the Solicited flag set.
    SolicitedToMulticast,
}

impl fmt::Display for NdpRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NdpRepr::RouterSolicit { .. } => f.write_str("router solicitation"),
            NdpRepr::RouterAdvert {
                router_lifetime, ..
            } => write!(f, "router advertisement lifetime={router_lifetime}"),
            NdpRepr::NeighborSolicit { target, .. } => {
                write!(f, "neighbor solicitation for {target}")
            }
            NdpRepr::NeighborAdvert { target, flags, .. } => {
                write!(f, "neighbor advertisement {target}")?;
                for (on, name) in [
                    (flags.router, " R"),
                    (flags.solicited, " S"),
                    (flags.override_, " O"),
                ] {
                    if on {
                        f.write_str(name)?;
                    }
                }
                Ok(())
            }
            NdpRepr::Redirect { target, dest, .. } => {
                write!(f, "redirect {dest} via {target}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
