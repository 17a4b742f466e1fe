//! SYN cookies: round trips, binding to the 4-tuple and peer ISN, freshness, forgery.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::*;

fn addr(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port).into()
}

const LOCAL: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 80));
const REMOTE: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), 43_210));

fn jar() -> SynCookies {
    SynCookies::new(&mut Rng::new(0x5eed))
}

/// The start of cookie period `k`.
fn period(k: u64) -> Instant {
    Instant::ZERO + PERIOD.saturating_mul(k)
}

fn random_addr(rng: &mut Rng) -> SocketAddr {
    SocketAddrV4::new(Ipv4Addr::from(rng.next_u32()), rng.next_u32() as u16).into()
}

/// The handshake's final ACK for a cookie: SEQ = peer ISN + 1, ACK = cookie + 1
/// (RFC 9293 3.5, figure 6, step 4).
fn complete(
    j: &SynCookies,
    local: SocketAddr,
    remote: SocketAddr,
    peer_isn: SeqNum,
    cookie: SeqNum,
    now: Instant,
) -> Option<CookieInfo> {
    j.validate(local, remote, peer_isn + 1, cookie + 1, now)
}

/// RFC 4987 3.6: the ACK gives back the cookie, and the listener rebuilds the MSS from it,
/// for every entry of the table, at any peer ISN (including across the 2^32 wrap) and at
/// any time.
#[test]
fn round_trip_every_mss_entry() {
    let j = jar();
    let isns = [0u32, 1, 0x7fff_ffff, 0xffff_fffe, u32::MAX, 0x1234_5678];
    for (i, &mss) in MSS_TABLE.iter().enumerate() {
        for &isn in &isns {
            let now = period(1000 + i as u64) + Duration::from_micros(u64::from(isn) % 64_000_000);
            let (cookie, encoded) = j.generate(LOCAL, REMOTE, SeqNum(isn), mss, now);
            assert_eq!(encoded, mss);
            assert_eq!(
                complete(&j, LOCAL, REMOTE, SeqNum(isn), cookie, now),
                Some(CookieInfo { mss }),
                "mss {mss} isn {isn}"
            );
        }
    }
}

/// The encoded MSS is the largest table entry not above the peer's (never more than the
/// peer can take), with the table's floor for tiny values.
#[test]
fn mss_rounds_down_to_the_table() {
    let j = jar();
    let now = period(5);
    let cases = [
        (0, 48),
        (47, 48),
        (48, 48),
        (255, 48),
        (256, 256),
        (535, 256),
        (536, 536), // RFC 9293 3.7.1: the default when the SYN has no MSS option
        (1219, 536),
        (1220, 1220),
        (1400, 1360),
        (1452, 1440),
        (1459, 1440),
        (1460, 1460),
        (1461, 1460),
        (8959, 1460),
        (8960, 8960),
        (65_495, 8960),
        (u16::MAX, 8960),
    ];
    for (peer, want) in cases {
        let (cookie, got) = j.generate(LOCAL, REMOTE, SeqNum(99), peer, now);
        assert_eq!(got, want, "peer mss {peer}");
        let info = complete(&j, LOCAL, REMOTE, SeqNum(99), cookie, now);
        assert_eq!(info, Some(CookieInfo { mss: want }), "peer mss {peer}");
    }
}

/// The cookie is bound to the 4-tuple: changing any one of the four fields (or reversing
/// the direction) makes the ACK fail.
#[test]
fn other_four_tuple_rejected() {
    let j = jar();
    let now = period(77);
    let isn = SeqNum(0xdead_beef);
    let (cookie, _) = j.generate(LOCAL, REMOTE, isn, 1460, now);
    assert!(complete(&j, LOCAL, REMOTE, isn, cookie, now).is_some());
    let others = [
        (addr(10, 77, 0, 3, 80), REMOTE),
        (addr(10, 77, 0, 2, 8080), REMOTE),
        (LOCAL, addr(10, 77, 0, 9, 43_210)),
        (LOCAL, addr(10, 77, 0, 1, 43_211)),
        (REMOTE, LOCAL),
    ];
    for (l, r) in others {
        assert_eq!(complete(&j, l, r, isn, cookie, now), None, "{l} <- {r}");
    }
}

/// The cookie is bound to the peer's ISN: an ACK whose SEQ is not peer ISN + 1 fails.
#[test]
fn peer_isn_mismatch_rejected() {
    let j = jar();
    let now = period(3);
    let isn = SeqNum(1_000_000);
    let (cookie, _) = j.generate(LOCAL, REMOTE, isn, 536, now);
    for seq in [
        isn,
        isn + 2,
        isn - 1,
        isn + 1 + (1 << 24),
        isn + 1 + (1 << 27),
    ] {
        assert_eq!(
            j.validate(LOCAL, REMOTE, seq, cookie + 1, now),
            None,
            "seq {seq}"
        );
    }
    let mut rng = Rng::new(4);
    let accepted = (0..10_000)
        .filter(|_| {
            let seq = SeqNum(rng.next_u32());
            seq != isn + 1 && j.validate(LOCAL, REMOTE, seq, cookie + 1, now).is_some()
        })
        .count();
    assert_eq!(accepted, 0);
}

