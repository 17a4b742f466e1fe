//! Two tunstacks over IPv6 in `tunstack::sim::Sim`, in virtual time: A pings B (RFC 4443
//! section 4) with small and fragmented echoes over a lossy, reordering link, and through
//! B as a router gets its errors back (Time Exceeded, Destination Unreachable) matched to
//! the requests they quote.

use std::net::Ipv6Addr;

use tunstack::iface::{IfaceId, InterfaceConfig, Ipv6Cidr, Route6};
use tunstack::link::impair::ImpairConfig;
use tunstack::rand::Rng;
use tunstack::sim::Sim;
use tunstack::stack::{Echo6Event, Stack, StackConfig};
use tunstack::time::Duration;

const B: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);
const IDENT: u16 = 0x6006;

fn node(v4: &str, v6: &str, forwarding: bool, seed: u64) -> (Stack, IfaceId) {
    let mut s = Stack::new(
        StackConfig {
            forwarding,
            ..Default::default()
        },
        Rng::new(seed),
    );
    let cfg =
        InterfaceConfig::ip("sim", v4.parse().unwrap()).with_ipv6(v6.parse::<Ipv6Cidr>().unwrap());
    let id = s.add_interface(cfg);
    (s, id)
}

fn data(seq: u16, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u16).wrapping_mul(7) as u8 ^ seq as u8)
        .collect()
}

/// Sends `count` echoes of `len` octets from A to B at once over a link impaired as
/// given; returns the replies A received (each checked against what it sent).
fn ping(count: u16, len: usize, link: ImpairConfig, seed: u64) -> (usize, u64) {
    let (a, ia) = node("10.0.0.1/24", "fd00::1/64", false, seed);
    let (b, ib) = node("10.0.0.2/24", "fd00::2/64", false, seed + 1);
    let mut sim = Sim::new(a, ia, b, ib, link.clone(), link, seed);
    for seq in 0..count {
        let now = sim.now;
        sim.a
            .echo6_send(now, IDENT, B, seq, None, &data(seq, len))
            .unwrap();
    }
    let mut replies = 0usize;
    sim.run_until(Duration::from_secs(90), |s| {
        while let Some(e) = s.a.echo6_recv(IDENT) {
            let Echo6Event::Reply {
                from,
                seq,
                hop_limit,
                data: got,
                ..
            } = e
            else {
                panic!("not a reply: {e:?}");
            };
            assert_eq!((from, hop_limit), (B, 64));
            assert_eq!(got, data(seq, len), "seq {seq}");
            replies += 1;
        }
        replies == usize::from(count)
    });
    (replies, sim.b.stats().ip6_reasm_oks)
}

#[test]
fn pings_over_ipv6() {
    assert_eq!(ping(20, 56, ImpairConfig::default(), 1), (20, 0));
}

/// 4000-octet echoes are fragmented by A (RFC 8200 section 4.5), reassembled by B,
/// answered in fragments, reassembled by A.
#[test]
fn fragmented_pings_both_ways() {
    assert_eq!(ping(10, 4000, ImpairConfig::default(), 2), (10, 10));
}

/// Over a link that loses 5% and reorders 20% (seeded) each way, whatever arrives is
/// byte-exact, fragments included; lost fragments cost whole packets.
#[test]
fn pings_over_a_lossy_reordering_link() {
    let link = ImpairConfig {
        loss: 0.05,
        reorder: 0.2,
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(5),
        ..ImpairConfig::default()
    };
    let (replies, _) = ping(40, 3000, link, 3);
    assert!(replies > 20 && replies < 40, "replies {replies}");
}

