//! Whole connections over an in-memory stream: persistence, pipelining, bodies, limits,
//! files and the built-in pages.

use std::net::SocketAddr;
use std::sync::Arc;

use super::{split_responses, MemStream, Resp, TempDir};
use crate::http::date;
use crate::http::{Config, ConnRow, Server, StackInfo};
use crate::watch::trace::TraceLine;

struct FakeStack;

/// A connection as the stack reports it: established, one retransmission, no loss yet
/// (ssthresh unset).
fn sample_info() -> tunstack::tcp::ConnInfo {
    use tunstack::tcp::{ConnInfo, ConnStats, State};
    use tunstack::time::Duration;
    ConnInfo {
        id: 7,
        local: "10.0.0.2:80".parse().unwrap(),
        remote: "10.0.0.1:40000".parse().unwrap(),
        state: State::Established,
        cwnd: 14_480,
        ssthresh: usize::MAX,
        srtt: Some(Duration::from_micros(1500)),
        rttvar: Duration::from_micros(750),
        rto: Duration::from_millis(201),
        bytes_in_flight: 2896,
        mss: 1448,
        pmtu: 1500,
        snd_wnd: 65_535,
        rcv_wnd: 65_535,
        stats: ConnStats {
            retransmits: 2,
            ..ConnStats::default()
        },
        congestion: "reno",
        pacing_rate: None,
        delivery_rate: None,
        bbr: None,
    }
}

impl StackInfo for FakeStack {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("TcpActiveOpens", 3), ("TcpRetransSegs", 7)]
    }
    fn connections(&self) -> Vec<ConnRow> {
        vec![ConnRow::from(&sample_info())]
    }
    fn trace(&self, id: u64) -> Option<Vec<TraceLine>> {
        (id == 7).then(|| {
            vec![
                TraceLine::Conn {
                    id: 7,
                    local: "10.0.0.2:80".parse().unwrap(),
                    remote: "10.0.0.1:40000".parse().unwrap(),
                    mss: 1448,
                    congestion: "reno".into(),
                },
                TraceLine::Send {
                    t_us: 5,
                    seq: 1,
                    len: 1448,
                    syn: false,
                    fin: false,
                    retransmit: None,
                },
                TraceLine::Cwnd {
                    t_us: 9,
                    cwnd: 14_480,
                    ssthresh: None,
                    in_flight: 1448,
                    phase: "slow_start".into(),
                },
            ]
        })
    }
}

fn run(server: &Server, input: &str, head_only: &[bool]) -> Vec<Resp> {
    let s = MemStream::new(input.as_bytes());
    let out = Arc::clone(&s.output);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(server.serve_connection(s, SocketAddr::from(([192, 0, 2, 1], 1))));
    let bytes = out.lock().unwrap().clone();
    split_responses(&bytes, head_only)
}

fn plain() -> Server {
    Server::new(Config::default())
        .unwrap()
        .with_stack_info(Arc::new(FakeStack))
}

fn www() -> (TempDir, Server) {
    let t = TempDir::new("conn");
    std::fs::create_dir_all(t.0.join("dir")).unwrap();
    std::fs::write(t.0.join("hello.txt"), "hello, world\n").unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(t.0.join("data.bin"), &data).unwrap();
    std::fs::write(t.0.join("dir/a.html"), "<p>a</p>").unwrap();
    let cfg = Config {
        root: Some(t.0.clone()),
        ..Config::default()
    };
    (t, Server::new(cfg).unwrap())
}

const GET: &str = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

