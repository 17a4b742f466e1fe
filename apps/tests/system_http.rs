//! System tests of the HTTP server in the `tunstack` binary (`tunstack up --www DIR`),
//! driven by the real `curl` and `wrk` from the kernel side of a test-made namespace:
//! byte ranges (RFC 9110 14), conditional requests (RFC 9110 13), 200 parallel
//! downloads, `/_stack/connections` during a download, and `wrk` for 10 s.
//!
//! Each test makes its own namespace, web root and `tunstack up`, all removed when it
//! ends, also on failure. As a normal user (or without `curl`/`wrk`) the tests print
//! `skipped: ...` and pass.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::{sha256, text, Tunstack};

/// The stack's address, where `tunstack up` serves HTTP on port 80.
const STACK: &str = "10.77.0.2";

/// A web root in the temp directory, deleted (with its files) when dropped.
struct WebRoot(PathBuf);

impl WebRoot {
    fn new(tag: &str) -> WebRoot {
        let dir = std::env::temp_dir().join(format!("tunstack-{}-www-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the web root");
        WebRoot(dir)
    }

    /// Writes `len` pseudo-random bytes (from `seed`) to `name` and returns them.
    fn random_file(&self, name: &str, len: usize, seed: u64) -> Vec<u8> {
        let mut data = vec![0u8; len];
        tunstack::rand::Rng::new(seed).fill(&mut data);
        std::fs::write(self.0.join(name), &data).expect("write a web root file");
        data
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8")
    }
}

impl Drop for WebRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `tunstack up` in a fresh namespace, serving a web root. Fields drop in
/// order: the stack stops before its namespace and web root go.
struct Site {
    _stack: Tunstack,
    ns: common::NetNs,
    www: WebRoot,
}

impl Site {
    /// Starts `tunstack up --www` on TUN device `dev`, after `fill` has written the web
    /// root's files.
    fn up(dev: &str, fill: impl FnOnce(&WebRoot)) -> Site {
        let ns = common::NetNs::new();
        let www = WebRoot::new(dev);
        std::fs::write(www.0.join("index.html"), "<h1>hello from tunstack</h1>\n").unwrap();
        fill(&www);
        let stack = Tunstack::up(&[
            "up",
            "--netns",
            ns.name(),
            "--tun",
            dev,
            "--www",
            www.path(),
        ]);
        Site {
            _stack: stack,
            ns,
            www,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{STACK}{path}")
    }

    /// `curl -i` of `path` with extra arguments: the response's status, head and body.
    fn fetch(&self, path: &str, extra: &[&str]) -> Fetched {
        let url = self.url(path);
        let mut args = vec!["-sS", "-i", "-m", "20"];
        args.extend_from_slice(extra);
        args.push(&url);
        let out = self.ns.exec("curl", &args);
        assert!(out.status.success(), "curl {args:?} failed: {}", text(&out));
        Fetched::parse(&out.stdout)
    }
}

/// One response as `curl -i` printed it.
#[derive(Debug)]
struct Fetched {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Fetched {
    fn parse(raw: &[u8]) -> Fetched {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head}"));
        Fetched {
            status,
            head,
            body: raw[split + 4..].to_vec(),
        }
    }

    /// The value of header `name` (case-insensitive), if present.
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Byte ranges, RFC 9110 14.1.2 and 14.4 / 15.3.7: an explicit range, a suffix range, an
/// open range and one past the end give 206 with `Content-Range: bytes first-last/len`
/// and exactly those bytes; a range starting at or past the end gives 416 with
/// `Content-Range: bytes */len` (RFC 9110 15.5.17). If-Range (RFC 9110 13.1.5) with the
/// exact Last-Modified date keeps the range, with an older date gives the whole file.
#[test]
fn byte_ranges() {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    const LEN: usize = 100_000;
    let mut data = Vec::new();
    let site = Site::up("tsrange0", |w| data = w.random_file("range.bin", LEN, 11));

    let full = site.fetch("/range.bin", &[]);
    assert_eq!(full.status, 200, "{}", full.head);
    assert_eq!(full.header("Accept-Ranges"), Some("bytes"), "{}", full.head);
    assert!(full.body == data, "the whole file comes back intact");

    let cases: [(&str, usize, usize); 5] = [
        ("bytes=100-199", 100, 199),
        ("bytes=0-0", 0, 0),
        // A suffix range: the last 500 bytes (RFC 9110 14.1.2).
        ("bytes=-500", LEN - 500, LEN - 1),
        // An open range: from 99000 to the end.
        ("bytes=99000-", 99_000, LEN - 1),
        // A last position past the end means the end (RFC 9110 14.1.2).
        ("bytes=99990-200000", 99_990, LEN - 1),
    ];
    for (range, first, last) in cases {
        let r = site.fetch("/range.bin", &["-H", &format!("Range: {range}")]);
        assert_eq!(r.status, 206, "{range}: {}", r.head);
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes {first}-{last}/{LEN}").as_str()),
            "{range}: {}",
            r.head
        );
        let want = last - first + 1;
        assert_eq!(
            r.header("Content-Length"),
            Some(want.to_string().as_str()),
            "{range}"
        );
        assert!(
            r.body == data[first..=last],
            "{range}: the body is bytes {first}..={last} ({} bytes came)",
            r.body.len()
        );
    }
    // curl's own -r flag sends the same header.
    let r = site.fetch("/range.bin", &["-r", "10-19"]);
    assert_eq!(r.status, 206, "{}", r.head);
    assert_eq!(r.body, &data[10..20]);

