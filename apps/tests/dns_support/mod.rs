//! Shared by the DNS tests: the real captured messages in `dns_fixtures/`.
#![allow(dead_code)]

/// One captured DNS message.
pub struct Fixture {
    /// The capture's frame number.
    pub frame: u32,
    /// tshark's one-line summary.
    pub summary: String,
    /// Whether it came over TCP (the 2-byte length already removed).
    pub tcp: bool,
    /// The DNS message.
    pub bytes: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The messages of `nsd-dig.txt`: dig querying NSD, captured on 127.0.0.1 in a namespace.
pub fn fixtures() -> Vec<Fixture> {
    let text = include_str!("../dns_fixtures/nsd-dig.txt");
    let mut out = Vec::new();
    let mut summary = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# frame ") {
            let (n, s) = rest.split_once(": ").unwrap();
            summary = Some((n.parse().unwrap(), s.to_string()));
        } else if let Some((kind, h)) = line.split_once(' ') {
            if kind != "udp" && kind != "tcp" {
                continue;
            }
            let (frame, summary) = summary.take().unwrap();
            let mut bytes = hex(h);
            let tcp = kind == "tcp";
            if tcp {
                let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                assert_eq!(len + 2, bytes.len(), "frame {frame}: one whole message");
                bytes.drain(..2);
            }
            out.push(Fixture {
                frame,
                summary,
                tcp,
                bytes,
            });
        }
    }
    out
}

/// The fixture of frame `n`.
pub fn frame(n: u32) -> Vec<u8> {
    fixtures()
        .into_iter()
        .find(|f| f.frame == n)
        .unwrap_or_else(|| panic!("no frame {n}"))
        .bytes
}
