//! The IPv6 core: the input (after one selector byte) is handed to a stack as a packet
//! that arrived: a host on a TUN link, a router between two TUN links, or a host on a TAP
//! link (inside an Ethernet frame to its address or the all-nodes group). Whatever comes
//! in, nothing may panic, every frame sent out must parse as IPv6 (or ARP on TAP), and
//! the timers run (reassembly, Neighbor Discovery, DAD) after a minute.
//!
//! The stack has a TCP listener on `[::]:80` and a UDP socket on `[::]:53`. With bit
//! 0x40 of the selector set, a TCP or UDP payload right behind the fixed header gets
//! its checksum completed first, so that the fuzzer reaches TCP's state machine and
//! UDP delivery over IPv6 without finding checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::iface::{InterfaceConfig, Ipv6Cidr};
use tunstack::rand::Rng;
use tunstack::stack::{Stack, StackConfig};
use tunstack::time::{Duration, Instant};
use tunstack::wire::ethernet::{EtherType, EthernetAddress, EthernetFrame};
use tunstack::wire::ipv6::Ipv6Packet;

const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0x5e, 0x77, 0, 2]);

fn stack(forwarding: bool, tap: bool) -> (Stack, tunstack::iface::IfaceId) {
    let mut s = Stack::new(
        StackConfig {
            forwarding,
            ..Default::default()
        },
        Rng::new(1),
    );
    let v4 = "10.77.0.2/24".parse().unwrap();
    let v6: Ipv6Cidr = "fd00:77::2/64".parse().unwrap();
    let cfg = if tap {
        InterfaceConfig::ethernet("tap0", v4, Some(MAC))
    } else {
        InterfaceConfig::ip("tun0", v4)
    };
    let id = s.add_interface(cfg.with_ipv6(v6));
    if forwarding {
        let mut b = InterfaceConfig::ip("tun1", "10.2.0.2/24".parse().unwrap())
            .with_ipv6("fd00:2::2/64".parse().unwrap());
        b.mtu = 1280;
        s.add_interface(b);
    }
    s.tcp_listen((std::net::Ipv6Addr::UNSPECIFIED, 80), 4)
        .expect("listen");
    s.udp_bind((std::net::Ipv6Addr::UNSPECIFIED, 53))
        .expect("bind");
    (s, id)
}

/// Completes the TCP or UDP checksum of a packet whose fixed header says it carries one.
fn fix_checksum(pkt: &mut [u8]) {
    let Ok(p) = Ipv6Packet::new_checked(&pkt[..]) else {
        return;
    };
    let (src, dst, nh) = (p.src_addr(), p.dst_addr(), p.next_header());
    let end = (40 + usize::from(p.payload_len())).min(pkt.len());
    let upper = &mut pkt[40..end];
    match nh {
        6 => {
            if let Ok(mut t) = tunstack::wire::tcp::TcpPacket::new_checked(&mut *upper) {
                t.fill_checksum(src, dst);
            }
        }
        17 => {
            if let Ok(mut u) = tunstack::wire::udp::UdpPacket::new_checked(&mut *upper) {
                u.fill_checksum(src, dst);
            }
        }
        _ => {}
    }
}

fn check_out(s: &mut Stack, tap: bool) {
    while let Some(t) = s.poll_transmit() {
        if tap {
            let f = EthernetFrame::new_checked(&t.frame[..]).expect("a frame");
            if f.ethertype() == EtherType::Ipv6 {
                Ipv6Packet::new_checked(f.payload()).expect("IPv6 out");
            }
        } else if t.frame.first().is_some_and(|b| b >> 4 == 6) {
            Ipv6Packet::new_checked(&t.frame[..]).expect("IPv6 out");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, pkt)) = data.split_first() else {
        return;
    };
    let mut pkt = pkt.to_vec();
    if sel & 0x40 != 0 {
        fix_checksum(&mut pkt);
    }
    let pkt = &pkt[..];
    let (forwarding, tap) = match sel % 3 {
        0 => (false, false),
        1 => (true, false),
        _ => (false, true),
    };
    let (mut s, id) = stack(forwarding, tap);
    let t0 = Instant::from_secs(10);
    if tap {
        // Past DAD first, so that the address is in use.
        s.handle_timeout(t0);
        s.handle_timeout(t0 + Duration::from_secs(1));
        check_out(&mut s, tap);
        let dst = if sel & 0x80 != 0 {
            EthernetAddress([0x33, 0x33, 0, 0, 0, 1])
        } else {
            MAC
        };
        let mut f = vec![0u8; 14];
        f[..6].copy_from_slice(&dst.0);
        f[6..12].copy_from_slice(&[0x46, 0x32, 0xdc, 0xb3, 0x8c, 0x40]);
        f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        f.extend_from_slice(pkt);
        s.receive(t0 + Duration::from_secs(2), id, &f);
    } else {
        s.receive(t0, id, pkt);
    }
    check_out(&mut s, tap);
    s.handle_timeout(t0 + Duration::from_secs(70));
    check_out(&mut s, tap);
});
