//! The transmission control block: one connection's state (RFC 9293 3.3.1) and the calls
//! an application makes on it (RFC 9293 3.10.1-3.10.6). Segment arrival is in
//! `input.rs`, segment generation in `output.rs`.

use std::net::SocketAddr;

use super::config::TcpConfig;
use super::congestion::CongestionControl;
use super::recv::RecvBuffer;
use super::rtt::{RttEstimator, RttSampler};
use super::send::SendBuffer;
use super::seq::SeqNum;
use super::state::State;
use super::timer::{Timer, Timers};
use crate::time::{Duration, Instant};

/// How long drained send and receive buffers keep their storage before it is given
/// back: long enough that a bulk transfer, which drains them between bursts, keeps
/// reusing it; short enough that an idle connection soon costs only its TCB.
pub const BUFFER_LINGER: Duration = Duration::from_secs(1);

/// Why a connection ended abnormally, as the application sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// The peer answered the SYN with a reset (`ConnectionRefused`).
    Refused,
    /// The peer reset an open connection (`ConnectionReset`).
    Reset,
    /// Retransmissions or keep-alives went unanswered (`TimedOut`).
    TimedOut,
    /// The application aborted it.
    Aborted,
    /// An ICMP error said the peer cannot be reached (`icmp_err.rs`): at once for a hard
    /// error before the connection is synchronized, or as the reason for giving up.
    Unreachable(super::icmp_err::Unreachable),
}

/// Per-connection counters, for `ss -ti`-style listings and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    /// Segments retransmitted (all causes).
    pub retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Fast retransmits (third duplicate ACK).
    pub fast_retransmits: u64,
    /// Bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Bytes received in order.
    pub bytes_received: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments received.
    pub segs_in: u64,
}

/// Options negotiated in the handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The send MSS: the peer's MSS option (536 without one over IPv4, 1220 over IPv6,
    /// RFC 9293 3.7.1 and [`default_mss`]), clamped to
    /// what our link carries.
    pub smss: usize,
    /// Shift applied to windows we receive (RFC 7323 2.3), 0 without window scaling.
    pub snd_wscale: u8,
    /// Shift applied to windows we send.
    pub rcv_wscale: u8,
    /// Window scaling in use (offered by us; after the handshake, by both).
    pub wscale_ok: bool,
    /// Timestamps in use (RFC 7323 section 3).
    pub timestamps: bool,
    /// SACK permitted both ways (RFC 2018).
    pub sack: bool,
}

