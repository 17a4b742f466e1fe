//! Path MTU discovery for a connection (RFC 1191 for IPv4, RFC 8201 for IPv6, RFC 9293
//! 3.7.3): the path MTU estimate that bounds the send MSS, lowered by ICMP
//! "fragmentation needed" / ICMPv6 "packet too big" messages that pass RFC 5927's checks,
//! and raised back to the first hop's MTU after a while.
//!
//! Without ICMP (a path that filters it: a "black hole"), RFC 4821's full-stop timeout
//! stands in: consecutive retransmission timeouts of segments larger than a base size
//! lower the estimate as if a report had come ([`Connection::pmtu_on_rto`]). There is no
//! probing upward (the rest of RFC 4821): the raise timer takes the estimate back up.
//!
//! The interface is small so that both IP versions call the same code:
//! [`Connection::on_icmp_too_big`] with the quoted sequence number and the reported MTU,
//! and [`PathMtu::mss_for_path`] for the segment size. The estimate is per connection
//! (Linux keeps it per destination, in its route cache; a connection is the unit the
//! checks of RFC 5927 are made against).

use super::conn::Connection;
use super::seq::SeqNum;
use super::timer::Timer;
use crate::stats::Stats;
use crate::time::{Duration, Instant};

const LOG: &str = "tunstack::tcp";

/// RFC 1191 sections 3 and 6.3, RFC 8201 section 4: an estimate lowered by a too-big
/// message is raised to the first hop's MTU again after this long: not sooner than 5
/// minutes after the message, and twice that is the recommended setting.
pub const PMTU_RAISE_AFTER: Duration = Duration::from_secs(600);

/// The lowest path MTU estimate for IPv4. RFC 1191 section 3 forbids going below 68;
/// like Linux (`min_pmtu`, 552) tunstack keeps a higher floor, 576 (the datagram size
/// every IPv4 host must take, RFC 791 / RFC 1122 3.3.2), because a report below it is
/// more likely forged (RFC 5927 section 7) than true. A report below the floor sets the
/// estimate to the floor and clears DF for the connection, so that a link that really is
/// smaller still carries its segments, fragmented (as Linux's "locked" route MTU does).
pub const MIN_PMTU_V4: usize = 576;

/// The lowest path MTU estimate for IPv6: its minimum link MTU (RFC 8200 section 5).
/// RFC 8201 section 4: a Packet Too Big reporting less is discarded.
pub const MIN_PMTU_V6: usize = 1280;

/// RFC 4821 7.2: the base estimate a suspected black hole falls back to first, for
/// IPv4 ("a value of 1024 bytes is probably safe enough"; Linux's `tcp_base_mss` is the
/// same less headers). IPv6 falls back to its minimum, 1280.
pub const BLACK_HOLE_BASE_V4: usize = 1024;

/// RFC 1191 section 7: the plateau table, for routers that report a next-hop MTU of
/// zero (section 5, "host processing of old-style messages").
const PLATEAUS: [usize; 11] = [
    65_535, 32_000, 17_914, 8_166, 4_352, 2_002, 1_492, 1_006, 508, 296, 68,
];

/// RFC 1191 section 5: the estimate for an old-style message (next-hop MTU zero): the
/// largest plateau below the total length of the datagram the message quotes.
pub fn plateau_below(total_len: usize) -> usize {
    PLATEAUS
        .iter()
        .copied()
        .find(|&p| p < total_len)
        .unwrap_or(68)
}

/// Why a too-big message did not lower the estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooBigIgnored {
    /// RFC 5927 section 4.1: the quoted sequence number is not in SND.UNA..SND.NXT.
    OutOfWindow,
    /// RFC 1191 section 3: the reported MTU is not below the current estimate.
    NotSmaller,
    /// RFC 8201 section 4: an IPv6 report below 1280.
    BelowMinimum,
    /// The connection sends nothing any more (CLOSED, LISTEN, TIME-WAIT).
    NotSending,
}

