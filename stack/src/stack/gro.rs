//! Receive coalescing: a batch of frames whose TCP segments continue one another is
//! taken by TCP as one segment, as Linux's GRO (`net/ipv4/tcp_offload.c`,
//! `tcp_gro_receive`) merges them before its TCP sees them.
//!
//! Without it every wire segment of a bulk transfer goes through the whole of RFC 9293
//! 3.10.7.4 on its own, although a burst of them differs only in SEG.SEQ. With it, a
//! batch ([`Stack::receive_batch`]: the runtime's frames of one turn, the `Sim`'s
//! frames due at one time) merges each run of segments that
//!
//! * belong to one connection and follow each other in sequence, starting at RCV.NXT;
//! * carry ACK alone (PSH may end a run), text, and no SACK blocks;
//! * are as long as the first, but the last, which may be shorter (and ends the run);
//! * have the same ACK number, window and timestamps (Linux's rule too: they are then
//!   exactly the one segment a sender with TSO would have sent);
//! * find the connection where the steps take them whole, doing nothing per segment but
//!   take its text (`Connection::may_merge`: ESTABLISHED, no FIN noted, no ACK due,
//!   PAWS passed, an ACK field that changes nothing);
//!
//! and TCP takes the run once, as it takes a super-segment from an offloading device:
//! SEG.SEQ of the first, their bytes as its text, counted as the segments it stands for
//! (`TcpInSegs`, the connection's `segs_in`) and ACKed as they would be (RFC 5681 4.2:
//! one ACK due per two full-sized segments, sent once for the batch).
//!
//! The bytes are not copied for it: each segment's payload is copied into the receive
//! buffer right after the previous one's, its checksum verified from the sum taken on
//! the way (`RecvBuffer::stage_after`, as `tcp_csum.rs` does for one segment), and TCP
//! takes them where they lie. A segment that fails its checksum is dropped and counted
//! as always; its bytes lie past the run, in free space. A frame that does not continue
//! the run ends it first, so TCP sees every segment in the order the frames came.

use std::net::{IpAddr, SocketAddr};

use super::Stack;
use crate::iface::IfaceId;
use crate::link::Medium;
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::virtio::VirtioNetHdr;

/// A run of in-order segments merged so far: the first one's header, where the next
/// must start, and what it holds.
#[derive(Clone, Copy, Debug)]
pub(super) struct GroRun {
    idx: u32,
    local: SocketAddr,
    remote: SocketAddr,
    /// The first segment's header (no payload: the text is in the receive buffer).
    head: TcpRepr<'static>,
    /// The last segment's SEG.SEQ.
    last_seq: u32,
    len: usize,
    segs: u32,
    /// The first segment's length: every one but the last is that long.
    seg_size: usize,
    /// A segment of the run had PSH, or was shorter than the first: it ends the run.
    last: bool,
}

/// What became of a segment offered to the run.
pub(super) enum Offer {
    /// It continued the run (or failed its checksum, counted): nothing more to do.
    Taken,
    /// It does not continue it (the run, if any, was handed to TCP first).
    Not,
}

/// Whether a segment may be part of a run: ACK (and maybe PSH) alone, text, no SACK
/// blocks (a SACK is news for the sender that one merged header could not carry).
fn eligible(seg: &TcpRepr<'_>) -> bool {
    let mut flags = seg.flags;
    flags.remove(TcpFlags::PSH);
    flags == TcpFlags::ACK && !seg.payload.is_empty() && seg.sack_ranges[0].is_none()
}

/// Whether `frame` (on a link of `medium`) may carry a TCP segment: any other frame
/// ends a pending run before it is processed, so TCP and everything else see the
/// frames in their order.
fn may_carry_tcp(frame: &[u8], medium: Medium) -> bool {
    let packet = match medium {
        Medium::Ethernet => match frame.get(12..14) {
            Some([0x08, 0x00] | [0x86, 0xdd]) => &frame[14..],
            _ => return false,
        },
        _ => frame,
    };
    match packet.first().map(|b| b >> 4) {
        Some(4) => packet.get(9) == Some(&6),
        Some(6) => packet.get(6) == Some(&6),
        _ => false,
    }
}

impl GroRun {
    /// Whether `seg` (eligible) continues this run.
    fn continued_by(&self, seg: &TcpRepr<'_>, local: &SocketAddr, remote: &SocketAddr) -> bool {
        !self.last
            && seg.payload.len() <= self.seg_size
            && seg.seq_number == self.head.seq_number.wrapping_add(self.len as u32)
            && seg.ack_number == self.head.ack_number
            && seg.window_len == self.head.window_len
            && seg.timestamp == self.head.timestamp
            && seg.urgent_pointer == self.head.urgent_pointer
            && self.local == *local
            && self.remote == *remote
    }
}

