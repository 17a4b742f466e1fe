//! TCP in the core: segments in (connection lookup, listeners, SYN cookies, resets for
//! closed ports), segments out (frames built straight from the send buffer), timers, and
//! the socket calls the runtime exposes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::Stack;
use crate::iface::ident::{FlowIdent, IdentGenerator};
use crate::iface::Path;
use crate::tcp::conn::{ConnError, ConnInfo, Connection};
use crate::tcp::input::InputCtx;
use crate::tcp::layer::TcpHandle;
use crate::tcp::output::{Outgoing, OutputCtx};
use crate::tcp::state::State;
use crate::tcp::SeqNum;
use crate::tcp::Unreachable;
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::ipv6::{Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::virtio::{GsoType, VirtioNetHdr};

pub(super) const LOG: &str = "tunstack::tcp";

/// Why a TCP call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpError {
    /// The address is taken (`AddrInUse`).
    AddrInUse,
    /// The address is not one of ours (`AddrNotAvailable`).
    AddrNotAvailable,
    /// No route to the destination.
    NoRoute,
    /// Too many connections, or no free port.
    Exhausted,
    /// The handle names no connection (any more).
    InvalidHandle,
    /// The connection failed.
    Conn(ConnError),
    /// The connection is not in a state for this call.
    NotConnected,
}

impl core::fmt::Display for TcpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TcpError::AddrInUse => f.write_str("address in use"),
            TcpError::AddrNotAvailable => f.write_str("address not available"),
            TcpError::NoRoute => f.write_str("no route to host"),
            TcpError::Exhausted => f.write_str("too many connections"),
            TcpError::InvalidHandle => f.write_str("no such connection"),
            TcpError::Conn(ConnError::Refused) => f.write_str("connection refused"),
            TcpError::Conn(ConnError::Reset) => f.write_str("connection reset by peer"),
            TcpError::Conn(ConnError::TimedOut) => f.write_str("connection timed out"),
            TcpError::Conn(ConnError::Aborted) => f.write_str("connection aborted"),
            TcpError::Conn(ConnError::Unreachable(u)) => f.write_str(match u {
                Unreachable::Network => "network unreachable",
                Unreachable::Host => "no route to host",
                Unreachable::Port => "connection refused",
            }),
            TcpError::NotConnected => f.write_str("not connected"),
        }
    }
}

impl std::error::Error for TcpError {}

/// Builds the IP frame for one outgoing segment: the IPv4 or IPv6 header (the family of
/// `src` and `dst`), then TCP header and payload, with the payload copied once from the
/// send buffer. Over IPv6 the hop limit is `ttl`, there is no identification (RFC 8200
/// has none outside the Fragment header), and the checksum covers the IPv6
/// pseudo-header (RFC 8200 section 8.1).
///
/// With `offload` (the interface's device takes partial checksums and super-segments),
/// the TCP checksum is left for the device (no pass over the payload here), and a segment
/// longer than its `gso` size goes out as a super-segment for the device to cut (RFC 9293
/// 3.7.1: each piece it makes is at most one MSS); the returned header says so
/// (`gso_type` TCPV4 or TCPV6 by family, the partial checksum over that family's
/// pseudo-header).
///
/// `df`: the DF bit of IPv4 segments, set on every segment while the connection does
/// path MTU discovery (RFC 1191 section 3, `tcp/pmtu.rs`); IPv6 has none (routers
/// never fragment, RFC 8200 section 5).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn build_frame(
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ident: &mut Option<FlowIdent<'_>>,
    seg: &Outgoing<'_, '_>,
    pool: &mut Vec<Vec<u8>>,
    offload: bool,
    df: bool,
) -> (Vec<u8>, VirtioNetHdr) {
    let (src, dst) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s, d),
        (IpAddr::V6(s), IpAddr::V6(d)) => return build_frame6(s, d, ttl, seg, pool, offload),
        _ => unreachable!("a connection's addresses are of one family"),
    };
    const IP_HL: usize = crate::wire::ipv4::HEADER_LEN;
    let hl = seg.repr.header_len();
    let plen = seg.payload_len();
    let mut buf = frame_buffer(pool, IP_HL + hl, IP_HL + hl + plen);
    let ip = WireIp { src, dst, ttl, df };
    ip.header(ident, hl + plen)
        .emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    finish_segment(
        buf,
        IP_HL,
        seg,
        src.into(),
        dst.into(),
        offload,
        GsoType::TcpV4,
    )
}

