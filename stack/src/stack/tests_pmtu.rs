//! Packet tests of TCP path MTU discovery (`tcp/pmtu.rs`): DF on every segment, ICMP
//! "fragmentation needed" checked against the connection and acted on, the floor, the
//! raise timer; and a transfer through a router stack with a smaller far link.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr, Route};
use crate::tcp::layer::TcpHandle;
use crate::tcp::pmtu::PMTU_RAISE_AFTER;
use crate::time::Duration;
use crate::wire::icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// A router on the path, the source of the ICMP messages.
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);
const T0: Instant = Instant::from_secs(10);
const MSS: usize = 1460;
const PEER_ISN: u32 = 5_000;

fn stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(7));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    (s, i)
}

fn ip_packet(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: proto,
        payload_len: payload.len(),
        ttl: 64,
        ident: 9,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    let mut buf = vec![0u8; 20 + payload.len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[20..].copy_from_slice(payload);
    buf
}

/// A segment from the host's port 40000 to our port 9.
fn segment(flags: TcpFlags, seq: u32, ack: u32, syn: bool) -> Vec<u8> {
    let r = TcpRepr {
        src_port: 40_000,
        dst_port: 9,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: 65_535,
        urgent_pointer: 0,
        max_seg_size: syn.then_some(MSS as u16),
        window_scale: syn.then_some(7),
        sack_permitted: false,
        sack_ranges: [None; 4],
        timestamp: None,
        payload: &[],
    };
    let mut seg = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), HOST, US);
    ip_packet(HOST, US, IpProtocol::Tcp, &seg)
}

/// An ICMP fragmentation needed from [`ROUTER`] with next-hop MTU `mtu`, quoting the
/// first 28 bytes of `sent` (RFC 792: the header and 8 data bytes).
fn frag_needed(sent: &[u8], mtu: u16) -> Vec<u8> {
    let repr = Icmpv4Repr::DstUnreachable {
        reason: DstUnreachable::FragRequired,
        next_hop_mtu: mtu,
        data: &sent[..28],
    };
    let mut m = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut m[..]));
    ip_packet(ROUTER, US, IpProtocol::Icmp, &m)
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

/// The IP and TCP headers and payload length of an output frame.
#[track_caller]
fn parse_out(t: &Transmit) -> (Ipv4Repr, TcpRepr<'_>) {
    let ip = Ipv4Packet::new_checked(&t.frame[..]).unwrap();
    let ip = Ipv4Repr::parse(&ip).unwrap();
    let tcp = TcpRepr::parse(&TcpPacket::new_checked(&t.frame[20..]).unwrap(), US, HOST)
        .expect("a valid segment");
    (ip, tcp)
}

/// A connection accepted on port 9 (the peer's MSS 1460, no timestamps); returns it, our
/// ISN and the SYN-ACK frame.
fn established(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32, Transmit) {
    let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
    s.receive(T0, i, &segment(TcpFlags::SYN, PEER_ISN, 0, true));
    let mut out = drain(s);
    assert_eq!(out.len(), 1, "a SYN-ACK");
    let mut synack = out.remove(0);
    if synack.offload.needs_csum() {
        crate::wire::virtio::complete_checksum(&mut synack.frame, 20, 16).unwrap();
    }
    let iss = parse_out(&synack).1.seq_number;
    s.receive(
        T0,
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), false),
    );
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    (h, iss, synack)
}

/// An established connection with ten full segments in flight (the initial window).
fn in_flight(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32, Vec<Transmit>, Vec<u8>) {
    let (h, iss, _) = established(s, i);
    let data: Vec<u8> = (0..10 * MSS).map(|n| (n % 251) as u8).collect();
    assert_eq!(s.tcp_send(T0, h, &data), Ok(data.len()));
    let out = drain(s);
    assert_eq!(out.len(), 10, "the initial window");
    (h, iss, out, data)
}

/// RFC 1191 section 3: TCP segments leave with DF set, the handshake's and the data's.
#[test]
fn segments_leave_with_df_set() {
    let (mut s, i) = stack();
    let (_, _, synack) = established(&mut s, i);
    assert!(parse_out(&synack).0.dont_frag, "SYN-ACK with DF");
    let (mut s, i) = stack();
    let (_, _, out, _) = in_flight(&mut s, i);
    for t in &out {
        let (ip, tcp) = parse_out(t);
        assert!(ip.dont_frag, "data with DF");
        assert_eq!(tcp.payload.len(), MSS);
    }
}

