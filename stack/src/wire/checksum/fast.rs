//! The bulk of [`super::sum`]: the unfolded one's-complement sum of a byte string as
//! native-order 16-bit words, with vector code where the CPU has it.
//!
//! RFC 1071 section 2 allows any grouping that keeps the sum's value modulo 2^16 - 1:
//! (B) words may be added in wider accumulators and folded at the end, and (C) the sum is
//! byte-order independent, so words are read in native order and the folded sum swapped
//! once by the caller. The vector versions split each 32-bit lane into its two 16-bit
//! words (a mask and a shift, no shuffles) and add both into 32-bit lanes, which cannot
//! overflow within [`FLUSH`] bytes; the lanes are then added into a 64-bit total.
//!
//! The CPU's features are detected at run time (`is_x86_feature_detected!`, cached by the
//! standard library), so one binary runs everywhere and takes AVX-512 or AVX2 where they
//! are; everywhere else the portable loop runs. Tests compare every version the machine
//! can run against the word-by-word reference.

/// Bytes summed into 32-bit lanes before they are added into the 64-bit total. A lane
/// takes at most 2 * 0xffff per 64 bytes (one vector, or one step of [`halves`]), and
/// 2^15 such steps, 2 MiB, stay below 2^32. That is far above any packet, but
/// correctness must not depend on the length, so longer data is summed span by span.
const FLUSH: usize = 1 << 21;

/// The unfolded sum of `data` as native-order 16-bit words (an odd last byte padded
/// with a zero byte after it, which in native order is the word the reference pads).
pub(super) fn native_sum(data: &[u8]) -> u64 {
    // Headers (under one vector) are summed with scalar loads: they are often bytes just
    // written by narrow stores, which a vector load would wait for (it cannot take its
    // data from several pending stores), and there is nothing to gain from vectors there.
    if data.len() < 64 {
        return tail(data);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512F and AVX-512BW, checked just above, which is
            // all `x86::sum_avx512` is compiled to use.
            return unsafe { x86::sum_avx512(data) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { x86::sum_avx2(data) };
        }
    }
    portable(data)
}

/// Copies `src` into `dst` (of the same length) and returns [`native_sum`] of it, in one
/// pass where the CPU has AVX-512: each vector is loaded once, stored and summed.
///
/// # Panics
///
/// If the lengths differ.
pub(super) fn copy_native_sum(dst: &mut [u8], src: &[u8]) -> u64 {
    assert_eq!(dst.len(), src.len(), "copy_native_sum: lengths differ");
    #[cfg(target_arch = "x86_64")]
    if src.len() >= 64 && std::arch::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512F and AVX-512BW (checked just above), and `dst` is
        // valid for `src.len()` bytes of writes (a slice of that length, borrowed
        // mutably, so it overlaps nothing `src` borrows).
        return unsafe { x86::copy_sum_avx512(dst.as_mut_ptr(), src) };
    }
    dst.copy_from_slice(src);
    native_sum(src)
}

/// Appends `src` to `dst` and returns [`native_sum`] of it, in one pass where the CPU has
/// AVX-512 (the bytes are stored straight into the vector's spare capacity, with no
/// zeroing first).
pub(super) fn append_native_sum(dst: &mut Vec<u8>, src: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if src.len() >= 64 && std::arch::is_x86_feature_detected!("avx512bw") {
        dst.reserve(src.len());
        let len = dst.len();
        let spare = dst.spare_capacity_mut();
        // SAFETY: the CPU has AVX-512F and AVX-512BW (checked just above); `spare` has
        // room for at least `src.len()` bytes after the `reserve`, and is memory `dst`
        // owns, which `src` (a shared borrow alive beside `&mut dst`) cannot overlap.
        let total = unsafe { x86::copy_sum_avx512(spare.as_mut_ptr().cast(), src) };
        // SAFETY: `copy_sum_avx512` wrote all `src.len()` bytes after the old length, so
        // they are initialized, and they are within the capacity (the `reserve`).
        unsafe { dst.set_len(len + src.len()) };
        return total;
    }
    dst.extend_from_slice(src);
    native_sum(src)
}