/// Software GSO: hands `f` the wire segments a super-segment (`seg.gso` = its MSS)
/// stands for, as a device doing TSO would cut it (and as Linux's GSO does in software
/// when the device cannot): consecutive sequence numbers, MSS-sized payloads but the
/// last, PSH and FIN on the last only, CWR on the first only (RFC 3168 6.1.2; Linux's
/// `tcp_gso_segment`). A wire segment is handed on as it is. The sender does its
/// per-transmission work (timers, RACK, pacing, counters) once per super-segment, and
/// each wire segment costs only its frame: header, payload copied with its checksum.
pub(super) fn for_each_wire_segment(seg: &Outgoing<'_, '_>, mut f: impl FnMut(&Outgoing<'_, '_>)) {
    let Some(mss) = seg.gso.map(usize::from).filter(|&m| m > 0) else {
        f(seg);
        return;
    };
    let [a, b] = seg.payload;
    let total = a.len() + b.len();
    let mut r = *seg.repr;
    let mut off = 0;
    while off < total {
        let end = total.min(off + mss);
        fn part(s: &[u8], base: usize, off: usize, end: usize) -> &[u8] {
            let lo = off.saturating_sub(base).min(s.len());
            let hi = end.saturating_sub(base).min(s.len());
            &s[lo..hi]
        }
        let payload = [part(a, 0, off, end), part(b, a.len(), off, end)];
        r.seq_number = seg.repr.seq_number.wrapping_add(off as u32);
        r.flags = seg.repr.flags;
        if end < total {
            r.flags.remove(TcpFlags::PSH | TcpFlags::FIN);
        }
        if off > 0 {
            r.flags.remove(TcpFlags::CWR);
        }
        f(&Outgoing {
            repr: &r,
            payload,
            gso: None,
        });
        off = end;
    }
}

/// The IPv4 header fields every segment of a connection's flush shares.
#[derive(Clone, Copy)]
struct WireIp {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    df: bool,
}

impl WireIp {
    /// The IPv4 header of a TCP segment of `len` bytes (header and data), with the
    /// flow's next identification (RFC 6864).
    #[inline(always)]
    fn header(self, ident: &mut Option<FlowIdent<'_>>, len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            protocol: IpProtocol::Tcp,
            payload_len: len,
            ttl: self.ttl,
            ident: ident.as_mut().map_or(0, FlowIdent::take),
            dont_frag: self.df,
            more_frags: false,
            frag_offset: 0,
            tos: 0,
        }
    }
}

/// Appends `seg`'s payload (the send ring's one or two slices) to `buf`, summing it as
/// it is copied; returns the payload's sum for the TCP checksum.
#[inline(always)]
fn append_payload(buf: &mut Vec<u8>, seg: &Outgoing<'_, '_>) -> u64 {
    let [a, b] = seg.payload;
    let first = checksum::append_and_sum(0, buf, a);
    let second = checksum::append_and_sum(0, buf, b);
    checksum::add_at(first, second, a.len())
}

/// A wire segment of an IPv4 super-segment after its first (`for_each_wire_segment`),
/// built from the first one's frame: its TCP header copied (the options and the ACK,
/// window and SACK blocks are the super-segment's), then the words that differ written
/// whole (sequence number; data offset, flags and window; checksum and urgent pointer),
/// the IPv4 header emitted afresh (length, identification, checksum), and the payload
/// appended and summed. The bytes are those `build_frame` writes for the piece (the
/// software GSO tests compare them); the TCP header is not put together field by field
/// for every wire segment.
fn next_wire_frame(
    first: &[u8],
    ip: WireIp,
    ident: &mut Option<FlowIdent<'_>>,
    seg: &Outgoing<'_, '_>,
    pool: &mut Vec<Vec<u8>>,
) -> Vec<u8> {
    const IP_HL: usize = crate::wire::ipv4::HEADER_LEN;
    let hl = seg.repr.header_len();
    let plen = seg.payload_len();
    debug_assert_eq!(first.len(), IP_HL + hl, "the first wire segment's headers");
    let mut buf = frame_buffer(pool, 0, IP_HL + hl + plen);
    buf.extend_from_slice(first);
    ip.header(ident, hl + plen)
        .emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    // The TCP words that differ between wire segments: 1 (SEG.SEQ), 3 (the flags), 4
    // (the checksum, zero until filled).
    let words = seg.repr.header_words(hl);
    for k in [1, 3, 4] {
        buf[IP_HL + 4 * k..IP_HL + 4 * k + 4].copy_from_slice(&words[k].to_be_bytes());
    }
    let payload_sum = append_payload(&mut buf, seg);
    TcpPacket::new_unchecked(&mut buf[IP_HL..]).fill_checksum_with(ip.src, ip.dst, payload_sum);
    buf
}

/// The IPv4 identification counter of a connection's flow (RFC 6864), looked up once
/// for a run of its segments; none for IPv6 (no identification in the fixed header).
fn flow_ident(ident: &mut IdentGenerator, src: IpAddr, dst: IpAddr) -> Option<FlowIdent<'_>> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(ident.flow(s, d, 6)),
        _ => None,
    }
}

