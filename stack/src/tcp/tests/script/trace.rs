//! The per-connection trace (`tcp::trace`): off by default, and when on, one event for
//! each segment sent (retransmissions with their cause), ACK received, cwnd change, RTT
//! sample and state change, in a bounded ring.

use super::*;
use crate::tcp::trace::{Cause, TraceChunk, TraceEntry, TraceEvent};
use crate::tcp::State;

fn traced(events: usize) -> Harness {
    // Reno, whose recovery these scripts spell out segment by segment.
    Harness::with(TcpConfig {
        tail_loss_probe: false,
        trace_events: events,
        congestion: crate::tcp::congestion::Algorithm::Reno,
        ..TcpConfig::default()
    })
}

/// The retransmissions in `chunk`, by cause.
fn retransmits(chunk: &TraceChunk) -> Vec<Cause> {
    chunk
        .events
        .iter()
        .filter_map(|e| match e.event {
            TraceEvent::Send { retransmit, .. } => retransmit,
            _ => None,
        })
        .collect()
}

#[test]
fn off_by_default() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::default());
    h.send(&c, b"hello");
    let _ = h.out();
    assert!(h.s.tcp_take_traces().is_empty());
    let id = h.s.tcp_conn(c.h).unwrap().info().id;
    assert_eq!(h.s.tcp_trace(id), None);
}

/// A handshake, one segment of data and its ACK: the state changes, the segments with
/// sequence numbers relative to our ISS (the SYN-ACK at 0, data from 1), the ACK, the RTT
/// sample with the estimator after it, and the cwnd growing.
#[test]
fn records_a_short_exchange() {
    let mut h = traced(256);
    let mut c = h.passive(PeerOpts::default());
    h.send(&c, &[7; 1000]);
    let d = h.expect(&[len(1000)]);
    h.now += ms(10);
    c.saw(&d);
    h.inject(&c.seg(ACK));
    let id = h.s.tcp_conn(c.h).unwrap().info().id;
    let t = h.s.tcp_trace(id).expect("a trace");
    assert_eq!((t.id, t.mss, t.congestion, t.lost), (id, 1460, "reno", 0));
    let ev: Vec<TraceEvent> = t.events.iter().map(|e| e.event).collect();
    let sends: Vec<(u32, u32, bool)> = ev
        .iter()
        .filter_map(|e| match *e {
            TraceEvent::Send { seq, len, syn, .. } => Some((seq, len, syn)),
            _ => None,
        })
        .collect();
    assert_eq!(sends, [(0, 0, true), (1, 1000, false)]);
    assert!(ev.contains(&TraceEvent::State {
        from: State::SynReceived,
        to: State::Established
    }));
    let last_ack = ev.iter().rev().find_map(|e| match *e {
        TraceEvent::Ack {
            ack,
            in_flight,
            wnd,
            ..
        } => Some((ack, in_flight, wnd)),
        _ => None,
    });
    assert_eq!(last_ack, Some((1001, 0, 65_535)));
    // The handshake's sample (the ACK came at once), then the data's 10 ms; the
    // estimator after each as RFC 6298 2.2 and 2.3 compute it.
    let rtts: Vec<(u32, u32, u32)> = ev
        .iter()
        .filter_map(|e| match *e {
            TraceEvent::Rtt {
                sample_us,
                srtt_us,
                rttvar_us,
                ..
            } => Some((sample_us, srtt_us, rttvar_us)),
            _ => None,
        })
        .collect();
    assert_eq!(rtts, [(0, 0, 0), (10_000, 1250, 2500)]);
    // The first window is RFC 6928's initial window, before any loss.
    let first_cwnd = ev.iter().find_map(|e| match *e {
        TraceEvent::Cwnd { cwnd, ssthresh, .. } => Some((cwnd, ssthresh)),
        _ => None,
    });
    assert_eq!(first_cwnd, Some((14_600, None)));
    // Times are the stack's: the ACK 10 ms after the data.
    let at = |f: &dyn Fn(&TraceEntry) -> bool| t.events.iter().find(|e| f(e)).unwrap().at;
    let sent = at(&|e| matches!(e.event, TraceEvent::Send { len: 1000, .. }));
    let acked = at(&|e| matches!(e.event, TraceEvent::Ack { ack: 1001, .. }));
    assert_eq!(acked - sent, ms(10));
}

/// A retransmission after the RTO (RFC 6298 5.4) is traced with that cause, as many as
/// the stack counts in TcpRetransSegs, and the loss shows in the window.
#[test]
fn rto_retransmission_matches_the_counter() {
    let mut h = traced(4096);
    let c = h.passive(PeerOpts::default());
    h.send(&c, &[1; 1460]);
    let first = h.expect(&[len(1460)]);
    // The handshake's RTT sample left the RTO at its 200 ms floor.
    let again = h.advance_by(ms(300));
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].1.seq, first.seq);
    let chunks = h.s.tcp_take_traces();
    assert_eq!(chunks.len(), 1);
    assert_eq!(retransmits(&chunks[0]), [Cause::Rto]);
    assert_eq!(h.s.stats().tcp_retrans_segs, 1);
    assert!(chunks[0].events.iter().any(|e| matches!(
        e.event,
        TraceEvent::Cwnd {
            cwnd: 1460,
            ssthresh: Some(2920),
            ..
        }
    )));
    // Taken: nothing new until something happens.
    assert!(h.s.tcp_take_traces().is_empty());
}

