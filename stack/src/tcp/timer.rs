//! A connection's timers as data (after quinn's `connection/timer.rs`): a table of
//! deadlines indexed by [`Timer`]; the connection runs every expired one.

use crate::time::Instant;

/// The timers of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Retransmission timeout (RFC 6298), also for SYN and FIN.
    Retransmit = 0,
    /// Zero-window probe (RFC 9293 3.8.6.1).
    Persist = 1,
    /// Delayed acknowledgement (RFC 1122 4.2.3.2, RFC 5681 4.2).
    DelayedAck = 2,
    /// Keep-alive (RFC 1122 4.2.3.6).
    KeepAlive = 3,
    /// TIME-WAIT, 2 MSL (RFC 9293 3.3.2 / 3.6).
    TimeWait = 4,
    /// Tail loss probe (RFC 8985 section 7).
    LossProbe = 5,
    /// Storage of drained socket buffers is given back after this long unused
    /// ([`crate::tcp::conn::BUFFER_LINGER`]).
    Linger = 6,
    /// The path MTU estimate goes back up (RFC 1191 6.3, RFC 8201 4; `pmtu.rs`).
    PathMtu = 7,
    /// The pacer lets the next burst go (`tcp/pace.rs`).
    Pace = 8,
    /// RACK's reordering timer (RFC 8985 6.3): a segment will be deemed lost once its
    /// reordering window has passed.
    RackReorder = 9,
}

const COUNT: usize = 10;
const ALL: [Timer; COUNT] = [
    Timer::Retransmit,
    Timer::Persist,
    Timer::DelayedAck,
    Timer::KeepAlive,
    Timer::TimeWait,
    Timer::LossProbe,
    Timer::Linger,
    Timer::PathMtu,
    Timer::Pace,
    Timer::RackReorder,
];

/// The deadline table.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers {
    at: [Option<Instant>; COUNT],
}

impl Timers {
    /// Arms `t` for `at` (replacing any earlier setting).
    pub fn set(&mut self, t: Timer, at: Instant) {
        self.at[t as usize] = Some(at);
    }

    /// Disarms `t`.
    pub fn stop(&mut self, t: Timer) {
        self.at[t as usize] = None;
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.at = [None; COUNT];
    }

    /// When `t` fires, if armed.
    pub fn get(&self, t: Timer) -> Option<Instant> {
        self.at[t as usize]
    }

    /// Whether `t` is armed.
    pub fn is_set(&self, t: Timer) -> bool {
        self.at[t as usize].is_some()
    }

    /// The earliest deadline of all.
    pub fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// Disarms and returns the timers expired by `now`, in table order.
    pub fn expired(&mut self, now: Instant) -> impl Iterator<Item = Timer> {
        let mut out = [None; COUNT];
        for (i, t) in ALL.iter().enumerate() {
            if self.at[i].is_some_and(|at| at <= now) {
                self.at[i] = None;
                out[i] = Some(*t);
            }
        }
        out.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_expiry() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.set(Timer::DelayedAck, Instant::from_millis(40));
        t.set(Timer::Retransmit, Instant::from_millis(200));
        assert_eq!(t.next(), Some(Instant::from_millis(40)));
        assert_eq!(t.expired(Instant::from_millis(39)).count(), 0);
        let fired: Vec<Timer> = t.expired(Instant::from_millis(200)).collect();
        assert_eq!(fired, [Timer::Retransmit, Timer::DelayedAck]);
        assert_eq!(t.next(), None);
    }
}
