//! The Internet checksum (RFC 1071), the transport pseudo-header (RFC 768, RFC 9293
//! section 3.1; for IPv6, RFC 8200 section 8.1) and incremental update (RFC 1624).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod fast;

/// Adds `data` to a running one's-complement sum, as 16-bit big-endian words (RFC 1071
/// section 4.1). An odd final byte is padded with a zero byte on the right.
///
/// The result is not folded; combine partial sums with `+` and finish with [`fold`].
///
/// How, after RFC 1071 section 2: the one's-complement sum may be computed over wider
/// words and folded at the end (2(B): 2^16 = 1 modulo 2^16 - 1), and in either byte
/// order, swapping the folded result once (2(C), "byte order independence"). So the data
/// is summed as native-order words, with AVX-512 or AVX2 where the CPU has them
/// (`checksum/fast.rs`), and folded and swapped here.
pub fn sum(acc: u64, data: &[u8]) -> u64 {
    finish(acc, fast::native_sum(data))
}

/// Copies `src` into `dst` (of the same length) and adds `src` to a running sum as
/// [`sum`] does, reading each byte once: the copy into a receive buffer verifies the
/// checksum on the way (RFC 1071 4.2 suggests combining the sum with a copy).
///
/// # Panics
///
/// If the lengths differ.
pub fn copy_and_sum(acc: u64, dst: &mut [u8], src: &[u8]) -> u64 {
    finish(acc, fast::copy_native_sum(dst, src))
}

/// Appends `src` to `buf` and adds it to a running sum as [`sum`] does, reading each byte
/// once (a segment's payload going from the send buffer into its frame).
pub fn append_and_sum(acc: u64, buf: &mut Vec<u8>, src: &[u8]) -> u64 {
    finish(acc, fast::append_native_sum(buf, src))
}

/// A native-order sum folded, in network order, and added to the running sum `acc`.
fn finish(acc: u64, native: u64) -> u64 {
    // Fold in native order, then swap to network order (a no-op on big-endian hosts).
    let folded = fold(native);
    // End-around carry: `acc` may be any running sum (2^64 = 1 modulo 2^16 - 1).
    let (total, carry) = acc.overflowing_add(u64::from(native_to_be(folded)));
    total + u64::from(carry)
}

/// Adds `data` to a running sum as [`sum`] does, for data that starts `offset` bytes into
/// the checksummed area: at an odd offset its bytes pair with the other neighbours, which
/// swaps the bytes of its folded sum (RFC 1071 2(B)-(C): the sum is byte-order
/// independent, so a one-byte shift is a byte swap). Lets a caller sum the pieces of a
/// segment separately, as they are copied in.
pub fn sum_at(acc: u64, data: &[u8], offset: usize) -> u64 {
    if offset.is_multiple_of(2) {
        return sum(acc, data);
    }
    add_at(acc, sum(0, data), offset)
}

/// Adds `part`, the running sum of a piece of data taken as if it started the
/// checksummed area, to `acc` for that piece lying `offset` bytes in: at an odd offset
/// its folded sum is byte-swapped, as in [`sum_at`].
pub fn add_at(acc: u64, part: u64, offset: usize) -> u64 {
    let part = if offset.is_multiple_of(2) {
        part
    } else {
        u64::from(fold(part).swap_bytes())
    };
    let (total, carry) = acc.overflowing_add(part);
    total + u64::from(carry)
}

/// A 16-bit one's-complement sum computed over native-order words, as the same sum over
/// big-endian words (RFC 1071 2(C)): the bytes swap on little-endian hosts.
#[inline]
fn native_to_be(folded: u16) -> u16 {
    u16::from_be_bytes(folded.to_ne_bytes())
}

/// The plain word-by-word sum, kept as the reference the fast [`sum`] is tested against.
#[cfg(test)]
fn sum_reference(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [b] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*b, 0]));
    }
    acc
}

/// Folds a running sum into 16 bits with end-around carry (RFC 1071 section 4.1).
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum of `data`: the one's complement of the one's-complement sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

