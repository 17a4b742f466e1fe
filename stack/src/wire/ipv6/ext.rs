//! IPv6 extension headers (RFC 8200 section 4): Hop-by-Hop Options, Routing, Fragment
//! and Destination Options, the options inside the two options headers, and the walk
//! along the chain that a receiving node does.
//!
//! ```text
//! Hop-by-Hop / Destination Options (RFC 8200 4.3, 4.6)   Routing (RFC 8200 4.4)
//! +---------------+---------------+----------------+     +-------------+-------------+-------------+--------------+
//! |  Next Header  | Hdr Ext Len   |  Options ...   |     | Next Header | Hdr Ext Len | RoutingType | Segments Left|
//! +---------------+---------------+----------------+     |             type-specific data ...                   |
//!
//! Fragment (RFC 8200 4.5)
//! +---------------+---------------+-------------------------+-+-+
//! |  Next Header  |   Reserved    |     Fragment Offset     |Res|M|
//! |                         Identification                       |
//! ```
//!
//! Hdr Ext Len counts 8-octet units after the first 8 octets, so every header except the
//! Fragment header (always 8 octets) is `(len + 1) * 8` octets long.

use super::next_header as nh;
use super::{HEADER_LEN, NEXT_HEADER_OFFSET, PAYLOAD_LEN_OFFSET};
use crate::wire::{read_u16, read_u32, write_u16, write_u32, Error, Result};

/// The most extension headers the walk accepts before giving up on a packet.
///
/// RFC 8200 section 4.1 asks nodes to accept headers "in any order and occurring any
/// number of times"; a bound is still needed (every input is hostile), and RFC 8504
/// section 5.3 lets hosts limit extension header processing. A packet in the
/// recommended order has at most six (Hop-by-Hop, Destination Options, Routing,
/// Fragment, Authentication, Destination Options), so eight leaves room.
pub const MAX_EXT_HEADERS: usize = 8;

/// The most non-padding options one options header may carry (RFC 8504 section 5.3
/// item 3: "the default value SHOULD be set to 8"; more are silently discarded).
pub const MAX_OPTIONS: usize = 8;

/// The longest run of padding octets accepted in an options header (RFC 8504 section
/// 5.3 item 1: more than 7 consecutive Pad1 options may be discarded, since PadN should
/// be used for 8 octets or more; Linux applies the same bound to any padding run).
pub const MAX_PADDING_RUN: usize = 7;

/// Option types (IANA "Destination Options and Hop-by-Hop Options").
pub mod option_type {
    /// Pad1: a single octet of padding (RFC 8200 section 4.2).
    pub const PAD1: u8 = 0;
    /// PadN: two or more octets of padding (RFC 8200 section 4.2).
    pub const PADN: u8 = 1;
    /// Router Alert (RFC 2711 section 2.1), a Hop-by-Hop option.
    pub const ROUTER_ALERT: u8 = 5;
}

/// What a node does with an option it does not recognise: the two high-order bits of
/// the option type (RFC 8200 section 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnknownOptionAction {
    /// 00: skip over this option and continue processing the header.
    Skip,
    /// 01: discard the packet.
    Discard,
    /// 10: discard the packet and, whatever the destination, send an ICMPv6 Parameter
    /// Problem, Code 2, pointing at the option type.
    DiscardAndReport,
    /// 11: discard the packet and, only if the destination was not multicast, send the
    /// Parameter Problem, Code 2.
    DiscardAndReportUnicast,
}

impl UnknownOptionAction {
    /// The action an option type asks for.
    pub fn of(opt_type: u8) -> Self {
        match opt_type >> 6 {
            0 => UnknownOptionAction::Skip,
            1 => UnknownOptionAction::Discard,
            2 => UnknownOptionAction::DiscardAndReport,
            _ => UnknownOptionAction::DiscardAndReportUnicast,
        }
    }
}

/// Whether the option's data may change on the way (the third-highest bit of the type,
/// RFC 8200 section 4.2); such data counts as zero for an Authentication header.
pub fn option_may_change(opt_type: u8) -> bool {
    opt_type & 0x20 != 0
}

