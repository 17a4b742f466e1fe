//! The Internet Protocol, version 4 (RFC 791).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |    DSCP   |ECN|          Total Length         |
//! |         Identification        |Flags|      Fragment Offset    |
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! |                    Options                    |    Padding    |
//! ```
//!
//! (RFC 791 section 3.1; DSCP/ECN per RFC 2474 and RFC 3168 section 5.)

use core::fmt;
use std::net::Ipv4Addr;

use super::checksum;
use super::{read_u16, write_u16, Error, Result};

/// The protocol number of the payload (RFC 791 section 3.1 "Protocol"; values from the
/// IANA registry, RFC 790).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// 1, ICMP (RFC 792).
    Icmp,
    /// 6, TCP (RFC 9293).
    Tcp,
    /// 17, UDP (RFC 768).
    Udp,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(v: IpProtocol) -> u8 {
        match v {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Unknown(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Unknown(v) => write!(f, "proto {v}"),
        }
    }
}

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// The length of an IPv4 header without options (IHL = 5).
pub const HEADER_LEN: usize = 20;

/// The "reserved, must be zero" flag bit (RFC 791 section 3.1 "Flags", bit 0).
const FLAG_RESERVED: u16 = 0x8000;
/// "Don't Fragment" (RFC 791 section 3.1 "Flags", bit 1).
const FLAG_DF: u16 = 0x4000;
/// "More Fragments" (RFC 791 section 3.1 "Flags", bit 2).
const FLAG_MF: u16 = 0x2000;
/// The fragment offset, in units of 8 octets.
const OFFSET_MASK: u16 = 0x1fff;

