//! The Address Resolution Protocol (RFC 826), for IPv4 over Ethernet only.
//!
//! The view ([`ArpPacket`]) reads any hardware and protocol address sizes, as RFC 826
//! lays the packet out generically; the parsed form ([`ArpRepr`]) accepts only Ethernet
//! hardware addresses and IPv4 protocol addresses and says [`Error::Unsupported`] for
//! everything else.

use core::fmt;
use std::net::Ipv4Addr;

use super::ethernet::{EtherType, EthernetAddress};
use super::{read_u16, write_u16, Error, Result};

/// The `ar$op` field (RFC 826 "Packet format"; values from RFC 5494 / IANA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1, `ares_op$REQUEST`.
    Request,
    /// 2, `ares_op$REPLY`.
    Reply,
    /// Any other value (RARP, InARP, ...).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(v: ArpOperation) -> u16 {
        match v {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

/// `ar$hrd` for Ethernet (RFC 826: `ares_hrd$Ethernet` = 1).
pub const HARDWARE_ETHERNET: u16 = 1;

mod field {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
}

/// The fixed part of every ARP packet: hardware and protocol type and length, operation.
pub const FIXED_LEN: usize = 8;

/// The length of an ARP packet for IPv4 over Ethernet: 8 + 2 * (6 + 4).
pub const PACKET_LEN: usize = 28;

/// A zero-copy view of an ARP packet, with any address sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking it. Accessors panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps a buffer, checking that it holds the fixed part and the four addresses
    /// that `ar$hln` and `ar$pln` announce ([`Error::Truncated`] otherwise). Trailing
    /// bytes (Ethernet padding) are allowed. Every accessor is then panic-free.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the buffer length against the address lengths.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN || len < self.packet_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The length the addresses make: 8 + 2 * (hln + pln).
    pub fn packet_len(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// `ar$hrd`, the hardware address space.
    pub fn hardware_type(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::HTYPE)
    }

    /// `ar$pro`, the protocol address space (an EtherType).
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(read_u16(self.buffer.as_ref(), field::PTYPE))
    }

    /// `ar$hln`, the length of a hardware address in bytes.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// `ar$pln`, the length of a protocol address in bytes.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// `ar$op`.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(read_u16(self.buffer.as_ref(), field::OPER))
    }

    fn sha(&self) -> core::ops::Range<usize> {
        field::SHA..field::SHA + usize::from(self.hardware_len())
    }
    fn spa(&self) -> core::ops::Range<usize> {
        let s = self.sha().end;
        s..s + usize::from(self.protocol_len())
    }
    fn tha(&self) -> core::ops::Range<usize> {
        let s = self.spa().end;
        s..s + usize::from(self.hardware_len())
    }
    fn tpa(&self) -> core::ops::Range<usize> {
        let s = self.tha().end;
        s..s + usize::from(self.protocol_len())
    }

    /// `ar$sha`, the sender's hardware address.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.sha()]
    }

    /// `ar$spa`, the sender's protocol address.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.spa()]
    }

    /// `ar$tha`, the target's hardware address.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.tha()]
    }

    /// `ar$tpa`, the target's protocol address.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.tpa()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets `ar$hrd`.
    pub fn set_hardware_type(&mut self, v: u16) {
        write_u16(self.buffer.as_mut(), field::HTYPE, v);
    }

    /// Sets `ar$pro`.
    pub fn set_protocol_type(&mut self, v: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE, v.into());
    }

    /// Sets `ar$hln`. The address accessors move with it.
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }

    /// Sets `ar$pln`. The address accessors move with it.
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }

    /// Sets `ar$op`.
    pub fn set_operation(&mut self, v: ArpOperation) {
        write_u16(self.buffer.as_mut(), field::OPER, v.into());
    }

    /// Sets `ar$sha`; `addr` must be `ar$hln` bytes long.
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) {
        let r = self.sha();
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }

    /// Sets `ar$spa`; `addr` must be `ar$pln` bytes long.
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) {
        let r = self.spa();
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }

    /// Sets `ar$tha`; `addr` must be `ar$hln` bytes long.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let r = self.tha();
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }

    /// Sets `ar$tpa`; `addr` must be `ar$pln` bytes long.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let r = self.tpa();
        self.buffer.as_mut()[r].copy_from_slice(addr);
    }
}

/// A parsed ARP packet for IPv4 over Ethernet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply, or another operation (which the caller will likely ignore).
    pub operation: ArpOperation,
    /// `ar$sha`.
    pub source_hardware_addr: EthernetAddress,
    /// `ar$spa`.
    pub source_protocol_addr: Ipv4Addr,
    /// `ar$tha` (all zeros in a request, by convention; RFC 826 leaves it unspecified).
    pub target_hardware_addr: EthernetAddress,
    /// `ar$tpa`.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Parses an ARP packet.
    ///
    /// RFC 826 "Packet Reception": a receiver checks `ar$hrd` and `ar$pro` (and may
    /// check the lengths) and drops what it does not speak. This implementation speaks
    /// Ethernet (`ar$hrd` = 1, `ar$hln` = 6) and IPv4 (`ar$pro` = 0x0800, `ar$pln` = 4)
    /// only; any other combination is [`Error::Unsupported`]. A buffer shorter than the
    /// announced addresses is [`Error::Truncated`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<Self> {
        let len = packet.buffer.as_ref().len();
        if len < FIXED_LEN {
            return Err(Error::Truncated);
        }
        if packet.hardware_type() != HARDWARE_ETHERNET
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        if len < PACKET_LEN {
            return Err(Error::Truncated);
        }
        Ok(ArpRepr {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress::from_bytes(packet.source_hardware_addr()),
            source_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: EthernetAddress::from_bytes(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// The length of the emitted packet, [`PACKET_LEN`] (28).
    pub fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the 28-byte packet into the start of `packet`'s buffer.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`PACKET_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(&self, packet: &mut ArpPacket<&mut T>) {
        packet.set_hardware_type(HARDWARE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(&self.source_hardware_addr.0);
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(&self.target_hardware_addr.0);
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

impl fmt::Display for ArpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request => write!(
                f,
                "ARP who-has {} tell {} ({})",
                self.target_protocol_addr, self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Reply => write!(
                f,
                "ARP {} is-at {} (to {} {})",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
            ArpOperation::Unknown(op) => write!(
                f,
                "ARP op={op} {} ({}) -> {} ({})",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
        }
    }
}

/// An IPv4 address from a four-byte field (checked by the caller).
fn ipv4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

#[cfg(test)]
mod tests;
