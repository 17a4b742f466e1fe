use super::*;
use crate::rand::Rng;
use proptest::prelude::*;

/// Byte `i` of the test stream: not periodic over any small span, so misplaced data shows.
fn byte(i: usize) -> u8 {
    ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8
}

fn stream(range: core::ops::Range<usize>) -> Vec<u8> {
    range.map(byte).collect()
}

fn read_all(rb: &mut RecvBuffer) -> Vec<u8> {
    let mut out = vec![0; rb.readable()];
    let n = rb.read(&mut out);
    assert_eq!(n, out.len());
    assert_eq!(rb.readable(), 0);
    out
}

/// All permutations of `0..n`.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn in_order_data_is_readable_at_once() {
    let mut rb = RecvBuffer::new(1000);
    assert!(rb.is_empty());
    assert_eq!(rb.write(0, &stream(0..100)), 100);
    assert_eq!(rb.write(0, &stream(100..250)), 150);
    assert_eq!(rb.readable(), 250);
    assert_eq!(rb.ooo_bytes(), 0);
    assert!(!rb.is_empty());
    assert_eq!(read_all(&mut rb), stream(0..250));
    assert!(rb.is_empty());
    assert_eq!(rb.write(0, &[]), 0);
}

#[test]
fn out_of_order_segments_fill_holes_in_every_order() {
    // Five 10-byte segments delivered in all 120 orders; each write returns exactly how
    // far the next expected byte moves (RFC 9293 3.10.7.4, seventh).
    for order in permutations(5) {
        let mut rb = RecvBuffer::new(100);
        let mut nxt = 0;
        let mut got = [false; 5];
        for &k in &order {
            got[k] = true;
            let expect_nxt = got.iter().take_while(|&&g| g).count() * 10;
            let start = k * 10;
            // The connection trims data before RCV.NXT; a whole old segment never comes.
            assert!(start >= nxt);
            let adv = rb.write(start - nxt, &stream(start..start + 10));
            assert_eq!(adv, expect_nxt - nxt, "order {order:?}");
            nxt = expect_nxt;
            assert_eq!(rb.readable(), nxt);
            assert_eq!(
                rb.ooo_bytes(),
                got.iter().filter(|&&g| g).count() * 10 - nxt
            );
            assert_eq!(
                rb.window(),
                100 - nxt,
                "out-of-order data sits inside the window"
            );
        }
        assert_eq!(rb.ooo_bytes(), 0);
        assert_eq!(rb.range_count(), 0);
        assert_eq!(read_all(&mut rb), stream(0..50), "order {order:?}");
    }
}

#[test]
fn overlapping_segments_of_odd_sizes_in_every_order() {
    // Segments that overlap each other and the holes unevenly.
    let segs = [(0, 7), (5, 18), (18, 19), (12, 30), (25, 41), (40, 44)];
    for order in permutations(segs.len()) {
        let mut rb = RecvBuffer::new(64);
        let mut nxt = 0;
        for &k in &order {
            let (s, e) = segs[k];
            if e <= nxt {
                continue;
            }
            let s = s.max(nxt);
            nxt += rb.write(s - nxt, &stream(s..e));
        }
        assert_eq!(nxt, 44);
        assert_eq!(read_all(&mut rb), stream(0..44), "order {order:?}");
    }
}

#[test]
fn duplicates_are_ignored_and_never_overwrite() {
    let mut rb = RecvBuffer::new(100);
    assert_eq!(rb.write(10, &stream(10..20)), 0);
    // An exact duplicate carrying different bytes: the first copy wins.
    assert_eq!(rb.write(10, &[0xee; 10]), 0);
    assert_eq!(rb.ooo_bytes(), 10);
    assert_eq!(rb.range_count(), 1);
    // A duplicate inside the range.
    assert_eq!(rb.write(12, &[0xee; 3]), 0);
    assert_eq!(rb.ooo_bytes(), 10);
    assert_eq!(rb.write(0, &stream(0..10)), 20);
    assert_eq!(read_all(&mut rb), stream(0..20));
}

