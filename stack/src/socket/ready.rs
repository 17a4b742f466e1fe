//! Readiness: wait on many non-blocking sockets at once, the way `epoll(7)` and mio do.
//!
//! A [`Poller`] holds a set of sockets, each registered with a token and an [`Interest`];
//! [`Poller::wait`] sleeps until any of them is ready and reports which ones. No thread
//! per socket: every registration is a [`std::task::Waker`] kept in the runtime's waker
//! registry under the socket's [`WaitKey`]s, and the runtime wakes exactly the wakers of
//! the sockets a turn touched ([`Stack::take_events`]). The same registry serves the
//! `async` sockets (`tunstack::tokio`, with the `tokio` feature).
//!
//! Readiness is level-triggered, as `epoll` without `EPOLLET` and `poll(2)`: a socket
//! stays reported while it is ready (data unread, room to write), so a program may read
//! part of what arrived and still hear about the rest. Register `WRITABLE` only while
//! there is something to write, or every wait returns at once.
//!
//! ```no_run
//! # fn demo(handle: &tunstack::socket::StackHandle) -> std::io::Result<()> {
//! use tunstack::socket::{Interest, Poller, TcpListener};
//! let listener = TcpListener::bind_on(handle, "10.0.0.1:7")?;
//! listener.set_nonblocking(true)?;
//! let poller = Poller::new(handle);
//! poller.register(&listener, 0, Interest::READABLE)?;
//! let mut events = Vec::new();
//! poller.wait(&mut events, None)?;
//! for e in &events {
//!     assert_eq!(e.token, 0);
//!     let (_stream, _peer) = listener.accept()?;
//! }
//! # Ok(()) }
//! ```

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

use super::StackHandle;
use crate::stack::{Stack, WaitKey};
use crate::tcp::{ListenHandle, State, TcpHandle};
use crate::udp::UdpHandle;

/// The error a call gives once the stack has stopped.
pub(crate) fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "stack stopped")
}

/// One-shot wakers by the key they wait on (the runtime's registry).
#[derive(Default)]
pub(crate) struct Wakers {
    map: HashMap<WaitKey, Slot, BuildHasherDefault<KeyHasher>>,
}

/// The wakers of one key: nearly always one task, kept without an allocation.
enum Slot {
    One(Waker),
    Many(Vec<Waker>),
}

impl Wakers {
    /// Registers `w` for `key`, once (a waker that would wake the same task is kept once).
    pub(crate) fn register(&mut self, key: WaitKey, w: &Waker) {
        match self.map.entry(key) {
            Entry::Vacant(e) => {
                e.insert(Slot::One(w.clone()));
            }
            Entry::Occupied(mut e) => match e.get_mut() {
                Slot::One(x) if x.will_wake(w) => {}
                Slot::One(_) => {
                    let Slot::One(x) = e.insert(Slot::Many(Vec::with_capacity(2))) else {
                        unreachable!("just matched");
                    };
                    if let Slot::Many(v) = e.get_mut() {
                        v.extend([x, w.clone()]);
                    }
                }
                Slot::Many(v) => {
                    if !v.iter().any(|x| x.will_wake(w)) {
                        v.push(w.clone());
                    }
                }
            },
        }
    }

    /// Moves the wakers of every key in `events` to `out`, for waking outside the lock.
    pub(crate) fn take_for(&mut self, events: &[WaitKey], out: &mut Vec<Waker>) {
        if self.map.is_empty() {
            return;
        }
        for k in events {
            match self.map.remove(k) {
                Some(Slot::One(w)) => out.push(w),
                Some(Slot::Many(v)) => out.extend(v),
                None => {}
            }
        }
    }

    /// Takes every waker (the stack is stopping: every waiter must hear of it).
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        let mut out = Vec::new();
        for (_, slot) in self.map.drain() {
            match slot {
                Slot::One(w) => out.push(w),
                Slot::Many(v) => out.extend(v),
            }
        }
        out
    }

    /// Drops the wakers of `key` (its socket is closed).
    pub(crate) fn forget(&mut self, key: WaitKey) {
        self.map.remove(&key);
    }
}

