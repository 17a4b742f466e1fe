//! UDP: `UdpPacket::new_checked`, `UdpRepr::parse`, then `emit` of the parsed repr into
//! a fresh buffer and a re-parse that must give the same repr.
//!
//! Input: 4 bytes source address, 4 bytes destination address (for the pseudo-header
//! checksum), then the UDP datagram.
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
});
