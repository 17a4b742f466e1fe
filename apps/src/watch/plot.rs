//! Plots of a connection trace as SVG, written by hand (plain SVG 1.1, no scripts, no
//! external references): a time-sequence graph in the style of Stevens and tcptrace
//! (`seq.svg`), the congestion window (`cwnd.svg`) and the RTT (`rtt.svg`). Each series
//! is a `<g>` with an `id` (`sent`, `retransmitted`, `acked`, `sacked`, `rwnd`; `cwnd`,
//! `ssthresh`, `in_flight`, `recovery`; `rtt_sample`, `srtt`, `rto`), so a reader (or a
//! test) can find it.

use std::fmt::Write as _;

use super::trace::TraceLine;

const W: f64 = 900.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick step near `range / 6` of the form 1, 2 or 5 times a power of ten.
fn tick_step(range: f64) -> f64 {
    let raw = (range / 6.0).max(f64::MIN_POSITIVE);
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

/// `1.5M`, `200k`, `12`: a tick label.
fn si(v: f64) -> String {
    let (n, suffix) = if v.abs() >= 1e9 {
        (v / 1e9, "G")
    } else if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{n:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{suffix}")
}

/// One chart: axes scaled to the data, series added as groups.
struct Chart {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    body: String,
    legend: Vec<(&'static str, &'static str, &'static str)>,
}

impl Chart {
    fn new(x: (f64, f64), y: (f64, f64)) -> Chart {
        let fix = |(a, b): (f64, f64)| {
            if a.is_finite() && b.is_finite() && b > a {
                (a, b)
            } else if a.is_finite() {
                (a, a + 1.0)
            } else {
                (0.0, 1.0)
            }
        };
        let (x0, x1) = fix(x);
        let (y0, y1) = fix(y);
        Chart {
            x0,
            x1,
            y0,
            y1: y1 + (y1 - y0) * 0.02,
            body: String::new(),
            legend: Vec::new(),
        }
    }

    fn x(&self, v: f64) -> f64 {
        LEFT + (v - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        H - BOTTOM - (v - self.y0) / (self.y1 - self.y0) * (H - TOP - BOTTOM)
    }

    fn group(&mut self, id: &'static str, label: &'static str, color: &'static str, path: &str) {
        self.legend.push((id, label, color));
        let _ = writeln!(self.body, "<g id=\"{id}\"><title>{label}</title>{path}</g>");
    }

    /// Vertical bars from `(x, y_low)` to `(x, y_high)`.
    fn bars(
        &mut self,
        id: &'static str,
        label: &'static str,
        color: &'static str,
        bars: &[(f64, f64, f64)],
    ) {
        let mut d = String::new();
        for &(x, lo, hi) in bars {
            let (px, py0, py1) = (self.x(x), self.y(lo), self.y(hi));
            let py1 = if (py0 - py1).abs() < 1.5 {
                py0 - 1.5
            } else {
                py1
            };
            let _ = write!(d, "M{px:.1} {py0:.1}V{py1:.1}");
        }
        let path =
            format!("<path d=\"{d}\" stroke=\"{color}\" stroke-width=\"1.2\" fill=\"none\"/>");
        self.group(id, label, color, &path);
    }

    /// A line through `pts`; `step` holds each value until the next point.
    fn line(
        &mut self,
        id: &'static str,
        label: &'static str,
        color: &'static str,
        pts: &[(f64, f64)],
        step: bool,
        dashed: bool,
    ) {
        let mut d = String::new();
        for (i, &(x, y)) in pts.iter().enumerate() {
            let (px, py) = (self.x(x), self.y(y));
            if i == 0 {
                let _ = write!(d, "M{px:.1} {py:.1}");
            } else if step {
                let _ = write!(d, "H{px:.1}V{py:.1}");
            } else {
                let _ = write!(d, "L{px:.1} {py:.1}");
            }
        }
        let dash = if dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let path = format!(
            "<path d=\"{d}\" stroke=\"{color}\" stroke-width=\"1.5\" fill=\"none\"{dash}/>"
        );
        self.group(id, label, color, &path);
    }

    /// Shaded spans `[x_start, x_end)` across the plot's height.
    fn bands(
        &mut self,
        id: &'static str,
        label: &'static str,
        color: &'static str,
        spans: &[(f64, f64)],
    ) {
        let mut r = String::new();
        for &(a, b) in spans {
            let (xa, xb) = (self.x(a), self.x(b));
            let _ = write!(
                r,
                "<rect x=\"{xa:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" \
                 fill-opacity=\"0.18\"/>",
                (xb - xa).max(1.0),
                H - TOP - BOTTOM
            );
        }
        self.group(id, label, color, &r);
    }

    fn dots(
        &mut self,
        id: &'static str,
        label: &'static str,
        color: &'static str,
        pts: &[(f64, f64)],
    ) {
        let mut s = String::new();
        for &(x, y) in pts {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{color}\"/>",
                self.x(x),
                self.y(y)
            );
        }
        self.group(id, label, color, &s);
    }

    fn finish(self, title: &str, x_label: &str, y_label: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{W}\" \
             height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            esc(title)
        );
        let _ = writeln!(
            s,
            "<text x=\"{LEFT}\" y=\"20\" font-size=\"13\" font-weight=\"bold\">{}</text>",
            esc(title)
        );
        // Axes, grid and ticks.
        let (bx, by) = (LEFT, H - BOTTOM);
        let _ = writeln!(s, "<g id=\"axes\" stroke=\"#888\" stroke-width=\"1\">");
        let _ = writeln!(
            s,
            "<path d=\"M{bx} {TOP}V{by}H{:.1}\" fill=\"none\"/>",
            W - RIGHT
        );
        let step = tick_step(self.x1 - self.x0);
        let mut v = (self.x0 / step).ceil() * step;
        while v <= self.x1 + step * 1e-9 {
            let px = self.x(v);
            let _ = writeln!(
                s,
                "<path d=\"M{px:.1} {by}V{:.1}\" stroke=\"#eee\"/><text x=\"{px:.1}\" y=\"{:.1}\" \
                 text-anchor=\"middle\" stroke=\"none\" fill=\"#333\">{}</text>",
                TOP,
                by + 15.0,
                si(v)
            );
            v += step;
        }
        let step = tick_step(self.y1 - self.y0);
        let mut v = (self.y0 / step).ceil() * step;
        while v <= self.y1 + step * 1e-9 {
            let py = self.y(v);
            let _ = writeln!(
                s,
                "<path d=\"M{bx} {py:.1}H{:.1}\" stroke=\"#eee\"/><text x=\"{:.1}\" y=\"{:.1}\" \
                 text-anchor=\"end\" stroke=\"none\" fill=\"#333\">{}</text>",
                W - RIGHT,
                bx - 6.0,
                py + 4.0,
                si(v)
            );
            v += step;
        }
        let _ = writeln!(s, "</g>");
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            LEFT + (W - LEFT - RIGHT) / 2.0,
            H - 12.0,
            esc(x_label)
        );
        let _ = writeln!(
            s,
            "<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            TOP + (H - TOP - BOTTOM) / 2.0,
            esc(y_label)
        );
        s.push_str(&self.body);
        // Legend, top right.
        let _ = writeln!(s, "<g id=\"legend\">");
        for (i, (_, label, color)) in self.legend.iter().enumerate() {
            let y = TOP + 4.0 + 14.0 * i as f64;
            let x = W - RIGHT - 150.0;
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                y,
                x + 14.0,
                y + 9.0,
                esc(label)
            );
        }
        let _ = writeln!(s, "</g>\n</svg>");
        s
    }
}

