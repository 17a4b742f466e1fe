//! Packet tests of the offload path: TCP super-segments and partial checksums in from a
//! device that offloads (the virtio-net header of a Linux TUN device opened with
//! `IFF_VNET_HDR`), super-segments out.

use std::net::SocketAddrV4;

use super::test_host::{drain, host_packet, host_repr, HOST, US};
use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::tcp::layer::TcpHandle;
use crate::tcp::output::Outgoing;
use crate::time::Duration;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};
use crate::wire::udp::{UdpPacket, UdpRepr};
use crate::wire::virtio::{self, GsoType};

const T0: Instant = Instant::from_secs(10);
const MSS: usize = 1460;
const PEER_ISN: u32 = 1_000;

fn stack(offload: bool) -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    s.set_offload(i, offload);
    (s, i)
}

/// A segment from the host's port 40000 to our port 9, complete checksum.
fn segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8], syn_opts: bool) -> Vec<u8> {
    let packet = host_packet(&TcpRepr {
        max_seg_size: syn_opts.then_some(MSS as u16),
        window_scale: syn_opts.then_some(7),
        ..host_repr(flags, seq, ack, payload)
    });
    packet
}

/// `packet` as the kernel hands a super-segment over: checksum field holding only the
/// pseudo-header sum, and the header that says so.
fn as_super_segment(mut packet: Vec<u8>, mss: u16) -> (Vec<u8>, VirtioNetHdr) {
    let partial = virtio::partial_checksum(HOST, US, 6, packet.len() - 20);
    packet[36..38].copy_from_slice(&partial.to_be_bytes());
    let hdr = VirtioNetHdr::tcp4_tso(0, 20, 20, mss);
    (packet, hdr)
}

/// The TCP header of an output frame (its checksum completed first when it is partial).
fn tcp_of(t: &Transmit) -> (TcpRepr<'static>, usize) {
    let mut frame = t.frame.clone();
    if t.offload.needs_csum() {
        virtio::complete_checksum(&mut frame, 20, 16).unwrap();
    }
    let frame: &'static [u8] = Box::leak(frame.into_boxed_slice());
    let tcp = TcpRepr::parse(&TcpPacket::new_checked(&frame[20..]).unwrap(), US, HOST)
        .expect("a valid segment once its checksum is completed");
    let len = tcp.payload.len();
    (tcp, len)
}

/// A connection accepted on port 9 after a handshake; returns it and our ISN.
fn established(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32) {
    let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
    s.receive(T0, i, &segment(TcpFlags::SYN, PEER_ISN, 0, &[], true));
    let out = drain(s);
    assert_eq!(out.len(), 1, "a SYN-ACK");
    let (synack, _) = tcp_of(&out[0]);
    let iss = synack.seq_number;
    s.receive(
        T0,
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), &[], false),
    );
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    (h, iss)
}

/// A super-segment standing for ten wire segments is taken in one pass: all its data
/// reaches the reader although its checksum is only the pseudo-header sum (virtio 1.2
/// 5.1.6.2: the kernel's promise), TcpInSegs counts the ten segments (as Linux counts
/// `gso_segs`), and one ACK answers the run (RFC 5681 4.2: at least every second
/// full-sized segment; a stretch ACK, as Linux's GRO receiver sends).
#[test]
fn super_segment_in_is_taken_whole_and_answered_once() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let data: Vec<u8> = (0..10 * MSS).map(|n| (n % 251) as u8).collect();
    let pkt = segment(
        TcpFlags::ACK | TcpFlags::PSH,
        PEER_ISN + 1,
        iss + 1,
        &data,
        false,
    );
    let (sup, hdr) = as_super_segment(pkt, MSS as u16);
    let segs_before = s.stats().tcp_in_segs;
    s.receive_offload(T0, i, &sup, &hdr);
    assert_eq!(s.stats().tcp_in_segs - segs_before, 10);
    assert_eq!(s.stats().tun_gso_in, 1);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1, "one ACK for the run: {out:?}");
    let (ack, _) = tcp_of(&out[0]);
    assert_eq!(ack.ack_number, PEER_ISN + 1 + data.len() as u32);
    let mut got = vec![0u8; data.len() + 10];
    let n = s.tcp_recv(T0, h, &mut got).unwrap();
    assert_eq!(&got[..n], &data[..]);
}

