//! An authoritative DNS server: answers from its zones only (RFC 1034 section 4.3.2),
//! with AA set; CNAMEs chased inside the zone; NXDOMAIN and NODATA with the SOA in the
//! authority section (RFC 2308); REFUSED outside its zones (it is not an open resolver);
//! FORMERR for malformed queries; NOTIMP for other opcodes; the query's letter case echoed
//! (RFC 4343 section 4.1); EDNS0 payload sizes honoured (RFC 6891) and TC set when the
//! answer does not fit; and DNS over TCP (RFC 7766) with several queries per connection
//! and an idle timeout. The run loops take any [`NetDatagram`]/[`IntoAsyncListener`], so the same
//! server runs on the kernel's sockets and on tunstack's.

use core::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::message::MIN_UDP_PAYLOAD;
use super::zone::{Lookup, Zone};
use super::{Class, Edns, Header, Message, Name, Opcode, RData, RType, Rcode, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::aio::{self, AsyncStream, ConnLimit, IntoAsyncListener};
use crate::net::{is_timeout, NetDatagram};

const LOG: &str = "tunstack::dns";

/// The zones a server is authoritative for.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    zones: Vec<Zone>,
}

impl Catalog {
    /// A catalog of `zones`.
    pub fn new(zones: Vec<Zone>) -> Catalog {
        Catalog { zones }
    }

    /// Adds a zone.
    pub fn add(&mut self, zone: Zone) {
        self.zones.push(zone);
    }

    /// The zones.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// The zone `name` belongs to: the one with the longest origin that `name` is at or
    /// below.
    pub fn find(&self, name: &Name) -> Option<&Zone> {
        self.zones
            .iter()
            .filter(|z| name.is_subdomain_of(z.origin()))
            .max_by_key(|z| z.origin().wire_len())
    }
}

/// Which transport a query came over: it bounds the answer's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP: 512 bytes, or the EDNS0 payload size (RFC 6891 section 6.2.5).
    Udp,
    /// TCP: 65535 bytes (RFC 7766 section 8).
    Tcp,
}

/// How a server behaves.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest UDP answer it sends and the size it advertises in its OPT record:
    /// 1232 by default, which fits an IPv6 minimum MTU (the DNS flag day 2020 value).
    pub max_udp_payload: u16,
    /// A TCP connection with no query for this long is closed (RFC 7766 section 6.2.3).
    pub tcp_idle_timeout: Duration,
    /// TCP connections served at once; more are reset at once and counted (RFC 7766
    /// section 6.2.2), also in `TcpExtTunstackConnRefusedMax`.
    pub max_tcp_connections: usize,
    /// The longest CNAME chain followed.
    pub max_cname_chain: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_udp_payload: 1232,
            tcp_idle_timeout: Duration::from_secs(10),
            max_tcp_connections: 64,
            max_cname_chain: 8,
        }
    }
}

/// A server's counters.
#[derive(Debug, Default)]
struct Counters {
    queries_udp: AtomicU64,
    queries_tcp: AtomicU64,
    rcodes: [AtomicU64; 7],
    truncated: AtomicU64,
    dropped: AtomicU64,
    tcp_connections: AtomicU64,
    tcp_rejected: AtomicU64,
}

/// A copy of a server's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Messages received over UDP.
    pub queries_udp: u64,
    /// Messages received over TCP.
    pub queries_tcp: u64,
    /// Answers by response code: NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED,
    /// and any other.
    pub rcodes: [u64; 7],
    /// UDP answers sent with TC set.
    pub truncated: u64,
    /// Messages not answered (shorter than a header, or responses).
    pub dropped: u64,
    /// TCP connections served.
    pub tcp_connections: u64,
    /// TCP connections closed at once because too many were open.
    pub tcp_rejected: u64,
}

impl ServerStats {
    /// Answers sent with `rcode`.
    pub fn answers(&self, rcode: Rcode) -> u64 {
        self.rcodes[rcode_slot(rcode)]
    }
}

fn rcode_slot(r: Rcode) -> usize {
    usize::from(r.0).min(6)
}

impl fmt::Display for ServerStats {
    /// One `Name value` line per counter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "DnsQueriesUdp           {}", self.queries_udp)?;
        writeln!(f, "DnsQueriesTcp           {}", self.queries_tcp)?;
        let names = [
            "NoError", "FormErr", "ServFail", "NxDomain", "NotImp", "Refused", "Other",
        ];
        for (n, v) in names.iter().zip(self.rcodes) {
            writeln!(f, "DnsAnswers{n:<14}{v}")?;
        }
        writeln!(f, "DnsTruncated            {}", self.truncated)?;
        writeln!(f, "DnsDropped              {}", self.dropped)?;
        writeln!(f, "DnsTcpConnections       {}", self.tcp_connections)?;
        write!(f, "DnsTcpRejected          {}", self.tcp_rejected)
    }
}