/// RFC 1191 section 4, RFC 5927 4.1: a fragmentation needed quoting a segment in flight
/// (SND.UNA =< SEG.SEQ < SND.NXT) lowers the MSS to the next-hop MTU less 40; the flight
/// goes again at once in segments of the new size, carrying the same bytes, and cwnd and
/// ssthresh stay (RFC 8201 5.4: not a congestion signal; Linux's `tcp_simple_retransmit`).
#[test]
fn frag_needed_in_window_lowers_mss_and_resends_at_once_without_cwnd_cut() {
    let (mut s, i) = stack();
    let (h, iss, out, data) = in_flight(&mut s, i);
    let before = s.tcp_conn(h).unwrap().info();
    let retrans_before = s.stats().tcp_retrans_segs;
    s.receive(
        T0 + Duration::from_millis(2),
        i,
        &frag_needed(&out[3].frame, 1000),
    );
    assert_eq!(s.stats().icmp_in_frag_needed, 1);
    assert_eq!(s.stats().tcp_pmtu_lowered, 1);
    let after = s.tcp_conn(h).unwrap().info();
    assert_eq!(after.mss, 960);
    assert_eq!(after.pmtu, 1000);
    assert_eq!(after.cwnd, before.cwnd, "no congestion response");
    assert_eq!(after.ssthresh, before.ssthresh);
    let resent = drain(&mut s);
    // cwnd in bytes (14600) allows 15 segments of 960 at once; the 200-byte tail
    // waits for an ACK (Nagle).
    assert_eq!(resent.len(), 15, "the flight again, at once");
    let mut stream = Vec::new();
    for (k, t) in resent.iter().enumerate() {
        let (ip, tcp) = parse_out(t);
        assert!(ip.dont_frag);
        assert!(t.frame.len() <= 1000, "fits the path: {}", t.frame.len());
        assert_eq!(tcp.seq_number, iss + 1 + (k * 960) as u32);
        assert_eq!(tcp.payload.len(), 960);
        stream.extend_from_slice(tcp.payload);
    }
    assert_eq!(stream, data[..15 * 960]);
    assert_eq!(s.stats().tcp_retrans_segs - retrans_before, 15);
    // The acknowledgement of all of it lets the tail go, at the new size too.
    let acked = iss + 1 + (15 * 960) as u32;
    s.receive(
        T0 + Duration::from_millis(5),
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, acked, false),
    );
    let tail = drain(&mut s);
    assert_eq!(tail.len(), 1);
    assert_eq!(parse_out(&tail[0]).1.payload, &data[15 * 960..]);
    assert_eq!(s.tcp_conn(h).unwrap().info().stats.timeouts, 0);
}

/// With TSO (a device that segments), the flight leaves as one super-segment; a
/// fragmentation needed quoting it (a router quotes the super-segment's header as the
/// kernel forwards it) lowers the MSS, and the flight goes again as a super-segment the
/// device cuts into 960-byte segments (`gso_size`), DF set.
#[test]
fn frag_needed_with_tso_resends_with_the_smaller_gso_size() {
    let (mut s, i) = stack();
    s.set_offload(i, true);
    let (h, iss, _) = established(&mut s, i);
    s.tcp_send(T0, h, &vec![3u8; 10 * MSS]).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "one super-segment");
    assert_eq!(usize::from(out[0].offload.gso_size), MSS);
    s.receive(T0, i, &frag_needed(&out[0].frame, 1000));
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 960);
    let resent = drain(&mut s);
    assert_eq!(resent.len(), 1, "{resent:?}");
    assert_eq!(resent[0].offload.gso_size, 960);
    let ip = Ipv4Repr::parse(&Ipv4Packet::new_checked(&resent[0].frame[..]).unwrap()).unwrap();
    assert!(ip.dont_frag);
    let seq = u32::from_be_bytes(resent[0].frame[24..28].try_into().unwrap());
    assert_eq!(seq, iss + 1, "from SND.UNA");
    assert_eq!(
        (resent[0].frame.len() - 40) % 960,
        0,
        "whole 960-byte segments"
    );
}

