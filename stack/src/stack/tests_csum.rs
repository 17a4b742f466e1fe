//! The TCP checksum on input (RFC 9293 3.1; RFC 1122 4.2.2.7: verified on every segment),
//! which for in-order data is taken in the copy into the receive buffer: a corrupted
//! segment is dropped and counted, and changes nothing a user could see.

use super::test_host::{data, drain, established, segment, stack, PEER_ISN, T0};
use super::*;
use crate::wire::tcp::TcpFlags;

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
