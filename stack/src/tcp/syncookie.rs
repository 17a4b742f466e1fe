//! SYN cookies (RFC 4987 section 3.6), after D. J. Bernstein's design and Linux's
//! `net/ipv4/syncookies.c`.
//!
//! When a listener's SYN queue is full, it can still answer a SYN: it sends the SYN-ACK
//! with an initial sequence number that *is* the state it would have queued, authenticated
//! with a secret, and forgets the SYN. A genuine peer's final ACK acknowledges
//! `cookie + 1`, so the listener gets the cookie back, checks it, and rebuilds the
//! connection from it. An attacker flooding spoofed SYNs never sees the SYN-ACKs and so
//! cannot produce the ACKs; the listener's memory does not grow with the flood.
//!
//! # Layout
//!
//! Bernstein's cookie (quoted by RFC 4987 3.6) is the difference between the server's and
//! the client's ISN: 5 bits of a 64-second counter `t mod 32`, 3 bits indexing a table of
//! eight MSS values, 24 bits of a secret function of the 4-tuple and `t`. This module
//! keeps that layout and adds two things:
//!
//! ```text
//! cookie = W(4-tuple) + peer_isn + v        (mod 2^32)
//! v      = [ t mod 32 : 5 ][ mss index : 3 ][ MAC(4-tuple, peer_isn, t, mss index) : 24 ]
//! ```
//!
//! * `W`, a keyed hash of the 4-tuple (as Linux adds its first `cookie_hash`), whitens the
//!   cookie so the whole 32-bit ISN is unpredictable to anyone without the secret, as
//!   RFC 6528 section 3 wants of every ISN ([`super::isn`]).
//! * The MAC covers the MSS index and the peer's ISN too, not just the 4-tuple and `t`.
//!   In Bernstein's and Linux's cookies the MSS bits are outside the MAC, so flipping
//!   them yields another valid cookie with another MSS; here any single-bit change is
//!   rejected unless a 24-bit MAC collides.
//!
//! The MAC is SipHash-2-4 ([`super::siphash`]) over the full 64-bit counter, so a cookie
//! replayed 32 periods later (when `t mod 32` comes round again) fails the MAC.
//!
//! # Freshness
//!
//! `t` counts [`PERIOD`]s (64 s, as in Bernstein's scheme; Linux uses 60 s). A cookie is
//! accepted while the counter is at most one period past the one it was made in
//! ([`MAX_AGE_PERIODS`] = 2 values of `t`, like Linux's `MAX_SYNCOOKIE_AGE`): it lives
//! between 64 and 128 seconds, depending on where in its period it was made. Cookies
//! whose counter field is ahead of the clock are rejected.
//!
//! # Forgery
//!
//! For a fixed 4-tuple and SEQ, a guessed ACK passes if its counter field is one of the
//! 2 acceptable values out of 32 and its 24 MAC bits match the MAC for its MSS index:
//! probability `2/32 * 2^-24 = 2^-28` (about 3.7e-9) per guess. The tests measure this
//! over 100,000 random and 128,000 single-bit-flip forgeries: none is accepted (the
//! expected numbers are 0.0004 and below 0.008), and the rejection reasons split as
//! predicted.
//! A listener should only accept cookies while it has recently been sending them (Linux:
//! `tcp_synq_no_recent_overflow`), so that this surface is not open all the time.
//!
//! # What a cookie connection loses (RFC 4987 3.6)
//!
//! The listener keeps nothing from the SYN but what the cookie holds, so:
//!
//! * **MSS** is rounded down to an entry of [`MSS_TABLE`].
//! * **Window scale and SACK** are lost unless the SYN carried timestamps and the
//!   listener encodes them in its TSval ([`SynCookies::generate_ts`], as Linux does). A
//!   cookie SYN-ACK to a SYN without timestamps must therefore *omit* the Window Scale
//!   and SACK-Permitted options (RFC 7323 2.2: scaling is in effect only if both SYNs
//!   carry it; RFC 2018: SACK only if SACK-Permitted was exchanged): the connection runs
//!   with an unscaled window (at most 65,535 bytes in flight each way) and recovers from
//!   loss without SACK. Whatever the listener itself advertises (its own window scale,
//!   its window) must be a deterministic function of its configuration, since it has to
//!   rebuild the same values when the ACK arrives.
//! * **The SYN-ACK is not retransmitted** (there is no state to time out from); if it is
//!   lost, the client's retransmitted SYN gets a fresh cookie.
//! * **Data carried on the SYN** is dropped (the client retransmits it).
//! * **A lost final ACK** is not repaired by the server: a client that then waits for
//!   the server to speak first hangs (RFC 4987 3.6). Any later client segment with
//!   SEQ = peer ISN + 1 and ACK = cookie + 1 (its first data segment, say) validates just
//!   as well as the bare ACK.

