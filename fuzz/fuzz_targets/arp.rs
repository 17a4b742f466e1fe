//! ARP: `ArpPacket::new_checked`, `ArpRepr::parse`, then `emit` of the parsed repr into a
//! fresh buffer and a re-parse that must give the same repr.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::wire::arp::{ArpPacket, ArpRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = ArpPacket::new_checked(data) else {
        return;
    };
    let Ok(repr) = ArpRepr::parse(&packet) else {
        return;
    };

    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));

    let emitted = ArpPacket::new_checked(&out[..]).expect("emitted packet checks");
    let again = ArpRepr::parse(&emitted).expect("emitted packet parses");
    assert_eq!(again, repr);
});
