//! Statistical and behavioural tests of the impairment model, all in virtual time.

use super::*;

use crate::link::{MemoryEnd, MemoryLink};

const N: usize = 100_000;
const SPACING: Duration = Duration::from_micros(100);

/// A test frame: sequence number, push time, then filler up to `len` bytes.
fn frame(seq: u32, at: Instant, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len.max(12));
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&at.total_micros().to_be_bytes());
    f.resize(len.max(12), 0xa5);
    f
}

fn seq_of(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[0], f[1], f[2], f[3]])
}

fn pushed_at(f: &[u8]) -> Instant {
    let mut b = [0u8; 8];
    b.copy_from_slice(&f[4..12]);
    Instant::from_micros(u64::from_be_bytes(b))
}

/// `n` frames of `len` bytes, one every `spacing`, starting at 1 s.
fn steady(n: usize, spacing: Duration, len: usize) -> Vec<(Instant, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let at = Instant::from_secs(1) + spacing.saturating_mul(i as u64);
            (at, frame(i as u32, at, len))
        })
        .collect()
}

/// Pops everything due up to `until`, jumping from deadline to deadline.
fn drain_until(imp: &mut Impairment, until: Instant, out: &mut Vec<(Instant, Vec<u8>)>) {
    while let Some(at) = imp.poll_at() {
        if at > until {
            break;
        }
        while let Some(f) = imp.pop(at) {
            out.push((at, f));
        }
    }
}

/// Pushes every frame at its time and collects every frame at the time it comes out.
fn drive(imp: &mut Impairment, pushes: Vec<(Instant, Vec<u8>)>) -> Vec<(Instant, Vec<u8>)> {
    let mut out = Vec::new();
    for (t, f) in pushes {
        drain_until(imp, t, &mut out);
        imp.push(t, &f);
        drain_until(imp, t, &mut out);
    }
    drain_until(imp, Instant::from_micros(u64::MAX), &mut out);
    assert!(imp.is_empty());
    out
}

fn seqs(out: &[(Instant, Vec<u8>)]) -> Vec<u32> {
    out.iter().map(|(_, f)| seq_of(f)).collect()
}

/// Frames that come out while some earlier-numbered frame is still to come: the frames
/// that jumped the queue.
fn jumpers(seqs: &[u32]) -> usize {
    let mut min_after = u32::MAX;
    let mut n = 0;
    for &s in seqs.iter().rev() {
        if s > min_after {
            n += 1;
        }
        min_after = min_after.min(s);
    }
    n
}

fn within(x: usize, lo: usize, hi: usize, what: &str) {
    assert!(
        (lo..=hi).contains(&x),
        "{what}: {x} not within [{lo}, {hi}]"
    );
}

#[test]
fn ten_percent_loss_loses_ten_percent() {
    let cfg = ImpairConfig {
        loss: 0.10,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 1);
    let out = drive(&mut imp, steady(N, SPACING, 64));
    let lost = N - out.len();
    within(lost, 9_500, 10_500, "lost");
    let s = imp.stats();
    assert_eq!(s.lost as usize, lost);
    assert_eq!(s.passed as usize, out.len());
    assert_eq!(s.pushed as usize, N);
    // Loss alone neither reorders nor delays nor alters.
    let q = seqs(&out);
    assert!(q.windows(2).all(|w| w[0] < w[1]));
    assert!(out.iter().all(|(t, f)| *t == pushed_at(f) && f.len() == 64));
}

#[test]
fn duplication_adds_the_configured_fraction_of_copies_right_behind() {
    let cfg = ImpairConfig {
        duplicate: 0.05,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 2);
    let out = drive(&mut imp, steady(N, SPACING, 64));
    let extra = out.len() - N;
    within(extra, 4_750, 5_250, "duplicates");
    assert_eq!(imp.stats().duplicated as usize, extra);
    let q = seqs(&out);
    assert!(q.windows(2).all(|w| w[0] <= w[1]));
    let adjacent_twins = q.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(adjacent_twins, extra);
}

