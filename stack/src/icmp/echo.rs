//! Echo sockets: what `ping` and `traceroute` inside the stack read from.
//!
//! A socket is named by its echo identifier (RFC 792: "an identifier to aid in matching
//! echos and replies"). It receives the echo replies carrying its identifier, and the ICMP
//! errors (time exceeded, destination unreachable) that quote one of its echo requests,
//! which is how traceroute learns each hop.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use crate::rand::Rng;
use crate::time::Instant;
use crate::wire::ipv4::{IpProtocol, Ipv4Packet};

/// An ICMP error about one of a socket's echo requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpError {
    /// Destination unreachable with this code (and next-hop MTU, for code 4).
    DstUnreachable {
        /// The code (RFC 792; 4 = fragmentation needed, RFC 1191).
        code: u8,
        /// The next-hop MTU (RFC 1191), or zero.
        mtu: u16,
    },
    /// Time exceeded with this code (0: TTL, 1: reassembly).
    TimeExceeded {
        /// The code.
        code: u8,
    },
    /// Parameter problem, with the pointer.
    ParamProblem {
        /// The octet the problem is at.
        pointer: u8,
    },
}

/// What an echo socket receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EchoEvent {
    /// An echo reply.
    Reply {
        /// Who replied.
        from: Ipv4Addr,
        /// The sequence number.
        seq: u16,
        /// The reply's TTL as received.
        ttl: u8,
        /// The echoed data.
        data: Vec<u8>,
        /// When it arrived.
        at: Instant,
    },
    /// An error quoting one of the socket's requests.
    Error {
        /// Who sent the error (the router, for traceroute).
        from: Ipv4Addr,
        /// The sequence number of the request it quotes.
        seq: u16,
        /// What went wrong.
        error: IcmpError,
        /// When it arrived.
        at: Instant,
    },
}

/// The echo sockets of a stack, each with a bounded queue.
#[derive(Debug)]
pub struct EchoSockets {
    sockets: HashMap<u16, VecDeque<EchoEvent>>,
    /// Events dropped because a queue was full.
    pub dropped: u64,
}

/// The most echo sockets at once.
pub const MAX_SOCKETS: usize = 1024;
/// The most events queued on one socket; more are dropped.
pub const QUEUE_LEN: usize = 256;

impl Default for EchoSockets {
    fn default() -> Self {
        Self::new()
    }
}

impl EchoSockets {
    /// No sockets.
    pub fn new() -> EchoSockets {
        EchoSockets {
            sockets: HashMap::new(),
            dropped: 0,
        }
    }

    /// Opens a socket with a random unused identifier; `None` when the table is full.
    pub fn open(&mut self, rng: &mut Rng) -> Option<u16> {
        if self.sockets.len() >= MAX_SOCKETS {
            return None;
        }
        loop {
            let id = rng.next_u32() as u16;
            if let std::collections::hash_map::Entry::Vacant(e) = self.sockets.entry(id) {
                e.insert(VecDeque::new());
                return Some(id);
            }
        }
    }

    /// Closes a socket; its queued events are gone.
    pub fn close(&mut self, ident: u16) {
        self.sockets.remove(&ident);
    }

    /// Whether a socket with this identifier is open.
    pub fn is_open(&self, ident: u16) -> bool {
        self.sockets.contains_key(&ident)
    }

    /// The next event of a socket.
    pub fn recv(&mut self, ident: u16) -> Option<EchoEvent> {
        self.sockets.get_mut(&ident)?.pop_front()
    }

    /// Queues an event on the socket `ident`, if open. Returns whether a socket took it.
    pub fn deliver(&mut self, ident: u16, event: EchoEvent) -> bool {
        let Some(q) = self.sockets.get_mut(&ident) else {
            return false;
        };
        if q.len() >= QUEUE_LEN {
            self.dropped += 1;
        } else {
            q.push_back(event);
        }
        true
    }
}

/// The echo identifier and sequence number of an echo request quoted in an ICMP error:
/// `quote` is the offending datagram's IP header and at least 8 bytes of its data
/// (RFC 792). The quoted datagram is usually cut short, so only its header is checked
/// (`Ipv4Packet::new_checked_header`).
pub fn quoted_echo_request(quote: &[u8]) -> Option<(Ipv4Addr, u16, u16)> {
    let ip = Ipv4Packet::new_checked_header(quote).ok()?;
    let icmp = ip.payload().get(..8)?;
    if ip.protocol() != IpProtocol::Icmp || icmp[0] != 8 {
        return None;
    }
    let ident = u16::from_be_bytes([icmp[4], icmp[5]]);
    let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
    Some((ip.dst_addr(), ident, seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_gives_distinct_idents_and_queues_are_bounded() {
        let mut s = EchoSockets::new();
        let mut rng = Rng::new(3);
        let a = s.open(&mut rng).unwrap();
        let b = s.open(&mut rng).unwrap();
        assert_ne!(a, b);
        let ev = |seq| EchoEvent::Error {
            from: Ipv4Addr::LOCALHOST,
            seq,
            error: IcmpError::TimeExceeded { code: 0 },
            at: Instant::ZERO,
        };
        for i in 0..(QUEUE_LEN as u16 + 10) {
            assert!(s.deliver(a, ev(i)));
        }
        assert_eq!(s.dropped, 10);
        assert_eq!(s.recv(a), Some(ev(0)));
        assert_eq!(s.recv(b), None);
        s.close(a);
        assert!(!s.deliver(a, ev(1)));
    }

    #[test]
    fn quoted_request_is_found_even_when_cut_short() {
        // IP header (20 bytes, proto 1, dst 10.2.0.1) + ICMP echo header only.
        let mut q = vec![
            0x45, 0, 0, 84, 0, 1, 0x40, 0, 1, 1, 0, 0, 10, 1, 0, 1, 10, 2, 0, 1,
        ];
        q.extend_from_slice(&[8, 0, 0xab, 0xcd, 0x12, 0x34, 0x00, 0x07]);
        assert_eq!(
            quoted_echo_request(&q),
            Some((Ipv4Addr::new(10, 2, 0, 1), 0x1234, 7))
        );
        assert_eq!(quoted_echo_request(&q[..27]), None);
        q[20] = 0; // an echo reply is not ours to match
        assert_eq!(quoted_echo_request(&q), None);
        assert_eq!(quoted_echo_request(&[]), None);
    }
}
