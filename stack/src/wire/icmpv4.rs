//! The Internet Control Message Protocol (RFC 792), with the next-hop MTU of RFC 1191.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! |                  rest of header (type-specific)               |
//! |     data ...
//! ```
//!
//! The rest of the header is identifier and sequence number for echo (RFC 792 "Echo or
//! Echo Reply Message"), unused and next-hop MTU for destination unreachable (RFC 1191
//! section 4), a pointer for parameter problem, unused for time exceeded. For the three
//! error messages the data is the invoking datagram's IPv4 header and at least its first
//! 64 bits of data (RFC 792; RFC 1812 section 4.3.2.3 lets routers quote more).

use core::fmt;

use super::checksum;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// ICMP message types used here (RFC 792; IANA "ICMP Type Numbers").
pub mod msg_type {
    /// Echo Reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination Unreachable.
    pub const DST_UNREACHABLE: u8 = 3;
    /// Redirect.
    pub const REDIRECT: u8 = 5;
    /// Echo (request).
    pub const ECHO_REQUEST: u8 = 8;
    /// Time Exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
    /// Parameter Problem.
    pub const PARAM_PROBLEM: u8 = 12;
    /// Timestamp.
    pub const TIMESTAMP: u8 = 13;
    /// Timestamp Reply.
    pub const TIMESTAMP_REPLY: u8 = 14;
}

