//! `traceroute`: ICMP-echo probes with rising TTL from inside the stack (as
//! `traceroute -I` does); each router on the path answers with time exceeded.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use tunstack::icmp::{EchoEvent, IcmpError};
use tunstack::socket::{EchoSocket, StackHandle};
use tunstack::stack::{Echo6Event, WaitKey};

/// How to probe.
#[derive(Clone, Debug)]
pub struct TracerouteOptions {
    /// The largest TTL tried.
    pub max_hops: u8,
    /// Probes per hop.
    pub queries: u8,
    /// How long to wait for each probe's answer.
    pub wait: Duration,
}

impl Default for TracerouteOptions {
    fn default() -> Self {
        TracerouteOptions {
            max_hops: 30,
            queries: 3,
            wait: Duration::from_secs(2),
        }
    }
}

/// One hop: who answered each probe (None: no answer) and how fast.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// The TTL.
    pub ttl: u8,
    /// Per probe: the answering address and the round-trip time.
    pub probes: Vec<Option<(Ipv4Addr, Duration)>>,
}

/// Traces the path to `dst`, writing traceroute-style lines to `out`; returns the hops.
pub fn traceroute(
    handle: &StackHandle,
    dst: Ipv4Addr,
    opts: &TracerouteOptions,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<Vec<Hop>> {
    let sock = EchoSocket::open(handle)?;
    writeln!(
        out,
        "traceroute to {dst} ({dst}), {} hops max, 36 byte packets",
        opts.max_hops
    )?;
    let mut hops = Vec::new();
    let mut seq: u16 = 0;
    for ttl in 1..=opts.max_hops {
        let mut hop = Hop {
            ttl,
            probes: Vec::new(),
        };
        let mut reached = false;
        write!(out, "{ttl:2} ")?;
        let mut last_from = None;
        for _ in 0..opts.queries {
            if stop() {
                return Ok(hops);
            }
            seq = seq.wrapping_add(1);
            let sent = Instant::now();
            sock.send(dst, seq, Some(ttl), &[0u8; 8])?;
            let answer = wait_for(&sock, seq, sent + opts.wait);
            match answer {
                Some((from, done, err)) => {
                    let rtt = sent.elapsed();
                    if last_from != Some(from) {
                        write!(out, " {from}")?;
                        last_from = Some(from);
                    }
                    write!(out, "  {:.3} ms", rtt.as_secs_f64() * 1e3)?;
                    if let Some(IcmpError::DstUnreachable { code, .. }) = err {
                        write!(
                            out,
                            " !{}",
                            match code {
                                0 => "N",
                                1 => "H",
                                2 => "P",
                                4 => "F",
                                _ => "X",
                            }
                        )?;
                    }
                    reached |= done;
                    hop.probes.push(Some((from, rtt)));
                }
                None => {
                    write!(out, " *")?;
                    hop.probes.push(None);
                }
            }
            out.flush()?;
        }
        writeln!(out)?;
        hops.push(hop);
        if reached {
            break;
        }
    }
    Ok(hops)
}

/// Waits for the answer to probe `seq`: who answered, whether the trace is done (an echo
/// reply, or an unreachable), and the error if any.
fn wait_for(
    sock: &EchoSocket,
    seq: u16,
    until: Instant,
) -> Option<(Ipv4Addr, bool, Option<IcmpError>)> {
    loop {
        let now = Instant::now();
        if now >= until {
            return None;
        }
        match sock.recv(Some(until - now))? {
            EchoEvent::Reply { from, seq: s, .. } if s == seq => return Some((from, true, None)),
            EchoEvent::Error {
                from,
                seq: s,
                error,
                ..
            } if s == seq => {
                let done = matches!(error, IcmpError::DstUnreachable { .. });
                return Some((from, done, Some(error)));
            }
            _ => continue,
        }
    }
}

/// One IPv6 hop: per probe, the answering address and the round-trip time (None: no
/// answer).
pub type Hop6 = Vec<Option<(Ipv6Addr, Duration)>>;

/// Traces the path to the IPv6 address `dst` with ICMPv6 echo probes of rising hop limit
/// (as `traceroute -6 -I`): each router answers Time Exceeded (RFC 4443 section 3.3), the
/// destination an echo reply. Returns the hops, each probe's answerer and time.
pub fn traceroute6(
    handle: &StackHandle,
    dst: Ipv6Addr,
    opts: &TracerouteOptions,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<Vec<Hop6>> {
    let ident = handle
        .with(|s, _| s.echo_open())
        .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "too many echo sockets"))?;
    let r = trace6(handle, ident, dst, opts, out, stop);
    handle.with(|s, _| {
        s.echo6_close(ident);
        s.echo_close(ident);
    });
    r
}

