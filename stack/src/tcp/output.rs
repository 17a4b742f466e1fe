//! Segment generation for a connection: the handshake, data within the send window with
//! Nagle (RFC 896, RFC 1122 4.2.3.4) and sender-side silly window avoidance (RFC 9293
//! 3.8.6.2.1), FIN, retransmission, zero-window probes, keep-alives, and ACKs with the
//! receive window (RFC 1122 4.2.3.3 receiver SWS avoidance) — plus the timers that drive
//! them.

use super::conn::Connection;
use super::seq::SeqNum;
use super::state::State;
use super::timer::Timer;
use super::trace::Cause;
use crate::stats::Stats;
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpFlags, TcpRepr, TcpTimestamp};

const LOG: &str = "tunstack::tcp";

/// A segment to send: its header, and its payload as up to two slices of the send buffer
/// (which is a ring), copied once, straight into the outgoing frame.
#[derive(Debug)]
pub(crate) struct Outgoing<'r, 'a> {
    /// The header; `repr.payload` is empty, the payload is in `payload`. Borrowed: a
    /// copy's wide loads of the fields just stored one by one waited for those stores
    /// (14% of `emit_segment`'s own time in the in-memory profile).
    pub repr: &'r TcpRepr<'a>,
    /// The payload.
    pub payload: [&'a [u8]; 2],
    /// `Some(mss)` for a super-segment (payload longer than one MSS), which the device
    /// cuts into segments of `mss` payload bytes (TSO); `None` for a wire segment.
    pub gso: Option<u16>,
}

impl Outgoing<'_, '_> {
    /// Payload length.
    pub fn payload_len(&self) -> usize {
        self.payload[0].len() + self.payload[1].len()
    }
}

/// What the TCP layer lends a connection while it sends.
pub(crate) struct OutputCtx<'a> {
    pub stats: &'a mut Stats,
    pub keepalive_interval: Duration,
    pub keepalive_probes: u32,
}

pub(crate) fn bare_repr(src_port: u16, dst_port: u16) -> TcpRepr<'static> {
    TcpRepr {
        src_port,
        dst_port,
        flags: TcpFlags::default(),
        seq_number: 0,
        ack_number: 0,
        window_len: 0,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload: &[],
    }
}

impl Connection {
    /// Runs the timers that expired by `now` (RFC 6298 5.4-5.7, RFC 9293 3.8.6.1,
    /// RFC 1122 4.2.3.2 and 4.2.3.6, RFC 9293 3.6 TIME-WAIT).
    pub(crate) fn on_timers(&mut self, now: Instant, ctx: &mut OutputCtx<'_>) {
        let expired: Vec<Timer> = self.timers.expired(now).collect();
        // RFC 8985 7.2: a PTO capped at the RTO's expiry fires instead of it (the probe
        // re-arms the RTO).
        let probe_instead = expired.contains(&Timer::LossProbe) && self.tlp_may_fire();
        for &t in &expired {
            match t {
                Timer::Retransmit if probe_instead => {}
                Timer::Retransmit => self.on_rto(now, ctx),
                Timer::RackReorder => self.rack_on_timer(now, ctx.stats),
                Timer::Persist => {
                    self.probe_due = true;
                    self.persist_count = self.persist_count.saturating_add(1);
                }
                Timer::DelayedAck => {
                    if self.unacked_segs > 0 || self.rcv_nxt != self.last_ack_sent {
                        ctx.stats.tcp_delayed_acks += 1;
                        self.ack_now = true;
                    }
                }
                Timer::KeepAlive => self.on_keepalive_timer(now, ctx),
                // The dispatch that follows sends the next burst.
                Timer::Pace => {}
                Timer::Linger => {
                    self.send_buf.release();
                    self.recv_buf.release();
                }
                Timer::LossProbe => self.tlp_on_timer(),
                Timer::PathMtu => self.on_pmtu_raise_timer(now, ctx.stats),
                Timer::TimeWait => {
                    // TIME-WAIT's 2 MSL are over, or an orphaned FIN-WAIT-2 timed out.
                    log::trace!(target: LOG, "{} -> {}: {} over", self.local, self.remote, self.state);
                    self.enter_closed(None, now);
                }
            }
        }
    }