/// A zero-copy view of an IPv4 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it. Accessors panic if the lengths do not hold.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer, checking the header and length fields (RFC 791 section 3.1):
    ///
    /// * at least 20 bytes, else [`Error::Truncated`];
    /// * version 4, else [`Error::BadVersion`];
    /// * IHL at least 5 (the minimum header is five 32-bit words), else
    ///   [`Error::BadLength`];
    /// * the whole header (IHL * 4 bytes) present, else [`Error::Truncated`];
    /// * total length at least the header length, else [`Error::BadLength`];
    /// * total length present in the buffer, else [`Error::Truncated`].
    ///
    /// Bytes beyond the total length (Ethernet padding, RFC 894) are allowed and ignored.
    /// Every accessor is then panic-free.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_checked_header(buffer)?;
        if usize::from(p.total_len()) < p.header_len() {
            return Err(Error::BadLength);
        }
        if usize::from(p.total_len()) > p.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(p)
    }

    /// Wraps a buffer, checking only the header: at least 20 bytes, version 4, IHL at
    /// least 5 and the whole header present, with the errors of [`Self::new_checked`].
    ///
    /// This is for the datagram an ICMP error quotes (RFC 792: "Internet Header + 64
    /// bits of Original Data Datagram"), whose total length exceeds what is quoted.
    /// Every accessor is then panic-free except `payload_mut`; [`Self::payload`] returns
    /// the bytes that are present, up to the total length.
    pub fn new_checked_header(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        let len = p.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if p.version() != 4 {
            return Err(Error::BadVersion);
        }
        if p.header_len() < HEADER_LEN {
            return Err(Error::BadLength);
        }
        if p.header_len() > len {
            return Err(Error::Truncated);
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

    /// The version field (4).
    pub fn version(&self) -> u8 {
        self.data()[field::VER_IHL] >> 4
    }

    /// The header length in bytes: IHL * 4 (RFC 791 section 3.1 "IHL").
    pub fn header_len(&self) -> usize {
        usize::from(self.data()[field::VER_IHL] & 0x0f) * 4
    }

    /// The whole second byte: RFC 791's "Type of Service", now DSCP and ECN.
    pub fn tos(&self) -> u8 {
        self.data()[field::TOS]
    }

    /// The Differentiated Services Code Point, the top six bits (RFC 2474 section 3).
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// The ECN field, the bottom two bits (RFC 3168 section 5).
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// The total length of the datagram, header and data, in bytes.
    pub fn total_len(&self) -> u16 {
        read_u16(self.data(), field::LENGTH)
    }

    /// The identification, shared by the fragments of one datagram.
    pub fn ident(&self) -> u16 {
        read_u16(self.data(), field::IDENT)
    }

    /// The reserved flag (bit 0), which must be zero (RFC 791 section 3.1).
    pub fn reserved_flag(&self) -> bool {
        read_u16(self.data(), field::FLG_OFF) & FLAG_RESERVED != 0
    }

    /// The Don't Fragment flag.
    pub fn dont_frag(&self) -> bool {
        read_u16(self.data(), field::FLG_OFF) & FLAG_DF != 0
    }

    /// The More Fragments flag.
    pub fn more_frags(&self) -> bool {
        read_u16(self.data(), field::FLG_OFF) & FLAG_MF != 0
    }

    /// The fragment offset in BYTES (the field counts 8-octet units, RFC 791 section 3.1
    /// "Fragment Offset"), so always a multiple of 8.
    pub fn frag_offset(&self) -> u16 {
        (read_u16(self.data(), field::FLG_OFF) & OFFSET_MASK) << 3
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.data()[field::TTL]
    }

    /// The payload's protocol.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.data()[field::PROTOCOL])
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.data(), field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.data()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.data()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The whole header, options included.
    pub fn header(&self) -> &[u8] {
        &self.data()[..self.header_len()]
    }

    /// The options and padding: bytes 20 up to the header length (RFC 791 section 3.1
    /// "Options"). Empty for IHL = 5.
    pub fn options(&self) -> &[u8] {
        &self.data()[HEADER_LEN..self.header_len()]
    }

    /// Whether the header checksum verifies: the one's-complement sum of the header,
    /// checksum included, is all ones (RFC 791 section 3.1 "Header Checksum", RFC 1071).
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.header()) == 0
    }

    fn payload_range(&self) -> core::ops::Range<usize> {
        let len = self.data().len();
        let end = usize::from(self.total_len()).min(len);
        let start = self.header_len().min(end);
        start..end
    }

    /// The data: from the end of the header to the total length. Padding after the
    /// total length is not part of it. (For a view made by `new_checked_header`, it stops
    /// where the buffer does.)
    pub fn payload(&self) -> &[u8] {
        &self.data()[self.payload_range()]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// [`Ipv4Packet::payload`], borrowed for as long as the underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let r = self.payload_range();
        &self.buffer.as_ref()[r]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the version field.
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.data_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets IHL from a header length in bytes (a multiple of 4, at most 60).
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(
            len.is_multiple_of(4) && len <= 60,
            "IPv4 header length {len}"
        );
        let b = &mut self.data_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the whole Type of Service byte (DSCP and ECN).
    pub fn set_tos(&mut self, v: u8) {
        self.data_mut()[field::TOS] = v;
    }

    /// Sets the DSCP, keeping the ECN bits.
    pub fn set_dscp(&mut self, v: u8) {
        let b = &mut self.data_mut()[field::TOS];
        *b = (*b & 0x03) | (v << 2);
    }

    /// Sets the ECN bits, keeping the DSCP.
    pub fn set_ecn(&mut self, v: u8) {
        let b = &mut self.data_mut()[field::TOS];
        *b = (*b & 0xfc) | (v & 0x03);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, v: u16) {
        write_u16(self.data_mut(), field::LENGTH, v);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, v: u16) {
        write_u16(self.data_mut(), field::IDENT, v);
    }

    fn set_flag(&mut self, mask: u16, on: bool) {
        let raw = read_u16(self.data_mut(), field::FLG_OFF);
        let raw = if on { raw | mask } else { raw & !mask };
        write_u16(self.data_mut(), field::FLG_OFF, raw);
    }

    /// Sets the reserved flag (only to build bad packets in tests; RFC 791 says zero).
    pub fn set_reserved_flag(&mut self, on: bool) {
        self.set_flag(FLAG_RESERVED, on);
    }

    /// Sets Don't Fragment.
    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DF, on);
    }

    /// Sets More Fragments.
    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MF, on);
    }

    /// Sets the fragment offset from a value in BYTES, which must be a multiple of 8
    /// (RFC 791 section 3.1: the field counts 8-octet units) and at most 65528; the low
    /// three bits are dropped.
    pub fn set_frag_offset(&mut self, bytes: u16) {
        debug_assert!(
            bytes.is_multiple_of(8),
            "fragment offset {bytes} not a multiple of 8"
        );
        let raw = read_u16(self.data_mut(), field::FLG_OFF);
        let raw = (raw & !OFFSET_MASK) | (bytes >> 3);
        write_u16(self.data_mut(), field::FLG_OFF, raw);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, v: u8) {
        self.data_mut()[field::TTL] = v;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, v: IpProtocol) {
        self.data_mut()[field::PROTOCOL] = v.into();
    }

    /// Sets the checksum field as is.
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.data_mut(), field::CHECKSUM, v);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.data_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.data_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }

    /// Computes and writes the header checksum (RFC 791 section 3.1: the checksum field
    /// is zero while the sum is computed), over the whole header, options included.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.header());
        self.set_checksum(c);
    }

    /// The whole header, options included, for writing.
    pub fn header_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.data_mut()[..hl]
    }

    /// The options, for writing.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = self.header_len();
        &mut self.data_mut()[HEADER_LEN..hl]
    }

    /// The data (header length up to total length), for writing.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than the total length, which `new_checked` rules out.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let end = usize::from(self.total_len());
        &mut self.data_mut()[start..end]
    }
}

