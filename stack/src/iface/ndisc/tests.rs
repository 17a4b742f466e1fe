//! Packet scripts for the neighbour cache: one per transition of RFC 4861 section 7.3.2
//! and Appendix C, at explicit times.

use super::*;

const N: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const M1: EthernetAddress = EthernetAddress([0x46, 0x32, 0xdc, 0xb3, 0x8c, 0x40]);
const M2: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 2]);
const T0: Instant = Instant::from_secs(1000);

fn secs(s: u64) -> Instant {
    T0 + Duration::from_secs(s)
}

fn ms(m: u64) -> Instant {
    T0 + Duration::from_millis(m)
}

const SOLICITED: NaFlags = NaFlags {
    router: false,
    solicited: true,
    override_: true,
};
const UNSOLICITED: NaFlags = NaFlags {
    router: false,
    solicited: false,
    override_: true,
};

fn cache() -> NeighborCache6 {
    NeighborCache6::new(Ndisc6Config::default())
}

fn multicast() -> Action {
    Action::Solicit {
        target: N,
        unicast: None,
    }
}

fn unicast(mac: EthernetAddress) -> Action {
    Action::Solicit {
        target: N,
        unicast: Some(mac),
    }
}

#[track_caller]
fn state(c: &NeighborCache6) -> Option<State6> {
    c.get(N).map(|(s, _)| s)
}

/// A cache with N REACHABLE at M1 since T0.
fn reachable() -> NeighborCache6 {
    let mut c = cache();
    let _ = c.resolve(T0, N, b"p".to_vec());
    let _ = c.advertisement(T0, N, SOLICITED, Some(M1));
    assert_eq!(state(&c), Some(State6::Reachable));
    c
}

/// RFC 4861 section 7.2.2: a packet for an unknown neighbour creates an INCOMPLETE entry,
/// is queued, and a multicast solicitation goes out; it is retransmitted every
/// RetransTimer, MAX_MULTICAST_SOLICIT times in all; then the entry is deleted and the
/// queued packets get ICMPv6 address unreachable.
#[test]
fn incomplete_retransmits_then_fails() {
    let mut c = cache();
    assert_eq!(
        c.resolve(T0, N, b"one".to_vec()),
        Resolve::Queued(vec![multicast()])
    );
    assert_eq!(state(&c), Some(State6::Incomplete));
    // A second packet waits without a new solicitation.
    assert_eq!(
        c.resolve(ms(10), N, b"two".to_vec()),
        Resolve::Queued(vec![])
    );
    assert_eq!(c.poll_at(), Some(secs(1)));
    assert!(c.handle_timeout(ms(999)).is_empty());
    assert_eq!(c.handle_timeout(secs(1)), [multicast()]);
    assert_eq!(c.handle_timeout(secs(2)), [multicast()]);
    let failed = c.handle_timeout(secs(3));
    assert_eq!(
        failed,
        [Action::Unreachable {
            target: N,
            packets: vec![b"one".to_vec().into(), b"two".to_vec().into()]
        }]
    );
    assert_eq!(state(&c), None);
    assert_eq!(c.poll_at(), None);
}

/// RFC 4861 section 7.2.2: "When a queue overflows, the new arrival SHOULD replace the
/// oldest entry."
#[test]
fn queue_overflow_replaces_oldest() {
    let mut c = NeighborCache6::new(Ndisc6Config {
        queue_len: 2,
        ..Default::default()
    });
    for p in [b"a", b"b", b"c"] {
        let _ = c.resolve(T0, N, p.to_vec());
    }
    let got = c.advertisement(T0, N, SOLICITED, Some(M1));
    assert_eq!(
        got,
        [Action::Flush {
            target: N,
            mac: M1,
            packets: vec![b"b".to_vec().into(), b"c".to_vec().into()]
        }]
    );
}

/// RFC 4861 section 7.2.5: in INCOMPLETE, an advertisement with the target's link-layer
/// address records it and sends the queue; REACHABLE if solicited, STALE if not.
#[test]
fn incomplete_resolved_by_advertisement() {
    let mut c = cache();
    let _ = c.resolve(T0, N, b"x".to_vec());
    let got = c.advertisement(ms(3), N, SOLICITED, Some(M1));
    assert_eq!(
        got,
        [Action::Flush {
            target: N,
            mac: M1,
            packets: vec![b"x".to_vec().into()]
        }]
    );
    assert_eq!(c.get(N), Some((State6::Reachable, Some(M1))));
    assert_eq!(
        c.resolve(ms(4), N, b"y".to_vec()),
        Resolve::Send(M1, b"y".to_vec().into())
    );

    let mut c = cache();
    let _ = c.resolve(T0, N, b"x".to_vec());
    let got = c.advertisement(ms(3), N, UNSOLICITED, Some(M1));
    assert_eq!(got.len(), 1);
    assert_eq!(c.get(N), Some((State6::Stale, Some(M1))));
}

