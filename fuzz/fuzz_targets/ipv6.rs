//! IPv6: `Ipv6Packet::new_checked`, `Ipv6Repr::parse`, `emit` of the repr and a re-parse
//! that must agree; then the extension header walk (`ExtChain::parse`), whose results
//! must stay inside the packet, and each header kind parsed and re-emitted on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::wire::ipv6::ext::{ExtHeader, ExtHeaderRepr, OptionsIter};
use tunstack::wire::ipv6::{ExtChain, Ipv6Packet, Ipv6Repr};

fuzz_target!(|data: &[u8]| {
    let _ = Ipv6Packet::new_checked_header(data).map(|p| (p.payload().len(), p.flow_label()));
    let Ok(packet) = Ipv6Packet::new_checked(data) else {
        return;
    };
    let repr = Ipv6Repr::parse(&packet).expect("a checked packet parses");
    let mut out = vec![0u8; repr.buffer_len() + repr.payload_len];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]))
        .expect("fits");
    out[40..].copy_from_slice(packet.payload());
    let again = Ipv6Packet::new_checked(&out[..]).expect("emitted packet checks");
    assert_eq!(Ipv6Repr::parse(&again), Ok(repr));

    let payload_len = packet.payload().len();
    match ExtChain::parse(&packet) {
        Ok(chain) => {
            assert!(chain.upper_offset <= payload_len);
            assert!((chain.upper_pointer as usize) < 40 + payload_len.max(1));
            assert_eq!(chain.headers().count(), chain.len());
            // The walk over the re-emitted packet gives the same answer.
            assert_eq!(ExtChain::parse(&again).ok(), Some(chain));
        }
        Err(e) => {
            if let Some((_, pointer)) = e.param_problem() {
                assert!((pointer as usize) < 40 + payload_len.max(1));
            }
        }
    }

    // Every header kind on the raw payload: parse, emit, re-parse.
    for kind in [
        ExtHeader::HopByHop,
        ExtHeader::Routing,
        ExtHeader::Fragment,
        ExtHeader::DstOpts,
    ] {
        let Ok((h, next, len)) = ExtHeaderRepr::parse(kind, packet.payload()) else {
            continue;
        };
        if let ExtHeaderRepr::HopByHop { options } | ExtHeaderRepr::DstOpts { options } = h {
            for o in OptionsIter::new(options) {
                let Ok((_, o)) = o else { break };
                let mut b = vec![0u8; o.buffer_len()];
                o.emit(&mut b).expect("a parsed option emits");
            }
        }
        let mut b = vec![0u8; len];
        assert_eq!(h.emit(next, &mut b), Ok(len));
        let (back, next2, len2) = ExtHeaderRepr::parse(kind, &b).expect("emitted header parses");
        assert_eq!((back, next2, len2), (h, next, len));
    }
});