/// The sum in plain Rust: native-order 32-bit words into eight independent 64-bit
/// accumulators (32 bytes a step, kept in vector registers by the compiler); no carry is
/// lost before 2^32 words (16 GiB).
pub(super) fn portable(data: &[u8]) -> u64 {
    let mut lanes = [0u64; 8];
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(4)) {
            *lane += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
        }
    }
    let native: u64 = lanes.iter().sum();
    native + tail(blocks.remainder())
}

/// The sum of a short tail (under one block): 32-bit words, then a 16-bit word, then an
/// odd byte padded with zero.
#[inline(always)]
fn tail(mut rest: &[u8]) -> u64 {
    let mut native = 0u64;
    while let [a, b, c, d, more @ ..] = rest {
        native += u64::from(u32::from_ne_bytes([*a, *b, *c, *d]));
        rest = more;
    }
    let mut words = rest.chunks_exact(2);
    for w in &mut words {
        native += u64::from(u16::from_ne_bytes([w[0], w[1]]));
    }
    if let [b] = words.remainder() {
        native += u64::from(u16::from_ne_bytes([*b, 0]));
    }
    native
}

/// Sixteen 32-bit lanes, each taking both 16-bit halves of a native 32-bit word: the
/// shape the compiler turns into vector code (mask, shift, two adds) when the CPU
/// features allow it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn halves(data: &[u8]) -> u64 {
    let mut total = 0u64;
    for span in data.chunks(FLUSH) {
        let mut lanes = [0u32; 16];
        let mut blocks = span.chunks_exact(64);
        for b in &mut blocks {
            for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(4)) {
                let w = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]);
                *lane += (w & 0xffff) + (w >> 16);
            }
        }
        total += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
        total += tail(blocks.remainder());
    }
    total
}

#[cfg(target_arch = "x86_64")]
pub(super) mod x86 {
    use std::arch::x86_64::{
        __m512i, _mm512_add_epi32, _mm512_add_epi64, _mm512_and_si512, _mm512_loadu_si512,
        _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8, _mm512_reduce_add_epi64,
        _mm512_set1_epi32, _mm512_set1_epi64, _mm512_setzero_si512, _mm512_srli_epi32,
        _mm512_srli_epi64, _mm512_storeu_si512,
    };

    /// [`super::halves`] compiled for AVX2 (32-byte vectors).
    #[target_feature(enable = "avx2")]
    pub(in crate::wire::checksum) fn sum_avx2(data: &[u8]) -> u64 {
        super::halves(data)
    }

    /// Both 16-bit words of every 32-bit lane of `x`, added into the lanes of `acc`.
    #[target_feature(enable = "avx512f")]
    fn add_words(acc: __m512i, x: __m512i) -> __m512i {
        let lo = _mm512_and_si512(x, _mm512_set1_epi32(0xffff));
        _mm512_add_epi32(acc, _mm512_add_epi32(lo, _mm512_srli_epi32::<16>(x)))
    }

    /// The sixteen 32-bit lanes of `acc` added into one 64-bit value.
    #[target_feature(enable = "avx512f")]
    fn lanes_total(acc: __m512i) -> u64 {
        let even = _mm512_and_si512(acc, _mm512_set1_epi64(0xffff_ffff));
        let odd = _mm512_srli_epi64::<32>(acc);
        // Each 64-bit lane holds two values below 2^32: the sum of eight is below 2^36.
        _mm512_reduce_add_epi64(_mm512_add_epi64(even, odd)) as u64
    }

