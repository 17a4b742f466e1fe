//! Address formation and DAD, each rule with its RFC section, checked against what Linux
//! did in the IPv6 capture where it can be.

use super::*;
use crate::tcp::siphash::siphash24;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::Ipv6Packet;
use crate::wire::ndp::NdpRepr;

const T0: Instant = Instant::from_secs(50);

/// RFC 4291 Appendix A: the modified EUI-64 identifier; Linux formed
/// fe80::e82c:d8ff:feaf:e86 from ea:2c:d8:af:0e:86 (frame 2's target), flipping the
/// universal/local bit of 0xea to 0xe8.
#[test]
fn link_local_from_mac_like_linux() {
    let mac = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);
    let iid = eui64_interface_id(mac);
    assert_eq!(iid, [0xe8, 0x2c, 0xd8, 0xff, 0xfe, 0xaf, 0x0e, 0x86]);
    let ll = link_local(iid);
    let p = Ipv6Packet::new_checked(&FRAME_2[L3..]).unwrap();
    let NdpRepr::NeighborSolicit { target, .. } = ndp(&FRAME_2) else {
        panic!()
    };
    assert_eq!(ll, target);
    assert_eq!(solicited_node(&ll), p.dst_addr());
    // A locally administered address gets the bit set instead.
    assert_eq!(
        eui64_interface_id(EthernetAddress([0x02, 0, 0, 0, 0, 1]))[0],
        0x00
    );
}

fn ndp(frame: &[u8]) -> NdpRepr<'_> {
    let p = Ipv6Packet::new_checked(&frame[L3..]).unwrap();
    let m = crate::wire::icmpv6::Icmpv6Packet::new_checked(&frame[L4..]).unwrap();
    match Icmpv6Repr::parse(p.src_addr(), p.dst_addr(), &m).unwrap() {
        Icmpv6Repr::Ndp(n) => n,
        other => panic!("{other:?}"),
    }
}

fn prf(key: [u64; 2]) -> impl Fn(&[u8]) -> u64 {
    move |d| siphash24(key, d)
}

/// RFC 7217 section 5: the identifier is a function of prefix, interface, network and
/// DAD counter under a secret key: stable for the same inputs, different when any of
/// them changes.
#[test]
fn stable_identifiers() {
    let k = [0x0123_4567_89ab_cdef, 0x1122_3344_5566_7788];
    let pfx = [0xfe, 0x80, 0, 0, 0, 0, 0, 0];
    let (a, c) = stable_interface_id(pfx, b"tun0", b"", 0, prf(k));
    assert_eq!(c, 0);
    assert_eq!(stable_interface_id(pfx, b"tun0", b"", 0, prf(k)), (a, 0));
    let others = [
        stable_interface_id([0xfd, 0, 0, 0x77, 0, 0, 0, 0], b"tun0", b"", 0, prf(k)).0,
        stable_interface_id(pfx, b"tun1", b"", 0, prf(k)).0,
        stable_interface_id(pfx, b"tun0", b"ssid", 0, prf(k)).0,
        stable_interface_id(pfx, b"tun0", b"", 1, prf(k)).0,
        stable_interface_id(pfx, b"tun0", b"", 0, prf([1, 2])).0,
        // The length prefix keeps ("tun", "0x") and ("tun0", "x") apart.
        stable_interface_id(pfx, b"tun", b"0", 0, prf(k)).0,
    ];
    for o in others {
        assert_ne!(o, a);
    }
    assert_ne!(
        stable_interface_id(pfx, b"tun", b"0", 0, prf(k)).0,
        stable_interface_id(pfx, b"tun0", b"", 0, prf(k)).0
    );
}

/// RFC 7217 section 5: a reserved identifier (RFC 5453) is not used; the DAD counter is
/// incremented and the identifier computed again.
#[test]
fn reserved_identifiers_skipped() {
    assert!(is_reserved_iid([0; 8]));
    assert!(is_reserved_iid([
        0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80
    ]));
    assert!(!is_reserved_iid([
        0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
    ]));
    assert!(is_reserved_iid([
        0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x52, 0x13
    ]));
    // A function that gives all zeros for counter 0.
    let f = |d: &[u8]| if d[d.len() - 1] == 0 { 0 } else { 0x1234 };
    let (iid, c) = stable_interface_id([0; 8], b"eth0", b"", 0, f);
    assert_eq!((iid, c), (0x1234u64.to_be_bytes(), 1));
}

