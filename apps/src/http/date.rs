//! HTTP dates (RFC 9110 5.6.7): written as IMF-fixdate, read in all three formats, on the
//! `httpdate` crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch (times before it count as the epoch): HTTP dates have
/// one-second resolution, so comparisons happen in these units.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Formats `t` as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 5.6.7:
/// "a sender MUST generate the IMF-fixdate format"). Times before the epoch are written
/// as the epoch; those after 9999 as the last second of 9999 (four-digit years).
pub fn format(t: SystemTime) -> String {
    const LAST: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let secs = unix_secs(t).min(LAST);
    httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Appends `now` as an HTTP-date (the Date field), formatted once per second per thread:
/// a busy server answers thousands of requests with the same second.
pub fn append_now(out: &mut Vec<u8>, now: SystemTime) {
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let secs = unix_secs(now);
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 != secs {
            *l = (secs, format(now));
        }
        out.extend_from_slice(l.1.as_bytes());
    });
}

/// Parses an HTTP-date in any of the three formats RFC 9110 5.6.7 requires a recipient to
/// accept: IMF-fixdate, the obsolete RFC 850 form (two-digit year) and asctime. `None` for
/// anything else — RFC 9110 13.1.3 says an invalid date in a condition is then ignored.
pub fn parse(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// RFC 9110 5.6.7's example instant, 784111777 seconds after the epoch.
    #[test]
    fn formats_the_rfc_example() {
        assert_eq!(format(at(784_111_777)), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    /// RFC 9110 5.6.7: all three formats are accepted.
    #[test]
    fn parses_all_three_formats() {
        let t = Some(at(784_111_777));
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), t);
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), t);
    }

    #[test]
    fn round_trips() {
        for s in [0, 1, 86_399, 86_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse(&format(at(s))), Some(at(s)), "{s}");
        }
    }

    /// RFC 9110 13.1.3: an invalid date is ignored, so it must not parse.
    /// The cached Date follows the clock: a new second gives a new date, the same second
    /// the same one.
    #[test]
    fn the_date_field_follows_the_second() {
        let field = |t| {
            let mut v = Vec::new();
            append_now(&mut v, t);
            String::from_utf8(v).unwrap()
        };
        let t = at(784_111_777);
        assert_eq!(field(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            field(t + Duration::from_millis(999)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            field(t + Duration::from_secs(1)),
            "Sun, 06 Nov 1994 08:49:38 GMT"
        );
        assert_eq!(field(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }
}
