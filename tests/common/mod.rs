//! Helpers shared by the system tests (include with `mod common;`).
//!
//! They implement the network etiquette of `docs/DESIGN.md`:
//!
//! * every test that touches the kernel's network works inside a fresh network namespace
//!   ([`NetNs`]) with a name unique to the run, deleted when the guard drops, also when
//!   the test panics (and namespaces left behind by a killed run are swept on the next);
//! * TUN/TAP devices, addresses and sockets are created from a thread that has entered
//!   that namespace ([`NetNs::run`], [`NetNs::spawn`]); commands run there through
//!   `ip netns exec` ([`NetNs::exec`]);
//! * a test that needs root and finds none prints `skipped: ...` and returns
//!   ([`require_root`], [`require_tool`]).
//!
//! ```ignore
//! mod common;
//! #[test]
//! fn ping_through_tun() {
//!     if !common::require_root() || !common::require_tool("ping") { return; }
//!     let ns = common::NetNs::new();
//!     ns.run(|| {
//!         let dev = tunstack::link::TunDevice::open("tun0").unwrap();   // lives in `ns`
//!         // ... configure, start the stack on a thread spawned from here (threads
//!         // inherit the namespace), then:
//!         let out = ns.exec("ping", &["-c1", "-W2", "10.77.0.2"]);
//!         assert!(out.status.success());
//!     });
//! }
//! ```
#![allow(dead_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tunstack::link::Device;

/// Prefix of every namespace these helpers create: `tst-<pid>-<counter>`.
pub const NS_PREFIX: &str = "tst-";

/// Whether the test runs as root; if not, prints `skipped: needs root (CAP_NET_ADMIN)`
/// (so the run shows the test as skipped) and returns false.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no arguments and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        true
    } else {
        println!("skipped: needs root (CAP_NET_ADMIN)");
        false
    }
}

/// Whether the program `tool` is on the PATH; if not, prints `skipped: needs <tool>` and
/// returns false.
pub fn require_tool(tool: &str) -> bool {
    if find_tool(tool).is_some() {
        true
    } else {
        println!("skipped: needs `{tool}` on the PATH");
        false
    }
}

/// The path of program `tool` on the PATH, if any.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// A network namespace made for one test; deleted when dropped.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

impl NetNs {
    /// Creates a fresh namespace `tst-<pid>-<n>` with its loopback interface up.
    /// Panics with `ip`'s message if that fails (the caller checked [`require_root`]).
    pub fn new() -> NetNs {
        NetNs::try_new().unwrap_or_else(|e| panic!("cannot create a network namespace: {e}"))
    }

