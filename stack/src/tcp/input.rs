//! SEGMENT ARRIVES (RFC 9293 section 3.10.7), for a connection that exists: SYN-SENT
//! (3.10.7.3) and every later state (3.10.7.4), with RFC 5961's protections and RFC 7323's
//! PAWS.

use super::conn::{ConnError, Connection};
use super::seq::SeqNum;
use super::state::State;
use super::timer::Timer;
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpFlags, TcpRepr};

const LOG: &str = "tunstack::tcp";

/// What the TCP layer lends a connection while it processes a segment.
pub(crate) struct InputCtx<'a> {
    pub stats: &'a mut Stats,
    /// Takes a challenge-ACK token (RFC 5961 section 7); false when over the limit.
    pub challenge_ok: &'a mut dyn FnMut() -> bool,
    pub msl: Duration,
}

/// The peer's options from a SYN, as the handshake takes them in.
pub(crate) fn apply_syn_options(c: &mut Connection, seg: &TcpRepr<'_>, now: Instant) {
    // RFC 9293 3.7.1 / RFC 1122 4.2.2.6: without an MSS option, assume 536 (1220 over
    // IPv6).
    let default = super::conn::default_mss(c.local.is_ipv6());
    let peer_mss = usize::from(seg.max_seg_size.unwrap_or(default)).max(64);
    c.set_peer_mss(peer_mss);
    // RFC 7323 2.2: scaling only when both sides sent the option; a shift above 14 is
    // taken as 14 (2.3).
    match seg.window_scale {
        Some(s) if c.opts.wscale_ok => c.opts.snd_wscale = s.min(14),
        _ => {
            c.opts.wscale_ok = false;
            c.opts.snd_wscale = 0;
            c.opts.rcv_wscale = 0;
        }
    }
    // RFC 7323 3.2: timestamps only when both sides sent them in the SYNs.
    c.opts.timestamps = c.opts.timestamps && seg.timestamp.is_some();
    if let (true, Some(ts)) = (c.opts.timestamps, seg.timestamp) {
        c.ts_recent = ts.tsval;
    }
    // RFC 2018 section 2: SACK only when both offered it.
    c.opts.sack = c.opts.sack && seg.sack_permitted;
    c.cc.set_mss(c.payload_mss());
    c.last_recv = now;
}

impl Connection {
    /// The most payload one segment carries: the send MSS less the options every segment
    /// carries (RFC 6691: the MSS does not include options).
    pub(crate) fn payload_mss(&self) -> usize {
        let opt = if self.opts.timestamps { 12 } else { 0 };
        self.opts.smss.saturating_sub(opt).max(1)
    }