/// One option of a Hop-by-Hop or Destination Options header (RFC 8200 section 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ipv6Option<'a> {
    /// Pad1: one octet, no length or data.
    Pad1,
    /// PadN with this many octets of (zero) data: 2 + n octets in all.
    PadN(u8),
    /// Router Alert with its 16-bit value (RFC 2711 section 2.1; 0 is MLD).
    RouterAlert(u16),
    /// Any other option, kept as is.
    Unknown {
        /// The option type.
        opt_type: u8,
        /// The option data.
        data: &'a [u8],
    },
}

impl Ipv6Option<'_> {
    /// The emitted length in octets.
    pub fn buffer_len(&self) -> usize {
        match self {
            Ipv6Option::Pad1 => 1,
            Ipv6Option::PadN(n) => 2 + usize::from(*n),
            Ipv6Option::RouterAlert(_) => 4,
            Ipv6Option::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option into the start of `buf`; returns its length.
    /// [`Error::BufferTooSmall`] if it does not fit, [`Error::BadOption`] for data longer
    /// than 255 octets.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::BufferTooSmall);
        }
        match *self {
            Ipv6Option::Pad1 => buf[0] = option_type::PAD1,
            Ipv6Option::PadN(n) => {
                buf[0] = option_type::PADN;
                buf[1] = n;
                buf[2..len].fill(0);
            }
            Ipv6Option::RouterAlert(v) => {
                buf[0] = option_type::ROUTER_ALERT;
                buf[1] = 2;
                write_u16(buf, 2, v);
            }
            Ipv6Option::Unknown { opt_type, data } => {
                let Ok(n) = u8::try_from(data.len()) else {
                    return Err(Error::BadOption);
                };
                buf[0] = opt_type;
                buf[1] = n;
                buf[2..len].copy_from_slice(data);
            }
        }
        Ok(len)
    }
}

/// The options of one header, in order, each with its offset in the options area.
///
/// Yields `Err(Error::BadOption)` once (and then stops) when an option runs past the end
/// (RFC 8200 section 4.2: the TLVs must fit the header).
#[derive(Clone, Debug)]
pub struct OptionsIter<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> OptionsIter<'a> {
    /// Walks the options area `data` (a header's octets after Next Header and Hdr Ext Len).
    pub fn new(data: &'a [u8]) -> Self {
        OptionsIter { data, pos: 0 }
    }
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = Result<(usize, Ipv6Option<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.pos;
        let opt_type = *self.data.get(at)?;
        if opt_type == option_type::PAD1 {
            self.pos += 1;
            return Some(Ok((at, Ipv6Option::Pad1)));
        }
        let Some(&len) = self.data.get(at + 1) else {
            self.pos = self.data.len();
            return Some(Err(Error::BadOption));
        };
        let end = at + 2 + usize::from(len);
        if end > self.data.len() {
            self.pos = self.data.len();
            return Some(Err(Error::BadOption));
        }
        self.pos = end;
        let data = &self.data[at + 2..end];
        let opt = match opt_type {
            option_type::PADN => Ipv6Option::PadN(len),
            option_type::ROUTER_ALERT if len == 2 => Ipv6Option::RouterAlert(read_u16(data, 0)),
            _ => Ipv6Option::Unknown { opt_type, data },
        };
        Some(Ok((at, opt)))
    }
}