/// The path MTU state of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathMtu {
    /// The first hop's MTU (the interface's): the estimate never exceeds it.
    link_mtu: usize,
    /// The current estimate.
    mtu: usize,
    /// IP and TCP fixed headers: 40 for IPv4, 60 for IPv6 (RFC 9293 3.7.1: the MSS is
    /// the MTU less the fixed headers).
    overhead: usize,
    /// The lowest estimate ([`MIN_PMTU_V4`], [`MIN_PMTU_V6`]).
    floor: usize,
    ipv6: bool,
    /// Whether IPv4 segments carry DF (RFC 1191 section 3); false once a report below the
    /// floor forced the estimate up to it.
    df: bool,
    /// The MSS the peer announced (536 or 1220 until its SYN says otherwise, RFC 9293
    /// 3.7.1).
    peer_mss: usize,
    /// When the estimate goes back to `link_mtu` (RFC 1191 6.3), while it is lower.
    raise_at: Option<Instant>,
    /// Consecutive timeouts that count as a full-stop timeout (RFC 4821 7.7); 0: black
    /// hole detection off.
    black_hole_rtos: u32,
    /// The end of the first full-sized segment sent at the current estimate, once one
    /// was: when SND.UNA passes it, the path has carried that size (RFC 4821 7.8's
    /// verification, by the data itself) and timeouts are loss, not a black hole.
    full_sent_end: Option<SeqNum>,
    /// A full-sized segment sent at the current estimate has been acknowledged.
    verified: bool,
}

impl PathMtu {
    /// The state of a new connection whose first hop has MTU `link_mtu`.
    pub fn new(link_mtu: usize, ipv6: bool) -> PathMtu {
        PathMtu {
            link_mtu,
            mtu: link_mtu,
            overhead: if ipv6 { 60 } else { 40 },
            floor: if ipv6 { MIN_PMTU_V6 } else { MIN_PMTU_V4 },
            ipv6,
            df: true,
            // RFC 9293 3.7.1: the default send MSS until the peer's SYN says otherwise.
            peer_mss: usize::from(super::conn::default_mss(ipv6)),
            raise_at: None,
            black_hole_rtos: 0,
            full_sent_end: None,
            verified: false,
        }
    }

    /// A new estimate is unverified: a full-sized segment must get through again.
    fn unverify(&mut self) {
        self.full_sent_end = None;
        self.verified = false;
    }

    /// Turns black hole detection on: every `rtos` consecutive timeouts (0: off).
    pub fn with_black_hole_rtos(mut self, rtos: u32) -> PathMtu {
        self.black_hole_rtos = rtos;
        self
    }

    /// The path MTU estimate.
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// Whether IPv4 segments leave with DF set.
    pub fn dont_frag(&self) -> bool {
        self.df
    }

    /// When the estimate is raised again, if it is lowered.
    pub fn raise_at(&self) -> Option<Instant> {
        self.raise_at
    }

    /// RFC 9293 3.7.3 / RFC 1191 section 3: the send MSS is the smaller of the peer's MSS
    /// and the path MTU less the fixed IP and TCP headers (options are taken off by the
    /// sender, RFC 6691).
    pub fn mss_for_path(&self) -> usize {
        self.peer_mss
            .min(self.mtu.saturating_sub(self.overhead))
            .max(8)
    }

    /// RFC 1191 section 3 / RFC 8201 section 4: a too-big message reporting `reported`
    /// (0: an old-style message, RFC 1191 section 5) about a datagram of `quoted_len`
    /// bytes. Returns the new estimate when it went down.
    pub fn on_too_big(
        &mut self,
        reported: usize,
        quoted_len: usize,
        now: Instant,
    ) -> Result<usize, TooBigIgnored> {
        let mut mtu = reported;
        if mtu == 0 && !self.ipv6 {
            // RFC 1191 section 5: guess from the plateau table, below the length of the
            // datagram that was too big (or below the estimate if that was not quoted).
            let len = if quoted_len > 0 { quoted_len } else { self.mtu };
            mtu = plateau_below(len.min(self.mtu));
        }
        if self.ipv6 && mtu < self.floor {
            // RFC 8201 section 4: "it must discard it".
            return Err(TooBigIgnored::BelowMinimum);
        }
        // RFC 1191 section 3: "A host MUST not increase its estimate of the Path MTU in
        // response to the contents of a Datagram Too Big message".
        if mtu >= self.mtu {
            return Err(TooBigIgnored::NotSmaller);
        }
        if mtu < self.floor {
            // Below the floor: the floor, sent without DF (see MIN_PMTU_V4).
            mtu = self.floor;
            self.df = false;
            if mtu >= self.mtu {
                return Err(TooBigIgnored::NotSmaller);
            }
        }
        self.mtu = mtu;
        self.raise_at = Some(now + PMTU_RAISE_AFTER);
        self.unverify();
        Ok(mtu)
    }

