//! End to end with the real `curl` against the server on 127.0.0.1 (kernel sockets):
//! index page, 404, HEAD, a 64 MiB file whose sha256 matches, connection reuse, Range,
//! If-Modified-Since, and 200 parallel downloads. Skipped (with a message) without curl.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use tunstack_apps::http::{Config, ConnRow, Server, StackInfo};

const BIG: usize = 64 << 20;
const SMALL: usize = 1 << 20;

fn have_curl() -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("curl is not installed: skipped");
    }
    ok
}

/// Deterministic pseudo-random bytes (xorshift64).
fn pattern(seed: u64, len: usize, out: &mut impl std::io::Write) {
    let mut x = seed;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut left = len;
    while left > 0 {
        buf.clear();
        while buf.len() < (1 << 20).min(left) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.extend_from_slice(&x.to_le_bytes());
        }
        buf.truncate((1 << 20).min(left));
        out.write_all(&buf).unwrap();
        left -= buf.len();
    }
}

/// The web root: big.bin (64 MiB), small.bin (1 MiB), hello.txt. It lives in Cargo's
/// scratch directory for integration tests (inside `target/`), made once and reused.
fn www() -> &'static Path {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-curl-www");
        std::fs::create_dir_all(&d).unwrap();
        for (name, seed, len) in [("big.bin", 1, BIG), ("small.bin", 2, SMALL)] {
            let p = d.join(name);
            if std::fs::metadata(&p).is_ok_and(|m| m.len() == len as u64) {
                continue;
            }
            let tmp = d.join(format!("{name}.{}", std::process::id()));
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
            pattern(seed, len, &mut f);
            drop(f);
            std::fs::rename(&tmp, &p).unwrap();
        }
        std::fs::write(d.join("hello.txt"), "hello, world\n").unwrap();
        d
    })
}

struct Fake;
impl StackInfo for Fake {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("TcpInSegs", 1), ("TcpRetransSegs", 0)]
    }
    fn connections(&self) -> Vec<ConnRow> {
        Vec::new()
    }
}

/// Starts a server on 127.0.0.1; returns its base URL.
fn serve(root: Option<&Path>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let s = Server::new(Config {
        root: root.map(Path::to_path_buf),
        ..Config::default()
    })
    .unwrap()
    .with_stack_info(Arc::new(Fake));
    Arc::new(s).spawn(l).unwrap();
    format!("http://127.0.0.1:{port}")
}

fn curl(args: &[&str]) -> Output {
    let o = Command::new("curl")
        .args(["-s", "--max-time", "60"])
        .args(args)
        .output()
        .expect("run curl");
    o
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    text(&o).split_whitespace().next().unwrap().to_string()
}

#[test]
fn index_page_and_404() {
    if !have_curl() {
        return;
    }
    let base = serve(None);
    let o = curl(&["-w", "\n%{http_code} %{content_type}", &format!("{base}/")]);
    let t = text(&o);
    assert!(t.contains("<h1>tunstack</h1>"), "{t}");
    assert!(t.contains("href=\"/_stack/stats\""));
    assert!(t.ends_with("\n200 text/html; charset=utf-8"), "{t}");
    let o = curl(&[
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &format!("{base}/missing"),
    ]);
    assert_eq!(text(&o), "404");
    let o = curl(&[&format!("{base}/_stack/stats")]);
    let body = text(&o);
    let stats: serde_json::Value = serde_json::from_str(&body).expect(&body);
    assert_eq!(stats["TcpRetransSegs"], 0, "{stats}");
    assert_eq!(stats["TcpInSegs"], 1, "{stats}");
    let o = curl(&[
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        "-X",
        "POST",
        "-d",
        "x=1",
        &format!("{base}/"),
    ]);
    assert_eq!(text(&o), "405");
}

