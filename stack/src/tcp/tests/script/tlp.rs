//! Tail loss probes (RFC 8985 section 7) and early retransmit (RFC 5827).

use super::*;

/// A connection with a 5 ms RTT sample (from a first exchange) and two full segments
/// in flight that get no ACK. `sack`: whether the peer offered SACK.
fn silent_tail(h: &mut Harness, sack: bool) -> (Conn, Vec<Seg>) {
    let c = h.passive(PeerOpts {
        sack,
        ..PeerOpts::default()
    });
    h.send(&c, b"first");
    let first = h.expect(&[len(5)]);
    h.advance_by(ms(5));
    h.inject(&c.seg(ACK).ack(first.seq.wrapping_add(5)));
    h.send(&c, &[1u8; 2920]);
    let out = h.out();
    assert_eq!(out.len(), 2);
    (c, out)
}

/// RFC 8985 7.2-7.3: on a SACK connection with an RTT sample, a flight whose tail gets
/// no ACK is probed after PTO = 2 * SRTT (plus the delayed-ACK allowance for a single
/// segment), long before the 200 ms RTO: the last segment is sent again. One probe per
/// flight.
#[test]
fn tail_loss_probe_fires_before_the_rto() {
    let mut h = Harness::with(TcpConfig::default());
    let (_c, out) = silent_tail(&mut h, true);
    let start = h.now;
    let (at, probe) = h.next_out(secs(1)).expect("a probe");
    let waited = (at - start).total_millis();
    assert!(
        (10..=12).contains(&waited),
        "PTO = max(2*SRTT, 10 ms): {waited} ms"
    );
    check(&probe[0], &[seq(out[1].seq), len(1460)]);
    assert_eq!(h.s.stats().tcp_loss_probes, 1);
    // No second probe: the next thing is the RTO.
    let (at, again) = h.next_out(secs(2)).expect("the RTO");
    assert!((at - start).total_millis() >= 200, "{:?}", at - start);
    check(&again[0], &[seq(out[0].seq)]);
}

/// RFC 8985 7.2: "the connection supports SACK" is a condition of scheduling a probe
/// (without SACK its ACK could not show the loss to RACK). Without SACK, a lost tail is
/// repaired by the retransmission timeout (RFC 6298 5.4), the first segment of the
/// flight first, and no probe is ever sent, even with probes configured on.
#[test]
fn without_sack_the_rto_repairs_a_tail_loss() {
    let mut h = Harness::with(TcpConfig::default());
    let (_c, out) = silent_tail(&mut h, false);
    let start = h.now;
    let (at, again) = h.next_out(secs(2)).expect("the RTO");
    assert!(
        (at - start).total_millis() >= 200,
        "nothing before the 200 ms RTO: {:?}",
        at - start
    );
    check(&again[0], &[seq(out[0].seq), len(1460)]);
    assert_eq!(h.s.stats().tcp_loss_probes, 0);
    assert_eq!(h.s.stats().tcp_timeouts, 1);
}

/// RFC 5827 early retransmit: with two segments outstanding and nothing more to send,
/// one duplicate ACK (the most that can come) starts fast retransmit.
#[test]
fn early_retransmit_with_a_small_flight() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, &[2u8; 2920]);
    let out = h.out();
    assert_eq!(out.len(), 2);
    h.inject(&c.seg(ACK).ack(out[0].seq));
    h.expect(&[seq(out[0].seq), len(1460)]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().stats.fast_retransmits, 1);
}
