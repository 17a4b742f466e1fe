//! Congestion control seen from the wire: CUBIC's window after a loss and after a
//! timeout (RFC 9438 4.6, 4.8), measured against the window the lost segment went out in
//! when a stretch ACK reports it (CUBIC and Reno), and HyStart++ leaving slow start when the RTT rises
//! (RFC 9406 4.2), against Reno on the same script.

use super::*;

const MSS: usize = 1460;
/// The payload per segment with timestamps (RFC 7323 options take 12 bytes).
const TS_MSS: usize = 1448;

/// A sender with a large send buffer, no tail loss probes, and `cc`.
fn harness(cc: Algorithm) -> Harness {
    Harness::with(TcpConfig {
        tail_loss_probe: false,
        send_buffer: 8 << 20,
        congestion: cc,
        ..TcpConfig::default()
    })
}

/// The default algorithm is CUBIC (RFC 9438), and a connection says so.
#[test]
fn cubic_is_the_default() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().congestion, "cubic");
}

/// RFC 9438 4.6: on the third duplicate ACK with ten segments in flight, CUBIC sets
/// ssthresh = cwnd = 0.7 * FlightSize (Reno would halve it: 7300).
#[test]
fn cubic_fast_retransmit_keeps_seven_tenths() {
    let mut h = harness(Algorithm::Cubic);
    let c = h.passive(PeerOpts::default());
    h.send(&c, &[0x11; 14_600]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    for _ in 0..3 {
        h.inject(&c.seg(ACK).ack(out[0].seq));
    }
    h.expect(&[seq(out[0].seq), len(MSS)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.ssthresh, info.cwnd), (10_220, 10_220));
}

/// RFC 9438 4.8: after a timeout CUBIC's cwnd is one segment, as Reno's, but ssthresh is
/// 0.7 * FlightSize (three segments: 3066; Reno: 2920), and only the first segment goes
/// again.
#[test]
fn cubic_timeout_one_segment_and_seven_tenths() {
    let mut h = harness(Algorithm::Cubic);
    let c = h.passive(PeerOpts::default());
    h.send(&c, &[1u8; 3 * MSS]);
    let out = h.out();
    assert_eq!(out.len(), 3);
    let (_, re) = h.next_out(secs(2)).unwrap();
    assert_eq!(re.len(), 1);
    check(&re[0], &[seq(out[0].seq), len(MSS)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.cwnd, info.ssthresh), (MSS, 3066));
}

/// The window and ssthresh at the end of each round trip of a bulk transfer to a peer that
/// ACKs every segment (timestamps on, so each ACK carries an RTT sample), with the RTT of
/// round `i` given by `rtt(i)`.
fn rounds(cc: Algorithm, n: usize, rtt: impl Fn(usize) -> u64) -> Vec<(usize, usize)> {
    let mut h = harness(cc);
    let mut c = h.passive(PeerOpts::linux());
    h.send(&c, &vec![7u8; 8 << 20]);
    let mut seen = Vec::new();
    let mut out = h.out();
    for i in 0..n {
        assert!(!out.is_empty(), "round {i}: nothing sent");
        h.advance_by(ms(rtt(i)));
        // Each ACK releases the next segments at once (the pipe stays full).
        let mut next = Vec::new();
        for s in &out {
            c.saw(s);
            h.inject(&c.seg(ACK));
            next.extend(h.out());
        }
        out = next;
        let info = h.s.tcp_conn(c.h).unwrap().info();
        seen.push((info.cwnd, info.ssthresh));
    }
    seen
}

/// RFC 9406 4.2 through the whole stack: slow start doubles the window per round trip
/// while the RTT stays at 20 ms; when it rises by more than RttThresh (4 ms here), CUBIC
/// leaves slow start for CSS, which grows the window by a quarter as much per round
/// (x1.25), and after CSS_ROUNDS rounds sets ssthresh to cwnd without any loss. Reno, on
/// the same script, keeps doubling.
#[test]
fn hystart_leaves_slow_start_when_rtt_rises() {
    let rtt = |i: usize| if i < 3 { 20 } else { 20 + 10 * (i as u64 - 2) };
    let cubic = rounds(Algorithm::Cubic, 10, rtt);
    let reno = rounds(Algorithm::Reno, 6, rtt);
    // Slow start: 10 -> 20 -> 40 -> 80 segments.
    for (i, &(cwnd, ssthresh)) in cubic.iter().take(3).enumerate() {
        assert_eq!(
            (cwnd, ssthresh),
            (TS_MSS * (20 << i), usize::MAX),
            "round {i}"
        );
    }
    for (i, &(cwnd, _)) in reno.iter().enumerate() {
        assert_eq!(cwnd, TS_MSS * (20 << i), "Reno round {i}");
    }
    // Round 3 (30 ms) leaves slow start after its eighth sample: from then on CSS.
    let growth: Vec<f64> = cubic
        .windows(2)
        .map(|w| w[1].0 as f64 / w[0].0 as f64)
        .collect();
    assert!(
        growth[2] < 2.0 && growth[2] > 1.25,
        "round 3 grew x{}",
        growth[2]
    );
    for (i, g) in growth.iter().enumerate().skip(3).take(4) {
        assert!((g - 1.25).abs() < 0.01, "CSS round {}: x{g}", i + 1);
    }
    // CSS ends after five rounds (the partial round 3 counts, then 4 to 7): the first ACK
    // of round 8 sets ssthresh = cwnd.
    let exit = cubic
        .iter()
        .position(|&(_, s)| s != usize::MAX)
        .expect("never left");
    assert_eq!(exit, 8, "{cubic:?}");
    assert!(cubic[exit].1 >= cubic[exit - 1].0 && cubic[exit].1 <= cubic[exit].0);
    assert!(cubic.last().unwrap().0 < reno.last().unwrap().0);
}

/// A SACK connection with twenty segments in flight at a window of 20, a round trip
/// after they left; then the first ACK after them acknowledges ten and SACKs four beyond
/// the eleventh, which RACK marks lost at once (RFC 8985 6.2: DupThresh segments SACKed
/// above it). Returns ssthresh after that ACK, having checked that the lost segment went
/// again at once.
fn loss_on_a_stretch_ack(cc: Algorithm) -> usize {
    let mut h = Harness::with_cc(cc);
    // Twenty segments in flight at a cwnd of 20 (the helper checks both).
    let (c, flight) = super::prr::twenty_in_flight(&mut h);
    let mut s = c.seg(ACK).ack(flight[10].seq);
    s.sack = vec![(flight[11].seq, flight[14].seq.wrapping_add(MSS as u32))];
    h.inject(&s);
    let out = h.out();
    check(&out[0], &[seq(flight[10].seq), len(MSS)]);
    h.s.tcp_conn(c.h).unwrap().info().ssthresh
}

/// RFC 9438 4.6 and RFC 5681 equation (4) against a receiver that acknowledges many
/// segments at once (Linux does when its reader lags): the flight when the loss was
/// detected is the twenty segments of the window the lost one went out in, before the
/// ACK that reported it took ten off, and that ACK does not grow the window before the
/// reduction. CUBIC keeps 0.7 * 20 segments = 20440 (0.7 of the ten left would be
/// 10220), Reno half, 14600 (not 7300).
#[test]
fn loss_on_a_stretch_ack_measures_the_window_it_was_sent_in() {
    assert_eq!(loss_on_a_stretch_ack(Algorithm::Cubic), 14 * MSS);
    assert_eq!(loss_on_a_stretch_ack(Algorithm::Reno), 10 * MSS);
}

/// Draft-ietf-ccwg-bbr-06 4.1.2.4 with tunstack's extension (`rate_check_app_limited` in
/// `pace.rs`): a sender held back by the peer's window while that window is still
/// growing (within the last two round trips) is application-limited, so what it
/// delivers (the receiver's ramp, not the path) neither ends BBR's Startup nor lowers
/// its estimate; held back by a window that stopped growing, it is not.
#[test]
fn window_limited_sender_is_app_limited_only_while_the_window_grows() {
    let mut h = Harness::with(TcpConfig {
        congestion: crate::tcp::congestion::Algorithm::Bbr,
        ..TcpConfig::default()
    });
    let four = 4 * 1460;
    let mut c = h.passive_rtt(
        PeerOpts {
            wnd: four as u16,
            ..PeerOpts::default()
        },
        ms(100),
    );
    let handle = c.h;
    let app_limited = |h: &Harness| h.s.tcp_conn(handle).unwrap().delivery.is_app_limited();
    h.send(&c, &[7u8; 200_000]);
    // One round trip: four segments fill the window the handshake just offered.
    // Paced: what leaves in the round trip, collected as the pacing timer releases it.
    let round = |h: &mut Harness, c: &mut Conn| {
        let out = h.advance_by(ms(100));
        assert_eq!(out.len(), 4, "the window holds four segments: {out:#?}");
        for (_, s) in &out {
            c.saw(s);
        }
        h.inject(&c.seg(ACK));
    };
    round(&mut h, &mut c);
    assert!(app_limited(&h), "held back by a window offered just now");
    // The window stays the same for three round trips: the flight it bounds measures
    // the path, and the samples count again.
    for _ in 0..3 {
        round(&mut h, &mut c);
    }
    assert!(
        !app_limited(&h),
        "held back by a window that stopped growing"
    );
    // The peer's window grows: held back by it, the sender is app-limited again.
    for (_, s) in &h.advance_by(ms(100)) {
        c.saw(s);
    }
    c.wnd = (8 * 1460) as u16;
    h.inject(&c.seg(ACK));
    assert_eq!(h.advance_by(ms(50)).len(), 8, "the grown window is filled");
    assert!(app_limited(&h), "held back by a window that is growing");
}

/// RFC 7661 4.3 (and RFC 9438 5.8) judge a sender by how much of its window it used,
/// which a batch of ACKs taken in before the sender may send again must not hide: a
/// runtime that reads a round trip's ACKs from its device in one read, then polls. Each
/// ACK of the batch lowers the flight the next one sees, while the sends that refill
/// the window wait for the poll; judged by that flight alone, the second half of the
/// batch looked application-limited and slow start grew by half instead of doubling
/// (`tcp/window_use.rs`). Judged by the window the sender filled, slow start doubles
/// per round trip with the ACKs batched just as with each ACK answered at once, for
/// CUBIC and for Reno.
#[test]
fn a_batch_of_acks_grows_slow_start_as_much_as_the_same_acks_one_by_one() {
    for cc in [Algorithm::Cubic, Algorithm::Reno] {
        let mut h = harness(cc);
        let mut c = h.passive(PeerOpts::linux());
        h.send(&c, &vec![7u8; 1 << 20]);
        let mut out = h.out();
        for round in 0..4 {
            let sent = out.len();
            assert_eq!(sent, 10 << round, "{cc:?}: round {round} fills the window");
            h.advance_by(ms(20));
            // The whole round's ACKs (one per segment) before anything is collected.
            for s in &out {
                c.saw(s);
                h.inject(&c.seg(ACK));
            }
            let cwnd = h.s.tcp_conn(c.h).unwrap().info().cwnd;
            assert_eq!(cwnd, 2 * sent * TS_MSS, "{cc:?}: round {round} doubles");
            out = h.out();
        }
    }
}
