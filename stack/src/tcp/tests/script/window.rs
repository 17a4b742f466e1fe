//! Flow control: the peer's window (zero window, persist probes), our window (zero
//! window, receiver silly window avoidance), and Nagle's algorithm.

use super::*;
use crate::tcp::State;

/// RFC 9293 3.8.6: nothing is sent beyond the peer's window; with a zero window, no data
/// goes out at all (only probes, later).
#[test]
fn zero_window_stops_data() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        wnd: 0,
        ..PeerOpts::default()
    });
    h.send(&c, b"waiting");
    h.expect_none();
}

/// RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17: with data waiting and a zero window, the sender
/// probes with one byte beyond the window; the interval backs off exponentially (from the
/// RTO, here 200 ms); and the connection is never dropped while the peer keeps answering
/// the probes, here for ten minutes, far beyond the user timeout.
#[test]
fn persist_probes_back_off_and_never_abort() {
    let mut h = Harness::with(TcpConfig {
        user_timeout: secs(5),
        ..TcpConfig::default()
    });
    let c = h.passive(PeerOpts {
        wnd: 0,
        ..PeerOpts::default()
    });
    h.send(&c, b"waiting");
    let start = h.now;
    let mut times = Vec::new();
    while h.now < start + secs(600) {
        let (t, out) = h.next_out(secs(600)).expect("a probe");
        assert_eq!(out.len(), 1, "{out:#?}");
        check(
            &out[0],
            &[
                flags(ACK),
                seq(c.iss.wrapping_add(1)),
                C::Data(b"w".to_vec()),
            ],
        );
        times.push((t - start).total_millis());
        // The peer is alive but its window stays shut: it acknowledges nothing new.
        h.inject(&c.seg(ACK));
        h.expect_none();
    }
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).take(10).collect();
    assert_eq!(times[0], 200);
    assert_eq!(
        gaps,
        [400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 60_000, 60_000]
    );
    assert_eq!(h.state(&c), Some(State::Established));
}

/// RFC 9293 3.8.6.1: when the window opens (an ACK with a nonzero window), the waiting data
/// is sent at once.
#[test]
fn window_update_resumes_sending() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        wnd: 0,
        ..PeerOpts::default()
    });
    h.send(&c, b"waiting");
    h.expect_none();
    h.inject(&c.seg(ACK).wnd(1000));
    h.expect(&[seq(c.iss.wrapping_add(1)), C::Data(b"waiting".to_vec())]);
}

/// RFC 9293 3.8.6.1: a probe the peer accepts (its window opened by a byte) advances
/// SND.UNA, and the rest follows as the window allows.
#[test]
fn accepted_probe_advances() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts {
        wnd: 0,
        ..PeerOpts::default()
    });
    h.send(&c, b"waiting");
    let (_, out) = h.next_out(secs(1)).unwrap();
    c.saw(&out[0]);
    h.inject(&c.seg(ACK).wnd(100));
    h.expect(&[seq(c.iss.wrapping_add(2)), C::Data(b"aiting".to_vec())]);
}

fn small_buffer() -> TcpConfig {
    TcpConfig {
        recv_buffer: 4096,
        ..TcpConfig::default()
    }
}

/// RFC 9293 3.10.7.4 (first) and 3.8.6: when our buffer is full we advertise a zero
/// window; a data segment then is not acceptable and is answered with an ACK that repeats
/// RCV.NXT and the zero window.
#[test]
fn full_buffer_advertises_zero_window() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    for _ in 0..4 {
        h.inject(&c.data(&[1u8; 1024]));
        c.nxt = c.nxt.wrapping_add(1024);
    }
    let acks = h.advance_by(ms(100));
    assert_eq!(acks.last().unwrap().1.wnd, 0);
    h.inject(&c.data(b"more"));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), wnd(0)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 4096);
}

/// RFC 9293 3.10.7.4 (first, RCV.WND = 0): a zero-window probe (one byte at RCV.NXT) is
/// answered with an ACK of RCV.NXT and the zero window; the byte is not taken.
#[test]
fn zero_window_probe_is_answered() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    for _ in 0..4 {
        h.inject(&c.data(&[1u8; 1024]));
        c.nxt = c.nxt.wrapping_add(1024);
    }
    h.advance_by(ms(100));
    h.inject(&c.data(b"p"));
    h.expect(&[ack(c.nxt), wnd(0)]);
}

