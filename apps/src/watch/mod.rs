//! Watching a running stack from the host: `tunstack ss` and `tunstack stats` read the
//! stack's `/_stack/connections` and `/_stack/stats` over HTTP, with this crate's own HTTP
//! client on the kernel's sockets. They need no TUN device and no root (unless the stack
//! lives in a namespace, which `--netns` enters).

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::http::client;
use crate::http::ConnRow;

pub mod live;
pub mod plot;
pub mod trace;

/// The running stack to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its web server (port 80 unless given).
    pub addr: SocketAddr,
    /// The network namespace to connect from (`None`: this process's).
    pub netns: Option<String>,
}

impl Default for Target {
    /// `tunstack up`'s default address, 10.77.0.2, port 80.
    fn default() -> Self {
        Target {
            addr: SocketAddr::from((Ipv4Addr::new(10, 77, 0, 2), 80)),
            netns: None,
        }
    }
}

/// Parses `IP` or `IP:PORT` (port 80 when not given).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 80)))
        .map_err(|_| "expected the stack's address, IP or IP:PORT, like 10.77.0.2".into())
}

/// How long a connection attempt or a read may take.
const TIMEOUT: Duration = Duration::from_secs(5);

fn connect(netns: Option<&str>, addr: SocketAddr) -> io::Result<std::net::TcpStream> {
    match netns {
        None => std::net::TcpStream::connect_timeout(&addr, TIMEOUT),
        Some(ns) => {
            let path = std::path::Path::new(crate::sys::NETNS_DIR).join(ns);
            if !path.exists() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no network namespace {ns:?}"),
                ));
            }
            // A socket belongs to the namespace of the thread that made it.
            crate::sys::in_netns(ns, move || {
                std::net::TcpStream::connect_timeout(&addr, TIMEOUT)
            })
            .map(|(s, _guard)| s)
        }
    }
}

/// GETs `path` from the stack's web server and returns the body of a 200 response.
pub fn fetch(target: &Target, path: &str) -> Result<Vec<u8>, String> {
    let url = format!("http://{}{path}", target.addr);
    let mut body = Vec::new();
    let ns = target.netns.clone();
    let addr = target.addr;
    let opts = client::Options {
        timeout: TIMEOUT,
        ..client::Options::default()
    };
    let f = client::get_with(
        &url,
        move |_, _| connect(ns.as_deref(), addr),
        &mut body,
        &mut |_, _| {},
        &opts,
    )
    .map_err(|e| format!("{url}: {e} (is `tunstack up` running there?)"))?;
    if f.status != 200 {
        return Err(format!("{url}: HTTP {} {}", f.status, f.reason));
    }
    Ok(body)
}

/// The stack's connections, from `/_stack/connections`.
pub fn connections(target: &Target) -> Result<Vec<ConnRow>, String> {
    let body = fetch(target, "/_stack/connections?format=json")?;
    serde_json::from_slice(&body).map_err(|e| format!("/_stack/connections: {e}"))
}

/// The stack's counters, in its order, from `/_stack/stats`.
pub fn counters(target: &Target) -> Result<Vec<(String, u64)>, String> {
    let body = fetch(target, "/_stack/stats")?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&body).map_err(|e| format!("/_stack/stats: {e}"))?;
    map.into_iter()
        .map(|(k, v)| match v.as_u64() {
            Some(n) => Ok((k, n)),
            None => Err(format!("/_stack/stats: {k} is not a count: {v}")),
        })
        .collect()
}

