//! The sans-IO core: feed it frames and the time, it gives frames to send and the time it
//! next wants to be called.
//!
//! ```text
//!   receive(now, iface, frame) ──►┌───────┐──► poll_transmit() -> Transmit
//!   handle_timeout(now)        ──►│ Stack │──► poll_at() -> Option<Instant>
//!   echo_send / echo_recv ...  ◄─►└───────┘
//! ```
//!
//! The core never does IO, never reads the clock and never sleeps: the runtime in
//! [`crate::socket`] (or a simulation in virtual time) drives it, after quinn-proto's
//! `Connection`. The IPv4 layer is split by direction: [`ip_in`](self) (validation, local
//! delivery, reassembly, forwarding) and `ip_out` (routing, identification,
//! fragmentation); ICMP handling is in `icmp`. On Ethernet interfaces (TAP), `ethernet`
//! adds the link layer around it: framing, ARP and the neighbour cache.

mod echo6;
mod ethernet;
mod gro;
mod icmp;
mod icmp6;
mod ip6_fwd;
mod ip6_in;
mod ip6_out;
mod ip_in;
mod ip_out;
mod ndisc6;
mod tcp;
mod tcp_csum;
mod tcp_listen;
mod tcp_pmtu;
#[cfg(test)]
mod test_host;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_csum;
#[cfg(test)]
mod tests_fwd6;
#[cfg(test)]
mod tests_gro;
#[cfg(test)]
mod tests_gro_cases;
#[cfg(test)]
mod tests_hostile;
#[cfg(test)]
mod tests_icmp_tcp;
#[cfg(test)]
mod tests_ip6;
#[cfg(test)]
mod tests_nd6;
#[cfg(test)]
mod tests_offload;
#[cfg(test)]
mod tests_offload6;
#[cfg(test)]
mod tests_offload_tap;
#[cfg(test)]
mod tests_pmtu;
#[cfg(test)]
mod tests_pmtu6;
#[cfg(test)]
mod tests_tcp6;
#[cfg(test)]
mod tests_udp;
mod udp;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use crate::icmp::{EchoEvent, EchoSockets};
use crate::iface::ident::IdentGenerator;
use crate::iface::{
    IfaceId, Interface, InterfaceConfig, NeighborConfig, Reassembler, ReassemblyConfig, Route,
    RoutingTable, TokenBucket,
};
use crate::link::Medium;
use crate::rand::Rng;
use crate::stats::Stats;
use crate::time::Instant;
use crate::wire::virtio::VirtioNetHdr;

pub use echo6::Echo6Event;
pub use ethernet::{multicast_mac, random_mac, ANNOUNCE_INTERVAL, ANNOUNCE_NUM};
pub use ip_out::SendError;
pub use tcp::TcpError;

/// How the stack behaves.
#[derive(Clone, Debug)]
pub struct StackConfig {
    /// Forward datagrams that are not ours between interfaces (be a router). Off by
    /// default, as RFC 1122 3.3.4.2 requires of hosts.
    pub forwarding: bool,
    /// The TTL of datagrams the stack originates. 64, as Linux (RFC 1700 recommends 64).
    pub ttl: u8,
    /// Reassembly limits and timeout.
    pub reassembly: ReassemblyConfig,
    /// ICMP errors per second, sustained (RFC 1812 4.3.2.8 rate limiting).
    pub icmp_error_rate: u64,
    /// ICMP errors in a burst.
    pub icmp_error_burst: u64,
    /// Ignore echo requests sent to a broadcast address (RFC 1122 3.2.2.6 allows it;
    /// Linux's `icmp_echo_ignore_broadcasts` defaults to on, against smurf attacks).
    pub echo_ignore_broadcasts: bool,
    /// The most frames queued for transmission; more are dropped and counted.
    pub tx_queue_len: usize,
    /// TCP settings.
    pub tcp: crate::tcp::TcpConfig,
    /// ARP neighbour cache limits and timers (Ethernet interfaces).
    pub arp: NeighborConfig,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            forwarding: false,
            ttl: 64,
            reassembly: ReassemblyConfig::default(),
            icmp_error_rate: 1000,
            icmp_error_burst: 50,
            echo_ignore_broadcasts: true,
            tx_queue_len: 4096,
            tcp: crate::tcp::TcpConfig::default(),
            arp: NeighborConfig::default(),
        }
    }
}

