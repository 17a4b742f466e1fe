//! The HTTP server over the kernel's sockets on 127.0.0.1: timeouts (slow and idle
//! clients), bounded concurrency, pipelining, 413 with a body still arriving, and the
//! access log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tunstack_apps::http::{Config, Server};

/// Collects the access log (target `tunstack::http`).
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target() == "tunstack::http"
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn logs() -> &'static Capture {
    static L: OnceLock<&'static Capture> = OnceLock::new();
    L.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        let _ = log::set_logger(c);
        log::set_max_level(log::LevelFilter::Info);
        c
    })
}

fn start(cfg: Config) -> (SocketAddr, Arc<Server>) {
    logs();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let s = Arc::new(Server::new(cfg).unwrap());
    Arc::clone(&s).spawn(l).unwrap();
    (addr, s)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one response with a Content-Length body: (status line, head, body).
fn read_response(r: &mut BufReader<TcpStream>) -> (String, String, Vec<u8>) {
    let mut head = String::new();
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    let mut len = 0usize;
    loop {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        if l == "\r\n" || l.is_empty() {
            break;
        }
        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        head.push_str(&l);
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    (status, head, body)
}

/// Slowloris: a head trickling in a byte every 100 ms never completes; the deadline is for
/// the whole head, so the server answers 408 and closes when it passes, although every
/// single read was quick.
#[test]
fn slow_head_gets_408_at_the_deadline() {
    let (addr, _s) = start(Config {
        head_timeout: Duration::from_millis(800),
        ..Config::default()
    });
    let mut c = connect(addr);
    let t0 = Instant::now();
    c.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let mut w = c.try_clone().unwrap();
    std::thread::spawn(move || {
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(100));
            if w.write_all(b"X").is_err() {
                return;
            }
        }
    });
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    let took = t0.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.contains("Connection: close"));
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// A connection that sends nothing is closed after the idle timeout, without a response.
#[test]
fn idle_connection_closes() {
    let (addr, _s) = start(Config {
        idle_timeout: Duration::from_millis(300),
        ..Config::default()
    });
    let mut c = connect(addr);
    let t0 = Instant::now();
    let mut got = Vec::new();
    let _ = c.read_to_end(&mut got);
    assert!(got.is_empty());
    assert!(t0.elapsed() < Duration::from_secs(3));
    // And between keep-alive requests too.
    let mut c = connect(addr);
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut r = BufReader::new(c);
    assert!(read_response(&mut r).0.contains("200"));
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty());
}

/// At most `max_connections` are served at once; the next is refused at once with 503
/// and `Retry-After` (not left waiting in the accept queue), counted, while the held ones
/// are still served; once a place frees, new connections are served again.
#[test]
fn concurrency_is_bounded() {
    let (addr, s) = start(Config {
        max_connections: 2,
        ..Config::default()
    });
    let hold: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut c = connect(addr);
            c.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    let t0 = Instant::now();
    while s.active() < 2 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.active(), 2);
    let mut third = connect(addr);
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(third);
    let (status, head, _) = read_response(&mut r);
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");
    assert!(head.contains("Retry-After: 1"), "{head}");
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(s.refused(), 1);
    assert_eq!(s.active(), 2);
    // The held connections are still served.
    let mut held = hold.into_iter();
    let mut first = held.next().unwrap();
    first
        .write_all(b"Host: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (status, _, _) = read_response(&mut BufReader::new(first));
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    drop(held);
    let t0 = Instant::now();
    while s.active() > 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = connect(addr);
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (status, _, _) = read_response(&mut BufReader::new(c));
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(s.refused(), 1);
}

/// A client that stops reading a large response is cut off after `write_timeout`
/// instead of holding its connection for as long as it likes.
#[test]
fn slow_reader_is_cut_off() {
    let dir = std::env::temp_dir().join(format!("tunstack-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("big.bin"), vec![7u8; 32 << 20]).unwrap();
    let (addr, s) = start(Config {
        root: Some(dir.clone()),
        write_timeout: Duration::from_millis(500),
        ..Config::default()
    });
    let mut c = connect(addr);
    c.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let t0 = Instant::now();
    while s.active() == 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(s.active(), 1);
    let t0 = Instant::now();
    while s.active() > 0 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = t0.elapsed();
    assert_eq!(s.active(), 0, "the stalled connection is still held");
    assert!(took >= Duration::from_millis(400), "{took:?}");
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Many pipelined requests in one write come back in order.
#[test]
fn pipelining_over_a_socket() {
    let (addr, _s) = start(Config::default());
    let mut c = connect(addr);
    let mut reqs = String::new();
    for i in 0..100 {
        let path = if i % 2 == 0 { "/" } else { "/missing" };
        reqs.push_str(&format!("GET {path}?{i} HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    c.write_all(reqs.as_bytes()).unwrap();
    let mut r = BufReader::new(c);
    for i in 0..100 {
        let (status, _, _) = read_response(&mut r);
        let want = if i % 2 == 0 { "200" } else { "404" };
        assert!(status.contains(want), "{i}: {status}");
    }
}

/// 413 while the client is still sending a large body: the response arrives intact
/// (the server closes in stages, RFC 9112 9.6, so no reset destroys it).
#[test]
fn too_large_body_413_arrives() {
    let (addr, _s) = start(Config {
        max_body: 1000,
        ..Config::default()
    });
    let mut c = connect(addr);
    c.write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n")
        .unwrap();
    let mut w = c.try_clone().unwrap();
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..100 {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut r = BufReader::new(c);
    let (status, head, _) = read_response(&mut r);
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(head.contains("Connection: close"));
}

/// One access log line per request, with peer, request line, status and bytes.
#[test]
fn access_log_line_per_request() {
    let (addr, _s) = start(Config::default());
    let mut c = connect(addr);
    c.write_all(b"GET /logged-path HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(c);
    let (_, _, body) = read_response(&mut r);
    let want = format!("\"GET /logged-path HTTP/1.1\" 404 {}", body.len());
    let t0 = Instant::now();
    loop {
        let lines = logs().0.lock().unwrap().clone();
        if let Some(l) = lines.iter().find(|l| l.contains(&want)) {
            assert!(l.starts_with("127.0.0.1:"), "{l}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{lines:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Near the connection limit (past 3/4 of it), responses say `Connection: close`, so
/// keep-alive connections hand their slots back.
#[test]
fn busy_server_closes_after_responding() {
    let (addr, s) = start(Config {
        max_connections: 4,
        ..Config::default()
    });
    let hold: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = connect(addr);
            c.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    let t0 = Instant::now();
    while s.active() < 3 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut c = connect(addr);
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut r = BufReader::new(c);
    let (status, head, _) = read_response(&mut r);
    assert!(status.contains("200"), "{status}");
    assert!(head.contains("Connection: close"), "{head}");
    drop(r);
    drop(hold);
    // With the load gone, connections persist again.
    let t0 = Instant::now();
    while s.active() > 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.active(), 0);
    let mut c = connect(addr);
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut r = BufReader::new(c);
    let (_, head, _) = read_response(&mut r);
    assert!(!head.contains("Connection: close"), "{head}");
}
