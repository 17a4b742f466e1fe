//! IPv4 input: validation (RFC 1122 3.2.1, RFC 1812 5.2.2), local delivery, reassembly
//! and forwarding (RFC 1812 section 5).

use std::net::Ipv4Addr;

use super::{Stack, Transmit};
use crate::iface::reassembly::{Fragment, Outcome};
use crate::iface::{is_valid_source, IfaceId};
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::icmpv4::{DstUnreachable, TimeExceeded};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::virtio::VirtioNetHdr;

const LOG: &str = "tunstack::ip";

impl Stack {
    /// Takes one IPv4 datagram from an interface (`None`: from the stack itself).
    pub(super) fn ip_receive(&mut self, now: Instant, iface: Option<IfaceId>, packet: &[u8]) {
        self.stats.ip_in_receives += 1;
        // RFC 1122 3.2.1.1-3.2.1.2 and RFC 1812 5.2.2: version 4, a header length of at
        // least 5 words, a total length within what arrived, and a valid checksum, or the
        // datagram is silently discarded. (`Ipv4Repr::parse` checks the lengths as
        // `Ipv4Packet::new_checked` does, then the checksum.)
        let pkt = Ipv4Packet::new_unchecked(packet);
        // Borrowed from the result, not moved out of it: the move copied the fields just
        // stored one by one with wide loads, which wait for those stores to land (4% of
        // the in-memory transfer).
        let parsed = Ipv4Repr::parse(&pkt);
        let repr = match &parsed {
            Ok(r) => r,
            Err(e) => {
                self.stats.ip_in_hdr_errors += 1;
                log::debug!(target: LOG, "dropped a datagram: {e}");
                return;
            }
        };
        // RFC 1122 3.2.1.3: a datagram from a broadcast or multicast source is discarded.
        if !is_valid_source(repr.src_addr) {
            self.stats.ip_in_addr_errors += 1;
            log::debug!(target: LOG, "dropped a datagram from invalid source {}", repr.src_addr);
            return;
        }
        // RFC 1122 3.2.1.1 / RFC 894: bytes past the total length (link padding) are not
        // part of the datagram. Multicast is never forwarded: that needs a multicast
        // routing protocol (RFC 1812 5.2.1), which this router does not run.
        let bytes = &packet[..pkt.total_len() as usize];
        match self.local_kind(repr.dst_addr, iface) {
            Some(broadcast) => self.ip_deliver(now, iface, bytes, repr, broadcast),
            None if self.config.forwarding && iface.is_some() && !repr.dst_addr.is_multicast() => {
                self.ip_forward(now, iface, bytes, repr)
            }
            None => {
                self.stats.ip_in_addr_errors += 1;
                log::trace!(target: LOG, "not ours and not forwarding: {}", repr.dst_addr);
            }
        }
    }

    /// Whether `dst` is ours: `Some(false)` for one of our addresses, `Some(true)` for a
    /// broadcast address we accept (RFC 1122 3.3.6: the limited broadcast and the directed
    /// broadcast of the arrival interface's network), `None` otherwise.
    fn local_kind(&self, dst: Ipv4Addr, iface: Option<IfaceId>) -> Option<bool> {
        if self.ifaces.iter().any(|i| i.addr() == dst) {
            return Some(false);
        }
        let arrived_on = iface.and_then(|i| self.ifaces.get(i.0));
        match arrived_on {
            Some(i) if i.is_broadcast(dst) => Some(true),
            None if dst == Ipv4Addr::BROADCAST => Some(true),
            _ => None,
        }
    }

    fn ip_deliver(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        repr: &Ipv4Repr,
        broadcast: bool,
    ) {
        if repr.more_frags || repr.frag_offset != 0 {
            self.stats.ip_reasm_reqds += 1;
            let hl = usize::from(packet[0] & 0x0f) * 4;
            let outcome = self.reasm.push(
                now,
                Fragment {
                    src: repr.src_addr,
                    dst: repr.dst_addr,
                    protocol: repr.protocol.into(),
                    ident: repr.ident,
                    offset: usize::from(repr.frag_offset),
                    more_frags: repr.more_frags,
                    header: &packet[..hl],
                    payload: &packet[hl..],
                },
            );
            match outcome {
                Outcome::Complete(whole) => {
                    self.stats.ip_reasm_oks += 1;
                    let Ok(pkt) = Ipv4Packet::new_checked(&whole[..]) else {
                        return;
                    };
                    let Ok(whole_repr) = Ipv4Repr::parse(&pkt) else {
                        return;
                    };
                    self.ip_dispatch(now, iface, &whole, &whole_repr, broadcast);
                }
                Outcome::Pending | Outcome::Duplicate => {}
                Outcome::Failed(why) => {
                    self.stats.ip_reasm_fails += 1;
                    log::debug!(target: LOG, "reassembly failed from {}: {why:?}", repr.src_addr);
                }
            }
            return;
        }
        self.ip_dispatch(now, iface, packet, repr, broadcast);
    }

