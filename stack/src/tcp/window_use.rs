//! How much of its congestion window the sender used lately, for congestion window
//! validation (RFC 7661; Linux's `max_packets_out` and `cwnd_usage_seq` in
//! `tcp_cwnd_validate`).
//!
//! Reno and CUBIC grow cwnd only while the sender uses it (RFC 7661 4.3, "pipeACK >=
//! (1/2)*cwnd"; RFC 9438 5.8: no growth when application limited). Judged by the flight
//! before each ACK alone, a batch of ACKs taken in before the sender may send again
//! looks application-limited half way through: each ACK of the batch lowers the flight
//! the next one sees, and the sends that refill the window come only after the batch.
//! That is how a runtime works that reads a burst of frames from its device and polls
//! once. Measured over TUN (`benches/loss_race.rs`, CUBIC, 50 ms one way, the kernel's
//! ACKs of a whole round trip arriving within one read): slow start grew cwnd by 1.37x
//! per round trip instead of 2x for its first four rounds, because the second half of
//! each batch grew nothing.
//!
//! So the sender records the most it had in flight just after a transmission, over the
//! current window of data; a window begins at the first transmission after everything
//! sent before the previous one began was acknowledged (Linux's `cwnd_usage_seq`). An
//! algorithm measures its use against the larger of that and the flight before the ACK.

use super::seq::SeqNum;

/// The most the sender had in flight over its current window of data.
#[derive(Clone, Copy, Debug)]
pub struct WindowUse {
    /// SND.MAX when the current window began: the window lasts until it is acknowledged.
    end: SeqNum,
    /// The largest flight (SND.MAX - SND.UNA) just after a transmission in the window.
    most: usize,
}

impl WindowUse {
    /// No use yet; the first transmission begins the first window.
    pub fn new(iss: SeqNum) -> Self {
        WindowUse { end: iss, most: 0 }
    }

    /// A transmission left `flight` bytes outstanding, SND.UNA at `snd_una` and SND.MAX
    /// at `snd_max`. If the previous window is all acknowledged, a new window begins here
    /// and forgets the old one's use (a sender that went application-limited is judged by
    /// what it does now, within one round trip).
    pub fn on_send(&mut self, snd_una: SeqNum, snd_max: SeqNum, flight: usize) {
        if snd_una >= self.end {
            self.end = snd_max;
            self.most = flight;
        } else {
            self.most = self.most.max(flight);
        }
    }

    /// The use an ACK is judged by, given the flight before it: the larger of the two.
    pub fn used(&self, flight_before: usize) -> usize {
        self.most.max(flight_before)
    }

    /// Draft-ietf-ccwg-bbr-06's C.is_cwnd_limited, "the connection has fully utilized
    /// C.cwnd at any point in the last packet-timed round trip": the most in flight over
    /// the current window of data came within one segment (`smss`) of `cwnd`. Judged so,
    /// and not by the flight before each ACK, a batch of ACKs reads as cwnd-limited from
    /// its first ACK to its last when the sender filled its window before the batch.
    pub fn filled(&self, cwnd: usize, smss: usize) -> bool {
        fills(self.most, cwnd, smss)
    }
}

/// Whether a sender that had at most `used` bytes in flight filled a window of `cwnd`:
/// `used` came within one segment (`smss`) of it, since a sender sends whole segments
/// (a window of 10.9 segments carries 10). [`WindowUse::filled`] for BBR's
/// C.is_cwnd_limited; CUBIC's congestion avoidance and its ssthresh base (RFC 9438 4.6).
pub fn fills(used: usize, cwnd: usize, smss: usize) -> bool {
    used.saturating_add(smss) > cwnd
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: u32 = 1000;

    fn seq(n: u32) -> SeqNum {
        SeqNum(ISS.wrapping_add(n))
    }

    /// A window's ACKs taken in as one batch: each sees the flight before it fall, but
    /// the use stays what the sender filled before the batch.
    #[test]
    fn a_batch_of_acks_is_judged_by_the_window_the_sender_filled() {
        let mut w = WindowUse::new(seq(0));
        for i in 1..=20u32 {
            w.on_send(seq(0), seq(i * 1000), i as usize * 1000);
        }
        for acked in 0..20usize {
            assert_eq!(w.used(20_000 - acked * 1000), 20_000);
        }
    }

    /// Draft-ietf-ccwg-bbr-06 C.is_cwnd_limited: a sender that filled its 20-segment
    /// window before a batch of ACKs is cwnd-limited at every ACK of the batch, though the
    /// flight before the later ones has fallen far below cwnd. One that sent 10 segments
    /// into the same window is not, nor is one a whole segment short of filling it; one
    /// less than a segment short is.
    #[test]
    fn filled_is_the_window_the_sender_filled_not_the_flight_before_the_ack() {
        const MSS: usize = 1000;
        let mut w = WindowUse::new(seq(0));
        for i in 1..=20u32 {
            w.on_send(seq(0), seq(i * 1000), i as usize * 1000);
        }
        assert!(w.filled(20 * MSS, MSS));
        // The batch: the flight falls with every ACK; the window stays filled until the
        // next transmission after all of it is acknowledged.
        for acked in 0..20usize {
            assert!(w.used(20_000 - acked * 1000) >= 20_000);
            assert!(w.filled(20 * MSS, MSS), "after {acked} ACKs of the batch");
        }
        let mut half = WindowUse::new(seq(0));
        for i in 1..=10u32 {
            half.on_send(seq(0), seq(i * 1000), i as usize * 1000);
        }
        assert!(!half.filled(20 * MSS, MSS));
        let mut short = WindowUse::new(seq(0));
        short.on_send(seq(0), seq(19_000), 19_000);
        assert!(!short.filled(20 * MSS, MSS));
        short.on_send(seq(0), seq(19_001), 19_001);
        assert!(short.filled(20 * MSS, MSS));
    }

    /// An application that stopped writing: once the window in which it filled the
    /// flight is acknowledged, the next transmission starts a window judged alone.
    #[test]
    fn use_is_forgotten_once_its_window_is_acknowledged() {
        let mut w = WindowUse::new(seq(0));
        w.on_send(seq(0), seq(20_000), 20_000);
        // The peer acknowledged part: same window, use kept.
        w.on_send(seq(10_000), seq(21_000), 11_000);
        assert_eq!(w.used(0), 20_000);
        // All of the first window acknowledged: a new window with its own use.
        w.on_send(seq(20_000), seq(22_000), 2_000);
        assert_eq!(w.used(1_000), 2_000);
        assert_eq!(w.used(3_000), 3_000);
    }

    #[test]
    fn window_marks_survive_sequence_wrap() {
        let mut w = WindowUse::new(SeqNum(u32::MAX - 500));
        w.on_send(SeqNum(u32::MAX - 500), SeqNum(1000), 1501);
        w.on_send(SeqNum(0), SeqNum(2000), 2000);
        assert_eq!(w.used(0), 2000);
    }
}
