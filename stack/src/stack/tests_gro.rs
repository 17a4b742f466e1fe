//! Receive coalescing (`gro.rs`): a batch's runs of in-order segments are taken by TCP
//! as one, with the same bytes, counters and answers as one by one.

use proptest::prelude::*;

use super::test_host::{
    data, drain, established, established_with, host_packet, host_repr, segment, stack, HOST,
    PEER_ISN, T0, US,
};
use super::*;
use crate::tcp::layer::TcpHandle;
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

/// Full-sized: the host's SYN offers an MSS of 1460 and it sends no timestamps.
const MSS: usize = 1460;

/// The `n`th MSS-sized segment of the stream, ACKing our SYN.
fn nth(iss: u32, n: usize, flags: TcpFlags) -> Vec<u8> {
    let at = n * MSS;
    segment(
        flags,
        PEER_ISN + 1 + at as u32,
        iss + 1,
        &data(at..at + MSS),
    )
}

fn batch(s: &mut Stack, i: IfaceId, frames: &[Vec<u8>]) {
    let none = VirtioNetHdr::NONE;
    s.receive_batch(T0, frames.iter().map(|f| (i, &f[..], none)));
}

pub(super) fn read_all(s: &mut Stack, h: TcpHandle) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.tcp_recv(T0, h, &mut buf) {
            Ok(n) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => return out,
        }
    }
}

/// The ACK numbers of what the stack sends.
fn acks(s: &mut Stack) -> Vec<u32> {
    answers(s).iter().map(|a| a.0).collect()
}

/// What the stack sends, as the peer reads it: ACK number, window, SACK blocks, TSecr.
type Answer = (u32, u16, [Option<(u32, u32)>; 4], Option<u32>);

fn answers(s: &mut Stack) -> Vec<Answer> {
    drain(s)
        .iter()
        .map(|t| {
            let r = TcpRepr::parse(&TcpPacket::new_checked(&t.frame[20..]).unwrap(), US, HOST)
                .expect("a segment");
            let tsecr = r.timestamp.map(|t| t.tsecr);
            (r.ack_number, r.window_len, r.sack_ranges, tsecr)
        })
        .collect()
}

/// Ten in-order segments in one batch are one run: TCP takes their bytes whole, counts
/// them as ten segments (TcpInSegs, the connection's segs_in) and answers with one ACK
/// for all of them, as it answers the same ten taken one by one in a turn (RFC 5681
/// 4.2: an ACK due every second full-sized segment, sent once for the batch).
#[test]
fn in_order_segments_of_a_batch_are_taken_as_one_run() {
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    let (segs_before, in_before) = (s.stats().tcp_in_segs, s.tcp_conn(h).unwrap().stats.segs_in);
    let frames: Vec<_> = (0..10).map(|n| nth(iss, n, TcpFlags::ACK)).collect();
    batch(&mut s, i, &frames);
    assert_eq!((s.stats().gro_runs, s.stats().gro_segs), (1, 10));
    assert_eq!(s.stats().tcp_in_segs - segs_before, 10);
    assert_eq!(s.tcp_conn(h).unwrap().stats.segs_in - in_before, 10);
    assert_eq!(acks(&mut s), [PEER_ISN + 1 + 10 * MSS as u32]);
    assert_eq!(read_all(&mut s, h), data(0..10 * MSS));

    // The same, one frame at a time, before one poll: the same ACK, no run.
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    for n in 0..10 {
        s.receive(T0, i, &nth(iss, n, TcpFlags::ACK));
    }
    assert_eq!(s.stats().gro_runs, 0);
    assert_eq!(acks(&mut s), [PEER_ISN + 1 + 10 * MSS as u32]);
    assert_eq!(read_all(&mut s, h), data(0..10 * MSS));
}

/// A segment with a bad checksum inside a run is dropped and counted (RFC 9293 3.1), and
/// the run ends before it: the segments before it are taken, those after it are out of
/// order (held, and ACKed at once as duplicates, RFC 5681 4.2) until it comes again.
#[test]
fn a_corrupted_segment_ends_the_run_and_is_dropped() {
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    let mut frames: Vec<_> = (0..5).map(|n| nth(iss, n, TcpFlags::ACK)).collect();
    let last = frames[2].len() - 1;
    frames[2][last] ^= 0x40;
    batch(&mut s, i, &frames);
    assert_eq!(
        (s.stats().tcp_in_csum_errors, s.stats().tcp_in_errs),
        (1, 1)
    );
    assert_eq!((s.stats().gro_runs, s.stats().gro_segs), (1, 2));
    let two = PEER_ISN + 1 + 2 * MSS as u32;
    assert_eq!(
        acks(&mut s),
        [two, two],
        "a duplicate ACK for each held segment"
    );
    assert_eq!(read_all(&mut s, h), data(0..2 * MSS));
    batch(&mut s, i, &[nth(iss, 2, TcpFlags::ACK)]);
    assert_eq!(acks(&mut s), [PEER_ISN + 1 + 5 * MSS as u32]);
    assert_eq!(read_all(&mut s, h), data(2 * MSS..5 * MSS));
}