/// The length of an options area holding `opts`, padded so that the header (2 octets
/// plus the area) is a multiple of 8 octets (RFC 8200 section 4.2 "Pad1", "PadN").
pub fn options_len(opts: &[Ipv6Option<'_>]) -> usize {
    let raw: usize = opts.iter().map(Ipv6Option::buffer_len).sum();
    (2 + raw).next_multiple_of(8) - 2
}

/// Writes `opts` then padding (Pad1 for one octet, PadN for more) into the start of
/// `buf`, [`options_len`] octets in all; returns that length.
pub fn emit_options(opts: &[Ipv6Option<'_>], buf: &mut [u8]) -> Result<usize> {
    let total = options_len(opts);
    if buf.len() < total {
        return Err(Error::BufferTooSmall);
    }
    let mut at = 0;
    for o in opts {
        at += o.emit(&mut buf[at..])?;
    }
    match total - at {
        0 => {}
        1 => at += Ipv6Option::Pad1.emit(&mut buf[at..])?,
        n => at += Ipv6Option::PadN((n - 2) as u8).emit(&mut buf[at..])?,
    }
    debug_assert_eq!(at, total);
    Ok(total)
}

/// The kinds of extension header this module knows (RFC 8200 section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtHeader {
    /// Hop-by-Hop Options (next header 0).
    HopByHop,
    /// Routing (43).
    Routing,
    /// Fragment (44).
    Fragment,
    /// Destination Options (60).
    DstOpts,
}

impl ExtHeader {
    /// The kind a Next Header value names, if it is one of the four.
    pub fn from_next_header(v: u8) -> Option<Self> {
        match v {
            nh::HOP_BY_HOP => Some(ExtHeader::HopByHop),
            nh::ROUTING => Some(ExtHeader::Routing),
            nh::FRAGMENT => Some(ExtHeader::Fragment),
            nh::DST_OPTS => Some(ExtHeader::DstOpts),
            _ => None,
        }
    }

    /// The Next Header value that names this kind.
    pub fn next_header(self) -> u8 {
        match self {
            ExtHeader::HopByHop => nh::HOP_BY_HOP,
            ExtHeader::Routing => nh::ROUTING,
            ExtHeader::Fragment => nh::FRAGMENT,
            ExtHeader::DstOpts => nh::DST_OPTS,
        }
    }
}

/// The Fragment header's fields (RFC 8200 section 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragmentRepr {
    /// The offset of the data, in BYTES (the field counts 8-octet units), so always a
    /// multiple of 8.
    pub offset: u16,
    /// The M flag: more fragments follow.
    pub more_frags: bool,
    /// The identification shared by the fragments of one packet.
    pub ident: u32,
}

impl FragmentRepr {
    /// An atomic fragment: offset 0 and M clear, a whole packet that happens to carry
    /// a Fragment header (RFC 6946 section 2).
    pub fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more_frags
    }
}

/// One parsed extension header, borrowing its variable part from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtHeaderRepr<'a> {
    /// Hop-by-Hop Options: the options area (walk it with [`OptionsIter`]).
    HopByHop {
        /// The options and padding.
        options: &'a [u8],
    },
    /// Destination Options: the options area.
    DstOpts {
        /// The options and padding.
        options: &'a [u8],
    },
    /// Routing (RFC 8200 section 4.4).
    Routing {
        /// The routing type (0 is deprecated, RFC 5095).
        routing_type: u8,
        /// Route segments still to be visited.
        segments_left: u8,
        /// The type-specific data after the first four octets.
        data: &'a [u8],
    },
    /// Fragment (RFC 8200 section 4.5).
    Fragment(FragmentRepr),
}

impl<'a> ExtHeaderRepr<'a> {
    /// Parses one header of kind `kind` at the start of `buf`. Returns it, its Next
    /// Header field and its length. [`Error::Truncated`] if `buf` is shorter than the
    /// header says. Reserved fields are ignored (RFC 8200 section 4.5: "ignored on
    /// reception"). The options are not checked here: [`ExtChain::parse`] does that.
    pub fn parse(kind: ExtHeader, buf: &'a [u8]) -> Result<(Self, u8, usize)> {
        if buf.len() < 8 {
            return Err(Error::Truncated);
        }
        let next = buf[0];
        let len = match kind {
            ExtHeader::Fragment => 8,
            _ => (usize::from(buf[1]) + 1) * 8,
        };
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let repr = match kind {
            ExtHeader::HopByHop => ExtHeaderRepr::HopByHop {
                options: &buf[2..len],
            },
            ExtHeader::DstOpts => ExtHeaderRepr::DstOpts {
                options: &buf[2..len],
            },
            ExtHeader::Routing => ExtHeaderRepr::Routing {
                routing_type: buf[2],
                segments_left: buf[3],
                data: &buf[4..len],
            },
            ExtHeader::Fragment => {
                let w = read_u16(buf, 2);
                ExtHeaderRepr::Fragment(FragmentRepr {
                    offset: w & 0xfff8,
                    more_frags: w & 1 != 0,
                    ident: read_u32(buf, 4),
                })
            }
        };
        Ok((repr, next, len))
    }