    /// RFC 4821 7.7: a full-stop timeout, with no ICMP message to explain it, is first
    /// taken as a drop in the path MTU: the estimate falls to the base (7.2: 1024 for
    /// IPv4, 1280 for IPv6); if it already is there, an IPv4 estimate falls to the floor
    /// and DF is cleared (as a report below the floor does), so that fragmentation can
    /// carry the segments where nothing else gets through. Returns the new estimate.
    pub fn on_black_hole(&mut self, now: Instant) -> Option<usize> {
        let base = if self.ipv6 {
            MIN_PMTU_V6
        } else {
            BLACK_HOLE_BASE_V4
        };
        if self.mtu > base {
            self.mtu = base;
        } else if !self.ipv6 && (self.mtu > self.floor || self.df) {
            self.mtu = self.mtu.min(self.floor);
            self.df = false;
        } else {
            return None;
        }
        self.raise_at = Some(now + PMTU_RAISE_AFTER);
        self.unverify();
        Some(self.mtu)
    }

    /// RFC 1191 section 6.3 / RFC 8201 section 4: the estimate goes back to the first
    /// hop's MTU once its timer is over; DF is set again. Returns whether it rose.
    pub fn on_raise_timer(&mut self, now: Instant) -> bool {
        match self.raise_at {
            Some(at) if at <= now => {
                self.raise_at = None;
                self.df = true;
                let rose = self.mtu < self.link_mtu;
                self.mtu = self.link_mtu;
                if rose {
                    self.unverify();
                }
                rose
            }
            _ => false,
        }
    }
}

impl Connection {
    /// Takes the MSS the peer announced (RFC 9293 3.7.1) and sets the send MSS from it
    /// and the path MTU.
    pub(crate) fn set_peer_mss(&mut self, peer_mss: usize) {
        self.pmtu.peer_mss = peer_mss;
        self.opts.smss = self.pmtu.mss_for_path();
    }

    /// An ICMP "fragmentation needed" (RFC 1191 section 4) or ICMPv6 "packet too big"
    /// (RFC 8201 section 4) quoting one of our segments with sequence number
    /// `quoted_seq`, reporting next-hop MTU `mtu` about a datagram of `quoted_len` bytes.
    ///
    /// RFC 5927 section 4.1 (against section 7's attack on PMTUD): the message is
    /// believed only if the quoted sequence number lies in SND.UNA =< SEG.SEQ < SND.NXT
    /// (data we sent and the peer has not acknowledged; SND.NXT as the RFC means it, the
    /// highest sent, `snd_max`); otherwise it is ignored and counted in
    /// TcpExtOutOfWindowIcmps, as Linux counts it.
    ///
    /// A believed message lowers the estimate and the send MSS (RFC 1191 6.4, RFC 8201
    /// 5.4: TCP's actions), and the flight is sent again at once in segments of the new
    /// size, since segments the old size were dropped. RFC 8201 5.4: such a
    /// retransmission "should not change the congestion window"; cwnd and ssthresh stay.
    /// (It goes on to ask for one segment at a time until acknowledgements return;
    /// tunstack does as Linux's `tcp_simple_retransmit`: the whole flight within the
    /// unchanged window, in bytes, so no more bytes are sent than were lost.) Karn's rule
    /// applies to the resent data.
    pub fn on_icmp_too_big(
        &mut self,
        quoted_seq: SeqNum,
        mtu: usize,
        quoted_len: usize,
        now: Instant,
        stats: &mut Stats,
    ) -> Result<usize, TooBigIgnored> {
        if !self.takes_icmp_errors() {
            return Err(TooBigIgnored::NotSending);
        }
        if !self.icmp_quote_in_flight(quoted_seq, stats) {
            return Err(TooBigIgnored::OutOfWindow);
        }
        let old_mss = self.payload_mss();
        let new_mtu = self.pmtu.on_too_big(mtu, quoted_len, now)?;
        stats.tcp_pmtu_lowered += 1;
        self.opts.smss = self.pmtu.mss_for_path();
        let new_mss = self.payload_mss();
        self.cc.set_mss(new_mss);
        if let Some(at) = self.pmtu.raise_at() {
            self.timers.set(Timer::PathMtu, at);
        }
        log::debug!(target: LOG, "{} -> {}: path MTU {} (MSS {} -> {})",
            self.local, self.remote, new_mtu, old_mss, new_mss);
        if new_mss < old_mss && self.snd_max != self.snd_una && self.state.is_synchronized() {
            self.resend_flight_smaller();
        }
        Ok(new_mtu)
    }

