//! An in-memory connected pair of devices, for simulation and tests.
//!
//! Frames sent on one [`MemoryEnd`] are received on the other, in order. Each direction
//! is a bounded queue (by default [`DEFAULT_CAPACITY`] frames): a frame sent into a full
//! queue is dropped and counted, as a real link drops what its transmit queue cannot hold.
//! Frames longer than the link's MTU plus link header are dropped and counted too.
//!
//! The ends are `Send`, so the two sides may run on different threads. Each end also
//! offers a file descriptor (an eventfd(2) counting queued frames) that poll(2) reports
//! readable while frames wait, so a real-time runtime can sleep on a memory link as it
//! does on a TUN device.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{copy_truncated, Device, Medium};
use crate::time::Instant;

/// Default number of frames each direction of a [`MemoryLink`] holds before dropping.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Builder of connected [`MemoryEnd`] pairs.
#[derive(Debug)]
pub struct MemoryLink;

impl MemoryLink {
    /// Two connected ends with the default queue capacity of [`DEFAULT_CAPACITY`] frames in
    /// each direction.
    pub fn pair(medium: Medium, mtu: usize) -> (MemoryEnd, MemoryEnd) {
        Self::pair_with_capacity(medium, mtu, DEFAULT_CAPACITY)
    }

    /// Two connected ends whose queues each hold at most `capacity` frames.
    pub fn pair_with_capacity(
        medium: Medium,
        mtu: usize,
        capacity: usize,
    ) -> (MemoryEnd, MemoryEnd) {
        let a_to_b = Arc::new(Channel::new(capacity));
        let b_to_a = Arc::new(Channel::new(capacity));
        let a = MemoryEnd {
            rx: Arc::clone(&b_to_a),
            tx: Arc::clone(&a_to_b),
            medium,
            mtu,
        };
        let b = MemoryEnd {
            rx: a_to_b,
            tx: b_to_a,
            medium,
            mtu,
        };
        (a, b)
    }
}

/// Counters of one end of a [`MemoryLink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Frames this end sent that were queued for the peer.
    pub sent: u64,
    /// Frames this end received.
    pub received: u64,
    /// Frames this end sent that were dropped because the peer's queue was full.
    pub dropped_full: u64,
    /// Frames this end sent that were dropped for exceeding the MTU plus link header.
    pub dropped_oversize: u64,
}

/// One end of a [`MemoryLink`] pair.
#[derive(Debug)]
pub struct MemoryEnd {
    rx: Arc<Channel>,
    tx: Arc<Channel>,
    medium: Medium,
    mtu: usize,
}

impl MemoryEnd {
    /// Sets how many frames the queue towards this end holds (frames already queued stay).
    pub fn set_capacity(&self, capacity: usize) {
        self.rx.lock().capacity = capacity;
    }

    /// Frames waiting to be received on this end.
    pub fn pending(&self) -> usize {
        self.rx.lock().frames.len()
    }

    /// This end's counters.
    pub fn stats(&self) -> MemoryStats {
        let tx = self.tx.lock();
        let rx = self.rx.lock();
        MemoryStats {
            sent: tx.enqueued,
            received: rx.dequeued,
            dropped_full: tx.dropped_full,
            dropped_oversize: tx.dropped_oversize,
        }
    }

    fn max_frame(&self) -> usize {
        self.mtu.saturating_add(self.medium.header_len())
    }
}

impl Device for MemoryEnd {
    fn recv(&mut self, buf: &mut [u8], _now: Instant) -> io::Result<Option<usize>> {
        let frame = {
            let mut q = self.rx.lock();
            let frame = q.frames.pop_front();
            if frame.is_some() {
                q.dequeued += 1;
                self.rx.event_take();
            }
            frame
        };
        Ok(frame.map(|f| copy_truncated(&f, buf)))
    }

    fn send(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        let max = self.max_frame();
        let mut q = self.tx.lock();
        if frame.len() > max {
            q.dropped_oversize += 1;
            log::warn!(
                target: "tunstack::link",
                "memory link: dropped a {}-byte frame, larger than {max}",
                frame.len()
            );
        } else if q.frames.len() >= q.capacity {
            q.dropped_full += 1;
            log::debug!(target: "tunstack::link", "memory link: queue full, frame dropped");
        } else {
            q.frames.push_back(frame.to_vec());
            q.enqueued += 1;
            self.tx.event_give();
        }
        Ok(())
    }

    fn medium(&self) -> Medium {
        self.medium
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.rx.event.as_ref().map(|fd| fd.as_raw_fd())
    }
}

/// One direction: the queue and an eventfd mirroring its length.
#[derive(Debug)]
struct Channel {
    queue: Mutex<Queue>,
    /// An eventfd in semaphore mode whose counter equals the queue length (kept in step
    /// under the queue's lock). `None` if the kernel refused one; the link then works
    /// without a pollable descriptor.
    event: Option<OwnedFd>,
}