/// The running sum of the IPv4 pseudo-header used by UDP (RFC 768) and TCP (RFC 9293
/// section 3.1): source, destination, zero, protocol, and the transport length.
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u64 {
    // From the values, not from bytes just stored to memory (a wide load of fresh narrow
    // stores waits for them to reach the cache).
    let (s, d) = (u32::from(src), u32::from(dst));
    let mut acc = u64::from(s >> 16) + u64::from(s & 0xffff);
    acc += u64::from(d >> 16) + u64::from(d & 0xffff);
    acc += u64::from(protocol);
    acc += u64::from(length & 0xffff) + u64::from(length >> 16);
    acc
}

/// The checksum of a transport segment with its pseudo-header: the value to write into
/// the checksum field (which must be zero in `segment` while this is computed).
pub fn transport_checksum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> u16 {
    let acc = pseudo_header(src, dst, protocol, segment.len() as u32);
    !fold(sum(acc, segment))
}

/// Whether a transport segment (checksum field included) verifies: its sum with the
/// pseudo-header folds to all ones.
pub fn verify_transport(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> bool {
    let acc = pseudo_header(src, dst, protocol, segment.len() as u32);
    fold(sum(acc, segment)) == 0xffff
}

/// The running sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source address,
/// destination address (the final one, if a Routing header is present), the 32-bit
/// upper-layer packet length, three zero octets and the Next Header value of the upper
/// layer. TCP, UDP and ICMPv6 (RFC 4443 section 2.3) all use it.
///
/// Summed from the values, as [`pseudo_header`] is: each address as eight 16-bit words.
/// (An earlier version summed the 40 octets with [`sum`], whose result can come back
/// close to `u64::MAX`; the fuzzer found an overflow there. Here the total stays below
/// 2^21.)
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u64 {
    let words = |a: Ipv6Addr| a.segments().iter().map(|&w| u64::from(w)).sum::<u64>();
    let mut acc = words(src) + words(dst);
    acc += u64::from(length & 0xffff) + u64::from(length >> 16);
    acc += u64::from(next_header);
    acc
}

/// The checksum of an upper-layer packet over IPv6 with its pseudo-header: the value to
/// write into the checksum field (which must be zero in `segment` while this is computed).
///
/// For UDP, a computed zero must be sent as `0xffff` (RFC 8200 section 8.1: "if that
/// computation yields a result of zero, it must be changed to hex FFFF").
pub fn transport_checksum_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, segment: &[u8]) -> u16 {
    let acc = pseudo_header_v6(src, dst, next_header, segment.len() as u32);
    !fold(sum(acc, segment))
}

/// Whether an upper-layer packet over IPv6 (checksum field included) verifies.
///
/// RFC 8200 section 8.1: "Unlike IPv4, the default behavior when UDP packets are
/// originated by an IPv6 node is that the UDP checksum is not optional", and "IPv6
/// receivers must discard UDP packets containing a zero checksum". So for UDP (next
/// header 17) a zero checksum field fails here, whatever the sum (RFC 6935's zero-checksum
/// tunnels are not supported).
pub fn verify_transport_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, segment: &[u8]) -> bool {
    if next_header == 17 && segment.len() >= 8 && segment[6] == 0 && segment[7] == 0 {
        return false;
    }
    let acc = pseudo_header_v6(src, dst, next_header, segment.len() as u32);
    fold(sum(acc, segment)) == 0xffff
}

/// The pseudo-header sum for either family: RFC 9293 section 3.1 for IPv4, RFC 8200
/// section 8.1 for IPv6. Mixed families cannot come from one packet; should a caller
/// pass them, both are taken as IPv4-mapped IPv6 addresses (RFC 4291 2.5.5.2).
pub fn pseudo_header_ip(src: IpAddr, dst: IpAddr, protocol: u8, length: u32) -> u64 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header(s, d, protocol, length),
        (IpAddr::V6(s), IpAddr::V6(d)) => pseudo_header_v6(s, d, protocol, length),
        (s, d) => pseudo_header_v6(v6(s), v6(d), protocol, length),
    }
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

