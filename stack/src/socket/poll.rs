//! The runtime thread's system calls: ppoll(2) on the devices and an eventfd.

use std::io;
use std::os::fd::RawFd;

use crate::time::Duration;

pub(super) fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Waits for any of `fds` to become readable, or `timeout` (`None`: forever).
pub(super) fn ppoll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<()> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: (d.total_micros() / 1_000_000) as libc::time_t,
        tv_nsec: ((d.total_micros() % 1_000_000) * 1000) as libc::c_long,
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd structs whose length
    // is passed alongside; `ts_ptr` is null or points to a timespec that outlives the call;
    // a null signal mask leaves the mask unchanged.
    let r = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// A Linux eventfd used as a wake-up signal.
pub(super) struct EventFd {
    pub(super) fd: RawFd,
}

impl EventFd {
    pub(super) fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; the returned descriptor is owned by EventFd.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EventFd { fd })
    }

    pub(super) fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own eventfd. Failure (counter
        // saturated) still leaves it readable, which is all a wake-up needs.
        unsafe {
            libc::write(self.fd, (&one as *const u64).cast(), 8);
        }
    }

    pub(super) fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; non-blocking, so an empty counter
        // returns EAGAIN, which is fine.
        unsafe {
            libc::read(self.fd, (&mut v as *mut u64).cast(), 8);
        }
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: we own this descriptor and close it exactly once.
        unsafe {
            libc::close(self.fd);
        }
    }
}
