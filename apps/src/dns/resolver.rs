//! A stub resolver (RFC 1034 section 5.3.1): asks one server over UDP, keeps answers in a
//! [`Cache`], and retries over TCP when an answer comes back truncated (RFC 7766 section 5).
//!
//! Against spoofing (RFC 5452): query IDs are random, from a seedable
//! [`tunstack::rand::Rng`]; an answer counts only if it comes from the server's address
//! and port and matches the ID, the name (without regard to case), the type and the class
//! (section 9.1); anything else is ignored and the wait goes on. Random *source ports* are
//! the socket layer's job: bind the socket to port 0 and the stack (tunstack's or the
//! kernel's) picks a random ephemeral port.

use core::fmt;
use std::io;
use std::net::SocketAddr;

use tunstack::rand::Rng;
use tunstack::time::Instant;

use super::message::MIN_UDP_PAYLOAD;
use super::{Edns, Header, Message, Name, Opcode, Question, RType, Rcode, Record};
use crate::net::{is_timeout, NetDatagram, NetStream};

pub mod cache;

pub use cache::{Cache, Cached};

const LOG: &str = "tunstack::dns";

/// How a resolver behaves.
#[derive(Clone, Debug)]
pub struct ResolverConfig {
    /// How long the first try waits for an answer; each retry waits twice as long as the
    /// one before (exponential back-off).
    pub timeout: std::time::Duration,
    /// Tries over UDP before giving up.
    pub attempts: u32,
    /// The UDP payload size advertised with EDNS0 (RFC 6891), or `None` to send no OPT
    /// record (answers are then limited to 512 bytes).
    pub udp_payload: Option<u16>,
    /// Answers held at most.
    pub cache_entries: usize,
    /// The longest any answer is held, in seconds.
    pub max_ttl: u32,
    /// The longest a negative answer is held (RFC 2308 section 5: one to three hours).
    pub max_negative_ttl: u32,
}

impl Default for ResolverConfig {
    fn default() -> ResolverConfig {
        ResolverConfig {
            timeout: std::time::Duration::from_secs(1),
            attempts: 3,
            udp_payload: Some(1232),
            cache_entries: 1024,
            max_ttl: 86400,
            max_negative_ttl: 10800,
        }
    }
}

/// A resolver's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolverStats {
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Lookups that had to ask the server.
    pub cache_misses: u64,
    /// Queries sent over UDP, retries included.
    pub udp_queries: u64,
    /// Of those, retries after a timeout.
    pub retries: u64,
    /// Queries sent over TCP after a truncated UDP answer.
    pub tcp_fallbacks: u64,
    /// Datagrams ignored because they did not answer the question (wrong source, ID,
    /// name, type or class, or unreadable).
    pub mismatched: u64,
}

impl fmt::Display for ResolverStats {
    /// One `Name value` line per counter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "DnsCacheHits            {}", self.cache_hits)?;
        writeln!(f, "DnsCacheMisses          {}", self.cache_misses)?;
        writeln!(f, "DnsUdpQueries           {}", self.udp_queries)?;
        writeln!(f, "DnsRetries              {}", self.retries)?;
        writeln!(f, "DnsTcpFallbacks         {}", self.tcp_fallbacks)?;
        write!(f, "DnsMismatched           {}", self.mismatched)
    }
}

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The cache.
    Cache,
    /// The server, over UDP.
    Udp,
    /// The server, over TCP.
    Tcp,
}

/// A resolver's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The question it answers.
    pub question: Question,
    /// The response's header (for a cached answer: QR, RD and the response code).
    pub header: Header,
    /// The response code.
    pub rcode: Rcode,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authority: Vec<Record>,
    /// The additional section (empty for a cached answer).
    pub additional: Vec<Record>,
    /// Where it came from.
    pub source: Source,
}

/// Opens a TCP connection to the server, for the retry of a truncated answer.
pub type Connect<S> = Box<dyn FnMut(SocketAddr) -> io::Result<S> + Send>;

