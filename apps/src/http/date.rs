//! HTTP dates (RFC 9110 5.6.7): written as IMF-fixdate, read in all three formats.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Whole seconds since the Unix epoch (times before it count as the epoch): HTTP dates have
/// one-second resolution, so comparisons happen in these units.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Formats `t` as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 5.6.7:
/// "a sender MUST generate the IMF-fixdate format").
pub fn format(t: SystemTime) -> String {
    let secs = unix_secs(t);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let wd = (days + 3).rem_euclid(7) as usize;
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[wd],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses an HTTP-date in any of the three formats RFC 9110 5.6.7 requires a recipient to
/// accept: IMF-fixdate, the obsolete RFC 850 form (two-digit year) and asctime. `None` for
/// anything else — RFC 9110 13.1.3 says an invalid date in a condition is then ignored.
pub fn parse(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (y, m, d, hms) = if let Some((day, rest)) = s.split_once(", ") {
        if DAYS.contains(&day) {
            // IMF-fixdate: "06 Nov 1994 08:49:37 GMT"
            let p: Vec<&str> = rest.split(' ').collect();
            if p.len() != 5 || p[4] != "GMT" || p[0].len() != 2 || p[2].len() != 4 {
                return None;
            }
            (num(p[2])?, month(p[1])?, num(p[0])?, p[3])
        } else if LONG_DAYS.contains(&day) {
            // RFC 850: "06-Nov-94 08:49:37 GMT"
            let p: Vec<&str> = rest.split(' ').collect();
            if p.len() != 3 || p[2] != "GMT" {
                return None;
            }
            let dp: Vec<&str> = p[0].split('-').collect();
            if dp.len() != 3 || dp[0].len() != 2 || dp[2].len() != 2 {
                return None;
            }
            (
                two_digit_year(num(dp[2])?),
                month(dp[1])?,
                num(dp[0])?,
                p[1],
            )
        } else {
            return None;
        }
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994"
        let p: Vec<&str> = s.split(' ').filter(|x| !x.is_empty()).collect();
        if p.len() != 5 || !DAYS.contains(&p[0]) || p[4].len() != 4 {
            return None;
        }
        (num(p[4])?, month(p[1])?, num(p[2])?, p[3])
    };
    let t: Vec<&str> = hms.split(':').collect();
    if t.len() != 3 || t.iter().any(|x| x.len() != 2) {
        return None;
    }
    let (hh, mm, ss) = (num(t[0])?, num(t[1])?, num(t[2])?);
    // RFC 9110 5.6.7 allows a leap second (60).
    if !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 || y < 1970 {
        return None;
    }
    let days = days_from_civil(y as i64, m, d);
    let secs = days as u64 * 86_400 + hh * 3600 + mm * 60 + ss;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

fn num(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month(s: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == s).map(|i| i as u32 + 1)
}

/// RFC 9110 5.6.7: a two-digit year that appears more than 50 years in the future is
/// taken as the most recent past year with the same last two digits.
fn two_digit_year(yy: u64) -> u64 {
    let now = unix_secs(SystemTime::now());
    let (this_year, _, _) = civil_from_days((now / 86_400) as i64);
    let this_year = this_year as u64;
    let mut y = this_year - this_year % 100 + yy;
    if y > this_year + 50 {
        y -= 100;
    }
    y
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

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
