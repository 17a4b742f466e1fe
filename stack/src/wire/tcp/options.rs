//! TCP options: the formats of RFC 9293 section 3.2 (End of Option List, No-Operation,
//! Maximum Segment Size), RFC 7323 (Window Scale, Timestamps) and RFC 2018
//! (SACK-Permitted, SACK).

use crate::wire::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// Option kinds (IANA "TCP Option Kind Numbers").
pub(crate) mod kind {
    /// End of Option List (RFC 9293 section 3.2).
    pub const END: u8 = 0;
    /// No-Operation (RFC 9293 section 3.2).
    pub const NOP: u8 = 1;
    /// Maximum Segment Size (RFC 9293 section 3.2).
    pub const MSS: u8 = 2;
    /// Window Scale (RFC 7323 section 2.2).
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK-Permitted (RFC 2018 section 2).
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK (RFC 2018 section 3).
    pub const SACK: u8 = 5;
    /// Timestamps (RFC 7323 section 3.2).
    pub const TIMESTAMPS: u8 = 8;
}

/// The length of each fixed-size option, kind and length bytes included.
pub(crate) mod len {
    pub const MSS: usize = 4;
    pub const WINDOW_SCALE: usize = 3;
    pub const SACK_PERMITTED: usize = 2;
    pub const TIMESTAMPS: usize = 10;
    /// A SACK option without blocks; each block adds [`SACK_BLOCK`].
    pub const SACK_BASE: usize = 2;
    pub const SACK_BLOCK: usize = 8;
}

/// The most SACK blocks one option can carry: the 40-byte option area holds
/// `2 + 8 * 4 = 34` bytes of SACK option (RFC 2018 section 3).
pub const MAX_SACK_BLOCKS: usize = 4;