/// A parsed IPv4 header.
///
/// Options are not represented: [`Ipv4Repr::parse`] skips them (they stay readable
/// through [`Ipv4Packet::options`]) and [`Ipv4Repr::emit`] never writes any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// The payload's protocol.
    pub protocol: IpProtocol,
    /// Length of the data after the header: total length minus header length.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes; always a multiple of 8.
    pub frag_offset: u16,
    /// The whole Type of Service byte (DSCP << 2 | ECN).
    pub tos: u8,
}

impl Ipv4Repr {
    /// Parses a checked packet.
    ///
    /// Applies the checks of [`Ipv4Packet::new_checked`] again (a view built with
    /// `new_unchecked` cannot make this panic), then verifies the header checksum
    /// ([`Error::BadChecksum`]; RFC 791 section 3.1, RFC 1122 section 3.2.1.2: "A host
    /// MUST verify the IP header checksum on every received datagram and silently
    /// discard every datagram that has a bad checksum").
    ///
    /// Options are accepted and skipped (RFC 1122 section 3.2.1.8: options "MUST be
    /// ignored" when not understood, and this stack understands none). The reserved flag
    /// is ignored.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv4Packet<&T>) -> Result<Self> {
        let packet = Ipv4Packet::new_checked(packet.buffer.as_ref())?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            tos: packet.tos(),
        })
    }

    /// The length of the emitted header: always [`HEADER_LEN`], since options are never
    /// emitted.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 20-byte header, total length `20 + payload_len`, and its checksum. The
    /// caller writes the data through [`Ipv4Packet::payload_mut`] (the checksum covers
    /// the header only, RFC 791 section 3.1, so the order does not matter).
    ///
    /// `frag_offset` must be a multiple of 8 (RFC 791 section 3.1 "Fragment Offset": the
    /// field counts 8-octet units) and `20 + payload_len` must fit in 16 bits; both are
    /// checked in debug builds, and otherwise the low bits of the offset are dropped.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut Ipv4Packet<&mut T>) {
        debug_assert!(
            self.frag_offset.is_multiple_of(8),
            "frag_offset {}",
            self.frag_offset
        );
        debug_assert!(self.payload_len <= usize::from(u16::MAX) - HEADER_LEN);
        // The header is put together in a local array, checksummed there, and written in
        // one copy: reading fields back from the packet right after the payload was
        // copied in would wait for that copy's stores.
        let mut h = [0u8; HEADER_LEN];
        h[0] = 0x45;
        h[1] = self.tos;
        h[2..4].copy_from_slice(&((HEADER_LEN + self.payload_len) as u16).to_be_bytes());
        h[4..6].copy_from_slice(&self.ident.to_be_bytes());
        // Flags and offset share one word: write it whole, reserved bit zero.
        let flg_off = if self.dont_frag { FLAG_DF } else { 0 }
            | if self.more_frags { FLAG_MF } else { 0 }
            | (self.frag_offset >> 3);
        h[6..8].copy_from_slice(&flg_off.to_be_bytes());
        h[8] = self.ttl;
        h[9] = self.protocol.into();
        h[12..16].copy_from_slice(&self.src_addr.octets());
        h[16..20].copy_from_slice(&self.dst_addr.octets());
        // The checksum from the fields' values (RFC 1071: the sum of the header's 16-bit
        // words), not by reading the bytes just stored: a read spanning several
        // fresh narrow stores waits for them, and for every store queued before them.
        let word = |hi: u8, lo: u8| u64::from(u16::from_be_bytes([hi, lo]));
        let (s, d) = (u32::from(self.src_addr), u32::from(self.dst_addr));
        let acc = word(0x45, self.tos)
            + (HEADER_LEN + self.payload_len) as u64
            + u64::from(self.ident)
            + u64::from(flg_off)
            + word(self.ttl, self.protocol.into())
            + u64::from(s >> 16)
            + u64::from(s & 0xffff)
            + u64::from(d >> 16)
            + u64::from(d & 0xffff);
        let check = !checksum::fold(acc);
        h[10..12].copy_from_slice(&check.to_be_bytes());
        packet.buffer.as_mut()[..HEADER_LEN].copy_from_slice(&h);
    }
}

impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 {} -> {} {} len={} ttl={} id={:#06x}",
            self.src_addr, self.dst_addr, self.protocol, self.payload_len, self.ttl, self.ident
        )?;
        if self.dont_frag {
            f.write_str(" DF")?;
        }
        if self.more_frags {
            f.write_str(" MF")?;
        }
        if self.frag_offset != 0 {
            write!(f, " off={}", self.frag_offset)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
