//! The IPv6 neighbour cache with Neighbor Unreachability Detection (RFC 4861 sections
//! 7.2 and 7.3), as a sans-IO state machine: it never sends anything and never reads the
//! clock. The core asks it where to send ([`NeighborCache6::resolve`]), tells it what
//! Neighbor Discovery messages taught it ([`NeighborCache6::advertisement`],
//! [`NeighborCache6::solicitation`]) and upper-layer progress
//! ([`NeighborCache6::confirm`]), and runs its timers
//! ([`NeighborCache6::handle_timeout`]); each call returns the [`Action`]s to take.
//!
//! The states and transitions are RFC 4861 section 7.3.2 and Appendix C:
//!
//! ```text
//!             send, no entry                  NA (solicited)
//!   (none) ─────────────────► INCOMPLETE ──────────────────────► REACHABLE
//!     │ NS/RS/Redirect with   │ MAX_MULTICAST_SOLICIT NS,           │ ReachableTime
//!     │ a link-layer address  │ RetransTimer apart, then            │ passes, or an
//!     ▼                       └─► removed: Unreachable(queue)       ▼ unsolicited change
//!   STALE ◄──────────────────────────────────────────────────── STALE
//!     │ send                                                       ▲
//!     ▼                                                            │
//!   DELAY ── DELAY_FIRST_PROBE_TIME ──► PROBE ── MAX_UNICAST_SOLICIT NS unanswered ──► removed
//!     │ confirm / NA (solicited)          │ NA (solicited)
//!     └───────────► REACHABLE ◄───────────┘
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::Ipv6Addr;

use super::Pending;
use crate::time::{Duration, Instant};
use crate::wire::ethernet::EthernetAddress;
use crate::wire::ndp::NaFlags;

/// Protocol constants and per-interface values (RFC 4861 section 10 and 6.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ndisc6Config {
    /// ReachableTime: how long a neighbour stays REACHABLE after a confirmation.
    /// RFC 4861 section 6.3.2 draws it at random between 0.5 and 1.5 times
    /// BaseReachableTime (REACHABLE_TIME, 30 s); see [`random_reachable_time`].
    pub reachable_time: Duration,
    /// RetransTimer: the time between retransmitted solicitations (RETRANS_TIMER, 1 s).
    pub retrans_timer: Duration,
    /// DELAY_FIRST_PROBE_TIME: 5 s in DELAY before the first unicast probe.
    pub delay_first_probe: Duration,
    /// MAX_MULTICAST_SOLICIT: 3 multicast solicitations while INCOMPLETE.
    pub max_multicast_solicit: u8,
    /// MAX_UNICAST_SOLICIT: 3 unicast solicitations while PROBE.
    pub max_unicast_solicit: u8,
    /// The most entries; a new one evicts the least recently used entry that is not
    /// INCOMPLETE, or is refused.
    pub max_entries: usize,
    /// Packets queued per INCOMPLETE entry: RFC 4861 section 7.2.2 "SHOULD retain a
    /// small queue ... When a queue overflows, the new arrival SHOULD replace the oldest
    /// entry".
    pub queue_len: usize,
}

impl Default for Ndisc6Config {
    fn default() -> Self {
        Ndisc6Config {
            reachable_time: Duration::from_secs(30),
            retrans_timer: Duration::from_secs(1),
            delay_first_probe: Duration::from_secs(5),
            max_multicast_solicit: 3,
            max_unicast_solicit: 3,
            max_entries: 512,
            queue_len: 64,
        }
    }
}

/// ReachableTime drawn uniformly between MIN_RANDOM_FACTOR (0.5) and MAX_RANDOM_FACTOR
/// (1.5) times `base` (RFC 4861 section 6.3.2), from `random` in `[0, 1)`.
pub fn random_reachable_time(base: Duration, random: f64) -> Duration {
    let factor = 0.5 + random.clamp(0.0, 1.0);
    Duration::from_micros((base.total_micros() as f64 * factor) as u64)
}

