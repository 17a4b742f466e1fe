//! The loss race: goodput under random loss, tunstack with each of its congestion control
//! algorithms beside smoltcp and beside Linux, in one run.
//!
//! 1. **smoltcp's netsim setting, in virtual time** (no root): 10 MiB one way, 32 KiB
//!    socket buffers, 100 ms RTT, loss {0, 1, 2, 5}% each way, smoltcp to smoltcp through
//!    tunstack's seeded `Impairment` (its published table beside it), and tunstack to
//!    tunstack with the same buffers through `tunstack::sim::Sim`. The window bound is
//!    32 KiB per 100 ms, 327,680 B/s.
//! 2. **The grid in virtual time** (no root): loss {0, 1, 2, 5}% x one-way delay {10, 50} ms,
//!    16 MiB one way capped at 20 virtual seconds, 256 KiB buffers, fixed (smoltcp's do
//!    not grow), on both stacks, tunstack with each algorithm and smoltcp.
//! 3. **Fairness in virtual time** (no root): two tunstack flows through a 50 Mbit/s
//!    bottleneck with a 100-frame drop-tail queue and 10 ms one way, for 60 s (the first
//!    10 s not counted): each flow's share, Jain's index, the mean smoothed RTT (the base
//!    RTT is 20 ms; the rest is queueing); CUBIC, Reno and BBR pairs, and BBR beside
//!    CUBIC.
//! 4. **The grid over a real TUN device** (root): the same points, each transfer in a fresh
//!    namespace with a fresh runtime over `Impaired` (seed 11, as `tunstack up --loss L
//!    --delay D --seed 11`); tunstack sends to a kernel listener with each of its
//!    algorithms; the kernel sends to a tunstack listener with reno, cubic and bbr set per
//!    socket by `TCP_CONGESTION` before the handshake (`kernel::connect_with` says why;
//!    the algorithm the socket reports using is printed).
//!    16 MiB capped at 20 s (`TUNSTACK_LOSS_RACE_CAP_S`), Mbit/s. tunstack's buffers are
//!    the library's (256 KiB to begin with, both autotuned up to 4 MiB, as Linux's are);
//!    `TUNSTACK_LOSS_RACE_FIXED=1` fixes both at 256 KiB.
//!
//! smoltcp 0.14 with its default features has no congestion control
//! (`CongestionControl::None`): its window never shrinks on a loss, which is why it leads
//! every loss-based algorithm under random loss (its published table was made so too).
//! Parts 1 and 2 therefore also print a like-for-like table: tunstack's Reno and CUBIC
//! beside smoltcp's own Reno and CUBIC (its `socket-tcp-reno` and `socket-tcp-cubic`
//! features; its receiver polled per frame, which doubles what they move here), same
//! link, same seed.
//!
//! `cargo bench --bench loss_race`; `TUNSTACK_BENCH_ONLY=sim` or `=tun` runs one half,
//! `=fairness` only the fairness runs;
//! `TUNSTACK_LOSS_RACE_POINTS=5:10,2:50` runs only those TUN points (loss %:one-way ms),
//! `TUNSTACK_LOSS_RACE_REPS=3` runs each TUN transfer that many times, every sender in
//! turn, and reports the medians (at 1-5% loss one run's figure moves by a quarter or
//! more from run to run; the impairment's seed fixes which frames a sender's n-th
//! transmission meets, not what the sender transmits),
//! `TUNSTACK_LOSS_RACE_INFO=1` prints each sender's counters and BBR state, its mean
//! cwnd and flight (sampled every `TUNSTACK_LOSS_RACE_SAMPLE_MS`, default 5; the kernel
//! sender's by `TCP_INFO`, with the share of time in each of its recovery states) and
//! the namespace's TCP counters (loss probes, SACK recoveries, timeouts, delayed ACKs,
//! segments in and out of the kernel's side),
//! `TUNSTACK_LOSS_RACE_WATCH=MS` its window, flight, rates and BBR state every MS ms
//! (and the kernel sender's `TCP_INFO` window, flight and state, the peer's receive
//! window and the time it held the sender, with `_INFO=1`),
//! `TUNSTACK_LOSS_RACE_PACE=1` paces tunstack's Reno and CUBIC (`TcpConfig::pacing`),
//! and `TUNSTACK_LOSS_RACE_SENDERS=bbr,linux-bbr` runs only the senders named.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/kernel.rs"]
mod kernel;
#[path = "loss_race/probe.rs"]
mod probe;
#[path = "support/mod.rs"]
mod support;
#[path = "loss_race/tun.rs"]
mod tun;
#[path = "loss_race/virt.rs"]
mod virt;

