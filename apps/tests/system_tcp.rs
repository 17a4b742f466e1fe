//! System tests: TCP between the Linux kernel (`nc` from netcat-openbsd) and the
//! `tunstack` binary's services over a real TUN device in a test-made namespace.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, Tunstack};

fn sha(path: &std::path::Path) -> String {
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

/// `nc` sends 64 MiB to the discard port, then sends it through the echo port and reads
/// it back intact.
#[test]
fn nc_64_mib_discard_and_echo() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up(&["up", "--netns", ns.name(), "--seed", "5", "--tun", "tstcp0"]);
    let input = common::temp_path("64m.bin");
    let output = common::temp_path("64m.out");
    let mut data = vec![0u8; 64 << 20];
    tunstack::rand::Rng::new(64).fill(&mut data);
    std::fs::write(&input.0, &data).unwrap();
    drop(data);

    let sh = |cmd: String| {
        let out = ns.exec("sh", &["-c", &cmd]);
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(format!("nc -N 10.77.0.2 9 < {}", input.0.display()));
    sh(format!(
        "nc -N 10.77.0.2 7 < {} > {}",
        input.0.display(),
        output.0.display()
    ));
    assert_eq!(std::fs::metadata(&output.0).unwrap().len(), 64 << 20);
    assert_eq!(sha(&input.0), sha(&output.0), "echoed data differs");

    let (ok, lines) = t.stop();
    assert!(ok);
    assert!(
        counter(&lines, "TcpPassiveOpens").unwrap_or(0) >= 2,
        "{lines:#?}"
    );
    // 64 MiB in, 64 MiB in again and out: at least 3 * 64 MiB / 1448 segments.
    assert!(
        counter(&lines, "TcpInSegs").unwrap_or(0) > 2 * (64 << 20) / 1448,
        "{lines:#?}"
    );
}

/// chargen sends RFC 864's rotating lines until the client goes away.
#[test]
fn nc_reads_chargen() {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let _t = Tunstack::up(&["up", "--netns", ns.name(), "--tun", "tschg0"]);
    let out = ns.exec("sh", &["-c", "nc 10.77.0.2 19 | head -c 148"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0].len(), 72, "{text:?}");
    assert!(lines[0].starts_with(" !\"#$%"), "{text:?}");
    assert!(lines[1].starts_with("!\"#$%&"), "{text:?}");
}
