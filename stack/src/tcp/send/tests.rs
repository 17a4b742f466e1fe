use super::*;
use proptest::prelude::*;

fn byte(i: usize) -> u8 {
    ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8
}

fn stream(range: core::ops::Range<usize>) -> Vec<u8> {
    range.map(byte).collect()
}

fn contents(sb: &SendBuffer) -> Vec<u8> {
    let mut out = vec![0; sb.len()];
    assert_eq!(sb.copy_out(0, &mut out), sb.len());
    out
}

#[test]
fn write_until_full_then_ack_frees_room() {
    let mut sb = SendBuffer::new(100);
    assert!(sb.is_empty());
    assert_eq!((sb.capacity(), sb.free()), (100, 100));
    assert_eq!(sb.write(&stream(0..60)), 60);
    assert_eq!(sb.write(&stream(60..160)), 40);
    assert_eq!(sb.write(&[1]), 0, "full");
    assert_eq!((sb.len(), sb.free()), (100, 0));
    sb.ack(30);
    assert_eq!((sb.len(), sb.free()), (70, 30));
    assert_eq!(contents(&sb), stream(30..100));
    sb.ack(1000);
    assert!(sb.is_empty());
    assert_eq!(sb.free(), 100);
}

#[test]
fn copy_out_and_slices_across_the_wrap() {
    let mut sb = SendBuffer::new(10);
    sb.write(&stream(0..8));
    sb.ack(6);
    assert_eq!(sb.write(&stream(8..20)), 8); // ring: [8..12) at 8.., [12..16) at 0..
    assert_eq!(sb.len(), 10);
    let (a, b) = sb.slices(0, 10);
    assert_eq!((a, b), (&stream(6..10)[..], &stream(10..16)[..]));
    // A range wholly in the second part, one straddling the wrap, clamped ends.
    assert_eq!(sb.slices(5, 3), (&stream(11..14)[..], &[][..]));
    assert_eq!(sb.slices(2, 4), (&stream(8..10)[..], &stream(10..12)[..]));
    assert_eq!(sb.slices(8, 100), (&stream(14..16)[..], &[][..]));
    assert_eq!(sb.slices(10, 5), (&[][..], &[][..]));
    assert_eq!(sb.slices(3, 0), (&[][..], &[][..]));
    let mut dst = [0; 6];
    assert_eq!(sb.copy_out(1, &mut dst), 6);
    assert_eq!(dst[..], stream(7..13)[..]);
    assert_eq!(sb.copy_out(7, &mut dst), 3);
    assert_eq!(dst[..3], stream(13..16)[..]);
    assert_eq!(sb.copy_out(10, &mut dst), 0);
    assert_eq!(sb.copy_out(usize::MAX, &mut dst), 0);
}

#[test]
fn ring_wraps_many_times() {
    let mut sb = SendBuffer::new(37);
    let (mut written, mut acked) = (0, 0);
    let mut dst = [0; 37];
    let mut wrapped = 0;
    for round in 0..10_000usize {
        written += sb.write(&stream(written..written + 1 + round % 23));
        // Retransmit view: everything held, as one copy.
        let n = sb.copy_out(0, &mut dst);
        assert_eq!(n, written - acked);
        assert_eq!(dst[..n], stream(acked..written)[..]);
        if !sb.slices(0, 37).1.is_empty() {
            wrapped += 1;
        }
        let a = (round % 17).min(sb.len());
        sb.ack(a);
        acked += a;
    }
    assert!(written > 37 * 1000);
    assert!(wrapped > 1000, "wrapped {wrapped} times");
}

#[test]
fn set_capacity_grows_and_shrinks_without_losing_data() {
    let mut sb = SendBuffer::new(10);
    sb.write(&stream(0..8));
    sb.ack(5);
    sb.write(&stream(8..15)); // wrapped
    sb.set_capacity(20);
    assert_eq!((sb.capacity(), sb.len(), sb.free()), (20, 10, 10));
    assert_eq!(contents(&sb), stream(5..15));
    assert_eq!(sb.write(&stream(15..40)), 10);
    assert_eq!(contents(&sb), stream(5..25));
    // Shrinking below len keeps the data and refuses writes until acks catch up.
    sb.set_capacity(8);
    assert_eq!((sb.capacity(), sb.len(), sb.free()), (8, 20, 0));
    assert_eq!(sb.write(&[1]), 0);
    assert_eq!(contents(&sb), stream(5..25));
    sb.ack(15);
    assert_eq!((sb.len(), sb.free()), (5, 3));
    assert_eq!(sb.write(&stream(25..40)), 3);
    assert_eq!(contents(&sb), stream(20..28));
    // Shrinking to at least len reallocates to the new size.
    sb.set_capacity(8);
    sb.ack(2);
    sb.set_capacity(6);
    assert_eq!((sb.len(), sb.free()), (6, 0));
    assert_eq!(contents(&sb), stream(22..28));
}

