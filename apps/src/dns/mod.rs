//! DNS: the message codec, an authoritative server and a caching stub resolver, all
//! written against the socket traits in [`crate::net`], so they run on the kernel's
//! `std::net` sockets and on tunstack's alike.
//!
//! - [`name`], [`rr`], [`message`]: the wire format (RFC 1035 section 4, EDNS0 from
//!   RFC 6891), read with every check of RFC 9267 and written with name compression.
//! - [`zone`]: RFC 1035 master files and the default `tunstack.test` zone.
//! - [`server`]: authoritative answers over UDP and TCP (RFC 1034, 2308, 7766).
//! - [`resolver`]: a stub resolver with a TTL-honouring cache (RFC 2308 negative caching).
//! - [`cmd`]: `tunstack resolve`, printing dig-like output.

pub mod cmd;
mod error;
pub mod message;
pub mod name;
pub mod resolver;
pub mod rr;
pub mod server;
pub mod zone;

pub use error::Error;
pub use message::{Edns, Header, Message, Opcode, Question, Rcode};
pub use name::Name;
pub use rr::{Class, RData, RType, Record, Soa};

/// The fuzz target's body: parse `data` as a DNS message; whatever parses must write back
/// and re-read to the same message, and the server must answer it without panicking.
/// (A cargo-fuzz target calls this with each input.)
pub fn fuzz_one(data: &[u8]) {
    if let Ok(m) = Message::parse(data) {
        // Writing can only fail by growing past 64 KiB (the input may have pointed into
        // places a writer never points to, or compressed SRV targets).
        match m.to_bytes() {
            Ok(bytes) => {
                let again = Message::parse(&bytes).expect("a written message reads back");
                assert!(again == m, "round trip changed the message");
            }
            Err(e) => assert_eq!(e, Error::TooLong),
        }
    }
    // One server for the whole fuzzing run: building it (parsing the default zone) per
    // input would cost more than the work being fuzzed.
    static SERVER: std::sync::OnceLock<server::Server> = std::sync::OnceLock::new();
    let server = SERVER.get_or_init(|| {
        server::Server::new(
            server::Catalog::new(vec![zone::default_zone(std::net::Ipv4Addr::new(
                10, 77, 0, 2,
            ))]),
            server::ServerConfig::default(),
        )
    });
    for transport in [server::Transport::Udp, server::Transport::Tcp] {
        if let Some(reply) = server.handle(data, transport) {
            let limit = match transport {
                server::Transport::Udp => 4096,
                server::Transport::Tcp => 65535,
            };
            assert!(reply.len() <= limit);
            Message::parse(&reply).expect("the server's answers parse");
        }
    }
}
