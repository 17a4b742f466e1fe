//! The neighbour cache: ARP's translation table (RFC 826) with the cache validation of
//! RFC 1122 2.3.2.1, a bound on entries and a bounded queue of datagrams waiting for an
//! address to resolve (RFC 1122 2.3.2.2).
//!
//! The cache is pure data: it never sends anything. The core asks it for an address
//! ([`NeighborCache::lookup`]), parks a datagram when there is none
//! ([`NeighborCache::hold`]), tells it what ARP packets taught it
//! ([`NeighborCache::learn`]), and runs its timers ([`NeighborCache::expire`]), which say
//! which requests to send and which resolutions failed.
//!
//! ```text
//!                 hold()                      learn()
//!   (none) ─────────────────► INCOMPLETE ─────────────────► REACHABLE
//!                              │ 1 broadcast request/s,        │  reachable_time passes
//!                              │ max_probes of them, then      ▼
//!                              └─► removed: Failed(queue)     STALE ◄── learn() from a
//!                                                              │        packet ─► REACHABLE
//!                                              used (lookup)   ▼
//!   removed ◄── max_unicast_probes unanswered ──────────── PROBE ── learn() ─► REACHABLE
//! ```
//!
//! Linux has the same states (plus DELAY, which waits for a confirmation from an upper
//! layer before probing; tunstack's upper layers give none, so a used STALE entry is
//! probed at once). Frames keep flowing to the cached address while it is probed.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use super::{IfaceId, Pending};
use crate::time::{Duration, Instant};
use crate::wire::ethernet::EthernetAddress;

const LOG: &str = "tunstack::arp";

/// A neighbour: an IPv4 address on the link of an interface.
pub type NeighborKey = (IfaceId, Ipv4Addr);

/// The cache's limits and timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighborConfig {
    /// The most entries; to add one more, the least recently used resolved entry is
    /// evicted (Linux's `gc_thresh3` is 1024).
    pub max_entries: usize,
    /// How long a confirmed address stays REACHABLE before it goes STALE (Linux's
    /// `base_reachable_time`, 30 s).
    pub reachable_time: Duration,
    /// The time between requests for one address: ARP requests are rate-limited to one
    /// per this interval per destination (RFC 1122 2.3.2.1: "prevent ARP flooding ...
    /// not more than one ARP Request per second per destination"; Linux `retrans_time`).
    pub retrans_time: Duration,
    /// Broadcast requests sent for an unresolved address before giving up (Linux
    /// `mcast_solicit`, 3).
    pub max_probes: u8,
    /// Unicast polls of a used STALE entry before it is dropped (RFC 1122 2.3.2.1
    /// "Unicast Poll"; Linux `ucast_solicit`, 3).
    pub max_unicast_probes: u8,
    /// Datagrams held for one unresolved address; more push out the oldest (RFC 1122
    /// 2.3.2.2 asks for at least one; Linux holds up to `unres_qlen_bytes`, 208 KiB).
    /// 64 holds every fragment of a 64 KiB datagram at MTU 1500.
    pub queue_per_neighbor: usize,
    /// Datagrams held for all unresolved addresses together; more are dropped.
    pub queue_total: usize,
}

impl Default for NeighborConfig {
    fn default() -> Self {
        NeighborConfig {
            max_entries: 512,
            reachable_time: Duration::from_secs(30),
            retrans_time: Duration::from_secs(1),
            max_probes: 3,
            max_unicast_probes: 3,
            queue_per_neighbor: 64,
            queue_total: 256,
        }
    }
}

/// The state of an entry, as `ip neigh` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighborState {
    /// Being resolved: requests are going out, datagrams wait.
    Incomplete,
    /// Confirmed within `reachable_time`.
    Reachable,
    /// Known but not confirmed lately; used as it is.
    Stale,
    /// Stale and in use: being confirmed with unicast requests.
    Probe,
}

#[derive(Debug)]
enum State {
    Incomplete {
        probes: u8,
        next: Instant,
        queue: VecDeque<Pending>,
    },
    /// REACHABLE until `until`, STALE after.
    Reachable {
        mac: EthernetAddress,
        until: Instant,
    },
    Probe {
        mac: EthernetAddress,
        probes: u8,
        next: Instant,
    },
}

#[derive(Debug)]
struct Entry {
    state: State,
    /// When a datagram last went to it or it was last confirmed: eviction takes the
    /// least recent.
    used: Instant,
}

impl Entry {
    fn mac(&self) -> Option<EthernetAddress> {
        match self.state {
            State::Incomplete { .. } => None,
            State::Reachable { mac, .. } | State::Probe { mac, .. } => Some(mac),
        }
    }

