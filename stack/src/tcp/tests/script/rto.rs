//! The retransmission timer (RFC 6298): the RTO from samples, its bounds, back-off,
//! Karn's rule, the timer's start/restart/stop rules, the loss window after a timeout
//! (RFC 5681 3.1), and giving up (user timeout).

use std::net::SocketAddrV4;

use super::*;
use crate::tcp::{ConnError, State};

/// An active open whose SYN-ACK arrives `rtt` after the SYN: the handshake gives one RTT
/// sample (RFC 6298 2.2), so RTO = rtt + 4 * rtt/2 = 3 * rtt (at least 200 ms).
fn open_with_rtt(h: &mut Harness, rtt: Duration) -> Conn {
    let ch =
        h.s.tcp_connect(h.now, SocketAddrV4::new(PEER, LPORT), None)
            .unwrap();
    let syn = h.expect(&[flags(SYN)]);
    h.advance_by(rtt);
    h.inject(
        &Seg::new(SYN | ACK)
            .ports(LPORT, syn.sport)
            .seq(PEER_ISS)
            .ack(syn.seq.wrapping_add(1))
            .mss(Some(1460)),
    );
    h.expect(&[flags(ACK)]);
    Conn {
        h: ch,
        port: syn.sport,
        pport: LPORT,
        iss: syn.seq,
        nxt: PEER_ISS.wrapping_add(1),
        una: syn.seq.wrapping_add(1),
        wnd: 65_535,
        ts: None,
    }
}

/// Sends `data` and returns the times (since the send) of its retransmissions until `until`.
fn retransmission_gaps(h: &mut Harness, c: &Conn, until: Duration) -> Vec<u64> {
    h.send(c, b"lost data");
    h.expect(&[len(9)]);
    let start = h.now;
    let got = h.advance(start + until);
    for (_, s) in &got {
        check(s, &[seq(c.iss.wrapping_add(1)), len(9)]);
    }
    got.iter()
        .map(|(t, _)| (*t - start).total_millis())
        .collect()
}

/// RFC 6298 2.2 (first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR) and 5.5
/// (back-off): with a 100 ms handshake RTT the RTO is 300 ms, then doubles: data is sent
/// again at 300, 900, 2100, 4500 ms.
#[test]
fn rto_from_first_sample_then_backoff() {
    let mut h = Harness::new();
    let c = open_with_rtt(&mut h, ms(100));
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().rto, ms(300));
    assert_eq!(
        retransmission_gaps(&mut h, &c, ms(5000)),
        [300, 900, 2100, 4500]
    );
}

/// RFC 6298 2.4 (tunstack's lower bound is Linux's 200 ms): a 10 ms RTT gives a computed
/// RTO of 30 ms, used as 200 ms; back-off doubles from there: 200, 600, 1400, 3000, 6200.
#[test]
fn rto_has_a_200ms_floor() {
    let mut h = Harness::new();
    let c = open_with_rtt(&mut h, ms(10));
    assert_eq!(
        retransmission_gaps(&mut h, &c, ms(7000)),
        [200, 600, 1400, 3000, 6200]
    );
}

/// RFC 6298 2.5: the backed-off RTO is capped (tunstack: 120 s, as Linux).
#[test]
fn rto_backoff_is_capped() {
    let mut h = Harness::with(TcpConfig {
        user_timeout: secs(1000),
        tail_loss_probe: false,
        ..TcpConfig::default()
    });
    let c = open_with_rtt(&mut h, ms(10));
    let times = retransmission_gaps(&mut h, &c, secs(700));
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        [
            400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 102_400, 120_000, 120_000,
            120_000, 120_000
        ]
    );
}

/// RFC 6298 section 3 (Karn): an ACK for a retransmitted segment gives no RTT sample, and
/// the backed-off RTO is kept for the next data until a valid sample comes.
#[test]
fn karn_no_sample_from_retransmitted_segment() {
    let mut h = Harness::new();
    let mut c = open_with_rtt(&mut h, ms(100));
    h.send(&c, b"once");
    let first = h.expect(&[len(4)]);
    let sent = h.now;
    let (t, re) = h.next_out(secs(1)).unwrap();
    check(&re[0], &[len(4)]);
    assert_eq!(t - sent, ms(300));
    // The ACK comes 10 ms after the retransmission (perhaps for the original).
    h.advance_by(ms(10));
    c.saw(&first);
    h.inject(&c.seg(ACK));
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(
        info.srtt,
        Some(ms(100)),
        "no sample from the retransmission"
    );
    assert_eq!(info.rto, ms(600), "the backed-off RTO stays");
    // New data: its timer runs with the kept RTO.
    h.send(&c, b"next");
    h.expect(&[len(4)]);
    let sent = h.now;
    let (t, out) = h.next_out(secs(2)).unwrap();
    check(&out[0], &[len(4)]);
    assert_eq!(t - sent, ms(600));
}