/// Something a blocked socket call may be waiting for: the runtime wakes the threads
/// waiting on a key when the core reports it touched (instead of waking every thread on
/// every turn).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitKey {
    /// A TCP connection (its slot), for readers: data, end of stream, or a failure.
    Tcp(u32),
    /// A TCP connection, for writers and connect: room in the send buffer (a quarter of
    /// it, so a writer is not woken for every ACK), establishment, or a failure.
    TcpWrite(u32),
    /// A TCP listener (its slot).
    Listen(u32),
    /// An echo socket (its identifier).
    Echo(u16),
    /// A UDP socket (its slot).
    Udp(u32),
}

/// A frame to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The interface it leaves through.
    pub iface: IfaceId,
    /// The next hop on that link (the gateway or the destination): what ARP resolves on
    /// an Ethernet link (IPv6 frames are resolved by Neighbor Discovery before they are
    /// queued). Point-to-point TUN links ignore it.
    pub next_hop: IpAddr,
    /// What the interface's device sends: the IP datagram on an IP interface, an Ethernet
    /// frame (IPv4 or ARP) on an Ethernet one.
    pub frame: Vec<u8>,
    /// Its offload header: all zero for an ordinary frame; for a TCP super-segment or a
    /// partial checksum (only on interfaces whose device takes them), what the device is
    /// to do ([`crate::link::Device::send_offload`]).
    pub offload: VirtioNetHdr,
}

/// The protocol core of one stack: interfaces, routes, IPv4, ICMP, and sockets' state.
#[derive(Debug)]
pub struct Stack {
    config: StackConfig,
    ifaces: Vec<Interface>,
    routes: RoutingTable,
    reasm: Reassembler,
    ident: IdentGenerator,
    icmp_limit: TokenBucket,
    rng: Rng,
    stats: Stats,
    tx: VecDeque<Transmit>,
    /// Datagrams the stack sent to one of its own addresses, delivered on the next turn.
    loopback: VecDeque<Vec<u8>>,
    echo: EchoSockets,
    tcp: crate::tcp::layer::TcpLayer,
    udp: crate::udp::UdpTable,
    /// Sockets touched since the runtime last looked (see [`Stack::take_events`]).
    events: Vec<WaitKey>,
    /// The time of the latest `receive` or `handle_timeout`, for work done lazily in
    /// `poll_transmit`.
    last_now: Instant,
    /// Ethernet and ARP state (see `ethernet`).
    l2: ethernet::Link,
    /// IPv6 state (see `ip6_in`).
    ip6: ip6_in::Ip6,
    /// Frame buffers handed back with [`Stack::recycle`], reused for outgoing frames so
    /// the data path does not allocate per segment.
    frame_pool: Vec<Vec<u8>>,
    /// While [`Stack::receive_offload`] hands on a TCP segment whose checksum the device
    /// vouches for: the wire segments it stands for.
    rx_offload: Option<u64>,
    /// Receive coalescing (`stack/gro.rs`): whether frames come in a batch
    /// ([`Stack::receive_batch`]), and the run of in-order segments merged so far.
    gro_on: bool,
    gro: Option<gro::GroRun>,
    /// Frames a connection generated in one dispatch, on their way to `ip_output`
    /// (kept to reuse its allocation).
    tcp_out: Vec<(Vec<u8>, VirtioNetHdr)>,
}

/// The most buffers [`Stack::recycle`] keeps: a turn's worth of wire-sized frames with
/// the runtime's writer threads holding theirs (1 MiB each, about 700 frames), so that
/// sending without offloads allocates no frame.
const FRAME_POOL: usize = 1024;

/// The most buffers [`Stack::recycle`] keeps when it is handed a large one (a
/// super-segment's, up to 64 KiB): large buffers are kept only while the pool is under
/// this, so they hold at most 16 MiB, and wire-sized ones (4 KiB at most) 4 MiB more.
const FRAME_POOL_LARGE: usize = 256;

/// The capacity of a fresh frame buffer: any wire-sized frame (an Ethernet MTU's with
/// its header) fits, so [`Stack::recycle`] takes it back.
pub(crate) const FRAME_CAPACITY: usize = 2048;

/// The least capacity [`Stack::recycle`] keeps.
const FRAME_MIN_RECYCLE: usize = 1600;

