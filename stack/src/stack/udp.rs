//! UDP in the core: datagrams in (to sockets, or port unreachable), datagrams out, and
//! the socket calls (RFC 768, RFC 1122 4.1.3).

use std::net::{IpAddr, SocketAddr};

use super::{SendError, Stack, WaitKey};
use crate::iface::IfaceId;
use crate::time::Instant;
use crate::udp::{Datagram, UdpError, UdpHandle, MAX_PAYLOAD};
use crate::wire::icmpv4::DstUnreachable;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::ipv6::Ipv6Repr;
use crate::wire::udp::{UdpPacket, UdpRepr};

const LOG: &str = "tunstack::udp";

impl Stack {
    /// A UDP datagram for one of our addresses (or a broadcast). RFC 1122 4.1.3.4: the
    /// checksum is verified (zero means none, RFC 768); RFC 1122 4.1.3.1: a datagram for a
    /// port with no socket gets port unreachable (never for a broadcast, 3.2.2).
    pub(super) fn udp_input(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv4Repr,
        payload: &[u8],
        broadcast: bool,
    ) {
        if self.udp_deliver(ip.src_addr.into(), ip.dst_addr.into(), payload) {
            let code = DstUnreachable::PortUnreachable;
            self.icmp_dst_unreachable(now, iface, packet, ip, broadcast, code, 0);
        }
    }

    /// A UDP datagram over IPv6 (`upper` is the UDP header on). The checksum covers the
    /// IPv6 pseudo-header and a zero one is dropped and counted (RFC 8200 section 8.1);
    /// a datagram for a port with no socket gets ICMPv6 port unreachable (RFC 4443
    /// section 3.1, code 4; never for a multicast destination, section 2.4 (e.3)).
    pub(super) fn udp6_input(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        ip: &Ipv6Repr,
        upper: &[u8],
    ) {
        if self.udp_deliver(ip.src_addr.into(), ip.dst_addr.into(), upper) {
            self.icmp6_error(now, iface, packet, ip, false, |data| {
                Icmpv6Repr::DstUnreachable {
                    reason: crate::wire::icmpv6::DstUnreachable::PortUnreachable,
                    data,
                }
            });
        }
    }