/// RFC 5927 4.1: a fragmentation needed whose quoted sequence number is not in
/// SND.UNA..SND.NXT (below SND.UNA: already acknowledged; at or past SND.NXT: never
/// sent) is ignored and counted in TcpExtOutOfWindowIcmps, as Linux counts it; the MSS
/// stays and nothing is sent.
#[test]
fn forged_frag_needed_out_of_window_is_ignored_and_counted() {
    let (mut s, i) = stack();
    let (h, iss, out, _) = in_flight(&mut s, i);
    let snd_nxt = iss + 1 + (10 * MSS) as u32;
    for (n, seq) in [iss, snd_nxt, snd_nxt + 100_000, iss.wrapping_sub(7_000)]
        .into_iter()
        .enumerate()
    {
        s.receive(T0, i, &frag_needed(&with_seq(&out[0].frame, seq), 600));
        assert_eq!(s.stats().tcp_out_of_window_icmps, n as u64 + 1, "seq {seq}");
        assert!(drain(&mut s).is_empty(), "nothing resent");
        assert_eq!(s.tcp_conn(h).unwrap().info().mss, MSS);
    }
    assert_eq!(s.stats().icmp_in_frag_needed, 4);
    assert_eq!(s.stats().tcp_pmtu_lowered, 0);
    // A quote naming no connection (another port) is not ours to count.
    let mut other = out[0].frame.clone();
    other[22..24].copy_from_slice(&40_001u16.to_be_bytes());
    s.receive(T0, i, &frag_needed(&other, 600));
    assert_eq!(s.stats().tcp_out_of_window_icmps, 4);
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, MSS);
    // The last byte in flight is still in the window.
    s.receive(
        T0,
        i,
        &frag_needed(&with_seq(&out[0].frame, snd_nxt - 1), 1400),
    );
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 1360);
}

/// RFC 1191 section 3: a reported MTU not below the current estimate is ignored (the
/// estimate never goes up on a too-big message).
#[test]
fn larger_mtu_report_is_ignored() {
    let (mut s, i) = stack();
    let (h, _, out, _) = in_flight(&mut s, i);
    s.receive(T0, i, &frag_needed(&out[0].frame, 1500));
    s.receive(T0, i, &frag_needed(&out[0].frame, 9000));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.tcp_conn(h).unwrap().info().pmtu, 1500);
    s.receive(T0, i, &frag_needed(&out[0].frame, 1200));
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 1160);
    drain(&mut s);
    s.receive(T0, i, &frag_needed(&out[0].frame, 1400));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 1160);
    assert_eq!(s.stats().tcp_pmtu_lowered, 1);
}

/// RFC 1191 section 3 (never below 68) with tunstack's floor of 576: a report of 300
/// sets the path MTU to 576 (MSS 536) and the segments then go without DF, so a link
/// that small still carries them, fragmented (Linux locks the route MTU the same way).
#[test]
fn mtu_below_the_floor_is_clamped_and_df_cleared() {
    let (mut s, i) = stack();
    let (h, _, out, _) = in_flight(&mut s, i);
    s.receive(T0, i, &frag_needed(&out[0].frame, 300));
    let info = s.tcp_conn(h).unwrap().info();
    assert_eq!((info.pmtu, info.mss), (576, 536));
    let resent = drain(&mut s);
    assert!(!resent.is_empty());
    for t in &resent {
        let (ip, tcp) = parse_out(t);
        assert!(!ip.dont_frag, "no DF below the floor");
        assert!(tcp.payload.len() <= 536);
    }
}

/// RFC 1191 section 5: a router that reports next-hop MTU 0 (older than RFC 1191) gets
/// the plateau below the quoted datagram's length: 1500 -> 1492.
#[test]
fn zero_next_hop_mtu_takes_the_plateau_below() {
    let (mut s, i) = stack();
    let (h, _, out, _) = in_flight(&mut s, i);
    s.receive(T0, i, &frag_needed(&out[0].frame, 0));
    assert_eq!(s.tcp_conn(h).unwrap().info().pmtu, 1492);
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 1452);
}

