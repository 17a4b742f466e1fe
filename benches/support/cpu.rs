//! CPU time spent while something runs: the whole machine's busy time from `/proc/stat`
//! (user + nice + system + irq + softirq + steal, so softirq work done on behalf of the
//! network counts wherever it ran), and this process's own (`getrusage`, all threads).
//!
//! The machine may be shared: the whole-machine figure counts other programs too, the
//! process figure counts only the benchmark (kernel work in softirq context that runs on
//! another task's time, or in `ksoftirqd`, is missed there).
#![allow(dead_code)]

use std::time::Duration;

/// A reading of both clocks.
#[derive(Clone, Copy, Debug)]
pub struct CpuClock {
    /// Whole-machine busy time, in clock ticks.
    machine_ticks: u64,
    /// This process's user + system time.
    process: Duration,
}

/// CPU seconds spent between two readings.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSpent {
    pub machine: f64,
    pub process: f64,
}

impl CpuSpent {
    /// CPU seconds per GiB for `bytes` moved: (machine, process).
    pub fn per_gib(&self, bytes: u64) -> (f64, f64) {
        let gib = bytes as f64 / f64::from(1u32 << 30);
        (self.machine / gib, self.process / gib)
    }
}

impl CpuClock {
    /// Reads both clocks now.
    pub fn now() -> CpuClock {
        CpuClock {
            machine_ticks: machine_busy_ticks().unwrap_or(0),
            process: process_time(),
        }
    }

    /// CPU seconds spent since `self`.
    pub fn since(&self) -> CpuSpent {
        let now = CpuClock::now();
        CpuSpent {
            machine: now.machine_ticks.saturating_sub(self.machine_ticks) as f64 / ticks_per_sec(),
            process: now.process.saturating_sub(self.process).as_secs_f64(),
        }
    }
}

/// Clock ticks per second (`USER_HZ`), the unit of `/proc/stat`.
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf takes no pointers and has no side effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// The machine's busy ticks over all CPUs: the first line of `/proc/stat` is
/// `cpu user nice system idle iowait irq softirq steal guest guest_nice` (guest time is
/// already inside user time, idle and iowait are not busy).
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let get = |i: usize| f.get(i).copied().unwrap_or(0);
    // user, nice, system, irq, softirq, steal
    Some(get(0) + get(1) + get(2) + get(5) + get(6) + get(7))
}

/// This process's user + system time (all threads, finished ones included).
fn process_time() -> Duration {
    // SAFETY: all-zero is a valid rusage, and getrusage writes only into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// How busy the machine is without us: busy CPUs (0.0 = idle, 2.0 = two CPUs busy)
/// measured over `over` while this process sleeps.
pub fn background_load(over: Duration) -> f64 {
    let c = CpuClock::now();
    std::thread::sleep(over);
    c.since().machine / over.as_secs_f64()
}

/// Number of CPUs online.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
