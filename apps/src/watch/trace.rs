//! Connection traces as JSON lines (schema in `docs/TRACE.md`): what `tunstack up --trace
//! DIR` writes, `/_stack/connections/ID/trace` serves, and `tunstack plot` reads.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tunstack::tcp::trace::{TraceChunk, TraceEvent};

fn is_false(b: &bool) -> bool {
    !*b
}

/// One line of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TraceLine {
    /// The first line: which connection.
    Conn {
        /// The stack's connection id.
        id: u64,
        /// Local address.
        local: SocketAddr,
        /// Remote address.
        remote: SocketAddr,
        /// The send MSS.
        mss: u64,
        /// The congestion control algorithm.
        congestion: String,
    },
    /// A segment sent.
    Send {
        /// The stack's time, microseconds.
        t_us: u64,
        /// First sequence number, bytes from our ISS.
        seq: u64,
        /// Payload bytes.
        len: u64,
        /// A SYN.
        #[serde(default, skip_serializing_if = "is_false")]
        syn: bool,
        /// A FIN.
        #[serde(default, skip_serializing_if = "is_false")]
        fin: bool,
        /// Why it was sent again: `rto`, `fast_retransmit`, `sack`, `tlp`, `pmtu`; absent for new
        /// data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retransmit: Option<String>,
    },
    /// An ACK received.
    Ack {
        /// The stack's time, microseconds.
        t_us: u64,
        /// Acknowledged up to here, bytes from our ISS.
        ack: u64,
        /// The peer's window, bytes.
        wnd: u64,
        /// SACK blocks `[left, right)`, bytes from our ISS.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        sack: Vec<[u64; 2]>,
        /// Bytes in flight after it.
        in_flight: u64,
    },
    /// cwnd, ssthresh or the phase changed.
    Cwnd {
        /// The stack's time, microseconds.
        t_us: u64,
        /// Congestion window, bytes.
        cwnd: u64,
        /// Slow-start threshold, bytes; `null` before the first loss.
        ssthresh: Option<u64>,
        /// Bytes in flight.
        in_flight: u64,
        /// `slow_start` (cwnd below ssthresh), `congestion_avoidance`, or `recovery`
        /// (fast recovery, RFC 6582/6675).
        #[serde(default)]
        phase: String,
    },
    /// An RTT sample.
    Rtt {
        /// The stack's time, microseconds.
        t_us: u64,
        /// The sample.
        sample_us: u64,
        /// SRTT after it.
        srtt_us: u64,
        /// RTTVAR after it.
        rttvar_us: u64,
        /// RTO after it.
        rto_us: u64,
    },
    /// A state change.
    State {
        /// The stack's time, microseconds.
        t_us: u64,
        /// Before, as `ss` names states.
        from: String,
        /// After.
        to: String,
    },
    /// Events the ring dropped before they were written.
    Lost {
        /// How many.
        events: u64,
    },
    /// The connection is gone; nothing follows.
    Closed,
}

impl TraceLine {
    /// Wire segments a send line stands for (a segment above the MSS is split on the
    /// wire), or 0 for other lines.
    pub fn wire_segments(&self, mss: u64) -> u64 {
        match self {
            TraceLine::Send { len, .. } => len.div_ceil(mss.max(1)).max(1),
            _ => 0,
        }
    }
}

/// Turns 32-bit offsets that wrap into 64-bit ones, each taken as the one nearest to the
/// last.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unwrap {
    last: u64,
}

impl Unwrap {
    /// The 64-bit offset for `v`.
    pub fn at(&mut self, v: u32) -> u64 {
        const HALF: u64 = 1 << 31;
        let mut x = (self.last & !0xffff_ffff) | u64::from(v);
        if x + HALF < self.last {
            x += 1 << 32;
        } else if x > self.last + HALF && x >= 1 << 32 {
            x -= 1 << 32;
        }
        self.last = self.last.max(x);
        x
    }
}

