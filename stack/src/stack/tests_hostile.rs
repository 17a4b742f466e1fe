//! Hostile input to the whole core: random and mutated frames fed to a stack that has a
//! listener, an established connection, fragments in reassembly and a UDP socket, with
//! time moving on, through the offload path too (random and mutated virtio-net headers,
//! TCP super-segments of both families), and TCP and UDP over IPv6 beside them; the
//! offload path on an Ethernet (TAP) interface too.
//! Nothing may panic, and the bounds must hold.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use proptest::prelude::*;

use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::time::Duration;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);

/// A TCP segment or UDP datagram (`next` 6 or 17, checksummed) from PEER6 over IPv6.
fn ip6(next: u8, upper: &[u8]) -> Vec<u8> {
    let mut upper = upper.to_vec();
    if next == 6 {
        TcpPacket::new_unchecked(&mut upper[..]).fill_checksum(PEER6, US6);
    } else {
        crate::wire::udp::UdpPacket::new_unchecked(&mut upper[..]).fill_checksum(PEER6, US6);
    }
    let repr = crate::wire::ipv6::Ipv6Repr {
        src_addr: PEER6,
        dst_addr: US6,
        next_header: next,
        payload_len: upper.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut buf = vec![0u8; 40 + upper.len()];
    repr.emit(&mut crate::wire::ipv6::Ipv6Packet::new_unchecked(
        &mut buf[..],
    ))
    .unwrap();
    buf[40..].copy_from_slice(&upper);
    buf
}

/// [`tcp`] over IPv6.
fn tcp6(flags: TcpFlags, seq: u32, data: &[u8]) -> Vec<u8> {
    let v4 = tcp(flags, seq, 0, 80, data);
    ip6(6, &v4[20..])
}

fn ip(proto: IpProtocol, payload: &[u8], mf: bool, off: u16) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: PEER,
        dst_addr: US,
        protocol: proto,
        payload_len: payload.len(),
        ttl: 64,
        ident: 7,
        dont_frag: false,
        more_frags: mf,
        frag_offset: off,
        tos: 0,
    };
    let mut buf = vec![0u8; 20 + payload.len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[20..].copy_from_slice(payload);
    buf
}

fn tcp(flags: TcpFlags, seq: u32, ack: u32, dport: u16, data: &[u8]) -> Vec<u8> {
    let r = TcpRepr {
        src_port: 40_000,
        dst_port: dport,
        flags,
        seq_number: seq,
        ack_number: ack,
        window_len: 1000,
        max_seg_size: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        payload: data,
        ..TcpRepr::default()
    };
    let mut seg = vec![0u8; r.buffer_len()];
    r.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), PEER, US);
    ip(IpProtocol::Tcp, &seg, false, 0)
}

/// Real-looking frames to mutate: a SYN to the listener, data to it, a fragment, UDP.
fn templates() -> Vec<Vec<u8>> {
    vec![
        tcp(TcpFlags::SYN, 1000, 0, 80, b""),
        tcp(
            TcpFlags::ACK | TcpFlags::PSH,
            1001,
            0,
            80,
            b"GET / HTTP/1.1\r\n\r\n",
        ),
        tcp(TcpFlags::FIN | TcpFlags::ACK, 1001, 0, 80, b""),
        tcp(TcpFlags::RST, 1001, 0, 80, b""),
        ip(
            IpProtocol::Icmp,
            &[8, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8],
            true,
            0,
        ),
        ip(
            IpProtocol::Udp,
            &[0x9c, 0x40, 0, 53, 0, 12, 0, 0, b'q', b'u', b'e', b'r'],
            false,
            0,
        ),
        ip(IpProtocol::Unknown(99), &[0; 40], false, 1480),
        // A super-segment's worth of data (with a TSO header, below).
        tcp(TcpFlags::ACK, 1001, 0, 80, &[0x5a; 8 * 1460]),
        // Over IPv6: a SYN, data, a FIN to the listener; a query to the UDP socket.
        tcp6(TcpFlags::SYN, 5000, b""),
        tcp6(
            TcpFlags::ACK | TcpFlags::PSH,
            5001,
            b"GET / HTTP/1.1\r\n\r\n",
        ),
        tcp6(TcpFlags::FIN | TcpFlags::ACK, 5001, b""),
        ip6(
            17,
            &[0x9c, 0x40, 0, 53, 0, 12, 0, 0, b'q', b'u', b'e', b'r'],
        ),
        // A TCPV6 super-segment's worth of data (with a TCPV6 header, below).
        tcp6(TcpFlags::ACK, 5001, &[0xa5; 8 * 1440]),
    ]
}

