//! What each sender did, for `TUNSTACK_LOSS_RACE_INFO=1`: the window it kept on average
//! and how it recovered, for both sides of the race alike.
//!
//! * The kernel sender: `TCP_INFO` on its socket sampled every few milliseconds (mean
//!   cwnd, the share of samples in the Recovery and Loss states), and its totals at the
//!   end.
//! * Both directions: the namespace's `/proc/net/netstat` and `/proc/net/snmp` counters
//!   (the kernel's side of the transfer is the only TCP in the namespace), before and
//!   after: loss probes, SACK recoveries, timeouts, delayed ACKs and quick ACKs, segments
//!   in and out (segments per ACK when the kernel receives).
//! * The tunstack sender: its `info()` sampled at the same period (mean cwnd and flight;
//!   its recovery state is not exposed, so every sample counts as "open"), its counters
//!   printed beside.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether `TUNSTACK_LOSS_RACE_INFO` is set.
pub fn enabled() -> bool {
    std::env::var_os("TUNSTACK_LOSS_RACE_INFO").is_some()
}

/// The sampling period (`TUNSTACK_LOSS_RACE_SAMPLE_MS`, default 5 ms).
pub fn period() -> Duration {
    Duration::from_millis(
        std::env::var("TUNSTACK_LOSS_RACE_SAMPLE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5),
    )
}

/// The kernel's `struct tcp_info` fields this reads, by byte offset
/// (`include/uapi/linux/tcp.h`).
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelInfo {
    pub ca_state: u8,
    pub snd_mss: u32,
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub rtt_us: u32,
    pub ssthresh: u32,
    pub cwnd: u32,
    pub total_retrans: u32,
    pub segs_out: u32,
    pub segs_in: u32,
    pub data_segs_out: u32,
    pub delivered: u32,
    pub bytes_retrans: u64,
    /// Microseconds the sender was held by the peer's receive window.
    pub rwnd_limited_us: u64,
    /// The peer's receive window as last seen, bytes.
    pub snd_wnd: u32,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_ne_bytes(s.try_into().expect("4 bytes")))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .map_or(0, |s| u64::from_ne_bytes(s.try_into().expect("8 bytes")))
}

/// `getsockopt(TCP_INFO)` on a kernel socket.
pub fn kernel_info(s: &impl AsRawFd) -> Option<KernelInfo> {
    let mut buf = [0u8; 256];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: the fd is an open TCP socket; buf is writable for `len` bytes.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            buf.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if r != 0 {
        return None;
    }
    let b = &buf[..(len as usize).min(buf.len())];
    Some(KernelInfo {
        ca_state: b.get(1).copied().unwrap_or(0),
        snd_mss: u32_at(b, 16),
        unacked: u32_at(b, 24),
        sacked: u32_at(b, 28),
        lost: u32_at(b, 32),
        retrans: u32_at(b, 36),
        rtt_us: u32_at(b, 68),
        ssthresh: u32_at(b, 76),
        cwnd: u32_at(b, 80),
        total_retrans: u32_at(b, 100),
        segs_out: u32_at(b, 136),
        segs_in: u32_at(b, 140),
        data_segs_out: u32_at(b, 156),
        delivered: u32_at(b, 192),
        bytes_retrans: u64_at(b, 208),
        rwnd_limited_us: u64_at(b, 176),
        snd_wnd: u32_at(b, 228),
    })
}

/// Running means over samples.
#[derive(Default)]
pub struct Means {
    n: u64,
    cwnd: f64,
    flight: f64,
    /// Samples per `ca_state` (0 Open, 1 Disorder, 2 CWR, 3 Recovery, 4 Loss).
    states: [u64; 5],
}

impl Means {
    pub fn add(&mut self, cwnd_segs: f64, flight_segs: f64, state: usize) {
        self.n += 1;
        self.cwnd += cwnd_segs;
        self.flight += flight_segs;
        if let Some(s) = self.states.get_mut(state) {
            *s += 1;
        }
    }

    pub fn line(&self) -> String {
        let n = self.n.max(1) as f64;
        format!(
            "mean cwnd {:.2} seg, mean flight {:.2} seg over {} samples; \
             open {:.0}% disorder {:.0}% recovery {:.0}% loss {:.0}%",
            self.cwnd / n,
            self.flight / n,
            self.n,
            100.0 * self.states[0] as f64 / n,
            100.0 * self.states[1] as f64 / n,
            100.0 * self.states[3] as f64 / n,
            100.0 * self.states[4] as f64 / n,
        )
    }
}

