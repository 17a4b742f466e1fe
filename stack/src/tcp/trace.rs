//! A per-connection trace: what the sender did and saw, event by event, with the stack's
//! timestamps, to draw time-sequence, cwnd and RTT graphs (Stevens/tcptrace style) and to
//! check loss recovery against the counters.
//!
//! Events: a segment sent (a retransmission with its cause: RTO, fast retransmit, SACK
//! recovery, tail loss probe), an ACK received (with the window it offers and its SACK
//! blocks, and the bytes in flight after it), a change of cwnd or ssthresh, an RTT sample
//! with the estimator after it (SRTT, RTTVAR, RTO), a state transition. Sequence numbers
//! are offsets from our ISS, as Wireshark's "relative sequence numbers"; they wrap at
//! 4 GiB like the wire's (readers unwrap them).
//!
//! Cheap when off ([`TcpConfig::trace_events`](super::TcpConfig::trace_events) is 0, the
//! default): every hook is one branch. Bounded when on: a ring of at most
//! `trace_events` entries of [`TraceEntry::SIZE`] bytes each per connection (4096 events
//! are about 224 KiB), allocated as it fills. [`Stack::tcp_take_traces`] hands out the
//! events recorded since its last call, so a reader that calls it often enough loses
//! nothing; what fell out of the ring before it was taken is counted as lost.
//!
//! [`Stack::tcp_take_traces`]: crate::stack::Stack::tcp_take_traces

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::conn::Connection;
use super::seq::SeqNum;
use super::state::State;
use crate::time::{Duration, Instant};
use crate::wire::tcp::{TcpFlags, TcpRepr};

/// Why a segment was sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The retransmission timer expired (RFC 6298 5.4), or data resent from SND.UNA after it.
    Rto,
    /// Fast retransmit (RFC 5681 3.2) or a NewReno partial ACK (RFC 6582 3.2), or the
    /// segment at SND.UNA found lost again during SACK recovery.
    FastRetransmit,
    /// A hole RACK deems lost (RFC 6675 NextSeg rule 1 with RFC 8985 6.2's losses).
    Sack,
    /// A tail loss probe (RFC 8985 7.3).
    Tlp,
    /// The flight resent at a lowered path MTU (RFC 1191, RFC 8201; `pmtu.rs`).
    Pmtu,
}

impl Cause {
    /// The name in trace files: `rto`, `fast_retransmit`, `sack`, `tlp`, `pmtu`.
    pub fn name(self) -> &'static str {
        match self {
            Cause::Rto => "rto",
            Cause::FastRetransmit => "fast_retransmit",
            Cause::Sack => "sack",
            Cause::Tlp => "tlp",
            Cause::Pmtu => "pmtu",
        }
    }
}

/// One thing that happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// A segment sent: sequence offset from ISS, payload length, SYN/FIN, and the cause if
    /// it is a retransmission.
    Send {
        /// Offset of the first sequence number from ISS.
        seq: u32,
        /// Payload bytes (a segment larger than the MSS is several on the wire).
        len: u32,
        /// It carries a SYN.
        syn: bool,
        /// It carries a FIN.
        fin: bool,
        /// `Some` for a retransmission.
        retransmit: Option<Cause>,
    },
    /// An ACK received.
    Ack {
        /// The acknowledgement number, as an offset from ISS.
        ack: u32,
        /// The window the peer offers, bytes (scaled).
        wnd: u32,
        /// SACK blocks (offsets from ISS); `sack_len` of them are valid.
        sack: [(u32, u32); 4],
        /// How many SACK blocks the ACK carried.
        sack_len: u8,
        /// Bytes in flight after processing it.
        in_flight: u32,
    },
    /// The congestion window, slow-start threshold or phase changed.
    Cwnd {
        /// Congestion window, bytes.
        cwnd: u32,
        /// Slow-start threshold, bytes; `None` before the first loss.
        ssthresh: Option<u32>,
        /// Bytes in flight at the time.
        in_flight: u32,
        /// In fast recovery (RFC 6582, RFC 6675) until the recovery point is ACKed.
        recovery: bool,
    },
    /// An RTT sample, and the estimator after it (RFC 6298).
    Rtt {
        /// The sample, microseconds.
        sample_us: u32,
        /// SRTT after it.
        srtt_us: u32,
        /// RTTVAR after it.
        rttvar_us: u32,
        /// RTO after it.
        rto_us: u32,
    },
    /// A state transition.
    State {
        /// The state before.
        from: State,
        /// The state after.
        to: State,
    },
}

/// An event and when it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// The stack's time.
    pub at: Instant,
    /// What happened.
    pub event: TraceEvent,
}