/// A hasher for [`WaitKey`]s (a tag and a slot number; no hostile input chooses them, so
/// no need for SipHash's flood resistance): a multiply-rotate per word written.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

impl std::fmt::Debug for Wakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakers")
            .field("keys", &self.map.len())
            .finish()
    }
}

/// What a registration waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    /// Data (or end of stream) to read; a connection to accept; a datagram.
    pub readable: bool,
    /// Room to write (a connection established, after a non-blocking connect).
    pub writable: bool,
}

impl Interest {
    /// Readable only.
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Writable only.
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };
    /// Both.
    pub const BOTH: Interest = Interest {
        readable: true,
        writable: true,
    };
}

/// What a socket is ready for. Errors and hang-ups are always reported, whatever the
/// interest, as `epoll` reports `EPOLLERR` and `EPOLLHUP`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A read (or accept, or receive) returns at once.
    pub readable: bool,
    /// A write makes progress at once.
    pub writable: bool,
    /// The peer finished sending (end of stream) or the connection is gone.
    pub read_closed: bool,
    /// The connection failed (reset, timed out, refused); the next call reports it.
    pub error: bool,
}

impl Readiness {
    /// Whether anything is set.
    pub fn any(self) -> bool {
        self.readable || self.writable || self.read_closed || self.error
    }

    fn filter(self, i: Interest) -> Readiness {
        Readiness {
            readable: self.readable && i.readable,
            writable: self.writable && i.writable,
            ..self
        }
    }
}

/// One ready socket, as [`Poller::wait`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The token it was registered with.
    pub token: usize,
    /// What it is ready for.
    pub ready: Readiness,
}

mod private {
    /// Which socket a [`super::Source`] is (not nameable outside the crate).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SourceId {
        Tcp(crate::tcp::TcpHandle),
        Listen(crate::tcp::ListenHandle),
        Udp(crate::udp::UdpHandle),
    }

    pub trait Sealed {
        fn source(&self) -> (&crate::socket::StackHandle, SourceId);
    }
}
pub(crate) use private::SourceId;

/// A socket a [`Poller`] can wait on: `TcpListener`, `TcpStream`, `UdpSocket`.
pub trait Source: private::Sealed {}

impl private::Sealed for super::TcpStream {
    fn source(&self) -> (&StackHandle, SourceId) {
        let (h, c) = self.parts();
        (h, SourceId::Tcp(c))
    }
}
impl Source for super::TcpStream {}

impl private::Sealed for super::TcpListener {
    fn source(&self) -> (&StackHandle, SourceId) {
        let (h, l) = self.parts();
        (h, SourceId::Listen(l))
    }
}
impl Source for super::TcpListener {}

impl private::Sealed for super::UdpSocket {
    fn source(&self) -> (&StackHandle, SourceId) {
        let (h, u) = self.parts();
        (h, SourceId::Udp(u))
    }
}
impl Source for super::UdpSocket {}

/// The keys whose touch may change `id`'s readiness for `interest`.
pub(crate) fn keys(id: SourceId, interest: Interest) -> impl Iterator<Item = WaitKey> {
    let (r, w) = match id {
        SourceId::Tcp(c) => (Some(WaitKey::Tcp(c.idx)), Some(WaitKey::TcpWrite(c.idx))),
        SourceId::Listen(l) => (Some(WaitKey::Listen(l.idx)), None),
        SourceId::Udp(u) => (Some(WaitKey::Udp(u.idx)), None),
    };
    // Errors and hang-ups wake readers too, so a write-only registration of a TCP
    // connection still listens on the read key for them.
    let r = if interest.readable || matches!(id, SourceId::Tcp(_)) {
        r
    } else {
        None
    };
    let w = if interest.writable { w } else { None };
    r.into_iter().chain(w)
}