#[derive(Debug)]
struct Queue {
    frames: VecDeque<Vec<u8>>,
    capacity: usize,
    enqueued: u64,
    dequeued: u64,
    dropped_full: u64,
    dropped_oversize: u64,
}

impl Channel {
    fn new(capacity: usize) -> Channel {
        // SAFETY: eventfd takes no pointers; it returns a new descriptor or -1.
        let fd = unsafe {
            libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE,
            )
        };
        let event = if fd >= 0 {
            // SAFETY: `fd` was just returned by eventfd, is open, and nothing else owns it.
            Some(unsafe { OwnedFd::from_raw_fd(fd) })
        } else {
            None
        };
        Channel {
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                capacity,
                enqueued: 0,
                dequeued: 0,
                dropped_full: 0,
                dropped_oversize: 0,
            }),
            event,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic on the other side must not take this side down: the queue itself is
        // always consistent between operations.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds one to the eventfd counter (a frame was queued).
    fn event_give(&self) {
        if let Some(fd) = &self.event {
            let one: u64 = 1;
            // SAFETY: writes exactly 8 bytes from a live u64 to an eventfd we own.
            let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Takes one from the eventfd counter (a frame was dequeued).
    fn event_take(&self) {
        if let Some(fd) = &self.event {
            let mut v: u64 = 0;
            // SAFETY: reads at most 8 bytes into a live u64 from an eventfd we own.
            let _ = unsafe { libc::read(fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv_all(end: &mut MemoryEnd) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while let Some(n) = end.recv(&mut buf, Instant::ZERO).unwrap() {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn frames_arrive_on_the_other_end_in_order() {
        let (mut a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
        for i in 0..100u8 {
            a.send(&[i; 10], Instant::ZERO).unwrap();
        }
        b.send(b"back", Instant::ZERO).unwrap();
        assert_eq!(b.pending(), 100);
        let got = recv_all(&mut b);
        assert_eq!(got.len(), 100);
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f, &vec![i as u8; 10]);
        }
        assert_eq!(recv_all(&mut a), vec![b"back".to_vec()]);
        assert_eq!(a.stats().sent, 100);
        assert_eq!(b.stats().received, 100);
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (mut a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
        for i in 0..(DEFAULT_CAPACITY + 10) {
            a.send(&(i as u32).to_be_bytes(), Instant::ZERO).unwrap();
        }
        assert_eq!(a.stats().dropped_full, 10);
        let got = recv_all(&mut b);
        assert_eq!(got.len(), DEFAULT_CAPACITY);
        // The first frames are kept (tail drop), in order.
        assert_eq!(
            got.last().unwrap(),
            &(DEFAULT_CAPACITY as u32 - 1).to_be_bytes()
        );

        let (mut c, mut d) = MemoryLink::pair_with_capacity(Medium::Ethernet, 1500, 3);
        for _ in 0..5 {
            c.send(b"x", Instant::ZERO).unwrap();
        }
        assert_eq!(recv_all(&mut d).len(), 3);
        d.set_capacity(1);
        c.send(b"y", Instant::ZERO).unwrap();
        c.send(b"z", Instant::ZERO).unwrap();
        assert_eq!(recv_all(&mut d), vec![b"y".to_vec()]);
        assert_eq!(c.stats().dropped_full, 3);
    }

    #[test]
    fn oversize_frames_are_dropped_and_long_frames_truncated_on_receive() {
        let (mut a, mut b) = MemoryLink::pair(Medium::Ethernet, 100);
        a.send(&[0u8; 115], Instant::ZERO).unwrap();
        a.send(&[7u8; 114], Instant::ZERO).unwrap();
        assert_eq!(a.stats().dropped_oversize, 1);
        let mut small = [0u8; 50];
        assert_eq!(b.recv(&mut small, Instant::ZERO).unwrap(), Some(50));
        assert_eq!(b.recv(&mut small, Instant::ZERO).unwrap(), None);
    }

    #[test]
    fn the_event_fd_is_readable_exactly_while_frames_wait() {
        let (mut a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
        let fd = b.raw_fd().expect("eventfd");
        let readable = |fd: RawFd| {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `p` is one valid pollfd and the count is 1.
            let n = unsafe { libc::poll(&mut p, 1, 0) };
            n == 1 && p.revents & libc::POLLIN != 0
        };
        assert!(!readable(fd));
        a.send(b"1", Instant::ZERO).unwrap();
        a.send(b"2", Instant::ZERO).unwrap();
        assert!(readable(fd));
        let mut buf = [0u8; 8];
        b.recv(&mut buf, Instant::ZERO).unwrap();
        assert!(readable(fd));
        b.recv(&mut buf, Instant::ZERO).unwrap();
        assert!(!readable(fd));
    }

    #[test]
    fn ends_work_across_threads() {
        let (mut a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
        let t = std::thread::spawn(move || {
            for i in 0..500u16 {
                a.send(&i.to_be_bytes(), Instant::ZERO).unwrap();
            }
        });
        t.join().unwrap();
        let got = recv_all(&mut b);
        assert_eq!(got.len(), 500);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
    }
}
