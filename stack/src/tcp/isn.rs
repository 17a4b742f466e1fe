//! Initial sequence numbers (RFC 6528 section 3; RFC 9293 section 3.4.1).
//!
//! RFC 9293 3.4.1 (MUST-8) asks for a clock-driven ISN, and (SHLD-1) for the algorithm of
//! RFC 6528, section 3:
//!
//! ```text
//! ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//! ```
//!
//! RFC 9293 3.4.1 words it: "where M is the 4 microsecond timer, and F() is a
//! pseudorandom function (PRF) of the connection's identifying parameters ... and a
//! secret key ... F() MUST NOT be computable from the outside (MUST-9), or an attacker
//! could still guess at sequence numbers from the ISN used for some other connection."
//!
//! The two halves answer two different threats (RFC 6528 sections 1 and 3):
//!
//! * **M**, the clock, makes successive ISNs of one connection-id increase, at 250,000
//!   per second, so a new incarnation of a 4-tuple starts above the sequence numbers of
//!   the old one and its old duplicates are not mistaken for new data (RFC 9293 3.4.1).
//! * **F**, keyed by a secret, gives every connection-id its own unguessable offset into
//!   the sequence space. Without it a global counter leaks: an attacker opens a connection
//!   of their own, reads its ISN, and predicts the ISN of a connection they are spoofing
//!   (Morris 1985, Bellovin 1989; the blind-spoofing attack RFC 6528 exists to stop).
//!   With F, seeing the ISNs of one's own connections says nothing about another
//!   4-tuple's.
//!
//! Here F is SipHash-2-4 ([`super::siphash`]) keyed with 128 secret bits drawn from the
//! stack's [`Rng`] (RFC 6528 section 3: "Key lengths of 128 bits should be adequate"),
//! truncated to 32 bits. The key is fixed for the generator's lifetime: RFC 6528 section 3
//! discusses changing it from time to time, but a new key moves every 4-tuple to a new
//! offset and so gives up, for reincarnated connections, the monotonicity M provides.
//! Rekeying is left to whoever owns the generator (make a new one).

use core::net::SocketAddr;

use super::siphash::SipHasher24;
use super::SeqNum;
use crate::rand::Rng;
use crate::time::Instant;

/// Microseconds per tick of RFC 6528's timer M.
pub const TICK_MICROS: u64 = 4;

/// Chooses initial sequence numbers per RFC 6528. Holds only its secret key.
#[derive(Clone)]
pub struct IsnGenerator {
    key: [u64; 2],
}

impl core::fmt::Debug for IsnGenerator {
    /// Keeps the secret out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IsnGenerator").finish_non_exhaustive()
    }
}

impl IsnGenerator {
    /// A generator with a fresh 128-bit secret from `rng`.
    pub fn new(rng: &mut Rng) -> IsnGenerator {
        IsnGenerator {
            key: [rng.next_u64(), rng.next_u64()],
        }
    }

    /// The ISN for a connection from `local` to `remote` opened at `now`:
    /// `M + F(local, remote)` modulo 2^32 (RFC 6528 section 3).
    pub fn isn(&self, local: SocketAddr, remote: SocketAddr, now: Instant) -> SeqNum {
        let m = (now.total_micros() / TICK_MICROS) as u32;
        SeqNum(m.wrapping_add(self.offset(local, remote)))
    }

    /// F(): the keyed hash of the connection-id, truncated to 32 bits.
    fn offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        let mut h = SipHasher24::new(self.key);
        h.write_ip(local.ip());
        h.write(&local.port().to_be_bytes());
        h.write_ip(remote.ip());
        h.write(&remote.port().to_be_bytes());
        h.finish() as u32
    }
}

#[cfg(test)]
mod tests;
