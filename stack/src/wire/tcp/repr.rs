//! The parsed form of a TCP segment.

use std::net::IpAddr;

use super::options::{kind, len, TcpOption, TcpOptions, MAX_SACK_BLOCKS};
use super::{TcpFlags, TcpPacket};
use crate::wire::{read_u32, Error, Result};

/// The size of the options area: a data offset of 15 words less the fixed header (RFC
/// 9293 section 3.1).
const MAX_OPTIONS_LEN: usize = 40;

/// The Timestamps option's two values (RFC 7323 section 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpTimestamp {
    /// TSval: the sender's timestamp clock.
    pub tsval: u32,
    /// TSecr: the echoed TSval (meaningful only with ACK set).
    pub tsecr: u32,
}

/// A parsed TCP segment: header fields, the options this stack understands, and the data.
///
/// `Default` gives an all-zero segment with no flags, options or data: tests build
/// segments with `TcpRepr { flags: TcpFlags::SYN, ..TcpRepr::default() }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpRepr<'a> {
    /// The source port.
    pub src_port: u16,
    /// The destination port.
    pub dst_port: u16,
    /// The control bits.
    pub flags: TcpFlags,
    /// The sequence number.
    pub seq_number: u32,
    /// The acknowledgment number (the field's value, also when ACK is not set).
    pub ack_number: u32,
    /// The window field, unscaled.
    pub window_len: u16,
    /// The urgent pointer field.
    pub urgent_pointer: u16,
    /// The MSS option (RFC 9293 section 3.7.1).
    pub max_seg_size: Option<u16>,
    /// The window scale option's shift count, raw (RFC 7323 section 2.2): the TCP layer
    /// clamps values over 14 (RFC 7323 section 2.3).
    pub window_scale: Option<u8>,
    /// Whether the SACK-permitted option is present (RFC 2018 section 2).
    pub sack_permitted: bool,
    /// The SACK blocks (RFC 2018 section 3), first ones first, unused entries `None`.
    pub sack_ranges: [Option<(u32, u32)>; 4],
    /// The timestamps option (RFC 7323 section 3.2).
    pub timestamp: Option<TcpTimestamp>,
    /// The data.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parses a segment that arrived from `src` to `dst`.
    ///
    /// Errors: `BadChecksum` when the checksum over the pseudo-header does not verify
    /// (RFC 9293 section 3.1; RFC 1122 section 4.2.2.7: a TCP "MUST" check it on every
    /// segment), `BadOption` for a malformed option (see [`TcpOption::parse`]).
    ///
    /// Options are read until the End of Option List or the end of the area. NOPs and
    /// options of unknown kind are skipped (RFC 9293 section 3.1). An option that appears
    /// twice takes its last value.
    pub fn parse<T>(
        packet: &TcpPacket<&'a T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) -> Result<Self>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        Self::parse_fields(packet)
    }

    /// Parses a segment without verifying its checksum, for a caller that verifies it
    /// itself before acting on the segment, with the payload's sum taken in the same pass
    /// that copies the payload ([`TcpPacket::verify_checksum_with`]). Everything else is
    /// checked as by [`parse`](Self::parse).
    pub fn parse_unverified<T>(packet: &TcpPacket<&'a T>) -> Result<Self>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        Self::parse_fields(packet)
    }

    /// Parses a segment whose checksum its device vouches for instead of the wire: one a
    /// Linux TUN device handed over with the virtio-net `NEEDS_CSUM` flag, which never
    /// crossed a wire and whose checksum field holds only the pseudo-header sum (virtio
    /// 1.2 section 5.1.6.2; the kernel's own TCP accepts such `CHECKSUM_PARTIAL` packets
    /// unverified in the same way). Everything else is checked as by
    /// [`parse`](Self::parse).
    pub fn parse_offloaded<T>(packet: &TcpPacket<&'a T>) -> Result<Self>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        packet.check_len()?;
        Self::parse_fields(packet)
    }

    fn parse_fields<T>(packet: &TcpPacket<&'a T>) -> Result<Self>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        let buffer: &'a [u8] = packet.buffer.as_ref();
        let header_len = packet.header_len();
        let options = buffer.get(super::HEADER_LEN..header_len).unwrap_or(&[]);
        let payload = buffer.get(header_len..).unwrap_or(&[]);

        let mut repr = TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            flags: packet.flags(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_at(),
            payload,
            ..TcpRepr::default()
        };
        // The layout nearly every data segment carries, `NOP NOP TS` (RFC 7323 Appendix
        // A's recommended alignment, what Linux and this stack send): read the two values
        // straight away, as Linux's `tcp_parse_aligned_timestamp` does. The result is
        // what the general loop below gives for these 12 bytes.
        if let [kind::NOP, kind::NOP, kind::TIMESTAMPS, 10, ts @ ..] = options {
            if ts.len() == 8 {
                repr.timestamp = Some(TcpTimestamp {
                    tsval: read_u32(ts, 0),
                    tsecr: read_u32(ts, 4),
                });
                return Ok(repr);
            }
        }
        for option in TcpOptions::new(options) {
            match option? {
                TcpOption::EndOfList | TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(shift) => repr.window_scale = Some(shift),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(blocks) => repr.sack_ranges = blocks,
                TcpOption::Timestamps { tsval, tsecr } => {
                    repr.timestamp = Some(TcpTimestamp { tsval, tsecr })
                }
            }
        }
        Ok(repr)
    }

    /// The option bytes before the SACK blocks, in the layout of [`emit`](Self::emit).
    fn fixed_options_len(&self) -> usize {
        let mut n = 0;
        if self.max_seg_size.is_some() {
            n += 4;
        }
        if self.timestamp.is_some() {
            n += 12;
        } else if self.sack_permitted {
            n += 4;
        }
        if self.window_scale.is_some() {
            n += 4;
        }
        n
    }

    /// How many of the `Some` entries of `sack_ranges` [`emit`](Self::emit) writes: as
    /// many as fit in the 40-byte option area after the other options, each block taking
    /// 8 bytes and the option 4 more (`NOP NOP kind length`). That is all 4 with no other
    /// option, 3 with timestamps (as Linux sends them), fewer on a segment that also
    /// carries SYN options. Earlier blocks are kept: RFC 2018 section 4 says the first
    /// block reports the most recent data, and the later ones may be left out.
    pub fn sack_blocks_emitted(&self) -> usize {
        let room = MAX_OPTIONS_LEN - self.fixed_options_len();
        let fit = room.saturating_sub(4) / len::SACK_BLOCK;
        self.sack_ranges
            .iter()
            .flatten()
            .count()
            .min(fit)
            .min(MAX_SACK_BLOCKS)
    }

    /// The length of the options area `emit` writes (always a multiple of 4).
    fn options_len(&self) -> usize {
        let blocks = self.sack_blocks_emitted();
        let sack = if blocks > 0 {
            4 + len::SACK_BLOCK * blocks
        } else {
            0
        };
        self.fixed_options_len() + sack
    }

    /// The header length `emit` writes: 20 bytes plus the options, padded to a multiple
    /// of 4, at most 60 (RFC 9293 section 3.1).
    pub fn header_len(&self) -> usize {
        super::HEADER_LEN + self.options_len()
    }

    /// The length of the emitted segment: header and data.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// The sequence space the segment occupies: its data, plus one for SYN and one for
    /// FIN (RFC 9293 section 3.4, SEG.LEN).
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// Writes the segment from `src` to `dst` into `packet`, checksum included.
    ///
    /// The packet's buffer is the whole segment: make it exactly
    /// [`buffer_len`](Self::buffer_len) bytes long (the checksum covers all of it).
    ///
    /// Options are written in Linux's order and alignment (`tcp_options_write` in
    /// `net/ipv4/tcp_output.c`), so that every option of 4 or more bytes is 32-bit
    /// aligned and captures compare byte for byte with the kernel's:
    ///
    /// ```text
    /// MSS                  02 04 mss mss
    /// SACK-perm + TS       04 02 08 0a tsval tsecr      (SACK-permitted with timestamps)
    /// TS                   01 01 08 0a tsval tsecr      (timestamps alone)
    /// SACK-perm            01 01 04 02                  (SACK-permitted alone)
    /// WS                   01 03 03 shift
    /// SACK                 01 01 05 len blocks...
    /// ```
    ///
    /// SACK blocks are cut to what fits (see
    /// [`sack_blocks_emitted`](Self::sack_blocks_emitted)): 4 without timestamps, 3 with.
    /// The reserved bits are written as zero (RFC 9293 section 3.1).
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit<T>(
        &self,
        packet: &mut TcpPacket<&mut T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) where
        T: AsRef<[u8]> + AsMut<[u8]> + ?Sized,
    {
        self.emit_fields(packet, "TcpRepr::emit");
        packet.fill_checksum(src, dst);
    }

    /// Like [`emit`](Self::emit) for a segment whose payload is already in place after
    /// the header room (`self.payload` empty, the buffer exactly header and payload), with
    /// `payload_sum` the one's-complement sum of that payload ([`checksum::sum_at`] from
    /// offset 0 of the payload), computed by the caller from the bytes it copied in: the
    /// checksum then reads only the header, not the payload again. The same as
    /// [`emit_header`](Self::emit_header) and then
    /// [`TcpPacket::fill_checksum_with`], which a caller can split around its copy.
    ///
    /// [`checksum::sum_at`]: crate::wire::checksum::sum_at
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit_before_payload<T>(
        &self,
        packet: &mut TcpPacket<&mut T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
        payload_sum: u64,
    ) where
        T: AsRef<[u8]> + AsMut<[u8]> + ?Sized,
    {
        self.emit_header(packet);
        packet.fill_checksum_with(src, dst, payload_sum);
    }

    /// Writes the header (`self.payload` empty), its checksum field zero, for
    /// [`TcpPacket::fill_checksum_with`] to complete once the payload follows it. A
    /// sender writes the header before it copies the payload in: the header's bytes,
    /// read back for the checksum after the copy, were then stored before the copy's,
    /// and the reads need not wait for the whole copy's stores to land.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `header_len()`.
    pub fn emit_header<T>(&self, packet: &mut TcpPacket<&mut T>)
    where
        T: AsRef<[u8]> + AsMut<[u8]> + ?Sized,
    {
        self.emit_fields(packet, "TcpRepr::emit_header");
        packet.set_checksum(0);
    }

    /// Like [`emit`](Self::emit), but leaves the checksum for the device to complete:
    /// the field holds the pseudo-header sum over the whole segment, not complemented, as
    /// virtio-net's `NEEDS_CSUM` asks (virtio 1.2 section 5.1.6.2) and Linux's
    /// `tcp_v4_send_check` leaves for offloading hardware.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than `buffer_len()`.
    pub fn emit_offloaded<T>(
        &self,
        packet: &mut TcpPacket<&mut T>,
        src: impl Into<IpAddr>,
        dst: impl Into<IpAddr>,
    ) where
        T: AsRef<[u8]> + AsMut<[u8]> + ?Sized,
    {
        self.emit_fields(packet, "TcpRepr::emit_offloaded");
        let len = packet.buffer.as_ref().len();
        let acc = crate::wire::checksum::pseudo_header_ip(
            src.into(),
            dst.into(),
            super::PROTOCOL,
            len as u32,
        );
        let partial = crate::wire::checksum::fold(acc);
        packet.set_checksum(partial);
    }

    /// Writes everything but the checksum.
    fn emit_fields<T>(&self, packet: &mut TcpPacket<&mut T>, caller: &str)
    where
        T: AsRef<[u8]> + AsMut<[u8]> + ?Sized,
    {
        let header_len = self.header_len();
        let needed = header_len + self.payload.len();
        let buf_len = packet.buffer.as_ref().len();
        assert!(
            buf_len >= needed,
            "{caller}: buffer of {buf_len} bytes, {needed} needed",
        );
        // The fixed header as five 32-bit words, each one store: the checksum's 32-bit
        // reads of the header then each find their bytes in one pending store, where
        // reads spanning the field setters' 8- and 16-bit stores waited for them to
        // reach the cache.
        let buf = packet.buffer.as_mut();
        for (k, w) in self.header_words(header_len).iter().enumerate() {
            buf[4 * k..4 * k + 4].copy_from_slice(&w.to_be_bytes());
        }
        self.emit_options(&mut buf[super::HEADER_LEN..header_len]);
        buf[header_len..needed].copy_from_slice(self.payload);
    }

    /// The fixed header (RFC 9293 section 3.1) as its five 32-bit words, in host order:
    /// the ports; SEG.SEQ; SEG.ACK; the data offset (for `header_len` bytes), the
    /// reserved bits (zero: "must be zero in generated segments"), NS and the flags,
    /// then the window; the checksum (zero, for the caller to fill) and the urgent
    /// pointer.
    pub(crate) fn header_words(&self, header_len: usize) -> [u32; 5] {
        [
            u32::from(self.src_port) << 16 | u32::from(self.dst_port),
            self.seq_number,
            self.ack_number,
            ((header_len.min(super::MAX_HEADER_LEN) / 4) as u32) << 28
                | u32::from(self.flags.bits() & 0x1ff) << 16
                | u32::from(self.window_len),
            u32::from(self.urgent_pointer),
        ]
    }

    /// Writes the options area (exactly `options_len()` bytes) in Linux's layout.
    fn emit_options(&self, buf: &mut [u8]) {
        const NOP: u8 = kind::NOP;
        // What every data segment of a connection with timestamps carries: write it
        // whole (the general path below writes the same 12 bytes).
        if let (Some(ts), None, None, false, None) = (
            self.timestamp,
            self.max_seg_size,
            self.window_scale,
            self.sack_permitted,
            self.sack_ranges[0],
        ) {
            if let Ok(b) = <&mut [u8; 12]>::try_from(&mut *buf) {
                b[..4].copy_from_slice(&[NOP, NOP, kind::TIMESTAMPS, len::TIMESTAMPS as u8]);
                b[4..8].copy_from_slice(&ts.tsval.to_be_bytes());
                b[8..].copy_from_slice(&ts.tsecr.to_be_bytes());
                return;
            }
        }
        let mut at = 0;
        if let Some(mss) = self.max_seg_size {
            at += TcpOption::MaxSegmentSize(mss).emit(&mut buf[at..]);
        }
        if let Some(ts) = self.timestamp {
            // Linux packs SACK-permitted into the two bytes a NOP pair would take.
            let lead = if self.sack_permitted {
                [kind::SACK_PERMITTED, len::SACK_PERMITTED as u8]
            } else {
                [NOP, NOP]
            };
            buf[at..at + 2].copy_from_slice(&lead);
            at += 2;
            let option = TcpOption::Timestamps {
                tsval: ts.tsval,
                tsecr: ts.tsecr,
            };
            at += option.emit(&mut buf[at..]);
        } else if self.sack_permitted {
            buf[at..at + 2].copy_from_slice(&[NOP, NOP]);
            at += 2;
            at += TcpOption::SackPermitted.emit(&mut buf[at..]);
        }
        if let Some(shift) = self.window_scale {
            buf[at] = NOP;
            at += 1;
            at += TcpOption::WindowScale(shift).emit(&mut buf[at..]);
        }
        let blocks = self.sack_blocks_emitted();
        if blocks > 0 {
            buf[at..at + 2].copy_from_slice(&[NOP, NOP]);
            at += 2;
            let mut sack = [None; MAX_SACK_BLOCKS];
            for (slot, block) in sack
                .iter_mut()
                .zip(self.sack_ranges.iter().flatten())
                .take(blocks)
            {
                *slot = Some(*block);
            }
            at += TcpOption::SackRange(sack).emit(&mut buf[at..]);
        }
        debug_assert_eq!(at, buf.len(), "options area sized by options_len()");
        // Anything past the options (none, by construction) would be End of Option List.
        buf[at..].fill(kind::END);
    }
}