    /// Everything in flight goes again from SND.UNA, at the new segment size, without
    /// the congestion response of a timeout: no cwnd or ssthresh change, no RTO back-off.
    /// Recovery state (fast recovery, SACK, PRR) ends as after a timeout, since the
    /// go-back resends what it would have repaired.
    fn resend_flight_smaller(&mut self) {
        self.go_back_to_una();
        self.tlp_reset();
        self.trace.why(super::trace::Cause::Pmtu);
    }

    /// Notes a segment sent (from the output path): the first full-sized one at the
    /// current estimate marks where the path's verification waits (RFC 4821 7.8).
    pub(crate) fn pmtu_note_sent(&mut self, seq: SeqNum, len: usize) {
        let mss = self.payload_mss();
        if self.pmtu.black_hole_rtos > 0 && self.pmtu.full_sent_end.is_none() && len >= mss {
            self.pmtu.full_sent_end = Some(seq + mss);
        }
    }

    /// Whether a full-sized segment at the current estimate has been acknowledged (SND.UNA
    /// passed the first one sent).
    fn pmtu_verified(&mut self) -> bool {
        if !self.pmtu.verified {
            self.pmtu.verified = self
                .pmtu
                .full_sent_end
                .is_some_and(|end| self.snd_una >= end);
        }
        self.pmtu.verified
    }

    /// RFC 4821 7.7 (black hole detection), from the retransmission timeout: after every
    /// `black_hole_rtos` consecutive timeouts (Linux's `tcp_mtu_probing` waits for
    /// `tcp_retries1`, 3) of a segment larger than the base estimate allows, the estimate
    /// is lowered as [`PathMtu::on_black_hole`] says, and the retransmission that follows
    /// goes at the new size. Small segments lost are not a sign of a black hole, nor are
    /// timeouts once a full-sized segment at this estimate has been acknowledged (random
    /// loss, as `--loss 5%` makes, then never shrinks the segments).
    pub(crate) fn pmtu_on_rto(&mut self, now: Instant, stats: &mut Stats) {
        let every = self.pmtu.black_hole_rtos;
        if every == 0 || !self.state.is_synchronized() || !self.rto_count.is_multiple_of(every) {
            return;
        }
        if self.pmtu_verified() {
            // Full-sized segments have got through at this estimate: the timeouts are
            // loss (a black hole appearing later, on a route change, goes unnoticed
            // until the raise timer resets the estimate).
            return;
        }
        let mut lowered = self.pmtu;
        let Some(mtu) = lowered.on_black_hole(now) else {
            return;
        };
        let opt = self.opts.smss - self.payload_mss();
        let new_payload = lowered.mss_for_path().saturating_sub(opt).max(1);
        let at_una = self.snd_max.since(self.snd_una).min(self.payload_mss());
        // Worth it when the segment at SND.UNA shrinks, or is full-sized at the floor and
        // loses DF; a small segment lost is no sign of a black hole.
        let shrinks = at_una > new_payload;
        let unblocks = self.pmtu.dont_frag() && !lowered.dont_frag() && at_una >= new_payload;
        if !shrinks && !unblocks {
            return;
        }
        self.pmtu = lowered;
        stats.tcp_pmtu_black_holes += 1;
        self.opts.smss = self.pmtu.mss_for_path();
        self.cc.set_mss(self.payload_mss());
        self.timers.set(Timer::PathMtu, now + PMTU_RAISE_AFTER);
        log::debug!(target: LOG, "{} -> {}: {} timeouts, black hole suspected: path MTU {} (MSS {})",
            self.local, self.remote, self.rto_count, mtu, self.payload_mss());
    }