/// RFC 4862 section 5.4.2 and RFC 7527 section 4.1: the DAD solicitation goes from ::
/// to the solicited-node address with the nonce and no link-layer address: built with
/// Linux's nonce, it is frame 2 byte for byte (checksum included).
#[test]
fn dad_solicitation_like_linux() {
    let NdpRepr::NeighborSolicit { target, options } = ndp(&FRAME_2) else {
        panic!()
    };
    let nonce: [u8; 6] = options[2..8].try_into().unwrap();
    let (dst, body) = dad_solicitation(target, nonce);
    let repr = Icmpv6Repr::Ndp(NdpRepr::parse(135, 0, &body).unwrap());
    let mut msg = vec![0u8; repr.buffer_len()];
    repr.emit(Ipv6Addr::UNSPECIFIED, dst, &mut msg).unwrap();
    assert_eq!(msg, &FRAME_2[L4..]);
    let p = Ipv6Packet::new_checked(&FRAME_2[L3..]).unwrap();
    assert_eq!((p.dst_addr(), p.hop_limit()), (dst, 255));
}

const A: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xe82c, 0xd8ff, 0xfeaf, 0x0e86);
const NONCE: [u8; 6] = [1, 2, 3, 4, 5, 6];

fn dad() -> Dad {
    Dad::start(
        T0,
        A,
        DadConfig::default(),
        Duration::from_millis(300),
        NONCE,
    )
}

/// RFC 4862 section 5.4.2: after the random initial delay, DupAddrDetectTransmits (1)
/// solicitations RetransTimer apart; RetransTimer after the last with no reply, the
/// address is assigned (5.4.5 is only for duplicates). Until then it takes no traffic.
#[test]
fn dad_assigns_after_silence() {
    let mut d = dad();
    assert_eq!(d.state(), DadState::Tentative);
    assert!(!d.accepts_traffic());
    assert_eq!(d.poll_at(), Some(T0 + Duration::from_millis(300)));
    assert_eq!(d.handle_timeout(T0), None);
    let t1 = T0 + Duration::from_millis(300);
    assert_eq!(
        d.handle_timeout(t1),
        Some(DadAction::Solicit {
            target: A,
            nonce: NONCE
        })
    );
    assert_eq!(d.handle_timeout(t1 + Duration::from_millis(999)), None);
    assert_eq!(
        d.handle_timeout(t1 + Duration::from_secs(1)),
        Some(DadAction::Assigned(A))
    );
    assert!(d.accepts_traffic());
    assert_eq!(d.poll_at(), None);
    assert_eq!(d.addr(), A);
}

/// RFC 4862 section 5.1: DupAddrDetectTransmits of 3 sends three; of 0 turns DAD off.
#[test]
fn dad_transmit_count() {
    let cfg = DadConfig {
        transmits: 3,
        ..Default::default()
    };
    let mut d = Dad::start(T0, A, cfg, Duration::ZERO, NONCE);
    let mut solicits = 0;
    let mut t = T0;
    loop {
        match d.handle_timeout(t) {
            Some(DadAction::Solicit { .. }) => solicits += 1,
            Some(DadAction::Assigned(_)) => break,
            None => panic!("no timer at {t:?}"),
        }
        t = d.poll_at().unwrap();
    }
    assert_eq!((solicits, t), (3, T0 + Duration::from_secs(3)));
    let off = Dad::start(
        T0,
        A,
        DadConfig {
            transmits: 0,
            ..Default::default()
        },
        Duration::ZERO,
        NONCE,
    );
    assert!(off.accepts_traffic());
}

/// RFC 4862 section 5.4.3: a solicitation for the tentative address from the unspecified
/// address is another node's DAD: duplicate. From a unicast address it is ignored; RFC
/// 7527 section 4.2: with our own nonce it is our own, looped back, and ignored.
#[test]
fn dad_solicitation_received() {
    let other: Ipv6Addr = "fe80::1".parse().unwrap();
    let u = Ipv6Addr::UNSPECIFIED;
    let mut d = dad();
    assert!(!d.solicitation(u, A, Some(NONCE)), "our own, looped back");
    assert!(!d.solicitation(other, A, None), "address resolution for it");
    assert!(!d.solicitation(u, other, None), "another target");
    assert_eq!(d.state(), DadState::Tentative);
    assert!(d.solicitation(u, A, Some([9; 6])));
    assert_eq!(d.state(), DadState::Duplicate);
    assert!(!d.accepts_traffic());
    assert_eq!(
        (d.poll_at(), d.handle_timeout(T0 + Duration::from_secs(9))),
        (None, None)
    );
    // Without a nonce (an older stack) it is a duplicate too.
    let mut d = dad();
    assert!(d.solicitation(u, A, None));
}

/// RFC 4862 section 5.4.4: an advertisement for the tentative address: duplicate. Once
/// assigned, DAD is over and advertisements are the neighbour cache's business.
#[test]
fn dad_advertisement_received() {
    let mut d = dad();
    assert!(!d.advertisement("fe80::1".parse().unwrap()));
    assert!(d.advertisement(A));
    assert_eq!(d.state(), DadState::Duplicate);
    let mut d = dad();
    let _ = d.handle_timeout(T0 + Duration::from_millis(300));
    let _ = d.handle_timeout(T0 + Duration::from_secs(2));
    assert_eq!(d.state(), DadState::Assigned);
    assert!(!d.advertisement(A));
    assert_eq!(d.state(), DadState::Assigned);
}