/// One TCP connection.
#[derive(Debug)]
pub struct Connection {
    /// The stack's number for this connection: from 1, never reused while the stack
    /// runs (0 until the connection table stores it).
    pub(crate) id: u64,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) state: State,
    pub(crate) error: Option<ConnError>,
    /// The last ICMP soft error (`icmp_err.rs`, RFC 9293 3.9.2.2), reported if the
    /// connection gives up; an ACK of new data clears it.
    pub(crate) soft_error: Option<ConnError>,
    pub(crate) opts: Negotiated,
    /// The largest payload our link carries in one segment (MTU - 40).
    pub(crate) link_mss: usize,
    /// The path MTU estimate that bounds the send MSS (`pmtu.rs`, RFC 1191).
    pub(crate) pmtu: super::pmtu::PathMtu,
    /// Whether the application still holds a handle (false after close()).
    pub(crate) user_attached: bool,
    /// The path's device segments for us (TSO): data leaves in super-segments of up to
    /// 64 KiB ([`Connection::max_send_len`]).
    pub(crate) tso: bool,

    // ---- send sequence space (RFC 9293 3.3.1)
    pub(crate) iss: SeqNum,
    pub(crate) snd_una: SeqNum,
    pub(crate) snd_nxt: SeqNum,
    /// The highest sequence number sent so far (snd_nxt can go back on a timeout).
    pub(crate) snd_max: SeqNum,
    /// The peer's window, scaled, in bytes.
    pub(crate) snd_wnd: usize,
    pub(crate) snd_wl1: SeqNum,
    pub(crate) snd_wl2: SeqNum,
    /// The largest window the peer has offered (for RFC 5961 5.2 and sender SWS).
    pub(crate) max_snd_wnd: usize,
    /// When `max_snd_wnd` last grew: the peer's receive buffer is still growing
    /// (autotuning) while this is recent (`rate_check_app_limited`).
    pub(crate) snd_wnd_grew_at: Instant,
    pub(crate) send_buf: SendBuffer,
    /// The most `send_buf` may grow to (`TcpConfig::send_buffer_max`).
    pub(crate) send_buffer_max: usize,
    /// The application called shutdown(Write)/close(): send a FIN after the data.
    pub(crate) fin_queued: bool,
    /// The sequence number of our FIN, once sent.
    pub(crate) fin_sent_seq: Option<SeqNum>,
    /// An RST to send in reply to the segment just processed: (SEQ, ACK if any).
    pub(crate) reset_reply: Option<(SeqNum, Option<SeqNum>)>,

    // ---- receive sequence space
    pub(crate) irs: SeqNum,
    pub(crate) rcv_nxt: SeqNum,
    /// The right edge of the window last advertised; never moved left (RFC 9293 3.8.6.2.2).
    pub(crate) rcv_adv: SeqNum,
    pub(crate) recv_buf: RecvBuffer,
    /// Receive-buffer autotuning (`rcv_tune.rs`).
    pub(crate) rcv_tune: super::rcv_tune::RcvTune,
    /// The peer's FIN, once seen (perhaps ahead of missing data): its sequence number.
    pub(crate) fin_seq: Option<SeqNum>,
    /// The peer's FIN has been taken in (end of stream for the reader).
    pub(crate) fin_received: bool,

    // ---- timestamps (RFC 7323 4.3 and 5.3)
    pub(crate) ts_recent: u32,
    pub(crate) ts_offset: u32,
    pub(crate) last_ack_sent: SeqNum,

    // ---- timers, RTT, congestion
    pub(crate) timers: Timers,
    pub(crate) rtt: RttEstimator,
    pub(crate) sampler: RttSampler,
    pub(crate) cc: Box<dyn CongestionControl>,
    /// The most in flight over the current window, for window validation (`window_use.rs`).
    pub(crate) window_use: super::window_use::WindowUse,
    /// The loss-recovery episode's state (`recovery.rs`; `in_recovery()` asks it).
    pub(crate) rec: super::recovery::Episode,
    /// What the peer has SACKed above SND.UNA (RFC 2018, RFC 6675).
    pub(crate) scoreboard: super::sack::Scoreboard,
    /// RFC 2883 section 4: the duplicate data the segment just taken carried, for the
    /// first SACK block of the ACK that answers it (and no other).
    pub(crate) dsack: Option<(SeqNum, SeqNum)>,
    /// RFC 3708: the window before the last fast retransmit, until D-SACKs prove its
    /// retransmissions spurious (or a timeout or the next episode ends it).
    pub(crate) undo: Option<super::undo::Undo>,
    /// RFC 3522 (Eifel) or RFC 5682 (F-RTO), and RFC 4015: the state a retransmission
    /// timeout changed, until the ACKs after it show whether it was spurious.
    pub(crate) rto_undo: Option<super::undo::RtoUndo>,
    /// RFC 9937 PRR: the window during SACK loss recovery.
    pub(crate) prr: super::prr::Prr,
    /// The pacer (`pace.rs`).
    pub(crate) pacer: super::pace::Pacer,
    /// The delivery-rate sampler (`rate.rs`), fed while the algorithm wants samples.
    pub(crate) delivery: super::rate::RateSampler,
    /// RACK (RFC 8985 section 6, `rack.rs`): time-based loss detection when SACK is on.
    pub(crate) rack: super::rack::Rack,
    /// The end of the highest retransmitted segment: an ACK covering it gives no
    /// timestamp RTT sample (Karn's rule applied to timestamps too: the echo may be of an
    /// earlier copy, and one such sample spanning backed-off timeouts blows the RTO up).
    pub(crate) rexmit_high: SeqNum,
    /// The TSval of the latest retransmission: an echo at least this recent measures the
    /// retransmission itself and is a valid sample (RFC 7323 4.1).
    pub(crate) rexmit_tsval: u32,
    /// When we last answered an unacceptable segment without data (RFC 5961-era ACK-loop
    /// protection; Linux's `tcp_invalid_ratelimit`).
    pub(crate) last_oow_ack: Option<Instant>,
    /// The tail loss probe's state (RFC 8985 section 7, `tlp.rs`).
    pub(crate) tlp: super::tlp::Tlp,
    /// Since when the oldest unacknowledged sequence space (SYN, data or FIN) has waited
    /// for an acknowledgement without progress: the clock of the user timeout (RFC 5482)
    /// and of the SYN timeout. `None` while nothing is outstanding.
    pub(crate) stalled_since: Option<Instant>,
    /// Consecutive RTOs without progress.
    pub(crate) rto_count: u32,
    /// Zero-window probes sent without the window opening.
    pub(crate) persist_count: u32,
    /// A zero-window probe is due.
    pub(crate) probe_due: bool,
    /// Keep-alive probes sent without an answer.
    pub(crate) keepalive_sent: u32,
    pub(crate) keepalive_due: bool,
    pub(crate) last_recv: Instant,
    /// When data (or a FIN) was last sent, for RFC 5681 4.1's idle restart.
    pub(crate) last_data_sent: Instant,

    // ---- acknowledgement policy
    /// An ACK must go out now (out-of-order data, FIN, window update, challenge).
    pub(crate) ack_now: bool,
    /// An ACK is due for in-order full-sized segments (RFC 5681 4.2): it goes out once
    /// the batch of frames the device had ready is taken in, so a burst gets one
    /// cumulative (stretch) ACK, as Linux's GRO receiver gives it; `ack_now` instead goes
    /// at once, segment by segment (duplicate ACKs, FIN, window news).
    pub(crate) ack_batch: bool,
    /// An ACK for in-order data was held because it would have offered a smaller
    /// window than the last one (`ack_would_shrink_window` in `output.rs`): the next read
    /// sends it.
    pub(crate) ack_on_read: bool,
    /// Full-sized segments received since the last ACK we sent.
    pub(crate) unacked_segs: u32,
    /// A challenge ACK is due (RFC 5961).
    pub(crate) challenge_ack: bool,
    /// An RST must be sent and the connection then dropped.
    pub(crate) send_rst: bool,

    pub(crate) nodelay: bool,
    pub(crate) delayed_ack: Duration,
    pub(crate) fin_timeout: Duration,
    pub(crate) keepalive: Option<Duration>,
    pub(crate) user_timeout: Duration,
    pub(crate) syn_timeout: Duration,
    pub(crate) stats: ConnStats,
    pub(crate) trace: super::trace::Trace,
}

