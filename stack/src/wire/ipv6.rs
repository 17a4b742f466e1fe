//! The Internet Protocol, version 6 (RFC 8200).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! |                                                               |
//! +                         Source Address (128 bits)             +
//! |                                                               |
//! |                                                               |
//! +                      Destination Address (128 bits)           +
//! |                                                               |
//! ```
//!
//! (RFC 8200 section 3; the traffic class holds DSCP and ECN, RFC 2474 and RFC 3168.)
//! The extension headers that may follow are in [`ext`].

use core::fmt;
use std::net::Ipv6Addr;

use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

pub mod ext;

pub use ext::{ExtChain, ExtError, ExtHeader, ExtHeaderRepr, FragmentRepr, Ipv6Option};

/// Next Header values (RFC 8200 section 4 and the IANA "Assigned Internet Protocol
/// Numbers" registry). The field uses the same numbers as IPv4's Protocol, so TCP and UDP
/// convert with [`IpProtocol::from`](super::IpProtocol).
pub mod next_header {
    /// 0, Hop-by-Hop Options (RFC 8200 section 4.3).
    pub const HOP_BY_HOP: u8 = 0;
    /// 6, TCP.
    pub const TCP: u8 = 6;
    /// 17, UDP.
    pub const UDP: u8 = 17;
    /// 43, Routing (RFC 8200 section 4.4).
    pub const ROUTING: u8 = 43;
    /// 44, Fragment (RFC 8200 section 4.5).
    pub const FRAGMENT: u8 = 44;
    /// 50, Encapsulating Security Payload (RFC 4303).
    pub const ESP: u8 = 50;
    /// 51, Authentication Header (RFC 4302).
    pub const AUTH: u8 = 51;
    /// 58, ICMPv6 (RFC 4443).
    pub const ICMPV6: u8 = 58;
    /// 59, No Next Header (RFC 8200 section 4.7).
    pub const NO_NEXT_HEADER: u8 = 59;
    /// 60, Destination Options (RFC 8200 section 4.6).
    pub const DST_OPTS: u8 = 60;
}

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Range<usize> = 8..24;
    pub const DST_ADDR: Range<usize> = 24..40;
}

/// The length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

/// The minimum link MTU for IPv6: "every link in the Internet [must] have an MTU of 1280
/// octets or greater" (RFC 8200 section 5).
pub const MIN_MTU: usize = 1280;

/// Offset of the Payload Length field, for ICMPv6 parameter problem pointers (RFC 8200
/// section 4.5 points at it for a fragment whose length is not a multiple of 8).
pub const PAYLOAD_LEN_OFFSET: u32 = field::PAYLOAD_LEN as u32;

/// Offset of the fixed header's Next Header field, for ICMPv6 parameter problem pointers.
pub const NEXT_HEADER_OFFSET: u32 = field::NEXT_HEADER as u32;

/// A zero-copy view of an IPv6 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checking it. Accessors panic if the lengths do not hold.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wraps a buffer, checking the fixed header and the length (RFC 8200 section 3):
    ///
    /// * at least 40 bytes, else [`Error::Truncated`];
    /// * version 6, else [`Error::BadVersion`];
    /// * 40 + Payload Length bytes present, else [`Error::Truncated`].
    ///
    /// Bytes beyond the payload length (Ethernet padding) are allowed and ignored. A
    /// payload length of zero with a Hop-by-Hop header is a jumbogram (RFC 2675), which
    /// this stack does not support: it reads as an empty payload, and the extension
    /// header walk then finds the chain truncated. Every accessor is then panic-free.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_checked_header(buffer)?;
        if HEADER_LEN + usize::from(p.payload_len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Wraps a buffer, checking only the fixed header: at least 40 bytes and version 6.
    ///
    /// This is for the packet an ICMPv6 error quotes, cut to fit the minimum MTU (RFC
    /// 4443 section 2.4 (c)), whose payload length exceeds what is quoted. Every accessor
    /// is then panic-free except `payload_mut`; [`Self::payload`] returns the bytes that
    /// are present, up to the payload length.
    pub fn new_checked_header(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.version() != 6 {
            return Err(Error::BadVersion);
        }
        Ok(p)
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version field (6).
    pub fn version(&self) -> u8 {
        self.data()[field::VER_TC_FLOW] >> 4
    }

    /// The traffic class (RFC 8200 section 7): DSCP in the top six bits, ECN below.
    pub fn traffic_class(&self) -> u8 {
        (read_u16(self.data(), field::VER_TC_FLOW) >> 4) as u8
    }

    /// The Differentiated Services Code Point (RFC 2474 section 3).
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// The ECN field (RFC 3168 section 5).
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The 20-bit flow label (RFC 8200 section 6, RFC 6437).
    pub fn flow_label(&self) -> u32 {
        read_u32(self.data(), field::VER_TC_FLOW) & 0x000f_ffff
    }

    /// The payload length: the bytes after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        read_u16(self.data(), field::PAYLOAD_LEN)
    }

    /// The Next Header field: the first extension header or the upper-layer protocol.
    pub fn next_header(&self) -> u8 {
        self.data()[field::NEXT_HEADER]
    }

    /// The hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.data()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.data()[field::SRC_ADDR]);
        Ipv6Addr::from(b)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.data()[field::DST_ADDR]);
        Ipv6Addr::from(b)
    }

    /// The fixed header.
    pub fn header(&self) -> &[u8] {
        &self.data()[..HEADER_LEN]
    }

    fn payload_range(&self) -> core::ops::Range<usize> {
        let end = (HEADER_LEN + usize::from(self.payload_len())).min(self.data().len());
        HEADER_LEN..end
    }

    /// The payload: extension headers and upper-layer data, up to the payload length.
    /// (For a view made by `new_checked_header`, it stops where the buffer does.)
    pub fn payload(&self) -> &[u8] {
        &self.data()[self.payload_range()]
    }

    /// The packet, fixed header and payload, without any padding after it.
    pub fn packet(&self) -> &[u8] {
        &self.data()[..self.payload_range().end]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// [`Ipv6Packet::payload`], borrowed for as long as the underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let r = self.payload_range();
        &self.buffer.as_ref()[r]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the version field.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.data_mut()[field::VER_TC_FLOW];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets the traffic class, keeping version and flow label.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let w = read_u32(self.data_mut(), field::VER_TC_FLOW);
        let w = (w & 0xf00f_ffff) | (u32::from(tc) << 20);
        write_u32(self.data_mut(), field::VER_TC_FLOW, w);
    }

    /// Sets the flow label (the low 20 bits of `v`), keeping version and traffic class.
    pub fn set_flow_label(&mut self, v: u32) {
        let w = read_u32(self.data_mut(), field::VER_TC_FLOW);
        let w = (w & 0xfff0_0000) | (v & 0x000f_ffff);
        write_u32(self.data_mut(), field::VER_TC_FLOW, w);
    }

    /// Sets the payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        write_u16(self.data_mut(), field::PAYLOAD_LEN, v);
    }

    /// Sets the Next Header field.
    pub fn set_next_header(&mut self, v: u8) {
        self.data_mut()[field::NEXT_HEADER] = v;
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.data_mut()[field::HOP_LIMIT] = v;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.data_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.data_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// The payload, for writing.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than 40 + payload length, which `new_checked` rules out.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.data_mut()[HEADER_LEN..end]
    }
}

