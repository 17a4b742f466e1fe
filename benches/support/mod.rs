//! Helpers shared by the benchmarks (include with `#[path = "support/mod.rs"] mod support;`):
//! statistics over repetitions, the side-by-side table, and the run-size switch.
#![allow(dead_code)]

use std::time::Duration;

/// Whether the full-size runs were asked for (`TUNSTACK_BENCH_LONG=1`).
pub fn long() -> bool {
    std::env::var("TUNSTACK_BENCH_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// An environment override of a number (e.g. `TUNSTACK_BENCH_REPS=5`), else `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `q`-quantile (0..=1) of `xs` by the nearest-rank method; `xs` need not be sorted.
/// `NaN` for an empty slice.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The median of `xs` (the mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Smallest and largest of `xs`.
pub fn range(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Bytes over a duration, in Gbit/s.
pub fn gbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 * 8.0 / d.as_secs_f64() / 1e9
}

/// `median (min-max)` of repetitions, with `digits` decimals.
pub fn summary(xs: &[f64], digits: usize) -> String {
    if xs.is_empty() {
        return "-".into();
    }
    let (lo, hi) = range(xs);
    if xs.len() == 1 {
        return format!("{:.digits$}", xs[0]);
    }
    format!("{:.digits$} ({lo:.digits$}-{hi:.digits$})", median(xs))
}

/// One row of a side-by-side table.
pub struct Row {
    pub scenario: String,
    pub ours: String,
    pub comparison: String,
    pub ratio: String,
}

impl Row {
    /// A row from the repetitions of both sides; the ratio is of the medians
    /// (`ours / comparison`). An empty side prints `-` (with `why` in its place if given).
    pub fn new(scenario: impl Into<String>, ours: &[f64], theirs: &[f64], digits: usize) -> Row {
        let ratio = if ours.is_empty() || theirs.is_empty() {
            "-".to_string()
        } else {
            format!("{:.2}", median(ours) / median(theirs))
        };
        Row {
            scenario: scenario.into(),
            ours: summary(ours, digits),
            comparison: summary(theirs, digits),
            ratio,
        }
    }

    /// A row with free text in the cells.
    pub fn text(scenario: impl Into<String>, ours: &str, theirs: &str, ratio: &str) -> Row {
        Row {
            scenario: scenario.into(),
            ours: ours.into(),
            comparison: theirs.into(),
            ratio: ratio.into(),
        }
    }
}

/// Prints `rows` as a Markdown table under the given column headings.
pub fn print_table(headings: [&str; 4], rows: &[Row]) {
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.as_str(),
                r.ours.as_str(),
                r.comparison.as_str(),
                r.ratio.as_str(),
            ]
        })
        .collect();
    let mut w = headings.map(str::len);
    for c in &cells {
        for i in 0..4 {
            w[i] = w[i].max(c[i].len());
        }
    }
    let line = |c: [&str; 4]| {
        println!(
            "| {:<w0$} | {:>w1$} | {:>w2$} | {:>w3$} |",
            c[0],
            c[1],
            c[2],
            c[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3]
        );
    };
    line(headings);
    println!(
        "|{}|{}:|{}:|{}:|",
        "-".repeat(w[0] + 2),
        "-".repeat(w[1] + 1),
        "-".repeat(w[2] + 1),
        "-".repeat(w[3] + 1)
    );
    for c in cells {
        line(c);
    }
}

/// Whether we are root; if not, prints the skip line for `what`.
pub fn root_or_skip(what: &str) -> bool {
    // SAFETY: geteuid takes no arguments and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        true
    } else {
        println!("skipped: {what}: needs root (CAP_NET_ADMIN)");
        false
    }
}

/// Prints `rows` as a Markdown table under `headings`: the first column left-aligned,
/// the others right-aligned (rows shorter than the headings are padded with blanks).
pub fn print_grid(headings: &[&str], rows: &[Vec<String>]) {
    let n = headings.len();
    let cell = |r: &[String], i: usize| r.get(i).map_or("", |s| s.as_str()).to_string();
    let mut w: Vec<usize> = headings.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, wi) in w.iter_mut().enumerate() {
            *wi = (*wi).max(cell(r, i).chars().count());
        }
    }
    let line = |c: Vec<String>| {
        let mut out = String::from("|");
        for (i, s) in c.iter().enumerate() {
            let pad = w[i].saturating_sub(s.chars().count());
            if i == 0 {
                out.push_str(&format!(" {s}{} |", " ".repeat(pad)));
            } else {
                out.push_str(&format!(" {}{s} |", " ".repeat(pad)));
            }
        }
        println!("{out}");
    };
    line(headings.iter().map(|h| h.to_string()).collect());
    let mut sep = String::from("|");
    for (i, wi) in w.iter().enumerate() {
        if i == 0 {
            sep.push_str(&format!("{}|", "-".repeat(wi + 2)));
        } else {
            sep.push_str(&format!("{}:|", "-".repeat(wi + 1)));
        }
    }
    println!("{sep}");
    for r in rows {
        line((0..n).map(|i| cell(r, i)).collect());
    }
}
