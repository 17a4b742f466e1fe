//! `ping`: ICMP echo from inside the stack, printing what iputils' ping prints.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use tunstack::icmp::{EchoEvent, IcmpError};
use tunstack::socket::{EchoSocket, StackHandle};
use tunstack::stack::{Echo6Event, WaitKey};

/// What to send.
#[derive(Clone, Debug)]
pub struct PingOptions {
    /// How many requests (`None`: until stopped).
    pub count: Option<u32>,
    /// Time between requests.
    pub interval: Duration,
    /// Data bytes per request (56 by default, as iputils).
    pub size: usize,
    /// TTL of requests (`None`: the stack's default).
    pub ttl: Option<u8>,
    /// How long to wait for each reply.
    pub timeout: Duration,
}

impl Default for PingOptions {
    fn default() -> Self {
        PingOptions {
            count: None,
            interval: Duration::from_secs(1),
            size: 56,
            ttl: None,
            timeout: Duration::from_secs(1),
        }
    }
}

/// What came back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PingReport {
    /// Requests sent.
    pub transmitted: u32,
    /// Replies received with intact data.
    pub received: u32,
    /// ICMP errors received about the requests.
    pub errors: u32,
    /// Round-trip times of the replies.
    pub rtts: Vec<Duration>,
}

/// The data of request `seq`: a recognisable pattern, so corrupted echoes are caught.
fn pattern(size: usize, seq: u16) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u16).wrapping_add(seq) as u8)
        .collect()
}