/// Destination Unreachable codes (RFC 792 codes 0-5, RFC 1122 section 3.2.2.1 codes
/// 6-12, RFC 1812 section 5.2.7.1 codes 13-15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// 0, net unreachable.
    NetUnreachable,
    /// 1, host unreachable.
    HostUnreachable,
    /// 2, protocol unreachable.
    ProtoUnreachable,
    /// 3, port unreachable.
    PortUnreachable,
    /// 4, fragmentation needed and DF set (carries the next-hop MTU, RFC 1191).
    FragRequired,
    /// 5, source route failed.
    SrcRouteFailed,
    /// 6, destination network unknown.
    DstNetUnknown,
    /// 7, destination host unknown.
    DstHostUnknown,
    /// 8, source host isolated.
    SrcHostIsolated,
    /// 9, network administratively prohibited.
    NetProhibited,
    /// 10, host administratively prohibited.
    HostProhibited,
    /// 11, network unreachable for type of service.
    NetUnreachToS,
    /// 12, host unreachable for type of service.
    HostUnreachToS,
    /// 13, communication administratively prohibited.
    CommProhibited,
    /// 14, host precedence violation.
    HostPrecedViol,
    /// 15, precedence cutoff in effect.
    PrecedCutoff,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for DstUnreachable {
    fn from(v: u8) -> Self {
        use DstUnreachable::*;
        match v {
            0 => NetUnreachable,
            1 => HostUnreachable,
            2 => ProtoUnreachable,
            3 => PortUnreachable,
            4 => FragRequired,
            5 => SrcRouteFailed,
            6 => DstNetUnknown,
            7 => DstHostUnknown,
            8 => SrcHostIsolated,
            9 => NetProhibited,
            10 => HostProhibited,
            11 => NetUnreachToS,
            12 => HostUnreachToS,
            13 => CommProhibited,
            14 => HostPrecedViol,
            15 => PrecedCutoff,
            other => Unknown(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    fn from(v: DstUnreachable) -> u8 {
        use DstUnreachable::*;
        match v {
            NetUnreachable => 0,
            HostUnreachable => 1,
            ProtoUnreachable => 2,
            PortUnreachable => 3,
            FragRequired => 4,
            SrcRouteFailed => 5,
            DstNetUnknown => 6,
            DstHostUnknown => 7,
            SrcHostIsolated => 8,
            NetProhibited => 9,
            HostProhibited => 10,
            NetUnreachToS => 11,
            HostUnreachToS => 12,
            CommProhibited => 13,
            HostPrecedViol => 14,
            PrecedCutoff => 15,
            Unknown(other) => other,
        }
    }
}

/// Time Exceeded codes (RFC 792).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// 0, time to live exceeded in transit.
    TtlExpired,
    /// 1, fragment reassembly time exceeded.
    FragReassembly,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for TimeExceeded {
    fn from(v: u8) -> Self {
        match v {
            0 => TimeExceeded::TtlExpired,
            1 => TimeExceeded::FragReassembly,
            other => TimeExceeded::Unknown(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    fn from(v: TimeExceeded) -> u8 {
        match v {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragReassembly => 1,
            TimeExceeded::Unknown(other) => other,
        }
    }
}

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
    pub const POINTER: usize = 4;
    pub const MTU: usize = 6;
}

/// The length of the ICMP header: type, code, checksum and the 32-bit rest of header.
pub const HEADER_LEN: usize = 8;

/// The least an error message quotes: an IPv4 header without options (RFC 792).
pub const MIN_QUOTE_LEN: usize = 20;

/// A zero-copy view of an ICMPv4 message: the whole IPv4 payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checking it. Accessors panic if it is shorter than 8.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// Wraps a buffer, checking that it holds the 8-byte header ([`Error::Truncated`]
    /// otherwise). Every accessor is then panic-free.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn raw(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The type field.
    pub fn msg_type(&self) -> u8 {
        self.raw()[field::TYPE]
    }

    /// The code field.
    pub fn msg_code(&self) -> u8 {
        self.raw()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.raw(), field::CHECKSUM)
    }

    /// Bytes 4-7, whatever the type.
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.raw(), field::REST)
    }

    /// The identifier of an echo or echo reply.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.raw(), field::ECHO_IDENT)
    }

    /// The sequence number of an echo or echo reply.
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.raw(), field::ECHO_SEQNO)
    }

    /// The next-hop MTU of a "fragmentation needed" message: the low-order 16 bits of
    /// the header's second word (RFC 1191 section 4). Zero from pre-RFC 1191 routers.
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.raw(), field::MTU)
    }

    /// The pointer of a parameter problem message: the octet of the quoted header where
    /// the problem was found (RFC 792 "Parameter Problem Message").
    pub fn pointer(&self) -> u8 {
        self.raw()[field::POINTER]
    }

    /// The bytes after the 8-byte header: echo data, or the quoted datagram of an error.
    pub fn data(&self) -> &[u8] {
        &self.raw()[HEADER_LEN..]
    }

    /// Same as [`Self::data`].
    pub fn payload(&self) -> &[u8] {
        self.data()
    }

    /// Whether the checksum verifies: the one's-complement sum of the whole message,
    /// checksum included, is all ones (RFC 792: "the 16-bit one's complement of the one's
    /// complement sum of the ICMP message starting with the ICMP Type").
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.raw()) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// [`Icmpv4Packet::data`], borrowed for as long as the underlying buffer.
    pub fn into_data(self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    fn raw_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the type field.
    pub fn set_msg_type(&mut self, v: u8) {
        self.raw_mut()[field::TYPE] = v;
    }

    /// Sets the code field.
    pub fn set_msg_code(&mut self, v: u8) {
        self.raw_mut()[field::CODE] = v;
    }

    /// Sets the checksum field as is.
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::CHECKSUM, v);
    }

    /// Sets bytes 4-7.
    pub fn set_rest_of_header(&mut self, v: u32) {
        write_u32(self.raw_mut(), field::REST, v);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::ECHO_IDENT, v);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::ECHO_SEQNO, v);
    }

    /// Sets the next-hop MTU (RFC 1191 section 4).
    pub fn set_next_hop_mtu(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::MTU, v);
    }

    /// Sets the parameter-problem pointer.
    pub fn set_pointer(&mut self, v: u8) {
        self.raw_mut()[field::POINTER] = v;
    }

    /// The data, for writing.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.raw_mut()[HEADER_LEN..]
    }

    /// Same as [`Self::data_mut`].
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }

    /// Computes and writes the checksum over the whole buffer (RFC 792: computed with
    /// the checksum field zero).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.raw());
        self.set_checksum(c);
    }
}