/// RFC 1122 4.2.3.3 (receiver SWS avoidance): after a zero window, reading a little does
/// not announce a tiny window; once the free space reaches min(buffer/2, MSS) a window
/// update goes out at once.
#[test]
fn receiver_sws_avoidance() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    for _ in 0..4 {
        h.inject(&c.data(&[1u8; 1024]));
        c.nxt = c.nxt.wrapping_add(1024);
    }
    h.advance_by(ms(100));
    let mut buf = [0u8; 1000];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(1000));
    h.expect_none();
    h.advance_by(ms(500));
    let mut buf = [0u8; 460];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(460));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), wnd(1460)]);
}

/// RFC 9293 3.10.7.4 (first and seventh): a segment that straddles the right edge of the
/// window is acceptable, and only its part inside the window is taken; the ACK covers
/// exactly that part and shows the window closed.
#[test]
fn segment_straddling_the_window_is_trimmed() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(&[2u8; 3000]));
    c.nxt = c.nxt.wrapping_add(3000);
    // 3000 bytes are more than two full-sized segments' worth, but their ACK would offer
    // a smaller window than the last and nobody reads: it waits for the delayed-ACK
    // timer (`ack_that_would_shrink_the_window_waits_for_the_read`).
    let by = h.now + TcpConfig::default().delayed_ack;
    h.expect_by(by, &[ack(c.nxt), wnd(1096)]);
    h.inject(&c.data(&[3u8; 2000]));
    // The 1096 bytes taken are less than a full-sized segment: a delayed ACK.
    let by = h.now + TcpConfig::default().delayed_ack;
    h.expect_by(by, &[ack(c.nxt.wrapping_add(1096)), wnd(0)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().recv_queue(), 4096);
}

/// A fixed 16 KiB receive buffer (no autotuning), so the windows are exact.
fn buffer_16k() -> TcpConfig {
    TcpConfig {
        recv_buffer: 16_384,
        recv_buffer_max: 0,
        ..TcpConfig::default()
    }
}

/// RFC 5681 4.2 and RFC 9293 3.8.6.3 ask for an ACK for at least every second
/// full-sized segment (SHOULD); an ACK that would offer a smaller window than the last
/// one (the reader has not taken the data yet) waits for the read instead, and goes with
/// the window the read opened, as Linux's receiver does (`__tcp_ack_snd_check`,
/// `tcp_cleanup_rbuf`). A paced sender's window no longer loses the two segments each
/// ACK left unread.
#[test]
fn ack_that_would_shrink_the_window_waits_for_the_read() {
    let mut h = Harness::with(buffer_16k());
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(&[1u8; 1460]));
    c.nxt = c.nxt.wrapping_add(1460);
    h.inject(&c.data(&[2u8; 1460]));
    c.nxt = c.nxt.wrapping_add(1460);
    h.expect_none();
    let mut buf = [0u8; 4096];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(2920));
    // One ACK, the window whole again: not a held ACK and a window update besides.
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), wnd(16_384)]);
    h.idle_until(h.now + ms(500));
}

/// RFC 1122 4.2.3.2: the held ACK is still delayed by no more than the delayed-ACK
/// timer (40 ms, within the RFC's 0.5 s) when the application does not read; and an ACK
/// that offers no smaller window goes at once.
#[test]
fn held_ack_goes_when_the_delayed_ack_timer_fires() {
    let mut h = Harness::with(buffer_16k());
    let mut c = h.passive(PeerOpts::default());
    let start = h.now;
    h.inject(&c.data(&[1u8; 1460]));
    h.inject(&c.data(&[2u8; 1460]).seq(c.nxt.wrapping_add(1460)));
    c.nxt = c.nxt.wrapping_add(2920);
    let (at, _) = h.expect_by(
        start + TcpConfig::default().delayed_ack,
        &[ack(c.nxt), wnd(16_384 - 2920)],
    );
    assert_eq!(at, start + TcpConfig::default().delayed_ack);
    // Two more full segments, read before anything else is collected: one ACK, with
    // the whole window.
    h.inject(&c.data(&[3u8; 1460]));
    h.inject(&c.data(&[4u8; 1460]).seq(c.nxt.wrapping_add(1460)));
    c.nxt = c.nxt.wrapping_add(2920);
    let mut buf = [0u8; 8192];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(5840));
    h.expect(&[ack(c.nxt), wnd(16_384)]);
}

