use super::*;
use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::Ipv6Packet;
use crate::wire::testutil::hostile_buffers;
use proptest::prelude::*;

const MAC1: EthernetAddress = EthernetAddress([0x46, 0x32, 0xdc, 0xb3, 0x8c, 0x40]);
const MAC2: EthernetAddress = EthernetAddress([0xea, 0x2c, 0xd8, 0xaf, 0x0e, 0x86]);
const A1: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const A2: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);

/// Parses a captured ND frame: the repr, and the IPv6 source, destination, hop limit.
fn nd(frame: &[u8]) -> (NdpRepr<'_>, Ipv6Addr, Ipv6Addr, u8) {
    let ip = Ipv6Packet::new_checked(&frame[L3..]).unwrap();
    let msg = &frame[L4..];
    let r = Icmpv6Repr::parse(
        ip.src_addr(),
        ip.dst_addr(),
        &Icmpv6Packet::new_checked(msg).unwrap(),
    );
    let Ok(Icmpv6Repr::Ndp(n)) = r else {
        panic!("not ND: {r:?}")
    };
    // Emitting the repr gives the captured message back, checksum included.
    let mut out = vec![0u8; msg.len()];
    Icmpv6Repr::Ndp(n)
        .emit(ip.src_addr(), ip.dst_addr(), &mut out)
        .unwrap();
    assert_eq!(out, msg);
    (n, ip.src_addr(), ip.dst_addr(), ip.hop_limit())
}

/// Frame 17: Linux resolving fd00:77::2: to its solicited-node address, hop limit 255,
/// with its own MAC in a Source Link-Layer Address option (RFC 4861 sections 4.3, 7.2.2).
#[test]
fn fixture_neighbor_solicitation() {
    let (n, src, dst, hl) = nd(&FRAME_17);
    assert_eq!(
        n,
        NdpRepr::NeighborSolicit {
            target: A2,
            options: &FRAME_17[L4 + 24..]
        }
    );
    assert_eq!(n.source_ll_addr(), Some(MAC1));
    assert_eq!(n.target_ll_addr(), None);
    assert_eq!((src, dst, hl), (A1, addr::solicited_node(&A2), 255));
    assert_eq!(n.validate(src, dst, hl), Ok(()));
    assert_eq!(n.to_string(), "neighbor solicitation for fd00:77::2");
}

/// Frame 18: the answer, solicited and override, with the Target Link-Layer Address
/// (RFC 4861 sections 4.4, 7.2.4).
#[test]
fn fixture_neighbor_advertisement() {
    let (n, src, dst, hl) = nd(&FRAME_18);
    let NdpRepr::NeighborAdvert { flags, target, .. } = n else {
        panic!()
    };
    assert_eq!(
        flags,
        NaFlags {
            router: false,
            solicited: true,
            override_: true
        }
    );
    assert_eq!(target, A2);
    assert_eq!(n.target_ll_addr(), Some(MAC2));
    assert_eq!(n.validate(src, dst, hl), Ok(()));
    assert_eq!(n.to_string(), "neighbor advertisement fd00:77::2 S O");
}

/// Frame 2: duplicate address detection (RFC 4862 section 5.4.2): from the unspecified
/// address to the solicited-node address of the tentative one, with no link-layer
/// address but the Nonce option of enhanced DAD (RFC 7527 section 4.1, type 14), which
/// this parser keeps as an unknown option.
#[test]
fn fixture_dad_solicitation() {
    let (n, src, dst, hl) = nd(&FRAME_2);
    let ll: Ipv6Addr = "fe80::e82c:d8ff:feaf:e86".parse().unwrap();
    assert_eq!(
        n,
        NdpRepr::NeighborSolicit {
            target: ll,
            options: &FRAME_2[L4 + 24..]
        }
    );
    assert!(matches!(
        n.options().collect::<Vec<_>>()[..],
        [NdpOption::Unknown {
            opt_type: 14,
            data: [_, _, _, _, _, _]
        }]
    ));
    assert_eq!(n.source_ll_addr(), None);
    assert!(src.is_unspecified());
    assert_eq!(dst, addr::solicited_node(&ll));
    assert_eq!(n.validate(src, dst, hl), Ok(()));
}