/// The connection's name for titles, and the time origin (the first event).
fn context(lines: &[TraceLine]) -> (String, u64) {
    let name = lines
        .iter()
        .find_map(|l| match l {
            TraceLine::Conn {
                id, local, remote, ..
            } => Some(format!("connection {id}: {local} to {remote}")),
            _ => None,
        })
        .unwrap_or_else(|| "connection".into());
    let t0 = lines.iter().filter_map(time).min().unwrap_or(0);
    (name, t0)
}

fn time(l: &TraceLine) -> Option<u64> {
    match *l {
        TraceLine::Send { t_us, .. }
        | TraceLine::Ack { t_us, .. }
        | TraceLine::Cwnd { t_us, .. }
        | TraceLine::Rtt { t_us, .. }
        | TraceLine::State { t_us, .. } => Some(t_us),
        _ => None,
    }
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    })
}

/// The time-sequence graph: data sent (black), retransmitted (red), the ACK line (green),
/// SACKed blocks (purple) and the receive window's right edge (orange), over seconds.
pub fn seq_svg(lines: &[TraceLine]) -> String {
    let (name, t0) = context(lines);
    let secs = |t: u64| t.saturating_sub(t0) as f64 / 1e6;
    let mut sent = Vec::new();
    let mut rexmit = Vec::new();
    let mut acked = Vec::new();
    let mut sacked = Vec::new();
    let mut rwnd = Vec::new();
    for l in lines {
        match l {
            TraceLine::Send {
                t_us,
                seq,
                len,
                retransmit,
                ..
            } => {
                let bar = (secs(*t_us), *seq as f64, (*seq + *len) as f64);
                if retransmit.is_some() {
                    rexmit.push(bar);
                } else {
                    sent.push(bar);
                }
            }
            TraceLine::Ack {
                t_us,
                ack,
                wnd,
                sack,
                ..
            } => {
                let t = secs(*t_us);
                acked.push((t, *ack as f64));
                rwnd.push((t, (*ack + *wnd) as f64));
                sacked.extend(sack.iter().map(|[l, r]| (t, *l as f64, *r as f64)));
            }
            _ => {}
        }
    }
    let xs = range(lines.iter().filter_map(time).map(secs));
    let ys = range(
        sent.iter()
            .chain(&rexmit)
            .flat_map(|b| [b.1, b.2])
            .chain(acked.iter().map(|p| p.1))
            .chain(rwnd.iter().map(|p| p.1)),
    );
    let mut c = Chart::new(xs, (0.0f64.min(ys.0), ys.1));
    c.line("rwnd", "receive window", "#f0a030", &rwnd, true, false);
    c.line("acked", "ACKed", "#2a9d2a", &acked, true, false);
    c.bars("sacked", "SACKed", "#8e44ad", &sacked);
    c.bars("sent", "sent", "#222", &sent);
    c.bars("retransmitted", "retransmitted", "#e03030", &rexmit);
    c.finish(
        &format!("time-sequence, {name}"),
        "time (s)",
        "sequence offset (bytes)",
    )
}

