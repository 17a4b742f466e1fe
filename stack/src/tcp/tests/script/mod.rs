//! Packet scripts on the sans-IO core, after smoltcp's `send!`/`recv!` and gVisor's
//! checkers: one stack (us, 10.0.0.2), a scripted peer (10.0.0.1) whose every segment the
//! test writes by hand, virtual time only. A test injects a crafted segment at time `t`
//! and asserts the segments that come out, or that none does. One test per rule; each
//! test's doc comment names the rule.
//!
//! ```text
//!   h.inject(&c.seg(ACK).data(b"hi"))    --> Stack --> h.expect(&[flags(ACK), ack(..)])
//!   h.advance(t)                         --> timers --> [(when, segment), ...]
//! ```

mod ack;
mod close;
mod congestion;
mod dsack;
mod frto;
mod handshake;
mod listen;
mod options;
mod prr;
mod rack;
mod recovery;
mod rfc5961;
mod rst;
mod rto;
mod time_wait;
mod timers;
mod tlp;
mod trace;
mod ts;
mod window;

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{A, B};
use crate::iface::{IfaceId, InterfaceConfig, Ipv4Cidr};
use crate::rand::Rng;
use crate::stack::{Stack, StackConfig};
use crate::tcp::congestion::Algorithm;
use crate::tcp::{ListenHandle, TcpConfig, TcpHandle};
use crate::time::{Duration, Instant};
use crate::wire::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::wire::tcp::{TcpFlags, TcpPacket, TcpRepr, TcpTimestamp};

/// The scripted peer's address.
pub(super) const PEER: Ipv4Addr = A;
/// The stack's address.
pub(super) const US: Ipv4Addr = B;
/// The time scripts start at.
pub(super) const T0: Instant = Instant::from_secs(100);
/// The port the stack listens on in passive scripts.
pub(super) const LPORT: u16 = 80;
/// The peer's port.
pub(super) const PPORT: u16 = 40_000;
/// The peer's initial sequence number: close to 2^32, so every data script crosses the
/// wrap of the sequence space (RFC 9293 3.4).
pub(super) const PEER_ISS: u32 = 0xFFFF_FC00;
/// The peer's first TSval.
pub(super) const PEER_TS: u32 = 7_000;

pub(super) const SYN: TcpFlags = TcpFlags::SYN;
pub(super) const ACK: TcpFlags = TcpFlags::ACK;
pub(super) const FIN: TcpFlags = TcpFlags::FIN;
pub(super) const RST: TcpFlags = TcpFlags::RST;
pub(super) const PSH: TcpFlags = TcpFlags::PSH;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A segment, as the peer writes it or as the stack sent it (owned, so it outlives the
/// frame it came in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Seg {
    pub sport: u16,
    pub dport: u16,
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub wnd: u16,
    pub mss: Option<u16>,
    pub ws: Option<u8>,
    pub sack_perm: bool,
    pub sack: Vec<(u32, u32)>,
    pub ts: Option<TcpTimestamp>,
    pub data: Vec<u8>,
}

impl Seg {
    /// A segment from the peer's port to ours with these flags, everything else zero.
    pub fn new(flags: TcpFlags) -> Seg {
        Seg {
            sport: PPORT,
            dport: LPORT,
            flags,
            seq: 0,
            ack: 0,
            wnd: 65_535,
            mss: None,
            ws: None,
            sack_perm: false,
            sack: Vec::new(),
            ts: None,
            data: Vec::new(),
        }
    }

    pub fn ports(mut self, sport: u16, dport: u16) -> Seg {
        self.sport = sport;
        self.dport = dport;
        self
    }
    pub fn seq(mut self, seq: u32) -> Seg {
        self.seq = seq;
        self
    }
    pub fn ack(mut self, ack: u32) -> Seg {
        self.ack = ack;
        self
    }
    pub fn wnd(mut self, wnd: u16) -> Seg {
        self.wnd = wnd;
        self
    }
    pub fn mss(mut self, mss: Option<u16>) -> Seg {
        self.mss = mss;
        self
    }
    pub fn ws(mut self, ws: Option<u8>) -> Seg {
        self.ws = ws;
        self
    }
    pub fn sack_perm(mut self, on: bool) -> Seg {
        self.sack_perm = on;
        self
    }
    pub fn ts(mut self, tsval: u32, tsecr: u32) -> Seg {
        self.ts = Some(TcpTimestamp { tsval, tsecr });
        self
    }
    pub fn no_ts(mut self) -> Seg {
        self.ts = None;
        self
    }
    pub fn data(mut self, data: &[u8]) -> Seg {
        self.data = data.to_vec();
        self
    }
    pub fn flags(mut self, flags: TcpFlags) -> Seg {
        self.flags = flags;
        self
    }