/// RFC 6298 5.3: an ACK of new data restarts the timer for what is still outstanding: it
/// fires one RTO after that ACK, not after the first transmission.
#[test]
fn rto_restarts_on_new_ack() {
    let mut h = Harness::new();
    let mut c = open_with_rtt(&mut h, ms(100));
    h.send(&c, &[1u8; 2920]);
    let out = h.out();
    assert_eq!(out.len(), 2);
    h.advance_by(ms(250));
    c.saw(&out[0]);
    h.inject(&c.seg(ACK));
    let acked_at = h.now;
    let rto = h.s.tcp_conn(c.h).unwrap().info().rto;
    let (t, out2) = h.next_out(secs(2)).unwrap();
    check(&out2[0], &[seq(out[1].seq), len(1460)]);
    assert_eq!(t - acked_at, rto);
}

/// RFC 6298 5.2: when all outstanding data is acknowledged the timer stops: nothing is
/// sent afterwards.
#[test]
fn rto_stops_when_all_acked() {
    let mut h = Harness::new();
    let mut c = open_with_rtt(&mut h, ms(100));
    h.send(&c, b"all");
    let d = h.expect(&[len(3)]);
    c.saw(&d);
    h.advance_by(ms(100));
    h.inject(&c.seg(ACK));
    h.idle_until(h.now + secs(30));
}

/// RFC 5681 3.1: after a timeout cwnd is one segment (the loss window) and ssthresh
/// max(FlightSize/2, 2*SMSS); only the first segment goes again, and slow start sends two
/// when it is acknowledged.
#[test]
fn timeout_sends_one_segment_then_slow_starts() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let mut c = open_with_rtt(&mut h, ms(100));
    h.send(&c, &[1u8; 4380]);
    let out = h.out();
    assert_eq!(out.len(), 3);
    let (_, re) = h.next_out(secs(1)).unwrap();
    assert_eq!(re.len(), 1);
    check(&re[0], &[seq(out[0].seq), len(1460)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.cwnd, info.ssthresh), (1460, 2920));
    c.saw(&re[0]);
    h.advance_by(ms(100));
    h.inject(&c.seg(ACK));
    let more = h.out();
    let seqs: Vec<u32> = more.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [out[1].seq, out[2].seq]);
}

/// RFC 5482 section 2 / RFC 1122 4.2.3.5 (R2): data unacknowledged for the user timeout
/// (here 5 s) ends the connection at that moment with `TimedOut`, and a RST tells the
/// peer; retransmissions went at 0.2, 0.6, 1.4 and 3.0 s.
#[test]
fn user_timeout_ends_the_connection_on_time() {
    let mut h = Harness::with(TcpConfig {
        user_timeout: secs(5),
        tail_loss_probe: false,
        ..TcpConfig::default()
    });
    let c = open_with_rtt(&mut h, ms(10));
    h.send(&c, b"doomed");
    h.expect(&[len(6)]);
    let start = h.now;
    let got = h.advance(start + secs(20));
    let times: Vec<u64> = got
        .iter()
        .map(|(t, _)| (*t - start).total_millis())
        .collect();
    assert_eq!(times, [200, 600, 1400, 3000, 5000]);
    check(&got[4].1, &[flags(RST), seq(c.iss.wrapping_add(7))]);
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.state(), State::Closed);
    assert_eq!(conn.error(), Some(ConnError::TimedOut));
    assert_eq!(h.s.stats().tcp_abort_on_timeout, 1);
}

