//! Receive coalescing (`gro.rs`) where the steps of RFC 9293 3.10.7.4 do more per
//! segment than take its text: a batch must leave what the same frames one by one leave
//! (`Connection::may_merge` keeps such segments out of runs, and a run's later segments
//! update SND.WL1 and the receive-RTT samples as they would have).

use super::test_host::{
    data, drain, established_with, host_packet, host_repr, stack, HOST, PEER_ISN, T0, US,
};
use super::tests_gro::read_all;
use super::*;
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpTimestamp};

const MSS: usize = 1460;
const SEG: usize = 1448;

fn seg_ts(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8], ts: Option<(u32, u32)>) -> Vec<u8> {
    host_packet(&TcpRepr {
        max_seg_size: flags.contains(TcpFlags::SYN).then_some(1460),
        timestamp: ts.map(|(tsval, tsecr)| TcpTimestamp { tsval, tsecr }),
        ..host_repr(flags, seq, ack, payload)
    })
}

/// `n` in-order segments of `size` bytes from the stream's start, ACKing our SYN, with
/// timestamps `ts` (TSval, TSecr) if given.
fn in_order(iss: u32, n: usize, size: usize, ts: Option<(u32, u32)>) -> Vec<Vec<u8>> {
    (0..n)
        .map(|k| {
            let at = k * size;
            let seq = PEER_ISN + 1 + at as u32;
            seg_ts(TcpFlags::ACK, seq, iss + 1, &data(at..at + size), ts)
        })
        .collect()
}

/// Hands `frames` to the stack at `now`, as one batch or one by one.
fn feed(s: &mut Stack, i: IfaceId, now: Instant, frames: &[Vec<u8>], batch: bool) {
    if batch {
        let none = VirtioNetHdr::NONE;
        s.receive_batch(now, frames.iter().map(|f| (i, &f[..], none)));
    } else {
        for f in frames {
            s.receive(now, i, f);
        }
    }
}

/// PAWS (RFC 7323 5.3): three in-order segments with an old TSval are each dropped with
/// an ACK one by one; a batch drops the merged run once, with one ACK.
#[test]
fn paws_drops_count_and_answer_per_segment() {
    let run = |batch: bool| {
        let (mut s, i) = stack();
        let (_h, iss, our_ts) = established_with(&mut s, i, true);
        feed(
            &mut s,
            i,
            T0,
            &in_order(iss, 3, SEG, Some((50, our_ts))),
            batch,
        );
        (s.stats().tcp_paws_estab, drain(&mut s).len())
    };
    assert_eq!(
        run(true),
        run(false),
        "(TcpPAWSEstab, frames sent): batch vs one by one"
    );
}

/// Data after close (RFC 1122 4.2.2.13): one by one, the first segment resets the
/// connection and each later one is answered by CLOSED's rules; a batch answers once.
#[test]
fn data_after_close_answers_per_segment() {
    let run = |batch: bool| {
        let (mut s, i) = stack();
        let (h, iss, _) = established_with(&mut s, i, false);
        s.tcp_close(T0, h);
        drain(&mut s);
        feed(&mut s, i, T0, &in_order(iss, 3, MSS, None), batch);
        let out: Vec<_> = drain(&mut s)
            .iter()
            .map(|t| {
                let r = TcpRepr::parse(&TcpPacket::new_checked(&t.frame[20..]).unwrap(), US, HOST)
                    .unwrap();
                (r.flags, r.seq_number, r.ack_number)
            })
            .collect();
        (s.stats().tcp_out_rsts, out)
    };
    assert_eq!(
        run(true),
        run(false),
        "(TcpOutRsts, frames sent): batch vs one by one"
    );
}

/// rcv_tune's RTT is an EWMA (7/8): four full-sized segments with the same TSecr give
/// four samples one by one, one in a batch.
#[test]
fn rcv_rtt_samples_per_segment() {
    let run = |batch: bool| {
        let (mut s, i) = stack();
        let (h, iss, our_ts) = established_with(&mut s, i, true);
        assert!(s.tcp_conn(h).unwrap().recv_autotunes(), "autotuning on");
        let f = |n: usize, tsval: u32, tsecr: u32| {
            let at = n * SEG;
            seg_ts(
                TcpFlags::ACK,
                PEER_ISN + 1 + at as u32,
                iss + 1,
                &data(at..at + SEG),
                Some((tsval, tsecr)),
            )
        };
        // A first sample of 100 ms.
        let t1 = T0 + crate::time::Duration::from_millis(100);
        feed(&mut s, i, t1, &[f(0, 101, our_ts)], false);
        drain(&mut s);
        // Then four segments echoing a TSval 20 ms old.
        let t2 = T0 + crate::time::Duration::from_millis(200);
        let frames: Vec<_> = (1..5).map(|n| f(n, 102, our_ts + 180)).collect();
        feed(&mut s, i, t2, &frames, batch);
        s.tcp_conn(h).unwrap().rcv_tune.rtt()
    };
    assert_eq!(run(true), run(false), "rcv_tune RTT: batch vs one by one");
}

/// A bare FIN noted ahead of RCV.NXT (out of order), then data that reaches it and
/// (a misbehaving peer) goes past it: one by one the FIN is taken where it lies; a
/// batch merges past it and never takes the FIN.
#[test]
fn fin_noted_inside_a_run() {
    let run = |batch: bool| {
        let (mut s, i) = stack();
        let (h, iss, _) = established_with(&mut s, i, false);
        let fin = seg_ts(
            TcpFlags::ACK | TcpFlags::FIN,
            PEER_ISN + 1 + MSS as u32,
            iss + 1,
            &[],
            None,
        );
        s.receive(T0, i, &fin);
        drain(&mut s);
        feed(&mut s, i, T0, &in_order(iss, 2, MSS, None), batch);
        drain(&mut s);
        let state = s.tcp_conn(h).unwrap().state();
        (state, read_all(&mut s, h).len())
    };
    assert_eq!(
        run(true),
        run(false),
        "(state, bytes read): batch vs one by one"
    );
}

/// SND.WL1 (RFC 9293 3.10.7.4): one by one it ends at the last segment's SEQ; a merged
/// run leaves it at the first's, so an older, overlapping retransmission with another
/// window then updates the send window only in the batch.
#[test]
fn snd_wl1_after_a_run() {
    let run = |batch: bool| {
        let (mut s, i) = stack();
        let (h, iss, _) = established_with(&mut s, i, false);
        feed(&mut s, i, T0, &in_order(iss, 3, MSS, None), batch);
        drain(&mut s);
        let wl1 = s.tcp_conn(h).unwrap().snd_wl1;
        // A repacketized retransmission from MSS to 4 * MSS, window 1000.
        let f = host_packet(&TcpRepr {
            window_len: 1000,
            ..host_repr(
                TcpFlags::ACK,
                PEER_ISN + 1 + MSS as u32,
                iss + 1,
                &data(MSS..4 * MSS),
            )
        });
        s.receive(T0, i, &f);
        drain(&mut s);
        (wl1, s.tcp_conn(h).unwrap().snd_wnd)
    };
    assert_eq!(
        run(true),
        run(false),
        "(SND.WL1, SND.WND): batch vs one by one"
    );
}