#[test]
fn reorder_with_delay_sends_the_configured_fraction_ahead() {
    let cfg = ImpairConfig {
        reorder: 0.10,
        delay: Duration::from_millis(10),
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 3);
    let out = drive(&mut imp, steady(N, SPACING, 64));
    assert_eq!(out.len(), N);
    let q = seqs(&out);
    let j = jumpers(&q);
    within(j, 9_500, 10_500, "frames sent ahead");
    let reordered = imp.stats().reordered as usize;
    // Only reordered frames jump; the few chosen before anything was in flight do not.
    assert!(j <= reordered && reordered - j < 50, "{j} vs {reordered}");
    // A jumper goes out at once, everything else exactly 10 ms late.
    for (t, f) in &out {
        let d = *t - pushed_at(f);
        assert!(d == Duration::ZERO || d == Duration::from_millis(10), "{d}");
    }
}

#[test]
fn reorder_without_delay_swaps_a_frame_with_its_successor() {
    let cfg = ImpairConfig {
        reorder: 0.10,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 4);
    let out = drive(&mut imp, steady(N, SPACING, 64));
    assert_eq!(out.len(), N);
    let q = seqs(&out);
    let j = jumpers(&q);
    within(j, 9_500, 10_500, "overtakes");
    assert_eq!(j, imp.stats().reordered as usize);
    // Every displacement is a swap of neighbours.
    assert!(q
        .iter()
        .enumerate()
        .all(|(i, &s)| (s as i64 - i as i64).abs() <= 1));
}

#[test]
fn a_held_frame_goes_out_after_the_gap_when_nothing_follows() {
    let cfg = ImpairConfig {
        reorder: 1.0,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 5);
    let t0 = Instant::from_secs(1);
    imp.push(t0, b"alone");
    assert_eq!(imp.pop(t0), None);
    assert_eq!(imp.poll_at(), Some(t0 + DEFAULT_REORDER_GAP));
    assert_eq!(
        imp.pop(t0 + DEFAULT_REORDER_GAP - Duration::from_micros(1)),
        None
    );
    assert_eq!(imp.pop(t0 + DEFAULT_REORDER_GAP), Some(b"alone".to_vec()));
    assert_eq!(imp.stats().reordered, 0);
    assert_eq!(imp.poll_at(), None);

    // A frame pushed after the gap expired does not overtake the held one.
    imp.push(t0, b"first");
    imp.push(t0 + Duration::from_millis(5), b"second");
    let t = t0 + Duration::from_millis(5);
    assert_eq!(imp.pop(t), Some(b"first".to_vec()));
    assert_eq!(imp.stats().reordered, 0);
}

#[test]
fn delay_with_jitter_stays_within_its_window() {
    let cfg = ImpairConfig {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 6);
    let out = drive(&mut imp, steady(N, SPACING, 64));
    assert_eq!(out.len(), N);
    let delays: Vec<u64> = out
        .iter()
        .map(|(t, f)| (*t - pushed_at(f)).total_micros())
        .collect();
    let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
    assert!(*min >= 15_000 && *max <= 25_000, "{min}..{max}");
    assert!(
        *min < 15_100 && *max > 24_900,
        "the whole window is used: {min}..{max}"
    );
    let mean = delays.iter().sum::<u64>() as f64 / N as f64;
    assert!((mean - 20_000.0).abs() < 100.0, "mean {mean}");
    assert_eq!(imp.stats().delayed as usize, N);
    // Jitter reorders frames by due time, as netem does.
    assert!(jumpers(&seqs(&out)) > 0);
}

#[test]
fn plain_delay_keeps_order_and_delays_exactly() {
    let cfg = ImpairConfig {
        delay: Duration::from_millis(20),
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 7);
    let out = drive(&mut imp, steady(10_000, SPACING, 64));
    assert!(seqs(&out).windows(2).all(|w| w[0] + 1 == w[1]));
    assert!(out
        .iter()
        .all(|(t, f)| *t - pushed_at(f) == Duration::from_millis(20)));
}

