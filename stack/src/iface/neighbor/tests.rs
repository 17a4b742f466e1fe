//! The cache on its own; the packet-level ARP rules are pinned in `stack/ethernet/tests.rs`.

use super::*;

const I: IfaceId = IfaceId(0);
const T0: Instant = Instant::from_secs(100);

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, 0, n)
}

fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn cache() -> NeighborCache {
    NeighborCache::new(NeighborConfig::default())
}

/// RFC 1122 2.3.2.2: a datagram for an unresolved address is held, and released in
/// order when the address is learned.
#[test]
fn hold_then_release_in_order() {
    let mut c = cache();
    assert_eq!(c.lookup(T0, (I, ip(1))), None);
    let h = c.hold(T0, (I, ip(1)), vec![1]);
    assert!(h.queued && h.new && !h.evicted);
    let h = c.hold(T0, (I, ip(1)), vec![2]);
    assert!(h.queued && !h.new);
    assert_eq!(c.held(), 2);
    assert_eq!(
        c.get(T0, (I, ip(1))),
        Some((NeighborState::Incomplete, None))
    );
    assert_eq!(c.poll_at(), Some(T0), "the first request is due at once");
    let l = c.learn(T0, (I, ip(1)), mac(1), false);
    assert!(l.merged && !l.added);
    assert_eq!(l.released, vec![vec![1].into(), vec![2].into()]);
    assert_eq!(c.held(), 0);
    assert_eq!(c.lookup(T0, (I, ip(1))), Some(mac(1)));
    assert_eq!(c.poll_at(), None);
}

/// RFC 1122 2.3.2.1: at most one request per second per destination, `max_probes` of
/// them, then the resolution fails and hands back what was waiting.
#[test]
fn requests_are_paced_then_resolution_fails() {
    let mut c = cache();
    c.hold(T0, (I, ip(1)), vec![7]);
    let req = || Timeout::Request {
        key: (I, ip(1)),
        unicast: None,
    };
    assert_eq!(c.expire(T0), vec![req()]);
    assert_eq!(c.expire(T0 + Duration::from_millis(999)), vec![]);
    assert_eq!(c.poll_at(), Some(T0 + secs(1)));
    assert_eq!(c.expire(T0 + secs(1)), vec![req()]);
    assert_eq!(c.expire(T0 + secs(2)), vec![req()]);
    assert_eq!(
        c.expire(T0 + secs(3)),
        vec![Timeout::Failed {
            key: (I, ip(1)),
            queue: vec![vec![7].into()],
        }]
    );
    assert!(c.is_empty());
    assert_eq!((c.held(), c.poll_at()), (0, None));
}

/// RFC 826 merge rule: a packet from a sender not in the table adds it only when the
/// packet was for us; one from a sender in the table updates it either way.
#[test]
fn merge_rule() {
    let mut c = cache();
    let l = c.learn(T0, (I, ip(1)), mac(1), false);
    assert_eq!(l, Learned::default());
    assert!(c.is_empty());
    let l = c.learn(T0, (I, ip(1)), mac(1), true);
    assert!(l.added && !l.merged);
    let l = c.learn(T0, (I, ip(1)), mac(9), false);
    assert!(l.merged && !l.added);
    assert_eq!(c.lookup(T0, (I, ip(1))), Some(mac(9)));
}

/// REACHABLE ages to STALE after `reachable_time`; using a STALE entry sends to the
/// cached address and starts a unicast poll; an answer makes it REACHABLE again.
#[test]
fn aging_and_stale_refresh() {
    let mut c = cache();
    c.learn(T0, (I, ip(1)), mac(1), true);
    let k = (I, ip(1));
    assert_eq!(c.get(T0 + secs(29), k).unwrap().0, NeighborState::Reachable);
    assert_eq!(c.get(T0 + secs(30), k).unwrap().0, NeighborState::Stale);
    assert_eq!(c.poll_at(), None, "aging needs no timer");
    let t = T0 + secs(40);
    assert_eq!(c.lookup(t, k), Some(mac(1)));
    assert_eq!(c.get(t, k).unwrap().0, NeighborState::Probe);
    assert_eq!(
        c.expire(t),
        vec![Timeout::Request {
            key: k,
            unicast: Some(mac(1)),
        }]
    );
    c.learn(t + Duration::from_millis(500), k, mac(1), false);
    assert_eq!(c.get(t + secs(1), k).unwrap().0, NeighborState::Reachable);
    assert_eq!(c.poll_at(), None);
}

