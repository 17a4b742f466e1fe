//! Request heads, limits and body framing.

use crate::http::request::{framing, parse_head, Framing, Limits, Reject, Request};

const LIM: Limits = Limits {
    max_request_line: 100,
    max_head: 300,
    max_headers: 8,
};

fn status(buf: &[u8]) -> u16 {
    match parse_head(buf, &LIM) {
        Ok(Some(_)) => 0,
        Ok(None) => 1,
        Err(Reject { status, .. }) => status,
    }
}

fn req(s: &str) -> Request {
    parse_head(s.as_bytes(), &LIM).unwrap().unwrap().0
}

#[test]
fn parses_a_request() {
    let (r, n) = parse_head(
        b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\nNEXT",
        &LIM,
    )
    .unwrap()
    .unwrap();
    assert_eq!(n, 45);
    assert_eq!(r.method, "GET");
    assert_eq!(r.target, "/a?b");
    assert_eq!(r.minor, 1);
    assert_eq!(r.header("ACCEPT"), Some("*/*"));
    assert_eq!(r.header("host"), Some("x"));
}

/// RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line.
#[test]
fn ignores_leading_empty_lines() {
    assert_eq!(req("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").target, "/");
}

#[test]
fn incomplete_heads_wait() {
    for s in [
        "",
        "GET",
        "GET / HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n",
    ] {
        assert_eq!(status(s.as_bytes()), 1, "{s:?}");
    }
}

/// RFC 9112 3: a request-target longer than the server parses gets 414 — whether or not
/// its line has ended yet.
#[test]
fn long_request_line_is_414() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(200));
    assert_eq!(status(long.as_bytes()), 414);
    let unended = format!("GET /{}", "a".repeat(200));
    assert_eq!(status(unended.as_bytes()), 414);
    let just_fits = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(80));
    assert_eq!(status(just_fits.as_bytes()), 0);
}

/// RFC 6585 5: header fields too large, in total or in number, get 431.
#[test]
fn large_headers_are_431() {
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "v".repeat(400)
    );
    assert_eq!(status(big.as_bytes()), 431);
    let unended = format!("GET / HTTP/1.1\r\nHost: x\r\nX: {}", "v".repeat(400));
    assert_eq!(status(unended.as_bytes()), 431);
    let many: String = (0..9).map(|i| format!("X{i}: y\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(status(many.as_bytes()), 431);
}

/// RFC 9110 15.6.6: 505 for a major version the server does not support.
#[test]
fn other_versions_are_505() {
    assert_eq!(status(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
    assert_eq!(status(b"GET / HTTP/1.0\r\n\r\n"), 0);
}

/// RFC 9112 3.2: 400 for an HTTP/1.1 request without Host or with two.
#[test]
fn host_is_required_once() {
    assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

#[test]
fn malformed_heads_are_400() {
    for s in [
        &b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\rHost: x\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
    ] {
        assert_eq!(status(s), 400, "{:?}", String::from_utf8_lossy(s));
    }
}

/// Parsing never panics, whatever arrives.
#[test]
fn hostile_bytes_do_not_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let alphabet = b"GET /HTP1.0\r\n: \t%\x00\xffHost";
    for len in 0..400 {
        let buf: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect();
        let _ = parse_head(&buf, &LIM);
    }
}

/// RFC 9112 9.3: persistence by version and Connection.
#[test]
fn keep_alive_by_version() {
    assert!(req("GET / HTTP/1.1\r\nHost: x\r\n\r\n").keep_alive());
    assert!(!req("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n").keep_alive());
    assert!(!req("GET / HTTP/1.1\r\nHost: x\r\nConnection: x, close\r\n\r\n").keep_alive());
    assert!(!req("GET / HTTP/1.0\r\n\r\n").keep_alive());
    assert!(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
}

fn framed(extra: &str) -> Result<(Framing, bool), u16> {
    let r = req(&format!("POST / HTTP/1.1\r\nHost: x\r\n{extra}\r\n"));
    framing(&r).map_err(|e| e.status)
}

/// RFC 9112 6.1 and 6.3: which framing a request body has, or which error.
#[test]
fn body_framing() {
    assert_eq!(framed(""), Ok((Framing::None, false)));
    assert_eq!(
        framed("Content-Length: 5\r\n"),
        Ok((Framing::Length(5), false))
    );
    assert_eq!(
        framed("Content-Length: 5\r\nContent-Length: 5\r\n"),
        Ok((Framing::Length(5), false))
    );
    assert_eq!(
        framed("Content-Length: 5, 5\r\n"),
        Ok((Framing::Length(5), false))
    );
    assert_eq!(framed("Content-Length: 5, 6\r\n"), Err(400));
    assert_eq!(framed("Content-Length: -1\r\n"), Err(400));
    assert_eq!(framed("Content-Length: +5\r\n"), Err(400));
    assert_eq!(framed("Content-Length: 99999999999999999999\r\n"), Err(400));
    assert_eq!(
        framed("Transfer-Encoding: chunked\r\n"),
        Ok((Framing::Chunked, false))
    );
    assert_eq!(
        framed("Transfer-Encoding: Chunked\r\nContent-Length: 3\r\n"),
        Ok((Framing::Chunked, true))
    );
    assert_eq!(framed("Transfer-Encoding: gzip, chunked\r\n"), Err(501));
    assert_eq!(framed("Transfer-Encoding: chunked, gzip\r\n"), Err(400));
    assert_eq!(framed("Transfer-Encoding: \r\n"), Err(400));
    let r10 = req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert_eq!(framing(&r10).map_err(|e| e.status), Err(400));
}