/// Only segments that differ in nothing but SEG.SEQ merge (Linux's rule): another ACK
/// number, another window or other timestamps start a new run, and PSH ends one.
#[test]
fn segments_that_differ_start_a_new_run() {
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    let mut frames: Vec<_> = (0..8).map(|n| nth(iss, n, TcpFlags::ACK)).collect();
    // PSH on the second: the first two are a run.
    frames[1] = nth(iss, 1, TcpFlags::ACK | TcpFlags::PSH);
    // Another window on the fifth: the third and fourth are a run, the fifth starts one.
    let at = 4 * MSS;
    frames[4] = host_packet(&TcpRepr {
        window_len: 30_000,
        ..host_repr(
            TcpFlags::ACK,
            PEER_ISN + 1 + at as u32,
            iss + 1,
            &data(at..at + MSS),
        )
    });
    batch(&mut s, i, &frames);
    // Runs: [0, 1], [2, 3], [4] (alone: not counted), [5, 6, 7].
    assert_eq!((s.stats().gro_runs, s.stats().gro_segs), (3, 7));
    assert_eq!(read_all(&mut s, h), data(0..8 * MSS));
}

/// A frame that is not TCP ends the run before it is processed: here a UDP datagram to
/// a closed port, answered with ICMP port unreachable (RFC 1122 3.2.2.1), between two
/// runs; the answers come in the frames' order (the run's ACK is due with the batch).
#[test]
fn a_frame_of_another_kind_ends_the_run() {
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    let udp = super::tests::udp(HOST, US, 5000, 4444, b"hi");
    let frames = vec![
        nth(iss, 0, TcpFlags::ACK),
        nth(iss, 1, TcpFlags::ACK),
        udp,
        nth(iss, 2, TcpFlags::ACK),
        nth(iss, 3, TcpFlags::ACK),
    ];
    batch(&mut s, i, &frames);
    assert_eq!((s.stats().gro_runs, s.stats().gro_segs), (2, 4));
    let out = drain(&mut s);
    assert!(
        out.iter().any(|t| t.frame[9] == 1),
        "the port unreachable: {out:?}"
    );
    assert_eq!(read_all(&mut s, h), data(0..4 * MSS));
}

/// The frames of a stream cut into `pieces` (length, what happens to it): 0 corrupts
/// it, 1 drops it, 2 sends it twice, 3 swaps it with the one before, 4 sets PSH, 5 gives
/// it another window; the rest leave it alone.
fn stream_frames(iss: u32, pieces: &[(usize, u8)]) -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut at = 0;
    for &(len, op) in pieces {
        let flags = if op == 4 {
            TcpFlags::ACK | TcpFlags::PSH
        } else {
            TcpFlags::ACK
        };
        let mut f = host_packet(&TcpRepr {
            window_len: if op == 5 { 20_000 } else { 65_535 },
            ..host_repr(
                flags,
                PEER_ISN + 1 + at as u32,
                iss + 1,
                &data(at..at + len),
            )
        });
        at += len;
        match op {
            0 => {
                let last = f.len() - 1;
                f[last] ^= 0x10;
                frames.push(f);
            }
            1 => {}
            2 => {
                frames.push(f.clone());
                frames.push(f);
            }
            3 if !frames.is_empty() => {
                let prev = frames.pop().unwrap();
                frames.push(f);
                frames.push(prev);
            }
            _ => frames.push(f),
        }
    }
    frames
}

