//! ICMPv6 in the core (RFC 4443): answering echo requests, counting what arrives, and
//! sending rate-limited errors under the rules of section 2.4.

use std::net::Ipv6Addr;

use super::{SendError, Stack};
use crate::iface::IfaceId;
use crate::time::Instant;
use crate::wire::icmpv6::{msg_type, Icmpv6Packet, Icmpv6Repr, MAX_ERROR_LEN};
use crate::wire::ipv6::{addr, next_header as nh, Ipv6Repr};
use crate::wire::ndp::NdpRepr;
use crate::wire::Error;

const LOG: &str = "tunstack::icmp6";

impl Stack {
    pub(super) fn icmp6_input(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        ip: &Ipv6Repr,
        msg: &[u8],
        multicast: bool,
    ) {
        let parsed = Icmpv6Packet::new_checked(msg)
            .and_then(|p| Icmpv6Repr::parse(ip.src_addr, ip.dst_addr, &p));
        let repr = match parsed {
            Ok(r) => r,
            Err(e) => {
                self.stats.icmp6_in_errors += 1;
                if e == Error::BadChecksum {
                    self.stats.icmp6_in_csum_errors += 1;
                }
                log::debug!(target: LOG, "dropped a message from {}: {e}", ip.src_addr);
                return;
            }
        };
        self.stats.icmp6_in_msgs += 1;
        match repr {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                self.stats.icmp6_in_echos += 1;
                // RFC 4443 section 4.2: the reply carries the request's identifier,
                // sequence number and data; to a multicast request, its source is "a
                // unicast address belonging to the interface on which the Echo Request
                // message was received".
                let src = if multicast {
                    self.ip6_iface_addr(iface)
                } else {
                    Some(ip.dst_addr)
                };
                let reply = Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                if let Err(e) = self.send_icmp6(now, src, ip.src_addr, None, &reply) {
                    log::debug!(target: LOG, "could not answer a ping from {}: {e}", ip.src_addr);
                }
            }
            Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                self.stats.icmp6_in_echo_replies += 1;
                self.echo6_reply(now, ip, ident, seq_no, data);
            }
            Icmpv6Repr::DstUnreachable { .. }
            | Icmpv6Repr::PacketTooBig { .. }
            | Icmpv6Repr::TimeExceeded { .. }
            | Icmpv6Repr::ParamProblem { .. } => {
                match repr {
                    Icmpv6Repr::DstUnreachable { .. } => self.stats.icmp6_in_dest_unreachs += 1,
                    Icmpv6Repr::PacketTooBig { mtu, data } => {
                        self.stats.icmp6_in_pkt_too_bigs += 1;
                        // RFC 8201 section 4: to TCP's path MTU (stack/tcp_pmtu.rs).
                        self.tcp_icmp6_packet_too_big(now, data, mtu);
                    }
                    Icmpv6Repr::TimeExceeded { .. } => self.stats.icmp6_in_time_excds += 1,
                    _ => self.stats.icmp6_in_parm_problems += 1,
                }
                // RFC 4443 section 3.1: port unreachable means refused; no route,
                // prohibited and address unreachable are reported as unreachable.
                if let Icmpv6Repr::DstUnreachable { reason, data } = repr {
                    use crate::wire::icmpv6::DstUnreachable as D;
                    match reason {
                        D::PortUnreachable => self.udp_icmp_error(data, true),
                        D::NoRoute | D::AdminProhibited | D::AddrUnreachable | D::RejectRoute => {
                            self.udp_icmp_error(data, false)
                        }
                        _ => {}
                    }
                }
                // To TCP (RFC 9293 3.9.2.2 with RFC 5461 section 4's ICMPv6 list): port
                // unreachable is the hard error; the rest of destination unreachable, time
                // exceeded and parameter problem are soft.
                let quoted = match repr {
                    Icmpv6Repr::DstUnreachable { data, .. }
                    | Icmpv6Repr::TimeExceeded { data, .. }
                    | Icmpv6Repr::ParamProblem { data, .. } => super::tcp_pmtu::quoted_tcp6(data),
                    _ => None,
                };
                if let Some(q) = quoted {
                    use crate::tcp::Unreachable as U;
                    use crate::wire::icmpv6::DstUnreachable as D;
                    let (what, hard) = match repr {
                        Icmpv6Repr::DstUnreachable {
                            reason: D::PortUnreachable,
                            ..
                        } => (U::Port, true),
                        Icmpv6Repr::DstUnreachable {
                            reason: D::NoRoute | D::RejectRoute,
                            ..
                        } => (U::Network, false),
                        _ => (U::Host, false),
                    };
                    self.tcp_icmp_error(now, q, what, hard);
                }
                self.echo6_error(now, ip, &repr);
            }
            Icmpv6Repr::Ndp(n) => {
                match n {
                    NdpRepr::RouterSolicit { .. } => self.stats.icmp6_in_router_solicits += 1,
                    NdpRepr::NeighborSolicit { .. } => self.stats.icmp6_in_neighbor_solicits += 1,
                    NdpRepr::NeighborAdvert { .. } => {
                        self.stats.icmp6_in_neighbor_advertisements += 1
                    }
                    _ => {}
                }
                self.nd6_input(now, iface, ip, n);
            }
            Icmpv6Repr::Other {
                msg_type: msg_type::MLDV2_REPORT,
                ..
            } => self.stats.icmp6_in_mldv2_reports += 1,
            // RFC 4443 section 2.4 (b): an unknown informational message is discarded
            // (unknown errors would go to the upper layer, which has none to take them).
            Icmpv6Repr::Other { .. } => {}
        }
    }

    /// The IPv6 address of the interface a packet arrived on, else the first one.
    fn ip6_iface_addr(&self, iface: Option<IfaceId>) -> Option<Ipv6Addr> {
        iface
            .and_then(|i| self.ifaces.get(i.0))
            .and_then(|i| i.addr6())
            .or_else(|| self.ifaces.iter().find_map(|i| i.addr6()))
    }

    /// Sends an ICMPv6 message, counting it by type.
    pub(super) fn send_icmp6(
        &mut self,
        now: Instant,
        src: Option<Ipv6Addr>,
        dst: Ipv6Addr,
        hop_limit: Option<u8>,
        repr: &Icmpv6Repr<'_>,
    ) -> Result<(), SendError> {
        let len = repr.buffer_len();
        let r = self.send_ip6_with(
            now,
            src,
            dst,
            nh::ICMPV6,
            hop_limit,
            len,
            |buf, src, dst| {
                // The buffer is exactly `len` long: emit cannot fail.
                let _ = repr.emit(src, dst, buf);
            },
        );
        if r.is_ok() {
            self.stats.icmp6_out_msgs += 1;
            match repr {
                Icmpv6Repr::EchoRequest { .. } => self.stats.icmp6_out_echos += 1,
                Icmpv6Repr::EchoReply { .. } => self.stats.icmp6_out_echo_replies += 1,
                Icmpv6Repr::DstUnreachable { .. } => self.stats.icmp6_out_dest_unreachs += 1,
                Icmpv6Repr::PacketTooBig { .. } => self.stats.icmp6_out_pkt_too_bigs += 1,
                Icmpv6Repr::TimeExceeded { .. } => self.stats.icmp6_out_time_excds += 1,
                Icmpv6Repr::ParamProblem { .. } => self.stats.icmp6_out_parm_problems += 1,
                _ => {}
            }
        }
        r
    }

    /// Sends an ICMPv6 error about `packet` if RFC 4443 section 2.4 allows it, quoting as
    /// much of it as fits in the minimum MTU (section 2.4 (c)).
    ///
    /// Section 2.4 (e): no error about an ICMPv6 error or a Redirect (e.1, e.2), about a
    /// packet to a multicast address unless `to_multicast_ok` (e.3: Packet Too Big and the
    /// Parameter Problem for an option whose action bits ask for it), or about a packet
    /// whose source does not identify one node: the unspecified address or a multicast
    /// address (e.6). Section 2.4 (f): errors are rate-limited by a token bucket.
    /// The source is the offender's destination when that is our unicast address, else
    /// our address on the arrival interface (section 2.2).
    pub(super) fn icmp6_error(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv6Repr,
        to_multicast_ok: bool,
        make: impl FnOnce(&[u8]) -> Icmpv6Repr<'_>,
    ) {
        let multicast = addr::is_multicast(&ip.dst_addr);
        if (multicast && !to_multicast_ok)
            || ip.src_addr.is_unspecified()
            || addr::is_multicast(&ip.src_addr)
            || is_icmp6_error_or_redirect(packet)
        {
            log::trace!(target: LOG, "no error about a packet from {}", ip.src_addr);
            return;
        }
        if !self.ip6.icmp_limit.take(now) {
            self.stats.icmp6_out_rate_limit += 1;
            return;
        }
        let src = if !multicast && self.ifaces.iter().any(|i| i.addr6() == Some(ip.dst_addr)) {
            Some(ip.dst_addr)
        } else {
            self.ip6_iface_addr(iface)
        };
        let quote = &packet[..packet.len().min(MAX_ERROR_LEN - 8)];
        let repr = make(quote);
        if let Err(e) = self.send_icmp6(now, src, ip.src_addr, None, &repr) {
            log::debug!(target: LOG, "could not send an error to {}: {e}", ip.src_addr);
        }
    }
}