/// What `id` is ready for now.
pub(crate) fn readiness(s: &Stack, id: SourceId) -> Readiness {
    match id {
        SourceId::Tcp(c) => tcp_readiness(s, c),
        SourceId::Listen(l) => listen_readiness(s, l),
        SourceId::Udp(u) => udp_readiness(s, u),
    }
}

fn tcp_readiness(s: &Stack, c: TcpHandle) -> Readiness {
    let Some(k) = s.tcp_conn(c) else {
        // Gone from the table: every call now fails at once.
        return Readiness {
            readable: true,
            writable: true,
            read_closed: true,
            error: true,
        };
    };
    let handshake = matches!(k.state(), State::SynSent | State::SynReceived);
    Readiness {
        readable: k.can_recv(),
        writable: k.error().is_some() || (!handshake && k.can_send()),
        read_closed: k.at_eof() || k.state() == State::Closed,
        error: k.error().is_some(),
    }
}

fn listen_readiness(s: &Stack, l: ListenHandle) -> Readiness {
    match s.tcp_accept_ready(l) {
        Some(r) => Readiness {
            readable: r,
            ..Readiness::default()
        },
        None => Readiness {
            readable: true,
            error: true,
            ..Readiness::default()
        },
    }
}

fn udp_readiness(s: &Stack, u: UdpHandle) -> Readiness {
    Readiness {
        readable: s.udp_readable(u),
        writable: true,
        ..Readiness::default()
    }
}

struct Reg {
    id: SourceId,
    interest: Interest,
    /// In `pending` already.
    queued: bool,
    waker: Waker,
}

#[derive(Default)]
struct PollState {
    regs: HashMap<usize, Reg>,
    /// Tokens to check on the next wait: just registered, touched by a turn, or
    /// reported ready last time (level-triggered).
    pending: Vec<usize>,
}

struct PollShared {
    state: Mutex<PollState>,
    cv: Condvar,
}

impl PollShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, PollState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `token` for a check and wakes the waiting thread.
    fn queue(&self, token: usize) {
        let mut g = self.lock();
        let st = &mut *g;
        if let Some(r) = st.regs.get_mut(&token) {
            if !r.queued {
                r.queued = true;
                st.pending.push(token);
                self.cv.notify_all();
            }
        }
    }
}

/// The waker a registration leaves in the runtime: it queues its token.
struct TokenWaker {
    shared: Weak<PollShared>,
    token: usize,
}

impl Wake for TokenWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(s) = self.shared.upgrade() {
            s.queue(self.token);
        }
    }
}

/// A set of sockets of one stack waited on together (see the module docs).
pub struct Poller {
    handle: StackHandle,
    shared: Arc<PollShared>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("registered", &self.shared.lock().regs.len())
            .finish()
    }
}

impl Poller {
    /// An empty set on `handle`'s stack.
    pub fn new(handle: &StackHandle) -> Poller {
        Poller {
            handle: handle.clone(),
            shared: Arc::new(PollShared {
                state: Mutex::new(PollState::default()),
                cv: Condvar::new(),
            }),
        }
    }

