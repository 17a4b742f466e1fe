//! Ethernet II and ARP in the core, for interfaces whose medium is
//! [`Medium::Ethernet`] (TAP devices).
//!
//! In: a frame for our address or the broadcast address is taken; IPv4 goes to the IP
//! layer, ARP (RFC 826) is answered and learned from; anything else is counted and
//! dropped. Out: [`Stack::poll_transmit`] hands each IP datagram bound for an Ethernet
//! interface to `eth_output`, which puts it in a frame addressed to its next hop's
//! Ethernet address (resolved through the [`NeighborCache`]), or holds it while ARP
//! resolves that address. ARP's timers run in [`Stack::handle_timeout`]; the first
//! request for an address is sent there too, so that every request carries the time it
//! really left (`poll_transmit` knows only the time of the last call that gave one).
//!
//! When resolution fails, RFC 1812 4.3.3.1 and 5.2.7.1 have a router answer the datagrams
//! it was forwarding with destination unreachable, code 1 (host unreachable: "does not
//! respond to ARP"). An ICMP message to ourselves would be a detour, so datagrams the
//! stack originated are dropped and counted instead, and an echo socket whose request
//! was among them receives the same error directly, from our own address — what Linux's
//! ping shows ("From 10.77.0.2 icmp_seq=1 Destination Host Unreachable"). TCP learns
//! nothing from it yet: its retransmissions keep asking ARP, and it times out.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use super::{Stack, Transmit};
use crate::icmp::IcmpError;
use crate::iface::neighbor::{NeighborCache, NeighborConfig, NeighborKey, Timeout};
use crate::iface::{is_valid_source, IfaceId, Pending};
use crate::link::Medium;
use crate::rand::Rng;
use crate::time::{Duration, Instant};
use crate::wire::arp::{ArpOperation, ArpPacket, ArpRepr};
use crate::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, HEADER_LEN};
use crate::wire::icmpv4::DstUnreachable;
use crate::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::wire::virtio::VirtioNetHdr;

const LOG: &str = "tunstack::arp";

/// Announcements sent when an interface comes up (RFC 5227 1.1, `ANNOUNCE_NUM`).
pub const ANNOUNCE_NUM: u8 = 2;
/// The time between announcements (RFC 5227 1.1, `ANNOUNCE_INTERVAL`).
pub const ANNOUNCE_INTERVAL: Duration = Duration::from_secs(2);

/// The link-layer state of the stack: the neighbour cache, frames ready to go, and
/// announcements still to make.
#[derive(Debug)]
pub(super) struct Link {
    neighbors: NeighborCache,
    /// Frames ready for Ethernet interfaces: ARP packets, and datagrams released when
    /// their next hop resolved. Sent before anything else.
    tx: VecDeque<Transmit>,
    /// Announcements to make: the interface, how many are left, when the next is due.
    announce: Vec<(IfaceId, u8, Instant)>,
}

impl Link {
    pub(super) fn new(config: NeighborConfig) -> Link {
        Link {
            neighbors: NeighborCache::new(config),
            tx: VecDeque::new(),
            announce: Vec::new(),
        }
    }
}

/// A random locally administered unicast Ethernet address (IEEE 802: the I/G bit clear,
/// the U/L bit set), so it can collide with no manufacturer's address.
pub fn random_mac(rng: &mut Rng) -> EthernetAddress {
    let v = rng.next_u64().to_be_bytes();
    let mut b = [0u8; 6];
    b.copy_from_slice(&v[2..]);
    b[0] = (b[0] & !0x01) | 0x02;
    EthernetAddress(b)
}

/// The Ethernet group address of an IPv4 multicast address: 01:00:5e and the low 23
/// bits of the address (RFC 1112 6.4).
pub fn multicast_mac(addr: Ipv4Addr) -> EthernetAddress {
    let o = addr.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

pub(super) fn frame(
    src: EthernetAddress,
    dst: EthernetAddress,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + payload.len()];
    let repr = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    };
    repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
    buf[HEADER_LEN..].copy_from_slice(payload);
    buf
}

impl Stack {
    /// The neighbour cache (what `ip neigh` shows for the kernel).
    pub fn neighbors(&self) -> &NeighborCache {
        &self.l2.neighbors
    }

    /// Sets up a newly added interface's link layer: on Ethernet, its address (a random
    /// one unless configured) and its gratuitous ARP announcements, the first due at once
    /// (RFC 5227 2.3: "announce ... by broadcasting ANNOUNCE_NUM ARP Announcements,
    /// spaced ANNOUNCE_INTERVAL seconds apart"; tunstack's addresses are configured, so
    /// it skips the probing of RFC 5227 2.1).
    pub(super) fn eth_attach(&mut self, id: IfaceId) {
        let Some(i) = self.ifaces.get_mut(id.0) else {
            return;
        };
        if i.config.medium != Medium::Ethernet {
            return;
        }
        if i.config.mac.is_none() {
            i.config.mac = Some(random_mac(&mut self.rng));
        }
        self.l2.announce.push((id, ANNOUNCE_NUM, Instant::ZERO));
    }