/// A stub resolver asking one server.
pub struct Resolver<D: NetDatagram, S: NetStream = std::net::TcpStream> {
    sock: D,
    server: SocketAddr,
    rng: Rng,
    cache: Cache,
    config: ResolverConfig,
    connect: Option<Connect<S>>,
    clock: Box<dyn Fn() -> Instant + Send>,
    stats: ResolverStats,
}

/// Why a datagram is not the answer to our query (RFC 5452 section 9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// From another address or port than the server's.
    Source(SocketAddr),
    /// Not a readable DNS message.
    Malformed(super::Error),
    /// Not a response, or another opcode.
    NotResponse,
    /// Another query ID.
    Id(u16),
    /// Another question (name, type or class), or not exactly one.
    Question,
}

/// Checks that `bytes`, received from `from`, answer query `id` for `q` sent to `server`.
pub fn check_response(
    bytes: &[u8],
    from: SocketAddr,
    server: SocketAddr,
    id: u16,
    q: &Question,
) -> Result<Message, Mismatch> {
    if from != server {
        return Err(Mismatch::Source(from));
    }
    let m = Message::parse(bytes).map_err(Mismatch::Malformed)?;
    if !m.header.qr || m.header.opcode != Opcode::QUERY {
        return Err(Mismatch::NotResponse);
    }
    if m.header.id != id {
        return Err(Mismatch::Id(m.header.id));
    }
    match m.questions.as_slice() {
        [a] if a.name.eq_ignore_case(&q.name) && a.qtype == q.qtype && a.qclass == q.qclass => {
            Ok(m)
        }
        _ => Err(Mismatch::Question),
    }
}

impl<D: NetDatagram> Resolver<D> {
    /// A resolver asking `server` through `sock` (bound to port 0 for a random source
    /// port), its query IDs drawn from `rng`, without TCP fallback until
    /// [`Resolver::with_tcp`].
    pub fn new(sock: D, server: SocketAddr, rng: Rng) -> Resolver<D> {
        let config = ResolverConfig::default();
        Resolver {
            sock,
            server,
            rng,
            cache: Cache::new(
                config.cache_entries,
                config.max_ttl,
                config.max_negative_ttl,
            ),
            config,
            connect: None,
            clock: Box::new(Instant::now),
            stats: ResolverStats::default(),
        }
    }
}

impl<D: NetDatagram, S: NetStream> Resolver<D, S> {
    /// Retries truncated answers over TCP, with connections from `connect`.
    pub fn with_tcp<S2: NetStream>(
        self,
        connect: impl FnMut(SocketAddr) -> io::Result<S2> + Send + 'static,
    ) -> Resolver<D, S2> {
        Resolver {
            sock: self.sock,
            server: self.server,
            rng: self.rng,
            cache: self.cache,
            config: self.config,
            connect: Some(Box::new(connect)),
            clock: self.clock,
            stats: self.stats,
        }
    }

    /// Uses `config` (and a new, empty cache sized by it).
    pub fn with_config(mut self, config: ResolverConfig) -> Self {
        self.cache = Cache::new(
            config.cache_entries,
            config.max_ttl,
            config.max_negative_ttl,
        );
        self.config = config;
        self
    }

