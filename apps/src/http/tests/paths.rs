//! Path normalisation: nothing outside the web root is ever served.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::TempDir;
use crate::http::path::{decode_segment, normalise, open, resolve, target_path, PathError};

/// A web root `www/` beside a secret file and a secret directory, with symlinks out of
/// the root and within it.
fn layout() -> (TempDir, PathBuf) {
    let t = TempDir::new("paths");
    let www = t.0.join("www");
    std::fs::create_dir_all(www.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(t.0.join("secretdir")).unwrap();
    std::fs::write(t.0.join("secret"), "SECRET").unwrap();
    std::fs::write(t.0.join("secretdir/secret"), "SECRET").unwrap();
    std::fs::write(www.join("index.html"), "hi").unwrap();
    std::fs::write(www.join("sub/file.txt"), "file").unwrap();
    std::fs::write(www.join("a b.txt"), "space").unwrap();
    symlink(t.0.join("secret"), www.join("link_out")).unwrap();
    symlink("../secret", www.join("rel_link_out")).unwrap();
    symlink(t.0.join("secretdir"), www.join("link_out_dir")).unwrap();
    symlink("/etc", www.join("etc")).unwrap();
    symlink("sub/file.txt", www.join("link_in")).unwrap();
    symlink(www.join("sub"), www.join("link_in_dir")).unwrap();
    let root = www.canonicalize().unwrap();
    (t, root)
}

/// Attempts to leave the root: each is refused, or lands on a path inside the root.
#[test]
fn traversal_attempts_stay_inside() {
    let (_t, root) = layout();
    let attempts = [
        "/../secret",
        "/../../../../../../etc/passwd",
        "/%2e%2e/secret",
        "/%2E%2E/secret",
        "/%2e./secret",
        "/.%2e/secret",
        "/..%2fsecret",
        "/..%2Fsecret",
        "/%2e%2e%2fsecret",
        "/sub/../../secret",
        "/sub/deeper/../../../secret",
        "/sub/%2e%2e/%2e%2e/secret",
        "/./../secret",
        "//../secret",
        "/..\\secret",
        "/..%5csecret",
        "/%2e%2e%5csecret",
        "/index.html%00",
        "/secret%00.html",
        "/sub/..%00/secret",
        "/link_out",
        "/rel_link_out",
        "/link_out_dir/secret",
        "/link_out_dir/",
        "/link_out_dir",
        "/etc/passwd",
        "/etc/",
        "http://evil/../secret",
        "http://evil/%2e%2e/secret",
        "/%252e%252e/secret",
        "/%c0%ae%c0%ae/secret",
        "/....//secret",
        "/..;/secret",
        "/%",
        "/%2",
        "/%zz",
        "../secret",
        "*",
        "secret",
        "/sub/..",
        "/..",
    ];
    assert!(attempts.len() >= 20);
    for a in attempts {
        match resolve(&root, a) {
            Err(_) => {}
            Ok((p, _)) => {
                assert!(p.starts_with(&root), "{a:?} resolved to {}", p.display());
                let inside = std::fs::read(&p).unwrap_or_default();
                assert_ne!(inside, b"SECRET", "{a:?}");
            }
        }
    }
}

fn outcome(root: &Path, t: &str) -> Result<PathBuf, PathError> {
    resolve(root, t).map(|(p, _)| p.strip_prefix(root).unwrap().to_path_buf())
}

/// The specific verdicts: encoded separators and NUL are 400; symlinks out are 404;
/// `..` above the root stays at the root (RFC 3986 5.2.4).
#[test]
fn verdicts() {
    let (_t, root) = layout();
    assert_eq!(outcome(&root, "/..%2fsecret"), Err(PathError::Bad));
    assert_eq!(outcome(&root, "/secret%00"), Err(PathError::Bad));
    assert_eq!(outcome(&root, "/a\\b"), Err(PathError::Bad));
    assert_eq!(outcome(&root, "/%zz"), Err(PathError::Bad));
    assert_eq!(outcome(&root, "*"), Err(PathError::Bad));
    assert_eq!(outcome(&root, "/link_out"), Err(PathError::NotFound));
    assert_eq!(
        outcome(&root, "/link_out_dir/secret"),
        Err(PathError::NotFound)
    );
    assert_eq!(outcome(&root, "/../secret"), Err(PathError::NotFound));
    assert_eq!(outcome(&root, "/../index.html"), Ok("index.html".into()));
    assert_eq!(
        outcome(&root, "/%2e%2e/index.html"),
        Ok("index.html".into())
    );
    assert_eq!(outcome(&root, "/..?x=/../../secret"), Ok("".into()));
}

/// What must keep working: plain files, escapes, symlinks that stay inside.
#[test]
fn legitimate_paths() {
    let (_t, root) = layout();
    assert_eq!(outcome(&root, "/"), Ok("".into()));
    assert_eq!(outcome(&root, "/index.html"), Ok("index.html".into()));
    assert_eq!(outcome(&root, "/index.html?v=1#x"), Ok("index.html".into()));
    assert_eq!(outcome(&root, "/sub/file.txt"), Ok("sub/file.txt".into()));
    assert_eq!(
        outcome(&root, "/sub/./deeper/../file.txt"),
        Ok("sub/file.txt".into())
    );
    assert_eq!(outcome(&root, "/a%20b.txt"), Ok("a b.txt".into()));
    assert_eq!(outcome(&root, "/link_in"), Ok("sub/file.txt".into()));
    assert_eq!(
        outcome(&root, "/link_in_dir/file.txt"),
        Ok("sub/file.txt".into())
    );
    assert_eq!(
        outcome(&root, "http://host/sub/file.txt"),
        Ok("sub/file.txt".into())
    );
    assert_eq!(outcome(&root, "/nope"), Err(PathError::NotFound));
    assert_eq!(resolve(&root, "/sub/").map(|(_, d)| d), Ok(true));
    assert_eq!(resolve(&root, "/sub").map(|(_, d)| d), Ok(false));
}

#[test]
fn lexical_pieces() {
    assert_eq!(target_path("/a?b"), Some("/a"));
    assert_eq!(target_path("http://h"), Some("/"));
    assert_eq!(target_path("h:80"), None);
    assert_eq!(decode_segment("%41%62c"), Ok(b"Abc".to_vec()));
    assert_eq!(decode_segment("%2F"), Err(PathError::Bad));
    assert_eq!(decode_segment("%00"), Err(PathError::Bad));
    let (segs, dir) = normalise("/a/./b/../c/").unwrap();
    assert_eq!(segs, vec![b"a".to_vec(), b"c".to_vec()]);
    assert!(dir);
}

/// `open` (openat2 beneath the open root, refusing symlinks, with `resolve` behind it)
/// names exactly what `resolve` names, for every target above and for symlinks within
/// the root, and opens that very file: what is read through it is the file's content.
#[test]
fn open_agrees_with_resolve() {
    let (_t, root) = layout();
    let root_dir = std::fs::File::open(&root).unwrap();
    let targets = [
        "/",
        "/index.html",
        "/index.html?v=1#x",
        "/sub/file.txt",
        "/sub/./deeper/../file.txt",
        "/a%20b.txt",
        "/link_in",
        "/link_in_dir/file.txt",
        "http://host/sub/file.txt",
        "/nope",
        "/sub/",
        "/sub",
        "/sub/deeper",
        "/../secret",
        "/../index.html",
        "/%2e%2e/index.html",
        "/link_out",
        "/rel_link_out",
        "/link_out_dir/secret",
        "/link_out_dir/",
        "/etc/passwd",
        "/..%2fsecret",
        "/secret%00",
        "*",
        "/%zz",
        "/sub/nope/deeper",
        "/index.html/x",
    ];
    for t in targets {
        let got = open(&root, &root_dir, t);
        let want = resolve(&root, t);
        match (&got, &want) {
            (Ok(o), Ok((p, slash))) => {
                assert_eq!((&o.path, o.slash), (p, *slash), "{t:?}");
                assert_eq!(o.meta.is_dir(), p.is_dir(), "{t:?}");
                if !p.is_dir() {
                    let mut via = Vec::new();
                    std::io::Read::read_to_end(&mut &o.file, &mut via).unwrap();
                    assert_eq!(via, std::fs::read(p).unwrap(), "{t:?}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{t:?}"),
            _ => panic!("{t:?}: open gave {got:?}, resolve {want:?}"),
        }
    }
}
