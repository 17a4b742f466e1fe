//! IPv6 output (RFC 8200): routing, source address, fragmentation by the source
//! (section 4.5) and loopback to the stack's own addresses.

use std::net::Ipv6Addr;

use super::{SendError, Stack, Transmit};
use crate::iface::fragment6::fragment6;
use crate::link::Medium;
use crate::time::Instant;
use crate::wire::ipv6::{Ipv6Packet, Ipv6Repr, HEADER_LEN};

/// The hop limit of packets the stack originates: 64, as Linux's default
/// `net.ipv6.conf.all.hop_limit` (RFC 8200 section 3 leaves it to the node; RFC 4861
/// section 6.3.2 lets a router advertise another).
pub const DEFAULT_HOP_LIMIT: u8 = 64;

impl Stack {
    /// Sends an IPv6 packet whose upper-layer payload (`payload_len` bytes) `fill`
    /// writes, given the chosen source and the destination (for the pseudo-header).
    ///
    /// The route decides the interface; the source is `src` or that interface's IPv6
    /// address (on Ethernet, once DAD has passed). On Ethernet the next hop is resolved
    /// by Neighbor Discovery (`ndisc6`). A packet to one of the stack's own
    /// addresses loops back. A packet larger than the MTU is fragmented (RFC 8200
    /// section 4.5) with an unpredictable identification (RFC 7739 section 5).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_ip6_with(
        &mut self,
        now: Instant,
        src: Option<Ipv6Addr>,
        dst: Ipv6Addr,
        next_header: u8,
        hop_limit: Option<u8>,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8], Ipv6Addr, Ipv6Addr),
    ) -> Result<(), SendError> {
        if payload_len > usize::from(u16::MAX) {
            return Err(SendError::MessageTooLong {
                mtu: usize::from(u16::MAX),
            });
        }
        let local = self
            .ifaces
            .iter()
            .find(|i| i.addr6() == Some(dst))
            .map(|i| i.id);
        let (iface, next_hop6) = match local {
            Some(id) => (id, dst),
            None => match self.ip6.routes.lookup(dst) {
                Some(r) => (r.iface, r.next_hop(dst)),
                None => {
                    self.stats.ip6_out_no_routes += 1;
                    return Err(SendError::NoRoute);
                }
            },
        };
        // On Ethernet, an address is used only once DAD has passed (RFC 4862 5.4); the
        // link-local one for link-local destinations.
        let chosen = match src {
            Some(s) => Some(s).filter(|s| self.nd6_assigned(iface, *s)),
            None => self.source6(iface, dst),
        };
        let Some(src) = chosen else {
            self.stats.ip6_out_no_routes += 1;
            return Err(SendError::NoRoute);
        };
        self.stats.ip6_out_requests += 1;
        let mut buf = vec![0u8; HEADER_LEN + payload_len];
        fill(&mut buf[HEADER_LEN..], src, dst);
        let repr = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header,
            payload_len,
            hop_limit: hop_limit.unwrap_or(DEFAULT_HOP_LIMIT),
            traffic_class: 0,
            flow_label: 0,
        };
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]))
            .map_err(|_| SendError::MessageTooLong {
                mtu: usize::from(u16::MAX),
            })?;
        if local.is_some() {
            if self.loopback.len() < self.config.tx_queue_len {
                self.loopback.push_back(buf);
            } else {
                self.stats.ip_out_discards += 1;
            }
            return Ok(());
        }
        let mtu = self.ifaces[iface.0].mtu();
        let ethernet = self.ifaces[iface.0].config.medium == Medium::Ethernet;
        // A TUN link has no next hop to resolve.
        let next_hop = next_hop6.into();
        if buf.len() <= mtu {
            if ethernet {
                self.nd6_output(now, iface, next_hop6, buf);
            } else {
                self.queue_tx(Transmit {
                    iface,
                    next_hop,
                    frame: buf,
                    offload: crate::wire::virtio::VirtioNetHdr::NONE,
                });
            }
            return Ok(());
        }
        let ident = self.rng.next_u32();
        let mut frags = Vec::new();
        match fragment6(&buf, mtu, ident, |f| frags.push(f)) {
            Ok(n) => {
                self.stats.ip6_frag_oks += 1;
                self.stats.ip6_frag_creates += n as u64;
                for frame in frags {
                    if ethernet {
                        self.nd6_output(now, iface, next_hop6, frame);
                    } else {
                        self.queue_tx(Transmit {
                            iface,
                            next_hop,
                            frame,
                            offload: crate::wire::virtio::VirtioNetHdr::NONE,
                        });
                    }
                }
                Ok(())
            }
            Err(_) => {
                self.stats.ip6_frag_fails += 1;
                Err(SendError::MessageTooLong { mtu })
            }
        }
    }
}
