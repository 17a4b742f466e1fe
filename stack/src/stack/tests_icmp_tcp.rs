//! Packet tests of ICMP errors other than "too big" reaching TCP connections
//! (`tcp/icmp_err.rs`): RFC 9293 3.9.2.2's hard and soft errors, RFC 5461 section 4's
//! soft treatment in synchronized states, and RFC 5927 4.1's sequence check.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr, Ipv6Cidr};
use crate::tcp::conn::ConnError;
use crate::tcp::layer::TcpHandle;
use crate::tcp::state::State;
use crate::tcp::Unreachable;
use crate::time::Duration;
use crate::wire::icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr, TimeExceeded};
use crate::wire::icmpv6::{self, Icmpv6Repr};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::ipv6::{next_header as nh, Ipv6Packet, Ipv6Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// A router on the path, the source of the ICMP messages.
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const ROUTER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 0xfe);
const FAR6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x99, 0, 0, 0, 0, 0, 1);
const T0: Instant = Instant::from_secs(10);

fn stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(5));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let cfg =
        InterfaceConfig::ip("tun0", cidr).with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    let i = s.add_interface(cfg);
    s.routes6_mut().add(crate::iface::Route6 {
        dest: "::/0".parse().unwrap(),
        gateway: Some(ROUTER6),
        iface: i,
    });
    (s, i)
}

fn ip4(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: proto,
        payload_len: payload.len(),
        ttl: 64,
        ident: 9,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut buf = vec![0u8; 20 + payload.len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[20..].copy_from_slice(payload);
    buf
}

/// An ICMP message from [`ROUTER`] about `sent`, quoting its first 28 bytes (RFC 792).
fn icmp4(repr: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut m = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut m[..]));
    ip4(ROUTER, US, IpProtocol::Icmp, &m)
}

fn unreachable4(sent: &[u8], reason: DstUnreachable) -> Vec<u8> {
    icmp4(&Icmpv4Repr::DstUnreachable {
        reason,
        next_hop_mtu: 0,
        data: &sent[..28],
    })
}

/// `sent` with its quoted sequence number replaced by `seq` (a forged quote).
fn with_seq(sent: &[u8], seq: u32) -> Vec<u8> {
    let mut f = sent.to_vec();
    f[24..28].copy_from_slice(&seq.to_be_bytes());
    f
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// A connect to the host's port 80: the handle and the SYN as sent.
fn connecting(s: &mut Stack) -> (TcpHandle, Vec<u8>) {
    let h = s
        .tcp_connect(T0, SocketAddrV4::new(HOST, 80), None)
        .unwrap();
    let mut out = drain(s);
    assert_eq!(out.len(), 1, "a SYN");
    (h, out.remove(0).frame)
}

fn state(s: &Stack, h: TcpHandle) -> State {
    s.tcp_conn(h).map_or(State::Closed, |c| c.state())
}

fn error(s: &Stack, h: TcpHandle) -> Option<ConnError> {
    s.tcp_conn(h).and_then(|c| c.error())
}

/// Runs the stack's timers until `h` closes or `limit` passes; returns when it closed.
fn run_until_closed(s: &mut Stack, h: TcpHandle, limit: Duration) -> Option<Instant> {
    let end = T0 + limit;
    while let Some(at) = s.poll_at() {
        if at > end {
            break;
        }
        s.handle_timeout(at);
        drain(s);
        if state(s, h) == State::Closed {
            return Some(at);
        }
    }
    None
}

/// RFC 9293 3.9.2.2 (SHLD-26): port unreachable is a hard error, and a connection not yet
/// synchronized is aborted at once; the application sees "connection refused", and the
/// failed attempt is counted (`TcpAttemptFails`).
#[test]
fn port_unreachable_aborts_a_connect() {
    let (mut s, i) = stack();
    let (h, syn) = connecting(&mut s);
    s.receive(T0, i, &unreachable4(&syn, DstUnreachable::PortUnreachable));
    assert_eq!(state(&s, h), State::Closed);
    assert_eq!(
        error(&s, h),
        Some(ConnError::Unreachable(Unreachable::Port))
    );
    let io = crate::socket::conn_error(error(&s, h).unwrap());
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(s.stats().tcp_attempt_fails, 1);
    // Protocol unreachable is the other hard error.
    let (h, syn) = connecting(&mut s);
    s.receive(T0, i, &unreachable4(&syn, DstUnreachable::ProtoUnreachable));
    assert_eq!(state(&s, h), State::Closed);
}

/// RFC 9293 3.9.2.2 (MUST-56, SHLD-25): host unreachable is a soft error: the connect
/// goes on (the SYN is retransmitted), and when it gives up the application is told
/// "host unreachable" rather than a bare time-out.
#[test]
fn host_unreachable_is_soft_and_reported_when_the_connect_gives_up() {
    let (mut s, i) = stack();
    let (h, syn) = connecting(&mut s);
    s.receive(T0, i, &unreachable4(&syn, DstUnreachable::HostUnreachable));
    assert_eq!(state(&s, h), State::SynSent);
    assert_eq!(error(&s, h), None);
    // The SYN is sent again after its RTO.
    let at = s.poll_at().expect("the SYN's retransmission timer");
    s.handle_timeout(at);
    let again = drain(&mut s);
    assert_eq!(again.len(), 1, "the SYN again");
    let closed = run_until_closed(&mut s, h, Duration::from_secs(600));
    assert!(closed.is_some(), "the connect gives up");
    assert_eq!(
        error(&s, h),
        Some(ConnError::Unreachable(Unreachable::Host))
    );
    let io = crate::socket::conn_error(error(&s, h).unwrap());
    assert_eq!(io.kind(), std::io::ErrorKind::HostUnreachable);
}

/// Without any ICMP error the same connect ends in a plain time-out (the control case).
#[test]
fn without_icmp_a_connect_times_out() {
    let (mut s, _) = stack();
    let (h, _) = connecting(&mut s);
    assert!(run_until_closed(&mut s, h, Duration::from_secs(600)).is_some());
    assert_eq!(error(&s, h), Some(ConnError::TimedOut));
}

/// RFC 5927 4.1: an error whose quoted sequence number is not in SND.UNA..SND.NXT is
/// ignored (a blind attacker guessing the 4-tuple cannot abort the connect) and counted
/// in `TcpExtOutOfWindowIcmps`.
#[test]
fn out_of_window_quote_is_ignored_and_counted() {
    let (mut s, i) = stack();
    let (h, syn) = connecting(&mut s);
    let iss = u32::from_be_bytes(syn[24..28].try_into().unwrap());
    let forged = with_seq(&syn, iss.wrapping_add(1_000_000));
    s.receive(
        T0,
        i,
        &unreachable4(&forged, DstUnreachable::PortUnreachable),
    );
    assert_eq!(state(&s, h), State::SynSent);
    assert_eq!(s.stats().tcp_out_of_window_icmps, 1);
    // Time exceeded quoting the real SYN is soft: nothing changes either.
    let te = icmp4(&Icmpv4Repr::TimeExceeded {
        reason: TimeExceeded::TtlExpired,
        data: &syn[..28],
    });
    s.receive(T0, i, &te);
    assert_eq!(state(&s, h), State::SynSent);
    assert_eq!(s.stats().tcp_out_of_window_icmps, 1);
}

/// A segment from the host's port 80 to our `port`.
fn from_host(port: u16, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let r = TcpRepr {
        src_port: 80,
        dst_port: port,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: 65_535,
        urgent_pointer: 0,
        max_seg_size: flags.contains(TcpFlags::SYN).then_some(1460),
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload,
    };
    let mut seg = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), HOST, US);
    ip4(HOST, US, IpProtocol::Tcp, &seg)
}