/// A parsed IPv6 fixed header.
///
/// The extension headers stay in the payload: walk them with [`ExtChain::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The Next Header field (see [`next_header`]).
    pub next_header: u8,
    /// The payload length: extension headers and upper-layer data.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP << 2 | ECN).
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Parses a packet, applying the checks of [`Ipv6Packet::new_checked`] again (a view
    /// built with `new_unchecked` cannot make this panic). IPv6 has no header checksum
    /// (RFC 8200 section 8.1: upper-layer checksums cover the addresses instead).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&T>) -> Result<Self> {
        let packet = Ipv6Packet::new_checked(packet.buffer.as_ref())?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// The length of the emitted header: always [`HEADER_LEN`].
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 40-byte fixed header. The caller writes extension headers and data
    /// through [`Ipv6Packet::payload_mut`].
    ///
    /// Returns [`Error::BadLength`] if `payload_len` does not fit the 16-bit field (no
    /// jumbograms, RFC 2675), [`Error::BufferTooSmall`] if the buffer is under 40 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Ipv6Packet<&mut T>,
    ) -> Result<()> {
        let Ok(len) = u16::try_from(self.payload_len) else {
            return Err(Error::BadLength);
        };
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::BufferTooSmall);
        }
        let w = (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0xfffff);
        write_u32(packet.data_mut(), field::VER_TC_FLOW, w);
        packet.set_payload_len(len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

impl fmt::Display for Ipv6Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv6 {} -> {} nh={} len={} hlim={}",
            self.src_addr, self.dst_addr, self.next_header, self.payload_len, self.hop_limit
        )?;
        if self.flow_label != 0 {
            write!(f, " flow={:#07x}", self.flow_label)?;
        }
        Ok(())
    }
}

/// Address classes a receiver checks (RFC 4291 section 2.4 and 2.5).
pub mod addr {
    use std::net::Ipv6Addr;

    /// Whether `a` is multicast, `ff00::/8` (RFC 4291 section 2.7).
    pub fn is_multicast(a: &Ipv6Addr) -> bool {
        a.octets()[0] == 0xff
    }

    /// Whether `a` is link-local unicast, `fe80::/10` (RFC 4291 section 2.5.6).
    pub fn is_link_local(a: &Ipv6Addr) -> bool {
        let o = a.octets();
        o[0] == 0xfe && o[1] & 0xc0 == 0x80
    }

    /// The solicited-node multicast address of `a`: `ff02::1:ff00:0/104` with the low
    /// 24 bits of `a` (RFC 4291 section 2.7.1).
    pub fn solicited_node(a: &Ipv6Addr) -> Ipv6Addr {
        let o = a.octets();
        Ipv6Addr::from([
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
        ])
    }

    /// Whether `a` is a solicited-node multicast address (RFC 4291 section 2.7.1).
    pub fn is_solicited_node(a: &Ipv6Addr) -> bool {
        let o = a.octets();
        o[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff]
    }

    /// The all-nodes link-local multicast address, `ff02::1` (RFC 4291 section 2.7.1).
    pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

    /// The all-routers link-local multicast address, `ff02::2` (RFC 4291 section 2.7.1).
    pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