/// A header that does not fit its packet (here a checksum start inside the IP header)
/// drops the frame and is counted, never trusted.
#[test]
fn super_segment_with_a_bad_header_is_dropped_and_counted() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let pkt = segment(TcpFlags::ACK, PEER_ISN + 1, iss + 1, &[5u8; 4 * MSS], false);
    let (sup, mut hdr) = as_super_segment(pkt, MSS as u16);
    hdr.csum_start = 12;
    s.receive_offload(T0, i, &sup, &hdr);
    assert_eq!(s.stats().tun_vnet_hdr_errors, 1);
    assert_eq!(s.stats().tun_gso_in, 0);
    assert_eq!(s.tcp_conn(h).unwrap().recv_queue(), 0);
    assert!(drain(&mut s).is_empty());
    // Without the header the partial checksum is what it is: a bad checksum.
    s.receive(T0, i, &sup);
    assert_eq!(s.stats().tcp_in_errs, 1);
}

/// A UDP datagram with a partial checksum (any packet may carry one once `TUN_F_CSUM` is
/// on) has it completed in software and is delivered.
#[test]
fn udp_with_partial_checksum_is_completed_and_delivered() {
    let (mut s, i) = stack(true);
    let u = s.udp_bind(SocketAddrV4::new(US, 53)).unwrap();
    let r = UdpRepr {
        src_port: 5353,
        dst_port: 53,
        payload: b"query",
    };
    let mut dgram = vec![0u8; 20 + r.buffer_len()];
    let ip = Ipv4Repr {
        src_addr: HOST,
        dst_addr: US,
        protocol: IpProtocol::Udp,
        payload_len: r.buffer_len(),
        ttl: 64,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
        tos: 0,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut dgram[..]));
    r.emit(&mut UdpPacket::new_unchecked(&mut dgram[20..]), HOST, US);
    let partial = virtio::partial_checksum(HOST, US, 17, r.buffer_len());
    dgram[26..28].copy_from_slice(&partial.to_be_bytes());
    let hdr = VirtioNetHdr {
        flags: virtio::F_NEEDS_CSUM,
        csum_start: 20,
        csum_offset: 6,
        ..VirtioNetHdr::NONE
    };
    s.receive_offload(T0, i, &dgram, &hdr);
    let d = s.udp_recv(u).unwrap().expect("delivered");
    assert_eq!(d.data, b"query");
}

/// With offload, a bulk send leaves in super-segments of whole MSS-sized segments for
/// the device to cut (RFC 9293 3.7.1: no piece larger than the MSS), counted as their
/// wire segments in TcpOutSegs (as Linux counts `gso_segs`) and once in TunGsoOut; cut
/// in software they are the byte stream, in order, with valid checksums.
#[test]
fn bulk_data_leaves_in_super_segments() {
    let (mut s, i) = stack(true);
    let (h, iss) = established(&mut s, i);
    let data: Vec<u8> = (0..40 * MSS).map(|n| (n % 239) as u8).collect();
    let out_before = s.stats().tcp_out_segs;
    assert_eq!(s.tcp_send(T0, h, &data), Ok(data.len()));
    let out = drain(&mut s);
    // The initial window is 10 segments: one super-segment of all ten.
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].offload.gso_type, GsoType::TcpV4);
    assert_eq!(usize::from(out[0].offload.gso_size), MSS);
    assert_eq!(s.stats().tun_gso_out, 1);
    assert_eq!(s.stats().tcp_out_segs - out_before, 10);
    let mut wire = Vec::new();
    crate::link::wire_frames(0, &out[0].frame, &out[0].offload, &mut |f| {
        wire.push(f.to_vec())
    })
    .unwrap();
    assert_eq!(wire.len(), 10);
    let mut stream = Vec::new();
    for (k, f) in wire.iter().enumerate() {
        let tcp = TcpRepr::parse(&TcpPacket::new_checked(&f[20..]).unwrap(), US, HOST)
            .expect("each wire segment verifies");
        assert_eq!(tcp.seq_number, iss + 1 + (k * MSS) as u32);
        assert_eq!(tcp.payload.len(), MSS);
        stream.extend_from_slice(tcp.payload);
    }
    assert_eq!(stream, data[..10 * MSS]);
    // A stretch ACK for all ten lets the next, larger flight go, still in whole
    // segments, each super-segment at most 64 KiB.
    let acked = iss + 1 + (10 * MSS) as u32;
    s.receive(
        T0 + Duration::from_millis(1),
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, acked, &[], false),
    );
    let out = drain(&mut s);
    assert!(!out.is_empty());
    for t in &out {
        let (_, len) = tcp_of(t);
        assert!(t.frame.len() <= 65_535);
        assert_eq!(len % MSS, 0, "whole segments only");
    }
}