/// Frame 9: a Router Solicitation with the sender's MAC (RFC 4861 section 4.1).
#[test]
fn fixture_router_solicitation() {
    let (n, src, dst, hl) = nd(&FRAME_9);
    assert_eq!(n.source_ll_addr(), Some(MAC2));
    assert_eq!(dst, addr::ALL_ROUTERS);
    assert_eq!(n.validate(src, dst, hl), Ok(()));
}

/// A Router Advertisement as radvd sends one: prefix fd00:77::/64 on-link and
/// autonomous, MTU 1500, the router's MAC (RFC 4861 sections 4.2, 4.6.2, 4.6.4).
#[test]
fn router_advertisement_round_trip() {
    let prefix = PrefixInfo {
        prefix_len: 64,
        on_link: true,
        autonomous: true,
        valid_lifetime: 86_400,
        preferred_lifetime: 14_400,
        prefix: "fd00:77::".parse().unwrap(),
    };
    let opts = [
        NdpOption::SourceLinkLayerAddr(MAC1),
        NdpOption::Mtu(1500),
        NdpOption::PrefixInformation(prefix),
    ];
    let mut raw = vec![0u8; options_len(&opts)];
    assert_eq!(emit_options(&opts, &mut raw), Ok(48));
    let ra = NdpRepr::RouterAdvert {
        cur_hop_limit: 64,
        managed: false,
        other: true,
        router_lifetime: 1800,
        reachable_time: 0,
        retrans_timer: 0,
        options: &raw,
    };
    let src: Ipv6Addr = "fe80::4432:dcff:feb3:8c40".parse().unwrap();
    let repr = Icmpv6Repr::Ndp(ra);
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(src, addr::ALL_NODES, &mut b).unwrap();
    assert_eq!(b.len(), 16 + 48);
    // Fixed part as RFC 4861 section 4.2 lays it out.
    assert_eq!(&b[..2], &[134, 0]);
    assert_eq!(&b[4..8], &[64, 0x40, 0x07, 0x08]);
    // The prefix option's flags octet: L and A.
    assert_eq!(b[16 + 16 + 3], 0xc0);
    let back = Icmpv6Repr::parse(
        src,
        addr::ALL_NODES,
        &Icmpv6Packet::new_checked(&b[..]).unwrap(),
    );
    assert_eq!(back, Ok(repr));
    assert_eq!(ra.options().collect::<Vec<_>>(), opts);
    assert_eq!(ra.validate(src, addr::ALL_NODES, 255), Ok(()));
    // RFC 4861 section 6.1.2: a Router Advertisement from a global address is invalid.
    assert_eq!(
        ra.validate(A1, addr::ALL_NODES, 255),
        Err(NdpInvalid::SourceNotLinkLocal)
    );
}