use core::net::SocketAddr;

use super::siphash::SipHasher24;
use super::SeqNum;
use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// The MSS values a cookie can encode, ascending; the index is 3 bits.
///
/// 48 is the floor (Linux's `tcp_min_snd_mss` default); 536 is the default MSS when the
/// SYN has no MSS option (RFC 9293 3.7.1); 1220 (IPv6-minimum and tunnel paths), 1360,
/// 1440 (tunnels, PPPoE and VPN clamps) and 1460 (Ethernet) are the common values Linux's
/// table is drawn from; 256 catches small embedded peers and 8960 jumbo frames.
pub const MSS_TABLE: [u16; 8] = [48, 256, 536, 1220, 1360, 1440, 1460, 8960];

/// The tick of the cookie counter `t` (Bernstein: "a 32-bit time counter that increases
/// every 64 seconds").
pub const PERIOD: Duration = Duration::from_secs(64);

/// How many values of the counter are accepted: the current one and the one before.
pub const MAX_AGE_PERIODS: u64 = 2;

/// How many low bits of the TSval carry options ([`SynCookies::generate_ts`]).
pub const TS_OPTION_BITS: u32 = 5;

const COUNT_BITS: u32 = 5;
const MSS_BITS: u32 = 3;
const MAC_BITS: u32 = 24;
const MAC_MASK: u32 = (1 << MAC_BITS) - 1;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const _: () = assert!(COUNT_BITS + MSS_BITS + MAC_BITS == 32);
const _: () = assert!(MSS_TABLE.len() == 1 << MSS_BITS);

/// What a cookie carries back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieInfo {
    /// One of [`MSS_TABLE`], rounded down from the peer's MSS.
    pub mss: u16,
}

/// The options a cookie can carry in the low bits of the SYN-ACK's TSval, when the SYN
/// carried a Timestamps option (Linux's `cookie_init_timestamp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TsCookieOptions {
    /// The shift count of the peer's Window Scale option (0..=14), `None` if it sent none.
    pub wscale: Option<u8>,
    /// Whether the peer's SYN carried SACK-Permitted.
    pub sack_permitted: bool,
}

/// Why a cookie was refused (kept apart for the tests' forgery measurements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reject {
    /// The counter field is not the current period or the one before.
    OutOfWindow,
    /// The counter is acceptable but the MAC does not match.
    BadMac,
}

/// A stateless SYN-cookie generator and checker. It holds only two 128-bit secrets;
/// [`generate`](Self::generate) and [`validate`](Self::validate) take `&self` and keep
/// nothing, however many SYNs arrive.
#[derive(Clone)]
pub struct SynCookies {
    /// Key of W, the whitening hash of the 4-tuple.
    whiten_key: [u64; 2],
    /// Key of the MAC.
    mac_key: [u64; 2],
}

impl core::fmt::Debug for SynCookies {
    /// Keeps the secrets out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SynCookies").finish_non_exhaustive()
    }
}

impl SynCookies {
    /// A cookie jar with fresh secrets from `rng`.
    pub fn new(rng: &mut Rng) -> SynCookies {
        SynCookies {
            whiten_key: [rng.next_u64(), rng.next_u64()],
            mac_key: [rng.next_u64(), rng.next_u64()],
        }
    }

    /// The ISN to send in the SYN-ACK for a SYN from `remote` to `local` with sequence
    /// number `peer_isn` and the peer's MSS option (536 when absent, RFC 9293 3.7.1).
    /// Returns the cookie ISN and the MSS actually encoded: the largest [`MSS_TABLE`] entry
    /// not above `peer_mss`, or the table's floor (48) for a smaller `peer_mss`.
    pub fn generate(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        peer_isn: SeqNum,
        peer_mss: u16,
        now: Instant,
    ) -> (SeqNum, u16) {
        let idx = MSS_TABLE.iter().rposition(|&m| m <= peer_mss).unwrap_or(0);
        let count = counter(now);
        let v = ((count & COUNT_MASK) as u32) << (MSS_BITS + MAC_BITS)
            | (idx as u32) << MAC_BITS
            | self.mac(local, remote, peer_isn, count, idx);
        let cookie = self
            .whiten(local, remote)
            .wrapping_add(peer_isn.0)
            .wrapping_add(v);
        (SeqNum(cookie), MSS_TABLE[idx])
    }