/// RFC 1122 2.3.2.1 unicast poll: a stale entry whose polls go unanswered is flushed;
/// nothing was waiting, so nothing fails.
#[test]
fn unanswered_polls_flush_the_entry() {
    let mut c = cache();
    let k = (I, ip(1));
    c.learn(T0, k, mac(1), true);
    let t = T0 + secs(60);
    c.lookup(t, k);
    for n in 0..3 {
        assert_eq!(c.expire(t + secs(n)).len(), 1);
    }
    assert_eq!(c.expire(t + secs(3)), vec![]);
    assert!(c.is_empty());
    assert_eq!(c.lookup(t + secs(3), k), None);
}

/// The table is bounded: a new entry evicts the least recently used resolved one;
/// entries being resolved are never evicted, and when they fill the table a new
/// resolution is refused.
#[test]
fn cache_bound_evicts_least_recently_used() {
    let mut c = NeighborCache::new(NeighborConfig {
        max_entries: 3,
        ..NeighborConfig::default()
    });
    for n in 1..=3 {
        c.learn(T0 + secs(n.into()), (I, ip(n)), mac(n), true);
    }
    c.lookup(T0 + secs(5), (I, ip(1))); // 1 is now more recent than 2
    let l = c.learn(T0 + secs(6), (I, ip(4)), mac(4), true);
    assert!(l.added && l.evicted);
    assert_eq!(c.len(), 3);
    assert!(c.get(T0, (I, ip(2))).is_none(), "2 was least recently used");
    let h = c.hold(T0 + secs(7), (I, ip(5)), vec![5]);
    assert!(h.queued && h.evicted);
    assert!(c.get(T0, (I, ip(3))).is_none());
    // Fill the rest with resolutions in progress.
    c.hold(T0 + secs(8), (I, ip(6)), vec![6]);
    c.hold(T0 + secs(8), (I, ip(7)), vec![7]);
    assert_eq!(c.len(), 3);
    let h = c.hold(T0 + secs(9), (I, ip(8)), vec![8]);
    assert_eq!(h, Held::default(), "refused: nothing evictable");
    let l = c.learn(T0 + secs(9), (I, ip(9)), mac(9), true);
    assert!(!l.added);
    assert_eq!(c.len(), 3);
}

/// The held datagrams are bounded per address (oldest pushed out) and in total (newest
/// refused).
#[test]
fn queue_bounds() {
    let mut c = NeighborCache::new(NeighborConfig {
        queue_per_neighbor: 2,
        queue_total: 3,
        ..NeighborConfig::default()
    });
    c.hold(T0, (I, ip(1)), vec![1]);
    c.hold(T0, (I, ip(1)), vec![2]);
    let h = c.hold(T0, (I, ip(1)), vec![3]);
    assert!(h.queued);
    assert_eq!(h.pushed_out, 1);
    c.hold(T0, (I, ip(2)), vec![4]);
    let h = c.hold(T0, (I, ip(3)), vec![5]);
    assert!(!h.queued && h.new, "total full");
    assert_eq!(c.held(), 3);
    let l = c.learn(T0, (I, ip(1)), mac(1), false);
    assert_eq!(l.released, vec![vec![2].into(), vec![3].into()]);
    assert_eq!(c.held(), 1);
    assert_eq!(c.remove((I, ip(2))), vec![vec![4].into()]);
    assert_eq!(c.held(), 0);
}

/// Interfaces have separate neighbours: the same address on two links is two entries.
#[test]
fn keyed_by_interface() {
    let mut c = cache();
    c.learn(T0, (IfaceId(0), ip(1)), mac(1), true);
    c.learn(T0, (IfaceId(1), ip(1)), mac(2), true);
    assert_eq!(c.lookup(T0, (IfaceId(0), ip(1))), Some(mac(1)));
    assert_eq!(c.lookup(T0, (IfaceId(1), ip(1))), Some(mac(2)));
    assert_eq!(c.iter(T0).count(), 2);
}
