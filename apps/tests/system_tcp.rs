//! System tests: TCP between the Linux kernel (`nc` from netcat-openbsd) and the
//! `tunstack` binary's services over a real TUN device in a test-made namespace, and the
//! same tests over a TAP device (Ethernet and ARP): one body, both media ([`Link`]).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{counter, sha256, Link, Tunstack};

#[test]
fn nc_64_mib_discard_and_echo_tun() {
    nc_64_mib_discard_and_echo(Link::Tun);
}

#[test]
fn nc_64_mib_discard_and_echo_tap() {
    nc_64_mib_discard_and_echo(Link::Tap);
}

/// `nc` sends 64 MiB to the discard port, then sends it through the echo port and reads
/// it back intact.
fn nc_64_mib_discard_and_echo(link: Link) {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let t = Tunstack::up_on(
        link,
        &link.dev("tstcp"),
        &["up", "--netns", ns.name(), "--seed", "5"],
    );
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
    assert_eq!(sha256(&input.0), sha256(&output.0), "echoed data differs");

    let (ok, lines) = t.stop();
    assert!(ok, "{lines:?}");
    assert!(
        counter(&lines, "TcpPassiveOpens").unwrap_or(0) >= 2,
        "{lines:#?}"
    );
    // 64 MiB in, 64 MiB in again and out: at least 3 * 64 MiB / 1448 segments.
    assert!(
        counter(&lines, "TcpInSegs").unwrap_or(0) > 2 * (64 << 20) / 1448,
        "{lines:#?}"
    );
    if link == Link::Tap {
        // Minutes of traffic through the neighbour cache: nothing is held back for want
        // of the kernel's address, nothing is malformed.
        for name in ["ArpResolveFailures", "ArpUnresolvedDiscards", "EthInErrors"] {
            assert_eq!(counter(&lines, name).unwrap_or(0), 0, "{name}: {lines:#?}");
        }
    }
}

#[test]
fn nc_reads_chargen_tun() {
    nc_reads_chargen(Link::Tun);
}

#[test]
fn nc_reads_chargen_tap() {
    nc_reads_chargen(Link::Tap);
}

/// chargen sends RFC 864's rotating lines until the client goes away.
fn nc_reads_chargen(link: Link) {
    if !common::require_root() || !common::require_tool("nc") {
        return;
    }
    let ns = common::NetNs::new();
    let _t = Tunstack::up_on(link, &link.dev("tschg"), &["up", "--netns", ns.name()]);
    let out = ns.exec("sh", &["-c", "nc 10.77.0.2 19 | head -c 148"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0].len(), 72, "{text:?}");
    assert!(lines[0].starts_with(" !\"#$%"), "{text:?}");
    assert!(lines[1].starts_with("!\"#$%&"), "{text:?}");
}
