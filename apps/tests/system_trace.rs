//! Watching TCP think, as a user would: `tunstack up --trace DIR` during a lossy curl
//! download (the trace's retransmissions add up to the stack's TcpRetransSegs, and
//! `tunstack plot` draws it as SVG that xmllint accepts), the plots and JSON the stack
//! serves during a transfer, and the live page `/_stack/` in headless Chromium (its DOM
//! has the connection and its charts; a screenshot is kept in the test's output
//! directory).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{sha256, text, Tunstack};
use tunstack_apps::http::ConnRow;
use tunstack_apps::watch::trace::{self, TraceLine};

const BIN: &str = env!("CARGO_BIN_EXE_tunstack");

/// A directory in the temp directory, removed with its files when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("tunstack-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn random_file(path: &Path, len: usize, seed: u64) {
    let mut data = vec![0u8; len];
    tunstack::rand::Rng::new(seed).fill(&mut data);
    std::fs::write(path, &data).unwrap();
}

/// xmllint accepts `path` as well-formed XML.
#[track_caller]
fn xml_ok(path: &Path) {
    let o = Command::new("xmllint")
        .args(["--noout"])
        .arg(path)
        .output()
        .expect("run xmllint");
    assert!(o.status.success(), "{}: {}", path.display(), text(&o));
}

/// The `<g id=...>` groups (the series) of an SVG, and whether each draws anything.
fn series(svg: &str) -> Vec<(String, bool)> {
    svg.split("<g id=\"")
        .skip(1)
        .map(|s| {
            let id = s.split('"').next().unwrap().to_string();
            let body = s.split("</g>").next().unwrap_or("");
            let drawn =
                body.contains("<circle") || body.contains("<rect") || body.contains("d=\"M");
            (id, drawn)
        })
        .collect()
}

#[track_caller]
fn has_series(svg: &str, id: &str, drawn: bool) {
    let s = series(svg);
    assert!(
        s.iter().any(|(i, d)| i == id && (*d || !drawn)),
        "series {id} (drawn: {drawn}) not in {s:?}"
    );
}

/// Whether `dir` holds the whole trace of the connection from `remote`: it parses, and
/// its last line says the connection closed.
fn download_closed(dir: &Path, remote: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| match trace::read(&e.path()) {
        Ok(lines) => {
            matches!(lines.first(), Some(TraceLine::Conn { remote: r, .. }) if r.to_string() == remote)
                && lines.last() == Some(&TraceLine::Closed)
        }
        // A file still being written may end in half a line.
        Err(_) => false,
    })
}