    fn state(&self, now: Instant) -> NeighborState {
        match self.state {
            State::Incomplete { .. } => NeighborState::Incomplete,
            State::Reachable { until, .. } if now < until => NeighborState::Reachable,
            State::Reachable { .. } => NeighborState::Stale,
            State::Probe { .. } => NeighborState::Probe,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Incomplete { next, .. } | State::Probe { next, .. } => Some(next),
            _ => None,
        }
    }
}

/// What happened to a datagram given to [`NeighborCache::hold`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// The datagram waits (if false, it was dropped: every entry is being resolved and
    /// the table is full, or all queues together are full).
    pub queued: bool,
    /// Older datagrams for the same address pushed out to make room.
    pub pushed_out: usize,
    /// Whether a resolved entry was evicted to make room for this address.
    pub evicted: bool,
    /// Whether this started a new resolution.
    pub new: bool,
}

/// What [`NeighborCache::learn`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Learned {
    /// RFC 826's merge flag: the sender was in the table and its entry was updated.
    pub merged: bool,
    /// Whether a new entry was added.
    pub added: bool,
    /// Whether a resolved entry was evicted to make room.
    pub evicted: bool,
    /// The datagrams that were waiting for this address, oldest first: send them now.
    pub released: Vec<Pending>,
}

/// What a timer asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Timeout {
    /// Send an ARP request for the address: broadcast (`unicast: None`) while resolving,
    /// or to the cached address when polling a stale entry.
    Request {
        /// Which address, on which interface.
        key: NeighborKey,
        /// Where to send the request.
        unicast: Option<EthernetAddress>,
    },
    /// Nobody answered `max_probes` requests: the address is unreachable, and these
    /// datagrams were waiting for it.
    Failed {
        /// Which address.
        key: NeighborKey,
        /// The datagrams that were waiting, oldest first.
        queue: Vec<Pending>,
    },
}

/// The neighbour cache of all interfaces. See the [module documentation](self).
#[derive(Debug)]
pub struct NeighborCache {
    config: NeighborConfig,
    entries: HashMap<NeighborKey, Entry>,
    /// Datagrams held over all entries.
    held: usize,
    /// The earliest timer, kept up to date on every change.
    next_due: Option<Instant>,
}

