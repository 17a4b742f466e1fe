//! Packet captures in the classic libpcap format, which Wireshark, tshark and tcpdump read.
//!
//! The format (pcap-savefile(5); draft-ietf-opsawg-pcap): a 24-byte global header
//! (magic `0xa1b2c3d4` for microsecond timestamps, version 2.4, time zone 0, sigfigs 0,
//! snapshot length, link type), then per packet a 16-byte record header (seconds,
//! microseconds, captured length, original length) and the captured bytes. This writer
//! uses little-endian byte order, as a little-endian host's libpcap does; readers detect
//! the order from the magic number.
//!
//! [`Pcap`] wraps any [`Device`] and records both directions.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Device, Medium};
use crate::time::{Duration, Instant};
use crate::wire::virtio::{self, VirtioNetHdr};

/// The snapshot length written into the global header; longer frames are cut to it.
pub const SNAPLEN: u32 = 262_144;

/// Magic number of a microsecond-resolution pcap file.
pub const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// Magic number of a nanosecond-resolution pcap file.
pub const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// The link-layer header type of a capture (tcpdump.org "LINK-LAYER HEADER TYPES").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum LinkType {
    /// `LINKTYPE_ETHERNET`: Ethernet II frames (a TAP device).
    Ethernet = 1,
    /// `LINKTYPE_RAW`: bare IPv4/IPv6 packets (a TUN device).
    Raw = 101,
}

impl LinkType {
    /// The link type that matches a device's frames.
    pub fn for_medium(medium: Medium) -> LinkType {
        match medium {
            Medium::Ip => LinkType::Raw,
            Medium::Ethernet => LinkType::Ethernet,
        }
    }

    /// The link type with this number, if known here.
    pub fn from_u32(v: u32) -> Option<LinkType> {
        match v {
            1 => Some(LinkType::Ethernet),
            101 => Some(LinkType::Raw),
            _ => None,
        }
    }
}

/// Writes a pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    link_type: LinkType,
}

impl<W: Write> PcapWriter<W> {
    /// Starts a capture on `w`, writing the global header.
    pub fn new(mut w: W, link_type: LinkType) -> io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_MICROS.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes()); // version major
        h[6..8].copy_from_slice(&4u16.to_le_bytes()); // version minor
                                                      // thiszone (8..12) and sigfigs (12..16) stay zero.
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&(link_type as u32).to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter { w, link_type })
    }

    /// The capture's link type.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Records `frame` as captured at wall-clock time `ts` (before 1970: recorded as 0).
    pub fn write_packet(&mut self, ts: SystemTime, frame: &[u8]) -> io::Result<()> {
        let since = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = u32::try_from(since.as_secs()).unwrap_or(u32::MAX);
        self.write_packet_at(secs, since.subsec_micros(), frame)
    }

    /// Records `frame` with the timestamp `secs` seconds and `micros` microseconds since
    /// the Unix epoch. Frames longer than [`SNAPLEN`] are cut, keeping the original length.
    pub fn write_packet_at(&mut self, secs: u32, micros: u32, frame: &[u8]) -> io::Result<()> {
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let incl_len = orig_len.min(SNAPLEN);
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&micros.min(999_999).to_le_bytes());
        h[8..12].copy_from_slice(&incl_len.to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(&frame[..incl_len as usize])
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.w
    }

    /// Unwraps the underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// A device whose frames, both sent and received, are recorded into a pcap stream.
///
/// The stack's [`Instant`]s are turned into wall-clock timestamps by an offset fixed at
/// creation ([`Pcap::new`]: "now" on both clocks) or chosen ([`Pcap::with_epoch`], e.g. to
/// stamp a virtual-time simulation reproducibly). Capture errors are logged and counted,
/// never passed on: a full disk must not take the link down. The writer is flushed at most
/// every 100 ms of stack time, so a live capture can be followed; a `BufWriter` flushes
/// the rest when the capture is dropped.
#[derive(Debug)]
pub struct Pcap<D: Device, W: Write = BufWriter<File>> {
    inner: D,
    writer: PcapWriter<W>,
    /// Stack time `epoch_instant` is wall-clock time `epoch_wall`.
    epoch_instant: Instant,
    epoch_wall: SystemTime,
    last_flush: Instant,
    errors: u64,
}