/// The state of an entry (RFC 4861 section 7.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State6 {
    /// Address resolution is in progress; the link-layer address is not known.
    Incomplete,
    /// Reachable within the last ReachableTime.
    Reachable,
    /// Not known to be reachable; nothing is done until a packet is sent.
    Stale,
    /// A packet was sent while STALE; waiting for upper-layer confirmation before probing.
    Delay,
    /// Unicast solicitations are being sent to verify reachability.
    Probe,
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a Neighbor Solicitation for `target`: to its solicited-node multicast address
    /// when `unicast` is `None` (address resolution, RFC 4861 section 7.2.2), else to
    /// that link-layer address (reachability probe, section 7.3.3).
    Solicit {
        /// The address being resolved or probed.
        target: Ipv6Addr,
        /// The cached link-layer address for a unicast probe.
        unicast: Option<EthernetAddress>,
    },
    /// The address resolved: send these queued packets to `mac` (section 7.2.5).
    Flush {
        /// The neighbour.
        target: Ipv6Addr,
        /// Its link-layer address.
        mac: EthernetAddress,
        /// The packets that waited, oldest first.
        packets: Vec<Pending>,
    },
    /// Resolution failed: answer each queued packet with an ICMPv6 Destination
    /// Unreachable, code 3 (address unreachable) (section 7.2.2).
    Unreachable {
        /// The neighbour.
        target: Ipv6Addr,
        /// The packets that waited.
        packets: Vec<Pending>,
    },
}

/// The answer to "where does a packet for this neighbour go?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolve {
    /// Send it (handed back) to this link-layer address now.
    Send(EthernetAddress, Pending),
    /// The packet was queued; the actions (a first solicitation) are to be taken.
    Queued(Vec<Action>),
    /// No room for another entry: the packet is dropped.
    NoRoom,
}

#[derive(Debug)]
struct Entry {
    state: State6,
    mac: Option<EthernetAddress>,
    is_router: bool,
    /// When the current state's timer fires (retransmit, reachable, delay), if any.
    timer: Option<Instant>,
    /// Solicitations sent in the current INCOMPLETE or PROBE state.
    probes: u8,
    queue: VecDeque<Pending>,
    used: Instant,
}

/// The neighbour cache of one interface.
#[derive(Debug)]
pub struct NeighborCache6 {
    config: Ndisc6Config,
    entries: HashMap<Ipv6Addr, Entry>,
}

impl NeighborCache6 {
    /// An empty cache.
    pub fn new(config: Ndisc6Config) -> Self {
        NeighborCache6 {
            config,
            entries: HashMap::new(),
        }
    }

    /// The state and link-layer address of `ip`, for `ip -6 neigh`-style listings.
    pub fn get(&self, ip: Ipv6Addr) -> Option<(State6, Option<EthernetAddress>)> {
        self.entries.get(&ip).map(|e| (e.state, e.mac))
    }

