//! Resource records: types, classes and the RDATA of the types tunstack knows (RFC 1035
//! section 3.3 and 3.4, RFC 3596 AAAA, RFC 2782 SRV); every other type is carried as
//! opaque bytes (RFC 3597).

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::{escape_byte, Compressor};
use super::{Error, Name};

/// A record type (RFC 1035 section 3.2.2), known or not.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RType(pub u16);

impl RType {
    /// IPv4 address.
    pub const A: RType = RType(1);
    /// Authoritative name server.
    pub const NS: RType = RType(2);
    /// Canonical name (an alias).
    pub const CNAME: RType = RType(5);
    /// Start of a zone of authority.
    pub const SOA: RType = RType(6);
    /// Domain name pointer (reverse mapping).
    pub const PTR: RType = RType(12);
    /// Mail exchange.
    pub const MX: RType = RType(15);
    /// Text strings.
    pub const TXT: RType = RType(16);
    /// IPv6 address (RFC 3596).
    pub const AAAA: RType = RType(28);
    /// Service location (RFC 2782).
    pub const SRV: RType = RType(33);
    /// EDNS0 pseudo-record (RFC 6891).
    pub const OPT: RType = RType(41);
    /// Incremental zone transfer (RFC 1995), a query type only.
    pub const IXFR: RType = RType(251);
    /// Zone transfer (RFC 5936), a query type only.
    pub const AXFR: RType = RType(252);
    /// Every record at a name (RFC 1035 section 3.2.3), a query type only.
    pub const ANY: RType = RType(255);

    const NAMES: &'static [(RType, &'static str)] = &[
        (RType::A, "A"),
        (RType::NS, "NS"),
        (RType::CNAME, "CNAME"),
        (RType::SOA, "SOA"),
        (RType::PTR, "PTR"),
        (RType::MX, "MX"),
        (RType::TXT, "TXT"),
        (RType::AAAA, "AAAA"),
        (RType::SRV, "SRV"),
        (RType::OPT, "OPT"),
        (RType::IXFR, "IXFR"),
        (RType::AXFR, "AXFR"),
        (RType::ANY, "ANY"),
    ];

    /// Reads a type mnemonic (`A`, `mx`, ...) or the generic `TYPE123` (RFC 3597 section 5).
    pub fn from_text(s: &str) -> Option<RType> {
        if let Some((t, _)) = Self::NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(s)) {
            return Some(*t);
        }
        let digits = s.get(..4).filter(|p| p.eq_ignore_ascii_case("TYPE"))?;
        s[digits.len()..].parse().ok().map(RType)
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::NAMES.iter().find(|(t, _)| t == self) {
            Some((_, n)) => f.write_str(n),
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

impl fmt::Debug for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A record class (RFC 1035 section 3.2.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Class(pub u16);

impl Class {
    /// The Internet.
    pub const IN: Class = Class(1);
    /// Chaos.
    pub const CH: Class = Class(3);
    /// Hesiod.
    pub const HS: Class = Class(4);
    /// Any class, a query class only.
    pub const ANY: Class = Class(255);

    const NAMES: &'static [(Class, &'static str)] = &[
        (Class::IN, "IN"),
        (Class::CH, "CH"),
        (Class::HS, "HS"),
        (Class::ANY, "ANY"),
    ];

    /// Reads a class mnemonic or the generic `CLASS123` (RFC 3597 section 5).
    pub fn from_text(s: &str) -> Option<Class> {
        if let Some((c, _)) = Self::NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(s)) {
            return Some(*c);
        }
        let prefix = s.get(..5).filter(|p| p.eq_ignore_ascii_case("CLASS"))?;
        s[prefix.len()..].parse().ok().map(Class)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::NAMES.iter().find(|(c, _)| c == self) {
            Some((_, n)) => f.write_str(n),
            None => write!(f, "CLASS{}", self.0),
        }
    }
}

impl fmt::Debug for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The RDATA of an SOA record (RFC 1035 section 3.3.13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    /// The primary name server.
    pub mname: Name,
    /// The mailbox of the person responsible, as a name.
    pub rname: Name,
    /// The zone's version.
    pub serial: u32,
    /// Seconds between secondaries' refreshes.
    pub refresh: u32,
    /// Seconds before a failed refresh is retried.
    pub retry: u32,
    /// Seconds after which a secondary stops answering.
    pub expire: u32,
    /// The TTL of negative answers (RFC 2308 section 4).
    pub minimum: u32,
}

/// Record data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A name server.
    Ns(Name),
    /// The canonical name of an alias.
    Cname(Name),
    /// The name an address maps back to.
    Ptr(Name),
    /// A zone's start of authority.
    Soa(Soa),
    /// A mail exchange and its preference (lower first).
    Mx {
        /// Preference: lower is tried first.
        preference: u16,
        /// The host.
        exchange: Name,
    },
    /// One or more character-strings of up to 255 octets each.
    Txt(Vec<Vec<u8>>),
    /// A service's host and port (RFC 2782).
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Share among equal priorities.
        weight: u16,
        /// The service's port.
        port: u16,
        /// The host.
        target: Name,
    },
    /// Any other type, its RDATA uninterpreted (RFC 3597).
    Unknown {
        /// The type.
        rtype: RType,
        /// The RDATA.
        data: Vec<u8>,
    },
}