/// Virtio-net headers to go with the frames: none, what the kernel sends with a TCP
/// super-segment or a partial checksum, and those mutated or random.
fn headers() -> impl Strategy<Value = VirtioNetHdr> {
    let tso = VirtioNetHdr::tcp4_tso(0, 20, 40, 1460).to_bytes();
    let csum = VirtioNetHdr {
        gso_type: crate::wire::virtio::GsoType::None,
        gso_size: 0,
        ..VirtioNetHdr::tcp4_tso(0, 20, 40, 0)
    }
    .to_bytes();
    let tso6 = VirtioNetHdr::tcp6_tso(0, 40, 24, 1440);
    prop_oneof![
        3 => Just(VirtioNetHdr::NONE),
        2 => Just(VirtioNetHdr::parse(&tso).unwrap()),
        2 => Just(tso6),
        1 => Just(VirtioNetHdr::parse(&csum).unwrap()),
        2 => (proptest::bool::ANY, proptest::collection::vec((0usize..10, any::<u8>()), 1..4))
            .prop_map(move |(t, muts)| {
                let mut b = if t { tso } else { csum };
                for (at, v) in muts {
                    b[at] = v;
                }
                VirtioNetHdr::parse(&b).unwrap_or(VirtioNetHdr::NONE)
            }),
    ]
}