/// Without offload on the interface, every data segment is one MSS with a complete
/// checksum, as before.
#[test]
fn without_offload_segments_are_wire_sized() {
    let (mut s, i) = stack(false);
    let (h, _) = established(&mut s, i);
    s.tcp_send(T0, h, &vec![1u8; 20 * MSS]).unwrap();
    let out = drain(&mut s);
    assert_eq!(out.len(), 10);
    for t in &out {
        assert!(t.offload.is_none());
        let tcp =
            TcpRepr::parse(&TcpPacket::new_checked(&t.frame[20..]).unwrap(), US, HOST).unwrap();
        assert_eq!(tcp.payload.len(), MSS);
    }
    assert_eq!(s.stats().tun_gso_out, 0);
}

/// The frame pool is bounded whatever comes back: wire-sized buffers up to
/// `FRAME_POOL` (a writer thread's worth in flight), super-segment-sized ones only while
/// it holds under `FRAME_POOL_LARGE`, and buffers too small for a frame not at all.
#[test]
fn frame_pool_keeps_a_bounded_number_of_buffers() {
    let (mut s, _) = stack(true);
    for _ in 0..2 * FRAME_POOL {
        s.recycle(Vec::with_capacity(64 * 1024));
    }
    assert_eq!(s.frame_pool.len(), FRAME_POOL_LARGE);
    for _ in 0..2 * FRAME_POOL {
        s.recycle(Vec::with_capacity(FRAME_CAPACITY));
    }
    assert_eq!(s.frame_pool.len(), FRAME_POOL);
    s.frame_pool.clear();
    s.recycle(Vec::with_capacity(100));
    assert!(s.frame_pool.is_empty());
}

/// Two runs put the same frames on the wire (the first difference named, not dumped).
fn assert_same_frames(a: &[Vec<u8>], b: &[Vec<u8>]) {
    assert_eq!(a.len(), b.len(), "frame counts");
    if let Some(k) = (0..a.len()).find(|&k| a[k] != b[k]) {
        let at = (0..a[k].len().min(b[k].len())).find(|&i| a[k][i] != b[k][i]);
        panic!(
            "frame {k} differs (lengths {} and {}, first differing byte {at:?})",
            a[k].len(),
            b[k].len()
        );
    }
}

/// A stack whose TCP builds super-segments in software (`gso`) or one segment per send.
fn stack_gso(gso: bool) -> (Stack, IfaceId) {
    let cfg = StackConfig {
        tcp: crate::tcp::TcpConfig {
            gso,
            trace_events: 64,
            // Fixed, so the send ring wraps where a test expects.
            send_buffer_max: 256 * 1024,
            ..crate::tcp::TcpConfig::default()
        },
        ..StackConfig::default()
    };
    let mut s = Stack::new(cfg, Rng::new(1));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    (s, i)
}

/// Software GSO (`TcpConfig::gso`, the default) on a device without offloads: the
/// super-segments are cut before they leave, and the wire sees, byte for byte, the
/// frames the stack sends without it (sequence numbers, PSH and FIN on the last
/// segment only, IPv4 IDs, checksums), counted as wire segments.
#[test]
fn software_gso_puts_the_segments_of_one_per_send_on_the_wire() {
    let run = |gso: bool| {
        let (mut s, i) = stack_gso(gso);
        let (h, iss) = established(&mut s, i);
        s.tcp_send(T0, h, &vec![3u8; 4 * MSS + 700]).unwrap();
        s.tcp_shutdown(T0, h).unwrap();
        let mut out: Vec<Vec<u8>> = drain(&mut s).into_iter().map(|t| t.frame).collect();
        // The peer acknowledges the first four: the tail, with the FIN, goes.
        let four = iss.wrapping_add(1 + 4 * MSS as u32);
        s.receive(
            T0,
            i,
            &segment(TcpFlags::ACK, PEER_ISN + 1, four, &[], false),
        );
        out.extend(drain(&mut s).into_iter().map(|t| t.frame));
        // What the sender did: one send of four segments' data, or four sends.
        let sends: Vec<u32> = s
            .tcp_take_traces()
            .iter()
            .flat_map(|c| c.events.iter())
            .filter_map(|e| match e.event {
                crate::tcp::trace::TraceEvent::Send { len, .. } if len > 0 => Some(len),
                _ => None,
            })
            .collect();
        (out, s.stats().tcp_out_segs, sends)
    };
    let (with, with_segs, sends) = run(true);
    let (without, without_segs, sends_without) = run(false);
    assert_eq!(sends, vec![4 * MSS as u32, 700]);
    assert_eq!(
        sends_without,
        vec![MSS as u32, MSS as u32, MSS as u32, MSS as u32, 700]
    );
    assert_eq!(
        with.len(),
        5,
        "four full segments, then the tail with the FIN"
    );
    for (k, frame) in with.iter().enumerate() {
        let ip = Ipv4Packet::new_checked(&frame[..]).unwrap();
        assert!(ip.verify_checksum());
        let tcp = TcpRepr::parse(&TcpPacket::new_checked(ip.payload()).unwrap(), US, HOST)
            .expect("a complete, valid checksum");
        assert_eq!(
            tcp.flags.contains(TcpFlags::PSH),
            k == 4,
            "PSH ends the data"
        );
        assert_eq!(tcp.flags.contains(TcpFlags::FIN), k == 4);
    }
    assert_same_frames(&with, &without);
    assert_eq!(with_segs, without_segs);
}

