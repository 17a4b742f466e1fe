//! The built-in pages: the index shown without a web root, and the stack's own pages
//! under `/_stack/` (`stats`, `connections`), rendered from data the caller supplies.
//! JSON is written and read with `serde`; [`ConnRow`] is both what the server sends and
//! what `tunstack ss` reads back.

use std::fmt::Write as _;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::request::Request;
use super::response::Response;

/// One TCP connection as `/_stack/connections` shows it (what `ss -ti` shows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnRow {
    /// The stack's number for the connection, stable for its lifetime and never reused
    /// while the stack runs (`/_stack/connections/ID/...`).
    pub id: u64,
    /// The state as `ss` names it, e.g. `ESTAB`, `TIME-WAIT`.
    pub state: String,
    /// Local address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// The congestion control algorithm.
    pub congestion: String,
    /// The send MSS, bytes.
    pub mss: u64,
    /// The path MTU estimate, bytes (RFC 1191; 0 from a stack that does not say).
    #[serde(default)]
    pub pmtu: u64,
    /// Congestion window, bytes.
    pub cwnd: u64,
    /// Slow-start threshold, bytes; `None` (JSON `null`) before the first loss.
    pub ssthresh: Option<u64>,
    /// Smoothed round-trip time, microseconds (0 before the first sample).
    pub srtt_us: u64,
    /// Round-trip time variation, microseconds (0 before the first sample).
    pub rttvar_us: u64,
    /// Retransmission timeout, microseconds.
    pub rto_us: u64,
    /// Bytes sent and not yet acknowledged.
    pub bytes_in_flight: u64,
    /// The peer's receive window, bytes.
    pub snd_wnd: u64,
    /// Our receive window, bytes.
    pub rcv_wnd: u64,
    /// Segments retransmitted on this connection (all causes).
    pub retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Fast retransmits.
    pub fast_retransmits: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments received.
    pub segs_in: u64,
    /// Bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Bytes received in order.
    pub bytes_received: u64,
    /// Pacing rate, bits per second, when the algorithm paces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing_rate_bps: Option<u64>,
    /// Delivery rate, bits per second, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_rate_bps: Option<u64>,
    /// BBR's state and estimates, when the algorithm is BBR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbr: Option<BbrRow>,
}

/// BBR's state and model (draft-ietf-ccwg-bbr-06), as `ss -ti` shows `bbr:(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BbrRow {
    /// The state: `startup`, `drain`, `probe_bw_down`, `probe_bw_cruise`,
    /// `probe_bw_refill`, `probe_bw_up` or `probe_rtt`.
    pub state: String,
    /// The bottleneck bandwidth estimate (BBR.max_bw), bits per second.
    pub bw_bps: u64,
    /// The minimum RTT estimate (BBR.min_rtt), microseconds, once measured.
    pub min_rtt_us: Option<u64>,
    /// The pacing and cwnd gains, in hundredths.
    pub pacing_gain_pct: u32,
    pub cwnd_gain_pct: u32,
    /// `bbr-draft`'s loss bounds once set: BBR.inflight_longterm, bytes, and
    /// BBR.bw_shortterm, bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inflight_longterm: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bw_shortterm_bps: Option<u64>,
}

impl From<&tunstack::tcp::ConnInfo> for ConnRow {
    fn from(c: &tunstack::tcp::ConnInfo) -> Self {
        let s = &c.stats;
        ConnRow {
            id: c.id,
            state: c.state.name().to_string(),
            local: c.local,
            remote: c.remote,
            congestion: c.congestion.to_string(),
            mss: c.mss as u64,
            pmtu: c.pmtu as u64,
            cwnd: c.cwnd as u64,
            ssthresh: (c.ssthresh != usize::MAX).then_some(c.ssthresh as u64),
            srtt_us: c.srtt.map_or(0, |d| d.total_micros()),
            rttvar_us: c.rttvar.total_micros(),
            rto_us: c.rto.total_micros(),
            bytes_in_flight: c.bytes_in_flight as u64,
            snd_wnd: c.snd_wnd as u64,
            rcv_wnd: c.rcv_wnd as u64,
            retransmits: s.retransmits,
            timeouts: s.timeouts,
            fast_retransmits: s.fast_retransmits,
            segs_out: s.segs_out,
            segs_in: s.segs_in,
            bytes_acked: s.bytes_acked,
            bytes_received: s.bytes_received,
            pacing_rate_bps: c.pacing_rate.map(|r| r.saturating_mul(8)),
            delivery_rate_bps: c.delivery_rate.map(|r| r.saturating_mul(8)),
            bbr: c.bbr.map(|b| BbrRow {
                state: b.state.to_string(),
                bw_bps: b.bw.saturating_mul(8),
                min_rtt_us: b.min_rtt.map(|d| d.total_micros()),
                pacing_gain_pct: b.pacing_gain_pct,
                cwnd_gain_pct: b.cwnd_gain_pct,
                inflight_longterm: b.inflight_longterm,
                bw_shortterm_bps: b.bw_shortterm.map(|r| r.saturating_mul(8)),
            }),
        }
    }
}