#[test]
fn partial_overlaps_at_both_ends_fill_only_the_new_bytes() {
    // Held [10,20); new data overlapping its front, its back, and both with one segment.
    let garbage_over = |s: usize, e: usize| -> Vec<u8> {
        (s..e)
            .map(|i| {
                if (10..20).contains(&i) {
                    !byte(i)
                } else {
                    byte(i)
                }
            })
            .collect()
    };
    for (s, e) in [(5, 15), (15, 25), (5, 25), (10, 25), (5, 20)] {
        let mut rb = RecvBuffer::new(100);
        rb.write(10, &stream(10..20));
        assert_eq!(rb.write(s, &garbage_over(s, e)), 0);
        assert_eq!(rb.ooo_bytes(), e.max(20) - s.min(10));
        assert_eq!(rb.sack_ranges(4), vec![(s.min(10), e.max(20))]);
        rb.write(0, &stream(0..30));
        assert_eq!(read_all(&mut rb), stream(0..30), "segment [{s},{e})");
    }
}

#[test]
fn a_segment_bridging_ranges_merges_them() {
    let mut rb = RecvBuffer::new(100);
    rb.write(10, &stream(10..20));
    rb.write(30, &stream(30..40));
    rb.write(50, &stream(50..60));
    assert_eq!(rb.range_count(), 3);
    // Overlaps [10,20) and [30,40), bytes of both replaced by garbage: ignored.
    let mut seg = stream(15..35);
    seg[..5].fill(0xee);
    seg[15..].fill(0xee);
    rb.write(15, &seg);
    assert_eq!(rb.range_count(), 2);
    assert_eq!(rb.sack_ranges(4), vec![(10, 40), (50, 60)]);
    assert_eq!(rb.ooo_bytes(), 40);
    // Adjacent ranges merge too: [40,50) touches both neighbours.
    rb.write(40, &stream(40..50));
    assert_eq!(rb.sack_ranges(4), vec![(10, 60)]);
    assert_eq!(rb.write(0, &stream(0..10)), 60);
    assert_eq!(read_all(&mut rb), stream(0..60));
}

#[test]
fn data_beyond_the_window_is_trimmed() {
    let mut rb = RecvBuffer::new(100);
    // In order, longer than the buffer: only the window's worth is taken.
    assert_eq!(rb.write(0, &stream(0..150)), 100);
    assert_eq!(rb.window(), 0);
    assert_eq!(rb.write(0, &stream(100..110)), 0);
    let mut buf = [0; 60];
    assert_eq!(rb.read(&mut buf), 60);
    assert_eq!(rb.window(), 60);
    // Out of order, straddling the right edge (offsets are from byte 100).
    assert_eq!(rb.write(50, &stream(150..170)), 0);
    assert_eq!(rb.ooo_bytes(), 10);
    assert_eq!(rb.sack_ranges(1), vec![(50, 60)]);
    // Wholly beyond: nothing.
    assert_eq!(rb.write(60, &stream(160..170)), 0);
    assert_eq!(rb.write(1000, &[1; 5]), 0);
    assert_eq!(rb.ooo_bytes(), 10);
    // Fill the hole; everything up to the edge becomes readable, nothing past it.
    assert_eq!(rb.write(0, &stream(100..200)), 60);
    assert_eq!(rb.readable(), 100);
    let mut out = buf[..].to_vec();
    out.truncate(60);
    out.extend(read_all(&mut rb));
    assert_eq!(out, stream(0..160));
}

#[test]
fn zero_capacity_takes_nothing() {
    let mut rb = RecvBuffer::new(0);
    assert_eq!(rb.write(0, &[1, 2, 3]), 0);
    assert_eq!(rb.write(5, &[1, 2, 3]), 0);
    assert_eq!(rb.window(), 0);
    assert_eq!(rb.readable_slices(), (&[][..], &[][..]));
    assert!(rb.is_empty());
}

#[test]
fn range_bound_drops_the_new_data_not_an_old_range() {
    let mut rb = RecvBuffer::with_max_ranges(1000, 3);
    assert_eq!(rb.max_ranges(), 3);
    for s in [10, 30, 50] {
        rb.write(s, &stream(s..s + 5));
    }
    let before = rb.sack_ranges(8);
    // A fourth separate range is refused: garbage there must never surface.
    assert_eq!(rb.write(70, &[0xee; 5]), 0);
    assert_eq!(rb.write(5, &[0xee; 3]), 0);
    assert_eq!(rb.sack_ranges(8), before);
    assert_eq!(rb.ooo_bytes(), 15);
    // Data touching a held range only extends it: accepted.
    rb.write(15, &stream(15..20));
    assert_eq!(rb.range_count(), 3);
    assert_eq!(rb.ooo_bytes(), 20);
    // In-order data is always accepted, even with the table full, and absorbs [10,20).
    assert_eq!(rb.write(0, &stream(0..10)), 20);
    assert_eq!(rb.range_count(), 2);
    // Now there is room again (offsets are from byte 20).
    rb.write(50, &stream(70..75));
    assert_eq!(rb.range_count(), 3);
    // Fill everything: the refused garbage at 70..75 and 5..8 never shows.
    assert_eq!(rb.write(0, &stream(20..100)), 80);
    assert_eq!(read_all(&mut rb), stream(0..100));
}