    for range in ["bytes=100000-", "bytes=200000-300000"] {
        let r = site.fetch("/range.bin", &["-H", &format!("Range: {range}")]);
        assert_eq!(r.status, 416, "{range}: {}", r.head);
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes */{LEN}").as_str()),
            "{range}: {}",
            r.head
        );
    }

    let lm = full
        .header("Last-Modified")
        .expect("Last-Modified")
        .to_string();
    let r = site.fetch(
        "/range.bin",
        &["-H", "Range: bytes=5-9", "-H", &format!("If-Range: {lm}")],
    );
    assert_eq!(r.status, 206, "If-Range with the current date: {}", r.head);
    assert_eq!(r.body, &data[5..10]);
    let r = site.fetch(
        "/range.bin",
        &[
            "-H",
            "Range: bytes=5-9",
            "-H",
            "If-Range: Sat, 01 Jan 2000 00:00:00 GMT",
        ],
    );
    assert_eq!(r.status, 200, "If-Range with an old date: {}", r.head);
    assert!(r.body == data, "an old If-Range date gets the whole file");
}

/// If-Modified-Since, RFC 9110 13.1.3: the Last-Modified date itself (or a later one)
/// gives 304 with no body (RFC 9110 15.4.5); an earlier date, or one that does not parse
/// (which must be ignored), gives 200 and the file. curl's `-z` works too.
#[test]
fn if_modified_since() {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    let mut data = Vec::new();
    let site = Site::up("tsims0", |w| data = w.random_file("page.bin", 20_000, 12));
    let head = site.fetch("/page.bin", &["-I"]);
    assert_eq!(head.status, 200, "{}", head.head);
    let lm = head
        .header("Last-Modified")
        .expect("Last-Modified")
        .to_string();

    let r = site.fetch("/page.bin", &["-H", &format!("If-Modified-Since: {lm}")]);
    assert_eq!(r.status, 304, "{}", r.head);
    assert!(
        r.body.is_empty(),
        "a 304 has no body: {} bytes",
        r.body.len()
    );
    assert_eq!(r.header("Last-Modified"), Some(lm.as_str()), "{}", r.head);

    let later = "Fri, 01 Jan 2100 00:00:00 GMT";
    let r = site.fetch("/page.bin", &["-H", &format!("If-Modified-Since: {later}")]);
    assert_eq!(r.status, 304, "{}", r.head);

    for date in ["Sat, 01 Jan 2000 00:00:00 GMT", "not a date"] {
        let r = site.fetch("/page.bin", &["-H", &format!("If-Modified-Since: {date}")]);
        assert_eq!(r.status, 200, "{date}: {}", r.head);
        assert!(r.body == data, "{date}: the whole file");
    }

    // curl -z DATE sends If-Modified-Since itself.
    let r = site.fetch("/page.bin", &["-z", &lm]);
    assert_eq!(r.status, 304, "curl -z: {}", r.head);
}

/// 200 downloads of a 2 MiB file, 50 at a time (`xargs -P 50 curl`): every one is intact.
#[test]
fn two_hundred_parallel_downloads() {
    if !common::require_root() || !common::require_tool("curl") || !common::require_tool("xargs") {
        return;
    }
    let site = Site::up("tspar0", |w| {
        w.random_file("par.bin", 2 << 20, 13);
    });
    let want = sha256(&site.www.0.join("par.bin"));
    // Each download is hashed as it arrives (no 400 MiB on disk); a failed curl fails the
    // pipeline (pipefail), and its partial body would not match anyway.
    let script = format!(
        "seq 200 | xargs -P 50 -I{{}} bash -c \
         'set -o pipefail; curl -sS --fail -m 90 {} | sha256sum'",
        site.url("/par.bin")
    );
    let started = Instant::now();
    let out = site.ns.exec("bash", &["-c", &script]);
    let took = started.elapsed();
    let s = text(&out);
    let sums: Vec<&str> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .map(|h| if h == want { "ok" } else { "bad" })
        .collect();
    let ok = sums.iter().filter(|&&s| s == "ok").count();
    println!("200 parallel downloads of 2 MiB: {ok} intact in {took:?}");
    assert!(out.status.success(), "some downloads failed: {s}");
    assert_eq!(ok, 200, "{s}");
}

/// `/_stack/connections` lists the connection of a download while it runs (curl slowed
/// down with `--limit-rate`, from a fixed local port), `ESTAB` (as `ss` names it), in the
/// JSON and the HTML form; after curl is killed (the kernel resets the connection: unread
/// data), the row goes away.
#[test]
fn connections_page_shows_a_running_download() {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    let site = Site::up("tsconn0", |w| {
        w.random_file("slow.bin", 8 << 20, 14);
    });
    const PORT: &str = "45678";
    let url = site.url("/slow.bin");
    let download = site.ns.spawn_cmd(
        "curl",
        &[
            "-sS",
            "--limit-rate",
            "500K",
            "--local-port",
            PORT,
            "-m",
            "60",
            "-o",
            "/dev/null",
            &url,
        ],
    );
    let remote = format!("10.77.0.1:{PORT}");
    // The listing parsed as JSON; the row whose remote end is curl's port.
    let row_of = |json: &str| -> Option<tunstack_apps::http::ConnRow> {
        let rows: Vec<tunstack_apps::http::ConnRow> = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("/_stack/connections is not JSON ({e}):\n{json}"));
        rows.into_iter().find(|r| r.remote.to_string() == remote)
    };
    let listing = |accept: &str| {
        site.ns.exec_ok(
            "curl",
            &[
                "-sS",
                "-m",
                "10",
                "-H",
                &format!("Accept: {accept}"),
                &site.url("/_stack/connections"),
            ],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    // The row appears with the SYN; under load the listing can catch it before the
    // handshake's last ACK is in (SYN-RECV): wait for the download's ESTAB row.
    let row = loop {
        let json = listing("application/json");
        if let Some(row) = row_of(&json).filter(|r| r.state == "ESTAB") {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "no ESTAB row for the download ({remote}) in:\n{json}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(row.state, "ESTAB", "{row:?}");
    assert_eq!(row.local.to_string(), "10.77.0.2:80", "{row:?}");
    assert!(row.id > 0 && row.cwnd > 0 && row.rto_us > 0, "{row:?}");
    let html = listing("text/html");
    assert!(
        html.contains(&format!("<td>10.77.0.1:{PORT}</td>")),
        "the HTML table lists it too:\n{html}"
    );

    let mut download = download;
    assert!(
        download.child().try_wait().unwrap().is_none(),
        "the slowed download is still running"
    );
    drop(download);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let json = listing("application/json");
        if row_of(&json).is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed download's connection is still listed:\n{json}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What `wrk` reported.
#[derive(Debug, Default)]
struct WrkReport {
    requests: u64,
    /// connect, read, write, timeout.
    socket_errors: Option<[u64; 4]>,
    non_2xx: u64,
}

fn parse_wrk(out: &str) -> WrkReport {
    let mut r = WrkReport::default();
    for l in out.lines().map(str::trim) {
        if let Some(n) = l.split_once(" requests in ").map(|(n, _)| n) {
            r.requests = n.trim().parse().unwrap_or(0);
        } else if let Some(rest) = l.strip_prefix("Socket errors:") {
            // "Socket errors: connect 0, read 3, write 0, timeout 0"
            let nums: Vec<u64> = rest
                .split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse().ok())
                .collect();
            if let [c, rd, w, t] = nums[..] {
                r.socket_errors = Some([c, rd, w, t]);
            } else {
                r.socket_errors = Some([u64::MAX; 4]);
            }
        } else if let Some(rest) = l.strip_prefix("Non-2xx or 3xx responses:") {
            r.non_2xx = rest.trim().parse().unwrap_or(u64::MAX);
        }
    }
    r
}

#[test]
fn wrk_parser() {
    let out = "Running 10s test @ http://10.77.0.2/\n  2 threads and 50 connections\n\
               Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
               Latency     1.00ms  1.00ms  10.00ms   90.00%\n\
               12345 requests in 10.00s, 3.00MB read\n\
               Socket errors: connect 1, read 2, write 3, timeout 4\n\
               Non-2xx or 3xx responses: 5\n\
               Requests/sec:   1234.50\nTransfer/sec:    300.00KB\n";
    let r = parse_wrk(out);
    assert_eq!(r.requests, 12345);
    assert_eq!(r.socket_errors, Some([1, 2, 3, 4]));
    assert_eq!(r.non_2xx, 5);
    let clean = parse_wrk("  9 requests in 10.00s, 1.00KB read\nRequests/sec: 0.90\n");
    assert_eq!(
        (clean.requests, clean.socket_errors, clean.non_2xx),
        (9, None, 0)
    );
}

/// `wrk -t2 -c50 -d10s` against the index page: requests complete, none fails, and no
/// socket errors (connect, read, write, timeout). The server still answers after.
#[test]
fn wrk_ten_seconds_without_errors() {
    if !common::require_root() || !common::require_tool("curl") {
        return;
    }
    if !common::require_tool("wrk") {
        println!("skipped: wrk is not installed (apt-get install wrk)");
        return;
    }
    let site = Site::up("tswrk0", |_| {});
    let out = site
        .ns
        .exec("wrk", &["-t2", "-c50", "-d10s", &site.url("/")]);
    let s = text(&out);
    println!("{s}");
    assert!(out.status.success(), "{s}");
    let r = parse_wrk(&s);
    assert!(r.requests > 0, "no requests completed: {s}");
    assert_eq!(r.socket_errors, None, "socket errors: {s}");
    assert_eq!(r.non_2xx, 0, "failed responses: {s}");
    let page = site.fetch("/", &[]);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("hello from tunstack"));
}