/// RFC 5461 section 4: in a synchronized state even a hard error is taken as soft: an
/// established connection survives a port unreachable about its data, keeps the error
/// for a later give-up, and forgets it when the peer acknowledges new data.
#[test]
fn established_connection_survives_port_unreachable() {
    let (mut s, i) = stack();
    let (h, syn) = connecting(&mut s);
    let port = u16::from_be_bytes([syn[20], syn[21]]);
    let iss = u32::from_be_bytes(syn[24..28].try_into().unwrap());
    s.receive(
        T0,
        i,
        &from_host(port, TcpFlags::SYN | TcpFlags::ACK, 7_000, iss + 1, b""),
    );
    drain(&mut s);
    assert_eq!(state(&s, h), State::Established);
    assert_eq!(s.tcp_send(T0, h, &[7u8; 100]).unwrap(), 100);
    let data = drain(&mut s).remove(0).frame;
    s.receive(T0, i, &unreachable4(&data, DstUnreachable::PortUnreachable));
    assert_eq!(state(&s, h), State::Established);
    assert_eq!(error(&s, h), None);
    assert_eq!(
        s.tcp_conn(h).unwrap().soft_error,
        Some(ConnError::Unreachable(Unreachable::Port))
    );
    // The peer acknowledges the data: the soft error is stale.
    s.receive(
        T0,
        i,
        &from_host(port, TcpFlags::ACK, 7_001, iss + 101, b""),
    );
    assert_eq!(s.tcp_conn(h).unwrap().soft_error, None);
}

/// RFC 4443 3.1 and RFC 5461 section 4 for IPv6: port unreachable (code 4) aborts a
/// connect; no route (code 0) is soft.
#[test]
fn icmpv6_port_unreachable_aborts_and_no_route_is_soft() {
    let (mut s, i) = stack();
    let dst = SocketAddr::new(FAR6.into(), 80);
    let connect6 = |s: &mut Stack| {
        let h = s.tcp_connect(T0, dst, None).unwrap();
        let mut out = drain(s);
        assert_eq!(out.len(), 1, "a SYN");
        (h, out.remove(0).frame)
    };
    let unreach6 = |sent: &[u8], reason: icmpv6::DstUnreachable| {
        let repr = Icmpv6Repr::DstUnreachable {
            reason,
            data: &sent[..60],
        };
        let mut m = vec![0u8; repr.buffer_len()];
        repr.emit(ROUTER6, US6, &mut m).unwrap();
        let ip = Ipv6Repr {
            src_addr: ROUTER6,
            dst_addr: US6,
            next_header: nh::ICMPV6,
            payload_len: m.len(),
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut b = vec![0u8; 40 + m.len()];
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut b[..])).unwrap();
        b[40..].copy_from_slice(&m);
        b
    };
    let (h, syn) = connect6(&mut s);
    s.receive(T0, i, &unreach6(&syn, icmpv6::DstUnreachable::NoRoute));
    assert_eq!(state(&s, h), State::SynSent);
    assert_eq!(
        s.tcp_conn(h).unwrap().soft_error,
        Some(ConnError::Unreachable(Unreachable::Network))
    );
    let (h, syn) = connect6(&mut s);
    s.receive(
        T0,
        i,
        &unreach6(&syn, icmpv6::DstUnreachable::PortUnreachable),
    );
    assert_eq!(state(&s, h), State::Closed);
    assert_eq!(
        error(&s, h),
        Some(ConnError::Unreachable(Unreachable::Port))
    );
}
