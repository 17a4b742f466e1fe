//! IPv6 interface addresses: link-local formation (RFC 4291 modified EUI-64, or the
//! stable identifiers of RFC 7217 that RFC 8064 recommends), and Duplicate Address
//! Detection (RFC 4862 section 5.4, with the nonce of RFC 7527) as a sans-IO state
//! machine. The solicited-node multicast address is
//! [`wire::ipv6::addr::solicited_node`](crate::wire::ipv6::addr::solicited_node).

use std::net::Ipv6Addr;

use crate::time::{Duration, Instant};
use crate::wire::ethernet::EthernetAddress;
use crate::wire::ipv6::addr::solicited_node;

/// The modified EUI-64 interface identifier of an Ethernet address (RFC 4291 section
/// 2.5.1 and Appendix A): `0xFFFE` inserted in the middle, the universal/local bit (the
/// 0x02 bit of the first octet) inverted.
pub fn eui64_interface_id(mac: EthernetAddress) -> [u8; 8] {
    let m = mac.0;
    [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
}

/// The link-local address with interface identifier `iid`: `fe80::/64` followed by it
/// (RFC 4291 section 2.5.6, RFC 4862 section 5.3).
pub fn link_local(iid: [u8; 8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8..].copy_from_slice(&iid);
    Ipv6Addr::from(a)
}

/// Whether `iid` is a reserved interface identifier (RFC 5453 section 3): the
/// Subnet-Router anycast identifier (all zeros, RFC 4291 section 2.6.1), the reserved
/// subnet anycast identifiers `fdff:ffff:ffff:ff80`-`ffff` (RFC 2526), and
/// `0200:5eff:fe00:0000`-`0200:5eff:feff:ffff` (RFC 5453, including Proxy Mobile IPv6's).
pub fn is_reserved_iid(iid: [u8; 8]) -> bool {
    iid == [0; 8]
        || (iid[..7] == [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff] && iid[7] >= 0x80)
        || iid[..5] == [0x02, 0x00, 0x5e, 0xff, 0xfe]
}

/// A stable, semantically opaque interface identifier (RFC 7217 section 5):
/// `RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key)`, the low 64 bits
/// taken as the identifier.
///
/// `prf` is F: a keyed pseudorandom function the caller holds the secret key of ("F()
/// MUST NOT be computable from the outside", section 5), such as SipHash-2-4 under a
/// random 128-bit key. A result that is a reserved identifier (RFC 5453) is skipped by
/// incrementing `dad_counter`, as section 5 says. Returns the identifier and the
/// DAD_Counter that produced it (after a duplicate, section 6 calls this again with the
/// counter plus one).
pub fn stable_interface_id(
    prefix: [u8; 8],
    net_iface: &[u8],
    network_id: &[u8],
    mut dad_counter: u8,
    prf: impl Fn(&[u8]) -> u64,
) -> ([u8; 8], u8) {
    loop {
        let mut input = Vec::with_capacity(8 + net_iface.len() + network_id.len() + 3);
        input.extend_from_slice(&prefix);
        // Lengths keep (Net_Iface, Network_ID) pairs from colliding when concatenated.
        input.push(net_iface.len() as u8);
        input.extend_from_slice(net_iface);
        input.push(network_id.len() as u8);
        input.extend_from_slice(network_id);
        input.push(dad_counter);
        let iid = prf(&input).to_be_bytes();
        if !is_reserved_iid(iid) || dad_counter == u8::MAX {
            return (iid, dad_counter);
        }
        dad_counter += 1;
    }
}

/// Duplicate Address Detection settings (RFC 4862 section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DadConfig {
    /// DupAddrDetectTransmits: solicitations sent (default 1; 0 turns DAD off).
    pub transmits: u8,
    /// RetransTimer between them and after the last (RFC 4861: 1 s).
    pub retrans_timer: Duration,
}

impl Default for DadConfig {
    fn default() -> Self {
        DadConfig {
            transmits: 1,
            retrans_timer: Duration::from_secs(1),
        }
    }
}

/// Where an address stands (RFC 4862 section 2 "tentative address", 5.4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DadState {
    /// Being checked: not yet assigned, packets to it are discarded.
    Tentative,
    /// No duplicate found: assigned.
    Assigned,
    /// Another node has it: it "MUST NOT be assigned to the interface" (5.4.5).
    Duplicate,
}

/// What the caller must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DadAction {
    /// Send a Neighbor Solicitation from the unspecified address to the solicited-node
    /// address of `target`, hop limit 255, with no Source Link-Layer Address option but
    /// this Nonce option (RFC 4862 section 5.4.2, RFC 7527 section 4.1): see
    /// [`dad_solicitation`].
    Solicit {
        /// The tentative address.
        target: Ipv6Addr,
        /// The nonce, to recognise our own solicitation looped back.
        nonce: [u8; 6],
    },
    /// The address is now assigned.
    Assigned(Ipv6Addr),
}