    /// Takes one Ethernet frame from an Ethernet interface.
    pub(super) fn eth_receive(&mut self, now: Instant, iface: IfaceId, bytes: &[u8]) {
        let Some(mac) = self.ifaces.get(iface.0).and_then(|i| i.mac()) else {
            return;
        };
        let Ok(f) = EthernetFrame::new_checked(bytes) else {
            self.stats.eth_in_errors += 1;
            return;
        };
        // IEEE 802: a source address is never a group address.
        if f.src_addr().is_multicast() {
            self.stats.eth_in_errors += 1;
            return;
        }
        let dst = f.dst_addr();
        let broadcast = dst.is_broadcast();
        if dst != mac && !broadcast && !self.nd6_wants_mac(iface, dst) {
            // Another host's unicast, or a multicast group we did not join.
            self.stats.eth_in_dropped += 1;
            log::trace!(target: "tunstack::eth", "not for us: {dst}");
            return;
        }
        let payload = f.payload();
        match f.ethertype() {
            EtherType::Ipv4 => {
                // RFC 1122 3.3.6: a datagram that arrived in a link-layer broadcast but is
                // not addressed to an IP broadcast or multicast address SHOULD be
                // silently discarded.
                if broadcast && payload.len() >= 20 {
                    let ip_dst = Ipv4Addr::new(payload[16], payload[17], payload[18], payload[19]);
                    let ip_broadcast =
                        ip_dst.is_multicast() || self.ifaces[iface.0].is_broadcast(ip_dst);
                    if !ip_broadcast {
                        self.stats.eth_in_dropped += 1;
                        return;
                    }
                }
                self.ip_receive(now, Some(iface), payload);
            }
            EtherType::Arp => self.arp_input(now, iface, payload),
            EtherType::Ipv6 if self.ifaces[iface.0].addr6().is_some() => {
                self.ip6_receive(now, Some(iface), payload)
            }
            other => {
                self.stats.eth_in_unknown_protos += 1;
                log::trace!(target: "tunstack::eth", "dropped a frame of type {other}");
            }
        }
    }