    fn on_rto(&mut self, now: Instant, ctx: &mut OutputCtx<'_>) {
        let outstanding = self.snd_max != self.snd_una;
        if !outstanding || self.state == State::Closed {
            return;
        }
        let limit = self.give_up_after();
        let since = *self.stalled_since.get_or_insert(now);
        if now - since >= limit {
            log::debug!(target: LOG, "{} -> {}: giving up after {} (RTO {})", self.local, self.remote, now - since, self.rtt.rto());
            ctx.stats.tcp_abort_on_timeout += 1;
            if self.state == State::SynSent {
                ctx.stats.tcp_attempt_fails += 1;
            }
            self.send_rst = self.state.is_synchronized();
            self.enter_closed(Some(self.timeout_error()), now);
            return;
        }
        self.rto_count += 1;
        self.stats.timeouts += 1;
        ctx.stats.tcp_timeouts += 1;
        let flight = self.snd_max.since(self.snd_una);
        // RFC 5681 3.1 eq. 4 (via the congestion controller), RFC 6582 section 4: after a
        // timeout, `recover` is the highest sequence number sent.
        if self.state.is_synchronized() {
            self.rto_undo_on_rto(now);
            self.cc.on_rto(now, flight, self.rto_count == 1);
        } else {
            // RFC 6928 2 / RFC 5681 3.1: a lost SYN or SYN-ACK leaves an initial window of
            // one segment.
            self.cc.on_syn_loss();
        }
        // Go back: everything from SND.UNA is sent again as the window allows.
        self.go_back_to_una();
        self.rack.on_timeout(now);
        // RFC 4821 7.7: enough timeouts in a row may mean a path MTU black hole.
        self.pmtu_on_rto(now, ctx.stats);
        // RFC 6298 5.5: back off.
        self.rtt.back_off();
        log::debug!(target: LOG, "{} -> {}: RTO #{}, retransmitting from {} (next RTO {})",
            self.local, self.remote, self.rto_count, self.snd_una, self.rtt.rto());
        self.trace_rto(now);
    }

    fn on_keepalive_timer(&mut self, now: Instant, ctx: &mut OutputCtx<'_>) {
        let Some(idle) = self.keepalive else {
            return;
        };
        if self.state != State::Established {
            return;
        }
        if now - self.last_recv < idle {
            self.timers.set(Timer::KeepAlive, self.last_recv + idle);
            return;
        }
        if self.snd_max != self.snd_una {
            // Data in flight: the retransmission timer (and the user timeout) watch the
            // peer; a keep-alive probe would add nothing (Linux sends none then either).
            self.timers.set(Timer::KeepAlive, now + idle);
            return;
        }
        if self.keepalive_sent >= ctx.keepalive_probes {
            log::debug!(target: LOG, "{} -> {}: keep-alive got no answer", self.local, self.remote);
            ctx.stats.tcp_abort_on_timeout += 1;
            self.send_rst = true;
            self.enter_closed(Some(self.timeout_error()), now);
            return;
        }
        self.keepalive_sent += 1;
        self.keepalive_due = true;
        self.timers
            .set(Timer::KeepAlive, now + ctx.keepalive_interval);
    }

    /// The window field and the right edge it advertises, with receiver SWS avoidance
    /// (RFC 1122 4.2.3.3: the right edge moves only in steps of at least
    /// min(buffer/2, MSS)) and the window never shrinking (RFC 9293 3.8.6.2.2).
    pub(crate) fn window_to_advertise(&self, syn: bool) -> (u16, SeqNum) {
        let free = self.rcv_wnd();
        let shift = if syn { 0 } else { self.opts.rcv_wscale };
        let max = 65_535usize << shift;
        let mut wnd = free.min(max);
        let old = self.rcv_adv.since(self.rcv_nxt);
        let step = (self.recv_buf.capacity() / 2).min(self.opts.smss.max(1));
        if wnd > old && wnd - old < step && self.rcv_adv >= self.rcv_nxt {
            wnd = old;
        }
        wnd = wnd.max(old).min(max);
        let field = (wnd >> shift) as u16;
        (field, self.rcv_nxt + ((field as usize) << shift))
    }