/// A frame buffer from `pool` (a fresh one gets room for any wire-sized frame, so that it
/// can be recycled: `Stack::recycle` keeps buffers of at least an Ethernet MTU's frame),
/// with room for `total` bytes and its first `headers` bytes zeroed. Headers zeroed, then
/// the payload appended: no pass that zeroes the payload's room only to overwrite it. The
/// IP header is written before the payload is copied in: written after, its reads of the
/// (just stored) header fields would wait for the whole copy's stores to land.
fn frame_buffer(pool: &mut Vec<Vec<u8>>, headers: usize, total: usize) -> Vec<u8> {
    let mut buf = pool
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(total.max(super::FRAME_CAPACITY)));
    buf.clear();
    buf.reserve(total);
    buf.resize(headers, 0);
    buf
}

/// The rest of a frame whose IP header (`ip_hl` bytes) `buf` holds, with zeroed room for
/// the TCP header after it: the header written, the payload appended, the checksum whole or, with
/// `offload`, partial for the kernel to complete, and a segment longer than its `gso`
/// size a super-segment of type `tso`.
#[inline(always)]
fn finish_segment(
    mut buf: Vec<u8>,
    ip_hl: usize,
    seg: &Outgoing<'_, '_>,
    src: IpAddr,
    dst: IpAddr,
    offload: bool,
    tso: GsoType,
) -> (Vec<u8>, VirtioNetHdr) {
    let [a, b] = seg.payload;
    if !offload {
        // The header first, then the payload, summed as it is copied from the send
        // buffer (each vector loaded once, stored into the frame and added), then the
        // checksum from that sum and the header (`TcpRepr::emit_header` says why in
        // this order).
        seg.repr
            .emit_header(&mut TcpPacket::new_unchecked(&mut buf[ip_hl..]));
        let payload_sum = append_payload(&mut buf, seg);
        TcpPacket::new_unchecked(&mut buf[ip_hl..]).fill_checksum_with(src, dst, payload_sum);
        return (buf, VirtioNetHdr::NONE);
    }
    buf.extend_from_slice(a);
    buf.extend_from_slice(b);
    let tcp = &mut TcpPacket::new_unchecked(&mut buf[ip_hl..]);
    seg.repr.emit_offloaded(tcp, src, dst);
    let hdr = VirtioNetHdr {
        gso_type: seg.gso.map_or(GsoType::None, |_| tso),
        ..VirtioNetHdr::tcp4_tso(0, ip_hl, seg.repr.header_len(), seg.gso.unwrap_or(0))
    };
    (buf, hdr)
}

/// [`build_frame`] for IPv6: the fixed header (no extension headers), then the segment
/// with its checksum over the IPv6 pseudo-header (RFC 8200 section 8.1). With `offload`,
/// the checksum is left partial and a segment longer than its `gso` size goes out as a
/// TCPV6 super-segment.
fn build_frame6(
    src: std::net::Ipv6Addr,
    dst: std::net::Ipv6Addr,
    hop_limit: u8,
    seg: &Outgoing<'_, '_>,
    pool: &mut Vec<Vec<u8>>,
    offload: bool,
) -> (Vec<u8>, VirtioNetHdr) {
    const IP_HL: usize = crate::wire::ipv6::HEADER_LEN;
    let hl = seg.repr.header_len();
    let plen = seg.payload_len();
    let total = IP_HL + hl + plen;
    let mut buf = frame_buffer(pool, IP_HL + hl, total);
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: crate::wire::ipv6::next_header::TCP,
        payload_len: hl + plen,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    };
    // A super-segment is at most 65,455 bytes of payload (`max_send_len`) behind at most
    // 60 of TCP header, within the 65,535 the Payload Length holds: emitting cannot fail.
    // (Written before the payload, as in `build_frame`.)
    let _ = ip.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    finish_segment(
        buf,
        IP_HL,
        seg,
        src.into(),
        dst.into(),
        offload,
        GsoType::TcpV6,
    )
}

/// Keeps the state-derived counters (RFC 1213 / RFC 4022) as a connection moves from
/// `before` to `after`: tcpCurrEstab counts connections in ESTABLISHED or CLOSE-WAIT;
/// tcpEstabResets counts direct transitions from those two states to CLOSED.
pub(super) fn count_transition(stats: &mut crate::stats::Stats, before: State, after: State) {
    let estab = |s: State| matches!(s, State::Established | State::CloseWait);
    match (estab(before), estab(after)) {
        (false, true) => stats.tcp_curr_estab += 1,
        (true, false) => {
            stats.tcp_curr_estab = stats.tcp_curr_estab.saturating_sub(1);
            if after == State::Closed {
                stats.tcp_estab_resets += 1;
            }
        }
        _ => {}
    }
}

