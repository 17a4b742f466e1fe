//! Packet scripts for IPv6 reassembly, one per RFC rule, on Linux's own fragments (frames
//! 21 and 22 of the IPv6 capture) and on fragments built here.

use super::*;
use crate::iface::fragment6::fragment6;
use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::{ExtChain, Ipv6Packet};

const A1: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const A2: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const T0: Instant = Instant::from_secs(100);

/// The fragment a received packet is, as the IPv6 layer would hand it over.
#[track_caller]
fn frag_of(pkt: &[u8]) -> Fragment6<'_> {
    let p = Ipv6Packet::new_checked(pkt).unwrap();
    let c = ExtChain::parse(&p).unwrap();
    let f = c.fragment.expect("a fragment");
    let end = 40 + usize::from(p.payload_len());
    Fragment6 {
        src: p.src_addr(),
        dst: p.dst_addr(),
        ident: f.ident,
        offset: usize::from(f.offset),
        more_frags: f.more_frags,
        next_header: c.upper_layer,
        unfragmentable: &pkt[..40 + c.upper_offset - 8],
        named_at: c.fragment_named_at as usize,
        data: &pkt[40 + c.upper_offset..end],
    }
}

/// A packet fd00:77::1 -> fd00:77::2 carrying ICMPv6-numbered bytes 0, 1, 2, ...
fn original(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; 40 + len];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    p[6] = 58;
    p[7] = 64;
    p[8..24].copy_from_slice(&A1.octets());
    p[24..40].copy_from_slice(&A2.octets());
    for (i, b) in p[40..].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    p
}

fn split(p: &[u8], mtu: usize, ident: u32) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    fragment6(p, mtu, ident, |f| v.push(f)).unwrap();
    v
}

fn r() -> Reassembler6 {
    Reassembler6::new(Reassembly6Config::default())
}

/// RFC 8200 section 4.5 "Reassembly": Linux's two fragments of a 2008-octet echo request,
/// in either order, give back the packet whose ICMPv6 checksum verifies: the Next Header
/// that named the Fragment header is 58 again, the Payload Length 2008.
#[test]
fn linux_fragments_reassemble_in_any_order() {
    for order in [
        [&FRAME_21[L3..], &FRAME_22[L3..]],
        [&FRAME_22[L3..], &FRAME_21[L3..]],
    ] {
        let mut re = r();
        assert_eq!(re.push(T0, frag_of(order[0])), Outcome::Pending);
        assert_eq!(re.in_progress(), 1);
        let Outcome::Complete(whole) = re.push(T0, frag_of(order[1])) else {
            panic!("not complete");
        };
        assert_eq!(re.in_progress(), 0);
        assert_eq!(re.bytes_held(), 0);
        let p = Ipv6Packet::new_checked(&whole[..]).unwrap();
        assert_eq!((p.next_header(), p.payload_len()), (58, 2008));
        let icmp = Icmpv6Packet::new_checked(p.payload()).unwrap();
        let repr = Icmpv6Repr::parse(A1, A2, &icmp).unwrap();
        assert!(
            matches!(repr, Icmpv6Repr::EchoRequest { ident: 0x5522, seq_no: 1, data } if data.len() == 2000)
        );
    }
}

/// RFC 5722 section 4: an overlapping fragment drops the whole packet, "including those
/// not yet received": a later, clean fragment of it is dropped too, until the timeout.
#[test]
fn overlap_drops_packet_and_later_fragments() {
    let orig = original(3000);
    let frags = split(&orig, 1280, 7);
    assert_eq!(frags.len(), 3);
    let mut re = r();
    assert_eq!(re.push(T0, frag_of(&frags[0])), Outcome::Pending);
    // A forged fragment covering octets 8..24 of the first one's data.
    let mut forged = frags[1].clone();
    forged[42..44].copy_from_slice(&(8u16 | 1).to_be_bytes());
    forged.truncate(48 + 16);
    forged[4..6].copy_from_slice(&24u16.to_be_bytes());
    assert_eq!(
        re.push(T0, frag_of(&forged)),
        Outcome::Failed(Failure::Overlap)
    );
    assert_eq!(re.bytes_held(), 0);
    for f in &frags {
        assert_eq!(re.push(T0, frag_of(f)), Outcome::Failed(Failure::Overlap));
    }
    // At the timeout the dead packet goes, with nothing to quote.
    let gone = re.expire(T0 + Duration::from_secs(60));
    assert_eq!(
        gone,
        [Expired {
            src: A1,
            first_fragment: None
        }]
    );
    // The same identification afterwards is a new packet.
    let t1 = T0 + Duration::from_secs(61);
    assert_eq!(re.push(t1, frag_of(&frags[0])), Outcome::Pending);
    assert_eq!(re.push(t1, frag_of(&frags[1])), Outcome::Pending);
    assert_eq!(re.push(t1, frag_of(&frags[2])), Outcome::Complete(orig));
}