/// Largest number of bytes delivered in any window `(t, t + span]`.
fn max_bytes_in_window(out: &[(Instant, Vec<u8>)], span: Duration) -> usize {
    let mut best = 0;
    let mut bytes = 0;
    let mut lo = 0;
    for hi in 0..out.len() {
        bytes += out[hi].1.len();
        while out[hi].0 - out[lo].0 >= span {
            bytes -= out[lo].1.len();
            lo += 1;
        }
        best = best.max(bytes);
    }
    best
}

#[test]
fn the_rate_limit_holds_under_overload() {
    const RATE: u64 = 10_000_000;
    let cfg = ImpairConfig {
        rate_bps: Some(RATE),
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 8);
    // 1000-byte frames every 400 us: 20 Mbit/s offered, twice the rate, for 3 s.
    let pushes = steady(7_500, Duration::from_micros(400), 1000);
    let out = drive(&mut imp, pushes);
    let t0 = Instant::from_secs(1);
    let second = |k: u64| {
        out.iter()
            .filter(|(t, _)| {
                *t > t0 + Duration::from_secs(k) && *t <= t0 + Duration::from_secs(k + 1)
            })
            .map(|(_, f)| f.len())
            .sum::<usize>()
    };
    for k in 0..3 {
        let b = second(k);
        assert!(b <= (RATE / 8) as usize, "second {k}: {b} bytes");
        assert!(
            b >= (RATE / 8) as usize * 99 / 100,
            "second {k}: only {b} bytes"
        );
    }
    assert!(max_bytes_in_window(&out, Duration::from_secs(1)) <= (RATE / 8) as usize);
    let s = imp.stats();
    assert!(s.dropped > 0 && s.throttled > 0);
    assert_eq!(s.passed + s.dropped, 7_500);
}

#[test]
fn the_rate_limit_holds_for_mixed_sizes_and_duplicates() {
    const RATE: u64 = 1_000_000;
    let cfg = ImpairConfig {
        rate_bps: Some(RATE),
        duplicate: 0.2,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 9);
    let mut sizes = Rng::new(99);
    let pushes: Vec<_> = (0..5_000u32)
        .map(|i| {
            let at = Instant::from_secs(1) + Duration::from_micros(u64::from(i) * 500);
            (at, frame(i, at, sizes.range_u64(40, 1500) as usize))
        })
        .collect();
    let out = drive(&mut imp, pushes);
    for span_ms in [10, 100, 1000] {
        let span = Duration::from_millis(span_ms);
        // A frame counts at the end of its serialisation, so a window may hold one
        // frame more than its span's worth of bits.
        let cap = (RATE / 8 * span_ms / 1000) as usize + 1500;
        let got = max_bytes_in_window(&out, span);
        assert!(got <= cap, "{span}: {got} > {cap}");
    }
}

#[test]
fn corruption_flips_exactly_one_bit_at_the_configured_rate() {
    let cfg = ImpairConfig {
        corrupt: 0.05,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 10);
    let original = vec![0xa5u8; 64];
    let pushes = (0..N)
        .map(|i| {
            (
                Instant::from_secs(1) + SPACING.saturating_mul(i as u64),
                original.clone(),
            )
        })
        .collect();
    let out = drive(&mut imp, pushes);
    assert_eq!(out.len(), N);
    let mut corrupted = 0;
    for (_, f) in &out {
        let flipped: u32 = f
            .iter()
            .zip(&original)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert!(flipped <= 1, "{flipped} bits flipped");
        corrupted += flipped as usize;
    }
    within(corrupted, 4_750, 5_250, "corrupted");
    assert_eq!(imp.stats().corrupted as usize, corrupted);
    // The flipped bits are spread over the whole frame.
    let mut positions = std::collections::BTreeSet::new();
    for (_, f) in &out {
        if let Some(i) = f.iter().zip(&original).position(|(a, b)| a != b) {
            positions.insert(i);
        }
    }
    assert_eq!(positions.len(), 64);
}

