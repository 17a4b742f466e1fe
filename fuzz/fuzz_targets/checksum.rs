//! The Internet checksum's fast paths (`checksum::sum` with AVX-512/AVX2 where the CPU has
//! them, `copy_and_sum`, `append_and_sum`, `sum_at`) against the word-by-word RFC 1071
//! sum. Input: one byte of start offset (0-63, so every alignment of the vector loads is
//! reached), one byte choosing the split point, then the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::wire::checksum;

/// RFC 1071 4.1: big-endian 16-bit words, an odd last byte padded with zero.
fn reference(data: &[u8]) -> u16 {
    let mut acc = 0u64;
    for w in data.chunks(2) {
        acc += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    checksum::fold(acc)
}

fuzz_target!(|input: &[u8]| {
    let [start, split, rest @ ..] = input else {
        return;
    };
    let data = &rest[usize::from(*start % 64).min(rest.len())..];
    let want = reference(data);
    assert_eq!(checksum::fold(checksum::sum(0, data)), want, "sum");

    let mut dst = vec![0u8; data.len() + 1];
    let got = checksum::copy_and_sum(0, &mut dst[1..], data);
    assert_eq!(checksum::fold(got), want, "copy_and_sum");
    assert_eq!(&dst[1..], data, "copy_and_sum bytes");

    let mut v = vec![0x5a; usize::from(*split % 3)];
    let lead = v.len();
    let got = checksum::append_and_sum(0, &mut v, data);
    assert_eq!(checksum::fold(got), want, "append_and_sum");
    assert_eq!(&v[lead..], data, "append_and_sum bytes");

    // Two pieces, the second at an odd or even offset, make the whole.
    let at = (usize::from(*split) * data.len() / 255).min(data.len());
    let (a, b) = data.split_at(at);
    let first = checksum::sum(0, a);
    assert_eq!(checksum::fold(checksum::sum_at(first, b, at)), want, "sum_at");
    let part = checksum::copy_and_sum(0, &mut dst[..b.len()], b);
    assert_eq!(checksum::fold(checksum::add_at(first, part, at)), want, "add_at");
});
