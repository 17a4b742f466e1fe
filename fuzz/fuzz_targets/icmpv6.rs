//! ICMPv6: 16 bytes source address, 16 bytes destination, then the message.
//! `Icmpv6Packet::new_checked`, `Icmpv6Repr::parse` as it comes and with the checksum
//! completed, then `emit` of the parsed repr and a re-parse that must give the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::Ipv6Addr;
use tunstack::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 {
        return;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&data[..16]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&data[16..32]).unwrap());
    let msg = &data[32..];
    let Ok(packet) = Icmpv6Packet::new_checked(msg) else {
        return;
    };
    let _ = (packet.word(), packet.data().len());
    let as_is = Icmpv6Repr::parse(src, dst, &packet);

    let mut fixed = msg.to_vec();
    Icmpv6Packet::new_unchecked(&mut fixed[..]).fill_checksum(src, dst);
    let packet = Icmpv6Packet::new_checked(&fixed[..]).expect("same length");
    let Ok(repr) = Icmpv6Repr::parse(src, dst, &packet) else {
        assert!(as_is.is_err());
        return;
    };
    if let Ok(first) = as_is {
        assert_eq!(
            first, repr,
            "a message with a valid checksum parses the same"
        );
    }
    let _ = repr.to_string();

    let mut out = vec![0u8; repr.buffer_len()];
    assert_eq!(repr.emit(src, dst, &mut out), Ok(out.len()));
    let again = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(&out[..]).unwrap())
        .expect("emitted message parses");
    assert_eq!(again, repr);
});
