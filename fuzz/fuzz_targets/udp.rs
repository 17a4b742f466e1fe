//! UDP: `UdpPacket::new_checked`, `UdpRepr::parse`, then `emit` of the parsed repr into
//! a fresh buffer and a re-parse that must give the same repr.
//!
//! Input: 4 bytes source address, 4 bytes destination address (for the pseudo-header
//! checksum), then the UDP datagram. The same datagram is also parsed over IPv6 (the
//! addresses as IPv4-mapped IPv6 ones), where a zero checksum must fail (RFC 8200
//! section 8.1) and an emitted datagram must verify.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use tunstack::wire::udp::{UdpPacket, UdpRepr};

fuzz_target!(|data: &[u8]| {
    let Some((addrs, datagram)) = data.split_first_chunk::<8>() else {
        return;
    };
    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);

    let Ok(packet) = UdpPacket::new_checked(datagram) else {
        return;
    };
    let as_is = UdpRepr::parse(&packet, src, dst);

    // Parse again with the checksum completed, to get past it.
    let mut fixed = datagram.to_vec();
    UdpPacket::new_unchecked(&mut fixed[..]).fill_checksum(src, dst);
    let packet = UdpPacket::new_checked(&fixed[..]).expect("same lengths");
    let Ok(repr) = UdpRepr::parse(&packet, src, dst) else {
        assert!(as_is.is_err());
        return;
    };
    if let Ok(first) = as_is {
        assert_eq!(
            first, repr,
            "a datagram with a valid checksum parses the same"
        );
    }

    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut UdpPacket::new_unchecked(&mut out[..]), src, dst);
    let emitted = UdpPacket::new_checked(&out[..]).expect("emitted datagram checks");
    let again = UdpRepr::parse(&emitted, src, dst).expect("emitted datagram parses");
    assert_eq!(again, repr);

    let (src6, dst6) = (src.to_ipv6_mapped(), dst.to_ipv6_mapped());
    let over6 = UdpRepr::parse(&packet, src6, dst6);
    if packet.checksum() == 0 {
        assert!(over6.is_err(), "a zero checksum over IPv6 is refused");
    }
    let mut out6 = vec![0u8; repr.buffer_len()];
    repr.emit(&mut UdpPacket::new_unchecked(&mut out6[..]), src6, dst6);
    let emitted6 = UdpPacket::new_checked(&out6[..]).expect("emitted datagram checks");
    assert_ne!(emitted6.checksum(), 0, "never a zero checksum over IPv6");
    let again6 = UdpRepr::parse(&emitted6, src6, dst6).expect("emitted over IPv6 parses");
    assert_eq!(again6, repr);
});
