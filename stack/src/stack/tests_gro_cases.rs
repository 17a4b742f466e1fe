//! Receive coalescing (`gro.rs`) where the steps of RFC 9293 3.10.7.4 do more per
//! segment than take its text: a batch must leave what the same frames one by one leave
//! (`Connection::may_merge` keeps such segments out of runs, and a run's later segments
//! update SND.WL1 and the receive-RTT samples as they would have).

use std::net::SocketAddrV4;

use super::test_host::{data, drain, host_packet, host_repr, stack, HOST, PEER_ISN, T0, US};
use super::tests_gro::read_all;
use super::*;
use crate::tcp::layer::TcpHandle;
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

/// Accepted connection; with `opts`, timestamps (host TSval 100) and SACK. Returns
/// (handle, our ISN, our SYN-ACK's TSval).
fn accepted(s: &mut Stack, i: IfaceId, opts: bool) -> (TcpHandle, u32, u32) {
    let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
    let syn = host_packet(&TcpRepr {
        max_seg_size: Some(1460),
        window_scale: opts.then_some(7),
        sack_permitted: opts,
        timestamp: opts.then_some(TcpTimestamp {
            tsval: 100,
            tsecr: 0,
        }),
        ..host_repr(TcpFlags::SYN, PEER_ISN, 0, &[])
    });
    s.receive(T0, i, &syn);
    let out = drain(s);
    let synack = TcpRepr::parse(
        &TcpPacket::new_checked(&out[0].frame[20..]).unwrap(),
        US,
        HOST,
    )
    .unwrap();
    let iss = synack.seq_number;
    let our_ts = synack.timestamp.map_or(0, |t| t.tsval);
    let ack = seg_ts(
        TcpFlags::ACK,
        PEER_ISN + 1,
        iss.wrapping_add(1),
        &[],
        opts.then_some((100, our_ts)),
    );
    s.receive(T0, i, &ack);
    let h = s.tcp_accept(l).unwrap().unwrap();
    drain(s);
    (h, iss, our_ts)
}

fn one_by_one(s: &mut Stack, i: IfaceId, now: Instant, frames: &[Vec<u8>]) {
    for f in frames {
        s.receive(now, i, f);
    }
}

fn batched(s: &mut Stack, i: IfaceId, now: Instant, frames: &[Vec<u8>]) {
    let none = VirtioNetHdr::NONE;
    s.receive_batch(now, frames.iter().map(|f| (i, &f[..], none)));
}

/// PAWS (RFC 7323 5.3): three in-order segments with an old TSval are each dropped with
/// an ACK one by one; a batch drops the merged run once, with one ACK.
#[test]
fn paws_drops_count_and_answer_per_segment() {
    let run = |batch: bool| {
        let (mut s, i) = stack();
        let (_h, iss, our_ts) = accepted(&mut s, i, true);
        let frames: Vec<_> = (0..3)
            .map(|n| {
                let at = n * SEG;
                seg_ts(
                    TcpFlags::ACK,
                    PEER_ISN + 1 + at as u32,
                    iss + 1,
                    &data(at..at + SEG),
                    Some((50, our_ts)),
                )
            })
            .collect();
        if batch {
            batched(&mut s, i, T0, &frames);
        } else {
            one_by_one(&mut s, i, T0, &frames);
        }
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
        let (h, iss, _) = accepted(&mut s, i, false);
        s.tcp_close(T0, h);
        drain(&mut s);
        let frames: Vec<_> = (0..3)
            .map(|n| {
                let at = n * MSS;
                seg_ts(
                    TcpFlags::ACK,
                    PEER_ISN + 1 + at as u32,
                    iss + 1,
                    &data(at..at + MSS),
                    None,
                )
            })
            .collect();
        if batch {
            batched(&mut s, i, T0, &frames);
        } else {
            one_by_one(&mut s, i, T0, &frames);
        }
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
        let (h, iss, our_ts) = accepted(&mut s, i, true);
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
        one_by_one(&mut s, i, t1, &[f(0, 101, our_ts)]);
        drain(&mut s);
        // Then four segments echoing a TSval 20 ms old.
        let t2 = T0 + crate::time::Duration::from_millis(200);
        let frames: Vec<_> = (1..5).map(|n| f(n, 102, our_ts + 180)).collect();
        if batch {
            batched(&mut s, i, t2, &frames);
        } else {
            one_by_one(&mut s, i, t2, &frames);
        }
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
        let (h, iss, _) = accepted(&mut s, i, false);
        let fin = seg_ts(
            TcpFlags::ACK | TcpFlags::FIN,
            PEER_ISN + 1 + MSS as u32,
            iss + 1,
            &[],
            None,
        );
        s.receive(T0, i, &fin);
        drain(&mut s);
        let frames: Vec<_> = (0..2)
            .map(|n| {
                let at = n * MSS;
                seg_ts(
                    TcpFlags::ACK,
                    PEER_ISN + 1 + at as u32,
                    iss + 1,
                    &data(at..at + MSS),
                    None,
                )
            })
            .collect();
        if batch {
            batched(&mut s, i, T0, &frames);
        } else {
            one_by_one(&mut s, i, T0, &frames);
        }
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
        let (h, iss, _) = accepted(&mut s, i, false);
        let frames: Vec<_> = (0..3)
            .map(|n| {
                let at = n * MSS;
                seg_ts(
                    TcpFlags::ACK,
                    PEER_ISN + 1 + at as u32,
                    iss + 1,
                    &data(at..at + MSS),
                    None,
                )
            })
            .collect();
        if batch {
            batched(&mut s, i, T0, &frames);
        } else {
            one_by_one(&mut s, i, T0, &frames);
        }
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
