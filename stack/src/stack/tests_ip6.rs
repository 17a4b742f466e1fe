//! Packet scripts for IPv6 in the core: a packet in (many of them Linux's own, from the
//! IPv6 capture), the expected packets (or none) out. Each test names the rule it pins.

use std::net::{IpAddr, Ipv6Addr};

use super::*;
use crate::iface::reassembly6::{Outcome, Reassembler6, Reassembly6Config};
use crate::iface::{InterfaceConfig, Ipv6Cidr};
use crate::time::Duration;
use crate::wire::icmpv6::{DstUnreachable, Icmpv6Packet, Icmpv6Repr, TimeExceeded};
use crate::wire::ipv6::ext::{emit_options, options_len, ExtHeaderRepr, Ipv6Option};
use crate::wire::ipv6::fixtures::*;
use crate::wire::ipv6::{addr, next_header as nh, ExtChain, Ipv6Packet, Ipv6Repr};

const US: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const HOST: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const T0: Instant = Instant::from_secs(10);

fn stack_with(config: StackConfig) -> (Stack, IfaceId) {
    let mut s = Stack::new(config, Rng::new(6));
    let cfg = InterfaceConfig::ip("tun0", "10.77.0.2/24".parse().unwrap())
        .with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    let i = s.add_interface(cfg);
    (s, i)
}

fn host_stack() -> (Stack, IfaceId) {
    stack_with(StackConfig::default())
}

fn drain(s: &mut Stack) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// An IPv6 packet HOST -> `dst` with this first Next Header and payload.
fn ip6(dst: Ipv6Addr, first: u8, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv6Repr {
        src_addr: HOST,
        dst_addr: dst,
        next_header: first,
        payload_len: payload.len(),
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut b = vec![0u8; 40 + payload.len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut b[..]))
        .unwrap();
    b[40..].copy_from_slice(payload);
    b
}

fn icmp(dst: Ipv6Addr, repr: &Icmpv6Repr<'_>) -> Vec<u8> {
    let mut m = vec![0u8; repr.buffer_len()];
    repr.emit(HOST, dst, &mut m).unwrap();
    m
}

fn dst_opts(next: u8, opts: &[Ipv6Option<'_>]) -> Vec<u8> {
    let mut area = vec![0u8; options_len(opts)];
    emit_options(opts, &mut area).unwrap();
    let mut b = vec![0u8; 2 + area.len()];
    ExtHeaderRepr::DstOpts { options: &area }
        .emit(next, &mut b)
        .unwrap();
    b
}

/// The one packet sent, parsed: IPv6 header and ICMPv6 message (checksum verified).
#[track_caller]
fn one_icmp6(out: &[Transmit]) -> (Ipv6Repr, Vec<u8>) {
    assert_eq!(out.len(), 1, "expected one packet, got {}", out.len());
    let p = Ipv6Packet::new_checked(&out[0].frame[..]).expect("valid IPv6");
    let r = Ipv6Repr::parse(&p).unwrap();
    assert_eq!(r.next_header, nh::ICMPV6);
    (r, p.payload().to_vec())
}

#[track_caller]
fn parse_icmp6<'a>(ip: &Ipv6Repr, msg: &'a [u8]) -> Icmpv6Repr<'a> {
    Icmpv6Repr::parse(
        ip.src_addr,
        ip.dst_addr,
        &Icmpv6Packet::new_checked(msg).unwrap(),
    )
    .expect("valid ICMPv6")
}

/// RFC 4443 section 4.2: Linux's ping -6 (frame 19) is answered with the same
/// identifier, sequence number and data, from the address it was sent to; the reply is
/// what the kernel itself answered (frame 20), flow label apart.
#[test]
fn echo_request_from_linux_answered() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &FRAME_19[L3..]);
    let out = drain(&mut s);
    let (ip, msg) = one_icmp6(&out);
    assert_eq!((ip.src_addr, ip.dst_addr, ip.hop_limit), (US, HOST, 64));
    assert_eq!(msg, &FRAME_20[L4..]);
    let st = s.stats();
    assert_eq!(
        (st.ip6_in_receives, st.ip6_in_delivers, st.icmp6_in_msgs),
        (1, 1, 1)
    );
    assert_eq!(
        (
            st.icmp6_in_echos,
            st.icmp6_out_echo_replies,
            st.icmp6_out_msgs
        ),
        (1, 1, 1)
    );
    assert_eq!(st.get("Icmp6InEchos"), Some(1));
}