impl TraceEntry {
    /// Bytes one entry takes in the ring.
    pub const SIZE: usize = std::mem::size_of::<TraceEntry>();
}

// The memory cost the module documentation states.
const _: () = assert!(TraceEntry::SIZE <= 56);

/// Trace events of one connection, as [`Stack::tcp_take_traces`] and
/// [`Stack::tcp_trace`] hand them out.
///
/// [`Stack::tcp_take_traces`]: crate::stack::Stack::tcp_take_traces
/// [`Stack::tcp_trace`]: crate::stack::Stack::tcp_trace
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceChunk {
    /// The connection's id ([`ConnInfo::id`](super::ConnInfo::id)).
    pub id: u64,
    /// Local address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// The send MSS.
    pub mss: usize,
    /// The congestion control algorithm.
    pub congestion: &'static str,
    /// The events, oldest first.
    pub events: Vec<TraceEntry>,
    /// Events that fell out of the ring before these (never handed out).
    pub lost: u64,
    /// The connection is gone: nothing follows this chunk.
    pub closed: bool,
}

/// The ring and what the hooks compare against.
#[derive(Debug)]
pub(crate) struct Trace {
    /// The most entries kept; 0: tracing is off.
    cap: usize,
    ring: VecDeque<TraceEntry>,
    /// Entries ever recorded.
    total: u64,
    /// Entries handed out by `take` (an index into `total`).
    taken: u64,
    /// Why the next retransmissions go out (set where the sender decides).
    cause: Cause,
    last_cwnd: (u32, Option<u32>, bool),
    last_state: State,
}

fn clamp32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn micros32(d: Duration) -> u32 {
    u32::try_from(d.total_micros()).unwrap_or(u32::MAX)
}

impl Trace {
    /// A trace keeping at most `cap` events (0: off) of a connection born in `state`.
    pub(crate) fn new(cap: usize, state: State) -> Trace {
        Trace {
            cap,
            ring: VecDeque::new(),
            total: 0,
            taken: 0,
            cause: Cause::Rto,
            last_cwnd: (0, None, false),
            last_state: state,
        }
    }

    /// Whether events are recorded.
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.cap > 0
    }

    /// Notes why the retransmissions that follow are sent.
    #[inline]
    pub(crate) fn why(&mut self, cause: Cause) {
        self.cause = cause;
    }

    fn push(&mut self, at: Instant, event: TraceEvent) {
        if self.ring.len() == self.cap {
            self.ring.pop_front();
        }
        self.ring.push_back(TraceEntry { at, event });
        self.total += 1;
    }

    /// The entries not yet taken, and how many fell out before they could be.
    fn take(&mut self) -> (Vec<TraceEntry>, u64) {
        let first = self.total - self.ring.len() as u64;
        let start = self.taken.max(first);
        let lost = start - self.taken;
        let events = self
            .ring
            .iter()
            .skip((start - first) as usize)
            .copied()
            .collect();
        self.taken = self.total;
        (events, lost)
    }
}

impl Connection {
    fn rel(&self, s: SeqNum) -> u32 {
        s.0.wrapping_sub(self.iss.0)
    }

    fn chunk(&self, events: Vec<TraceEntry>, lost: u64, closed: bool) -> TraceChunk {
        TraceChunk {
            id: self.id,
            local: self.local,
            remote: self.remote,
            mss: self.opts.smss,
            congestion: self.cc.name(),
            events,
            lost,
            closed,
        }
    }

    /// Hook: a segment went out.
    #[inline]
    pub(crate) fn trace_send(
        &mut self,
        now: Instant,
        seq: SeqNum,
        len: usize,
        flags: TcpFlags,
        retransmission: bool,
    ) {
        if !self.trace.is_on() {
            return;
        }
        let event = TraceEvent::Send {
            seq: self.rel(seq),
            len: clamp32(len),
            syn: flags.contains(TcpFlags::SYN),
            fin: flags.contains(TcpFlags::FIN),
            retransmit: retransmission.then_some(self.trace.cause),
        };
        self.trace.push(now, event);
    }

    /// Hook: a segment was processed; records its ACK and what changed.
    #[inline]
    pub(crate) fn trace_input(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if !self.trace.is_on() {
            return;
        }
        if seg.flags.contains(TcpFlags::ACK) {
            let mut sack = [(0, 0); 4];
            let mut n = 0;
            for (l, r) in seg.sack_ranges.iter().flatten() {
                sack[n] = (self.rel(SeqNum(*l)), self.rel(SeqNum(*r)));
                n += 1;
            }
            let event = TraceEvent::Ack {
                ack: self.rel(SeqNum(seg.ack_number)),
                wnd: clamp32(self.snd_wnd),
                sack,
                sack_len: n as u8,
                in_flight: clamp32(self.bytes_in_flight()),
            };
            self.trace.push(now, event);
        }
        self.trace_vars(now);
    }