impl Stack {
    /// A TCP segment for one of our addresses (RFC 9293 3.10.7), from `src` to `dst`
    /// (both IPv4 or both IPv6; the checksum covers the pseudo-header of their family,
    /// RFC 9293 3.1 and RFC 8200 8.1).
    pub(super) fn tcp_input(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        payload: &[u8],
        broadcast: bool,
    ) {
        // A super-segment counts as the wire segments it stands for, as Linux counts
        // `gso_segs`.
        self.stats.tcp_in_segs += self.rx_offload.unwrap_or(1);
        // Borrowed from the result, not moved out of it (see `ip_receive`). The checksum
        // (RFC 9293 3.1) is verified next, before anything acts on the segment, from a
        // payload sum taken as the payload is copied (`tcp_verify`).
        let parsed = TcpPacket::new_checked(payload).and_then(|p| match self.rx_offload {
            Some(_) => TcpRepr::parse_offloaded(&p),
            None => TcpRepr::parse_unverified(&p),
        });
        let seg = match &parsed {
            Ok(s) => s,
            Err(e) => {
                self.tcp_malformed(src, dst, payload, e);
                return;
            }
        };
        let local = SocketAddr::new(dst, seg.dst_port);
        let remote = SocketAddr::new(src, seg.src_port);
        if self.gro.is_some() {
            // In a batch, a segment that continues the merged run joins it (`gro.rs`);
            // any other ends it, so TCP takes the run before this segment.
            if let super::gro::Offer::Taken =
                self.gro_offer(now, src, dst, payload, seg, &local, &remote)
            {
                return;
            }
        }
        let staged = match self.rx_offload {
            Some(_) => None,
            None => match self.tcp_verify(src, dst, payload, seg, &local, &remote) {
                Ok(staged) => staged,
                Err(()) => return,
            },
        };
        if let Some(idx) = staged.filter(|_| !broadcast) {
            if self.gro_start(idx, seg, local, remote) {
                return;
            }
        }
        self.tcp_input_verified(now, seg, local, remote, broadcast, staged);
        if let Some(idx) = staged {
            self.tcp_unstage(idx);
        }
    }

    /// The rest of [`tcp_input`](Self::tcp_input), for a segment whose checksum verified.
    /// Inlined into its one caller: called, it read the addresses `tcp_input` had just
    /// built field by field with wide loads that waited for those stores to land (60% of
    /// its own time in the in-memory bench's profile). `known`: the connection the
    /// 4-tuple was just looked up to (the one whose buffer holds the staged payload), so
    /// an in-order segment is looked up once, not twice.
    #[inline(always)]
    fn tcp_input_verified(
        &mut self,
        now: Instant,
        seg: &TcpRepr<'_>,
        local: SocketAddr,
        remote: SocketAddr,
        broadcast: bool,
        known: Option<u32>,
    ) {
        // RFC 1122 4.2.3.10: segments to broadcast or multicast addresses are dropped.
        if broadcast || local.ip().is_multicast() {
            return;
        }
        let mut found = known.or_else(|| self.tcp.lookup(&local, &remote));
        if let Some(idx) = found {
            if self.tcp.slots[idx as usize]
                .conn
                .as_ref()
                .is_none_or(|c| c.state() == State::Closed)
            {
                // RFC 9293 3.10.7.1: a CLOSED connection is one whose TCB does not exist.
                // The application may still hold its handle (to read the error), but
                // segments for the 4-tuple are handled as if it were gone: it leaves the
                // lookup table, and a listener or the closed-port rules take over.
                self.tcp.unhash(idx);
                found = None;
            }
        }
        if let Some(idx) = found {
            // RFC 9293 3.6.1 (with RFC 6191): a SYN for a connection in TIME-WAIT may
            // open a new incarnation when it cannot be mistaken for an old segment: its
            // timestamp is newer than the last one seen, or (without timestamps) its
            // sequence number is beyond RCV.NXT. The old TCB goes, and the listener takes
            // the SYN. Linux does the same; without it, clients that reuse ports (any
            // busy HTTP/1.0-style load) get challenge ACKs and resets.
            let we_use_ts = self.tcp.cfg.timestamps;
            let reopen = self.tcp.slots[idx as usize].conn.as_ref().is_some_and(|c| {
                c.state() == State::TimeWait
                    && seg.flags.contains(TcpFlags::SYN)
                    && !seg.flags.intersects(TcpFlags::ACK | TcpFlags::RST)
                    && c.syn_may_reopen(
                        SeqNum(seg.seq_number),
                        seg.timestamp.map(|t| t.tsval),
                        we_use_ts,
                    )
            });
            if reopen && self.tcp.find_listener(local).is_some() {
                let detached = self.tcp.slots[idx as usize]
                    .conn
                    .as_ref()
                    .is_some_and(|c| !c.user_attached);
                if detached {
                    self.tcp.remove(idx);
                } else {
                    self.tcp.unhash(idx);
                }
                found = None;
            }
        }
        if let Some(idx) = found {
            self.tcp_segment_for(now, idx, seg);
            self.tcp_send_due_ack(now, idx);
        } else if let Some(l) = self.tcp.find_listener(local) {
            self.tcp_listen_input(now, l, local, remote, seg);
        } else {
            self.tcp_reset_closed(now, local, remote, seg);
        }
    }

