//! Two tunstacks over the in-memory link in virtual time: handshakes, transfers checked
//! byte for byte, closes, under loss, reordering, duplication and corruption.

use super::*;
use crate::tcp::{State, TcpHandle};
use crate::time::Duration;

/// Moves `total` bytes each way at once between A (client) and B (server) and closes;
/// returns what each side received.
fn exchange(sim: &mut Sim, total: usize, limit: Duration) -> (Vec<u8>, Vec<u8>) {
    let now = sim.now;
    let l = sim.b.tcp_listen(addr(B, 80), 16).unwrap();
    let ca = sim.a.tcp_connect(now, addr(B, 80), None).unwrap();
    let mut cb: Option<TcpHandle> = None;
    let up = pattern(1, total);
    let down = pattern(2, total);
    let (mut sent_a, mut sent_b) = (0, 0);
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    let (mut shut_a, mut shut_b) = (false, false);
    let mut buf = vec![0u8; 65536];
    let ok = sim.run_until(limit, |s| {
        let now = s.now;
        if cb.is_none() {
            cb = s.b.tcp_accept(l).unwrap();
        }
        if sent_a < total {
            sent_a += s.a.tcp_send(now, ca, &up[sent_a..]).unwrap_or(0);
        } else if !shut_a {
            s.a.tcp_shutdown(now, ca).unwrap();
            shut_a = true;
        }
        loop {
            match s.a.tcp_recv(now, ca, &mut buf) {
                Ok(n) if n > 0 => got_a.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        if let Some(cb) = cb {
            if sent_b < total {
                sent_b += s.b.tcp_send(now, cb, &down[sent_b..]).unwrap_or(0);
            } else if !shut_b {
                s.b.tcp_shutdown(now, cb).unwrap();
                shut_b = true;
            }
            loop {
                match s.b.tcp_recv(now, cb, &mut buf) {
                    Ok(n) if n > 0 => got_b.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        }
        let a_done = s.a.tcp_conn(ca).is_some_and(|c| c.at_eof());
        let b_done = cb.and_then(|h| s.b.tcp_conn(h)).is_some_and(|c| c.at_eof());
        a_done && b_done && got_a.len() == total && got_b.len() == total
    });
    assert!(
        ok,
        "transfer did not finish: a got {} b got {} of {total}; a {:?} b {:?}",
        got_a.len(),
        got_b.len(),
        sim.a.tcp_conn(ca).map(|c| c.info()),
        cb.and_then(|h| sim.b.tcp_conn(h)).map(|c| c.info())
    );
    (got_a, got_b)
}

#[test]
fn handshake_and_small_exchange() {
    let mut sim = sim_pair(TcpConfig::default(), ImpairConfig::default(), 1);
    let (a, b) = exchange(&mut sim, 1000, Duration::from_secs(10));
    assert_eq!(a, pattern(2, 1000));
    assert_eq!(b, pattern(1, 1000));
}

#[test]
fn one_mib_each_way_clean_link() {
    let mut sim = sim_pair(TcpConfig::default(), ImpairConfig::default(), 2);
    let (a, b) = exchange(&mut sim, 1 << 20, Duration::from_secs(60));
    assert_eq!(hash(&a), hash(&pattern(2, 1 << 20)));
    assert_eq!(hash(&b), hash(&pattern(1, 1 << 20)));
    assert_eq!(sim.a.stats().tcp_retrans_segs, 0);
}

#[test]
fn close_reaches_time_wait_and_closed() {
    let mut sim = sim_pair(TcpConfig::default(), ImpairConfig::default(), 3);
    let now = sim.now;
    let l = sim.b.tcp_listen(addr(B, 80), 4).unwrap();
    let ca = sim.a.tcp_connect(now, addr(B, 80), None).unwrap();
    assert!(sim.run_until(Duration::from_secs(5), |s| s
        .a
        .tcp_conn(ca)
        .is_some_and(|c| c.state() == State::Established)));
    let mut cb = None;
    assert!(sim.run_until(Duration::from_secs(5), |s| {
        cb = s.b.tcp_accept(l).unwrap();
        cb.is_some()
    }));
    let cb = cb.unwrap();
    let now = sim.now;
    sim.a.tcp_close(now, ca);
    assert!(sim.run_until(Duration::from_secs(5), |s| s
        .b
        .tcp_conn(cb)
        .is_some_and(|c| c.state() == State::CloseWait)));
    let now = sim.now;
    sim.b.tcp_close(now, cb);
    // B: LAST-ACK -> CLOSED (forgotten); A: FIN-WAIT-2 -> TIME-WAIT -> CLOSED after 2 MSL.
    assert!(sim.run_until(Duration::from_secs(5), |s| s.b.tcp_conn(cb).is_none()));
    assert_eq!(sim.a.tcp_conn(ca).map(|c| c.state()), Some(State::TimeWait));
    let t = sim.now;
    assert!(sim.run_until(Duration::from_secs(120), |s| s.a.tcp_conn(ca).is_none()));
    let waited = sim.now - t;
    assert!(
        waited >= Duration::from_secs(59) && waited <= Duration::from_secs(61),
        "{waited}"
    );
}

fn lossy(loss: f64) -> ImpairConfig {
    ImpairConfig {
        loss,
        delay: Duration::from_millis(5),
        ..ImpairConfig::default()
    }
}

#[test]
fn transfer_under_5_percent_loss() {
    let mut sim = sim_pair(TcpConfig::default(), lossy(0.05), 4);
    let (a, b) = exchange(&mut sim, 1 << 20, Duration::from_secs(600));
    assert_eq!(hash(&a), hash(&pattern(2, 1 << 20)));
    assert_eq!(hash(&b), hash(&pattern(1, 1 << 20)));
    assert!(sim.a.stats().tcp_retrans_segs > 0);
}

/// One way, A to B, `total` bytes over `link` with configuration `tcp` on both sides;
/// B reads only when `b_reads`. Returns the virtual seconds the transfer took (or the
/// limit) and B's receive buffer size at the end.
fn one_way_transfer(
    tcp: TcpConfig,
    link: ImpairConfig,
    total: usize,
    b_reads: bool,
) -> (f64, usize, usize) {
    let mut sim = sim_pair(tcp, link, 9);
    let now = sim.now;
    let l = sim.b.tcp_listen(addr(B, 80), 16).unwrap();
    let ca = sim.a.tcp_connect(now, addr(B, 80), None).unwrap();
    let mut cb: Option<TcpHandle> = None;
    let data = pattern(3, total);
    let (mut sent, mut got) = (0, Vec::new());
    let mut buf = vec![0u8; 65536];
    let start = sim.now;
    sim.run_until(Duration::from_secs(30), |s| {
        let now = s.now;
        if cb.is_none() {
            cb = s.b.tcp_accept(l).unwrap();
        }
        if sent < total {
            sent += s.a.tcp_send(now, ca, &data[sent..]).unwrap_or(0);
        }
        if let (Some(cb), true) = (cb, b_reads) {
            while let Ok(n @ 1..) = s.b.tcp_recv(now, cb, &mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        got.len() == total
    });
    if b_reads {
        assert_eq!(hash(&got), hash(&data), "the data arrived intact");
    }
    let secs = (sim.now.total_micros() - start.total_micros()) as f64 / 1e6;
    let b = cb.and_then(|h| sim.b.tcp_conn(h)).expect("accepted");
    (secs, b.recv_buffer_capacity(), got.len())
}

/// Receive-buffer autotuning (`rcv_tune.rs`, Linux's dynamic right-sizing): over a
/// 100 ms round trip a 256 KiB buffer holds the transfer to 2.6 MB/s; a reader that
/// keeps up grows its buffer (and the window it offers) past that, within the 4 MiB
/// maximum, and the same transfer finishes at least twice as fast. With autotuning off
/// (`recv_buffer_max` at or below `recv_buffer`) the buffer stays put.
#[test]
fn receive_buffer_grows_for_a_reader_that_keeps_up() {
    let link = ImpairConfig {
        delay: Duration::from_millis(50),
        ..ImpairConfig::default()
    };
    let total = 32 << 20;
    let fixed = TcpConfig {
        recv_buffer_max: 0,
        ..TcpConfig::default()
    };
    let (slow, fixed_cap, got) = one_way_transfer(fixed, link.clone(), total, true);
    assert_eq!(got, total);
    assert_eq!(fixed_cap, 256 * 1024);
    let (fast, cap, got) = one_way_transfer(TcpConfig::default(), link, total, true);
    assert_eq!(got, total);
    assert!(cap > 256 * 1024 && cap <= 4 << 20, "buffer {cap}");
    assert!(
        fast * 2.0 < slow,
        "autotuned {fast:.2} s against fixed {slow:.2} s"
    );
}

/// A reader that does not read keeps the buffer it started with: autotuning grows it
/// for what the application takes, not for what the peer sends, so a connection whose
/// application stalls costs no more memory than its starting buffer.
#[test]
fn receive_buffer_stays_for_a_reader_that_does_not_read() {
    let link = ImpairConfig {
        delay: Duration::from_millis(5),
        ..ImpairConfig::default()
    };
    let (_, cap, _) = one_way_transfer(TcpConfig::default(), link, 1 << 20, false);
    assert_eq!(cap, 256 * 1024);
}