use std::time::Instant;

use smoltcp::socket::tcp::CongestionControl as SmolCc;
use tunstack::tcp::congestion::Algorithm;
use tunstack::time::Duration;

const MIB: u64 = 1 << 20;
const LOSSES: [f64; 4] = [0.0, 0.01, 0.02, 0.05];
const DELAYS_MS: [u64; 2] = [10, 50];
/// smoltcp 0.14's `tests/snapshots/netsim__netsim.snap`, 32 KiB row, B/s at 0, 1, 2, 5%.
const SMOL_PUBLISHED: [f64; 4] = [322_944.88, 219_670.76, 166_587.86, 76_626.48];

fn main() {
    println!("loss_race: goodput under random loss, tunstack beside smoltcp and Linux");
    let started = Instant::now();
    let only = std::env::var("TUNSTACK_BENCH_ONLY").unwrap_or_default();
    if only != "tun" && only != "fairness" {
        netsim_reference();
        virtual_grid();
    }
    if only != "tun" {
        fairness();
    }
    if only != "sim" && only != "fairness" {
        if support::root_or_skip("the real-TUN grid") {
            tun_grid();
        } else {
            println!("(the real-TUN grid: skipped, needs root)");
        }
    }
    println!("loss_race took {:.1} s", started.elapsed().as_secs_f64());
}

fn pct(loss: f64) -> String {
    format!("{}%", loss * 100.0)
}

/// Prints a Markdown table.
fn table(head: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let cells: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!(" {:<w$} ", c, w = w[i])
                } else {
                    format!(" {:>w$} ", c, w = w[i])
                }
            })
            .collect();
        println!("|{}|", cells.join("|"));
    };
    line(head.to_vec());
    let sep: Vec<String> = w
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            if i == 0 {
                "-".repeat(n + 2)
            } else {
                format!("{}:", "-".repeat(n + 1))
            }
        })
        .collect();
    println!("|{}|", sep.join("|"));
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    println!();
}

/// A goodput, marked `*` when the transfer hit its cap.
fn cell(g: &virt::Goodput, mbit: bool) -> String {
    let star = if g.finished { "" } else { "*" };
    if mbit {
        format!("{:.2}{star}", g.mbit())
    } else {
        format!("{:.0}{star}", g.bytes_per_sec())
    }
}

fn netsim_reference() {
    let t = Instant::now();
    println!();
    println!(
        "## smoltcp's netsim setting in virtual time: 10 MiB, 32 KiB buffers, 100 ms RTT, \
         B/s (window bound 327,680)"
    );
    println!();
    let buffer = 32 * 1024;
    let cap = Duration::from_secs(600);
    let mut rows = Vec::new();
    let mut like = Vec::new();
    for (i, &loss) in LOSSES.iter().enumerate() {
        let link = virt::link(loss, 50);
        let smol = virt::smoltcp(SmolCc::None, false, &link, 11, buffer, 10 * MIB, cap);
        let mut row = vec![
            pct(loss),
            format!("{:.0}", SMOL_PUBLISHED[i]),
            cell(&smol, false),
        ];
        let mut like_row = vec![pct(loss)];
        for &cc in Algorithm::ALL {
            let ours = virt::tunstack(cc, &link, 11, buffer, 10 * MIB, cap);
            row.push(cell(&ours, false));
            row.push(format!(
                "{:.2}",
                ours.bytes_per_sec() / smol.bytes_per_sec()
            ));
            if let Some(theirs) = smol_same(cc) {
                let theirs = virt::smoltcp(theirs, true, &link, 11, buffer, 10 * MIB, cap);
                like_row.extend(like_cells(&theirs, &ours, false));
            }
        }
        rows.push(row);
        like.push(like_row);
    }
    let mut head = vec!["loss", "smoltcp published", "smoltcp, our link"];
    let names: Vec<String> = Algorithm::ALL
        .iter()
        .flat_map(|a| [format!("tunstack {a}"), format!("{a} / smoltcp")])
        .collect();
    head.extend(names.iter().map(String::as_str));
    table(&head, &rows);
    println!("(* = stopped at the cap; smoltcp runs without congestion control, its default)");
    println!();
    like_for_like(&like, false);
    println!("(took {:.1} s)", t.elapsed().as_secs_f64());
}

