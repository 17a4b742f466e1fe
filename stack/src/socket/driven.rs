//! The runtime as a task on a single-threaded tokio runtime ([`Runtime::spawn_tokio`],
//! the `tokio` feature): the same turns as the runtime thread's, but waiting on the
//! devices' descriptors and a timerfd through tokio's reactor instead of ppoll(2), so
//! the tasks of the servers on that runtime share the thread with the stack.
//!
//! A request then costs no hand-off between threads: the turn that reads it wakes the
//! connection's task (a push on the local run queue), the task answers into the core
//! and wakes the driver (in memory), and the driver's next turn, after every woken task
//! ran, writes all their responses. The kernel's event-loop servers (nginx's worker)
//! do a request on one thread the same way.
//!
//! [`Runtime::spawn_tokio`]: super::Runtime::spawn_tokio

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use ::tokio::io::unix::AsyncFd;
use ::tokio::io::Interest;

use super::runtime::{turn, Attached, Shared, TurnIo};
use crate::stack::WaitKey;
use crate::time::{Duration, Instant};

const LOG: &str = "tunstack::runtime";

/// How application threads and tasks wake the driver task.
#[derive(Default)]
pub(super) struct TaskWake {
    /// Set by [`TaskWake::signal`], taken by the driver before it sleeps.
    signalled: AtomicBool,
    /// The driver's waker, left there when it sleeps.
    waker: Mutex<Option<Waker>>,
}

impl TaskWake {
    pub(super) fn signal(&self) {
        self.signalled.store(true, Ordering::SeqCst);
        let w = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Leaves `waker` to be woken by the next signal, then says whether a signal came
    /// since the last call (so none falls between the look and the sleep).
    fn arm(&self, waker: &Waker) -> bool {
        {
            let mut w = self.waker.lock().unwrap_or_else(|e| e.into_inner());
            match &*w {
                Some(old) if old.will_wake(waker) => {}
                _ => *w = Some(waker.clone()),
            }
        }
        self.signalled.swap(false, Ordering::SeqCst)
    }
}

/// A device's descriptor, borrowed for the reactor (the device keeps owning it).
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A monotonic timerfd for the core's next deadline, to the microsecond (tokio's own
/// timer rounds up to whole milliseconds, too coarse for pacing).
struct TimerFd {
    fd: RawFd,
}

impl TimerFd {
    fn new() -> io::Result<TimerFd> {
        // SAFETY: timerfd_create takes no pointers; the descriptor is owned by TimerFd.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TimerFd { fd })
    }

    /// Fires once, `after` from now (at least a microsecond).
    fn set(&self, after: Duration) -> io::Result<()> {
        let us = after.total_micros().max(1);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (us / 1_000_000) as libc::time_t,
                tv_nsec: ((us % 1_000_000) * 1000) as libc::c_long,
            },
        };
        // SAFETY: `spec` is a live itimerspec; a null old-value pointer is allowed.
        let r = unsafe { libc::timerfd_settime(self.fd, 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes an expiry, if there is one.
    fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; non-blocking (EAGAIN when the
        // timer has not fired, which is fine).
        unsafe {
            libc::read(self.fd, (&mut v as *mut u64).cast(), 8);
        }
    }
}

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        // SAFETY: we own this descriptor and close it exactly once.
        unsafe {
            libc::close(self.fd);
        }
    }
}

/// What the driver keeps between wake-ups.
struct Driver {
    /// The devices' descriptors, registered with the reactor, in `devices`' order
    /// (`None` for a device without one). Declared before `devices`, so dropped (and
    /// deregistered) before the devices close them.
    fds: Vec<Option<AsyncFd<Fd>>>,
    devices: Vec<Attached>,
    timer: AsyncFd<TimerFd>,
    /// The deadline the timer is set for.
    armed: Option<Instant>,
    /// The next deadline, as the last turn saw it.
    deadline: Option<Instant>,
    io: TurnIo,
    events: Vec<WaitKey>,
    woken: Vec<std::thread::Thread>,
}

/// Drives the stack until it is shut down or a device fails; runs inside the tokio
/// runtime of [`super::Runtime::spawn_tokio`].
pub(super) async fn drive(shared: &Shared, devices: Vec<Attached>, io: TurnIo) -> io::Result<()> {
    shared.driven_here();
    let result = match Driver::new(devices, io) {
        // The driver (and its writer threads, which write what they hold first) goes
        // before the stack is marked stopped.
        Ok(mut d) => poll_fn(|cx| d.poll(shared, cx)).await,
        Err(e) => Err(e),
    };
    shared.halt();
    if let Err(e) = &result {
        log::error!(target: LOG, "runtime stopped: {e}");
    }
    result
}