#[test]
fn no_ranges_means_in_order_only() {
    let mut rb = RecvBuffer::with_max_ranges(100, 0);
    assert_eq!(rb.write(5, &stream(5..10)), 0);
    assert_eq!(rb.ooo_bytes(), 0);
    assert!(rb.is_empty());
    assert_eq!(rb.write(0, &stream(0..10)), 10);
    assert_eq!(read_all(&mut rb), stream(0..10));
}

#[test]
fn sack_ranges_most_recent_first_relative_to_next_expected() {
    let mut rb = RecvBuffer::new(1000);
    rb.write(100, &stream(100..110));
    rb.write(300, &stream(300..310));
    rb.write(200, &stream(200..210));
    // RFC 2018 section 4: the block holding the latest segment first, then by recency.
    assert_eq!(rb.sack_ranges(4), vec![(200, 210), (300, 310), (100, 110)]);
    assert_eq!(rb.sack_ranges(2), vec![(200, 210), (300, 310)]);
    assert_eq!(rb.sack_ranges(0), vec![]);
    // A segment extending the oldest range makes it the most recent.
    rb.write(110, &stream(110..120));
    assert_eq!(rb.sack_ranges(4), vec![(100, 120), (200, 210), (300, 310)]);
    // So does a pure duplicate inside a range (it triggered the ACK).
    rb.write(305, &stream(305..308));
    assert_eq!(rb.sack_ranges(4), vec![(300, 310), (100, 120), (200, 210)]);
    // In-order progress: offsets are from the new next expected byte.
    assert_eq!(rb.write(0, &stream(0..50)), 50);
    assert_eq!(rb.sack_ranges(4), vec![(250, 260), (50, 70), (150, 160)]);
    // Reading does not move the next expected byte.
    let mut buf = [0; 30];
    rb.read(&mut buf);
    assert_eq!(rb.sack_ranges(4), vec![(250, 260), (50, 70), (150, 160)]);
    // Filling up to the first range absorbs it; it leaves the SACK list.
    assert_eq!(rb.write(0, &stream(50..100)), 70);
    assert_eq!(rb.sack_ranges(4), vec![(180, 190), (80, 90)]);
    let mut arr = [(0, 0); 1];
    assert_eq!(rb.sack_ranges_into(&mut arr), 1);
    assert_eq!(arr, [(180, 190)]);
}

#[test]
fn window_accounting() {
    let mut rb = RecvBuffer::new(100);
    assert_eq!(rb.capacity(), 100);
    assert_eq!(rb.window(), 100);
    rb.write(50, &stream(50..60));
    assert_eq!(
        rb.window(),
        100,
        "out-of-order data does not shrink the window"
    );
    rb.write(0, &stream(0..30));
    assert_eq!(rb.window(), 70);
    rb.consume(20);
    assert_eq!(rb.window(), 90);
    rb.write(0, &stream(30..50));
    assert_eq!((rb.readable(), rb.window()), (40, 60));
    rb.consume(1000);
    assert_eq!((rb.readable(), rb.window()), (0, 100));
    assert!(rb.is_empty());
}

#[test]
fn peek_and_slices_do_not_consume() {
    let mut rb = RecvBuffer::new(16);
    rb.write(0, &stream(0..12));
    rb.consume(10);
    rb.write(0, &stream(12..24)); // wraps: 4 bytes at the end of the ring, then 8
    let (a, b) = rb.readable_slices();
    assert_eq!((a.len(), b.len()), (6, 8));
    assert_eq!([a, b].concat(), stream(10..24));
    let mut buf = [0; 20];
    assert_eq!(rb.peek(&mut buf), 14);
    assert_eq!(&buf[..14], &stream(10..24)[..]);
    assert_eq!(rb.readable(), 14);
    let mut small = [0; 3];
    assert_eq!(rb.read(&mut small), 3);
    assert_eq!(small[..], stream(10..13)[..]);
    rb.consume(11);
    assert!(rb.is_empty());
}

