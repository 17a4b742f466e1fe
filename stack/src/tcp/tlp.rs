//! The tail loss probe (RFC 8985 section 7): when the tail of a flight gets no ACK, one
//! segment is sent after a probe timeout (PTO) of about two round trips, so that the
//! ACK it draws lets RACK (`rack.rs`) find the loss instead of waiting for the RTO.
//!
//! RFC 8985 7.2 arms the probe only on connections with SACK: without SACK the probe's
//! ACK cannot show which segment was lost, so a tail loss there is repaired by the
//! retransmission timeout (RFC 6298).
//!
//! The probe's state is [`Tlp`]; the rest of the connection talks to it through the
//! `tlp_*` methods below.

use super::conn::Connection;
use super::output::{Outgoing, OutputCtx};
use super::seq::SeqNum;
use super::timer::Timer;
use super::trace::Cause;
use crate::stats::Stats;
use crate::time::{Duration, Instant};

const LOG: &str = "tunstack::tcp";

/// One connection's tail-loss-probe state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlp {
    /// Probes are on (configuration, `TcpConfig::tail_loss_probe`).
    enabled: bool,
    /// A probe is outstanding (RFC 8985 7.3: one per flight), until new data is
    /// acknowledged or SACKed.
    out: bool,
    /// The probe timer fired: the next dispatch sends the probe.
    due: bool,
    /// RFC 8985 7.4: the probe episode (TLP.end_seq, TLP.is_retrans), until its ACK
    /// tells whether the probe repaired a loss.
    end: Option<(SeqNum, bool)>,
}

impl Tlp {
    /// A probe episode (RFC 8985 7.4) waits for the ACK that ends it.
    pub(crate) fn episode_open(&self) -> bool {
        self.end.is_some()
    }

    /// Probes on or off.
    pub fn new(enabled: bool) -> Tlp {
        Tlp {
            enabled,
            out: false,
            due: false,
            end: None,
        }
    }
}

impl Connection {
    /// RFC 8985 7.2's conditions for a probe: the connection has SACK, data is
    /// outstanding, it is not in loss recovery, no probe is outstanding, and nothing is
    /// SACKed (which RACK would handle).
    pub(crate) fn tlp_may_fire(&self) -> bool {
        self.tlp.enabled
            && self.opts.sack
            && self.snd_max != self.snd_una
            && !self.in_recovery()
            && !self.tlp.out
            && self.state.is_synchronized()
            && self.scoreboard.is_empty()
    }

    /// RFC 8985 section 7.2: arms the tail loss probe timer, PTO = 2 * SRTT (plus
    /// TLP.max_ack_delay when one segment is in flight: 7.2 leaves its value to the
    /// implementation; 40 ms is Linux's minimum delayed ACK, `TCP_DELACK_MIN`), at most
    /// until the RTO would fire: a lost tail then costs a couple of round trips, not an
    /// RTO. Stops it when no probe may be sent.
    ///
    /// Departures: PTO is at least 10 ms, as Linux's `tcp_schedule_loss_probe` floors it;
    /// and without an SRTT no probe is armed, where 7.2 says a PTO of 1 s (and Linux
    /// arms one): the initial RTO, 1 s too (RFC 6298 2.1), covers the tail then.
    pub(crate) fn arm_tlp(&mut self, now: Instant) {
        let Some(srtt) = self.rtt.srtt() else {
            return;
        };
        if !self.tlp_may_fire() {
            self.timers.stop(Timer::LossProbe);
            return;
        }
        let mut pto = srtt.saturating_mul(2).max(Duration::from_millis(10));
        if self.snd_max.since(self.snd_una) <= self.payload_mss() {
            pto += Duration::from_millis(40);
        }
        let mut at = now + pto;
        if let Some(rto) = self.timers.get(Timer::Retransmit) {
            at = at.min(rto);
        }
        self.timers.set(Timer::LossProbe, at);
    }

