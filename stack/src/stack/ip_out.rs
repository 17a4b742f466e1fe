//! IPv4 output: routing, source address selection, identification (RFC 6864),
//! fragmentation (RFC 791 3.2) and loopback to the stack's own addresses.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Stack, Transmit};
use crate::iface::{fragment, IfaceId, Path};
use crate::time::Instant;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr, HEADER_LEN};
use crate::wire::virtio::VirtioNetHdr;

/// Why a datagram could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No route to the destination.
    NoRoute,
    /// Too big for the path and DF was asked for (or larger than any IPv4 datagram).
    MessageTooLong {
        /// The MTU of the interface it would have left through.
        mtu: usize,
    },
    /// The socket is not open.
    NotOpen,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NoRoute => f.write_str("no route to host"),
            SendError::MessageTooLong { mtu } => write!(f, "message too long (MTU {mtu})"),
            SendError::NotOpen => f.write_str("socket not open"),
        }
    }
}

impl std::error::Error for SendError {}

impl Stack {
    /// Sends an IPv4 datagram whose payload (`payload_len` bytes) `fill` writes, given the
    /// chosen source and the destination (for transport checksums).
    ///
    /// The route decides the interface; the source is `src` or that interface's address.
    /// A datagram to one of the stack's own addresses loops back. A datagram larger than
    /// the interface MTU is fragmented, or refused with `MessageTooLong` when `dont_frag`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_ip_with(
        &mut self,
        _now: Instant,
        src: Option<Ipv4Addr>,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        ttl: Option<u8>,
        dont_frag: bool,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8], Ipv4Addr, Ipv4Addr),
    ) -> Result<(), SendError> {
        let total = HEADER_LEN + payload_len;
        if total > usize::from(u16::MAX) {
            return Err(SendError::MessageTooLong {
                mtu: usize::from(u16::MAX),
            });
        }
        let Some(path) = self.route_to(dst.into()) else {
            self.stats.ip_out_no_routes += 1;
            return Err(SendError::NoRoute);
        };
        let src = src.unwrap_or_else(|| self.ifaces[path.iface.0].addr());
        let mtu = self.ifaces[path.iface.0].mtu();
        if dont_frag && total > mtu && !path.local {
            return Err(SendError::MessageTooLong { mtu });
        }

        let mut buf = vec![0u8; total];
        fill(&mut buf[HEADER_LEN..], src, dst);
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol,
            payload_len,
            ttl: ttl.unwrap_or(self.config.ttl),
            ident: self.ident.next(src, dst, protocol.into()),
            dont_frag,
            more_frags: false,
            frag_offset: 0,
            tos: 0,
        };
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));

        if path.local || total <= mtu {
            self.ip_output(path, buf, VirtioNetHdr::NONE);
            return Ok(());
        }
        self.stats.ip_out_requests += 1;
        self.queue_fragments(path.iface, dst, &buf, mtu)
            .map_err(|_| SendError::MessageTooLong { mtu })
    }

    /// Where datagrams to `dst` leave (RFC 1122 3.3.1; for IPv6, RFC 8200 and the
    /// IPv6 routing table): back into the stack for one of its own addresses, else by
    /// the longest matching route of the destination's family. Every protocol's output
    /// asks here.
    pub(super) fn route_to(&self, dst: IpAddr) -> Option<Path> {
        let local = self.ifaces.iter().find(|i| match dst {
            IpAddr::V4(d) => i.addr() == d,
            IpAddr::V6(d) => i.addr6() == Some(d),
        });
        if let Some(i) = local {
            return Some(Path {
                iface: i.id,
                next_hop: dst,
                local: true,
            });
        }
        let (iface, next_hop) = match dst {
            IpAddr::V4(d) => {
                let r = self.routes.lookup(d)?;
                (r.iface, IpAddr::V4(r.next_hop(d)))
            }
            IpAddr::V6(d) => {
                let r = self.ip6.routes.lookup(d)?;
                (r.iface, IpAddr::V6(r.next_hop(d)))
            }
        };
        Some(Path {
            iface,
            next_hop,
            local: false,
        })
    }

    /// Whether `ip` is one of the stack's addresses (an interface's IPv4 address, or its
    /// IPv6 address or link-local one), for binding sockets.
    pub(super) fn is_own_addr(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.ifaces.iter().any(|i| i.addr() == a),
            IpAddr::V6(a) => {
                self.ifaces.iter().any(|i| i.addr6() == Some(a))
                    || (!a.is_multicast() && self.nd6_owns(&a))
            }
        }
    }

    /// The source address for datagrams to `dst` on `path`: the interface's IPv4
    /// address, or for IPv6 the one source selection gives (link-local for link-local
    /// destinations on Ethernet), once DAD has passed (RFC 4862 section 5.4). `None`
    /// when the interface has no usable address of `dst`'s family.
    pub(super) fn source_for(&self, path: &Path, dst: IpAddr) -> Option<IpAddr> {
        match dst {
            IpAddr::V4(_) => Some(IpAddr::V4(self.ifaces[path.iface.0].addr())),
            IpAddr::V6(d) => self.source6(path.iface, d).map(IpAddr::V6),
        }
    }

    /// The IPv6 source for `dst` leaving through `iface` (see [`Stack::source_for`]).
    pub(super) fn source6(&self, iface: IfaceId, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        self.nd6_source_for(iface, &dst)
            .or_else(|| self.ifaces[iface.0].addr6())
            .filter(|s| self.nd6_assigned(iface, *s))
    }

    /// Hands a finished datagram (with its offload header, all zero unless the path's
    /// device offloads) to its path: looped back to the stack's next turn, or queued for
    /// the interface. Both queues are bounded by `tx_queue_len`; what does not fit is
    /// dropped and counted in IpOutDiscards. Counts IpOutRequests. Datagrams here fit the
    /// interface's MTU (or are super-segments the device cuts to it); larger ones go
    /// through [`Stack::queue_fragments`].
    ///
    /// IPv6 datagrams (a path whose next hop is IPv6) take the same way, counted in
    /// Ip6OutRequests; on Ethernet their next hop is resolved by Neighbor Discovery
    /// (`ndisc6`) rather than ARP.
    pub(super) fn ip_output(&mut self, path: Path, frame: Vec<u8>, offload: VirtioNetHdr) {
        if path.next_hop.is_ipv6() {
            self.stats.ip6_out_requests += 1;
        } else {
            self.stats.ip_out_requests += 1;
        }
        if path.local {
            // Loopback: delivered on the stack's next turn, never fragmented.
            if self.loopback.len() < self.config.tx_queue_len {
                self.loopback.push_back(frame);
            } else {
                self.stats.ip_out_discards += 1;
            }
            return;
        }
        if offload.is_gso() {
            self.stats.tun_gso_out += 1;
        }
        if let IpAddr::V6(hop) = path.next_hop {
            if self.ifaces[path.iface.0].config.medium == crate::link::Medium::Ethernet {
                let pending = crate::iface::Pending {
                    packet: frame,
                    offload,
                };
                self.nd6_output(self.last_now, path.iface, hop, pending);
                return;
            }
        }
        self.queue_tx(Transmit {
            iface: path.iface,
            next_hop: path.next_hop,
            frame,
            offload,
        });
    }

    /// Fragments `datagram` to `mtu` (RFC 791 3.2) and queues the pieces on `iface`,
    /// counting IpFragOKs/IpFragCreates, or IpFragFails when it cannot be done (then
    /// nothing is queued).
    pub(super) fn queue_fragments(
        &mut self,
        iface: IfaceId,
        next_hop: Ipv4Addr,
        datagram: &[u8],
        mtu: usize,
    ) -> Result<(), fragment::FragError> {
        let mut frags = Vec::new();
        match fragment::fragment(datagram, mtu, |f| frags.push(f)) {
            Ok(n) => {
                self.stats.ip_frag_oks += 1;
                self.stats.ip_frag_creates += n as u64;
                for frame in frags {
                    self.queue_tx(Transmit {
                        iface,
                        next_hop: next_hop.into(),
                        frame,
                        offload: VirtioNetHdr::NONE,
                    });
                }
                Ok(())
            }
            Err(e) => {
                self.stats.ip_frag_fails += 1;
                Err(e)
            }
        }
    }
}