/// cwnd, ssthresh and bytes in flight over seconds.
pub fn cwnd_svg(lines: &[TraceLine]) -> String {
    let (name, t0) = context(lines);
    let secs = |t: u64| t.saturating_sub(t0) as f64 / 1e6;
    let mut cwnd = Vec::new();
    let mut ssthresh = Vec::new();
    let mut flight = Vec::new();
    let mut recovery: Vec<(f64, f64)> = Vec::new();
    let mut since: Option<f64> = None;
    for l in lines {
        match l {
            TraceLine::Cwnd {
                t_us,
                cwnd: w,
                ssthresh: s,
                in_flight,
                phase,
            } => {
                let t = secs(*t_us);
                match (phase == "recovery", since) {
                    (true, None) => since = Some(t),
                    (false, Some(a)) => {
                        recovery.push((a, t));
                        since = None;
                    }
                    _ => {}
                }
                cwnd.push((secs(*t_us), *w as f64));
                if let Some(s) = s {
                    ssthresh.push((secs(*t_us), *s as f64));
                }
                flight.push((secs(*t_us), *in_flight as f64));
            }
            TraceLine::Ack {
                t_us, in_flight, ..
            } => flight.push((secs(*t_us), *in_flight as f64)),
            _ => {}
        }
    }
    let xs = range(lines.iter().filter_map(time).map(secs));
    if let Some(a) = since {
        recovery.push((a, xs.1));
    }
    let ys = range(cwnd.iter().chain(&ssthresh).chain(&flight).map(|p| p.1));
    let mut c = Chart::new(xs, (0.0, ys.1));
    c.bands("recovery", "fast recovery", "#e03030", &recovery);
    c.line(
        "in_flight",
        "bytes in flight",
        "#2a9d2a",
        &flight,
        true,
        false,
    );
    c.line("ssthresh", "ssthresh", "#e03030", &ssthresh, true, true);
    c.line("cwnd", "cwnd", "#1f5fbf", &cwnd, true, false);
    c.finish(&format!("congestion window, {name}"), "time (s)", "bytes")
}

/// RTT samples, SRTT and RTO over seconds, in milliseconds.
pub fn rtt_svg(lines: &[TraceLine]) -> String {
    let (name, t0) = context(lines);
    let secs = |t: u64| t.saturating_sub(t0) as f64 / 1e6;
    let mut sample = Vec::new();
    let mut srtt = Vec::new();
    let mut rto = Vec::new();
    for l in lines {
        if let TraceLine::Rtt {
            t_us,
            sample_us,
            srtt_us,
            rto_us,
            ..
        } = l
        {
            let t = secs(*t_us);
            sample.push((t, *sample_us as f64 / 1e3));
            srtt.push((t, *srtt_us as f64 / 1e3));
            rto.push((t, *rto_us as f64 / 1e3));
        }
    }
    let xs = range(lines.iter().filter_map(time).map(secs));
    let ys = range(sample.iter().chain(&srtt).chain(&rto).map(|p| p.1));
    let mut c = Chart::new(xs, (0.0, ys.1));
    c.line("rto", "RTO", "#e03030", &rto, true, true);
    c.line("srtt", "SRTT", "#1f5fbf", &srtt, false, false);
    c.dots("rtt_sample", "RTT sample", "#222", &sample);
    c.finish(
        &format!("round-trip time, {name}"),
        "time (s)",
        "milliseconds",
    )
}

/// The three plots by file name.
pub fn all(lines: &[TraceLine]) -> [(&'static str, String); 3] {
    [
        ("seq.svg", seq_svg(lines)),
        ("cwnd.svg", cwnd_svg(lines)),
        ("rtt.svg", rtt_svg(lines)),
    ]
}
