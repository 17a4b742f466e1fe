//! A writer thread per device: the runtime's turn hands it the frames the core built,
//! and it writes them while the runtime goes on with the next turn.
//!
//! Without the virtio-net header every wire packet is one write(2), and the kernel runs
//! its whole receive path for the packet (IP, TCP, waking the reading socket) inside
//! that call, on the calling thread. Inline, that is about two thirds of the runtime
//! thread's time when the stack sends (see `docs/DESIGN.md`, "The writer thread"). On a
//! thread of its own it overlaps with the protocol work on another core.
//!
//! The hand-off, per device:
//!
//! * **Ordering**: one FIFO queue and one thread per device, so frames leave in the
//!   order the core gave them.
//! * **Bounded**: the runtime waits (backpressure) while more than [`QUEUE_BYTES`] of
//!   frames are handed over and not yet written; never unbounded memory.
//! * **No allocation per frame**: the frames' buffers come back to the runtime, which
//!   hands them to the core's pool at its next turn ([`crate::stack::Stack::recycle`]),
//!   as inline writes do; the queues keep their allocations.
//! * **One lock per turn each way**: the runtime appends a turn's frames under one lock
//!   and signals the thread only when it sleeps; the thread takes everything queued at
//!   once and gives the buffers back under one lock.
//! * **Room while it writes**: a runtime waiting for room is told of it every
//!   [`ROOM_STEP`] of the bound written, not only once the whole batch is, so it builds
//!   the next frames while the thread still writes these. Told only at the end of a
//!   batch, the runtime filled the queue, waited for the thread to write all of it, and
//!   the thread then waited for the runtime: on a `--no-offload` send to the kernel
//!   (`cargo bench --bench tcp_throughput`, X -> kernel, three runs of three each way
//!   in turn) 7.65, 7.69 and 7.69 Gbit/s became 8.75, 8.37 and 8.37.
//! * **Small turns stay inline**: a turn with at most [`INLINE_FRAMES`] frames for a
//!   thread that holds none writes them itself (nothing handed over can be overtaken).
//! * **Errors**: a write error other than a full queue (which drops the frame, as
//!   inline) is kept and returned to the runtime at its next turn, which stops it, as an
//!   inline write error does.
//! * **Shutdown**: dropping the [`Writer`] asks the thread to finish: it writes what is
//!   queued, then exits, and the drop joins it, so the device's descriptor is closed
//!   when the runtime's thread returns.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::link::DeviceTx;
use crate::wire::virtio::VirtioNetHdr;

const LOG: &str = "tunstack::runtime";

/// The most bytes of frames handed to a writer thread and not yet written: about 700
/// wire-sized frames, or 16 super-segments. Enough for a turn's burst without waiting,
/// small enough to stay in the caches the frames were built in.
pub(super) const QUEUE_BYTES: usize = 1 << 20;

/// A turn with at most this many frames for a device whose writer thread has nothing in
/// hand writes them itself: an ACK or a request's answer then costs no hand-off between
/// threads (a wake-up and a context switch), while bulk sending goes to the thread.
pub(super) const INLINE_FRAMES: usize = 4;

/// How often, as a fraction of the bound, the writer thread gives room back to a runtime
/// waiting for it while it writes a batch: every eighth (128 KiB, about 90 wire frames,
/// at the default bound). Every 16-32 frames measured slower (more wake-ups), every
/// 64-256 the same.
const ROOM_STEP: usize = 8;

/// A frame and its offload header, as the device takes it.
pub(super) type Frame = (Vec<u8>, VirtioNetHdr);

/// What the runtime and the writer thread share.
struct Queue {
    state: Mutex<State>,
    /// The writer thread waits here for frames.
    work: Condvar,
    /// The runtime waits here for room.
    room: Condvar,
}

#[derive(Default)]
struct State {
    /// Frames to write, oldest first.
    frames: VecDeque<Frame>,
    /// Bytes handed over and not yet given back (queued or being written).
    bytes: usize,
    /// Buffers of frames written, for the runtime to take back.
    done: Vec<Vec<u8>>,
    /// The runtime is done with the writer: write what is queued, then exit.
    stop: bool,
    /// A write failed (or the thread ended): the error, until the runtime takes it.
    error: Option<io::Error>,
    /// The thread no longer writes (failed or ended): the runtime must not wait on it.
    failed: bool,
    /// The thread sleeps on `work`.
    idle: bool,
    /// The runtime sleeps on `room`.
    waiting: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The runtime's end of a device's writer thread.
pub(super) struct Writer {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    bound: usize,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts a thread writing to `tx`, with at most `bound` bytes of frames handed over
    /// and not yet written.
    pub(super) fn spawn(mut tx: DeviceTx, bound: usize) -> io::Result<Writer> {
        let queue = Arc::new(Queue {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            room: Condvar::new(),
        });
        let q = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name(format!("tstx-{}", tx.name()))
            .spawn(move || {
                let _ended = Ended(&q);
                write_loop(&q, &mut tx, bound.max(1));
            })?;
        Ok(Writer {
            queue,
            thread: Some(thread),
            bound: bound.max(1),
        })
    }