    /// Processes one segment addressed to this connection.
    pub(crate) fn on_segment(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputCtx<'_>) {
        self.stats.segs_in += 1;
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_segment_syn_sent(now, seg, ctx),
            _ => self.on_segment_synchronized(now, seg, ctx),
        }
        self.trace_input(now, seg);
    }

    /// RFC 9293 3.10.7.3: SEGMENT ARRIVES in SYN-SENT.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputCtx<'_>) {
        let ack = SeqNum(seg.ack_number);
        let has_ack = seg.flags.contains(TcpFlags::ACK);
        // First, the ACK bit: it must acknowledge our SYN and nothing beyond.
        if has_ack && (ack.diff(self.iss) <= 0 || ack.diff(self.snd_max) > 0) {
            if !seg.flags.contains(TcpFlags::RST) {
                // <SEQ=SEG.ACK><CTL=RST>, then drop.
                self.reset_reply = Some((ack, None));
            }
            return;
        }
        // Second, RST: with an acceptable ACK the attempt is refused; without, ignore
        // (RFC 5961 3.2's blind-reset protection in SYN-SENT).
        if seg.flags.contains(TcpFlags::RST) {
            if has_ack {
                log::debug!(target: LOG, "{} -> {}: connection refused", self.local, self.remote);
                ctx.stats.tcp_attempt_fails += 1;
                self.enter_closed(Some(ConnError::Refused), now);
            }
            return;
        }
        // Fourth, SYN.
        if !seg.flags.contains(TcpFlags::SYN) {
            return;
        }
        self.irs = SeqNum(seg.seq_number);
        self.rcv_nxt = self.irs + 1;
        // Nothing advertised yet: the right edge starts at RCV.NXT (a stale edge from
        // before the SYN would make the window look larger than the buffer).
        self.rcv_adv = self.rcv_nxt;
        apply_syn_options(self, seg, now);
        if has_ack {
            self.ack_advance(now, ack, seg, ctx);
        }
        if self.snd_una.diff(self.iss) > 0 {
            // Our SYN is acknowledged: ESTABLISHED; the window comes unscaled in a SYN.
            self.snd_wnd = usize::from(seg.window_len);
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = SeqNum(seg.seq_number);
            self.snd_wl2 = ack;
            self.become_established(now);
            self.ack_now = true;
        } else {
            // Simultaneous open (RFC 9293 3.5, figure 8): SYN-RECEIVED, send SYN-ACK.
            self.state = State::SynReceived;
            self.snd_wnd = usize::from(seg.window_len);
            self.snd_wl1 = SeqNum(seg.seq_number);
            self.snd_nxt = self.iss; // the SYN goes out again, now with an ACK
            self.ack_now = true;
        }
    }

    pub(crate) fn become_established(&mut self, now: Instant) {
        self.state = State::Established;
        // RFC 6298 5.7: after a retransmitted SYN or SYN-ACK, the RTO starts at 3 s unless
        // a valid sample exists. (Only handshake segments can have been retransmitted by
        // now; `rto_count` may already be cleared by the ACK of our SYN.)
        if self.stats.retransmits > 0 {
            self.rtt.reset_after_syn_loss();
        }
        self.rto_count = 0;
        self.stalled_since = None;
        self.timers.stop(Timer::Retransmit);
        if self.fin_queued {
            // close() came during the handshake: the FIN follows now.
            self.state = State::FinWait1;
        }
        self.arm_keepalive(now);
        log::debug!(target: LOG, "{} -> {}: established (mss {}, wscale {}/{}, ts {}, sack {})",
            self.local, self.remote, self.opts.smss, self.opts.snd_wscale, self.opts.rcv_wscale,
            self.opts.timestamps, self.opts.sack);
    }

    /// RFC 9293 3.10.7.4: every state after SYN-SENT.
    fn on_segment_synchronized(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputCtx<'_>) {
        let mut seg = *seg;
        let seg = &mut seg;
        // RFC 7323 2.2: the window of a segment with SYN is never scaled.
        let wnd_shift = if seg.flags.contains(TcpFlags::SYN) {
            0
        } else {
            self.opts.snd_wscale
        };
        // RFC 9293 3.5 figure 8 (simultaneous open): in SYN-RECEIVED, the peer's SYN-ACK
        // repeats its SYN (SEQ = IRS) and acknowledges ours. It is not a stray SYN (RFC
        // 5961 4.2 exempts it, as Linux's tcp_validate_incoming does): with an acceptable
        // ACK it is the segment that completes the handshake, taken without its SYN.
        if self.state == State::SynReceived
            && seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK)
            && SeqNum(seg.seq_number) == self.irs
        {
            let ack = SeqNum(seg.ack_number);
            if ack.diff(self.snd_una) > 0 && ack.diff(self.snd_max) <= 0 {
                seg.flags.remove(TcpFlags::SYN);
                seg.seq_number = seg.seq_number.wrapping_add(1);
            }
        }
        let seq = SeqNum(seg.seq_number);
        // RFC 2883 section 4 (1): a D-SACK reports a duplicate in the most recent segment
        // only.
        self.dsack = None;
        // RFC 9293 3.8.1: in SYN-RECEIVED, the peer's SYN again (SEQ = IRS, no ACK) means
        // our SYN-ACK was lost: send it again (not a challenge ACK: this is no attack).
        if self.state == State::SynReceived
            && seg.flags.contains(TcpFlags::SYN)
            && !seg.flags.intersects(TcpFlags::ACK | TcpFlags::RST)
            && seq == self.irs
        {
            self.snd_nxt = self.iss;
            self.ack_now = true;
            return;
        }
        let seg_len = seg.payload.len()
            + usize::from(seg.flags.contains(TcpFlags::SYN))
            + usize::from(seg.flags.contains(TcpFlags::FIN));
        let rst = seg.flags.contains(TcpFlags::RST);

        // RFC 7323 3.2: once timestamps are in use, "If a non-<RST> segment is received
        // without a TSopt, a TCP SHOULD silently drop the segment."
        if self.opts.timestamps && !rst && seg.timestamp.is_none() {
            log::trace!(target: LOG, "dropped a segment without timestamps");
            return;
        }

        // RFC 7323 5.3 PAWS: a segment whose TSval is older than TS.Recent is a duplicate
        // from an earlier incarnation of the sequence space: drop it (ACK it unless RST).
        if self.opts.timestamps && !rst {
            if let Some(ts) = seg.timestamp {
                if (ts.tsval.wrapping_sub(self.ts_recent) as i32) < 0 {
                    ctx.stats.tcp_paws_estab += 1;
                    log::trace!(target: LOG, "PAWS dropped a segment (tsval {} < {})", ts.tsval, self.ts_recent);
                    self.ack_now = true;
                    return;
                }
            }
        }

        // First: is the segment acceptable (RFC 9293 3.10.7.4, the four cases)?
        let rcv_wnd = self.rcv_adv.since(self.rcv_nxt).max(self.rcv_wnd());
        let acceptable = if seg_len == 0 {
            if rcv_wnd == 0 {
                seq == self.rcv_nxt
            } else {
                seq.in_window(self.rcv_nxt, rcv_wnd)
            }
        } else if rcv_wnd == 0 {
            false
        } else {
            seq.in_window(self.rcv_nxt, rcv_wnd)
                || (seq + (seg_len - 1)).in_window(self.rcv_nxt, rcv_wnd)
        };
        if !acceptable {
            // RFC 5961 4.2: a SYN gets a challenge ACK "regardless of the sequence number"
            // (rate limited like every challenge ACK, section 7).
            if seg.flags.contains(TcpFlags::SYN) && !rst {
                self.send_challenge_ack(ctx);
                return;
            }
            // In TIME-WAIT a retransmitted FIN is acknowledged and restarts the 2 MSL wait.
            if self.state == State::TimeWait && seg.flags.contains(TcpFlags::FIN) && !rst {
                self.timers
                    .set(Timer::TimeWait, now + ctx.msl.saturating_mul(2));
            }
            if !rst
                && self.opts.sack
                && !seg.payload.is_empty()
                && (seq + seg.payload.len()).diff(self.rcv_nxt) <= 0
            {
                // RFC 2883 section 4: data wholly below RCV.NXT is a duplicate; the ACK
                // reports it in a D-SACK block.
                self.dsack = Some((seq, seq + seg.payload.len()));
            }
            if !rst {
                // Answer, but a segment without data gets at most one answer per 500 ms:
                // two stacks that disagree about each other's sequence numbers would
                // otherwise trade ACKs forever (Linux's tcp_invalid_ratelimit).
                let pure = seg.payload.is_empty() && !seg.flags.contains(TcpFlags::FIN);
                let limited = pure
                    && self
                        .last_oow_ack
                        .is_some_and(|t| now - t < Duration::from_millis(500));
                if !limited {
                    self.ack_now = true;
                    if pure {
                        self.last_oow_ack = Some(now);
                    }
                }
            }
            // RFC 9293 3.10.7.4 (first): "If the RCV.WND is zero, no segments will be
            // acceptable, but special allowance should be made to accept valid ACKs":
            // a segment at RCV.NXT into our zero window (the peer's data or window probe)
            // still carries its ACK and window; take those and drop only the text.
            let zero_window_at_edge = rcv_wnd == 0
                && seq == self.rcv_nxt
                && !rst
                && !seg.flags.contains(TcpFlags::SYN)
                && seg.flags.contains(TcpFlags::ACK)
                && self.state != State::TimeWait;
            if !zero_window_at_edge {
                return;
            }
            seg.payload = &[];
            seg.flags.remove(TcpFlags::FIN);
        }

        // Second: RST (RFC 5961 3.2): exactly at RCV.NXT resets; elsewhere in the window
        // gets a challenge ACK.
        if rst {
            if seq == self.rcv_nxt {
                self.on_reset(now, ctx);
            } else {
                self.send_challenge_ack(ctx);
            }
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 4.2; RFC 9293 3.10.7.4): challenge
        // ACK, whatever the sequence number.
        if seg.flags.contains(TcpFlags::SYN) {
            self.send_challenge_ack(ctx);
            return;
        }

        // Fifth: ACK. Without it, drop.
        if !seg.flags.contains(TcpFlags::ACK) {
            return;
        }
        let ack = SeqNum(seg.ack_number);

        // TS.Recent update (RFC 7323 4.3): for an in-order segment at or before our last ACK.
        if self.opts.timestamps {
            if let Some(ts) = seg.timestamp {
                if seq.diff(self.last_ack_sent) <= 0
                    && (ts.tsval.wrapping_sub(self.ts_recent) as i32) >= 0
                {
                    self.ts_recent = ts.tsval;
                }
            }
        }

        if self.state == State::SynReceived {
            // RFC 9293: SND.UNA < SEG.ACK =< SND.NXT moves to ESTABLISHED; otherwise
            // <SEQ=SEG.ACK><CTL=RST>.
            if ack.diff(self.snd_una) > 0 && ack.diff(self.snd_max) <= 0 {
                self.snd_wnd = usize::from(seg.window_len) << wnd_shift;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seq;
                self.snd_wl2 = ack;
                self.become_established(now);
            } else {
                self.reset_reply = Some((ack, None));
                return;
            }
        }

        // RFC 5961 5.2: the ACK must lie in [SND.UNA - MAX.SND.WND, SND.NXT]; beyond what
        // we sent it is answered with an ACK and dropped; too old, also.
        if ack.diff(self.snd_max) > 0 {
            self.ack_now = true;
            return;
        }
        if ack.diff(self.snd_una - self.max_snd_wnd) < 0 {
            self.send_challenge_ack(ctx);
            return;
        }

        // RFC 2883 section 5: the first SACK block is a D-SACK when it lies at or below
        // the cumulative ACK, or within the second block.
        let dsack = (self.opts.sack && super::recovery::is_dsack(&seg.sack_ranges, ack))
            .then(|| seg.sack_ranges[0])
            .flatten();
        if dsack.is_some() {
            ctx.stats.tcp_dsack_recv += 1;
        }
        // RFC 2018 / RFC 6675: take in the SACK blocks before acting on the ACK.
        let sacked_before = self.scoreboard.sacked_bytes();
        let una_before = self.snd_una;
        let lost_before = self
            .scoreboard
            .lost_frontier(self.snd_una, self.payload_mss());
        let sacks_new = self.opts.sack
            && self
                .scoreboard
                .update(&seg.sack_ranges, self.snd_una, self.snd_max);
        let newly_sacked = self.scoreboard.sacked_bytes().saturating_sub(sacked_before);
        if ack.diff(self.snd_una) > 0 {
            self.ack_advance(now, ack, seg, ctx);
        } else if ack == self.snd_una {
            self.maybe_dup_ack(now, seg, seg_len, sacks_new, ctx);
        }
        if self.in_recovery && self.opts.sack {
            self.prr_on_ack(una_before, sacked_before, newly_sacked, lost_before);
        }
        // Draft-ietf-ccwg-bbr-06 4.1: the ACK's delivery-rate sample (`pace.rs`).
        self.rate_on_ack(now, &seg.sack_ranges, dsack.is_some());
        let dsack = dsack.map(|(l, r)| (SeqNum(l), SeqNum(r)));
        self.on_dsack_undo(now, dsack, ctx);
        // Window update (RFC 9293 3.10.7.4): from a newer segment, or the same one with a
        // newer ACK.
        if self.snd_wl1.diff(seq) < 0 || (self.snd_wl1 == seq && self.snd_wl2.diff(ack) <= 0) {
            let wnd = usize::from(seg.window_len) << wnd_shift;
            self.snd_wnd = wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            self.snd_wl1 = seq;
            self.snd_wl2 = ack;
            if wnd > 0 {
                self.timers.stop(Timer::Persist);
                self.persist_count = 0;
                self.probe_due = false;
            }
        }

        // Our FIN acknowledged?
        let fin_acked = self.fin_acked();
        match self.state {
            State::FinWait1 if fin_acked => {
                self.state = State::FinWait2;
                self.arm_fin_wait_2(now);
            }
            State::Closing if fin_acked => self.enter_time_wait(now, ctx),
            State::LastAck if fin_acked => {
                self.enter_closed(None, now);
                return;
            }
            State::TimeWait => {
                // Only a retransmitted FIN reaches here; acknowledge and restart.
                if seg.flags.contains(TcpFlags::FIN) {
                    self.ack_now = true;
                    self.timers
                        .set(Timer::TimeWait, now + ctx.msl.saturating_mul(2));
                }
                return;
            }
            _ => {}
        }

        // Seventh: segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
        if self.orphaned()
            && self.state.can_receive()
            && (seq + seg.payload.len()).diff(self.rcv_nxt) > 0
        {
            // RFC 1122 4.2.2.13: "if new data is received after CLOSE is called, its TCP
            // SHOULD send a RST to show that data was lost" (Linux: TCPAbortOnData).
            log::debug!(target: LOG, "{} -> {}: data after close, resetting", self.local, self.remote);
            self.send_rst = true;
            self.enter_closed(Some(ConnError::Aborted), now);
            return;
        }
        if !seg.payload.is_empty() && self.state.can_receive() {
            self.take_data(now, seq, seg.payload);
        }

        // Eighth: FIN.
        if seg.flags.contains(TcpFlags::FIN) && self.fin_seq.is_none() {
            let fin = seq + seg.payload.len();
            self.fin_seq = Some(fin);
            if fin.diff(self.rcv_nxt) > 0 {
                // A FIN ahead of missing data is out-of-order: an immediate duplicate
                // ACK (RFC 5681 4.2); the FIN is taken when the hole is filled.
                self.ack_now = true;
            }
        }
        self.maybe_take_fin(now, ctx);
        self.last_recv = now;
        self.keepalive_sent = 0;
        if self.keepalive.is_some() && self.state == State::Established {
            self.arm_keepalive(now);
        }
    }

    /// RFC 9293 3.10.7.4 "second, check the RST bit".
    fn on_reset(&mut self, now: Instant, ctx: &mut InputCtx<'_>) {
        log::debug!(target: LOG, "{} -> {}: reset by peer in {}", self.local, self.remote, self.state);
        match self.state {
            State::SynReceived => {
                // From a passive open: the listener carries on; nothing to report.
                ctx.stats.tcp_attempt_fails += 1;
                self.enter_closed(Some(ConnError::Refused), now);
            }
            State::Established | State::CloseWait | State::FinWait1 | State::FinWait2 => {
                self.enter_closed(Some(ConnError::Reset), now);
            }
            _ => self.enter_closed(None, now),
        }
    }

    /// RFC 5961 section 7: a rate-limited challenge ACK.
    fn send_challenge_ack(&mut self, ctx: &mut InputCtx<'_>) {
        if (ctx.challenge_ok)() {
            ctx.stats.tcp_challenge_acks += 1;
            self.challenge_ack = true;
        } else {
            ctx.stats.tcp_challenge_ack_limited += 1;
        }
    }

    /// New data acknowledged: RTT, congestion control, fast recovery (RFC 5681, RFC 6582),
    /// retransmission timer (RFC 6298 5.2-5.3).
    fn ack_advance(
        &mut self,
        now: Instant,
        ack: SeqNum,
        seg: &TcpRepr<'_>,
        _ctx: &mut InputCtx<'_>,
    ) {
        let flight_before = self.snd_max.since(self.snd_una);
        let covers_rexmit = self.snd_una.diff(self.rexmit_high) < 0;
        let mut acked = ack.since(self.snd_una);
        // The SYN and FIN occupy sequence space but not the buffer.
        let syn_acked = self.snd_una == self.iss && acked > 0;
        if syn_acked {
            acked -= 1;
        }
        let data_acked = acked.min(self.send_buf.len());
        self.send_buf.ack(data_acked);
        self.snd_una = ack;
        // The peer is reachable after all: an earlier ICMP soft error is stale.
        self.soft_error = None;
        if self.snd_nxt.diff(ack) < 0 {
            self.snd_nxt = ack;
        }
        self.stats.bytes_acked += data_acked as u64;

        // RTT: timestamps when in use (RFC 7323 4.1), else Karn's timed segment.
        let mut sample = None;
        if self.opts.timestamps {
            // An ACK covering retransmitted data whose echo predates the latest
            // retransmission echoes an earlier copy: its "RTT" spans the timeouts.
            let stale =
                |tsecr: u32| covers_rexmit && (tsecr.wrapping_sub(self.rexmit_tsval) as i32) < 0;
            if let Some(ts) = seg.timestamp.filter(|ts| !stale(ts.tsecr)) {
                sample = super::rtt::sample_from_tsecr(self.ts_now(now), ts.tsecr);
            }
        }
        let timed = self.sampler.on_ack(ack, now);
        let sample = sample.or(timed);
        if let Some(rtt) = sample {
            self.rtt.sample(rtt);
            self.trace_rtt(now, rtt);
        }
        self.rto_count = 0;
        // Progress: the user timeout's clock starts again (from now, for what is left).
        self.stalled_since = None;

        // NewReno (RFC 6582 3.2 steps 5 and 6).
        if self.in_recovery {
            if ack.diff(self.recover) >= 0 {
                // Full acknowledgement: leave fast recovery.
                self.in_recovery = false;
                self.inflation = 0;
                let flight = if self.prr.active() {
                    // RFC 9937 completion steps: cwnd = ssthresh (RFC 6582's formula
                    // with FlightSize = ssthresh gives exactly that).
                    self.prr.exit();
                    self.cc.ssthresh()
                } else {
                    self.snd_max.since(self.snd_una)
                };
                self.cc.on_recovery_exit(now, flight);
            } else if self.opts.sack {
                // RFC 6675: a partial ACK just updates the scoreboard; the send loop
                // decides what goes next from the pipe.
            } else {
                // Partial acknowledgement: retransmit the next hole, deflate by what was
                // acknowledged, add back one SMSS if that was at least one SMSS.
                self.retransmit_una = true;
                let mss = self.payload_mss();
                self.inflation = self.inflation.saturating_sub(data_acked);
                if data_acked >= mss {
                    self.inflation += mss;
                }
                // RFC 6582 3.2 step 5 resets the retransmit timer on the first partial
                // ACK (the "impatient" variant); this resets it on every one (below),
                // the "slow-but-steady" variant, which avoids needless timeouts.
            }
        } else {
            self.cc.on_ack(now, data_acked, flight_before, sample);
            // Limited transmit's allowance ends with the duplicate ACKs that gave it.
            self.inflation = 0;
        }
        self.dup_acks = 0;
        self.una_rxt_mark = None;
        self.tlp_out = false;
        self.scoreboard.ack(self.snd_una);
        if self.high_rxt.diff(self.snd_una) < 0 {
            self.high_rxt = self.snd_una;
        }

        // RFC 6298 5.2 / 5.3: all acknowledged -> stop the timer; else restart it.
        if self.snd_una == self.snd_max {
            self.timers.stop(Timer::Retransmit);
        } else {
            self.arm_rto(now);
            self.arm_tlp(now);
        }
    }

    /// RFC 5681 section 2's duplicate ACK: no data, no SYN/FIN, the same window, data
    /// outstanding, ACK == SND.UNA. The third starts fast retransmit (3.2); later ones
    /// inflate the window (3.2 step 4).
    fn maybe_dup_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        seg_len: usize,
        sacks_new: bool,
        ctx: &mut InputCtx<'_>,
    ) {
        let wnd = usize::from(seg.window_len) << self.opts.snd_wscale;
        let outstanding = self.snd_max != self.snd_una;
        // RFC 6675 section 2 (DupAck): an ACK whose SACK blocks report new data counts,
        // whatever its window says (receivers such as Linux change the window as their
        // application reads).
        // A zero window: the ACKs answer zero-window probes (whose byte lies beyond the
        // window and counts in SND.MAX); they say nothing about loss (RFC 5681 2 (a): only
        // outstanding data, and the probe byte is not in flight, RFC 9293 3.8.6.1).
        let rfc5681_dup = wnd == self.snd_wnd;
        if seg_len != 0 || !outstanding || wnd == 0 || !(rfc5681_dup || sacks_new) {
            return;
        }
        // A lost retransmission of the first hole: data sent after it has been SACKed
        // (three segments' worth beyond), yet SND.UNA has not moved. Send it again now
        // rather than wait for the retransmission timer.
        if self.in_recovery && self.opts.sack {
            let mss = self.payload_mss();
            if let (Some(mark), Some(high)) = (self.una_rxt_mark, self.scoreboard.high()) {
                if high.diff(mark) >= (super::sack::DUP_THRESH * mss) as i32 {
                    self.retransmit_una = true;
                    self.una_rxt_mark = None;
                    log::debug!(target: LOG, "{} -> {}: retransmission of {} lost, again",
                        self.local, self.remote, self.snd_una);
                }
            }
        }
        self.dup_acks += 1;
        let mss = self.payload_mss();
        if self.in_recovery {
            self.inflation += mss;
            return;
        }
        let after_timeout = self.snd_una.diff(self.recover) <= 0 && self.recover != self.iss;
        if self.dup_acks < 3 && self.snd_nxt == self.snd_max && !after_timeout {
            // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new
            // segment go beyond cwnd, keeping the ACK clock alive for small windows. (Not
            // while going back after a timeout: what follows SND.NXT then is old data.)
            self.inflation = self.dup_acks as usize * mss;
        }
        let sack_says_lost = self.opts.sack && self.scoreboard.is_lost(self.snd_una, mss);
        // RFC 5827 early retransmit: with fewer than four segments outstanding and
        // nothing more to send, fewer duplicate ACKs can ever arrive; the threshold is
        // one less than the segments outstanding.
        let segs_out = self.snd_max.since(self.snd_una).div_ceil(mss.max(1));
        let unsent = self
            .send_buf
            .len()
            .saturating_sub(self.snd_nxt.since(self.snd_una));
        let dupthresh = if segs_out < 4 && unsent == 0 {
            segs_out.saturating_sub(1).max(1)
        } else {
            3
        };
        if sacks_new {
            self.tlp_out = false;
        }
        if self.dup_acks as usize >= dupthresh || sack_says_lost {
            // RFC 6675 5 (and 3.2 of RFC 5681): the third duplicate ACK, or SACK showing
            // the first segment lost, starts loss recovery. RFC 6582 3.2 step 2: only if the ACK covers more than `recover` (no second
            // recovery for losses of the same window); with SACK, RFC 6675 5.1: once
            // HighACK reaches RecoveryPoint (SACK shows the new loss is past it).
            let behind = self.snd_una.diff(self.recover) < 0
                || (self.snd_una == self.recover && !self.opts.sack);
            if behind && self.recover != self.iss {
                return;
            }
            let flight = self.snd_max.since(self.snd_una);
            if self.opts.sack {
                // RFC 3708: remember the window, to undo the reduction if D-SACKs show
                // the retransmissions spurious.
                self.undo = Some(super::undo::Undo::new(self.cc.cwnd(), self.cc.ssthresh()));
            }
            self.in_recovery = true;
            self.recover = self.snd_max;
            self.cc.on_congestion_event(now, flight);
            self.high_rxt = self.snd_una;
            // RFC 6675 5 (4.2) / RFC 5681 3.2: retransmit the first segment presumed
            // dropped at once.
            self.retransmit_una = true;
            if self.opts.sack {
                // RFC 6675: the pipe estimate replaces window inflation; the send loop
                // then retransmits lost holes first (NextSeg rule 1).
                self.inflation = 0;
            } else {
                self.inflation = 3 * mss;
            }
            self.stats.fast_retransmits += 1;
            ctx.stats.tcp_fast_retrans += 1;
            self.sampler.on_retransmit();
            log::debug!(target: LOG, "{} -> {}: fast retransmit at {} (cwnd {})",
                self.local, self.remote, self.snd_una, self.cc.cwnd());
        }
    }

    /// RFC 9293 3.10.7.4 "seventh": take in-window data; ACK policy per RFC 5681 4.2 and
    /// RFC 1122 4.2.3.2 (every second full segment, at once when out of order or when a
    /// hole is filled).
    fn take_data(&mut self, _now: Instant, seq: SeqNum, payload: &[u8]) {
        // Trim what lies before RCV.NXT.
        let (offset, data) = if seq.diff(self.rcv_nxt) < 0 {
            let skip = self.rcv_nxt.since(seq);
            if self.opts.sack {
                // RFC 2883 section 4: the part below RCV.NXT is a duplicate.
                self.dsack = Some((seq, seq + skip.min(payload.len())));
            }
            if skip >= payload.len() {
                self.ack_now = true; // a pure duplicate: tell the peer where we are
                return;
            }
            (0, &payload[skip..])
        } else {
            (seq.since(self.rcv_nxt), payload)
        };
        let had_ooo = self.recv_buf.ooo_bytes() > 0;
        if self.opts.sack && offset > 0 {
            // RFC 2883 section 4.1.3: a duplicate of out-of-order data held.
            if let Some((a, b)) = self.recv_buf.held_overlap(offset, data.len()) {
                self.dsack = Some((self.rcv_nxt + a, self.rcv_nxt + b));
            }
        }
        let advanced = self.recv_buf.write(offset, data);
        self.rcv_nxt += advanced;
        self.stats.bytes_received += advanced as u64;
        if offset > 0 || had_ooo {
            // Out of order, or filling a hole: ACK at once (RFC 5681 4.2, 3.2). The core
            // sends a due ACK before it takes the next segment, so each such segment gets
            // its own (duplicate) ACK.
            self.ack_now = true;
        } else if data.len() >= self.opts.smss.min(self.payload_mss()) {
            // A super-segment from an offloading device counts as the full-sized
            // segments it stands for, so RFC 5681 4.2's "at least every second
            // full-sized segment" holds for the run: it is ACKed at once, as a whole.
            let full = self.opts.smss.min(self.payload_mss()).max(1);
            self.unacked_segs = self
                .unacked_segs
                .saturating_add((data.len() / full).min(u32::MAX as usize) as u32);
            if self.unacked_segs >= 2 {
                // Due, but with the rest of the batch: RFC 5681 4.2 asks for an ACK
                // for at least every second full-sized segment; a batch of in-order
                // segments taken in one turn gets one ACK that covers it (a stretch
                // ACK, as Linux's GRO receiver sends; our sender, and Linux's, count
                // the bytes it acknowledges, so slow start does not starve: RFC 3465 2.2,
                // RFC 9406 4.2).
                self.ack_batch = true;
            }
        }
        if advanced == 0 && offset == 0 {
            // Nothing fit (zero window): ACK so the peer learns the window.
            self.ack_now = true;
        }
    }

    /// RFC 9293 3.10.7.4 "eighth, check the FIN bit", once all data before it arrived.
    fn maybe_take_fin(&mut self, now: Instant, ctx: &mut InputCtx<'_>) {
        let Some(fin) = self.fin_seq else {
            return;
        };
        if self.fin_received || fin != self.rcv_nxt {
            return;
        }
        self.fin_received = true;
        self.rcv_nxt += 1;
        self.ack_now = true;
        let our_fin_acked = self.fin_acked();
        match self.state {
            State::SynReceived | State::Established => {
                self.state = State::CloseWait;
            }
            State::FinWait1 if our_fin_acked => self.enter_time_wait(now, ctx),
            State::FinWait1 => self.state = State::Closing,
            State::FinWait2 => self.enter_time_wait(now, ctx),
            _ => {}
        }
    }

    fn enter_time_wait(&mut self, now: Instant, ctx: &mut InputCtx<'_>) {
        self.state = State::TimeWait;
        self.timers.stop_all();
        self.timers
            .set(Timer::TimeWait, now + ctx.msl.saturating_mul(2));
    }
}