/// Without a web root: the index page, linking to the stack pages.
#[test]
fn index_page() {
    let r = run(&plain(), GET, &[]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 200);
    assert_eq!(
        r[0].header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(r[0]
        .header("date")
        .is_some_and(|d| date::parse(d).is_some()));
    let body = String::from_utf8(r[0].body.clone()).unwrap();
    assert!(body.contains("tunstack"));
    assert!(body.contains("href=\"/_stack/stats\""));
    assert!(body.contains("href=\"/_stack/connections\""));
    let r = run(&plain(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", &[]);
    assert_eq!(r[0].status, 404);
}

#[test]
fn stack_pages() {
    let r = run(
        &plain(),
        "GET /_stack/stats HTTP/1.1\r\nHost: x\r\n\r\n",
        &[],
    );
    assert_eq!(r[0].status, 200);
    assert_eq!(r[0].header("content-type"), Some("application/json"));
    // The counters in the stack's order, as a JSON object.
    let stats: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&r[0].body).unwrap();
    let got: Vec<(&str, u64)> = stats
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(got, [("TcpActiveOpens", 3), ("TcpRetransSegs", 7)]);

    let r = run(
        &plain(),
        "GET /_stack/connections HTTP/1.1\r\nHost: x\r\n\r\n",
        &[],
    );
    assert_eq!(r[0].header("content-type"), Some("application/json"));
    let rows: Vec<ConnRow> = serde_json::from_slice(&r[0].body).unwrap();
    assert_eq!(rows, [ConnRow::from(&sample_info())]);
    let raw: serde_json::Value = serde_json::from_slice(&r[0].body).unwrap();
    let c = &raw[0];
    assert_eq!(c["id"], 7);
    assert_eq!(c["state"], "ESTAB");
    assert_eq!(c["remote"], "10.0.0.1:40000");
    assert_eq!(c["srtt_us"], 1500);
    assert_eq!(c["rttvar_us"], 750);
    assert_eq!(c["pmtu"], 1500);
    assert!(c["ssthresh"].is_null(), "unset ssthresh is null: {c}");

    let req = "GET /_stack/connections HTTP/1.1\r\nHost: x\r\nAccept: text/html,*/*\r\n\r\n";
    let r = run(&plain(), req, &[]);
    assert_eq!(
        r[0].header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&r[0].body).contains("<td>ESTAB</td>"));
}

/// RFC 9112 9.3.2: pipelined requests are answered in order on one connection.
#[test]
fn pipelined_requests_in_order() {
    let input = "GET /_stack/stats HTTP/1.1\r\nHost: x\r\n\r\n\
                 HEAD / HTTP/1.1\r\nHost: x\r\n\r\n\
                 GET /missing HTTP/1.1\r\nHost: x\r\n\r\n\
                 GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let r = run(&plain(), input, &[false, true, false, false]);
    let statuses: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 404, 200]);
    assert!(r[0].body.starts_with(b"{"));
    // HEAD: the Content-Length GET would send, and no body (RFC 9110 9.3.2).
    assert_eq!(r[1].header("content-length"), r[3].header("content-length"));
    assert!(r[1].body.is_empty());
    assert!(r.iter().all(|r| r.header("connection").is_none()));
}

/// RFC 9110 15.5.6: other methods get 405 with Allow; the body they carry is read and
/// discarded, so the next request on the connection is still understood.
#[test]
fn other_methods_405_and_bodies_discarded() {
    let input = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello=world\
                 PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n\
                 DELETE / HTTP/1.1\r\nHost: x\r\n\r\n\
                 GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let r = run(&plain(), input, &[]);
    let statuses: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [405, 405, 405, 200]);
    assert_eq!(r[0].header("allow"), Some("GET, HEAD"));
}

/// A GET with a body: the body is skipped, the request served.
#[test]
fn get_with_body() {
    let input = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd\
                 GET /_stack/stats HTTP/1.1\r\nHost: x\r\n\r\n";
    let r = run(&plain(), input, &[]);
    assert_eq!(r.len(), 2);
    assert!(r[1].body.starts_with(b"{"));
}

/// RFC 9110 15.5.14: a body over the limit gets 413 and the connection closes.
#[test]
fn large_bodies_413() {
    let input = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{GET}",
        10 << 20
    );
    let r = run(&plain(), &input, &[]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 413);
    assert_eq!(r[0].header("connection"), Some("close"));

    let cfg = Config {
        max_body: 10,
        ..Config::default()
    };
    let s = Server::new(cfg).unwrap();
    let input = format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n{GET}");
    let r = run(&s, &input, &[]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 413);
    let input =
        format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{GET}");
    assert_eq!(run(&s, &input, &[])[0].status, 400);
}

/// Limits on the head give 414 and 431, then the connection closes.
#[test]
fn head_limits() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n{GET}", "a".repeat(9000));
    let r = run(&plain(), &long, &[]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, 414);
    assert_eq!(r[0].header("connection"), Some("close"));
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n{GET}",
        "v".repeat(40_000)
    );
    let r = run(&plain(), &big, &[]);
    assert_eq!((r.len(), r[0].status), (1, 431));
    let r = run(&plain(), "GET / HTTP/1.1\r\n\r\n", &[]);
    assert_eq!(r[0].status, 400);
    let r = run(&plain(), "GET / HTTP/3.0\r\nHost: x\r\n\r\n", &[]);
    assert_eq!(r[0].status, 505);
    // A head cut off by the client closing: 400.
    let r = run(&plain(), "GET / HTTP/1.1\r\nHo", &[]);
    assert_eq!(r[0].status, 400);
}