/// The ACK must acknowledge exactly cookie + 1: the third segment of the handshake
/// acknowledges the SYN-ACK's one sequence number (RFC 9293 3.5, figure 6).
#[test]
fn ack_must_be_cookie_plus_one() {
    let j = jar();
    let now = period(9);
    let isn = SeqNum(42);
    let (cookie, _) = j.generate(LOCAL, REMOTE, isn, 1460, now);
    for ack in [cookie, cookie + 2, cookie - 1, cookie + 1001] {
        assert_eq!(j.validate(LOCAL, REMOTE, isn + 1, ack, now), None, "{ack}");
    }
}

/// Freshness: a cookie made at the very start of period k is good until the end of
/// period k + 1 (128 s less a microsecond) and refused from then on.
#[test]
fn expires_after_two_periods_accepted_just_before() {
    let j = jar();
    let made = period(500);
    let isn = SeqNum(7);
    let (cookie, _) = j.generate(LOCAL, REMOTE, isn, 1460, made);
    let ok = |now| complete(&j, LOCAL, REMOTE, isn, cookie, now);
    assert!(ok(made).is_some());
    assert!(ok(made + Duration::from_secs(64)).is_some());
    assert!(ok(period(502) - Duration::from_micros(1)).is_some());
    assert_eq!(ok(period(502)), None);
    assert_eq!(ok(made + Duration::from_secs(600)), None);
}

/// A cookie made at the very end of its period lives only one period more: the lifetime
/// is between 64 and 128 seconds.
#[test]
fn lifetime_is_at_least_one_period() {
    let j = jar();
    let made = period(501) - Duration::from_micros(1);
    let isn = SeqNum(8);
    let (cookie, _) = j.generate(LOCAL, REMOTE, isn, 1460, made);
    let ok = |now| complete(&j, LOCAL, REMOTE, isn, cookie, now);
    assert!(ok(made + Duration::from_secs(64)).is_some());
    assert_eq!(
        ok(made + Duration::from_secs(64) + Duration::from_micros(1)),
        None
    );
}

/// A cookie from the future (the checker's clock one period behind the maker's) is
/// refused, and so is one replayed 32 periods later, when `t mod 32` comes round again:
/// the MAC covers the whole counter.
#[test]
fn future_and_wrapped_counters_rejected() {
    let j = jar();
    let mut rng = Rng::new(6);
    for _ in 0..1000 {
        let isn = SeqNum(rng.next_u32());
        let made = period(rng.range_u64(40, 100_000))
            + Duration::from_micros(rng.range_u64(0, 63_999_999));
        let (cookie, _) = j.generate(LOCAL, REMOTE, isn, 1460, made);
        assert_eq!(
            j.check(LOCAL, REMOTE, isn + 1, cookie + 1, made - PERIOD),
            Err(Reject::OutOfWindow)
        );
        for later in [32, 33] {
            let now = made + PERIOD.saturating_mul(later);
            assert_eq!(
                j.check(LOCAL, REMOTE, isn + 1, cookie + 1, now),
                Err(Reject::BadMac),
                "{later} periods on"
            );
        }
    }
}

/// Cookies are only good with the secret that made them.
#[test]
fn other_secret_rejects() {
    let a = jar();
    let b = SynCookies::new(&mut Rng::new(0x5eee));
    let now = period(11);
    let mut rng = Rng::new(8);
    for _ in 0..1000 {
        let isn = SeqNum(rng.next_u32());
        let (cookie, _) = a.generate(LOCAL, REMOTE, isn, 1460, now);
        assert!(complete(&a, LOCAL, REMOTE, isn, cookie, now).is_some());
        assert_eq!(complete(&b, LOCAL, REMOTE, isn, cookie, now), None);
    }
}

/// Any single-bit change of a genuine ACK's SEQ or ACK number is refused. Measured over
/// 2,000 random genuine handshakes x 64 bit positions = 128,000 forgeries. With a 24-bit
/// MAC the expected number accepted is at most 128,000 * 2^-24 = 0.008 (flips inside the
/// MAC field are refused with certainty, since the field no longer equals the MAC);
/// with this seed it is 0.
#[test]
fn single_bit_flips_rejected() {
    let j = jar();
    let mut rng = Rng::new(9);
    let (mut tried, mut accepted) = (0u32, 0u32);
    for _ in 0..2000 {
        let (l, r) = (random_addr(&mut rng), random_addr(&mut rng));
        let isn = SeqNum(rng.next_u32());
        let mss = rng.next_u32() as u16;
        let now = Instant::from_micros(rng.range_u64(0, 1 << 40));
        let (cookie, _) = j.generate(l, r, isn, mss, now);
        let (seq, ack) = (isn + 1, cookie + 1);
        assert!(j.validate(l, r, seq, ack, now).is_some());
        for bit in 0..32 {
            let flipped = [
                (SeqNum(seq.0 ^ 1 << bit), ack),
                (seq, SeqNum(ack.0 ^ 1 << bit)),
            ];
            for (s, a) in flipped {
                tried += 1;
                accepted += u32::from(j.validate(l, r, s, a, now).is_some());
            }
        }
    }
    assert_eq!(tried, 128_000);
    assert_eq!(accepted, 0);
}

