//! IPv6 forwarding (router mode): the hop limit (RFC 8200 section 3), no fragmentation
//! on the way (RFC 8200 section 5: a router answers Packet Too Big instead, RFC 4443
//! section 3.2), and the errors of RFC 4443 for the rest.

use super::{Stack, Transmit};
use crate::iface::IfaceId;
use crate::link::Medium;
use crate::time::Instant;
use crate::wire::icmpv6::{DstUnreachable, Icmpv6Repr, TimeExceeded};
use crate::wire::ipv6::{addr, Ipv6Repr};

const LOG: &str = "tunstack::ip6";

impl Stack {
    /// Whether a packet that is not ours may be forwarded: forwarding is on, it came from
    /// an interface, and neither address is multicast (no multicast routing here) or
    /// link-local (RFC 4291 section 2.5.6: "Routers must not forward any packets with
    /// Link-Local source or destination addresses to other links"), nor is the source
    /// unspecified (RFC 4291 section 2.5.2).
    pub(super) fn ip6_may_forward(&self, iface: Option<IfaceId>, ip: &Ipv6Repr) -> bool {
        self.config.forwarding
            && iface.is_some()
            && !addr::is_multicast(&ip.dst_addr)
            && !addr::is_link_local(&ip.dst_addr)
            && !addr::is_link_local(&ip.src_addr)
            && !ip.src_addr.is_unspecified()
    }

    /// Forwards a packet that is not ours.
    ///
    /// * RFC 8200 section 3 and RFC 4443 section 3.3: the hop limit is decremented; a
    ///   packet that arrives with 1 (or 0) is discarded with Time Exceeded, code 0.
    /// * RFC 4443 section 3.1: no route: Destination Unreachable, code 0.
    /// * RFC 8200 section 5 and RFC 4443 section 3.2: a packet larger than the next
    ///   link's MTU is not fragmented but answered with Packet Too Big carrying that MTU.
    /// * Extension headers are not looked at (RFC 8200 section 4: they are for the
    ///   destination; routers process Hop-by-Hop options only if configured to).
    pub(super) fn ip6_forward(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv6Repr,
    ) {
        if ip.hop_limit <= 1 {
            self.stats.ip6_in_hdr_errors += 1;
            log::debug!(target: LOG, "hop limit expired forwarding {} -> {}", ip.src_addr, ip.dst_addr);
            self.icmp6_error(now, iface, packet, ip, false, |data| {
                Icmpv6Repr::TimeExceeded {
                    reason: TimeExceeded::HopLimitExceeded,
                    data,
                }
            });
            return;
        }
        let Some(route) = self.ip6.routes.lookup(ip.dst_addr).copied() else {
            self.stats.ip6_in_no_routes += 1;
            self.icmp6_error(now, iface, packet, ip, false, |data| {
                Icmpv6Repr::DstUnreachable {
                    reason: DstUnreachable::NoRoute,
                    data,
                }
            });
            return;
        };
        let out = &self.ifaces[route.iface.0];
        let mtu = out.mtu();
        if packet.len() > mtu {
            self.stats.ip6_in_too_big_errors += 1;
            // RFC 4443 section 2.4 (e.3): Packet Too Big is sent even about multicast
            // (none is forwarded here, so this is moot).
            self.icmp6_error(now, iface, packet, ip, true, |data| {
                Icmpv6Repr::PacketTooBig {
                    mtu: mtu as u32,
                    data,
                }
            });
            return;
        }
        let ethernet = out.config.medium == Medium::Ethernet;
        let mut frame = packet.to_vec();
        frame[7] = ip.hop_limit - 1;
        self.stats.ip6_out_forw_datagrams += 1;
        if ethernet {
            self.nd6_output(now, route.iface, route.next_hop(ip.dst_addr), frame);
        } else {
            self.queue_tx(Transmit {
                iface: route.iface,
                next_hop: route.next_hop(ip.dst_addr).into(),
                frame,
                offload: crate::wire::virtio::VirtioNetHdr::NONE,
            });
        }
    }
}