    /// The kind of header.
    pub fn kind(&self) -> ExtHeader {
        match self {
            ExtHeaderRepr::HopByHop { .. } => ExtHeader::HopByHop,
            ExtHeaderRepr::DstOpts { .. } => ExtHeader::DstOpts,
            ExtHeaderRepr::Routing { .. } => ExtHeader::Routing,
            ExtHeaderRepr::Fragment(_) => ExtHeader::Fragment,
        }
    }

    /// The emitted length in octets.
    pub fn buffer_len(&self) -> usize {
        match self {
            ExtHeaderRepr::HopByHop { options } | ExtHeaderRepr::DstOpts { options } => {
                2 + options.len()
            }
            ExtHeaderRepr::Routing { data, .. } => 4 + data.len(),
            ExtHeaderRepr::Fragment(_) => 8,
        }
    }

    /// Writes the header with Next Header `next` into the start of `buf`; returns its
    /// length. [`Error::BadLength`] unless the length is a multiple of 8 octets and at
    /// most 2048 (Hdr Ext Len is one octet of 8-octet units, RFC 8200 sections 4.3-4.6);
    /// [`Error::BufferTooSmall`] if it does not fit.
    pub fn emit(&self, next: u8, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if !len.is_multiple_of(8) || len > 2048 {
            return Err(Error::BadLength);
        }
        if buf.len() < len {
            return Err(Error::BufferTooSmall);
        }
        buf[0] = next;
        buf[1] = (len / 8 - 1) as u8;
        match *self {
            ExtHeaderRepr::HopByHop { options } | ExtHeaderRepr::DstOpts { options } => {
                buf[2..len].copy_from_slice(options);
            }
            ExtHeaderRepr::Routing {
                routing_type,
                segments_left,
                data,
            } => {
                buf[2] = routing_type;
                buf[3] = segments_left;
                buf[4..len].copy_from_slice(data);
            }
            ExtHeaderRepr::Fragment(f) => {
                debug_assert!(f.offset.is_multiple_of(8), "fragment offset {}", f.offset);
                buf[1] = 0;
                write_u16(buf, 2, (f.offset & 0xfff8) | u16::from(f.more_frags));
                write_u32(buf, 4, f.ident);
            }
        }
        Ok(len)
    }
}