    /// Hook: an RTT sample was fed to the estimator.
    #[inline]
    pub(crate) fn trace_rtt(&mut self, now: Instant, sample: Duration) {
        if !self.trace.is_on() {
            return;
        }
        let event = TraceEvent::Rtt {
            sample_us: micros32(sample),
            srtt_us: self.rtt.srtt().map_or(0, micros32),
            rttvar_us: micros32(self.rtt.rttvar()),
            rto_us: micros32(self.rtt.rto()),
        };
        self.trace.push(now, event);
    }

    /// Hook: the retransmission timer fired; what follows is resent for that.
    #[inline]
    pub(crate) fn trace_rto(&mut self, now: Instant) {
        if !self.trace.is_on() {
            return;
        }
        self.trace.why(Cause::Rto);
        self.trace_vars(now);
    }

    /// Hook: records a change of cwnd, ssthresh or state since the last look.
    #[inline]
    pub(crate) fn trace_vars(&mut self, now: Instant) {
        if !self.trace.is_on() {
            return;
        }
        let ssthresh = self.cc.ssthresh();
        let cwnd = (
            clamp32(self.cc.cwnd()),
            (ssthresh != usize::MAX).then(|| clamp32(ssthresh)),
            self.in_recovery(),
        );
        if cwnd != self.trace.last_cwnd {
            self.trace.last_cwnd = cwnd;
            let event = TraceEvent::Cwnd {
                cwnd: cwnd.0,
                ssthresh: cwnd.1,
                in_flight: clamp32(self.bytes_in_flight()),
                recovery: cwnd.2,
            };
            self.trace.push(now, event);
        }
        if self.state != self.trace.last_state {
            let from = std::mem::replace(&mut self.trace.last_state, self.state);
            self.trace.push(
                now,
                TraceEvent::State {
                    from,
                    to: self.state,
                },
            );
        }
    }

    /// The events recorded since the last take (`closed`: the connection is going; its
    /// last state change is recorded first, at the time of its last event). `None` when
    /// tracing is off, or nothing is new and the connection stays.
    pub(crate) fn trace_take(&mut self, closed: bool) -> Option<TraceChunk> {
        if !self.trace.is_on() {
            return None;
        }
        if closed {
            let at = self.trace.ring.back().map_or(Instant::ZERO, |e| e.at);
            self.trace_vars(at);
        }
        let (events, lost) = self.trace.take();
        if events.is_empty() && lost == 0 && !closed {
            return None;
        }
        Some(self.chunk(events, lost, closed))
    }

    /// Every event the ring holds now (for a live view; takes nothing).
    pub(crate) fn trace_snapshot(&self) -> Option<TraceChunk> {
        if !self.trace.is_on() {
            return None;
        }
        let lost = self.trace.total - self.trace.ring.len() as u64;
        Some(self.chunk(self.trace.ring.iter().copied().collect(), lost, false))
    }
}

/// The most events of gone connections kept until taken (about 3.5 MiB); the oldest
/// connections' go first.
const FINISHED_EVENTS: usize = 1 << 16;

impl super::layer::TcpLayer {
    /// Keeps the last events of a connection that is going (called on removal).
    pub(crate) fn keep_finished_trace(&mut self, conn: &mut Connection) {
        if let Some(t) = conn.trace_take(true) {
            let mut kept: usize = self.finished_traces.iter().map(|c| c.events.len()).sum();
            kept += t.events.len();
            while kept > FINISHED_EVENTS {
                match self.finished_traces.pop_front() {
                    Some(old) => kept -= old.events.len(),
                    None => break,
                }
            }
            self.finished_traces.push_back(t);
        }
    }

    /// Every connection's events since the last call, gone connections' last ones first.
    pub(crate) fn take_traces(&mut self) -> Vec<TraceChunk> {
        let mut out: Vec<TraceChunk> = self.finished_traces.drain(..).collect();
        for s in &mut self.slots {
            if let Some(c) = s.conn.as_mut() {
                out.extend(c.trace_take(false));
            }
        }
        out
    }

    /// The ring of connection `id`, as it stands.
    pub(crate) fn trace(&self, id: u64) -> Option<TraceChunk> {
        self.slots
            .iter()
            .filter_map(|s| s.conn.as_ref())
            .find(|c| c.id == id)
            .and_then(Connection::trace_snapshot)
    }
}