    /// Hands `frames` over (leaving the vector empty, its allocation kept), waiting while
    /// the bound is reached. Returns the error that stopped the thread, if one did
    /// (the frames not handed over are dropped then).
    pub(super) fn push(&self, frames: &mut Vec<Frame>) -> io::Result<()> {
        if frames.is_empty() {
            return Ok(());
        }
        let mut st = self.queue.lock();
        for frame in frames.drain(..) {
            while st.bytes >= self.bound && !st.failed {
                if st.idle {
                    st.idle = false;
                    self.queue.work.notify_one();
                }
                st.waiting = true;
                st = self.queue.room.wait(st).unwrap_or_else(|e| e.into_inner());
                st.waiting = false;
            }
            if st.failed {
                break;
            }
            st.bytes += frame.0.len();
            st.frames.push_back(frame);
        }
        if st.failed {
            return Err(take_error(&mut st));
        }
        if st.idle {
            st.idle = false;
            self.queue.work.notify_one();
        }
        Ok(())
    }

    /// Whether the thread has nothing handed over and not yet written, so that frames
    /// written by the caller now leave in order after everything handed over before.
    pub(super) fn drained(&self) -> bool {
        let st = self.queue.lock();
        st.bytes == 0 && !st.failed
    }

    /// Moves the buffers of the frames written since the last call into `out`; returns
    /// the error that stopped the thread, if one did.
    pub(super) fn take_written(&self, out: &mut Vec<Vec<u8>>) -> io::Result<()> {
        let mut st = self.queue.lock();
        out.append(&mut st.done);
        if st.failed {
            return Err(take_error(&mut st));
        }
        Ok(())
    }
}

/// The error a failed writer reports (once; later calls get a generic one).
fn take_error(st: &mut State) -> io::Error {
    st.error
        .take()
        .unwrap_or_else(|| io::Error::other("the device's writer thread stopped"))
}

impl Drop for Writer {
    /// Lets the thread write what is queued, then joins it.
    fn drop(&mut self) {
        {
            let mut st = self.queue.lock();
            st.stop = true;
            self.queue.work.notify_one();
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::error!(target: LOG, "a device writer thread panicked");
            }
        }
    }
}

/// Marks the queue failed when the writer thread ends, however it ends (a panic too), so
/// the runtime never waits for room that cannot come.
struct Ended<'a>(&'a Queue);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.failed = true;
        if st.error.is_none() && !st.stop {
            st.error = Some(io::Error::other("the device's writer thread ended"));
        }
        self.0.room.notify_all();
    }
}

/// The writer thread: takes everything queued, writes it outside the lock, gives the
/// buffers back; sleeps when there is nothing; exits when stopped and drained. A runtime
/// waiting for room (more than `bound` bytes handed over) hears of it every
/// `bound / ROOM_STEP` bytes written.
fn write_loop(q: &Queue, tx: &mut DeviceTx, bound: usize) {
    let step = (bound / ROOM_STEP).max(1);
    let mut batch: VecDeque<Frame> = VecDeque::new();
    let mut written: Vec<Vec<u8>> = Vec::new();
    let mut failed: Option<io::Error> = None;
    let mut st = q.lock();
    loop {
        while st.frames.is_empty() && !st.stop {
            st.idle = true;
            st = q.work.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.idle = false;
        if st.frames.is_empty() {
            return; // stopped, and everything queued is written
        }
        std::mem::swap(&mut st.frames, &mut batch);
        drop(st);
        let mut freed = 0;
        for (frame, hdr) in batch.drain(..) {
            if failed.is_none() {
                if let Err(e) = tx.send_offload(&frame, &hdr) {
                    log::error!(target: LOG, "{}: write failed: {e}", tx.name());
                    failed = Some(e);
                }
            }
            freed += frame.len();
            written.push(frame);
            if freed >= step {
                let mut st = q.lock();
                st.bytes -= freed;
                freed = 0;
                if st.waiting {
                    q.room.notify_one();
                }
            }
        }
        st = q.lock();
        st.bytes -= freed;
        st.done.append(&mut written);
        if let Some(e) = failed.take() {
            st.error = Some(e);
            st.failed = true;
            q.room.notify_all();
            return;
        }
        if st.waiting {
            q.room.notify_one();
        }
    }
}

/// Which devices get a writer thread ([`RuntimeOptions::writer`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriterMode {
    /// A writer thread for each TUN or TAP device without offloads (one write(2) per
    /// wire packet, where the thread pays off); devices with offloads (a write per
    /// 64 KiB super-segment) are written inline. The default.
    #[default]
    Auto,
    /// A writer thread for every device that can have one ([`Device::split_tx`]: TUN
    /// and TAP devices not wrapped in an impairment or a capture).
    ///
    /// [`Device::split_tx`]: crate::link::Device::split_tx
    Thread,
    /// Every frame written by the runtime itself, at the end of its turn.
    Inline,
}