/// RFC 8200 section 4.5: "an implementation may choose to detect this case and drop
/// exact duplicate fragments while keeping the other fragments belonging to the same
/// packet".
#[test]
fn exact_duplicate_dropped_packet_kept() {
    let orig = original(2000);
    let frags = split(&orig, 1280, 9);
    let mut re = r();
    assert_eq!(re.push(T0, frag_of(&frags[0])), Outcome::Pending);
    assert_eq!(re.push(T0, frag_of(&frags[0])), Outcome::Duplicate);
    assert_eq!(re.push(T0, frag_of(&frags[1])), Outcome::Complete(orig));
}

/// RFC 6946 section 4: an atomic fragment is processed in isolation, even when a packet
/// with the same {source, destination, identification} is being reassembled.
#[test]
fn atomic_fragment_in_isolation() {
    let orig = original(2000);
    let frags = split(&orig, 1280, 0x77);
    let mut re = r();
    assert_eq!(re.push(T0, frag_of(&frags[0])), Outcome::Pending);
    // An atomic fragment: offset 0, M clear, same identification, other data.
    let small = original(16);
    let mut atomic = small[..40].to_vec();
    atomic[6] = 44;
    atomic.extend_from_slice(&[58, 0, 0, 0, 0, 0, 0, 0x77]);
    atomic.extend_from_slice(&small[40..]);
    atomic[4..6].copy_from_slice(&24u16.to_be_bytes());
    let p = Ipv6Packet::new_checked(&atomic[..]).unwrap();
    let c = ExtChain::parse(&p).unwrap();
    assert_eq!(c.fragment, None, "the chain walk already sees it whole");
    let f = Fragment6 {
        src: A1,
        dst: A2,
        ident: 0x77,
        offset: 0,
        more_frags: false,
        next_header: 58,
        unfragmentable: &atomic[..40],
        named_at: 6,
        data: &atomic[48..],
    };
    assert_eq!(re.push(T0, f), Outcome::Complete(small));
    // The packet in progress is untouched and completes.
    assert_eq!(re.in_progress(), 1);
    assert_eq!(re.push(T0, frag_of(&frags[1])), Outcome::Complete(orig));
}

/// RFC 8200 section 4.5: abandoned after 60 seconds; if the first fragment had arrived
/// the caller sends Time Exceeded code 1 quoting it — rebuilt here byte for byte as Linux
/// sent it (frame 21).
#[test]
fn timeout_after_60_seconds_quotes_first_fragment() {
    let mut re = r();
    assert_eq!(re.push(T0, frag_of(&FRAME_21[L3..])), Outcome::Pending);
    assert_eq!(re.poll_at(), Some(T0 + Duration::from_secs(60)));
    assert!(re.expire(T0 + Duration::from_secs(59)).is_empty());
    let gone = re.expire(T0 + Duration::from_secs(60));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].first_fragment.as_deref(), Some(&FRAME_21[L3..]));
    assert_eq!((re.in_progress(), re.bytes_held()), (0, 0));
    // Without the first fragment there is nothing to quote, and no error is sent.
    assert_eq!(re.push(T0, frag_of(&FRAME_22[L3..])), Outcome::Pending);
    let gone = re.expire(T0 + Duration::from_secs(60));
    assert_eq!(
        gone,
        [Expired {
            src: A1,
            first_fragment: None
        }]
    );
}

