//! Byte ranges (RFC 9110 14) and conditional requests (RFC 9110 13).

use crate::http::date;
use crate::http::files::{preconditions, Precondition};
use crate::http::range::{apply, RangeOutcome};
use crate::http::request::{parse_head, Limits, Request};

fn part(start: u64, end: u64) -> RangeOutcome {
    RangeOutcome::Partial { start, end }
}

/// RFC 9110 14.1.1-14.1.2 on a 1000-byte representation.
#[test]
fn single_ranges() {
    use RangeOutcome::{Full, Unsatisfiable};
    let cases = [
        ("bytes=0-499", part(0, 499)),
        ("bytes=500-999", part(500, 999)),
        ("bytes=0-0", part(0, 0)),
        ("bytes=999-999", part(999, 999)),
        // last-pos past the end is clamped (14.1.2).
        ("bytes=500-5000", part(500, 999)),
        // open range: to the end.
        ("bytes=900-", part(900, 999)),
        ("bytes=0-", part(0, 999)),
        // suffix range: the last N bytes; longer than the representation means all.
        ("bytes=-100", part(900, 999)),
        ("bytes=-1", part(999, 999)),
        ("bytes=-5000", part(0, 999)),
        // unit and whitespace tolerance.
        ("Bytes=1-2", part(1, 2)),
        (" bytes = 1 - 2 ", part(1, 2)),
        // first-pos at or past the end: unsatisfiable (14.1.1, 15.5.17).
        ("bytes=1000-", Unsatisfiable),
        ("bytes=1000-2000", Unsatisfiable),
        ("bytes=-0", Unsatisfiable),
        // invalid: last < first, garbage, unknown unit, several ranges -> ignored (14.2).
        ("bytes=500-400", Full),
        ("bytes=a-b", Full),
        ("bytes=-", Full),
        ("bytes=", Full),
        ("bytes", Full),
        ("items=0-5", Full),
        ("bytes=0-1,5-6", Full),
        ("bytes=99999999999999999999-", Full),
        ("bytes=+1-2", Full),
    ];
    for (h, want) in cases {
        assert_eq!(apply(h, 1000), want, "{h}");
    }
}

/// An empty representation has no byte to point at: an explicit range is unsatisfiable,
/// a suffix range is ignored.
#[test]
fn empty_representation() {
    assert_eq!(apply("bytes=0-", 0), RangeOutcome::Unsatisfiable);
    assert_eq!(apply("bytes=0-0", 0), RangeOutcome::Unsatisfiable);
    assert_eq!(apply("bytes=-5", 0), RangeOutcome::Full);
}

fn get(headers: &str) -> Request {
    let lim = Limits {
        max_request_line: 1000,
        max_head: 4000,
        max_headers: 20,
    };
    let s = format!("GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    parse_head(s.as_bytes(), &lim).unwrap().unwrap().0
}

/// RFC 9110 13.1.3: 304 when the file was last modified at or before the date given;
/// invalid dates are ignored.
#[test]
fn if_modified_since() {
    let mtime = 1_700_000_000u64;
    let at = |s: u64| date::format(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
    let ims = |d: &str| preconditions(&get(&format!("If-Modified-Since: {d}\r\n")), Some(mtime));
    assert_eq!(ims(&at(mtime)), Precondition::NotModified);
    assert_eq!(ims(&at(mtime + 3600)), Precondition::NotModified);
    assert_eq!(ims(&at(mtime - 1)), Precondition::Proceed);
    assert_eq!(ims("not a date"), Precondition::Proceed);
    assert_eq!(preconditions(&get(""), Some(mtime)), Precondition::Proceed);
    // RFC 850 and asctime forms are understood too (RFC 9110 5.6.7).
    assert_eq!(
        ims("Tuesday, 14-Nov-23 22:13:20 GMT"),
        Precondition::NotModified
    );
    assert_eq!(ims("Tue Nov 14 22:13:20 2023"), Precondition::NotModified);
    assert_eq!(ims("Tue Nov 14 22:13:19 2023"), Precondition::Proceed);
}

/// RFC 9110 13.1.3 / 13.2.2: If-None-Match present means If-Modified-Since is ignored;
/// with no entity tags of ours, only `*` matches.
#[test]
fn if_none_match_takes_precedence() {
    let mtime = 1_700_000_000u64;
    let later = "Wed, 15 Nov 2023 00:00:00 GMT";
    let r = get(&format!(
        "If-None-Match: \"abc\"\r\nIf-Modified-Since: {later}\r\n"
    ));
    assert_eq!(preconditions(&r, Some(mtime)), Precondition::Proceed);
    let r = get("If-None-Match: *\r\n");
    assert_eq!(preconditions(&r, Some(mtime)), Precondition::NotModified);
}

/// RFC 9110 13.1.1 and 13.1.4: If-Match with a tag, or a file changed after
/// If-Unmodified-Since, fails with 412.
#[test]
fn if_match_and_if_unmodified_since() {
    let mtime = 1_700_000_000u64;
    assert_eq!(
        preconditions(&get("If-Match: \"x\"\r\n"), Some(mtime)),
        Precondition::Failed
    );
    assert_eq!(
        preconditions(&get("If-Match: *\r\n"), Some(mtime)),
        Precondition::Proceed
    );
    let before = "Tue, 14 Nov 2023 22:13:19 GMT";
    let r = get(&format!("If-Unmodified-Since: {before}\r\n"));
    assert_eq!(preconditions(&r, Some(mtime)), Precondition::Failed);
    let at = "Tue, 14 Nov 2023 22:13:20 GMT";
    let r = get(&format!("If-Unmodified-Since: {at}\r\n"));
    assert_eq!(preconditions(&r, Some(mtime)), Precondition::Proceed);
}