impl WriterMode {
    /// Whether a device that can have a writer thread gets one.
    fn wants(self, offload: bool) -> bool {
        match self {
            WriterMode::Auto => !offload,
            WriterMode::Thread => true,
            WriterMode::Inline => false,
        }
    }
}

impl std::str::FromStr for WriterMode {
    type Err = String;

    fn from_str(s: &str) -> Result<WriterMode, String> {
        match s {
            "auto" => Ok(WriterMode::Auto),
            "thread" => Ok(WriterMode::Thread),
            "inline" => Ok(WriterMode::Inline),
            _ => Err(format!("{s:?}: expected auto, thread or inline")),
        }
    }
}

/// How a [`Runtime`](super::Runtime) drives its devices ([`Runtime::spawn_with`],
/// [`Runtime::spawn_tokio_with`]).
///
/// [`Runtime::spawn_with`]: super::Runtime::spawn_with
/// [`Runtime::spawn_tokio_with`]: super::Runtime::spawn_tokio_with
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeOptions {
    /// Which devices get a writer thread.
    pub writer: WriterMode,
}

impl RuntimeOptions {
    /// The default options with `writer` as given.
    pub fn with_writer(writer: WriterMode) -> RuntimeOptions {
        RuntimeOptions { writer }
    }
}

/// A writer thread for each device that `mode` gives one (by index; `None`: inline).
pub(super) fn writers_for(
    devices: &[super::runtime::Attached],
    mode: WriterMode,
) -> io::Result<Vec<Option<Writer>>> {
    devices
        .iter()
        .map(|(_, dev)| {
            if !mode.wants(dev.offload()) {
                return Ok(None);
            }
            match dev.split_tx()? {
                Some(tx) => Writer::spawn(tx, QUEUE_BYTES).map(Some),
                None => Ok(None),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::sync::mpsc;
    use std::time::Duration;

    /// A pipe whose kernel buffer holds one page: (read end, write end, its size).
    fn small_pipe() -> (std::fs::File, OwnedFd, usize) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (r, w) = unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                OwnedFd::from_raw_fd(fds[1]),
            )
        };
        // SAFETY: F_SETPIPE_SZ on a pipe descriptor we own; the kernel rounds up to a
        // page and returns the size it set.
        let size = unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096) };
        assert!(size > 0, "F_SETPIPE_SZ: {}", io::Error::last_os_error());
        (r, w, size as usize)
    }

    /// The runtime is given room while the thread is still writing a batch (every
    /// `bound / ROOM_STEP` bytes), not only once all of it is written: with the device
    /// stalled four frames into a full batch of sixteen, a hand-over that waits for room
    /// returns, the rest of the batch still unwritten.
    #[test]
    fn room_is_given_back_while_a_batch_is_written() {
        let (device, fd, pipe) = small_pipe();
        // The pipe holds four frames, the bound sixteen: room comes every two written.
        let frame_len = pipe / 4;
        let bound = 16 * frame_len;
        let writer = Arc::new(Writer::spawn(DeviceTx::on_fd(fd, "pipe"), bound).expect("spawn"));
        // Declared after the writer, so dropped first if an assertion fails: the thread's
        // stalled write then fails and the writer's drop can join it.
        let mut device = device;
        let frame = move |b: u8| (vec![b; frame_len], VirtioNetHdr::NONE);
        // A full batch: the thread takes all 16 and stalls when the pipe holds 4.
        let mut batch: Vec<Frame> = (0..16).map(frame).collect();
        writer.push(&mut batch).expect("push");
        // One more frame finds the bound reached and waits for room.
        let (done_tx, done_rx) = mpsc::channel();
        let w = Arc::clone(&writer);
        std::thread::spawn(move || {
            let mut more = vec![frame(16)];
            let r = w.push(&mut more);
            let _ = done_tx.send(r.is_ok());
        });
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(10)),
            Ok(true),
            "no room given back while the device held the batch's fifth frame"
        );
        // Everything arrives, in order.
        let mut got = vec![0u8; 17 * frame_len];
        device.read_exact(&mut got).expect("read");
        for (i, chunk) in got.chunks(frame_len).enumerate() {
            assert!(
                chunk.iter().all(|&b| b == i as u8),
                "frame {i} out of order"
            );
        }
    }
}