/// smoltcp's algorithm of the same name as `cc`, for the like-for-like tables: smoltcp
/// 0.14 has Reno and CUBIC (features `socket-tcp-reno`, `socket-tcp-cubic`), no BBR.
/// Those runs poll smoltcp's receiver per frame (`virt::smoltcp`'s `per_frame`): polled
/// once per batch it acknowledges a window's burst with one ACK, and its slow start,
/// one MSS per ACK, crawls (the same run polled per batch moved half as much or less).
fn smol_same(cc: Algorithm) -> Option<SmolCc> {
    match cc {
        Algorithm::Reno => Some(SmolCc::Reno),
        Algorithm::Cubic => Some(SmolCc::Cubic),
        _ => None,
    }
}

/// A like-for-like row's cells for one algorithm: smoltcp's goodput, tunstack's, and
/// tunstack's over smoltcp's.
fn like_cells(theirs: &virt::Goodput, ours: &virt::Goodput, mbit: bool) -> [String; 3] {
    [
        cell(theirs, mbit),
        cell(ours, mbit),
        format!("{:.2}", ours.bytes_per_sec() / theirs.bytes_per_sec()),
    ]
}

/// Prints a like-for-like table: each loss-based algorithm beside smoltcp's own.
fn like_for_like(rows: &[Vec<String>], mbit: bool) {
    let unit = if mbit { "Mbit/s" } else { "B/s" };
    println!(
        "Like for like, {unit}: tunstack's Reno and CUBIC beside smoltcp's (its congestion \
         control features on, its receiver polled per frame), same link and seed"
    );
    println!();
    let first = if mbit { "loss, one-way delay" } else { "loss" };
    table(
        &[
            first,
            "smoltcp reno",
            "tunstack reno",
            "reno / smoltcp reno",
            "smoltcp cubic",
            "tunstack cubic",
            "cubic / smoltcp cubic",
        ],
        rows,
    );
}

fn virtual_grid() {
    let t = Instant::now();
    println!();
    println!(
        "## The grid in virtual time: 16 MiB one way capped at 20 s, 256 KiB buffers, \
         Mbit/s (window bound at 10 ms: 104.9, at 50 ms: 21.0)"
    );
    println!();
    let buffer = 256 * 1024;
    let cap = Duration::from_secs(20);
    let mut rows = Vec::new();
    let mut like = Vec::new();
    for &delay in &DELAYS_MS {
        for &loss in &LOSSES {
            let link = virt::link(loss, delay);
            let smol = virt::smoltcp(SmolCc::None, false, &link, 11, buffer, 16 * MIB, cap);
            let point = format!("{}, {delay} ms", pct(loss));
            let mut row = vec![point.clone(), cell(&smol, true)];
            let mut like_row = vec![point];
            for &cc in Algorithm::ALL {
                let ours = virt::tunstack(cc, &link, 11, buffer, 16 * MIB, cap);
                row.push(cell(&ours, true));
                row.push(format!("{:.2}", ours.mbit() / smol.mbit()));
                if let Some(theirs) = smol_same(cc) {
                    let theirs = virt::smoltcp(theirs, true, &link, 11, buffer, 16 * MIB, cap);
                    like_row.extend(like_cells(&theirs, &ours, true));
                }
            }
            rows.push(row);
            like.push(like_row);
        }
    }
    let mut head = vec!["loss, one-way delay", "smoltcp"];
    let names: Vec<String> = Algorithm::ALL
        .iter()
        .flat_map(|a| [format!("tunstack {a}"), format!("{a} / smoltcp")])
        .collect();
    head.extend(names.iter().map(String::as_str));
    table(&head, &rows);
    println!("(* = stopped at the cap)");
    println!();
    like_for_like(&like, true);
    println!("(took {:.1} s)", t.elapsed().as_secs_f64());
}

