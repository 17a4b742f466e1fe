//! Zones: the records a server is authoritative for, looked up as RFC 1034 section 4.3.2
//! says; read from RFC 1035 master files ([`master`]); and the default `tunstack.test`
//! zone with reverse (in-addr.arpa) answers for the stack's own addresses.

use core::fmt;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Name, RData, RType, Record, Soa};

pub mod master;

/// A zone: an origin (apex) and the records at and below it.
#[derive(Clone, Debug)]
pub struct Zone {
    origin: Name,
    /// Records by lower-cased owner name.
    nodes: HashMap<Name, Vec<Record>>,
    /// Every name that exists, lower-cased: owners and their ancestors down to the origin
    /// (empty non-terminals exist too, RFC 8020).
    names: HashSet<Name>,
}

/// The outcome of looking a name and type up in a zone (RFC 1034 section 4.3.2 step 3).
#[derive(Debug, PartialEq)]
pub enum Lookup<'a> {
    /// The records asked for (for `ANY`, every record at the name).
    Found(Vec<&'a Record>),
    /// The name is an alias: its CNAME record, whose target the caller may chase.
    Cname(&'a Record),
    /// The name lies at or below a zone cut: the NS records of the cut (a referral).
    Delegation(Vec<&'a Record>),
    /// The name exists but has no records of the type (NODATA, RFC 2308 section 2.2).
    NoData,
    /// The name does not exist (RFC 2308 section 2.1).
    NxDomain,
}

/// Why a record cannot go into a zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneError {
    /// The line of the master file (0 when not read from one).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ZoneError {}

fn err(message: impl Into<String>) -> ZoneError {
    ZoneError {
        line: 0,
        message: message.into(),
    }
}

impl Zone {
    /// An empty zone at `origin`; it needs an SOA record before it can serve
    /// ([`Zone::check`]).
    pub fn new(origin: Name) -> Zone {
        let mut names = HashSet::new();
        names.insert(origin.to_lowercase());
        Zone {
            origin,
            nodes: HashMap::new(),
            names,
        }
    }

    /// Reads a master file (RFC 1035 section 5) whose relative names start at `origin`
    /// (until a `$ORIGIN` line changes it); the zone's apex is `origin`.
    pub fn parse(text: &str, origin: &Name) -> Result<Zone, ZoneError> {
        let mut zone = Zone::new(origin.clone());
        for (line, record) in master::parse(text, origin)? {
            zone.insert(record).map_err(|e| ZoneError { line, ..e })?;
        }
        zone.check()?;
        Ok(zone)
    }

    /// Reads a master file whose apex is the owner of its SOA record; relative names
    /// start at `origin` if given (else at the root, so the file needs `$ORIGIN` or
    /// absolute names).
    pub fn from_text(text: &str, origin: Option<&Name>) -> Result<Zone, ZoneError> {
        let start = origin.cloned().unwrap_or_else(Name::root);
        let records = master::parse(text, &start)?;
        let apex = records
            .iter()
            .find(|(_, r)| r.rtype() == RType::SOA)
            .map(|(_, r)| r.name.clone())
            .ok_or_else(|| err("no SOA record"))?;
        let mut zone = Zone::new(apex);
        for (line, record) in records {
            zone.insert(record).map_err(|e| ZoneError { line, ..e })?;
        }
        zone.check()?;
        Ok(zone)
    }

    /// [`Zone::from_text`] on the file at `path` (for `tunstack up --zone FILE`).
    pub fn load(path: &std::path::Path, origin: Option<&Name>) -> Result<Zone, ZoneError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        Zone::from_text(&text, origin).map_err(|e| ZoneError {
            message: format!("{}: {}", path.display(), e.message),
            ..e
        })
    }

    /// The apex.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA record at the apex.
    pub fn soa(&self) -> Option<&Record> {
        self.rrset(&self.origin, RType::SOA).into_iter().next()
    }

    /// Every record, in no particular order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.nodes.values().flatten()
    }

    /// The records of `rtype` at `name` (case-insensitive).
    pub fn rrset(&self, name: &Name, rtype: RType) -> Vec<&Record> {
        self.nodes
            .get(&name.to_lowercase())
            .map(|rs| rs.iter().filter(|r| r.rtype() == rtype).collect())
            .unwrap_or_default()
    }

    /// Adds a record. It must lie in the zone; a CNAME cannot share its name with other
    /// data (RFC 1034 section 3.6.2, RFC 2181 section 10.1); a record already present is
    /// not added twice (RFC 2181 section 5); the records of an RRset share one TTL (RFC 2181
    /// section 5.2); the SOA sits at the apex, once.
    pub fn insert(&mut self, record: Record) -> Result<(), ZoneError> {
        if !record.name.is_subdomain_of(&self.origin) {
            return Err(err(format!(
                "{} is outside the zone {}",
                record.name, self.origin
            )));
        }
        let rtype = record.rtype();
        if rtype == RType::SOA && !record.name.eq_ignore_case(&self.origin) {
            return Err(err("SOA record below the zone's apex"));
        }
        let key = record.name.to_lowercase();
        let node = self.nodes.entry(key.clone()).or_default();
        if node.contains(&record) {
            return Ok(());
        }
        let is_cname = rtype == RType::CNAME;
        if node.iter().any(|r| (r.rtype() == RType::CNAME) != is_cname)
            || (is_cname && !node.is_empty())
        {
            return Err(err(format!(
                "{}: a CNAME cannot share its name with other records",
                record.name
            )));
        }
        if rtype == RType::SOA && !node.iter().all(|r| r.rtype() != RType::SOA) {
            return Err(err("more than one SOA record"));
        }
        if let Some(other) = node
            .iter()
            .find(|r| r.rtype() == rtype && r.ttl != record.ttl)
        {
            return Err(err(format!(
                "{} {rtype}: TTL {} differs from the RRset's {}",
                record.name, record.ttl, other.ttl
            )));
        }
        node.push(record);
        let mut n = key;
        while self.names.insert(n.clone()) {
            match n.parent() {
                Some(p) => n = p,
                None => break,
            }
        }
        Ok(())
    }

    /// Checks that the zone can serve: an SOA at its apex.
    pub fn check(&self) -> Result<(), ZoneError> {
        if self.soa().is_none() {
            return Err(err(format!("zone {} has no SOA record", self.origin)));
        }
        Ok(())
    }

    /// The SOA's data and the TTL a negative answer carries: the lesser of the SOA
    /// record's TTL and its MINIMUM field (RFC 2308 section 3).
    pub fn negative_soa(&self) -> Option<Record> {
        let soa = self.soa()?;
        let mut r = soa.clone();
        if let RData::Soa(Soa { minimum, .. }) = &soa.data {
            r.ttl = r.ttl.min(*minimum);
        }
        Some(r)
    }

    /// Looks `name` (at or below the origin) up for `rtype`, as RFC 1034 section 4.3.2
    /// step 3 describes: a zone cut on the way down gives a referral (3b); an exact match
    /// gives the RRset, or the CNAME to chase (3a), or NODATA; a name that does not exist
    /// (and is not an empty non-terminal, RFC 8020) gives NXDOMAIN (3c; wildcards are not
    /// supported).
    pub fn lookup(&self, name: &Name, rtype: RType) -> Lookup<'_> {
        let key = name.to_lowercase();
        // Zone cuts: NS records at a name strictly below the apex, from the top down.
        let depth = key.label_count().saturating_sub(self.origin.label_count());
        let mut ancestors = Vec::with_capacity(depth);
        let mut n = key.clone();
        for _ in 0..depth {
            ancestors.push(n.clone());
            match n.parent() {
                Some(p) => n = p,
                None => break,
            }
        }
        for a in ancestors.iter().rev() {
            let ns = self.rrset(a, RType::NS);
            if !ns.is_empty() {
                return Lookup::Delegation(ns);
            }
        }
        match self.nodes.get(&key) {
            Some(records) if !records.is_empty() => {
                if rtype == RType::ANY {
                    return Lookup::Found(records.iter().collect());
                }
                let set: Vec<&Record> = records.iter().filter(|r| r.rtype() == rtype).collect();
                if !set.is_empty() {
                    return Lookup::Found(set);
                }
                match records.iter().find(|r| r.rtype() == RType::CNAME) {
                    Some(c) => Lookup::Cname(c),
                    None => Lookup::NoData,
                }
            }
            _ if self.names.contains(&key) => Lookup::NoData,
            _ => Lookup::NxDomain,
        }
    }
}