    /// SEG.LEN (RFC 9293 3.4): data plus SYN plus FIN.
    pub fn len(&self) -> u32 {
        self.data.len() as u32
            + u32::from(self.flags.contains(SYN))
            + u32::from(self.flags.contains(FIN))
    }

    /// The IPv4 datagram carrying this segment from `src` to `dst`.
    pub fn frame(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut sack_ranges = [None; 4];
        for (slot, b) in sack_ranges.iter_mut().zip(&self.sack) {
            *slot = Some(*b);
        }
        let r = TcpRepr {
            src_port: self.sport,
            dst_port: self.dport,
            flags: self.flags,
            seq_number: self.seq,
            ack_number: self.ack,
            window_len: self.wnd,
            urgent_pointer: 0,
            max_seg_size: self.mss,
            window_scale: self.ws,
            sack_permitted: self.sack_perm,
            sack_ranges,
            timestamp: self.ts,
            payload: &self.data,
        };
        let mut seg = vec![0u8; r.buffer_len()];
        r.emit(&mut TcpPacket::new_unchecked(&mut seg[..]), src, dst);
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::Tcp,
            payload_len: seg.len(),
            ttl: 64,
            ident: 0x1234,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            tos: 0,
        };
        let mut buf = vec![0u8; 20 + seg.len()];
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        buf[20..].copy_from_slice(&seg);
        buf
    }

    /// Parses a datagram the stack sent (both checksums verified).
    pub fn parse(frame: &[u8]) -> Seg {
        let p = Ipv4Packet::new_checked(frame).expect("valid IPv4");
        assert!(p.verify_checksum(), "IP header checksum");
        let ip = Ipv4Repr::parse(&p).expect("IPv4 repr");
        assert_eq!(ip.protocol, IpProtocol::Tcp);
        assert_eq!((ip.src_addr, ip.dst_addr), (US, PEER), "addresses");
        let payload = p.payload();
        let t = TcpPacket::new_checked(payload).expect("valid TCP");
        let r = TcpRepr::parse(&t, ip.src_addr, ip.dst_addr).expect("TCP repr (checksum)");
        Seg {
            sport: r.src_port,
            dport: r.dst_port,
            flags: r.flags,
            seq: r.seq_number,
            ack: r.ack_number,
            wnd: r.window_len,
            mss: r.max_seg_size,
            ws: r.window_scale,
            sack_perm: r.sack_permitted,
            sack: r.sack_ranges.iter().flatten().copied().collect(),
            ts: r.timestamp,
            data: r.payload.to_vec(),
        }
    }
}

/// A declarative check on a segment the stack sent (after gVisor's `checker.TCP(..)`).
#[derive(Clone, Debug)]
pub(super) enum C {
    /// Exactly these flags (PSH ignored unless `FlagsExact`).
    Flags(TcpFlags),
    /// Exactly these flags, PSH included.
    FlagsExact(TcpFlags),
    Seq(u32),
    Ack(u32),
    Wnd(u16),
    Len(usize),
    Data(Vec<u8>),
    Mss(Option<u16>),
    Ws(Option<u8>),
    SackPerm(bool),
    Sack(Vec<(u32, u32)>),
    /// A Timestamps option with this TSecr.
    TsEcr(u32),
    /// No Timestamps option.
    NoTs,
    Ports(u16, u16),
}

pub(super) fn flags(f: TcpFlags) -> C {
    C::Flags(f)
}
pub(super) fn seq(n: u32) -> C {
    C::Seq(n)
}
pub(super) fn ack(n: u32) -> C {
    C::Ack(n)
}
pub(super) fn wnd(n: u16) -> C {
    C::Wnd(n)
}
pub(super) fn len(n: usize) -> C {
    C::Len(n)
}

/// Asserts every check on `s`.
pub(super) fn check(s: &Seg, checks: &[C]) {
    for c in checks {
        let ok = match c {
            C::Flags(f) => {
                let mut got = s.flags;
                got.remove(PSH);
                let mut want = *f;
                want.remove(PSH);
                got == want
            }
            C::FlagsExact(f) => s.flags == *f,
            C::Seq(n) => s.seq == *n,
            C::Ack(n) => s.ack == *n,
            C::Wnd(n) => s.wnd == *n,
            C::Len(n) => s.data.len() == *n,
            C::Data(d) => s.data == *d,
            C::Mss(m) => s.mss == *m,
            C::Ws(w) => s.ws == *w,
            C::SackPerm(b) => s.sack_perm == *b,
            C::Sack(v) => s.sack == *v,
            C::TsEcr(e) => s.ts.is_some_and(|t| t.tsecr == *e),
            C::NoTs => s.ts.is_none(),
            C::Ports(a, b) => (s.sport, s.dport) == (*a, *b),
        };
        assert!(ok, "check {c:?} failed on {s:?}");
    }
}

