//! TCP's side of ICMP errors in the core: the quoted datagram names the connection.
//! "Fragmentation needed" (RFC 1191 section 4) and ICMPv6 "packet too big" (RFC 8201
//! section 4) go to `tcp/pmtu.rs`; the other errors (unreachable, time exceeded,
//! parameter problem) to `tcp/icmp_err.rs`, which sorts them into soft and hard ones
//! (RFC 9293 3.9.2.2, RFC 5461). Both IP versions end in [`Stack::tcp_too_big`]; a
//! connection over IPv6 has its [`PathMtu`](crate::tcp::pmtu::PathMtu) made with IPv6's
//! rules (floor 1280, reports below it discarded, no DF bit).

use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use super::Stack;
use crate::tcp::icmp_err::Unreachable;
use crate::tcp::SeqNum;
use crate::time::Instant;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet};
use crate::wire::ipv6::{next_header as nh, Ipv6Packet};

const LOG: &str = "tunstack::tcp";

/// What a too-big message's quote says about the segment it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct QuotedSegment {
    /// Our end (the quoted source).
    pub local: SocketAddr,
    /// The peer (the quoted destination).
    pub remote: SocketAddr,
    /// The quoted sequence number.
    pub seq: SeqNum,
    /// The quoted datagram's total length, header included.
    pub len: usize,
}

