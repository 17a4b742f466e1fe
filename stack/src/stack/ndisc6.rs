//! Neighbor Discovery in the core, for IPv6 on Ethernet interfaces (TAP): the glue
//! between the frames and the sans-IO pieces of [`crate::iface::ndisc`] (the neighbour
//! cache, RFC 4861 section 7) and [`crate::iface::addr6`] (Duplicate Address Detection,
//! RFC 4862 section 5.4).
//!
//! In: Neighbor Solicitations for our address are answered with an advertisement
//! carrying our Ethernet address (RFC 4861 section 7.2.4) and teach the cache the
//! sender's; advertisements complete resolutions. Out: a packet for a neighbour goes to
//! its cached Ethernet address, or waits while the cache solicits it. Each Ethernet
//! interface has its configured address and a link-local one formed from its MAC (RFC
//! 4862 section 5.3); each is tentative until DAD has sent its solicitation and heard
//! nothing for a second, and only then used, the link-local one towards link-local
//! destinations.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use super::Stack;
use crate::iface::addr6::{eui64_interface_id, link_local, Dad, DadAction, DadConfig, DadState};
use crate::iface::ndisc::{Action, Ndisc6Config, NeighborCache6, Resolve};
use crate::iface::{IfaceId, Ipv6Cidr, Pending, Route6};
use crate::link::Medium;
use crate::time::{Duration, Instant};
use crate::wire::ethernet::{EtherType, EthernetAddress};
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{addr, next_header as nh, Ipv6Packet, Ipv6Repr};
use crate::wire::ndp::{emit_options, options_len, NaFlags, NdpOption, NdpRepr};

const LOG: &str = "tunstack::ndisc";

