//! ICMPv4: `Icmpv4Packet::new_checked`, `Icmpv4Repr::parse`, then `emit` of the parsed
//! repr into a fresh buffer and a re-parse that must give the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::wire::icmpv4::{Icmpv4Packet, Icmpv4Repr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    let as_is = Icmpv4Repr::parse(&packet);

    // Parse again with the checksum completed, to get past it.
    let mut fixed = data.to_vec();
    Icmpv4Packet::new_unchecked(&mut fixed[..]).fill_checksum();
    let packet = Icmpv4Packet::new_checked(&fixed[..]).expect("same lengths");
    let Ok(repr) = Icmpv4Repr::parse(&packet) else {
        assert!(as_is.is_err());
        return;
    };
    if let Ok(first) = as_is {
        assert_eq!(
            first, repr,
            "a message with a valid checksum parses the same"
        );
    }

    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));

    let emitted = Icmpv4Packet::new_checked(&out[..]).expect("emitted message checks");
    let again = Icmpv4Repr::parse(&emitted).expect("emitted message parses");
    assert_eq!(again, repr);
});
