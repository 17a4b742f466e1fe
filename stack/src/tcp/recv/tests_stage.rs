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

/// Staging declines where a copy could touch what the buffer holds or would need more
/// storage: while out-of-order data is held, beyond the window, with no storage yet.
#[test]
fn staging_declines_where_it_could_change_state() {
    let mut cold = RecvBuffer::new(8192);
    assert!(cold.stage(&[1; 100]).is_none(), "no storage allocated yet");
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
