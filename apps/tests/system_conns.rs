//! System tests: many connections from the kernel side to `tunstack up` over a real TUN
//! device in a test-made namespace — 10,000 echo connections held at once while a fresh
//! HTTP request is served, with the stack's memory per idle connection printed; and
//! `--max-conns` reached: the refusal its help promises, counted, others still served.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use support::{counter, Link, Tunstack};

const ECHO: &str = "10.77.0.2:7";
const HTTP: &str = "10.77.0.2:80";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Raises this process's open-file limit towards `n` (the kernel side holds a socket per
/// connection; the stack itself needs no descriptors for them), as far as the hard limit
/// allows (raising that needs CAP_SYS_RESOURCE); returns the limit now in force.
fn raise_nofile(n: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into a live rlimit struct we pass by pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let want = libc::rlimit {
        rlim_cur: n.max(lim.rlim_cur),
        rlim_max: n.max(lim.rlim_max),
    };
    // SAFETY: setrlimit reads a live rlimit struct we pass by pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &want) } != 0 {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: as above; the soft limit up to the hard one needs no privilege.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
    // SAFETY: as the first call.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur
}

/// Resident memory of process `pid`, in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[track_caller]
fn connect(to: &str) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr(to), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to {to}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A byte goes out and comes back.
#[track_caller]
fn echo_byte(s: &mut TcpStream, b: u8) {
    s.write_all(&[b]).unwrap();
    let mut got = [0u8; 1];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got[0], b);
}

/// One HTTP request on a fresh connection: (status line, head, body).
#[track_caller]
fn http_get(path: &str) -> (String, String, String) {
    let mut c = connect(HTTP);
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(c);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut head = String::new();
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        if l == "\r\n" || l.is_empty() {
            break;
        }
        head.push_str(&l);
    }
    let mut body = String::new();
    let _ = r.read_to_string(&mut body);
    (status, head, body)
}

/// The value of counter `name` in a `/_stack/stats` JSON body.
fn json_counter(body: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\": ");
    let at = body.find(&key)? + key.len();
    body[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn ten_thousand_echo_connections_held_at_once() {
    const N: usize = 10_000;
    if !common::require_root() {
        return;
    }
    let nofile = raise_nofile(2 * N as u64);
    if nofile < N as u64 + 256 {
        println!("skipped: needs RLIMIT_NOFILE above {N} (hard limit {nofile})");
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up_on(
        Link::Tun,
        &Link::Tun.dev("tsmany"),
        &["up", "--netns", ns.name(), "--seed", "11"],
    );
    let pid = t.pid();
    ns.run(|| {
        // Warm up (the services' threads, the runtime's buffers), then measure.
        echo_byte(&mut connect(ECHO), 1);
        std::thread::sleep(Duration::from_millis(300));
        let before = rss_kib(pid);
        let t0 = Instant::now();
        let mut conns: Vec<TcpStream> = (0..N).map(|_| connect(ECHO)).collect();
        let opened = t0.elapsed();
        // A byte echoed on a sample spread over all of them: every one was accepted.
        for i in (0..N).step_by(97).chain([N - 1]) {
            echo_byte(&mut conns[i], (i % 251) as u8);
        }
        // Meanwhile a fresh HTTP request is served.
        let (status, _, body) = http_get("/_stack/stats");
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let estab = json_counter(&body, "TcpCurrEstab").expect("TcpCurrEstab");
        assert!(estab >= N as u64, "the stack holds {estab} connections");
        assert_eq!(json_counter(&body, "TcpExtTunstackConnRefusedMax"), Some(0));
        assert_eq!(json_counter(&body, "TcpExtListenOverflows").unwrap_or(0), 0);
        std::thread::sleep(Duration::from_millis(500));
        let after = rss_kib(pid);
        let per_conn = (after.saturating_sub(before) * 1024) / N as u64;
        println!(
            "{N} idle echo connections: opened in {opened:?}; tunstack RSS {before} KiB \
             before, {after} KiB after: {per_conn} bytes per idle connection (goal: at most 32 KiB)"
        );
        assert!(
            per_conn <= 32 * 1024,
            "{per_conn} bytes per idle connection, more than 32 KiB"
        );
        // Still usable after the measurement.
        echo_byte(&mut conns[N / 2], 42);
        drop(conns);
    });
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert!(
        counter(&lines, "TcpPassiveOpens").unwrap_or(0) > N as u64,
        "{lines:#?}"
    );
}

#[test]
fn max_conns_reached_refused_counted_and_others_served() {
    const MAX: usize = 20;
    if !common::require_root() {
        return;
    }
    let ns = common::NetNs::new();
    let max = MAX.to_string();
    let t = Tunstack::up_on(
        Link::Tun,
        &Link::Tun.dev("tsmax"),
        &[
            "up",
            "--netns",
            ns.name(),
            "--seed",
            "12",
            "--max-conns",
            &max,
        ],
    );
    let refused = ns.run(|| {
        // Echo: MAX held; the next is reset (the handshake completes, then RST).
        let mut held: Vec<TcpStream> = (0..MAX).map(|_| connect(ECHO)).collect();
        for (i, c) in held.iter_mut().enumerate() {
            echo_byte(c, i as u8);
        }
        // The reset can even come before the client's connect() has returned (the
        // stack accepts and refuses in one go): then connect reports it.
        let extra = match TcpStream::connect_timeout(&addr(ECHO), Duration::from_secs(10)) {
            Ok(mut extra) => {
                extra
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let _ = extra.write_all(b"x");
                let mut b = [0u8; 1];
                let r = extra.read(&mut b);
                assert!(
                    matches!(&r, Err(e) if e.kind() == ErrorKind::ConnectionReset),
                    "past --max-conns echo must reset: {r:?}"
                );
                Some(extra)
            }
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    ErrorKind::ConnectionReset,
                    "past --max-conns echo must reset: {e}"
                );
                None
            }
        };
        // The held ones are still served.
        echo_byte(&mut held[3], 99);
        // HTTP: MAX idle keep-alive connections held; the next gets 503 with Retry-After.
        let idle: Vec<TcpStream> = (0..MAX).map(|_| connect(HTTP)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let (status, head, _) = http_get("/");
        assert!(status.starts_with("HTTP/1.1 503"), "{status}");
        assert!(head.contains("Retry-After: 1"), "{head}");
        // Places free again: served.
        drop(idle);
        drop(extra);
        // (until the server has seen them go, it still refuses: each time counted)
        let mut refused = 2;
        let t0 = Instant::now();
        let (status, _, body) = loop {
            let r = http_get("/_stack/stats");
            if !r.0.starts_with("HTTP/1.1 503") || t0.elapsed() > Duration::from_secs(5) {
                break r;
            }
            refused += 1;
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        assert_eq!(
            json_counter(&body, "TcpExtTunstackConnRefusedMax"),
            Some(refused)
        );
        echo_byte(&mut held[0], 7);
        refused
    });
    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert_eq!(
        counter(&lines, "TcpExtTunstackConnRefusedMax"),
        Some(refused),
        "{lines:#?}"
    );
}
