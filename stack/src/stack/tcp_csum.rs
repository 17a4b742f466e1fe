//! TCP input's checksum (RFC 9293 3.1, RFC 1122 4.2.2.7: a TCP MUST verify it on every
//! segment), taken in the same pass that copies the payload into the receive buffer.
//!
//! An in-order segment for a synchronized connection has its payload copied into the
//! receive buffer's free space first, summed on the way (`RecvBuffer::stage`), and the
//! checksum verified from that sum and the header; only then does TCP process the
//! segment, and its write finds the bytes in place. A segment that fails leaves nothing
//! behind but bytes in free space, which no state points at: it is dropped and counted
//! (`TcpInErrs`, `TcpInCsumErrors`) as if it had been verified first. Every other segment
//! (out of order, a handshake, a connection whose buffer holds out-of-order data or has
//! no storage yet) is verified by reading it once, then processed as usual.

use std::net::{IpAddr, SocketAddr};

use super::tcp::LOG;
use super::Stack;
use crate::tcp::state::State;
use crate::tcp::SeqNum;
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

impl Stack {
    /// Verifies `segment`'s checksum (`seg` parsed from it unverified; `src` and `dst` the
    /// addresses of `remote` and `local`, passed as the caller has them: built again from
    /// the socket addresses, their bytes just stored were read back with a wide load
    /// that waited for the stores), staging its
    /// payload in its connection's receive buffer where that can be done without changing
    /// what the buffer holds. `Ok` with the connection whose buffer holds a staged copy
    /// (to [`tcp_unstage`](Self::tcp_unstage) once the segment is processed), or `Err`
    /// when the checksum failed: the segment was counted and must be dropped.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tcp_verify(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        segment: &[u8],
        seg: &TcpRepr<'_>,
        local: &SocketAddr,
        remote: &SocketAddr,
    ) -> Result<Option<u32>, ()> {
        let packet = TcpPacket::new_unchecked(segment);
        let staged = self.tcp_stage(seg, local, remote);
        let ok = match staged {
            Some((_, payload_sum)) => packet.verify_checksum_with(src, dst, payload_sum),
            None => packet.verify_checksum(src, dst),
        };
        let staged = staged.map(|(idx, _)| idx);
        if ok {
            return Ok(staged);
        }
        if let Some(idx) = staged {
            self.tcp_unstage(idx);
        }
        self.tcp_bad_checksum(src);
        Err(())
    }

    /// Counts and logs a segment dropped for its checksum: `TcpInErrs`, `TcpInCsumErrors`.
    pub(super) fn tcp_bad_checksum(&mut self, src: IpAddr) {
        self.stats.tcp_in_errs += 1;
        self.stats.tcp_in_csum_errors += 1;
        log::debug!(target: LOG, "dropped a segment from {src}: bad checksum");
    }

    /// Copies an in-order payload into its connection's receive buffer ahead of
    /// verification, if it is one (see the module docs): the connection's index and the
    /// payload's sum.
    fn tcp_stage(
        &mut self,
        seg: &TcpRepr<'_>,
        local: &SocketAddr,
        remote: &SocketAddr,
    ) -> Option<(u32, u64)> {
        if seg.payload.is_empty() || seg.flags.intersects(TcpFlags::SYN | TcpFlags::RST) {
            return None;
        }
        let idx = self.tcp.lookup(local, remote)?;
        let conn = self.tcp.conn_at_mut(idx)?;
        // RFC 9293 3.10.7.4, seventh: text is taken in these states.
        let takes_text = matches!(
            conn.state(),
            State::Established | State::FinWait1 | State::FinWait2
        );
        if !takes_text || SeqNum(seg.seq_number) != conn.rcv_nxt {
            return None;
        }
        let sum = conn.recv_buf.stage(seg.payload)?;
        Some((idx, sum))
    }

    /// Forgets a staged copy (whether or not TCP took the segment).
    pub(super) fn tcp_unstage(&mut self, idx: u32) {
        if let Some(conn) = self.tcp.conn_at_mut(idx) {
            conn.recv_buf.unstage();
        }
    }

    /// Counts and logs a segment that could not be parsed: `TcpInErrs`, and
    /// `TcpInCsumErrors` too if its checksum fails (checked here, as the parse did not),
    /// so a flipped bit in the header's length or options still counts as what it is.
    pub(super) fn tcp_malformed(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        segment: &[u8],
        e: &crate::wire::Error,
    ) {
        self.stats.tcp_in_errs += 1;
        // Over the whole segment, whatever its header claims (a data offset beyond the
        // segment too): the checksum covers every byte (RFC 9293 3.1).
        let bad_sum = self.rx_offload.is_none()
            && !crate::wire::checksum::verify_transport_ip(
                src,
                dst,
                crate::wire::tcp::PROTOCOL,
                segment,
            );
        if bad_sum {
            self.stats.tcp_in_csum_errors += 1;
        }
        log::debug!(target: LOG, "dropped a segment from {src}: {e}");
    }
}