    /// Whether the ACK due for in-order data would offer a smaller window than the last
    /// one did: the application has not yet read what the ACK covers. Such an ACK is
    /// held until the application reads (the read sends it, with the window the read
    /// opened: [`note_window_opened`](Connection::note_window_opened)) or the delayed-ACK
    /// timer fires, whichever comes first. This is Linux's receiver
    /// (`__tcp_ack_snd_check`: "more than one full frame received ... and right edge of
    /// window advances far enough. (tcp_recvmsg() will send ACK otherwise)"). RFC 9293
    /// 3.8.6.3 and RFC 5681 4.2 ask for an ACK for at least every second full-sized
    /// segment with a SHOULD; the MUST (RFC 1122 4.2.3.2: no ACK delayed more than 0.5 s)
    /// holds, the timer is 40 ms.
    ///
    /// Why: a paced sender's segments arrive one at a time, each ACK left before the
    /// reader took the two segments it covers, and every ACK offered two segments less
    /// than the buffer. A window-limited sender then kept that much less in flight: in
    /// `Sim` with 32 KiB buffers and a 100 ms RTT, BBR moved 20 segments per round trip
    /// where the buffer holds 22 (0.88 of smoltcp's 322,945 B/s; see `benches/loss_race`).
    pub(crate) fn ack_would_shrink_window(&self) -> bool {
        let (_, edge) = self.window_to_advertise(false);
        edge.since(self.rcv_nxt) < self.rcv_adv.since(self.last_ack_sent)
    }

    /// Fills in the ACK, window and timestamp of a segment and notes that an ACK went out.
    fn stamp(&mut self, repr: &mut TcpRepr<'_>, now: Instant) {
        let syn = repr.flags.contains(TcpFlags::SYN);
        if self.state != State::SynSent || repr.flags.contains(TcpFlags::ACK) {
            repr.flags.insert(TcpFlags::ACK);
            repr.ack_number = self.rcv_nxt.0;
            let (field, edge) = self.window_to_advertise(syn);
            repr.window_len = field;
            if edge > self.rcv_adv || self.rcv_adv < self.rcv_nxt {
                self.rcv_adv = edge;
            }
            self.last_ack_sent = self.rcv_nxt;
            self.ack_now = false;
            self.ack_batch = false;
            self.ack_on_read = false;
            self.unacked_segs = 0;
            self.timers.stop(Timer::DelayedAck);
        } else {
            let (field, _) = self.window_to_advertise(true);
            repr.window_len = field;
        }
        if self.opts.timestamps {
            repr.timestamp = Some(TcpTimestamp {
                tsval: self.ts_now(now),
                tsecr: self.ts_recent,
            });
        }
        // RFC 2018 section 4: SACK blocks in ACKs while out-of-order data is held. RFC
        // 2883 section 4: a duplicate just received goes first, as a D-SACK block, once;
        // the usual blocks follow (the one holding a duplicated out-of-order segment is
        // the most recent, so second, as rule 4 asks).
        if self.opts.sack && self.state.is_synchronized() && !syn {
            let mut n = if self.opts.timestamps { 3 } else { 4 };
            let mut slots = repr.sack_ranges.iter_mut();
            if let Some((l, r)) = self.dsack.take() {
                if let Some(slot) = slots.next() {
                    *slot = Some((l.0, r.0));
                    n -= 1;
                }
            }
            let mut held = [(0, 0); 4];
            let k = self.recv_buf.sack_ranges_into(&mut held[..n]);
            for (slot, &(s, e)) in slots.zip(&held[..k]) {
                *slot = Some(((self.rcv_nxt + s).0, (self.rcv_nxt + e).0));
            }
        }
    }