/// A read-only snapshot of a connection, for listings (`ss -ti` style).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// The stack's number for this connection, stable for its lifetime and never reused
    /// while the stack runs.
    pub id: u64,
    /// Local address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// State.
    pub state: State,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow-start threshold, bytes (`usize::MAX` before the first loss).
    pub ssthresh: usize,
    /// Smoothed RTT.
    pub srtt: Option<Duration>,
    /// RTT variation (RFC 6298 RTTVAR); zero before the first sample.
    pub rttvar: Duration,
    /// Current RTO.
    pub rto: Duration,
    /// Bytes sent and not yet acknowledged.
    pub bytes_in_flight: usize,
    /// The send MSS.
    pub mss: usize,
    /// The path MTU estimate (RFC 1191).
    pub pmtu: usize,
    /// The peer's window.
    pub snd_wnd: usize,
    /// Our receive window.
    pub rcv_wnd: usize,
    /// Counters.
    pub stats: ConnStats,
    /// Congestion control name.
    pub congestion: &'static str,
    /// Pacing rate, bytes per second, when the connection is paced.
    pub pacing_rate: Option<u64>,
    /// The last delivery rate measured (by the algorithms that sample it), bytes per
    /// second.
    pub delivery_rate: Option<u64>,
    /// BBR's state and estimates, when the algorithm is BBR.
    pub bbr: Option<super::congestion::bbr::BbrInfo>,
}

