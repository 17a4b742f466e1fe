//! Proportional Rate Reduction (RFC 9937) during SACK loss recovery: the sends on each
//! ACK of the RFC's worked example (one loss in a window of 20 segments, RFC 6937
//! section 6's tables), with Reno (ssthresh half the flight) and CUBIC (0.7 of it).

use super::*;
use crate::tcp::congestion::Algorithm;

const MSS: u32 = 1460;

/// A SACK connection with a 100 ms RTT whose window has grown to 20 segments (the
/// initial ten each acknowledged a round trip after they left), with 20 full segments in
/// flight and more data queued, a round trip later; returns the connection and the 20
/// segments. RACK's reordering window (RFC 8985 6.2 step 4) is a quarter of the RTT, so
/// the duplicate ACKs, which come together, mark nothing lost until DupThresh segments
/// are SACKed: then the window is 0 and the hole is lost, as RFC 6675 would have it.
pub(super) fn twenty_in_flight(h: &mut Harness) -> (Conn, Vec<Seg>) {
    let mut c = h.passive_rtt(
        PeerOpts {
            sack: true,
            ..PeerOpts::default()
        },
        ms(100),
    );
    h.send(&c, &vec![0x5a; 60 * MSS as usize]);
    let first = h.out();
    assert_eq!(first.len(), 10);
    h.advance_by(ms(100));
    let mut flight = Vec::new();
    for s in &first {
        c.saw(s);
        h.inject(&c.seg(ACK));
        flight.extend(h.out());
    }
    assert_eq!(flight.len(), 20, "slow start doubled the window");
    h.advance_by(ms(100));
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.info().cwnd, 20 * MSS as usize);
    (c, flight)
}

/// The peer's duplicate ACKs for a lost first segment: ACK k (1-based) SACKs segments
/// 1..=k. Returns, per ACK, what the sender sent in answer (as segment counts of new
/// data and retransmissions).
fn dup_acks_after_first_lost(h: &mut Harness, c: &Conn, flight: &[Seg]) -> Vec<Vec<Seg>> {
    let una = flight[0].seq;
    let mut answers = Vec::new();
    for k in 1..flight.len() {
        let mut s = c.seg(ACK).ack(una);
        s.sack = vec![(flight[1].seq, flight[k].seq.wrapping_add(MSS))];
        h.inject(&s);
        answers.push(h.out());
    }
    answers
}

/// The ACK numbers (1-based) that made the sender send something, and how much.
fn sends(answers: &[Vec<Seg>]) -> Vec<(usize, usize)> {
    answers
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.is_empty())
        .map(|(i, a)| (i + 1, a.len()))
        .collect()
}

/// RFC 9937 with Reno: ACKs 1 and 2 send new data by limited transmit (RFC 3042), so
/// 22 segments are out at the third; the controllers take ssthresh from min(FlightSize,
/// cwnd) (RFC 5681 equation 4 allows no more), so the two limited-transmit segments do
/// not count: ssthresh 10, RecoverFS 20 (22 less the two segments SACKed before). The
/// third retransmits the lost segment; from then on the proportional part sends
/// `CEIL(prr_delivered * 10 / 20) - prr_out`: one segment on every other ACK (RFC 6675
/// alone would send nothing until pipe fell to 10, then one per ACK), and pipe reaches
/// ssthresh exactly as the last duplicate ACK arrives.
#[test]
fn reno_sends_one_segment_per_two_acks() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let (c, flight) = twenty_in_flight(&mut h);
    let answers = dup_acks_after_first_lost(&mut h, &c, &flight);
    // Limited transmit on the first two, the fast retransmit on the third.
    let next = flight[19].seq.wrapping_add(MSS);
    check(&answers[0][0], &[seq(next), len(1460)]);
    check(&answers[1][0], &[seq(next.wrapping_add(MSS)), len(1460)]);
    check(&answers[2][0], &[seq(flight[0].seq), len(1460)]);
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.info().ssthresh, 10 * MSS as usize);
    // prr_delivered after ACK k is k - 2 segments: CEIL((k-2) * 10/20) segments' worth
    // allowed, a whole segment sent each time the allowance passes one more: one for every
    // two ACKs. At ACK 19 pipe has come down to ssthresh.
    assert_eq!(
        sends(&answers),
        [
            (1, 1),
            (2, 1),
            (3, 1),
            (6, 1),
            (8, 1),
            (10, 1),
            (12, 1),
            (14, 1),
            (16, 1),
            (19, 1)
        ]
    );
    // 8 segments sent in recovery for 17 delivered: pipe = 22 - 19 SACKed - 1 lost + 1
    // retransmitted + 7 new = 10 = ssthresh.
    let sent: usize = answers[2..].iter().map(Vec::len).sum();
    assert_eq!(sent, 8);
    // The full ACK ends recovery with cwnd = ssthresh (RFC 9937 completion steps).
    let all = next.wrapping_add(10 * MSS);
    h.inject(&c.seg(ACK).ack(all));
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.info().cwnd, 10 * MSS as usize);
}