/// A stream as a sender with TSO and timestamps sends it: super-segments of `burst`
/// wire segments of 1448 bytes (the last one with PSH), each burst with the next TSval;
/// `lost` wire segments are dropped and sent again (after the burst they were in).
fn tso_stream(iss: u32, bursts: &[(usize, Vec<bool>)]) -> Vec<Vec<u8>> {
    const SEG: usize = 1448;
    let mut frames = Vec::new();
    let mut at = 0;
    let mut resend = Vec::new();
    for (k, (n, lost)) in bursts.iter().enumerate() {
        let tsval = 101 + k as u32;
        for j in 0..*n {
            let flags = if j + 1 == *n {
                TcpFlags::ACK | TcpFlags::PSH
            } else {
                TcpFlags::ACK
            };
            let f = host_packet(&TcpRepr {
                timestamp: Some(crate::wire::tcp::TcpTimestamp { tsval, tsecr: 0 }),
                window_len: 500,
                ..host_repr(
                    flags,
                    PEER_ISN + 1 + at as u32,
                    iss + 1,
                    &data(at..at + SEG),
                )
            });
            if lost.get(j).copied().unwrap_or(false) {
                resend.push(f);
            } else {
                frames.push(f);
            }
            at += SEG;
        }
        frames.append(&mut resend);
    }
    frames
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A stream's segments, some lost, repeated, swapped, corrupted, with PSH or another
    /// window, taken in batches of any size, get the same answers (ACKs, windows, SACK
    /// blocks), leave the reader the same bytes and the counters the same as taken one
    /// frame at a time.
    #[test]
    fn batches_take_what_single_frames_take(
        pieces in proptest::collection::vec(
            (prop_oneof![3 => Just(MSS), 1 => 1usize..MSS], 0u8..24),
            1..80,
        ),
        cuts in proptest::collection::vec(1usize..12, 1..20),
    ) {
        let (mut one, i1) = stack();
        let (h1, iss) = established(&mut one, i1);
        let (mut many, i2) = stack();
        let (h2, iss2) = established(&mut many, i2);
        prop_assert_eq!(iss, iss2);
        let frames = stream_frames(iss, &pieces);
        for f in &frames {
            one.receive(T0, i1, f);
        }
        let mut rest = &frames[..];
        let mut k = 0;
        while !rest.is_empty() {
            let n = cuts[k % cuts.len()].min(rest.len());
            batch(&mut many, i2, &rest[..n]);
            rest = &rest[n..];
            k += 1;
        }
        // The same answers, in order.
        prop_assert_eq!(answers(&mut one), answers(&mut many));
        prop_assert_eq!(read_all(&mut one, h1), read_all(&mut many, h2));
        let (a, b) = (one.stats(), many.stats());
        prop_assert_eq!(
            (a.tcp_in_segs, a.tcp_in_errs, a.tcp_in_csum_errors),
            (b.tcp_in_segs, b.tcp_in_errs, b.tcp_in_csum_errors)
        );
        prop_assert_eq!(
            one.tcp_conn(h1).unwrap().stats.segs_in,
            many.tcp_conn(h2).unwrap().stats.segs_in
        );
    }

    /// With SACK and timestamps, bursts as a TSO sender sends them, some segments lost
    /// and sent again, the application reading between batches: batches of any size
    /// get the same answers, bytes and counters as single frames.
    #[test]
    fn batches_of_bursts_take_what_single_frames_take(
        bursts in proptest::collection::vec(
            (1usize..12, proptest::collection::vec(prop::bool::weighted(0.08), 12)),
            1..25,
        ),
        cuts in proptest::collection::vec(1usize..30, 1..20),
    ) {
        let (mut one, i1) = stack();
        let (h1, iss, _) = established_with(&mut one, i1, true);
        let (mut many, i2) = stack();
        let (h2, _, _) = established_with(&mut many, i2, true);
        let frames = tso_stream(iss, &bursts);
        let mut rest = &frames[..];
        let mut k = 0;
        let (mut a1, mut a2) = (Vec::new(), Vec::new());
        let (mut got1, mut got2) = (Vec::new(), Vec::new());
        while !rest.is_empty() {
            let n = cuts[k % cuts.len()].min(rest.len());
            for f in &rest[..n] {
                one.receive(T0, i1, f);
            }
            batch(&mut many, i2, &rest[..n]);
            // The runtime polls after each batch: the answers of each batch compare.
            a1.extend(answers(&mut one));
            a2.extend(answers(&mut many));
            // Every other batch, the application reads before the next batch comes, as
            // the runtime's tasks read between turns: a window update the read made due
            // goes out with the next segment taken (`tcp_input_verified`).
            if k % 2 == 1 {
                got1.extend(read_all(&mut one, h1));
                got2.extend(read_all(&mut many, h2));
            }
            rest = &rest[n..];
            k += 1;
        }
        prop_assert_eq!(a1, a2);
        got1.extend(read_all(&mut one, h1));
        got2.extend(read_all(&mut many, h2));
        prop_assert_eq!(got1, got2);
        prop_assert_eq!(
            one.tcp_conn(h1).unwrap().stats.segs_in,
            many.tcp_conn(h2).unwrap().stats.segs_in
        );
    }
}
