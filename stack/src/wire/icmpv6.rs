//! The Internet Control Message Protocol for IPv6 (RFC 4443), with the Neighbor
//! Discovery messages of RFC 4861 (see [`super::ndp`]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! |                         Message Body                          |
//! ```
//!
//! (RFC 4443 section 2.1.) The checksum covers the IPv6 pseudo-header (RFC 4443 section
//! 2.3, RFC 8200 section 8.1), so parsing and emitting take the addresses. The four error
//! messages carry a 32-bit field (unused, MTU or pointer) and "as much of invoking packet
//! as possible without the ICMPv6 packet exceeding the minimum IPv6 MTU" (RFC 4443
//! section 3).

use core::fmt;
use std::net::Ipv6Addr;

use super::checksum;
use super::ipv6::next_header;
use super::ndp::NdpRepr;
use super::{read_u16, write_u16, write_u32, Error, Result};

/// ICMPv6 message types (RFC 4443 section 2.1, RFC 4861 section 4, RFC 3810).
pub mod msg_type {
    /// Destination Unreachable (RFC 4443 section 3.1).
    pub const DST_UNREACHABLE: u8 = 1;
    /// Packet Too Big (RFC 4443 section 3.2).
    pub const PACKET_TOO_BIG: u8 = 2;
    /// Time Exceeded (RFC 4443 section 3.3).
    pub const TIME_EXCEEDED: u8 = 3;
    /// Parameter Problem (RFC 4443 section 3.4).
    pub const PARAM_PROBLEM: u8 = 4;
    /// Echo Request (RFC 4443 section 4.1).
    pub const ECHO_REQUEST: u8 = 128;
    /// Echo Reply (RFC 4443 section 4.2).
    pub const ECHO_REPLY: u8 = 129;
    /// Router Solicitation (RFC 4861 section 4.1).
    pub const ROUTER_SOLICIT: u8 = 133;
    /// Router Advertisement (RFC 4861 section 4.2).
    pub const ROUTER_ADVERT: u8 = 134;
    /// Neighbor Solicitation (RFC 4861 section 4.3).
    pub const NEIGHBOR_SOLICIT: u8 = 135;
    /// Neighbor Advertisement (RFC 4861 section 4.4).
    pub const NEIGHBOR_ADVERT: u8 = 136;
    /// Redirect (RFC 4861 section 4.5).
    pub const REDIRECT: u8 = 137;
    /// Version 2 Multicast Listener Report (RFC 3810 section 5.2).
    pub const MLDV2_REPORT: u8 = 143;
}