/// Pings `dst`, writing a line per reply and a summary to `out`. Stops after `count`
/// requests or when `stop()` says so.
pub fn ping(
    handle: &StackHandle,
    dst: Ipv4Addr,
    opts: &PingOptions,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<PingReport> {
    let sock = EchoSocket::open(handle)?;
    writeln!(
        out,
        "PING {dst} ({dst}) {}({}) bytes of data.",
        opts.size,
        opts.size + 28
    )?;
    let send = |seq: u16, data: &[u8], _: &PingReport| {
        let sent = Instant::now();
        sock.send(dst, seq, opts.ttl, data)?;
        Ok(sent)
    };
    let recv = |wait: Duration| {
        sock.recv(Some(wait)).map(|e| match e {
            EchoEvent::Reply {
                from,
                seq,
                ttl,
                data,
                ..
            } => Heard::Reply {
                from: from.into(),
                seq,
                ttl,
                data,
            },
            EchoEvent::Error {
                from, seq, error, ..
            } => Heard::Error {
                from: from.into(),
                seq,
                text: describe(error),
            },
        })
    };
    let report = exchange(opts, out, &stop, send, recv)?;
    summary(dst, &report, out)?;
    Ok(report)
}

/// What came back for a request, in either family.
enum Heard {
    Reply {
        from: IpAddr,
        seq: u16,
        ttl: u8,
        data: Vec<u8>,
    },
    Error {
        from: IpAddr,
        seq: u16,
        text: String,
    },
}

/// Sends requests and prints what comes back, as iputils does, for either family:
/// `send` sends request `seq` (told what was sent so far) and says when; `recv` waits
/// up to the given time for what came back.
fn exchange(
    opts: &PingOptions,
    out: &mut impl Write,
    stop: &impl Fn() -> bool,
    mut send: impl FnMut(u16, &[u8], &PingReport) -> io::Result<Instant>,
    mut recv: impl FnMut(Duration) -> Option<Heard>,
) -> io::Result<PingReport> {
    let mut report = PingReport::default();
    let mut seq: u16 = 0;
    while opts.count.is_none_or(|c| report.transmitted < c) && !stop() {
        seq = seq.wrapping_add(1);
        let data = pattern(opts.size, seq);
        let sent = send(seq, &data, &report)?;
        report.transmitted += 1;
        let wait_until = sent + opts.timeout.max(opts.interval);
        loop {
            let now = Instant::now();
            if now >= wait_until || stop() {
                break;
            }
            match recv(wait_until - now) {
                Some(Heard::Reply {
                    from,
                    seq: s,
                    ttl,
                    data: d,
                }) if s == seq => {
                    let rtt = sent.elapsed();
                    if d != data {
                        writeln!(
                            out,
                            "{} bytes from {from}: icmp_seq={s} ttl={ttl} (wrong data)",
                            d.len() + 8
                        )?;
                        break;
                    }
                    report.received += 1;
                    report.rtts.push(rtt);
                    writeln!(
                        out,
                        "{} bytes from {from}: icmp_seq={s} ttl={ttl} time={:.3} ms",
                        d.len() + 8,
                        rtt.as_secs_f64() * 1e3
                    )?;
                    break;
                }
                Some(Heard::Error { from, seq: s, text }) if s == seq => {
                    report.errors += 1;
                    writeln!(out, "From {from} icmp_seq={s} {text}")?;
                    break;
                }
                Some(_) => continue, // a late reply to an earlier request
                None => break,
            }
        }
        out.flush()?;
        let next = sent + opts.interval;
        let now = Instant::now();
        if next > now && opts.count.is_none_or(|c| report.transmitted < c) {
            sleep_unless(next - now, stop);
        }
    }
    Ok(report)
}

fn sleep_unless(d: Duration, stop: &impl Fn() -> bool) {
    let end = Instant::now() + d;
    while !stop() {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// How iputils words an ICMP error.
pub fn describe(e: IcmpError) -> String {
    match e {
        IcmpError::TimeExceeded { code: 0 } => "Time to live exceeded".into(),
        IcmpError::TimeExceeded { .. } => "Frag reassembly time exceeded".into(),
        IcmpError::DstUnreachable { code: 0, .. } => "Destination Net Unreachable".into(),
        IcmpError::DstUnreachable { code: 1, .. } => "Destination Host Unreachable".into(),
        IcmpError::DstUnreachable { code: 2, .. } => "Destination Protocol Unreachable".into(),
        IcmpError::DstUnreachable { code: 3, .. } => "Destination Port Unreachable".into(),
        IcmpError::DstUnreachable { code: 4, mtu } => {
            format!("Frag needed and DF set (mtu = {mtu})")
        }
        IcmpError::DstUnreachable { code, .. } => format!("Dest Unreachable, Bad Code: {code}"),
        IcmpError::ParamProblem { pointer } => format!("Parameter problem: pointer = {pointer}"),
    }
}

/// How iputils' `ping -6` words an ICMPv6 error (RFC 4443 types 1-4).
pub fn describe6(msg_type: u8, code: u8, param: u32) -> String {
    match (msg_type, code) {
        (1, 0) => "Destination unreachable: No route".into(),
        (1, 1) => "Destination unreachable: Administratively prohibited".into(),
        (1, 2) => "Destination unreachable: Beyond scope of source address".into(),
        (1, 3) => "Destination unreachable: Address unreachable".into(),
        (1, 4) => "Destination unreachable: Port unreachable".into(),
        (1, c) => format!("Destination unreachable: Unknown code {c}"),
        (2, _) => format!("Packet too big: mtu={param}"),
        (3, 0) => "Time exceeded: Hop limit".into(),
        (3, _) => "Time exceeded: Defragmentation failure".into(),
        (4, c) => format!("Parameter problem: code {c}, pointer {param}"),
        (t, c) => format!("ICMPv6 type {t} code {c}"),
    }
}

/// Pings the IPv6 address `dst` (ICMPv6 echo, RFC 4443 section 4), as [`ping`] does for
/// IPv4, printing what iputils' `ping -6` prints.
pub fn ping6(
    handle: &StackHandle,
    dst: Ipv6Addr,
    opts: &PingOptions,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<PingReport> {
    // An identifier no IPv4 echo socket uses either.
    let ident = handle
        .with(|s, _| s.echo_open())
        .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "too many echo sockets"))?;
    let r = ping6_with(handle, ident, dst, opts, out, stop);
    handle.with(|s, _| {
        s.echo6_close(ident);
        s.echo_close(ident);
    });
    r
}

fn ping6_with(
    handle: &StackHandle,
    ident: u16,
    dst: Ipv6Addr,
    opts: &PingOptions,
    out: &mut impl Write,
    stop: impl Fn() -> bool,
) -> io::Result<PingReport> {
    writeln!(out, "PING {dst}({dst}) {} data bytes", opts.size)?;
    let send = |seq: u16, data: &[u8], report: &PingReport| {
        // On Ethernet the stack's address is unusable until Duplicate Address Detection
        // has passed (RFC 4862 5.4, about a second after start): wait for it up to 3 s.
        let mut tries = 0;
        loop {
            let sent = Instant::now();
            match handle.with(|s, now| s.echo6_send(now, ident, dst, seq, opts.ttl, data)) {
                Ok(()) => return Ok(sent),
                Err(tunstack::stack::SendError::NoRoute)
                    if report.transmitted == 0 && tries < 30 =>
                {
                    tries += 1;
                    sleep_unless(Duration::from_millis(100), &stop);
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::HostUnreachable, e)),
            }
        }
    };
    let recv = |wait: Duration| {
        let event = handle.wait(WaitKey::Echo(ident), Some(wait), |s, _| s.echo6_recv(ident));
        event.map(|e| match e {
            Echo6Event::Reply {
                from,
                seq,
                hop_limit,
                data,
                ..
            } => Heard::Reply {
                from: from.into(),
                seq,
                ttl: hop_limit,
                data,
            },
            Echo6Event::Error {
                from,
                seq,
                msg_type,
                code,
                param,
                ..
            } => Heard::Error {
                from: from.into(),
                seq,
                text: describe6(msg_type, code, param),
            },
        })
    };
    let report = exchange(opts, out, &stop, send, recv)?;
    summary(dst, &report, out)?;
    Ok(report)
}

fn summary(dst: impl std::fmt::Display, r: &PingReport, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "\n--- {dst} ping statistics ---")?;
    let loss = if r.transmitted == 0 {
        0.0
    } else {
        100.0 * f64::from(r.transmitted - r.received.min(r.transmitted)) / f64::from(r.transmitted)
    };
    let errors = if r.errors > 0 {
        format!(", +{} errors", r.errors)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} packets transmitted, {} received{errors}, {loss:.0}% packet loss",
        r.transmitted, r.received
    )?;
    if !r.rtts.is_empty() {
        let ms: Vec<f64> = r.rtts.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        let min = ms.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = ms.iter().cloned().fold(0.0, f64::max);
        let avg = ms.iter().sum::<f64>() / ms.len() as f64;
        let mdev = (ms.iter().map(|x| (x - avg) * (x - avg)).sum::<f64>() / ms.len() as f64).sqrt();
        writeln!(
            out,
            "rtt min/avg/max/mdev = {min:.3}/{avg:.3}/{max:.3}/{mdev:.3} ms"
        )?;
    }
    Ok(())
}
