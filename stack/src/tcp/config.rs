//! TCP tunables. Defaults follow Linux where the RFCs leave a choice, and say so.

use crate::tcp::congestion::Algorithm;
use crate::time::Duration;

/// TCP settings for a stack (some can be changed per socket).
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// Receive buffer per connection, bytes, to begin with: the most the window offers
    /// until autotuning grows it (Linux's `tcp_rmem[1]`).
    pub recv_buffer: usize,
    /// The most the receive buffer grows to (Linux's `tcp_rmem[2]`; 4 MiB): it is kept at
    /// twice what the application reads in a round trip (`tcp/rcv_tune.rs`), so a fast
    /// reader on a long path is not held to `recv_buffer`, and a slow one costs no more.
    /// The window scale is chosen for it (RFC 7323 2.3). At or below `recv_buffer`, the
    /// size is fixed (as `SO_RCVBUF` fixes Linux's).
    pub recv_buffer_max: usize,
    /// Send buffer per connection, bytes, to begin with (Linux's `tcp_wmem[1]`).
    pub send_buffer: usize,
    /// The most the send buffer grows to (Linux's `tcp_wmem[2]`, 4 MiB): it is kept at
    /// twice what the connection can have in flight (see `Connection::send_limit`), so
    /// a fast or lossy path is not held to `send_buffer`. At or below `send_buffer`, the
    /// size is fixed (as `SO_SNDBUF` fixes Linux's).
    pub send_buffer_max: usize,
    /// RFC 6298 2.4: the minimum RTO. RFC 6298 says 1 s SHOULD; Linux uses 200 ms, as does
    /// tunstack by default.
    pub min_rto: Duration,
    /// RFC 6298 2.5: the maximum RTO (at least 60 s). 120 s, as Linux.
    pub max_rto: Duration,
    /// RFC 6298 2.1: the RTO before any RTT sample. 1 s.
    pub initial_rto: Duration,
    /// Delayed ACK timeout (RFC 1122 4.2.3.2: under 0.5 s; Linux's minimum is 40 ms).
    pub delayed_ack: Duration,
    /// Maximum segment lifetime; TIME-WAIT lasts 2 MSL (RFC 9293 3.3.2). 30 s gives
    /// Linux's 60 s TIME-WAIT.
    pub msl: Duration,
    /// How long a connection the application has closed waits in FIN-WAIT-2 for the
    /// peer's FIN before it is dropped (Linux's `tcp_fin_timeout`, 60 s; RFC 9293 sets no
    /// limit, but nobody is left to wait for a peer that never closes).
    pub fin_timeout: Duration,
    /// Give up on a connection whose data goes unacknowledged this long (RFC 1122
    /// 4.2.3.5's R2, at least 100 s; RFC 5482's user timeout).
    pub user_timeout: Duration,
    /// Give up on a connection attempt after this long (RFC 1122 4.2.3.5: at least
    /// 3 minutes for a SYN; Linux gives up after about 127 s).
    pub syn_timeout: Duration,
    /// Keep-alive idle time before the first probe (RFC 1122 4.2.3.6: at least two
    /// hours by default), `None` to disable (the default, as RFC 1122 requires).
    pub keepalive: Option<Duration>,
    /// Keep-alive probe interval.
    pub keepalive_interval: Duration,
    /// Unanswered keep-alive probes before the connection is dropped.
    pub keepalive_probes: u32,
    /// The congestion control algorithm: CUBIC by default, as Linux.
    pub congestion: Algorithm,
    /// Pace Reno and CUBIC as well (`tcp/pace.rs`; BBR always paces). Off by default, as
    /// Linux paces them only under the `fq` qdisc.
    pub pacing: bool,
    /// Offer window scaling (RFC 7323).
    pub window_scaling: bool,
    /// Offer timestamps (RFC 7323).
    pub timestamps: bool,
    /// Offer SACK (RFC 2018).
    pub sack: bool,
    /// Send tail loss probes (RFC 8985 section 7) before the RTO.
    pub tail_loss_probe: bool,
    /// Build super-segments (up to 64 KiB) on every link but loopback, and cut them into
    /// wire segments in software where the device cannot (GSO, as Linux does): the
    /// sender's per-transmission work is done once per super-segment. The wire sees the
    /// same segments either way. With a device that offloads (TSO), super-segments are
    /// built whatever this says.
    pub gso: bool,
    /// Challenge ACKs per second (RFC 5961 section 7 rate limit).
    pub challenge_ack_rate: u64,
    /// The most half-open connections per listener before SYN cookies are used.
    pub syn_backlog: usize,
    /// The most connections (of all kinds) the stack holds.
    pub max_connections: usize,
    /// The most connections held in TIME-WAIT (Linux's `tcp_max_tw_buckets`). Past it,
    /// or when the table is full and a new connection needs a place, the oldest in
    /// TIME-WAIT is let go early (counted in `TcpExtTCPTimeWaitOverflow`): RFC 9293 3.6.1
    /// asks TIME-WAIT to last 2 MSL, but memory is bounded first, as in Linux, and a
    /// reused 4-tuple is still judged by RFC 6191 while its TIME-WAIT lasts.
    pub max_time_wait: usize,
    /// Consecutive retransmission timeouts of a large segment taken as a path MTU black
    /// hole (RFC 4821 7.7, `tcp/pmtu.rs`): the path MTU estimate drops to 1024 (then,
    /// IPv4, to 576 without DF). 0 turns it off (as Linux's `tcp_mtu_probing` 0 does);
    /// the default is 3 (Linux's `tcp_retries1`, after which its `tcp_mtu_probing` 1 acts),
    /// since every segment carries DF and a path that filters ICMP would else stall it.
    pub pmtu_black_hole_rtos: u32,
    /// Events kept per connection in its trace ring (`tcp::trace`); 0 (the default) turns
    /// tracing off.
    pub trace_events: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            recv_buffer: 256 * 1024,
            recv_buffer_max: 4 * 1024 * 1024,
            send_buffer: 256 * 1024,
            send_buffer_max: 4 * 1024 * 1024,
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            initial_rto: Duration::from_secs(1),
            delayed_ack: Duration::from_millis(40),
            msl: Duration::from_secs(30),
            fin_timeout: Duration::from_secs(60),
            user_timeout: Duration::from_secs(120),
            syn_timeout: Duration::from_secs(127),
            keepalive: None,
            keepalive_interval: Duration::from_secs(75),
            keepalive_probes: 9,
            congestion: Algorithm::Cubic,
            pacing: false,
            window_scaling: true,
            timestamps: true,
            sack: true,
            tail_loss_probe: true,
            gso: true,
            challenge_ack_rate: 1000,
            syn_backlog: 128,
            max_connections: 65_536,
            max_time_wait: 32_768,
            pmtu_black_hole_rtos: 3,
            trace_events: 0,
        }
    }
}