fn everything() -> ImpairConfig {
    ImpairConfig {
        loss: 0.05,
        duplicate: 0.05,
        reorder: 0.1,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(2),
        corrupt: 0.02,
        rate_bps: Some(50_000_000),
    }
}

#[test]
fn the_seed_fixes_the_outcome() {
    let run = |seed| {
        let mut imp = Impairment::new(everything(), seed);
        let out = drive(&mut imp, steady(10_000, SPACING, 200));
        (out, imp.stats())
    };
    let (a, sa) = run(42);
    let (b, sb) = run(42);
    let (c, _) = run(43);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert_ne!(a, c);
    assert!(sa.lost > 0 && sa.duplicated > 0 && sa.reordered > 0 && sa.corrupted > 0);
}

#[test]
fn the_queue_is_bounded() {
    let cfg = ImpairConfig {
        delay: Duration::from_secs(1),
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg.clone(), 11);
    for i in 0..2_000 {
        imp.push(Instant::ZERO, &frame(i, Instant::ZERO, 20));
    }
    assert_eq!(imp.len(), DEFAULT_LIMIT);
    assert_eq!(imp.stats().dropped, 1_000);

    let mut small = Impairment::new(cfg, 11);
    small.set_limit(3);
    for i in 0..5 {
        small.push(Instant::ZERO, &frame(i, Instant::ZERO, 20));
    }
    assert_eq!(small.len(), 3);
    assert_eq!(small.poll_at(), Some(Instant::from_secs(1)));
    let got: Vec<u32> = std::iter::from_fn(|| small.pop(Instant::from_secs(1)))
        .map(|f| seq_of(&f))
        .collect();
    assert_eq!(got, vec![0, 1, 2]);
}

#[test]
fn an_empty_frame_passes_and_is_never_corrupted() {
    let cfg = ImpairConfig {
        corrupt: 1.0,
        ..Default::default()
    };
    let mut imp = Impairment::new(cfg, 12);
    imp.push(Instant::ZERO, &[]);
    assert_eq!(imp.pop(Instant::ZERO), Some(Vec::new()));
    assert_eq!(imp.stats().corrupted, 0);
}

