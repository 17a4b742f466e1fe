//! Neighbor Discovery: the first byte picks the message type (133-137), the rest is the
//! body after type, code and checksum. `NdpRepr::parse`, the option iterator, the
//! validity checks, then `emit_body` and a re-parse that must give the same repr; every
//! parsed option re-emits and re-parses to itself (up to padding).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::Ipv6Addr;
use tunstack::wire::ndp::{NdpOption, NdpOptionsIter, NdpRepr};

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let ty = 133 + first % 5;
    for o in NdpOptionsIter::new(body) {
        let Ok(o) = o else { break };
        let mut b = vec![0u8; o.buffer_len()];
        if o.emit(&mut b).is_ok() {
            let back: Vec<_> = NdpOptionsIter::new(&b).collect();
            assert_eq!(back.len(), 1);
            match (o, back[0].expect("emitted option parses")) {
                (
                    NdpOption::Unknown { opt_type, data },
                    NdpOption::Unknown {
                        opt_type: t,
                        data: d,
                    },
                ) => {
                    assert_eq!(opt_type, t);
                    assert_eq!(&d[..data.len()], data);
                }
                (NdpOption::RedirectedHeader(d0), NdpOption::RedirectedHeader(d1)) => {
                    assert_eq!(&d1[..d0.len()], d0);
                }
                (a, b) => assert_eq!(a, b),
            }
        }
    }
    let Ok(repr) = NdpRepr::parse(ty, 0, body) else {
        return;
    };
    let _ = repr.to_string();
    let _ = (
        repr.source_ll_addr(),
        repr.target_ll_addr(),
        repr.options().count(),
    );
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    let _ = repr.validate(ll, Ipv6Addr::UNSPECIFIED, 255);
    let _ = repr.validate(Ipv6Addr::UNSPECIFIED, ll, 255);
    let mut out = vec![0u8; repr.body_len()];
    assert_eq!(repr.emit_body(&mut out), Ok(out.len()));
    assert_eq!(NdpRepr::parse(ty, 0, &out), Ok(repr));
});
