//! UDP sockets in the core (RFC 768, RFC 1122 section 4.1): the table of bound sockets,
//! their bounded receive queues, and the errors ICMP reports to connected ones.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use crate::iface::bind;

/// Names a UDP socket: a slot and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UdpHandle {
    pub(crate) idx: u32,
    pub(crate) gen: u32,
}

/// Why a UDP call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UdpError {
    /// The port is taken (`AddrInUse`).
    AddrInUse,
    /// The address is not one of ours (`AddrNotAvailable`), or no free port is left.
    AddrNotAvailable,
    /// The handle names no socket.
    InvalidHandle,
    /// No route to the destination.
    NoRoute,
    /// The datagram is larger than UDP over IPv4 allows (65,507 bytes).
    MessageTooLong,
    /// `send` on a socket that is not connected.
    NotConnected,
    /// An ICMP port unreachable came back for an earlier datagram of this connected
    /// socket (RFC 1122 4.1.3.3), reported once, as the kernel does.
    ConnectionRefused,
    /// Another ICMP error (host or network unreachable) came back.
    Unreachable,
}

impl core::fmt::Display for UdpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            UdpError::AddrInUse => "address in use",
            UdpError::AddrNotAvailable => "address not available",
            UdpError::InvalidHandle => "no such socket",
            UdpError::NoRoute => "no route to host",
            UdpError::MessageTooLong => "message too long",
            UdpError::NotConnected => "not connected",
            UdpError::ConnectionRefused => "connection refused",
            UdpError::Unreachable => "destination unreachable",
        })
    }
}

impl std::error::Error for UdpError {}

/// The largest UDP payload in one IPv4 datagram: 65,535 - 20 - 8.
pub const MAX_PAYLOAD: usize = 65_507;

/// Bytes a socket's receive queue holds before it drops (Linux's default rmem is about
/// 208 KiB).
pub const DEFAULT_QUEUE_BYTES: usize = 256 * 1024;

/// A received datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Who sent it.
    pub from: SocketAddr,
    /// The address it was sent to (ours, or a broadcast address).
    pub to: IpAddr,
    /// The payload.
    pub data: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct UdpSock {
    pub gen: u32,
    pub local: SocketAddr,
    pub peer: Option<SocketAddr>,
    pub queue: VecDeque<Datagram>,
    pub queued_bytes: usize,
    pub limit: usize,
    pub error: Option<UdpError>,
}

/// The UDP sockets of a stack.
#[derive(Debug, Default)]
pub(crate) struct UdpTable {
    pub slots: Vec<Option<UdpSock>>,
    gens: Vec<u32>,
    by_port: HashMap<u16, Vec<u32>>,
}

impl UdpTable {
    pub fn get(&self, h: UdpHandle) -> Option<&UdpSock> {
        self.slots
            .get(h.idx as usize)?
            .as_ref()
            .filter(|s| s.gen == h.gen)
    }

    pub fn get_mut(&mut self, h: UdpHandle) -> Option<&mut UdpSock> {
        self.slots
            .get_mut(h.idx as usize)?
            .as_mut()
            .filter(|s| s.gen == h.gen)
    }

    /// Whether (ip, port) conflicts with a bound socket (the same port on an
    /// overlapping address: the same one, or a wildcard that covers the other, see
    /// `iface::bind`).
    pub fn in_use(&self, ip: IpAddr, port: u16) -> bool {
        self.by_port.get(&port).is_some_and(|v| {
            v.iter().any(|&i| {
                self.slots[i as usize]
                    .as_ref()
                    .is_some_and(|s| bind::overlaps(s.local.ip(), ip))
            })
        })
    }

    pub fn insert(&mut self, local: SocketAddr) -> UdpHandle {
        let idx = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.gens.push(0);
                self.slots.len() - 1
            }
        };
        self.gens[idx] = self.gens[idx].wrapping_add(1);
        let gen = self.gens[idx];
        self.slots[idx] = Some(UdpSock {
            gen,
            local,
            peer: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
            limit: DEFAULT_QUEUE_BYTES,
            error: None,
        });
        self.by_port
            .entry(local.port())
            .or_default()
            .push(idx as u32);
        UdpHandle {
            idx: idx as u32,
            gen,
        }
    }

    pub fn remove(&mut self, h: UdpHandle) {
        let Some(s) = self.get(h) else { return };
        let port = s.local.port();
        self.slots[h.idx as usize] = None;
        if let Some(v) = self.by_port.get_mut(&port) {
            v.retain(|&i| i != h.idx);
            if v.is_empty() {
                self.by_port.remove(&port);
            }
        }
    }

    /// The socket a datagram to `to` from `from` belongs to: a connected socket whose
    /// peer matches first, then one bound to exactly `to`, then a wildcard one
    /// (RFC 1122 4.1.3.4 leaves the choice; this is the kernel's order).
    pub fn lookup(&self, to: SocketAddr, from: SocketAddr) -> Option<u32> {
        let v = self.by_port.get(&to.port())?;
        let mut best: Option<(u8, u32)> = None;
        for &i in v {
            let Some(s) = self.slots[i as usize].as_ref() else {
                continue;
            };
            let broadcast = matches!(to.ip(), IpAddr::V4(a) if a.is_broadcast());
            let ip_ok = bind::accepts(s.local.ip(), to.ip())
                || (broadcast && !matches!(s.local.ip(), IpAddr::V6(a) if !a.is_unspecified()));
            if !ip_ok {
                continue;
            }
            // A connected socket first; then the most specific binding.
            let score = match s.peer {
                Some(p) if p == from => 3,
                Some(_) => continue,
                None => bind::specificity(s.local.ip(), to.ip()),
            };
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        best.map(|(_, i)| i)
    }
}
