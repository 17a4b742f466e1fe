//! SipHash-2-4 against the reference test vectors.

use super::*;

/// The 64 SipHash-2-4 outputs of the reference implementation's `vectors.h`
/// (`vectors_sip64`, github.com/veorq/SipHash), read as little-endian words: entry `i` is
/// the hash of the `i` bytes `00 01 .. (i-1)` under the key `00 01 .. 0f`. Entry 15 is the
/// example worked in the paper's appendix A.
const VECTORS: [u64; 64] = [
    0x726fdb47dd0e0e31,
    0x74f839c593dc67fd,
    0x0d6c8009d9a94f5a,
    0x85676696d7fb7e2d,
    0xcf2794e0277187b7,
    0x18765564cd99a68d,
    0xcbc9466e58fee3ce,
    0xab0200f58b01d137,
    0x93f5f5799a932462,
    0x9e0082df0ba9e4b0,
    0x7a5dbbc594ddb9f3,
    0xf4b32f46226bada7,
    0x751e8fbc860ee5fb,
    0x14ea5627c0843d90,
    0xf723ca908e7af2ee,
    0xa129ca6149be45e5,
    0x3f2acc7f57c29bdb,
    0x699ae9f52cbe4794,
    0x4bc1b3f0968dd39c,
    0xbb6dc91da77961bd,
    0xbed65cf21aa2ee98,
    0xd0f2cbb02e3b67c7,
    0x93536795e3a33e88,
    0xa80c038ccd5ccec8,
    0xb8ad50c6f649af94,
    0xbce192de8a85b8ea,
    0x17d835b85bbb15f3,
    0x2f2e6163076bcfad,
    0xde4daaaca71dc9a5,
    0xa6a2506687956571,
    0xad87a3535c49ef28,
    0x32d892fad841c342,
    0x7127512f72f27cce,
    0xa7f32346f95978e3,
    0x12e0b01abb051238,
    0x15e034d40fa197ae,
    0x314dffbe0815a3b4,
    0x027990f029623981,
    0xcadcd4e59ef40c4d,
    0x9abfd8766a33735c,
    0x0e3ea96b5304a7d0,
    0xad0c42d6fc585992,
    0x187306c89bc215a9,
    0xd4a60abcf3792b95,
    0xf935451de4f21df2,
    0xa9538f0419755787,
    0xdb9acddff56ca510,
    0xd06c98cd5c0975eb,
    0xe612a3cb9ecba951,
    0xc766e62cfcadaf96,
    0xee64435a9752fe72,
    0xa192d576b245165a,
    0x0a8787bf8ecb74b2,
    0x81b3e73d20b49b6f,
    0x7fa8220ba3b2ecea,
    0x245731c13ca42499,
    0xb78dbfaf3a8d83bd,
    0xea1ad565322a1a0b,
    0x60e61c23a3795013,
    0x6606d7e446282b93,
    0x6ca4ecb15c5f91e1,
    0x9f626da15c9625f3,
    0xe51b38608ef25f57,
    0x958a324ceb064572,
];

/// The paper's key `00 01 .. 0f`, as two little-endian words.
const KEY: [u64; 2] = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];

fn message(len: usize) -> Vec<u8> {
    (0..len as u8).collect()
}

/// All 64 reference vectors, lengths 0..=63: empty input, partial words, and every
/// crossing of an 8-byte word boundary.
#[test]
fn reference_vectors_one_shot() {
    for (len, &want) in VECTORS.iter().enumerate() {
        assert_eq!(siphash24(KEY, &message(len)), want, "length {len}");
    }
}

/// The worked example of the paper's appendix A: 15 bytes, result `a129ca6149be45e5`.
#[test]
fn paper_appendix_example() {
    assert_eq!(siphash24(KEY, &message(15)), 0xa129_ca61_49be_45e5);
}

/// Streaming: every split of the input into pieces gives the one-shot result.
#[test]
fn reference_vectors_streamed_in_pieces() {
    for (len, &want) in VECTORS.iter().enumerate() {
        let msg = message(len);
        for piece in 1..=9 {
            let mut h = SipHasher24::new(KEY);
            for chunk in msg.chunks(piece) {
                h.write(chunk);
            }
            assert_eq!(h.finish(), want, "length {len} in pieces of {piece}");
        }
        // Split at every position, with empty writes thrown in.
        for cut in 0..=len {
            let mut h = SipHasher24::new(KEY);
            h.write(&msg[..cut]);
            h.write(&[]);
            h.write(&msg[cut..]);
            assert_eq!(h.finish(), want, "length {len} cut at {cut}");
        }
    }
}

/// `write_u16/u32/u64` absorb little-endian bytes, so they agree with the byte vectors.
#[test]
fn integer_writes_are_little_endian_bytes() {
    let mut h = SipHasher24::new(KEY);
    h.write_u8(0x00);
    h.write_u16(0x0201);
    h.write_u32(0x0605_0403);
    h.write_u64(0x0e0d_0c0b_0a09_0807);
    assert_eq!(h.finish(), VECTORS[15]);
}

/// `finish` does not consume: more input can follow.
#[test]
fn finish_leaves_hasher_usable() {
    let msg = message(20);
    let mut h = SipHasher24::new(KEY);
    h.write(&msg[..9]);
    assert_eq!(h.finish(), VECTORS[9]);
    assert_eq!(h.finish(), VECTORS[9]);
    h.write(&msg[9..]);
    assert_eq!(h.finish(), VECTORS[20]);
}

/// The key matters: one flipped key bit changes the output.
#[test]
fn key_changes_output() {
    let msg = message(12);
    let base = siphash24(KEY, &msg);
    for bit in 0..128 {
        let mut k = KEY;
        k[bit / 64] ^= 1 << (bit % 64);
        assert_ne!(siphash24(k, &msg), base, "key bit {bit}");
    }
}