/// RFC 1191 section 6.3: ten minutes after it was lowered, the estimate is the
/// interface's MTU again (and the send MSS with it); the core is woken for it.
#[test]
fn raise_timer_restores_the_mss_after_ten_minutes() {
    let (mut s, i) = stack();
    let (h, iss, out, _) = in_flight(&mut s, i);
    s.receive(T0, i, &frag_needed(&out[0].frame, 1000));
    drain(&mut s);
    // Everything acknowledged: the connection idles.
    let all = iss + 1 + (10 * MSS) as u32;
    s.receive(T0, i, &segment(TcpFlags::ACK, PEER_ISN + 1, all, false));
    drain(&mut s);
    let raise = T0 + PMTU_RAISE_AFTER;
    let mut now = T0;
    while let Some(at) = s.poll_at().filter(|&at| at < raise) {
        now = at.max(now);
        s.handle_timeout(now);
        drain(&mut s);
    }
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, 960);
    assert_eq!(s.poll_at(), Some(raise), "woken for the raise");
    s.handle_timeout(raise);
    let info = s.tcp_conn(h).unwrap().info();
    assert_eq!((info.pmtu, info.mss), (1500, MSS));
    assert_eq!(s.stats().tcp_pmtu_raised, 1);
    // New data goes at the full size again.
    s.tcp_send(raise, h, &[7u8; 2 * MSS]).unwrap();
    let out = drain(&mut s);
    assert_eq!(parse_out(&out[0]).1.payload.len(), MSS);
}

// ---------------------------------------------------------------- three stacks

/// Three stacks in virtual time: A (10.1.0.1) — router R — B (10.2.0.1), R's link to B
/// with MTU `far_mtu`. Frames go where their interface leads.
struct Line {
    a: Stack,
    r: Stack,
    b: Stack,
    now: Instant,
    /// ICMP from the router to A is dropped (a path that filters it: a black hole).
    drop_icmp: bool,
}

impl Line {
    fn new(far_mtu: usize) -> Line {
        let cidr = |s: &str| -> Ipv4Cidr { s.parse().unwrap() };
        let host = |addr: &str, gw: Ipv4Addr, seed: u64| {
            let mut s = Stack::new(StackConfig::default(), Rng::new(seed));
            let i = s.add_interface(InterfaceConfig::ip("eth0", cidr(addr)));
            s.routes_mut().add(Route {
                dest: cidr("0.0.0.0/0"),
                gateway: Some(gw),
                iface: i,
            });
            s
        };
        let mut r = Stack::new(
            StackConfig {
                forwarding: true,
                ..StackConfig::default()
            },
            Rng::new(3),
        );
        r.add_interface(InterfaceConfig::ip("a", cidr("10.1.0.2/24")));
        let mut far = InterfaceConfig::ip("b", cidr("10.2.0.2/24"));
        far.mtu = far_mtu;
        r.add_interface(far);
        Line {
            a: host("10.1.0.1/24", Ipv4Addr::new(10, 1, 0, 2), 1),
            r,
            b: host("10.2.0.1/24", Ipv4Addr::new(10, 2, 0, 2), 2),
            now: T0,
            drop_icmp: false,
        }
    }

    /// Moves every frame one hop (1 ms per hop), or runs the next timer; false when
    /// nothing is left to do.
    fn step(&mut self) -> bool {
        let mut moved = false;
        for (from, to_r) in [(0, true), (2, true), (1, false)] {
            let out = match from {
                0 => drain(&mut self.a),
                1 => drain(&mut self.r),
                _ => drain(&mut self.b),
            };
            for t in out {
                moved = true;
                let at = self.now;
                if to_r {
                    let iface = IfaceId(if from == 0 { 0 } else { 1 });
                    self.r.receive(at, iface, &t.frame);
                } else if t.iface == IfaceId(0) {
                    if self.drop_icmp && t.frame[9] == 1 {
                        continue;
                    }
                    self.a.receive(at, IfaceId(0), &t.frame);
                } else {
                    self.b.receive(at, IfaceId(0), &t.frame);
                }
            }
        }
        if moved {
            self.now += Duration::from_millis(1);
            return true;
        }
        let next = [self.a.poll_at(), self.r.poll_at(), self.b.poll_at()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(at) if at < self.now + Duration::from_secs(100) => {
                self.now = at.max(self.now);
                self.a.handle_timeout(self.now);
                self.r.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
                true
            }
            _ => false,
        }
    }
}

