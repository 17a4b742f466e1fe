//! RFC 6528 section 3: ISN = M + F(connection-id, secret).

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::*;
use crate::time::Duration;

fn addr(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port).into()
}

fn local() -> SocketAddr {
    addr(10, 77, 0, 2, 80)
}

fn remote() -> SocketAddr {
    addr(10, 77, 0, 1, 40_000)
}

/// RFC 6528 section 3: M is "the 4 microsecond timer": for one connection-id the ISN
/// advances by exactly the elapsed time in 4 µs ticks, modulo 2^32.
#[test]
fn same_tuple_advances_with_the_4us_clock() {
    let g = IsnGenerator::new(&mut Rng::new(1));
    let t0 = Instant::from_secs(1000);
    let a = g.isn(local(), remote(), t0);
    for elapsed in [0u64, 4, 8, 400, 4_000_000, 60_000_000] {
        let b = g.isn(local(), remote(), t0 + Duration::from_micros(elapsed));
        assert_eq!(b.0.wrapping_sub(a.0) as u64, elapsed / 4, "{elapsed}us");
        if elapsed > 0 {
            assert!(b > a, "{elapsed}us: later ISN must compare greater");
        }
    }
    // Sub-tick differences do not move it.
    assert_eq!(g.isn(local(), remote(), t0 + Duration::from_micros(3)), a);
    // Wraps modulo 2^32: 2^32 ticks (about 4.77 hours) later it is back where it was,
    // and one tick beyond that it is one more.
    let wrap = Duration::from_micros(4 << 32);
    assert_eq!(g.isn(local(), remote(), t0 + wrap), a);
    assert_eq!(
        g.isn(local(), remote(), t0 + wrap + Duration::from_micros(4)),
        a + 1
    );
}

/// RFC 6528 section 3: F() is a PRF of the connection-id, so ISNs of different 4-tuples
/// at the same moment are unrelated. Changing any one of the four fields moves the ISN,
/// and over many tuples the offsets look uniform (each bit set about half the time, no
/// two alike, no constant stride between neighbours).
#[test]
fn different_tuples_get_unrelated_isns() {
    let g = IsnGenerator::new(&mut Rng::new(2));
    let now = Instant::from_secs(5);
    let base = g.isn(local(), remote(), now);
    let variants = [
        (addr(10, 77, 0, 3, 80), remote()),
        (addr(10, 77, 0, 2, 81), remote()),
        (local(), addr(10, 77, 0, 9, 40_000)),
        (local(), addr(10, 77, 0, 1, 40_001)),
        (remote(), local()), // the reverse direction is another connection-id
    ];
    for (l, r) in variants {
        assert_ne!(g.isn(l, r, now), base, "{l} -> {r}");
    }

    let n = 4096u32;
    let isns: Vec<u32> = (0..n)
        .map(|p| g.isn(local(), addr(10, 77, 0, 1, 10_000 + p as u16), now).0)
        .collect();
    let mut sorted = isns.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), isns.len(), "collisions among {n} tuples");
    for bit in 0..32 {
        let ones = isns.iter().filter(|&&x| x >> bit & 1 == 1).count() as u32;
        assert!(
            (n / 2 - 160..n / 2 + 160).contains(&ones),
            "bit {bit} set {ones} times of {n}"
        );
    }
    let strides: Vec<u32> = isns.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    assert!(strides.windows(2).any(|w| w[0] != w[1]));
}

/// RFC 6528 section 3: F() "MUST NOT be computable from the outside": it depends on the
/// secret. Generators with different secrets disagree; the same seed agrees (tests are
/// reproducible).
#[test]
fn secret_decides_the_offset() {
    let now = Instant::from_secs(7);
    let a = IsnGenerator::new(&mut Rng::new(10));
    let b = IsnGenerator::new(&mut Rng::new(11));
    let a2 = IsnGenerator::new(&mut Rng::new(10));
    assert_eq!(
        a.isn(local(), remote(), now),
        a2.isn(local(), remote(), now)
    );
    let differ = (0..64u16)
        .filter(|&p| {
            let r = addr(10, 77, 0, 1, 30_000 + p);
            a.isn(local(), r, now) != b.isn(local(), r, now)
        })
        .count();
    assert_eq!(differ, 64);
    // Drawing the key advances the caller's generator: two generators made in a row from
    // one Rng have different secrets.
    let mut rng = Rng::new(12);
    let c = IsnGenerator::new(&mut rng);
    let d = IsnGenerator::new(&mut rng);
    assert_ne!(c.isn(local(), remote(), now), d.isn(local(), remote(), now));
}

/// The secret stays out of Debug output.
#[test]
fn debug_hides_the_key() {
    let g = IsnGenerator::new(&mut Rng::new(3));
    let s = format!("{g:?}");
    assert_eq!(s, "IsnGenerator { .. }");
}
