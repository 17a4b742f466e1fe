//! Domain names: reading them from a message (with every check of RFC 9267), writing them
//! with compression (RFC 1035 section 4.1.4), and their text form (RFC 1035 section 5.1).

use core::fmt;
use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::Error;

/// The longest label, in octets (RFC 1035 section 2.3.4).
pub const MAX_LABEL: usize = 63;
/// The longest name in wire form, length octets and root label included (RFC 1035
/// section 2.3.4).
pub const MAX_NAME: usize = 255;
/// The DNS header's length: a compression pointer into it cannot be the start of a name.
const HEADER_LEN: usize = 12;

/// An absolute domain name, held uncompressed in wire form: length-prefixed labels ending
/// in the empty root label. Letter case is kept as given; `==` compares exactly, and
/// [`Name::eq_ignore_case`] compares as DNS does (RFC 4343 section 3).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    wire: Vec<u8>,
}

impl Name {
    /// The root name `.`.
    pub fn root() -> Name {
        Name { wire: vec![0] }
    }

    /// A name from its labels, most specific first (`["www", "example", "com"]`).
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a [u8]>) -> Result<Name, Error> {
        let mut wire = Vec::new();
        for l in labels {
            push_label(&mut wire, l)?;
        }
        wire.push(0);
        check_len(&wire)?;
        Ok(Name { wire })
    }

    /// Reads an absolute name in text form: `www.example.com` or `www.example.com.`, `.` for
    /// the root; `\X` stands for the character X and `\DDD` for the octet DDD (RFC 1035
    /// section 5.1).
    pub fn parse(text: &str) -> Result<Name, Error> {
        Name::parse_relative(text, &Name::root())
    }

    /// Reads a name in master-file form: with a trailing dot it is absolute, `@` is
    /// `origin`, and any other name is relative to `origin` (RFC 1035 section 5.1).
    pub fn parse_relative(text: &str, origin: &Name) -> Result<Name, Error> {
        if text == "@" {
            return Ok(origin.clone());
        }
        if text == "." {
            return Ok(Name::root());
        }
        if text.is_empty() {
            return Err(Error::BadText("empty name".into()));
        }
        let bytes = text.as_bytes();
        let mut wire = Vec::with_capacity(text.len() + 2);
        let mut label = Vec::new();
        let mut absolute = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => {
                    let (b, used) = unescape(&bytes[i + 1..])
                        .ok_or_else(|| Error::BadText(format!("bad escape in name {text:?}")))?;
                    label.push(b);
                    i += 1 + used;
                }
                b'.' => {
                    push_label(&mut wire, &label)?;
                    label.clear();
                    if i + 1 == bytes.len() {
                        absolute = true;
                    }
                    i += 1;
                }
                b => {
                    label.push(b);
                    i += 1;
                }
            }
        }
        if !absolute {
            push_label(&mut wire, &label)?;
            wire.extend_from_slice(&origin.wire);
        } else {
            wire.push(0);
        }
        check_len(&wire)?;
        Ok(Name { wire })
    }

    /// The reverse-mapping name of an IPv4 address: `d.c.b.a.in-addr.arpa.` (RFC 1035
    /// section 3.5).
    pub fn reverse_v4(addr: Ipv4Addr) -> Name {
        let [a, b, c, d] = addr.octets();
        let text = format!("{d}.{c}.{b}.{a}.in-addr.arpa.");
        // Four short decimal labels and two fixed ones always make a valid name.
        Name::parse(&text).unwrap_or_else(|_| Name::root())
    }

    /// The name in uncompressed wire form.
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// Its length in uncompressed wire form.
    pub fn wire_len(&self) -> usize {
        self.wire.len()
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.wire.len() == 1
    }

    /// The labels, most specific first, without the root label.
    pub fn labels(&self) -> Labels<'_> {
        Labels {
            wire: &self.wire,
            pos: 0,
        }
    }

    /// How many labels, not counting the root.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// The name with its first label removed, or `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        let first = *self.wire.first()? as usize;
        if first == 0 {
            return None;
        }
        Some(Name {
            wire: self.wire[1 + first..].to_vec(),
        })
    }

    /// `label.self`.
    pub fn prepend(&self, label: &[u8]) -> Result<Name, Error> {
        let mut wire = Vec::with_capacity(self.wire.len() + label.len() + 1);
        push_label(&mut wire, label)?;
        wire.extend_from_slice(&self.wire);
        check_len(&wire)?;
        Ok(Name { wire })
    }

    /// The name with ASCII letters in lower case: the key for case-insensitive lookups.
    pub fn to_lowercase(&self) -> Name {
        Name {
            wire: self.wire.to_ascii_lowercase(),
        }
    }

    /// Equality as DNS compares names: ASCII letters without regard to case (RFC 4343
    /// section 3). Length octets are below `A`, so a byte-wise comparison is exact.
    pub fn eq_ignore_case(&self, other: &Name) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }

    /// Whether this name is `zone` or below it (case-insensitive).
    pub fn is_subdomain_of(&self, zone: &Name) -> bool {
        let (n, z) = (self.wire.len(), zone.wire.len());
        if z > n {
            return false;
        }
        // The tail must start on a label boundary.
        let mut pos = 0;
        while n - pos > z {
            pos += 1 + self.wire[pos] as usize;
        }
        n - pos == z && self.wire[pos..].eq_ignore_ascii_case(&zone.wire)
    }

    /// Reads the name at `start` in `msg` and returns it with the offset just after it (after
    /// its first compression pointer, if it has one).
    ///
    /// RFC 9267: every label is 63 octets or fewer (section 2) and the name 255 or fewer;
    /// a pointer must point strictly backwards, to before the start of the name or the part
    /// of it being read, and not into the header (section 3), which also rules out loops;
    /// the name must end in the root label inside the data (section 4). Labels of type 01 and
    /// 10 are refused (RFC 6891 section 5).
    pub fn read(msg: &[u8], start: usize) -> Result<(Name, usize), Error> {
        let mut wire = Vec::with_capacity(32);
        let mut pos = start;
        let mut limit = start;
        let mut after = None;
        loop {
            let len = *msg.get(pos).ok_or(Error::Truncated {
                what: "name",
                need: pos + 1,
            })?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    wire.push(0);
                    return Ok((Name { wire }, after.unwrap_or(pos + 1)));
                }
                0x00 => {
                    let l = len as usize;
                    let label = msg.get(pos + 1..pos + 1 + l).ok_or(Error::Truncated {
                        what: "label",
                        need: pos + 1 + l,
                    })?;
                    if wire.len() + 1 + l + 1 > MAX_NAME {
                        return Err(Error::NameTooLong);
                    }
                    wire.push(len);
                    wire.extend_from_slice(label);
                    pos += 1 + l;
                }
                0xC0 => {
                    let low = *msg.get(pos + 1).ok_or(Error::Truncated {
                        what: "compression pointer",
                        need: pos + 2,
                    })?;
                    let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                    if target >= limit || target < HEADER_LEN {
                        return Err(Error::BadPointer { at: pos, target });
                    }
                    after.get_or_insert(pos + 2);
                    limit = target;
                    pos = target;
                }
                _ => return Err(Error::BadLabelType { at: pos, byte: len }),
            }
        }
    }

    /// Appends the name to `out` uncompressed.
    pub fn write_plain(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.wire);
    }

    /// Appends the name to the message being built in `out` (which starts at offset 0),
    /// pointing at an earlier copy of its longest known suffix (RFC 1035 section 4.1.4) and
    /// remembering its own suffixes for later names. Suffixes match exactly, letter case
    /// included, so compression never changes a name.
    pub fn write_compressed(&self, out: &mut Vec<u8>, comp: &mut Compressor) {
        let mut i = 0;
        while self.wire[i] != 0 {
            let suffix = &self.wire[i..];
            if let Some(&off) = comp.seen.get(suffix) {
                out.extend_from_slice(&(0xC000 | off).to_be_bytes());
                return;
            }
            let here = out.len();
            if here < 0x4000 {
                comp.seen.insert(suffix.to_vec(), here as u16);
            }
            let l = self.wire[i] as usize;
            out.extend_from_slice(&self.wire[i..i + 1 + l]);
            i += 1 + l;
        }
        out.push(0);
    }
}