/// RFC 4861 section 7.2.5: "If the link layer has addresses and no Target Link-Layer
/// Address option is included, the receiving node SHOULD silently discard the received
/// advertisement" while INCOMPLETE; and with no entry at all it is discarded too.
#[test]
fn advertisements_ignored() {
    let mut c = cache();
    let _ = c.resolve(T0, N, b"x".to_vec());
    assert!(c.advertisement(T0, N, SOLICITED, None).is_empty());
    assert_eq!(state(&c), Some(State6::Incomplete));
    let other: Ipv6Addr = "fd00:77::9".parse().unwrap();
    assert!(c.advertisement(T0, other, SOLICITED, Some(M2)).is_empty());
    assert_eq!(c.get(other), None);
}

/// RFC 4861 section 7.3.3: REACHABLE becomes STALE when ReachableTime passes without a
/// confirmation.
#[test]
fn reachable_times_out_to_stale() {
    let mut c = reachable();
    assert_eq!(c.poll_at(), Some(secs(30)));
    assert!(c.handle_timeout(secs(29)).is_empty());
    assert_eq!(state(&c), Some(State6::Reachable));
    assert!(c.handle_timeout(secs(30)).is_empty());
    assert_eq!(state(&c), Some(State6::Stale));
    assert_eq!(c.poll_at(), None, "STALE has no timer");
}

/// RFC 4861 section 7.3.3: sending to a STALE entry goes to DELAY; after
/// DELAY_FIRST_PROBE_TIME without confirmation, PROBE with a unicast solicitation every
/// RetransTimer, MAX_UNICAST_SOLICIT in all; unanswered, the entry is deleted.
#[test]
fn stale_delay_probe_then_deleted() {
    let mut c = reachable();
    let _ = c.handle_timeout(secs(30));
    assert_eq!(
        c.resolve(secs(40), N, b"p".to_vec()),
        Resolve::Send(M1, b"p".to_vec().into())
    );
    assert_eq!(state(&c), Some(State6::Delay));
    // Packets keep going to the cached address while it is checked.
    assert_eq!(
        c.resolve(secs(41), N, b"p".to_vec()),
        Resolve::Send(M1, b"p".to_vec().into())
    );
    assert_eq!(c.poll_at(), Some(secs(45)));
    assert_eq!(c.handle_timeout(secs(45)), [unicast(M1)]);
    assert_eq!(state(&c), Some(State6::Probe));
    assert_eq!(c.handle_timeout(secs(46)), [unicast(M1)]);
    assert_eq!(c.handle_timeout(secs(47)), [unicast(M1)]);
    assert!(c.handle_timeout(secs(48)).is_empty());
    assert_eq!(state(&c), None);
}

/// RFC 4861 section 7.3.1 and Appendix C: an upper-layer confirmation in DELAY (or any
/// state but INCOMPLETE) makes the entry REACHABLE and stops the probing.
#[test]
fn confirmation_in_delay() {
    let mut c = reachable();
    let _ = c.handle_timeout(secs(30));
    let _ = c.resolve(secs(40), N, b"p".to_vec());
    c.confirm(secs(41), N);
    assert_eq!(state(&c), Some(State6::Reachable));
    assert_eq!(c.poll_at(), Some(secs(71)));
    // In INCOMPLETE a confirmation means nothing.
    let mut c = cache();
    let _ = c.resolve(T0, N, b"p".to_vec());
    c.confirm(T0, N);
    assert_eq!(state(&c), Some(State6::Incomplete));
}

/// Appendix C: PROBE + solicited NA with the same address: REACHABLE.
#[test]
fn probe_answered() {
    let mut c = reachable();
    let _ = c.handle_timeout(secs(30));
    let _ = c.resolve(secs(40), N, b"p".to_vec());
    let _ = c.handle_timeout(secs(45));
    assert_eq!(state(&c), Some(State6::Probe));
    let flags = NaFlags {
        solicited: true,
        ..NaFlags::default()
    };
    assert!(c.advertisement(secs(45), N, flags, Some(M1)).is_empty());
    assert_eq!(c.get(N), Some((State6::Reachable, Some(M1))));
    assert_eq!(c.poll_at(), Some(secs(75)));
}

