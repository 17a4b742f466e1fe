//! Mapping a request target to a file under the web root, so that nothing outside the
//! root is ever served.
//!
//! Two independent defences: the decoded path is normalised lexically (dot segments
//! removed, encoded slashes and NUL refused), and the file it names is then
//! canonicalised (symlinks resolved) and must still lie under the canonical root.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Why a target was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PathError {
    /// Not an origin-form path, a bad percent escape, an encoded `/` or a NUL: 400.
    Bad,
    /// Does not exist, or leaves the web root once symlinks are resolved: 404.
    NotFound,
}

/// The path part of a request target: RFC 9112 3.2.1 origin-form (`/a/b?q`) or 3.2.2
/// absolute-form (`http://host/a/b?q`, which a server MUST accept). The query is dropped
/// (a static server has no use for it). `None` for the other forms.
pub fn target_path(target: &str) -> Option<&str> {
    let path = if target.starts_with('/') {
        target
    } else {
        let rest = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("HTTP://"))?;
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    };
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes percent escapes in one path segment (RFC 3986 2.1). A byte that is (or an
/// escape that decodes to) `/`, `\` or NUL is refused: `%2F` would let a segment smuggle
/// a separator past the dot-segment check, `\` is a separator to other systems' tools,
/// and NUL cannot be in a file name.
pub fn decode_segment(seg: &str) -> Result<Vec<u8>, PathError> {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex).ok_or(PathError::Bad)?;
            let lo = b.get(i + 2).copied().and_then(hex).ok_or(PathError::Bad)?;
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            b[i - 1]
        };
        if c == b'/' || c == 0 || c == b'\\' {
            return Err(PathError::Bad);
        }
        out.push(c);
    }
    Ok(out)
}

/// Splits a decoded path into its segments with dot segments removed (RFC 3986 5.2.4;
/// `%2e` is `.` by RFC 3986 6.2.2.2, so decoding comes first). `..` at the root stays at
/// the root, as in RFC 3986. Also reports whether the path ended in `/`.
pub fn normalise(path: &str) -> Result<(Vec<Vec<u8>>, bool), PathError> {
    if !path.starts_with('/') {
        return Err(PathError::Bad);
    }
    let mut segs: Vec<Vec<u8>> = Vec::new();
    let mut dir = true;
    for raw in path.split('/').skip(1) {
        let seg = decode_segment(raw)?;
        dir = false;
        match seg.as_slice() {
            b"" | b"." => dir = true,
            b".." => {
                segs.pop();
                dir = true;
            }
            _ => segs.push(seg),
        }
    }
    Ok((segs, dir))
}

/// The file (or directory) a target names under `root`, which must already be
/// canonical. The result is canonical and under `root`.
pub fn resolve(root: &Path, target: &str) -> Result<(PathBuf, bool), PathError> {
    let path = target_path(target).ok_or(PathError::Bad)?;
    let (segs, dir) = normalise(path)?;
    let mut p = root.to_path_buf();
    for s in &segs {
        p.push(OsStr::from_bytes(s));
    }
    // Resolve symlinks and `..` that the file system itself holds; then check the prefix.
    let canon = p.canonicalize().map_err(|_| PathError::NotFound)?;
    if !canon.starts_with(root) {
        log::warn!(target: super::LOG, "refused {target:?}: resolves outside the web root");
        return Err(PathError::NotFound);
    }
    Ok((canon, dir))
}
