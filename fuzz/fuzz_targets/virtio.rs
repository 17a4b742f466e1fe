//! The virtio-net header and the offload path: `VirtioNetHdr::parse` (and `to_bytes` back
//! to the same bytes), `check_ipv4` or `check_ipv6` against the packet, `to_wire`
//! (software segmentation and checksum completion), then the whole core's
//! `Stack::receive_offload` (an interface with both families, listeners on port 80).
//!
//! Input: 10 bytes of virtio-net header, then an IPv4 or IPv6 packet.
//!
//! What `to_wire` hands out must be wire packets: for a TCP super-segment (TCPV4 or
//! TCPV6), each piece carries at most `gso_size` payload bytes with valid IP and TCP
//! checksums, and the pieces' payloads put together are the super-segment's.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use tunstack::iface::{IfaceId, InterfaceConfig};
use tunstack::rand::Rng;
use tunstack::stack::{Stack, StackConfig};
use tunstack::time::Instant;
use tunstack::wire::ipv4::{Ipv4Packet, Ipv4Repr};
use tunstack::wire::ipv6::Ipv6Packet;
use tunstack::wire::tcp::{TcpPacket, TcpRepr};
use tunstack::wire::virtio::{self, GsoType, VirtioNetHdr};

thread_local! {
    static STACK: RefCell<(Stack, IfaceId)> = RefCell::new({
        let mut s = Stack::new(StackConfig::default(), Rng::new(1));
        let cfg = InterfaceConfig::ip("tun0", "10.77.0.2/24".parse().unwrap())
            .with_ipv6("fd00:77::2/64".parse().unwrap());
        let i = s.add_interface(cfg);
        s.set_offload(i, true);
        let _ = s.tcp_listen("10.77.0.2:80".parse::<std::net::SocketAddr>().unwrap(), 4);
        let _ = s.tcp_listen("[fd00:77::2]:80".parse::<std::net::SocketAddr>().unwrap(), 4);
        (s, i)
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((head, packet)) = data.split_first_chunk::<10>() else {
        return;
    };
    let Ok(hdr) = VirtioNetHdr::parse(head) else {
        return;
    };
    assert_eq!(
        &hdr.to_bytes(),
        head,
        "a parsed header writes back the same"
    );
    let ipv6 = packet.first().is_some_and(|b| b >> 4 == 6);
    let checked = match ipv6 {
        true => hdr.check_ipv6(0, packet),
        false => hdr.check_ipv4(0, packet),
    };
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let wire = virtio::to_wire(&hdr, 0, packet, &mut |p| pieces.push(p.to_vec()));
    if hdr.is_none() {
        assert_eq!(wire, Ok(1));
    }
    if let Ok(n) = wire {
        assert_eq!(n, pieces.len());
        if hdr.gso_type == GsoType::TcpV4 {
            assert!(checked.is_ok());
            let original = Ipv4Packet::new_checked(packet)
                .ok()
                .and_then(|p| Ipv4Repr::parse(&p).ok().map(|r| (p, r)));
            let mut joined = Vec::new();
            for piece in &pieces {
                let p = Ipv4Packet::new_checked(&piece[..]).expect("a whole IPv4 packet");
                assert!(p.verify_checksum(), "IP header checksum");
                let (src, dst) = (p.src_addr(), p.dst_addr());
                let tcp = TcpPacket::new_checked(p.payload()).expect("a TCP header");
                assert!(tcp.verify_checksum(src, dst), "TCP checksum");
                assert!(tcp.payload().len() <= usize::from(hdr.gso_size));
                joined.extend_from_slice(tcp.payload());
                if let Ok(r) = TcpRepr::parse(&tcp, src, dst) {
                    let _ = r.segment_len();
                }
            }
            if let Some((p, _)) = original {
                if let Ok(t) = TcpPacket::new_checked(p.payload()) {
                    assert_eq!(joined, t.payload(), "the pieces are the payload");
                }
            }
        }
        if hdr.gso_type == GsoType::TcpV6 {
            assert!(checked.is_ok());
            let mut joined = Vec::new();
            for piece in &pieces {
                let p = Ipv6Packet::new_checked(&piece[..]).expect("a whole IPv6 packet");
                assert_eq!(usize::from(p.payload_len()) + 40, piece.len());
                let (src, dst) = (p.src_addr(), p.dst_addr());
                let (proto, at) = virtio::ipv6_transport(piece).expect("headers walk");
                assert_eq!(proto, 6);
                let tcp = TcpPacket::new_checked(&piece[at..]).expect("a TCP header");
                assert!(tcp.verify_checksum(src, dst), "TCP checksum");
                assert!(tcp.payload().len() <= usize::from(hdr.gso_size));
                joined.extend_from_slice(tcp.payload());
            }
            let plen = packet
                .get(4..6)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            let whole = plen.and_then(|l| packet.get(..40 + l));
            if let Some((_, at)) = whole.and_then(|w| virtio::ipv6_transport(w).ok()) {
                if let Ok(t) = TcpPacket::new_checked(&whole.unwrap()[at..]) {
                    assert_eq!(joined, t.payload(), "the pieces are the payload");
                }
            }
        }
    }
    STACK.with(|s| {
        let (stack, i) = &mut *s.borrow_mut();
        stack.receive_offload(Instant::from_secs(1), *i, packet, &hdr);
        while let Some(t) = stack.poll_transmit() {
            virtio::to_wire(&t.offload, 0, &t.frame, &mut |_| {})
                .expect("what the stack sends fits its own header");
            stack.recycle(t.frame);
        }
    });
});