/// The default zone's name.
pub const DEFAULT_ORIGIN: &str = "tunstack.test.";

/// The default zone `tunstack.test`, all of it pointing at the stack's address: the apex
/// and `ns` and `mail` have it as A; `www` is a CNAME to the apex; `ns` is the NS; `mail`
/// the MX; the apex has a TXT; `big` has TXT records of about 900 bytes in all, more than
/// a 512-byte UDP answer holds, to show truncation (TC) and the retry over TCP.
pub fn default_zone(stack_addr: Ipv4Addr) -> Zone {
    default_zone_with(stack_addr, None)
}

/// [`default_zone`], with AAAA records (RFC 3596 section 2.1) for the stack's IPv6
/// address beside the A records of the apex, `ns` and `mail` when it has one.
pub fn default_zone_with(stack_addr: Ipv4Addr, stack_addr6: Option<Ipv6Addr>) -> Zone {
    let mut text = format!(
        "$ORIGIN {DEFAULT_ORIGIN}\n\
         $TTL 300\n\
         @     IN SOA ns hostmaster ( 1 3600 600 86400 60 )\n\
         @     IN NS    ns\n\
         @     IN A     {stack_addr}\n\
         @     IN MX    10 mail\n\
         @     IN TXT   \"tunstack: a TCP/IP stack in user space\"\n\
         ns    IN A     {stack_addr}\n\
         mail  IN A     {stack_addr}\n\
         www   IN CNAME @\n"
    );
    if let Some(a6) = stack_addr6 {
        for owner in ["@", "ns", "mail"] {
            text.push_str(&format!("{owner} IN AAAA {a6}\n"));
        }
    }
    for i in 0..8 {
        text.push_str(&format!("big IN TXT \"{i}: {}\"\n", "x".repeat(96)));
    }
    let origin = Name::parse(DEFAULT_ORIGIN).unwrap_or_else(|_| Name::root());
    // The text above is fixed apart from an IPv4 address, and a unit test parses it.
    Zone::parse(&text, &origin).unwrap_or_else(|e| panic!("default zone: {e}"))
}