/// RFC 1122 4.2.3.4 / RFC 896 (Nagle): a first small segment goes at once when nothing is
/// in flight; a second waits while the first is unacknowledged, and goes when the ACK
/// comes.
#[test]
fn nagle_holds_small_segment_while_data_in_flight() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.send(&c, b"a");
    let a = h.expect(&[C::Data(b"a".to_vec())]);
    h.send(&c, b"b");
    h.send(&c, b"c");
    h.expect_none();
    c.saw(&a);
    h.advance_by(ms(30));
    h.inject(&c.seg(ACK));
    h.expect(&[C::Data(b"bc".to_vec()), seq(c.iss.wrapping_add(2))]);
}

/// RFC 1122 4.2.3.4: "a TCP SHOULD implement ... a way for an application to disable the
/// Nagle algorithm": with TCP_NODELAY, small segments go out at once.
#[test]
fn nodelay_sends_small_segments_at_once() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.s.tcp_configure(c.h, |conn| conn.set_nodelay(true))
        .unwrap();
    h.send(&c, b"a");
    h.expect(&[C::Data(b"a".to_vec())]);
    h.send(&c, b"b");
    h.expect(&[C::Data(b"b".to_vec()), seq(c.iss.wrapping_add(2))]);
}

/// RFC 1122 4.2.3.4: Nagle holds back only a partial segment: with data in flight, full
/// segments still go, and the short tail waits.
#[test]
fn nagle_does_not_hold_full_segments() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, b"a");
    h.expect(&[len(1)]);
    h.send(&c, &[9u8; 3000]);
    let out = h.out();
    let lens: Vec<usize> = out.iter().map(|s| s.data.len()).collect();
    assert_eq!(lens, [1460, 1460]);
}

/// RFC 9293 3.8.6.2.1 (sender SWS avoidance): with the peer's window at less than a
/// segment, data is sent only when it is at least half the largest window the peer ever
/// offered, or all that is queued.
#[test]
fn sender_sws_avoidance() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts {
        wnd: 4000,
        ..PeerOpts::default()
    });
    h.send(&c, &[1u8; 2920]);
    let out = h.out();
    assert_eq!(out.len(), 2);
    c.saw(&out[1]);
    // The peer acknowledges all but shrinks its window to 100 bytes: 100 < 4000/2 and
    // not all that is queued, so nothing goes.
    h.send(&c, &[2u8; 1000]);
    h.inject(&c.seg(ACK).wnd(100));
    h.expect_none();
    // A window of 2000 (half the largest offered) lets 1000 go.
    h.inject(&c.seg(ACK).wnd(2000));
    h.expect(&[len(1000)]);
}

/// RFC 9293 3.8.6.2.1 (RFC 1122 4.2.3.4's override timeout): with nothing in flight and
/// a window too small for sender SWS avoidance to use, no ACK will come to widen it (the
/// peer's window update may have been lost); after the persist interval the sender sends
/// what fits rather than wait forever.
#[test]
fn small_window_is_used_after_the_override_timeout() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts {
        wnd: 4000,
        ..PeerOpts::default()
    });
    h.send(&c, &[1u8; 2920]);
    let out = h.out();
    assert_eq!(out.len(), 2);
    c.saw(&out[1]);
    h.send(&c, &[2u8; 1000]);
    h.inject(&c.seg(ACK).wnd(100));
    h.expect_none();
    let start = h.now;
    let (t, out) = h.next_out(secs(5)).expect("the override sends");
    assert_eq!(out.len(), 1, "{out:#?}");
    check(
        &out[0],
        &[flags(ACK), seq(c.iss.wrapping_add(2921)), len(100)],
    );
    // One persist interval: the RTO (at least 200 ms), not at once.
    let waited = t - start;
    assert!(waited >= ms(200) && waited <= secs(1), "{waited:?}");
}

/// RFC 1122 4.2.3.3: a read that cannot move the advertised right edge by a full step (the
/// unscaled 16-bit window is already at its maximum) sends no pointless window update.
#[test]
fn read_sends_no_update_that_changes_nothing() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(b"thirteen byte"));
    c.nxt = c.nxt.wrapping_add(13);
    assert_eq!(h.read(&c).len(), 13);
    h.expect_none();
    h.expect_by(h.now + ms(40), &[ack(c.nxt)]);
}