/// Whether `packet` carries an ICMPv6 error message or a Redirect (RFC 4443 section 2.4
/// (e.1), (e.2)). The extension headers are skipped by their lengths only, without
/// judging their contents: the packet is being refused for one of them, and an error
/// about an error must still not be sent.
fn is_icmp6_error_or_redirect(packet: &[u8]) -> bool {
    let Some(&first) = packet.get(6) else {
        return false;
    };
    let mut next = first;
    let mut at = 40usize;
    for _ in 0..crate::wire::ipv6::ext::MAX_EXT_HEADERS + 1 {
        let len = match next {
            nh::HOP_BY_HOP | nh::ROUTING | nh::DST_OPTS => match packet.get(at + 1) {
                Some(&l) => (usize::from(l) + 1) * 8,
                None => return false,
            },
            nh::FRAGMENT => {
                // Only the first fragment holds the upper-layer header.
                let Some(w) = packet.get(at + 2..at + 4) else {
                    return false;
                };
                if u16::from_be_bytes([w[0], w[1]]) & 0xfff8 != 0 {
                    return false;
                }
                8
            }
            nh::ICMPV6 => {
                return packet
                    .get(at)
                    .is_some_and(|&t| t < 128 || t == msg_type::REDIRECT)
            }
            _ => return false,
        };
        let Some(&n) = packet.get(at) else {
            return false;
        };
        next = n;
        at += len;
    }
    false
}