    /// Parses a datagram from `src` to `dst` and queues it on its socket. Returns true
    /// when no socket has its port (the caller answers with port unreachable).
    fn udp_deliver(&mut self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> bool {
        let v6 = src.is_ipv6();
        let repr = match UdpPacket::new_checked(payload).and_then(|p| UdpRepr::parse(&p, src, dst))
        {
            Ok(r) => r,
            Err(e) => {
                if v6 {
                    self.stats.udp6_in_errors += 1;
                    if e == crate::wire::Error::BadChecksum {
                        self.stats.udp6_in_csum_errors += 1;
                    }
                } else {
                    self.stats.udp_in_errors += 1;
                }
                log::debug!(target: LOG, "dropped a datagram from {src}: {e}");
                return false;
            }
        };
        let to = SocketAddr::new(dst, repr.dst_port);
        let from = SocketAddr::new(src, repr.src_port);
        let Some(idx) = self.udp.lookup(to, from) else {
            if v6 {
                self.stats.udp6_no_ports += 1;
            } else {
                self.stats.udp_no_ports += 1;
            }
            log::trace!(target: LOG, "no socket on port {}", repr.dst_port);
            return true;
        };
        let Some(sock) = self.udp.slots[idx as usize].as_mut() else {
            return false;
        };
        if sock.queued_bytes + repr.payload.len() > sock.limit {
            // A full receive queue drops, as the kernel's does.
            self.stats.udp_rcvbuf_errors += 1;
            if v6 {
                self.stats.udp6_in_errors += 1;
            } else {
                self.stats.udp_in_errors += 1;
            }
            return false;
        }
        sock.queued_bytes += repr.payload.len();
        sock.queue.push_back(Datagram {
            from,
            to: dst,
            data: repr.payload.to_vec(),
        });
        if v6 {
            self.stats.udp6_in_datagrams += 1;
        } else {
            self.stats.udp_in_datagrams += 1;
        }
        self.events.push(WaitKey::Udp(idx));
        false
    }

    /// An ICMP error quoting one of our UDP datagrams: a connected socket learns of it
    /// (RFC 1122 4.1.3.3: UDP MUST pass ICMP errors up; like the kernel, only connected
    /// sockets report them, once, on their next call).
    pub(super) fn udp_icmp_error(&mut self, quote: &[u8], refused: bool) {
        let Ok(ip) = Ipv4Packet::new_checked_header(quote) else {
            return;
        };
        let Some(ports) = ip.payload().get(..4) else {
            return;
        };
        if ip.protocol() != IpProtocol::Udp {
            return;
        }
        let src = SocketAddr::new(
            ip.src_addr().into(),
            u16::from_be_bytes([ports[0], ports[1]]),
        );
        let dst = SocketAddr::new(
            ip.dst_addr().into(),
            u16::from_be_bytes([ports[2], ports[3]]),
        );
        let Some(idx) = self.udp.lookup(src, dst) else {
            return;
        };
        if let Some(s) = self.udp.slots[idx as usize].as_mut() {
            if s.peer == Some(dst) {
                s.error = Some(if refused {
                    UdpError::ConnectionRefused
                } else {
                    UdpError::Unreachable
                });
                self.events.push(WaitKey::Udp(idx));
            }
        }
    }

    /// Binds a UDP socket to `local` (address 0.0.0.0 for all of our IPv4 addresses, `::`
    /// for all of ours of both families, see `iface::bind`; port 0 for a random free
    /// ephemeral port, RFC 6056 3.3.1).
    pub fn udp_bind(&mut self, local: impl Into<SocketAddr>) -> Result<UdpHandle, UdpError> {
        let local = local.into();
        let ip = local.ip();
        if !ip.is_unspecified() && !self.is_own_addr(ip) {
            return Err(UdpError::AddrNotAvailable);
        }
        let port = if local.port() == 0 {
            let (lo, hi) = crate::tcp::layer::EPHEMERAL;
            let span = u32::from(hi - lo) + 1;
            let start = self.rng.next_u32() % span;
            (0..span)
                .map(|i| lo + ((start + i) % span) as u16)
                .find(|&p| !self.udp.in_use(ip, p))
                .ok_or(UdpError::AddrNotAvailable)?
        } else {
            if self.udp.in_use(ip, local.port()) {
                return Err(UdpError::AddrInUse);
            }
            local.port()
        };
        Ok(self.udp.insert(SocketAddr::new(ip, port)))
    }

    /// Sets the socket's default destination and accepts datagrams only from it.
    pub fn udp_connect(
        &mut self,
        h: UdpHandle,
        peer: impl Into<SocketAddr>,
    ) -> Result<(), UdpError> {
        let peer = peer.into();
        let s = self.udp.get_mut(h).ok_or(UdpError::InvalidHandle)?;
        s.peer = Some(peer);
        s.error = None;
        Ok(())
    }

    /// The socket's local and peer addresses.
    pub fn udp_addrs(&self, h: UdpHandle) -> Option<(SocketAddr, Option<SocketAddr>)> {
        self.udp.get(h).map(|s| (s.local, s.peer))
    }

    /// Sends a datagram to `dst` (or the connected peer when `None`).
    pub fn udp_send_to(
        &mut self,
        now: Instant,
        h: UdpHandle,
        data: &[u8],
        dst: Option<SocketAddr>,
    ) -> Result<usize, UdpError> {
        let s = self.udp.get_mut(h).ok_or(UdpError::InvalidHandle)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let dst = dst.or(s.peer).ok_or(UdpError::NotConnected)?;
        if data.len() > MAX_PAYLOAD {
            return Err(UdpError::MessageTooLong);
        }
        let local = s.local;
        let repr = UdpRepr {
            src_port: local.port(),
            dst_port: dst.port(),
            payload: data,
        };
        let fill = |buf: &mut [u8], s: IpAddr, d: IpAddr| {
            repr.emit(&mut UdpPacket::new_unchecked(buf), s, d);
        };
        // The source is the bound address, or the one the route gives for a wildcard;
        // a socket bound to an address of the other family cannot send there.
        let r = match (local.ip(), dst.ip()) {
            (IpAddr::V4(l), IpAddr::V4(d)) => self.send_ip_with(
                now,
                (!l.is_unspecified()).then_some(l),
                d,
                IpProtocol::Udp,
                None,
                false,
                repr.buffer_len(),
                |buf, s, d| fill(buf, s.into(), d.into()),
            ),
            (IpAddr::V6(l), IpAddr::V6(d)) => self.send_ip6_with(
                now,
                (!l.is_unspecified()).then_some(l),
                d,
                crate::wire::ipv6::next_header::UDP,
                None,
                repr.buffer_len(),
                |buf, s, d| fill(buf, s.into(), d.into()),
            ),
            (IpAddr::V6(l), IpAddr::V4(d)) if l.is_unspecified() => self.send_ip_with(
                now,
                None,
                d,
                IpProtocol::Udp,
                None,
                false,
                repr.buffer_len(),
                |buf, s, d| fill(buf, s.into(), d.into()),
            ),
            _ => return Err(UdpError::AddrNotAvailable),
        };
        self.drain_loopback(now);
        match r {
            Ok(()) => {
                if dst.is_ipv6() {
                    self.stats.udp6_out_datagrams += 1;
                } else {
                    self.stats.udp_out_datagrams += 1;
                }
                Ok(data.len())
            }
            Err(SendError::NoRoute) => Err(UdpError::NoRoute),
            Err(SendError::MessageTooLong { .. }) => Err(UdpError::MessageTooLong),
            Err(SendError::NotOpen) => Err(UdpError::InvalidHandle),
        }
    }

    /// Takes the next datagram: `Ok(None)` when none is queued; a pending ICMP error is
    /// reported first.
    pub fn udp_recv(&mut self, h: UdpHandle) -> Result<Option<Datagram>, UdpError> {
        let s = self.udp.get_mut(h).ok_or(UdpError::InvalidHandle)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let d = s.queue.pop_front();
        if let Some(d) = &d {
            s.queued_bytes -= d.data.len();
        }
        Ok(d)
    }

    /// The next datagram without taking it.
    pub fn udp_peek(&self, h: UdpHandle) -> Result<Option<&Datagram>, UdpError> {
        let s = self.udp.get(h).ok_or(UdpError::InvalidHandle)?;
        if let Some(e) = s.error {
            return Err(e);
        }
        Ok(s.queue.front())
    }

    /// Whether a receive call would return at once.
    pub fn udp_readable(&self, h: UdpHandle) -> bool {
        self.udp
            .get(h)
            .is_none_or(|s| !s.queue.is_empty() || s.error.is_some())
    }

    /// Closes a socket; queued datagrams are dropped.
    pub fn udp_close(&mut self, h: UdpHandle) {
        self.udp.remove(h);
    }
}
