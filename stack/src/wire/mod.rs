//! Packet formats.
//!
//! Every format comes in two shapes, after smoltcp's `wire` module:
//!
//! * a zero-copy **view** (`Packet<T: AsRef<[u8]>>`, `Frame<T>` for Ethernet) whose checked
//!   constructor (`new_checked`) validates lengths once, so that its accessors cannot panic
//!   afterwards; setters are available when `T: AsMut<[u8]>`;
//! * a parsed **`Repr`** with `parse`, `buffer_len` and `emit`, the form the protocol
//!   layers work with.
//!
//! Parsing never panics on any input (this is property-tested and fuzzed); it returns an
//! [`Error`] that says what was wrong.

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod ndp;
pub mod tcp;
pub mod udp;
pub mod virtio;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use icmpv4::{Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{Icmpv6Packet, Icmpv6Repr};
pub use ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};
pub use ndp::{NdpOption, NdpRepr};
pub use tcp::{TcpFlags, TcpOption, TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};

/// Why a packet could not be parsed or emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the header, or than a length field says it should be.
    Truncated,
    /// A length field is impossible on its own (an IPv4 IHL under 5, a TCP data offset
    /// under 5, a UDP length under 8, a total length under the header length).
    BadLength,
    /// The version field is not the one this format expects.
    BadVersion,
    /// The checksum does not verify.
    BadChecksum,
    /// An option is malformed: a zero or overlong length, or a length that does not fit
    /// the option's kind.
    BadOption,
    /// A field holds a value that is valid on the wire but that this implementation does
    /// not handle (an ARP hardware type other than Ethernet, say).
    Unsupported,
    /// A field combination that no valid packet has (e.g. an ICMP error without the
    /// invoking datagram's header, a reserved field that must be zero).
    Malformed,
    /// The output buffer is too small for what is to be emitted.
    BufferTooSmall,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Error::Truncated => "truncated packet",
            Error::BadLength => "impossible length field",
            Error::BadVersion => "wrong version",
            Error::BadChecksum => "bad checksum",
            Error::BadOption => "malformed option",
            Error::Unsupported => "unsupported field value",
            Error::Malformed => "malformed packet",
            Error::BufferTooSmall => "output buffer too small",
        };
        f.write_str(s)
    }
}

impl std::error::Error for Error {}

/// The result of parsing or emitting.
pub type Result<T> = core::result::Result<T, Error>;

/// Reads a big-endian `u16` at `at`. Callers have checked the length.
#[inline]
pub(crate) fn read_u16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Reads a big-endian `u32` at `at`. Callers have checked the length.
#[inline]
pub(crate) fn read_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Writes a big-endian `u16` at `at`. Callers have checked the length.
#[inline]
pub(crate) fn write_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`. Callers have checked the length.
#[inline]
pub(crate) fn write_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod testutil;