    /// RFC 1191 section 6.3 / RFC 8201 section 4: the path MTU timer fired: back to the
    /// first hop's MTU (a smaller path answers again, and the estimate goes down again).
    pub(crate) fn on_pmtu_raise_timer(&mut self, now: Instant, stats: &mut Stats) {
        if self.pmtu.on_raise_timer(now) {
            stats.tcp_pmtu_raised += 1;
            self.opts.smss = self.pmtu.mss_for_path();
            self.cc.set_mss(self.payload_mss());
            log::debug!(target: LOG, "{} -> {}: path MTU raised to {} (MSS {})",
                self.local, self.remote, self.pmtu.mtu(), self.payload_mss());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::from_secs(5);

    /// RFC 1191 section 7's table, used as section 5 says: the largest plateau below the
    /// quoted length.
    #[test]
    fn plateau_is_the_largest_below_the_quoted_length() {
        assert_eq!(plateau_below(1500), 1492);
        assert_eq!(plateau_below(1492), 1006);
        assert_eq!(plateau_below(1006), 508);
        assert_eq!(plateau_below(65_535), 32_000);
        assert_eq!(plateau_below(68), 68);
        assert_eq!(plateau_below(0), 68);
    }

    /// RFC 9293 3.7.3: the MSS is the smaller of the peer's and the path MTU's.
    #[test]
    fn mss_for_path_is_bounded_by_peer_and_path() {
        let mut p = PathMtu::new(1500, false);
        p.peer_mss = 1460;
        assert_eq!(p.mss_for_path(), 1460);
        assert_eq!(p.on_too_big(1000, 1500, T0), Ok(1000));
        assert_eq!(p.mss_for_path(), 960);
        let mut p6 = PathMtu::new(1500, true);
        p6.peer_mss = 1440;
        assert_eq!(p6.mss_for_path(), 1440);
        assert_eq!(p6.on_too_big(1280, 1500, T0), Ok(1280));
        assert_eq!(p6.mss_for_path(), 1220);
    }

    /// RFC 1191 section 3: a report not below the estimate changes nothing.
    #[test]
    fn larger_or_equal_report_is_ignored() {
        let mut p = PathMtu::new(1500, false);
        assert_eq!(p.on_too_big(1500, 1500, T0), Err(TooBigIgnored::NotSmaller));
        assert_eq!(p.on_too_big(9000, 1500, T0), Err(TooBigIgnored::NotSmaller));
        assert_eq!(p.mtu(), 1500);
        assert_eq!(p.raise_at(), None);
        assert_eq!(p.on_too_big(1200, 1500, T0), Ok(1200));
        assert_eq!(p.on_too_big(1400, 1500, T0), Err(TooBigIgnored::NotSmaller));
        assert_eq!(p.mtu(), 1200);
    }

    /// RFC 1191 section 3 (never below 68; tunstack's floor 576) for IPv4: clamped, DF
    /// off. RFC 8201 section 4 for IPv6: below 1280 discarded.
    #[test]
    fn reports_below_the_floor() {
        let mut p = PathMtu::new(1500, false);
        assert_eq!(p.on_too_big(300, 1500, T0), Ok(MIN_PMTU_V4));
        assert!(!p.dont_frag());
        assert_eq!(p.on_too_big(100, 576, T0), Err(TooBigIgnored::NotSmaller));
        assert_eq!(p.mtu(), 576);
        let mut p6 = PathMtu::new(1500, true);
        assert_eq!(
            p6.on_too_big(1000, 1500, T0),
            Err(TooBigIgnored::BelowMinimum)
        );
        assert_eq!(p6.mtu(), 1500);
    }

    /// RFC 1191 section 5: a zero next-hop MTU takes the plateau below the quoted length.
    #[test]
    fn zero_report_uses_the_plateau_table() {
        let mut p = PathMtu::new(1500, false);
        assert_eq!(p.on_too_big(0, 1500, T0), Ok(1492));
        assert_eq!(p.on_too_big(0, 1492, T0), Ok(1006));
        assert!(p.dont_frag());
    }

    /// RFC 4821 7.7 and 7.2: a black hole takes the estimate to 1024, then (IPv4) to the
    /// floor without DF; IPv6 to 1280 and no further.
    #[test]
    fn black_hole_steps() {
        let mut p = PathMtu::new(1500, false);
        assert_eq!(p.on_black_hole(T0), Some(1024));
        assert!(p.dont_frag());
        assert_eq!(p.on_black_hole(T0), Some(576));
        assert!(!p.dont_frag());
        assert_eq!(p.on_black_hole(T0), None);
        let mut p6 = PathMtu::new(1500, true);
        assert_eq!(p6.on_black_hole(T0), Some(1280));
        assert_eq!(p6.on_black_hole(T0), None);
    }

    /// RFC 1191 section 6.3: ten minutes after the last decrease the estimate is the
    /// first hop's MTU again, with DF.
    #[test]
    fn raise_timer_restores_the_link_mtu() {
        let mut p = PathMtu::new(1500, false);
        p.on_too_big(200, 1500, T0).unwrap();
        assert_eq!(p.raise_at(), Some(T0 + PMTU_RAISE_AFTER));
        assert!(!p.on_raise_timer(T0 + PMTU_RAISE_AFTER - Duration::from_millis(1)));
        assert_eq!(p.mtu(), 576);
        assert!(p.on_raise_timer(T0 + PMTU_RAISE_AFTER));
        assert_eq!(p.mtu(), 1500);
        assert!(p.dont_frag());
        assert_eq!(p.raise_at(), None);
    }
}
