//! The runtime thread: drives the sans-IO core over real devices in real time.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::iface::IfaceId;
use crate::link::Device;
use crate::stack::{Stack, Transmit, WaitKey};
use crate::stats::Stats;
use crate::time::Instant;
use crate::wire::virtio::VirtioNetHdr;
use std::thread::Thread;

use super::poll::{pollfd, ppoll, EventFd};
use super::writer::{Frame, RuntimeOptions, Writer, INLINE_FRAMES};

const LOG: &str = "tunstack::runtime";

/// The most frames taken from one device in one turn before the others get a go.
const RX_BUDGET: usize = 64;

/// The core and the threads waiting on its sockets, under one lock.
struct Core {
    stack: Stack,
    /// Threads blocked in [`StackHandle::wait`], and what they wait for.
    waiters: Vec<(WaitKey, Thread)>,
    /// Tasks and pollers waiting on sockets (see [`super::ready`]): one-shot wakers,
    /// taken and woken when the core reports their key touched.
    wakers: super::ready::Wakers,
}

pub(super) struct Shared {
    core: Mutex<Core>,
    /// Signalled after every runtime turn, for `wait_any` callers.
    turned: Condvar,
    /// How many threads wait in `wait_any` (the runtime signals `turned` only then: a
    /// condition variable's notify is a system call even with nobody waiting).
    any_waiters: AtomicUsize,
    /// How application threads wake the runtime.
    wake: Wake,
    /// The tokio runtime that drives the stack ([`Runtime::spawn_tokio`]).
    #[cfg(feature = "tokio")]
    tokio: Option<::tokio::runtime::Handle>,
    /// The thread the driver task runs on (tokio mode): blocking calls there would wait
    /// for a turn that cannot come.
    driver: std::sync::OnceLock<std::thread::ThreadId>,
    stop: AtomicBool,
    /// The runtime is about to sleep (or sleeps) in ppoll: application threads that left
    /// it work must write `wake`. While it runs a turn they need not: it looks for work
    /// once more before it sleeps. Saves a system call (and a spurious turn) per socket
    /// call on a busy stack.
    sleeping: AtomicBool,
}

/// How the runtime sleeps, and so how it is woken.
pub(super) enum Wake {
    /// The runtime thread sleeps in ppoll(2) on this eventfd beside the devices.
    Fd(EventFd),
    /// The runtime is a task on a tokio runtime ([`Runtime::spawn_tokio`]), woken
    /// through its waker: from a task on its own thread that is no system call at all.
    #[cfg(feature = "tokio")]
    Task(super::driven::TaskWake),
}

impl Wake {
    /// The eventfd the runtime thread sleeps on, if that is how it sleeps.
    fn eventfd(&self) -> Option<&EventFd> {
        match self {
            Wake::Fd(fd) => Some(fd),
            #[cfg(feature = "tokio")]
            Wake::Task(_) => None,
        }
    }

    fn signal(&self) {
        match self {
            Wake::Fd(fd) => fd.signal(),
            #[cfg(feature = "tokio")]
            Wake::Task(t) => t.signal(),
        }
    }
}

impl Shared {
    fn new(stack: Stack, wake: Wake) -> Shared {
        Shared {
            core: Mutex::new(Core {
                stack,
                waiters: Vec::new(),
                wakers: super::ready::Wakers::default(),
            }),
            turned: Condvar::new(),
            any_waiters: AtomicUsize::new(0),
            wake,
            #[cfg(feature = "tokio")]
            tokio: None,
            driver: std::sync::OnceLock::new(),
            stop: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        }
    }

