//! Mapping a request target to a file under the web root, so that nothing outside the
//! root is ever served.
//!
//! Two independent defences: the decoded path is normalised lexically (dot segments
//! removed, encoded slashes and NUL refused), and the file it names is then
//! canonicalised (symlinks resolved) and must still lie under the canonical root.

use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
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

/// What [`open`] found: the file or directory a target names, open, with its metadata,
/// and the name [`resolve`] gives it (canonical, under the root).
#[derive(Debug)]
pub struct Opened {
    /// The canonical path.
    pub path: PathBuf,
    /// Whether the target ended in `/`.
    pub slash: bool,
    /// The file (or directory), opened read-only and non-blocking (a FIFO in the root
    /// cannot hold the server up).
    pub file: File,
    /// Its metadata.
    pub meta: Metadata,
}

/// As [`resolve`], and opens what the target names. The common case costs one openat2(2)
/// and one fstat: under the canonical root (`root_dir` is it, open), a path with no
/// symlink in it (`RESOLVE_NO_SYMLINKS`) and no dot segments (normalised) is already
/// canonical, and `RESOLVE_BENEATH` keeps it under the root. Anything else (a symlink on
/// the way, a missing file, a kernel without openat2) goes [`resolve`]'s way, which
/// canonicalises, so both give the same answer; the fast one saves a readlink(2) per
/// path component and a stat on every request.
pub fn open(root: &Path, root_dir: &File, target: &str) -> Result<Opened, PathError> {
    let path = target_path(target).ok_or(PathError::Bad)?;
    let (segs, slash) = normalise(path)?;
    let rel = if segs.is_empty() {
        b".".to_vec()
    } else {
        segs.join(&b'/')
    };
    if let Some(file) = open_beneath(root_dir, &rel) {
        if let Ok(meta) = file.metadata() {
            let mut p = root.to_path_buf();
            for s in &segs {
                p.push(OsStr::from_bytes(s));
            }
            return Ok(Opened {
                path: p,
                slash,
                file,
                meta,
            });
        }
    }
    let (p, slash) = resolve(root, target)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&p)
        .map_err(|_| PathError::NotFound)?;
    let meta = file.metadata().map_err(|_| PathError::NotFound)?;
    Ok(Opened {
        path: p,
        slash,
        file,
        meta,
    })
}

/// openat2(2) of `rel` under `dir`, refusing symlinks and escapes; `None` on any failure.
fn open_beneath(dir: &File, rel: &[u8]) -> Option<File> {
    let name = std::ffi::CString::new(rel).ok()?;
    // SAFETY: `open_how` is plain data; all-zero is a valid value, and every field the
    // kernel reads is set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 reads a NUL-terminated name that lives through the call and an
    // `open_how` of exactly the size passed; the descriptor it returns is ours alone and
    // owned by the `File` made from it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            name.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: a descriptor the kernel just returned to us, owned by nothing else.
    Some(unsafe { File::from_raw_fd(fd as RawFd) })
}
