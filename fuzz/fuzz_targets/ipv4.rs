//! IPv4: `Ipv4Packet::new_checked`, `Ipv4Repr::parse`, then `emit` of the parsed repr (and
//! the payload) into a fresh buffer and a re-parse that must give the same repr and
//! payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::wire::ipv4::{Ipv4Packet, Ipv4Repr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let as_is = Ipv4Repr::parse(&packet);

    // Parse again with the header checksum completed, to get past it.
    let mut fixed = data.to_vec();
    Ipv4Packet::new_unchecked(&mut fixed[..]).fill_checksum();
    let packet = Ipv4Packet::new_checked(&fixed[..]).expect("same lengths");
    let Ok(repr) = Ipv4Repr::parse(&packet) else {
        assert!(as_is.is_err());
        return;
    };
    if let Ok(first) = as_is {
        assert_eq!(
            first, repr,
            "a header with a valid checksum parses the same"
        );
    }
    let payload = packet.payload();
    assert_eq!(payload.len(), repr.payload_len);

    let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
    let mut view = Ipv4Packet::new_unchecked(&mut out[..]);
    repr.emit(&mut view);
    view.payload_mut().copy_from_slice(payload);

    let emitted = Ipv4Packet::new_checked(&out[..]).expect("emitted packet checks");
    let again = Ipv4Repr::parse(&emitted).expect("emitted packet parses");
    assert_eq!(again, repr);
    assert_eq!(emitted.payload(), payload);
});