/// Sends 512 KiB from A to B's port 7; returns A's connection once B has it all, checked
/// byte for byte.
#[track_caller]
fn transfer(n: &mut Line) -> TcpHandle {
    let b_addr = Ipv4Addr::new(10, 2, 0, 1);
    let l = n.b.tcp_listen(SocketAddrV4::new(b_addr, 7), 4).unwrap();
    let ha =
        n.a.tcp_connect(n.now, SocketAddrV4::new(b_addr, 7), None)
            .unwrap();
    let data: Vec<u8> = (0..512 * 1024).map(|k| (k * 7 % 253) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut hb = None;
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..200_000 {
        if sent < data.len() {
            sent += n.a.tcp_send(n.now, ha, &data[sent..]).unwrap_or(0);
            if sent == data.len() {
                n.a.tcp_shutdown(n.now, ha).unwrap();
            }
        }
        if hb.is_none() {
            hb = n.b.tcp_accept(l).unwrap();
        }
        if let Some(h) = hb {
            while let Ok(k) = n.b.tcp_recv(n.now, h, &mut buf) {
                if k == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..k]);
            }
        }
        if got.len() == data.len() || !n.step() {
            break;
        }
    }
    assert_eq!(got.len(), data.len(), "the whole transfer arrived");
    assert!(got == data, "byte for byte");
    ha
}

/// The whole mechanism across a real hop: A sends 512 KiB to B through a router whose
/// far link has MTU 1000. A's full-sized DF segments are refused by the router with
/// fragmentation needed (RFC 1812 5.2.7.1, MTU 1000), A lowers its MSS to 960 and the
/// transfer completes byte for byte, with no fragment reaching B and no timeout at A.
#[test]
fn transfer_through_a_smaller_hop_adapts_and_completes() {
    let mut n = Line::new(1000);
    let ha = transfer(&mut n);
    assert!(n.a.stats().icmp_in_frag_needed >= 1);
    assert!(
        n.r.stats().ip_frag_fails >= 1,
        "the router refused DF datagrams"
    );
    assert_eq!(n.b.stats().ip_reasm_reqds, 0, "no fragments reached B");
    let info = n.a.tcp_conn(ha).unwrap().info();
    assert_eq!(info.pmtu, 1000);
    assert_eq!(info.mss, 960, "the path MTU less the IP and TCP headers");
    assert_eq!(
        info.stats.timeouts, 0,
        "adapted without waiting for a timeout"
    );
    assert_eq!(n.a.stats().tcp_pmtu_black_holes, 0);
}

/// RFC 4821 7.7 with 7.2's base: the same hop, but the ICMP messages never reach A (a
/// black hole). After three timeouts in a row A takes the path MTU to 1024, still too
/// big; after three more to 576 without DF, which fits, and the transfer completes.
/// With a far link of 1200, 1024 is enough: one step, no fragment at B.
#[test]
fn transfer_through_a_black_hole_falls_back_and_completes() {
    let mut n = Line::new(1000);
    n.drop_icmp = true;
    let ha = transfer(&mut n);
    assert_eq!(n.a.stats().icmp_in_frag_needed, 0, "no ICMP got through");
    assert_eq!(n.a.stats().tcp_pmtu_black_holes, 2);
    let info = n.a.tcp_conn(ha).unwrap().info();
    assert_eq!((info.pmtu, info.mss), (576, 536));
    assert!(info.stats.timeouts >= 6);

    let mut n = Line::new(1200);
    n.drop_icmp = true;
    let ha = transfer(&mut n);
    assert_eq!(n.a.stats().tcp_pmtu_black_holes, 1);
    assert_eq!(n.a.tcp_conn(ha).unwrap().info().pmtu, 1024);
    assert_eq!(n.b.stats().ip_reasm_reqds, 0, "DF kept, nothing fragmented");
}

/// Without black hole detection (`pmtu_black_hole_rtos` 0, as Linux's
/// `tcp_mtu_probing` 0), timeouts leave the segment size alone.
#[test]
fn black_hole_detection_can_be_turned_off() {
    let mut s = Stack::new(
        StackConfig {
            tcp: crate::tcp::TcpConfig {
                pmtu_black_hole_rtos: 0,
                ..crate::tcp::TcpConfig::default()
            },
            ..StackConfig::default()
        },
        Rng::new(7),
    );
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    let (h, _, _, _) = in_flight(&mut s, i);
    run_timeouts(&mut s, 4);
    assert_eq!(s.tcp_conn(h).unwrap().info().mss, MSS);
    assert_eq!(s.stats().tcp_pmtu_black_holes, 0);
}