fn hostile() -> impl Strategy<Value = Vec<(Vec<u8>, VirtioNetHdr)>> {
    let t = templates();
    let one = (
        0..t.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        any::<u16>(),
    )
        .prop_map(move |(i, muts, cut)| {
            let mut f = t[i].clone();
            for (at, v) in muts {
                let n = f.len();
                f[at % n] = v;
            }
            // Half the time cut the frame short somewhere.
            if cut & 1 == 1 {
                f.truncate(usize::from(cut >> 1) % (f.len() + 1));
            }
            f
        });
    let random = proptest::collection::vec(any::<u8>(), 0..120);
    proptest::collection::vec((prop_oneof![4 => one, 1 => random], headers()), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]

    #[test]
    fn the_core_survives_hostile_frames(frames in hostile()) {
        let mut s = Stack::new(StackConfig::default(), crate::rand::Rng::new(3));
        let cfg = InterfaceConfig::ip("tun0", Ipv4Cidr::new(US, 24).unwrap())
            .with_ipv6(crate::iface::Ipv6Cidr::new(US6, 64).unwrap());
        let i = s.add_interface(cfg);
        s.set_offload(i, true);
        let l = s.tcp_listen(SocketAddrV4::new(US, 80), 4).unwrap();
        let u = s.udp_bind(SocketAddrV4::new(US, 53)).unwrap();
        let l6 = s.tcp_listen(SocketAddr::new(US6.into(), 80), 4).unwrap();
        let u6 = s.udp_bind(SocketAddr::new(US6.into(), 53)).unwrap();
        let mut now = Instant::from_secs(1);
        // One frame at a time, or in batches of two to four (`receive_batch`, which
        // merges runs of in-order TCP segments), as the frames' count picks.
        let per = 1 + frames.len() % 4;
        for chunk in frames.chunks(per) {
            s.receive_batch(now, chunk.iter().map(|(f, hdr)| (i, &f[..], *hdr)));
            while let Some(t) = s.poll_transmit() {
                // What the stack hands a device always fits its header.
                let fits = crate::link::wire_frames(0, &t.frame, &t.offload, &mut |_| {});
                prop_assert!(fits.is_ok(), "{:?} for {:?}", fits, t.offload);
            }
            now += Duration::from_millis(37);
            if s.poll_at().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
            let _ = s.tcp_accept(l);
            let _ = s.udp_recv(u);
            let _ = s.tcp_accept(l6);
            let _ = s.udp_recv(u6);
        }
        // Time runs out on everything: reassembly, handshakes, TIME-WAIT.
        for _ in 0..400 {
            match s.poll_at() {
                Some(t) => {
                    now = now.max(t) + Duration::from_millis(1);
                    s.handle_timeout(now);
                    while s.poll_transmit().is_some() {}
                }
                None => break,
            }
        }
        prop_assert!(s.reasm.bytes_held() <= s.config.reassembly.max_bytes);
        prop_assert!(s.tcp.live <= s.tcp.cfg.max_connections);
        // The TIME-WAIT count is exact and within its bound.
        let in_tw = s.tcp.slots.iter().filter(|x| x.in_time_wait).count();
        prop_assert_eq!(s.tcp.time_wait, in_tw);
        prop_assert!(s.tcp.time_wait <= s.tcp.cfg.max_time_wait.max(1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// The same frames on an Ethernet (TAP) interface whose device offloads: each behind
    /// an Ethernet header (the type from the IP version, or a random one), its header
    /// moved behind the link header, or left as the TUN path would have it (then it does
    /// not fit). The peer's address is resolved first, so answers leave at once; what
    /// the stack hands the device always fits its header with 14 bytes of link header.
    #[test]
    fn the_core_survives_hostile_frames_on_ethernet(
        frames in hostile(),
        shift in any::<u64>(),
        kinds in any::<u64>(),
    ) {
        use crate::wire::ethernet::{EtherType, EthernetAddress, HEADER_LEN};
        const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
        const PEER_MAC: EthernetAddress = EthernetAddress([0x0a, 0, 0, 0, 0, 1]);
        let mut s = Stack::new(StackConfig::default(), crate::rand::Rng::new(3));
        let cfg = InterfaceConfig::ethernet("tap0", Ipv4Cidr::new(US, 24).unwrap(), Some(MAC))
            .with_ipv6(crate::iface::Ipv6Cidr::new(US6, 64).unwrap());
        let i = s.add_interface(cfg);
        s.set_offload(i, true);
        let l = s.tcp_listen(SocketAddrV4::new(US, 80), 4).unwrap();
        let l6 = s.tcp_listen(SocketAddr::new(US6.into(), 80), 4).unwrap();
        let mut now = Instant::from_secs(1);
        let reply = crate::wire::arp::ArpRepr {
            operation: crate::wire::arp::ArpOperation::Reply,
            source_hardware_addr: PEER_MAC,
            source_protocol_addr: PEER,
            target_hardware_addr: MAC,
            target_protocol_addr: US,
        };
        let mut arp = [0u8; 28];
        reply.emit(&mut crate::wire::arp::ArpPacket::new_unchecked(&mut arp[..]));
        s.receive(now, i, &ethernet::frame(PEER_MAC, MAC, EtherType::Arp, &arp));
        for (k, (f, hdr)) in frames.iter().enumerate() {
            let ethertype = match (kinds >> (k % 32 * 2)) & 3 {
                0 => EtherType::Arp,
                _ if f.first().is_some_and(|b| b >> 4 == 6) => EtherType::Ipv6,
                _ => EtherType::Ipv4,
            };
            let frame = ethernet::frame(PEER_MAC, MAC, ethertype, f);
            let hdr = match (shift >> (k % 64)) & 1 {
                1 => hdr.behind_link_header(HEADER_LEN),
                _ => *hdr,
            };
            s.receive_offload(now, i, &frame, &hdr);
            while let Some(t) = s.poll_transmit() {
                let fits = crate::link::wire_frames(HEADER_LEN, &t.frame, &t.offload, &mut |_| {});
                prop_assert!(fits.is_ok(), "{:?} for {:?}", fits, t.offload);
            }
            now += Duration::from_millis(37);
            if s.poll_at().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
            let _ = s.tcp_accept(l);
            let _ = s.tcp_accept(l6);
        }
        for _ in 0..400 {
            match s.poll_at() {
                Some(t) => {
                    now = now.max(t) + Duration::from_millis(1);
                    s.handle_timeout(now);
                    while let Some(t) = s.poll_transmit() {
                        let fits =
                            crate::link::wire_frames(HEADER_LEN, &t.frame, &t.offload, &mut |_| {});
                        prop_assert!(fits.is_ok(), "{:?} for {:?}", fits, t.offload);
                    }
                }
                None => break,
            }
        }
        prop_assert!(s.tcp.live <= s.tcp.cfg.max_connections);
    }
}