/// An authoritative server over a [`Catalog`].
#[derive(Debug)]
pub struct Server {
    catalog: Catalog,
    config: ServerConfig,
    counters: Counters,
    stop: AtomicBool,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Server {
    /// A server for `catalog`.
    pub fn new(catalog: Catalog, config: ServerConfig) -> Server {
        Server {
            catalog,
            config,
            counters: Counters::default(),
            stop: AtomicBool::new(false),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Its zones.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Its counters now.
    pub fn stats(&self) -> ServerStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServerStats {
            queries_udp: l(&c.queries_udp),
            queries_tcp: l(&c.queries_tcp),
            rcodes: std::array::from_fn(|i| l(&c.rcodes[i])),
            truncated: l(&c.truncated),
            dropped: l(&c.dropped),
            tcp_connections: l(&c.tcp_connections),
            tcp_rejected: l(&c.tcp_rejected),
        }
    }

    /// Asks the run loops to return: the UDP loop notices within its poll interval, the
    /// TCP loop at its next accepted connection.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Answers one message that arrived over `transport`: the bytes to send back, or
    /// `None` when nothing should be sent (a message too short for a header, or a
    /// response: answering those could loop between servers).
    pub fn handle(&self, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
        bump(match transport {
            Transport::Udp => &self.counters.queries_udp,
            Transport::Tcp => &self.counters.queries_tcp,
        });
        let header = match Header::read(query) {
            Ok(h) if !h.qr => h,
            _ => {
                bump(&self.counters.dropped);
                return None;
            }
        };
        let (resp, limit) = match Message::parse(query) {
            Ok(q) => {
                let limit = match transport {
                    Transport::Udp => self.udp_limit(&q),
                    Transport::Tcp => usize::from(u16::MAX),
                };
                (self.answer(&q), limit)
            }
            Err(e) => {
                log::debug!(target: LOG, "malformed query: {e}");
                (formerr(&header), usize::from(MIN_UDP_PAYLOAD))
            }
        };
        let bytes = match resp.to_bytes_limited(limit) {
            Ok(b) => b,
            Err(e) => {
                log::warn!(target: LOG, "could not write an answer: {e}");
                let mut fail = Message::response_to(&Message {
                    header,
                    ..Message::default()
                });
                fail.set_rcode(Rcode::SERVFAIL);
                fail.to_bytes().ok()?
            }
        };
        if let Ok(h) = Header::read(&bytes) {
            if h.tc {
                bump(&self.counters.truncated);
            }
        }
        bump(&self.counters.rcodes[rcode_slot(resp.rcode())]);
        Some(bytes)
    }

    /// The largest UDP answer to `q`: 512 without EDNS0 (RFC 1035 section 4.2.1), else
    /// the requestor's payload size, at least 512 and at most ours (RFC 6891 section 6.2.5).
    fn udp_limit(&self, q: &Message) -> usize {
        let ours = self.config.max_udp_payload.max(MIN_UDP_PAYLOAD);
        usize::from(q.edns.as_ref().map_or(MIN_UDP_PAYLOAD, |e| {
            e.udp_payload.clamp(MIN_UDP_PAYLOAD, ours)
        }))
    }

    /// The answer to a parsed query (before any size limit).
    pub fn answer(&self, q: &Message) -> Message {
        let mut resp = Message::response_to(q);
        // RFC 6891 section 6.1.1: answer an OPT with an OPT.
        if q.edns.is_some() {
            resp.edns = Some(Edns::new(self.config.max_udp_payload.max(MIN_UDP_PAYLOAD)));
        }
        // RFC 1035 section 4.1.1: other kinds of query are not implemented here.
        if q.header.opcode != Opcode::QUERY {
            resp.set_rcode(Rcode::NOTIMP);
            return resp;
        }
        // RFC 6891 section 6.1.3: only EDNS version 0.
        if q.edns.as_ref().is_some_and(|e| e.version > 0) {
            resp.set_rcode(Rcode::BADVERS);
            return resp;
        }
        // RFC 9619: a query carries exactly one question.
        let [question] = q.questions.as_slice() else {
            resp.questions.clear();
            resp.set_rcode(Rcode::FORMERR);
            return resp;
        };
        // RFC 6891 section 6.1.1: OPT is not a type to ask for.
        if question.qtype == RType::OPT {
            resp.set_rcode(Rcode::FORMERR);
            return resp;
        }
        // Zone transfers are not offered; only class IN is served.
        let zone = self.catalog.find(&question.name);
        let zone = match zone {
            Some(z)
                if question.qtype != RType::AXFR
                    && question.qtype != RType::IXFR
                    && (question.qclass == Class::IN || question.qclass == Class::ANY) =>
            {
                z
            }
            // Not ours: refused, not recursed (RFC 1034 section 4.3.1; RA stays clear).
            _ => {
                resp.set_rcode(Rcode::REFUSED);
                return resp;
            }
        };
        resp.header.aa = true;
        let rcode = self.resolve(zone, &question.name, question.qtype, &mut resp);
        resp.set_rcode(rcode);
        resp
    }

    /// RFC 1034 section 4.3.2 step 3 in `zone`, chasing CNAMEs inside the zone; fills the
    /// sections of `resp` and returns the response code, which is that of the last name
    /// in the chain (RFC 6604 section 2).
    fn resolve(&self, zone: &Zone, qname: &Name, qtype: RType, resp: &mut Message) -> Rcode {
        let mut name = qname.clone();
        let mut chain = 0;
        loop {
            match zone.lookup(&name, qtype) {
                Lookup::Found(set) => {
                    // The owner as asked: the query's letter case echoed (RFC 4343 4.1).
                    for r in set {
                        resp.answers.push(Record {
                            name: name.clone(),
                            ..r.clone()
                        });
                    }
                    self.add_additional(zone, resp);
                    return Rcode::NOERROR;
                }
                Lookup::Cname(c) => {
                    resp.answers.push(Record {
                        name: name.clone(),
                        ..c.clone()
                    });
                    let RData::Cname(target) = &c.data else {
                        return Rcode::SERVFAIL;
                    };
                    chain += 1;
                    let looped = resp.answers.iter().any(|r| r.name.eq_ignore_case(target));
                    // RFC 1034 section 4.3.2 step 3a: restart at the target, while it is
                    // in this zone (the client asks elsewhere for the rest).
                    if looped
                        || chain > self.config.max_cname_chain
                        || !target.is_subdomain_of(zone.origin())
                    {
                        return Rcode::NOERROR;
                    }
                    name = target.clone();
                }
                Lookup::Delegation(ns) => {
                    // A referral (step 3b): not authoritative for what is below the cut.
                    if resp.answers.is_empty() {
                        resp.header.aa = false;
                    }
                    resp.authority.extend(ns.into_iter().cloned());
                    self.add_glue(zone, resp);
                    return Rcode::NOERROR;
                }
                Lookup::NoData => {
                    // RFC 2308 section 2.2: NOERROR, no answer, the SOA in authority.
                    resp.authority.extend(zone.negative_soa());
                    return Rcode::NOERROR;
                }
                Lookup::NxDomain => {
                    // RFC 2308 section 2.1: NXDOMAIN with the SOA in authority.
                    resp.authority.extend(zone.negative_soa());
                    return Rcode::NXDOMAIN;
                }
            }
        }
    }

    /// Additional section processing: addresses of the hosts that MX (RFC 1035 section
    /// 3.3.9), NS (3.3.11) and SRV (RFC 2782) answers name, when they are in the zone.
    fn add_additional(&self, zone: &Zone, resp: &mut Message) {
        let targets: Vec<Name> = resp
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::Mx { exchange, .. } => Some(exchange.clone()),
                RData::Ns(n) => Some(n.clone()),
                RData::Srv { target, .. } => Some(target.clone()),
                _ => None,
            })
            .collect();
        self.add_addresses(zone, &targets, resp);
    }