    /// The sum with 64-byte vectors: two accumulators over 128 bytes a step, then one
    /// vector, then the last 0-63 bytes by a masked load, which reads only the bytes
    /// inside the slice and gives zeros for the rest (so an odd last byte is padded with
    /// zero, as the reference pads it).
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(in crate::wire::checksum) fn sum_avx512(data: &[u8]) -> u64 {
        let mut total = 0u64;
        for span in data.chunks(super::FLUSH) {
            let (mut a0, mut a1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            let mut pairs = span.chunks_exact(128);
            for p in &mut pairs {
                let p = p.as_ptr();
                // SAFETY: `p` points at 128 readable bytes (a `chunks_exact(128)` item);
                // the loads are unaligned loads of bytes 0..64 and 64..128 of it.
                let (x, y) = unsafe {
                    (
                        _mm512_loadu_si512(p.cast()),
                        _mm512_loadu_si512(p.add(64).cast()),
                    )
                };
                a0 = add_words(a0, x);
                a1 = add_words(a1, y);
            }
            let mut rest = pairs.remainder();
            if rest.len() >= 64 {
                // SAFETY: `rest` holds at least 64 readable bytes.
                let x = unsafe { _mm512_loadu_si512(rest.as_ptr().cast()) };
                a0 = add_words(a0, x);
                rest = &rest[64..];
            }
            if !rest.is_empty() {
                // One mask bit per byte of `rest` (fewer than 64 of them).
                let mask = (1u64 << rest.len()) - 1;
                // SAFETY: the masked load reads only the bytes whose mask bit is set, the
                // first `rest.len()` bytes, all inside `rest`; masked-off bytes are
                // neither read nor faulted on (AVX-512 fault suppression) and load as zero.
                let x = unsafe { _mm512_maskz_loadu_epi8(mask, rest.as_ptr().cast()) };
                a1 = add_words(a1, x);
            }
            total += lanes_total(a0) + lanes_total(a1);
        }
        total
    }

    /// Copies `src` to `dst` and sums it, one 64-byte vector at a time (loaded once,
    /// stored, and its words added), the last 0-63 bytes by masked load and store.
    ///
    /// # Safety
    ///
    /// `dst` must be valid for `src.len()` bytes of writes and not overlap `src`.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(in crate::wire::checksum) unsafe fn copy_sum_avx512(dst: *mut u8, src: &[u8]) -> u64 {
        let mut total = 0u64;
        let mut done = 0;
        for span in src.chunks(super::FLUSH) {
            let (mut a0, mut a1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            let mut pairs = span.chunks_exact(128);
            for p in &mut pairs {
                let p = p.as_ptr();
                // SAFETY: `p` points at 128 readable bytes, and `dst + done` at 128
                // writable ones (the caller's promise for `src.len()` bytes; `done` counts
                // the bytes before `p` in `src`).
                unsafe {
                    let (x, y) = (
                        _mm512_loadu_si512(p.cast()),
                        _mm512_loadu_si512(p.add(64).cast()),
                    );
                    _mm512_storeu_si512(dst.add(done).cast(), x);
                    _mm512_storeu_si512(dst.add(done + 64).cast(), y);
                    a0 = add_words(a0, x);
                    a1 = add_words(a1, y);
                }
                done += 128;
            }
            let mut rest = pairs.remainder();
            if rest.len() >= 64 {
                // SAFETY: 64 readable bytes at `rest`, 64 writable at `dst + done`.
                unsafe {
                    let x = _mm512_loadu_si512(rest.as_ptr().cast());
                    _mm512_storeu_si512(dst.add(done).cast(), x);
                    a0 = add_words(a0, x);
                }
                done += 64;
                rest = &rest[64..];
            }
            if !rest.is_empty() {
                let mask = (1u64 << rest.len()) - 1;
                // SAFETY: the masked load reads, and the masked store writes, only the
                // first `rest.len()` bytes (fault suppression covers the rest), all inside
                // `rest` and inside the caller's `dst` range.
                unsafe {
                    let x = _mm512_maskz_loadu_epi8(mask, rest.as_ptr().cast());
                    _mm512_mask_storeu_epi8(dst.add(done).cast(), mask, x);
                    a1 = add_words(a1, x);
                }
                done += rest.len();
            }
            total += lanes_total(a0) + lanes_total(a1);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The word-by-word reference: big-endian 16-bit words, an odd byte padded with zero.
    fn reference(data: &[u8]) -> u16 {
        let mut acc = 0u64;
        for w in data.chunks(2) {
            acc += u64::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        super::super::fold(acc)
    }

    /// A native-order sum folded and read as the big-endian sum (RFC 1071 2(C)).
    fn folded_be(native: u64) -> u16 {
        u16::from_be_bytes(super::super::fold(native).to_ne_bytes())
    }

    /// A version of the sum, by name.
    type Version = (&'static str, fn(&[u8]) -> u64);

    /// Every version this machine can run.
    fn versions() -> Vec<Version> {
        let mut v: Vec<Version> = vec![("dispatch", native_sum), ("portable", portable)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present, checked just above.
                v.push(("avx2", |d| unsafe { x86::sum_avx2(d) }));
            }
            if std::arch::is_x86_feature_detected!("avx512bw") {
                // SAFETY: AVX-512BW (and so AVX-512F) is present, checked just above.
                v.push(("avx512", |d| unsafe { x86::sum_avx512(d) }));
            }
        }
        v
    }

    #[track_caller]
    fn check_all(data: &[u8]) {
        let want = reference(data);
        for (name, f) in versions() {
            assert_eq!(folded_be(f(data)), want, "{name}, {} bytes", data.len());
        }
    }

    /// Every length from 0 to 300 at every start offset within a 64-byte line (so each
    /// vector load and masked tail meets every alignment), random bytes and all ones.
    #[test]
    fn every_length_and_alignment_matches_reference() {
        let mut rng = crate::rand::Rng::new(11);
        let mut buf = vec![0u8; 400];
        rng.fill(&mut buf);
        let ones = vec![0xffu8; 400];
        for start in 0..64 {
            for len in 0..300 {
                check_all(&buf[start..start + len]);
                check_all(&ones[start..start + len]);
            }
        }
    }

    /// Past the span at which the 32-bit lanes are flushed: all-ones data makes every
    /// lane take its maximum each step, so a lost carry would show.
    #[test]
    fn long_all_ones_flushes_without_overflow() {
        for len in [FLUSH - 1, FLUSH, FLUSH + 1, 2 * FLUSH + 129, 5 * FLUSH + 63] {
            check_all(&vec![0xffu8; len]);
        }
    }

    /// Copying with the sum gives the bytes and the sum of the plain copy and sum, at
    /// every length and alignment of source and destination.
    #[test]
    fn copy_and_append_match_copy_then_sum() {
        let mut rng = crate::rand::Rng::new(12);
        let mut src = vec![0u8; 700];
        rng.fill(&mut src);
        for start in [0, 1, 3, 31, 63] {
            for dst_start in [0, 1, 17] {
                for len in (0..600).step_by(7).chain([64, 127, 128, 129, 191, 192]) {
                    let data = &src[start..start + len];
                    let mut dst = vec![0xeeu8; dst_start + len + 70];
                    let got = copy_native_sum(&mut dst[dst_start..dst_start + len], data);
                    assert_eq!(&dst[dst_start..dst_start + len], data);
                    assert!(
                        dst[..dst_start]
                            .iter()
                            .chain(&dst[dst_start + len..])
                            .all(|&b| b == 0xee),
                        "wrote outside, len {len}"
                    );
                    assert_eq!(folded_be(got), reference(data), "copy, len {len}");
                    let mut v = vec![0x11u8; dst_start];
                    let got = append_native_sum(&mut v, data);
                    assert_eq!(&v[dst_start..], data);
                    assert_eq!(folded_be(got), reference(data), "append, len {len}");
                }
            }
        }
        let ones = vec![0xffu8; 2 * FLUSH + 77];
        let mut dst = vec![0u8; ones.len()];
        assert_eq!(
            folded_be(copy_native_sum(&mut dst, &ones)),
            reference(&ones)
        );
        assert_eq!(dst, ones);
    }

    proptest! {
        /// Random data at random lengths and alignments sums as the reference does.
        #[test]
        fn random_matches_reference(
            data in proptest::collection::vec(any::<u8>(), 0..4000),
            start in 0usize..64,
        ) {
            let start = start.min(data.len());
            let want = reference(&data[start..]);
            for (name, f) in versions() {
                prop_assert_eq!(folded_be(f(&data[start..])), want, "{}", name);
            }
        }
    }
}