    /// Adds `source` under `token` (replacing whatever had that token). Its readiness is
    /// checked on the next wait.
    pub fn register(
        &self,
        source: &impl Source,
        token: usize,
        interest: Interest,
    ) -> io::Result<()> {
        let (h, id) = private::Sealed::source(source);
        if !h.same(&self.handle) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket belongs to another stack",
            ));
        }
        let waker = Waker::from(Arc::new(TokenWaker {
            shared: Arc::downgrade(&self.shared),
            token,
        }));
        let mut g = self.shared.lock();
        let st = &mut *g;
        let queued = st.regs.get(&token).is_some_and(|r| r.queued);
        st.regs.insert(
            token,
            Reg {
                id,
                interest,
                queued: true,
                waker,
            },
        );
        if !queued {
            st.pending.push(token);
        }
        self.shared.cv.notify_all();
        Ok(())
    }

    /// Changes what `token` waits for.
    pub fn reregister(
        &self,
        source: &impl Source,
        token: usize,
        interest: Interest,
    ) -> io::Result<()> {
        self.register(source, token, interest)
    }

    /// Removes `token` (do this before dropping its socket, or its token may be reported
    /// once more, with `error` set).
    pub fn deregister(&self, token: usize) {
        let mut st = self.shared.lock();
        st.regs.remove(&token);
        st.pending.retain(|&t| t != token);
    }

    /// How many sockets are registered.
    pub fn len(&self) -> usize {
        self.shared.lock().regs.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least one registered socket is ready or `timeout` passes (`None`:
    /// forever), and fills `events` with the ready ones (cleared first). Returns how many;
    /// 0 on timeout. Fails with `ConnectionAborted` once the stack has stopped (which
    /// wakes every waiting poller).
    pub fn wait(&self, events: &mut Vec<Event>, timeout: Option<Duration>) -> io::Result<usize> {
        events.clear();
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut batch = Vec::new();
        loop {
            {
                let mut g = self.shared.lock();
                let st = &mut *g;
                for t in st.pending.drain(..) {
                    if let Some(r) = st.regs.get_mut(&t) {
                        r.queued = false;
                        batch.push((t, r.id, r.interest, r.waker.clone()));
                    }
                }
            }
            if !batch.is_empty() {
                let found = self
                    .handle
                    .with_wakers(|s, wakers, _| {
                        for (token, id, interest, waker) in batch.drain(..) {
                            let r = readiness(s, id).filter(interest);
                            if r.any() {
                                events.push(Event { token, ready: r });
                            } else {
                                for k in keys(id, interest) {
                                    wakers.register(k, &waker);
                                }
                            }
                        }
                    })
                    .is_some();
                if !found {
                    return Err(stopped());
                }
                if !events.is_empty() {
                    // Level-triggered: check them again next time.
                    for e in events.iter() {
                        self.shared.queue(e.token);
                    }
                    return Ok(events.len());
                }
                continue;
            }
            if self.handle.is_stopped() {
                return Err(stopped());
            }
            let g = self.shared.lock();
            if !g.pending.is_empty() {
                continue;
            }
            match deadline {
                None => drop(self.shared.cv.wait(g).unwrap_or_else(|e| e.into_inner())),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        return Ok(0);
                    }
                    drop(
                        self.shared
                            .cv
                            .wait_timeout(g, d - now)
                            .unwrap_or_else(|e| e.into_inner()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&c), Waker::from(c))
    }

    #[track_caller]
    fn wake_for(w: &mut Wakers, keys: &[WaitKey]) {
        let mut out = Vec::new();
        w.take_for(keys, &mut out);
        out.into_iter().for_each(Waker::wake);
    }

    /// Every task registered on a key is woken once when it is touched, however many
    /// times it registered; other keys' tasks are not, and a woken registration is spent.
    #[test]
    fn each_task_of_a_touched_key_is_woken_once() {
        let mut w = Wakers::default();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let (c, wc) = counter();
        for _ in 0..3 {
            w.register(WaitKey::Tcp(1), &wa);
        }
        w.register(WaitKey::Tcp(1), &wb);
        w.register(WaitKey::Tcp(1), &wa);
        w.register(WaitKey::TcpWrite(1), &wc);
        wake_for(&mut w, &[WaitKey::Tcp(1), WaitKey::Tcp(2)]);
        let n = |x: &Arc<Count>| x.0.load(Ordering::SeqCst);
        assert_eq!((n(&a), n(&b), n(&c)), (1, 1, 0));
        wake_for(&mut w, &[WaitKey::Tcp(1)]);
        assert_eq!((n(&a), n(&b)), (1, 1), "a woken registration is spent");
        for t in w.take_all() {
            t.wake();
        }
        assert_eq!(n(&c), 1, "stopping wakes the rest");
    }
}