/// [`transport_checksum`] for either family (see [`pseudo_header_ip`]).
pub fn transport_checksum_ip(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    let acc = pseudo_header_ip(src, dst, protocol, segment.len() as u32);
    !fold(sum(acc, segment))
}

/// [`verify_transport`] for either family (see [`pseudo_header_ip`]); over IPv6 a zero
/// UDP checksum fails, as [`verify_transport_v6`] says.
pub fn verify_transport_ip(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> bool {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => verify_transport(s, d, protocol, segment),
        (s, d) => verify_transport_v6(v6(s), v6(d), protocol, segment),
    }
}

/// Incrementally updates checksum `old_check` after a 16-bit field changed from `old` to
/// `new`, per RFC 1624 section 3, equation 3: `HC' = ~(~HC + ~m + m')`.
///
/// Equation 3 (rather than RFC 1141's equation 2) never yields `0x0000` from a non-zero
/// sum, the corner case RFC 1624 section 4 corrects.
pub fn update(old_check: u16, old: u16, new: u16) -> u16 {
    let acc = u64::from(!old_check) + u64::from(!old) + u64::from(new);
    !fold(acc)
}

/// [`update`] for a 32-bit field (two 16-bit words), such as an IPv4 address.
pub fn update_u32(old_check: u16, old: u32, new: u32) -> u16 {
    let c = update(old_check, (old >> 16) as u16, (new >> 16) as u16);
    update(c, old as u16, new as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment summed in pieces at any split, odd or even, gives the sum of the whole.
    #[test]
    fn pieces_at_odd_offsets_sum_to_the_whole() {
        let data: Vec<u8> = (0..301u32).map(|i| (i * 37 + 11) as u8).collect();
        let whole = fold(sum(0, &data));
        for split in [0, 1, 2, 3, 20, 151, 300, 301] {
            for second in [split, (split + 7).min(301)] {
                let mut acc = sum_at(0, &data[..split], 0);
                acc = sum_at(acc, &data[split..second], split);
                acc = sum_at(acc, &data[second..], second);
                assert_eq!(fold(acc), whole, "split at {split} and {second}");
            }
        }
    }

    /// RFC 1071 section 3 worked example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    /// The 64-bit sum folds to the same 16-bit value as the word-by-word reference, for
    /// every length and offset mix (including all-ones data that carries on every add).
    #[test]
    fn fast_sum_matches_reference() {
        let mut rng = crate::rand::Rng::new(5);
        for len in 0..300 {
            let mut v = vec![0u8; len];
            rng.fill(&mut v);
            for acc in [0u64, 0xffff, 0x1234_5678_9abc] {
                assert_eq!(
                    fold(sum(acc, &v)),
                    fold(sum_reference(acc, &v)),
                    "len {len}"
                );
            }
            let ones = vec![0xffu8; len];
            assert_eq!(
                fold(sum(0, &ones)),
                fold(sum_reference(0, &ones)),
                "ones len {len}"
            );
        }
        let big = vec![0xffu8; 70_000];
        assert_eq!(fold(sum(u64::MAX, &big)), fold(sum_reference(0xffff, &big)));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(0, &[0xab])), 0xab00);
        assert_eq!(fold(sum(0, &[0x01, 0x02, 0x03])), 0x0402);
    }

    /// The IPv4 header of a Linux ping from 10.77.0.1 to 10.77.0.2 (frame 10 of
    /// `fixtures/veth-capture.pcap`) verifies, and a flipped bit does not.
    #[test]
    fn captured_ipv4_header_verifies() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x54, 0x30, 0x83, 0x40, 0x00, 0x40, 0x01, 0xf5, 0x89, 0x0a, 0x4d,
            0x00, 0x01, 0x0a, 0x4d, 0x00, 0x02,
        ];
        assert_eq!(checksum(&hdr), 0);
        hdr[4] ^= 0x10;
        assert_ne!(checksum(&hdr), 0);
    }

    /// RFC 1624 section 3: incremental update equals recomputation, for every possible
    /// change of one word in a header (sampled).
    #[test]
    fn incremental_update_matches_recompute() {
        let mut hdr = [
            0x45u8, 0x00, 0x00, 0x54, 0x3c, 0x5d, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0x0a, 0x4d,
            0x00, 0x01, 0x0a, 0x4d, 0x00, 0x02,
        ];
        let c0 = checksum(&hdr);
        hdr[10..12].copy_from_slice(&c0.to_be_bytes());
        for new_ttl_proto in (0u32..=0xffff).step_by(97) {
            let new = new_ttl_proto as u16;
            let old = u16::from_be_bytes([hdr[8], hdr[9]]);
            let old_c = u16::from_be_bytes([hdr[10], hdr[11]]);
            let inc = update(old_c, old, new);
            let mut fresh = hdr;
            fresh[8..10].copy_from_slice(&new.to_be_bytes());
            fresh[10..12].copy_from_slice(&[0, 0]);
            assert_eq!(inc, checksum(&fresh), "ttl/proto {new:#06x}");
        }
    }

    /// RFC 1624 section 4: when the new sum of the other fields is all ones, equation 3
    /// gives the correct 0x0000, where RFC 1141's equation 2 gives 0xffff.
    #[test]
    fn rfc1624_corner_case() {
        // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555, m' = 0x3285 must give 0x0000.
        assert_eq!(update(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn pseudo_header_udp_fixture() {
        // UDP 10.77.0.1:40000 -> 10.77.0.2:53, payload "hi": checksum computed by Linux.
        let src = Ipv4Addr::new(10, 77, 0, 1);
        let dst = Ipv4Addr::new(10, 77, 0, 2);
        let mut seg = [0x9c, 0x40, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, b'h', b'i'];
        let c = transport_checksum(src, dst, 17, &seg);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify_transport(src, dst, 17, &seg));
        seg[8] ^= 1;
        assert!(!verify_transport(src, dst, 17, &seg));
    }

    /// RFC 8200 section 8.1: the IPv6 pseudo-header. A UDP datagram from fd00:77::1 port
    /// 40000 to fd00:77::2 port 53 with payload "hi": the sum is pinned by etherparse (an
    /// independent implementation) and verifies; a zero checksum never verifies for UDP.
    #[test]
    fn pseudo_header_v6_udp() {
        let src: Ipv6Addr = "fd00:77::1".parse().unwrap();
        let dst: Ipv6Addr = "fd00:77::2".parse().unwrap();
        let mut seg = [0x9c, 0x40, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, b'h', b'i'];
        let c = transport_checksum_v6(src, dst, 17, &seg);
        let h = etherparse::UdpHeader::with_ipv6_checksum(
            40000,
            53,
            &etherparse::Ipv6Header {
                source: src.octets(),
                destination: dst.octets(),
                next_header: etherparse::IpNumber::UDP,
                ..Default::default()
            },
            b"hi",
        )
        .unwrap();
        assert_eq!(c, h.checksum);
        seg[6..8].copy_from_slice(&c.to_be_bytes());
        assert!(verify_transport_v6(src, dst, 17, &seg));
        // The same bytes under another destination do not verify: the pseudo-header
        // covers the addresses.
        assert!(!verify_transport_v6(
            src,
            "fd00:77::3".parse().unwrap(),
            17,
            &seg
        ));
        seg[8] ^= 1;
        assert!(!verify_transport_v6(src, dst, 17, &seg));
        // A zero checksum is invalid over IPv6 for UDP, even where IPv4 accepts it.
        seg[6..8].copy_from_slice(&[0, 0]);
        assert!(!verify_transport_v6(src, dst, 17, &seg));
    }

    /// Found by the `icmpv6` fuzz target: all-ones addresses made the running sum
    /// overflow (a panic in debug builds). The sum must equal the word-by-word reference.
    #[test]
    fn pseudo_header_v6_all_ones_does_not_overflow() {
        let ones = Ipv6Addr::from([0xff; 16]);
        let seg = [0xffu8; 23];
        let mut reference = [0xffu8; 40];
        reference[32..36].copy_from_slice(&23u32.to_be_bytes());
        reference[36..39].fill(0);
        reference[39] = 58;
        let acc = pseudo_header_v6(ones, ones, 58, seg.len() as u32);
        assert_eq!(fold(acc), fold(sum_reference(0, &reference)));
        let _ = verify_transport_v6(ones, ones, 58, &seg);
        let c = transport_checksum_v6(ones, ones, 58, &seg);
        assert_eq!(c, !fold(sum_reference(sum_reference(0, &reference), &seg)));
    }

    /// The pseudo-headers summed from the addresses' values equal the sum of their byte
    /// layouts (RFC 9293 3.1: source, destination, zero, protocol, TCP length; RFC 8200
    /// 8.1: source, destination, 32-bit length, three zeros, next header).
    #[test]
    fn pseudo_headers_from_values_match_their_bytes() {
        let mut rng = crate::rand::Rng::new(9);
        for _ in 0..500 {
            let mut b = [0u8; 36];
            rng.fill(&mut b);
            let len = u32::from_be_bytes([0, 0, b[34], b[35]]) >> (b[33] % 8);
            let (s4, d4) = (
                Ipv4Addr::from([b[0], b[1], b[2], b[3]]),
                Ipv4Addr::from([b[4], b[5], b[6], b[7]]),
            );
            let mut v4 = [0u8; 12];
            v4[..4].copy_from_slice(&s4.octets());
            v4[4..8].copy_from_slice(&d4.octets());
            v4[9] = b[32];
            v4[10..].copy_from_slice(&(len as u16).to_be_bytes());
            assert_eq!(
                fold(pseudo_header(s4, d4, b[32], len & 0xffff)),
                fold(sum_reference(0, &v4))
            );
            let s6 = Ipv6Addr::from(<[u8; 16]>::try_from(&b[..16]).unwrap());
            let d6 = Ipv6Addr::from(<[u8; 16]>::try_from(&b[16..32]).unwrap());
            let mut v6 = [0u8; 40];
            v6[..16].copy_from_slice(&s6.octets());
            v6[16..32].copy_from_slice(&d6.octets());
            v6[32..36].copy_from_slice(&len.to_be_bytes());
            v6[39] = b[32];
            assert_eq!(
                fold(pseudo_header_v6(s6, d6, b[32], len)),
                fold(sum_reference(0, &v6))
            );
        }
    }

    /// The length is a 32-bit field (RFC 8200 section 8.1): its high half counts.
    #[test]
    fn pseudo_header_v6_long_length() {
        let a = Ipv6Addr::LOCALHOST;
        assert_ne!(
            fold(pseudo_header_v6(a, a, 6, 0x1_0000)),
            fold(pseudo_header_v6(a, a, 6, 0))
        );
        assert_eq!(
            fold(pseudo_header_v6(a, a, 6, 0x1_0000)),
            fold(pseudo_header_v6(a, a, 6, 1))
        );
    }

    #[test]
    fn update_u32_matches_recompute() {
        let mut hdr = [
            0x45u8, 0x00, 0x00, 0x54, 0x3c, 0x5d, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0x0a, 0x4d,
            0x00, 0x01, 0x0a, 0x4d, 0x00, 0x02,
        ];
        let c0 = checksum(&hdr);
        hdr[10..12].copy_from_slice(&c0.to_be_bytes());
        let old = u32::from_be_bytes([hdr[12], hdr[13], hdr[14], hdr[15]]);
        let new = u32::from(Ipv4Addr::new(192, 0, 2, 77));
        let inc = update_u32(c0, old, new);
        hdr[12..16].copy_from_slice(&new.to_be_bytes());
        hdr[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(inc, checksum(&hdr));
    }
}