/// RFC 9112 9.3 / 9.6: Connection: close and HTTP/1.0 end the connection after one
/// response; HTTP/1.0 with keep-alive persists and says so.
#[test]
fn persistence() {
    let r = run(
        &plain(),
        &format!("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n{GET}"),
        &[],
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].header("connection"), Some("close"));
    let r = run(&plain(), &format!("GET / HTTP/1.0\r\n\r\n{GET}"), &[]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].header("connection"), Some("close"));
    let r = run(
        &plain(),
        &format!("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n{GET}"),
        &[],
    );
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].header("connection"), Some("keep-alive"));
}

/// RFC 9110 10.1.1: a body behind `Expect: 100-continue` is not read; the final answer
/// goes out and the connection closes. Unknown expectations get 417.
#[test]
fn expectations() {
    let r = run(
        &plain(),
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n{GET}"
        ),
        &[],
    );
    assert_eq!((r.len(), r[0].status), (1, 405));
    let r = run(
        &plain(),
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: tea\r\n\r\nhello",
        &[],
    );
    assert_eq!(r[0].status, 417);
}

#[test]
fn files() {
    let (_t, s) = www();
    let r = run(&s, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", &[]);
    assert_eq!(r[0].status, 200);
    assert_eq!(r[0].body, b"hello, world\n");
    assert_eq!(
        r[0].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(r[0].header("accept-ranges"), Some("bytes"));
    let lm = r[0].header("last-modified").unwrap().to_string();
    assert!(date::parse(&lm).is_some());

    // A file larger than one write chunk arrives whole.
    let r = run(&s, "GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n", &[]);
    let want: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(r[0].body, want);
    assert_eq!(
        r[0].header("content-type"),
        Some("application/octet-stream")
    );

    // RFC 9110 13.1.3: If-Modified-Since equal to Last-Modified gives 304, no body.
    let q = format!("GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {lm}\r\n\r\n{GET}");
    let r = run(&s, &q, &[]);
    assert_eq!(r[0].status, 304);
    assert!(r[0].header("content-length").is_none());
    assert_eq!(r[0].header("last-modified"), Some(lm.as_str()));
    assert_eq!(r[1].status, 200, "the connection goes on after a 304");
    let q = "GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n";
    assert_eq!(run(&s, q, &[])[0].status, 200);

    // RFC 9110 14: ranges.
    let range = |h: &str| {
        run(
            &s,
            &format!("GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: {h}\r\n\r\n"),
            &[],
        )
        .remove(0)
    };
    let r = range("bytes=100-199");
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 100-199/200000"));
    assert_eq!(r.body, &want[100..200]);
    let r = range("bytes=-10");
    assert_eq!(
        r.header("content-range"),
        Some("bytes 199990-199999/200000")
    );
    assert_eq!(r.body, &want[199_990..]);
    let r = range("bytes=150000-");
    assert_eq!(r.body, &want[150_000..]);
    let r = range("bytes=200000-");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */200000"));
    assert_eq!(range("bytes=5-1").status, 200);
    // RFC 9110 14.2: Range is ignored for HEAD.
    let r = run(
        &s,
        "HEAD /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n",
        &[true],
    );
    assert_eq!(
        (r[0].status, r[0].header("content-length")),
        (200, Some("200000"))
    );
    // RFC 9110 13.1.5: If-Range with the current date honours the range; stale, not.
    let q =
        format!("GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nIf-Range: {lm}\r\n\r\n");
    assert_eq!(run(&s, &q, &[])[0].status, 206);
    let q = "GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nIf-Range: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n";
    assert_eq!(run(&s, q, &[])[0].status, 200);
}

#[test]
fn directories_and_traversal() {
    let (_t, s) = www();
    let r = run(&s, "GET /dir HTTP/1.1\r\nHost: x\r\n\r\n", &[]);
    assert_eq!(r[0].status, 301);
    assert_eq!(r[0].header("location"), Some("/dir/"));
    let r = run(&s, "GET /dir/ HTTP/1.1\r\nHost: x\r\n\r\n", &[]);
    assert_eq!(r[0].status, 200);
    assert!(String::from_utf8_lossy(&r[0].body).contains("href=\"a.html\""));
    for t in [
        "/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc/passwd",
    ] {
        let r = run(&s, &format!("GET {t} HTTP/1.1\r\nHost: x\r\n\r\n"), &[]);
        assert!(matches!(r[0].status, 400 | 404), "{t}: {}", r[0].status);
        assert!(!String::from_utf8_lossy(&r[0].body).contains("root:"));
    }
}

/// The stack's own connection snapshot maps onto a row: microseconds, the `ss` state
/// name, an unset ssthresh as `None`.
#[test]
fn conn_info_to_row() {
    let row = ConnRow::from(&sample_info());
    assert_eq!((row.id, row.state.as_str()), (7, "ESTAB"));
    assert_eq!(
        (row.srtt_us, row.rttvar_us, row.rto_us, row.retransmits),
        (1500, 750, 201_000, 2)
    );
    assert_eq!((row.cwnd, row.ssthresh), (14_480, None));
    assert_eq!(row.congestion, "reno");
    assert_eq!((row.pacing_rate_bps, row.bbr.as_ref()), (None, None));
}

/// A BBR connection's row carries its pacing rate and model in bits per second and
/// microseconds, and the JSON `/_stack/connections` serves round-trips them.
#[test]
fn bbr_conn_info_to_row() {
    let mut info = sample_info();
    info.congestion = "bbr";
    info.pacing_rate = Some(1_250_000);
    info.delivery_rate = Some(1_000_000);
    info.bbr = Some(tunstack::tcp::congestion::bbr::BbrInfo {
        state: "probe_bw_up",
        bw: 1_200_000,
        min_rtt: Some(tunstack::time::Duration::from_micros(20_500)),
        pacing_gain_pct: 125,
        cwnd_gain_pct: 225,
        inflight_longterm: None,
        bw_shortterm: None,
    });
    let row = ConnRow::from(&info);
    assert_eq!(row.pacing_rate_bps, Some(10_000_000));
    assert_eq!(row.delivery_rate_bps, Some(8_000_000));
    let bbr = row.bbr.clone().unwrap();
    assert_eq!(
        (
            bbr.state.as_str(),
            bbr.bw_bps,
            bbr.min_rtt_us,
            bbr.pacing_gain_pct
        ),
        ("probe_bw_up", 9_600_000, Some(20_500), 125)
    );
    let json = serde_json::to_string(&row).unwrap();
    assert!(
        json.contains("\"bbr\":{\"state\":\"probe_bw_up\""),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<ConnRow>(&json).unwrap(), row);
    assert!(
        !json.contains("inflight_longterm"),
        "bbr sets no bounds: {json}"
    );
    // bbr-draft's bounds, once set, ride along (bytes; bits per second).
    info.congestion = "bbr-draft";
    if let Some(b) = info.bbr.as_mut() {
        b.inflight_longterm = Some(180_000);
        b.bw_shortterm = Some(1_000_000);
    }
    let row = ConnRow::from(&info);
    let bbr = row.bbr.clone().unwrap();
    assert_eq!(
        (bbr.inflight_longterm, bbr.bw_shortterm_bps),
        (Some(180_000), Some(8_000_000))
    );
    let json = serde_json::to_string(&row).unwrap();
    assert_eq!(serde_json::from_str::<ConnRow>(&json).unwrap(), row);
}

/// The live page, a connection's trace and its plots; 404 for a connection without one.
#[test]
fn live_page_trace_and_plots() {
    let get = |path: &str| {
        let r = run(
            &plain(),
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"),
            &[],
        );
        r.into_iter().next().unwrap()
    };
    let page = get("/_stack/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains("/_stack/connections?format=json"),
        "it polls the stack"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "nothing is fetched from elsewhere"
    );
    let t = get("/_stack/connections/7/trace");
    assert_eq!(t.header("content-type"), Some("application/json"));
    let lines: Vec<TraceLine> = serde_json::from_slice(&t.body).unwrap();
    assert_eq!(lines.len(), 3);
    for name in ["seq.svg", "cwnd.svg", "rtt.svg"] {
        let r = get(&format!("/_stack/connections/7/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.header("content-type"), Some("image/svg+xml"), "{name}");
        let svg = String::from_utf8(r.body).unwrap();
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(get("/_stack/connections/8/seq.svg").status, 404);
    assert_eq!(get("/_stack/connections/7/other.svg").status, 404);
    assert_eq!(get("/_stack/connections/x/trace").status, 404);
    let idx = String::from_utf8(get("/").body).unwrap();
    assert!(
        idx.contains("href=\"/_stack/\""),
        "the index links the live page"
    );
}
