//! What the stack's packet tests share: the host at 10.77.0.1 talking to us at
//! 10.77.0.2, and TCP segments from its port 40000 to our port 9 as whole IPv4 packets.

use std::net::Ipv4Addr;

use std::net::SocketAddrV4;

use super::{IfaceId, Stack, StackConfig, Transmit};
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::tcp::layer::TcpHandle;
use crate::time::Instant;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpTimestamp};

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

/// The time the packet tests run at.
pub(super) const T0: Instant = Instant::from_secs(10);

/// The host's ISN in the packet tests.
pub(super) const PEER_ISN: u32 = 1_000;

/// A stack at 10.77.0.2/24 on a TUN interface.
pub(super) fn stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), crate::rand::Rng::new(1));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    (s, i)
}

/// A segment from the host's port 40000 to our port 9 as an IPv4 packet (an MSS option
/// of 1460 on a SYN), checksums complete.
pub(super) fn segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    host_packet(&TcpRepr {
        max_seg_size: flags.contains(TcpFlags::SYN).then_some(1460),
        ..host_repr(flags, seq, ack, payload)
    })
}

/// A connection accepted on port 9 (no options but the MSS); returns it and our ISN.
pub(super) fn established(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32) {
    let (h, iss, _) = established_with(s, i, false);
    (h, iss)
}

/// A connection accepted on port 9; with `opts`, window scaling, SACK and timestamps
/// too (the host's TSval 100). Returns it, our ISN and our SYN-ACK's TSval (0 without
/// timestamps).
pub(super) fn established_with(s: &mut Stack, i: IfaceId, opts: bool) -> (TcpHandle, u32, u32) {
    let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
    let ts = |tsval, tsecr| opts.then_some(TcpTimestamp { tsval, tsecr });
    let syn = host_packet(&TcpRepr {
        max_seg_size: Some(1460),
        window_scale: opts.then_some(7),
        sack_permitted: opts,
        timestamp: ts(100, 0),
        ..host_repr(TcpFlags::SYN, PEER_ISN, 0, &[])
    });
    s.receive(T0, i, &syn);
    let out = drain(s);
    let synack = TcpRepr::parse(
        &TcpPacket::new_checked(&out[0].frame[20..]).unwrap(),
        US,
        HOST,
    )
    .expect("a SYN-ACK");
    let iss = synack.seq_number;
    let our_ts = synack.timestamp.map_or(0, |t| t.tsval);
    let ack = host_packet(&TcpRepr {
        timestamp: ts(100, our_ts),
        ..host_repr(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), &[])
    });
    s.receive(T0, i, &ack);
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    (h, iss, our_ts)
}

/// The stream's bytes `range` (a pattern that shows misplaced bytes).
pub(super) fn data(range: core::ops::Range<usize>) -> Vec<u8> {
    range.map(|n| (n * 7 % 251) as u8).collect()
}
