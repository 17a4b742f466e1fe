//! The MSS (RFC 9293 3.7.1, RFC 6691) and window scaling (RFC 7323 section 2) as they
//! shape the segments we send and the windows we read and write.

use super::*;

fn send_and_collect(h: &mut Harness, c: &Conn, n: usize) -> Vec<Seg> {
    h.send(c, &vec![0x5a; n]);
    h.out()
}

/// RFC 9293 3.7.1 / RFC 1122 4.2.2.6: without an MSS option in the SYN, the send MSS is
/// 536.
#[test]
fn send_mss_is_536_without_option() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        mss: None,
        ..PeerOpts::default()
    });
    let out = send_and_collect(&mut h, &c, 3 * 536);
    let lens: Vec<usize> = out.iter().map(|s| s.data.len()).collect();
    assert_eq!(lens, [536, 536, 536]);
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().mss, 536);
}

/// RFC 9293 3.7.1 / RFC 1122 4.2.2.6 (Eff.snd.MSS = min(SendMSS, MMS_S)): a peer MSS larger
/// than our link carries is clamped to MTU - 40.
#[test]
fn send_mss_is_clamped_to_link_mtu() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        mss: Some(9000),
        ..PeerOpts::default()
    });
    let out = send_and_collect(&mut h, &c, 3000);
    assert_eq!(out[0].data.len(), 1460);
    assert_eq!(out[1].data.len(), 1460);
}

/// RFC 9293 3.7.1: a peer MSS smaller than our link's is what we send.
#[test]
fn send_mss_follows_smaller_peer_mss() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        mss: Some(1000),
        ..PeerOpts::default()
    });
    let out = send_and_collect(&mut h, &c, 3000);
    let lens: Vec<usize> = out.iter().map(|s| s.data.len()).collect();
    assert_eq!(lens, [1000, 1000, 1000]);
}

/// RFC 6691 / RFC 1122 4.2.2.6: the MSS counts no TCP options, so a segment carrying the
/// 12-byte timestamps option holds MSS - 12 bytes of data.
#[test]
fn options_come_out_of_the_mss() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts::linux());
    let out = send_and_collect(&mut h, &c, 3000);
    assert_eq!(out[0].data.len(), 1448);
    assert_eq!(out[1].data.len(), 1448);
}

/// RFC 7323 2.3: the peer's window field is shifted by its window scale in every segment
/// but a SYN: a field of 1460 with shift 1 lets 2920 bytes out, two full segments.
#[test]
fn window_scale_applies_to_later_windows() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        ws: Some(1),
        wnd: 1460,
        ..PeerOpts::default()
    });
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().snd_wnd, 2920);
    let out = send_and_collect(&mut h, &c, 5000);
    let lens: Vec<usize> = out.iter().map(|s| s.data.len()).collect();
    assert_eq!(lens, [1460, 1460]);
}

/// RFC 7323 2.2: "The window field in a segment where the SYN bit is set ... MUST NOT be
/// scaled": the SYN-ACK's 1460 means 1460 bytes although the peer's shift is 3.
#[test]
fn syn_window_is_not_scaled() {
    let mut h = Harness::new();
    let c = h.active(PeerOpts {
        ws: Some(3),
        wnd: 1460,
        ..PeerOpts::default()
    });
    assert_eq!(h.s.tcp_conn(c.h).unwrap().info().snd_wnd, 1460);
    let out = send_and_collect(&mut h, &c, 5000);
    assert_eq!(out.len(), 1);
    check(&out[0], &[len(1460)]);
}

/// RFC 7323 2.3: a shift count above 14 is used as 14 (and the connection goes on).
#[test]
fn window_scale_above_14_is_14() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        ws: Some(15),
        wnd: 1,
        ..PeerOpts::default()
    });
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.negotiated().snd_wscale, 14);
    assert_eq!(conn.info().snd_wnd, 1 << 14);
}

/// RFC 7323 2.2: scaling is used only when both SYNs carried the option. Without it from
/// the peer, its windows are taken as they are and ours are plain 16-bit values (a
/// 256 KiB buffer offers 65535).
#[test]
fn no_scaling_unless_both_sides_offer_it() {
    let mut h = Harness::new();
    let c = h.passive(PeerOpts {
        wnd: 1000,
        ..PeerOpts::default()
    });
    let conn = h.s.tcp_conn(c.h).unwrap();
    assert_eq!(conn.info().snd_wnd, 1000);
    assert_eq!(conn.negotiated().rcv_wscale, 0);
    h.inject(&c.data(b"x"));
    // 65534: the right edge offered in the handshake stays put until it can move by a
    // full segment (RFC 1122 4.2.3.3).
    h.expect_by(h.now + ms(100), &[ack(c.nxt.wrapping_add(1)), wnd(65_534)]);
}

/// RFC 7323 2.2: our SYN offered a shift, but the peer's SYN-ACK has no Window Scale: we
/// scale nothing either, and advertise plain 16-bit windows.
#[test]
fn peer_without_window_scale_disables_ours() {
    let mut h = Harness::new();
    let c = h.active(PeerOpts::default());
    let n = h.s.tcp_conn(c.h).unwrap().negotiated();
    assert_eq!((n.snd_wscale, n.rcv_wscale, n.wscale_ok), (0, 0, false));
    h.inject(&c.data(b"x"));
    h.expect_by(h.now + ms(100), &[wnd(65_534)]);
}

/// RFC 7323 2.3: with scaling in effect, the window we advertise is the free buffer shifted
/// right by our shift: 256 KiB >> 3 = 32768 with a fixed buffer, 256 KiB >> 7 = 2048
/// with one that may grow to 4 MiB (less the byte not yet read, rounded down).
#[test]
fn our_window_is_scaled_after_the_handshake() {
    let fixed = TcpConfig {
        recv_buffer_max: 0,
        ..TcpConfig::default()
    };
    for (cfg, field) in [(fixed, FULL_WND_SCALED - 1), (TcpConfig::default(), 2047)] {
        let mut h = Harness::with(cfg);
        let c = h.passive(PeerOpts::linux());
        h.inject(&c.data(b"x"));
        h.expect_by(h.now + ms(100), &[ack(c.nxt.wrapping_add(1)), wnd(field)]);
    }
}

/// RFC 7323 2.3: the shift we offer is the smallest that lets the whole receive buffer be
/// advertised: 0 for 64000 bytes, 1 for 65536, 3 for 256 KiB (fixed buffers); with
/// autotuning, the most the buffer may grow to counts (4 MiB: 7).
#[test]
fn offered_shift_fits_the_buffer() {
    let fixed = |recv_buffer| TcpConfig {
        recv_buffer,
        recv_buffer_max: 0,
        ..TcpConfig::default()
    };
    let cases = [
        (fixed(64_000), 0),
        (fixed(65_536), 1),
        (fixed(256 * 1024), 3),
        (TcpConfig::default(), 7),
    ];
    for (cfg, shift) in cases {
        let buf = cfg.recv_buffer;
        let mut h = Harness::with(cfg);
        h.listen(4);
        h.inject(&Harness::syn(PPORT, PeerOpts::linux()));
        let sa = h.expect(&[flags(SYN | ACK)]);
        assert_eq!(sa.ws, Some(shift), "buffer {buf}");
    }
}