/// RFC 5482: the user timeout is per connection (set_user_timeout).
#[test]
fn user_timeout_is_per_connection() {
    let mut h = Harness::new();
    let c = open_with_rtt(&mut h, ms(10));
    h.s.tcp_configure(c.h, |conn| conn.set_user_timeout(secs(2)))
        .unwrap();
    h.send(&c, b"doomed");
    h.expect(&[len(6)]);
    let start = h.now;
    let got = h.advance(start + secs(20));
    let (t, last) = got.last().unwrap();
    check(last, &[flags(RST)]);
    assert_eq!(*t - start, secs(2));
}

/// RFC 5681 4.1 (restarting idle connections): after more than an RTO without sending, cwnd
/// is reduced to the restart window min(IW, cwnd) before new data goes out.
#[test]
fn idle_connection_restarts_from_initial_window() {
    let mut h = Harness::new();
    let mut c = open_with_rtt(&mut h, ms(10));
    // Grow cwnd: ten segments acknowledged in slow start.
    h.send(&c, &[1u8; 14_600]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    c.saw(out.last().unwrap());
    h.advance_by(ms(10));
    h.inject(&c.seg(ACK));
    assert!(h.s.tcp_conn(c.h).unwrap().info().cwnd > 14_600);
    h.advance_by(secs(10));
    h.send(&c, &[2u8; 40_000]);
    assert_eq!(h.out().len(), 10);
}

/// A SACK and timestamps connection with a 100 ms RTT, ten full segments in flight and
/// no ACK for them until the retransmission timer has fired and sent the first again.
/// Returns the connection, the flight and what the timeout sent.
fn timed_out_flight(h: &mut Harness) -> (Conn, Vec<Seg>, Seg) {
    let c = h.passive_rtt(
        PeerOpts {
            sack: true,
            ts: true,
            ..PeerOpts::default()
        },
        ms(100),
    );
    h.send(&c, &vec![7u8; 10 * 1448]);
    let out = h.out();
    assert_eq!(out.len(), 10);
    h.advance_by(ms(50));
    let (_, re) = h.next_out(secs(2)).expect("the RTO");
    assert_eq!(re.len(), 1, "{re:#?}");
    check(&re[0], &[seq(out[0].seq), len(1448)]);
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!((info.stats.timeouts, info.cwnd), (1, 1448));
    (c, out, re[0].clone())
}

/// RFC 3522 section 2 (Eifel detection) and RFC 4015 section 3.2 (response): the first
/// ACK after a timeout echoes the timestamp of the original transmission (which was
/// only delayed): the timeout was spurious. cwnd and ssthresh go back to their values
/// before it (ten segments, no ssthresh yet), the rest of the flight, on its way, is
/// not sent again, and the RTO's back-off is reset.
#[test]
fn spurious_rto_is_undone_by_the_timestamp_echo() {
    let mut h = Harness::new();
    let (c, out, _) = timed_out_flight(&mut h);
    let backed_off = h.s.tcp_conn(c.h).unwrap().info().rto;
    let original_ts = out[0].ts.unwrap().tsval;
    let (val, _) = c.ts.unwrap();
    h.inject(&c.seg(ACK).ack(out[5].seq).ts(val + 1, original_ts));
    let sent = h.out();
    assert!(sent.is_empty(), "nothing of the flight again: {sent:#?}");
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert_eq!(info.ssthresh, usize::MAX, "ssthresh restored");
    assert!(info.cwnd >= 10 * 1448, "cwnd restored: {}", info.cwnd);
    assert_eq!(
        info.rto.saturating_mul(2),
        backed_off,
        "RFC 4015: the back-off is reset"
    );
    assert_eq!(h.s.stats().tcp_spurious_rtos, 1);
}

/// RFC 3522 section 2: an ACK echoing the retransmission's own timestamp shows the
/// timeout was needed: nothing is undone, and the go-back goes on.
#[test]
fn needed_rto_is_not_undone() {
    let mut h = Harness::new();
    let (c, out, re) = timed_out_flight(&mut h);
    let (val, _) = c.ts.unwrap();
    h.inject(&c.seg(ACK).ack(out[1].seq).ts(val + 1, re.ts.unwrap().tsval));
    let sent = h.out();
    assert!(sent.iter().any(|s| s.seq == out[1].seq), "{sent:#?}");
    let info = h.s.tcp_conn(c.h).unwrap().info();
    assert!(info.ssthresh < usize::MAX);
    assert_eq!(h.s.stats().tcp_spurious_rtos, 0);
}
