//! Receive-buffer autotuning: the receive buffer, and with it the most window a
//! connection offers, grows to hold what the application reads in two round trips, as
//! Linux's dynamic right-sizing does (`tcp_rcv_space_adjust`, after Fisk and Feng,
//! "Dynamic right-sizing in TCP", 2001).
//!
//! RFC 9293 3.8.6 leaves the buffer's size to the implementation and RFC 7323 2.3 the
//! window scale to the largest window the receiver will ever offer: the shift is chosen
//! for `TcpConfig::recv_buffer_max` at the SYN, so the buffer can grow later. A window
//! offered is never taken back (RFC 9293 3.8.6.2.2), so the buffer only grows.
//!
//! Once per receiver round trip, the bytes the application read in it (`copied`) are
//! compared with the last round trip's (`space`); when they grew, the buffer becomes
//! `2 * copied + 16 * SMSS` (two round trips of what the reader takes, so the sender's
//! window is never what holds it back), plus twice the growth in proportion while the
//! sender is still doubling (slow start), within `recv_buffer_max`: Linux's rule. A
//! connection whose application reads slowly, or not at all, keeps the buffer it started
//! with; the window is then what the application takes, and memory goes only to
//! connections that move data.
//!
//! The receiver's round-trip time comes from the timestamps the peer echoes (RFC 7323
//! 4.1: TSecr of a full-sized data segment against our clock, as Linux's
//! `tcp_rcv_rtt_measure_ts`), smoothed with gain 1/8; without timestamps, from the
//! connection's own smoothed RTT when it has one (it sends too). A connection with
//! neither keeps its buffer (Linux also times a window's worth of data; not done here).

use crate::time::{Duration, Instant};

/// The autotuning state of one connection.
#[derive(Clone, Debug)]
pub struct RcvTune {
    /// The most the buffer may grow to; at or below the starting size, autotuning is off.
    max: usize,
    /// The receiver's round-trip estimate, smoothed.
    rtt: Option<Duration>,
    /// Bytes the application read in the last round trip that grew the buffer
    /// (Linux's `rcvq_space.space`).
    space: usize,
    /// Bytes read over the connection's life when this round trip began.
    read_at_start: u64,
    /// When this round trip began.
    start: Instant,
}

impl RcvTune {
    /// Autotuning up to `max` bytes for a connection with SMSS `smss`; the first round
    /// trip counts from `now`. The starting `space` is ten segments (Linux's
    /// `tcp_init_buffer_space`: the initial window's worth).
    pub fn new(max: usize, smss: usize, now: Instant) -> Self {
        RcvTune {
            max,
            rtt: None,
            space: 10 * smss.max(1),
            read_at_start: 0,
            start: now,
        }
    }

    /// Whether the buffer can grow at all.
    pub fn enabled(&self, capacity: usize) -> bool {
        self.max > capacity
    }

    /// The receiver's round-trip estimate.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// A round-trip sample (from a timestamp echo): EWMA with gain 1/8, 1 ms at least
    /// (the timestamp clock's tick).
    pub fn on_rtt_sample(&mut self, sample: Duration) {
        let sample = sample.max(Duration::from_millis(1));
        self.rtt = Some(match self.rtt {
            None => sample,
            Some(old) => {
                let us = (old.total_micros() * 7 + sample.total_micros()) / 8;
                Duration::from_micros(us)
            }
        });
    }