/// RFC 4861 section 4.5 and 8.1: a Redirect whose target is link-local, with the
/// Redirected Header option.
#[test]
fn redirect_round_trip_and_rules() {
    let target: Ipv6Addr = "fe80::1".parse().unwrap();
    let dest: Ipv6Addr = "2001:db8::5".parse().unwrap();
    let quoted = &FRAME_19[L3..L3 + 48];
    let opts = [
        NdpOption::TargetLinkLayerAddr(MAC2),
        NdpOption::RedirectedHeader(quoted),
    ];
    let mut raw = vec![0u8; options_len(&opts)];
    emit_options(&opts, &mut raw).unwrap();
    let r = NdpRepr::Redirect {
        target,
        dest,
        options: &raw,
    };
    let mut body = vec![0u8; r.body_len()];
    r.emit_body(&mut body).unwrap();
    assert_eq!(NdpRepr::parse(137, 0, &body), Ok(r));
    assert_eq!(
        r.options().nth(1),
        Some(NdpOption::RedirectedHeader(quoted))
    );
    // 8.1: "The ICMP Target Address is either a link-local address (when redirected to
    // a router) or the same as the ICMP Destination Address (when redirected to the
    // on-link destination)"; "The ICMP Destination Address field in the redirect
    // message does not contain a multicast address."
    for (t, d, ok) in [
        (dest, dest, true),
        (A1, dest, false),
        (target, addr::ALL_NODES, false),
    ] {
        let r = NdpRepr::Redirect {
            target: t,
            dest: d,
            options: &[],
        };
        let mut body = vec![0u8; r.body_len()];
        r.emit_body(&mut body).unwrap();
        assert_eq!(NdpRepr::parse(137, 0, &body).is_ok(), ok, "{t} {d}");
    }
}

/// Every validity check of RFC 4861 sections 6.1.1, 7.1.1 and 7.1.2 that needs the IP
/// header, each rejecting the one message it is about.
#[test]
fn validity_rules() {
    let (ns, src, dst, _) = nd(&FRAME_17);
    // "The IP Hop Limit field has a value of 255".
    assert_eq!(ns.validate(src, dst, 254), Err(NdpInvalid::HopLimitNot255));
    // 7.1.1: from the unspecified address the destination must be solicited-node...
    let (dad, _, _, _) = nd(&FRAME_2);
    let u = Ipv6Addr::UNSPECIFIED;
    assert_eq!(
        dad.validate(u, A2, 255),
        Err(NdpInvalid::UnspecifiedSourceNotToSolicitedNode)
    );
    // ... and carry no source link-layer address.
    assert_eq!(
        ns.validate(u, dst, 255),
        Err(NdpInvalid::UnspecifiedSourceWithLinkLayerAddr)
    );
    // 6.1.1: the same for a Router Solicitation.
    let (rs, _, rs_dst, _) = nd(&FRAME_9);
    assert_eq!(
        rs.validate(u, rs_dst, 255),
        Err(NdpInvalid::UnspecifiedSourceWithLinkLayerAddr)
    );
    // 7.1.2: a solicited advertisement is never sent to a multicast address.
    let (na, src, _, _) = nd(&FRAME_18);
    assert_eq!(
        na.validate(src, addr::ALL_NODES, 255),
        Err(NdpInvalid::SolicitedToMulticast)
    );
    let NdpRepr::NeighborAdvert {
        target, options, ..
    } = na
    else {
        panic!()
    };
    let unsolicited = NdpRepr::NeighborAdvert {
        flags: NaFlags {
            override_: true,
            ..NaFlags::default()
        },
        target,
        options,
    };
    assert_eq!(unsolicited.validate(src, addr::ALL_NODES, 255), Ok(()));
}

/// RFC 4861 sections 7.1.1 and 7.1.2: "ICMP Code is 0", "ICMP length (derived from the
/// IP length) is 24 or more octets", "Target Address is not a multicast address".
#[test]
fn message_checks() {
    let body = &FRAME_17[L4 + 4..];
    assert!(NdpRepr::parse(135, 0, body).is_ok());
    assert_eq!(NdpRepr::parse(135, 1, body), Err(Error::Malformed));
    assert_eq!(NdpRepr::parse(135, 0, &body[..19]), Err(Error::Truncated));
    assert_eq!(NdpRepr::parse(133, 0, &[0; 3]), Err(Error::Truncated));
    assert_eq!(NdpRepr::parse(134, 0, &[0; 11]), Err(Error::Truncated));
    assert_eq!(NdpRepr::parse(137, 0, &[0; 35]), Err(Error::Truncated));
    assert_eq!(NdpRepr::parse(130, 0, &[0; 40]), Err(Error::Unsupported));
    let mut mcast = body.to_vec();
    mcast[4..20].copy_from_slice(&addr::ALL_NODES.octets());
    assert_eq!(NdpRepr::parse(135, 0, &mcast), Err(Error::Malformed));
    assert_eq!(NdpRepr::parse(136, 0, &mcast), Err(Error::Malformed));
}

