//! The virtio-net header: the offload metadata a Linux TUN/TAP device opened with
//! `IFF_VNET_HDR` puts in front of every packet it hands over, and expects in front of
//! every packet written to it.
//!
//! The layout is `struct virtio_net_hdr` of the virtio specification (1.2, section 5.1.6
//! "Device Operation"; Linux `include/uapi/linux/virtio_net.h`), ten bytes:
//!
//! ```text
//!  0      1        2        4         6           8            10
//!  +------+--------+--------+---------+-----------+------------+
//!  |flags |gso_type|hdr_len |gso_size |csum_start |csum_offset |
//!  +------+--------+--------+---------+-----------+------------+
//! ```
//!
//! The 16-bit fields are in the device's byte order, which for TUN/TAP is little-endian
//! on a little-endian host (Linux `tun_is_little_endian`); this module reads and writes
//! them little-endian.
//!
//! Two offloads travel in it:
//!
//! * **Checksum** (`VIRTIO_NET_HDR_F_NEEDS_CSUM`): the transport checksum is not filled
//!   in. The field holds the pseudo-header sum, and "the checksum [is] calculated from
//!   `csum_start` to the end of the packet and stored at `csum_start + csum_offset`"
//!   (spec 5.1.6.2). From the kernel this is a promise: the packet never crossed a wire,
//!   so it is not corrupt. [`complete_checksum`] finishes such a checksum in software.
//! * **Segmentation** (`gso_type` other than `NONE`): the packet is a "super-segment"
//!   standing for several wire-sized segments of `gso_size` payload bytes each (spec
//!   5.1.6.2, "the driver can send ... TCP segmentation offload"). [`segment_tcp4`] and
//!   [`segment_tcp6`] split one in software, as the kernel's GSO would put it on a wire.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::{Error, Result};