/// The cut follows the send buffer's two slices (a ring that wraps): each wire segment
/// takes its bytes from either or both, in order; CWR stays on the first only
/// (RFC 3168 6.1.2), PSH and FIN on the last only.
#[test]
fn software_gso_cuts_across_the_send_buffer_wrap() {
    let data: Vec<u8> = (0..3000u32).map(|k| k as u8).collect();
    let (a, b) = data.split_at(1000);
    let mut r = host_repr(
        TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN | TcpFlags::CWR,
        5000,
        1,
        &[],
    );
    r.payload = &[];
    let seg = Outgoing {
        repr: &r,
        payload: [a, b],
        gso: Some(1400),
    };
    let mut pieces = Vec::new();
    super::tcp::for_each_wire_segment(&seg, |p| {
        let bytes: Vec<u8> = p.payload.concat();
        pieces.push((p.repr.seq_number, p.repr.flags, bytes, p.gso));
    });
    assert_eq!(pieces.len(), 3);
    let lens: Vec<usize> = pieces.iter().map(|p| p.2.len()).collect();
    assert_eq!(lens, vec![1400, 1400, 200]);
    let seqs: Vec<u32> = pieces.iter().map(|p| p.0).collect();
    assert_eq!(seqs, vec![5000, 6400, 7800]);
    assert_eq!(
        pieces.iter().flat_map(|p| p.2.clone()).collect::<Vec<_>>(),
        data
    );
    assert!(pieces.iter().all(|p| p.3.is_none()));
    let has = |k: usize, f: TcpFlags| pieces[k].1.contains(f);
    assert!(has(0, TcpFlags::CWR) && !has(1, TcpFlags::CWR) && !has(2, TcpFlags::CWR));
    assert!(!has(0, TcpFlags::PSH) && !has(1, TcpFlags::PSH) && has(2, TcpFlags::PSH));
    assert!(!has(0, TcpFlags::FIN) && !has(1, TcpFlags::FIN) && has(2, TcpFlags::FIN));
    assert!((0..3).all(|k| has(k, TcpFlags::ACK)));
}

/// RFC 2883 section 4 with software GSO: a duplicate is reported in one D-SACK block,
/// in one wire segment. The peer repeats data we hold (with new data after it) while
/// acknowledging our initial window; the flush that answers sends the waiting data, and only its first wire
/// segment carries the D-SACK (a super-segment's header would put it in each), byte for
/// byte as without GSO.
#[test]
fn software_gso_reports_a_duplicate_once() {
    let run = |gso: bool| {
        let (mut s, i) = stack_gso(gso);
        let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
        let syn = host_packet(&TcpRepr {
            max_seg_size: Some(MSS as u16),
            window_scale: Some(7),
            sack_permitted: true,
            ..host_repr(TcpFlags::SYN, PEER_ISN, 0, &[])
        });
        s.receive(T0, i, &syn);
        let out = drain(&mut s);
        let iss = tcp_of(&out[0]).0.seq_number;
        s.receive(
            T0,
            i,
            &segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), &[], false),
        );
        let h = s.tcp_accept(l).unwrap().expect("accepted");
        let data = [5u8; 100];
        let ours = iss.wrapping_add(1);
        s.receive(
            T0,
            i,
            &segment(TcpFlags::ACK, PEER_ISN + 1, ours, &data, false),
        );
        drain(&mut s);
        s.tcp_send(T0, h, &vec![3u8; 14 * MSS]).unwrap();
        assert_eq!(drain(&mut s).len(), 10, "the initial window");
        // The same 100 bytes again and 100 new ones, with the ACK of all ten.
        let ten = ours.wrapping_add(10 * MSS as u32);
        let again = [5u8; 200];
        s.receive(
            T0,
            i,
            &segment(TcpFlags::ACK, PEER_ISN + 1, ten, &again, false),
        );
        drain(&mut s)
            .into_iter()
            .map(|t| t.frame)
            .collect::<Vec<_>>()
    };
    let with = run(true);
    assert_same_frames(&with, &run(false));
    let dsack = (PEER_ISN + 1, PEER_ISN + 101);
    let carrying: Vec<usize> = with
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            let tcp = TcpRepr::parse(&TcpPacket::new_checked(&f[20..]).unwrap(), US, HOST);
            tcp.unwrap().sack_ranges[0] == Some(dsack)
        })
        .map(|(k, _)| k)
        .collect();
    assert!(
        with.len() >= 4,
        "the waiting data went: {} frames",
        with.len()
    );
    assert_eq!(carrying, vec![0], "one D-SACK, in the first segment");
}