    /// After connection `idx` took a segment: an ACK that is due now (out-of-order data,
    /// a duplicate, a FIN) is generated now, with the ACK number of this moment, so each
    /// such segment gets its own (duplicate) ACK for the sender's loss detection. The
    /// ACK for in-order data (every second full segment) goes out when the caller polls
    /// for frames, once for the whole received batch (a stretch ACK, as Linux's GRO
    /// gives), with the data the ACKs released and delayed ACKs.
    pub(super) fn tcp_send_due_ack(&mut self, now: Instant, idx: u32) {
        if self.tcp.conn_at(idx).is_some_and(|c| c.ack_now) {
            self.tcp_flush(now);
        }
    }

    pub(super) fn tcp_segment_for(&mut self, now: Instant, idx: u32, seg: &TcpRepr<'_>) {
        self.tcp_segment_with(now, idx, |conn, ctx| conn.on_segment(now, seg, ctx));
    }

    /// TCP takes a merged run of `segs` in-order segments (`gro.rs`) for connection `idx`:
    /// `seg` the first one's header, `last_seq` the last one's SEG.SEQ, their `len` bytes
    /// staged in its receive buffer, each segment `seg_size` long but the last.
    pub(super) fn tcp_segment_in_place(
        &mut self,
        now: Instant,
        idx: u32,
        seg: &TcpRepr<'_>,
        (last_seq, len, seg_size, segs): (u32, usize, usize, u32),
    ) {
        self.tcp_segment_with(now, idx, |conn, ctx| {
            conn.on_segment_in_place(now, seg, last_seq, len, seg_size, segs, ctx);
        });
    }

