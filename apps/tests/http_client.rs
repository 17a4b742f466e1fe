//! The HTTP client against scripted servers on 127.0.0.1: each body framing, 1xx,
//! redirect chains across hosts (names mapped by the test's `connect`), loops and
//! limits, malformed responses; then against this crate's own server, and `get_cmd`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tunstack_apps::http::client::{get, get_cmd, get_with, ClientError, Options, Url};
use tunstack_apps::http::{Config, Server};

/// A server that answers each connection with the response `answer(request_head)`
/// returns, written in pieces of `piece` bytes, then closes. Request heads are kept.
struct Script {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    _t: JoinHandle<()>,
}

fn script<F>(piece: usize, answer: F) -> Script
where
    F: Fn(&str) -> Vec<u8> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let t = std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match c.read(&mut b) {
                    Ok(1) => head.push(b[0]),
                    _ => break,
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let resp = answer(&head);
            seen2.lock().unwrap().push(head);
            for p in resp.chunks(piece.max(1)) {
                if c.write_all(p).is_err() {
                    break;
                }
                c.flush().unwrap();
                if piece < 64 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    });
    Script { addr, seen, _t: t }
}

/// `connect` for tests: any name maps to 127.0.0.1, so `host.test:PORT` reaches a
/// script — name resolution is the caller's business.
fn local(host: &str, port: u16) -> io::Result<TcpStream> {
    assert!(!host.is_empty());
    TcpStream::connect(("127.0.0.1", port))
}

fn fetch(url: &str) -> Result<(u16, Vec<u8>), ClientError> {
    let mut out = Vec::new();
    let f = get(url, local, &mut out, &mut |_, _| {})?;
    assert_eq!(f.body_len, out.len() as u64);
    Ok((f.status, out))
}

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 256) as u8).collect()
}

#[test]
fn content_length_body() {
    let data = body(300_000);
    let d2 = data.clone();
    let s = script(65_536, move |_| {
        let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", d2.len()).into_bytes();
        r.extend_from_slice(&d2);
        r
    });
    let url = format!("http://files.test:{}/big?x=1", s.addr.port());
    let mut progress = Vec::new();
    let mut out = Vec::new();
    let f = get(&url, local, &mut out, &mut |got, total| {
        progress.push((got, total))
    })
    .unwrap();
    assert_eq!(f.status, 200);
    assert_eq!(out, data);
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(progress.last(), Some(&(300_000, Some(300_000))));
    let head = s.seen.lock().unwrap()[0].clone();
    assert!(head.starts_with("GET /big?x=1 HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("Host: files.test:{}\r\n", s.addr.port())),
        "{head}"
    );
}

/// RFC 9112 7.1: chunks with extensions and trailers, delivered a few bytes at a time.
#[test]
fn chunked_body() {
    let s = script(5, |_| {
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n\
          5;name=value\r\nhello\r\n1\r\n,\r\nA\r\n world of \r\n7\r\nchunks!\r\n\
          0\r\nX-Trailer: yes\r\n\r\n"
            .to_vec()
    });
    let (st, b) = fetch(&format!("http://127.0.0.1:{}/", s.addr.port())).unwrap();
    assert_eq!(st, 200);
    assert_eq!(b, b"hello, world of chunks!");
}

/// RFC 9112 6.3 item 8: no length and no chunking: the body ends when the server closes.
#[test]
fn close_delimited_body() {
    let s = script(1000, |_| {
        let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        r.extend_from_slice(&body(50_000));
        r
    });
    let (_, b) = fetch(&format!("http://127.0.0.1:{}/", s.addr.port())).unwrap();
    assert_eq!(b, body(50_000));
}

/// RFC 9110 15.2: interim 1xx responses are skipped; 204 and 304 have no body.
#[test]
fn interim_and_bodyless() {
    let s = script(1000, |head| {
        if head.starts_with("GET /204") {
            b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
        } else {
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n\
              HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                .to_vec()
        }
    });
    let p = s.addr.port();
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{p}/")).unwrap(),
        (200, b"ok".to_vec())
    );
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{p}/204")).unwrap(),
        (204, vec![])
    );
}

