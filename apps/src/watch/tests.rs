use std::sync::Arc;

use super::*;
use crate::http::{Config, Server, StackInfo};

fn row() -> ConnRow {
    ConnRow {
        id: 3,
        state: "ESTAB".into(),
        local: "10.77.0.2:80".parse().unwrap(),
        remote: "10.77.0.1:45678".parse().unwrap(),
        congestion: "reno".into(),
        mss: 1448,
        pmtu: 1500,
        cwnd: 14_480,
        ssthresh: Some(10_136),
        srtt_us: 1500,
        rttvar_us: 750,
        rto_us: 201_000,
        bytes_in_flight: 2896,
        snd_wnd: 65_535,
        rcv_wnd: 262_144,
        retransmits: 4,
        timeouts: 1,
        fast_retransmits: 3,
        segs_out: 100,
        segs_in: 60,
        bytes_acked: 140_000,
        bytes_received: 120,
        pacing_rate_bps: None,
        delivery_rate_bps: Some(12_500_000),
        bbr: None,
    }
}

/// A BBR connection's line ends with its model, as Linux's `ss -ti` prints
/// `bbr:(bw:..,mrtt:..,pacing_gain:..,cwnd_gain:..)`, the state first.
#[test]
fn ss_line_shows_bbr() {
    let mut r = row();
    r.congestion = "bbr".into();
    r.pacing_rate_bps = Some(25_000_000);
    r.bbr = Some(crate::http::BbrRow {
        state: "probe_bw_cruise".into(),
        bw_bps: 20_000_000,
        min_rtt_us: Some(20_250),
        pacing_gain_pct: 100,
        cwnd_gain_pct: 200,
        inflight_longterm: None,
        bw_shortterm_bps: None,
    });
    let mut out = Vec::new();
    print_ss(std::slice::from_ref(&r), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("pacing_rate 25Mbps"), "{text}");
    assert!(
        text.contains("bbr:(state:probe_bw_cruise,bw:20Mbps,mrtt:20.25,pacing_gain:1,cwnd_gain:2)"),
        "{text}"
    );
    // bbr-draft's loss bounds, once set, close the list.
    if let Some(b) = r.bbr.as_mut() {
        b.inflight_longterm = Some(180_000);
        b.bw_shortterm_bps = Some(16_000_000);
    }
    let mut out = Vec::new();
    print_ss(&[r], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("cwnd_gain:2,inflight_hi:180000,bw_lo:16Mbps)"),
        "{text}"
    );
}

#[test]
fn ss_lines_like_ss_ti() {
    let mut out = Vec::new();
    print_ss(&[row()], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("State") && lines[0].contains("Peer Address:Port"));
    let w: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(w, ["ESTAB", "3", "10.77.0.2:80", "10.77.0.1:45678"]);
    let info = lines[2];
    assert!(info.starts_with('\t'), "{info:?}");
    for part in [
        "reno",
        "mss:1448",
        "cwnd:10",
        "ssthresh:7",
        "pmtu:1500",
        "rtt:1.5/0.75",
        "rto:201",
        "bytes_in_flight:2896",
        "retrans:4",
        "delivery_rate 12.5Mbps",
    ] {
        assert!(
            info.split_whitespace().any(|w| w == part) || info.contains(part),
            "{part} in {info}"
        );
    }
    assert!(
        !info.contains("pacing_rate"),
        "absent rates are left out: {info}"
    );
    // Before the first loss there is no ssthresh to show.
    let mut fresh = row();
    fresh.ssthresh = None;
    let mut out = Vec::new();
    print_ss(&[fresh], &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("ssthresh"), "{text}");
}

/// IPv6 connections come through the JSON of `/_stack/connections` and show as `ss`
/// shows them, with the address in brackets (RFC 5952 section 6).
#[test]
fn ss_shows_ipv6_endpoints() {
    let mut r = row();
    r.local = "[fd00:77::2]:80".parse().unwrap();
    r.remote = "[fd00:77::1]:45678".parse().unwrap();
    let json = serde_json::to_string(&[r.clone()]).unwrap();
    let back: Vec<ConnRow> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, [r]);
    let mut out = Vec::new();
    print_ss(&back, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let w: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(w, ["ESTAB", "3", "[fd00:77::2]:80", "[fd00:77::1]:45678"]);
}

#[test]
fn counters_and_deltas_like_nstat() {
    let before = vec![
        ("TcpInSegs".to_string(), 10),
        ("TcpRetransSegs".to_string(), 2),
    ];
    let now = vec![
        ("TcpInSegs".to_string(), 30),
        ("TcpRetransSegs".to_string(), 2),
        ("UdpInDatagrams".to_string(), 5),
    ];
    let d = deltas(&before, &now);
    assert_eq!(
        d,
        [
            ("TcpInSegs".to_string(), 20),
            ("TcpRetransSegs".to_string(), 0),
            ("UdpInDatagrams".to_string(), 5)
        ]
    );
    let mut out = Vec::new();
    print_counters(&d, Some(2.0), false, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["TcpInSegs", "20", "10.0"],
            vec!["UdpInDatagrams", "5", "2.5"]
        ]
    );
    let mut out = Vec::new();
    print_counters(&now, None, true, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
}

#[test]
fn addresses() {
    assert_eq!(
        parse_addr("10.77.0.2").unwrap(),
        "10.77.0.2:80".parse().unwrap()
    );
    assert_eq!(
        parse_addr("10.9.0.2:8080").unwrap(),
        "10.9.0.2:8080".parse().unwrap()
    );
    assert!(parse_addr("stack").unwrap_err().contains("10.77.0.2"));
    assert_eq!(Target::default().addr, "10.77.0.2:80".parse().unwrap());
}

struct Fake;
impl StackInfo for Fake {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("TcpActiveOpens", 1), ("TcpInSegs", 42)]
    }
    fn connections(&self) -> Vec<ConnRow> {
        vec![row()]
    }
}

/// The pages a stack serves, read back through the HTTP client: what the server wrote
/// is what `ss` and `stats` get.
#[test]
fn reads_the_pages_over_http() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let s = Server::new(Config::default())
        .unwrap()
        .with_stack_info(Arc::new(Fake));
    Arc::new(s).spawn(l).unwrap();
    let t = Target { addr, netns: None };
    assert_eq!(connections(&t).unwrap(), [row()]);
    assert_eq!(
        counters(&t).unwrap(),
        [
            ("TcpActiveOpens".to_string(), 1),
            ("TcpInSegs".to_string(), 42)
        ]
    );
    let e = fetch(&t, "/nope").unwrap_err();
    assert!(e.contains("404"), "{e}");
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = counters(&Target {
        addr: gone,
        netns: None,
    })
    .unwrap_err();
    assert!(e.contains("is `tunstack up` running"), "{e}");
    let e = counters(&Target {
        addr,
        netns: Some("tunstack-no-such-ns".into()),
    })
    .unwrap_err();
    assert!(e.contains("no network namespace"), "{e}");
}
