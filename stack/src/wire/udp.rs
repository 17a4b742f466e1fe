//! The User Datagram Protocol (RFC 768) over IPv4.
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |     Source      |   Destination   |
//! |      Port       |      Port       |
//! +--------+--------+--------+--------+
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! |          data octets ...
//! ```

use core::fmt;
use std::net::IpAddr;

use super::checksum;
use super::{read_u16, write_u16, Error, Result};

/// The IP protocol number of UDP (RFC 768), as used in the pseudo-header.
const PROTOCOL: u8 = 17;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// The length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// A zero-copy view of a UDP datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checking it. Accessors panic if the lengths do not hold.
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps a buffer, checking the lengths (RFC 768 "Length": the length in octets of
    /// the datagram, header included, so the minimum value is eight):
    ///
    /// * at least 8 bytes, else [`Error::Truncated`];
    /// * the length field at least 8, else [`Error::BadLength`];
    /// * the length field within the buffer, else [`Error::Truncated`].
    ///
    /// Bytes past the length field are allowed and are not part of the datagram. Every
    /// accessor is then panic-free.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Applies the length checks of [`Self::new_checked`].
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(Error::BadLength);
        }
        if len > buf_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn raw(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The source port (zero: none, RFC 768).
    pub fn src_port(&self) -> u16 {
        read_u16(self.raw(), field::SRC_PORT)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.raw(), field::DST_PORT)
    }

    /// The length field: header plus data, in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        read_u16(self.raw(), field::LENGTH)
    }

    /// The checksum field (zero: not computed, RFC 768).
    pub fn checksum(&self) -> u16 {
        read_u16(self.raw(), field::CHECKSUM)
    }

    /// The datagram, header and data, as the length field delimits it.
    fn datagram(&self) -> &[u8] {
        &self.raw()[..usize::from(self.len())]
    }

    /// The data: from byte 8 up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.raw()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum verifies against the pseudo-header of `src` and `dst`.
    ///
    /// RFC 768: "An all zero transmitted checksum value means that the transmitter
    /// generated no checksum", so a zero checksum verifies. Otherwise the
    /// one's-complement sum of pseudo-header, header and data must be all ones.
    ///
    /// Over IPv6 the checksum is not optional (RFC 8200 section 8.1: "IPv6 receivers must
    /// discard UDP packets containing a zero checksum"), so there a zero fails.
    pub fn verify_checksum(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) -> bool {
        let (src, dst) = (src.into(), dst.into());
        (self.checksum() == 0 && src.is_ipv4())
            || checksum::verify_transport_ip(src, dst, PROTOCOL, self.datagram())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// [`UdpPacket::payload`], borrowed for as long as the underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let end = usize::from(self.len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    fn raw_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::SRC_PORT, v);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::DST_PORT, v);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::LENGTH, v);
    }

    /// Sets the checksum field as is.
    pub fn set_checksum(&mut self, v: u16) {
        write_u16(self.raw_mut(), field::CHECKSUM, v);
    }

    /// The data (byte 8 up to the length field), for writing.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.raw_mut()[HEADER_LEN..end]
    }

    /// Computes and writes the checksum over the pseudo-header and the datagram as the
    /// length field delimits it.
    ///
    /// RFC 768: "If the computed checksum is zero, it is transmitted as all ones (the
    /// equivalent in one's complement arithmetic)", since zero on the wire means "no
    /// checksum".
    /// (RFC 8200 section 8.1 asks the same over IPv6.)
    pub fn fill_checksum(&mut self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>) {
        self.set_checksum(0);
        let c = checksum::transport_checksum_ip(src.into(), dst.into(), PROTOCOL, self.datagram());
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

/// A parsed UDP datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UdpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// The data.
    pub payload: &'a [u8],
}

impl<'a> UdpRepr<'a> {
    /// Parses a datagram that came in an IP packet from `src` to `dst`.
    ///
    /// Applies the length checks of [`UdpPacket::new_checked`], then the checksum
    /// ([`Error::BadChecksum`]; RFC 1122 section 4.1.3.4: a datagram with a bad checksum
    /// "MUST be discarded silently"). Over IPv4 a zero checksum means none was sent and
    /// is accepted (RFC 768); over IPv6 it is a `BadChecksum` (RFC 8200 section 8.1).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &UdpPacket<&'a T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) -> Result<Self> {
        let packet = UdpPacket::new_checked(packet.buffer.as_ref())?;
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload: packet.into_payload(),
        })
    }

    /// The length of the emitted datagram: 8 + payload.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes header, payload and checksum (always computed, RFC 1122 section 4.1.3.4:
    /// checksums "MUST be enabled by default") into the first [`Self::buffer_len`]
    /// bytes of the buffer.
    ///
    /// The length must fit in 16 bits (checked in debug builds).
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`Self::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut UdpPacket<&mut T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) {
        debug_assert!(self.buffer_len() <= usize::from(u16::MAX));
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.buffer_len() as u16);
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
    }
}

impl fmt::Display for UdpRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UDP {} -> {} len={}",
            self.src_port,
            self.dst_port,
            self.payload.len()
        )
    }
}

#[cfg(test)]
mod tests;