/// The lines for `chunk`'s events (and a `lost` line first if it lost any; `closed` last
/// if the connection is gone), unwrapping sequence offsets with `u`.
pub fn lines(chunk: &TraceChunk, u: &mut Unwrap) -> Vec<TraceLine> {
    let mut out = Vec::with_capacity(chunk.events.len() + 2);
    if chunk.lost > 0 {
        out.push(TraceLine::Lost { events: chunk.lost });
    }
    for e in &chunk.events {
        let t_us = e.at.total_micros();
        out.push(match e.event {
            TraceEvent::Send {
                seq,
                len,
                syn,
                fin,
                retransmit,
            } => TraceLine::Send {
                t_us,
                seq: u.at(seq),
                len: len.into(),
                syn,
                fin,
                retransmit: retransmit.map(|c| c.name().to_string()),
            },
            TraceEvent::Ack {
                ack,
                wnd,
                sack,
                sack_len,
                in_flight,
            } => TraceLine::Ack {
                t_us,
                ack: u.at(ack),
                wnd: wnd.into(),
                sack: sack[..usize::from(sack_len).min(4)]
                    .iter()
                    .map(|&(l, r)| [u.at(l), u.at(r)])
                    .collect(),
                in_flight: in_flight.into(),
            },
            TraceEvent::Cwnd {
                cwnd,
                ssthresh,
                in_flight,
                recovery,
            } => TraceLine::Cwnd {
                t_us,
                cwnd: cwnd.into(),
                ssthresh: ssthresh.map(u64::from),
                in_flight: in_flight.into(),
                phase: if recovery {
                    "recovery"
                } else if ssthresh.is_none_or(|s| cwnd < s) {
                    "slow_start"
                } else {
                    "congestion_avoidance"
                }
                .into(),
            },
            TraceEvent::Rtt {
                sample_us,
                srtt_us,
                rttvar_us,
                rto_us,
            } => TraceLine::Rtt {
                t_us,
                sample_us: sample_us.into(),
                srtt_us: srtt_us.into(),
                rttvar_us: rttvar_us.into(),
                rto_us: rto_us.into(),
            },
            TraceEvent::State { from, to } => TraceLine::State {
                t_us,
                from: from.name().to_string(),
                to: to.name().to_string(),
            },
        });
    }
    if chunk.closed {
        out.push(TraceLine::Closed);
    }
    out
}

/// The header line for `chunk`'s connection.
pub fn header(chunk: &TraceChunk) -> TraceLine {
    TraceLine::Conn {
        id: chunk.id,
        local: chunk.local,
        remote: chunk.remote,
        mss: chunk.mss as u64,
        congestion: chunk.congestion.to_string(),
    }
}

/// A whole trace: the header, then the events, from a snapshot (for the live pages).
pub fn snapshot(chunk: &TraceChunk) -> Vec<TraceLine> {
    let mut out = vec![header(chunk)];
    out.extend(lines(chunk, &mut Unwrap::default()));
    out
}

/// Writes one JSON-lines file per connection into a directory: `conn-ID.jsonl`, a
/// header line, then events as they are handed in, closed when the connection is gone.
#[derive(Debug)]
pub struct TraceWriter {
    dir: PathBuf,
    open: HashMap<u64, (BufWriter<File>, Unwrap)>,
    written: Vec<PathBuf>,
}

impl TraceWriter {
    /// A writer into `dir` (created if missing).
    pub fn new(dir: &Path) -> io::Result<TraceWriter> {
        std::fs::create_dir_all(dir)?;
        Ok(TraceWriter {
            dir: dir.to_path_buf(),
            open: HashMap::new(),
            written: Vec::new(),
        })
    }

    /// The file for connection `id`.
    pub fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("conn-{id}.jsonl"))
    }

    /// Appends `chunks` to their connections' files.
    pub fn write(&mut self, chunks: &[TraceChunk]) -> io::Result<()> {
        for c in chunks {
            if !self.open.contains_key(&c.id) {
                let path = self.path(c.id);
                let mut f = BufWriter::new(File::create(&path)?);
                serde_json::to_writer(&mut f, &header(c))?;
                f.write_all(b"\n")?;
                self.open.insert(c.id, (f, Unwrap::default()));
                self.written.push(path);
            }
            let (f, u) = self.open.get_mut(&c.id).expect("just opened");
            for l in lines(c, u) {
                serde_json::to_writer(&mut *f, &l)?;
                f.write_all(b"\n")?;
            }
            if c.closed {
                if let Some((mut f, _)) = self.open.remove(&c.id) {
                    f.flush()?;
                }
            }
        }
        Ok(())
    }

    /// Flushes every open file (connections still there when the stack stops).
    pub fn finish(&mut self) -> io::Result<()> {
        for (f, _) in self.open.values_mut() {
            f.flush()?;
        }
        self.open.clear();
        Ok(())
    }

    /// Every file written so far.
    pub fn files(&self) -> &[PathBuf] {
        &self.written
    }
}

/// Reads a trace file back.
pub fn read(path: &Path) -> Result<Vec<TraceLine>, String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?,
        );
    }
    Ok(out)
}