/// Blind forgery: 100,000 random ACK numbers for a real 4-tuple and SEQ. Per guess the
/// chance is 2/32 (counter field in the window) * 2^-24 (MAC) = 2^-28, so 0.0004
/// acceptances are expected; none happens. The rejection reasons split as the layout
/// predicts: about 30/32 fail the window, the rest the MAC.
#[test]
fn random_forgeries_rejected() {
    let j = jar();
    let now = period(12_345) + Duration::from_secs(10);
    let isn = SeqNum(0x0bad_f00d);
    let mut rng = Rng::new(10);
    let n = 100_000;
    let (mut accepted, mut window, mut mac) = (0u32, 0u32, 0u32);
    for _ in 0..n {
        let ack = SeqNum(rng.next_u32());
        match j.check(LOCAL, REMOTE, isn + 1, ack, now) {
            Ok(_) => accepted += 1,
            Err(Reject::OutOfWindow) => window += 1,
            Err(Reject::BadMac) => mac += 1,
        }
    }
    assert_eq!(accepted, 0);
    // 2/32 of 100,000 = 6,250 reach the MAC check (sd ~ 77).
    assert!((5_900..6_600).contains(&mac), "{mac} reached the MAC check");
    assert_eq!(window + mac, n);

    // Random everything (tuple, SEQ, ACK, time): still nothing gets through.
    let accepted = (0..n)
        .filter(|_| {
            let (l, r) = (random_addr(&mut rng), random_addr(&mut rng));
            let now = Instant::from_micros(rng.range_u64(0, 1 << 40));
            j.validate(l, r, SeqNum(rng.next_u32()), SeqNum(rng.next_u32()), now)
                .is_some()
        })
        .count();
    assert_eq!(accepted, 0);
}

/// Cookie ISNs are as unpredictable as RFC 6528 ISNs: across 4-tuples each of the 32 bits
/// is set about half the time (the whitening hash covers the counter and MSS bits too).
#[test]
fn cookies_look_random() {
    let j = jar();
    let now = period(20);
    let n = 4096u32;
    let cookies: Vec<u32> = (0..n)
        .map(|p| {
            let r = addr(10, 77, 0, 1, 20_000 + p as u16);
            j.generate(LOCAL, r, SeqNum(1000), 1460, now).0 .0
        })
        .collect();
    for bit in 0..32 {
        let ones = cookies.iter().filter(|&&c| c >> bit & 1 == 1).count() as u32;
        assert!(
            (n / 2 - 160..n / 2 + 160).contains(&ones),
            "bit {bit}: {ones} of {n}"
        );
    }
}

/// No state grows: the jar is two 128-bit keys, both calls take `&self`, and the keys are
/// the same after 10,000 SYNs and ACKs as before.
#[test]
fn constant_size_no_state() {
    assert_eq!(core::mem::size_of::<SynCookies>(), 32);
    let j = jar();
    let before = (j.whiten_key, j.mac_key);
    let shared: &SynCookies = &j;
    let mut rng = Rng::new(11);
    for i in 0..10_000u64 {
        let r = random_addr(&mut rng);
        let now = Instant::from_millis(i);
        let (c, _) = shared.generate(LOCAL, r, SeqNum(i as u32), 1460, now);
        assert!(complete(shared, LOCAL, r, SeqNum(i as u32), c, now).is_some());
    }
    assert_eq!((j.whiten_key, j.mac_key), before);
    assert_eq!(format!("{j:?}"), "SynCookies { .. }");
}

/// TSval options (Linux's scheme): every window scale 0..=14, none, and SACK on or off
/// survive the round trip through the peer's TSecr; the TSval never exceeds the clock
/// and is less than 32 behind it, also across the 2^32 wrap.
#[test]
fn timestamp_options_round_trip() {
    let wscales = (0..=14).map(Some).chain([None]);
    for wscale in wscales {
        for sack_permitted in [false, true] {
            let opts = TsCookieOptions {
                wscale,
                sack_permitted,
            };
            for ts_now in [0u32, 5, 31, 32, 1_000_003, 0xffff_ffe0, u32::MAX] {
                let ts = SynCookies::generate_ts(ts_now, opts);
                assert_eq!(SynCookies::decode_ts(ts), opts, "{opts:?} at {ts_now}");
                let behind = SeqNum(ts_now).diff(SeqNum(ts));
                assert!((0..32).contains(&behind), "{ts} vs {ts_now}");
            }
        }
    }
}

/// RFC 7323 2.3: a shift count above 14 is used as 14.
#[test]
fn timestamp_wscale_above_14_is_14() {
    for s in [15u8, 16, 200, 255] {
        let opts = TsCookieOptions {
            wscale: Some(s),
            sack_permitted: true,
        };
        let ts = SynCookies::generate_ts(123_456, opts);
        assert_eq!(SynCookies::decode_ts(ts).wscale, Some(14));
    }
}