    /// Like [`NetNs::new`], returning the error instead of panicking.
    pub fn try_new() -> io::Result<NetNs> {
        SWEEP.call_once(sweep_stale_namespaces);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NS_PREFIX}{}-{n}", std::process::id());
        run_ip(&["netns", "add", &name])?;
        // From here on the guard owns the namespace and deletes it even if setup fails.
        let ns = NetNs { name };
        run_ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns` knows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's bind mount, `/run/netns/<name>`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns its result
    /// (a panic in `f` is passed on to the caller). Devices, sockets and threads that `f`
    /// creates live in the namespace: threads spawned from it inherit it.
    pub fn run<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let path = self.path();
        std::thread::scope(|s| {
            let h = s.spawn(move || {
                enter(&path).unwrap_or_else(|e| panic!("cannot enter {}: {e}", path.display()));
                f()
            });
            match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Starts `f` on a new thread inside this namespace and returns at once. Join the
    /// handle before the guard drops if the thread uses the namespace's devices.
    pub fn spawn<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let path = self.path();
        std::thread::spawn(move || {
            enter(&path).unwrap_or_else(|e| panic!("cannot enter {}: {e}", path.display()));
            f()
        })
    }

    /// Runs `cmd args...` inside the namespace (`ip netns exec`) and returns its output.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        self.command(cmd, args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip netns exec {cmd}: {e}"))
    }

    /// Runs `cmd args...` inside the namespace and returns its stdout; panics, showing
    /// stderr, if it fails.
    pub fn exec_ok(&self, cmd: &str, args: &[&str]) -> String {
        let out = self.exec(cmd, args);
        if !out.status.success() {
            panic!(
                "`{cmd} {}` in {} failed ({}):\n{}{}",
                args.join(" "),
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `cmd args...` inside the namespace in the background, output piped; the
    /// process is killed when the returned guard drops.
    pub fn spawn_cmd(&self, cmd: &str, args: &[&str]) -> ChildGuard {
        let child = self
            .command(cmd, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd}: {e}"));
        ChildGuard { child: Some(child) }
    }

    /// `ip args...` inside the namespace; panics, showing stderr, if it fails.
    pub fn ip(&self, args: &[&str]) {
        self.exec_ok("ip", args);
    }

    /// Creates a veth pair between this namespace and `peer` (`mtu` if given), both ends
    /// down, named `<tag>a<pid>` here and `<tag>b<pid>` there (deleted with the
    /// namespaces); returns the two names.
    pub fn veth_to(&self, peer: &NetNs, tag: &str, mtu: Option<u32>) -> (String, String) {
        let pid = std::process::id() % 100_000;
        let (here, there) = (format!("{tag}a{pid}"), format!("{tag}b{pid}"));
        let mtu = mtu.map(|m| m.to_string());
        let mtu: Vec<&str> = mtu.iter().flat_map(|m| ["mtu", m.as_str()]).collect();
        let mut args = vec!["link", "add", &here];
        args.extend(&mtu);
        args.extend(["type", "veth", "peer", "name", &there]);
        args.extend(&mtu);
        args.extend(["netns", peer.name()]);
        self.ip(&args);
        (here, there)
    }

    /// A `Command` for `ip netns exec <name> cmd args...`, to adjust before running.
    pub fn command(&self, cmd: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, cmd]).args(args);
        c
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Err(e) = run_ip(&["netns", "del", &self.name]) {
            eprintln!(
                "warning: could not delete network namespace {}: {e}",
                self.name
            );
        }
    }
}

/// Moves the calling thread into the network namespace bound at `path` (setns(2)).
pub fn enter(path: &std::path::Path) -> io::Result<()> {
    let f = File::open(path)?;
    // SAFETY: `f` is an open descriptor of a network namespace file; setns only changes
    // the calling thread's namespace and takes no pointers.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn run_ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Deletes namespaces `tst-<pid>-*` whose process is gone (left by a run that was
/// killed before its guards could drop). Namespaces of live processes are left alone.
fn sweep_stale_namespaces() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(NS_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run_ip(&["netns", "del", &name]);
        }
    }
}

/// A background process that is killed (and reaped) when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
}

impl ChildGuard {
    /// The process.
    pub fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("child already taken")
    }

    /// Waits for the process to end and returns its output.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        self.child
            .take()
            .expect("child already taken")
            .wait_with_output()
    }

    /// Asks the process to stop with SIGTERM (tshark then writes out its capture), waits
    /// up to `grace`, kills it if still alive, and returns its output.
    pub fn stop(mut self, grace: Duration) -> io::Result<Output> {
        let mut child = self.child.take().expect("child already taken");
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill takes no pointers; `pid` is our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait_with_output()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until `fd` is readable or `timeout` passes; true if readable.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `p` is one valid pollfd for the duration of the call; the count is 1.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    n == 1 && p.revents & libc::POLLIN != 0
}

/// Receives frames from `dev` until one satisfies `want` or `timeout` passes; frames that
/// do not match (IPv6 router solicitations, MLD reports, ...) are skipped. Waits on the
/// device's descriptor when it has one.
pub fn recv_matching<D: Device + ?Sized>(
    dev: &mut D,
    timeout: Duration,
    mut want: impl FnMut(&[u8]) -> bool,
) -> Option<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65_536];
    loop {
        while let Some(n) = dev
            .recv(&mut buf, tunstack::time::Instant::now())
            .expect("device receive failed")
        {
            if want(&buf[..n]) {
                return Some(buf[..n].to_vec());
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        let left = (deadline - now).min(Duration::from_millis(50));
        match dev.raw_fd() {
            Some(fd) => {
                wait_readable(fd, left);
            }
            None => std::thread::sleep(left.min(Duration::from_millis(1))),
        }
    }
}

/// A scratch path unique to this process and `tag`, in the temp directory; the file or
/// directory made there is removed when the returned guard drops.
pub fn temp_path(tag: &str) -> TempPath {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    TempPath(std::env::temp_dir().join(format!("tunstack-{}-{n}-{tag}", std::process::id())))
}

/// A path whose file (or directory, with its contents) is deleted on drop.
#[derive(Debug)]
pub struct TempPath(pub PathBuf);

impl std::ops::Deref for TempPath {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if std::fs::remove_file(&self.0).is_err() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