fn fairness() {
    let t = Instant::now();
    println!();
    println!(
        "## Fairness in virtual time: two flows, 50 Mbit/s bottleneck, 100-frame queue, \
         10 ms one way, 60 s (first 10 s not counted)"
    );
    println!();
    let pairs = [
        [Algorithm::Cubic, Algorithm::Cubic],
        [Algorithm::Reno, Algorithm::Reno],
        [Algorithm::Cubic, Algorithm::Reno],
        [Algorithm::Bbr, Algorithm::Bbr],
        [Algorithm::Bbr, Algorithm::Cubic],
        [Algorithm::BbrDraft, Algorithm::BbrDraft],
        [Algorithm::BbrDraft, Algorithm::Cubic],
    ];
    let mut rows = Vec::new();
    for ccs in pairs {
        // 60 s: a CUBIC saw-tooth here lasts about K = 4.5 s (W_max near 125 segments),
        // and where a shorter run's window cuts it moves the shares. Two CUBIC flows
        // shared 55/45 over 5-30 s and 10-40 s, 53/47 over 10-60 s and 52/48 over
        // 10-120 s (stop 22).
        let s = virt::fairness(ccs, 50, 100, 10, 60, 10);
        let total = s.goodput[0] + s.goodput[1];
        rows.push(vec![
            format!("{} + {}", ccs[0], ccs[1]),
            format!("{:.2} / {:.2}", s.goodput[0], s.goodput[1]),
            format!(
                "{:.0}% / {:.0}%",
                100.0 * s.goodput[0] / total,
                100.0 * s.goodput[1] / total
            ),
            format!("{:.4}", s.jain),
            format!("{:.1} / {:.1}", s.srtt_ms[0], s.srtt_ms[1]),
            s.dropped.to_string(),
        ]);
    }
    table(
        &[
            "flows",
            "Mbit/s",
            "shares",
            "Jain",
            "mean SRTT ms (base 20)",
            "queue drops",
        ],
        &rows,
    );
    println!("(took {:.1} s)", t.elapsed().as_secs_f64());
}