/// Duplicate Address Detection of one tentative address.
#[derive(Clone, Debug)]
pub struct Dad {
    addr: Ipv6Addr,
    config: DadConfig,
    state: DadState,
    sent: u8,
    next: Option<Instant>,
    nonce: [u8; 6],
}

impl Dad {
    /// Starts DAD for `addr` at `now`. The first solicitation waits `initial_delay`,
    /// which the caller draws between 0 and MAX_RTR_SOLICITATION_DELAY (1 s) when it is
    /// the interface's first message (RFC 4862 section 5.4.2), to avoid a burst when many
    /// nodes start together. `nonce` is random (RFC 7527 section 4.1). With zero
    /// transmits the address is assigned at once.
    pub fn start(
        now: Instant,
        addr: Ipv6Addr,
        config: DadConfig,
        initial_delay: Duration,
        nonce: [u8; 6],
    ) -> Dad {
        let (state, next) = if config.transmits == 0 {
            (DadState::Assigned, None)
        } else {
            (DadState::Tentative, Some(now + initial_delay))
        };
        Dad {
            addr,
            config,
            state,
            sent: 0,
            next,
            nonce,
        }
    }

    /// The address.
    pub fn addr(&self) -> Ipv6Addr {
        self.addr
    }

    /// Where it stands.
    pub fn state(&self) -> DadState {
        self.state
    }

    /// Whether packets to the address are accepted: only once assigned (RFC 4862 section
    /// 5.4: a tentative address is not assigned, and packets to it other than DAD's
    /// Neighbor Discovery are silently discarded).
    pub fn accepts_traffic(&self) -> bool {
        self.state == DadState::Assigned
    }

    /// The next timer.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next
    }

    /// Runs the timer: the next solicitation, or, RetransTimer after the last one with
    /// no duplicate seen, the address is assigned (RFC 4862 section 5.4.2 and 5.4.5).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<DadAction> {
        if self.state != DadState::Tentative || self.next.is_none_or(|t| t > now) {
            return None;
        }
        if self.sent < self.config.transmits {
            self.sent += 1;
            self.next = Some(now + self.config.retrans_timer);
            Some(DadAction::Solicit {
                target: self.addr,
                nonce: self.nonce,
            })
        } else {
            self.state = DadState::Assigned;
            self.next = None;
            Some(DadAction::Assigned(self.addr))
        }
    }

    /// A Neighbor Solicitation for `target` from `src` arrived, with this Nonce option.
    /// Returns true if it proves the address a duplicate.
    ///
    /// RFC 4862 section 5.4.3: from the unspecified address it is another node's DAD for
    /// the same address: a duplicate. From a unicast address it is address resolution
    /// for the tentative address and is ignored. RFC 7527 section 4.2: a solicitation
    /// carrying our own nonce is ours, looped back, and is ignored.
    pub fn solicitation(
        &mut self,
        src: Ipv6Addr,
        target: Ipv6Addr,
        nonce: Option<[u8; 6]>,
    ) -> bool {
        if self.state != DadState::Tentative || target != self.addr || !src.is_unspecified() {
            return false;
        }
        if nonce == Some(self.nonce) {
            return false;
        }
        self.duplicate()
    }

    /// A Neighbor Advertisement for `target` arrived: if it is the tentative address, it
    /// is a duplicate (RFC 4862 section 5.4.4). Returns true if so.
    pub fn advertisement(&mut self, target: Ipv6Addr) -> bool {
        if self.state != DadState::Tentative || target != self.addr {
            return false;
        }
        self.duplicate()
    }

    fn duplicate(&mut self) -> bool {
        log::warn!(target: "tunstack::ndisc", "duplicate address detected: {}", self.addr);
        self.state = DadState::Duplicate;
        self.next = None;
        true
    }
}

/// The IPv6 destination and ICMPv6 message body of a DAD solicitation (RFC 4862 section
/// 5.4.2): to the solicited-node address of `target`; reserved zero, the target, and the
/// Nonce option (type 14, length 1, RFC 7527 section 4.1). The caller sends it from the
/// unspecified address with hop limit 255 as an ICMPv6 type 135.
pub fn dad_solicitation(target: Ipv6Addr, nonce: [u8; 6]) -> (Ipv6Addr, [u8; 28]) {
    let mut body = [0u8; 28];
    body[4..20].copy_from_slice(&target.octets());
    body[20] = 14;
    body[21] = 1;
    body[22..28].copy_from_slice(&nonce);
    (solicited_node(&target), body)
}

#[cfg(test)]
mod tests;
