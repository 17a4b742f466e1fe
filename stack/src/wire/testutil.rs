//! Helpers shared by the wire tests: mutation of buffers for the no-panic properties.

use proptest::prelude::*;

/// Buffers that stress parsers: random bytes, and `base` truncated or with bytes flipped.
pub fn hostile_buffers(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    let b1 = base.clone();
    let b2 = base.clone();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (0..=len).prop_map(move |n| b1[..n].to_vec()),
        proptest::collection::vec((0..len.max(1), any::<u8>()), 1..8).prop_map(move |muts| {
            let mut b = b2.clone();
            for (i, v) in muts {
                if let Some(x) = b.get_mut(i) {
                    *x = v;
                }
            }
            b
        }),
    ]
}