impl RData {
    /// The record type this data belongs to.
    pub fn rtype(&self) -> RType {
        match self {
            RData::A(_) => RType::A,
            RData::Aaaa(_) => RType::AAAA,
            RData::Ns(_) => RType::NS,
            RData::Cname(_) => RType::CNAME,
            RData::Ptr(_) => RType::PTR,
            RData::Soa(_) => RType::SOA,
            RData::Mx { .. } => RType::MX,
            RData::Txt(_) => RType::TXT,
            RData::Srv { .. } => RType::SRV,
            RData::Unknown { rtype, .. } => *rtype,
        }
    }

    /// Reads the RDATA of type `rtype` that fills `msg[start..end]` exactly (RFC 9267
    /// section 6: the data must match RDLENGTH). Names inside may point back into `msg`.
    pub fn read(rtype: RType, msg: &[u8], start: usize, end: usize) -> Result<RData, Error> {
        let bad = |why| Error::BadRdata {
            rtype: rtype.0,
            why,
        };
        let msg = msg.get(..end).ok_or(Error::Truncated {
            what: "RDATA",
            need: end,
        })?;
        let fixed = |n: usize| -> Result<&[u8], Error> {
            msg.get(start..start + n).ok_or(bad("too short"))
        };
        // A name inside RDATA must end inside it: `msg` was cut at `end`.
        let name_at = |pos: usize| Name::read(msg, pos);
        let done = |pos: usize, data: RData| {
            if pos == end {
                Ok(data)
            } else {
                Err(bad("RDLENGTH does not match the data"))
            }
        };
        match rtype {
            RType::A => {
                let b = fixed(4)?;
                done(start + 4, RData::A(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            }
            RType::AAAA => {
                let b: [u8; 16] = fixed(16)?.try_into().map_err(|_| bad("too short"))?;
                done(start + 16, RData::Aaaa(Ipv6Addr::from(b)))
            }
            RType::NS | RType::CNAME | RType::PTR => {
                let (n, pos) = name_at(start)?;
                let data = match rtype {
                    RType::NS => RData::Ns(n),
                    RType::CNAME => RData::Cname(n),
                    _ => RData::Ptr(n),
                };
                done(pos, data)
            }
            RType::SOA => {
                let (mname, pos) = name_at(start)?;
                let (rname, pos) = name_at(pos)?;
                let b = msg.get(pos..pos + 20).ok_or(bad("too short"))?;
                let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                let soa = Soa {
                    mname,
                    rname,
                    serial: w(0),
                    refresh: w(4),
                    retry: w(8),
                    expire: w(12),
                    minimum: w(16),
                };
                done(pos + 20, RData::Soa(soa))
            }
            RType::MX => {
                let b = fixed(2)?;
                let preference = u16::from_be_bytes([b[0], b[1]]);
                let (exchange, pos) = name_at(start + 2)?;
                done(
                    pos,
                    RData::Mx {
                        preference,
                        exchange,
                    },
                )
            }
            RType::TXT => {
                let mut strings = Vec::new();
                let mut pos = start;
                while pos < end {
                    let len = usize::from(msg[pos]);
                    let s = msg
                        .get(pos + 1..pos + 1 + len)
                        .ok_or(bad("character-string runs past RDLENGTH"))?;
                    strings.push(s.to_vec());
                    pos += 1 + len;
                }
                done(pos, RData::Txt(strings))
            }
            RType::SRV => {
                let b = fixed(6)?;
                let u = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
                // RFC 3597 section 4: receivers decompress SRV's target even though senders
                // must not compress it (RFC 2782).
                let (target, pos) = name_at(start + 6)?;
                done(
                    pos,
                    RData::Srv {
                        priority: u(0),
                        weight: u(2),
                        port: u(4),
                        target,
                    },
                )
            }
            _ => Ok(RData::Unknown {
                rtype,
                data: msg.get(start..end).ok_or(bad("too short"))?.to_vec(),
            }),
        }
    }

    /// Appends the RDATA to `out`. Names in NS, CNAME, PTR, SOA and MX are compressed;
    /// SRV's target is not (RFC 2782), nor is anything in types unknown here (RFC 3597
    /// section 4).
    pub fn write(&self, out: &mut Vec<u8>, comp: &mut Compressor) -> Result<(), Error> {
        match self {
            RData::A(a) => out.extend_from_slice(&a.octets()),
            RData::Aaaa(a) => out.extend_from_slice(&a.octets()),
            RData::Ns(n) | RData::Cname(n) | RData::Ptr(n) => n.write_compressed(out, comp),
            RData::Soa(s) => {
                s.mname.write_compressed(out, comp);
                s.rname.write_compressed(out, comp);
                for v in [s.serial, s.refresh, s.retry, s.expire, s.minimum] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            RData::Mx {
                preference,
                exchange,
            } => {
                out.extend_from_slice(&preference.to_be_bytes());
                exchange.write_compressed(out, comp);
            }
            RData::Txt(strings) => {
                for s in strings {
                    let len = u8::try_from(s.len()).map_err(|_| Error::BadRdata {
                        rtype: RType::TXT.0,
                        why: "character-string longer than 255 octets",
                    })?;
                    out.push(len);
                    out.extend_from_slice(s);
                }
            }
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                for v in [priority, weight, port] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                target.write_plain(out);
            }
            RData::Unknown { data, .. } => out.extend_from_slice(data),
        }
        Ok(())
    }
}

/// Writes a character-string in master-file form: quoted, with `"` and `\` escaped and
/// unprintable octets as `\DDD` (RFC 1035 section 5.1).
pub(crate) fn write_char_string(f: &mut fmt::Formatter<'_>, s: &[u8]) -> fmt::Result {
    f.write_str("\"")?;
    for &b in s {
        if b == b' ' {
            f.write_str(" ")?;
        } else {
            escape_byte(f, b, b"\"")?;
        }
    }
    f.write_str("\"")
}

impl fmt::Display for RData {
    /// Master-file form, as `dig` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Ns(n) | RData::Cname(n) | RData::Ptr(n) => write!(f, "{n}"),
            RData::Soa(s) => write!(
                f,
                "{} {} {} {} {} {} {}",
                s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
            ),
            RData::Mx {
                preference,
                exchange,
            } => write!(f, "{preference} {exchange}"),
            RData::Txt(strings) => {
                for (i, s) in strings.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write_char_string(f, s)?;
                }
                Ok(())
            }
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => write!(f, "{priority} {weight} {port} {target}"),
            RData::Unknown { data, .. } => {
                // RFC 3597 section 5: `\# length hex`.
                write!(f, "\\# {}", data.len())?;
                if !data.is_empty() {
                    f.write_str(" ")?;
                    for b in data {
                        write!(f, "{b:02X}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The class.
    pub class: Class,
    /// Seconds it may be cached.
    pub ttl: u32,
    /// The data, which also gives the type.
    pub data: RData,
}

impl Record {
    /// A record in class IN.
    pub fn new(name: Name, ttl: u32, data: RData) -> Record {
        Record {
            name,
            class: Class::IN,
            ttl,
            data,
        }
    }

    /// The record's type.
    pub fn rtype(&self) -> RType {
        self.data.rtype()
    }

    /// Appends the record to the message being built in `out`.
    pub fn write(&self, out: &mut Vec<u8>, comp: &mut Compressor) -> Result<(), Error> {
        self.name.write_compressed(out, comp);
        out.extend_from_slice(&self.rtype().0.to_be_bytes());
        out.extend_from_slice(&self.class.0.to_be_bytes());
        out.extend_from_slice(&self.ttl.to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        self.data.write(out, comp)?;
        let rdlen = u16::try_from(out.len() - len_at - 2).map_err(|_| Error::TooLong)?;
        out[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        Ok(())
    }
}

impl fmt::Display for Record {
    /// `owner TTL CLASS TYPE RDATA`, tab-separated as `dig` prints records.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\t{}\t{}\t{}\t{}",
            self.name,
            self.ttl,
            self.class,
            self.rtype(),
            self.data
        )
    }
}

/// The fixed part of a record as read from a message, before its RDATA is interpreted.
pub(crate) struct RawRecord {
    pub name: Name,
    pub rtype: RType,
    pub class: u16,
    pub ttl: u32,
    pub rdata_start: usize,
    pub rdata_end: usize,
}

impl RawRecord {
    /// Reads a record's owner, type, class, TTL and RDLENGTH at `pos`, checking that the
    /// RDATA lies inside the message (RFC 9267 section 6).
    pub fn read(msg: &[u8], pos: usize) -> Result<RawRecord, Error> {
        let (name, pos) = Name::read(msg, pos)?;
        let f = msg.get(pos..pos + 10).ok_or(Error::Truncated {
            what: "record header",
            need: pos + 10,
        })?;
        let rdlen = usize::from(u16::from_be_bytes([f[8], f[9]]));
        let rdata_start = pos + 10;
        let rdata_end = rdata_start + rdlen;
        if rdata_end > msg.len() {
            return Err(Error::Truncated {
                what: "RDATA",
                need: rdata_end,
            });
        }
        Ok(RawRecord {
            name,
            rtype: RType(u16::from_be_bytes([f[0], f[1]])),
            class: u16::from_be_bytes([f[2], f[3]]),
            ttl: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
            rdata_start,
            rdata_end,
        })
    }
}