/// One TCP option.
///
/// Parsing follows RFC 9293 section 3.1 ("Options"): kinds 0 and 1 are a single byte;
/// every other kind has a length byte that counts the kind and length bytes too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Kind 0: the end of the option list; what follows is padding (RFC 9293 section 3.2).
    EndOfList,
    /// Kind 1: padding between options (RFC 9293 section 3.2).
    NoOperation,
    /// Kind 2, length 4: the largest segment the sender can receive (RFC 9293 section
    /// 3.7.1).
    MaxSegmentSize(u16),
    /// Kind 3, length 3: the shift count of the sender's receive window (RFC 7323 section
    /// 2.2), raw: values over 14 are the TCP layer's to clamp (RFC 7323 section 2.3).
    WindowScale(u8),
    /// Kind 4, length 2: the sender can receive SACK blocks (RFC 2018 section 2).
    SackPermitted,
    /// Kind 5, length `2 + 8n` with `1 <= n <= 4`: blocks of received data, each the left
    /// edge and the right edge (one past the last byte) (RFC 2018 section 3). Blocks come
    /// first, unused entries are `None`.
    SackRange([Option<(u32, u32)>; 4]),
    /// Kind 8, length 10: TSval and TSecr (RFC 7323 section 3.2).
    Timestamps {
        /// The sender's timestamp clock.
        tsval: u32,
        /// The echoed timestamp (meaningful only with ACK set).
        tsecr: u32,
    },
    /// Any other kind, with the bytes after its length byte.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option's data (its length minus two bytes).
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Parses the option at the start of `buf` and returns the bytes after it with it.
    ///
    /// Errors:
    /// * `Truncated`: `buf` is empty;
    /// * `BadOption`: a length byte is missing, under 2, or runs past `buf` (RFC 9293
    ///   section 3.1, RFC 1122 section 4.2.2.5: a TCP "MUST be prepared to handle an
    ///   illegal option length (e.g., zero) without crashing"), or a known kind has a
    ///   length its RFC does not allow (MSS other than 4, window scale other than 3,
    ///   SACK-permitted other than 2, timestamps other than 10, SACK other than `2 + 8n`
    ///   for `1 <= n <= 4`).
    ///
    /// An unknown kind with a sound length comes back as [`TcpOption::Unknown`], so that a
    /// caller can skip it (RFC 9293 section 3.1: a TCP "MUST ignore without error any
    /// option it does not implement, assuming that the option has a length field").
    ///
    /// For [`TcpOption::EndOfList`] the rest is the padding after it; a caller stops
    /// there.
    pub fn parse(buf: &'a [u8]) -> Result<(&'a [u8], TcpOption<'a>)> {
        let (&k, after_kind) = buf.split_first().ok_or(Error::Truncated)?;
        match k {
            kind::END => return Ok((after_kind, TcpOption::EndOfList)),
            kind::NOP => return Ok((after_kind, TcpOption::NoOperation)),
            _ => {}
        }
        let length = usize::from(*after_kind.first().ok_or(Error::BadOption)?);
        if length < 2 || length > buf.len() {
            return Err(Error::BadOption);
        }
        let data = &buf[2..length];
        let rest = &buf[length..];
        let option = match k {
            kind::MSS if length == len::MSS => TcpOption::MaxSegmentSize(read_u16(data, 0)),
            kind::WINDOW_SCALE if length == len::WINDOW_SCALE => TcpOption::WindowScale(data[0]),
            kind::SACK_PERMITTED if length == len::SACK_PERMITTED => TcpOption::SackPermitted,
            kind::TIMESTAMPS if length == len::TIMESTAMPS => TcpOption::Timestamps {
                tsval: read_u32(data, 0),
                tsecr: read_u32(data, 4),
            },
            // 2 + 8n for 1 <= n <= 4 (RFC 2018 section 3).
            kind::SACK if matches!(length, 10 | 18 | 26 | 34) => {
                let mut blocks = [None; MAX_SACK_BLOCKS];
                for (slot, chunk) in blocks.iter_mut().zip(data.chunks_exact(len::SACK_BLOCK)) {
                    *slot = Some((read_u32(chunk, 0), read_u32(chunk, 4)));
                }
                TcpOption::SackRange(blocks)
            }
            kind::MSS
            | kind::WINDOW_SCALE
            | kind::SACK_PERMITTED
            | kind::TIMESTAMPS
            | kind::SACK => return Err(Error::BadOption),
            _ => TcpOption::Unknown { kind: k, data },
        };
        Ok((rest, option))
    }

    /// The number of bytes [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => len::MSS,
            TcpOption::WindowScale(_) => len::WINDOW_SCALE,
            TcpOption::SackPermitted => len::SACK_PERMITTED,
            TcpOption::SackRange(blocks) => {
                len::SACK_BASE + len::SACK_BLOCK * blocks.iter().flatten().count()
            }
            TcpOption::Timestamps { .. } => len::TIMESTAMPS,
            TcpOption::Unknown { data, .. } => 2 + data.len().min(usize::from(u8::MAX) - 2),
        }
    }

    /// Writes the option at the start of `buf` and returns its length.
    ///
    /// `SackRange` writes its `Some` blocks in order; `Unknown` writes at most 253 bytes
    /// of data (what a length byte can count).
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let length = self.buffer_len();
        let buf = &mut buf[..length];
        match *self {
            TcpOption::EndOfList => buf[0] = kind::END,
            TcpOption::NoOperation => buf[0] = kind::NOP,
            TcpOption::MaxSegmentSize(mss) => {
                buf[0] = kind::MSS;
                write_u16(buf, 2, mss);
            }
            TcpOption::WindowScale(shift) => {
                buf[0] = kind::WINDOW_SCALE;
                buf[2] = shift;
            }
            TcpOption::SackPermitted => buf[0] = kind::SACK_PERMITTED,
            TcpOption::SackRange(blocks) => {
                buf[0] = kind::SACK;
                let at = (len::SACK_BASE..).step_by(len::SACK_BLOCK);
                for ((left, right), at) in blocks.iter().flatten().zip(at) {
                    write_u32(buf, at, *left);
                    write_u32(buf, at + 4, *right);
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                buf[0] = kind::TIMESTAMPS;
                write_u32(buf, 2, tsval);
                write_u32(buf, 6, tsecr);
            }
            TcpOption::Unknown { kind, data } => {
                buf[0] = kind;
                buf[2..].copy_from_slice(&data[..length - 2]);
            }
        }
        if length >= 2 {
            buf[1] = length as u8;
        }
        length
    }
}

/// An iterator over an options area, yielding each option in turn (padding `NoOperation`s
/// included) until the area ends or an `EndOfList` (which it yields) stops it (RFC 9293
/// section 3.2: End of Option List "indicates the end of the option list").
///
/// On a malformed option it yields one `Err` and then ends: nothing after a bad length
/// can be located.
#[derive(Clone, Debug)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptions<'a> {
    /// Iterates over `options`, an options area (`TcpPacket::options`).
    pub fn new(options: &'a [u8]) -> TcpOptions<'a> {
        TcpOptions { rest: options }
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((rest, option)) => {
                self.rest = if option == TcpOption::EndOfList {
                    &[]
                } else {
                    rest
                };
                Some(Ok(option))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl core::iter::FusedIterator for TcpOptions<'_> {}
