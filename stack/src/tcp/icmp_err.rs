//! ICMP and ICMPv6 errors other than "too big" (that is `pmtu.rs`) for one connection.
//!
//! RFC 9293 3.9.2.2 (from RFC 1122 4.2.3.9) sorts them:
//! - **soft errors**: destination unreachable codes 0, 1 and 5 (net, host, source route),
//!   time exceeded and parameter problem. A TCP implementation MUST NOT abort the
//!   connection (MUST-56) and SHOULD make the information available to the application
//!   (SHLD-25): the connection remembers the latest one, and if it later gives up (its
//!   retransmissions or keep-alives unanswered) the application is told that error
//!   rather than a bare time-out, as Linux reports `sk_err_soft`. An ACK of new data
//!   forgets it.
//! - **hard errors**: codes 2 and 3 (protocol and port unreachable; code 4 is PMTUD's).
//!   The connection SHOULD be aborted (SHLD-26), but RFC 5461 section 4 recommends treating
//!   them as soft in the synchronized states, where a transient routing fault should not
//!   kill an established connection (and a forged error could). So they abort only a
//!   connection that is not yet synchronized (SYN-SENT, SYN-RECEIVED): `connect` fails
//!   at once with "connection refused", as with a RST.
//!
//! The other unreachable codes (unknown network or host, isolated, prohibited, for the
//! type of service, filtered) are soft errors here, like 0 and 1. For ICMPv6 (RFC 4443
//! 3.1), port unreachable is the hard error and the rest of destination unreachable is
//! soft, as RFC 5461 section 4 lists them.
//!
//! Every error is checked first as RFC 5927 4.1 asks: the quoted sequence number must lie
//! in SND.UNA..SND.NXT (what we have sent and not had acknowledged), else the error is
//! ignored and counted in `TcpExtOutOfWindowIcmps`, as Linux's `tcp_v4_err` does.

use super::conn::{ConnError, Connection};
use super::state::State;
use super::SeqNum;
use crate::stats::Stats;
use crate::time::Instant;

const LOG: &str = "tunstack::tcp";

/// What an ICMP error reports about the path to the peer, as the application is told it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreachable {
    /// The network (or its route) is unreachable: net unreachable or unknown, ICMPv6 no
    /// route or reject route (`NetworkUnreachable`).
    Network,
    /// The host is unreachable: host unreachable or unknown, time exceeded, parameter
    /// problem, administratively prohibited, ICMPv6 address unreachable
    /// (`HostUnreachable`).
    Host,
    /// Port or protocol unreachable: nothing listens there (`ConnectionRefused`).
    Port,
}

/// How a connection took an ICMP error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpOutcome {
    /// Remembered as the soft error, for the application if the connection times out.
    Soft,
    /// The connection was aborted (a hard error before synchronization).
    Aborted,
}

/// Why an ICMP error was ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpIgnored {
    /// The quoted sequence number is outside SND.UNA..SND.NXT (RFC 5927 4.1).
    OutOfWindow,
    /// The connection is not sending (closed, listening, in TIME-WAIT).
    NotSending,
}

impl Connection {
    /// An ICMP error (`what`, `hard` per RFC 9293 3.9.2.2) quoting one of our segments with
    /// sequence number `quoted_seq`. See the [module documentation](self).
    pub fn on_icmp_error(
        &mut self,
        quoted_seq: SeqNum,
        what: Unreachable,
        hard: bool,
        now: Instant,
        stats: &mut Stats,
    ) -> Result<IcmpOutcome, IcmpIgnored> {
        if !self.takes_icmp_errors() {
            return Err(IcmpIgnored::NotSending);
        }
        if !self.icmp_quote_in_flight(quoted_seq, stats) {
            return Err(IcmpIgnored::OutOfWindow);
        }
        let error = ConnError::Unreachable(what);
        if hard && !self.state.is_synchronized() {
            log::debug!(target: LOG, "{} -> {}: {what:?} unreachable in {:?}: aborted",
                self.local, self.remote, self.state);
            if self.state == State::SynSent {
                stats.tcp_attempt_fails += 1;
            }
            self.enter_closed(Some(error), now);
            return Ok(IcmpOutcome::Aborted);
        }
        self.soft_error = Some(error);
        Ok(IcmpOutcome::Soft)
    }

    /// Whether the connection has segments an ICMP error could be about (not closed,
    /// listening or in TIME-WAIT).
    pub(crate) fn takes_icmp_errors(&self) -> bool {
        !matches!(self.state, State::Closed | State::Listen | State::TimeWait)
    }

    /// RFC 5927 4.1, for every ICMP error to TCP (too-big ones in `pmtu.rs` too): the
    /// quoted sequence number must lie in SND.UNA =< SEG.SEQ < SND.NXT (SND.NXT as the RFC
    /// means it, the highest sent: `snd_max`), data we sent and the peer has not
    /// acknowledged; otherwise the message is ignored and counted in
    /// `TcpExtOutOfWindowIcmps`, as Linux's `tcp_v4_err` counts it.
    pub(crate) fn icmp_quote_in_flight(&self, quoted_seq: SeqNum, stats: &mut Stats) -> bool {
        let in_flight = quoted_seq >= self.snd_una && quoted_seq < self.snd_max;
        if !in_flight {
            stats.tcp_out_of_window_icmps += 1;
            log::debug!(target: LOG, "{} -> {}: ICMP error quoting {} outside {}..{} ignored",
                self.local, self.remote, quoted_seq, self.snd_una, self.snd_max);
        }
        in_flight
    }

    /// The error to report when the connection gives up on an unanswered peer: the soft
    /// error an ICMP message left, if any (RFC 9293 3.9.2.2 SHLD-25), else a time-out.
    pub(crate) fn timeout_error(&self) -> ConnError {
        self.soft_error.unwrap_or(ConnError::TimedOut)
    }
}
