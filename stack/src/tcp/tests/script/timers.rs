//! Keep-alive (RFC 1122 4.2.3.6) and the delayed-ACK/keep-alive interplay with idle
//! connections.

use super::*;
use crate::tcp::{ConnError, State};

fn keepalive_config() -> TcpConfig {
    TcpConfig {
        keepalive_interval: secs(1),
        keepalive_probes: 3,
        ..TcpConfig::default()
    }
}

/// RFC 1122 4.2.3.6: keep-alives "MUST default to off": an idle connection sends nothing
/// for hours.
#[test]
fn keepalive_is_off_by_default() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.idle_until(h.now + secs(3 * 3600));
    assert_eq!(h.state(&c), Some(State::Established));
}

/// RFC 1122 4.2.3.6: after the idle time a keep-alive probe goes out, with SEG.SEQ =
/// SND.NXT - 1 and no data; unanswered probes repeat at the interval, and after the last
/// one the connection is dropped (`TimedOut`), with a RST as Linux sends.
#[test]
fn keepalive_probes_then_timeout() {
    let mut h = Harness::with(keepalive_config());
    let c = h.passive(PeerOpts::default());
    let t0 = h.now;
    h.s.tcp_configure(c.h, |conn| conn.set_keepalive(Some(secs(10)), t0))
        .unwrap();
    let got = h.advance(t0 + secs(30));
    let times: Vec<u64> = got.iter().map(|(t, _)| (*t - t0).total_millis()).collect();
    assert_eq!(times, [10_000, 11_000, 12_000, 13_000]);
    for (_, s) in &got[..3] {
        check(s, &[C::FlagsExact(ACK), seq(c.iss), ack(c.nxt), len(0)]);
    }
    check(&got[3].1, &[flags(RST)]);
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.error(), Some(ConnError::TimedOut));
}

/// RFC 1122 4.2.3.6: an answered probe shows the peer is alive: the count starts again,
/// and the next probe comes only after another idle period.
#[test]
fn answered_keepalive_keeps_the_connection() {
    let mut h = Harness::with(keepalive_config());
    let c = h.passive(PeerOpts::default());
    let t0 = h.now;
    h.s.tcp_configure(c.h, |conn| conn.set_keepalive(Some(secs(10)), t0))
        .unwrap();
    for round in 0..5u64 {
        let (t, out) = h.next_out(secs(60)).unwrap();
        assert_eq!(t - t0, secs(10 * (round + 1)));
        check(&out[0], &[seq(c.iss), len(0)]);
        h.inject(&c.seg(ACK));
        h.expect_none();
    }
    assert_eq!(h.state(&c), Some(State::Established));
}

/// RFC 1122 4.2.3.6: "keep-alive packets MUST only be sent when no data or acknowledgement
/// packets have been received for the connection within an interval": traffic from the
/// peer postpones the first probe.
#[test]
fn traffic_postpones_keepalive() {
    let mut h = Harness::with(keepalive_config());
    let mut c = h.passive(PeerOpts::default());
    let t0 = h.now;
    h.s.tcp_configure(c.h, |conn| conn.set_keepalive(Some(secs(10)), t0))
        .unwrap();
    h.advance(t0 + secs(8));
    h.inject(&c.data(b"ping"));
    c.nxt = c.nxt.wrapping_add(4);
    let got = h.advance(t0 + secs(18) - ms(1));
    assert_eq!(got.len(), 1, "only the delayed ACK: {got:#?}");
    check(&got[0].1, &[ack(c.nxt)]);
    let (t, _) = h.next_out(secs(10)).unwrap();
    assert_eq!(t - t0, secs(18));
}

/// RFC 1122 4.2.3.6 describes keep-alives for an idle connection; with data in flight the
/// retransmission timer already watches the peer, so no probe goes out: only
/// retransmissions do.
#[test]
fn no_keepalive_while_data_is_in_flight() {
    let mut h = Harness::with(TcpConfig {
        user_timeout: secs(600),
        ..keepalive_config()
    });
    let c = h.passive(PeerOpts::default());
    let t0 = h.now;
    h.s.tcp_configure(c.h, |conn| conn.set_keepalive(Some(secs(10)), t0))
        .unwrap();
    h.send(&c, b"unanswered");
    h.expect(&[len(10)]);
    let got = h.advance(t0 + secs(30));
    assert!(!got.is_empty());
    for (_, s) in &got {
        check(s, &[len(10)]);
    }
}