    /// Generates every segment due now, handing each to `emit`.
    pub(crate) fn dispatch(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) {
        self.trace_vars(now);
        let (sp, dp) = (self.local.port(), self.remote.port());
        if let Some((seq, ack)) = self.reset_reply.take() {
            let mut r = bare_repr(sp, dp);
            r.seq_number = seq.0;
            r.flags = TcpFlags::RST;
            if let Some(a) = ack {
                r.flags.insert(TcpFlags::ACK);
                r.ack_number = a.0;
            }
            ctx.stats.tcp_out_rsts += 1;
            self.count_out(ctx);
            emit(&Outgoing {
                repr: &r,
                payload: [&[], &[]],
                gso: None,
            });
        }
        if self.send_rst {
            // RFC 9293 3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST> (SND.NXT as the RFC means it:
            // the highest sent, see `ack_seq`).
            self.send_rst = false;
            let mut r = bare_repr(sp, dp);
            r.seq_number = self.ack_seq().0;
            r.flags = TcpFlags::RST;
            ctx.stats.tcp_out_rsts += 1;
            self.count_out(ctx);
            emit(&Outgoing {
                repr: &r,
                payload: [&[], &[]],
                gso: None,
            });
            return;
        }
        match self.state {
            State::Closed | State::Listen => return,
            State::SynSent | State::SynReceived => {
                self.send_syn(now, ctx, emit);
                return;
            }
            _ => {}
        }
        // RFC 5681 4.1: "if the TCP has not sent data in an interval exceeding the
        // retransmission timeout", cwnd restarts from min(IW, cwnd) before new data.
        if self.snd_max == self.snd_una
            && !self.send_buf.is_empty()
            && now - self.last_data_sent > self.rtt.rto()
        {
            self.cc.on_idle_restart(now);
            self.last_data_sent = now;
        }
        let mut budget = 1024; // segments per call, so one connection cannot starve others
        self.pace_start(now);
        if budget > 0 && self.rec.take_retransmit_una() {
            self.trace.why(Cause::FastRetransmit);
            self.send_data_at(now, self.snd_una, ctx, emit, true);
            budget -= 1;
        }
        if self.in_recovery() && self.opts.sack {
            budget -= self.sack_recovery_send(now, ctx, emit, budget);
        }
        // RFC 5682 step 2b: new data instead of old after a timeout (`frto.rs`).
        self.frto_send_new(now, ctx, emit);
        // The budget counts wire segments: a super-segment (TSO, or software GSO) is
        // charged the segments it stands for, so one call puts at most about 1024 frames
        // on the transmit queue whatever the device does with them.
        while budget > 0 {
            let before = self.stats.segs_out;
            if !self.send_new_data(now, ctx, emit) {
                break;
            }
            // (At least one: the loop ends whatever a send counted.)
            budget = budget.saturating_sub(((self.stats.segs_out - before) as usize).max(1));
        }
        self.rate_check_app_limited(now);
        self.tlp_send_if_due(now, ctx, emit);
        if self.probe_due {
            self.send_probe(now, ctx, emit);
        }
        if self.keepalive_due {
            self.keepalive_due = false;
            // RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT - 1, no data.
            let mut r = bare_repr(sp, dp);
            r.seq_number = (self.ack_seq() - 1).0;
            self.stamp(&mut r, now);
            self.count_out(ctx);
            emit(&Outgoing {
                repr: &r,
                payload: [&[], &[]],
                gso: None,
            });
        }
        if self.ack_batch && !self.ack_now && !self.challenge_ack && self.ack_would_shrink_window()
        {
            // Held for the reader (`ack_would_shrink_window`): the delayed-ACK timer, armed
            // below, bounds the wait.
            self.ack_batch = false;
            self.ack_on_read = true;
        }
        if self.ack_now || self.ack_batch || self.challenge_ack {
            self.challenge_ack = false;
            let mut r = bare_repr(sp, dp);
            r.seq_number = self.ack_seq().0;
            self.stamp(&mut r, now);
            self.count_out(ctx);
            emit(&Outgoing {
                repr: &r,
                payload: [&[], &[]],
                gso: None,
            });
        } else if (self.unacked_segs > 0 || self.rcv_nxt != self.last_ack_sent)
            && !self.timers.is_set(Timer::DelayedAck)
            && self.state.is_synchronized()
        {
            self.timers.set(Timer::DelayedAck, now + self.delayed_ack);
        }
        self.arm_persist(now);
        self.arm_linger(now);
    }