    /// RFC 826 "Packet Reception", with RFC 1122 2.3.2.1 and RFC 5227 around it.
    fn arp_input(&mut self, now: Instant, iface: IfaceId, payload: &[u8]) {
        let repr = match ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p)) {
            Ok(r) => r,
            Err(e) => {
                self.stats.arp_in_errors += 1;
                log::debug!(target: LOG, "dropped an ARP packet: {e}");
                return;
            }
        };
        match repr.operation {
            ArpOperation::Request => self.stats.arp_in_requests += 1,
            ArpOperation::Reply => self.stats.arp_in_replies += 1,
            ArpOperation::Unknown(op) => {
                // RFC 826 merges before it looks at the opcode; an operation we do not
                // know (RARP, InARP) is dropped before that instead, as Linux does.
                self.stats.arp_in_errors += 1;
                log::debug!(target: LOG, "dropped an ARP packet with operation {op}");
                return;
            }
        }
        let Some((our_ip, our_mac)) = self
            .ifaces
            .get(iface.0)
            .and_then(|i| Some((i.addr(), i.mac()?)))
        else {
            return;
        };
        let sha = repr.source_hardware_addr;
        let spa = repr.source_protocol_addr;
        // RFC 1812 3.3.2: never believe a mapping to a broadcast or multicast link
        // address (the same holds for a host: it would spray unicast datagrams); nor to
        // the all-zeros address, which RFC 5227 2.1.1 probes leave as the target and no
        // interface has.
        if !sha.is_unicast() || sha == EthernetAddress::default() {
            self.stats.arp_in_errors += 1;
            log::debug!(target: LOG, "{spa} claims link address {sha}: ignored");
            return;
        }
        // One of our own addresses as the sender: our announcement come back, or another
        // host using our address (RFC 5227 2.4: a conflict, logged).
        if self.ifaces.iter().any(|i| i.addr() == spa) {
            if sha != our_mac {
                self.stats.arp_addr_conflicts += 1;
                log::warn!(target: LOG, "address conflict: {sha} claims our address {spa}");
            }
            return;
        }
        let for_us = repr.target_protocol_addr == our_ip;
        // RFC 5227 2.1.1: a probe has sender address 0.0.0.0 and teaches nothing.
        let learnable = !spa.is_unspecified()
            && is_valid_source(spa)
            && !self.ifaces[iface.0].is_broadcast(spa);
        if learnable {
            // RFC 826 merge: update the sender if known; add it if we are the target.
            let learned = self.l2.neighbors.learn(now, (iface, spa), sha, for_us);
            if learned.evicted {
                self.stats.arp_cache_evictions += 1;
            }
            if !learned.released.is_empty() {
                log::debug!(
                    target: LOG,
                    "{spa} is at {sha}: sending {} waiting datagrams",
                    learned.released.len()
                );
            }
            for p in learned.released {
                let offload = p.offload.behind_link_header(HEADER_LEN);
                let f = self.eth_frame(our_mac, sha, EtherType::Ipv4, p.packet);
                self.eth_queue_offload(iface, spa, f, offload);
            }
        }
        // RFC 826: "?Is the opcode ares_op$REQUEST? ... Swap hardware and protocol fields,
        // putting the local hardware and protocol addresses in the sender fields ... Send
        // the packet to the (new) target hardware address". Only for the address of the
        // arrival interface (Linux's arp_ignore=1).
        if for_us && repr.operation == ArpOperation::Request {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: our_mac,
                source_protocol_addr: our_ip,
                target_hardware_addr: sha,
                target_protocol_addr: spa,
            };
            self.stats.arp_out_replies += 1;
            self.arp_send(iface, sha, spa, &reply);
        }
    }

    fn arp_send(
        &mut self,
        iface: IfaceId,
        dst: EthernetAddress,
        next_hop: Ipv4Addr,
        repr: &ArpRepr,
    ) {
        let mut payload = [0u8; crate::wire::arp::PACKET_LEN];
        repr.emit(&mut ArpPacket::new_unchecked(&mut payload[..]));
        let f = frame(repr.source_hardware_addr, dst, EtherType::Arp, &payload);
        self.eth_queue(iface, next_hop, f);
    }

    /// A request for `target` from `iface`: broadcast, or unicast to poll a stale entry.
    fn arp_request(&mut self, iface: IfaceId, target: Ipv4Addr, unicast: Option<EthernetAddress>) {
        let Some((our_ip, our_mac)) = self
            .ifaces
            .get(iface.0)
            .and_then(|i| Some((i.addr(), i.mac()?)))
        else {
            return;
        };
        log::debug!(target: LOG, "who-has {target} tell {our_ip}");
        self.stats.arp_out_requests += 1;
        let repr = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: our_mac,
            source_protocol_addr: our_ip,
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: target,
        };
        self.arp_send(
            iface,
            unicast.unwrap_or(EthernetAddress::BROADCAST),
            target,
            &repr,
        );
    }

    pub(super) fn eth_queue(&mut self, iface: IfaceId, next_hop: Ipv4Addr, frame: Vec<u8>) {
        self.eth_queue_offload(iface, next_hop, frame, VirtioNetHdr::NONE);
    }

    /// Queues an Ethernet frame with its offload header, whose offsets already count the
    /// Ethernet header ([`VirtioNetHdr::behind_link_header`]).
    pub(super) fn eth_queue_offload(
        &mut self,
        iface: IfaceId,
        next_hop: Ipv4Addr,
        frame: Vec<u8>,
        offload: VirtioNetHdr,
    ) {
        if self.l2.tx.len() >= self.config.tx_queue_len {
            self.stats.ip_out_discards += 1;
            return;
        }
        self.l2.tx.push_back(Transmit {
            iface,
            next_hop: next_hop.into(),
            frame,
            offload,
        });
    }

    /// Puts `payload` in an Ethernet frame, in a buffer from the frame pool, and hands the
    /// payload's buffer back to the pool.
    pub(super) fn eth_frame(
        &mut self,
        src: EthernetAddress,
        dst: EthernetAddress,
        ethertype: EtherType,
        payload: Vec<u8>,
    ) -> Vec<u8> {
        let mut buf = self.frame_pool.pop().unwrap_or_default();
        buf.clear();
        buf.resize(HEADER_LEN, 0);
        let repr = EthernetRepr {
            src_addr: src,
            dst_addr: dst,
            ethertype,
        };
        repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        buf.extend_from_slice(&payload);
        self.recycle(payload);
        buf
    }

    /// A frame ready for an Ethernet interface, if any (ARP, released datagrams).
    pub(super) fn eth_pop(&mut self) -> Option<Transmit> {
        self.l2.tx.pop_front()
    }

    /// Frames an IP datagram bound for an Ethernet interface, or holds it while its next
    /// hop resolves (`None`). Broadcast and multicast next hops need no ARP.
    pub(super) fn eth_output(&mut self, t: Transmit) -> Option<Transmit> {
        let i = self.ifaces.get(t.iface.0)?;
        let src = i.mac()?;
        // IPv6 datagrams are resolved by Neighbor Discovery before they are queued
        // (`Stack::ip_output`, `ndisc6`), so only IPv4 next hops come here.
        let std::net::IpAddr::V4(hop) = t.next_hop else {
            return None;
        };
        let dst = if hop.is_broadcast() || i.is_broadcast(hop) {
            Some(EthernetAddress::BROADCAST)
        } else if hop.is_multicast() {
            Some(multicast_mac(hop))
        } else {
            self.l2.neighbors.lookup(self.last_now, (t.iface, hop))
        };
        if let Some(dst) = dst {
            // The offload header's offsets now count the Ethernet header too.
            let offload = t.offload.behind_link_header(HEADER_LEN);
            let frame = self.eth_frame(src, dst, EtherType::Ipv4, t.frame);
            return Some(Transmit {
                frame,
                offload,
                ..t
            });
        }
        let pending = crate::iface::Pending {
            packet: t.frame,
            offload: t.offload,
        };
        let held = self
            .l2
            .neighbors
            .hold(self.last_now, (t.iface, hop), pending);
        if held.new {
            log::debug!(target: LOG, "resolving {hop}");
        }
        if held.evicted {
            self.stats.arp_cache_evictions += 1;
        }
        self.stats.arp_unresolved_discards += held.pushed_out as u64 + u64::from(!held.queued);
        None
    }

    /// When the link layer next needs [`Stack::handle_timeout`]: frames waiting count as
    /// due at once.
    pub(super) fn eth_poll_at(&self) -> Option<Instant> {
        if !self.l2.tx.is_empty() {
            return Some(Instant::ZERO);
        }
        let announce = self.l2.announce.iter().map(|a| a.2).min();
        match (announce, self.l2.neighbors.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the link layer's timers: announcements, ARP requests, failed resolutions.
    pub(super) fn eth_timeout(&mut self, now: Instant) {
        let mut due = Vec::new();
        self.l2.announce.retain_mut(|(iface, left, next)| {
            if *next > now {
                return true;
            }
            due.push(*iface);
            *left -= 1;
            *next = now + ANNOUNCE_INTERVAL;
            *left > 0
        });
        for iface in due {
            self.arp_announce(iface);
        }
        for t in self.l2.neighbors.expire(now) {
            match t {
                Timeout::Request { key, unicast } => self.arp_request(key.0, key.1, unicast),
                Timeout::Failed { key, queue } => self.eth_unreachable(now, key, queue),
            }
        }
    }

    /// An ARP announcement (RFC 5227 2.3): a broadcast request whose sender and target
    /// protocol addresses are both ours, so that neighbours update their caches.
    fn arp_announce(&mut self, iface: IfaceId) {
        let Some((ip, mac)) = self
            .ifaces
            .get(iface.0)
            .and_then(|i| Some((i.addr(), i.mac()?)))
        else {
            return;
        };
        self.stats.arp_out_gratuitous += 1;
        let repr = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: mac,
            source_protocol_addr: ip,
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: ip,
        };
        self.arp_send(iface, EthernetAddress::BROADCAST, ip, &repr);
    }

    /// Nobody answered for `key`: what was waiting for it is unreachable (see the module
    /// documentation for who is told, and how).
    fn eth_unreachable(&mut self, now: Instant, key: NeighborKey, queue: Vec<Pending>) {
        self.stats.arp_resolve_failures += 1;
        self.stats.arp_unresolved_discards += queue.len() as u64;
        log::info!(
            target: LOG,
            "{} does not answer ARP: {} datagrams undeliverable",
            key.1,
            queue.len()
        );
        for Pending {
            packet: datagram, ..
        } in queue
        {
            let Ok(pkt) = Ipv4Packet::new_checked(&datagram[..]) else {
                continue;
            };
            let Ok(repr) = Ipv4Repr::parse(&pkt) else {
                continue;
            };
            if self.ifaces.iter().any(|i| i.addr() == repr.src_addr) {
                if repr.frag_offset != 0 {
                    continue;
                }
                let error = IcmpError::DstUnreachable { code: 1, mtu: 0 };
                self.icmp_error_to_socket(now, repr.src_addr, &datagram, error);
            } else {
                // RFC 1812 4.3.3.1: the last-hop router that finds no path to the host
                // MUST send destination unreachable, code 1 (host unreachable).
                let code = DstUnreachable::HostUnreachable;
                self.icmp_dst_unreachable(now, None, &datagram, &repr, false, code, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests;