    /// Wakes the runtime for work an application thread left, if it may be asleep.
    fn nudge(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            self.wake.signal();
        }
    }

    /// Tells `wait_any` callers a turn happened.
    pub(super) fn notify_turned(&self) {
        if self.any_waiters.load(Ordering::SeqCst) > 0 {
            self.turned.notify_all();
        }
    }

    /// Announces that the runtime is about to sleep, then looks for work left meanwhile
    /// (true: do not sleep). An application thread that leaves work after this look
    /// sees `sleeping` and wakes the runtime.
    pub(super) fn about_to_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        let core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        core.stack.has_work(Instant::now())
    }

    /// The driver task's wake-up, when the runtime is a tokio task.
    #[cfg(feature = "tokio")]
    pub(super) fn task_wake(&self) -> Option<&super::driven::TaskWake> {
        match &self.wake {
            Wake::Task(t) => Some(t),
            Wake::Fd(_) => None,
        }
    }

    /// Records the calling thread as the driver's.
    #[cfg(feature = "tokio")]
    pub(super) fn driven_here(&self) {
        let _ = self.driver.set(std::thread::current().id());
    }

    fn on_driver(&self) -> bool {
        self.driver
            .get()
            .is_some_and(|t| *t == std::thread::current().id())
    }

    /// Panics on the driver's thread, where a call that has to wait would wait forever
    /// (as tokio refuses to block inside its runtime).
    #[track_caller]
    fn not_on_driver(&self) {
        if self.on_driver() {
            blocking_on_driver();
        }
    }
}

/// A call that has to wait, on the driver's thread: it would wait forever.
#[track_caller]
#[cold]
fn blocking_on_driver() -> ! {
    panic!(
        "a blocking tunstack call on the thread that drives the stack (a task on \
         Runtime::spawn_tokio's runtime) would wait forever: use tunstack::tokio's sockets there"
    );
}

#[cfg(feature = "tokio")]
impl Shared {
    /// The runtime is running a turn: application threads need not wake it.
    pub(super) fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

impl Shared {
    /// Marks the runtime stopped and wakes every thread waiting on it, so their calls
    /// return (`ConnectionAborted`) instead of waiting forever.
    pub(super) fn halt(&self) {
        self.stop.store(true, Ordering::Release);
        self.turned.notify_all();
        self.wake.signal();
        let (threads, wakers) = {
            let mut core = self.core.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut core.waiters), core.wakers.take_all())
        };
        for (_, t) in threads {
            t.unpark();
        }
        for w in wakers {
            w.wake();
        }
    }
}

/// A handle for application threads: run operations on the core and wait for changes.
#[derive(Clone)]
pub struct StackHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StackHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackHandle").finish_non_exhaustive()
    }
}

/// The stack `TcpListener::bind` and `TcpStream::connect` use when not given one: the
/// first runtime started in the process (or the one made default).
static DEFAULT: Mutex<Option<StackHandle>> = Mutex::new(None);