/// RFC 6298 section 3 (Karn) without timestamps or SACK: the timed segment of a
/// super-segment is its first wire segment, so the ACK of that segment alone measures
/// the round trip (timed to the super-segment's end, a sample would wait for all of
/// it, and include the path serialising the burst).
#[test]
fn software_gso_times_the_first_wire_segment() {
    let (mut s, i) = stack_gso(true);
    let (h, iss) = established(&mut s, i);
    s.tcp_send(T0, h, &vec![1u8; 10 * MSS]).unwrap();
    assert_eq!(drain(&mut s).len(), 10);
    let before = s.tcp_conn(h).unwrap().info().srtt;
    let first = iss.wrapping_add(1 + MSS as u32);
    let later = T0 + Duration::from_millis(30);
    s.receive(
        later,
        i,
        &segment(TcpFlags::ACK, PEER_ISN + 1, first, &[], false),
    );
    let after = s.tcp_conn(h).unwrap().info().srtt;
    assert_ne!(
        after, before,
        "the first segment's ACK measured: {before:?} -> {after:?}"
    );
}

/// Software GSO through the send ring's wrap: half a megabyte through the 256 KiB ring,
/// acknowledged as it goes, puts on the wire byte for byte what one send per segment
/// does, the segment that straddles the wrap (its payload in two pieces) included.
#[test]
fn software_gso_matches_one_per_send_across_the_ring_wrap() {
    let run = |gso: bool| {
        let (mut s, i) = stack_gso(gso);
        let (h, iss) = established(&mut s, i);
        let data: Vec<u8> = (0..64 * 1024u32).map(|k| (k % 251) as u8).collect();
        let mut frames = Vec::new();
        let mut acked = iss.wrapping_add(1);
        for _ in 0..8 {
            let mut off = 0;
            while off < data.len() {
                match s.tcp_send(T0, h, &data[off..]) {
                    Ok(n) if n > 0 => off += n,
                    _ => {
                        // Full: the peer acknowledges what it has.
                        s.receive(
                            T0,
                            i,
                            &segment(TcpFlags::ACK, PEER_ISN + 1, acked, &[], false),
                        );
                    }
                }
                for t in drain(&mut s) {
                    let (tcp, len) = tcp_of(&t);
                    let end = tcp.seq_number.wrapping_add(len as u32);
                    if end.wrapping_sub(acked) as i32 > 0 {
                        acked = end;
                    }
                    frames.push(t.frame);
                }
            }
        }
        // The tail (held back under Nagle) goes once everything before it is acknowledged.
        loop {
            s.receive(
                T0,
                i,
                &segment(TcpFlags::ACK, PEER_ISN + 1, acked, &[], false),
            );
            let out = drain(&mut s);
            if out.is_empty() {
                break;
            }
            for t in out {
                let (tcp, len) = tcp_of(&t);
                acked = tcp.seq_number.wrapping_add(len as u32);
                frames.push(t.frame);
            }
        }
        (frames, acked.wrapping_sub(iss.wrapping_add(1)))
    };
    let (with, moved) = run(true);
    let (without, moved_without) = run(false);
    assert_eq!(moved, 8 * 64 * 1024, "all of it sent");
    assert_eq!(moved_without, moved);
    assert_same_frames(&with, &without);
}