/// RFC 8200 section 4.5 both ways: Linux's 2008-octet echo request in two fragments
/// (frames 21, 22) is reassembled and answered; the 2048-octet reply does not fit the
/// 1500-octet MTU and leaves in fragments that reassemble to the right reply.
#[test]
fn fragmented_echo_answered_in_fragments() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &FRAME_21[L3..]);
    assert!(drain(&mut s).is_empty());
    s.receive(T0, i, &FRAME_22[L3..]);
    let out = drain(&mut s);
    assert_eq!(out.len(), 2);
    let mut re = Reassembler6::new(Reassembly6Config::default());
    let mut whole = None;
    for t in &out {
        assert!(t.frame.len() <= 1500);
        let p = Ipv6Packet::new_checked(&t.frame[..]).unwrap();
        let c = ExtChain::parse(&p).unwrap();
        let f = c.fragment.expect("a fragment");
        let frag = crate::iface::reassembly6::Fragment6 {
            src: p.src_addr(),
            dst: p.dst_addr(),
            ident: f.ident,
            offset: usize::from(f.offset),
            more_frags: f.more_frags,
            next_header: c.upper_layer,
            unfragmentable: &t.frame[..40 + c.upper_offset - 8],
            named_at: c.fragment_named_at as usize,
            data: &t.frame[40 + c.upper_offset..],
        };
        if let Outcome::Complete(w) = re.push(T0, frag) {
            whole = Some(w);
        }
    }
    let whole = whole.expect("the reply reassembles");
    let (ip, msg) = one_icmp6(&[Transmit {
        iface: i,
        next_hop: IpAddr::V6(HOST),
        frame: whole,
        offload: crate::wire::virtio::VirtioNetHdr::NONE,
    }]);
    let Icmpv6Repr::EchoReply {
        ident,
        seq_no,
        data,
    } = parse_icmp6(&ip, &msg)
    else {
        panic!("not a reply");
    };
    assert_eq!((ident, seq_no, data.len()), (0x5522, 1, 2000));
    assert_eq!(
        data,
        &[&FRAME_21[L3 + 56..], &FRAME_22[L3 + 48..]].concat()[..]
    );
    let st = s.stats();
    assert_eq!((st.ip6_reasm_reqds, st.ip6_reasm_oks), (2, 1));
    assert_eq!((st.ip6_frag_oks, st.ip6_frag_creates), (1, 2));
}

/// RFC 4443 section 4.2: a request to a multicast address (all-nodes) is answered from
/// a unicast address of the arrival interface.
#[test]
fn echo_to_all_nodes_answered_from_unicast() {
    let (mut s, i) = host_stack();
    let req = Icmpv6Repr::EchoRequest {
        ident: 7,
        seq_no: 3,
        data: b"hi",
    };
    s.receive(
        T0,
        i,
        &ip6(addr::ALL_NODES, nh::ICMPV6, &icmp(addr::ALL_NODES, &req)),
    );
    let out = drain(&mut s);
    let (ip, msg) = one_icmp6(&out);
    assert_eq!(ip.src_addr, US);
    assert!(matches!(
        parse_icmp6(&ip, &msg),
        Icmpv6Repr::EchoReply {
            ident: 7,
            seq_no: 3,
            data: b"hi"
        }
    ));
    assert_eq!(s.stats().ip6_in_mcast_pkts, 1);
}

