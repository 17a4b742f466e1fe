//! The TCP checksum on input (RFC 9293 3.1; RFC 1122 4.2.2.7: verified on every segment),
//! which for in-order data is taken in the copy into the receive buffer: a corrupted
//! segment is dropped and counted, and changes nothing a user could see.

use std::net::SocketAddrV4;

use super::test_host::{drain, host_packet, host_repr, HOST, US};
use super::*;
use crate::iface::{InterfaceConfig, Ipv4Cidr};
use crate::tcp::layer::TcpHandle;
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

const T0: Instant = Instant::from_secs(10);
const PEER_ISN: u32 = 1_000;

fn stack() -> (Stack, IfaceId) {
    let mut s = Stack::new(StackConfig::default(), Rng::new(1));
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().unwrap();
    let i = s.add_interface(InterfaceConfig::ip("tun0", cidr));
    (s, i)
}

/// A datagram from the host's port 40000 to our port 9, checksums complete.
fn segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    host_packet(&TcpRepr {
        max_seg_size: flags.contains(TcpFlags::SYN).then_some(1460),
        ..host_repr(flags, seq, ack, payload)
    })
}

/// A connection accepted on port 9; returns it and our ISN.
fn established(s: &mut Stack, i: IfaceId) -> (TcpHandle, u32) {
    let l = s.tcp_listen(SocketAddrV4::new(US, 9), 8).unwrap();
    s.receive(T0, i, &segment(TcpFlags::SYN, PEER_ISN, 0, &[]));
    let out = drain(s);
    let synack = TcpRepr::parse(
        &TcpPacket::new_checked(&out[0].frame[20..]).unwrap(),
        US,
        HOST,
    )
    .expect("a SYN-ACK");
    let iss = synack.seq_number;
    let ack = segment(TcpFlags::ACK, PEER_ISN + 1, iss.wrapping_add(1), &[]);
    s.receive(T0, i, &ack);
    let h = s.tcp_accept(l).unwrap().expect("accepted");
    drain(s);
    (h, iss)
}

fn data(range: core::ops::Range<usize>) -> Vec<u8> {
    range.map(|n| (n * 7 % 251) as u8).collect()
}

#[track_caller]
fn check_csum_errors(s: &Stack, n: u64) {
    assert_eq!(
        (s.stats().tcp_in_csum_errors, s.stats().tcp_in_errs),
        (n, n)
    );
}

/// An in-order segment with one payload bit flipped (the IP header still good) is
/// dropped and counted in TcpInCsumErrors and TcpInErrs: no ACK, nothing to read, and
/// the good segment sent after it, shorter and with other bytes, is what the reader
/// gets. Payloads of odd and even lengths, before and after data already read.
#[test]
fn corrupted_in_order_segment_is_dropped_and_counted() {
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    let mut seq = PEER_ISN + 1;
    let mut errors = 0;
    for (bad_len, good_len) in [(1000, 999), (1447, 1448), (3, 1)] {
        let mut bad = segment(TcpFlags::ACK, seq, iss + 1, &vec![0xee; bad_len]);
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        s.receive(T0, i, &bad);
        errors += 1;
        check_csum_errors(&s, errors);
        assert!(drain(&mut s).is_empty(), "no ACK for a corrupted segment");
        assert_eq!(s.tcp_conn(h).unwrap().recv_queue(), 0);

        let good = data(seq as usize..seq as usize + good_len);
        s.receive(
            T0,
            i,
            &segment(TcpFlags::ACK | TcpFlags::PSH, seq, iss + 1, &good),
        );
        check_csum_errors(&s, errors);
        let mut got = vec![0u8; 4000];
        let n = s.tcp_recv(T0, h, &mut got).unwrap();
        assert_eq!(&got[..n], &good[..]);
        seq += good_len as u32;
        drain(&mut s);
    }
}

/// Out-of-order data (verified by the plain pass, not in a copy) with a bad checksum is
/// dropped and counted too, and triggers no duplicate ACK.
#[test]
fn corrupted_out_of_order_segment_is_dropped_and_counted() {
    let (mut s, i) = stack();
    let (h, iss) = established(&mut s, i);
    let mut bad = segment(TcpFlags::ACK, PEER_ISN + 1 + 500, iss + 1, &data(0..500));
    bad[40] ^= 0x80;
    s.receive(T0, i, &bad);
    check_csum_errors(&s, 1);
    assert!(drain(&mut s).is_empty());
    // The same segment intact is held out of order and answered with a duplicate ACK.
    let good = segment(TcpFlags::ACK, PEER_ISN + 1 + 500, iss + 1, &data(0..500));
    s.receive(T0, i, &good);
    assert_eq!(drain(&mut s).len(), 1);
    assert_eq!(s.tcp_conn(h).unwrap().recv_queue(), 0);
    check_csum_errors(&s, 1);
}