/// RFC 1122 4.2.3.4 (as Linux does on setsockopt(TCP_NODELAY)): turning Nagle off releases
/// the small segment it was holding, without waiting for the ACK.
#[test]
fn nodelay_releases_held_data() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, b"a");
    h.expect(&[len(1)]);
    h.send(&c, b"b");
    h.expect_none();
    h.s.tcp_configure(c.h, |conn| conn.set_nodelay(true))
        .unwrap();
    let now = h.now;
    let got = h.advance(now);
    assert_eq!(got.len(), 1, "{got:#?}");
    check(&got[0].1, &[C::Data(b"b".to_vec())]);
}

/// RFC 9293 3.10.7.4 (first): "If the RCV.WND is zero, no segments will be acceptable,
/// but special allowance should be made to accept valid ACKs": with our window shut, the
/// peer's data at RCV.NXT is dropped, but the ACK it carries for our data counts (no
/// retransmission follows).
#[test]
fn zero_window_still_takes_acks() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    for _ in 0..4 {
        h.inject(&c.data(&[1u8; 1024]));
        c.nxt = c.nxt.wrapping_add(1024);
    }
    h.advance_by(ms(100));
    h.send(&c, b"our data");
    let d = h.expect(&[len(8), wnd(0)]);
    c.saw(&d);
    h.inject(&c.data(b"theirs"));
    h.expect(&[C::FlagsExact(ACK), ack(c.nxt), wnd(0)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().bytes_in_flight(), 0);
    h.idle_until(h.now + secs(5));
}

/// Socket buffers grow with use and are given back when idle: after the application
/// read everything, the receive storage stays while data may still come, and goes once
/// the connection saw none for `BUFFER_LINGER`, so a bulk receiver does not reallocate
/// between bursts and an idle connection costs only its TCB.
#[test]
fn drained_receive_storage_is_released_after_the_linger() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::default());
    h.inject(&c.data(&[9u8; 1000]));
    c.nxt = c.nxt.wrapping_add(1000);
    let mut buf = [0u8; 2000];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(1000));
    let held = |h: &Harness| h.s.tcp_conn(c.h).unwrap().recv_buf.allocated();
    assert!(held(&h) > 0, "kept right after the read");
    let _ = h.advance_by(ms(500));
    assert!(held(&h) > 0, "kept within the linger");
    let _ = h.advance_by(crate::tcp::conn::BUFFER_LINGER);
    assert_eq!(held(&h), 0, "given back after it");
}

/// RFC 1122 4.2.3.3 with Linux's `tcp_cleanup_rbuf` rule: a read that opens the window
/// sends an update at once only when the peer sees at most half the buffer and would
/// see at least twice as much; otherwise the larger window rides on the next ACK.
#[test]
fn window_update_after_a_read_only_when_the_peer_is_held_up() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    // 1000 bytes of 4096: the peer still sees 3096 (more than half): a read sends no
    // update of its own.
    h.inject(&c.data(&[1u8; 1000]));
    c.nxt = c.nxt.wrapping_add(1000);
    let _ = h.advance_by(TcpConfig::default().delayed_ack);
    let mut buf = [0u8; 4096];
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(1000));
    h.expect_none();
    // Filled to the brim: the peer sees a zero window; the read that empties it is
    // announced at once.
    h.inject(&c.data(&[2u8; 1460]));
    c.nxt = c.nxt.wrapping_add(1460);
    h.inject(&c.data(&[3u8; 1460]));
    c.nxt = c.nxt.wrapping_add(1460);
    h.inject(&c.data(&[4u8; 1176]));
    c.nxt = c.nxt.wrapping_add(1176);
    let _ = h.out();
    let _ = h.advance_by(TcpConfig::default().delayed_ack);
    assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(4096));
    h.expect(&[ack(c.nxt), wnd(4096)]);
}

/// The same rule right after the handshake with a peer that scales windows (as every
/// Linux client does): the SYN-ACK could offer only 65,535 bytes (RFC 7323 2.2: the window
/// in a SYN is never scaled) although the buffer holds 256 KiB, and the peer has used a
/// few bytes of it. Reading a short request sends no window update of its own; the
/// answer carries the ACK (and the larger window), so a connection per request costs no
/// extra segment.
#[test]
fn short_request_after_the_handshake_sends_no_window_update() {
    let mut h = Harness::new();
    let mut c = h.passive(PeerOpts::linux());
    let req = b"GET /4k.html HTTP/1.1\r\nHost: x\r\n\r\n";
    h.inject(&c.data(req));
    c.nxt = c.nxt.wrapping_add(req.len() as u32);
    assert_eq!(h.read(&c), req);
    h.expect_none();
    h.send(&c, b"HTTP/1.1 200 OK\r\n\r\n");
    let r = h.expect(&[len(19), ack(c.nxt)]);
    assert!(
        (r.wnd as usize) << 7 > 65_535,
        "the answer offers the larger window: {r:?}"
    );
}

