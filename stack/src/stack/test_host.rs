//! What the stack's packet tests share: the host at 10.77.0.1 talking to us at
//! 10.77.0.2, and TCP segments from its port 40000 to our port 9 as whole IPv4 packets.

use std::net::Ipv4Addr;

use super::{Stack, Transmit};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

pub(super) const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
pub(super) const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

/// A segment from the host's port 40000 to our port 9: window 65,535, no options.
pub(super) fn host_repr(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr {
        src_port: 40_000,
        dst_port: 9,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: 65_535,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload,
    }
}

/// `r` in an IPv4 packet from the host to us (TTL 64, DF), checksums complete.
pub(super) fn host_packet(r: &TcpRepr<'_>) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: HOST,
        dst_addr: US,
        protocol: IpProtocol::Tcp,
        payload_len: r.buffer_len(),
        ttl: 64,
        ident: 7,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut buf = vec![0u8; 20 + r.buffer_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    r.emit(&mut TcpPacket::new_unchecked(&mut buf[20..]), HOST, US);
    buf
}

/// Everything the stack has to send.
pub(super) fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}