/// Milliseconds with up to three decimals, as `ss` prints RTTs (`rtt:1.5/0.75`).
fn ms(us: u64) -> String {
    let s = format!("{:.3}", us as f64 / 1000.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A rate as `ss` prints it: `12.5Mbps`.
fn bps(v: u64) -> String {
    let (n, unit) = match v {
        v if v >= 1_000_000_000 => (v as f64 / 1e9, "Gbps"),
        v if v >= 1_000_000 => (v as f64 / 1e6, "Mbps"),
        v if v >= 1_000 => (v as f64 / 1e3, "Kbps"),
        v => (v as f64, "bps"),
    };
    format!("{}{unit}", format!("{n:.1}").trim_end_matches(".0"))
}

/// Prints connections the way `ss -ti` does: a line with the state and addresses, then
/// an indented line of TCP internals. cwnd and ssthresh are in segments of `mss` bytes,
/// as `ss` gives them; times in milliseconds.
pub fn print_ss(rows: &[ConnRow], out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{:<11} {:>6} {:<22} {:<22}",
        "State", "Id", "Local Address:Port", "Peer Address:Port"
    )?;
    for c in rows {
        writeln!(
            out,
            "{:<11} {:>6} {:<22} {:<22}",
            c.state,
            c.id,
            c.local.to_string(),
            c.remote.to_string()
        )?;
        let mss = c.mss.max(1);
        let mut line = format!(
            "\t {} mss:{} cwnd:{}",
            c.congestion,
            c.mss,
            c.cwnd.div_ceil(mss)
        );
        if let Some(s) = c.ssthresh {
            line += &format!(" ssthresh:{}", s.div_ceil(mss));
        }
        if c.pmtu > 0 {
            line += &format!(" pmtu:{}", c.pmtu);
        }
        line += &format!(" rtt:{}/{}", ms(c.srtt_us), ms(c.rttvar_us));
        line += &format!(
            " rto:{} bytes_in_flight:{} bytes_acked:{} bytes_received:{} segs_out:{} \
             segs_in:{} retrans:{} timeouts:{} fast_retrans:{} snd_wnd:{} rcv_wnd:{}",
            ms(c.rto_us),
            c.bytes_in_flight,
            c.bytes_acked,
            c.bytes_received,
            c.segs_out,
            c.segs_in,
            c.retransmits,
            c.timeouts,
            c.fast_retransmits,
            c.snd_wnd,
            c.rcv_wnd
        );
        if let Some(r) = c.pacing_rate_bps {
            line += &format!(" pacing_rate {}", bps(r));
        }
        if let Some(r) = c.delivery_rate_bps {
            line += &format!(" delivery_rate {}", bps(r));
        }
        if let Some(b) = &c.bbr {
            // As Linux's ss prints BBR's model, with the state first.
            line += &format!(
                " bbr:(state:{},bw:{},mrtt:{},pacing_gain:{},cwnd_gain:{})",
                b.state,
                bps(b.bw_bps),
                b.min_rtt_us.map_or("-".to_string(), ms),
                f64::from(b.pacing_gain_pct) / 100.0,
                f64::from(b.cwnd_gain_pct) / 100.0
            );
            if let Some(v) = b.inflight_longterm {
                line.insert_str(line.len() - 1, &format!(",inflight_hi:{v}"));
            }
            if let Some(r) = b.bw_shortterm_bps {
                line.insert_str(line.len() - 1, &format!(",bw_lo:{}", bps(r)));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Prints counters as `nstat` does: name, value, and (for deltas over `secs`) the rate
/// per second. Zero values are left out unless `zeros`.
pub fn print_counters(
    counters: &[(String, u64)],
    secs: Option<f64>,
    zeros: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    for (name, v) in counters {
        if *v == 0 && !zeros {
            continue;
        }
        match secs {
            Some(s) => writeln!(out, "{name:<28} {v:>16} {:>14.1}", *v as f64 / s.max(1e-9))?,
            None => writeln!(out, "{name:<28} {v:>16}")?,
        }
    }
    Ok(())
}

/// `now - before`, counter by counter (a counter new in `now` counts from zero).
pub fn deltas(before: &[(String, u64)], now: &[(String, u64)]) -> Vec<(String, u64)> {
    now.iter()
        .map(|(k, v)| {
            let old = before.iter().find(|(n, _)| n == k).map_or(0, |(_, o)| *o);
            (k.clone(), v.saturating_sub(old))
        })
        .collect()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod trace_tests;