/// Samples the kernel socket until `stop`, returning the means and the last sample.
pub fn sample_kernel(
    s: &impl AsRawFd,
    stop: &AtomicBool,
    deadline: Instant,
) -> (Means, Option<KernelInfo>) {
    let mut m = Means::default();
    let mut last = None;
    let p = period();
    // `TUNSTACK_LOSS_RACE_WATCH=MS`: the kernel sender's state every MS ms too.
    let watch = std::env::var("TUNSTACK_LOSS_RACE_WATCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis);
    let t0 = Instant::now();
    let mut next_watch = t0;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        if let Some(i) = kernel_info(s) {
            if let Some(w) = watch.filter(|_| Instant::now() >= next_watch) {
                next_watch += w;
                println!(
                    "    k {:6.3} cwnd {:5} seg ssthresh {:10} unacked {:5} sacked {:5} lost {:4} \
                     retrans {:4} state {} total_retrans {} snd_wnd {} rwnd_limited {} ms",
                    t0.elapsed().as_secs_f64(),
                    i.cwnd,
                    i.ssthresh,
                    i.unacked,
                    i.sacked,
                    i.lost,
                    i.retrans,
                    i.ca_state,
                    i.total_retrans,
                    i.snd_wnd,
                    i.rwnd_limited_us / 1000
                );
            }
            if i.unacked > 0 {
                let flight = i.unacked.saturating_sub(i.sacked + i.lost) + i.retrans;
                m.add(i.cwnd as f64, flight as f64, i.ca_state as usize);
            }
            last = Some(i);
        }
        std::thread::sleep(p);
    }
    (m, last)
}

/// The namespace's TCP counters (`TcpExt` and `Tcp` lines of `/proc/net/netstat` and
/// `/proc/net/snmp`), read by a thread inside it.
pub fn counters() -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for file in [
        "/proc/thread-self/net/netstat",
        "/proc/thread-self/net/snmp",
    ] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.chunks(2) {
            let [head, vals] = pair else { continue };
            let mut h = head.split_whitespace();
            let Some(prefix) = h.next() else { continue };
            if prefix != "TcpExt:" && prefix != "Tcp:" {
                continue;
            }
            for (k, v) in h.zip(vals.split_whitespace().skip(1)) {
                if let Ok(v) = v.parse::<i64>() {
                    out.insert(format!("{}{k}", &prefix[..prefix.len() - 1]), v);
                }
            }
        }
    }
    out
}

