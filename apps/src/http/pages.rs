//! The built-in pages: the index shown without a web root, and the stack's own pages
//! `/_stack/stats` and `/_stack/connections`, rendered from data the caller supplies.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// One TCP connection as `/_stack/connections` shows it (what `ss -ti` shows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnRow {
    /// The state as `ss` names it, e.g. `ESTAB`, `TIME-WAIT`.
    pub state: String,
    /// Local address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// Congestion window, bytes.
    pub cwnd: u64,
    /// Slow-start threshold, bytes; `u64::MAX` before the first loss (shown as `null`).
    pub ssthresh: u64,
    /// Smoothed round-trip time, microseconds (0 before the first sample).
    pub srtt_us: u64,
    /// Retransmission timeout, microseconds.
    pub rto_us: u64,
    /// Bytes sent and not yet acknowledged.
    pub bytes_in_flight: u64,
    /// Segments retransmitted on this connection.
    pub retransmits: u64,
}

impl From<&tunstack::tcp::ConnInfo> for ConnRow {
    fn from(c: &tunstack::tcp::ConnInfo) -> Self {
        let wide = |n: usize| if n == usize::MAX { u64::MAX } else { n as u64 };
        ConnRow {
            state: c.state.name().to_string(),
            local: c.local.into(),
            remote: c.remote.into(),
            cwnd: wide(c.cwnd),
            ssthresh: wide(c.ssthresh),
            srtt_us: c.srtt.map_or(0, |d| d.total_micros()),
            rto_us: c.rto.total_micros(),
            bytes_in_flight: wide(c.bytes_in_flight),
            retransmits: c.stats.retransmits,
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

/// A JSON string literal (RFC 8259 7).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The index page served at `/` without a web root.
pub fn index_html(stack_pages: bool) -> String {
    let links = if stack_pages {
        "<p>The stack's own pages:</p>\n<ul>\n\
         <li><a href=\"/_stack/stats\">/_stack/stats</a> &mdash; every counter, as JSON, \
         with Linux <code>nstat</code> names (TcpInSegs, TcpRetransSegs, ...)</li>\n\
         <li><a href=\"/_stack/connections\">/_stack/connections</a> &mdash; every TCP \
         connection with its state, addresses, cwnd, ssthresh, srtt, rto, bytes in flight \
         and retransmissions (what <code>ss -ti</code> shows)</li>\n</ul>\n"
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

/// `/_stack/stats`: `{"TcpInSegs": 12, ...}` in the order given.
pub fn stats_json(info: &dyn StackInfo) -> String {
    let mut out = String::from("{");
    for (i, (name, v)) in info.counters().iter().enumerate() {
        let sep = if i == 0 { "\n  " } else { ",\n  " };
        let _ = write!(out, "{sep}{}: {v}", json_string(name));
    }
    out.push_str("\n}\n");
    out
}

/// A slow-start threshold for display: `null` while unset.
fn ssthresh(v: u64) -> String {
    if v == u64::MAX {
        "null".into()
    } else {
        v.to_string()
    }
}

/// `/_stack/connections` as a JSON array of objects.
pub fn connections_json(info: &dyn StackInfo) -> String {
    let mut out = String::from("[");
    for (i, c) in info.connections().iter().enumerate() {
        let sep = if i == 0 { "\n  " } else { ",\n  " };
        let _ = write!(
            out,
            "{sep}{{\"state\": {}, \"local\": {}, \"remote\": {}, \"cwnd\": {}, \
             \"ssthresh\": {}, \"srtt_us\": {}, \"rto_us\": {}, \"bytes_in_flight\": {}, \
             \"retransmits\": {}}}",
            json_string(&c.state),
            json_string(&c.local.to_string()),
            json_string(&c.remote.to_string()),
            c.cwnd,
            ssthresh(c.ssthresh),
            c.srtt_us,
            c.rto_us,
            c.bytes_in_flight,
            c.retransmits
        );
    }
    out.push_str("\n]\n");
    out
}

/// `/_stack/connections` as an HTML table, for browsers.
pub fn connections_html(info: &dyn StackInfo) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <title>tunstack connections</title></head>\n<body>\n<h1>TCP connections</h1>\n\
         <table border=\"1\">\n<tr><th>state</th><th>local</th><th>remote</th>\
         <th>cwnd</th><th>ssthresh</th><th>srtt (us)</th><th>rto (us)</th>\
         <th>in flight</th><th>retransmits</th></tr>\n",
    );
    for c in info.connections() {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&c.state),
            c.local,
            c.remote,
            c.cwnd,
            ssthresh(c.ssthresh).replace("null", "-"),
            c.srtt_us,
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
