//! The pcap capture, checked by an independent reader: frames built with etherparse pass
//! through an in-memory link wrapped in `Pcap`, and tshark must decode the file into the
//! same addresses, protocols, ports, checksums, timestamps and counts.
//!
//! Skipped (with a message) when tshark is not installed; CI installs it.

mod common;

use std::fs::File;
use std::io::BufWriter;
use std::process::Command;
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use etherparse::PacketBuilder;
use tunstack::link::{Device, LinkType, Medium, MemoryLink, Pcap, PcapReader, PcapWriter};
use tunstack::time::Instant;

const A: [u8; 4] = [10, 77, 0, 1];
const B: [u8; 4] = [10, 77, 0, 2];
const MAC_A: [u8; 6] = [0x02, 0, 0, 0x77, 0, 1];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0x77, 0, 2];
/// Stack time zero is stamped as this many seconds after the Unix epoch.
const WALL: u64 = 1_700_000_000;

enum Ip {
    Udp {
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        payload: &'static [u8],
    },
    EchoRequest {
        src: [u8; 4],
        dst: [u8; 4],
        seq: u16,
    },
    EchoReply {
        src: [u8; 4],
        dst: [u8; 4],
        seq: u16,
    },
}

/// Builds the packet with etherparse (which computes the IPv4, UDP and ICMP checksums),
/// inside an Ethernet II header when `eth` gives (source, destination) addresses.
fn build(p: &Ip, eth: Option<([u8; 6], [u8; 6])>) -> Vec<u8> {
    let (src, dst) = match p {
        Ip::Udp { src, dst, .. } => (src.0, dst.0),
        Ip::EchoRequest { src, dst, .. } | Ip::EchoReply { src, dst, .. } => (*src, *dst),
    };
    let mut out = Vec::new();
    let builder = match eth {
        Some((s, d)) => PacketBuilder::ethernet2(s, d).ipv4(src, dst, 64),
        None => PacketBuilder::ipv4(src, dst, 64),
    };
    let written = match p {
        Ip::Udp { src, dst, payload } => builder.udp(src.1, dst.1).write(&mut out, payload),
        Ip::EchoRequest { seq, .. } => builder
            .icmpv4_echo_request(0x1234, *seq)
            .write(&mut out, b"tunstack ping"),
        Ip::EchoReply { seq, .. } => builder
            .icmpv4_echo_reply(0x1234, *seq)
            .write(&mut out, b"tunstack ping"),
    };
    written.expect("etherparse builds the packet");
    out
}

/// Whether this frame is sent by the captured end (A) or received by it from B.
enum Dir {
    Out,
    In,
}

fn traffic() -> Vec<(Dir, Ip)> {
    vec![
        (
            Dir::Out,
            Ip::Udp {
                src: (A, 40000),
                dst: (B, 7777),
                payload: b"one",
            },
        ),
        (
            Dir::In,
            Ip::Udp {
                src: (B, 7777),
                dst: (A, 40000),
                payload: b"ack one",
            },
        ),
        (
            Dir::Out,
            Ip::Udp {
                src: (A, 40000),
                dst: (B, 7777),
                payload: b"two",
            },
        ),
        (
            Dir::Out,
            Ip::EchoRequest {
                src: A,
                dst: B,
                seq: 1,
            },
        ),
        (
            Dir::In,
            Ip::EchoReply {
                src: B,
                dst: A,
                seq: 1,
            },
        ),
        (
            Dir::Out,
            Ip::Udp {
                src: (A, 40001),
                dst: (B, 7777),
                payload: b"three",
            },
        ),
        (
            Dir::Out,
            Ip::EchoRequest {
                src: A,
                dst: B,
                seq: 2,
            },
        ),
        (
            Dir::In,
            Ip::EchoReply {
                src: B,
                dst: A,
                seq: 2,
            },
        ),
    ]
}

/// Plays `traffic()` through a captured in-memory link, frame k at stack time
/// 1 s + k * 12.5 ms, and returns the number of frames.
fn capture(medium: Medium, path: &std::path::Path) -> usize {
    let (a, mut b) = MemoryLink::pair(medium, 1500);
    let file = BufWriter::new(File::create(path).expect("create capture file"));
    let writer = PcapWriter::new(file, LinkType::for_medium(medium)).unwrap();
    let wall = UNIX_EPOCH + StdDuration::from_secs(WALL);
    let mut cap = Pcap::with_epoch(a, writer, Instant::ZERO, wall);
    let eth = |dir: &Dir| match (medium, dir) {
        (Medium::Ip, _) => None,
        (Medium::Ethernet, Dir::Out) => Some((MAC_A, MAC_B)),
        (Medium::Ethernet, Dir::In) => Some((MAC_B, MAC_A)),
    };
    let mut buf = [0u8; 1600];
    let frames = traffic();
    for (k, (dir, p)) in frames.iter().enumerate() {
        let now = Instant::from_micros(1_000_000 + k as u64 * 12_500);
        let frame = build(p, eth(dir));
        match dir {
            Dir::Out => {
                cap.send(&frame, now).unwrap();
                let n = b.recv(&mut buf, now).unwrap().expect("the peer gets it");
                assert_eq!(&buf[..n], frame.as_slice());
            }
            Dir::In => {
                b.send(&frame, now).unwrap();
                let n = cap
                    .recv(&mut buf, now)
                    .unwrap()
                    .expect("the captured end gets it");
                assert_eq!(&buf[..n], frame.as_slice());
            }
        }
    }
    assert_eq!(cap.errors(), 0);
    drop(cap);
    frames.len()
}

