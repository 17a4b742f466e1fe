//! TCP segments (RFC 9293 section 3.1) and their options (RFC 9293 section 3.2,
//! RFC 7323, RFC 2018).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |       |N|C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrvd |S|W|C|R|C|S|S|Y|I|            Window             |
//! |       |       | |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           [Options]                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`TcpPacket`] is the zero-copy view, [`TcpRepr`] the parsed form, [`TcpOption`] one
//! option and [`TcpOptions`] an iterator over a segment's options.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not};
use std::net::IpAddr;

use super::checksum;
use super::{read_u16, read_u32, write_u16, write_u32, Error, Result};

mod options;
mod repr;

pub use options::{TcpOption, TcpOptions};
pub use repr::{TcpRepr, TcpTimestamp};

#[cfg(test)]
mod tests;

/// The length of the fixed header, without options (RFC 9293 section 3.1).
pub const HEADER_LEN: usize = 20;
/// The largest header: a data offset of 15 words (RFC 9293 section 3.1).
pub const MAX_HEADER_LEN: usize = 60;

/// The IP protocol number of TCP (RFC 9293 section 3.1, IANA "Protocol Numbers").
pub const PROTOCOL: u8 = 6;

/// Byte ranges of the fixed header (RFC 9293 section 3.1).
mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    /// Data offset (high nibble), reserved bits and the NS/AE bit (low bit).
    pub const OFFSET: usize = 12;
    /// CWR ECE URG ACK PSH RST SYN FIN.
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