#[test]
fn impaired_device_delays_sent_frames_until_due() {
    let (a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
    let tx = ImpairConfig {
        delay: Duration::from_millis(10),
        ..Default::default()
    };
    let mut a = Impaired::new(a, tx, ImpairConfig::default(), 1);
    let mut buf = [0u8; 1500];
    let t0 = Instant::from_secs(1);
    a.send(b"late", t0).unwrap();
    assert_eq!(b.recv(&mut buf, t0).unwrap(), None);
    assert_eq!(a.poll_at(), Some(t0 + Duration::from_millis(10)));
    // Driving the wrapper at its deadline (via recv) pushes the frame out.
    assert_eq!(
        a.recv(&mut buf, t0 + Duration::from_millis(10)).unwrap(),
        None
    );
    assert_eq!(b.recv(&mut buf, t0).unwrap(), Some(4));
    assert_eq!(&buf[..4], b"late");
    assert_eq!(a.poll_at(), None);
    assert_eq!(a.tx().stats().delayed, 1);
}

#[test]
fn impaired_device_impairs_received_frames() {
    let (a, mut b) = MemoryLink::pair(Medium::Ethernet, 1500);
    let rx = ImpairConfig {
        loss: 0.5,
        ..Default::default()
    };
    let mut a = Impaired::new(a, ImpairConfig::default(), rx, 2);
    assert_eq!(a.medium(), Medium::Ethernet);
    assert_eq!(a.mtu(), 1500);
    assert!(a.raw_fd().is_some());
    let t = Instant::ZERO;
    for i in 0..1000u32 {
        b.send(&i.to_be_bytes(), t).unwrap();
    }
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while let Some(n) = a.recv(&mut buf, t).unwrap() {
        got.push(buf[..n].to_vec());
    }
    within(got.len(), 430, 570, "received");
    assert_eq!(a.rx().stats().lost as usize, 1000 - got.len());
    assert!(got.windows(2).all(|w| w[0] < w[1]));
    // Sending without tx impairment goes straight through.
    a.send(b"out", t).unwrap();
    assert_eq!(b.recv(&mut buf, t).unwrap(), Some(3));
}

/// `with_stream_seeds` with the seeds swapped gives the receive direction the stream
/// the transmit direction had: frames sent through one device and received through the
/// other are lost at the same places, and `new` is `with_stream_seeds` of
/// `stream_seeds`.
#[test]
fn swapped_stream_seeds_give_the_other_direction_the_same_losses() {
    let lossy = ImpairConfig {
        loss: 0.3,
        ..Default::default()
    };
    let clean = ImpairConfig::default();
    let t = Instant::ZERO;
    let mut buf = [0u8; 64];
    // Sent through `a`'s transmit impairment, read at its peer.
    let mut sent_fates = |a: &mut Impaired<MemoryEnd>, b: &mut MemoryEnd| {
        for i in 0..400u32 {
            a.send(&i.to_be_bytes(), t).unwrap();
        }
        let mut got = Vec::new();
        while let Some(n) = b.recv(&mut buf, t).unwrap() {
            got.push(u32::from_be_bytes(buf[..n].try_into().unwrap()));
        }
        got
    };
    let (tx_seed, rx_seed) = Impaired::<MemoryEnd>::stream_seeds(11);
    let (a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
    let mut a = Impaired::new(a, lossy.clone(), clean.clone(), 11);
    let through_new = sent_fates(&mut a, &mut b);
    let (a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
    let mut a = Impaired::with_stream_seeds(a, lossy.clone(), clean.clone(), tx_seed, rx_seed);
    assert_eq!(sent_fates(&mut a, &mut b), through_new);
    within(through_new.len(), 220, 340, "frames through");
    // The same frames received through a device whose receive stream is that seed.
    let (a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
    let mut a = Impaired::with_stream_seeds(a, clean, lossy, rx_seed, tx_seed);
    for i in 0..400u32 {
        b.send(&i.to_be_bytes(), t).unwrap();
    }
    let mut received = Vec::new();
    while let Some(n) = a.recv(&mut buf, t).unwrap() {
        received.push(u32::from_be_bytes(buf[..n].try_into().unwrap()));
    }
    assert_eq!(received, through_new);
}

#[test]
fn settings_parse_like_netem() {
    let c: ImpairConfig =
        "loss 5% delay 20ms 5ms reorder 25% duplicate 1% corrupt 0.1% rate 10mbit"
            .parse()
            .unwrap();
    assert_eq!(c.loss, 0.05);
    assert_eq!(c.delay, Duration::from_millis(20));
    assert_eq!(c.jitter, Duration::from_millis(5));
    assert_eq!(c.reorder, 0.25);
    assert_eq!(c.duplicate, 0.01);
    assert!((c.corrupt - 0.001).abs() < 1e-12);
    assert_eq!(c.rate_bps, Some(10_000_000));

    let c: ImpairConfig = "loss=0.02,delay=1.5s,jitter=250us".parse().unwrap();
    assert_eq!(c.loss, 0.02);
    assert_eq!(c.delay, Duration::from_millis(1500));
    assert_eq!(c.jitter, Duration::from_micros(250));
    assert_eq!(c.rate_bps, None);

    assert!("".parse::<ImpairConfig>().unwrap().is_noop());
    assert!(!c.is_noop());
    for bad in [
        "loss 150%",
        "loss",
        "delay 20",
        "bogus 1%",
        "rate fast",
        "loss -1%",
        "rate 0",
    ] {
        assert!(bad.parse::<ImpairConfig>().is_err(), "{bad:?} accepted");
    }
    assert_eq!(parse_rate("1gbit").unwrap(), 1_000_000_000);
    assert_eq!(parse_rate("100kbps").unwrap(), 800_000);
    assert_eq!(parse_rate("1000").unwrap(), 1000);
    assert_eq!(parse_percent("100%").unwrap(), 1.0);
    assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
}