/// RFC 8200 section 4.5: "the Next Header values in the Fragment headers of different
/// fragments of the same original packet may differ. Only the value from the Offset
/// zero fragment packet is used for reassembly."
#[test]
fn next_header_from_offset_zero_fragment() {
    let orig = original(2000);
    let mut frags = split(&orig, 1280, 3);
    frags[1][40] = 17;
    let mut re = r();
    assert_eq!(re.push(T0, frag_of(&frags[1])), Outcome::Pending);
    assert_eq!(re.push(T0, frag_of(&frags[0])), Outcome::Complete(orig));
}

/// Lengths that disagree drop the packet: a non-final fragment not a multiple of 8, two
/// different last fragments, data past the end a last fragment set; and a packet past
/// 65,535 octets (RFC 8200 section 4.5).
#[test]
fn inconsistent_lengths() {
    let orig = original(3000);
    let frags = split(&orig, 1280, 5);
    let f0 = frag_of(&frags[0]);
    let mut re = r();
    let odd = Fragment6 {
        data: &f0.data[..20],
        ..f0
    };
    assert_eq!(re.push(T0, odd), Outcome::Failed(Failure::Inconsistent));
    let last = frag_of(&frags[2]);
    assert_eq!(re.push(T0, last), Outcome::Pending);
    let other_end = Fragment6 {
        offset: last.offset + 1024,
        data: &last.data[..8],
        ..last
    };
    assert_eq!(
        re.push(T0, other_end),
        Outcome::Failed(Failure::Inconsistent)
    );
    assert_eq!(re.in_progress(), 0);
    let mut re = r();
    assert_eq!(re.push(T0, frag_of(&frags[1])), Outcome::Pending);
    let early_end = Fragment6 {
        more_frags: false,
        data: &f0.data[..8],
        offset: 8,
        ..f0
    };
    assert_eq!(
        re.push(T0, early_end),
        Outcome::Failed(Failure::Inconsistent)
    );
    let far = Fragment6 {
        offset: 65_528,
        more_frags: false,
        data: &f0.data[..8],
        ..f0
    };
    assert_eq!(r().push(T0, far), Outcome::Failed(Failure::TooBig));
}

/// Every table is bounded: packets in progress (the oldest is evicted), fragments per
/// packet, bytes held.
#[test]
fn bounded() {
    let cfg = Reassembly6Config {
        max_packets: 2,
        max_fragments: 2,
        max_bytes: 3000,
        ..Default::default()
    };
    let orig = original(3000);
    let mut re = Reassembler6::new(cfg);
    for ident in 0..3 {
        let frags = split(&orig, 1280, ident);
        assert_eq!(re.push(T0, frag_of(&frags[0])), Outcome::Pending);
    }
    assert_eq!(re.in_progress(), 2);
    assert!(re.bytes_held() <= 3000);
    // Identification 0 was evicted: its second fragment starts a new packet.
    let frags = split(&orig, 1280, 2);
    assert_eq!(re.push(T0, frag_of(&frags[1])), Outcome::Pending);
    // A third fragment is one too many for a packet held to two.
    assert_eq!(
        re.push(T0, frag_of(&frags[2])),
        Outcome::Failed(Failure::NoRoom)
    );
}

/// Our fragments of packets of many sizes, at many MTUs, delivered in reverse, come
/// back whole.
#[test]
fn own_fragments_round_trip() {
    for len in [0usize, 1, 7, 8, 1232, 1233, 4000, 65_535 - 8] {
        for mtu in [1280usize, 1500, 9000] {
            let orig = original(len);
            let frags = split(&orig, mtu, len as u32);
            if orig.len() <= mtu {
                // RFC 8021 section 4: no atomic fragments; the packet goes as it is.
                assert_eq!(frags, [orig]);
                continue;
            }
            let mut re = r();
            let mut done = None;
            for f in frags.iter().rev() {
                if let Outcome::Complete(p) = re.push(T0, frag_of(f)) {
                    done = Some(p);
                }
            }
            assert_eq!(done.as_ref(), Some(&orig), "len {len} mtu {mtu}");
        }
    }
}