/// The kernel's own chatter on a TUN link — an MLD report to ff02::16 (frame 1) and a
/// router solicitation to ff02::2 (frame 9) — is not for us: no answer, no error count.
#[test]
fn kernel_chatter_ignored() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &FRAME_1[L3..]);
    s.receive(T0, i, &FRAME_9[L3..]);
    assert!(drain(&mut s).is_empty());
    let st = s.stats();
    assert_eq!((st.ip6_in_receives, st.ip6_in_mcast_pkts), (2, 2));
    assert_eq!(
        (
            st.ip6_in_addr_errors,
            st.ip6_in_hdr_errors,
            st.icmp6_out_msgs
        ),
        (0, 0, 0)
    );
}

/// RFC 8200 section 4: an unrecognised Next Header gets Parameter Problem code 1 with
/// the pointer at the field that holds it, from our address, quoting the packet.
#[test]
fn unknown_next_header_parameter_problem() {
    let (mut s, i) = host_stack();
    let pkt = ip6(US, 253, b"experimental");
    s.receive(T0, i, &pkt);
    let out = drain(&mut s);
    let (ip, msg) = one_icmp6(&out);
    assert_eq!((ip.src_addr, ip.dst_addr), (US, HOST));
    assert_eq!(
        parse_icmp6(&ip, &msg),
        Icmpv6Repr::ParamProblem {
            code: 1,
            pointer: 6,
            data: &pkt
        }
    );
    // Behind a Destination Options header the pointer is that header's Next Header.
    let pkt = ip6(US, nh::DST_OPTS, &[&dst_opts(253, &[])[..], b"x"].concat());
    s.receive(T0, i, &pkt);
    let (ip, msg) = one_icmp6(&drain(&mut s));
    assert!(matches!(
        parse_icmp6(&ip, &msg),
        Icmpv6Repr::ParamProblem {
            code: 1,
            pointer: 40,
            ..
        }
    ));
    assert_eq!(s.stats().ip6_in_unknown_protos, 2);
    assert_eq!(s.stats().icmp6_out_parm_problems, 2);
}

/// RFC 8200 section 4.2 with RFC 4443 section 2.4 (e.3): an unrecognised option with
/// action 10 is reported even to a multicast destination; action 11 only to unicast.
#[test]
fn unknown_option_reported_by_action_bits() {
    let (mut s, i) = host_stack();
    let echo = icmp(
        addr::ALL_NODES,
        &Icmpv6Repr::EchoRequest {
            ident: 1,
            seq_no: 1,
            data: &[],
        },
    );
    for (opt_type, to, replies) in [
        (0xbe, addr::ALL_NODES, 1),
        (0xfe, addr::ALL_NODES, 0),
        (0xfe, US, 1),
    ] {
        let opt = Ipv6Option::Unknown {
            opt_type,
            data: &[0, 0],
        };
        let pkt = ip6(
            to,
            nh::DST_OPTS,
            &[&dst_opts(nh::ICMPV6, &[opt])[..], &echo].concat(),
        );
        s.receive(T0, i, &pkt);
        let out = drain(&mut s);
        assert_eq!(out.len(), replies, "type {opt_type:#x} to {to}");
        if replies == 1 {
            let (ip, msg) = one_icmp6(&out);
            assert_eq!(ip.src_addr, US);
            assert!(matches!(
                parse_icmp6(&ip, &msg),
                Icmpv6Repr::ParamProblem {
                    code: 2,
                    pointer: 42,
                    ..
                }
            ));
        }
    }
    // Action 00: skipped, and the echo behind it answered.
    let opt = Ipv6Option::Unknown {
        opt_type: 0x1e,
        data: &[0, 0],
    };
    let echo = icmp(
        US,
        &Icmpv6Repr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data: &[],
        },
    );
    s.receive(
        T0,
        i,
        &ip6(
            US,
            nh::DST_OPTS,
            &[&dst_opts(nh::ICMPV6, &[opt])[..], &echo].concat(),
        ),
    );
    let (ip, msg) = one_icmp6(&drain(&mut s));
    assert!(matches!(
        parse_icmp6(&ip, &msg),
        Icmpv6Repr::EchoReply { seq_no: 2, .. }
    ));
}