#[test]
fn zero_capacity_holds_nothing() {
    let mut sb = SendBuffer::new(0);
    assert_eq!(sb.write(&[1, 2]), 0);
    sb.ack(3);
    assert_eq!(sb.slices(0, 5), (&[][..], &[][..]));
    assert!(sb.is_empty());
    sb.set_capacity(4);
    assert_eq!(sb.write(&[1, 2, 3, 4, 5]), 4);
    assert_eq!(contents(&sb), vec![1, 2, 3, 4]);
}

#[derive(Clone, Debug)]
enum Op {
    Write(usize),
    Ack(usize),
    CopyOut(usize, usize),
    SetCapacity(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..300).prop_map(Op::Write),
        3 => (0usize..300).prop_map(Op::Ack),
        3 => (0usize..300, 0usize..300).prop_map(|(o, l)| Op::CopyOut(o, l)),
        1 => (0usize..300).prop_map(Op::SetCapacity),
    ]
}

proptest! {
    /// The send buffer behaves as a bounded `Vec<u8>` queue: writes append what fits,
    /// acks drop from the front, copies and slices read the model's bytes.
    #[test]
    fn send_buffer_matches_vec_model(cap in 0usize..200, ops in proptest::collection::vec(op(), 1..200)) {
        let mut sb = SendBuffer::new(cap);
        let mut model: Vec<u8> = Vec::new();
        let mut cap = cap;
        let mut next = 0usize;
        for op in ops {
            match op {
                Op::Write(n) => {
                    let data = stream(next..next + n);
                    let k = sb.write(&data);
                    prop_assert_eq!(k, n.min(cap.saturating_sub(model.len())));
                    model.extend_from_slice(&data[..k]);
                    next += k;
                }
                Op::Ack(n) => {
                    sb.ack(n);
                    model.drain(..n.min(model.len()));
                }
                Op::CopyOut(off, len) => {
                    let mut dst = vec![0; len];
                    let k = sb.copy_out(off, &mut dst);
                    let want = model.get(off..).map_or(&[][..], |m| &m[..len.min(m.len())]);
                    prop_assert_eq!(&dst[..k], want);
                    let (a, b) = sb.slices(off, len);
                    prop_assert_eq!([a, b].concat(), want.to_vec());
                }
                Op::SetCapacity(c) => {
                    sb.set_capacity(c);
                    cap = c;
                }
            }
            prop_assert_eq!(sb.len(), model.len());
            prop_assert_eq!(sb.is_empty(), model.is_empty());
            prop_assert_eq!(sb.capacity(), cap);
            prop_assert_eq!(sb.free(), cap.saturating_sub(model.len()));
            prop_assert_eq!(contents(&sb), model.clone());
        }
    }
}

/// Memory grows with use: nothing allocated while idle, storage doubling (within the
/// capacity) as data is held, given back when all of it is acknowledged.
#[test]
fn storage_comes_with_data_and_goes_when_acked() {
    let mut b = SendBuffer::new(256 * 1024);
    assert_eq!(b.allocated(), 0);
    assert_eq!(b.free(), 256 * 1024);
    assert_eq!(b.write(&stream(0..100)), 100);
    let small = b.allocated();
    assert!((100..=8192).contains(&small), "{small}");
    b.ack(60);
    // Wraps in the small ring, then grows past it with the bytes kept in order.
    assert_eq!(b.write(&stream(100..50_000)), 49_900);
    assert!(b.allocated() >= 49_940 && b.allocated() <= 256 * 1024);
    let mut out = vec![0; 49_940];
    assert_eq!(b.copy_out(0, &mut out), 49_940);
    assert_eq!(out, stream(60..50_000));
    // Never beyond the capacity.
    assert_eq!(b.write(&stream(0..400_000)), 256 * 1024 - 49_940);
    assert_eq!(b.allocated(), 256 * 1024);
    b.ack(256 * 1024);
    assert_eq!(b.allocated(), 0, "all acknowledged: storage given back");
}