impl StackHandle {
    /// The process's default stack, for the `std::net`-shaped calls without a handle.
    pub fn default_handle() -> io::Result<StackHandle> {
        DEFAULT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "no tunstack runtime is running in this process",
                )
            })
    }

    /// Makes this stack the default one.
    pub fn make_default(&self) {
        *DEFAULT.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.clone());
    }

    pub(crate) fn same(&self, other: &StackHandle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic inside the core while locked is a bug; the state is still the best we
        // have, so keep going rather than poison every socket.
        self.shared.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the core with the current time, then wakes the runtime if `f` left it
    /// something to do (frames to send, timers due, waiters to wake).
    pub fn with<R>(&self, f: impl FnOnce(&mut Stack, Instant) -> R) -> R {
        let (r, work) = {
            let mut core = self.lock();
            let now = Instant::now();
            let r = f(&mut core.stack, now);
            (r, core.stack.has_work(now))
        };
        if work {
            self.shared.nudge();
        }
        r
    }

    /// Waits until `f` returns `Some`, or until `timeout` passes (`None`: forever);
    /// `f` is tried again whenever the core reports `key` touched. Returns `None` on
    /// timeout or shutdown.
    pub fn wait<R>(
        &self,
        key: WaitKey,
        timeout: Option<std::time::Duration>,
        mut f: impl FnMut(&mut Stack, Instant) -> Option<R>,
    ) -> Option<R> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let me = std::thread::current();
        loop {
            {
                let mut core = self.lock();
                core.waiters.retain(|(_, t)| t.id() != me.id());
                let now = Instant::now();
                if let Some(r) = f(&mut core.stack, now) {
                    let work = core.stack.has_work(now);
                    drop(core);
                    if work {
                        self.shared.nudge();
                    }
                    return Some(r);
                }
                if self.shared.stop.load(Ordering::Acquire) {
                    return None;
                }
                core.waiters.push((key, me.clone()));
            }
            self.shared.not_on_driver();
            match deadline {
                None => std::thread::park(),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        self.lock().waiters.retain(|(_, t)| t.id() != me.id());
                        return None;
                    }
                    std::thread::park_timeout(d - now);
                }
            }
        }
    }

    /// Waits like [`StackHandle::wait`] but retries after every runtime turn, for
    /// conditions no socket key describes.
    pub fn wait_any<R>(
        &self,
        timeout: Option<std::time::Duration>,
        mut f: impl FnMut(&mut Stack, Instant) -> Option<R>,
    ) -> Option<R> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut core = self.lock();
        loop {
            if let Some(r) = f(&mut core.stack, Instant::now()) {
                drop(core);
                self.shared.nudge();
                return Some(r);
            }
            if self.shared.stop.load(Ordering::Acquire) {
                return None;
            }
            if self.shared.on_driver() {
                drop(core);
                blocking_on_driver();
            }
            self.shared.any_waiters.fetch_add(1, Ordering::SeqCst);
            let waited = match deadline {
                None => self
                    .shared
                    .turned
                    .wait(core)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        self.shared.any_waiters.fetch_sub(1, Ordering::SeqCst);
                        return None;
                    }
                    self.shared
                        .turned
                        .wait_timeout(core, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            self.shared.any_waiters.fetch_sub(1, Ordering::SeqCst);
            core = waited;
        }
    }

    /// Runs `f` on the core; if it yields nothing, registers `waker` to be woken when
    /// the core next touches any of `keys`, under the same lock, so no wake-up falls
    /// between the try and the registration. A stopped stack gives `ConnectionAborted`.
    pub(crate) fn poll_io<R>(
        &self,
        keys: &[WaitKey],
        waker: &std::task::Waker,
        f: impl FnOnce(&mut Stack, Instant) -> Option<io::Result<R>>,
    ) -> std::task::Poll<io::Result<R>> {
        let (r, work) = {
            let mut core = self.lock();
            let now = Instant::now();
            let r = f(&mut core.stack, now);
            if r.is_none() {
                if self.shared.stop.load(Ordering::Acquire) {
                    return std::task::Poll::Ready(Err(super::ready::stopped()));
                }
                for k in keys {
                    core.wakers.register(*k, waker);
                }
            }
            (r, core.stack.has_work(now))
        };
        if work {
            self.shared.nudge();
        }
        match r {
            Some(r) => std::task::Poll::Ready(r),
            None => std::task::Poll::Pending,
        }
    }

    /// Runs `f` on the core and its waker registry under one lock (a poller checking a
    /// batch of sockets and arming the ones not ready). `None` if the stack has stopped.
    pub(crate) fn with_wakers<R>(
        &self,
        f: impl FnOnce(&mut Stack, &mut super::ready::Wakers, Instant) -> R,
    ) -> Option<R> {
        let (r, work) = {
            let mut core = self.lock();
            if self.shared.stop.load(Ordering::Acquire) {
                return None;
            }
            let now = Instant::now();
            let Core { stack, wakers, .. } = &mut *core;
            let r = f(stack, wakers, now);
            (r, stack.has_work(now))
        };
        if work {
            self.shared.nudge();
        }
        Some(r)
    }

    /// Whether the runtime has stopped (shut down, or a device failed).
    pub fn is_stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Acquire)
    }

    /// The tokio runtime driving this stack, if it was started with
    /// [`Runtime::spawn_tokio`]: tasks spawned on it run on the stack's own thread, so a
    /// socket call there and the frames it causes need no hand-off between threads.
    /// Such tasks must not make the blocking calls (they would wait on their own thread).
    #[cfg(feature = "tokio")]
    pub fn tokio_runtime(&self) -> Option<::tokio::runtime::Handle> {
        self.shared.tokio.clone()
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        self.lock().stack.stats().clone()
    }
}

