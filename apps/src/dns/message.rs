//! DNS messages: the header, the question, the three record sections (RFC 1035 section 4)
//! and the EDNS0 OPT pseudo-record (RFC 6891), read with the checks of RFC 9267 and written
//! with name compression and, when a size limit says so, truncation (RFC 2181 section 9).

use core::fmt;

use super::name::Compressor;
use super::rr::RawRecord;
use super::{Class, Error, Name, RData, RType, Record};

/// The header's length (RFC 1035 section 4.1.1).
pub const HEADER_LEN: usize = 12;
/// The largest UDP message a requestor without EDNS0 accepts (RFC 1035 section 2.3.4).
pub const MIN_UDP_PAYLOAD: u16 = 512;

/// A message's kind of query (RFC 1035 section 4.1.1; IANA "DNS OpCodes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// A standard query.
    pub const QUERY: Opcode = Opcode(0);
    /// An inverse query (obsolete, RFC 3425).
    pub const IQUERY: Opcode = Opcode(1);
    /// A server status request.
    pub const STATUS: Opcode = Opcode(2);
    /// Zone change notification (RFC 1996).
    pub const NOTIFY: Opcode = Opcode(4);
    /// Dynamic update (RFC 2136).
    pub const UPDATE: Opcode = Opcode(5);
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("QUERY"),
            1 => f.write_str("IQUERY"),
            2 => f.write_str("STATUS"),
            4 => f.write_str("NOTIFY"),
            5 => f.write_str("UPDATE"),
            n => write!(f, "RESERVED{n}"),
        }
    }
}

/// A response code: 4 bits in the header, 8 more in the OPT record (RFC 6891 section 6.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rcode(pub u16);

impl Rcode {
    /// No error.
    pub const NOERROR: Rcode = Rcode(0);
    /// The query could not be interpreted.
    pub const FORMERR: Rcode = Rcode(1);
    /// The server failed.
    pub const SERVFAIL: Rcode = Rcode(2);
    /// The name does not exist (an authoritative answer).
    pub const NXDOMAIN: Rcode = Rcode(3);
    /// The kind of query is not supported.
    pub const NOTIMP: Rcode = Rcode(4);
    /// The server will not answer this query.
    pub const REFUSED: Rcode = Rcode(5);
    /// The requestor's EDNS version is not supported (RFC 6891 section 6.1.3).
    pub const BADVERS: Rcode = Rcode(16);
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSET",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            16 => "BADVERS",
            n => return write!(f, "RESERVED{n}"),
        };
        f.write_str(name)
    }
}

/// The header's fields, except the four counts, which follow from the sections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Matches a response to its query.
    pub id: u16,
    /// A response (true) or a query.
    pub qr: bool,
    /// The kind of query.
    pub opcode: Opcode,
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// The reserved Z bit (must be zero, RFC 1035 section 4.1.1), kept as read.
    pub z: bool,
    /// Authentic data (RFC 4035 section 3.2.3).
    pub ad: bool,
    /// Checking disabled (RFC 4035 section 3.2.2).
    pub cd: bool,
    /// The low four bits of the response code.
    pub rcode: u8,
}

impl Header {
    fn flags(&self) -> u16 {
        let b = |v: bool, bit: u16| if v { 1 << bit } else { 0 };
        b(self.qr, 15)
            | (u16::from(self.opcode.0 & 0xF) << 11)
            | b(self.aa, 10)
            | b(self.tc, 9)
            | b(self.rd, 8)
            | b(self.ra, 7)
            | b(self.z, 6)
            | b(self.ad, 5)
            | b(self.cd, 4)
            | u16::from(self.rcode & 0xF)
    }

    fn from_flags(id: u16, f: u16) -> Header {
        let b = |bit: u16| f & (1 << bit) != 0;
        Header {
            id,
            qr: b(15),
            opcode: Opcode(((f >> 11) & 0xF) as u8),
            aa: b(10),
            tc: b(9),
            rd: b(8),
            ra: b(7),
            z: b(6),
            ad: b(5),
            cd: b(4),
            rcode: (f & 0xF) as u8,
        }
    }

    /// Reads just the header, for answering a message whose body is malformed.
    pub fn read(msg: &[u8]) -> Result<Header, Error> {
        let h = msg.get(..HEADER_LEN).ok_or(Error::Truncated {
            what: "header",
            need: HEADER_LEN,
        })?;
        Ok(Header::from_flags(
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        ))
    }
}

/// An entry of the question section (RFC 1035 section 4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub qtype: RType,
    /// The class asked for.
    pub qclass: Class,
}

impl Question {
    /// A question in class IN.
    pub fn new(name: Name, qtype: RType) -> Question {
        Question {
            name,
            qtype,
            qclass: Class::IN,
        }
    }
}

