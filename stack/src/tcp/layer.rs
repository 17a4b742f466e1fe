//! The TCP layer's tables: connections by 4-tuple (a hash map, so lookup stays O(1) with
//! thousands of connections), listeners by port, a timer heap, and the set of
//! connections with something to send.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use super::config::TcpConfig;
use super::conn::Connection;
use super::isn::IsnGenerator;
use super::syncookie::{SynCookies, MAX_AGE_PERIODS, PERIOD};
use crate::iface::{bind, Path, TokenBucket};
use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// Names a connection: a slot and the generation of its occupant, so a handle to a
/// connection that is gone never reaches a new one in the same slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpHandle {
    pub(crate) idx: u32,
    pub(crate) gen: u32,
}

/// Names a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenHandle {
    pub(crate) idx: u32,
    pub(crate) gen: u32,
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub gen: u32,
    pub conn: Option<Connection>,
    pub path: Path,
    /// The deadline this slot has in the heap, if any.
    pub scheduled: Option<Instant>,
    pub dirty: bool,
    /// The listener this connection came from, while it is not yet accepted.
    pub listener: Option<u32>,
    /// Counted in its listener's SYN queue (SYN-RECEIVED, not yet established).
    pub in_syn_queue: bool,
    /// Counted in [`TcpLayer::time_wait`] (in TIME-WAIT and holding its 4-tuple).
    pub in_time_wait: bool,
}

/// A listening socket (RFC 9293 LISTEN) with its queues.
#[derive(Debug)]
pub(crate) struct Listener {
    pub gen: u32,
    pub local: SocketAddr,
    /// The most established connections waiting for accept().
    pub backlog: usize,
    pub accept_queue: VecDeque<TcpHandle>,
    /// Half-open connections (SYN-RECEIVED) from this listener.
    pub syn_queue: usize,
    /// When this listener last answered a SYN with a cookie.
    pub last_cookie: Option<Instant>,
}

/// How long after its last cookie a listener still takes ACKs as cookie answers: as long
/// as a cookie lives ([`PERIOD`] * [`MAX_AGE_PERIODS`], 128 s; Linux's
/// `TCP_SYNCOOKIE_VALID`).
pub const COOKIE_RECENT: Duration = Duration::from_micros(PERIOD.total_micros() * MAX_AGE_PERIODS);

impl Listener {
    /// Whether the listener sent a SYN cookie recently enough that an ACK may be the answer
    /// to one (RFC 4987 3.6 leaves when to check open; Linux checks only then, which keeps
    /// forgery attempts out while no flood is on).
    pub fn sent_cookies_recently(&self, now: Instant) -> bool {
        self.last_cookie
            .is_some_and(|t| now.saturating_duration_since(t) <= COOKIE_RECENT)
    }
}

/// The TCP layer of a stack.
#[derive(Debug)]
pub(crate) struct TcpLayer {
    pub cfg: TcpConfig,
    pub slots: Vec<Slot>,
    free: Vec<u32>,
    pub by_tuple: HashMap<(SocketAddr, SocketAddr), u32>,
    /// Connections in TIME-WAIT that hold their 4-tuple (slots with `in_time_wait`).
    pub time_wait: usize,
    /// Slots (index, generation) in the order they entered TIME-WAIT, oldest first; an
    /// entry whose slot has left TIME-WAIT since is skipped (and compacted away).
    time_wait_order: VecDeque<(u32, u32)>,
    /// The last successful lookup (cleared whenever an entry leaves the table).
    last_hit: std::cell::Cell<Option<((SocketAddr, SocketAddr), u32)>>,
    pub listeners: Vec<Option<Listener>>,
    listener_gen: u32,
    heap: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    /// The connections [`TcpLayer::expired`] found due, kept between calls so that a
    /// timer turn allocates nothing (take it, fill it, put it back).
    pub due: Vec<u32>,
    pub dirty: VecDeque<u32>,
    pub isn: IsnGenerator,
    pub cookies: SynCookies,
    pub challenge: TokenBucket,
    pub rng: Rng,
    pub live: usize,
    /// The last connection number handed out ([`Connection::id`]).
    last_id: u64,
    /// The last trace events of connections that have gone, not yet taken (bounded).
    pub finished_traces: VecDeque<super::trace::TraceChunk>,
}

/// Stale timer-heap entries tolerated beyond twice the live connections before the heap
/// is compacted.
const HEAP_SLACK: usize = 1024;

/// The ephemeral port range (Linux's `ip_local_port_range` default).
pub const EPHEMERAL: (u16, u16) = (32_768, 60_999);