const FLUSH_EVERY: Duration = Duration::from_millis(100);

impl<D: Device> Pcap<D, BufWriter<File>> {
    /// Captures `inner` into a new file at `path`, with the link type of its medium.
    pub fn create(inner: D, path: impl AsRef<Path>) -> io::Result<Self> {
        let link_type = LinkType::for_medium(inner.medium());
        let writer = PcapWriter::new(BufWriter::new(File::create(path)?), link_type)?;
        Ok(Pcap::new(inner, writer))
    }
}

impl<D: Device, W: Write> Pcap<D, W> {
    /// Captures `inner` into `writer`, mapping [`Instant::now`] to [`SystemTime::now`].
    pub fn new(inner: D, writer: PcapWriter<W>) -> Self {
        Self::with_epoch(inner, writer, Instant::now(), SystemTime::now())
    }

    /// Captures `inner` into `writer`, stamping stack time `instant` as wall time `wall`.
    pub fn with_epoch(inner: D, writer: PcapWriter<W>, instant: Instant, wall: SystemTime) -> Self {
        Pcap {
            inner,
            writer,
            epoch_instant: instant,
            epoch_wall: wall,
            last_flush: instant,
            errors: 0,
        }
    }

    /// The wall-clock time this capture stamps on a frame seen at stack time `now` (never
    /// before the Unix epoch).
    pub fn wall_time(&self, now: Instant) -> SystemTime {
        if now >= self.epoch_instant {
            let d: std::time::Duration = (now - self.epoch_instant).into();
            self.epoch_wall.checked_add(d).unwrap_or(self.epoch_wall)
        } else {
            let d: std::time::Duration = (self.epoch_instant - now).into();
            self.epoch_wall
                .checked_sub(d)
                .map_or(UNIX_EPOCH, |t| t.max(UNIX_EPOCH))
        }
    }

    /// How many frames could not be recorded.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Flushes the capture.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// The capture writer (e.g. to look at an in-memory capture).
    pub fn writer(&self) -> &PcapWriter<W> {
        &self.writer
    }

    /// Flushes and unwraps into the device and the writer.
    pub fn into_parts(mut self) -> (D, PcapWriter<W>) {
        self.record_flush();
        (self.inner, self.writer)
    }

    fn record(&mut self, now: Instant, frame: &[u8]) {
        let ts = self.wall_time(now);
        if let Err(e) = self.writer.write_packet(ts, frame) {
            self.errors += 1;
            if self.errors == 1 {
                log::error!(target: "tunstack::link", "pcap capture failing: {e}");
            }
        }
        if now.saturating_duration_since(self.last_flush) >= FLUSH_EVERY {
            self.last_flush = now;
            self.record_flush();
        }
    }

    /// Records a frame that travels with an offload header as `tcpdump` on the host shows
    /// it: a super-segment as one large packet, its checksum completed (so Wireshark does
    /// not flag it) in the copy recorded.
    fn record_offload(&mut self, now: Instant, frame: &[u8], hdr: &VirtioNetHdr) {
        if !hdr.needs_csum() {
            self.record(now, frame);
            return;
        }
        let mut copy = frame.to_vec();
        let _ = virtio::complete_checksum(
            &mut copy,
            usize::from(hdr.csum_start),
            usize::from(hdr.csum_offset),
        );
        self.record(now, &copy);
    }

    fn record_flush(&mut self) {
        if let Err(e) = self.writer.flush() {
            self.errors += 1;
            log::error!(target: "tunstack::link", "pcap flush failed: {e}");
        }
    }
}