#[test]
fn ring_wraps_many_times_with_out_of_order_data() {
    // A 61-byte ring carries 100,000 bytes; each round delivers three segments in the
    // order 2, 0, 1 and reads an amount that does not divide the ring size.
    let mut rb = RecvBuffer::new(61);
    let (mut sent, mut read) = (0, 0);
    let mut out = Vec::new();
    let mut wrapped = 0;
    let mut buf = [0; 23];
    while read < 100_000 {
        let w = rb.window();
        if w >= 3 {
            let (l0, l1) = (w / 3, w / 3);
            let l2 = w - l0 - l1;
            let s = sent;
            assert_eq!(rb.write(l0 + l1, &stream(s + l0 + l1..s + w)), 0);
            assert_eq!(rb.write(0, &stream(s..s + l0)), l0);
            assert_eq!(rb.write(0, &stream(s + l0..s + l0 + l1)), l1 + l2);
            sent += w;
        }
        if !rb.readable_slices().1.is_empty() {
            wrapped += 1;
        }
        let n = rb.read(&mut buf);
        out.extend_from_slice(&buf[..n]);
        read += n;
    }
    assert!(wrapped > 1000, "wrapped {wrapped} times");
    assert_eq!(out, stream(0..read));
}

/// The reference: which absolute bytes past RCV.NXT are held, and the bound rules.
struct Model {
    cap: usize,
    max_ranges: usize,
    consumed: usize,
    nxt: usize,
    held: Vec<bool>,
}

impl Model {
    fn window(&self) -> usize {
        self.cap - (self.nxt - self.consumed)
    }

    /// Held ranges, absolute, sorted.
    fn ranges(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let end = (self.nxt + self.window()).min(self.held.len());
        let mut i = self.nxt;
        while i < end {
            if self.held[i] {
                let s = i;
                while i < end && self.held[i] {
                    i += 1;
                }
                out.push((s, i));
            } else {
                i += 1;
            }
        }
        out
    }

    fn write(&mut self, s: usize, e: usize) -> usize {
        if s - self.nxt >= self.window() {
            return 0;
        }
        let e = e.min(self.nxt + self.window());
        let ranges = self.ranges();
        let touches = ranges.iter().any(|&(rs, re)| re >= s && rs <= e);
        if !touches && s != self.nxt && ranges.len() >= self.max_ranges {
            return 0;
        }
        self.held[s..e].fill(true);
        let old = self.nxt;
        while self.nxt < self.held.len() && self.held[self.nxt] {
            self.held[self.nxt] = false;
            self.nxt += 1;
        }
        self.nxt - old
    }
}