/// The suffixes written so far in a message and their offsets, for name compression.
#[derive(Default, Debug)]
pub struct Compressor {
    seen: HashMap<Vec<u8>, u16>,
}

impl Compressor {
    /// Forgets every suffix at or after `len`: the message was cut back to `len` bytes.
    pub fn rollback(&mut self, len: usize) {
        self.seen.retain(|_, off| usize::from(*off) < len);
    }
}

/// The labels of a [`Name`].
pub struct Labels<'a> {
    wire: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let l = *self.wire.get(self.pos)? as usize;
        if l == 0 {
            return None;
        }
        let label = self.wire.get(self.pos + 1..self.pos + 1 + l)?;
        self.pos += 1 + l;
        Some(label)
    }
}

fn push_label(wire: &mut Vec<u8>, label: &[u8]) -> Result<(), Error> {
    if label.is_empty() {
        return Err(Error::EmptyLabel);
    }
    if label.len() > MAX_LABEL {
        return Err(Error::LabelTooLong(label.len()));
    }
    wire.push(label.len() as u8);
    wire.extend_from_slice(label);
    Ok(())
}

fn check_len(wire: &[u8]) -> Result<(), Error> {
    if wire.len() > MAX_NAME {
        Err(Error::NameTooLong)
    } else {
        Ok(())
    }
}

/// Reads one escape after a backslash: `\DDD` (a decimal octet) or `\X` (X itself);
/// returns the byte and how many bytes of `rest` it used.
pub(crate) fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        let b = u8::try_from(v).ok()?;
        Some((b, 3))
    } else {
        Some((first, 1))
    }
}

/// Writes one byte of a label or a character-string in master-file form: special
/// characters escaped with a backslash, unprintable ones as `\DDD` (RFC 1035 section 5.1).
pub(crate) fn escape_byte(f: &mut impl fmt::Write, b: u8, specials: &[u8]) -> fmt::Result {
    if specials.contains(&b) || b == b'\\' {
        write!(f, "\\{}", b as char)
    } else if (0x21..=0x7E).contains(&b) {
        f.write_char(b as char)
    } else {
        write!(f, "\\{b:03}")
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for label in self.labels() {
            for &b in label {
                escape_byte(f, b, b".;()@$\"")?;
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests;