    /// Arms the timer that gives drained buffers' storage back
    /// ([`BUFFER_LINGER`](super::conn::BUFFER_LINGER) after they drained; data moving
    /// again before then keeps them).
    pub(crate) fn arm_linger(&mut self, now: Instant) {
        let drained = self.send_buf.is_drained() || self.recv_buf.is_drained();
        if !drained {
            self.timers.stop(Timer::Linger);
        } else if !self.timers.is_set(Timer::Linger) {
            self.timers
                .set(Timer::Linger, now + super::conn::BUFFER_LINGER);
        }
    }

    /// The sequence number for segments without data (ACKs, RST, keep-alives): RFC 9293's
    /// SND.NXT, which never moves back. Here `snd_nxt` goes back to SND.UNA after a
    /// timeout (to resend from there), so the highest sequence number sent stands in for
    /// it — an ACK below the peer's RCV.NXT would be unacceptable to it and answered with
    /// another ACK, forever. The one exception is a zero-window probe beyond the window,
    /// which the peer has not taken: then SND.NXT is what it expects.
    pub(crate) fn ack_seq(&self) -> SeqNum {
        if self.snd_wnd == 0 {
            self.snd_nxt
        } else {
            self.snd_max
        }
    }

    fn count_out(&mut self, ctx: &mut OutputCtx<'_>) {
        self.count_out_segs(ctx, 1);
    }

    /// Counts `segs` wire segments out: a super-segment counts as the segments the
    /// device cuts it into, as Linux counts `gso_segs` in TcpOutSegs.
    fn count_out_segs(&mut self, ctx: &mut OutputCtx<'_>, segs: u64) {
        self.stats.segs_out += segs;
        ctx.stats.tcp_out_segs += segs;
    }

    /// SYN (active open) or SYN-ACK (passive or simultaneous open), with our options
    /// (RFC 9293 3.7.1 MSS, RFC 7323 WS and TS, RFC 2018 SACK-permitted).
    fn send_syn(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) {
        if self.snd_nxt != self.iss {
            if (self.ack_now || self.challenge_ack) && self.state == State::SynReceived {
                // Something arrived that wants an ACK (or a challenge ACK, RFC 5961 3.2)
                // before the handshake completes: the SYN-ACK is that ACK; repeat it.
                self.challenge_ack = false;
                self.snd_nxt = self.iss;
            } else {
                return;
            }
        }
        let retransmission = self.snd_max != self.iss;
        let mut r = bare_repr(self.local.port(), self.remote.port());
        r.flags = TcpFlags::SYN;
        r.seq_number = self.iss.0;
        r.max_seg_size = Some(self.link_mss.min(65_535) as u16);
        if self.opts.wscale_ok {
            r.window_scale = Some(self.opts.rcv_wscale);
        }
        r.sack_permitted = self.opts.sack;
        if self.state == State::SynReceived {
            r.flags.insert(TcpFlags::ACK);
        }
        self.stamp(&mut r, now);
        if self.state == State::SynSent && self.opts.timestamps {
            r.timestamp = Some(TcpTimestamp {
                tsval: self.ts_now(now),
                tsecr: 0,
            });
        }
        self.count_out(ctx);
        self.trace_send(now, self.iss, 0, r.flags, retransmission);
        if retransmission {
            self.stats.retransmits += 1;
            ctx.stats.tcp_retrans_segs += 1;
            // Karn (RFC 6298 3): the SYN's ACK times no round trip now, and an echo of
            // the first SYN's timestamp is stale (as for data, `ack_advance`).
            self.sampler.on_retransmit();
            self.rexmit_high = self.iss + 1;
            self.rexmit_tsval = self.ts_now(now);
        } else {
            self.sampler.start(self.iss + 1, now);
        }
        emit(&Outgoing {
            repr: &r,
            payload: [&[], &[]],
            gso: None,
        });
        self.snd_nxt = self.iss + 1;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        if !self.timers.is_set(Timer::Retransmit) {
            self.arm_rto(now);
        }
    }