/// The window update a read triggers is built when the stack next polls, with the window
/// of that moment: a reader that drains a full buffer in several calls before then sends
/// one update offering the whole buffer, not one per call. Per call, the "at least twice"
/// rule of `window_update_after_a_read_only_when_the_peer_is_held_up` announced the
/// half-empty buffer and then stayed quiet about the rest (no other ACK was due: nothing
/// was in flight), so a sender whose flight arrived all at once (as GRO or a virtual-time
/// link delivers it) saw only part of the window each round.
#[test]
fn reads_before_the_next_poll_make_one_window_update() {
    let mut h = Harness::with(small_buffer());
    let mut c = h.passive(PeerOpts::default());
    for part in [1460, 1460, 1176] {
        h.inject(&c.data(&vec![5u8; part]));
        c.nxt = c.nxt.wrapping_add(part as u32);
    }
    let _ = h.out();
    let _ = h.advance_by(TcpConfig::default().delayed_ack);
    let mut buf = [0u8; 1024];
    for _ in 0..4 {
        assert_eq!(h.s.tcp_recv(h.now, c.h, &mut buf), Ok(1024));
    }
    h.expect(&[ack(c.nxt), wnd(4096)]);
    h.expect_none();
}

/// Send-buffer autotuning (`Connection::send_limit`, Linux's `tcp_sndbuf_expand`): the
/// buffer is twice what can be in flight, the smaller of cwnd and the peer's largest
/// window; it grows as slow start opens cwnd, never past `send_buffer_max`, never
/// shrinks, and stays at `send_buffer` when the maximum is no larger.
#[test]
fn send_buffer_grows_with_the_flight_up_to_its_maximum() {
    let tuned = TcpConfig {
        send_buffer: 16 * 1024,
        send_buffer_max: 96 * 1024,
        ..TcpConfig::default()
    };
    let mut h = Harness::with(tuned.clone());
    let mut c = h.passive(PeerOpts::default());
    let ch = c.h;
    let conn = |h: &Harness| {
        let k = h.s.tcp_conn(ch).unwrap();
        (k.send_buffer_capacity(), k.cc.cwnd())
    };
    // IW10 (RFC 6928) of 1460-byte segments: room for twice that.
    assert_eq!(conn(&h), (2 * 14_600, 14_600));
    // Slow start: each flight acknowledged doubles cwnd, and the buffer follows it to
    // the maximum.
    let mut caps = Vec::new();
    for _ in 0..3 {
        let room = h.s.tcp_conn(c.h).unwrap().send_capacity();
        h.send(&c, &vec![7u8; room]);
        for s in h.out() {
            c.saw(&s);
        }
        h.inject(&c.seg(ACK));
        let _ = h.out();
        caps.push(conn(&h));
    }
    assert_eq!(caps[0], (2 * 29_200, 29_200));
    assert_eq!(caps[1].0, 96 * 1024, "at the maximum: {caps:?}");
    assert!(caps[2].1 > caps[1].1 && caps[2].0 == 96 * 1024, "{caps:?}");

    // The peer's window bounds what can fly: a 6,000-byte window keeps the buffer at
    // twice that, though cwnd is 14,600.
    let mut h = Harness::with(tuned.clone());
    let c = h.passive(PeerOpts {
        wnd: 6_000,
        ..PeerOpts::default()
    });
    assert_eq!(h.s.tcp_conn(c.h).unwrap().send_buffer_capacity(), 16 * 1024);
    let mut h = Harness::with(TcpConfig {
        send_buffer: 4096,
        ..tuned.clone()
    });
    let c = h.passive(PeerOpts {
        wnd: 6_000,
        ..PeerOpts::default()
    });
    assert_eq!(h.s.tcp_conn(c.h).unwrap().send_buffer_capacity(), 12_000);

    // A maximum at or below the starting size fixes it.
    let mut h = Harness::with(TcpConfig {
        send_buffer_max: 0,
        ..tuned
    });
    let c = h.passive(PeerOpts::default());
    assert_eq!(h.s.tcp_conn(c.h).unwrap().send_buffer_capacity(), 16 * 1024);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().send_capacity(), 16 * 1024);
}