/// A parsed ICMPv4 message.
///
/// For the three error messages `data` is the quoted invoking datagram as raw bytes: its
/// IPv4 header and the leading bytes of its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr<'a> {
    /// Type 8 code 0: echo request (RFC 792).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, to be returned in the reply.
        data: &'a [u8],
    },
    /// Type 0 code 0: echo reply (RFC 792).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, copied from the request.
        data: &'a [u8],
    },
    /// Type 3: destination unreachable (RFC 792, RFC 1191).
    DstUnreachable {
        /// The code.
        reason: DstUnreachable,
        /// Bytes 6-7: the next-hop MTU for `FragRequired` (RFC 1191 section 4). For the
        /// other codes these bytes are unused (RFC 792: zero) and carried as they are.
        next_hop_mtu: u16,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Type 11: time exceeded (RFC 792).
    TimeExceeded {
        /// The code.
        reason: TimeExceeded,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Type 12: parameter problem (RFC 792; code 1 "missing a required option" from
    /// RFC 1108, code 2 "bad length" from RFC 1812).
    ParamProblem {
        /// The code.
        code: u8,
        /// Octet of the quoted header where the problem lies (code 0).
        pointer: u8,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Any other message (including echo with a non-zero code), kept as is.
    Other {
        /// The type.
        msg_type: u8,
        /// The code.
        code: u8,
        /// Bytes 4-7.
        rest_of_header: u32,
        /// Everything after byte 8.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parses a message.
    ///
    /// * fewer than 8 bytes: [`Error::Truncated`];
    /// * the checksum does not verify: [`Error::BadChecksum`] (RFC 1122 section 3.2.2:
    ///   messages with a bad checksum are silently discarded);
    /// * an error message (destination unreachable, time exceeded, parameter problem)
    ///   whose data is not an IPv4 header — fewer than 20 bytes, a version other than 4,
    ///   an IHL under 5 or a header longer than the data — is [`Error::Malformed`]:
    ///   RFC 792 says it carries "Internet Header + 64 bits of Original Data Datagram",
    ///   and RFC 1122 section 3.2.2 has the receiver use that header to find the
    ///   transport protocol. (A quote shorter than the header plus 8 bytes is accepted:
    ///   RFC 792's "64 bits" is what the sender should include; the transport layer
    ///   checks what it needs.)
    ///
    /// Unused fields are not checked (RFC 1122 section 3.2.2: "...MUST be ignored").
    /// Echo messages with a code other than 0 and unknown types parse as
    /// [`Icmpv4Repr::Other`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv4Packet<&'a T>) -> Result<Self> {
        let packet = Icmpv4Packet::new_checked(packet.buffer.as_ref())?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let data: &'a [u8] = packet.into_data();
        let repr = match (packet.msg_type(), packet.msg_code()) {
            (msg_type::ECHO_REQUEST, 0) => Icmpv4Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (msg_type::ECHO_REPLY, 0) => Icmpv4Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (msg_type::DST_UNREACHABLE, code) => Icmpv4Repr::DstUnreachable {
                reason: DstUnreachable::from(code),
                next_hop_mtu: packet.next_hop_mtu(),
                data: check_quote(data)?,
            },
            (msg_type::TIME_EXCEEDED, code) => Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                data: check_quote(data)?,
            },
            (msg_type::PARAM_PROBLEM, code) => Icmpv4Repr::ParamProblem {
                code,
                pointer: packet.pointer(),
                data: check_quote(data)?,
            },
            (msg_type, code) => Icmpv4Repr::Other {
                msg_type,
                code,
                rest_of_header: packet.rest_of_header(),
                data,
            },
        };
        Ok(repr)
    }

    /// The data (echo data or quoted datagram) of any message.
    pub fn data(&self) -> &'a [u8] {
        match *self {
            Icmpv4Repr::EchoRequest { data, .. }
            | Icmpv4Repr::EchoReply { data, .. }
            | Icmpv4Repr::DstUnreachable { data, .. }
            | Icmpv4Repr::TimeExceeded { data, .. }
            | Icmpv4Repr::ParamProblem { data, .. }
            | Icmpv4Repr::Other { data, .. } => data,
        }
    }

    /// Whether this is an error message (destination unreachable, time exceeded,
    /// parameter problem), which carries a quoted datagram. RFC 1122 section 3.2.2: an
    /// ICMP error message is never sent in response to an ICMP error message.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Icmpv4Repr::DstUnreachable { .. }
                | Icmpv4Repr::TimeExceeded { .. }
                | Icmpv4Repr::ParamProblem { .. }
        )
    }

    /// The quoted invoking datagram (IPv4 header first) of an error message, or `None`
    /// for a query message. Read it with
    /// [`Ipv4Packet::new_checked_header`](super::ipv4::Ipv4Packet::new_checked_header).
    pub fn quoted(&self) -> Option<&'a [u8]> {
        if self.is_error() {
            Some(self.data())
        } else {
            None
        }
    }

    /// The type and code this message is emitted with.
    pub fn type_and_code(&self) -> (u8, u8) {
        match *self {
            Icmpv4Repr::EchoRequest { .. } => (msg_type::ECHO_REQUEST, 0),
            Icmpv4Repr::EchoReply { .. } => (msg_type::ECHO_REPLY, 0),
            Icmpv4Repr::DstUnreachable { reason, .. } => (msg_type::DST_UNREACHABLE, reason.into()),
            Icmpv4Repr::TimeExceeded { reason, .. } => (msg_type::TIME_EXCEEDED, reason.into()),
            Icmpv4Repr::ParamProblem { code, .. } => (msg_type::PARAM_PROBLEM, code),
            Icmpv4Repr::Other { msg_type, code, .. } => (msg_type, code),
        }
    }

    /// The length of the emitted message: 8 + data.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the message, data included, into the first [`Self::buffer_len`] bytes of
    /// the packet's buffer, with its checksum computed over exactly those bytes (bytes
    /// past them are left alone). Unused fields are written as zero (RFC 792).
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`Self::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Icmpv4Packet<&mut T>) {
        let (ty, code) = self.type_and_code();
        packet.set_msg_type(ty);
        packet.set_msg_code(code);
        let rest = match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                (u32::from(ident) << 16) | u32::from(seq_no)
            }
            Icmpv4Repr::DstUnreachable { next_hop_mtu, .. } => u32::from(next_hop_mtu),
            Icmpv4Repr::TimeExceeded { .. } => 0,
            Icmpv4Repr::ParamProblem { pointer, .. } => u32::from(pointer) << 24,
            Icmpv4Repr::Other { rest_of_header, .. } => rest_of_header,
        };
        packet.set_rest_of_header(rest);
        let data = self.data();
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.set_checksum(0);
        let c = checksum::checksum(&packet.raw()[..HEADER_LEN + data.len()]);
        packet.set_checksum(c);
    }
}

/// Checks that an error message's data starts with an IPv4 header (see
/// [`Icmpv4Repr::parse`]).
fn check_quote(data: &[u8]) -> Result<&[u8]> {
    if data.len() < MIN_QUOTE_LEN {
        return Err(Error::Malformed);
    }
    let version = data[0] >> 4;
    let header_len = usize::from(data[0] & 0x0f) * 4;
    if version != 4 || header_len < MIN_QUOTE_LEN || header_len > data.len() {
        return Err(Error::Malformed);
    }
    Ok(data)
}

impl fmt::Display for Icmpv4Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => write!(
                f,
                "ICMP echo request id={ident:#06x} seq={seq_no} len={}",
                data.len()
            ),
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => write!(
                f,
                "ICMP echo reply id={ident:#06x} seq={seq_no} len={}",
                data.len()
            ),
            Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => {
                write!(f, "ICMP destination unreachable {reason:?}")?;
                if reason == DstUnreachable::FragRequired {
                    write!(f, " mtu={next_hop_mtu}")?;
                }
                Ok(())
            }
            Icmpv4Repr::TimeExceeded { reason, .. } => {
                write!(f, "ICMP time exceeded {reason:?}")
            }
            Icmpv4Repr::ParamProblem { code, pointer, .. } => {
                write!(f, "ICMP parameter problem code={code} pointer={pointer}")
            }
            Icmpv4Repr::Other { msg_type, code, .. } => {
                write!(f, "ICMP type={msg_type} code={code}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