/// The counters that moved between `before` and `after` among those that tell how a
/// transfer recovered and acknowledged, one line.
pub fn counter_delta(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> String {
    const KEEP: [&str; 22] = [
        "TcpInSegs",
        "TcpOutSegs",
        "TcpRetransSegs",
        "TcpExtTCPLossProbes",
        "TcpExtTCPLossProbeRecovery",
        "TcpExtTCPSackRecovery",
        "TcpExtTCPTimeouts",
        "TcpExtTCPLostRetransmit",
        "TcpExtTCPFastRetrans",
        "TcpExtTCPSlowStartRetrans",
        "TcpExtTCPSpuriousRTOs",
        "TcpExtTCPSACKReorder",
        "TcpExtTCPDSACKUndo",
        "TcpExtTCPLossUndo",
        "TcpExtTCPPartialUndo",
        "TcpExtTCPFullUndo",
        "TcpExtDelayedACKs",
        "TcpExtTCPDSACKRecv",
        "TcpExtTCPDSACKOldSent",
        "TcpExtTCPOFOQueue",
        "TcpExtTCPHPHits",
        "TcpExtTCPDelivered",
    ];
    let mut parts = Vec::new();
    for k in KEEP {
        let d = after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
        if d != 0 {
            parts.push(format!("{}={d}", k.trim_start_matches("TcpExt")));
        }
    }
    parts.join(" ")
}

/// What the tunstack sender's trace (`tcp::trace`) shows over a transfer: time in
/// recovery, retransmissions by cause, how much each ACK covered and how long the
/// sender waited for ACKs.
#[derive(Default)]
pub struct TraceStats {
    mss: u64,
    last_una: Option<u32>,
    last_ack_at: Option<tunstack::time::Instant>,
    recovery_since: Option<tunstack::time::Instant>,
    recovery_us: u64,
    recoveries: u64,
    first: Option<tunstack::time::Instant>,
    last: Option<tunstack::time::Instant>,
    /// ACKs by the whole segments they newly acknowledged: 0 (duplicate), 1, ..., 5+.
    per_ack: [u64; 7],
    /// Gaps between ACKs: > 25 ms and > 40 ms (the base RTT is 20 ms at 10 ms one way).
    gaps: [u64; 2],
    sends: u64,
    /// Retransmissions by cause: rto, fast, sack, tlp, pmtu.
    causes: [u64; 5],
    lost_events: u64,
    /// The last cwnd outside recovery (before a recovery starts: W at the loss).
    cwnd_open: u32,
    /// Sums over recoveries: W at the loss, ssthresh / W, cwnd at the exit / ssthresh.
    w_at_loss: f64,
    beta_seen: f64,
    /// Window growth between a recovery's exit and the next recovery: segments and
    /// round trips (srtt) summed.
    exit_cwnd: Option<(u32, tunstack::time::Instant)>,
    grow_segs: f64,
    grow_rtts: f64,
    srtt_us: u32,
}

impl TraceStats {
    pub fn add(&mut self, chunk: &tunstack::tcp::trace::TraceChunk) {
        use tunstack::tcp::trace::{Cause, TraceEvent};
        self.mss = chunk.mss as u64;
        self.lost_events += chunk.lost;
        for e in &chunk.events {
            self.first.get_or_insert(e.at);
            self.last = Some(e.at);
            match e.event {
                TraceEvent::Send {
                    len, retransmit, ..
                } => {
                    if len > 0 {
                        self.sends += 1;
                    }
                    if let Some(c) = retransmit {
                        let i = match c {
                            Cause::Rto => 0,
                            Cause::FastRetransmit => 1,
                            Cause::Sack => 2,
                            Cause::Tlp => 3,
                            Cause::Pmtu => 4,
                        };
                        self.causes[i] += 1;
                    }
                }
                TraceEvent::Ack { ack, .. } => {
                    if let Some(u) = self.last_una {
                        let adv = ack.wrapping_sub(u);
                        if (adv as i32) >= 0 {
                            let segs = (adv as u64).div_ceil(self.mss.max(1)) as usize;
                            self.per_ack[segs.min(6)] += 1;
                            if adv > 0 {
                                self.last_una = Some(ack);
                            }
                        }
                    } else {
                        self.last_una = Some(ack);
                    }
                    if let Some(prev) = self.last_ack_at {
                        let gap = e.at.saturating_duration_since(prev).total_micros();
                        if gap > 25_000 {
                            self.gaps[0] += 1;
                        }
                        if gap > 40_000 {
                            self.gaps[1] += 1;
                        }
                    }
                    self.last_ack_at = Some(e.at);
                }
                TraceEvent::Rtt { srtt_us, .. } => self.srtt_us = srtt_us,
                TraceEvent::Cwnd {
                    recovery,
                    cwnd,
                    ssthresh,
                    ..
                } => match (recovery, self.recovery_since) {
                    (true, None) => {
                        self.recovery_since = Some(e.at);
                        self.recoveries += 1;
                        let w = self.cwnd_open.max(1) as f64;
                        self.w_at_loss += w / self.mss.max(1) as f64;
                        self.beta_seen += ssthresh.unwrap_or(0) as f64 / w;
                        if let Some((c0, t0)) = self.exit_cwnd.take() {
                            let rtts = e.at.saturating_duration_since(t0).total_micros() as f64
                                / self.srtt_us.max(1) as f64;
                            self.grow_segs +=
                                (self.cwnd_open as f64 - c0 as f64) / self.mss.max(1) as f64;
                            self.grow_rtts += rtts;
                        }
                    }
                    (false, Some(s)) => {
                        self.recovery_us += e.at.saturating_duration_since(s).total_micros();
                        self.recovery_since = None;
                        self.cwnd_open = cwnd;
                        self.exit_cwnd = Some((cwnd, e.at));
                    }
                    (false, None) => self.cwnd_open = cwnd,
                    _ => {}
                },
                _ => {}
            }
        }
    }

    pub fn line(&self) -> String {
        let span = match (self.first, self.last) {
            (Some(a), Some(b)) => b.saturating_duration_since(a).total_micros().max(1),
            _ => 1,
        };
        let acks: u64 = self.per_ack.iter().sum();
        let segs: u64 = self
            .per_ack
            .iter()
            .enumerate()
            .map(|(i, n)| i as u64 * n)
            .sum();
        format!(
            "recoveries {} ({:.0}% of the time), retransmissions rto {} fast {} sack {} tlp {}; \
             {} segments sent; ACKs {} (new segments each 0/1/2/3/4/5/6+: {:?}, mean {:.2}), \
             ACK gaps > 25 ms {} > 40 ms {}; trace events lost {}; \
             mean W at a loss {:.2} seg, ssthresh/W {:.3}, growth between recoveries \
             {:.3} seg per srtt",
            self.recoveries,
            100.0 * self.recovery_us as f64 / span as f64,
            self.causes[0],
            self.causes[1],
            self.causes[2],
            self.causes[3],
            self.sends,
            acks,
            self.per_ack,
            segs as f64 / (acks - self.per_ack[0]).max(1) as f64,
            self.gaps[0],
            self.gaps[1],
            self.lost_events,
            self.w_at_loss / self.recoveries.max(1) as f64,
            self.beta_seen / self.recoveries.max(1) as f64,
            self.grow_segs / self.grow_rtts.max(1e-9),
        )
    }
}
