//! RFC 1035 section 5 master files: `$ORIGIN` and `$TTL` (RFC 2308 section 4), relative
//! names and `@`, an omitted owner meaning the previous one, parentheses continuing an
//! entry over lines, `;` comments, quoted character-strings with `\X` and `\DDD` escapes,
//! TTLs with BIND's unit suffixes (`1h30m`), and RFC 3597's generic `TYPEnnn \# len hex`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ZoneError;
use crate::dns::name::unescape;
use crate::dns::{Class, Name, RData, RType, Record, Soa};

/// One token of an entry: its text as written (escapes not yet applied) and whether it
/// was a quoted string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub text: String,
    pub quoted: bool,
}

/// One entry: the line it starts on, whether it starts with a blank (no owner), and its
/// tokens.
#[derive(Debug)]
struct Entry {
    line: usize,
    blank_owner: bool,
    tokens: Vec<Token>,
}

fn at(line: usize, message: impl Into<String>) -> ZoneError {
    ZoneError {
        line,
        message: message.into(),
    }
}

/// Splits a master file into entries (RFC 1035 section 5.1).
fn lex(text: &str) -> Result<Vec<Entry>, ZoneError> {
    let b = text.as_bytes();
    let mut entries = Vec::new();
    let mut line = 1;
    let mut depth = 0usize;
    let mut cur: Option<Entry> = None;
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        let starts_line = line_start;
        line_start = false;
        match c {
            b'\n' => {
                line += 1;
                line_start = true;
                if depth == 0 {
                    if let Some(e) = cur.take() {
                        entries.push(e);
                    }
                }
                i += 1;
            }
            b' ' | b'\t' | b'\r' => {
                if starts_line && depth == 0 && cur.is_none() {
                    cur = Some(Entry {
                        line,
                        blank_owner: true,
                        tokens: Vec::new(),
                    });
                }
                i += 1;
            }
            b';' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                depth += 1;
                cur.get_or_insert_with(|| Entry {
                    line,
                    blank_owner: false,
                    tokens: Vec::new(),
                });
                i += 1;
            }
            b')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| at(line, "')' without '('"))?;
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    match b.get(j) {
                        None | Some(b'\n') => return Err(at(line, "unterminated quoted string")),
                        Some(b'\\') => j += 2,
                        Some(b'"') => break,
                        Some(_) => j += 1,
                    }
                }
                let tok = Token {
                    text: text
                        .get(start..j)
                        .ok_or_else(|| at(line, "bad quoted string"))?
                        .to_string(),
                    quoted: true,
                };
                cur.get_or_insert_with(|| Entry {
                    line,
                    blank_owner: false,
                    tokens: Vec::new(),
                })
                .tokens
                .push(tok);
                i = j + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b" \t\r\n;()\"".contains(&b[i]) {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(b.len());
                let tok = Token {
                    text: text
                        .get(start..end)
                        .ok_or_else(|| at(line, "bad escape"))?
                        .to_string(),
                    quoted: false,
                };
                cur.get_or_insert_with(|| Entry {
                    line,
                    blank_owner: false,
                    tokens: Vec::new(),
                })
                .tokens
                .push(tok);
            }
        }
    }
    if depth > 0 {
        return Err(at(line, "'(' without ')' at the end of the file"));
    }
    entries.extend(cur);
    Ok(entries)
}

/// A TTL: seconds, or BIND's `1w2d3h4m5s` units.
pub(crate) fn parse_ttl(s: &str) -> Option<u32> {
    if s.is_empty() || !s.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if let Ok(v) = s.parse::<u32>() {
        return Some(v);
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        return None;
    }
    u32::try_from(total).ok()
}

/// A character-string's bytes from its token: escapes applied, at most 255 octets.
pub(crate) fn char_string(t: &Token) -> Result<Vec<u8>, String> {
    let b = t.text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let (v, used) =
                unescape(&b[i + 1..]).ok_or_else(|| format!("bad escape in {:?}", t.text))?;
            out.push(v);
            i += 1 + used;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    if out.len() > 255 {
        return Err(format!(
            "character-string of {} octets (limit 255)",
            out.len()
        ));
    }
    Ok(out)
}

fn name(t: &Token, origin: &Name) -> Result<Name, String> {
    Name::parse_relative(&t.text, origin).map_err(|e| format!("name {:?}: {e}", t.text))
}

fn number<T: std::str::FromStr>(t: &Token, what: &str) -> Result<T, String> {
    t.text
        .parse()
        .map_err(|_| format!("{what} {:?} is not a number in range", t.text))
}