/// The stack under test and the virtual clock.
pub(super) struct Harness {
    pub s: Stack,
    pub i: IfaceId,
    pub now: Instant,
}

/// The peer's side of a handshake: the options its SYN (or SYN-ACK) carries.
#[derive(Clone, Copy, Debug)]
pub(super) struct PeerOpts {
    pub mss: Option<u16>,
    pub ws: Option<u8>,
    pub sack: bool,
    pub ts: bool,
    /// The window field of the peer's SYN and of its later segments (unscaled field).
    pub wnd: u16,
}

impl Default for PeerOpts {
    /// MSS 1460, nothing else: plain arithmetic for data scripts.
    fn default() -> Self {
        PeerOpts {
            mss: Some(1460),
            ws: None,
            sack: false,
            ts: false,
            wnd: 65_535,
        }
    }
}

impl PeerOpts {
    /// What Linux offers: MSS 1460, SACK, timestamps, window scale 7.
    pub fn linux() -> Self {
        PeerOpts {
            mss: Some(1460),
            ws: Some(7),
            sack: true,
            ts: true,
            wnd: 64_240,
        }
    }
}

/// One connection from the peer's point of view: what it has sent and seen.
#[derive(Clone, Copy, Debug)]
pub(super) struct Conn {
    pub h: TcpHandle,
    /// The stack's local port.
    pub port: u16,
    /// The peer's port.
    pub pport: u16,
    /// The stack's ISS.
    pub iss: u32,
    /// The peer's next sequence number (the stack's RCV.NXT once all is delivered).
    pub nxt: u32,
    /// What the peer acknowledges by default: the stack's next sequence number as seen.
    pub una: u32,
    /// The peer's window field in later segments.
    pub wnd: u16,
    /// Timestamps in use: the peer's TSval clock and the last TSval it saw from us.
    pub ts: Option<(u32, u32)>,
}

impl Conn {
    /// A segment from the peer on this connection: SEQ = `nxt`, ACK = `una` (when `f` has
    /// ACK), the peer's window, and timestamps when in use.
    pub fn seg(&self, f: TcpFlags) -> Seg {
        let mut s = Seg::new(f)
            .ports(self.pport, self.port)
            .seq(self.nxt)
            .wnd(self.wnd);
        if f.contains(ACK) {
            s.ack = self.una;
        }
        if let Some((val, ecr)) = self.ts {
            s.ts = Some(TcpTimestamp {
                tsval: val,
                tsecr: ecr,
            });
        }
        s
    }

    /// A data segment with ACK at `nxt`.
    pub fn data(&self, d: &[u8]) -> Seg {
        self.seg(ACK).data(d)
    }

    /// Notes what the stack sent: the peer now acknowledges up to its end and echoes its
    /// TSval.
    pub fn saw(&mut self, s: &Seg) {
        let end = s.seq.wrapping_add(s.len());
        if end.wrapping_sub(self.una) as i32 > 0 {
            self.una = end;
        }
        if let (Some((_, ecr)), Some(t)) = (self.ts.as_mut(), s.ts) {
            *ecr = t.tsval;
        }
    }

    /// Advances the peer's clock by `n` ticks.
    pub fn tick(&mut self, n: u32) {
        if let Some((val, _)) = self.ts.as_mut() {
            *val = val.wrapping_add(n);
        }
    }
}

impl Harness {
    /// A stack at 10.0.0.2 with the default TCP configuration.
    /// The default configuration, except tail loss probes off: most scripts pin the
    /// RFC 6298 timer alone (`tlp.rs` turns probes on).
    pub fn new() -> Harness {
        Harness::with(TcpConfig {
            tail_loss_probe: false,
            ..TcpConfig::default()
        })
    }

    /// As [`Harness::new`] with this congestion control algorithm.
    pub fn with_cc(congestion: Algorithm) -> Harness {
        Harness::with(TcpConfig {
            tail_loss_probe: false,
            congestion,
            ..TcpConfig::default()
        })
    }

    /// A stack with this TCP configuration.
    pub fn with(cfg: TcpConfig) -> Harness {
        Harness::with_mtu(cfg, 1500)
    }