    /// The application has read `read_total` bytes over the connection's life, at
    /// `now`; `fallback_rtt` stands in when no timestamp sample came. Returns the new
    /// buffer size when a round trip ended and the buffer is to grow past `capacity`.
    pub fn on_read(
        &mut self,
        now: Instant,
        read_total: u64,
        capacity: usize,
        smss: usize,
        fallback_rtt: Option<Duration>,
    ) -> Option<usize> {
        if !self.enabled(capacity) {
            return None;
        }
        let rtt = self.rtt.or(fallback_rtt)?;
        if now < self.start + rtt {
            return None;
        }
        let copied =
            usize::try_from(read_total.saturating_sub(self.read_at_start)).unwrap_or(usize::MAX);
        self.read_at_start = read_total;
        self.start = now;
        if copied <= self.space {
            return None;
        }
        // Linux's `tcp_rcv_space_adjust`: two round trips of what was read, 16 segments
        // of slack, and twice the growth again while it is growing.
        let base = copied.saturating_mul(2).saturating_add(16 * smss);
        let grew = copied - self.space;
        let extra = (base as u128 * grew as u128 / self.space.max(1) as u128)
            .min(usize::MAX as u128) as usize;
        let want = base.saturating_add(extra.saturating_mul(2)).min(self.max);
        self.space = copied;
        (want > capacity).then_some(want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1448;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn at(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    /// Without an RTT nothing is measured; with one, a round trip must pass first.
    #[test]
    fn waits_for_a_round_trip() {
        let mut t = RcvTune::new(4 << 20, MSS, at(0));
        assert_eq!(t.on_read(at(5), 1 << 20, 256 << 10, MSS, None), None);
        t.on_rtt_sample(ms(20));
        assert_eq!(t.on_read(at(10), 1 << 20, 256 << 10, MSS, None), None);
        assert!(t.on_read(at(20), 1 << 20, 256 << 10, MSS, None).is_some());
    }

    /// A reader taking more each round trip grows the buffer to twice that plus slack
    /// and the growth term, within the maximum; a steady reader stops the growth.
    #[test]
    fn grows_with_what_the_reader_takes_within_the_maximum() {
        let mut t = RcvTune::new(4 << 20, MSS, at(0));
        t.on_rtt_sample(ms(10));
        // Round trip 1: 100 KB read against the starting 10 segments.
        let read = 100_000u64;
        let got = t.on_read(at(10), read, 64 << 10, MSS, None).expect("grows");
        let base = 200_000 + 16 * MSS;
        let extra = base * (100_000 - 10 * MSS) / (10 * MSS);
        assert_eq!(got, (base + 2 * extra).min(4 << 20));
        // Round trip 2: the same 100 KB again: no growth.
        assert_eq!(t.on_read(at(20), 2 * read, got, MSS, None), None);
        // Round trip 3: 3 MB: capped at the maximum.
        assert_eq!(
            t.on_read(at(30), 2 * read + 3_000_000, got, MSS, None),
            Some(4 << 20)
        );
        // At the maximum: off.
        assert!(!t.enabled(4 << 20));
        assert_eq!(t.on_read(at(40), 10_000_000, 4 << 20, MSS, None), None);
    }

    /// A reader that takes less than the buffer already holds never grows it.
    #[test]
    fn slow_reader_keeps_the_buffer() {
        let mut t = RcvTune::new(4 << 20, MSS, at(0));
        t.on_rtt_sample(ms(10));
        let mut read = 0;
        for rt in 1..50 {
            read += 4 * MSS as u64;
            assert_eq!(t.on_read(at(rt * 10), read, 256 << 10, MSS, None), None);
        }
    }

    /// Without timestamps the connection's own RTT stands in.
    #[test]
    fn falls_back_to_the_connection_rtt() {
        let mut t = RcvTune::new(4 << 20, MSS, at(0));
        assert!(t
            .on_read(at(50), 1 << 20, 256 << 10, MSS, Some(ms(50)))
            .is_some());
    }

    /// Samples are smoothed with gain 1/8, and never below the 1 ms tick.
    #[test]
    fn rtt_is_smoothed() {
        let mut t = RcvTune::new(4 << 20, MSS, at(0));
        t.on_rtt_sample(Duration::ZERO);
        assert_eq!(t.rtt(), Some(ms(1)));
        t.on_rtt_sample(ms(81));
        assert_eq!(t.rtt(), Some(ms(11)));
    }
}