    /// Hands a whole datagram to its protocol (RFC 1122 3.2.1.6 onwards).
    fn ip_dispatch(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        repr: &Ipv4Repr,
        broadcast: bool,
    ) {
        let hl = usize::from(packet[0] & 0x0f) * 4;
        let payload = &packet[hl..];
        match repr.protocol {
            IpProtocol::Icmp => {
                self.stats.ip_in_delivers += 1;
                self.icmp_input(now, iface, repr, payload, broadcast);
            }
            IpProtocol::Udp => {
                self.stats.ip_in_delivers += 1;
                self.udp_input(now, iface, packet, repr, payload, broadcast);
            }
            IpProtocol::Tcp => {
                self.stats.ip_in_delivers += 1;
                self.tcp_input(
                    now,
                    repr.src_addr.into(),
                    repr.dst_addr.into(),
                    payload,
                    broadcast,
                );
            }
            IpProtocol::Unknown(p) => {
                // RFC 1122 3.2.2.1: protocol unreachable for a transport we lack.
                self.stats.ip_in_unknown_protos += 1;
                log::debug!(target: LOG, "no handler for protocol {p} from {}", repr.src_addr);
                let code = DstUnreachable::ProtoUnreachable;
                self.icmp_dst_unreachable(now, iface, packet, repr, broadcast, code, 0);
            }
        }
    }

    /// Forwards a datagram that is not ours (RFC 1812 section 5.2 and 5.3).
    fn ip_forward(&mut self, now: Instant, iface: Option<IfaceId>, packet: &[u8], repr: &Ipv4Repr) {
        // RFC 2644 / RFC 1812 5.3.5.2: directed broadcasts are not forwarded by default.
        if self
            .ifaces
            .iter()
            .any(|i| i.config.addr.broadcast() == Some(repr.dst_addr))
        {
            self.stats.ip_in_addr_errors += 1;
            return;
        }
        // RFC 1812 5.3.1: a router decrements TTL; when it would reach zero the datagram
        // is discarded and an ICMP time exceeded (TTL, code 0) goes back.
        if repr.ttl <= 1 {
            self.stats.ip_in_hdr_errors += 1;
            log::debug!(target: LOG, "TTL expired forwarding {} -> {}", repr.src_addr, repr.dst_addr);
            self.icmp_time_exceeded(now, iface, packet, repr, TimeExceeded::TtlExpired);
            return;
        }
        let Some(route) = self.routes.lookup(repr.dst_addr).copied() else {
            // RFC 1812 5.2.7.1: no route -> destination unreachable (net).
            self.stats.ip_out_no_routes += 1;
            let code = DstUnreachable::NetUnreachable;
            self.icmp_dst_unreachable(now, iface, packet, repr, false, code, 0);
            return;
        };
        let mtu = self.ifaces[route.iface.0].mtu();

        // Decrement TTL and patch the checksum incrementally (RFC 1624 section 3): the
        // TTL shares a 16-bit word with the protocol.
        let mut out = packet.to_vec();
        let old_word = u16::from_be_bytes([out[8], out[9]]);
        out[8] -= 1;
        let new_word = u16::from_be_bytes([out[8], out[9]]);
        let old_check = u16::from_be_bytes([out[10], out[11]]);
        let check = checksum::update(old_check, old_word, new_word);
        out[10..12].copy_from_slice(&check.to_be_bytes());

        let next_hop = route.next_hop(repr.dst_addr);
        if out.len() <= mtu {
            self.stats.ip_forw_datagrams += 1;
            self.queue_tx(Transmit {
                iface: route.iface,
                next_hop: next_hop.into(),
                frame: out,
                offload: VirtioNetHdr::NONE,
            });
            return;
        }
        if repr.dont_frag {
            // RFC 1191 / RFC 1812 5.2.7.1: fragmentation needed and DF set, with the
            // next-hop MTU so the sender can lower its path MTU.
            self.stats.ip_frag_fails += 1;
            let code = DstUnreachable::FragRequired;
            self.icmp_dst_unreachable(now, iface, packet, repr, false, code, mtu as u16);
            return;
        }
        match self.queue_fragments(route.iface, next_hop, &out, mtu) {
            Ok(()) => self.stats.ip_forw_datagrams += 1,
            Err(e) => log::debug!(target: LOG, "could not fragment for forwarding: {e:?}"),
        }
    }
}