/// The third duplicate ACK's retransmission (RFC 5681 3.2) is a `fast_retransmit`.
#[test]
fn fast_retransmit_is_its_own_cause() {
    let mut h = traced(4096);
    let c = h.passive(PeerOpts::default());
    h.send(&c, &vec![2; 14_600]);
    let out = h.out();
    let una = out[0].seq;
    for _ in 0..3 {
        h.inject(&c.seg(ACK).ack(una));
    }
    h.expect(&[seq(una), len(1460)]);
    let t = h.s.tcp_take_traces().pop().unwrap();
    assert_eq!(retransmits(&t), [Cause::FastRetransmit]);
    assert_eq!(h.s.stats().tcp_retrans_segs, 1);
    // RFC 6582: fast recovery begins, with ssthresh set (RFC 5681 eq. 4).
    assert!(t.events.iter().any(|e| matches!(
        e.event,
        TraceEvent::Cwnd {
            recovery: true,
            ssthresh: Some(_),
            ..
        }
    )));
}

/// RFC 6675: with SACK, the third duplicate ACK resends SND.UNA (a fast retransmit),
/// and the next hole goes out as a `sack` retransmission once the partial ACK comes; the
/// SACK blocks are traced relative to our ISS.
#[test]
fn sack_recovery_is_its_own_cause() {
    let mut h = traced(4096);
    let c = h.passive(PeerOpts {
        sack: true,
        ..PeerOpts::default()
    });
    h.send(&c, &vec![3; 14_600]);
    let out = h.out();
    let una = out[0].seq;
    let at = |k: u32| una.wrapping_add(k * 1460);
    // Segments 0 and 1 lost; 2, 3, 4 arrive and are SACKed.
    for k in 3..=5u32 {
        let mut a = c.seg(ACK).ack(una);
        a.sack = vec![(at(2), at(k))];
        h.inject(&a);
    }
    h.expect(&[seq(una), len(1460)]);
    // The retransmission arrives (a partial ACK up to the second hole), then the rest
    // of the flight is SACKed, and the pipe leaves room for the hole.
    let mut resent = Vec::new();
    for k in 5..=10u32 {
        let mut a = c.seg(ACK).ack(at(1));
        a.sack = vec![(at(2), at(k))];
        h.inject(&a);
        resent.extend(h.out().iter().filter(|s| s.len() > 0).map(|s| s.seq));
    }
    assert_eq!(resent.first(), Some(&at(1)), "{resent:?}");
    let t = h.s.tcp_take_traces().pop().unwrap();
    let causes = retransmits(&t);
    assert_eq!(
        causes[..2],
        [Cause::FastRetransmit, Cause::Sack],
        "{causes:?}"
    );
    assert_eq!(h.s.stats().tcp_retrans_segs, causes.len() as u64);
    let sacks = t.events.iter().find_map(|e| match e.event {
        TraceEvent::Ack {
            sack, sack_len: 1, ..
        } => Some(sack[0]),
        _ => None,
    });
    assert_eq!(sacks, Some((1 + 2 * 1460, 1 + 3 * 1460)), "relative to ISS");
}

/// The ring keeps the newest `trace_events` entries; what fell out before it was taken is
/// counted, and a connection's last events are handed out after it is gone.
#[test]
fn bounded_ring_counts_what_it_lost() {
    let mut h = traced(8);
    let mut c = h.passive(PeerOpts::default());
    for _ in 0..10 {
        h.send(&c, &[5; 100]);
        let d = h.expect(&[len(100)]);
        c.saw(&d);
        h.inject(&c.seg(ACK));
    }
    let id = h.s.tcp_conn(c.h).unwrap().info().id;
    let live = h.s.tcp_trace(id).unwrap();
    assert_eq!(live.events.len(), 8);
    assert!(live.lost > 0);
    let taken = h.s.tcp_take_traces().pop().unwrap();
    assert_eq!(taken.events, live.events);
    assert_eq!(taken.lost, live.lost);
    assert!(!taken.closed);
    // The peer resets it; the application closes: the last chunk says so.
    h.inject(&c.seg(RST));
    h.s.tcp_close(h.now, c.h);
    let _ = h.advance_by(secs(1));
    let last = h.s.tcp_take_traces();
    assert_eq!(last.len(), 1, "{last:?}");
    assert!(last[0].closed && last[0].id == id);
    assert_eq!(
        last[0].events.last().map(|e| e.event),
        Some(TraceEvent::State {
            from: State::Established,
            to: State::Closed
        })
    );
}
