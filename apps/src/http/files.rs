//! Static files from the web root: Content-Type by extension, conditional requests
//! (RFC 9110 13), byte ranges (RFC 9110 14), and directory listings.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::date;
use super::pages::html_escape;
use super::range::{self, RangeOutcome};
use super::request::Request;
use super::response::{Body, Response};

/// The most entries a directory listing shows.
pub const MAX_LISTING: usize = 10_000;

/// The media type for a file name's extension (RFC 9110 8.3); unknown is
/// `application/octet-stream`.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("txt" | "log" | "rs" | "c" | "h" | "toml" | "sh" | "py") => {
            "text/plain; charset=utf-8"
        }
        Some("md") => "text/markdown; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("pdf") => "application/pdf",
        Some("wasm") => "application/wasm",
        Some("zip") => "application/zip",
        Some("gz" | "tgz") => "application/gzip",
        Some("tar") => "application/x-tar",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        Some("wav") => "audio/wav",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("pcap") => "application/vnd.tcpdump.pcap",
        _ => "application/octet-stream",
    }
}

/// What the conditional request fields decide (RFC 9110 13.2.2).
#[derive(Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Go on to evaluate Range and send the representation.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions of a GET or HEAD on a representation last modified at
/// `mtime` (whole seconds since the epoch). This server sends no entity tags, so no tag a
/// client sends can match ours; only `*` matches (the file exists).
///
/// RFC 9110 13.2.2 order: If-Match (13.1.1), else If-Unmodified-Since (13.1.4); then
/// If-None-Match (13.1.2), else If-Modified-Since (13.1.3) — "A recipient MUST ignore
/// If-Modified-Since if the request contains an If-None-Match header field", and an
/// invalid date is ignored; the condition is false (304) if the last modification is
/// earlier than or equal to the date given.
pub fn preconditions(req: &Request, mtime: Option<u64>) -> Precondition {
    if let Some(im) = req.header("if-match") {
        if im.trim() != "*" {
            return Precondition::Failed;
        }
    } else if let (Some(d), Some(m)) = (
        req.header("if-unmodified-since").and_then(date::parse),
        mtime,
    ) {
        if m > date::unix_secs(d) {
            return Precondition::Failed;
        }
    }
    if let Some(inm) = req.header("if-none-match") {
        if inm.trim() == "*" {
            return Precondition::NotModified;
        }
    } else if let (Some(d), Some(m)) =
        (req.header("if-modified-since").and_then(date::parse), mtime)
    {
        if m <= date::unix_secs(d) {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Answers a GET or HEAD for the regular file at `path` (already checked to be under the
/// web root).
pub fn serve_file(req: &Request, path: &Path) -> Response {
    let Ok(file) = File::open(path) else {
        return Response::text(404, "no such file");
    };
    let Ok(meta) = file.metadata() else {
        return Response::text(404, "no such file");
    };
    serve_opened(req, path, file, &meta)
}

/// As [`serve_file`], for a file already open (`meta` its metadata).
pub fn serve_opened(req: &Request, path: &Path, file: File, meta: &std::fs::Metadata) -> Response {
    // Only regular files: a FIFO or a device inside the root would block or never end.
    if !meta.is_file() {
        return Response::text(404, "not a regular file");
    }
    let len = meta.len();
    let mtime = meta.modified().ok();
    let last_modified = mtime.map(date::format);
    let with_lm = |r: Response| match &last_modified {
        Some(lm) => r.with("Last-Modified", lm.clone()),
        None => r,
    };
    match preconditions(req, mtime.map(date::unix_secs)) {
        Precondition::NotModified => {
            return with_lm(Response {
                status: 304,
                headers: Vec::new(),
                body: Body::None,
                close: false,
            })
        }
        Precondition::Failed => return Response::text(412, "precondition failed"),
        Precondition::Proceed => {}
    }
    // RFC 9110 14.2: range handling is defined for GET only ("A server MUST ignore a
    // Range header field received with a request method that is unrecognized or for
    // which range handling is not defined"). RFC 9110 13.1.5: with If-Range, the range
    // applies only if the validator matches; a date must equal Last-Modified exactly,
    // and an entity tag never matches here.
    let mut outcome = RangeOutcome::Full;
    if req.method == "GET" {
        if let Some(h) = req.header("range") {
            let if_range_ok = match req.header("if-range") {
                None => true,
                Some(v) => match (date::parse(v), mtime) {
                    (Some(d), Some(m)) => date::unix_secs(d) == date::unix_secs(m),
                    _ => false,
                },
            };
            if if_range_ok {
                outcome = range::apply(h, len);
            }
        }
    }
    let ct = content_type(path);
    match outcome {
        RangeOutcome::Full => with_lm(Response {
            status: 200,
            headers: vec![
                ("Content-Type", ct.into()),
                ("Accept-Ranges", "bytes".into()),
            ],
            body: Body::File {
                file,
                start: 0,
                len,
            },
            close: false,
        }),
        RangeOutcome::Partial { start, end } => with_lm(Response {
            status: 206,
            headers: vec![
                ("Content-Type", ct.into()),
                ("Accept-Ranges", "bytes".into()),
                ("Content-Range", format!("bytes {start}-{end}/{len}")),
            ],
            body: Body::File {
                file,
                start,
                len: end - start + 1,
            },
            close: false,
        }),
        RangeOutcome::Unsatisfiable => Response::text(416, "range not satisfiable")
            .with("Content-Range", format!("bytes */{len}"))
            .with("Accept-Ranges", "bytes"),
    }
}

/// Percent-encodes a file name for use in a link (RFC 3986 2.1), leaving unreserved
/// characters as they are.
pub fn percent_encode(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An HTML listing of `dir`, shown at the URL path `url_path` (which ends in `/`).
pub fn listing(url_path: &str, dir: &Path) -> Response {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Response::text(404, "cannot list directory");
    };
    let mut entries: Vec<(Vec<u8>, bool)> = rd
        .filter_map(Result::ok)
        .take(MAX_LISTING)
        .map(|e| {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            (e.file_name().as_bytes().to_vec(), is_dir)
        })
        .collect();
    entries.sort();
    let title = html_escape(url_path);
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
         </head>\n<body>\n<h1>Index of {title}</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n"
    );
    for (name, is_dir) in entries {
        let slash = if is_dir { "/" } else { "" };
        let _ = writeln!(
            s,
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>",
            percent_encode(&name),
            html_escape(&String::from_utf8_lossy(&name))
        );
    }
    s.push_str("</ul>\n</body></html>\n");
    Response::bytes(200, "text/html; charset=utf-8", s.into_bytes())
}