/// Length of the header (without the `num_buffers` field of mergeable receive buffers,
/// which TUN/TAP does not use unless `TUNSETVNETHDRSZ` asks for 12).
pub const HEADER_LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum from `csum_start` on is to be completed.
pub const F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified (receive side only).
pub const F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_F_RSC_INFO`: coalescing information in the checksum fields.
pub const F_RSC_INFO: u8 = 4;

/// `VIRTIO_NET_HDR_GSO_ECN`: the segments carry ECN (CWR on the first); ORed into
/// `gso_type`.
pub const GSO_ECN: u8 = 0x80;

/// What kind of super-segment the packet is (`gso_type` without the ECN bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GsoType {
    /// `VIRTIO_NET_HDR_GSO_NONE` (0): an ordinary packet.
    #[default]
    None,
    /// `VIRTIO_NET_HDR_GSO_TCPV4` (1): TCP over IPv4 (TSO).
    TcpV4,
    /// `VIRTIO_NET_HDR_GSO_UDP` (3): UDP fragmentation offload (UFO).
    Udp,
    /// `VIRTIO_NET_HDR_GSO_TCPV6` (4): TCP over IPv6.
    TcpV6,
    /// `VIRTIO_NET_HDR_GSO_UDP_L4` (5): UDP segmentation (USO).
    UdpL4,
}

impl GsoType {
    /// The wire value.
    pub const fn value(self) -> u8 {
        match self {
            GsoType::None => 0,
            GsoType::TcpV4 => 1,
            GsoType::Udp => 3,
            GsoType::TcpV6 => 4,
            GsoType::UdpL4 => 5,
        }
    }

    /// The type for a wire value (ECN bit removed), or `None` for an unknown one.
    pub const fn from_value(v: u8) -> Option<GsoType> {
        Some(match v {
            0 => GsoType::None,
            1 => GsoType::TcpV4,
            3 => GsoType::Udp,
            4 => GsoType::TcpV6,
            5 => GsoType::UdpL4,
            _ => return None,
        })
    }
}

/// A parsed virtio-net header. See the [module documentation](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VirtioNetHdr {
    /// `F_NEEDS_CSUM`, `F_DATA_VALID`, `F_RSC_INFO`.
    pub flags: u8,
    /// The kind of super-segment.
    pub gso_type: GsoType,
    /// The ECN bit of `gso_type`.
    pub ecn: bool,
    /// Length of the headers (link, IP, transport) before the payload; a hint.
    pub hdr_len: u16,
    /// Payload bytes per segment of a super-segment (the MSS for TCP).
    pub gso_size: u16,
    /// Where the checksummed area starts (the transport header), from the start of the
    /// packet as the device carries it.
    pub csum_start: u16,
    /// Where the checksum field is, from `csum_start` (16 for TCP, 6 for UDP).
    pub csum_offset: u16,
}

impl VirtioNetHdr {
    /// The header of an ordinary packet with a complete checksum: all zero.
    pub const NONE: VirtioNetHdr = VirtioNetHdr {
        flags: 0,
        gso_type: GsoType::None,
        ecn: false,
        hdr_len: 0,
        gso_size: 0,
        csum_start: 0,
        csum_offset: 0,
    };

    /// Parses the first [`HEADER_LEN`] bytes of `buf`.
    ///
    /// Errors: `Truncated` when `buf` is shorter; `Unsupported` for a `gso_type` this
    /// module does not know; `Malformed` for flag bits the specification does not define.
    pub fn parse(buf: &[u8]) -> Result<VirtioNetHdr> {
        let b = buf.get(..HEADER_LEN).ok_or(Error::Truncated)?;
        let le = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let flags = b[0];
        if flags & !(F_NEEDS_CSUM | F_DATA_VALID | F_RSC_INFO) != 0 {
            return Err(Error::Malformed);
        }
        let gso_type = GsoType::from_value(b[1] & !GSO_ECN).ok_or(Error::Unsupported)?;
        Ok(VirtioNetHdr {
            flags,
            gso_type,
            ecn: b[1] & GSO_ECN != 0,
            hdr_len: le(2),
            gso_size: le(4),
            csum_start: le(6),
            csum_offset: le(8),
        })
    }

    /// The ten bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type.value() | if self.ecn { GSO_ECN } else { 0 };
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }

    /// Whether this is the header of an ordinary packet with a complete checksum.
    pub fn is_none(&self) -> bool {
        !self.needs_csum() && self.gso_type == GsoType::None
    }

    /// Whether the transport checksum is left for the receiver to complete.
    pub fn needs_csum(&self) -> bool {
        self.flags & F_NEEDS_CSUM != 0
    }

    /// Whether the packet is a super-segment.
    pub fn is_gso(&self) -> bool {
        self.gso_type != GsoType::None
    }

    /// The same header for the packet behind `link_hl` bytes of link header (an Ethernet
    /// header on a TAP device): `csum_start` and `hdr_len` count from the start of the
    /// frame the device carries (virtio 1.2 section 5.1.6.2: "csum_start ... from the
    /// start of the packet"), so both grow by `link_hl` where they mean something. The
    /// all-zero header stays all zero. Offsets that would not fit 16 bits saturate (such a
    /// header fails [`check_ipv4`](Self::check_ipv4) and is never sent).
    pub fn behind_link_header(&self, link_hl: usize) -> VirtioNetHdr {
        let grow = |v: u16| u16::try_from(usize::from(v) + link_hl).unwrap_or(u16::MAX);
        let mut h = *self;
        if h.needs_csum() {
            h.csum_start = grow(h.csum_start);
        }
        if h.is_gso() || h.hdr_len != 0 {
            h.hdr_len = grow(h.hdr_len);
        }
        h
    }

    /// The header for a TCP/IPv4 super-segment of `mss`-byte segments whose IP header is
    /// `ip_hl` bytes and TCP header `tcp_hl` bytes, `link_hl` bytes of link header in
    /// front: segmentation asked for, checksum left partial.
    pub fn tcp4_tso(link_hl: usize, ip_hl: usize, tcp_hl: usize, mss: u16) -> VirtioNetHdr {
        VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GsoType::TcpV4,
            ecn: false,
            hdr_len: (link_hl + ip_hl + tcp_hl) as u16,
            gso_size: mss,
            csum_start: (link_hl + ip_hl) as u16,
            csum_offset: 16,
        }
    }

    /// The header for a TCP/IPv6 super-segment (`gso_type` TCPV6): as [`tcp4_tso`](Self::tcp4_tso),
    /// with `ip_hl` the bytes of the IPv6 header and any extension headers before TCP.
    pub fn tcp6_tso(link_hl: usize, ip_hl: usize, tcp_hl: usize, mss: u16) -> VirtioNetHdr {
        VirtioNetHdr {
            gso_type: GsoType::TcpV6,
            ..Self::tcp4_tso(link_hl, ip_hl, tcp_hl, mss)
        }
    }

    /// Checks the header against the IPv4 `packet` it came with (`packet` starts at the
    /// IP header; `link_hl` bytes of link header preceded it on the device), as far as
    /// the stack relies on it:
    ///
    /// * with `NEEDS_CSUM`, `csum_start` must be the start of the transport header and
    ///   `csum_offset` the checksum field of that transport (16 for TCP, 6 for UDP), both
    ///   within the packet;
    /// * a TCP/IPv4 super-segment must be TCP, ask for the checksum to be completed, have
    ///   a non-zero `gso_size`, and a `hdr_len` within the packet.
    ///
    /// Other super-segment types are `Unsupported` (the stack never asks the kernel for
    /// them); a header that does not fit the packet is `Malformed`.
    pub fn check_ipv4(&self, link_hl: usize, packet: &[u8]) -> Result<()> {
        if self.is_none() {
            return Ok(());
        }
        let first = *packet.first().ok_or(Error::Truncated)?;
        if first >> 4 != 4 {
            return Err(Error::BadVersion);
        }
        let ip_hl = usize::from(first & 0x0f) * 4;
        let proto = *packet.get(9).ok_or(Error::Truncated)?;
        self.check_transport(false, proto, link_hl + ip_hl, link_hl + packet.len())
    }

    /// Checks the header against the IPv6 `packet` it came with, as
    /// [`check_ipv4`](Self::check_ipv4) does for IPv4: the transport is found past the
    /// extension headers ([`ipv6_transport`]); with `NEEDS_CSUM`, `csum_start` must be its
    /// start and `csum_offset` its checksum field (16 for TCP, 6 for UDP, 2 for ICMPv6),
    /// within the packet; a TCP/IPv6 super-segment (`TCPV6`) must be TCP, ask for the
    /// checksum to be completed, have a non-zero `gso_size` and a `hdr_len` within the
    /// packet. A `TCPV4` header on an IPv6 packet is `Malformed`; other super-segment
    /// types are `Unsupported`.
    pub fn check_ipv6(&self, link_hl: usize, packet: &[u8]) -> Result<()> {
        if self.is_none() {
            return Ok(());
        }
        let first = *packet.first().ok_or(Error::Truncated)?;
        if first >> 4 != 6 {
            return Err(Error::BadVersion);
        }
        let (proto, at) = ipv6_transport(packet)?;
        self.check_transport(true, proto, link_hl + at, link_hl + packet.len())
    }

    /// What [`check_ipv4`](Self::check_ipv4) and [`check_ipv6`](Self::check_ipv6) ask of
    /// the header once the transport is found: protocol `proto` starting `start` bytes
    /// into the frame of `total` bytes. ICMPv6's checksum (offset 2) may be partial on
    /// IPv6 only; a super-segment must be of the packet's own family.
    fn check_transport(&self, ipv6: bool, proto: u8, start: usize, total: usize) -> Result<()> {
        if self.needs_csum() {
            let field = match proto {
                6 => 16,
                17 => 6,
                58 if ipv6 => 2,
                _ => return Err(Error::Malformed),
            };
            if usize::from(self.csum_start) != start
                || usize::from(self.csum_offset) != field
                || start + field + 2 > total
            {
                return Err(Error::Malformed);
            }
        }
        let (own, other) = if ipv6 {
            (GsoType::TcpV6, GsoType::TcpV4)
        } else {
            (GsoType::TcpV4, GsoType::TcpV6)
        };
        match self.gso_type {
            GsoType::None => Ok(()),
            t if t == own => {
                if proto != 6
                    || !self.needs_csum()
                    || self.gso_size == 0
                    || usize::from(self.hdr_len) > total
                {
                    return Err(Error::Malformed);
                }
                Ok(())
            }
            t if t == other => Err(Error::Malformed),
            _ => Err(Error::Unsupported),
        }
    }
}

/// The upper-layer protocol of the IPv6 `packet` and where its header starts: the
/// extension headers the kernel's TCP or UDP may put in front (Hop-by-Hop Options,
/// Destination Options; RFC 8200 section 4.3 and 4.6, `(Hdr Ext Len + 1) * 8` bytes each)
/// are walked past. A Routing header (its final destination changes the pseudo-header,
/// RFC 8200 section 8.1) or a Fragment header (a fragment is no super-segment) is
/// `Unsupported`; a header that runs past the packet is `Truncated`.
pub fn ipv6_transport(packet: &[u8]) -> Result<(u8, usize)> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const DEST_OPTS: u8 = 60;
    if packet.len() < 40 {
        return Err(Error::Truncated);
    }
    let mut next = packet[6];
    let mut at = 40;
    loop {
        match next {
            HOP_BY_HOP | DEST_OPTS => {
                let h = packet.get(at..at + 2).ok_or(Error::Truncated)?;
                next = h[0];
                at += (usize::from(h[1]) + 1) * 8;
                if at > packet.len() {
                    return Err(Error::Truncated);
                }
            }
            ROUTING | FRAGMENT => return Err(Error::Unsupported),
            _ => return Ok((next, at)),
        }
    }
}

/// Completes a checksum left partial (`NEEDS_CSUM`): the field at `start + offset` holds
/// the pseudo-header sum; the one's-complement sum from `start` to the end of `packet`
/// (field included) is complemented into the field (spec 5.1.6.2). Errors with
/// `Malformed` when the field lies outside `packet`.
pub fn complete_checksum(packet: &mut [u8], start: usize, offset: usize) -> Result<()> {
    let at = start.checked_add(offset).ok_or(Error::Malformed)?;
    if at + 2 > packet.len() {
        return Err(Error::Malformed);
    }
    let check = !checksum::fold(checksum::sum(0, &packet[start..]));
    // RFC 768: a UDP checksum that computes to zero is sent as all ones; for TCP the two
    // are the same value in one's complement.
    let check = if check == 0 { 0xffff } else { check };
    packet[at..at + 2].copy_from_slice(&check.to_be_bytes());
    Ok(())
}

/// The partial checksum a TCP/IPv4 super-segment carries for `NEEDS_CSUM`: the folded
/// pseudo-header sum with the whole transport length, not complemented (what Linux's
/// `tcp_v4_send_check` leaves for offloading hardware).
pub fn partial_checksum(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, transport_len: usize) -> u16 {
    checksum::fold(checksum::pseudo_header(
        src,
        dst,
        protocol,
        transport_len as u32,
    ))
}

/// [`partial_checksum`] over the IPv6 pseudo-header (RFC 8200 section 8.1), what Linux's
/// `tcp_v6_send_check` leaves for a TCP/IPv6 super-segment.
pub fn partial_checksum6(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, transport_len: usize) -> u16 {
    checksum::fold(checksum::pseudo_header_v6(
        src,
        dst,
        protocol,
        transport_len as u32,
    ))
}

/// Splits the TCP/IPv4 super-segment `packet` (from its IP header on) into segments of
/// at most `mss` payload bytes, as the kernel's GSO would put them on a wire, handing
/// each to `out`: every segment gets its own IP header (total length, identification
/// counting up from the original's, header checksum), sequence number, and a complete
/// TCP checksum; FIN and PSH stay on the last segment only, CWR on the first only (Linux
/// `tcp_gso_segment`). A packet with no more than `mss` payload bytes comes out whole,
/// with its checksum completed. Returns the number of segments.
///
/// Errors: `Truncated`/`BadLength` when the IP or TCP header does not fit, `Malformed`
/// when it is not TCP or `mss` is zero. Nothing is handed to `out` then.
pub fn segment_tcp4(packet: &[u8], mss: usize, out: &mut dyn FnMut(&[u8])) -> Result<usize> {
    let first = *packet.first().ok_or(Error::Truncated)?;
    let ip_hl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ip_hl < 20 {
        return Err(Error::BadLength);
    }
    if packet.len() < ip_hl + 20 {
        return Err(Error::Truncated);
    }
    // Bytes past the IP total length (link padding) are not part of the datagram.
    let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    let packet = packet.get(..total).ok_or(Error::Truncated)?;
    if total < ip_hl + 20 {
        return Err(Error::BadLength);
    }
    if packet[9] != 6 || mss == 0 {
        return Err(Error::Malformed);
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    let ident0 = u16::from_be_bytes([packet[4], packet[5]]);
    segment_tcp(packet, ip_hl, mss, out, &mut |seg, i| {
        let total = seg.len() as u16;
        seg[2..4].copy_from_slice(&total.to_be_bytes());
        seg[4..6].copy_from_slice(&ident0.wrapping_add(i as u16).to_be_bytes());
        seg[10..12].copy_from_slice(&[0, 0]);
        let ip_check = checksum::checksum(&seg[..ip_hl]);
        seg[10..12].copy_from_slice(&ip_check.to_be_bytes());
        checksum::transport_checksum(src, dst, 6, &seg[ip_hl..])
    })
}

/// [`segment_tcp4`] for a TCP/IPv6 super-segment (`gso_type` TCPV6): every segment gets
/// the original's IPv6 header and extension headers ([`ipv6_transport`]) with its own
/// Payload Length, its sequence number, the same flag rules, and a complete TCP checksum
/// over the IPv6 pseudo-header (RFC 8200 section 8.1). IPv6 has no identification
/// outside the Fragment header, so there is nothing else to count (Linux
/// `tcp6_gso_segment`). Returns the number of segments.
///
/// Errors: `Truncated`/`BadLength` when a header does not fit, `Malformed` when it is
/// not TCP, is a jumbogram (Payload Length 0), or `mss` is zero; `Unsupported` for a
/// Routing or Fragment header. Nothing is handed to `out` then.
pub fn segment_tcp6(packet: &[u8], mss: usize, out: &mut dyn FnMut(&[u8])) -> Result<usize> {
    let first = *packet.first().ok_or(Error::Truncated)?;
    if first >> 4 != 6 {
        return Err(Error::BadVersion);
    }
    if packet.len() < 40 {
        return Err(Error::Truncated);
    }
    let plen = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    if plen == 0 || mss == 0 {
        return Err(Error::Malformed);
    }
    // Bytes past the Payload Length (link padding) are not part of the packet.
    let packet = packet.get(..40 + plen).ok_or(Error::Truncated)?;
    let (proto, ip_hl) = ipv6_transport(packet)?;
    if proto != 6 {
        return Err(Error::Malformed);
    }
    if packet.len() < ip_hl + 20 {
        return Err(Error::BadLength);
    }
    let addr = |at: usize| {
        let mut o = [0u8; 16];
        o.copy_from_slice(&packet[at..at + 16]);
        Ipv6Addr::from(o)
    };
    let (src, dst) = (addr(8), addr(24));
    segment_tcp(packet, ip_hl, mss, out, &mut |seg, _| {
        let plen = (seg.len() - 40) as u16;
        seg[4..6].copy_from_slice(&plen.to_be_bytes());
        checksum::transport_checksum_v6(src, dst, 6, &seg[ip_hl..])
    })
}

/// What [`segment_tcp4`] and [`segment_tcp6`] share: `packet` (trimmed to its IP length)
/// has `ip_hl` bytes of IP headers, then TCP; each piece gets the headers, its sequence
/// number and flags, then `fix` writes the IP fields of piece `i` and returns the TCP
/// checksum, computed with the checksum field zero.
fn segment_tcp(
    packet: &[u8],
    ip_hl: usize,
    mss: usize,
    out: &mut dyn FnMut(&[u8]),
    fix: &mut dyn FnMut(&mut [u8], usize) -> u16,
) -> Result<usize> {
    let tcp_hl = usize::from(packet[ip_hl + 12] >> 4) * 4;
    let hl = ip_hl + tcp_hl;
    if tcp_hl < 20 || packet.len() < hl {
        return Err(Error::BadLength);
    }
    let payload = &packet[hl..];
    let seq0 = u32::from_be_bytes([
        packet[ip_hl + 4],
        packet[ip_hl + 5],
        packet[ip_hl + 6],
        packet[ip_hl + 7],
    ]);
    let flags = packet[ip_hl + 13];
    const FIN: u8 = 0x01;
    const PSH: u8 = 0x08;
    const CWR: u8 = 0x80;
    let count = payload.len().div_ceil(mss).max(1);
    let mut seg = Vec::with_capacity(hl + mss.min(payload.len()));
    for i in 0..count {
        let chunk = payload
            .get(i * mss..((i + 1) * mss).min(payload.len()))
            .unwrap_or(&[]);
        seg.clear();
        seg.extend_from_slice(&packet[..hl]);
        seg.extend_from_slice(chunk);
        let seq = seq0.wrapping_add((i * mss) as u32);
        seg[ip_hl + 4..ip_hl + 8].copy_from_slice(&seq.to_be_bytes());
        let mut f = flags;
        if i + 1 < count {
            f &= !(FIN | PSH);
        }
        if i > 0 {
            f &= !CWR;
        }
        seg[ip_hl + 13] = f;
        seg[ip_hl + 16..ip_hl + 18].copy_from_slice(&[0, 0]);
        let tcp_check = fix(&mut seg, i);
        seg[ip_hl + 16..ip_hl + 18].copy_from_slice(&tcp_check.to_be_bytes());
        out(&seg);
    }
    Ok(count)
}

/// Whatever the header says, turns `packet` (from its IP header on) into wire packets
/// with complete checksums, handing each to `out`: a TCP super-segment is split
/// ([`segment_tcp4`], [`segment_tcp6`]), a packet with a partial checksum gets it completed, any other
/// packet passes as it is. `link_hl` bytes of link header precede `packet` on the
/// device (the header's offsets count them). Returns the number of packets.
///
/// Errors as [`VirtioNetHdr::check_ipv4`], [`VirtioNetHdr::check_ipv6`] and the
/// segmenters; nothing is handed to
/// `out` then.
pub fn to_wire(
    hdr: &VirtioNetHdr,
    link_hl: usize,
    packet: &[u8],
    out: &mut dyn FnMut(&[u8]),
) -> Result<usize> {
    if hdr.is_none() {
        out(packet);
        return Ok(1);
    }
    let start = usize::from(hdr.csum_start)
        .checked_sub(link_hl)
        .ok_or(Error::Malformed)?;
    if packet.first().is_some_and(|b| b >> 4 == 6) {
        hdr.check_ipv6(link_hl, packet)?;
        if hdr.gso_type == GsoType::TcpV6 {
            return segment_tcp6(packet, usize::from(hdr.gso_size), out);
        }
    } else {
        hdr.check_ipv4(link_hl, packet)?;
        if hdr.gso_type == GsoType::TcpV4 {
            return segment_tcp4(packet, usize::from(hdr.gso_size), out);
        }
    }
    let mut copy = packet.to_vec();
    complete_checksum(&mut copy, start, usize::from(hdr.csum_offset))?;
    out(&copy);
    Ok(1)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;