    /// Checks the segment completing a cookie handshake: `seg_seq` is its SEQ (the peer's
    /// ISN + 1), `seg_ack` its ACK (the cookie + 1). Returns what the cookie carries if it
    /// was made by this jar for this 4-tuple and peer ISN, in the current or previous
    /// [`PERIOD`] of `now`; otherwise `None`.
    pub fn validate(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        seg_seq: SeqNum,
        seg_ack: SeqNum,
        now: Instant,
    ) -> Option<CookieInfo> {
        self.check(local, remote, seg_seq, seg_ack, now).ok()
    }

    fn check(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        seg_seq: SeqNum,
        seg_ack: SeqNum,
        now: Instant,
    ) -> Result<CookieInfo, Reject> {
        let peer_isn = seg_seq - 1;
        let cookie = (seg_ack - 1).0;
        let v = cookie
            .wrapping_sub(self.whiten(local, remote))
            .wrapping_sub(peer_isn.0);
        let field = u64::from(v >> (MSS_BITS + MAC_BITS));
        let idx = ((v >> MAC_BITS) & ((1 << MSS_BITS) - 1)) as usize;
        let now_count = counter(now);
        // Age in periods, modulo 32: a field ahead of the clock looks very old.
        let age = now_count.wrapping_sub(field) & COUNT_MASK;
        if age >= MAX_AGE_PERIODS {
            return Err(Reject::OutOfWindow);
        }
        let count = now_count.checked_sub(age).ok_or(Reject::OutOfWindow)?;
        if v & MAC_MASK != self.mac(local, remote, peer_isn, count, idx) {
            return Err(Reject::BadMac);
        }
        Ok(CookieInfo {
            mss: MSS_TABLE[idx],
        })
    }

    /// The TSval to send in a cookie SYN-ACK when the SYN carried timestamps: `ts_now`
    /// (the TSval the stack would send now) with its low [`TS_OPTION_BITS`] bits replaced
    /// by `opts`, and moved back by 32 if that made it larger than `ts_now`, so the
    /// connection's later TSvals never go backwards (RFC 7323 section 5: PAWS at the peer).
    ///
    /// Layout, after Linux: bits 0-3 the peer's window-scale shift (15 = none; a shift
    /// above 14 is sent as 14, RFC 7323 2.3), bit 4 SACK-Permitted. These bits are not
    /// authenticated: they only repeat what the peer's own SYN asked for, and a peer able
    /// to pass the sequence-number cookie could have asked for anything in that SYN.
    pub fn generate_ts(ts_now: u32, opts: TsCookieOptions) -> u32 {
        let mask = (1u32 << TS_OPTION_BITS) - 1;
        let wscale = opts.wscale.map_or(0xf, |s| u32::from(s.min(14)));
        let bits = wscale | u32::from(opts.sack_permitted) << 4;
        let ts = (ts_now & !mask) | bits;
        if super::rtt::ts_before(ts_now, ts) {
            ts.wrapping_sub(1 << TS_OPTION_BITS)
        } else {
            ts
        }
    }

    /// The options a cookie SYN-ACK's TSval carried, read back from the TSecr of the ACK
    /// that completes the handshake (it echoes our TSval, RFC 7323 3.2). Use it only for a
    /// connection whose SYN carried timestamps and whose ACK carries a Timestamps option;
    /// without one, the connection has neither window scaling nor SACK.
    pub fn decode_ts(tsecr: u32) -> TsCookieOptions {
        let ws = (tsecr & 0xf) as u8;
        TsCookieOptions {
            wscale: (ws != 0xf).then_some(ws),
            sack_permitted: tsecr & 0x10 != 0,
        }
    }

    /// W: the keyed hash of the 4-tuple that whitens the cookie.
    fn whiten(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        let mut h = SipHasher24::new(self.whiten_key);
        write_tuple(&mut h, local, remote);
        h.finish() as u32
    }

    /// The 24-bit MAC over everything the cookie vouches for.
    fn mac(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        peer_isn: SeqNum,
        count: u64,
        idx: usize,
    ) -> u32 {
        let mut h = SipHasher24::new(self.mac_key);
        write_tuple(&mut h, local, remote);
        h.write_u32(peer_isn.0);
        h.write_u64(count);
        h.write_u8(idx as u8);
        h.finish() as u32 & MAC_MASK
    }
}

fn write_tuple(h: &mut SipHasher24, local: SocketAddr, remote: SocketAddr) {
    h.write_ip(local.ip());
    h.write(&local.port().to_be_bytes());
    h.write_ip(remote.ip());
    h.write(&remote.port().to_be_bytes());
}

/// The cookie counter `t`: whole [`PERIOD`]s since the clock's epoch.
fn counter(now: Instant) -> u64 {
    now.total_micros() / PERIOD.total_micros()
}

#[cfg(test)]
mod tests;
