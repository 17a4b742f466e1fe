//! Byte ranges (RFC 9110 14): a `Range: bytes=...` request header against a
//! representation of known length.

/// What to do with a Range header.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Send the whole representation with 200: no Range, an unknown unit, invalid syntax,
    /// or several ranges (RFC 9110 14.2: a server MAY ignore Range; it MUST ignore a range
    /// unit it does not understand).
    Full,
    /// Send bytes `start..=end` with 206 and `Content-Range: bytes start-end/len`
    /// (RFC 9110 14.4, 15.3.7).
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */len` (RFC 9110 15.5.17).
    Unsatisfiable,
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Applies `header` (the Range field value) to a representation of `len` bytes.
///
/// RFC 9110 14.1.1 / 14.1.2: `bytes=first-last`, `bytes=first-` (to the end) and
/// `bytes=-suffix` (the last `suffix` bytes); a `last` past the end is clamped to the end,
/// a suffix longer than the representation means all of it. A range whose `last` is less
/// than its `first` is invalid (the header is ignored). A set is satisfiable if a
/// `first` lies inside the representation or a suffix length is non-zero (RFC 9110
/// 14.1.1); otherwise 416.
pub fn apply(header: &str, len: u64) -> RangeOutcome {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    let specs: Vec<&str> = set
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    // Only one range is served; a multipart/byteranges answer is not implemented, and
    // RFC 9110 14.2 lets the server ignore the header instead.
    let [spec] = specs.as_slice() else {
        return RangeOutcome::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Some(suffix) = digits(last) else {
            return RangeOutcome::Full;
        };
        if suffix == 0 {
            return RangeOutcome::Unsatisfiable;
        }
        if len == 0 {
            // Nothing to send a part of: ignore the header and send the empty 200.
            return RangeOutcome::Full;
        }
        return RangeOutcome::Partial {
            start: len.saturating_sub(suffix),
            end: len - 1,
        };
    }
    let Some(start) = digits(first) else {
        return RangeOutcome::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match digits(last) {
            Some(e) if e >= start => e,
            _ => return RangeOutcome::Full,
        }
    };
    if start >= len {
        return RangeOutcome::Unsatisfiable;
    }
    RangeOutcome::Partial {
        start,
        end: end.min(len - 1),
    }
}
