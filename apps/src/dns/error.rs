//! What can be wrong with a DNS message or a name: each error says what and where.

use core::fmt;

/// Why a message, a name or a record could not be read (or written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The data ended inside `what`, which needed bytes up to `need` (offset in the message).
    Truncated {
        /// The field or structure being read.
        what: &'static str,
        /// The offset the read needed to reach.
        need: usize,
    },
    /// A label longer than 63 octets (RFC 1035 section 2.3.4).
    LabelTooLong(usize),
    /// An empty label inside a name (only the root label is empty).
    EmptyLabel,
    /// A name longer than 255 octets in wire form (RFC 1035 section 2.3.4, RFC 9267 section 2).
    NameTooLong,
    /// A label type other than a plain label (00) or a pointer (11): 01 and 10 are
    /// reserved or obsolete (RFC 6891 section 5).
    BadLabelType {
        /// Offset of the length byte.
        at: usize,
        /// The length byte.
        byte: u8,
    },
    /// A compression pointer that does not point strictly backwards, to before the name (or
    /// the part of it) that uses it, or that points into the header (RFC 9267 section 3).
    BadPointer {
        /// Offset of the pointer.
        at: usize,
        /// Where it points.
        target: usize,
    },
    /// RDATA that does not match its RDLENGTH or its type's layout (RFC 9267 section 6).
    BadRdata {
        /// The record type.
        rtype: u16,
        /// What is wrong.
        why: &'static str,
    },
    /// Bytes left over after all the records the header counts (RFC 9267 section 5).
    TrailingData(usize),
    /// More than one OPT record, or OPT outside the additional section, or with a non-root
    /// owner (RFC 6891 section 6.1.1).
    BadOpt(&'static str),
    /// A message too long to write (over 65535 bytes) or a section with over 65535 entries.
    TooLong,
    /// Text (a name, a type, a master-file field) that could not be read.
    BadText(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { what, need } => {
                write!(f, "message truncated in {what} (needs {need} bytes)")
            }
            Error::LabelTooLong(n) => write!(f, "label of {n} octets (the limit is 63)"),
            Error::EmptyLabel => write!(f, "empty label inside a name"),
            Error::NameTooLong => write!(f, "name longer than 255 octets"),
            Error::BadLabelType { at, byte } => {
                write!(f, "reserved label type {byte:#04x} at offset {at}")
            }
            Error::BadPointer { at, target } => write!(
                f,
                "compression pointer at offset {at} to {target} does not point backwards \
                 before its name"
            ),
            Error::BadRdata { rtype, why } => write!(f, "bad RDATA of type {rtype}: {why}"),
            Error::TrailingData(n) => write!(f, "{n} bytes after the last record"),
            Error::BadOpt(why) => write!(f, "bad OPT record: {why}"),
            Error::TooLong => write!(f, "message too long"),
            Error::BadText(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Error {}