impl Stack {
    /// A stack with no interfaces. All randomness comes from `rng`.
    pub fn new(config: StackConfig, mut rng: Rng) -> Stack {
        let tcp = crate::tcp::layer::TcpLayer::new(config.tcp.clone(), &mut rng);
        Stack {
            tcp,
            events: Vec::new(),
            udp: crate::udp::UdpTable::default(),
            last_now: Instant::ZERO,
            frame_pool: Vec::new(),
            rx_offload: None,
            gro_on: false,
            gro: None,
            tcp_out: Vec::new(),
            reasm: Reassembler::new(config.reassembly),
            ident: IdentGenerator::new(&mut rng),
            icmp_limit: TokenBucket::new(config.icmp_error_rate, config.icmp_error_burst),
            ifaces: Vec::new(),
            routes: RoutingTable::new(),
            stats: Stats::default(),
            tx: VecDeque::new(),
            loopback: VecDeque::new(),
            echo: EchoSockets::new(),
            l2: ethernet::Link::new(config.arp.clone()),
            ip6: ip6_in::Ip6::new(&config),
            config,
            rng,
        }
    }

    /// Adds an interface, with an on-link route to its network. An Ethernet interface
    /// without an Ethernet address gets a random one, and announces itself (gratuitous
    /// ARP) at the next [`Stack::handle_timeout`].
    pub fn add_interface(&mut self, config: InterfaceConfig) -> IfaceId {
        let id = IfaceId(self.ifaces.len());
        self.routes.add(Route {
            dest: config.addr.network(),
            gateway: None,
            iface: id,
        });
        self.ifaces.push(Interface {
            id,
            config,
            offload: false,
        });
        self.eth_attach(id);
        self.ip6_attach(id);
        id
    }

    /// The interfaces.
    pub fn interfaces(&self) -> &[Interface] {
        &self.ifaces
    }

    /// One interface.
    pub fn interface(&self, id: IfaceId) -> Option<&Interface> {
        self.ifaces.get(id.0)
    }

    /// Tells the stack whether the device of interface `id` takes TCP super-segments and
    /// partial checksums ([`crate::link::Device::offload`]): connections opened through
    /// it afterwards send super-segments of up to 64 KiB for the device to segment. On an
    /// Ethernet (TAP) interface the header's offsets are moved behind the Ethernet header
    /// when the datagram is framed, and a datagram held while ARP or Neighbor Discovery
    /// resolves its next hop keeps its header ([`crate::iface::Pending`]).
    pub fn set_offload(&mut self, id: IfaceId, on: bool) {
        if let Some(i) = self.ifaces.get_mut(id.0) {
            i.offload = on;
        }
    }

    /// The routing table.
    pub fn routes(&self) -> &RoutingTable {
        &self.routes
    }

    /// The routing table, to add or remove routes.
    pub fn routes_mut(&mut self) -> &mut RoutingTable {
        &mut self.routes
    }