/// Why a packet's extension header chain was refused, with what the receiver does about
/// it (see [`ExtError::param_problem`]). Pointers are octet offsets from the start of the
/// IPv6 header, as an ICMPv6 Parameter Problem reports them (RFC 4443 section 3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtError {
    /// A header runs past the payload. Discarded silently.
    Truncated,
    /// More than [`MAX_EXT_HEADERS`] headers. Discarded silently.
    TooManyHeaders,
    /// A Hop-by-Hop header (next header 0) anywhere but right after the IPv6 header (RFC
    /// 8200 section 4: "The same action should be taken if a node encounters a Next Header
    /// value of zero in any header other than an IPv6 header"): Parameter Problem code 1
    /// at the Next Header field holding the zero.
    HopByHopNotFirst {
        /// The offset of that Next Header field.
        pointer: u32,
    },
    /// An option runs past its header, PadN carries non-zero data (RFC 4942 section
    /// 2.1.9.5), a padding run is longer than [`MAX_PADDING_RUN`] or there are more than
    /// [`MAX_OPTIONS`] options (RFC 8504 section 5.3). Discarded silently.
    BadOption {
        /// The offset of the offending option's type.
        pointer: u32,
    },
    /// An unrecognised option whose action (RFC 8200 section 4.2) is to discard; if
    /// `report` the receiver sends Parameter Problem code 2 pointing at its type (the
    /// action "10", or "11" with a unicast destination).
    UnknownOption {
        /// The offset of the option type.
        pointer: u32,
        /// Whether an ICMPv6 error goes back.
        report: bool,
    },
    /// A Routing header of a type this node does not handle, with Segments Left non-zero
    /// (RFC 8200 section 4.4; type 0 is such a type, RFC 5095 section 3): Parameter
    /// Problem code 0 at the Routing Type field.
    UnknownRoutingType {
        /// The offset of the Routing Type field.
        pointer: u32,
    },
    /// A fragment with M set whose length is not a multiple of 8 octets (RFC 8200 section
    /// 4.5): Parameter Problem code 0 at the Payload Length field.
    FragmentLenNotMultipleOf8,
    /// A fragment whose offset and length take the reassembled payload past 65,535
    /// octets (RFC 8200 section 4.5): Parameter Problem code 0 at the Fragment Offset.
    FragmentTooLong {
        /// The offset of the Fragment Offset field.
        pointer: u32,
    },
    /// A first fragment that does not hold the whole header chain up to and including
    /// the upper-layer header (RFC 8200 section 4.5, RFC 7112 section 5): Parameter
    /// Problem code 3, pointer zero.
    IncompleteFirstFragment,
}

/// ICMPv6 Parameter Problem codes (RFC 4443 section 3.4, RFC 7112 section 7).
pub mod param_problem_code {
    /// 0, erroneous header field encountered.
    pub const ERRONEOUS_FIELD: u8 = 0;
    /// 1, unrecognized Next Header type encountered.
    pub const UNRECOGNIZED_NEXT_HEADER: u8 = 1;
    /// 2, unrecognized IPv6 option encountered.
    pub const UNRECOGNIZED_OPTION: u8 = 2;
    /// 3, IPv6 first fragment has incomplete IPv6 header chain.
    pub const INCOMPLETE_CHAIN: u8 = 3;
}

impl ExtError {
    /// The ICMPv6 Parameter Problem (code, pointer) the receiver sends, or `None` when the
    /// packet is dropped silently.
    pub fn param_problem(&self) -> Option<(u8, u32)> {
        use param_problem_code::*;
        match *self {
            ExtError::Truncated | ExtError::TooManyHeaders | ExtError::BadOption { .. } => None,
            ExtError::HopByHopNotFirst { pointer } => Some((UNRECOGNIZED_NEXT_HEADER, pointer)),
            ExtError::UnknownOption { pointer, report } => {
                report.then_some((UNRECOGNIZED_OPTION, pointer))
            }
            ExtError::UnknownRoutingType { pointer } => Some((ERRONEOUS_FIELD, pointer)),
            ExtError::FragmentLenNotMultipleOf8 => Some((ERRONEOUS_FIELD, PAYLOAD_LEN_OFFSET)),
            ExtError::FragmentTooLong { pointer } => Some((ERRONEOUS_FIELD, pointer)),
            ExtError::IncompleteFirstFragment => Some((INCOMPLETE_CHAIN, 0)),
        }
    }
}

/// The walk along a received packet's extension headers, up to the upper-layer header or
/// to a Fragment header that starts the fragmentable part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtChain<'a> {
    headers: [Option<ExtHeaderRepr<'a>>; MAX_EXT_HEADERS],
    count: usize,
    /// The Next Header value after the walked headers: the upper-layer protocol, or for
    /// a (non-atomic) fragment the Next Header of its Fragment header.
    pub upper_layer: u8,
    /// Where in the IPv6 payload the upper-layer header (or the fragment data) starts.
    pub upper_offset: usize,
    /// The offset, from the start of the IPv6 header, of the Next Header field holding
    /// `upper_layer`: the pointer of a Parameter Problem code 1 when it is not
    /// recognised (RFC 8200 section 4).
    pub upper_pointer: u32,
    /// The Fragment header that ended the walk, if this packet is a fragment (offset or
    /// M non-zero). Its unfragmentable part is payload octets `..upper_offset - 8`.
    pub fragment: Option<FragmentRepr>,
    /// For a fragment, the offset from the start of the IPv6 header of the Next Header
    /// field that names the Fragment header: reassembly writes the fragment's Next Header
    /// there (RFC 8200 section 4.5). Zero otherwise.
    pub fragment_named_at: u32,
    /// The Router Alert value, if a Hop-by-Hop header carried one (RFC 2711).
    pub router_alert: Option<u16>,
}

