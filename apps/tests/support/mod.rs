//! Running the `tunstack` binary in system tests: start it, wait for its ready line,
//! stop it with SIGTERM and collect what it printed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `tunstack` process, killed if dropped without [`Tunstack::stop`].
pub struct Tunstack {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Stdout lines read so far.
    pub seen: Vec<String>,
}

impl Tunstack {
    /// Starts `tunstack ARGS` and waits (up to 20 s) for the line saying it is up.
    pub fn up(args: &[&str]) -> Tunstack {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tunstack"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tunstack");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut t = Tunstack {
            child: Some(child),
            lines: rx,
            seen: Vec::new(),
        };
        loop {
            match t.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(l) => {
                    let ready = l.starts_with("tunstack: up on");
                    t.seen.push(l);
                    if ready {
                        return t;
                    }
                }
                Err(_) => {
                    let mut c = t.child.take().expect("child");
                    let _ = c.kill();
                    let _ = c.wait();
                    let mut err = String::new();
                    if let Some(mut e) = c.stderr.take() {
                        let _ = e.read_to_string(&mut err);
                    }
                    panic!(
                        "tunstack did not come up; stdout {:?}, stderr {err}",
                        t.seen
                    );
                }
            }
        }
    }

    /// The process id (for reading its `/proc` entries).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM, waits for the exit, and returns (exit success, all stdout lines).
    pub fn stop(mut self) -> (bool, Vec<String>) {
        let mut child = self.child.take().expect("child");
        // SAFETY: kill takes no pointers; the pid is our own unreaped child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().expect("wait");
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        (status.success(), std::mem::take(&mut self.seen))
    }
}

impl Drop for Tunstack {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The kinds of link `tunstack` runs on, for system tests that run on both: one test
/// body, two media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// A TUN device: bare IP.
    Tun,
    /// A TAP device: Ethernet and ARP, the stack at [`STACK_MAC`].
    Tap,
}

/// The Ethernet address the tests give the stack on TAP (`--mac`).
pub const STACK_MAC: &str = "02:00:5e:77:00:02";

impl Link {
    /// A device name for this medium from `stem`: `STEM-tun` or `STEM-tap`, so a device
    /// (or a namespace left behind) says which case made it. Panics if the name does not
    /// fit in IFNAMSIZ (15 bytes and the NUL).
    pub fn dev(self, stem: &str) -> String {
        let name = match self {
            Link::Tun => format!("{stem}-tun"),
            Link::Tap => format!("{stem}-tap"),
        };
        assert!(name.len() < 16, "device name too long: {name}");
        name
    }

    /// The flags that select this link with device `name`: `--tun NAME`, or
    /// `--tap NAME --mac STACK_MAC`.
    pub fn args(self, name: &str) -> Vec<String> {
        match self {
            Link::Tun => vec!["--tun".into(), name.into()],
            Link::Tap => vec![
                "--tap".into(),
                name.into(),
                "--mac".into(),
                STACK_MAC.into(),
            ],
        }
    }
}

impl Tunstack {
    /// Starts `tunstack ARGS` on `link` with device `dev` (see [`Link::args`]), and waits
    /// for it to come up like [`Tunstack::up`].
    pub fn up_on(link: Link, dev: &str, args: &[&str]) -> Tunstack {
        let link_args = link.args(dev);
        let mut all = args.to_vec();
        all.extend(link_args.iter().map(String::as_str));
        Tunstack::up(&all)
    }
}

/// The value of counter `name` in lines `Name   value`.
pub fn counter(lines: &[String], name: &str) -> Option<u64> {
    lines.iter().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some(name))
            .then(|| w.next()?.parse().ok())
            .flatten()
    })
}

/// From ping's summary: (transmitted, received).
pub fn ping_counts(out: &str) -> (u32, u32) {
    let line = out
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping summary in:\n{out}"));
    let nums: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1])
}

/// A command's stdout and stderr together, for assertions and failure messages.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The SHA-256 of a file, as `sha256sum` prints it.
pub fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}