/// Redirects across two servers: relative, absolute with a host name, scheme-relative
/// and dot-segment locations (RFC 9110 10.2.2, RFC 3986 5.2).
#[test]
fn redirect_chain() {
    let b = script(1000, |head| {
        if head.starts_with("GET /c ") {
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: ./sub/../d?x=1\r\nContent-Length: 4\r\n\r\nmove"
                .to_vec()
        } else if head.starts_with("GET /d?x=1 ") {
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone".to_vec()
        } else {
            b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
    });
    let bport = b.addr.port();
    let a = script(1000, move |head| {
        if head.starts_with("GET /start ") {
            b"HTTP/1.1 302 Found\r\nLocation: /a/b\r\n\r\n".to_vec()
        } else if head.starts_with("GET /a/b ") {
            format!("HTTP/1.1 301 Moved\r\nLocation: //other.test:{bport}/x\r\nContent-Length: 0\r\n\r\n")
                .into_bytes()
        } else {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
    });
    let x = script(1000, move |_| {
        format!("HTTP/1.1 308 Permanent\r\nLocation: http://OTHER.test:{bport}/c\r\n\r\n")
            .into_bytes()
    });
    // /x lives on the third server: map other.test:bport... the test's connect sends
    // every name to 127.0.0.1, so /x is answered by `b`; route it through `x` instead.
    let xport = x.addr.port();
    let connect = move |host: &str, port: u16| {
        let port = if host == "other.test" && port == bport && X_FIRST.with(|f| f.replace(false)) {
            xport
        } else {
            port
        };
        TcpStream::connect(("127.0.0.1", port))
    };
    thread_local!(static X_FIRST: std::cell::Cell<bool> = const { std::cell::Cell::new(true) });
    let mut out = Vec::new();
    let f = get(
        &format!("http://a.test:{}/start", a.addr.port()),
        connect,
        &mut out,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!((f.status, out.as_slice()), (200, &b"done"[..]));
    assert_eq!(f.redirects, 4);
    assert_eq!(
        f.url.to_string(),
        format!("http://other.test:{bport}/d?x=1")
    );
    assert!(x.seen.lock().unwrap()[0].starts_with("GET /x "));
}

#[test]
fn redirect_loop_is_an_error() {
    let s = script(1000, |head| {
        let to = if head.starts_with("GET /a ") {
            "/b"
        } else {
            "/a"
        };
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n").into_bytes()
    });
    let e = fetch(&format!("http://127.0.0.1:{}/a", s.addr.port())).unwrap_err();
    assert!(
        matches!(e, ClientError::RedirectLoop(ref u) if u.ends_with("/a")),
        "{e}"
    );
}

#[test]
fn too_many_redirects() {
    let s = script(1000, |head| {
        let n: u32 = head[5..].split(' ').next().unwrap().parse().unwrap_or(0);
        format!(
            "HTTP/1.1 301 Moved\r\nLocation: /{}\r\nContent-Length: 0\r\n\r\n",
            n + 1
        )
        .into_bytes()
    });
    let e = fetch(&format!("http://127.0.0.1:{}/0", s.addr.port())).unwrap_err();
    assert!(matches!(e, ClientError::TooManyRedirects(10)), "{e}");
    assert_eq!(s.seen.lock().unwrap().len(), 11);
    // A lower bound is honoured.
    let mut out = Vec::new();
    let opts = Options {
        max_redirects: 2,
        ..Options::default()
    };
    let url = format!("http://127.0.0.1:{}/100", s.addr.port());
    let e = get_with(&url, local, &mut out, &mut |_, _| {}, &opts).unwrap_err();
    assert!(matches!(e, ClientError::TooManyRedirects(2)), "{e}");
}

/// Responses that break HTTP/1.1 are errors, never a wrong body.
#[test]
fn malformed_responses() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"hello there\r\n\r\n".to_vec()),
        ("bad status", b"HTTP/1.1 2000 OK\r\n\r\n".to_vec()),
        ("http/2", b"HTTP/2 200 OK\r\n\r\n".to_vec()),
        (
            "bad header",
            b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n".to_vec(),
        ),
        ("empty", b"".to_vec()),
        ("cut head", b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()),
        (
            "short body",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec(),
        ),
        (
            "bad length",
            b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n".to_vec(),
        ),
        (
            "neg length",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n".to_vec(),
        ),
        (
            "two lengths",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
        ),
        (
            "bad chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "empty chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n".to_vec(),
        ),
        (
            "cut chunk",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc".to_vec(),
        ),
        (
            "no last chunk",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n".to_vec(),
        ),
        (
            "chunk without CRLF",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n".to_vec(),
        ),
        (
            "huge chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n"
                .to_vec(),
        ),
        (
            "switching",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec(),
        ),
        (
            "huge head",
            format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "y".repeat(100_000)).into_bytes(),
        ),
        (
            "redirect to another scheme",
            b"HTTP/1.1 302 Found\r\nLocation: ftp://x/\r\n\r\n".to_vec(),
        ),
    ];
    for (name, resp) in cases {
        let s = script(1000, move |_| resp.clone());
        let r = fetch(&format!("http://127.0.0.1:{}/", s.addr.port()));
        assert!(r.is_err(), "{name}: {r:?}");
        eprintln!("{name}: {}", r.unwrap_err());
    }
}