/// `tshark -r path -T fields -e f1 -e f2 ...` with checksum validation on; one Vec of
/// field values per frame.
fn tshark_fields(path: &std::path::Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path);
    for pref in ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE"] {
        cmd.args(["-o", pref]);
    }
    cmd.args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

fn ip_str(a: [u8; 4]) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

/// Checks what tshark decoded against `traffic()`. Field order: time, ip.src, ip.dst,
/// ip.proto, udp.srcport, udp.dstport, udp.payload, icmp.type, icmp.seq,
/// ip.checksum.status, udp.checksum.status, icmp.checksum.status.
fn check_ip_fields(rows: &[Vec<String>]) {
    let frames = traffic();
    assert_eq!(rows.len(), frames.len(), "{rows:?}");
    for (k, ((_, p), row)) in frames.iter().zip(rows).enumerate() {
        let r: Vec<&str> = row.iter().map(String::as_str).collect();
        let micros = 1_000_000 + k as u64 * 12_500;
        let time = format!("{}.{:06}000", WALL + micros / 1_000_000, micros % 1_000_000);
        assert_eq!(r[0], time, "timestamp of frame {k}");
        assert_eq!(r[9], "1", "IPv4 header checksum of frame {k} is good");
        match p {
            Ip::Udp { src, dst, payload } => {
                let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
                assert_eq!(
                    &r[1..7],
                    &[
                        &ip_str(src.0),
                        &ip_str(dst.0),
                        "17",
                        &src.1.to_string(),
                        &dst.1.to_string(),
                        &hex
                    ],
                    "frame {k}"
                );
                assert_eq!(r[10], "1", "UDP checksum of frame {k} is good");
            }
            Ip::EchoRequest { src, dst, seq } | Ip::EchoReply { src, dst, seq } => {
                let ty = if matches!(p, Ip::EchoRequest { .. }) {
                    "8"
                } else {
                    "0"
                };
                assert_eq!(&r[1..4], &[&ip_str(*src), &ip_str(*dst), "1"], "frame {k}");
                assert_eq!((r[7], r[8]), (ty, seq.to_string().as_str()), "frame {k}");
                assert_eq!(r[11], "1", "ICMP checksum of frame {k} is good");
            }
        }
    }
    let udp = rows.iter().filter(|r| r[3] == "17").count();
    let icmp = rows.iter().filter(|r| r[3] == "1").count();
    assert_eq!((udp, icmp), (4, 4));
}

const IP_FIELDS: [&str; 12] = [
    "frame.time_epoch",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "udp.srcport",
    "udp.dstport",
    "udp.payload",
    "icmp.type",
    "icmp.seq",
    "ip.checksum.status",
    "udp.checksum.status",
    "icmp.checksum.status",
];

#[test]
fn tshark_decodes_a_raw_ip_capture() {
    if !common::require_tool("tshark") {
        return;
    }
    let path = common::temp_path("raw.pcap");
    let n = capture(Medium::Ip, &path);
    let rows = tshark_fields(&path, &IP_FIELDS);
    check_ip_fields(&rows);
    let encap = tshark_fields(&path, &["frame.encap_type", "frame.protocols"]);
    assert_eq!(encap.len(), n);
    // Wireshark's WTAP_ENCAP_RAW_IP is 7.
    assert!(
        encap
            .iter()
            .all(|r| r[0] == "7" && r[1].starts_with("raw:ip")),
        "{encap:?}"
    );
    // Our own reader agrees on the count and the link type.
    let reader = PcapReader::new(File::open(&*path).unwrap()).unwrap();
    assert_eq!(reader.link_type(), 101);
    assert_eq!(reader.records().unwrap().len(), n);
}

#[test]
fn tshark_decodes_an_ethernet_capture() {
    if !common::require_tool("tshark") {
        return;
    }
    let path = common::temp_path("eth.pcap");
    capture(Medium::Ethernet, &path);
    check_ip_fields(&tshark_fields(&path, &IP_FIELDS));
    let rows = tshark_fields(
        &path,
        &["eth.src", "eth.dst", "eth.type", "frame.protocols"],
    );
    let frames = traffic();
    for ((dir, _), r) in frames.iter().zip(&rows) {
        let (src, dst) = match dir {
            Dir::Out => ("02:00:00:77:00:01", "02:00:00:77:00:02"),
            Dir::In => ("02:00:00:77:00:02", "02:00:00:77:00:01"),
        };
        assert_eq!(
            (r[0].as_str(), r[1].as_str(), r[2].as_str()),
            (src, dst, "0x0800")
        );
        assert!(r[3].starts_with("eth:ethertype:ip:"), "{}", r[3]);
    }
    let sent = rows.iter().filter(|r| r[0] == "02:00:00:77:00:01").count();
    assert_eq!((sent, rows.len() - sent), (5, 3));
}