/// What the server can show about the stack it runs on. The `tunstack` command implements
/// it over the running stack; tests use a fake.
pub trait StackInfo: Send + Sync {
    /// Every counter, named as Linux `nstat` names them (`TcpRetransSegs`, `TcpInSegs`, ...).
    fn counters(&self) -> Vec<(&'static str, u64)>;
    /// Every TCP connection.
    fn connections(&self) -> Vec<ConnRow>;
    /// The live trace of connection `id` (header line first), if it exists and the
    /// stack traces connections.
    fn trace(&self, _id: u64) -> Option<Vec<crate::watch::trace::TraceLine>> {
        None
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The index page served at `/` without a web root.
pub fn index_html(stack_pages: bool) -> String {
    let links = if stack_pages {
        "<p>The stack's own pages:</p>\n<ul>\n\
         <li><a href=\"/_stack/\">/_stack/</a> &mdash; the live page: counters and \
         connections with their charts, updated every second</li>\n\
         <li><a href=\"/_stack/stats\">/_stack/stats</a> &mdash; every counter, as JSON, \
         with Linux <code>nstat</code> names (TcpInSegs, TcpRetransSegs, ...)</li>\n\
         <li><a href=\"/_stack/connections\">/_stack/connections</a> &mdash; every TCP \
         connection with its id, state, addresses, cwnd, ssthresh, srtt, rttvar, rto, bytes \
         in flight and retransmissions (what <code>ss -ti</code> shows)</li>\n</ul>\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tunstack</title></head>\n\
         <body>\n<h1>tunstack</h1>\n\
         <p>This page was served by <strong>tunstack</strong>, a TCP/IP stack written from \
         scratch in Rust that runs in user space over a Linux TUN/TAP device: its own \
         Ethernet/ARP, IPv4, ICMP, UDP and TCP (RFC 9293), and this HTTP/1.1 server on top \
         of its sockets.</p>\n\
         {links}</body></html>\n"
    )
}

/// Pretty JSON with a final newline.
fn pretty<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("plain data serializes");
    s.push('\n');
    s
}

/// `/_stack/stats`: `{"TcpInSegs": 12, ...}` in the order given.
pub fn stats_json(info: &dyn StackInfo) -> String {
    let map: serde_json::Map<String, serde_json::Value> = info
        .counters()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    pretty(&map)
}

/// `/_stack/connections` as a JSON array of [`ConnRow`] objects.
pub fn connections_json(info: &dyn StackInfo) -> String {
    pretty(&info.connections())
}

/// `/_stack/connections` as an HTML table, for browsers.
pub fn connections_html(info: &dyn StackInfo) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <title>tunstack connections</title></head>\n<body>\n<h1>TCP connections</h1>\n\
         <table border=\"1\">\n<tr><th>id</th><th>state</th><th>local</th><th>remote</th>\
         <th>cwnd</th><th>ssthresh</th><th>srtt (us)</th><th>rttvar (us)</th>\
         <th>rto (us)</th><th>in flight</th><th>retransmits</th></tr>\n",
    );
    for c in info.connections() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.id,
            html_escape(&c.state),
            c.local,
            c.remote,
            c.cwnd,
            c.ssthresh.map_or("-".to_string(), |v| v.to_string()),
            c.srtt_us,
            c.rttvar_us,
            c.rto_us,
            c.bytes_in_flight,
            c.retransmits
        );
    }
    out.push_str(
        "</table>\n<p><a href=\"/_stack/connections?format=json\">JSON</a></p>\n</body></html>\n",
    );
    out
}

/// The response for a `/_stack/...` path, or `None` when `path` is not one of the stack's
/// pages (the server then goes on to its files).
pub fn stack_page(info: &dyn StackInfo, req: &Request, path: &str) -> Option<Response> {
    let json = |body: String| {
        Response::bytes(200, "application/json", body.into_bytes())
            .with("Cache-Control", "no-store")
    };
    match path {
        "/_stack" | "/_stack/" => Some(
            Response::bytes(
                200,
                "text/html; charset=utf-8",
                crate::watch::live::PAGE.as_bytes().to_vec(),
            )
            .with("Cache-Control", "no-store"),
        ),
        "/_stack/stats" => Some(json(stats_json(info))),
        "/_stack/connections" => {
            let html = !req.target.contains("format=json")
                && req.all("accept").any(|a| a.contains("text/html"));
            let r = if html {
                Response::bytes(
                    200,
                    "text/html; charset=utf-8",
                    connections_html(info).into_bytes(),
                )
                .with("Cache-Control", "no-store")
            } else {
                json(connections_json(info))
            };
            Some(r.with("Vary", "Accept"))
        }
        _ => connection_page(info, path),
    }
}

/// `/_stack/connections/ID/trace` (the trace as a JSON array of lines, `docs/TRACE.md`)
/// and `.../seq.svg`, `cwnd.svg`, `rtt.svg`. 404 for a connection that is gone or not
/// traced.
fn connection_page(info: &dyn StackInfo, path: &str) -> Option<Response> {
    let rest = path.strip_prefix("/_stack/connections/")?;
    let (id, what) = rest.split_once('/')?;
    let id: u64 = id.parse().ok()?;
    if !matches!(what, "trace" | "seq.svg" | "cwnd.svg" | "rtt.svg") {
        return None;
    }
    let Some(lines) = info.trace(id) else {
        return Some(Response::text(
            404,
            "no trace for that connection (gone, or tracing is off: tunstack up --trace DIR \
             or --trace-events N)",
        ));
    };
    let (ct, body) = match what {
        "trace" => ("application/json", pretty(&lines)),
        "seq.svg" => ("image/svg+xml", crate::watch::plot::seq_svg(&lines)),
        "cwnd.svg" => ("image/svg+xml", crate::watch::plot::cwnd_svg(&lines)),
        _ => ("image/svg+xml", crate::watch::plot::rtt_svg(&lines)),
    };
    Some(Response::bytes(200, ct, body.into_bytes()).with("Cache-Control", "no-store"))
}