/// RDATA of `rtype` from its tokens (RFC 1035 section 5.1 and 3.3, RFC 3597 section 5).
pub(crate) fn rdata(rtype: RType, toks: &[Token], origin: &Name) -> Result<RData, String> {
    if matches!(rtype, RType::OPT | RType::ANY | RType::AXFR | RType::IXFR) {
        return Err(format!("{rtype} is not a record type for zones"));
    }
    if toks.first().is_some_and(|t| !t.quoted && t.text == "\\#") {
        return generic_rdata(rtype, &toks[1..]);
    }
    let want = |n: usize| {
        if toks.len() == n {
            Ok(())
        } else {
            Err(format!("{rtype} takes {n} fields, found {}", toks.len()))
        }
    };
    Ok(match rtype {
        RType::A => {
            want(1)?;
            RData::A(number::<Ipv4Addr>(&toks[0], "address")?)
        }
        RType::AAAA => {
            want(1)?;
            RData::Aaaa(number::<Ipv6Addr>(&toks[0], "address")?)
        }
        RType::NS | RType::CNAME | RType::PTR => {
            want(1)?;
            let n = name(&toks[0], origin)?;
            match rtype {
                RType::NS => RData::Ns(n),
                RType::CNAME => RData::Cname(n),
                _ => RData::Ptr(n),
            }
        }
        RType::SOA => {
            want(7)?;
            let t = |i: usize| {
                parse_ttl(&toks[i].text).ok_or_else(|| format!("bad SOA number {:?}", toks[i].text))
            };
            RData::Soa(Soa {
                mname: name(&toks[0], origin)?,
                rname: name(&toks[1], origin)?,
                serial: number(&toks[2], "serial")?,
                refresh: t(3)?,
                retry: t(4)?,
                expire: t(5)?,
                minimum: t(6)?,
            })
        }
        RType::MX => {
            want(2)?;
            RData::Mx {
                preference: number(&toks[0], "preference")?,
                exchange: name(&toks[1], origin)?,
            }
        }
        RType::TXT => {
            if toks.is_empty() {
                return Err("TXT needs at least one string".into());
            }
            RData::Txt(toks.iter().map(char_string).collect::<Result<_, _>>()?)
        }
        RType::SRV => {
            want(4)?;
            RData::Srv {
                priority: number(&toks[0], "priority")?,
                weight: number(&toks[1], "weight")?,
                port: number(&toks[2], "port")?,
                target: name(&toks[3], origin)?,
            }
        }
        _ => return Err(format!("type {rtype} needs the generic form \\# LEN HEX")),
    })
}

/// RFC 3597 section 5: `\# LEN HEX...`, checked against the type's layout when it is a
/// known type.
fn generic_rdata(rtype: RType, toks: &[Token]) -> Result<RData, String> {
    let len: usize = number(toks.first().ok_or("\\# needs a length")?, "length")?;
    let hex: String = toks[1..].iter().map(|t| t.text.as_str()).collect();
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err("bad hex data after \\#".into());
    }
    let data: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    if data.len() != len {
        return Err(format!(
            "\\# length {len} but {} octets of data",
            data.len()
        ));
    }
    RData::read(rtype, &data, 0, data.len()).map_err(|e| e.to_string())
}

/// Reads the master file's records, each with its line number. `origin` is where
/// relative names start until a `$ORIGIN` changes it. A record's TTL is its own, else
/// `$TTL`'s, else the last one given; an SOA without either uses its MINIMUM.
pub fn parse(text: &str, origin: &Name) -> Result<Vec<(usize, Record)>, ZoneError> {
    let mut origin = origin.clone();
    let mut owner: Option<Name> = None;
    let mut default_ttl: Option<u32> = None;
    let mut last_ttl: Option<u32> = None;
    let mut last_class = Class::IN;
    let mut out = Vec::new();
    for e in lex(text)? {
        let line = e.line;
        let fail = |m: String| at(line, m);
        let toks = &e.tokens;
        if toks.is_empty() {
            continue;
        }
        let first = &toks[0];
        if !e.blank_owner && !first.quoted && first.text.starts_with('$') {
            let arg = toks
                .get(1)
                .ok_or_else(|| fail(format!("{} needs a value", first.text)))?;
            match first.text.to_ascii_uppercase().as_str() {
                "$ORIGIN" => origin = name(arg, &origin).map_err(fail)?,
                "$TTL" => {
                    default_ttl = Some(
                        parse_ttl(&arg.text)
                            .ok_or_else(|| fail(format!("bad TTL {:?}", arg.text)))?,
                    )
                }
                "$INCLUDE" => return Err(fail("$INCLUDE is not supported".into())),
                d => return Err(fail(format!("unknown directive {d}"))),
            }
            continue;
        }
        let mut rest = &toks[..];
        if !e.blank_owner {
            owner = Some(name(first, &origin).map_err(fail)?);
            rest = &rest[1..];
        }
        let owner = owner
            .clone()
            .ok_or_else(|| fail("a record without an owner name".into()))?;
        // [TTL] [class] type, or [class] [TTL] type (RFC 1035 section 5.1).
        let mut ttl = None;
        let mut class = None;
        let rtype = loop {
            let t = rest
                .first()
                .ok_or_else(|| fail("missing record type".into()))?;
            rest = &rest[1..];
            if ttl.is_none() && !t.quoted {
                if let Some(v) = parse_ttl(&t.text) {
                    ttl = Some(v);
                    continue;
                }
            }
            if class.is_none() {
                if let Some(c) = Class::from_text(&t.text) {
                    class = Some(c);
                    continue;
                }
            }
            break RType::from_text(&t.text)
                .ok_or_else(|| fail(format!("unknown record type {:?}", t.text)))?;
        };
        let class = class.unwrap_or(last_class);
        if class != Class::IN {
            return Err(fail(format!("class {class}: only IN is served")));
        }
        last_class = class;
        let data = rdata(rtype, rest, &origin).map_err(fail)?;
        if ttl.is_some() {
            last_ttl = ttl;
        }
        let ttl = match (ttl, default_ttl, last_ttl, &data) {
            (Some(t), ..) => t,
            (None, Some(t), ..) => t,
            (None, None, Some(t), _) => t,
            (None, None, None, RData::Soa(s)) => s.minimum,
            _ => return Err(fail("no TTL: give one or a $TTL line".into())),
        };
        out.push((
            line,
            Record {
                name: owner,
                class,
                ttl,
                data,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
