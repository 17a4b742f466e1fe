//! TCP listeners in the core: SYNs in LISTEN (RFC 9293 3.10.7.2), SYN cookies when the SYN
//! queue is full (RFC 4987 3.6), and the listener calls the socket layer makes (listen,
//! accept, unlisten).

use std::net::SocketAddr;

use super::tcp::{count_transition, TcpError};
use super::Stack;
use crate::tcp::input::apply_syn_options;
use crate::tcp::layer::{ListenHandle, TcpHandle};
use crate::tcp::state::State;
use crate::tcp::SeqNum;
use crate::time::Instant;
use crate::wire::tcp::{TcpFlags, TcpRepr};

impl Stack {
    /// LISTEN (RFC 9293 3.10.7.2): SYNs open connections (or get SYN cookies when the SYN
    /// queue is full, RFC 4987 3.6); an ACK may complete a cookie handshake; anything
    /// else with an ACK gets a reset.
    pub(super) fn tcp_listen_input(
        &mut self,
        now: Instant,
        l: u32,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        if seg.flags.contains(TcpFlags::RST) {
            return;
        }
        let (backlog, accept_len, syn_queue, cookies_recent) =
            match self.tcp.listeners.get(l as usize) {
                Some(Some(lis)) => (
                    lis.backlog,
                    lis.accept_queue.len(),
                    lis.syn_queue,
                    lis.sent_cookies_recently(now),
                ),
                _ => return,
            };
        if seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
            // RFC 9293 3.10.7.2 (LISTEN, second): "Any acknowledgment is bad if it arrives
            // on a connection still in the LISTEN state": <SEQ=SEG.ACK><CTL=RST>.
            self.tcp_send_rst(now, local, remote, SeqNum(seg.ack_number), None);
            return;
        }
        if seg.flags.contains(TcpFlags::ACK) {
            if !cookies_recent {
                // No cookie is out there (Linux's tcp_synq_no_recent_overflow): the ACK is
                // not checked as one, so the cookie surface is closed while the listener
                // is not under a flood. RFC 9293 LISTEN: <SEQ=SEG.ACK><CTL=RST>.
                self.tcp_send_rst(now, local, remote, SeqNum(seg.ack_number), None);
                return;
            }
            // Perhaps the end of a SYN-cookie handshake.
            // `validate` takes the segment's own SEQ and ACK (peer ISN + 1, cookie + 1).
            let info = self.tcp.cookies.validate(
                local,
                remote,
                SeqNum(seg.seq_number),
                SeqNum(seg.ack_number),
                now,
            );
            match info {
                Some(info) if accept_len < backlog => {
                    self.stats.syncookies_recv += 1;
                    self.tcp_cookie_connection(now, l, local, remote, seg, info.mss);
                }
                Some(_) => {
                    self.stats.listen_overflows += 1;
                    self.stats.listen_drops += 1;
                }
                None => {
                    self.stats.syncookies_failed += 1;
                    // RFC 9293 LISTEN: an ACK is bad: <SEQ=SEG.ACK><CTL=RST>.
                    self.tcp_send_rst(now, local, remote, SeqNum(seg.ack_number), None);
                }
            }
            return;
        }
        if !seg.flags.contains(TcpFlags::SYN) || seg.flags.contains(TcpFlags::ACK) {
            return;
        }
        if accept_len >= backlog {
            // The accept queue is full: drop the SYN, as Linux does; the client retries.
            self.stats.listen_overflows += 1;
            self.stats.listen_drops += 1;
            return;
        }
        if syn_queue >= self.tcp.cfg.syn_backlog || !self.tcp.has_room(&mut self.stats) {
            if let Some(Some(lis)) = self.tcp.listeners.get_mut(l as usize) {
                lis.last_cookie = Some(now);
            }
            self.tcp_send_cookie(now, local, remote, seg);
            return;
        }
        let Some(path) = self.route_to(remote.ip()) else {
            self.stats.listen_drops += 1;
            return;
        };
        let iss = self.tcp.isn.isn(local, remote, now);
        let mut c = self.tcp_new_conn(path, local, remote, State::SynReceived, iss, now);
        c.irs = SeqNum(seg.seq_number);
        c.rcv_nxt = c.irs + 1;
        c.rcv_adv = c.rcv_nxt;
        c.snd_wnd = usize::from(seg.window_len);
        c.snd_wl1 = c.irs;
        c.max_snd_wnd = c.snd_wnd;
        c.user_attached = false;
        apply_syn_options(&mut c, seg, now);
        match self.tcp.insert(c, path, Some(l)) {
            Some(_) => {
                self.stats.tcp_passive_opens += 1;
                if let Some(Some(lis)) = self.tcp.listeners.get_mut(l as usize) {
                    lis.syn_queue += 1;
                }
            }
            None => self.stats.listen_drops += 1,
        }
    }

    fn tcp_send_cookie(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
    ) {
        let ipv6 = remote.is_ipv6();
        let peer_mss = seg
            .max_seg_size
            .unwrap_or(crate::tcp::conn::default_mss(ipv6));
        let (cookie, _mss) =
            self.tcp
                .cookies
                .generate(local, remote, SeqNum(seg.seq_number), peer_mss, now);
        self.stats.syncookies_sent += 1;
        let mss = self
            .route_to(remote.ip())
            .map(|p| {
                let mtu = self.ifaces[p.iface.0].mtu();
                crate::tcp::conn::mss_for_mtu(mtu, ipv6).min(65_535) as u16
            })
            .unwrap_or(crate::tcp::conn::default_mss(ipv6));
        let mut r = crate::tcp::output::bare_repr(local.port(), remote.port());
        r.flags = TcpFlags::SYN | TcpFlags::ACK;
        r.seq_number = cookie.0;
        r.ack_number = seg.seq_number.wrapping_add(1);
        r.window_len = 65_535;
        r.max_seg_size = Some(mss);
        self.tcp_emit_raw(local, remote, &r);
    }

    fn tcp_cookie_connection(
        &mut self,
        now: Instant,
        l: u32,
        local: SocketAddr,
        remote: SocketAddr,
        seg: &TcpRepr<'_>,
        mss: u16,
    ) {
        let Some(path) = self.route_to(remote.ip()) else {
            return;
        };
        let iss = SeqNum(seg.ack_number) - 1;
        let mut c = self.tcp_new_conn(path, local, remote, State::SynReceived, iss, now);
        // A cookie carries only the MSS: no window scaling, timestamps or SACK.
        c.opts.wscale_ok = false;
        c.opts.rcv_wscale = 0;
        c.opts.snd_wscale = 0;
        c.opts.timestamps = false;
        c.opts.sack = false;
        c.set_peer_mss(usize::from(mss));
        c.cc.set_mss(c.payload_mss());
        c.irs = SeqNum(seg.seq_number) - 1;
        c.rcv_nxt = SeqNum(seg.seq_number);
        c.rcv_adv = c.rcv_nxt + 65_535;
        c.snd_una = iss;
        c.snd_nxt = iss + 1;
        c.snd_max = iss + 1;
        c.user_attached = false;
        self.tcp.has_room(&mut self.stats);
        let Some(h) = self.tcp.insert(c, path, Some(l)) else {
            return;
        };
        self.stats.tcp_passive_opens += 1;
        if let Some(Some(lis)) = self.tcp.listeners.get_mut(l as usize) {
            lis.syn_queue += 1;
        }
        // Process the ACK (and any data on it) as the handshake's end.
        self.tcp_segment_for(now, h.idx, seg);
    }

    /// Opens a listener on `local` (port 0 is not allowed; address 0.0.0.0 means all of
    /// our IPv4 addresses, `::` all of ours of both families, see `iface::bind`) with an
    /// accept queue of `backlog`.
    pub fn tcp_listen(
        &mut self,
        local: impl Into<SocketAddr>,
        backlog: usize,
    ) -> Result<ListenHandle, TcpError> {
        let local = local.into();
        if !local.ip().is_unspecified() && !self.is_own_addr(local.ip()) {
            return Err(TcpError::AddrNotAvailable);
        }
        if local.port() == 0 {
            return Err(TcpError::AddrNotAvailable);
        }
        if self.tcp.port_listened(local.ip(), local.port()) {
            return Err(TcpError::AddrInUse);
        }
        Ok(self.tcp.add_listener(local, backlog))
    }

    /// The listener's address.
    pub fn tcp_listener_addr(&self, h: ListenHandle) -> Option<SocketAddr> {
        self.tcp.listener(h).map(|l| l.local)
    }

    /// Whether an established connection waits in the accept queue (`None`: no such
    /// listener). For readiness checks.
    pub fn tcp_accept_ready(&self, h: ListenHandle) -> Option<bool> {
        self.tcp.listener(h).map(|l| !l.accept_queue.is_empty())
    }

    /// Takes an established connection from the accept queue.
    pub fn tcp_accept(&mut self, h: ListenHandle) -> Result<Option<TcpHandle>, TcpError> {
        loop {
            let lis = self.tcp.listener_mut(h).ok_or(TcpError::InvalidHandle)?;
            let Some(c) = lis.accept_queue.pop_front() else {
                return Ok(None);
            };
            let Some(slot) = self
                .tcp
                .slots
                .get_mut(c.idx as usize)
                .filter(|s| s.gen == c.gen)
            else {
                continue; // closed before it was accepted
            };
            slot.listener = None;
            if let Some(conn) = slot.conn.as_mut() {
                conn.user_attached = true;
                return Ok(Some(c));
            }
        }
    }

    /// Closes a listener: connections in its accept queue are reset.
    pub fn tcp_unlisten(&mut self, now: Instant, h: ListenHandle) {
        let Some(l) = self
            .tcp
            .listeners
            .get_mut(h.idx as usize)
            .and_then(|l| l.take_if(|l| l.gen == h.gen))
        else {
            return;
        };
        for c in l.accept_queue {
            if let Some(conn) = self.tcp.conn_mut(c) {
                conn.user_attached = false;
                let before = conn.state();
                conn.abort(now);
                count_transition(&mut self.stats, before, conn.state());
                self.tcp.mark_dirty(c.idx);
            }
        }
        for s in self
            .tcp
            .slots
            .iter_mut()
            .filter(|s| s.listener == Some(h.idx))
        {
            s.listener = None;
            s.in_syn_queue = false;
        }
        self.tcp_flush(now);
    }
}