/// With B a router towards fd00:2::/64: a request with hop limit 1 comes back as Time
/// Exceeded from B (RFC 4443 section 3.3), one to a prefix B has no route for as
/// Destination Unreachable, no route (section 3.1); each matched to its sequence number.
#[test]
fn errors_come_back_to_the_pinger() {
    let (mut a, ia) = node("10.0.0.1/24", "fd00::1/64", false, 4);
    let (mut b, ib) = node("10.0.0.2/24", "fd00::2/64", true, 5);
    let far: Ipv6Cidr = "fd00:2::/64".parse().unwrap();
    a.routes6_mut().add(Route6 {
        dest: far,
        gateway: Some(B),
        iface: ia,
    });
    a.routes6_mut().add(Route6 {
        dest: "fd00:3::/64".parse().unwrap(),
        gateway: Some(B),
        iface: ia,
    });
    b.add_interface(
        InterfaceConfig::ip("far", "10.2.0.2/24".parse().unwrap())
            .with_ipv6("fd00:2::2/64".parse().unwrap()),
    );
    let mut sim = Sim::new(
        a,
        ia,
        b,
        ib,
        ImpairConfig::default(),
        ImpairConfig::default(),
        4,
    );
    let now = sim.now;
    sim.a
        .echo6_send(now, IDENT, "fd00:2::9".parse().unwrap(), 1, Some(1), b"x")
        .unwrap();
    sim.a
        .echo6_send(now, IDENT, "fd00:3::9".parse().unwrap(), 2, None, b"y")
        .unwrap();
    let mut got = Vec::new();
    sim.run_until(Duration::from_secs(5), |s| {
        while let Some(e) = s.a.echo6_recv(IDENT) {
            got.push(e);
        }
        got.len() == 2
    });
    let summary: Vec<_> = got
        .iter()
        .map(|e| match e {
            Echo6Event::Error {
                from,
                seq,
                msg_type,
                code,
                ..
            } => (*from, *seq, *msg_type, *code),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(summary.contains(&(B, 1, 3, 0)), "{summary:?}");
    assert!(summary.contains(&(B, 2, 1, 0)), "{summary:?}");
    sim.a.echo6_close(IDENT);
    assert_eq!(sim.a.echo6_recv(IDENT), None);
}

/// TCP between two tunstacks over IPv6 (RFC 9293 over RFC 8200): 2 MiB each way over a
/// link that loses 2% and reorders 10% each way, byte-exact, with retransmissions, then
/// both sides close; the segments carried the IPv6 MSS (1440) and no packet left in
/// fragments (the MSS keeps segments within the MTU).
#[test]
fn tcp_over_ipv6_with_loss() {
    const LEN: usize = 2 << 20;
    let link = ImpairConfig {
        loss: 0.02,
        reorder: 0.1,
        delay: Duration::from_millis(5),
        ..ImpairConfig::default()
    };
    let (a, ia) = node("10.0.0.1/24", "fd00::1/64", false, 7);
    let (mut b, ib) = node("10.0.0.2/24", "fd00::2/64", false, 8);
    let l = b.tcp_listen((Ipv6Addr::UNSPECIFIED, 80), 4).unwrap();
    let mut sim = Sim::new(a, ia, b, ib, link.clone(), link, 7);
    let now = sim.now;
    let c = sim.a.tcp_connect(now, (B, 80), None).unwrap();
    let up = data(1, LEN);
    let down = data(2, LEN);
    let (mut sent_up, mut sent_down) = (0, 0);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let mut server = None;
    let mut buf = vec![0u8; 65536];
    let done = sim.run_until(Duration::from_secs(600), |s| {
        let now = s.now;
        if server.is_none() {
            server = s.b.tcp_accept(l).unwrap();
        }
        if sent_up < LEN {
            sent_up += s.a.tcp_send(now, c, &up[sent_up..]).unwrap_or(0);
        }
        while let Ok(n @ 1..) = s.a.tcp_recv(now, c, &mut buf) {
            got_down.extend_from_slice(&buf[..n]);
        }
        if let Some(h) = server {
            if sent_down < LEN {
                sent_down += s.b.tcp_send(now, h, &down[sent_down..]).unwrap_or(0);
            }
            while let Ok(n @ 1..) = s.b.tcp_recv(now, h, &mut buf) {
                got_up.extend_from_slice(&buf[..n]);
            }
        }
        got_up.len() == LEN && got_down.len() == LEN
    });
    assert!(done, "moved {} up, {} down", got_up.len(), got_down.len());
    assert!(got_up == up && got_down == down, "the bytes differ");
    let h = server.unwrap();
    let info = sim.a.tcp_conn(c).unwrap().info();
    assert_eq!(info.mss, 1440);
    assert!(sim.a.stats().tcp_retrans_segs + sim.b.stats().tcp_retrans_segs > 0);
    assert_eq!(sim.a.stats().ip6_frag_oks + sim.b.stats().ip6_frag_oks, 0);
    let now = sim.now;
    sim.a.tcp_close(now, c);
    sim.b.tcp_close(now, h);
    assert!(sim.run_until(Duration::from_secs(300), |s| s
        .a
        .tcp_connections()
        .is_empty()
        && s.b.tcp_connections().is_empty()));
}