    /// Glue: addresses of the name servers in a referral, from the zone's own data.
    fn add_glue(&self, zone: &Zone, resp: &mut Message) {
        let targets: Vec<Name> = resp
            .authority
            .iter()
            .filter_map(|r| match &r.data {
                RData::Ns(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        self.add_addresses(zone, &targets, resp);
    }

    fn add_addresses(&self, zone: &Zone, targets: &[Name], resp: &mut Message) {
        for t in targets {
            if !t.is_subdomain_of(zone.origin()) {
                continue;
            }
            for rtype in [RType::A, RType::AAAA] {
                for r in zone.rrset(t, rtype) {
                    if !resp.answers.contains(r) && !resp.additional.contains(r) {
                        resp.additional.push(r.clone());
                    }
                }
            }
        }
    }
}

/// FORMERR for a message whose header could be read but not the rest: the header's ID,
/// opcode and RD echoed, no sections (RFC 1035 section 4.1.1).
fn formerr(header: &Header) -> Message {
    let mut m = Message::response_to(&Message {
        header: header.clone(),
        ..Message::default()
    });
    m.set_rcode(Rcode::FORMERR);
    m
}

/// How often the UDP loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// Serves queries arriving on `sock` until [`Server::stop`]. ICMP errors surfacing on the
/// socket (a client that went away) do not end the loop.
pub fn serve_udp<D: NetDatagram>(sock: D, server: Arc<Server>) -> io::Result<()> {
    sock.set_read_timeout(Some(POLL))?;
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    while !server.stopped() {
        match sock.recv_from(&mut buf) {
            Ok((n, peer)) => {
                if let Some(reply) = server.handle(&buf[..n], Transport::Udp) {
                    if let Err(e) = sock.send_to(&reply, peer) {
                        log::debug!(target: LOG, "send to {peer}: {e}");
                    }
                }
            }
            Err(e)
                if is_timeout(&e)
                    || matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                    ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Serves DNS over TCP on `listener` (RFC 7766), on the calling thread: every
/// connection a task, at most `max_tcp_connections` at once (the next is reset at once
/// and counted, RFC 7766 section 6.2.2 lets a server close connections to protect its
/// resources), each answering queries in order until the client closes or is idle for
/// `tcp_idle_timeout`. Returns after [`Server::stop`] once the next connection arrives.
pub fn serve_tcp<L: IntoAsyncListener>(listener: L, server: Arc<Server>) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move { run_tcp(listener.into_async()?, server).await })
}

async fn run_tcp<L: aio::AsyncListener>(listener: L, server: Arc<Server>) -> io::Result<()> {
    let limit = ConnLimit::new(server.config.max_tcp_connections);
    let (s1, s2, s3) = (Arc::clone(&server), Arc::clone(&server), server);
    aio::accept_loop(
        listener,
        limit,
        move || s1.stopped(),
        move |stream, peer| {
            let server = Arc::clone(&s2);
            bump(&server.counters.tcp_connections);
            async move {
                if let Err(e) = serve_connection(stream, &server).await {
                    log::debug!(target: LOG, "dns tcp {peer}: {e}");
                }
            }
        },
        move |stream, peer| {
            bump(&s3.counters.tcp_rejected);
            aio::reset(stream, peer);
        },
    )
    .await
}

/// A running serve loop.
pub type Loop = std::thread::JoinHandle<io::Result<()>>;

/// Runs [`serve_udp`] and [`serve_tcp`] for `server` in two background threads (as
/// `tunstack up` does on port 53); each returns its loop's result when joined.
pub fn spawn<D: NetDatagram, L: IntoAsyncListener>(
    server: &Arc<Server>,
    udp: D,
    tcp: L,
) -> io::Result<(Loop, Loop)> {
    let (s1, s2) = (Arc::clone(server), Arc::clone(server));
    let u = std::thread::Builder::new()
        .name("tunstack-dns-udp".into())
        .spawn(move || serve_udp(udp, s1))?;
    let t = std::thread::Builder::new()
        .name("tunstack-dns-tcp".into())
        .spawn(move || serve_tcp(tcp, s2))?;
    Ok((u, t))
}

/// Reads exactly `buf.len()` bytes within `idle`; `Ok(false)` when the stream ends (or
/// the wait runs out) before the first byte.
async fn read_full<S: AsyncStream>(s: &mut S, buf: &mut [u8], idle: Duration) -> io::Result<bool> {
    match aio::within(idle, s.readable()).await {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(false),
        Err(e) => return Err(e),
    }
    let mut got = 0;
    while got < buf.len() {
        match aio::within(idle, s.read(&mut buf[got..])).await? {
            0 if got == 0 => return Ok(false),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok(true)
}

/// One TCP connection: two-byte length, message, answer, repeat (RFC 1035 section 4.2.2,
/// RFC 7766 section 6.2.1: several queries per connection, answered in order). A
/// connection waiting for its next query holds no buffer.
async fn serve_connection<S: AsyncStream>(mut s: S, server: &Server) -> io::Result<()> {
    let idle = server.config.tcp_idle_timeout;
    let _ = s.set_nodelay(true);
    let result = loop {
        let mut len = [0u8; 2];
        match read_full(&mut s, &mut len, idle).await {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) if is_timeout(&e) => break Ok(()),
            Err(e) => break Err(e),
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match read_full(&mut s, &mut query, idle).await {
            Ok(true) => {}
            Ok(false) => break Err(io::ErrorKind::UnexpectedEof.into()),
            Err(e) if is_timeout(&e) => break Ok(()),
            Err(e) => break Err(e),
        }
        if let Some(reply) = server.handle(&query, Transport::Tcp) {
            let mut out = Vec::with_capacity(reply.len() + 2);
            out.extend_from_slice(&(reply.len() as u16).to_be_bytes());
            out.extend_from_slice(&reply);
            if let Err(e) = aio::within(idle, s.write_all(&out)).await {
                break Err(e);
            }
        }
    };
    let _ = s.shutdown().await;
    result
}

#[cfg(test)]
mod tests;