#[test]
fn head_request() {
    if !have_curl() {
        return;
    }
    let base = serve(Some(www()));
    let o = curl(&["-I", &format!("{base}/hello.txt")]);
    let t = text(&o);
    assert!(t.starts_with("HTTP/1.1 200 OK\r\n"), "{t}");
    assert!(t.contains("Content-Length: 13\r\n"), "{t}");
    assert!(t.contains("Last-Modified: "), "{t}");
    assert!(
        t.contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{t}"
    );
    assert!(t.ends_with("\r\n\r\n"), "no body after a HEAD: {t:?}");
}

#[test]
fn big_file_sha256_matches() {
    if !have_curl() {
        return;
    }
    let base = serve(Some(www()));
    let out = www().with_file_name(format!("big-{}.out", std::process::id()));
    let o = curl(&[
        "-o",
        out.to_str().unwrap(),
        "-w",
        "%{http_code} %{size_download}",
        &format!("{base}/big.bin"),
    ]);
    assert_eq!(text(&o), format!("200 {BIG}"));
    assert_eq!(sha256(&out), sha256(&www().join("big.bin")));
    let _ = std::fs::remove_file(&out);
}

/// HTTP/1.1 persistence: curl sends both requests over one connection.
#[test]
fn curl_reuses_the_connection() {
    if !have_curl() {
        return;
    }
    let base = serve(Some(www()));
    let o = curl(&[
        "-v",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        &format!("{base}/hello.txt"),
        &format!("{base}/small.bin"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Re-using existing connection"), "{err}");
    assert_eq!(err.matches("Connected to").count(), 1, "{err}");
}

#[test]
fn ranges() {
    if !have_curl() {
        return;
    }
    let base = serve(Some(www()));
    let small = std::fs::read(www().join("small.bin")).unwrap();
    let url = format!("{base}/small.bin");
    let o = curl(&["-r", "100-199", "-D", "-", &url]);
    let all = o.stdout.clone();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&all[..split]);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert!(
        head.contains(&format!("Content-Range: bytes 100-199/{SMALL}")),
        "{head}"
    );
    assert_eq!(&all[split..], &small[100..200]);
    let o = curl(&["-H", "Range: bytes=-10", &url]);
    assert_eq!(o.stdout, &small[SMALL - 10..]);
    let o = curl(&["-r", &format!("{}-", SMALL - 5), &url]);
    assert_eq!(o.stdout, &small[SMALL - 5..]);
    let o = curl(&[
        "-r",
        &format!("{SMALL}-"),
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!(text(&o), "416");
}

/// RFC 9110 13.1.3 with curl: the Last-Modified date sent back gives 304; `curl -z`
/// with an older date gives the file.
#[test]
fn if_modified_since_gives_304() {
    if !have_curl() {
        return;
    }
    let base = serve(Some(www()));
    let url = format!("{base}/hello.txt");
    let t = text(&curl(&["-I", &url]));
    let lm = t
        .lines()
        .find_map(|l| l.strip_prefix("Last-Modified: "))
        .unwrap()
        .trim()
        .to_string();
    let o = curl(&[
        "-H",
        &format!("If-Modified-Since: {lm}"),
        "-w",
        "%{http_code}:%{size_download}",
        &url,
    ]);
    assert_eq!(text(&o), "304:0");
    let o = curl(&[
        "-z",
        "Thu, 01 Jan 1970 00:00:01 GMT",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &url,
    ]);
    assert_eq!(text(&o), "200");
}

/// 200 downloads, 50 at a time, all intact.
#[test]
fn parallel_downloads_intact() {
    if !have_curl() {
        return;
    }
    let base = serve(Some(www()));
    let dir = www().with_file_name(format!("par-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "seq 1 200 | xargs -P 50 -I{{}} curl -s -f --max-time 60 -o {}/{{}}.out {base}/small.bin",
        dir.display()
    );
    let st = Command::new("sh").args(["-c", &script]).status().unwrap();
    assert!(st.success(), "xargs/curl failed: {st}");
    let want = sha256(&www().join("small.bin"));
    for i in 1..=200 {
        assert_eq!(sha256(&dir.join(format!("{i}.out"))), want, "download {i}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