/// Destination Unreachable codes (RFC 4443 section 3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// 0, no route to destination.
    NoRoute,
    /// 1, communication with destination administratively prohibited.
    AdminProhibited,
    /// 2, beyond scope of source address.
    BeyondScope,
    /// 3, address unreachable.
    AddrUnreachable,
    /// 4, port unreachable.
    PortUnreachable,
    /// 5, source address failed ingress/egress policy.
    FailedPolicy,
    /// 6, reject route to destination.
    RejectRoute,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for DstUnreachable {
    fn from(v: u8) -> Self {
        use DstUnreachable::*;
        match v {
            0 => NoRoute,
            1 => AdminProhibited,
            2 => BeyondScope,
            3 => AddrUnreachable,
            4 => PortUnreachable,
            5 => FailedPolicy,
            6 => RejectRoute,
            other => Unknown(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    fn from(v: DstUnreachable) -> u8 {
        use DstUnreachable::*;
        match v {
            NoRoute => 0,
            AdminProhibited => 1,
            BeyondScope => 2,
            AddrUnreachable => 3,
            PortUnreachable => 4,
            FailedPolicy => 5,
            RejectRoute => 6,
            Unknown(other) => other,
        }
    }
}

/// Time Exceeded codes (RFC 4443 section 3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// 0, hop limit exceeded in transit.
    HopLimitExceeded,
    /// 1, fragment reassembly time exceeded.
    FragReassembly,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for TimeExceeded {
    fn from(v: u8) -> Self {
        match v {
            0 => TimeExceeded::HopLimitExceeded,
            1 => TimeExceeded::FragReassembly,
            other => TimeExceeded::Unknown(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    fn from(v: TimeExceeded) -> u8 {
        match v {
            TimeExceeded::HopLimitExceeded => 0,
            TimeExceeded::FragReassembly => 1,
            TimeExceeded::Unknown(other) => other,
        }
    }
}

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const WORD: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQNO: usize = 6;
}

/// The type, code and checksum: the part every ICMPv6 message has (RFC 4443 section 2.1).
pub const MIN_LEN: usize = 4;

/// The header of the echo and error messages: type, code, checksum and one 32-bit word.
pub const HEADER_LEN: usize = 8;

/// The most an error message may be, with its IPv6 header, so as not to exceed the
/// minimum MTU (RFC 4443 section 2.4 (c)): 1280 - 40 octets.
pub const MAX_ERROR_LEN: usize = super::ipv6::MIN_MTU - super::ipv6::HEADER_LEN;

/// A zero-copy view of an ICMPv6 message: the whole upper-layer payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps a buffer without checking it.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// Wraps a buffer, checking that it holds at least type, code and checksum
    /// ([`Error::Truncated`] otherwise). The accessors of bytes 4-7 then return zero
    /// for a message shorter than 8 octets, and [`Self::data`] is empty; none panics.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < MIN_LEN {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn raw(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn word_u16(&self, at: usize) -> u16 {
        if self.raw().len() >= at + 2 {
            read_u16(self.raw(), at)
        } else {
            0
        }
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

    /// Bytes 4-7: unused, the MTU (packet too big) or the pointer (parameter problem).
    pub fn word(&self) -> u32 {
        (u32::from(self.word_u16(field::WORD)) << 16) | u32::from(self.word_u16(field::WORD + 2))
    }

    /// The identifier of an echo request or reply.
    pub fn echo_ident(&self) -> u16 {
        self.word_u16(field::ECHO_IDENT)
    }

    /// The sequence number of an echo request or reply.
    pub fn echo_seq_no(&self) -> u16 {
        self.word_u16(field::ECHO_SEQNO)
    }

    /// The MTU of a Packet Too Big message (RFC 4443 section 3.2).
    pub fn mtu(&self) -> u32 {
        self.word()
    }

    /// The pointer of a Parameter Problem message: the octet offset in the invoking
    /// packet where the error was found (RFC 4443 section 3.4).
    pub fn pointer(&self) -> u32 {
        self.word()
    }

    /// The message body after the first 4 octets.
    pub fn body(&self) -> &[u8] {
        &self.raw()[MIN_LEN..]
    }

    /// The bytes after the 8-octet header: echo data, or the invoking packet of an error.
    pub fn data(&self) -> &[u8] {
        &self.raw()[HEADER_LEN.min(self.raw().len())..]
    }

    /// Whether the checksum verifies with the pseudo-header of `src` and `dst` (RFC 4443
    /// section 2.3).
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        checksum::verify_transport_v6(src, dst, next_header::ICMPV6, self.raw())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
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

    /// Computes and writes the checksum over the pseudo-header of `src` and `dst` and the
    /// whole buffer (RFC 4443 section 2.3: computed with the checksum field zero).
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let c = checksum::transport_checksum_v6(src, dst, next_header::ICMPV6, self.raw());
        self.set_checksum(c);
    }
}

/// A parsed ICMPv6 message.
///
/// For the four error messages `data` is the invoking packet as raw bytes, its IPv6
/// header first (read it with [`Ipv6Packet::new_checked_header`](super::Ipv6Packet)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Icmpv6Repr<'a> {
    /// Type 128: echo request (RFC 4443 section 4.1).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, to be returned in the reply.
        data: &'a [u8],
    },
    /// Type 129: echo reply (RFC 4443 section 4.2).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, copied from the request.
        data: &'a [u8],
    },
    /// Type 1: destination unreachable (RFC 4443 section 3.1).
    DstUnreachable {
        /// The code.
        reason: DstUnreachable,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Type 2: packet too big (RFC 4443 section 3.2).
    PacketTooBig {
        /// The MTU of the next-hop link.
        mtu: u32,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Type 3: time exceeded (RFC 4443 section 3.3).
    TimeExceeded {
        /// The code.
        reason: TimeExceeded,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// Type 4: parameter problem (RFC 4443 section 3.4; codes in
    /// [`param_problem_code`](super::ipv6::ext::param_problem_code)).
    ParamProblem {
        /// The code.
        code: u8,
        /// The offset in the invoking packet where the error was found.
        pointer: u32,
        /// The invoking packet.
        data: &'a [u8],
    },
    /// A Neighbor Discovery message (RFC 4861 section 4).
    Ndp(NdpRepr<'a>),
    /// Any other message, kept as is (MLD, unknown types, echo with a non-zero code).
    Other {
        /// The type.
        msg_type: u8,
        /// The code.
        code: u8,
        /// Everything after the checksum.
        body: &'a [u8],
    },
}

impl<'a> Icmpv6Repr<'a> {
    /// Parses a message received from `src` to `dst`.
    ///
    /// * fewer than 4 octets, or an echo or error message under 8: [`Error::Truncated`];
    /// * the checksum does not verify: [`Error::BadChecksum`] (RFC 4443 section 2.4 (b)
    ///   and 2.3);
    /// * an error message whose data does not start with a whole IPv6 header (40 octets,
    ///   version 6): [`Error::Malformed`]: the receiver needs it to find the upper-layer
    ///   protocol (RFC 4443 section 2.4 (b)), and Linux drops such errors too;
    /// * a Neighbor Discovery message is parsed by [`NdpRepr::parse`], whose checks
    ///   (code 0, length, option lengths) apply.
    ///
    /// Unknown types are kept in [`Icmpv6Repr::Other`]: RFC 4443 section 2.4 (a) and (b)
    /// say what to do with them (errors to the upper layer, informational ones dropped).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        packet: &Icmpv6Packet<&'a T>,
    ) -> Result<Self> {
        let raw: &'a [u8] = packet.buffer.as_ref();
        let packet = Icmpv6Packet::new_checked(raw)?;
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        let (ty, code) = (packet.msg_type(), packet.msg_code());
        let body = &raw[MIN_LEN..];
        let needs_header = matches!(
            ty,
            msg_type::DST_UNREACHABLE
                | msg_type::PACKET_TOO_BIG
                | msg_type::TIME_EXCEEDED
                | msg_type::PARAM_PROBLEM
        ) || (matches!(ty, msg_type::ECHO_REQUEST | msg_type::ECHO_REPLY)
            && code == 0);
        if needs_header && raw.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let data = &raw[HEADER_LEN.min(raw.len())..];
        let repr = match (ty, code) {
            (msg_type::ECHO_REQUEST, 0) => Icmpv6Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (msg_type::ECHO_REPLY, 0) => Icmpv6Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            (msg_type::DST_UNREACHABLE, code) => Icmpv6Repr::DstUnreachable {
                reason: DstUnreachable::from(code),
                data: check_quote(data)?,
            },
            (msg_type::PACKET_TOO_BIG, _) => Icmpv6Repr::PacketTooBig {
                mtu: packet.mtu(),
                data: check_quote(data)?,
            },
            (msg_type::TIME_EXCEEDED, code) => Icmpv6Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                data: check_quote(data)?,
            },
            (msg_type::PARAM_PROBLEM, code) => Icmpv6Repr::ParamProblem {
                code,
                pointer: packet.pointer(),
                data: check_quote(data)?,
            },
            (
                msg_type::ROUTER_SOLICIT
                | msg_type::ROUTER_ADVERT
                | msg_type::NEIGHBOR_SOLICIT
                | msg_type::NEIGHBOR_ADVERT
                | msg_type::REDIRECT,
                _,
            ) => Icmpv6Repr::Ndp(NdpRepr::parse(ty, code, body)?),
            (msg_type, code) => Icmpv6Repr::Other {
                msg_type,
                code,
                body,
            },
        };
        Ok(repr)
    }

    /// Whether this is an error message (types 0-127, RFC 4443 section 2.1).
    pub fn is_error(&self) -> bool {
        self.type_and_code().0 < 128
    }

    /// The invoking packet of an error message, IPv6 header first, or `None`.
    pub fn quoted(&self) -> Option<&'a [u8]> {
        match *self {
            Icmpv6Repr::DstUnreachable { data, .. }
            | Icmpv6Repr::PacketTooBig { data, .. }
            | Icmpv6Repr::TimeExceeded { data, .. }
            | Icmpv6Repr::ParamProblem { data, .. } => Some(data),
            _ => None,
        }
    }

    /// The type and code this message is emitted with.
    pub fn type_and_code(&self) -> (u8, u8) {
        match *self {
            Icmpv6Repr::EchoRequest { .. } => (msg_type::ECHO_REQUEST, 0),
            Icmpv6Repr::EchoReply { .. } => (msg_type::ECHO_REPLY, 0),
            Icmpv6Repr::DstUnreachable { reason, .. } => (msg_type::DST_UNREACHABLE, reason.into()),
            Icmpv6Repr::PacketTooBig { .. } => (msg_type::PACKET_TOO_BIG, 0),
            Icmpv6Repr::TimeExceeded { reason, .. } => (msg_type::TIME_EXCEEDED, reason.into()),
            Icmpv6Repr::ParamProblem { code, .. } => (msg_type::PARAM_PROBLEM, code),
            Icmpv6Repr::Ndp(ref n) => (n.msg_type(), 0),
            Icmpv6Repr::Other { msg_type, code, .. } => (msg_type, code),
        }
    }

    /// The length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        match *self {
            Icmpv6Repr::EchoRequest { data, .. }
            | Icmpv6Repr::EchoReply { data, .. }
            | Icmpv6Repr::DstUnreachable { data, .. }
            | Icmpv6Repr::PacketTooBig { data, .. }
            | Icmpv6Repr::TimeExceeded { data, .. }
            | Icmpv6Repr::ParamProblem { data, .. } => HEADER_LEN + data.len(),
            Icmpv6Repr::Ndp(ref n) => MIN_LEN + n.body_len(),
            Icmpv6Repr::Other { body, .. } => MIN_LEN + body.len(),
        }
    }

    /// Writes the message into the first [`Self::buffer_len`] octets of `buf`, with its
    /// checksum for `src` and `dst`. Unused fields are zero (RFC 4443 section 3.1 and
    /// 3.3: "initialized to zero by the originator"). Returns the length written, or
    /// [`Error::BufferTooSmall`].
    pub fn emit(&self, src: Ipv6Addr, dst: Ipv6Addr, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall);
        }
        let buf = &mut buf[..len];
        let (ty, code) = self.type_and_code();
        buf[field::TYPE] = ty;
        buf[field::CODE] = code;
        let word = match *self {
            Icmpv6Repr::EchoRequest { ident, seq_no, .. }
            | Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                Some((u32::from(ident) << 16) | u32::from(seq_no))
            }
            Icmpv6Repr::DstUnreachable { .. } | Icmpv6Repr::TimeExceeded { .. } => Some(0),
            Icmpv6Repr::PacketTooBig { mtu, .. } => Some(mtu),
            Icmpv6Repr::ParamProblem { pointer, .. } => Some(pointer),
            Icmpv6Repr::Ndp(ref n) => {
                n.emit_body(&mut buf[MIN_LEN..])?;
                None
            }
            Icmpv6Repr::Other { body, .. } => {
                buf[MIN_LEN..].copy_from_slice(body);
                None
            }
        };
        if let Some(w) = word {
            write_u32(buf, field::WORD, w);
            if let Some(data) = self.quoted().or(match *self {
                Icmpv6Repr::EchoRequest { data, .. } | Icmpv6Repr::EchoReply { data, .. } => {
                    Some(data)
                }
                _ => None,
            }) {
                buf[HEADER_LEN..].copy_from_slice(data);
            }
        }
        let mut p = Icmpv6Packet::new_unchecked(buf);
        p.fill_checksum(src, dst);
        Ok(len)
    }
}