impl<'a> ExtChain<'a> {
    /// Walks the headers of `packet` (a checked view) as its destination does.
    ///
    /// * Hop-by-Hop must come first (RFC 8200 section 4.1, 4.3);
    /// * each options header's options are walked (RFC 8200 section 4.2): padding and
    ///   Router Alert recognised, anything else handled by its action bits;
    /// * a Routing header with Segments Left 0 is ignored, any type with Segments Left
    ///   above zero is refused, since this node implements no routing type (RFC 8200
    ///   section 4.4, RFC 5095 section 3 for type 0);
    /// * an atomic fragment's header is skipped and the walk goes on (RFC 6946 section
    ///   4); any other Fragment header ends the walk after the checks of RFC 8200 section
    ///   4.5 (length a multiple of 8 with M set, at most 65,535 octets reassembled; a
    ///   first fragment holds the whole chain, RFC 7112);
    /// * anything else (an upper-layer protocol, No Next Header, AH, ESP, an unknown
    ///   value) ends the walk: the caller decides, with `upper_pointer` for its Parameter
    ///   Problem.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &super::Ipv6Packet<&'a T>,
    ) -> core::result::Result<Self, ExtError> {
        let multicast = super::addr::is_multicast(&packet.dst_addr());
        let first = packet.next_header();
        let payload: &'a [u8] = super::Ipv6Packet::new_unchecked(packet.buffer).into_payload();
        let mut chain = ExtChain {
            headers: [None; MAX_EXT_HEADERS],
            count: 0,
            upper_layer: first,
            upper_offset: 0,
            upper_pointer: NEXT_HEADER_OFFSET,
            fragment: None,
            fragment_named_at: 0,
            router_alert: None,
        };
        let mut next = first;
        let mut at = 0usize;
        while let Some(kind) = ExtHeader::from_next_header(next) {
            let here = (HEADER_LEN + at) as u32;
            if kind == ExtHeader::HopByHop && at != 0 {
                return Err(ExtError::HopByHopNotFirst {
                    pointer: chain.upper_pointer,
                });
            }
            if chain.count == MAX_EXT_HEADERS {
                return Err(ExtError::TooManyHeaders);
            }
            let (repr, following, len) =
                ExtHeaderRepr::parse(kind, &payload[at..]).map_err(|_| ExtError::Truncated)?;
            chain.headers[chain.count] = Some(repr);
            chain.count += 1;
            match repr {
                ExtHeaderRepr::HopByHop { options } => {
                    chain.router_alert = check_options(options, here + 2, multicast)?;
                }
                ExtHeaderRepr::DstOpts { options } => {
                    check_options(options, here + 2, multicast)?;
                }
                ExtHeaderRepr::Routing { segments_left, .. } => {
                    if segments_left != 0 {
                        return Err(ExtError::UnknownRoutingType { pointer: here + 2 });
                    }
                }
                ExtHeaderRepr::Fragment(f) if !f.is_atomic() => {
                    let data_len = payload.len() - (at + len);
                    if f.more_frags && !data_len.is_multiple_of(8) {
                        return Err(ExtError::FragmentLenNotMultipleOf8);
                    }
                    if at + usize::from(f.offset) + data_len > 65_535 {
                        return Err(ExtError::FragmentTooLong { pointer: here + 2 });
                    }
                    if f.offset == 0 && !chain_complete(following, &payload[at + len..]) {
                        return Err(ExtError::IncompleteFirstFragment);
                    }
                    chain.fragment = Some(f);
                    chain.fragment_named_at = chain.upper_pointer;
                    chain.upper_layer = following;
                    chain.upper_offset = at + len;
                    chain.upper_pointer = here;
                    return Ok(chain);
                }
                ExtHeaderRepr::Fragment(_) => {}
            }
            chain.upper_pointer = here;
            at += len;
            next = following;
        }
        chain.upper_layer = next;
        chain.upper_offset = at;
        Ok(chain)
    }

    /// The headers walked, in order (an atomic fragment's header among them).
    pub fn headers(&self) -> impl Iterator<Item = &ExtHeaderRepr<'a>> {
        self.headers[..self.count].iter().flatten()
    }

    /// How many headers were walked.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the packet had no extension header before its upper layer.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Walks one options area (RFC 8200 section 4.2) starting at packet offset `base`.