    /// Connection `idx` takes a segment (`take`, with the input context), then the core
    /// follows what it did: state counters, the accept queue, the connection marked for
    /// output, TIME-WAIT.
    fn tcp_segment_with(
        &mut self,
        now: Instant,
        idx: u32,
        take: impl FnOnce(&mut crate::tcp::conn::Connection, &mut InputCtx<'_>),
    ) {
        let Stack {
            tcp, stats, events, ..
        } = self;
        let msl = tcp.cfg.msl;
        let challenge = &mut tcp.challenge;
        let Some(slot) = tcp.slots.get_mut(idx as usize) else {
            return;
        };
        let Some(conn) = slot.conn.as_mut() else {
            return;
        };
        let before = conn.state();
        let mut ok = || challenge.take(now);
        let mut ctx = InputCtx {
            stats,
            challenge_ok: &mut ok,
            msl,
        };
        take(conn, &mut ctx);
        let after = conn.state();
        count_transition(stats, before, after);
        // A passive connection that completed its handshake joins the accept queue.
        if before == State::SynReceived && after != State::SynReceived && slot.in_syn_queue {
            slot.in_syn_queue = false;
            let h = crate::tcp::layer::TcpHandle { idx, gen: slot.gen };
            if let Some(l) = slot.listener {
                if let Some(Some(lis)) = tcp.listeners.get_mut(l as usize) {
                    lis.syn_queue = lis.syn_queue.saturating_sub(1);
                    if after != State::Closed {
                        lis.accept_queue.push_back(h);
                        events.push(super::WaitKey::Listen(l));
                    }
                }
            }
        }
        tcp.mark_dirty(idx);
        tcp.sync_time_wait(idx, stats);
    }

    /// RFC 9293 3.10.7.1, CLOSED: an RST is dropped; otherwise, without ACK,
    /// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`, with ACK `<SEQ=SEG.ACK><CTL=RST>`.
    fn tcp_reset_closed(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        if seg.flags.contains(TcpFlags::ACK) {
            self.tcp_send_rst(now, local, remote, SeqNum(seg.ack_number), None);
        } else {
            let len = seg.payload.len()
                + usize::from(seg.flags.contains(TcpFlags::SYN))
                + usize::from(seg.flags.contains(TcpFlags::FIN));
            self.tcp_send_rst(
                now,
                local,
                remote,
                SeqNum(0),
                Some(SeqNum(seg.seq_number) + len),
            );
        }
    }

    pub(super) fn tcp_send_rst(
        &mut self,
        _now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seq: SeqNum,
        ack: Option<SeqNum>,
    ) {
        let mut r = crate::tcp::output::bare_repr(local.port(), remote.port());
        r.flags = TcpFlags::RST;
        r.seq_number = seq.0;
        if let Some(a) = ack {
            r.flags.insert(TcpFlags::ACK);
            r.ack_number = a.0;
        }
        self.stats.tcp_out_rsts += 1;
        self.tcp_emit_raw(local, remote, &r);
    }

    /// Sends a segment that belongs to no connection (RST, SYN cookie).
    pub(super) fn tcp_emit_raw(&mut self, local: SocketAddr, remote: SocketAddr, r: &TcpRepr<'_>) {
        let Some(path) = self.route_to(remote.ip()) else {
            return;
        };
        self.stats.tcp_out_segs += 1;
        let (frame, _) = build_frame(
            local.ip(),
            remote.ip(),
            self.config.ttl,
            &mut flow_ident(&mut self.ident, local.ip(), remote.ip()),
            &Outgoing {
                repr: r,
                payload: [&[], &[]],
                gso: None,
            },
            &mut self.frame_pool,
            false,
            true,
        );
        self.ip_output(path, frame, VirtioNetHdr::NONE);
    }

    /// A new connection on `path` with our initial sequence number `iss`: the link MTU
    /// bounds its MSS, and its timestamp clock gets a random offset (RFC 7323 5.4).
    /// Connections of either family send super-segments when the device offloads (TSO4
    /// and TSO6) or with software GSO (`TcpConfig::gso`), except over loopback.
    pub(super) fn tcp_new_conn(
        &mut self,
        path: Path,
        local: SocketAddr,
        remote: SocketAddr,
        state: State,
        iss: SeqNum,
        now: Instant,
    ) -> Connection {
        let mtu = self.ifaces[path.iface.0].mtu();
        let tso = (self.ifaces[path.iface.0].offload || self.tcp.cfg.gso) && !path.local;
        let ts_offset = self.tcp.rng.next_u32();
        let mut c = Connection::new(
            &self.tcp.cfg,
            local,
            remote,
            state,
            iss,
            mtu,
            ts_offset,
            now,
        );
        c.tso = tso;
        c
    }

    /// Sends what every dirty connection has to send, and forgets finished ones.
    pub(super) fn tcp_flush(&mut self, now: Instant) {
        while let Some(idx) = self.tcp.dirty.pop_front() {
            let Stack {
                tcp,
                stats,
                ident,
                config,
                frame_pool,
                tcp_out,
                ifaces,
                ..
            } = self;
            let ttl = config.ttl;
            let mut ctx = OutputCtx {
                stats,
                keepalive_interval: tcp.cfg.keepalive_interval,
                keepalive_probes: tcp.cfg.keepalive_probes,
            };
            let slot = &mut tcp.slots[idx as usize];
            slot.dirty = false;
            let path = slot.path;
            let Some(conn) = slot.conn.as_mut() else {
                continue;
            };
            let (src, dst) = (conn.local().ip(), conn.remote().ip());
            // The connection builds super-segments (`Connection::tso`); the device takes
            // them whole when it offloads, else they are cut here (software GSO).
            let offload = conn.tso && ifaces[path.iface.0].offload;
            let df = conn.pmtu.dont_frag();
            let v4 = match (src, dst) {
                (IpAddr::V4(src), IpAddr::V4(dst)) => Some(WireIp { src, dst, ttl, df }),
                _ => None,
            };
            let mut ident = flow_ident(ident, src, dst);
            conn.dispatch(now, &mut ctx, &mut |seg| {
                if offload {
                    let (frame, hdr) =
                        build_frame(src, dst, ttl, &mut ident, seg, frame_pool, true, df);
                    tcp_out.push((frame, hdr));
                    return;
                }
                // Wire segments. Over IPv4 the first one's headers (at most 20 + 60
                // bytes) serve the rest of a super-segment (`next_wire_frame`). Without
                // offloads the virtio header is the constant, written as such: moved
                // from the one `build_frame` returned, its fields just stored one by one
                // were read back with wide loads that waited for the stores (4%).
                let mut first = [0u8; 80];
                let mut first_len = 0;
                for_each_wire_segment(seg, |piece| {
                    let frame = match v4.filter(|_| first_len > 0) {
                        Some(ip) => {
                            next_wire_frame(&first[..first_len], ip, &mut ident, piece, frame_pool)
                        }
                        None => {
                            let (f, _) = build_frame(
                                src, dst, ttl, &mut ident, piece, frame_pool, false, df,
                            );
                            f
                        }
                    };
                    if first_len == 0 && v4.is_some() && seg.gso.is_some() {
                        first_len = crate::wire::ipv4::HEADER_LEN + piece.repr.header_len();
                        first[..first_len].copy_from_slice(&frame[..first_len]);
                    }
                    tcp_out.push((frame, VirtioNetHdr::NONE));
                });
            });
            let mut out = std::mem::take(&mut self.tcp_out);
            for (frame, hdr) in out.drain(..) {
                self.ip_output(path, frame, hdr);
            }
            self.tcp_out = out;
            // Wake readers when there is something to read, writers when there is room.
            if let Some(c) = self.tcp.slots[idx as usize].conn.as_ref() {
                let settled = matches!(c.state(), State::Established | State::CloseWait);
                if c.can_recv() || !settled {
                    self.events.push(super::WaitKey::Tcp(idx));
                }
                let room = c.send_capacity() >= c.send_buffer_capacity() / 4;
                if room || c.error().is_some() || !settled {
                    self.events.push(super::WaitKey::TcpWrite(idx));
                }
            }
            let dead = self.tcp.slots[idx as usize]
                .conn
                .as_ref()
                .is_some_and(|c| c.is_dead());
            if dead {
                self.tcp.remove(idx);
            } else {
                self.tcp.reschedule(idx);
            }
        }
    }

    /// Runs expired TCP timers.
    pub(super) fn tcp_timeout(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.tcp.due);
        self.tcp.expired(now, &mut due);
        for &idx in &due {
            let Stack { tcp, stats, .. } = self;
            let mut ctx = OutputCtx {
                stats,
                keepalive_interval: tcp.cfg.keepalive_interval,
                keepalive_probes: tcp.cfg.keepalive_probes,
            };
            if let Some(c) = tcp.slots[idx as usize].conn.as_mut() {
                let before = c.state();
                c.on_timers(now, &mut ctx);
                count_transition(ctx.stats, before, c.state());
            }
            tcp.sync_time_wait(idx, stats);
            tcp.mark_dirty(idx);
        }
        self.tcp.due = due;
        self.tcp_flush(now);
    }

