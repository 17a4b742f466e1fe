//! The resolver's cache: answers kept for their TTL (RFC 1035 section 7.4, RFC 2181
//! section 5.2 and 8) and negative answers for the SOA's negative TTL (RFC 2308 section 5).
//! Every call takes `now`, so tests run it in virtual time.

use std::collections::HashMap;

use tunstack::time::{Duration, Instant};

use crate::dns::{Class, Message, Name, Question, RData, RType, Rcode, Record};

/// A cached (or just received) answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    /// NOERROR (with answers, or NODATA without) or NXDOMAIN.
    pub rcode: Rcode,
    /// The answer section, TTLs counted down to now.
    pub answers: Vec<Record>,
    /// The authority section (the SOA of a negative answer), TTLs counted down.
    pub authority: Vec<Record>,
}

#[derive(Clone, Debug)]
struct Entry {
    data: Cached,
    stored: Instant,
    expires: Instant,
}

/// A bounded cache of answers keyed by (name without regard to case, type, class).
#[derive(Debug)]
pub struct Cache {
    entries: HashMap<(Name, RType, Class), Entry>,
    max_entries: usize,
    max_ttl: u32,
    max_negative_ttl: u32,
}

/// RFC 2181 section 8: a TTL with the top bit set is treated as zero.
fn ttl_of(r: &Record) -> u32 {
    if r.ttl > i32::MAX as u32 {
        0
    } else {
        r.ttl
    }
}

impl Cache {
    /// A cache of at most `max_entries` answers, keeping none longer than `max_ttl`
    /// seconds, nor negative ones longer than `max_negative_ttl` (RFC 2308 section 5
    /// suggests one to three hours).
    pub fn new(max_entries: usize, max_ttl: u32, max_negative_ttl: u32) -> Cache {
        Cache {
            entries: HashMap::new(),
            max_entries,
            max_ttl,
            max_negative_ttl,
        }
    }

    /// How many answers are held (expired ones included until they are looked at).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn key(q: &Question) -> (Name, RType, Class) {
        (q.name.to_lowercase(), q.qtype, q.qclass)
    }

    /// The answer to `q` if one is held and has not expired at `now`, its TTLs reduced by
    /// the time it has been held.
    pub fn get(&mut self, q: &Question, now: Instant) -> Option<Cached> {
        let key = Cache::key(q);
        let e = self.entries.get(&key)?;
        if now >= e.expires {
            self.entries.remove(&key);
            return None;
        }
        let held = (now.saturating_duration_since(e.stored).total_micros() / 1_000_000) as u32;
        let age = |rs: &[Record]| -> Vec<Record> {
            rs.iter()
                .map(|r| Record {
                    ttl: ttl_of(r).saturating_sub(held),
                    ..r.clone()
                })
                .collect()
        };
        Some(Cached {
            rcode: e.data.rcode,
            answers: age(&e.data.answers),
            authority: age(&e.data.authority),
        })
    }

    /// How long the response `m` to `q` may be kept, in seconds, or `None` if it may not:
    /// - an answer: the least TTL among its records (RFC 2181 section 5.2: an RRset has
    ///   one TTL; a CNAME chain lives as long as its shortest link);
    /// - NXDOMAIN or NODATA: the lesser of the SOA record's TTL and its MINIMUM field
    ///   (RFC 2308 section 5); without an SOA it is not cached (RFC 2308 section 5);
    /// - truncated answers, referrals and other response codes are not kept.
    pub fn ttl_for(&self, m: &Message) -> Option<u32> {
        if m.header.tc {
            return None;
        }
        let rcode = m.rcode();
        if rcode == Rcode::NOERROR && !m.answers.is_empty() {
            let ttl = m.answers.iter().map(ttl_of).min()?;
            return Some(ttl.min(self.max_ttl));
        }
        if rcode != Rcode::NOERROR && rcode != Rcode::NXDOMAIN {
            return None;
        }
        let soa = m.authority.iter().find_map(|r| match &r.data {
            RData::Soa(s) => Some((ttl_of(r), s.minimum)),
            _ => None,
        })?;
        Some(soa.0.min(soa.1).min(self.max_negative_ttl))
    }

    /// Keeps the response `m` to `q`, received at `now`, if [`Cache::ttl_for`] allows.
    /// When full, expired answers go first, then the one closest to expiring.
    pub fn insert(&mut self, q: &Question, m: &Message, now: Instant) {
        let Some(ttl) = self.ttl_for(m).filter(|&t| t > 0) else {
            return;
        };
        if self.max_entries == 0 {
            return;
        }
        let key = Cache::key(q);
        if !self.entries.contains_key(&key) && self.entries.len() >= self.max_entries {
            self.entries.retain(|_, e| e.expires > now);
            if self.entries.len() >= self.max_entries {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.expires)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    self.entries.remove(&k);
                }
            }
        }
        let expires = now
            .checked_add(Duration::from_secs(u64::from(ttl)))
            .unwrap_or(now);
        let authority = if m.answers.is_empty() {
            m.authority
                .iter()
                .filter(|r| r.rtype() == RType::SOA)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        self.entries.insert(
            key,
            Entry {
                data: Cached {
                    rcode: m.rcode(),
                    answers: m.answers.clone(),
                    authority,
                },
                stored: now,
                expires,
            },
        );
    }
}