/// An EDNS0 option (RFC 6891 section 6.1.2): a code and opaque data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdnsOption {
    /// The option code (10 is COOKIE, RFC 7873).
    pub code: u16,
    /// The option's data.
    pub data: Vec<u8>,
}

/// The OPT pseudo-record's contents (RFC 6891 section 6.1.2 and 6.1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    /// The largest UDP payload the sender can reassemble (the OPT record's CLASS).
    pub udp_payload: u16,
    /// The upper eight bits of the 12-bit response code.
    pub ext_rcode: u8,
    /// The EDNS version; only 0 is defined.
    pub version: u8,
    /// DNSSEC OK.
    pub dnssec_ok: bool,
    /// The other 15 flag bits, kept as read.
    pub z: u16,
    /// The options.
    pub options: Vec<EdnsOption>,
}

impl Edns {
    /// Version 0, no flags, no options, the given payload size.
    pub fn new(udp_payload: u16) -> Edns {
        Edns {
            udp_payload,
            ext_rcode: 0,
            version: 0,
            dnssec_ok: false,
            z: 0,
            options: Vec::new(),
        }
    }

    fn wire_len(&self) -> usize {
        11 + self.options.iter().map(|o| 4 + o.data.len()).sum::<usize>()
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(0); // owner: the root (RFC 6891 section 6.1.2)
        out.extend_from_slice(&RType::OPT.0.to_be_bytes());
        out.extend_from_slice(&self.udp_payload.to_be_bytes());
        out.push(self.ext_rcode);
        out.push(self.version);
        let flags = (u16::from(self.dnssec_ok) << 15) | (self.z & 0x7FFF);
        out.extend_from_slice(&flags.to_be_bytes());
        let rdlen = self.wire_len() - 11;
        out.extend_from_slice(
            &u16::try_from(rdlen)
                .map_err(|_| Error::TooLong)?
                .to_be_bytes(),
        );
        for o in &self.options {
            out.extend_from_slice(&o.code.to_be_bytes());
            let len = u16::try_from(o.data.len()).map_err(|_| Error::TooLong)?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&o.data);
        }
        Ok(())
    }

    fn from_raw(raw: &RawRecord, msg: &[u8]) -> Result<Edns, Error> {
        if !raw.name.is_root() {
            return Err(Error::BadOpt("owner is not the root"));
        }
        let mut options = Vec::new();
        let mut pos = raw.rdata_start;
        while pos < raw.rdata_end {
            let h = msg
                .get(pos..pos + 4)
                .filter(|_| pos + 4 <= raw.rdata_end)
                .ok_or(Error::BadOpt("option header runs past RDLENGTH"))?;
            let code = u16::from_be_bytes([h[0], h[1]]);
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            if pos + 4 + len > raw.rdata_end {
                return Err(Error::BadOpt("option data runs past RDLENGTH"));
            }
            options.push(EdnsOption {
                code,
                data: msg[pos + 4..pos + 4 + len].to_vec(),
            });
            pos += 4 + len;
        }
        Ok(Edns {
            udp_payload: raw.class,
            ext_rcode: (raw.ttl >> 24) as u8,
            version: (raw.ttl >> 16) as u8,
            dnssec_ok: raw.ttl & 0x8000 != 0,
            z: (raw.ttl & 0x7FFF) as u16,
            options,
        })
    }
}

/// A DNS message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The question section (in practice one entry).
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authority: Vec<Record>,
    /// The additional section, without the OPT record.
    pub additional: Vec<Record>,
    /// The OPT record, if there was one.
    pub edns: Option<Edns>,
}

impl Message {
    /// A query with recursion desired, as a stub resolver sends it.
    pub fn query(id: u16, question: Question) -> Message {
        Message {
            header: Header {
                id,
                rd: true,
                ..Header::default()
            },
            questions: vec![question],
            ..Message::default()
        }
    }

    /// An empty response to `query`: its ID, opcode, RD bit and question (RFC 1035
    /// section 4.1.1), QR set.
    pub fn response_to(query: &Message) -> Message {
        Message {
            header: Header {
                id: query.header.id,
                qr: true,
                opcode: query.header.opcode,
                rd: query.header.rd,
                cd: query.header.cd,
                ..Header::default()
            },
            questions: query.questions.clone(),
            ..Message::default()
        }
    }

    /// The full response code: the header's four bits and, with EDNS0, eight more.
    pub fn rcode(&self) -> Rcode {
        let hi = self.edns.as_ref().map_or(0, |e| u16::from(e.ext_rcode));
        Rcode((hi << 4) | u16::from(self.header.rcode))
    }

    /// Sets the response code; codes above 15 need (and get the upper bits in) the OPT
    /// record, which must then be present.
    pub fn set_rcode(&mut self, rcode: Rcode) {
        self.header.rcode = (rcode.0 & 0xF) as u8;
        if let Some(e) = &mut self.edns {
            e.ext_rcode = (rcode.0 >> 4) as u8;
        }
    }