impl NeighborCache {
    /// An empty cache.
    pub fn new(config: NeighborConfig) -> NeighborCache {
        NeighborCache {
            config,
            entries: HashMap::new(),
            held: 0,
            next_due: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NeighborConfig {
        &self.config
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many datagrams wait for addresses to resolve.
    pub fn held(&self) -> usize {
        self.held
    }

    /// The state and address of an entry, if there is one.
    pub fn get(
        &self,
        now: Instant,
        key: NeighborKey,
    ) -> Option<(NeighborState, Option<EthernetAddress>)> {
        self.entries.get(&key).map(|e| (e.state(now), e.mac()))
    }

    /// Every entry: key, state and address (in no particular order).
    pub fn iter(
        &self,
        now: Instant,
    ) -> impl Iterator<Item = (NeighborKey, NeighborState, Option<EthernetAddress>)> + '_ {
        self.entries
            .iter()
            .map(move |(k, e)| (*k, e.state(now), e.mac()))
    }

    /// The address to send a datagram for `key` to, if known; records the use.
    ///
    /// RFC 1122 2.3.2.1: a REACHABLE entry whose time is up is STALE; using a STALE entry
    /// starts a unicast poll of it (the first request is due at once), while datagrams
    /// keep going to the cached address.
    pub fn lookup(&mut self, now: Instant, key: NeighborKey) -> Option<EthernetAddress> {
        let e = self.entries.get_mut(&key)?;
        let mac = e.mac()?;
        e.used = now;
        if let State::Reachable { until, .. } = e.state {
            if now >= until {
                e.state = State::Probe {
                    mac,
                    probes: 0,
                    next: now,
                };
                self.recompute();
            }
        }
        Some(mac)
    }

    /// Holds `packet` until `key` resolves, starting the resolution if needed (its first
    /// request is due at once). Call after [`NeighborCache::lookup`] found nothing.
    pub fn hold(&mut self, now: Instant, key: NeighborKey, packet: impl Into<Pending>) -> Held {
        let mut out = Held::default();
        if !self.entries.contains_key(&key) {
            match self.make_room(&key) {
                Some(evicted) => out.evicted = evicted,
                None => return out,
            }
            self.entries.insert(
                key,
                Entry {
                    state: State::Incomplete {
                        probes: 0,
                        next: now,
                        queue: VecDeque::new(),
                    },
                    used: now,
                },
            );
            out.new = true;
            self.recompute();
        }
        let Some(Entry {
            state: State::Incomplete { queue, .. },
            used,
        }) = self.entries.get_mut(&key)
        else {
            // Resolved meanwhile: the caller should have looked up first.
            return out;
        };
        *used = now;
        while queue.len() >= self.config.queue_per_neighbor.max(1) {
            // Linux drops the oldest too: the newest datagram is the most useful.
            queue.pop_front();
            self.held -= 1;
            out.pushed_out += 1;
        }
        if self.held >= self.config.queue_total {
            return out;
        }
        queue.push_back(packet.into());
        self.held += 1;
        out.queued = true;
        out
    }

    /// Records that `key` is at `mac`, from an ARP packet (RFC 826 "Packet Reception").
    ///
    /// The merge rule: if the sender is in the table, its entry is updated (whatever the
    /// packet's target); it is added only when `may_add` (the packet was addressed to
    /// us). Either way the entry becomes REACHABLE, and datagrams that were waiting for
    /// it are handed back to be sent.
    pub fn learn(
        &mut self,
        now: Instant,
        key: NeighborKey,
        mac: EthernetAddress,
        may_add: bool,
    ) -> Learned {
        let mut out = Learned::default();
        let reachable = State::Reachable {
            mac,
            until: now + self.config.reachable_time,
        };
        if let Some(e) = self.entries.get_mut(&key) {
            out.merged = true;
            if let State::Incomplete { queue, .. } = &mut e.state {
                self.held -= queue.len();
                out.released = queue.drain(..).collect();
            }
            if e.mac().is_some_and(|old| old != mac) {
                log::info!(target: LOG, "{} on iface {} moved to {mac}", key.1, key.0 .0);
            }
            e.state = reachable;
            e.used = now;
            self.recompute();
            return out;
        }
        if !may_add {
            return out;
        }
        let Some(evicted) = self.make_room(&key) else {
            return out;
        };
        out.evicted = evicted;
        out.added = true;
        self.entries.insert(
            key,
            Entry {
                state: reachable,
                used: now,
            },
        );
        out
    }

    /// Removes an entry; returns the datagrams that were waiting for it.
    pub fn remove(&mut self, key: NeighborKey) -> Vec<Pending> {
        let queue = match self.entries.remove(&key) {
            Some(Entry {
                state: State::Incomplete { queue, .. },
                ..
            }) => {
                self.held -= queue.len();
                queue.into()
            }
            _ => Vec::new(),
        };
        self.recompute();
        queue
    }

    /// When [`NeighborCache::expire`] next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_due
    }

    /// Runs every timer due by `now`: requests to send (at most one per entry per
    /// `retrans_time`), resolutions that failed, stale entries whose polls went
    /// unanswered (removed).
    pub fn expire(&mut self, now: Instant) -> Vec<Timeout> {
        let mut out = Vec::new();
        if self.next_due.is_none_or(|t| t > now) {
            return out;
        }
        let retrans = self.config.retrans_time;
        let mut failed = Vec::new();
        for (key, e) in self.entries.iter_mut() {
            match &mut e.state {
                State::Incomplete { probes, next, .. } if *next <= now => {
                    if *probes >= self.config.max_probes {
                        failed.push((*key, true));
                    } else {
                        *probes += 1;
                        *next = now + retrans;
                        out.push(Timeout::Request {
                            key: *key,
                            unicast: None,
                        });
                    }
                }
                State::Probe { mac, probes, next } if *next <= now => {
                    if *probes >= self.config.max_unicast_probes {
                        failed.push((*key, false));
                    } else {
                        *probes += 1;
                        *next = now + retrans;
                        out.push(Timeout::Request {
                            key: *key,
                            unicast: Some(*mac),
                        });
                    }
                }
                _ => {}
            }
        }
        for (key, resolving) in failed {
            let queue = self.remove(key);
            log::debug!(target: LOG, "{} on iface {} does not answer", key.1, key.0 .0);
            if resolving {
                out.push(Timeout::Failed { key, queue });
            }
        }
        self.recompute();
        out
    }

    /// Makes room for one more entry (other than `key`): `Some(true)` if an entry was
    /// evicted, `Some(false)` if there was room, `None` if every entry is being resolved
    /// (those are never evicted: they hold datagrams and are short-lived).
    fn make_room(&mut self, key: &NeighborKey) -> Option<bool> {
        if self.entries.len() < self.config.max_entries.max(1) {
            return Some(false);
        }
        let victim = self
            .entries
            .iter()
            .filter(|(k, e)| *k != key && e.mac().is_some())
            .min_by_key(|(k, e)| (e.used, **k))
            .map(|(k, _)| *k)?;
        log::debug!(target: LOG, "cache full: evicting {} on iface {}", victim.1, victim.0 .0);
        self.entries.remove(&victim);
        self.recompute();
        Some(true)
    }

    fn recompute(&mut self) {
        self.next_due = self.entries.values().filter_map(Entry::deadline).min();
    }
}

#[cfg(test)]
mod tests;