impl<D: Device, W: Write> Device for Pcap<D, W> {
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        let got = self.inner.recv(buf, now)?;
        if let Some(n) = got {
            self.record(now, &buf[..n]);
        }
        Ok(got)
    }

    fn send(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        self.record(now, frame);
        self.inner.send(frame, now)
    }

    fn recv_offload(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, VirtioNetHdr)>> {
        let got = self.inner.recv_offload(buf, now)?;
        if let Some((n, hdr)) = got {
            self.record_offload(now, &buf[..n], &hdr);
        }
        Ok(got)
    }

    fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr, now: Instant) -> io::Result<()> {
        self.record_offload(now, frame, hdr);
        self.inner.send_offload(frame, hdr, now)
    }

    fn offload(&self) -> bool {
        self.inner.offload()
    }

    fn medium(&self) -> Medium {
        self.inner.medium()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.raw_fd()
    }
}

/// One record read back from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcapRecord {
    /// Seconds since the Unix epoch.
    pub secs: u32,
    /// Microseconds (nanoseconds in a nanosecond-resolution file) within the second.
    pub frac: u32,
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
}

/// A minimal pcap reader (both byte orders, micro- and nanosecond files), for tests and
/// tools. Never panics on malformed input: it returns `InvalidData` errors.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    r: R,
    swapped: bool,
    nanos: bool,
    snaplen: u32,
    link_type: u32,
}

/// Largest record accepted regardless of the header's snaplen (libpcap's own maximum).
const MAX_RECORD: u32 = 262_144;

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    pub fn new(mut r: R) -> io::Result<Self> {
        let mut h = [0u8; 24];
        r.read_exact(&mut h)?;
        let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let (swapped, nanos) = match magic {
            MAGIC_MICROS => (false, false),
            MAGIC_NANOS => (false, true),
            m if m.swap_bytes() == MAGIC_MICROS => (true, false),
            m if m.swap_bytes() == MAGIC_NANOS => (true, true),
            _ => return Err(invalid("not a pcap file (bad magic)")),
        };
        let mut reader = PcapReader {
            r,
            swapped,
            nanos,
            snaplen: 0,
            link_type: 0,
        };
        reader.snaplen = reader.u32_at(&h, 16);
        reader.link_type = reader.u32_at(&h, 20) & 0x0fff_ffff;
        Ok(reader)
    }

    fn u32_at(&self, b: &[u8], at: usize) -> u32 {
        let v = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        if self.swapped {
            v.swap_bytes()
        } else {
            v
        }
    }

    /// The link type number from the header (see [`LinkType::from_u32`]).
    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// The snapshot length from the header.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Whether timestamps' fractions are nanoseconds rather than microseconds.
    pub fn is_nanosecond(&self) -> bool {
        self.nanos
    }

    /// The next record, `Ok(None)` at a clean end of file.
    pub fn next_record(&mut self) -> io::Result<Option<PcapRecord>> {
        let mut h = [0u8; 16];
        let mut filled = 0;
        while filled < h.len() {
            match self.r.read(&mut h[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(invalid("truncated record header")),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let incl_len = self.u32_at(&h, 8);
        if incl_len > MAX_RECORD.max(self.snaplen) {
            return Err(invalid("record longer than any snapshot length"));
        }
        let mut data = vec![0u8; incl_len as usize];
        self.r
            .read_exact(&mut data)
            .map_err(|_| invalid("truncated record"))?;
        Ok(Some(PcapRecord {
            secs: self.u32_at(&h, 0),
            frac: self.u32_at(&h, 4),
            orig_len: self.u32_at(&h, 12),
            data,
        }))
    }

    /// Every remaining record.
    pub fn records(mut self) -> io::Result<Vec<PcapRecord>> {
        let mut v = Vec::new();
        while let Some(r) = self.next_record()? {
            v.push(r);
        }
        Ok(v)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

#[cfg(test)]
mod tests;