/// A zone for the reverse name of `addr` (`d.c.b.a.in-addr.arpa`, RFC 1035 section 3.5)
/// with a PTR to `host`, an SOA and an NS naming `ns.tunstack.test`.
pub fn reverse_zone(addr: Ipv4Addr, host: &Name) -> Zone {
    let origin = Name::reverse_v4(addr);
    let text = format!(
        "$TTL 300\n\
         @ IN SOA ns.{DEFAULT_ORIGIN} hostmaster.{DEFAULT_ORIGIN} 1 3600 600 86400 60\n\
         @ IN NS ns.{DEFAULT_ORIGIN}\n\
         @ IN PTR {host}\n"
    );
    Zone::parse(&text, &origin).unwrap_or_else(|e| panic!("reverse zone: {e}"))
}

/// The zones `tunstack up` serves by default: [`default_zone`] for `stack_addr`, and a
/// [`reverse_zone`] naming `tunstack.test` for each of `own_addrs`.
pub fn default_zones(stack_addr: Ipv4Addr, own_addrs: &[Ipv4Addr]) -> Vec<Zone> {
    default_zones_with(stack_addr, None, own_addrs)
}

/// [`default_zones`] with the AAAA records of [`default_zone_with`].
pub fn default_zones_with(
    stack_addr: Ipv4Addr,
    stack_addr6: Option<Ipv6Addr>,
    own_addrs: &[Ipv4Addr],
) -> Vec<Zone> {
    let zone = default_zone_with(stack_addr, stack_addr6);
    let host = zone.origin().clone();
    let mut zones = vec![zone];
    let mut seen = HashSet::new();
    for &a in own_addrs {
        if seen.insert(a) {
            zones.push(reverse_zone(a, &host));
        }
    }
    zones
}

#[cfg(test)]
mod tests;