/// Runs the stack's timers until `rtos` retransmission timeouts have happened; returns
/// the payload length of each retransmission at SND.UNA, in order.
fn run_timeouts(s: &mut Stack, rtos: u64) -> Vec<usize> {
    let mut sizes = Vec::new();
    let start = s.stats().tcp_timeouts;
    while s.stats().tcp_timeouts - start < rtos {
        let at = s.poll_at().expect("a timer");
        let before = s.stats().tcp_timeouts;
        s.handle_timeout(at);
        let out = drain(s);
        if s.stats().tcp_timeouts > before {
            sizes.push(out.first().map_or(0, |t| parse_out(t).1.payload.len()));
        }
    }
    sizes
}

/// RFC 4821 7.7: the third timeout in a row of a full-sized segment, with no full-sized
/// segment ever acknowledged, takes the path MTU to 1024 (7.2) and the retransmission it
/// sends is cut to fit; the first two go at the full size. Counted in TcpPmtuBlackHoles.
#[test]
fn third_timeout_of_a_full_segment_lowers_the_path_mtu() {
    let (mut s, i) = stack();
    let (h, _, _, _) = in_flight(&mut s, i);
    let sizes = run_timeouts(&mut s, 3);
    assert_eq!(sizes, [MSS, MSS, 984]);
    let info = s.tcp_conn(h).unwrap().info();
    assert_eq!((info.pmtu, info.mss), (1024, 984));
    assert_eq!(s.stats().tcp_pmtu_black_holes, 1);
    // A small segment lost three times is no black hole.
    let (mut s, i) = stack();
    let (h, _, _) = established(&mut s, i);
    s.tcp_send(T0, h, b"small").unwrap();
    drain(&mut s);
    run_timeouts(&mut s, 3);
    assert_eq!(s.tcp_conn(h).unwrap().info().pmtu, 1500);
    assert_eq!(s.stats().tcp_pmtu_black_holes, 0);
    // Nor is a run of timeouts after a full-sized segment got through (RFC 4821 7.8:
    // the path carried this size): that is loss, as on a lossy link.
    let (mut s, i) = stack();
    let (h, iss, _, _) = in_flight(&mut s, i);
    let first = iss + 1 + MSS as u32;
    s.receive(T0, i, &segment(TcpFlags::ACK, PEER_ISN + 1, first, false));
    drain(&mut s);
    let sizes = run_timeouts(&mut s, 6);
    assert!(sizes.iter().all(|&n| n == MSS), "{sizes:?}");
    assert_eq!(s.tcp_conn(h).unwrap().info().pmtu, 1500);
    assert_eq!(s.stats().tcp_pmtu_black_holes, 0);
}

/// The resent flight is traced with its own cause, `pmtu` (docs/TRACE.md), so a trace
/// does not blame the retransmissions on loss.
#[test]
fn resent_flight_is_traced_as_pmtu() {
    use crate::tcp::trace::{Cause, TraceEvent};
    let mut s = Stack::new(
        StackConfig {
            tcp: crate::tcp::TcpConfig {
                trace_events: 256,
                ..crate::tcp::TcpConfig::default()
            },
            ..StackConfig::default()
        },
        Rng::new(7),
    );
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    let (_, _, out, _) = in_flight(&mut s, i);
    s.receive(T0, i, &frag_needed(&out[0].frame, 1000));
    let resent = drain(&mut s);
    assert_eq!(resent.len(), 15);
    // Wire payload: after the IPv4 header (20) and the TCP header (data offset).
    let wire: u32 = resent
        .iter()
        .map(|t| (t.frame.len() - 20 - usize::from(t.frame[32] >> 4) * 4) as u32)
        .sum();
    // Each send is traced once, a super-segment (software GSO) as one event with its
    // length: every one of them is a `pmtu` retransmission, and together they are the
    // bytes of the 15 wire segments.
    let sends: Vec<(Option<Cause>, u32)> = s
        .tcp_take_traces()
        .iter()
        .flat_map(|c| c.events.iter())
        .filter_map(|e| match e.event {
            TraceEvent::Send {
                retransmit, len, ..
            } if retransmit.is_some() => Some((retransmit, len)),
            _ => None,
        })
        .collect();
    assert!(
        sends.iter().all(|&(c, _)| c == Some(Cause::Pmtu)),
        "{sends:?}"
    );
    assert_eq!(sends.iter().map(|&(_, l)| l).sum::<u32>(), wire);
}
