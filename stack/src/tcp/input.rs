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
use std::ops::ControlFlow;

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
            _ => self.on_segment_synchronized(now, seg, Text::Bytes(seg.payload), ctx),
        }
        self.trace_input(now, seg);
    }

    /// Whether a segment may start (or, the same in every field but SEG.SEQ, continue) a
    /// run the core merges (`stack/gro.rs`): one the steps of RFC 9293 3.10.7.4 would
    /// take whole, doing nothing per segment but take its text and count it, so that the
    /// run taken once leaves what the segments taken one by one would. So: ESTABLISHED,
    /// not closed by the application (data after close resets, RFC 1122 4.2.2.13), no
    /// FIN noted (the text must not run past it), no ACK already due (it would go with
    /// the first segment's ACK number), timestamps that pass PAWS (RFC 7323 5.3), and an
    /// ACK field that can change nothing (`ack_says_nothing`: it moves nothing, nothing
    /// is outstanding, no recovery, loss probe or undo open), so RACK, TLP, F-RTO and the
    /// rate samples would see nothing in any of them.
    pub(crate) fn may_merge(&self, seg: &TcpRepr<'_>) -> bool {
        let ts_ok = !self.opts.timestamps
            || seg
                .timestamp
                .is_some_and(|t| !super::rtt::ts_before(t.tsval, self.ts_recent));
        self.state == State::Established
            && !self.orphaned()
            && self.fin_seq.is_none()
            && !self.ack_now
            && ts_ok
            && seg.flags.contains(TcpFlags::ACK)
            && self.ack_says_nothing(SeqNum(seg.ack_number), seg)
    }

    /// Processes a run of `segs` in-order segments merged into one (the core's receive
    /// coalescing, `stack/gro.rs`), each of which passed [`may_merge`](Self::may_merge):
    /// `seg` is the first one's header, `last_seq` the last one's SEG.SEQ, and their
    /// `len` bytes of text are already in the receive buffer, staged where the next
    /// in-order bytes go ([`RecvBuffer::extend_staged`](super::recv::RecvBuffer::extend_staged)),
    /// every segment `seg_size` long but the last, which may be shorter. The steps see
    /// one segment of that length, as they see a super-segment from an offloading
    /// device. What the later segments would have done one by one is done after: their
    /// send-window update (SND.WL1 ends at the last one's SEQ, RFC 9293 3.10.7.4 fifth),
    /// their receive-RTT samples and ACK counts (per full-sized segment), their trace
    /// events.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_segment_in_place(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        last_seq: u32,
        len: usize,
        seg_size: usize,
        segs: u32,
        ctx: &mut InputCtx<'_>,
    ) {
        self.stats.segs_in += u64::from(segs);
        match self.state {
            State::Closed | State::Listen | State::SynSent => {}
            _ => {
                self.on_segment_synchronized(now, seg, Text::InPlace(len, seg_size), ctx);
                if self.state == State::Established && segs > 1 {
                    let wnd = usize::from(seg.window_len) << self.opts.snd_wscale;
                    let ack = SeqNum(seg.ack_number);
                    self.update_send_window(now, SeqNum(last_seq), ack, wnd);
                }
            }
        }
        for _ in 0..segs {
            self.trace_input(now, seg);
        }
    }

    /// RFC 9293 3.10.7.3: SEGMENT ARRIVES in SYN-SENT.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>, ctx: &mut InputCtx<'_>) {
        let ack = SeqNum(seg.ack_number);
        let has_ack = seg.flags.contains(TcpFlags::ACK);
        // First, the ACK bit: it must acknowledge our SYN and nothing beyond.
        if has_ack && (ack <= self.iss || ack > self.snd_max) {
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
            self.ack_advance(now, ack, seg, None, ctx);
        }
        if self.snd_una > self.iss {
            // Our SYN is acknowledged: ESTABLISHED; the window comes unscaled in a SYN.
            self.set_send_window(
                now,
                SeqNum(seg.seq_number),
                ack,
                usize::from(seg.window_len),
            );
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

    /// RFC 9293 3.10.7.4: every state after SYN-SENT. The segment goes through the
    /// RFC's steps in its order; a step that drops the segment (or answers it and is
    /// done) breaks out of the list.
    fn on_segment_synchronized(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        text: Text<'_>,
        ctx: &mut InputCtx<'_>,
    ) {
        let mut seg = Segment::new(seg, text, self.opts.snd_wscale);
        let _ = self.segment_arrives(now, &mut seg, ctx);
    }

    /// The steps of RFC 9293 3.10.7.4, each a function, each returning
    /// `ControlFlow::Break` when the segment goes no further.
    fn segment_arrives(
        &mut self,
        now: Instant,
        seg: &mut Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        // RFC 2883 section 4 (1): a D-SACK reports a duplicate in the most recent segment
        // only.
        self.dsack = None;
        self.syn_received_repeats(seg)?;
        self.timestamps_check(seg, ctx)?;
        self.first_check_sequence_number(now, seg, ctx)?;
        self.second_check_rst(now, seg, ctx)?;
        // Third, "check security": tunstack keeps no security/compartment labels on a
        // connection (IP's Security option is not implemented), so nothing can differ.
        self.fourth_check_syn(seg, ctx)?;
        self.fifth_check_ack(now, seg, ctx)?;
        // Sixth, "check the URG bit": tunstack keeps no urgent mode (RFC 6093 section 6:
        // new applications should not use it); the urgent pointer is ignored and urgent
        // data is delivered in line with the rest of the stream, as RFC 6093 section 4
        // describes for stacks without it.
        self.seventh_process_text(now, seg)?;
        self.eighth_check_fin(now, seg, ctx);
        self.segment_taken(now);
        ControlFlow::Continue(())
    }

    /// In SYN-RECEIVED, the peer's SYN repeated, before the usual steps:
    ///
    /// RFC 9293 3.5 figure 8 (simultaneous open): the peer's SYN-ACK repeats its SYN
    /// (SEQ = IRS) and acknowledges ours. It is not a stray SYN (RFC 5961 4.2 exempts
    /// it, as Linux's tcp_validate_incoming does): with an acceptable ACK it is the
    /// segment that completes the handshake, taken on without its SYN.
    ///
    /// RFC 9293 3.8.1: the peer's SYN again (SEQ = IRS, no ACK) means our SYN-ACK was
    /// lost: it is sent again (not a challenge ACK: this is no attack), and that is all.
    fn syn_received_repeats(&mut self, seg: &mut Segment<'_, '_>) -> ControlFlow<()> {
        if self.state != State::SynReceived || !seg.has(TcpFlags::SYN) || seg.seq() != self.irs {
            return ControlFlow::Continue(());
        }
        if seg.has(TcpFlags::ACK) {
            let ack = seg.ack();
            if ack > self.snd_una && ack <= self.snd_max {
                seg.flags.remove(TcpFlags::SYN);
                seg.seq = seg.seq.wrapping_add(1);
                seg.len -= 1;
            }
            return ControlFlow::Continue(());
        }
        if seg.has(TcpFlags::RST) {
            return ControlFlow::Continue(());
        }
        self.snd_nxt = self.iss;
        self.ack_now = true;
        ControlFlow::Break(())
    }

    /// RFC 7323, ahead of the first step: once timestamps are in use, a non-RST segment
    /// without them is dropped (3.2: "a TCP SHOULD silently drop the segment"), and PAWS
    /// (5.3) drops a segment whose TSval is older than TS.Recent, a duplicate from an
    /// earlier incarnation of the sequence space, with an ACK.
    fn timestamps_check(
        &mut self,
        seg: &Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        if !self.opts.timestamps || seg.has(TcpFlags::RST) {
            return ControlFlow::Continue(());
        }
        // TSval alone (a 4-byte load: the pair as one 8-byte load straddled the stores
        // that copied the header in, and waited on them).
        let Some(tsval) = seg.repr.timestamp.as_ref().map(|t| t.tsval) else {
            log::trace!(target: LOG, "dropped a segment without timestamps");
            return ControlFlow::Break(());
        };
        if super::rtt::ts_before(tsval, self.ts_recent) {
            ctx.stats.tcp_paws_estab += 1;
            log::trace!(target: LOG, "PAWS dropped a segment (tsval {} < {})", tsval, self.ts_recent);
            self.ack_now = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// RFC 9293 3.10.7.4 "first, check sequence number": the four cases of segment
    /// length and receive window. An unacceptable segment is answered with an ACK
    /// (rate limited without data; a SYN gets RFC 5961 4.2's challenge ACK; a duplicate
    /// gets a D-SACK, RFC 2883 4) and dropped, except that a segment at RCV.NXT into a
    /// zero window still has its ACK and window taken ("special allowance should be made
    /// to accept valid ACKs").
    fn first_check_sequence_number(
        &mut self,
        now: Instant,
        seg: &mut Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        let seq = seg.seq();
        let seg_len = seg.len;
        let rst = seg.has(TcpFlags::RST);
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
        if acceptable {
            return ControlFlow::Continue(());
        }
        // RFC 5961 4.2: a SYN gets a challenge ACK "regardless of the sequence number"
        // (rate limited like every challenge ACK, section 7).
        if seg.has(TcpFlags::SYN) && !rst {
            self.send_challenge_ack(ctx);
            return ControlFlow::Break(());
        }
        // In TIME-WAIT a retransmitted FIN is acknowledged and restarts the 2 MSL wait.
        if self.state == State::TimeWait && seg.has(TcpFlags::FIN) && !rst {
            self.timers
                .set(Timer::TimeWait, now + ctx.msl.saturating_mul(2));
        }
        let text_len = seg.text.len();
        if !rst && self.opts.sack && text_len > 0 && seq + text_len <= self.rcv_nxt {
            // RFC 2883 section 4: data wholly below RCV.NXT is a duplicate; the ACK
            // reports it in a D-SACK block.
            self.dsack = Some((seq, seq + text_len));
        }
        if !rst {
            // Answer, but a segment without data gets at most one answer per 500 ms:
            // two stacks that disagree about each other's sequence numbers would
            // otherwise trade ACKs forever (Linux's tcp_invalid_ratelimit).
            let pure = text_len == 0 && !seg.has(TcpFlags::FIN);
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
        // "If the RCV.WND is zero, no segments will be acceptable, but special allowance
        // should be made to accept valid ACKs": a segment at RCV.NXT into our zero window
        // (the peer's data or window probe) still carries its ACK and window; take those
        // and drop only the text.
        let zero_window_at_edge = rcv_wnd == 0
            && seq == self.rcv_nxt
            && !rst
            && !seg.has(TcpFlags::SYN)
            && seg.has(TcpFlags::ACK)
            && self.state != State::TimeWait;
        if !zero_window_at_edge {
            return ControlFlow::Break(());
        }
        seg.text = Text::Bytes(&[]);
        seg.flags.remove(TcpFlags::FIN);
        ControlFlow::Continue(())
    }

    /// RFC 9293 3.10.7.4 "second, check the RST bit", with RFC 5961 3.2: a reset exactly
    /// at RCV.NXT resets the connection (`on_reset`); one elsewhere in the window gets a
    /// challenge ACK.
    fn second_check_rst(
        &mut self,
        now: Instant,
        seg: &Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        if !seg.has(TcpFlags::RST) {
            return ControlFlow::Continue(());
        }
        if seg.seq() == self.rcv_nxt {
            self.on_reset(now, ctx);
        } else {
            self.send_challenge_ack(ctx);
        }
        ControlFlow::Break(())
    }

    /// RFC 9293 3.10.7.4 "fourth, check the SYN bit": a SYN in a synchronized state gets
    /// a challenge ACK whatever its sequence number (RFC 5961 4.2), and is dropped.
    fn fourth_check_syn(
        &mut self,
        seg: &Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        if !seg.has(TcpFlags::SYN) {
            return ControlFlow::Continue(());
        }
        self.send_challenge_ack(ctx);
        ControlFlow::Break(())
    }

    /// RFC 9293 3.10.7.4 "fifth, check the ACK field": without ACK the segment is
    /// dropped. TS.Recent follows (RFC 7323 4.3); in SYN-RECEIVED an acceptable ACK
    /// establishes the connection, another draws a reset; RFC 5961 5.2 bounds the
    /// acceptable ACKs; then the ACK itself (SND.UNA, loss detection and recovery,
    /// `recovery.rs`), the send window, and what an acknowledged FIN means in each
    /// closing state.
    fn fifth_check_ack(
        &mut self,
        now: Instant,
        seg: &Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        if !seg.has(TcpFlags::ACK) {
            return ControlFlow::Break(());
        }
        let (seq, ack) = (seg.seq(), seg.ack());
        // TS.Recent update (RFC 7323 4.3): for an in-order segment at or before our last ACK.
        if let (true, Some(ts)) = (self.opts.timestamps, seg.repr.timestamp) {
            if seq <= self.last_ack_sent && !super::rtt::ts_before(ts.tsval, self.ts_recent) {
                self.ts_recent = ts.tsval;
            }
        }
        if self.state == State::SynReceived {
            // SND.UNA < SEG.ACK =< SND.NXT moves to ESTABLISHED; otherwise
            // <SEQ=SEG.ACK><CTL=RST>.
            if ack > self.snd_una && ack <= self.snd_max {
                self.set_send_window(now, seq, ack, seg.window());
                self.become_established(now);
            } else {
                self.reset_reply = Some((ack, None));
                return ControlFlow::Break(());
            }
        }
        // RFC 5961 5.2: the ACK must lie in [SND.UNA - MAX.SND.WND, SND.NXT]; beyond what
        // we sent it is answered with an ACK and dropped; too old, also.
        if ack > self.snd_max {
            self.ack_now = true;
            return ControlFlow::Break(());
        }
        if ack < self.snd_una - self.max_snd_wnd {
            self.send_challenge_ack(ctx);
            return ControlFlow::Break(());
        }
        // The ACK field: SND.UNA, loss detection and recovery (`recovery.rs`).
        self.on_ack_field(now, seg.repr, ack, seg.len, ctx);
        self.update_send_window(now, seq, ack, seg.window());
        self.on_fin_acked_state(now, seg, ctx)
    }

    /// RFC 9293 3.10.7.4 fifth, the closing states: in FIN-WAIT-1 an acknowledged FIN
    /// moves to FIN-WAIT-2; in CLOSING to TIME-WAIT; in LAST-ACK the connection closes;
    /// in TIME-WAIT only a retransmitted FIN arrives, which is acknowledged and restarts
    /// the 2 MSL wait.
    fn on_fin_acked_state(
        &mut self,
        now: Instant,
        seg: &Segment<'_, '_>,
        ctx: &mut InputCtx<'_>,
    ) -> ControlFlow<()> {
        let fin_acked = self.fin_acked();
        match self.state {
            State::FinWait1 if fin_acked => {
                self.state = State::FinWait2;
                self.arm_fin_wait_2(now);
            }
            State::Closing if fin_acked => self.enter_time_wait(now, ctx),
            State::LastAck if fin_acked => {
                self.enter_closed(None, now);
                return ControlFlow::Break(());
            }
            State::TimeWait => {
                if seg.has(TcpFlags::FIN) {
                    self.ack_now = true;
                    self.timers
                        .set(Timer::TimeWait, now + ctx.msl.saturating_mul(2));
                }
                return ControlFlow::Break(());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// RFC 9293 3.10.7.4 "seventh, process the segment text" (ESTABLISHED, FIN-WAIT-1,
    /// FIN-WAIT-2): in-window data is taken (`take_data`). New data after the
    /// application closed the connection resets it (RFC 1122 4.2.2.13: "if new data is
    /// received after CLOSE is called, its TCP SHOULD send a RST to show that data was
    /// lost"; Linux's TCPAbortOnData).
    fn seventh_process_text(&mut self, now: Instant, seg: &Segment<'_, '_>) -> ControlFlow<()> {
        let (seq, text) = (seg.seq(), seg.text);
        if self.orphaned() && self.state.can_receive() && seq + text.len() > self.rcv_nxt {
            log::debug!(target: LOG, "{} -> {}: data after close, resetting", self.local, self.remote);
            self.send_rst = true;
            self.enter_closed(Some(ConnError::Aborted), now);
            return ControlFlow::Break(());
        }
        if text.len() > 0 && self.state.can_receive() {
            self.take_data(now, seq, text);
            self.rcv_rtt_sample(now, seg);
        }
        ControlFlow::Continue(())
    }

    /// The receiver's round-trip sample for receive-buffer autotuning (`rcv_tune.rs`):
    /// the TSecr of a full-sized data segment against our timestamp clock (RFC 7323
    /// 4.1), as Linux's `tcp_rcv_rtt_measure_ts`.
    fn rcv_rtt_sample(&mut self, now: Instant, seg: &Segment<'_, '_>) {
        let full = self.full_sized();
        // One sample per full-sized segment: a merged run gives as many as its segments
        // one by one (the average is a moving one).
        let samples = seg.text.pieces().filter(|&n| n >= full).count();
        if !self.recv_autotunes() || samples == 0 {
            return;
        }
        let Some(tsecr) = seg.repr.timestamp.as_ref().map(|t| t.tsecr) else {
            return;
        };
        if let Some(rtt) = super::rtt::sample_from_tsecr(self.ts_now(now), tsecr) {
            for _ in 0..samples {
                self.rcv_tune.on_rtt_sample(rtt);
            }
        }
    }

    /// A full-sized segment's payload as the receiver counts it (RFC 5681 4.2's "full-sized
    /// segment"; RFC 1122 4.2.3.2): the peer's SMSS, within what our path carries.
    fn full_sized(&self) -> usize {
        self.opts.smss.min(self.payload_mss())
    }

    /// RFC 9293 3.10.7.4 "eighth, check the FIN bit": the FIN's place is noted; it is
    /// taken once all data before it has arrived (`maybe_take_fin`). A FIN ahead of
    /// missing data is out of order: an immediate duplicate ACK (RFC 5681 4.2).
    fn eighth_check_fin(&mut self, now: Instant, seg: &Segment<'_, '_>, ctx: &mut InputCtx<'_>) {
        if seg.has(TcpFlags::FIN) && self.fin_seq.is_none() {
            let fin = seg.seq() + seg.text.len();
            self.fin_seq = Some(fin);
            if fin > self.rcv_nxt {
                self.ack_now = true;
            }
        }
        self.maybe_take_fin(now, ctx);
    }

    /// A segment went through every step: the peer is alive (keep-alive starts over,
    /// RFC 1122 4.2.3.6).
    fn segment_taken(&mut self, now: Instant) {
        self.last_recv = now;
        self.keepalive_sent = 0;
        if self.keepalive.is_some() && self.state == State::Established {
            self.arm_keepalive(now);
        }
    }

    /// SND.WND, SND.WL1 and SND.WL2 from a segment (RFC 9293 3.10.7.4), with the largest
    /// window the peer offered and when it last grew (`rate_check_app_limited`).
    fn set_send_window(&mut self, now: Instant, seq: SeqNum, ack: SeqNum, wnd: usize) {
        self.snd_wnd = wnd;
        if wnd > self.max_snd_wnd {
            self.max_snd_wnd = wnd;
            self.snd_wnd_grew_at = now;
        }
        self.snd_wl1 = seq;
        self.snd_wl2 = ack;
    }

    /// RFC 9293 3.10.7.4 (fifth, "If SND.UNA =< SEG.ACK =< SND.NXT, the send window
    /// should be updated"): from a newer segment, or the same one with a newer ACK
    /// (SND.WL1, SND.WL2); `wnd` is the window field, scaled.
    fn update_send_window(&mut self, now: Instant, seq: SeqNum, ack: SeqNum, wnd: usize) {
        if self.snd_wl1 < seq || (self.snd_wl1 == seq && self.snd_wl2 <= ack) {
            self.set_send_window(now, seq, ack, wnd);
            if wnd > 0 {
                self.timers.stop(Timer::Persist);
                self.persist_count = 0;
                self.probe_due = false;
            }
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

    /// An RTT measurement: the estimator (RFC 6298 2, which also ends a back-off),
    /// RACK's minimum RTT, and the trace.
    pub(crate) fn take_rtt_sample(&mut self, now: Instant, rtt: Duration) {
        self.rtt.sample(rtt);
        self.rack.on_rtt_sample(rtt);
        self.trace_rtt(now, rtt);
    }

    /// New data acknowledged: RTT, congestion control, fast recovery (RFC 5681, RFC 6582),
    /// retransmission timer (RFC 6298 5.2-5.3). `clean_rtt`: the RTT RACK's records give
    /// when timestamps are off (see `on_ack_field`).
    pub(crate) fn ack_advance(
        &mut self,
        now: Instant,
        ack: SeqNum,
        seg: &TcpRepr<'_>,
        clean_rtt: Option<Duration>,
        ctx: &mut InputCtx<'_>,
    ) {
        let flight_before = self.snd_max.since(self.snd_una);
        let covers_rexmit = self.snd_una < self.rexmit_high;
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
        if self.snd_nxt < ack {
            self.snd_nxt = ack;
        }
        self.stats.bytes_acked += data_acked as u64;

        // RTT: timestamps when in use (RFC 7323 4.1), else RACK's records (with SACK),
        // else Karn's timed segment.
        let mut sample = None;
        if self.opts.timestamps {
            // An ACK covering retransmitted data whose echo predates the latest
            // retransmission echoes an earlier copy: its "RTT" spans the timeouts.
            let stale =
                |tsecr: u32| covers_rexmit && super::rtt::ts_before(tsecr, self.rexmit_tsval);
            if let Some(ts) = seg.timestamp.filter(|ts| !stale(ts.tsecr)) {
                sample = super::rtt::sample_from_tsecr(self.ts_now(now), ts.tsecr);
            }
        }
        let timed = self.sampler.on_ack(ack, now);
        let sample = sample.or(clean_rtt).or(timed);
        if let Some(rtt) = sample {
            self.take_rtt_sample(now, rtt);
        }
        self.rto_count = 0;
        // Progress: the user timeout's clock starts again (from now, for what is left).
        self.stalled_since = None;
        // RFC 3522: was the timeout before this ACK spurious?
        self.rto_undo_on_ack(now, seg.timestamp.map(|t| t.tsecr), ctx.stats);

        self.recovery_on_new_ack(now, data_acked, flight_before, sample);
        self.scoreboard.ack(self.snd_una);

        // RFC 6298 5.2 / 5.3: all acknowledged -> stop the timer; else restart it.
        if self.snd_una == self.snd_max {
            self.timers.stop(Timer::Retransmit);
        } else {
            self.arm_rto(now);
            self.arm_tlp(now);
        }
    }

    /// RFC 9293 3.10.7.4 "seventh": take in-window data; ACK policy per RFC 5681 4.2 and
    /// RFC 1122 4.2.3.2 (every second full segment, at once when out of order or when a
    /// hole is filled).
    fn take_data(&mut self, _now: Instant, seq: SeqNum, text: Text<'_>) {
        let payload = match text {
            Text::Bytes(payload) => payload,
            Text::InPlace(len, _) => {
                // Staged at RCV.NXT with nothing held out of order, within the window
                // (`RecvBuffer::stage`'s conditions, which nothing since has changed):
                // in order, all of it taken.
                let advanced = self.recv_buf.take_staged(len);
                debug_assert_eq!((seq, advanced), (self.rcv_nxt, len));
                self.rcv_nxt += advanced;
                self.stats.bytes_received += advanced as u64;
                // Counted as the segments would be one by one.
                let full = self.full_sized().max(1);
                self.count_full_segments(text.pieces().map(|n| n / full).sum());
                return;
            }
        };
        // Trim what lies before RCV.NXT.
        let (offset, data) = if seq < self.rcv_nxt {
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
        } else if data.len() >= self.full_sized() {
            // A super-segment from an offloading device counts as the full-sized
            // segments it stands for, so RFC 5681 4.2's "at least every second
            // full-sized segment" holds for the run: it is ACKed at once, as a whole.
            self.count_full_segments(data.len() / self.full_sized().max(1));
        }
        if advanced == 0 && offset == 0 {
            // Nothing fit (zero window): ACK so the peer learns the window.
            self.ack_now = true;
        }
    }

    /// RFC 5681 4.2's ACK policy for `n` full-sized segments taken in order (nothing
    /// held out of order): from the second one not yet ACKed, an ACK is due.
    fn count_full_segments(&mut self, n: usize) {
        self.unacked_segs = self
            .unacked_segs
            .saturating_add(n.min(u32::MAX as usize) as u32);
        if self.unacked_segs >= 2 {
            // Due, but with the rest of the batch: RFC 5681 4.2 asks for an ACK for at
            // least every second full-sized segment; a batch of in-order segments taken
            // in one turn gets one ACK that covers it (a stretch ACK, as Linux's GRO
            // receiver sends; our sender, and Linux's, count the bytes it acknowledges,
            // so slow start does not starve: RFC 3465 2.2, RFC 9406 4.2).
            self.ack_batch = true;
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

/// An arriving segment as the steps of RFC 9293 3.10.7.4 see it: the fields the steps
/// may trim (SEG.SEQ, the flags, the text), its length in sequence space (SEG.LEN, fixed
/// before any trimming, as the acceptability test computed it), the window shift that
/// applies to it, and the header as parsed for the rest. The header is borrowed, not
/// copied: a copy's wide loads of the fields the parser had just stored one by one
/// waited for those stores (half of `on_segment`'s own time in the in-memory profile).
pub(crate) struct Segment<'r, 'a> {
    repr: &'r TcpRepr<'a>,
    /// SEG.SEQ, as trimmed.
    seq: u32,
    /// The control bits, as trimmed.
    flags: TcpFlags,
    /// The text, as trimmed.
    text: Text<'a>,
    /// SEG.LEN: the payload plus one for SYN and one for FIN.
    len: usize,
    /// RFC 7323 2.2: the window of a segment with SYN is never scaled.
    wnd_shift: u8,
}

/// A segment's text: its bytes, or a length whose bytes the core already put in the
/// receive buffer (a merged run of segments, `Connection::on_segment_in_place`).
#[derive(Clone, Copy)]
enum Text<'a> {
    Bytes(&'a [u8]),
    /// The length, and that of each merged segment but the last.
    InPlace(usize, usize),
}

impl Text<'_> {
    fn len(&self) -> usize {
        match self {
            Text::Bytes(b) => b.len(),
            Text::InPlace(n, _) => *n,
        }
    }

    /// The lengths of the segments the text came in: its own for bytes; for a merged
    /// run, each segment's (all as long as the first but the last).
    fn pieces(&self) -> impl Iterator<Item = usize> {
        let (len, each) = match *self {
            Text::Bytes(b) => (b.len(), b.len().max(1)),
            Text::InPlace(n, each) => (n, each.max(1)),
        };
        (0..len.div_ceil(each)).map(move |k| each.min(len - k * each))
    }
}

impl<'r, 'a> Segment<'r, 'a> {
    fn new(repr: &'r TcpRepr<'a>, text: Text<'a>, snd_wscale: u8) -> Segment<'r, 'a> {
        let syn = repr.flags.contains(TcpFlags::SYN);
        let len = text.len() + usize::from(syn) + usize::from(repr.flags.contains(TcpFlags::FIN));
        Segment {
            repr,
            seq: repr.seq_number,
            flags: repr.flags,
            text,
            len,
            wnd_shift: if syn { 0 } else { snd_wscale },
        }
    }

    fn has(&self, flags: TcpFlags) -> bool {
        self.flags.contains(flags)
    }

    /// SEG.SEQ.
    fn seq(&self) -> SeqNum {
        SeqNum(self.seq)
    }

    /// SEG.ACK.
    fn ack(&self) -> SeqNum {
        SeqNum(self.repr.ack_number)
    }

    /// SEG.WND, scaled.
    fn window(&self) -> usize {
        usize::from(self.repr.window_len) << self.wnd_shift
    }
}
