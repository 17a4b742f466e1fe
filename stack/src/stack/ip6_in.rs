//! IPv6 input (RFC 8200): validation, the extension header chain (section 4), local
//! delivery and reassembly (section 4.5); a packet that is not ours is forwarded (in
//! router mode, `ip6_fwd`) or dropped and counted.

use std::net::Ipv6Addr;

use super::{Stack, StackConfig};
use crate::iface::reassembly6::{Fragment6, Outcome, Reassembler6, Reassembly6Config};
use crate::iface::{IfaceId, Route6, RoutingTable6, TokenBucket};
use crate::time::Instant;
use crate::wire::icmpv6::{Icmpv6Repr, TimeExceeded};
use crate::wire::ipv6::ext::param_problem_code;
use crate::wire::ipv6::{addr, next_header as nh, ExtChain, Ipv6Packet, Ipv6Repr};
use crate::wire::Error;

const LOG: &str = "tunstack::ip6";

/// The IPv6 state of the core.
#[derive(Debug)]
pub(crate) struct Ip6 {
    pub(super) reasm: Reassembler6,
    pub(super) icmp_limit: TokenBucket,
    pub(super) routes: RoutingTable6,
    /// Neighbor Discovery and DAD per Ethernet interface (see `ndisc6`).
    pub(super) nd: super::ndisc6::NdState,
    /// The stack's own echo requests' replies and errors (see `echo6`).
    pub(super) echo: super::echo6::Echo6Table,
}

impl Ip6 {
    pub(super) fn new(config: &StackConfig) -> Ip6 {
        Ip6 {
            reasm: Reassembler6::new(Reassembly6Config::default()),
            // RFC 4443 section 2.4 (f): a token bucket, with the same rate as ICMPv4.
            icmp_limit: TokenBucket::new(config.icmp_error_rate, config.icmp_error_burst),
            routes: RoutingTable6::new(),
            nd: Default::default(),
            echo: Default::default(),
        }
    }
}

/// Whether a packet for us was sent to a multicast address.
type Multicast = bool;

impl Stack {
    /// Adds the on-link route of an interface's IPv6 prefix.
    pub(super) fn ip6_attach(&mut self, id: IfaceId) {
        if let Some(cidr) = self.ifaces.get(id.0).and_then(|i| i.config.addr6) {
            self.ip6.routes.add(Route6 {
                dest: cidr,
                gateway: None,
                iface: id,
            });
        }
        self.nd6_attach(id);
    }

    /// The IPv6 routing table, to add routes.
    pub fn routes6_mut(&mut self) -> &mut RoutingTable6 {
        &mut self.ip6.routes
    }

    /// Takes one IPv6 packet from an interface (`None`: from the stack itself).
    pub(super) fn ip6_receive(&mut self, now: Instant, iface: Option<IfaceId>, packet: &[u8]) {
        self.stats.ip6_in_receives += 1;
        let p = match Ipv6Packet::new_checked(packet) {
            Ok(p) => p,
            Err(e) => {
                if e == Error::Truncated {
                    self.stats.ip6_in_truncated_pkts += 1;
                } else {
                    self.stats.ip6_in_hdr_errors += 1;
                }
                log::debug!(target: LOG, "dropped a packet: {e}");
                return;
            }
        };
        let packet = p.packet();
        let Ok(repr) = Ipv6Repr::parse(&p) else {
            return;
        };
        // RFC 4291 section 2.7: "Multicast addresses must not be used as source addresses
        // in IPv6 packets".
        if addr::is_multicast(&repr.src_addr) {
            self.stats.ip6_in_addr_errors += 1;
            return;
        }
        let multicast = addr::is_multicast(&repr.dst_addr);
        if multicast {
            self.stats.ip6_in_mcast_pkts += 1;
        }
        if !self.ip6_is_ours(&repr.dst_addr) {
            if self.ip6_may_forward(iface, &repr) {
                self.ip6_forward(now, iface, packet, &repr);
                return;
            }
            // The kernel's chatter on a TUN link (router solicitations to ff02::2, MLD
            // reports to ff02::16) lands here, as does anything for other hosts.
            if !multicast {
                self.stats.ip6_in_addr_errors += 1;
            }
            log::trace!(target: LOG, "not ours: {}", repr.dst_addr);
            return;
        }
        self.ip6_local(now, iface, packet, &repr, multicast, false);
    }

    /// Whether `dst` is one of ours: an interface's address, the all-nodes address
    /// (RFC 4291 section 2.7.1: every node joins it), or the solicited-node address of
    /// one of our addresses.
    ///
    /// A tentative address (DAD still running, RFC 4862 section 5.4) is not ours yet,
    /// though its solicited-node group is (DAD listens there).
    pub(super) fn ip6_is_ours(&self, dst: &Ipv6Addr) -> bool {
        *dst == addr::ALL_NODES
            || self.nd6_owns(dst)
            || self.ifaces.iter().any(|i| {
                let Some(a) = i.addr6() else {
                    return false;
                };
                (a == *dst && self.nd6_assigned(i.id, a))
                    || (addr::is_solicited_node(dst) && addr::solicited_node(&a) == *dst)
            })
    }