/// The Ethernet address an IPv6 multicast address maps to: 33:33 and its low 32 bits
/// (RFC 2464 section 7).
pub fn ipv6_multicast_mac(a: &Ipv6Addr) -> EthernetAddress {
    let o = a.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// Neighbor Discovery state of one Ethernet interface.
#[derive(Debug)]
pub(crate) struct NdIface {
    cache: NeighborCache6,
    /// DAD of each address: the configured one first, then the link-local one.
    addrs: Vec<Dad>,
}

impl NdIface {
    fn dad_mut(&mut self, a: Ipv6Addr) -> Option<&mut Dad> {
        self.addrs.iter_mut().find(|d| d.addr() == a)
    }

    /// Whether `dst` is for this interface: one of its assigned addresses, or the
    /// solicited-node group of any of them (tentative ones too: DAD listens there).
    fn owns(&self, dst: &Ipv6Addr) -> bool {
        self.addrs.iter().any(|d| {
            (d.addr() == *dst && d.accepts_traffic()) || addr::solicited_node(&d.addr()) == *dst
        })
    }

    /// The assigned address to send from towards `dst`: the link-local one for a
    /// link-local destination (RFC 6724 section 5 rule 2, scope), else the other.
    fn source_for(&self, dst: &Ipv6Addr) -> Option<Ipv6Addr> {
        let link_local = addr::is_link_local(dst);
        self.addrs
            .iter()
            .filter(|d| d.accepts_traffic())
            .map(|d| d.addr())
            .find(|a| addr::is_link_local(a) == link_local)
    }
}

/// Neighbor Discovery state of every Ethernet interface with IPv6.
pub(crate) type NdState = HashMap<IfaceId, NdIface>;

impl Stack {
    /// Starts DAD for an Ethernet interface's IPv6 address; the first solicitation goes at
    /// the first timer run (the interface is new, so there is nothing to delay behind:
    /// RFC 4862 section 5.4.2's random delay is for many nodes starting at once, and a
    /// TAP link has one other node).
    pub(super) fn nd6_attach(&mut self, id: IfaceId) {
        let Some(i) = self.ifaces.get(id.0) else {
            return;
        };
        let (Medium::Ethernet, Some(a)) = (i.config.medium, i.addr6()) else {
            return;
        };
        let mut nonce = [0u8; 6];
        self.rng.fill(&mut nonce);
        let Some(mac) = i.mac() else {
            return;
        };
        let start = |a: Ipv6Addr, nonce: [u8; 6]| {
            Dad::start(
                Instant::ZERO,
                a,
                DadConfig::default(),
                Duration::ZERO,
                nonce,
            )
        };
        // RFC 4862 section 5.3: every interface gets a link-local address; formed from
        // the MAC (RFC 4291 Appendix A), so a fixed `--mac` gives a known address.
        let ll = link_local(eui64_interface_id(mac));
        let mut nonce2 = [0u8; 6];
        self.rng.fill(&mut nonce2);
        let addrs = vec![start(a, nonce), start(ll, nonce2)];
        let cache = NeighborCache6::new(Ndisc6Config::default());
        self.ip6.nd.insert(id, NdIface { cache, addrs });
        // fe80::/64 is on every link (RFC 4291 section 2.5.6).
        let fe80: Ipv6Cidr =
            Ipv6Cidr::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 64).expect("valid prefix");
        self.ip6.routes.add(Route6 {
            dest: fe80,
            gateway: None,
            iface: id,
        });
    }

    /// Whether `src` may be used as a source on the interface: always on IP links, after
    /// DAD on Ethernet ones (RFC 4862 section 5.4: a tentative address is not assigned).
    pub(super) fn nd6_assigned(&self, id: IfaceId, src: Ipv6Addr) -> bool {
        self.ip6.nd.get(&id).is_none_or(|n| {
            n.addrs
                .iter()
                .any(|d| d.addr() == src && d.state() == DadState::Assigned)
        })
    }

    /// The source address for `dst` on an Ethernet interface (link-local for link-local
    /// destinations), or `None` on IP links (the configured address is used).
    pub(super) fn nd6_source_for(&self, id: IfaceId, dst: &Ipv6Addr) -> Option<Ipv6Addr> {
        self.ip6.nd.get(&id).and_then(|n| n.source_for(dst))
    }

    /// Whether `dst` is one of the Ethernet interfaces' addresses (assigned) or one of
    /// their solicited-node groups.
    pub(super) fn nd6_owns(&self, dst: &Ipv6Addr) -> bool {
        self.ip6.nd.values().any(|n| n.owns(dst))
    }

    /// Whether an Ethernet frame to `mac` is for us: the all-nodes group, or the
    /// solicited-node group of our address (joined from the start, RFC 4862 section
    /// 5.4.2), in their RFC 2464 mapping.
    pub(super) fn nd6_wants_mac(&self, id: IfaceId, mac: EthernetAddress) -> bool {
        let Some(n) = self.ip6.nd.get(&id) else {
            return false;
        };
        mac == ipv6_multicast_mac(&addr::ALL_NODES)
            || n.addrs
                .iter()
                .any(|d| mac == ipv6_multicast_mac(&addr::solicited_node(&d.addr())))
    }

    /// Takes a Neighbor Discovery message that arrived on `iface`.
    pub(super) fn nd6_input(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        ip: &Ipv6Repr,
        n: NdpRepr<'_>,
    ) {
        let Some(id) = iface.filter(|i| self.ip6.nd.contains_key(i)) else {
            return;
        };
        // RFC 4861 sections 6.1, 7.1: hop limit 255 and the address rules, or discard.
        if let Err(why) = n.validate(ip.src_addr, ip.dst_addr, ip.hop_limit) {
            self.stats.icmp6_in_errors += 1;
            log::debug!(target: LOG, "invalid {n} from {}: {why:?}", ip.src_addr);
            return;
        }
        let Some(our_mac) = self.ifaces.get(id.0).and_then(|i| i.mac()) else {
            return;
        };
        let Some(nd) = self.ip6.nd.get_mut(&id) else {
            return;
        };
        let mut actions = Vec::new();
        match n {
            NdpRepr::NeighborSolicit { target, .. } => {
                let Some(dad) = nd.dad_mut(target) else {
                    return;
                };
                if dad.state() == DadState::Tentative {
                    let nonce = n.options().find_map(|o| match o {
                        NdpOption::Unknown { opt_type: 14, data } if data.len() == 6 => {
                            <[u8; 6]>::try_from(data).ok()
                        }
                        _ => None,
                    });
                    // RFC 4862 section 5.4.3; a tentative address is not answered for.
                    dad.solicitation(ip.src_addr, target, nonce);
                    return;
                }
                if dad.state() != DadState::Assigned {
                    return;
                }
                let ours = dad.addr();
                let sll = n.source_ll_addr();
                if let Some(mac) = sll.filter(|m| m.is_unicast()) {
                    actions = nd.cache.solicitation(now, ip.src_addr, mac);
                }
                // RFC 4861 section 7.2.4: answer with our link-layer address, Solicited
                // and Override set, to the solicitor; to all-nodes with Solicited clear
                // if it came from the unspecified address (another node's DAD).
                let (dst, dst_mac, solicited) = if ip.src_addr.is_unspecified() {
                    (
                        addr::ALL_NODES,
                        Some(ipv6_multicast_mac(&addr::ALL_NODES)),
                        false,
                    )
                } else {
                    (ip.src_addr, sll, true)
                };
                let flags = NaFlags {
                    router: self.config.forwarding,
                    solicited,
                    override_: true,
                };
                let opts = [NdpOption::TargetLinkLayerAddr(our_mac)];
                let mut raw = vec![0u8; options_len(&opts)];
                let _ = emit_options(&opts, &mut raw);
                let na = NdpRepr::NeighborAdvert {
                    flags,
                    target,
                    options: &raw,
                };
                if let Some(dst_mac) = dst_mac {
                    self.stats.icmp6_out_neighbor_advertisements += 1;
                    self.nd6_emit(id, ours, dst, dst_mac, &na);
                } else {
                    // No source link-layer address: resolve the solicitor first.
                    self.nd6_send_icmp(now, ours, dst, &na);
                }
            }
            NdpRepr::NeighborAdvert { flags, target, .. } => {
                if let Some(dad) = nd.dad_mut(target) {
                    // RFC 4862 section 5.4.4: during DAD, someone else has the address
                    // (once assigned, an advertisement for it is ignored).
                    dad.advertisement(target);
                    return;
                }
                let tll = n.target_ll_addr().filter(|m| m.is_unicast());
                actions = nd.cache.advertisement(now, target, flags, tll);
            }
            NdpRepr::RouterAdvert { .. }
            | NdpRepr::RouterSolicit { .. }
            | NdpRepr::Redirect { .. } => {
                // RFC 4861 sections 6.2.6, 6.3.4: a source link-layer address teaches
                // the cache; the rest (routers, prefixes) is not acted on.
                if let Some(mac) = n.source_ll_addr().filter(|m| m.is_unicast()) {
                    if !ip.src_addr.is_unspecified() {
                        actions = nd.cache.solicitation(now, ip.src_addr, mac);
                    }
                }
            }
        }
        self.nd6_run(id, actions);
    }

    /// Sends an IPv6 packet (whole, or one fragment) out of Ethernet interface `id` to the
    /// on-link `next_hop`, resolving it first if needed.
    pub(super) fn nd6_output(
        &mut self,
        now: Instant,
        id: IfaceId,
        next_hop: Ipv6Addr,
        packet: impl Into<Pending>,
    ) {
        let packet = packet.into();
        if addr::is_multicast(&next_hop) {
            self.nd6_frame(id, ipv6_multicast_mac(&next_hop), packet);
            return;
        }
        let Some(nd) = self.ip6.nd.get_mut(&id) else {
            return;
        };
        match nd.cache.resolve(now, next_hop, packet) {
            Resolve::Send(mac, packet) => self.nd6_frame(id, mac, packet),
            Resolve::Queued(actions) => self.nd6_run(id, actions),
            Resolve::NoRoom => self.stats.ip6_out_no_routes += 1,
        }
    }

    /// Carries out what the cache asked for.
    fn nd6_run(&mut self, id: IfaceId, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Solicit { target, unicast } => self.nd6_solicit(id, target, unicast),
                Action::Flush { mac, packets, .. } => {
                    for p in packets {
                        self.nd6_frame(id, mac, p);
                    }
                }
                Action::Unreachable { target, packets } => {
                    // RFC 4861 section 7.2.2 has the queued packets answered with address
                    // unreachable; they are all the stack's own, so they are dropped.
                    self.stats.ip6_out_no_routes += packets.len() as u64;
                    log::debug!(target: LOG, "{target} did not answer: dropped {} packets", packets.len());
                }
            }
        }
    }

    /// Sends a Neighbor Solicitation for `target` (RFC 4861 section 7.2.2): to its
    /// solicited-node address, or unicast to its cached address when probing (7.3.3),
    /// with our link-layer address.
    fn nd6_solicit(&mut self, id: IfaceId, target: Ipv6Addr, unicast: Option<EthernetAddress>) {
        // From the assigned address of the target's scope (RFC 4861 section 7.2.2: "the
        // source address of the packet prompting the solicitation" if it is ours, which
        // is the same choice for the stack's own packets).
        let Some((src, mac)) = self
            .ifaces
            .get(id.0)
            .and_then(|i| Some((self.nd6_source_for(id, &target)?, i.mac()?)))
        else {
            return;
        };
        let opts = [NdpOption::SourceLinkLayerAddr(mac)];
        let mut raw = vec![0u8; options_len(&opts)];
        let _ = emit_options(&opts, &mut raw);
        let ns = NdpRepr::NeighborSolicit {
            target,
            options: &raw,
        };
        let (dst, dst_mac) = match unicast {
            Some(m) => (target, m),
            None => {
                let group = addr::solicited_node(&target);
                (group, ipv6_multicast_mac(&group))
            }
        };
        self.stats.icmp6_out_neighbor_solicits += 1;
        self.nd6_emit(id, src, dst, dst_mac, &ns);
    }

    /// Builds an ND message (hop limit 255, RFC 4861 section 7.1) and queues its frame.
    fn nd6_emit(
        &mut self,
        id: IfaceId,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        dst_mac: EthernetAddress,
        n: &NdpRepr<'_>,
    ) {
        let repr = Icmpv6Repr::Ndp(*n);
        let len = repr.buffer_len();
        let mut pkt = vec![0u8; 40 + len];
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: nh::ICMPV6,
            payload_len: len,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        };
        if ip
            .emit(&mut Ipv6Packet::new_unchecked(&mut pkt[..]))
            .is_err()
            || repr.emit(src, dst, &mut pkt[40..]).is_err()
        {
            return;
        }
        self.stats.icmp6_out_msgs += 1;
        self.nd6_frame(id, dst_mac, pkt.into());
    }

    /// Sends an ND message through the normal path (resolving its destination).
    fn nd6_send_icmp(&mut self, now: Instant, src: Ipv6Addr, dst: Ipv6Addr, n: &NdpRepr<'_>) {
        let repr = Icmpv6Repr::Ndp(*n);
        let _ = self.send_icmp6(now, Some(src), dst, Some(255), &repr);
    }

    /// Puts an IPv6 packet in an Ethernet frame to `dst` and queues it, its offload
    /// header moved behind the Ethernet header.
    fn nd6_frame(&mut self, id: IfaceId, dst: EthernetAddress, p: Pending) {
        let Some(src) = self.ifaces.get(id.0).and_then(|i| i.mac()) else {
            return;
        };
        let offload = p
            .offload
            .behind_link_header(crate::wire::ethernet::HEADER_LEN);
        let f = self.eth_frame(src, dst, EtherType::Ipv6, p.packet);
        self.eth_queue_offload(id, std::net::Ipv4Addr::UNSPECIFIED, f, offload);
    }

    /// The earliest ND or DAD timer.
    pub(super) fn nd6_poll_at(&self) -> Option<Instant> {
        self.ip6
            .nd
            .values()
            .flat_map(|n| {
                std::iter::once(n.cache.poll_at()).chain(n.addrs.iter().map(Dad::poll_at))
            })
            .flatten()
            .min()
    }

    /// Runs the ND and DAD timers.
    pub(super) fn nd6_timeout(&mut self, now: Instant) {
        let ids: Vec<IfaceId> = self.ip6.nd.keys().copied().collect();
        for id in ids {
            let Some(nd) = self.ip6.nd.get_mut(&id) else {
                continue;
            };
            let dads: Vec<DadAction> = nd
                .addrs
                .iter_mut()
                .filter_map(|d| d.handle_timeout(now))
                .collect();
            let actions = nd.cache.handle_timeout(now);
            for dad in dads {
                match dad {
                    DadAction::Solicit { target, nonce } => self.nd6_dad_solicit(id, target, nonce),
                    DadAction::Assigned(a) => {
                        log::info!(target: LOG, "{a} passed duplicate address detection")
                    }
                }
            }
            self.nd6_run(id, actions);
        }
    }

    /// RFC 4862 section 5.4.2: the DAD solicitation, from the unspecified address, with
    /// the nonce (RFC 7527) and no link-layer address.
    fn nd6_dad_solicit(&mut self, id: IfaceId, target: Ipv6Addr, nonce: [u8; 6]) {
        let (group, body) = crate::iface::addr6::dad_solicitation(target, nonce);
        let Ok(ns) = NdpRepr::parse(crate::wire::icmpv6::msg_type::NEIGHBOR_SOLICIT, 0, &body)
        else {
            return;
        };
        self.stats.icmp6_out_neighbor_solicits += 1;
        self.nd6_emit(
            id,
            Ipv6Addr::UNSPECIFIED,
            group,
            ipv6_multicast_mac(&group),
            &ns,
        );
    }

    /// The neighbour cache of an interface (what `ip -6 neigh` shows for the kernel).
    pub fn neighbors6(&self, id: IfaceId) -> Option<&NeighborCache6> {
        self.ip6.nd.get(&id).map(|n| &n.cache)
    }
}