/// The largest segment (payload) a link of `mtu` carries, to announce as our MSS: the
/// MTU less the fixed IP and TCP headers (RFC 9293 3.7.1, RFC 6691 section 2: "the MTU
/// minus the fixed IP and TCP headers"), 40 bytes over IPv4 and 60 over IPv6 (RFC 8200
/// section 8.3: the IPv6 header is 40 bytes).
pub(crate) fn mss_for_mtu(mtu: usize, ipv6: bool) -> usize {
    mtu.saturating_sub(if ipv6 { 60 } else { 40 }).max(8)
}

/// The send MSS assumed when the peer's SYN has no MSS option: 536 over IPv4, 1220 over
/// IPv6 (RFC 9293 section 3.7.1: "the default [...] is 536 for IPv4 or 1220 for IPv6";
/// RFC 8200 section 8.3: the 1280-byte minimum MTU less 60).
pub(crate) fn default_mss(ipv6: bool) -> u16 {
    if ipv6 {
        1220
    } else {
        536
    }
}

impl Connection {
    /// A new connection in `state` (SynSent for an active open, SynReceived for a
    /// passive one) with our initial sequence number `iss`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        cfg: &TcpConfig,
        local: SocketAddr,
        remote: SocketAddr,
        state: State,
        iss: SeqNum,
        link_mtu: usize,
        ts_offset: u32,
        now: Instant,
    ) -> Connection {
        let ipv6 = local.is_ipv6();
        let link_mss = mss_for_mtu(link_mtu, ipv6);
        let recv_buf = RecvBuffer::new(cfg.recv_buffer);
        // RFC 7323 2.3: the smallest shift that lets the whole buffer be offered, as
        // large as autotuning may make it.
        let most = cfg.recv_buffer.max(cfg.recv_buffer_max);
        let mut rcv_wscale = 0u8;
        if cfg.window_scaling {
            while (most >> rcv_wscale) > 65_535 && rcv_wscale < 14 {
                rcv_wscale += 1;
            }
        }
        let smss = usize::from(default_mss(ipv6)).min(link_mss);
        Connection {
            id: 0,
            local,
            remote,
            state,
            error: None,
            soft_error: None,
            opts: Negotiated {
                smss,
                snd_wscale: 0,
                rcv_wscale,
                wscale_ok: cfg.window_scaling,
                timestamps: cfg.timestamps,
                sack: cfg.sack,
            },
            link_mss,
            pmtu: super::pmtu::PathMtu::new(link_mtu, ipv6)
                .with_black_hole_rtos(cfg.pmtu_black_hole_rtos),
            user_attached: true,
            tso: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            snd_wl1: SeqNum(0),
            snd_wl2: iss,
            max_snd_wnd: 0,
            snd_wnd_grew_at: now,
            send_buf: SendBuffer::new(cfg.send_buffer),
            send_buffer_max: cfg.send_buffer_max,
            fin_queued: false,
            fin_sent_seq: None,
            reset_reply: None,
            irs: SeqNum(0),
            rcv_nxt: SeqNum(0),
            rcv_adv: SeqNum(0),
            recv_buf,
            rcv_tune: super::rcv_tune::RcvTune::new(cfg.recv_buffer_max, smss, now),
            fin_seq: None,
            fin_received: false,
            ts_recent: 0,
            ts_offset,
            last_ack_sent: SeqNum(0),
            timers: Timers::default(),
            rtt: RttEstimator::new(cfg.initial_rto, cfg.min_rto, cfg.max_rto),
            sampler: RttSampler::default(),
            cc: {
                let mut cc = cfg.congestion.build(smss);
                cc.reseed(u64::from(iss.0) ^ u64::from(ts_offset) << 32);
                cc
            },
            window_use: super::window_use::WindowUse::new(iss),
            rec: super::recovery::Episode::new(iss),
            scoreboard: super::sack::Scoreboard::default(),
            prr: super::prr::Prr::default(),
            pacer: super::pace::Pacer::new(cfg.pacing),
            delivery: super::rate::RateSampler::new(),
            dsack: None,
            undo: None,
            rto_undo: None,
            tlp: super::tlp::Tlp::new(cfg.tail_loss_probe),
            rexmit_high: iss,
            rexmit_tsval: 0,
            last_oow_ack: None,
            rack: super::rack::Rack::default(),
            stalled_since: None,
            rto_count: 0,
            persist_count: 0,
            probe_due: false,
            keepalive_sent: 0,
            keepalive_due: false,
            last_recv: now,
            last_data_sent: now,
            ack_now: false,
            ack_batch: false,
            ack_on_read: false,
            unacked_segs: 0,
            challenge_ack: false,
            send_rst: false,
            nodelay: false,
            delayed_ack: cfg.delayed_ack,
            fin_timeout: cfg.fin_timeout,
            keepalive: cfg.keepalive,
            user_timeout: cfg.user_timeout,
            syn_timeout: cfg.syn_timeout,
            stats: ConnStats::default(),
            trace: super::trace::Trace::new(cfg.trace_events, state),
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Local address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Remote address.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// How the connection failed, if it did.
    pub fn error(&self) -> Option<ConnError> {
        self.error
    }

    /// The negotiated options.
    pub fn negotiated(&self) -> Negotiated {
        self.opts
    }

    /// Bytes sent and not yet acknowledged.
    pub fn bytes_in_flight(&self) -> usize {
        self.snd_nxt.since(self.snd_una)
    }

    /// Bytes queued by the application beyond SND.NXT: not sent yet.
    pub(crate) fn unsent(&self) -> usize {
        self.send_buf
            .len()
            .saturating_sub(self.snd_nxt.since(self.snd_una))
    }

    /// What the peer's window leaves beyond SND.NXT: SND.UNA + SND.WND - SND.NXT, the
    /// usable window of RFC 9293 3.8.6.2.1 (zero when the window shrank below SND.NXT).
    pub(crate) fn window_room(&self) -> usize {
        (self.snd_una + self.snd_wnd).since(self.snd_nxt)
    }

    /// The receive buffer's size now: the most window it can offer (it grows with
    /// autotuning, `rcv_tune.rs`).
    pub fn recv_buffer_capacity(&self) -> usize {
        self.recv_buf.capacity()
    }

    /// A snapshot for listings.
    pub fn info(&self) -> ConnInfo {
        ConnInfo {
            id: self.id,
            local: self.local,
            remote: self.remote,
            state: self.state,
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            rto: self.rtt.rto(),
            bytes_in_flight: self.bytes_in_flight(),
            mss: self.opts.smss,
            pmtu: self.pmtu.mtu(),
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.recv_buf.window(),
            stats: self.stats,
            congestion: self.cc.name(),
            pacing_rate: self.pacing_rate(),
            delivery_rate: self.delivery_rate(),
            bbr: self.cc.bbr_info(),
        }
    }

    /// The earliest timer deadline.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Whether the connection is finished and can be forgotten: closed, or in no state an
    /// application or the protocol still needs.
    pub fn is_dead(&self) -> bool {
        self.state == State::Closed && !self.user_attached
    }

    // ------------------------------------------------------------------ user calls

    /// RFC 9293 3.10.2 SEND: queues data; returns how much fit (0 when the buffer is full).
    pub fn send(&mut self, data: &[u8]) -> Result<usize, ConnError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.state.can_send() && !matches!(self.state, State::SynSent | State::SynReceived) {
            return Err(ConnError::Aborted);
        }
        if self.fin_queued {
            return Err(ConnError::Aborted);
        }
        let limit = self.send_limit();
        if limit > self.send_buf.capacity() {
            self.send_buf.set_capacity(limit);
        }
        Ok(self.send_buf.write(data))
    }

    /// Room in the send buffer.
    pub fn send_capacity(&self) -> usize {
        if self.fin_queued {
            0
        } else {
            self.send_limit().saturating_sub(self.send_buf.len())
        }
    }

    /// The send buffer's size: twice what the connection can have in flight (the smaller
    /// of cwnd and the largest window the peer offered), never below what it was, within
    /// `TcpConfig::send_buffer_max`. RFC 9293 leaves buffer sizes to the implementation;
    /// this is Linux's send-buffer autotuning (`tcp_sndbuf_expand`: twice cwnd, up to
    /// `tcp_wmem[2]`): the application stays a flight ahead, and under loss the data
    /// SACKed above a hole (held until the hole is filled) does not stop new data.
    fn send_limit(&self) -> usize {
        let now = self.send_buf.capacity();
        if self.send_buffer_max <= now {
            return now;
        }
        let flight = self.cc.cwnd().min(self.max_snd_wnd);
        flight.saturating_mul(2).clamp(now, self.send_buffer_max)
    }

    /// RFC 6191 section 2: whether a SYN arriving in TIME-WAIT is certainly new, so that
    /// it may open a new incarnation of the connection. `we_use_ts`: whether we would
    /// agree to timestamps on the new connection (we offer them).
    ///
    /// When the old incarnation used timestamps, a SYN with a timestamp (one the new
    /// incarnation would use) is new when its TSval is greater than TS.Recent, or equal
    /// to it with a sequence number beyond RCV.NXT (a client reusing its port within the
    /// same timestamp clock tick, as Linux's does on a busy loopback or TUN link); a SYN
    /// without timestamps is new when its sequence number is beyond RCV.NXT. When the old
    /// incarnation did not use them, a SYN with a timestamp the new one will use is new
    /// (no old duplicate carries one); otherwise its sequence number must lie beyond
    /// RCV.NXT (RFC 9293 3.6.1). Linux's `tcp_timewait_state_process` gives the same
    /// answers for the cases with timestamps on both incarnations or neither.
    pub fn syn_may_reopen(&self, seq: SeqNum, tsval: Option<u32>, we_use_ts: bool) -> bool {
        let seq_beyond = seq > self.rcv_nxt;
        match (self.opts.timestamps, tsval.filter(|_| we_use_ts)) {
            (true, Some(ts)) => {
                super::rtt::ts_before(self.ts_recent, ts) || (ts == self.ts_recent && seq_beyond)
            }
            (false, Some(_)) => true,
            (_, None) => seq_beyond,
        }
    }

    /// The send buffer's size.
    pub fn send_buffer_capacity(&self) -> usize {
        self.send_limit()
    }

    /// RFC 9293 3.10.3 RECEIVE: copies in-order data out. `Ok(0)` with a non-empty `buf`
    /// means end of stream (the peer's FIN has been taken in).
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<usize, ConnError> {
        let n = self.recv_buf.read(buf);
        if n > 0 {
            self.note_window_opened();
            return Ok(n);
        }
        if let Some(e) = self.error {
            if e != ConnError::Aborted || !self.fin_received {
                return Err(e);
            }
        }
        Ok(0)
    }

    /// Copies without consuming.
    pub fn peek(&self, buf: &mut [u8]) -> usize {
        self.recv_buf.peek(buf)
    }

    /// In-order bytes waiting to be read.
    pub fn recv_queue(&self) -> usize {
        self.recv_buf.readable()
    }

    /// Whether the reader has reached the end of the stream.
    pub fn at_eof(&self) -> bool {
        self.fin_received && self.recv_buf.readable() == 0
    }

    /// Whether a read would return at once (data, end of stream, or an error).
    pub fn can_recv(&self) -> bool {
        self.recv_buf.readable() > 0
            || self.fin_received
            || self.error.is_some()
            || self.state == State::Closed
    }

    /// Whether a write would make progress at once: room in the buffer, or a failure to
    /// report.
    pub fn can_send(&self) -> bool {
        if self.error.is_some() {
            return true;
        }
        match self.state {
            State::SynSent | State::SynReceived | State::Established | State::CloseWait => {
                self.send_capacity() > 0 || self.fin_queued
            }
            _ => true,
        }
    }

    /// Whether the handshake is over (or failed), for connect().
    pub fn is_connected_or_failed(&self) -> bool {
        self.state.is_synchronized() || self.error.is_some() || self.state == State::Closed
    }

    /// RFC 9293 3.10.4 CLOSE for the sending side (shutdown(Write)): a FIN follows the
    /// queued data.
    pub fn shutdown_write(&mut self, _now: Instant) {
        // RFC 9293 3.10.4: ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK; the FIN
        // follows the queued data. In SYN-RECEIVED the FIN waits for ESTABLISHED.
        match self.state {
            State::SynSent | State::SynReceived => self.fin_queued = true,
            State::Established => {
                self.fin_queued = true;
                self.state = State::FinWait1;
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.state = State::LastAck;
            }
            _ => {}
        }
    }

    /// The application lets go of the connection: shut down writing; the connection lives
    /// on until the close completes, then is forgotten. Unread data makes it an abort
    /// (RFC 2525 2.17, as Linux does: RST instead of FIN when data would be lost).
    pub fn close(&mut self, now: Instant) {
        self.user_attached = false;
        if self.state == State::SynSent {
            // RFC 9293 3.10.4: CLOSE in SYN-SENT deletes the TCB.
            self.enter_closed(None, now);
            return;
        }
        if self.recv_buf.readable() > 0
            && self.state.is_synchronized()
            && self.state != State::TimeWait
        {
            self.abort(now);
            return;
        }
        self.shutdown_write(now);
        if self.state == State::FinWait2 {
            self.arm_fin_wait_2(now);
        }
    }

    /// Whether the application closed the connection (not merely shut down writing, and
    /// not a passive connection still waiting for accept()): nobody will read any more.
    pub(crate) fn orphaned(&self) -> bool {
        !self.user_attached && self.fin_queued
    }

    /// An orphaned connection in FIN-WAIT-2 waits `fin_timeout` for the peer's FIN, then
    /// is dropped (Linux's `tcp_fin_timeout`): the TIME-WAIT timer slot runs it.
    pub(crate) fn arm_fin_wait_2(&mut self, now: Instant) {
        if self.state == State::FinWait2 && self.orphaned() {
            self.timers.set(Timer::TimeWait, now + self.fin_timeout);
        }
    }

    /// RFC 9293 3.10.5 ABORT: send a reset (in a synchronized state) and close at once.
    pub fn abort(&mut self, now: Instant) {
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            self.send_rst = true;
        }
        self.enter_closed(Some(ConnError::Aborted), now);
    }

    /// Sets TCP_NODELAY: Nagle's algorithm off.
    pub fn set_nodelay(&mut self, on: bool) {
        self.nodelay = on;
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// Sets the keep-alive idle time (`None`: off).
    pub fn set_keepalive(&mut self, idle: Option<Duration>, now: Instant) {
        self.keepalive = idle;
        self.arm_keepalive(now);
    }

    /// Sets the user timeout (RFC 5482).
    pub fn set_user_timeout(&mut self, t: Duration) {
        self.user_timeout = t;
    }

    // ------------------------------------------------------------------ helpers

    pub(crate) fn enter_closed(&mut self, error: Option<ConnError>, _now: Instant) {
        if error.is_some() && self.error.is_none() {
            self.error = error;
        }
        self.state = State::Closed;
        self.timers.stop_all();
    }

    /// The window we can advertise now, in bytes (before scaling).
    pub(crate) fn rcv_wnd(&self) -> usize {
        self.recv_buf.window()
    }

    /// Called when the application read data: if the window opened enough, an update is
    /// due. Receiver-side silly window avoidance (RFC 1122 4.2.3.3): the right edge we
    /// would advertise now must move by at least min(half the buffer, one MSS); an ACK
    /// that could not show a larger window (the field is at its maximum) is not sent.
    ///
    /// And the update goes at once only when the peer may be held up without it: the
    /// window it sees is at most half the buffer and the new one at least twice that
    /// (Linux's `tcp_cleanup_rbuf`, "lots" meaning "at least twice"). Otherwise the larger
    /// window rides on the next ACK, which the data still in flight brings about; a
    /// reader taking a bulk stream in small chunks would else cost an ACK per read.
    ///
    /// "Half the buffer" is half of what the peer can have been offered: never more than
    /// the right edge we advertised, counted from the start of its stream. Right after the
    /// handshake that is the SYN-ACK's unscaled window (RFC 7323 2.2: at most 65,535), so
    /// a short request read from a connection with a larger buffer is not followed by an
    /// ACK of its own (the answer carries it, as Linux's slowly growing `rcv_ssthresh`
    /// has it): on a connection per request that ACK was a quarter of what we sent.
    pub(crate) fn note_window_opened(&mut self) {
        if !self.state.can_receive() {
            return;
        }
        if std::mem::take(&mut self.ack_on_read) {
            // The ACK held for this read (`ack_would_shrink_window`) goes now, with the
            // window the read opened (Linux's `tcp_cleanup_rbuf`: "once-per-two-segments
            // ACK was not sent by tcp_input.c").
            self.ack_now = true;
            return;
        }
        let threshold = (self.recv_buf.capacity() / 2).min(self.opts.smss.max(1));
        let (_, edge) = self.window_to_advertise(false);
        let seen = self.rcv_adv.since(self.rcv_nxt);
        let offered = edge.since(self.rcv_nxt);
        // The advertised right edge from the start of the stream (without wrapping).
        let ever = usize::try_from(self.stats.bytes_received)
            .unwrap_or(usize::MAX)
            .saturating_add(seen);
        let starved = seen <= self.recv_buf.capacity().min(ever) / 2 && offered >= 2 * seen;
        if edge >= self.rcv_adv + threshold && starved {
            self.ack_now = true;
        }
    }

    /// The most window the window field can offer: 65,535 << our shift (RFC 7323 2.3).
    fn max_window(&self) -> usize {
        65_535usize << self.opts.rcv_wscale
    }

    /// Whether the receive buffer can still grow: autotuning is on, below its maximum
    /// and below what the window field can offer (a peer without window scaling stops
    /// it at 64 KiB). Checked per data segment before an RTT sample is taken.
    pub(crate) fn recv_autotunes(&self) -> bool {
        let capacity = self.recv_buf.capacity();
        capacity < self.max_window() && self.rcv_tune.enabled(capacity)
    }

    /// After a read at `now`: receive-buffer autotuning (`rcv_tune.rs`) measures what
    /// the application read this round trip and may grow the buffer; a window that
    /// grew enough to tell the peer is then announced as a read's would be.
    pub(crate) fn autotune_recv(&mut self, now: Instant) {
        if !self.recv_autotunes() {
            return;
        }
        let capacity = self.recv_buf.capacity();
        let read = self
            .stats
            .bytes_received
            .saturating_sub(self.recv_buf.readable() as u64);
        let srtt = self.rtt.srtt();
        let smss = self.opts.smss;
        if let Some(size) = self.rcv_tune.on_read(now, read, capacity, smss, srtt) {
            self.recv_buf.set_capacity(size.min(self.max_window()));
            self.note_window_opened();
        }
    }

    /// How long the connection waits for an acknowledgement before it gives up: the SYN
    /// timeout during the handshake, the user timeout after (RFC 1122 4.2.3.5, RFC 5482).
    pub(crate) fn give_up_after(&self) -> Duration {
        if matches!(self.state, State::SynSent | State::SynReceived) {
            self.syn_timeout
        } else {
            self.user_timeout
        }
    }

    /// Arms the retransmission timer one RTO from now (RFC 6298 5.1, 5.3), but no later
    /// than the moment the wait for an acknowledgement exceeds [`give_up_after`]
    /// (RFC 5482 section 2: the user timeout is how long transmitted data may remain
    /// unacknowledged), so that the connection gives up on time rather than one
    /// backed-off RTO late.
    ///
    /// [`give_up_after`]: Connection::give_up_after
    pub(crate) fn arm_rto(&mut self, now: Instant) {
        let since = *self.stalled_since.get_or_insert(now);
        let deadline = since + self.give_up_after();
        self.timers.set(
            Timer::Retransmit,
            (now + self.rtt.rto()).min(deadline.max(now)),
        );
    }

    pub(crate) fn arm_keepalive(&mut self, now: Instant) {
        match self.keepalive {
            Some(idle) if self.state == State::Established => {
                self.timers.set(Timer::KeepAlive, now + idle);
            }
            _ => self.timers.stop(Timer::KeepAlive),
        }
    }

    /// Whether our FIN has been sent and acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin_sent_seq.is_some_and(|f| self.snd_una > f)
    }

    /// Our timestamp clock: milliseconds plus a per-connection offset (RFC 7323 5.4).
    pub(crate) fn ts_now(&self, now: Instant) -> u32 {
        super::rtt::ts_clock(now, self.ts_offset)
    }
}
