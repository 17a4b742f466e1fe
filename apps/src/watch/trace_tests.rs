use std::net::SocketAddr;

use tunstack::tcp::trace::{Cause, TraceChunk, TraceEntry, TraceEvent};
use tunstack::tcp::State;
use tunstack::time::Instant;

use super::plot;
use super::trace::{self, TraceLine, TraceWriter, Unwrap};

fn at(ms: u64) -> Instant {
    Instant::from_millis(1000 + ms)
}

/// A small made-up connection: handshake, two segments (the second resent after an RTO,
/// the first near the 4 GiB wrap of the relative sequence space), ACKs with a SACK block.
fn chunk(closed: bool) -> TraceChunk {
    let e = |ms, event| TraceEntry { at: at(ms), event };
    TraceChunk {
        id: 4,
        local: "10.77.0.2:80".parse::<SocketAddr>().unwrap(),
        remote: "10.77.0.1:40000".parse().unwrap(),
        mss: 1000,
        congestion: "reno",
        events: vec![
            e(
                0,
                TraceEvent::State {
                    from: State::SynReceived,
                    to: State::Established,
                },
            ),
            e(
                1,
                TraceEvent::Cwnd {
                    cwnd: 10_000,
                    ssthresh: None,
                    in_flight: 0,
                    recovery: false,
                },
            ),
            e(
                2,
                TraceEvent::Send {
                    seq: u32::MAX - 499,
                    len: 1000,
                    syn: false,
                    fin: false,
                    retransmit: None,
                },
            ),
            e(
                3,
                TraceEvent::Send {
                    seq: 500,
                    len: 3000,
                    syn: false,
                    fin: false,
                    retransmit: None,
                },
            ),
            e(
                10,
                TraceEvent::Ack {
                    ack: 500,
                    wnd: 65_535,
                    sack: [(1500, 3500), (0, 0), (0, 0), (0, 0)],
                    sack_len: 1,
                    in_flight: 3000,
                },
            ),
            e(
                11,
                TraceEvent::Rtt {
                    sample_us: 8000,
                    srtt_us: 8000,
                    rttvar_us: 4000,
                    rto_us: 200_000,
                },
            ),
            e(
                210,
                TraceEvent::Cwnd {
                    cwnd: 1000,
                    ssthresh: Some(2000),
                    in_flight: 3000,
                    recovery: false,
                },
            ),
            e(
                210,
                TraceEvent::Send {
                    seq: 500,
                    len: 3000,
                    syn: false,
                    fin: false,
                    retransmit: Some(Cause::Rto),
                },
            ),
        ],
        lost: 2,
        closed,
    }
}

#[test]
fn offsets_unwrap_past_4_gib() {
    let mut u = Unwrap::default();
    assert_eq!(u.at(10), 10);
    assert_eq!(
        u.at(u32::MAX - 5),
        u64::from(u32::MAX) - 5,
        "no offset below 0"
    );
    let mut u = Unwrap::default();
    u.at(u32::MAX - 100);
    assert_eq!(u.at(50), (1 << 32) + 50, "past the wrap");
    assert_eq!(
        u.at(u32::MAX - 50),
        u64::from(u32::MAX) - 50,
        "a late one before it"
    );
}

#[test]
fn lines_say_what_happened() {
    let lines = trace::lines(&chunk(true), &mut Unwrap::default());
    assert_eq!(lines[0], TraceLine::Lost { events: 2 });
    assert_eq!(lines.last(), Some(&TraceLine::Closed));
    let json: Vec<String> = lines
        .iter()
        .map(|l| serde_json::to_string(l).unwrap())
        .collect();
    assert_eq!(
        json[1],
        r#"{"type":"state","t_us":1000000,"from":"SYN-RECV","to":"ESTAB"}"#
    );
    assert_eq!(
        json[3],
        r#"{"type":"send","t_us":1002000,"seq":4294966796,"len":1000}"#
    );
    assert_eq!(
        json[4], r#"{"type":"send","t_us":1003000,"seq":4294967796,"len":3000}"#,
        "after the wrap, offsets keep growing"
    );
    assert!(
        json[5].contains(r#""sack":[[4294968796,4294970796]]"#),
        "{}",
        json[5]
    );
    assert!(json[8].ends_with(r#""retransmit":"rto"}"#), "{}", json[8]);
    assert_eq!(lines[8].wire_segments(1000), 3, "3000 bytes at MSS 1000");
    assert_eq!(lines[1].wire_segments(1000), 0);
    // And back.
    for (l, j) in lines.iter().zip(&json) {
        assert_eq!(&serde_json::from_str::<TraceLine>(j).unwrap(), l);
    }
}

#[test]
fn writer_files_read_back() {
    let dir = std::env::temp_dir().join(format!("tunstack-trace-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut w = TraceWriter::new(&dir).unwrap();
    let mut first = chunk(false);
    first.events.truncate(3);
    let mut rest = chunk(true);
    rest.events.drain(..3);
    rest.lost = 0;
    w.write(&[first]).unwrap();
    w.write(&[rest]).unwrap();
    w.finish().unwrap();
    assert_eq!(w.files(), [dir.join("conn-4.jsonl")]);
    let lines = trace::read(&w.path(4)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        matches!(
            &lines[0],
            TraceLine::Conn {
                id: 4,
                mss: 1000,
                ..
            }
        ),
        "{:?}",
        lines[0]
    );
    let all = trace::lines(&chunk(true), &mut Unwrap::default());
    assert_eq!(
        lines[1..],
        all[..],
        "split across two writes, the same lines"
    );
}

/// Every plot is well-formed SVG (parsed as XML), titled with the connection, with each
/// series as a group that draws something.
#[test]
fn plots_are_svg_with_their_series() {
    let lines = trace::snapshot(&chunk(true));
    for (name, svg) in plot::all(&lines) {
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{name}");
        let title = root.children().find(|n| n.has_tag_name("title")).unwrap();
        assert!(title.text().unwrap().contains("10.77.0.1:40000"), "{name}");
        let want: &[&str] = match name {
            "seq.svg" => &["sent", "retransmitted", "acked", "sacked", "rwnd"],
            "cwnd.svg" => &["cwnd", "ssthresh", "in_flight"],
            _ => &["rtt_sample", "srtt", "rto"],
        };
        for id in want {
            let g = doc
                .descendants()
                .find(|n| n.has_tag_name("g") && n.attribute("id") == Some(id))
                .unwrap_or_else(|| panic!("{name}: no series {id}"));
            let drawn = g.descendants().any(|n| {
                n.has_tag_name("circle")
                    || n.has_tag_name("rect")
                    || n.attribute("d").is_some_and(|d| d.starts_with('M'))
            });
            assert!(drawn, "{name}: {id} draws nothing");
        }
    }
    // An empty trace still draws axes.
    for (name, svg) in plot::all(&[]) {
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