impl Driver {
    fn new(devices: Vec<Attached>, io: TurnIo) -> io::Result<Driver> {
        let fds = devices
            .iter()
            .map(|(_, d)| {
                d.raw_fd()
                    .map(|fd| {
                        // SAFETY: the descriptor belongs to a device the driver owns
                        // beside this registration and drops after it (field order), and
                        // nothing closes or replaces it meanwhile.
                        unsafe { AsyncFd::register_with_interest(Fd(fd), Interest::READABLE) }
                            .map_err(io::Error::from)
                    })
                    .transpose()
            })
            .collect::<io::Result<Vec<_>>>()?;
        // SAFETY: the AsyncFd owns the TimerFd, which closes its descriptor only when
        // dropped, after the registration is gone.
        let timer =
            unsafe { AsyncFd::register_with_interest(TimerFd::new()?, Interest::READABLE)? };
        Ok(Driver {
            fds,
            devices,
            timer,
            armed: None,
            deadline: None,
            io,
            events: Vec::new(),
            woken: Vec::new(),
        })
    }

    /// Runs turns while there is work, then sleeps until a device is readable, the
    /// deadline comes or the driver is signalled.
    fn poll(&mut self, shared: &Shared, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(wake) = shared.task_wake() else {
            unreachable!("a driven runtime is woken through its task");
        };
        loop {
            if shared.stopped() {
                return Poll::Ready(Ok(()));
            }
            shared.awake();
            // Read only the devices with news (readiness from the reactor, or frames an
            // impairment held back that are due): a turn for an application's work
            // costs no read that would find nothing. But a turn whose deadline has come
            // reads them all: the reactor may not have heard yet of frames that arrived
            // while the thread was busy, and a timer must not fire before them (an ACK
            // waiting in the device would otherwise meet a retransmission timeout).
            let now = Instant::now();
            let due = self.deadline.is_some_and(|d| d <= now);
            self.io.skip.clear();
            for ((_, dev), fd) in self.devices.iter().zip(&self.fds) {
                let quiet = match fd {
                    Some(fd) => match fd.poll_read_ready(cx) {
                        Poll::Ready(Ok(_)) => false,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => true,
                    },
                    None => false,
                };
                let held = dev.poll_at().is_some_and(|t| t <= now);
                self.io.skip.push(quiet && !held && !due);
            }
            let (deadline, drained) = turn(
                shared,
                &mut self.devices,
                &mut self.io,
                &mut self.events,
                &mut self.woken,
            )?;
            self.deadline = deadline;
            shared.notify_turned();
            if !drained {
                // A device had more than a turn's budget: read on after the tasks this
                // turn woke had their go.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Every device read was read until empty: what readiness the reactor holds
            // for it is spent (no reactor tick came between the reads and here), so
            // clear it and register for the next frame.
            // A device that holds frames back (an impairment's delay) may have said
            // "nothing now" with frames still unread beneath it: ask the descriptor
            // itself before taking its readiness as spent.
            let mut ready = false;
            for ((fd, skipped), (_, dev)) in self.fds.iter().zip(&self.io.skip).zip(&self.devices) {
                if let (Some(fd), false) = (fd, skipped) {
                    if dev.poll_at().is_some() && readable_now(fd.get_ref().0)? {
                        ready = true;
                    } else {
                        ready |= rearm(fd, cx)?;
                    }
                }
            }
            if ready {
                continue;
            }
            let signalled = wake.arm(cx.waker());
            if shared.about_to_sleep() || signalled {
                continue;
            }
            if let Some(d) = deadline {
                let now = Instant::now();
                if d <= now {
                    continue;
                }
                // A later deadline than the one set only costs an early, idle turn; an
                // earlier one must be set.
                if self.armed.is_none_or(|a| d < a || a <= now) {
                    self.timer.get_ref().set(d.saturating_duration_since(now))?;
                    self.armed = Some(d);
                }
            }
            match self.timer.poll_read_ready(cx) {
                Poll::Ready(Ok(mut g)) => {
                    g.get_inner().drain();
                    g.clear_ready();
                    self.armed = None;
                    continue;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            return Poll::Pending;
        }
    }
}

/// Whether `fd` has something to read at this moment (poll(2) without waiting).
fn readable_now(fd: RawFd) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd, its count, and a zero timeout.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(true)
        } else {
            Err(e)
        };
    }
    Ok(p.revents & libc::POLLIN != 0)
}

/// Clears `fd`'s readiness (its device was read until empty) and registers `cx` for the
/// next; true if the reactor already has news of it.
fn rearm(fd: &AsyncFd<Fd>, cx: &mut Context<'_>) -> io::Result<bool> {
    match fd.poll_read_ready(cx) {
        Poll::Ready(Ok(mut g)) => g.clear_ready(),
        Poll::Ready(Err(e)) => return Err(e),
        Poll::Pending => return Ok(false),
    }
    match fd.poll_read_ready(cx) {
        Poll::Ready(Ok(_)) => Ok(true),
        Poll::Ready(Err(e)) => Err(e),
        Poll::Pending => Ok(false),
    }
}