/// The runtime thread and its devices.
pub struct Runtime {
    handle: StackHandle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// A device and the interface of the core it carries frames for.
pub type Attached = (IfaceId, Box<dyn Device + Send>);

impl Runtime {
    /// Starts the runtime thread driving `stack` over `devices`, with the default
    /// [`RuntimeOptions`].
    pub fn spawn(stack: Stack, devices: Vec<Attached>) -> io::Result<Runtime> {
        Runtime::spawn_with(stack, devices, RuntimeOptions::default())
    }

    /// Starts the runtime thread driving `stack` over `devices`, as `options` say
    /// (which devices get a writer thread of their own, see
    /// [`WriterMode`](super::WriterMode)).
    pub fn spawn_with(
        stack: Stack,
        devices: Vec<Attached>,
        options: RuntimeOptions,
    ) -> io::Result<Runtime> {
        let io = TurnIo::new(&devices, options)?;
        let shared = Arc::new(Shared::new(stack, Wake::Fd(EventFd::new()?)));
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tunstack-runtime".into())
            .spawn(move || run(&s, devices, io))?;
        Ok(Runtime::started(shared, thread))
    }

    /// Starts a thread running a single-threaded tokio runtime whose one built-in task
    /// drives `stack` over `devices` (it waits on the devices' descriptors and a timer
    /// through tokio's reactor); spawn tasks on it with [`StackHandle::tokio_runtime`].
    /// A server whose tasks run there does all of a request on one thread, as an
    /// event-loop server on the kernel does: the turn that reads the request wakes its
    /// task, the task writes the response into the core and wakes the driver (in
    /// memory, on the same thread), and the next turn writes the responses of every
    /// task that ran meanwhile. The blocking API works from other threads as with
    /// [`Runtime::spawn`].
    #[cfg(feature = "tokio")]
    pub fn spawn_tokio(stack: Stack, devices: Vec<Attached>) -> io::Result<Runtime> {
        Runtime::spawn_tokio_with(stack, devices, RuntimeOptions::default())
    }

    /// [`Runtime::spawn_tokio`] as `options` say. A device's writer thread
    /// ([`WriterMode`](super::WriterMode)) takes its write system calls off the
    /// runtime's thread, which the servers' tasks share.
    #[cfg(feature = "tokio")]
    pub fn spawn_tokio_with(
        stack: Stack,
        devices: Vec<Attached>,
        options: RuntimeOptions,
    ) -> io::Result<Runtime> {
        let io = TurnIo::new(&devices, options)?;
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let mut shared = Shared::new(stack, Wake::Task(super::driven::TaskWake::default()));
        shared.tokio = Some(rt.handle().clone());
        let shared = Arc::new(shared);
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tunstack-runtime".into())
            .spawn(move || {
                let r = rt.block_on(super::driven::drive(&s, devices, io));
                // The tasks still there (servers, connections) go with the runtime.
                drop(rt);
                r
            })?;
        Ok(Runtime::started(shared, thread))
    }

    fn started(shared: Arc<Shared>, thread: JoinHandle<io::Result<()>>) -> Runtime {
        let handle = StackHandle { shared };
        {
            let mut d = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
            if d.as_ref()
                .is_none_or(|h| h.shared.stop.load(Ordering::Acquire))
            {
                *d = Some(handle.clone());
            }
        }
        Runtime {
            handle,
            thread: Some(thread),
        }
    }

    /// A handle for application threads.
    pub fn handle(&self) -> StackHandle {
        self.handle.clone()
    }