    /// Sends one segment of (possibly old) data starting at `seq`, at most one MSS, with a
    /// FIN if it reaches the end of the stream after close().
    fn send_data_at(
        &mut self,
        now: Instant,
        seq: SeqNum,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
        retransmission: bool,
    ) {
        let offset = seq.since(self.snd_una);
        let buffered = self.send_buf.len();
        let len = buffered.saturating_sub(offset).min(self.payload_mss());
        let fin = self.fin_queued && offset + len == buffered && self.may_send_fin();
        if len == 0 && !fin {
            return;
        }
        self.emit_segment(now, seq, len, fin, ctx, emit, retransmission);
    }

    fn may_send_fin(&self) -> bool {
        matches!(
            self.state,
            State::FinWait1 | State::Closing | State::LastAck
        )
    }

    /// RFC 6675 section 5 steps (C): while cwnd - pipe >= 1 SMSS, send NextSeg(): a lost
    /// segment first (rule 1; lost as RACK, RFC 8985 6.2, marks it, retransmissions
    /// found lost again included), else new data the receiver's window allows (rule 2).
    /// Returns the segments sent.
    fn sack_recovery_send(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
        budget: usize,
    ) -> usize {
        self.trace.why(Cause::Sack);
        let mss = self.payload_mss();
        let mut sent = 0;
        while sent < budget {
            let pipe = self.sack_pipe();
            // RFC 9937: the window is PRR's `pipe + sndcnt` of the last ACK.
            let cwnd = if self.prr.active() {
                self.prr.cwnd()
            } else {
                self.cc.cwnd()
            };
            if pipe + mss > cwnd {
                break;
            }
            if let Some((s, e)) = self.rack.next_lost(self.snd_una) {
                let len = self.pace_limit(now, e.since(s).min(mss));
                if len == 0 {
                    break;
                }
                self.emit_segment(now, s, len, false, ctx, emit, true);
                if s == self.snd_una {
                    // The head again (its retransmission was lost, RACK found it): the
                    // RTO restarts from this retransmission, as after the first.
                    self.arm_rto(now);
                }
                sent += 1;
                continue;
            }
            // Rule 2: new data, if the receiver's window has room.
            let len = self.unsent().min(self.window_room()).min(mss);
            if self.snd_nxt != self.snd_max || len == 0 {
                break;
            }
            let len = self.pace_limit(now, len);
            if len == 0 {
                break;
            }
            let seq = self.snd_nxt;
            self.emit_segment(now, seq, len, false, ctx, emit, false);
            sent += 1;
        }
        sent
    }

