//! `tunstack resolve NAME [@SERVER] [TYPE] [-x ADDR] [-n COUNT]`: looks a name up through
//! a [`Resolver`] and prints the answer as `dig` does, then the resolver's counters.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use super::resolver::{Answer, Resolver, Source};
use super::{Name, RType, Record};
use crate::net::{NetDatagram, NetStream};

/// `tunstack resolve`'s own arguments, as clap parses them.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ResolveCli {
    /// The name to look up, then optionally the server (@IP, @IP:PORT or @IP#PORT) and a
    /// TYPE (A, MX, TXT, ...), in any order after the name.
    #[arg(value_name = "NAME [@SERVER[:PORT]] [TYPE]")]
    pub words: Vec<String>,
    /// The reverse (PTR) lookup of an IPv4 address.
    #[arg(short = 'x', value_name = "ADDR", value_parser = reverse_addr)]
    pub reverse: Option<Ipv4Addr>,
    /// Look the name up COUNT times (after the first, answered from the cache while the
    /// TTL lasts).
    #[arg(short = 'n', value_name = "COUNT", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
}

fn reverse_addr(s: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| "expected an IPv4 address like 10.77.0.2".to_string())
}

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

impl ResolveCli {
    /// The lookup these arguments ask for: a name (or `-x ADDR`), optionally
    /// `@SERVER[:PORT]` and a TYPE in any order after it.
    pub fn into_args(self) -> Result<ResolveArgs, String> {
        let mut name = self.reverse.map(Name::reverse_v4);
        let mut rtype = self.reverse.map(|_| RType::PTR);
        let mut server = None;
        let mut named = self.reverse.is_some();
        let mut typed = false;
        for a in &self.words {
            if let Some(s) = a.strip_prefix('@') {
                server = Some(parse_server(s)?);
            } else if !named {
                name = Some(Name::parse(a).map_err(|e| format!("name {a:?}: {e}"))?);
                named = true;
            } else if !typed {
                rtype = Some(RType::from_text(a).ok_or_else(|| {
                    format!("unknown type {a:?} (expected a record type like A, MX, TXT, PTR)")
                })?);
                typed = true;
            } else {
                return Err(format!("unexpected argument {a:?}"));
            }
        }
        Ok(ResolveArgs {
            name: name.ok_or("resolve needs a NAME (or -x ADDR)")?,
            rtype: rtype.unwrap_or(RType::A),
            server,
            count: self.count,
        })
    }
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
