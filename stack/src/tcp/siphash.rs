//! SipHash-2-4, the keyed 64-bit hash of Aumasson and Bernstein ("SipHash: a fast
//! short-input PRF", INDOCRYPT 2012), written from the paper's specification.
//!
//! TCP uses it as the pseudorandom function F() of RFC 6528 section 3 (initial sequence
//! numbers, [`super::isn`]) and as the MAC inside SYN cookies ([`super::syncookie`]). It is
//! a PRF for short inputs under a 128-bit secret key; it is not a general-purpose
//! cryptographic hash, and nothing here needs one.
//!
//! The paper's algorithm, with `c = 2` compression and `d = 4` finalization rounds:
//!
//! * initialise `v0..v3` from the key `k0, k1` and four constants
//!   (`"somepseudorandomlygeneratedbytes"`);
//! * for each 8-byte little-endian word `m` of the message: `v3 ^= m`, two SipRounds,
//!   `v0 ^= m`;
//! * the last word holds the remaining 0..7 bytes and, in its top byte, the message length
//!   modulo 256;
//! * `v2 ^= 0xff`, four SipRounds, and the result is `v0 ^ v1 ^ v2 ^ v3`.

/// A streaming SipHash-2-4 hasher. Feeding the same bytes in any split gives the same
/// result as [`siphash24`] on their concatenation.
#[derive(Clone, Debug)]
pub struct SipHasher24 {
    v: [u64; 4],
    /// Bytes not yet absorbed, little-endian in the low `ntail` bytes.
    tail: u64,
    ntail: usize,
    /// Total bytes written (only its low byte enters the hash).
    len: u64,
}

impl SipHasher24 {
    /// A hasher keyed with `key` (`k0 = key[0]`, `k1 = key[1]`; the paper's 16-byte key
    /// `k` read as two little-endian words).
    pub fn new(key: [u64; 2]) -> SipHasher24 {
        let [k0, k1] = key;
        SipHasher24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            len: 0,
        }
    }

    /// Absorbs an address's octets (4 for IPv4, 16 for IPv6): the connection-id of RFC
    /// 6528 section 3 and RFC 4987's cookie hash cover the addresses of either family.
    pub fn write_ip(&mut self, ip: std::net::IpAddr) {
        match ip {
            std::net::IpAddr::V4(a) => self.write(&a.octets()),
            std::net::IpAddr::V6(a) => self.write(&a.octets()),
        }
    }

    /// Absorbs `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.len = self.len.wrapping_add(bytes.len() as u64);
        let mut rest = bytes;
        // Top up a partial word first.
        if self.ntail > 0 {
            let take = (8 - self.ntail).min(rest.len());
            for (i, &b) in rest[..take].iter().enumerate() {
                self.tail |= u64::from(b) << (8 * (self.ntail + i));
            }
            self.ntail += take;
            rest = &rest[take..];
            if self.ntail < 8 {
                return;
            }
            let m = self.tail;
            self.compress(m);
            self.tail = 0;
            self.ntail = 0;
        }
        let mut words = rest.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.compress(u64::from_le_bytes(b));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.ntail = words.remainder().len();
    }

    /// Absorbs one byte.
    pub fn write_u8(&mut self, x: u8) {
        self.write(&[x]);
    }

    /// Absorbs `x` as two little-endian bytes.
    pub fn write_u16(&mut self, x: u16) {
        self.write(&x.to_le_bytes());
    }

    /// Absorbs `x` as four little-endian bytes.
    pub fn write_u32(&mut self, x: u32) {
        self.write(&x.to_le_bytes());
    }

    /// Absorbs `x` as eight little-endian bytes.
    pub fn write_u64(&mut self, x: u64) {
        self.write(&x.to_le_bytes());
    }

    /// The hash of everything written so far. The hasher is left unchanged, so more can
    /// be written and `finish` called again.
    pub fn finish(&self) -> u64 {
        let mut h = self.clone();
        let b = h.tail | ((self.len & 0xff) << 56);
        h.compress(b);
        h.v[2] ^= 0xff;
        for _ in 0..4 {
            h.round();
        }
        h.v[0] ^ h.v[1] ^ h.v[2] ^ h.v[3]
    }

    /// One message word through `c = 2` SipRounds.
    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }

    /// SipRound: the paper's ARX network.
    fn round(&mut self) {
        let [mut v0, mut v1, mut v2, mut v3] = self.v;
        v0 = v0.wrapping_add(v1);
        v1 = v1.rotate_left(13);
        v1 ^= v0;
        v0 = v0.rotate_left(32);
        v2 = v2.wrapping_add(v3);
        v3 = v3.rotate_left(16);
        v3 ^= v2;
        v0 = v0.wrapping_add(v3);
        v3 = v3.rotate_left(21);
        v3 ^= v0;
        v2 = v2.wrapping_add(v1);
        v1 = v1.rotate_left(17);
        v1 ^= v2;
        v2 = v2.rotate_left(32);
        self.v = [v0, v1, v2, v3];
    }
}

/// SipHash-2-4 of `data` under `key`.
pub fn siphash24(key: [u64; 2], data: &[u8]) -> u64 {
    let mut h = SipHasher24::new(key);
    h.write(data);
    h.finish()
}

#[cfg(test)]
mod tests;