    /// A stack whose interface has this MTU.
    pub fn with_mtu(cfg: TcpConfig, mtu: usize) -> Harness {
        let mut s = Stack::new(
            StackConfig {
                tcp: cfg,
                ..StackConfig::default()
            },
            Rng::new(42),
        );
        let mut ic = InterfaceConfig::ip("sim", Ipv4Cidr::new(US, 24).expect("cidr"));
        ic.mtu = mtu;
        let i = s.add_interface(ic);
        Harness { s, i, now: T0 }
    }

    /// Injects a segment from the peer at the current time.
    pub fn inject(&mut self, s: &Seg) {
        let f = s.frame(PEER, US);
        self.s.receive(self.now, self.i, &f);
    }

    /// Everything the stack has sent and not yet been collected.
    pub fn out(&mut self) -> Vec<Seg> {
        std::iter::from_fn(|| self.s.poll_transmit())
            .map(|t| Seg::parse(&t.frame))
            .collect()
    }

    /// Asserts the stack sent exactly one segment, which passes `checks`; returns it.
    #[track_caller]
    pub fn expect(&mut self, checks: &[C]) -> Seg {
        let out = self.out();
        assert_eq!(out.len(), 1, "expected one segment, got {out:#?}");
        check(&out[0], checks);
        out.into_iter().next().expect("one segment")
    }

    /// Asserts the stack sent nothing.
    #[track_caller]
    pub fn expect_none(&mut self) {
        let out = self.out();
        assert!(out.is_empty(), "expected no segment, got {out:#?}");
    }

