//! `RecvBuffer::stage`: the payload copied (and summed) into free space before its
//! checksum is verified, taken by the next `write` without a second copy, and harmless
//! when the segment is refused.

use super::*;
use crate::wire::checksum;

fn stream(range: core::ops::Range<usize>) -> Vec<u8> {
    range
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn read_all(rb: &mut RecvBuffer) -> Vec<u8> {
    let mut out = vec![0; rb.readable()];
    let n = rb.read(&mut out);
    assert_eq!(n, out.len());
    out
}

/// A buffer with storage allocated (as after the first data) and nothing held.
fn warm(capacity: usize) -> RecvBuffer {
    let mut rb = RecvBuffer::new(capacity);
    assert_eq!(rb.write(0, &[1]), 1);
    read_all(&mut rb);
    rb
}

/// The staged copy's sum is the payload's sum, at every length (odd ones too); the
/// write that follows makes exactly those bytes readable.
#[test]
fn staged_payload_is_summed_and_then_written_once() {
    for len in [1, 2, 63, 64, 65, 1447, 1448, 4000] {
        let mut rb = warm(8192);
        let data = stream(len..2 * len);
        let sum = rb.stage(&data).expect("stages into free storage");
        assert_eq!(checksum::fold(sum), checksum::fold(checksum::sum(0, &data)));
        assert_eq!(rb.write(0, &data), len);
        assert_eq!(read_all(&mut rb), data, "len {len}");
    }
}

/// A segment staged and then refused (bad checksum, or TCP did not take it) leaves the
/// buffer as it was: nothing readable, the same window, and the next segment at that
/// place (other bytes, another length) is what the reader gets.
#[test]
fn staged_then_refused_changes_nothing() {
    let mut rb = warm(8192);
    rb.write(0, &stream(0..100));
    let (window, readable) = (rb.window(), rb.readable());
    let bad = vec![0xee; 1000];
    assert!(rb.stage(&bad).is_some());
    rb.unstage();
    assert_eq!(
        (rb.window(), rb.readable(), rb.ooo_bytes()),
        (window, readable, 0)
    );
    let good = stream(100..600);
    assert_eq!(rb.write(0, &good), 500);
    assert_eq!(read_all(&mut rb), stream(0..600));
}

/// The staged copy is good for the next write only: after an application read (which
/// may move the ring's head) or any write, a write copies its bytes again.
#[test]
fn a_read_or_a_write_forgets_the_staged_copy() {
    let mut rb = warm(8192);
    assert!(rb.stage(&[0xee; 300]).is_some());
    rb.consume(0);
    rb.write(0, &stream(0..300));
    assert_eq!(read_all(&mut rb), stream(0..300));

    // The staged segment's first 100 bytes are taken (a window trim); the next write,
    // into the rest of the staged space, is other data and must be copied.
    assert!(rb.stage(&[0xee; 300]).is_some());
    rb.write(0, &[0xee; 100]);
    rb.write(0, &stream(400..600));
    let mut want = vec![0xee; 100];
    want.extend(stream(400..600));
    assert_eq!(read_all(&mut rb), want);
}

/// Staging declines where a copy could touch what the buffer holds: while out-of-order
/// data is held, or beyond the window. Storage it needs within the window is allocated
/// (as the write would allocate it), and the staged bytes are the write's.
#[test]
fn staging_declines_where_it_could_change_state() {
    let mut cold = RecvBuffer::new(8192);
    assert!(
        cold.stage(&stream(0..100)).is_some(),
        "storage grows to take it"
    );
    assert_eq!(cold.write(0, &stream(0..100)), 100);
    assert_eq!(read_all(&mut cold), stream(0..100));
    let mut rb = warm(4096);
    assert_eq!(rb.write(500, &[9; 100]), 0);
    assert!(rb.stage(&[1; 100]).is_none(), "out-of-order data held");
    let mut full = warm(4096);
    full.write(0, &stream(0..4000));
    assert!(full.stage(&[1; 200]).is_none(), "beyond the window");
    assert!(full.stage(&[]).is_none());
}

/// A payload that wraps around the end of the ring is staged in two pieces, the second
/// at an odd or even offset, and summed as one.
#[test]
fn staging_wraps_around_the_ring() {
    for odd in [0, 1] {
        let mut rb = warm(4096);
        // Move the head near the end of the 4096-byte storage.
        let lead = stream(0..4000 + odd);
        rb.write(0, &lead);
        read_all(&mut rb);
        let data = stream(5000..6001);
        let sum = rb.stage(&data).expect("stages across the wrap");
        assert_eq!(checksum::fold(sum), checksum::fold(checksum::sum(0, &data)));
        rb.write(0, &data);
        assert_eq!(read_all(&mut rb), data);
    }
}

/// A run of segments staged one after another (`stage_after`, for the core's receive
/// coalescing) is taken whole by `take_staged`, also when the storage had to grow under
/// it (the staged bytes move with the rest); bytes staged after it but never counted
/// (`extend_staged`: their checksum failed) are not taken.
#[test]
fn a_staged_run_is_taken_whole_across_growth() {
    let mut rb = warm(64 * 1024);
    let start = rb.allocated();
    let mut at = 0;
    assert!(rb.stage(&stream(0..1000)).is_some());
    at += 1000;
    while at < 3 * start {
        let sum = rb
            .stage_after(&stream(at..at + 1000))
            .expect("room in the window");
        assert_eq!(
            checksum::fold(sum),
            checksum::fold(checksum::sum(0, &stream(at..at + 1000)))
        );
        rb.extend_staged(1000);
        at += 1000;
    }
    assert!(rb.allocated() > start, "the storage grew under the run");
    // One more, never counted: a segment whose checksum failed.
    assert!(rb.stage_after(&[0xee; 1000]).is_some());
    assert_eq!(
        rb.readable(),
        0,
        "nothing readable before TCP takes the run"
    );
    assert_eq!(rb.take_staged(usize::MAX), at);
    assert_eq!(read_all(&mut rb), stream(0..at));
    assert_eq!(rb.take_staged(usize::MAX), 0, "taken once");
}

/// `stage_after` declines without a staged run at the next expected byte, or beyond
/// the window.
#[test]
fn staging_after_needs_a_run_and_room() {
    let mut rb = warm(4096);
    assert!(rb.stage_after(&[1; 10]).is_none(), "nothing staged");
    assert!(rb.stage(&stream(0..3000)).is_some());
    assert!(rb.stage_after(&[1; 1500]).is_none(), "beyond the window");
    assert!(rb.stage_after(&[1; 1000]).is_some());
}