impl Stack {
    /// Takes a batch of frames, as [`receive_offload`](Self::receive_offload) takes each,
    /// merging runs of in-order TCP segments on the way (see the module docs). Every
    /// frame is processed before this returns.
    pub fn receive_batch<'f>(
        &mut self,
        now: Instant,
        frames: impl IntoIterator<Item = (IfaceId, &'f [u8], VirtioNetHdr)>,
    ) {
        self.gro_on = true;
        for (iface, frame, hdr) in frames {
            // A frame that cannot carry TCP ends the run before it is processed, so TCP
            // and everything else see the frames in their order.
            if self.gro.is_some() {
                let medium = self.ifaces.get(iface.0).map(|i| i.config.medium);
                if !medium.is_some_and(|m| may_carry_tcp(frame, m)) {
                    self.gro_flush(now);
                }
            }
            self.receive_offload(now, iface, frame, &hdr);
        }
        self.gro_on = false;
        self.gro_flush(now);
    }

    /// Offers a verified-or-not segment that arrived while a batch is taken: one that
    /// continues the pending run is verified and staged after it; any other ends the run
    /// (TCP takes it) and is processed as usual by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gro_offer(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: IpAddr,
        segment: &[u8],
        seg: &TcpRepr<'_>,
        local: &SocketAddr,
        remote: &SocketAddr,
    ) -> Offer {
        let Some(run) = self.gro.as_mut() else {
            return Offer::Not;
        };
        // A segment the device vouched for (`rx_offload`) is not summed here: not merged.
        if self.rx_offload.is_some() || !(eligible(seg) && run.continued_by(seg, local, remote)) {
            self.gro_flush(now);
            return Offer::Not;
        }
        let Some(conn) = self.tcp.conn_at_mut(run.idx) else {
            self.gro_flush(now);
            return Offer::Not;
        };
        let Some(sum) = conn.recv_buf.stage_after(seg.payload) else {
            self.gro_flush(now);
            return Offer::Not;
        };
        // RFC 9293 3.1: verified from the sum taken as the bytes were copied.
        if !TcpPacket::new_unchecked(segment).verify_checksum_with(src, dst, sum) {
            self.tcp_bad_checksum(src);
            return Offer::Taken;
        }
        conn.recv_buf.extend_staged(seg.payload.len());
        run.last_seq = seg.seq_number;
        run.len += seg.payload.len();
        run.segs += 1;
        run.last = seg.flags.contains(TcpFlags::PSH) || seg.payload.len() < run.seg_size;
        if seg.flags.contains(TcpFlags::PSH) {
            run.head.flags.insert(TcpFlags::PSH);
        }
        Offer::Taken
    }

    /// Starts a run with `seg`, verified and staged in connection `idx`'s buffer, if it
    /// may start one; true if it did (TCP then takes it with the run).
    pub(super) fn gro_start(
        &mut self,
        idx: u32,
        seg: &TcpRepr<'_>,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> bool {
        if !self.gro_on || !eligible(seg) {
            return false;
        }
        // Only a segment the steps take whole, doing nothing per segment but take its
        // text (`Connection::may_merge`): else it is taken alone. An ACK already due (a
        // window update after a read) so goes out after it, with its ACK number.
        let merges = self.tcp.conn_at(idx).is_some_and(|c| c.may_merge(seg));
        if !merges {
            return false;
        }
        debug_assert!(self.gro.is_none(), "a run is ended before another starts");
        let head = TcpRepr {
            payload: &[],
            ..*seg
        };
        self.gro = Some(GroRun {
            idx,
            local,
            remote,
            head,
            last_seq: seg.seq_number,
            len: seg.payload.len(),
            segs: 1,
            seg_size: seg.payload.len(),
            last: seg.flags.contains(TcpFlags::PSH),
        });
        true
    }

    /// Hands the pending run, if any, to TCP as one segment.
    pub(super) fn gro_flush(&mut self, now: Instant) {
        let Some(run) = self.gro.take() else {
            return;
        };
        if run.segs > 1 {
            self.stats.gro_runs += 1;
            self.stats.gro_segs += u64::from(run.segs);
        }
        let sizes = (run.last_seq, run.len, run.seg_size, run.segs);
        self.tcp_segment_in_place(now, run.idx, &run.head, sizes);
        self.tcp_unstage(run.idx);
        // As after any segment (`tcp_input_verified`).
        self.tcp_send_due_ack(now, run.idx);
    }
}