/// RFC 9937 with CUBIC (RFC 9438's β = 0.7): ssthresh is 0.7 of the flight, so the
/// proportional part sends seven segments for every ten delivered, down to ssthresh.
#[test]
fn cubic_sends_seven_segments_per_ten_acks() {
    let mut h = Harness::with_cc(Algorithm::Cubic);
    let (c, flight) = twenty_in_flight(&mut h);
    let answers = dup_acks_after_first_lost(&mut h, &c, &flight);
    check(&answers[2][0], &[seq(flight[0].seq), len(1460)]);
    let ssthresh = h.s.tcp_conn(c.h).unwrap().info().ssthresh;
    // RFC 9438 4.6: ssthresh = cwnd * β_cubic (cwnd was 20 segments).
    assert_eq!(ssthresh, 20 * MSS as usize * 7 / 10);
    let per_ack: Vec<usize> = answers[2..].iter().map(Vec::len).collect();
    // RecoverFS 20 segments, ssthresh 14: each delivered segment allows 0.7 of one. The
    // proportional part sends 7 of the first 10 ACKs' worth, then PRR-CRB holds pipe at
    // ssthresh, one for one.
    assert_eq!(per_ack, [1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    // 12 sent for 17 delivered: pipe = 22 - 19 SACKed - 1 lost + 1 retransmitted + 11
    // new = 14 = ssthresh when the last duplicate ACK is in.
    assert_eq!(per_ack.iter().sum::<usize>(), 12);
}

/// RFC 9937 reduction bounds after a burst of losses (14 of 20 segments lost, pipe far
/// below ssthresh): duplicate ACKs (SND.UNA does not move) get the conservative bound,
/// PRR-CRB, one segment out per segment delivered; a partial ACK that advances SND.UNA
/// and shows no new loss is a safe ACK and gets the slow-start reduction bound,
/// PRR-SSRB: one SMSS more than was delivered.
#[test]
fn burst_loss_crb_on_dup_acks_ssrb_on_safe_ack() {
    let mut h = Harness::with_cc(Algorithm::Reno);
    let mut c = h.passive_rtt(
        PeerOpts {
            sack: true,
            ..PeerOpts::default()
        },
        ms(100),
    );
    // Exactly twenty segments in flight and nothing more to send.
    h.send(&c, &vec![0x5a; 30 * MSS as usize]);
    let first = h.out();
    h.advance_by(ms(100));
    let mut flight = Vec::new();
    for s in &first {
        c.saw(s);
        h.inject(&c.seg(ACK));
        flight.extend(h.out());
    }
    assert_eq!(flight.len(), 20);
    h.advance_by(ms(100));
    let una = flight[0].seq;
    // Segments 0-13 lost; the peer SACKs 14.. one by one.
    let mut per_ack = Vec::new();
    for k in 14..20 {
        let mut s = c.seg(ACK).ack(una);
        s.sack = vec![(flight[14].seq, flight[k].seq.wrapping_add(MSS))];
        h.inject(&s);
        per_ack.push(h.out().iter().map(|s| s.seq).collect::<Vec<_>>());
    }
    let seqs = |r: core::ops::Range<usize>| r.map(|k| flight[k].seq).collect::<Vec<_>>();
    // Recovery starts on the third (ssthresh 10, pipe 3): from then on, CRB: one
    // retransmission per ACK, each delivering one segment.
    assert_eq!(
        per_ack,
        [
            vec![],
            vec![],
            seqs(0..1),
            seqs(1..2),
            seqs(2..3),
            seqs(3..4)
        ]
    );
    // The retransmission of segment 0 arrives: SND.UNA advances one segment, the same
    // holes stay lost. SSRB: MAX(prr_delivered - prr_out, DeliveredData) + SMSS = two.
    let mut s = c.seg(ACK).ack(flight[1].seq);
    s.sack = vec![(flight[14].seq, flight[19].seq.wrapping_add(MSS))];
    h.inject(&s);
    let out: Vec<u32> = h.out().iter().map(|s| s.seq).collect();
    assert_eq!(out, seqs(4..6));
}