/// The control bits of a TCP header (RFC 9293 section 3.1; ECE and CWR from RFC 3168
/// section 6.1, NS from RFC 3540, the bit RFC 9768 now calls AE).
///
/// The value holds the 9 flag bits in the order they take on the wire: bit 8 is NS, bits
/// 7..0 are CWR ECE URG ACK PSH RST SYN FIN. The three reserved bits are not part of it:
/// RFC 9293 section 3.1 says they "must be zero in generated segments and must be ignored
/// in received segments".
///
/// `Debug` and `Display` print the flags the way tcpdump does: `S`, `S.`, `.`, `P.`,
/// `F.`, `R`, with `.` for ACK, `U` URG, `E` ECE, `W` CWR, `e` NS/AE, and `none`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// Acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// Urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECN-Echo (RFC 3168 section 6.1).
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// Congestion Window Reduced (RFC 3168 section 6.1).
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// ECN nonce sum (RFC 3540, historic); the AE bit of accurate ECN (RFC 9768).
    pub const NS: TcpFlags = TcpFlags(0x100);

    /// Every defined flag bit.
    const ALL_BITS: u16 = 0x1ff;

    /// No flags set.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The flags from raw bits (bit 8 NS .. bit 0 FIN); other bits are dropped.
    pub const fn from_bits_truncate(bits: u16) -> TcpFlags {
        TcpFlags(bits & Self::ALL_BITS)
    }

    /// The raw bits (bit 8 NS .. bit 0 FIN).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    /// Sets or clears the flags of `other`.
    pub fn set(&mut self, other: TcpFlags, value: bool) {
        if value {
            self.insert(other)
        } else {
            self.remove(other)
        }
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl BitAndAssign for TcpFlags {
    fn bitand_assign(&mut self, rhs: TcpFlags) {
        self.0 &= rhs.0;
    }
}

impl Not for TcpFlags {
    type Output = TcpFlags;
    fn not(self) -> TcpFlags {
        TcpFlags(!self.0 & Self::ALL_BITS)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's notation (`print-tcp.c`, `tcp_flag_values`), in its order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(TcpFlags, char); 9] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::NS, 'e'),
        ];
        if self.is_empty() {
            return f.write_str("none");
        }
        for (flag, c) in NAMES {
            if self.contains(flag) {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A zero-copy view of a TCP segment (header, options and payload) over a buffer.
///
/// The segment is the whole buffer: the IP layer hands over exactly the bytes its length
/// field covers. After [`TcpPacket::new_checked`] succeeded, no accessor can panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// The length of the fixed header, without options (RFC 9293 section 3.1); also
    /// [`HEADER_LEN`](self::HEADER_LEN) at module level.
    pub const HEADER_LEN: usize = HEADER_LEN;
    /// The largest header: a data offset of 15 words (RFC 9293 section 3.1).
    pub const MAX_HEADER_LEN: usize = MAX_HEADER_LEN;

    /// Wraps a buffer without checking it. Accessors may panic on a short buffer: use
    /// this only to emit into a buffer of the right size.
    pub const fn new_unchecked(buffer: T) -> TcpPacket<T> {
        TcpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<TcpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the lengths that the accessors rely on (RFC 9293 section 3.1):
    ///
    /// * the buffer holds the fixed header (`Truncated` otherwise);
    /// * the data offset is at least 5 words, the fixed header (`BadLength`);
    /// * the buffer holds the header the data offset announces (`Truncated`).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < Self::HEADER_LEN {
            return Err(Error::BadLength);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SEQ_NUM.start)
    }

    /// The acknowledgment number (meaningful only with ACK set).
    pub fn ack_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::ACK_NUM.start)
    }

    /// The header length in bytes, options included: the data offset times four.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::OFFSET] >> 4) * 4
    }

    /// The control bits; the reserved bits are ignored (RFC 9293 section 3.1).
    pub fn flags(&self) -> TcpFlags {
        let b = self.buffer.as_ref();
        TcpFlags::from_bits_truncate(
            u16::from(b[field::OFFSET] & 0x01) << 8 | u16::from(b[field::FLAGS]),
        )
    }

    /// The window field, unscaled.
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WIN_SIZE.start)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The urgent pointer field (meaningful only with URG set).
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The options area, between the fixed header and the data offset.
    pub fn options(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(Self::HEADER_LEN..self.header_len()).unwrap_or(&[])
    }

    /// An iterator over the options (see [`TcpOptions`]).
    pub fn options_iter(&self) -> TcpOptions<'_> {
        TcpOptions::new(self.options())
    }

    /// The data after the header.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(self.header_len()..).unwrap_or(&[])
    }

    /// The sequence space the segment occupies: its data, plus one for SYN and one for
    /// FIN (RFC 9293 section 3.4, SEG.LEN).
    pub fn segment_len(&self) -> usize {
        let flags = self.flags();
        self.payload().len()
            + usize::from(flags.contains(TcpFlags::SYN))
            + usize::from(flags.contains(TcpFlags::FIN))
    }

    /// Whether the checksum over the pseudo-header, header and data verifies (RFC 9293
    /// section 3.1: "The checksum field is the 16-bit ones' complement of the ones'
    /// complement sum of all 16-bit words in the header and text", with the IPv4
    /// pseudo-header of section 3.1 prefixed; over IPv6, the pseudo-header of RFC 8200
    /// section 8.1).
    pub fn verify_checksum(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> bool {
        checksum::verify_transport_ip(src.into(), dst.into(), PROTOCOL, self.buffer.as_ref())
    }

    /// [`verify_checksum`](Self::verify_checksum) with the payload's sum given
    /// (`payload_sum`, as [`checksum::sum`] from offset 0 of the payload gives it), taken
    /// by the caller while it copied the payload: only the header is read here. For a
    /// packet whose lengths were checked (`new_checked`).
    pub fn verify_checksum_with(
        &self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        payload_sum: u64,
    ) -> bool {
        let buf = self.buffer.as_ref();
        let hl = self.header_len().min(buf.len());
        let mut acc =
            checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, buf.len() as u32);
        acc = checksum::sum(acc, &buf[..hl]);
        checksum::fold(checksum::add_at(acc, payload_sum, hl)) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, value)
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, value)
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM.start, value)
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM.start, value)
    }

    /// Sets the data offset from a header length in bytes, a multiple of 4 in `20..=60`
    /// (other values are rounded down to a multiple of 4 and clamped to 60).
    pub fn set_header_len(&mut self, len: usize) {
        let words = (len.min(Self::MAX_HEADER_LEN) / 4) as u8;
        let b = self.buffer.as_mut();
        b[field::OFFSET] = (words << 4) | (b[field::OFFSET] & 0x0f);
    }

    /// Sets the control bits and clears the reserved bits, which "must be zero in
    /// generated segments" (RFC 9293 section 3.1). The data offset is kept.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let bits = flags.bits();
        let b = self.buffer.as_mut();
        b[field::OFFSET] = (b[field::OFFSET] & 0xf0) | ((bits >> 8) as u8 & 0x01);
        b[field::FLAGS] = bits as u8;
    }

    /// Sets the window field.
    pub fn set_window_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::WIN_SIZE.start, value)
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value)
    }

    /// Sets the urgent pointer field.
    pub fn set_urgent_at(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT.start, value)
    }

    /// The options area, mutable (its size follows the data offset).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        let b = self.buffer.as_mut();
        b.get_mut(Self::HEADER_LEN..header_len).unwrap_or(&mut [])
    }

    /// The data after the header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        let b = self.buffer.as_mut();
        b.get_mut(header_len..).unwrap_or(&mut [])
    }

    /// Computes the checksum over the pseudo-header and the whole buffer and writes it
    /// (RFC 9293 section 3.1; over IPv6, RFC 8200 section 8.1).
    pub fn fill_checksum(&mut self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        self.set_checksum(0);
        let c =
            checksum::transport_checksum_ip(src.into(), dst.into(), PROTOCOL, self.buffer.as_ref());
        self.set_checksum(c);
    }

    /// [`fill_checksum`](Self::fill_checksum) for a segment whose payload's sum the
    /// caller took as it copied the payload in (`payload_sum`, as [`checksum::sum`] from
    /// offset 0 of the payload): only the header is read. The checksum field must be
    /// zero ([`TcpRepr::emit_header`] leaves it so).
    ///
    /// [`TcpRepr::emit_header`]: super::TcpRepr::emit_header
    pub fn fill_checksum_with(
        &mut self,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        payload_sum: u64,
    ) {
        let buf = self.buffer.as_ref();
        let hl = self.header_len().min(buf.len());
        let mut acc =
            checksum::pseudo_header_ip(src.into(), dst.into(), PROTOCOL, buf.len() as u32);
        acc = checksum::sum(acc, &buf[..hl]);
        let c = !checksum::fold(checksum::add_at(acc, payload_sum, hl));
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for TcpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}