    // ------------------------------------------------------------------ socket calls

    /// Opens a connection to `remote` (RFC 9293 3.10.1 OPEN, active), from `local_port`
    /// or a random ephemeral port.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        remote: impl Into<SocketAddr>,
        local_port: Option<u16>,
    ) -> Result<TcpHandle, TcpError> {
        let remote = remote.into();
        let path = self.route_to(remote.ip()).ok_or(TcpError::NoRoute)?;
        let src = self
            .source_for(&path, remote.ip())
            .ok_or(TcpError::AddrNotAvailable)?;
        let port = match local_port {
            Some(p) if p != 0 => {
                if self.tcp.lookup(&SocketAddr::new(src, p), &remote).is_some() {
                    return Err(TcpError::AddrInUse);
                }
                p
            }
            _ => self
                .tcp
                .ephemeral_port(src, remote)
                .ok_or(TcpError::Exhausted)?,
        };
        let local = SocketAddr::new(src, port);
        let iss = self.tcp.isn.isn(local, remote, now);
        let c = self.tcp_new_conn(path, local, remote, State::SynSent, iss, now);
        self.tcp.has_room(&mut self.stats);
        let h = self.tcp.insert(c, path, None).ok_or(TcpError::Exhausted)?;
        self.stats.tcp_active_opens += 1;
        self.tcp_flush(now);
        self.drain_loopback(now);
        Ok(h)
    }

    /// The connection behind a handle.
    pub fn tcp_conn(&self, h: TcpHandle) -> Option<&Connection> {
        self.tcp.conn(h)
    }

    /// Runs `f` on a connection and sends whatever it queued.
    fn tcp_with<R>(
        &mut self,
        now: Instant,
        h: TcpHandle,
        f: impl FnOnce(&mut Connection) -> R,
    ) -> Result<R, TcpError> {
        let c = self.tcp.conn_mut(h).ok_or(TcpError::InvalidHandle)?;
        let before = c.state();
        let r = f(c);
        let after = c.state();
        count_transition(&mut self.stats, before, after);
        self.tcp.sync_time_wait(h.idx, &mut self.stats);
        self.tcp.mark_dirty(h.idx);
        self.tcp_flush(now);
        self.drain_loopback(now);
        Ok(r)
    }

    /// Queues data; returns how much was taken (0 when the send buffer is full).
    pub fn tcp_send(&mut self, now: Instant, h: TcpHandle, data: &[u8]) -> Result<usize, TcpError> {
        self.tcp_with(now, h, |c| c.send(data))?
            .map_err(TcpError::Conn)
    }

    /// Queues data and, once all of it is taken, the FIN behind it (RFC 9293 3.10.4:
    /// CLOSE after SEND; the FIN follows the queued data) in one step, so that the last
    /// data and the FIN go out together, in one segment when the window allows, as the
    /// kernel's `close()` piggybacks its FIN on data still queued. Sent apart, a peer
    /// that reads the data before the FIN arrives may close first and hold the port in
    /// TIME-WAIT itself. Returns how much was taken; the FIN is queued only when that is
    /// all of `data`.
    pub fn tcp_send_last(
        &mut self,
        now: Instant,
        h: TcpHandle,
        data: &[u8],
    ) -> Result<usize, TcpError> {
        self.tcp_with(now, h, |c| {
            let n = c.send(data)?;
            if n == data.len() {
                c.shutdown_write(now);
            }
            Ok(n)
        })?
        .map_err(TcpError::Conn)
    }

    /// Reads in-order data: `Ok(0)` is end of stream (for a non-empty `buf`).
    pub fn tcp_recv(
        &mut self,
        now: Instant,
        h: TcpHandle,
        buf: &mut [u8],
    ) -> Result<usize, TcpError> {
        let c = self.tcp.conn_mut(h).ok_or(TcpError::InvalidHandle)?;
        let r = c.recv(buf);
        let read = matches!(r, Ok(n) if n > 0);
        if read {
            c.autotune_recv(now);
        }
        if read && c.ack_now {
            // The read opened the window enough to tell the peer. The update is built at
            // the next poll, not here: reads the application makes before then (a reader
            // draining a full buffer in 64 KiB calls) all count, and the peer gets one
            // update with the whole window rather than one per read, each stopping short
            // of what the next read frees.
            self.tcp.mark_dirty(h.idx);
        } else if c.recv_buf.is_drained() && !c.timers.is_set(crate::tcp::timer::Timer::Linger) {
            // Drained: its storage goes back if no data comes for a while.
            c.arm_linger(now);
            self.tcp.reschedule(h.idx);
        }
        r.map_err(TcpError::Conn)
    }

    /// shutdown(Write): a FIN after the queued data.
    pub fn tcp_shutdown(&mut self, now: Instant, h: TcpHandle) -> Result<(), TcpError> {
        self.tcp_with(now, h, |c| c.shutdown_write(now))
    }

    /// The application lets go of the connection (the close completes in the background).
    pub fn tcp_close(&mut self, now: Instant, h: TcpHandle) {
        let _ = self.tcp_with(now, h, |c| c.close(now));
        if self.tcp.conn(h).is_some_and(|c| c.is_dead()) {
            self.tcp.remove(h.idx);
        }
    }

    /// Aborts with a reset.
    pub fn tcp_abort(&mut self, now: Instant, h: TcpHandle) {
        let _ = self.tcp_with(now, h, |c| c.abort(now));
    }

    /// Runs `f` on a connection for a setting. Segments the setting releases (data Nagle
    /// held back, when TCP_NODELAY is turned on) go out on the next
    /// [`handle_timeout`](Stack::handle_timeout): the connection is marked for sending, so
    /// [`poll_at`](Stack::poll_at) asks for that at once.
    pub fn tcp_configure(
        &mut self,
        h: TcpHandle,
        f: impl FnOnce(&mut Connection),
    ) -> Result<(), TcpError> {
        f(self.tcp.conn_mut(h).ok_or(TcpError::InvalidHandle)?);
        self.tcp.mark_dirty(h.idx);
        self.tcp.reschedule(h.idx);
        Ok(())
    }

    /// The cookie a SYN from `remote` with sequence number `peer_isn` and MSS `mss` gets at
    /// `now` (for tests that forge or replay cookie ACKs).
    #[cfg(test)]
    pub(crate) fn tcp_cookie_for_test(
        &self,
        local: impl Into<SocketAddr>,
        remote: impl Into<SocketAddr>,
        peer_isn: SeqNum,
        mss: u16,
        now: Instant,
    ) -> SeqNum {
        let (local, remote) = (local.into(), remote.into());
        self.tcp
            .cookies
            .generate(local, remote, peer_isn, mss, now)
            .0
    }

    /// Trace events recorded since the last call, per connection, the last events of
    /// connections that have gone included (`crate::tcp::trace`). Empty while tracing is
    /// off (`TcpConfig::trace_events` 0).
    pub fn tcp_take_traces(&mut self) -> Vec<crate::tcp::trace::TraceChunk> {
        self.tcp.take_traces()
    }

    /// The trace of connection `id` as its ring holds it now (takes nothing).
    pub fn tcp_trace(&self, id: u64) -> Option<crate::tcp::trace::TraceChunk> {
        self.tcp.trace(id)
    }

    /// Every connection, for listings.
    pub fn tcp_connections(&self) -> Vec<ConnInfo> {
        self.tcp
            .slots
            .iter()
            .filter_map(|s| s.conn.as_ref())
            .map(|c| c.info())
            .collect()
    }
}