impl TcpLayer {
    pub fn new(cfg: TcpConfig, rng: &mut Rng) -> TcpLayer {
        let isn = IsnGenerator::new(rng);
        let cookies = SynCookies::new(rng);
        let challenge = TokenBucket::new(cfg.challenge_ack_rate, cfg.challenge_ack_rate.max(1));
        TcpLayer {
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            by_tuple: HashMap::new(),
            time_wait: 0,
            time_wait_order: VecDeque::new(),
            last_hit: std::cell::Cell::new(None),
            listeners: Vec::new(),
            listener_gen: 0,
            heap: BinaryHeap::new(),
            due: Vec::new(),
            dirty: VecDeque::new(),
            isn,
            cookies,
            challenge,
            rng: Rng::new(rng.next_u64()),
            live: 0,
            last_id: 0,
            finished_traces: VecDeque::new(),
        }
    }

    /// The connection for a 4-tuple.
    ///
    /// The last hit is remembered: a bulk transfer looks up the same connection for
    /// every segment, and that skips the (DoS-resistant, SipHash) table lookup.
    ///
    /// The addresses are taken by reference: the caller has just built them field by
    /// field, and a copy by value (16-byte loads) waited for those stores to land; the
    /// fields are compared one by one (`same_addr`) and the tuple built only on a miss.
    pub fn lookup(&self, local: &SocketAddr, remote: &SocketAddr) -> Option<u32> {
        if let Some((k, idx)) = self.last_hit.get() {
            if same_addr(&k.0, local) && same_addr(&k.1, remote) {
                return Some(idx);
            }
        }
        let key = (*local, *remote);
        let hit = self.by_tuple.get(&key).copied();
        if let Some(idx) = hit {
            self.last_hit.set(Some((key, idx)));
        }
        hit
    }