/// RFC 5095 section 3: a type 0 Routing header with Segments Left above zero gets
/// Parameter Problem code 0 at the Routing Type; with Segments Left 0 it is ignored.
#[test]
fn routing_header_type_0() {
    let (mut s, i) = host_stack();
    let echo = icmp(
        US,
        &Icmpv6Repr::EchoRequest {
            ident: 9,
            seq_no: 1,
            data: &[],
        },
    );
    for (segments_left, expect_reply) in [(1u8, false), (0, true)] {
        let mut rt = [0u8; 24];
        ExtHeaderRepr::Routing {
            routing_type: 0,
            segments_left,
            data: &[0; 20],
        }
        .emit(nh::ICMPV6, &mut rt)
        .unwrap();
        s.receive(T0, i, &ip6(US, nh::ROUTING, &[&rt[..], &echo].concat()));
        let (ip, msg) = one_icmp6(&drain(&mut s));
        match parse_icmp6(&ip, &msg) {
            Icmpv6Repr::EchoReply { .. } => assert!(expect_reply),
            Icmpv6Repr::ParamProblem {
                code: 0,
                pointer: 42,
                ..
            } => assert!(!expect_reply),
            other => panic!("{other:?}"),
        }
    }
}

/// RFC 4443 section 2.4 (e.1): no error about an ICMPv6 error message, even when its
/// extension headers are at fault; (e.6): none to the unspecified address.
#[test]
fn no_error_about_an_error_or_from_unspecified() {
    let (mut s, i) = host_stack();
    let err = icmp(
        US,
        &Icmpv6Repr::DstUnreachable {
            reason: DstUnreachable::NoRoute,
            data: &FRAME_19[L3..],
        },
    );
    let opt = Ipv6Option::Unknown {
        opt_type: 0xbe,
        data: &[0, 0],
    };
    s.receive(
        T0,
        i,
        &ip6(
            US,
            nh::DST_OPTS,
            &[&dst_opts(nh::ICMPV6, &[opt])[..], &err].concat(),
        ),
    );
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip6_in_hdr_errors, 1);
    let mut pkt = ip6(US, 253, b"x");
    pkt[8..24].copy_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
    s.receive(T0, i, &pkt);
    assert!(drain(&mut s).is_empty());
}

/// RFC 4443 section 2.4 (f): errors are rate-limited; the ones held back are counted.
#[test]
fn errors_rate_limited() {
    let (mut s, i) = stack_with(StackConfig {
        icmp_error_burst: 3,
        icmp_error_rate: 1,
        ..Default::default()
    });
    for _ in 0..10 {
        s.receive(T0, i, &ip6(US, 253, b"x"));
    }
    assert_eq!(drain(&mut s).len(), 3);
    assert_eq!(s.stats().icmp6_out_rate_limit, 7);
    s.receive(T0 + Duration::from_secs(1), i, &ip6(US, 253, b"x"));
    assert_eq!(drain(&mut s).len(), 1);
}

/// RFC 8200 section 4.5: a packet whose fragments do not all come within 60 seconds is
/// dropped and, its first fragment having come, answered with Time Exceeded code 1
/// quoting that fragment.
#[test]
fn reassembly_timeout_time_exceeded() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &FRAME_21[L3..]);
    assert_eq!(s.poll_at(), Some(T0 + Duration::from_secs(60)));
    s.handle_timeout(T0 + Duration::from_secs(60));
    let (ip, msg) = one_icmp6(&drain(&mut s));
    let Icmpv6Repr::TimeExceeded { reason, data } = parse_icmp6(&ip, &msg) else {
        panic!()
    };
    assert_eq!(reason, TimeExceeded::FragReassembly);
    assert_eq!(data, &FRAME_21[L3..L3 + data.len()]);
    assert_eq!(data.len(), 1280 - 48);
    assert_eq!(
        (s.stats().ip6_reasm_timeout, s.stats().ip6_reasm_fails),
        (1, 1)
    );
}