    /// Whether the runtime thread is still running (it stops on a device error).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the runtime thread and returns the final counters, or the device error that
    /// stopped it.
    pub fn shutdown(mut self) -> io::Result<Stats> {
        self.stop_thread()?;
        Ok(self.handle.stats())
    }

    fn stop_thread(&mut self) -> io::Result<()> {
        {
            let mut d = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
            if d.as_ref().is_some_and(|h| h.same(&self.handle)) {
                *d = None;
            }
        }
        self.handle.shared.halt();
        self.handle.shared.wake.signal(); // always: the runtime must see `stop`
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("runtime thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.stop_thread();
    }
}

fn run(shared: &Shared, mut devices: Vec<Attached>, mut io: TurnIo) -> io::Result<()> {
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut events = Vec::new();
    let mut woken = Vec::new();
    let result = loop {
        if shared.stop.load(Ordering::Acquire) {
            break Ok(());
        }
        let (deadline, _) = match turn(shared, &mut devices, &mut io, &mut events, &mut woken) {
            Ok(d) => d,
            Err(e) => break Err(e),
        };
        shared.notify_turned();

        // Announce the sleep, then look for work left meanwhile: an application thread
        // that leaves work after this look sees `sleeping` and writes the eventfd.
        if !shared.about_to_sleep() {
            fds.clear();
            if let Some(wake) = shared.wake.eventfd() {
                fds.push(pollfd(wake.fd));
            }
            fds.extend(devices.iter().filter_map(|(_, d)| d.raw_fd()).map(pollfd));
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = ppoll(&mut fds, timeout) {
                shared.sleeping.store(false, Ordering::SeqCst);
                break Err(e);
            }
        }
        shared.sleeping.store(false, Ordering::SeqCst);
        if let Some(wake) = shared.wake.eventfd() {
            wake.drain();
        }
    };
    // The writer threads write what they hold and end before the devices close.
    drop(io);
    shared.halt();
    if let Err(e) = &result {
        log::error!(target: LOG, "runtime stopped: {e}");
    }
    result
}

/// A receive buffer: the largest IP datagram (a 64 KiB super-segment) with an Ethernet
/// header and room to spare.
const RX_BUF: usize = 65_536 + 64;

/// What a turn moves to and from the devices outside the core's lock, kept between
/// turns so that its buffers are reused.
#[derive(Default)]
pub(super) struct TurnIo {
    /// Frames read this turn: interface, buffer, length, offload header.
    rx: Vec<(IfaceId, Vec<u8>, usize, VirtioNetHdr)>,
    /// Empty receive buffers.
    spare: Vec<Vec<u8>>,
    /// Frames the core gave to send this turn.
    tx: Vec<Transmit>,
    /// Buffers of frames sent, handed back to the core's pool (for its next frames)
    /// at the start of the next turn.
    sent: Vec<Vec<u8>>,
    /// Tasks to wake after this turn.
    tasks: Vec<std::task::Waker>,
    /// Devices not to read this turn, by index (the driver task knows which have
    /// nothing); empty: read them all.
    pub(super) skip: Vec<bool>,
    /// Each device's writer thread, by index (`None`: written inline).
    writers: Vec<Option<Writer>>,
    /// Frames for each writer thread this turn, handed over at once.
    staged: Vec<Vec<Frame>>,
}

impl TurnIo {
    /// The turn's buffers, and a writer thread for each device `options` give one.
    pub(super) fn new(devices: &[Attached], options: RuntimeOptions) -> io::Result<TurnIo> {
        let writers = super::writer::writers_for(devices, options.writer)?;
        Ok(TurnIo {
            staged: writers.iter().map(|_| Vec::new()).collect(),
            writers,
            ..TurnIo::default()
        })
    }
}

/// One turn: read what the devices have, then under the core's lock take it in, run
/// timers and collect what the core sends; then, with the lock released (so that
/// application threads work on the core meanwhile, on the other CPU), write it out (or
/// hand it to the device's writer thread, see `super::writer`) and
/// wake the threads and tasks whose sockets the turn touched. Returns the next deadline,
/// and whether every device was read until it had nothing more (none hit the budget).
pub(super) fn turn(
    shared: &Shared,
    devices: &mut [Attached],
    io: &mut TurnIo,
    events: &mut Vec<WaitKey>,
    woken: &mut Vec<Thread>,
) -> io::Result<(Option<Instant>, bool)> {
    let now = Instant::now();
    let mut drained = true;
    for w in io.writers.iter().flatten() {
        w.take_written(&mut io.sent)?;
    }
    for (i, (iface, dev)) in devices.iter_mut().enumerate() {
        if io.skip.get(i) == Some(&true) {
            continue;
        }
        let mut empty = false;
        for _ in 0..RX_BUDGET {
            let mut buf = io.spare.pop().unwrap_or_else(|| vec![0; RX_BUF]);
            match dev.recv_offload(&mut buf, now) {
                Ok(Some((n, hdr))) => io.rx.push((*iface, buf, n, hdr)),
                Ok(None) => {
                    io.spare.push(buf);
                    empty = true;
                    break;
                }
                Err(e) => {
                    io.spare.push(buf);
                    return Err(e);
                }
            }
        }
        drained &= empty;
    }

    let mut guard = shared.core.lock().unwrap_or_else(|e| e.into_inner());
    let Core {
        stack: core,
        waiters,
        wakers,
    } = &mut *guard;
    let now = Instant::now();
    for frame in io.sent.drain(..) {
        core.recycle(frame);
    }
    // One batch: runs of in-order TCP segments among the turn's frames are taken as one
    // (`Stack::receive_batch`, `stack/gro.rs`).
    core.receive_batch(
        now,
        io.rx
            .iter()
            .map(|(iface, buf, n, hdr)| (*iface, &buf[..*n], *hdr)),
    );
    for (_, buf, _, _) in io.rx.drain(..) {
        io.spare.push(buf);
    }
    if core.poll_at().is_some_and(|t| t <= now) {
        core.handle_timeout(now);
    }
    while let Some(t) = core.poll_transmit() {
        io.tx.push(t);
    }
    // Wake exactly the threads waiting on sockets this turn touched.
    events.clear();
    core.take_events(events);
    if !events.is_empty() && !waiters.is_empty() {
        waiters.retain(|(k, t)| {
            if events.contains(k) {
                woken.push(t.clone());
                false
            } else {
                true
            }
        });
    }
    wakers.take_for(events, &mut io.tasks);
    let mut deadline = core.poll_at();
    drop(guard);
    for t in woken.drain(..) {
        t.unpark();
    }
    for w in io.tasks.drain(..) {
        w.wake();
    }

    for t in io.tx.drain(..) {
        let Some(i) = devices.iter().position(|(i, _)| *i == t.iface) else {
            io.sent.push(t.frame);
            continue;
        };
        if io.writers.get(i).is_some_and(Option::is_some) {
            io.staged[i].push((t.frame, t.offload));
            continue;
        }
        let sent = devices[i]
            .1
            .send_offload(&t.frame, &t.offload, Instant::now());
        if let Err(e) = sent {
            // A full device queue drops the frame, as a full NIC ring would.
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(e);
            }
        }
        io.sent.push(t.frame);
    }
    for (i, (w, staged)) in io.writers.iter().zip(io.staged.iter_mut()).enumerate() {
        let Some(w) = w else { continue };
        if staged.is_empty() {
            continue;
        }
        if staged.len() > INLINE_FRAMES || !w.drained() {
            w.push(staged)?;
            continue;
        }
        // A few frames, and the thread holds none: written here, still in order.
        for (frame, offload) in staged.drain(..) {
            let sent = devices[i].1.send_offload(&frame, &offload, Instant::now());
            io.sent.push(frame);
            if let Err(e) = sent {
                if e.kind() != io::ErrorKind::WouldBlock {
                    return Err(e);
                }
            }
        }
    }
    for (_, dev) in devices.iter() {
        deadline = earliest(deadline, dev.poll_at());
    }
    Ok((deadline, drained))
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
