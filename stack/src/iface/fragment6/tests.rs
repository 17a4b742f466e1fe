//! Source fragmentation: each RFC 8200 section 4.5 rule on the fragments built.

use super::*;
use crate::wire::ipv6::ext::{ExtHeaderRepr, FragmentRepr};
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::{ExtChain, Ipv6Packet};

fn with_chain(chain: &[u8], first: u8, data_len: usize) -> Vec<u8> {
    let mut p = FRAME_19[L3..L3 + 40].to_vec();
    p[6] = first;
    p.extend_from_slice(chain);
    p.extend((0..data_len).map(|i| i as u8));
    let plen = (p.len() - 40) as u16;
    p[4..6].copy_from_slice(&plen.to_be_bytes());
    p
}

fn split(p: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    fragment6(p, mtu, 0xabcd_0123, |f| v.push(f)).unwrap();
    v
}

/// Linux's 2008-octet echo request (frames 21 + 22, reassembled by hand) fragmented at
/// MTU 1500 gives Linux's fragments byte for byte, apart from the identification.
#[test]
fn same_fragments_as_linux() {
    let mut orig = FRAME_21[L3..L3 + 40].to_vec();
    orig[6] = 58;
    orig.extend_from_slice(&FRAME_21[L3 + 48..]);
    orig.extend_from_slice(&FRAME_22[L3 + 48..]);
    orig[4..6].copy_from_slice(&2008u16.to_be_bytes());
    let mut frags = Vec::new();
    let n = fragment6(&orig, 1500, 0xfc79_f641, |f| frags.push(f)).unwrap();
    assert_eq!(n, 2);
    assert_eq!(frags[0], &FRAME_21[L3..]);
    assert_eq!(frags[1], &FRAME_22[L3..]);
}

/// RFC 8200 section 4.5: fragments fit the MTU, carry multiples of 8 octets but the
/// last, share one identification, and M is set on all but the last.
#[test]
fn sizes_offsets_flags() {
    let p = with_chain(&[], 58, 4000);
    for mtu in [1280usize, 1500, 2000] {
        let frags = split(&p, mtu);
        let mut expect_off = 0u16;
        for (i, f) in frags.iter().enumerate() {
            assert!(f.len() <= mtu);
            let q = Ipv6Packet::new_checked(&f[..]).unwrap();
            let c = ExtChain::parse(&q).unwrap();
            let fr = c.fragment.unwrap();
            let data = q.payload().len() - 8;
            let last = i + 1 == frags.len();
            assert_eq!(
                fr,
                FragmentRepr {
                    offset: expect_off,
                    more_frags: !last,
                    ident: 0xabcd_0123
                }
            );
            assert_eq!(c.upper_layer, 58);
            if !last {
                assert_eq!(data % 8, 0);
            }
            expect_off += data as u16;
        }
        assert_eq!(usize::from(expect_off), 4000);
    }
}

/// RFC 8200 section 4.5: the Unfragmentable Part is everything up to the Routing header
/// (a Destination Options header before it included), repeated in each fragment; the
/// Destination Options header after the Routing header is fragmentable and travels in the
/// first fragment only (RFC 7112).
#[test]
fn unfragmentable_part_up_to_routing() {
    let mut chain = Vec::new();
    let mut hdr = [0u8; 8];
    ExtHeaderRepr::HopByHop {
        options: &[1, 4, 0, 0, 0, 0],
    }
    .emit(nh::DST_OPTS, &mut hdr)
    .unwrap();
    chain.extend_from_slice(&hdr);
    ExtHeaderRepr::DstOpts {
        options: &[1, 4, 0, 0, 0, 0],
    }
    .emit(nh::ROUTING, &mut hdr)
    .unwrap();
    chain.extend_from_slice(&hdr);
    let mut rt = [0u8; 24];
    ExtHeaderRepr::Routing {
        routing_type: 0,
        segments_left: 0,
        data: &[0; 20],
    }
    .emit(nh::DST_OPTS, &mut rt)
    .unwrap();
    chain.extend_from_slice(&rt);
    ExtHeaderRepr::DstOpts {
        options: &[1, 4, 0, 0, 0, 0],
    }
    .emit(58, &mut hdr)
    .unwrap();
    chain.extend_from_slice(&hdr);
    let p = with_chain(&chain, nh::HOP_BY_HOP, 3000);
    let frags = split(&p, 1280);
    for (i, f) in frags.iter().enumerate() {
        // 40 + 8 + 8 + 24 octets repeated, then the Fragment header naming the final
        // Destination Options header (60).
        assert_eq!(&f[40..56], &chain[..16]);
        assert_eq!(
            f[56],
            nh::FRAGMENT,
            "the Routing header now names the Fragment header"
        );
        assert_eq!(&f[57..80], &chain[17..40]);
        assert_eq!(f[80], nh::DST_OPTS);
        let q = Ipv6Packet::new_checked(&f[..]).unwrap();
        let c = ExtChain::parse(&q).unwrap();
        assert_eq!(c.fragment_named_at, 80 - 24);
        if i == 0 {
            assert_eq!(&f[88..96], &chain[40..48]);
        }
    }
}

/// Hop-by-Hop alone is unfragmentable.
#[test]
fn hop_by_hop_unfragmentable() {
    let mut hdr = [0u8; 8];
    ExtHeaderRepr::HopByHop {
        options: &[5, 2, 0, 0, 1, 0],
    }
    .emit(58, &mut hdr)
    .unwrap();
    let p = with_chain(&hdr, nh::HOP_BY_HOP, 2000);
    for f in split(&p, 1280) {
        assert_eq!(f[6], nh::HOP_BY_HOP);
        assert_eq!(f[40], nh::FRAGMENT);
        assert_eq!(&f[41..48], &hdr[1..]);
        assert_eq!(f[48], 58);
    }
}

/// RFC 8021 section 4: a packet that fits is not given a Fragment header.
#[test]
fn no_atomic_fragments() {
    let p = with_chain(&[], 58, 1240);
    assert_eq!(split(&p, 1280), std::slice::from_ref(&p));
    assert_eq!(split(&p, 1279).len(), 2);
}

#[test]
fn errors() {
    let p = with_chain(&[], 58, 100);
    assert_eq!(
        fragment6(&p, 40 + 8 + 7, 1, |_| {}),
        Err(Frag6Error::MtuTooSmall)
    );
    assert_eq!(fragment6(&p, 139, 1, |_| {}).map(|_| ()), Ok(()));
    assert_eq!(
        fragment6(&p[..39], 1280, 1, |_| {}),
        Err(Frag6Error::Malformed)
    );
    let mut v4 = p.clone();
    v4[0] = 0x45;
    assert_eq!(fragment6(&v4, 1280, 1, |_| {}), Err(Frag6Error::Malformed));
    // Already a fragment: never fragmented again.
    let f = split(&with_chain(&[], 58, 3000), 1280);
    assert_eq!(
        fragment6(&f[0], 1000, 1, |_| {}),
        Err(Frag6Error::Malformed)
    );
    // A Destination Options header longer than the first fragment's room.
    let big = vec![0u8; 2048];
    let mut dst = vec![0u8; 2048];
    ExtHeaderRepr::DstOpts {
        options: &big[..2046],
    }
    .emit(58, &mut dst)
    .unwrap();
    assert_eq!(
        fragment6(&with_chain(&dst, nh::DST_OPTS, 10), 1280, 1, |_| {}),
        Err(Frag6Error::ChainTooLong)
    );
}