    /// Reads a message. Every count in the header must be matched by records in the data,
    /// and no bytes may follow the last record (RFC 9267 section 5); every record's RDATA
    /// must fill its RDLENGTH exactly (section 6); names are read by [`Name::read`].
    pub fn parse(msg: &[u8]) -> Result<Message, Error> {
        let header = Header::read(msg)?;
        let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
        let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
        let mut m = Message {
            header,
            ..Message::default()
        };
        let mut pos = HEADER_LEN;
        for _ in 0..qd {
            let (name, p) = Name::read(msg, pos)?;
            let f = msg.get(p..p + 4).ok_or(Error::Truncated {
                what: "question",
                need: p + 4,
            })?;
            m.questions.push(Question {
                name,
                qtype: RType(u16::from_be_bytes([f[0], f[1]])),
                qclass: Class(u16::from_be_bytes([f[2], f[3]])),
            });
            pos = p + 4;
        }
        for (section, n) in [(0, an), (1, ns), (2, ar)] {
            for _ in 0..n {
                let raw = RawRecord::read(msg, pos)?;
                pos = raw.rdata_end;
                if raw.rtype == RType::OPT {
                    if section != 2 {
                        return Err(Error::BadOpt("outside the additional section"));
                    }
                    if m.edns.is_some() {
                        return Err(Error::BadOpt("more than one"));
                    }
                    m.edns = Some(Edns::from_raw(&raw, msg)?);
                    continue;
                }
                let data = RData::read(raw.rtype, msg, raw.rdata_start, raw.rdata_end)?;
                let rec = Record {
                    name: raw.name,
                    class: Class(raw.class),
                    ttl: raw.ttl,
                    data,
                };
                match section {
                    0 => m.answers.push(rec),
                    1 => m.authority.push(rec),
                    _ => m.additional.push(rec),
                }
            }
        }
        if pos != msg.len() {
            return Err(Error::TrailingData(msg.len() - pos));
        }
        Ok(m)
    }

    /// Writes the message whole, compressed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.to_bytes_limited(usize::from(u16::MAX))
    }

    /// Writes the message in at most `max` bytes (the limit is raised to fit the header,
    /// question and OPT record). When the answer and authority sections do not fit, they are
    /// left out and TC set (RFC 1035 section 4.1.1; RFC 2181 section 9: a partial RRset is
    /// never sent); additional records that do not fit are left out without TC (RFC 2181
    /// section 9). The OPT record is always kept (RFC 6891 section 7).
    pub fn to_bytes_limited(&self, max: usize) -> Result<Vec<u8>, Error> {
        let max = max.min(usize::from(u16::MAX));
        let mut out = Vec::with_capacity(512);
        let mut comp = Compressor::default();
        let mut header = self.header.clone();
        out.extend_from_slice(&header.id.to_be_bytes());
        out.extend_from_slice(&[0; 10]);
        for q in &self.questions {
            q.name.write_compressed(&mut out, &mut comp);
            out.extend_from_slice(&q.qtype.0.to_be_bytes());
            out.extend_from_slice(&q.qclass.0.to_be_bytes());
        }
        let opt_len = self.edns.as_ref().map_or(0, Edns::wire_len);
        let after_question = out.len();
        let mut counts = [0usize; 3];
        let mut fits = true;
        'main: for (i, section) in [&self.answers, &self.authority].into_iter().enumerate() {
            for r in section {
                r.write(&mut out, &mut comp)?;
                if out.len() + opt_len > max {
                    fits = false;
                    break 'main;
                }
                counts[i] += 1;
            }
        }
        if !fits {
            out.truncate(after_question);
            comp.rollback(after_question);
            counts = [0; 3];
            header.tc = true;
        } else {
            for r in &self.additional {
                let before = out.len();
                r.write(&mut out, &mut comp)?;
                if out.len() + opt_len > max {
                    out.truncate(before);
                    comp.rollback(before);
                    break;
                }
                counts[2] += 1;
            }
        }
        if let Some(e) = &self.edns {
            e.write(&mut out)?;
            counts[2] += 1;
        }
        if out.len() > usize::from(u16::MAX) {
            return Err(Error::TooLong);
        }
        let c = |n: usize| u16::try_from(n).map_err(|_| Error::TooLong);
        out[2..4].copy_from_slice(&header.flags().to_be_bytes());
        out[4..6].copy_from_slice(&c(self.questions.len())?.to_be_bytes());
        out[6..8].copy_from_slice(&c(counts[0])?.to_be_bytes());
        out[8..10].copy_from_slice(&c(counts[1])?.to_be_bytes());
        out[10..12].copy_from_slice(&c(counts[2])?.to_be_bytes());
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