/// RFC 4861 section 7.2.5: Override clear and a different link-layer address: a
/// REACHABLE entry goes STALE without taking the new address; other states ignore it.
#[test]
fn override_clear_different_address() {
    let mut c = reachable();
    let flags = NaFlags {
        solicited: true,
        ..NaFlags::default()
    };
    assert!(c.advertisement(ms(10), N, flags, Some(M2)).is_empty());
    assert_eq!(c.get(N), Some((State6::Stale, Some(M1))));
    assert!(c.advertisement(ms(20), N, flags, Some(M2)).is_empty());
    assert_eq!(c.get(N), Some((State6::Stale, Some(M1))));
}

/// RFC 4861 section 7.2.5: Override set: the new address is recorded; solicited makes
/// it REACHABLE, unsolicited STALE. An unsolicited NA with the same address changes
/// nothing.
#[test]
fn override_set() {
    let mut c = reachable();
    assert!(c.advertisement(ms(10), N, UNSOLICITED, Some(M1)).is_empty());
    assert_eq!(c.get(N), Some((State6::Reachable, Some(M1))));
    assert!(c.advertisement(ms(20), N, UNSOLICITED, Some(M2)).is_empty());
    assert_eq!(c.get(N), Some((State6::Stale, Some(M2))));
    assert!(c.advertisement(ms(30), N, SOLICITED, Some(M1)).is_empty());
    assert_eq!(c.get(N), Some((State6::Reachable, Some(M1))));
}

/// RFC 4861 section 7.2.5: the R flag updates IsRouter.
#[test]
fn is_router_flag() {
    let mut c = reachable();
    assert!(!c.is_router(N));
    let r = NaFlags {
        router: true,
        ..SOLICITED
    };
    let _ = c.advertisement(ms(5), N, r, Some(M1));
    assert!(c.is_router(N));
}

/// RFC 4861 section 7.2.3 and Appendix C: a solicitation with a source link-layer
/// address creates a STALE entry, resolves an INCOMPLETE one (sending its queue), moves a
/// changed one to STALE, and leaves an unchanged one alone.
#[test]
fn solicitation_source_address() {
    let mut c = cache();
    assert!(c.solicitation(T0, N, M1).is_empty());
    assert_eq!(c.get(N), Some((State6::Stale, Some(M1))));

    let mut c = cache();
    let _ = c.resolve(T0, N, b"q".to_vec());
    let got = c.solicitation(ms(1), N, M1);
    assert_eq!(
        got,
        [Action::Flush {
            target: N,
            mac: M1,
            packets: vec![b"q".to_vec().into()]
        }]
    );
    assert_eq!(c.get(N), Some((State6::Stale, Some(M1))));

    let mut c = reachable();
    assert!(c.solicitation(ms(1), N, M1).is_empty());
    assert_eq!(state(&c), Some(State6::Reachable));
    assert!(c.solicitation(ms(2), N, M2).is_empty());
    assert_eq!(c.get(N), Some((State6::Stale, Some(M2))));
}

/// The cache is bounded: the least recently used resolved entry makes room; a cache full
/// of INCOMPLETE entries refuses a new one.
#[test]
fn bounded_entries() {
    let mut c = NeighborCache6::new(Ndisc6Config {
        max_entries: 2,
        ..Default::default()
    });
    let a: Ipv6Addr = "fd00::a".parse().unwrap();
    let b: Ipv6Addr = "fd00::b".parse().unwrap();
    let d: Ipv6Addr = "fd00::d".parse().unwrap();
    let _ = c.solicitation(T0, a, M1);
    let _ = c.solicitation(ms(1), b, M2);
    assert_eq!(
        c.resolve(ms(2), a, Vec::<u8>::new()),
        Resolve::Send(M1, Vec::<u8>::new().into())
    ); // a used more recently
    let _ = c.solicitation(ms(3), d, M2);
    assert_eq!(c.len(), 2);
    assert!(c.get(b).is_none() && c.get(a).is_some());
    let mut c = NeighborCache6::new(Ndisc6Config {
        max_entries: 1,
        ..Default::default()
    });
    let _ = c.resolve(T0, a, vec![]);
    assert_eq!(c.resolve(T0, b, vec![]), Resolve::NoRoom);
    assert!(!c.is_empty());
}

/// RFC 4861 section 6.3.2: ReachableTime is uniformly distributed between 0.5 and 1.5
/// times BaseReachableTime.
#[test]
fn randomized_reachable_time() {
    let base = Duration::from_secs(30);
    assert_eq!(random_reachable_time(base, 0.0), Duration::from_secs(15));
    assert_eq!(random_reachable_time(base, 0.5), Duration::from_secs(30));
    assert!(random_reachable_time(base, 0.999_999) < Duration::from_secs(45));
    assert!(random_reachable_time(base, 7.0) <= Duration::from_secs(45));
}