    /// Moves the clock to `t`, running every timer due on the way; returns what was sent
    /// and when (anything sent before the call is collected first, at the old time).
    pub fn advance(&mut self, t: Instant) -> Vec<(Instant, Seg)> {
        let mut got: Vec<(Instant, Seg)> = self.out().into_iter().map(|s| (self.now, s)).collect();
        for _ in 0..100_000 {
            match self.s.poll_at() {
                Some(at) if at <= t => {
                    self.now = self.now.max(at);
                    self.s.handle_timeout(self.now);
                    let now = self.now;
                    got.extend(self.out().into_iter().map(|s| (now, s)));
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        got
    }

    /// Runs timers until `t` and asserts exactly one segment was sent on the way, which
    /// passes `checks`; returns when it was sent, and the segment.
    #[track_caller]
    pub fn expect_by(&mut self, t: Instant, checks: &[C]) -> (Instant, Seg) {
        let got = self.advance(t);
        assert_eq!(got.len(), 1, "expected one segment by {t}, got {got:#?}");
        check(&got[0].1, checks);
        got.into_iter().next().expect("one segment")
    }

    /// Moves the clock by `d`.
    pub fn advance_by(&mut self, d: Duration) -> Vec<(Instant, Seg)> {
        let t = self.now + d;
        self.advance(t)
    }

    /// Moves the clock to `t` and asserts nothing was sent on the way.
    #[track_caller]
    pub fn idle_until(&mut self, t: Instant) {
        let got = self.advance(t);
        assert!(got.is_empty(), "expected silence until {t}, got {got:#?}");
    }

    /// Runs timers until the stack sends something (at most until `limit` from now);
    /// returns when, and the segments sent then.
    pub fn next_out(&mut self, limit: Duration) -> Option<(Instant, Vec<Seg>)> {
        let end = self.now + limit;
        let pending = self.out();
        if !pending.is_empty() {
            return Some((self.now, pending));
        }
        loop {
            let at = self.s.poll_at().filter(|&at| at <= end)?;
            self.now = self.now.max(at);
            self.s.handle_timeout(self.now);
            let out = self.out();
            if !out.is_empty() {
                return Some((self.now, out));
            }
        }
    }

    /// Listens on `LPORT` with this backlog.
    pub fn listen(&mut self, backlog: usize) -> ListenHandle {
        self.s
            .tcp_listen(SocketAddrV4::new(US, LPORT), backlog)
            .expect("listen")
    }

    /// The peer's SYN for a passive open from `pport`.
    pub fn syn(pport: u16, o: PeerOpts) -> Seg {
        let mut s = Seg::new(SYN)
            .ports(pport, LPORT)
            .seq(PEER_ISS)
            .wnd(o.wnd)
            .mss(o.mss)
            .ws(o.ws)
            .sack_perm(o.sack);
        if o.ts {
            s = s.ts(PEER_TS, 0);
        }
        s
    }

    /// Passive open through listener `l` from peer port `pport`: SYN, SYN-ACK, ACK; the
    /// connection is accepted. Returns the peer's view.
    pub fn passive_on(&mut self, l: ListenHandle, pport: u16, o: PeerOpts) -> Conn {
        self.inject(&Harness::syn(pport, o));
        let sa = self.expect(&[flags(SYN | ACK), ack(PEER_ISS.wrapping_add(1))]);
        let mut c = Conn {
            h: TcpHandle { idx: 0, gen: 0 },
            port: LPORT,
            pport,
            iss: sa.seq,
            nxt: PEER_ISS.wrapping_add(1),
            una: sa.seq.wrapping_add(1),
            wnd: o.wnd,
            ts: o.ts.then_some((PEER_TS, 0)),
        };
        c.saw(&sa);
        self.inject(&c.seg(ACK));
        self.expect_none();
        c.h = self.s.tcp_accept(l).expect("accept").expect("a connection");
        c
    }

    /// A listener and one accepted connection whose handshake took `rtt` (the peer's
    /// ACK of the SYN-ACK comes `rtt` after it): the connection starts with that RTT
    /// sample, as RACK (RFC 8985 6.2) and the RTO need a realistic one.
    pub fn passive_rtt(&mut self, o: PeerOpts, rtt: Duration) -> Conn {
        let l = self.listen(16);
        self.inject(&Harness::syn(PPORT, o));
        let sa = self.expect(&[flags(SYN | ACK), ack(PEER_ISS.wrapping_add(1))]);
        let mut c = Conn {
            h: TcpHandle { idx: 0, gen: 0 },
            port: LPORT,
            pport: PPORT,
            iss: sa.seq,
            nxt: PEER_ISS.wrapping_add(1),
            una: sa.seq.wrapping_add(1),
            wnd: o.wnd,
            ts: o.ts.then_some((PEER_TS, 0)),
        };
        c.saw(&sa);
        self.idle_until(self.now + rtt);
        self.inject(&c.seg(ACK));
        self.expect_none();
        c.h = self.s.tcp_accept(l).expect("accept").expect("a connection");
        c
    }

    /// A listener and one accepted connection.
    pub fn passive(&mut self, o: PeerOpts) -> Conn {
        let l = self.listen(16);
        self.passive_on(l, PPORT, o)
    }

    /// Active open to the peer: our SYN, the peer's SYN-ACK, our ACK. Returns the peer's
    /// view (the stack's port is `port`, the peer listens on `LPORT`).
    pub fn active(&mut self, o: PeerOpts) -> Conn {
        let h = self
            .s
            .tcp_connect(self.now, SocketAddrV4::new(PEER, LPORT), None)
            .expect("connect");
        let syn = self.expect(&[flags(SYN)]);
        // The peer listens on LPORT; the stack's port is the SYN's source port.
        let mut c = Conn {
            h,
            port: syn.sport,
            pport: LPORT,
            iss: syn.seq,
            nxt: PEER_ISS.wrapping_add(1),
            una: syn.seq.wrapping_add(1),
            wnd: o.wnd,
            ts: o.ts.then_some((PEER_TS, 0)),
        };
        c.saw(&syn);
        let sa = c
            .seg(SYN | ACK)
            .seq(PEER_ISS)
            .mss(o.mss)
            .ws(o.ws)
            .sack_perm(o.sack);
        self.inject(&sa);
        let a = self.expect(&[
            flags(ACK),
            seq(c.iss.wrapping_add(1)),
            ack(PEER_ISS.wrapping_add(1)),
        ]);
        c.saw(&a);
        c
    }

    /// Queues `data` on the connection (asserting all of it fits).
    pub fn send(&mut self, c: &Conn, data: &[u8]) {
        let n = self.s.tcp_send(self.now, c.h, data).expect("send");
        assert_eq!(n, data.len(), "send buffer took only part");
    }

    /// Reads what is readable (up to 1 MiB).
    pub fn read(&mut self, c: &Conn) -> Vec<u8> {
        let mut buf = vec![0u8; 1 << 20];
        match self.s.tcp_recv(self.now, c.h, &mut buf) {
            Ok(n) => buf[..n].to_vec(),
            Err(e) => panic!("recv failed: {e}"),
        }
    }

    /// The connection's state, `None` once it is forgotten.
    pub fn state(&self, c: &Conn) -> Option<crate::tcp::State> {
        self.s.tcp_conn(c.h).map(|c| c.state())
    }
}

/// The window field the stack advertises with an empty default receive buffer (256 KiB)
/// and window scaling on (shift 3): 262144 >> 3.
pub(super) const FULL_WND_SCALED: u16 = 32_768;