    /// Stores a new connection; `None` when the table is full.
    pub fn insert(
        &mut self,
        mut conn: Connection,
        path: Path,
        listener: Option<u32>,
    ) -> Option<TcpHandle> {
        if self.live >= self.cfg.max_connections {
            return None;
        }
        self.last_id += 1;
        conn.id = self.last_id;
        let key = (conn.local, conn.remote);
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    conn: None,
                    path,
                    scheduled: None,
                    dirty: false,
                    listener: None,
                    in_syn_queue: false,
                    in_time_wait: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1);
        slot.conn = Some(conn);
        slot.path = path;
        slot.scheduled = None;
        slot.dirty = false;
        slot.listener = listener;
        slot.in_syn_queue = listener.is_some();
        slot.in_time_wait = false;
        self.by_tuple.insert(key, idx);
        self.last_hit.set(None);
        self.live += 1;
        let h = TcpHandle { idx, gen: slot.gen };
        self.mark_dirty(idx);
        Some(h)
    }

    /// The slot behind a handle, if it is still that connection.
    pub fn slot(&self, h: TcpHandle) -> Option<&Slot> {
        self.slots
            .get(h.idx as usize)
            .filter(|s| s.gen == h.gen && s.conn.is_some())
    }

    pub fn conn(&self, h: TcpHandle) -> Option<&Connection> {
        self.slot(h).and_then(|s| s.conn.as_ref())
    }

    pub fn conn_mut(&mut self, h: TcpHandle) -> Option<&mut Connection> {
        self.slots
            .get_mut(h.idx as usize)
            .filter(|s| s.gen == h.gen)
            .and_then(|s| s.conn.as_mut())
    }

    /// The connection in slot `idx`, if the slot holds one (the core's own index, as
    /// the lookup returned it: no generation to check).
    pub(crate) fn conn_at(&self, idx: u32) -> Option<&Connection> {
        self.slots.get(idx as usize).and_then(|s| s.conn.as_ref())
    }

    /// [`conn_at`](Self::conn_at), mutably.
    pub(crate) fn conn_at_mut(&mut self, idx: u32) -> Option<&mut Connection> {
        self.slots
            .get_mut(idx as usize)
            .and_then(|s| s.conn.as_mut())
    }

    /// Queues a connection for `dispatch`.
    pub fn mark_dirty(&mut self, idx: u32) {
        if let Some(s) = self.slots.get_mut(idx as usize) {
            if !s.dirty {
                s.dirty = true;
                self.dirty.push_back(idx);
            }
        }
    }

    /// Puts the connection's next deadline in the heap if it is earlier than what is
    /// there. Later deadlines are found when the earlier entry fires.
    pub fn reschedule(&mut self, idx: u32) {
        let Some(s) = self.slots.get_mut(idx as usize) else {
            return;
        };
        let Some(at) = s.conn.as_ref().and_then(|c| c.poll_at()) else {
            return;
        };
        if s.scheduled.is_none_or(|t| at < t) {
            s.scheduled = Some(at);
            self.heap.push(Reverse((at, idx, s.gen)));
            if self.heap.len() > 2 * self.live + HEAP_SLACK {
                self.compact_heap();
            }
        }
    }

    /// Drops the heap's stale entries: those of connections that have gone (a TIME-WAIT
    /// connection replaced by a new incarnation leaves its 2 MSL entry behind, so under
    /// churn stale entries outnumbered live ones by thirty to one, and every pop paid for
    /// the depth) and those a connection's earlier deadline superseded. Called when the
    /// heap holds more than twice the live connections (plus [`HEAP_SLACK`]), so its cost
    /// is spread over at least as many pushes as it removes entries.
    fn compact_heap(&mut self) {
        let slots = &self.slots;
        self.heap.retain(|&Reverse((t, idx, gen))| {
            slots
                .get(idx as usize)
                .is_some_and(|s| s.gen == gen && s.scheduled == Some(t) && s.conn.is_some())
        });
    }

    /// The earliest deadline (perhaps of a stale entry, which only means an early wake).
    pub fn poll_at(&self) -> Option<Instant> {
        if !self.dirty.is_empty() {
            return Some(Instant::ZERO);
        }
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Connections whose deadline passed by `now` (each once), into `out` (cleared first).
    pub fn expired(&mut self, now: Instant, out: &mut Vec<u32>) {
        out.clear();
        while let Some(Reverse((t, idx, gen))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            let Some(s) = self.slots.get_mut(idx as usize) else {
                continue;
            };
            if s.gen != gen || s.scheduled != Some(t) || s.conn.is_none() {
                continue; // stale
            }
            s.scheduled = None;
            out.push(idx);
        }
    }

    /// Forgets a connection.
    pub fn remove(&mut self, idx: u32) -> Option<Connection> {
        let s = self.slots.get_mut(idx as usize)?;
        let mut conn = s.conn.take()?;
        s.scheduled = None;
        s.gen = s.gen.wrapping_add(1);
        if let Some(l) = s.listener.take() {
            if s.in_syn_queue {
                if let Some(Some(lis)) = self.listeners.get_mut(l as usize) {
                    lis.syn_queue = lis.syn_queue.saturating_sub(1);
                }
            }
        }
        s.in_syn_queue = false;
        if std::mem::take(&mut s.in_time_wait) {
            self.time_wait -= 1;
        }
        let key = (conn.local, conn.remote);
        if self.by_tuple.get(&key) == Some(&idx) {
            self.by_tuple.remove(&key);
        }
        self.last_hit.set(None);
        self.free.push(idx);
        self.live -= 1;
        self.keep_finished_trace(&mut conn);
        Some(conn)
    }

    /// Takes a connection out of the lookup table (it is CLOSED but its slot is kept for
    /// the application's handle), so its 4-tuple is free for a new connection.
    pub fn unhash(&mut self, idx: u32) {
        let Some(s) = self.slots.get_mut(idx as usize) else {
            return;
        };
        let Some(c) = s.conn.as_ref() else {
            return;
        };
        if std::mem::take(&mut s.in_time_wait) {
            self.time_wait -= 1;
        }
        let key = (c.local, c.remote);
        if self.by_tuple.get(&key) == Some(&idx) {
            self.by_tuple.remove(&key);
        }
        self.last_hit.set(None);
    }

    /// Brings the TIME-WAIT count up to date after a connection's state may have changed
    /// (call after every input, timer or user call on it). A connection that has just
    /// entered TIME-WAIT joins the order, and the oldest goes when there are more than
    /// `max_time_wait`.
    pub fn sync_time_wait(&mut self, idx: u32, stats: &mut crate::stats::Stats) {
        let Some(s) = self.slots.get_mut(idx as usize) else {
            return;
        };
        let tw = s
            .conn
            .as_ref()
            .is_some_and(|c| c.state() == super::State::TimeWait);
        if tw == s.in_time_wait {
            return;
        }
        s.in_time_wait = tw;
        if !tw {
            self.time_wait -= 1;
            return;
        }
        self.time_wait += 1;
        self.time_wait_order.push_back((idx, s.gen));
        // The one that just entered is never the one to go (its ACK of the FIN is yet to be
        // sent): at least one is kept.
        if self.time_wait > self.cfg.max_time_wait.max(1) && self.recycle_time_wait() {
            stats.tcp_time_wait_overflow += 1;
        }
        // Entries of connections that left TIME-WAIT early (reset, reused) are dropped
        // once they are most of the queue: amortized O(1) per entry.
        if self.time_wait_order.len() > 2 * self.time_wait + 64 {
            let slots = &self.slots;
            self.time_wait_order
                .retain(|&(i, g)| slots[i as usize].gen == g && slots[i as usize].in_time_wait);
        }
    }

    /// Whether the table has a place for a new connection, made if need be by letting
    /// the oldest connection in TIME-WAIT go (counted in `TcpExtTCPTimeWaitOverflow`): a
    /// new connection is worth more than the tail of an old one's 2 MSL.
    pub fn has_room(&mut self, stats: &mut crate::stats::Stats) -> bool {
        // One the application still holds only leaves the lookup table (its place is
        // the application's to give back), so go on to the next.
        while self.live >= self.cfg.max_connections && self.recycle_time_wait() {
            stats.tcp_time_wait_overflow += 1;
        }
        self.live < self.cfg.max_connections
    }

    /// Lets the connection longest in TIME-WAIT go (removed, or if the application still
    /// holds it, out of the lookup table): Linux's `tcp_max_tw_buckets` rule. Returns
    /// whether there was one. The caller counts it in `TcpExtTCPTimeWaitOverflow`.
    fn recycle_time_wait(&mut self) -> bool {
        while let Some((idx, gen)) = self.time_wait_order.pop_front() {
            let Some(s) = self.slots.get(idx as usize) else {
                continue;
            };
            if s.gen != gen || !s.in_time_wait {
                continue;
            }
            let attached = s.conn.as_ref().is_some_and(|c| c.user_attached);
            if attached {
                self.unhash(idx);
            } else {
                self.remove(idx);
            }
            return true;
        }
        false
    }

    /// The listener for a local address: the exact address first, then its family's
    /// wildcard, then the dual-stack `::` (see `iface::bind`).
    pub fn find_listener(&self, local: SocketAddr) -> Option<u32> {
        let mut best: Option<(u8, u32)> = None;
        for (i, l) in self.listeners.iter().enumerate() {
            let Some(l) = l else { continue };
            if l.local.port() != local.port() || !bind::accepts(l.local.ip(), local.ip()) {
                continue;
            }
            let rank = bind::specificity(l.local.ip(), local.ip());
            if best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, i as u32));
            }
        }
        best.map(|(_, i)| i)
    }

    pub fn listener(&self, h: ListenHandle) -> Option<&Listener> {
        self.listeners
            .get(h.idx as usize)?
            .as_ref()
            .filter(|l| l.gen == h.gen)
    }

    pub fn listener_mut(&mut self, h: ListenHandle) -> Option<&mut Listener> {
        self.listeners
            .get_mut(h.idx as usize)?
            .as_mut()
            .filter(|l| l.gen == h.gen)
    }

    /// Whether `port` on `ip` is taken by a listener (one whose address overlaps, see
    /// `iface::bind`).
    pub fn port_listened(&self, ip: IpAddr, port: u16) -> bool {
        self.listeners
            .iter()
            .flatten()
            .any(|l| l.local.port() == port && bind::overlaps(l.local.ip(), ip))
    }

    pub fn add_listener(&mut self, local: SocketAddr, backlog: usize) -> ListenHandle {
        self.listener_gen = self.listener_gen.wrapping_add(1);
        let l = Listener {
            gen: self.listener_gen,
            local,
            backlog: backlog.max(1),
            accept_queue: VecDeque::new(),
            syn_queue: 0,
            last_cookie: None,
        };
        let idx = match self.listeners.iter().position(Option::is_none) {
            Some(i) => {
                self.listeners[i] = Some(l);
                i
            }
            None => {
                self.listeners.push(Some(l));
                self.listeners.len() - 1
            }
        };
        ListenHandle {
            idx: idx as u32,
            gen: self.listener_gen,
        }
    }

    /// A free ephemeral port for a connection to `remote` from `local_ip`, chosen at
    /// random (RFC 6056 section 3.3.1, "simple port randomization").
    pub fn ephemeral_port(&mut self, local_ip: IpAddr, remote: SocketAddr) -> Option<u16> {
        let (lo, hi) = EPHEMERAL;
        let span = u32::from(hi - lo) + 1;
        let start = self.rng.next_u32() % span;
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            let local = SocketAddr::new(local_ip, port);
            if !self.by_tuple.contains_key(&(local, remote)) && !self.port_listened(local_ip, port)
            {
                return Some(port);
            }
        }
        None
    }
}

/// `a == b`, comparing an IPv4 address and port field by field: the caller builds the
/// addresses from the header with 4- and 2-byte stores, and the derived comparison's
/// 16-byte load of them waited on those stores (store-to-load forwarding fails): half
/// of the lookup's time in the in-memory profile.
#[inline]
fn same_addr(a: &SocketAddr, b: &SocketAddr) -> bool {
    match (a, b) {
        (SocketAddr::V4(a), SocketAddr::V4(b)) => {
            a.port() == b.port() && a.ip().to_bits() == b.ip().to_bits()
        }
        _ => a == b,
    }
}