    /// Reads the time for the cache from `clock` instead of the monotonic clock.
    pub fn with_clock(mut self, clock: impl Fn() -> Instant + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The server asked.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The counters.
    pub fn stats(&self) -> &ResolverStats {
        &self.stats
    }

    /// The cache.
    pub fn cache_mut(&mut self) -> &mut Cache {
        &mut self.cache
    }

    /// The answer to `name`/`rtype` (class IN): from the cache while it holds one,
    /// else from the server (and then cached).
    pub fn lookup(&mut self, name: &Name, rtype: RType) -> io::Result<Answer> {
        let q = Question::new(name.clone(), rtype);
        if let Some(c) = self.cache.get(&q, (self.clock)()) {
            self.stats.cache_hits += 1;
            return Ok(Answer {
                header: Header {
                    qr: true,
                    rd: true,
                    rcode: (c.rcode.0 & 0xF) as u8,
                    ..Header::default()
                },
                question: q,
                rcode: c.rcode,
                answers: c.answers,
                authority: c.authority,
                additional: Vec::new(),
                source: Source::Cache,
            });
        }
        self.stats.cache_misses += 1;
        let (m, source) = self.query(&q)?;
        self.cache.insert(&q, &m, (self.clock)());
        Ok(Answer {
            question: q,
            header: m.header.clone(),
            rcode: m.rcode(),
            answers: m.answers,
            authority: m.authority,
            additional: m.additional,
            source,
        })
    }

    /// Asks the server `q` without looking in the cache: over UDP with retries and
    /// back-off, then over TCP if the answer is truncated and TCP is set up (else the
    /// truncated answer is returned as it is).
    pub fn query(&mut self, q: &Question) -> io::Result<(Message, Source)> {
        let m = self.query_udp(q)?;
        if !m.header.tc {
            return Ok((m, Source::Udp));
        }
        match self.connect.is_some() {
            true => self.query_tcp(q).map(|m| (m, Source::Tcp)),
            false => Ok((m, Source::Udp)),
        }
    }

    fn new_query(&mut self, q: &Question, udp: bool) -> io::Result<(u16, Vec<u8>)> {
        let id = (self.rng.next_u32() >> 16) as u16;
        let mut m = Message::query(id, q.clone());
        if udp {
            m.edns = self
                .config
                .udp_payload
                .map(|p| Edns::new(p.max(MIN_UDP_PAYLOAD)));
        }
        let bytes = m
            .to_bytes()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok((id, bytes))
    }

    fn query_udp(&mut self, q: &Question) -> io::Result<Message> {
        let (id, bytes) = self.new_query(q, true)?;
        let mut buf = vec![0u8; usize::from(u16::MAX)];
        let mut wait = self.config.timeout;
        for attempt in 0..self.config.attempts.max(1) {
            if attempt > 0 {
                self.stats.retries += 1;
                log::debug!(target: LOG, "no answer for {} {}; try {}", q.name, q.qtype, attempt + 1);
            }
            self.sock.send_to(&bytes, self.server)?;
            self.stats.udp_queries += 1;
            let deadline = std::time::Instant::now() + wait;
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                self.sock.set_read_timeout(Some(left))?;
                match self.sock.recv_from(&mut buf) {
                    Ok((n, from)) => match check_response(&buf[..n], from, self.server, id, q) {
                        Ok(m) => return Ok(m),
                        Err(why) => {
                            self.stats.mismatched += 1;
                            log::debug!(target: LOG, "ignored a datagram from {from}: {why:?}");
                        }
                    },
                    Err(e) if is_timeout(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            wait = wait.saturating_mul(2);
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no answer from {} after {} tries",
                self.server, self.config.attempts
            ),
        ))
    }

    /// The query over TCP (RFC 1035 section 4.2.2: a two-byte length before each
    /// message), with a fresh ID.
    fn query_tcp(&mut self, q: &Question) -> io::Result<Message> {
        self.stats.tcp_fallbacks += 1;
        let (id, bytes) = self.new_query(q, false)?;
        let connect = self
            .connect
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::Unsupported, "no TCP"))?;
        let mut s = connect(self.server)?;
        let limit = self
            .config
            .timeout
            .saturating_mul(self.config.attempts.max(1));
        s.set_read_timeout(Some(limit))?;
        s.set_write_timeout(Some(limit))?;
        let mut out = Vec::with_capacity(bytes.len() + 2);
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(&bytes);
        s.write_all(&out)?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len)?;
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut msg)?;
        let _ = s.shutdown(std::net::Shutdown::Both);
        check_response(&msg, self.server, self.server, id, q).map_err(|why| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TCP answer does not match the question: {why:?}"),
            )
        })
    }
}

#[cfg(test)]
mod tests;