fn trace6(
    handle: &StackHandle,
    ident: u16,
    dst: Ipv6Addr,
    opts: &TracerouteOptions,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<Vec<Hop6>> {
    writeln!(
        out,
        "traceroute to {dst} ({dst}), {} hops max, 56 byte packets",
        opts.max_hops
    )?;
    let mut hops = Vec::new();
    let mut seq: u16 = 0;
    for hop_limit in 1..=opts.max_hops {
        let mut probes = Vec::new();
        let mut reached = false;
        let mut last_from = None;
        write!(out, "{hop_limit:2} ")?;
        for _ in 0..opts.queries {
            if stop() {
                return Ok(hops);
            }
            seq = seq.wrapping_add(1);
            let sent = Instant::now();
            // On Ethernet the address is tentative for a second after start (RFC 4862
            // 5.4): the first probe waits for it, up to 3 s.
            let mut tries = 0;
            loop {
                match handle
                    .with(|s, now| s.echo6_send(now, ident, dst, seq, Some(hop_limit), &[0; 8]))
                {
                    Ok(()) => break,
                    Err(tunstack::stack::SendError::NoRoute) if seq == 1 && tries < 30 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) => return Err(io::Error::new(io::ErrorKind::HostUnreachable, e)),
                }
            }
            match wait_for6(handle, ident, seq, sent + opts.wait) {
                Some((from, done, mark)) => {
                    let rtt = sent.elapsed();
                    if last_from != Some(from) {
                        write!(out, " {from}")?;
                        last_from = Some(from);
                    }
                    write!(out, "  {:.3} ms{mark}", rtt.as_secs_f64() * 1e3)?;
                    reached |= done;
                    probes.push(Some((from, rtt)));
                }
                None => {
                    write!(out, " *")?;
                    probes.push(None);
                }
            }
            out.flush()?;
        }
        writeln!(out)?;
        hops.push(probes);
        if reached {
            break;
        }
    }
    Ok(hops)
}

/// Waits for the answer to probe `seq`: who answered, whether the trace is done (an echo
/// reply or a destination unreachable), and traceroute's mark for an unreachable.
fn wait_for6(
    handle: &StackHandle,
    ident: u16,
    seq: u16,
    until: Instant,
) -> Option<(Ipv6Addr, bool, &'static str)> {
    loop {
        let now = Instant::now();
        if now >= until {
            return None;
        }
        let event = handle.wait(WaitKey::Echo(ident), Some(until - now), |s, _| {
            s.echo6_recv(ident)
        })?;
        match event {
            Echo6Event::Reply { from, seq: s, .. } if s == seq => return Some((from, true, "")),
            Echo6Event::Error {
                from,
                seq: s,
                msg_type,
                code,
                ..
            } if s == seq => {
                // RFC 4443 section 3.1 codes, in traceroute's marks.
                let (done, mark) = match (msg_type, code) {
                    (1, 0) => (true, " !N"),
                    (1, 1) => (true, " !X"),
                    (1, 3) => (true, " !H"),
                    (1, 4) => (true, " !P"),
                    (1, _) => (true, " !U"),
                    _ => (false, ""),
                };
                return Some((from, done, mark));
            }
            _ => continue,
        }
    }
}