    /// Walks the extension headers of a packet for us and hands it on (RFC 8200 section
    /// 4): to reassembly, to ICMPv6, or answers it with an error.
    fn ip6_local(
        &mut self,
        now: Instant,
        iface: Option<IfaceId>,
        packet: &[u8],
        repr: &Ipv6Repr,
        multicast: Multicast,
        reassembled: bool,
    ) {
        let p = Ipv6Packet::new_unchecked(packet);
        let chain = match ExtChain::parse(&p) {
            Ok(c) => c,
            Err(e) => {
                self.stats.ip6_in_hdr_errors += 1;
                log::debug!(target: LOG, "refused a packet from {}: {e:?}", repr.src_addr);
                if let Some((code, pointer)) = e.param_problem() {
                    // RFC 4443 section 2.4 (e.3): no error about a packet to a multicast
                    // address, except a Parameter Problem code 2 for an option whose
                    // action bits ask for it (the chain walk has applied that rule).
                    let to_multicast_ok = code == param_problem_code::UNRECOGNIZED_OPTION;
                    self.icmp6_error(now, iface, packet, repr, to_multicast_ok, |data| {
                        Icmpv6Repr::ParamProblem {
                            code,
                            pointer,
                            data,
                        }
                    });
                }
                return;
            }
        };
        if let Some(f) = chain.fragment {
            if reassembled {
                // A Fragment header inside a reassembled packet: nested fragmentation,
                // which no sender does.
                self.stats.ip6_reasm_fails += 1;
                return;
            }
            self.stats.ip6_reasm_reqds += 1;
            let frag = Fragment6 {
                src: repr.src_addr,
                dst: repr.dst_addr,
                ident: f.ident,
                offset: usize::from(f.offset),
                more_frags: f.more_frags,
                next_header: chain.upper_layer,
                unfragmentable: &packet[..40 + chain.upper_offset - 8],
                named_at: chain.fragment_named_at as usize,
                data: &packet[40 + chain.upper_offset..],
            };
            match self.ip6.reasm.push(now, frag) {
                Outcome::Complete(whole) => {
                    self.stats.ip6_reasm_oks += 1;
                    let Ok(q) = Ipv6Packet::new_checked(&whole[..]) else {
                        return;
                    };
                    let Ok(whole_repr) = Ipv6Repr::parse(&q) else {
                        return;
                    };
                    self.ip6_local(now, iface, &whole, &whole_repr, multicast, true);
                }
                Outcome::Pending | Outcome::Duplicate => {}
                Outcome::Failed(why) => {
                    self.stats.ip6_reasm_fails += 1;
                    log::debug!(target: LOG, "reassembly failed from {}: {why:?}", repr.src_addr);
                }
            }
            return;
        }
        let upper = &packet[40 + chain.upper_offset..];
        match chain.upper_layer {
            nh::ICMPV6 => {
                self.stats.ip6_in_delivers += 1;
                self.icmp6_input(now, iface, repr, upper, multicast);
            }
            // RFC 8200 section 4.7: nothing follows.
            nh::NO_NEXT_HEADER => self.stats.ip6_in_delivers += 1,
            nh::TCP => {
                self.stats.ip6_in_delivers += 1;
                let (src, dst) = (repr.src_addr.into(), repr.dst_addr.into());
                // Multicast destinations are dropped by TCP (RFC 1122 4.2.3.10).
                self.tcp_input(now, src, dst, upper, multicast);
            }
            nh::UDP => {
                self.stats.ip6_in_delivers += 1;
                self.udp6_input(now, iface, packet, repr, upper);
            }
            other => {
                // RFC 8200 section 4: an unrecognised Next Header: Parameter Problem code
                // 1 pointing at the field that holds it.
                self.stats.ip6_in_unknown_protos += 1;
                log::debug!(target: LOG, "no handler for next header {other} from {}", repr.src_addr);
                let pointer = chain.upper_pointer;
                self.icmp6_error(now, iface, packet, repr, false, |data| {
                    Icmpv6Repr::ParamProblem {
                        code: param_problem_code::UNRECOGNIZED_NEXT_HEADER,
                        pointer,
                        data,
                    }
                });
            }
        }
    }

    /// When IPv6 next needs [`Stack::handle_timeout`].
    pub(super) fn ip6_poll_at(&self) -> Option<Instant> {
        match (self.ip6.reasm.poll_at(), self.nd6_poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// RFC 8200 section 4.5: a packet not reassembled within 60 seconds is dropped; if
    /// its first fragment came, Time Exceeded code 1 goes to its source, quoting it.
    pub(super) fn ip6_timeout(&mut self, now: Instant) {
        self.nd6_timeout(now);
        for expired in self.ip6.reasm.expire(now) {
            self.stats.ip6_reasm_timeout += 1;
            self.stats.ip6_reasm_fails += 1;
            log::debug!(target: LOG, "reassembly timed out for a packet from {}", expired.src);
            let Some(first) = expired.first_fragment else {
                continue;
            };
            let Ok(p) = Ipv6Packet::new_checked(&first[..]) else {
                continue;
            };
            let Ok(repr) = Ipv6Repr::parse(&p) else {
                continue;
            };
            self.icmp6_error(now, None, &first, &repr, false, |data| {
                Icmpv6Repr::TimeExceeded {
                    reason: TimeExceeded::FragReassembly,
                    data,
                }
            });
        }
    }
}