    /// The probe timer fired: a probe goes with the next dispatch, if one may.
    pub(crate) fn tlp_on_timer(&mut self) {
        if self.tlp_may_fire() {
            self.tlp.due = true;
        }
    }

    /// Sends the probe if its timer fired (from the dispatch).
    pub(crate) fn tlp_send_if_due(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) {
        if std::mem::take(&mut self.tlp.due) {
            self.send_loss_probe(now, ctx, emit);
        }
    }

    /// New data acknowledged or SACKed: the flight the probe was for has moved on, and
    /// a new probe may be armed (RFC 8985 7.2).
    pub(crate) fn tlp_on_progress(&mut self) {
        self.tlp.out = false;
    }

    /// A go-back to SND.UNA resends the flight: the probe episode is over.
    pub(crate) fn tlp_on_go_back(&mut self) {
        self.tlp.end = None;
    }

    /// Everything about probes is forgotten and the timer stopped (the flight is resent
    /// at a new segment size, `pmtu.rs`).
    pub(crate) fn tlp_reset(&mut self) {
        self.tlp = Tlp::new(self.tlp.enabled);
        self.timers.stop(Timer::LossProbe);
    }

    /// RFC 8985 7.3: the loss probe: one new segment if the receiver's window allows,
    /// else the last segment sent again; then the RTO is re-armed. TLP.end_seq is noted
    /// for 7.4's loss detection.
    fn send_loss_probe(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) {
        self.trace.why(Cause::Tlp);
        let mss = self.payload_mss();
        let (unsent, room) = (self.unsent(), self.window_room());
        self.tlp.out = true;
        ctx.stats.tcp_loss_probes += 1;
        let rexmit = !(unsent > 0 && room > 0 && self.snd_nxt == self.snd_max);
        if !rexmit {
            let len = unsent.min(room).min(mss);
            let seq = self.snd_nxt;
            self.emit_segment(now, seq, len, false, ctx, emit, false);
        } else {
            let data_end = self.snd_una + self.send_buf.len().min(self.snd_max.since(self.snd_una));
            let len = data_end.since(self.snd_una).min(mss);
            if len == 0 {
                return;
            }
            let seq = data_end - len;
            self.emit_segment(now, seq, len, false, ctx, emit, true);
        }
        self.tlp.end = Some((self.snd_max, rexmit));
        self.arm_rto(now);
    }

    /// RFC 8985 7.4.2: the ACK of a probe episode. A probe of new data needs nothing
    /// (RACK sees any loss). For a retransmitted probe: a D-SACK means both copies
    /// arrived (no loss); an ACK beyond TLP.end_seq means the probe repaired a loss
    /// RACK could not see, and the congestion controller answers it as a loss (7.4.2:
    /// "invoke the congestion control"), leaving cwnd at the reduced ssthresh.
    pub(crate) fn tlp_on_ack(
        &mut self,
        now: Instant,
        ack: SeqNum,
        dsack: bool,
        pure_dup: bool,
        stats: &mut Stats,
    ) {
        let Some((end, rexmit)) = self.tlp.end else {
            return;
        };
        if ack < end {
            return;
        }
        if !rexmit || dsack {
            self.tlp.end = None;
        } else if ack > end {
            self.tlp.end = None;
            if !self.in_recovery() {
                // The loss was of the window the probe ended (what is in flight now
                // says nothing about it): as Linux's ssthresh from cwnd.
                let window = self.cc.cwnd();
                self.cc.on_congestion_event(now, window);
                self.cc.on_recovery_exit(now, self.cc.ssthresh());
                stats.tcp_loss_probe_recovery += 1;
                log::debug!(target: LOG, "{} -> {}: the loss probe repaired a loss: cwnd {}",
                    self.local, self.remote, self.cc.cwnd());
            }
        } else if pure_dup {
            // The ACK of TLP.end_seq itself, once more: the episode is over.
            self.tlp.end = None;
        }
    }
}