#[test]
fn urls() {
    let u = Url::parse("http://Example.COM:8080/a b?q=1#frag").unwrap();
    assert_eq!(
        (u.host.as_str(), u.port, u.path.as_str()),
        ("example.com", 8080, "/a%20b?q=1")
    );
    assert_eq!(
        Url::parse("example.com").unwrap().to_string(),
        "http://example.com/"
    );
    assert_eq!(Url::parse("http://h?x").unwrap().path, "/?x");
    assert_eq!(
        Url::parse("http://[::1]:81/").unwrap().authority(),
        "[::1]:81"
    );
    for bad in [
        "https://x/",
        "ftp://x",
        "http://",
        "http://u@h/",
        "http://h:0/",
        "http://h:99999/",
        "http://h:8a/",
        "http://h h/",
        "http://[zz]/",
    ] {
        assert!(Url::parse(bad).is_err(), "{bad}");
    }
    let base = Url::parse("http://h/a/b/c?q").unwrap();
    let j = |l: &str| base.join(l).unwrap().to_string();
    assert_eq!(j("d"), "http://h/a/b/d");
    assert_eq!(j("../d"), "http://h/a/d");
    assert_eq!(j("../../../../d"), "http://h/d");
    assert_eq!(j("/x/./y"), "http://h/x/y");
    assert_eq!(j("?r"), "http://h/a/b/c?r");
    assert_eq!(j(""), "http://h/a/b/c?q");
    assert_eq!(j("//g:81/z"), "http://g:81/z");
    assert_eq!(j("HTTP://g/"), "http://g/");
    assert_eq!(j("./"), "http://h/a/b/");
    assert!(base.join("mailto:x@y").is_err());
}

/// Against this crate's own server: a file, a missing page, and a directory redirect.
#[test]
fn against_our_server() {
    let dir = std::env::temp_dir().join(format!("tunstack-http-client-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("d")).unwrap();
    let data = body(3 << 20);
    std::fs::write(dir.join("d/blob.bin"), &data).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let s = Arc::new(
        Server::new(Config {
            root: Some(dir.clone()),
            ..Config::default()
        })
        .unwrap(),
    );
    s.spawn(l).unwrap();
    let (st, b) = fetch(&format!("http://127.0.0.1:{port}/d/blob.bin")).unwrap();
    assert_eq!(st, 200);
    assert!(b == data);
    let (st, b) = fetch(&format!("http://127.0.0.1:{port}/d")).unwrap();
    assert_eq!(st, 200);
    assert!(String::from_utf8_lossy(&b).contains("blob.bin"));
    assert_eq!(
        fetch(&format!("http://127.0.0.1:{port}/nope")).unwrap().0,
        404
    );

    // get_cmd: to a file; a 404 is an error and leaves no file.
    let out = dir.join("out.bin");
    let f = get_cmd(
        &format!("http://localhost:{port}/d/blob.bin"),
        Some(&out),
        local,
    )
    .unwrap();
    assert_eq!(f.body_len, data.len() as u64);
    assert!(std::fs::read(&out).unwrap() == data);
    let missing = dir.join("missing.bin");
    let e = get_cmd(
        &format!("http://localhost:{port}/none"),
        Some(&missing),
        local,
    )
    .unwrap_err();
    assert!(e.contains("404"), "{e}");
    assert!(!missing.exists());
    let e = get_cmd("http://localhost:1/", Some(&missing), local).unwrap_err();
    assert!(e.contains("refused"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