/// Delivers segments of a known stream in a seeded random order with duplicates and
/// random reads, checking every step against [`Model`]; then retransmits everything
/// until the whole stream has been read.
fn run_reassembly(seed: u64, len: usize, cap: usize, max_ranges: usize) {
    let mut rng = Rng::new(seed);
    let data = stream(0..len);
    let mut segs = Vec::new();
    let mut a = 0;
    while a < len {
        let l = rng.range_u64(1, 90) as usize;
        segs.push((a, (a + l).min(len)));
        a += l;
    }
    for _ in 0..rng.range_u64(0, segs.len() as u64) {
        let s = rng.range_u64(0, len as u64 - 1) as usize;
        let l = rng.range_u64(1, 120) as usize;
        segs.push((s, (s + l).min(len)));
    }
    for i in (1..segs.len()).rev() {
        segs.swap(i, rng.range_u64(0, i as u64) as usize);
    }

    let mut rb = RecvBuffer::with_max_ranges(cap, max_ranges);
    let mut m = Model {
        cap,
        max_ranges,
        consumed: 0,
        nxt: 0,
        held: vec![false; len],
    };
    let mut out = Vec::with_capacity(len);

    let deliver = |rb: &mut RecvBuffer, m: &mut Model, (s, e): (usize, usize)| {
        if e <= m.nxt {
            return; // wholly old: the connection drops it before the buffer
        }
        let s = s.max(m.nxt);
        // Bytes the model says are held go as garbage: the buffer must ignore them.
        let seg: Vec<u8> = (s..e)
            .map(|i| if m.held[i] { !data[i] } else { data[i] })
            .collect();
        let adv = rb.write(s - m.nxt, &seg);
        let expect = m.write(s, e);
        assert_eq!(adv, expect, "write [{s},{e})");
        assert_eq!(rb.readable(), m.nxt - m.consumed);
        assert_eq!(rb.window(), m.window());
        let ranges = m.ranges();
        assert_eq!(rb.range_count(), ranges.len());
        assert!(rb.range_count() <= max_ranges);
        assert_eq!(
            rb.ooo_bytes(),
            ranges.iter().map(|r| r.1 - r.0).sum::<usize>()
        );
        let mut sack = rb.sack_ranges(usize::MAX);
        sack.sort();
        let rel: Vec<_> = ranges.iter().map(|r| (r.0 - m.nxt, r.1 - m.nxt)).collect();
        assert_eq!(sack, rel);
    };
    let read = |rb: &mut RecvBuffer, m: &mut Model, out: &mut Vec<u8>, n: usize, how: u64| {
        let before = out.len();
        match how {
            0 => {
                let mut buf = vec![0; n];
                let k = rb.read(&mut buf);
                out.extend_from_slice(&buf[..k]);
            }
            _ => {
                let (a, b) = rb.readable_slices();
                let k = n.min(a.len() + b.len());
                let first = k.min(a.len());
                out.extend_from_slice(&a[..first]);
                out.extend_from_slice(&b[..k - first]);
                rb.consume(k);
            }
        }
        m.consumed += out.len() - before;
        assert_eq!(
            out[..],
            data[..out.len()],
            "readable data is a prefix of the stream"
        );
    };

    for &seg in &segs {
        deliver(&mut rb, &mut m, seg);
        if rng.chance(0.3) {
            let n = rng.range_u64(0, cap as u64) as usize;
            let how = rng.range_u64(0, 1);
            read(&mut rb, &mut m, &mut out, n, how);
        }
    }
    // Retransmission rounds: every segment again, reading as we go. Each round moves
    // RCV.NXT (the segment holding it is always accepted), so this ends.
    for _ in 0..=len {
        if out.len() == len {
            break;
        }
        for &seg in &segs {
            deliver(&mut rb, &mut m, seg);
            read(&mut rb, &mut m, &mut out, cap, 1);
        }
    }
    assert_eq!(out.len(), len);
    assert!(rb.is_empty());
}

#[test]
fn reassembly_seeded_runs() {
    for seed in 0..20 {
        run_reassembly(seed, 5000, 700, 4);
        run_reassembly(seed, 3000, 3000, 64);
    }
}

proptest! {
    /// Whatever becomes readable is exactly the prefix of the stream, every write agrees
    /// with the model, and retransmitting every segment makes the whole stream readable.
    #[test]
    fn reassembly_matches_model(
        seed in any::<u64>(),
        len in 1usize..2500,
        cap in 1usize..600,
        max_ranges in 0usize..10,
    ) {
        run_reassembly(seed, len, cap, max_ranges);
    }
}

/// Memory grows with use: nothing allocated while idle, storage as data (in order or
/// out of order) arrives, given back once everything is read; the window is the
/// capacity's throughout.
#[test]
fn storage_comes_with_data_and_goes_when_read() {
    let mut b = RecvBuffer::new(256 * 1024);
    assert_eq!(b.allocated(), 0);
    assert_eq!(b.window(), 256 * 1024);
    // Out of order first: storage to cover it, and the range list.
    assert_eq!(b.write(10_000, &stream(10_000..11_000)), 0);
    assert!(b.allocated() >= 11_000 && b.allocated() < 256 * 1024);
    assert_eq!(b.window(), 256 * 1024);
    // The hole filled: all 11,000 readable, the bytes where they belong.
    assert_eq!(b.write(0, &stream(0..10_000)), 11_000);
    let mut out = vec![0; 11_000];
    assert_eq!(b.peek(&mut out), 11_000);
    assert_eq!(out, stream(0..11_000));
    // Grown past the first allocation, with data wrapped in the old ring, kept intact.
    b.consume(6_000);
    assert_eq!(b.write(0, &stream(11_000..100_000)), 89_000);
    let mut out = vec![0; 94_000];
    assert_eq!(b.read(&mut out), 94_000);
    assert_eq!(out, stream(6_000..100_000));
    assert_eq!(b.allocated(), 0, "read to the end: storage given back");
    assert_eq!(b.window(), 256 * 1024);
    // And it comes back for more data.
    assert_eq!(b.write(0, &stream(100_000..100_010)), 10);
    assert!(b.allocated() > 0);
}