fn tun_grid() {
    let t = Instant::now();
    let cap_s = support::env_usize("TUNSTACK_LOSS_RACE_CAP_S", 20) as u64;
    let cap = std::time::Duration::from_secs(cap_s);
    let reps = support::env_usize("TUNSTACK_LOSS_RACE_REPS", 1).max(1);
    let total = 16 * MIB;
    println!();
    println!(
        "## The grid over a real TUN device: 16 MiB one way capped at {cap_s} s, Mbit/s{}; \
         tunstack sends to the kernel, the kernel (per-socket TCP_CONGESTION) to tunstack",
        if reps > 1 {
            format!(" (median of {reps})")
        } else {
            String::new()
        }
    );
    println!();
    let default =
        std::fs::read_to_string("/proc/sys/net/ipv4/tcp_congestion_control").unwrap_or_default();
    let mut linux = Vec::new();
    for name in ["reno", "cubic", "bbr"] {
        if tun::linux_ensure(name) {
            linux.push(name.to_string());
        } else {
            println!("Linux {name}: not available (modprobe tcp_{name} failed), left out");
        }
    }
    println!(
        "kernel default {}; available: {}",
        default.trim(),
        tun::linux_available().join(" ")
    );
    let mut senders: Vec<tun::Sender> = Algorithm::ALL
        .iter()
        .map(|&a| tun::Sender::Tunstack(a))
        .collect();
    senders.extend(linux.iter().cloned().map(tun::Sender::Linux));
    // `TUNSTACK_LOSS_RACE_SENDERS=bbr,linux-bbr` runs only those senders (the other
    // columns show "-").
    let only_senders = std::env::var("TUNSTACK_LOSS_RACE_SENDERS").unwrap_or_default();
    let runs = |who: &tun::Sender| {
        let name = match who {
            tun::Sender::Tunstack(a) => a.name().to_string(),
            tun::Sender::Linux(l) => format!("linux-{l}"),
        };
        only_senders.is_empty() || only_senders.split(',').any(|s| s.trim() == name)
    };
    let mut rows = Vec::new();
    let mut used_notes = Vec::new();
    // `TUNSTACK_LOSS_RACE_POINTS=5:10,2:50` (loss %:one-way ms) runs only those points.
    let points = std::env::var("TUNSTACK_LOSS_RACE_POINTS").unwrap_or_default();
    let wanted = |loss: f64, delay: u64| {
        points.is_empty()
            || points
                .split(',')
                .any(|p| p.trim() == format!("{}:{delay}", loss * 100.0))
    };
    for &delay in &DELAYS_MS {
        for &loss in &LOSSES {
            if !wanted(loss, delay) {
                continue;
            }
            // Each repetition runs every sender once, in turn, so that a noisy spell of
            // the machine falls on all of them; each cell is the median.
            let mut got: Vec<(Vec<f64>, bool)> = vec![(Vec::new(), false); senders.len()];
            for _ in 0..reps {
                for (who, cell) in senders.iter().zip(got.iter_mut()) {
                    if !runs(who) {
                        continue;
                    }
                    let r = tun::transfer(who, loss, delay, total, cap);
                    if let tun::Sender::Linux(name) = who {
                        if &r.used != name {
                            used_notes.push(format!(
                                "{}, {delay} ms: asked Linux for {name}, it used {}",
                                pct(loss),
                                r.used
                            ));
                        }
                    }
                    cell.0.push(r.mbit);
                    cell.1 |= r.bytes < total;
                }
            }
            // A sender left out by `TUNSTACK_LOSS_RACE_SENDERS` has no figure: `None`, shown
            // as "-" (and so are the ratios that need it).
            let mbit: Vec<Option<(f64, &str)>> = got
                .iter()
                .map(|(runs, capped)| {
                    (!runs.is_empty())
                        .then(|| (support::median(runs), if *capped { "*" } else { "" }))
                })
                .collect();
            let dash = || "-".to_string();
            let mut row = vec![format!("{}, {delay} ms", pct(loss))];
            row.extend(
                mbit.iter()
                    .map(|m| m.map_or_else(dash, |(m, s)| format!("{m:.2}{s}"))),
            );
            // Ratios: each tunstack algorithm against Linux's algorithm of the same name
            // (`bbr-draft` against Linux's bbr: this kernel has only BBRv1), and against
            // Linux's best of those that ran.
            let n = Algorithm::ALL.len();
            let best = mbit[n..].iter().flatten().map(|m| m.0).reduce(f64::max);
            for (i, a) in Algorithm::ALL.iter().enumerate() {
                let ours = mbit[i].map(|m| m.0);
                let same = linux
                    .iter()
                    .position(|l| l == linux_peer(*a))
                    .and_then(|j| mbit[n + j])
                    .map(|m| m.0);
                let ratio = |theirs: Option<f64>| match (ours, theirs) {
                    (Some(o), Some(t)) => format!("{:.2}", o / t),
                    _ => dash(),
                };
                row.push(ratio(same));
                row.push(ratio(best));
            }
            rows.push(row);
        }
    }
    let mut head: Vec<String> = vec!["loss, one-way delay".into()];
    head.extend(Algorithm::ALL.iter().map(|a| format!("tunstack {a}")));
    head.extend(linux.iter().map(|l| format!("Linux {l}")));
    for &a in Algorithm::ALL {
        head.push(format!("{a} / Linux {}", linux_peer(a)));
        head.push(format!("{a} / Linux best"));
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    table(&head, &rows);
    for n in used_notes {
        println!("{n}");
    }
    println!(
        "(* = stopped at the cap; each kernel socket reported the algorithm asked for \
         unless noted; took {:.1} s)",
        t.elapsed().as_secs_f64()
    );
}

/// The Linux algorithm a tunstack algorithm is compared with: the one of the same name,
/// and Linux's bbr (BBRv1, all this kernel has) for `bbr-draft`.
fn linux_peer(a: Algorithm) -> &'static str {
    match a {
        Algorithm::BbrDraft => "bbr",
        other => other.name(),
    }
}
