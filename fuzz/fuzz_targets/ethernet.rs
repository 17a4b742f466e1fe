//! Ethernet II: `EthernetFrame::new_checked`, `EthernetRepr::parse`, then `emit` of the
//! parsed repr (and the payload) into a fresh buffer and a re-parse that must give the
//! same repr and payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::wire::ethernet::{EthernetFrame, EthernetRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let Ok(repr) = EthernetRepr::parse(&frame) else {
        return;
    };
    let payload = frame.payload();

    let mut out = vec![0u8; repr.buffer_len() + payload.len()];
    let mut view = EthernetFrame::new_unchecked(&mut out[..]);
    repr.emit(&mut view);
    view.payload_mut()[..payload.len()].copy_from_slice(payload);

    let emitted = EthernetFrame::new_checked(&out[..]).expect("emitted frame checks");
    let again = EthernetRepr::parse(&emitted).expect("emitted frame parses");
    assert_eq!(again, repr);
    assert_eq!(emitted.payload(), payload);
});