    /// One step of the send loop: new data (or data again after a timeout) within the
    /// window, under Nagle and SWS rules. Returns whether a segment went out.
    fn send_new_data(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) -> bool {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return false;
        }
        let mss = self.payload_mss();
        let offset = self.snd_nxt.since(self.snd_una);
        let buffered = self.send_buf.len();
        let unsent = buffered.saturating_sub(offset);
        let fin_pending = self.fin_queued
            && self.may_send_fin()
            && offset <= buffered
            && self.fin_sent_seq.is_none_or(|f| self.snd_nxt <= f);
        if unsent == 0 && !fin_pending {
            return false;
        }
        let flight = self.snd_nxt.since(self.snd_una);
        let cwnd = if self.prr.active() {
            // RFC 9937: PRR's window bounds new data during SACK recovery too.
            self.prr.cwnd()
        } else {
            self.cc.cwnd().saturating_add(self.rec.inflation())
        };
        let wnd = self.snd_wnd.min(cwnd);
        let usable = wnd.saturating_sub(flight);
        let retransmission = self.snd_nxt < self.snd_max;
        // A pending D-SACK goes in one segment's header (RFC 2883 4: a duplicate is
        // reported once): a super-segment's header is copied into each of its wire
        // segments, so the segment that carries it is a wire segment.
        let most = if self.dsack.is_some() {
            mss
        } else {
            self.max_send_len(mss)
        };
        let mut len = unsent.min(usable).min(most);
        if retransmission {
            // Data sent before and data never sent go in separate segments, so each is
            // counted (and timed) as what it is.
            len = len.min(self.snd_max.since(self.snd_nxt));
        }
        if len > mss && !len.is_multiple_of(mss) && !(len == unsent && self.nodelay) {
            // A super-segment is whole segments; its short tail waits, as it would as a
            // segment of its own behind the others under Nagle (RFC 1122 4.2.3.4).
            len -= len % mss;
        }
        let mut fin = fin_pending && len == unsent;
        if len == 0 && !fin {
            return false;
        }
        if len < mss && !fin {
            // Nagle (RFC 1122 4.2.3.4): a short segment only when nothing is in flight (or
            // Nagle is off) and it is all we have; sender SWS (RFC 9293 3.8.6.2.1): or when
            // it is at least half the largest window the peer offered.
            let all_we_have = len == unsent;
            let nagle_ok = all_we_have && (self.nodelay || flight == 0);
            let sws_ok = self.max_snd_wnd > 0 && len >= self.max_snd_wnd / 2;
            if !nagle_ok && !sws_ok {
                return false;
            }
        }
        if len > 0 {
            // The pacer may hold the segment back, or let part of a super-segment go.
            let allowed = self.pace_limit(now, len);
            if allowed == 0 {
                return false;
            }
            if allowed < len {
                len = allowed;
                fin = false;
            }
        }
        let seq = self.snd_nxt;
        self.emit_segment(now, seq, len, fin, ctx, emit, retransmission);
        true
    }

    /// The most payload one segment may carry: one MSS, or with TSO
    /// ([`Connection::tso`]) the most whole MSS-sized segments that fit one 64 KiB IPv4
    /// datagram (Linux's `gso_max_size`), for the device to cut into wire segments. The
    /// same bound fits an IPv6 super-segment (its 16-bit Payload Length counts the TCP
    /// header and data, not the 40-byte fixed header).
    pub(crate) fn max_send_len(&self, mss: usize) -> usize {
        if !self.tso {
            return mss;
        }
        // IPv4 header (20) and the largest TCP header (60).
        let room = usize::from(u16::MAX) - 20 - 60;
        (room / mss).max(1) * mss
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit_segment(
        &mut self,
        now: Instant,
        seq: SeqNum,
        len: usize,
        fin: bool,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
        retransmission: bool,
    ) {
        let mut r = bare_repr(self.local.port(), self.remote.port());
        r.seq_number = seq.0;
        let offset = seq.since(self.snd_una);
        if fin {
            r.flags.insert(TcpFlags::FIN);
        }
        if len > 0 && offset + len == self.send_buf.len() {
            r.flags.insert(TcpFlags::PSH);
        }
        self.stamp(&mut r, now);
        // RFC 9937 per-transmit steps: prr_out counts all data sent during recovery.
        self.prr.on_sent(len);
        self.pmtu_note_sent(seq, len);
        self.pace_sent(now, len);
        self.rate_on_send(now, seq, len, retransmission);
        if self.opts.sack {
            // RFC 8985 6.1: each transmission's time, for RACK.
            self.rack.on_send(now, seq, len);
        }
        let mss = self.payload_mss();
        // Wire-sized segments (a super-segment counts as those it stands for); the
        // common one-segment case without the division (its latency showed).
        let segs = if len <= mss {
            1
        } else {
            len.div_ceil(mss) as u64
        };
        self.count_out_segs(ctx, segs);
        self.trace_send(now, seq, len, r.flags, retransmission);
        if retransmission {
            if self.in_recovery() {
                if let Some(u) = self.undo.as_mut() {
                    u.on_retransmit(seq, len);
                }
            }
            self.stats.retransmits += segs;
            ctx.stats.tcp_retrans_segs += segs;
            self.sampler.on_retransmit();
            let end = seq + len + usize::from(fin);
            self.rexmit_high = self.rexmit_high.max(end);
            self.rexmit_tsval = self.ts_now(now);
        }
        let end = seq + len + usize::from(fin);
        if !retransmission && end > self.snd_max {
            // Karn's timed segment (RFC 6298 section 3) is the first wire segment of a
            // super-segment: timed to its end, a sample would include the path
            // serialising the whole burst.
            let first_end = if len > mss { seq + mss } else { end };
            self.sampler.start(first_end, now);
        }
        {
            let (a, b) = self.send_buf.slices(offset, len);
            emit(&Outgoing {
                repr: &r,
                payload: [a, b],
                gso: (len > mss).then_some(mss as u16),
            });
        }
        if fin {
            self.fin_sent_seq = Some(seq + len);
        }
        self.last_data_sent = now;
        if end > self.snd_nxt {
            self.snd_nxt = end;
        }
        self.snd_max = self.snd_max.max(end);
        self.window_use
            .on_send(self.snd_una, self.snd_max, self.snd_max.since(self.snd_una));
        if !self.timers.is_set(Timer::Retransmit) {
            self.arm_rto(now);
        }
        self.timers.stop(Timer::Persist);
        if !retransmission {
            self.arm_tlp(now);
        }
    }

    /// RFC 9293 3.8.6.1: a zero-window probe carries one new byte beyond the window; it is
    /// not counted as in flight (SND.NXT stays) and not timed out like data.
    fn send_probe(
        &mut self,
        now: Instant,
        ctx: &mut OutputCtx<'_>,
        emit: &mut dyn FnMut(&Outgoing<'_, '_>),
    ) {
        self.probe_due = false;
        let offset = self.snd_nxt.since(self.snd_una);
        if offset >= self.send_buf.len() {
            return;
        }
        if self.snd_wnd > 0 {
            // RFC 9293 3.8.6.2.1 (RFC 1122 4.2.3.4's override timeout): the window is
            // open but too small for sender SWS avoidance to use, and nothing in flight
            // will bring the update that would widen it: send what fits.
            if self.snd_nxt != self.snd_una {
                return;
            }
            let len = self
                .snd_wnd
                .min(self.send_buf.len() - offset)
                .min(self.payload_mss());
            let seq = self.snd_nxt;
            let retransmission = seq < self.snd_max;
            self.emit_segment(now, seq, len, false, ctx, emit, retransmission);
            return;
        }
        let mut r = bare_repr(self.local.port(), self.remote.port());
        r.seq_number = self.snd_nxt.0;
        self.stamp(&mut r, now);
        self.count_out(ctx);
        {
            let (a, b) = self.send_buf.slices(offset, 1);
            emit(&Outgoing {
                repr: &r,
                payload: [a, b],
                gso: None,
            });
        }
        self.snd_max = self.snd_max.max(self.snd_nxt + 1);
        log::trace!(target: LOG, "{} -> {}: zero-window probe #{}", self.local, self.remote, self.persist_count);
    }

    /// Arms the persist timer when the peer's window is closed — or open less than a
    /// segment, which sender SWS avoidance may refuse to use (RFC 9293 3.8.6.2.1's
    /// override timeout) — data waits, and nothing in flight will bring an ACK (RFC 9293
    /// 3.8.6.1; back-off like the RTO).
    fn arm_persist(&mut self, now: Instant) {
        let waiting = self.send_buf.len() > self.snd_nxt.since(self.snd_una);
        if self.snd_wnd < self.payload_mss()
            && waiting
            && self.snd_nxt == self.snd_una
            && self.state.is_synchronized()
        {
            if !self.timers.is_set(Timer::Persist) {
                let shift = self.persist_count.min(10);
                let base = self.rtt.rto().max(Duration::from_millis(200));
                let at = now + base.saturating_mul(1 << shift).min(Duration::from_secs(60));
                self.timers.set(Timer::Persist, at);
            }
        } else {
            self.timers.stop(Timer::Persist);
        }
    }
}