/// `tunstack up --trace DIR --loss 2% --seed 7`, a 4 MiB curl download, then stop: every
/// connection's trace file parses, the download's ends closed, nothing was lost, and the
/// retransmissions in all traces, counted in wire segments, are exactly the stack's
/// TcpRetransSegs. `tunstack plot` draws the download's trace as three SVGs that xmllint
/// accepts, with the expected series in them.
#[test]
fn trace_under_loss_matches_the_counters_and_plots() {
    if !common::require_root() || !common::require_tool("curl") || !common::require_tool("xmllint")
    {
        return;
    }
    let ns = common::NetNs::new();
    let www = TempDir::new("trace-www");
    random_file(&www.0.join("four.bin"), 4 << 20, 11);
    let traces = TempDir::new("trace-out");
    let t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--tun",
        "tstrace0",
        "--www",
        www.path(),
        "--trace",
        traces.path(),
        "--loss",
        "2%",
        "--seed",
        "7",
    ]);
    let got = TempDir::new("trace-got");
    let out = got.0.join("four.bin");
    ns.exec_ok(
        "curl",
        &[
            "-sS",
            "-m",
            "120",
            "--local-port",
            "45680",
            "-o",
            out.to_str().unwrap(),
            "http://10.77.0.2/four.bin",
        ],
    );
    assert_eq!(sha256(&out), sha256(&www.0.join("four.bin")));
    // curl is done once it has the body; the stack's side closes after curl's FIN, and
    // under 2% loss its own FIN or the ACK of it may need a retransmission (200 ms and
    // more). A trace file is written out whole when its connection closes: wait for the
    // download's before stopping the stack, which would otherwise cut it short.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !download_closed(&traces.0, "10.77.0.1:45680") {
        assert!(
            Instant::now() < deadline,
            "the download's connection did not close within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    let retrans_segs = support::counter(&lines, "TcpRetransSegs").expect("TcpRetransSegs");
    assert!(retrans_segs > 0, "2% loss makes the stack retransmit");

    let mut files: Vec<PathBuf> = std::fs::read_dir(&traces.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut traced = 0;
    let mut download = None;
    for f in &files {
        let lines = trace::read(f).unwrap_or_else(|e| panic!("{e}"));
        let TraceLine::Conn { mss, remote, .. } = &lines[0] else {
            panic!("{}: no header: {:?}", f.display(), lines.first());
        };
        assert!(
            !lines.iter().any(|l| matches!(l, TraceLine::Lost { .. })),
            "{}: events lost",
            f.display()
        );
        traced += lines
            .iter()
            .filter(|l| {
                matches!(
                    l,
                    TraceLine::Send {
                        retransmit: Some(_),
                        ..
                    }
                )
            })
            .map(|l| l.wire_segments(*mss))
            .sum::<u64>();
        if remote.to_string() == "10.77.0.1:45680" {
            download = Some((f.clone(), lines));
        }
    }
    assert_eq!(traced, retrans_segs, "retransmissions in the traces");
    let (file, lines) = download.expect("a trace of the download");
    assert_eq!(lines.last(), Some(&TraceLine::Closed), "it closed");
    let sent: u64 = lines
        .iter()
        .filter_map(|l| match l {
            TraceLine::Send {
                seq,
                len,
                retransmit: None,
                ..
            } => Some(seq + len),
            _ => None,
        })
        .max()
        .unwrap();
    assert!(sent > 4 << 20, "the whole body was sent: {sent}");

    let plots = TempDir::new("trace-plots");
    let o = Command::new(BIN)
        .args(["plot", file.to_str().unwrap(), "-o", plots.path()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for (name, want) in [
        ("seq.svg", &["sent", "retransmitted", "acked", "rwnd"][..]),
        ("cwnd.svg", &["cwnd", "ssthresh", "in_flight", "recovery"]),
        ("rtt.svg", &["rtt_sample", "srtt", "rto"]),
    ] {
        let p = plots.0.join(name);
        xml_ok(&p);
        let svg = std::fs::read_to_string(&p).unwrap();
        for id in want {
            has_series(&svg, id, true);
        }
    }
}

/// The connection of a slowed download, once `/_stack/connections` lists it.
fn wait_for_row(ns: &common::NetNs, port: u16) -> ConnRow {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let json = ns.exec_ok(
            "curl",
            &["-sS", "-m", "5", "http://10.77.0.2/_stack/connections"],
        );
        let rows: Vec<ConnRow> = serde_json::from_str(&json).unwrap();
        if let Some(r) = rows.into_iter().find(|r| r.remote.port() == port) {
            return r;
        }
        assert!(Instant::now() < deadline, "no row for port {port}: {json}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// During a slowed, lossy download: `/_stack/connections` and `/_stack/stats` are JSON
/// that `python3 -m json.tool` accepts, the connection's `seq.svg` and `cwnd.svg` come as
/// `image/svg+xml` and parse, and the live page `/_stack/`, loaded in headless Chromium,
/// shows the connection with its charts. The screenshot is kept in the test's output
/// directory (`CARGO_TARGET_TMPDIR`).
#[test]
fn live_pages_during_a_transfer() {
    if !common::require_root()
        || !common::require_tool("curl")
        || !common::require_tool("xmllint")
        || !common::require_tool("python3")
        || !common::require_tool("chromium")
    {
        return;
    }
    let ns = common::NetNs::new();
    let www = TempDir::new("live-www");
    random_file(&www.0.join("slow.bin"), 8 << 20, 12);
    let _t = Tunstack::up(&[
        "up",
        "--netns",
        ns.name(),
        "--tun",
        "tslive0",
        "--www",
        www.path(),
        "--trace-events",
        "4096",
        "--loss",
        "1%",
        "--seed",
        "3",
    ]);
    const PORT: u16 = 45681;
    let _download = ns.spawn_cmd(
        "curl",
        &[
            "-sS",
            "--limit-rate",
            "300K",
            "--local-port",
            &PORT.to_string(),
            "-m",
            "60",
            "-o",
            "/dev/null",
            "http://10.77.0.2/slow.bin",
        ],
    );
    let row = wait_for_row(&ns, PORT);
    std::thread::sleep(Duration::from_secs(1));
    for page in ["connections", "stats"] {
        let script = format!("curl -sS -m 5 http://10.77.0.2/_stack/{page} | python3 -m json.tool");
        let o = ns.exec("sh", &["-c", &script]);
        assert!(o.status.success(), "{page}: {}", text(&o));
    }
    let plots = TempDir::new("live-plots");
    for name in ["seq.svg", "cwnd.svg"] {
        let p = plots.0.join(name);
        let url = format!("http://10.77.0.2/_stack/connections/{}/{name}", row.id);
        let ct = ns.exec_ok(
            "curl",
            &[
                "-sS",
                "-m",
                "10",
                "-o",
                p.to_str().unwrap(),
                "-w",
                "%{content_type}",
                &url,
            ],
        );
        assert_eq!(ct, "image/svg+xml", "{url}");
        xml_ok(&p);
        let svg = std::fs::read_to_string(&p).unwrap();
        has_series(&svg, if name == "seq.svg" { "sent" } else { "cwnd" }, true);
    }

    // The live page in headless Chromium, inside the namespace.
    let profile = TempDir::new("live-chromium");
    let chromium = |extra: &[&str]| {
        let mut args = vec![
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ];
        let dir = format!("--user-data-dir={}", profile.path());
        args.push(&dir);
        args.extend_from_slice(extra);
        args.push("http://10.77.0.2/_stack/");
        let o = ns
            .command("timeout", &[&["60", "chromium"][..], &args].concat())
            .output()
            .expect("run chromium");
        assert!(o.status.success(), "chromium {extra:?}: {}", text(&o));
        o
    };
    let dom = String::from_utf8_lossy(&chromium(&["--dump-dom"]).stdout).into_owned();
    let card = format!("id=\"conn-{}\"", row.id);
    let at = dom
        .find(&card)
        .unwrap_or_else(|| panic!("no {card} in the page:\n{dom}"));
    let card_html = &dom[at..];
    let card_html = &card_html[..card_html.find("class=\"conn\"").unwrap_or(card_html.len())];
    assert!(card_html.contains("10.77.0.1:45681"), "{card_html}");
    assert!(card_html.contains("class=\"chart spark\""), "{card_html}");
    assert!(card_html.contains("class=\"chart seq\""), "{card_html}");
    assert!(card_html.contains("class=\"chart cwnd\""), "{card_html}");
    assert!(dom.contains("TcpOutSegs"), "the counters table");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-page.png");
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    chromium(&["--window-size=1100,1300", "--hide-scrollbars", &arg]);
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    println!("screenshot of /_stack/: {}", shot.display());
}