/// RFC 4861 section 4.6: "Nodes MUST silently discard an ND packet that contains an
/// option with length zero"; an option running past the message is as bad.
#[test]
fn option_length_zero_or_overrun() {
    let mut body = FRAME_17[L4 + 4..].to_vec();
    body[21] = 0;
    assert_eq!(NdpRepr::parse(135, 0, &body), Err(Error::BadOption));
    body[21] = 2;
    assert_eq!(NdpRepr::parse(135, 0, &body), Err(Error::BadOption));
    // A lone type octet with no length.
    let mut body = FRAME_17[L4 + 4..L4 + 24].to_vec();
    body.push(1);
    assert_eq!(NdpRepr::parse(135, 0, &body), Err(Error::BadOption));
}

/// RFC 4861 section 4.6: "Receivers MUST silently ignore any options they do not
/// recognize and continue processing the message" — and a link-layer address option
/// of another length than Ethernet's is not read as a MAC.
#[test]
fn unknown_options_kept() {
    let opts = [
        NdpOption::Unknown {
            opt_type: 14,
            data: &[1, 2, 3, 4, 5, 6],
        }, // nonce, RFC 3971
        NdpOption::SourceLinkLayerAddr(MAC1),
    ];
    let mut raw = vec![0u8; options_len(&opts)];
    emit_options(&opts, &mut raw).unwrap();
    let ns = NdpRepr::NeighborSolicit {
        target: A2,
        options: &raw,
    };
    assert_eq!(ns.source_ll_addr(), Some(MAC1));
    let long = [1u8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let got: Vec<_> = NdpOptionsIter::new(&long).collect();
    assert_eq!(
        got,
        [Ok(NdpOption::Unknown {
            opt_type: 1,
            data: &long[2..]
        })]
    );
}

#[test]
fn emit_errors() {
    let big = [0u8; 2100];
    assert_eq!(
        NdpOption::RedirectedHeader(&big).emit(&mut [0u8; 4096]),
        Err(Error::BadOption)
    );
    assert_eq!(
        NdpOption::Mtu(1).emit(&mut [0u8; 7]),
        Err(Error::BufferTooSmall)
    );
    let opts = [NdpOption::Mtu(1), NdpOption::Mtu(2)];
    assert_eq!(
        emit_options(&opts, &mut [0u8; 12]),
        Err(Error::BufferTooSmall)
    );
    let ns = NdpRepr::NeighborSolicit {
        target: A2,
        options: &[],
    };
    assert_eq!(ns.emit_body(&mut [0u8; 19]), Err(Error::BufferTooSmall));
}

proptest! {
    #[test]
    fn no_panic_hostile_ns(buf in hostile_buffers(FRAME_17[L4 + 4..].to_vec())) {
        exercise(&buf);
    }

    #[test]
    fn no_panic_random(ty in 133u8..=137, buf in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(r) = NdpRepr::parse(ty, 0, &buf) {
            check(r);
        }
    }
}

fn exercise(buf: &[u8]) {
    for ty in 133u8..=137 {
        if let Ok(r) = NdpRepr::parse(ty, 0, buf) {
            check(r);
        }
    }
}

fn check(r: NdpRepr<'_>) {
    let _ = r.to_string();
    let _ = r.options().count();
    let _ = r.validate(A1, A2, 255);
    let mut out = vec![0u8; r.body_len()];
    r.emit_body(&mut out).unwrap();
    assert_eq!(NdpRepr::parse(r.msg_type(), 0, &out), Ok(r));
}
