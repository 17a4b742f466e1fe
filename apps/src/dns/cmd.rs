//! `tunstack resolve NAME [@SERVER] [TYPE] [-x ADDR] [-n COUNT]`: looks a name up through
//! a [`Resolver`] and prints the answer as `dig` does, then the resolver's counters.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use super::resolver::{Answer, Resolver, Source};
use super::{Name, RType, Record};
use crate::net::{NetDatagram, NetStream};

/// The usage line for the CLI's help text.
pub const USAGE: &str =
    "tunstack resolve NAME [@SERVER[:PORT]] [TYPE] [-x ADDR] [-n COUNT] [LINK OPTIONS]";

/// What `tunstack resolve` was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveArgs {
    /// The name to look up.
    pub name: Name,
    /// The type (default A; PTR with `-x`).
    pub rtype: RType,
    /// `@SERVER[:PORT]` (port 53 when not given), if given.
    pub server: Option<SocketAddr>,
    /// How many times to look the name up (`-n`); every time after the first is answered
    /// from the cache while the TTL lasts.
    pub count: u32,
}

/// Reads `tunstack resolve`'s arguments (those after `resolve`, link options already
/// removed): a name, optionally `@SERVER[:PORT]` and a TYPE in any order after it, `-x
/// ADDR` for the reverse (PTR) lookup of an IPv4 address, `-n COUNT`.
pub fn parse_resolve_args(args: &[&str]) -> Result<ResolveArgs, String> {
    let mut name = None;
    let mut rtype = None;
    let mut server = None;
    let mut count = 1;
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        if let Some(s) = a.strip_prefix('@') {
            server = Some(parse_server(s)?);
        } else if a == "-x" {
            let addr: Ipv4Addr = it
                .next()
                .ok_or("-x needs an address")?
                .parse()
                .map_err(|_| "-x needs an IPv4 address")?;
            name = Some(Name::reverse_v4(addr));
            rtype.get_or_insert(RType::PTR);
        } else if a == "-n" {
            count = it
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or("-n needs a positive count")?;
        } else if name.is_none() {
            name = Some(Name::parse(a).map_err(|e| format!("name {a:?}: {e}"))?);
        } else if rtype.is_none() {
            rtype = Some(RType::from_text(a).ok_or_else(|| format!("unknown type {a:?}"))?);
        } else {
            return Err(format!("unexpected argument {a:?}"));
        }
    }
    Ok(ResolveArgs {
        name: name.ok_or("resolve needs a name")?,
        rtype: rtype.unwrap_or(RType::A),
        server,
        count,
    })
}

fn parse_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    let (host, port) = match s.split_once('#') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("bad port in @{s}"))?),
        None => (s, 53),
    };
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("@{s}: the server must be an IP address"))?;
    Ok(SocketAddr::new(ip, port))
}

/// Looks `args.name`/`args.rtype` up `args.count` times through `resolver` and prints
/// each answer to `out` the way `dig` does, then the resolver's counters (`DnsCacheHits`
/// and friends, one per line). Returns the last answer; a lookup that fails prints
/// `;; connection timed out` (or the error) and returns the error.
pub fn resolve_cmd<D: NetDatagram, S: NetStream>(
    resolver: &mut Resolver<D, S>,
    args: &ResolveArgs,
    out: &mut impl Write,
) -> io::Result<Answer> {
    let mut last = None;
    for _ in 0..args.count.max(1) {
        let started = Instant::now();
        match resolver.lookup(&args.name, args.rtype) {
            Ok(a) => {
                print_answer(out, &a, resolver.server(), started.elapsed())?;
                last = Some(a);
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::TimedOut {
                    writeln!(out, ";; connection timed out; no servers could be reached")?;
                } else {
                    writeln!(out, ";; error: {e}")?;
                }
                writeln!(out, "{}", resolver.stats())?;
                return Err(e);
            }
        }
    }
    writeln!(out, "{}", resolver.stats())?;
    last.ok_or_else(|| io::Error::other("no lookup made"))
}

fn section(out: &mut impl Write, title: &str, records: &[Record]) -> io::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    writeln!(out, ";; {title} SECTION:")?;
    for r in records {
        writeln!(out, "{r}")?;
    }
    writeln!(out)
}

/// Prints one answer in `dig`'s layout.
pub fn print_answer(
    out: &mut impl Write,
    a: &Answer,
    server: SocketAddr,
    took: std::time::Duration,
) -> io::Result<()> {
    let h = &a.header;
    writeln!(
        out,
        "; <<>> tunstack resolve <<>> {} {}",
        a.question.name, a.question.qtype
    )?;
    writeln!(
        out,
        ";; ->>HEADER<<- opcode: {}, status: {}, id: {}",
        h.opcode, a.rcode, h.id
    )?;
    let flags: Vec<&str> = [
        (h.qr, "qr"),
        (h.aa, "aa"),
        (h.tc, "tc"),
        (h.rd, "rd"),
        (h.ra, "ra"),
        (h.ad, "ad"),
        (h.cd, "cd"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    writeln!(
        out,
        ";; flags: {}; QUERY: 1, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
        flags.join(" "),
        a.answers.len(),
        a.authority.len(),
        a.additional.len()
    )?;
    writeln!(out)?;
    writeln!(out, ";; QUESTION SECTION:")?;
    writeln!(
        out,
        ";{}\t\t{}\t{}",
        a.question.name, a.question.qclass, a.question.qtype
    )?;
    writeln!(out)?;
    section(out, "ANSWER", &a.answers)?;
    section(out, "AUTHORITY", &a.authority)?;
    section(out, "ADDITIONAL", &a.additional)?;
    writeln!(out, ";; Query time: {} msec", took.as_millis())?;
    let via = match a.source {
        Source::Cache => "cache",
        Source::Udp => "UDP",
        Source::Tcp => "TCP",
    };
    writeln!(out, ";; SERVER: {}#{}({via})", server.ip(), server.port())?;
    writeln!(out)
}

#[cfg(test)]
mod tests;
