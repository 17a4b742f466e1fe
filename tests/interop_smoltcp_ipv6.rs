//! tunstack against smoltcp 0.14 over IPv6, in virtual time over our impaired link:
//! smoltcp's ICMPv6 socket pings our stack (RFC 4443 section 4) and checks every reply
//! with its own parser (checksum included). smoltcp 0.14's default features have no
//! IPv6 fragmentation, so the largest echo fills the 1280-octet minimum MTU exactly.

mod smol_queue;

use smol_queue::{smol_time, QueueDevice};
use std::net::Ipv6Addr;

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{HardwareAddress, Icmpv6Packet, Icmpv6Repr, IpAddress, IpCidr};
use tunstack::iface::{InterfaceConfig, Ipv6Cidr};
use tunstack::link::impair::{ImpairConfig, Impairment};
use tunstack::rand::Rng;
use tunstack::stack::{Stack, StackConfig};
use tunstack::time::{Duration, Instant};

const OURS: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);
const SMOL: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1);
const IDENT: u16 = 0x5eed;

/// Pings our stack `count` times, `size` octets of data each, 50 ms apart, over a link
/// impaired as given; returns (replies that matched a request, our echo requests seen).
fn ping(count: u16, size: usize, link: ImpairConfig, seed: u64) -> (usize, u64) {
    let mut ours = Stack::new(StackConfig::default(), Rng::new(seed));
    let cfg = InterfaceConfig::ip("sim0", "10.0.0.1/24".parse().unwrap())
        .with_ipv6("fd00:77::2/64".parse::<Ipv6Cidr>().unwrap());
    let ours_if = ours.add_interface(cfg);
    let mut now = Instant::from_secs(1);
    let mut dev = QueueDevice::default();
    let mut config = Config::new(HardwareAddress::Ip);
    config.random_seed = seed;
    let mut iface = Interface::new(config, &mut dev, smol_time(now));
    iface.update_ip_addrs(|a| {
        a.push(IpCidr::new(IpAddress::Ipv6(SMOL), 64)).unwrap();
    });
    let buf = || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0; 1 << 17]);
    let mut sock = icmp::Socket::new(buf(), buf());
    sock.bind(icmp::Endpoint::Ident(IDENT)).unwrap();
    let mut sockets = SocketSet::new(Vec::new());
    let h = sockets.add(sock);
    let mut to_ours = Impairment::new(link.clone(), seed.wrapping_mul(31) + 7);
    let mut to_smol = Impairment::new(link, seed.wrapping_mul(37) + 11);
    let data = |seq: u16| {
        (0..size)
            .map(|i| (i as u16 ^ seq) as u8)
            .collect::<Vec<u8>>()
    };
    let caps = ChecksumCapabilities::default();
    let (mut sent, mut matched) = (0u16, 0usize);
    let mut next_send = now;
    let end = now + Duration::from_secs(u64::from(count) / 10 + 5);
    while now < end {
        let s = sockets.get_mut::<icmp::Socket>(h);
        if sent < count && now >= next_send && s.can_send() {
            let d = data(sent);
            let req = Icmpv6Repr::EchoRequest {
                ident: IDENT,
                seq_no: sent,
                data: &d,
            };
            let payload = s.send(req.buffer_len(), IpAddress::Ipv6(OURS)).unwrap();
            req.emit(
                &SMOL,
                &OURS,
                &mut Icmpv6Packet::new_unchecked(payload),
                &caps,
            );
            sent += 1;
            next_send = now + Duration::from_millis(50);
        }
        while let Ok((payload, from)) = s.recv() {
            assert_eq!(from, IpAddress::Ipv6(OURS));
            let p = Icmpv6Packet::new_checked(payload).expect("smoltcp reads our reply");
            let r = Icmpv6Repr::parse(&OURS, &SMOL, &p, &caps).expect("valid reply (checksum too)");
            let Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data: got,
            } = r
            else {
                panic!("not an echo reply: {r:?}");
            };
            assert_eq!(ident, IDENT);
            assert_eq!(got, &data(seq_no)[..], "seq {seq_no}");
            matched += 1;
        }
        let _ = iface.poll(smol_time(now), &mut dev, &mut sockets);
        while let Some(f) = dev.tx.pop_front() {
            to_ours.push(now, &f);
        }
        while let Some(f) = to_ours.pop(now) {
            ours.receive(now, ours_if, &f);
        }
        if ours.poll_at().is_some_and(|t| t <= now) {
            ours.handle_timeout(now);
        }
        while let Some(t) = ours.poll_transmit() {
            to_smol.push(now, &t.frame);
        }
        while let Some(f) = to_smol.pop(now) {
            dev.rx.push_back(f);
        }
        now += Duration::from_millis(1);
    }
    (matched, ours.stats().icmp6_in_echos)
}

/// Every echo request smoltcp sends is answered, and smoltcp accepts every reply: same
/// identifier, sequence number and data, checksum over the IPv6 pseudo-header right.
#[test]
fn smoltcp_pings_us_over_ipv6() {
    let link = ImpairConfig {
        delay: Duration::from_millis(5),
        ..ImpairConfig::default()
    };
    assert_eq!(ping(40, 56, link, 1), (40, 40));
}

/// The largest echo that fits the IPv6 minimum MTU: 1280 - 40 - 8 = 1232 octets of data.
#[test]
fn smoltcp_pings_us_at_the_minimum_mtu() {
    assert_eq!(ping(10, 1232, ImpairConfig::default(), 2), (10, 10));
}

/// Over a lossy link (10% each way, seeded) every reply that arrives is right, and each
/// request our stack saw was answered (none lost inside the stack): the replies are the
/// requests seen less the replies the link dropped, so never more than the requests.
#[test]
fn smoltcp_pings_us_over_a_lossy_link() {
    let link = ImpairConfig {
        loss: 0.10,
        delay: Duration::from_millis(5),
        ..ImpairConfig::default()
    };
    let (replies, seen) = ping(100, 100, link, 3);
    assert!(seen < 100 && seen > 70, "requests seen {seen}");
    assert!(
        replies <= seen as usize && replies > 60,
        "replies {replies} of {seen}"
    );
}