/// The TCP segment an ICMP error quotes: its IPv4 header and at least the first 8 bytes
/// of TCP (RFC 792), which hold the ports and the sequence number. `None` for anything
/// else (not TCP, too short, not a first fragment's header).
pub(super) fn quoted_tcp4(quote: &[u8]) -> Option<QuotedSegment> {
    let ip = Ipv4Packet::new_checked_header(quote).ok()?;
    if ip.protocol() != IpProtocol::Tcp || ip.frag_offset() != 0 {
        return None;
    }
    let h = ip.payload().get(..8)?;
    Some(QuotedSegment {
        local: SocketAddrV4::new(ip.src_addr(), u16::from_be_bytes([h[0], h[1]])).into(),
        remote: SocketAddrV4::new(ip.dst_addr(), u16::from_be_bytes([h[2], h[3]])).into(),
        seq: SeqNum(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
        len: usize::from(ip.total_len()),
    })
}

/// The TCP segment an ICMPv6 error quotes (RFC 4443 3.2: as much of the packet as fits):
/// the fixed IPv6 header directly followed by TCP (tunstack's segments carry no
/// extension headers), at least its first 8 bytes.
pub(super) fn quoted_tcp6(quote: &[u8]) -> Option<QuotedSegment> {
    let ip = Ipv6Packet::new_checked_header(quote).ok()?;
    if ip.next_header() != nh::TCP {
        return None;
    }
    let h = ip.payload().get(..8)?;
    let port = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    Some(QuotedSegment {
        local: SocketAddrV6::new(ip.src_addr(), port(0), 0, 0).into(),
        remote: SocketAddrV6::new(ip.dst_addr(), port(2), 0, 0).into(),
        seq: SeqNum(u32::from_be_bytes([h[4], h[5], h[6], h[7]])),
        len: 40 + usize::from(ip.payload_len()),
    })
}

impl Stack {
    /// An ICMP destination unreachable, code 4 (fragmentation needed and DF set), with
    /// next-hop MTU `mtu` (0 from routers older than RFC 1191, section 5), quoting
    /// `quote`.
    pub(super) fn tcp_icmp_frag_needed(&mut self, now: Instant, quote: &[u8], mtu: u16) {
        if let Some(q) = quoted_tcp4(quote) {
            self.tcp_too_big(now, q, usize::from(mtu));
        }
    }

    /// An ICMPv6 Packet Too Big (RFC 8201 section 4) reporting `mtu`, quoting `quote`.
    pub(super) fn tcp_icmp6_packet_too_big(&mut self, now: Instant, quote: &[u8], mtu: u32) {
        if let Some(q) = quoted_tcp6(quote) {
            self.tcp_too_big(now, q, usize::try_from(mtu).unwrap_or(usize::MAX));
        }
    }

    /// An ICMP error other than "too big", about the quoted TCP segment `q`: `what` the
    /// application would be told, `hard` for a hard error (RFC 9293 3.9.2.2; the callers
    /// in `icmp.rs` and `icmp6.rs` sort the codes). The rest is
    /// [`Connection::on_icmp_error`](crate::tcp::Connection::on_icmp_error)'s.
    pub(super) fn tcp_icmp_error(
        &mut self,
        now: Instant,
        q: QuotedSegment,
        what: Unreachable,
        hard: bool,
    ) {
        self.tcp_quoted(now, q, |c, stats| {
            c.on_icmp_error(q.seq, what, hard, now, stats)
        });
    }

    /// A too-big message reporting `mtu` about the quoted segment; the checks of RFC 5927
    /// 4.1 and the rest are
    /// [`Connection::on_icmp_too_big`](crate::tcp::Connection::on_icmp_too_big)'s. A
    /// lowered estimate resends what is in flight at once.
    pub(super) fn tcp_too_big(&mut self, now: Instant, q: QuotedSegment, mtu: usize) {
        self.tcp_quoted(now, q, |c, stats| {
            c.on_icmp_too_big(q.seq, mtu, q.len, now, stats)
        });
    }

    /// Hands an ICMP message about the quoted segment `q` to the connection its addresses
    /// and ports name (RFC 1122 3.2.2: an error goes to the transport that sent the
    /// datagram), if any; when `take` acts on it, the connection's changes (a resend, an
    /// abort that wakes its waiters) go out.
    fn tcp_quoted<T, E: std::fmt::Debug>(
        &mut self,
        now: Instant,
        q: QuotedSegment,
        take: impl FnOnce(&mut crate::tcp::Connection, &mut crate::stats::Stats) -> Result<T, E>,
    ) {
        let Some(idx) = self.tcp.lookup(&q.local, &q.remote) else {
            log::trace!(target: LOG, "ICMP message for no connection {} -> {}", q.local, q.remote);
            return;
        };
        let Some(conn) = self.tcp.slots[idx as usize].conn.as_mut() else {
            return;
        };
        match take(conn, &mut self.stats) {
            Ok(_) => {
                self.tcp.mark_dirty(idx);
                self.tcp.reschedule(idx);
                self.tcp_flush(now);
            }
            Err(why) => {
                log::trace!(target: LOG, "ICMP message for {} -> {} ignored: {why:?}", q.local, q.remote);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header (IHL 5) for a TCP datagram of `total` bytes, then `tcp`.
    fn v4(total: u16, proto: u8, frag: u16, tcp: &[u8]) -> Vec<u8> {
        let mut q = vec![0u8; 20];
        q[0] = 0x45;
        q[2..4].copy_from_slice(&total.to_be_bytes());
        q[6..8].copy_from_slice(&frag.to_be_bytes());
        q[8] = 64;
        q[9] = proto;
        q[12..16].copy_from_slice(&[10, 77, 0, 2]);
        q[16..20].copy_from_slice(&[10, 88, 0, 2]);
        q.extend_from_slice(tcp);
        q
    }

    const TCP8: [u8; 8] = [0, 7, 0x9c, 0xbb, 1, 2, 3, 4];

    /// RFC 792: the header and 8 bytes of the datagram name the segment; anything less,
    /// another protocol or a later fragment names none, and no input panics.
    #[test]
    fn quoted_tcp4_reads_ports_seq_and_length() {
        let q = quoted_tcp4(&v4(1500, 6, 0x4000, &TCP8)).unwrap();
        assert_eq!(q.local, "10.77.0.2:7".parse().unwrap());
        assert_eq!(q.remote, "10.88.0.2:40123".parse().unwrap());
        assert_eq!(q.seq, SeqNum(0x0102_0304));
        assert_eq!(q.len, 1500);
        assert_eq!(quoted_tcp4(&v4(1500, 6, 0, &TCP8[..7])), None);
        assert_eq!(quoted_tcp4(&v4(1500, 17, 0, &TCP8)), None);
        assert_eq!(quoted_tcp4(&v4(1500, 6, 0x0010, &TCP8)), None);
        let whole = v4(1500, 6, 0, &TCP8);
        for n in 0..whole.len() {
            let _ = quoted_tcp4(&whole[..n]);
        }
    }

    /// RFC 4443 3.2's quote of an IPv6 TCP segment: the fixed header, then TCP.
    #[test]
    fn quoted_tcp6_reads_ports_seq_and_length() {
        let mut q = vec![0u8; 40];
        q[0] = 0x60;
        q[4..6].copy_from_slice(&1440u16.to_be_bytes());
        q[6] = 6;
        q[7] = 64;
        q[8..24].copy_from_slice(&"fd00:77::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
        q[24..40].copy_from_slice(&"fd00:88::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
        q.extend_from_slice(&TCP8);
        let s = quoted_tcp6(&q).unwrap();
        assert_eq!(s.local, "[fd00:77::2]:7".parse().unwrap());
        assert_eq!(s.remote, "[fd00:88::2]:40123".parse().unwrap());
        assert_eq!(s.seq, SeqNum(0x0102_0304));
        assert_eq!(s.len, 1480);
        for n in 0..q.len() {
            assert_eq!(quoted_tcp6(&q[..n]), None, "{n} bytes");
        }
        q[6] = 17;
        assert_eq!(quoted_tcp6(&q), None);
    }
}