/// Checks that an error message's data starts with an IPv6 header (see
/// [`Icmpv6Repr::parse`]).
fn check_quote(data: &[u8]) -> Result<&[u8]> {
    if data.len() < super::ipv6::HEADER_LEN || data[0] >> 4 != 6 {
        return Err(Error::Malformed);
    }
    Ok(data)
}

impl fmt::Display for Icmpv6Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => write!(
                f,
                "ICMPv6 echo request id={ident:#06x} seq={seq_no} len={}",
                data.len()
            ),
            Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => write!(
                f,
                "ICMPv6 echo reply id={ident:#06x} seq={seq_no} len={}",
                data.len()
            ),
            Icmpv6Repr::DstUnreachable { reason, .. } => {
                write!(f, "ICMPv6 destination unreachable {reason:?}")
            }
            Icmpv6Repr::PacketTooBig { mtu, .. } => write!(f, "ICMPv6 packet too big mtu={mtu}"),
            Icmpv6Repr::TimeExceeded { reason, .. } => {
                write!(f, "ICMPv6 time exceeded {reason:?}")
            }
            Icmpv6Repr::ParamProblem { code, pointer, .. } => {
                write!(f, "ICMPv6 parameter problem code={code} pointer={pointer}")
            }
            Icmpv6Repr::Ndp(ref n) => write!(f, "ICMPv6 {n}"),
            Icmpv6Repr::Other { msg_type, code, .. } => {
                write!(f, "ICMPv6 type={msg_type} code={code}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