    /// Whether the neighbour said it is a router (the R flag of its last advertisement).
    pub fn is_router(&self, ip: Ipv6Addr) -> bool {
        self.entries.get(&ip).is_some_and(|e| e.is_router)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A packet is to be sent to neighbour `ip` (RFC 4861 section 7.2.2 and 7.3.3).
    ///
    /// * no entry: create one INCOMPLETE, queue the packet, solicit by multicast;
    /// * INCOMPLETE: queue it (the oldest goes when the queue is full);
    /// * REACHABLE, DELAY, PROBE: send to the cached address;
    /// * STALE: send, and go to DELAY with the DELAY_FIRST_PROBE_TIME timer (7.3.3:
    ///   "the first time a node sends a packet to a neighbor whose entry is STALE, the
    ///   sender changes the state to DELAY").
    pub fn resolve(&mut self, now: Instant, ip: Ipv6Addr, packet: impl Into<Pending>) -> Resolve {
        let packet = packet.into();
        let qlen = self.config.queue_len.max(1);
        let delay = self.config.delay_first_probe;
        if let Some(e) = self.entries.get_mut(&ip) {
            e.used = now;
            return match (e.state, e.mac) {
                (State6::Incomplete, _) | (_, None) => {
                    if e.queue.len() >= qlen {
                        e.queue.pop_front();
                    }
                    e.queue.push_back(packet);
                    Resolve::Queued(Vec::new())
                }
                (State6::Stale, Some(mac)) => {
                    e.state = State6::Delay;
                    e.timer = Some(now + delay);
                    Resolve::Send(mac, packet)
                }
                (_, Some(mac)) => Resolve::Send(mac, packet),
            };
        }
        if !self.make_room() {
            return Resolve::NoRoom;
        }
        self.entries.insert(
            ip,
            Entry {
                state: State6::Incomplete,
                mac: None,
                is_router: false,
                timer: Some(now + self.config.retrans_timer),
                probes: 1,
                queue: VecDeque::from([packet]),
                used: now,
            },
        );
        Resolve::Queued(vec![Action::Solicit {
            target: ip,
            unicast: None,
        }])
    }

    /// A Neighbor Advertisement for `target` arrived (RFC 4861 section 7.2.5 and
    /// Appendix C), with its flags and Target Link-Layer Address option.
    pub fn advertisement(
        &mut self,
        now: Instant,
        target: Ipv6Addr,
        flags: NaFlags,
        tll: Option<EthernetAddress>,
    ) -> Vec<Action> {
        let reachable = self.config.reachable_time;
        // 7.2.5: "If no entry exists, the advertisement SHOULD be silently discarded."
        let Some(e) = self.entries.get_mut(&target) else {
            return Vec::new();
        };
        e.is_router = flags.router;
        if e.state == State6::Incomplete {
            // 7.2.5: without a link-layer address the advertisement is ignored; with one,
            // record it, REACHABLE if solicited else STALE, and send the queue.
            let Some(mac) = tll else {
                return Vec::new();
            };
            e.mac = Some(mac);
            e.probes = 0;
            if flags.solicited {
                e.state = State6::Reachable;
                e.timer = Some(now + reachable);
            } else {
                e.state = State6::Stale;
                e.timer = None;
            }
            let packets: Vec<Pending> = e.queue.drain(..).collect();
            return if packets.is_empty() {
                Vec::new()
            } else {
                vec![Action::Flush {
                    target,
                    mac,
                    packets,
                }]
            };
        }
        let different = tll.is_some_and(|m| Some(m) != e.mac);
        if !flags.override_ && different {
            // 7.2.5: "If the Override flag is clear and the supplied link-layer address
            // differs from that in the cache, then ... if the cache entry is in the
            // REACHABLE state, set it to STALE, but do not update the entry in any other
            // way"; otherwise ignore it.
            if e.state == State6::Reachable {
                e.state = State6::Stale;
                e.timer = None;
            }
            return Vec::new();
        }
        // Override set, or the same (or no) link-layer address.
        if let Some(m) = tll {
            e.mac = Some(m);
        }
        if flags.solicited {
            e.state = State6::Reachable;
            e.timer = Some(now + reachable);
            e.probes = 0;
        } else if different {
            // Unsolicited with a new address (override set): STALE.
            e.state = State6::Stale;
            e.timer = None;
        }
        Vec::new()
    }

    /// A Neighbor Solicitation, Router Solicitation, Router Advertisement or Redirect from
    /// `ip` carried its link-layer address `mac` (RFC 4861 section 7.2.3, 6.3.4, 8.3 and
    /// Appendix C): create the entry STALE, or update it and go STALE if the address
    /// changed; an INCOMPLETE entry gets its address, goes STALE and sends its queue.
    pub fn solicitation(
        &mut self,
        now: Instant,
        ip: Ipv6Addr,
        mac: EthernetAddress,
    ) -> Vec<Action> {
        match self.entries.get_mut(&ip) {
            None => {
                if self.make_room() {
                    self.entries.insert(
                        ip,
                        Entry {
                            state: State6::Stale,
                            mac: Some(mac),
                            is_router: false,
                            timer: None,
                            probes: 0,
                            queue: VecDeque::new(),
                            used: now,
                        },
                    );
                }
                Vec::new()
            }
            Some(e) if e.state == State6::Incomplete => {
                e.state = State6::Stale;
                e.mac = Some(mac);
                e.timer = None;
                e.probes = 0;
                let packets: Vec<Pending> = e.queue.drain(..).collect();
                if packets.is_empty() {
                    Vec::new()
                } else {
                    vec![Action::Flush {
                        target: ip,
                        mac,
                        packets,
                    }]
                }
            }
            Some(e) => {
                if e.mac != Some(mac) {
                    e.mac = Some(mac);
                    e.state = State6::Stale;
                    e.timer = None;
                    e.probes = 0;
                }
                Vec::new()
            }
        }
    }

    /// An upper layer confirmed forward progress with `ip` (a TCP ACK for new data, RFC
    /// 4861 section 7.3.1): REACHABLE again, unless resolution is still in progress.
    pub fn confirm(&mut self, now: Instant, ip: Ipv6Addr) {
        let reachable = self.config.reachable_time;
        if let Some(e) = self.entries.get_mut(&ip) {
            if e.state != State6::Incomplete {
                e.state = State6::Reachable;
                e.timer = Some(now + reachable);
                e.probes = 0;
            }
        }
    }

    /// The earliest timer.
    pub fn poll_at(&self) -> Option<Instant> {
        self.entries.values().filter_map(|e| e.timer).min()
    }

    /// Runs every timer due at `now` (RFC 4861 section 7.3.3 and Appendix C).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut removed = Vec::new();
        let c = &self.config;
        for (&ip, e) in self.entries.iter_mut() {
            if e.timer.is_none_or(|t| t > now) {
                continue;
            }
            match e.state {
                State6::Incomplete if e.probes < c.max_multicast_solicit => {
                    e.probes += 1;
                    e.timer = Some(now + c.retrans_timer);
                    actions.push(Action::Solicit {
                        target: ip,
                        unicast: None,
                    });
                }
                State6::Incomplete => {
                    removed.push(ip);
                    actions.push(Action::Unreachable {
                        target: ip,
                        packets: e.queue.drain(..).collect(),
                    });
                }
                State6::Reachable => {
                    // "more than ReachableTime milliseconds have elapsed since receipt of
                    // the last reachability confirmation": STALE.
                    e.state = State6::Stale;
                    e.timer = None;
                }
                State6::Delay => {
                    e.state = State6::Probe;
                    e.probes = 1;
                    e.timer = Some(now + c.retrans_timer);
                    actions.push(Action::Solicit {
                        target: ip,
                        unicast: e.mac,
                    });
                }
                State6::Probe if e.probes < c.max_unicast_solicit => {
                    e.probes += 1;
                    e.timer = Some(now + c.retrans_timer);
                    actions.push(Action::Solicit {
                        target: ip,
                        unicast: e.mac,
                    });
                }
                State6::Probe => removed.push(ip),
                State6::Stale => e.timer = None,
            }
        }
        for ip in removed {
            self.entries.remove(&ip);
        }
        actions
    }

    /// Makes room for one more entry by evicting the least recently used entry that is
    /// not INCOMPLETE. False if the cache is full of INCOMPLETE entries.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < self.config.max_entries {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.state != State6::Incomplete)
            .min_by_key(|(_, e)| e.used)
            .map(|(k, _)| *k);
        match victim {
            Some(k) => {
                self.entries.remove(&k);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests;