/// Returns the Router Alert value if there is one.
fn check_options(
    options: &[u8],
    base: u32,
    multicast: bool,
) -> core::result::Result<Option<u16>, ExtError> {
    let mut padding = 0usize;
    let mut count = 0usize;
    let mut alert = None;
    for item in OptionsIter::new(options) {
        let pointer_at = |at: usize| base + at as u32;
        let (at, opt) = item.map_err(|_| ExtError::BadOption {
            pointer: pointer_at(options.len()),
        })?;
        let pointer = pointer_at(at);
        match opt {
            Ipv6Option::Pad1 | Ipv6Option::PadN(_) => {
                let len = opt.buffer_len();
                padding += len;
                let data_zero = len < 2 || options[at + 2..at + len].iter().all(|&b| b == 0);
                if padding > MAX_PADDING_RUN || !data_zero {
                    return Err(ExtError::BadOption { pointer });
                }
                continue;
            }
            Ipv6Option::RouterAlert(v) => alert = Some(v),
            Ipv6Option::Unknown { opt_type, .. } => match UnknownOptionAction::of(opt_type) {
                UnknownOptionAction::Skip => {}
                UnknownOptionAction::Discard => {
                    return Err(ExtError::UnknownOption {
                        pointer,
                        report: false,
                    })
                }
                UnknownOptionAction::DiscardAndReport => {
                    return Err(ExtError::UnknownOption {
                        pointer,
                        report: true,
                    })
                }
                UnknownOptionAction::DiscardAndReportUnicast => {
                    return Err(ExtError::UnknownOption {
                        pointer,
                        report: !multicast,
                    })
                }
            },
        }
        padding = 0;
        count += 1;
        if count > MAX_OPTIONS {
            return Err(ExtError::BadOption { pointer });
        }
    }
    Ok(alert)
}

/// Whether `data` (a first fragment's octets after its Fragment header) holds the rest
/// of the header chain and the upper-layer header (RFC 7112 section 5). The upper-layer
/// header lengths are TCP's 20 octets, UDP's 8, ICMPv6's 4 (type, code, checksum); for
/// other protocols only the extension headers are checked.
fn chain_complete(mut next: u8, data: &[u8]) -> bool {
    let mut at = 0usize;
    for _ in 0..MAX_EXT_HEADERS {
        let rest = &data[at.min(data.len())..];
        let need = match next {
            nh::HOP_BY_HOP | nh::ROUTING | nh::DST_OPTS => {
                let Some(&l) = rest.get(1) else { return false };
                (usize::from(l) + 1) * 8
            }
            nh::FRAGMENT => 8,
            nh::AUTH => {
                // RFC 4302 section 2.2: Payload Len counts 32-bit words, minus 2.
                let Some(&l) = rest.get(1) else { return false };
                (usize::from(l) + 2) * 4
            }
            nh::TCP => return rest.len() >= 20,
            nh::UDP => return rest.len() >= 8,
            nh::ICMPV6 => return rest.len() >= 4,
            _ => return true,
        };
        if rest.len() < need {
            return false;
        }
        next = rest[0];
        at += need;
    }
    false
}

#[cfg(test)]
mod tests;