    /// The configuration.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// Turns forwarding on or off.
    pub fn set_forwarding(&mut self, on: bool) {
        self.config.forwarding = on;
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Hands the stack a frame that arrived on `iface` with its offload header
    /// ([`crate::link::Device::recv_offload`]).
    ///
    /// A TCP segment for one of our addresses (IPv4, or IPv6 with no extension header) is
    /// taken whole, checksum unverified (the
    /// kernel's promise: virtio 1.2 section 5.1.6.2), a super-segment as the run of
    /// segments it stands for: one pass through IP and TCP, counted as its wire segments
    /// in TcpInSegs, and answered as one (with a stretch ACK, as Linux's GRO receiver
    /// does). Anything else is split and completed in software first
    /// ([`crate::link::wire_frames`]), so forwarding, fragments, UDP and ICMP see wire
    /// packets. A header that does not fit its packet drops the frame, counted in
    /// TunVnetHdrErrors.
    pub fn receive_offload(
        &mut self,
        now: Instant,
        iface: IfaceId,
        frame: &[u8],
        hdr: &VirtioNetHdr,
    ) {
        if hdr.is_none() {
            return self.receive(now, iface, frame);
        }
        let Some(medium) = self.ifaces.get(iface.0).map(|i| i.config.medium) else {
            return;
        };
        let link_hl = medium.header_len();
        let packet = frame.get(link_hl..).unwrap_or(&[]);
        let ipv6 = packet.first().is_some_and(|b| b >> 4 == 6);
        let checked = if ipv6 {
            hdr.check_ipv6(link_hl, packet)
        } else {
            hdr.check_ipv4(link_hl, packet)
        };
        if let Err(e) = checked {
            self.stats.tun_vnet_hdr_errors += 1;
            log::debug!(target: "tunstack::ip", "dropped a frame with a bad virtio-net header ({e}): {hdr:?}");
            return;
        }
        if hdr.is_gso() {
            self.stats.tun_gso_in += 1;
        }
        let whole = match ipv6 {
            false => self.takes_offloaded(packet),
            true => self.takes_offloaded6(packet),
        };
        if whole.is_some() {
            let ip_hl = whole.unwrap_or(20);
            let tcp_hl = packet
                .get(ip_hl + 12)
                .map_or(20, |b| usize::from(b >> 4) * 4);
            let data = packet.len().saturating_sub(ip_hl + tcp_hl);
            self.rx_offload = Some(match hdr.is_gso() {
                true => data.div_ceil(usize::from(hdr.gso_size)).max(1) as u64,
                false => 1,
            });
            self.receive(now, iface, frame);
            self.rx_offload = None;
            return;
        }
        if let Err(e) =
            crate::link::wire_frames(link_hl, frame, hdr, &mut |f| self.receive(now, iface, f))
        {
            self.stats.tun_vnet_hdr_errors += 1;
            log::debug!(target: "tunstack::ip", "could not split an offloaded frame: {e}");
        }
    }

    /// Whether an offloaded IPv4 packet can be taken whole (TCP, not a fragment, for one
    /// of our addresses), and if so the length of its IP header.
    fn takes_offloaded(&self, packet: &[u8]) -> Option<usize> {
        let p = crate::wire::Ipv4Packet::new_checked(packet).ok()?;
        let whole = p.protocol() == crate::wire::IpProtocol::Tcp
            && !p.more_frags()
            && p.frag_offset() == 0
            && self.ifaces.iter().any(|i| i.addr() == p.dst_addr());
        whole.then(|| p.header_len())
    }

    /// Whether an offloaded IPv6 packet can be taken whole: TCP right after the fixed
    /// header (with extension headers it is split in software first), the whole Payload
    /// Length present, for one of our unicast addresses. Returns the header length (40).
    fn takes_offloaded6(&self, packet: &[u8]) -> Option<usize> {
        let p = crate::wire::ipv6::Ipv6Packet::new_checked(packet).ok()?;
        let r = crate::wire::ipv6::Ipv6Repr::parse(&p).ok()?;
        let whole = r.next_header == crate::wire::ipv6::next_header::TCP
            && !crate::wire::ipv6::addr::is_multicast(&r.dst_addr)
            && self.ip6_is_ours(&r.dst_addr);
        whole.then_some(crate::wire::ipv6::HEADER_LEN)
    }

    /// Hands the stack a frame that arrived on `iface`.
    pub fn receive(&mut self, now: Instant, iface: IfaceId, frame: &[u8]) {
        let Some(medium) = self.ifaces.get(iface.0).map(|i| i.config.medium) else {
            return;
        };
        if medium == Medium::Ethernet {
            self.last_now = now;
            self.eth_receive(now, iface, frame);
            return;
        }
        self.last_now = now;
        if frame.first().is_some_and(|b| b >> 4 == 6) {
            self.ip6_receive(now, Some(iface), frame);
            return;
        }
        self.ip_receive(now, Some(iface), frame);
    }

    /// The next frame to send, if any.
    ///
    /// TCP answers to the frames received since the last call are generated here, once
    /// for the whole batch: the runtime hands the core every frame a device has ready,
    /// then polls, so a burst of segments gets one ACK rather than one per two segments
    /// (what the kernel's GRO achieves; RFC 5681 4.2's "every second segment" holds when
    /// segments arrive one at a time).
    ///
    /// A datagram for an Ethernet interface leaves in a frame addressed to its next hop,
    /// or waits while ARP resolves that address (and another frame is returned instead).
    ///
    /// Inlined: returned through memory, the caller's wide loads of the frame waited
    /// for the narrow stores that had just written it (60% of the `Sim`'s step).
    #[inline]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            if let Some(t) = self.eth_pop() {
                return Some(t);
            }
            if self.tx.is_empty() {
                self.flush(self.last_now);
            }
            let t = self.tx.pop_front()?;
            match self.ifaces.get(t.iface.0).map(|i| i.config.medium) {
                Some(Medium::Ethernet) => {
                    if let Some(framed) = self.eth_output(t) {
                        return Some(framed);
                    }
                }
                _ => return Some(t),
            }
        }
    }

    /// Hands back the buffer of a frame that was sent (or received and processed), so
    /// the next outgoing frame can reuse it instead of allocating.
    pub fn recycle(&mut self, frame: Vec<u8>) {
        let keep = if frame.capacity() > 2 * FRAME_CAPACITY {
            FRAME_POOL_LARGE
        } else {
            FRAME_POOL
        };
        if self.frame_pool.len() < keep && frame.capacity() >= FRAME_MIN_RECYCLE {
            self.frame_pool.push(frame);
        }
    }

    /// Generates everything due: TCP segments of touched connections and loopback
    /// deliveries.
    pub fn flush(&mut self, now: Instant) {
        for _ in 0..16 {
            self.tcp_flush(now);
            if self.loopback.is_empty() {
                return;
            }
            self.drain_loopback(now);
        }
    }

    /// When the stack next needs [`Stack::handle_timeout`], if ever.
    pub fn poll_at(&self) -> Option<Instant> {
        if !self.loopback.is_empty() {
            return Some(Instant::ZERO);
        }
        [
            self.reasm.poll_at(),
            self.tcp.poll_at(),
            self.eth_poll_at(),
            self.ip6_poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs every timer that has expired by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        for expired in self.reasm.expire(now) {
            self.stats.ip_reasm_timeout += 1;
            self.stats.ip_reasm_fails += 1;
            log::debug!(target: "tunstack::ip", "reassembly timed out for a datagram from {}", expired.src);
            if let Some(quote) = expired.quote {
                self.icmp_reassembly_timeout(now, &quote);
            }
        }
        self.tcp_timeout(now);
        self.eth_timeout(now);
        self.ip6_timeout(now);
        self.drain_loopback(now);
    }

    /// The sockets touched since the last call (duplicates possible): whoever waits on
    /// them may now make progress.
    pub fn take_events(&mut self, out: &mut Vec<WaitKey>) {
        out.append(&mut self.events);
    }

    /// Whether the runtime has something to do right away: frames to send, timers due,
    /// or waiters to wake.
    pub fn has_work(&self, now: Instant) -> bool {
        !self.tx.is_empty() || !self.events.is_empty() || self.poll_at().is_some_and(|t| t <= now)
    }

    /// Opens an echo socket (for ping and traceroute); returns its echo identifier, or
    /// `None` when too many are open.
    pub fn echo_open(&mut self) -> Option<u16> {
        self.echo.open(&mut self.rng)
    }

    /// Closes an echo socket.
    pub fn echo_close(&mut self, ident: u16) {
        self.echo.close(ident);
    }

    /// The next reply or error for an echo socket.
    pub fn echo_recv(&mut self, ident: u16) -> Option<EchoEvent> {
        self.echo.recv(ident)
    }

    /// Sends an echo request from socket `ident` to `dst` with sequence number `seq`, the
    /// given TTL (the default when `None`) and data.
    pub fn echo_send(
        &mut self,
        now: Instant,
        ident: u16,
        dst: Ipv4Addr,
        seq: u16,
        ttl: Option<u8>,
        data: &[u8],
    ) -> Result<(), SendError> {
        if !self.echo.is_open(ident) {
            return Err(SendError::NotOpen);
        }
        // The link layer decides in `poll_transmit` (whether a cached Ethernet address
        // is still fresh) by the latest time it was given.
        self.last_now = self.last_now.max(now);
        let repr = crate::wire::icmpv4::Icmpv4Repr::EchoRequest {
            ident,
            seq_no: seq,
            data,
        };
        let r = self.send_icmp(now, None, dst, ttl, &repr);
        self.drain_loopback(now);
        r
    }

    /// Delivers what the stack sent to itself.
    fn drain_loopback(&mut self, now: Instant) {
        // Each turn may queue more (an echo reply to our own request); bound the turns.
        for _ in 0..64 {
            let Some(packet) = self.loopback.pop_front() else {
                return;
            };
            if packet.first().is_some_and(|b| b >> 4 == 6) {
                self.ip6_receive(now, None, &packet);
                continue;
            }
            self.ip_receive(now, None, &packet);
        }
    }

    fn queue_tx(&mut self, t: Transmit) {
        if self.tx.len() >= self.config.tx_queue_len {
            self.stats.ip_out_discards += 1;
            return;
        }
        self.tx.push_back(t);
    }
}
