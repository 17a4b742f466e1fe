//! TCP's side of ICMP "fragmentation needed" (RFC 1191 section 4) in the core: the
//! quoted datagram names the connection, and `tcp/pmtu.rs` decides.
//!
//! IPv6 "packet too big" (RFC 8201 section 4) takes the same road once TCP runs over
//! IPv6: `icmp6.rs` parses the quoted IPv6 header and the first 8 bytes of TCP, finds the
//! connection the same way, and calls [`Stack::tcp_too_big`] with the reported MTU (a
//! `u32` there) and the quoted payload length plus 40.

use std::net::SocketAddrV4;

use super::Stack;
use crate::tcp::SeqNum;
use crate::time::Instant;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet};

const LOG: &str = "tunstack::tcp";

impl Stack {
    /// An ICMP destination unreachable, code 4 (fragmentation needed and DF set), with
    /// next-hop MTU `mtu` (0 from routers older than RFC 1191, section 5), quoting
    /// `quote`: the IP header of a datagram we sent and at least 8 bytes of its payload
    /// (RFC 792). Anything else in the quote (not TCP, too short, no such connection) is
    /// ignored.
    pub(super) fn tcp_icmp_frag_needed(&mut self, now: Instant, quote: &[u8], mtu: u16) {
        let Ok(ip) = Ipv4Packet::new_checked_header(quote) else {
            return;
        };
        if ip.protocol() != IpProtocol::Tcp {
            return;
        }
        let Some(h) = ip.payload().get(..8) else {
            return;
        };
        let local = SocketAddrV4::new(ip.src_addr(), u16::from_be_bytes([h[0], h[1]]));
        let remote = SocketAddrV4::new(ip.dst_addr(), u16::from_be_bytes([h[2], h[3]]));
        let seq = SeqNum(u32::from_be_bytes([h[4], h[5], h[6], h[7]]));
        let quoted_len = usize::from(ip.total_len());
        self.tcp_too_big(now, local, remote, seq, usize::from(mtu), quoted_len);
    }

    /// A too-big message about the segment `local` -> `remote` with sequence number
    /// `seq`, reporting `mtu`, quoting a datagram of `quoted_len` bytes. The quoted
    /// addresses and ports must name a connection (RFC 1122 3.2.2: an error goes to the
    /// transport that sent the datagram); the checks of RFC 5927 4.1 and the rest are
    /// [`Connection::on_icmp_too_big`](crate::tcp::Connection::on_icmp_too_big)'s. A
    /// lowered estimate resends what is in flight at once.
    pub(super) fn tcp_too_big(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seq: SeqNum,
        mtu: usize,
        quoted_len: usize,
    ) {
        let Some(idx) = self.tcp.lookup(local, remote) else {
            log::debug!(target: LOG, "too-big message for no connection {local} -> {remote}");
            return;
        };
        let Some(conn) = self.tcp.slots[idx as usize].conn.as_mut() else {
            return;
        };
        match conn.on_icmp_too_big(seq, mtu, quoted_len, now, &mut self.stats) {
            Ok(_) => {
                self.tcp.mark_dirty(idx);
                self.tcp.reschedule(idx);
                self.tcp_flush(now);
            }
            Err(why) => {
                log::trace!(target: LOG, "too-big message ({mtu}) for {local} -> {remote} ignored: {why:?}");
            }
        }
    }
}
