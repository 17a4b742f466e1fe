//! Echo over IPv6 from the stack itself (RFC 4443 section 4): requests out, and the
//! replies and the errors quoting those requests (RFC 4443 section 2.4 (b): an error goes
//! to the upper-layer process that sent the packet) into a bounded queue per identifier.
//! This is the core half of a `ping -6` / `traceroute -6`; the IPv4 echo sockets are
//! separate (`crate::icmp`).

use std::collections::{HashMap, VecDeque};
use std::net::Ipv6Addr;

use super::{SendError, Stack, WaitKey};
use crate::time::Instant;
use crate::wire::icmpv6::{msg_type, Icmpv6Repr};
use crate::wire::ipv6::{next_header as nh, Ipv6Packet, Ipv6Repr};
use crate::wire::read_u16;

/// The most identifiers in use at once.
const MAX_IDENTS: usize = 64;
/// The most events queued per identifier; more are dropped.
const QUEUE: usize = 256;

/// What came back for an IPv6 echo request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Echo6Event {
    /// An echo reply.
    Reply {
        /// Who replied.
        from: Ipv6Addr,
        /// Its sequence number.
        seq: u16,
        /// The reply's hop limit as received.
        hop_limit: u8,
        /// The echoed data.
        data: Vec<u8>,
        /// When it arrived.
        at: Instant,
    },
    /// An ICMPv6 error quoting one of our requests.
    Error {
        /// Who sent it (a router, for traceroute).
        from: Ipv6Addr,
        /// The sequence number of the request it quotes.
        seq: u16,
        /// The error's type (1-4) and code.
        msg_type: u8,
        /// The code.
        code: u8,
        /// The MTU of a Packet Too Big, the pointer of a Parameter Problem, else 0.
        param: u32,
        /// When it arrived.
        at: Instant,
    },
}

/// The queues of the identifiers in use.
pub(crate) type Echo6Table = HashMap<u16, VecDeque<Echo6Event>>;

impl Stack {
    /// Sends an ICMPv6 echo request with identifier `ident` and sequence number `seq` to
    /// `dst`, with this hop limit (the default when `None`) and data; replies and errors
    /// for `ident` queue up for [`Stack::echo6_recv`] until [`Stack::echo6_close`].
    /// [`SendError::NotOpen`] when too many identifiers are in use.
    pub fn echo6_send(
        &mut self,
        now: Instant,
        ident: u16,
        dst: Ipv6Addr,
        seq: u16,
        hop_limit: Option<u8>,
        data: &[u8],
    ) -> Result<(), SendError> {
        if !self.ip6.echo.contains_key(&ident) {
            if self.ip6.echo.len() >= MAX_IDENTS {
                return Err(SendError::NotOpen);
            }
            self.ip6.echo.insert(ident, VecDeque::new());
        }
        self.last_now = self.last_now.max(now);
        let repr = Icmpv6Repr::EchoRequest {
            ident,
            seq_no: seq,
            data,
        };
        let r = self.send_icmp6(now, None, dst, hop_limit, &repr);
        self.drain_loopback(now);
        r
    }

    /// The next reply or error for `ident`.
    pub fn echo6_recv(&mut self, ident: u16) -> Option<Echo6Event> {
        self.ip6.echo.get_mut(&ident)?.pop_front()
    }

    /// Forgets `ident` and what was queued for it.
    pub fn echo6_close(&mut self, ident: u16) {
        self.ip6.echo.remove(&ident);
    }

    fn echo6_queue(&mut self, ident: u16, event: Echo6Event) {
        if let Some(q) = self.ip6.echo.get_mut(&ident) {
            if q.len() < QUEUE {
                q.push_back(event);
                self.events.push(WaitKey::Echo(ident));
            }
        }
    }

    /// An echo reply arrived.
    pub(super) fn echo6_reply(
        &mut self,
        now: Instant,
        ip: &Ipv6Repr,
        ident: u16,
        seq: u16,
        data: &[u8],
    ) {
        let event = Echo6Event::Reply {
            from: ip.src_addr,
            seq,
            hop_limit: ip.hop_limit,
            data: data.to_vec(),
            at: now,
        };
        self.echo6_queue(ident, event);
    }

    /// An ICMPv6 error arrived: if it quotes an echo request of ours (its IPv6 header,
    /// then directly the ICMPv6 header: requests are sent without extension headers),
    /// the error goes to that identifier.
    pub(super) fn echo6_error(&mut self, now: Instant, ip: &Ipv6Repr, repr: &Icmpv6Repr<'_>) {
        let (msg_type, code) = repr.type_and_code();
        let (param, quote) = match *repr {
            Icmpv6Repr::PacketTooBig { mtu, data } => (mtu, data),
            Icmpv6Repr::ParamProblem { pointer, data, .. } => (pointer, data),
            Icmpv6Repr::DstUnreachable { data, .. } | Icmpv6Repr::TimeExceeded { data, .. } => {
                (0, data)
            }
            _ => return,
        };
        let Ok(q) = Ipv6Packet::new_checked_header(quote) else {
            return;
        };
        let body = q.payload();
        if q.next_header() != nh::ICMPV6 || body.len() < 8 || body[0] != msg_type::ECHO_REQUEST {
            return;
        }
        if !self.ifaces.iter().any(|i| i.addr6() == Some(q.src_addr()))
            && !self.nd6_owns(&q.src_addr())
        {
            return;
        }
        let (ident, seq) = (read_u16(body, 4), read_u16(body, 6));
        let event = Echo6Event::Error {
            from: ip.src_addr,
            seq,
            msg_type,
            code,
            param,
            at: now,
        };
        self.echo6_queue(ident, event);
    }
}
