//! ICMP in the core: answering echo requests (RFC 792, RFC 1122 3.2.2.6), delivering
//! replies and errors to echo sockets, and sending rate-limited errors (RFC 1122 3.2.2,
//! RFC 1812 4.3.2).

use std::net::Ipv4Addr;

use super::{SendError, Stack};
use crate::icmp::echo::quoted_echo_request;
use crate::icmp::{may_send_error, EchoEvent, IcmpError, Offender, MAX_QUOTE};
use crate::iface::IfaceId;
use crate::time::Instant;
use crate::wire::icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr, TimeExceeded};
use crate::wire::ipv4::{IpProtocol, Ipv4Repr};

const LOG: &str = "tunstack::icmp";

impl Stack {
    pub(super) fn icmp_input(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
    ) {
        let repr = match Icmpv4Packet::new_checked(payload).and_then(|p| Icmpv4Repr::parse(&p)) {
            Ok(r) => r,
            Err(e) => {
                self.stats.icmp_in_errors += 1;
                log::debug!(target: LOG, "dropped a message from {}: {e}", ip.src_addr);
                return;
            }
        };
        self.stats.icmp_in_msgs += 1;
        match repr {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                self.stats.icmp_in_echos += 1;
                if broadcast && self.config.echo_ignore_broadcasts {
                    return;
                }
                // RFC 1122 3.2.2.6: the reply carries the request's identifier, sequence
                // number and data; its source is the address the request was sent to
                // (for a broadcast request, our address on the arrival interface).
                let src = if broadcast {
                    iface.and_then(|i| self.ifaces.get(i.0)).map(|i| i.addr())
                } else {
                    Some(ip.dst_addr)
                };
                let reply = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                if let Err(e) = self.send_icmp(now, src, ip.src_addr, None, &reply) {
                    log::debug!(target: LOG, "could not answer a ping from {}: {e}", ip.src_addr);
                }
            }
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                self.stats.icmp_in_echo_reps += 1;
                let event = EchoEvent::Reply {
                    from: ip.src_addr,
                    seq: seq_no,
                    ttl: ip.ttl,
                    data: data.to_vec(),
                    at: now,
                };
                self.echo.deliver(ident, event);
                self.events.push(super::WaitKey::Echo(ident));
            }
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                data,
            } => {
                self.stats.icmp_in_dest_unreachs += 1;
                // RFC 1122 4.1.3.3: port unreachable means refused; net, host and
                // protocol unreachable are reported as unreachable.
                match reason {
                    DstUnreachable::PortUnreachable => self.udp_icmp_error(data, true),
                    DstUnreachable::NetUnreachable
                    | DstUnreachable::HostUnreachable
                    | DstUnreachable::ProtoUnreachable => self.udp_icmp_error(data, false),
                    // RFC 1191 section 4: fragmentation needed, with the next-hop MTU.
                    DstUnreachable::FragRequired => {
                        self.stats.icmp_in_frag_needed += 1;
                        self.tcp_icmp_frag_needed(now, data, next_hop_mtu);
                    }
                    _ => {}
                }
                // RFC 9293 3.9.2.2: codes 2 and 3 are hard errors, the others soft (code 4
                // went to PMTUD above).
                if let Some(q) = super::tcp_pmtu::quoted_tcp4(data) {
                    use crate::tcp::Unreachable as U;
                    let sort = match reason {
                        DstUnreachable::FragRequired => None,
                        DstUnreachable::ProtoUnreachable | DstUnreachable::PortUnreachable => {
                            Some((U::Port, true))
                        }
                        DstUnreachable::NetUnreachable
                        | DstUnreachable::DstNetUnknown
                        | DstUnreachable::NetUnreachToS => Some((U::Network, false)),
                        _ => Some((U::Host, false)),
                    };
                    if let Some((what, hard)) = sort {
                        self.tcp_icmp_error(now, q, what, hard);
                    }
                }
                let error = IcmpError::DstUnreachable {
                    code: reason.into(),
                    mtu: next_hop_mtu,
                };
                self.icmp_error_to_socket(now, ip.src_addr, data, error);
            }
            Icmpv4Repr::TimeExceeded { reason, data } => {
                self.stats.icmp_in_time_excds += 1;
                // RFC 9293 3.9.2.2: time exceeded is a soft error for TCP.
                if let Some(q) = super::tcp_pmtu::quoted_tcp4(data) {
                    self.tcp_icmp_error(now, q, crate::tcp::Unreachable::Host, false);
                }
                let error = IcmpError::TimeExceeded {
                    code: reason.into(),
                };
                self.icmp_error_to_socket(now, ip.src_addr, data, error);
            }
            Icmpv4Repr::ParamProblem { pointer, data, .. } => {
                self.stats.icmp_in_parm_probs += 1;
                // RFC 9293 3.9.2.2: parameter problem is a soft error for TCP.
                if let Some(q) = super::tcp_pmtu::quoted_tcp4(data) {
                    self.tcp_icmp_error(now, q, crate::tcp::Unreachable::Host, false);
                }
                let error = IcmpError::ParamProblem { pointer };
                self.icmp_error_to_socket(now, ip.src_addr, data, error);
            }
            _ => {}
        }
    }

    /// Hands an ICMP error to the echo socket whose request it quotes (RFC 1122 3.2.2: the
    /// error is passed to the transport that sent the datagram).
    pub(super) fn icmp_error_to_socket(
        &mut self,
        now: Instant,
        from: Ipv4Addr,
        quote: &[u8],
        error: IcmpError,
    ) {
        if let Some((_dst, ident, seq)) = quoted_echo_request(quote) {
            let event = EchoEvent::Error {
                from,
                seq,
                error,
                at: now,
            };
            if self.echo.deliver(ident, event) {
                self.events.push(super::WaitKey::Echo(ident));
            }
        }
    }

    /// Sends an ICMP message, counting it by type.
    pub(super) fn send_icmp(
        &mut self,
        now: Instant,
        src: Option<Ipv4Addr>,
        dst: Ipv4Addr,
        ttl: Option<u8>,
        repr: &Icmpv4Repr<'_>,
    ) -> Result<(), SendError> {
        let len = repr.buffer_len();
        let r = self.send_ip_with(
            now,
            src,
            dst,
            IpProtocol::Icmp,
            ttl,
            false,
            len,
            |buf, _, _| {
                repr.emit(&mut Icmpv4Packet::new_unchecked(buf));
            },
        );
        if r.is_ok() {
            self.stats.icmp_out_msgs += 1;
            match repr {
                Icmpv4Repr::EchoRequest { .. } => self.stats.icmp_out_echos += 1,
                Icmpv4Repr::EchoReply { .. } => self.stats.icmp_out_echo_reps += 1,
                Icmpv4Repr::DstUnreachable { .. } => self.stats.icmp_out_dest_unreachs += 1,
                Icmpv4Repr::TimeExceeded { .. } => self.stats.icmp_out_time_excds += 1,
                Icmpv4Repr::ParamProblem { .. } => self.stats.icmp_out_parm_probs += 1,
                _ => {}
            }
        }
        r
    }

    /// Sends an error about `packet` if the rules allow, quoting as much of it as RFC
    /// 1812 4.3.2.3 allows. The source is the address of the arrival interface (RFC 1812
    /// 4.3.2.4), or the offender's destination when it was addressed to us.
    fn icmp_error(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv4Repr,
        broadcast: bool,
        make: impl FnOnce(&[u8]) -> Icmpv4Repr<'_>,
    ) {
        let hl = usize::from(packet[0] & 0x0f) * 4;
        let offender = Offender {
            src: ip.src_addr,
            to_broadcast: broadcast || ip.dst_addr.is_broadcast() || ip.dst_addr.is_multicast(),
            protocol: ip.protocol,
            frag_offset: ip.frag_offset,
            payload: &packet[hl.min(packet.len())..],
        };
        if let Err(why) = may_send_error(&offender) {
            log::trace!(target: LOG, "no error about a datagram from {}: {why:?}", ip.src_addr);
            return;
        }
        // RFC 1812 4.3.2.8: errors are rate-limited.
        if !self.icmp_limit.take(now) {
            self.stats.icmp_out_rate_limit += 1;
            return;
        }
        let ours = self.ifaces.iter().any(|i| i.addr() == ip.dst_addr);
        let src = if ours {
            Some(ip.dst_addr)
        } else {
            iface.and_then(|i| self.ifaces.get(i.0)).map(|i| i.addr())
        };
        let quote = &packet[..packet.len().min(MAX_QUOTE)];
        let repr = make(quote);
        if let Err(e) = self.send_icmp(now, src, ip.src_addr, None, &repr) {
            log::debug!(target: LOG, "could not send an error to {}: {e}", ip.src_addr);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn icmp_dst_unreachable(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv4Repr,
        broadcast: bool,
        reason: DstUnreachable,
        next_hop_mtu: u16,
    ) {
        self.icmp_error(now, iface, packet, ip, broadcast, |data| {
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                data,
            }
        });
    }

    pub(super) fn icmp_time_exceeded(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv4Repr,
        reason: TimeExceeded,
    ) {
        self.icmp_error(now, iface, packet, ip, false, |data| {
            Icmpv4Repr::TimeExceeded { reason, data }
        });
    }

    /// RFC 792 / RFC 1122 3.3.2: a datagram whose reassembly timed out, with its first
    /// fragment present, is answered with time exceeded, code 1. `quote` is that
    /// fragment's header and first 8 data bytes.
    pub(super) fn icmp_reassembly_timeout(&mut self, now: Instant, quote: &[u8]) {
        if quote.len() < 20 {
            return;
        }
        let src = Ipv4Addr::new(quote[12], quote[13], quote[14], quote[15]);
        let dst = Ipv4Addr::new(quote[16], quote[17], quote[18], quote[19]);
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::from(quote[9]),
            payload_len: 0,
            ttl: quote[8],
            ident: u16::from_be_bytes([quote[4], quote[5]]),
            dont_frag: false,
            more_frags: true,
            frag_offset: 0,
            tos: quote[1],
        };
        self.icmp_error(now, None, quote, &ip, false, |data| {
            Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::FragReassembly,
                data,
            }
        });
    }
}