/// RFC 5722: overlapping fragments drop the packet silently.
#[test]
fn overlapping_fragments_dropped() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &FRAME_21[L3..]);
    let mut overlap = FRAME_22[L3..].to_vec();
    overlap[42..44].copy_from_slice(&(1440u16).to_be_bytes()); // offset 1440: overlaps
    s.receive(T0, i, &overlap);
    s.receive(T0, i, &FRAME_22[L3..]);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.stats().ip6_reasm_fails, 2);
}

/// TCP and UDP over IPv6 are not served yet: answered as a closed port (RFC 4443
/// section 3.1 code 4), as the kernel answered frame 25 (frame 26).
#[test]
fn udp_answered_port_unreachable() {
    let (mut s, i) = host_stack();
    s.receive(T0, i, &FRAME_25[L3..]);
    let (ip, msg) = one_icmp6(&drain(&mut s));
    assert_eq!(msg, &FRAME_26[L4..]);
    assert_eq!(ip.dst_addr, HOST);
}

/// RFC 4291 section 2.7: a multicast source is invalid; a unicast destination that is
/// not ours is not answered (no forwarding); a bad checksum is dropped and counted.
#[test]
fn invalid_packets_dropped() {
    let (mut s, i) = host_stack();
    let mut pkt = FRAME_19[L3..].to_vec();
    pkt[8..24].copy_from_slice(&addr::ALL_NODES.octets());
    s.receive(T0, i, &pkt);
    let mut pkt = FRAME_19[L3..].to_vec();
    pkt[24..40].copy_from_slice(&"fd00:77::9".parse::<Ipv6Addr>().unwrap().octets());
    s.receive(T0, i, &pkt);
    assert_eq!(s.stats().ip6_in_addr_errors, 2);
    let mut pkt = FRAME_19[L3..].to_vec();
    pkt[60] ^= 1;
    s.receive(T0, i, &pkt);
    assert_eq!(
        (s.stats().icmp6_in_errors, s.stats().icmp6_in_csum_errors),
        (1, 1)
    );
    s.receive(T0, i, &FRAME_19[L3..L3 + 50]);
    assert_eq!(s.stats().ip6_in_truncated_pkts, 1);
    assert!(drain(&mut s).is_empty());
}

mod hostile {
    //! No input makes the IPv6 core panic: random chains, fragments and ICMPv6 messages
    //! into a host, a router and an Ethernet stack, with time moving on.
    use super::*;
    use proptest::prelude::*;

    fn mutate(base: &[u8], muts: &[(usize, u8)], cut: usize) -> Vec<u8> {
        let mut b = base.to_vec();
        for &(i, v) in muts {
            if let Some(x) = b.get_mut(i) {
                *x = v;
            }
        }
        b.truncate(cut.max(1));
        b
    }

    proptest! {
        #[test]
        fn core_never_panics(
            first in prop_oneof![Just(0u8), Just(43), Just(44), Just(58), Just(60), any::<u8>()],
            to_multicast in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            fixture in 0usize..6,
            muts in proptest::collection::vec((0usize..1600, any::<u8>()), 0..6),
            cut in 1usize..1600,
        ) {
            let (mut s, i) = host_stack();
            let (mut r, ri) = stack_with(StackConfig { forwarding: true, ..Default::default() });
            let dst = if to_multicast { addr::ALL_NODES } else { US };
            let built = ip6(dst, first, &payload);
            let fixtures: [&[u8]; 6] = [
                &FRAME_19[L3..], &FRAME_21[L3..], &FRAME_22[L3..], &FRAME_25[L3..],
                &FRAME_1[L3..], &FRAME_27[L3..],
            ];
            let mutated = mutate(fixtures[fixture], &muts, cut);
            for pkt in [&built, &mutated] {
                s.receive(T0, i, pkt);
                r.receive(T0, ri, pkt);
            }
            let _ = drain(&mut s);
            let _ = drain(&mut r);
            s.handle_timeout(T0 + Duration::from_secs(61));
            r.handle_timeout(T0 + Duration::from_secs(61));
            let _ = drain(&mut s);
            let _ = drain(&mut r);
        }
    }
}
