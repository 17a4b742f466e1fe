//! Counters, named as Linux's `nstat` names them (`IpInReceives`, `IcmpOutEchoReps`, ...),
//! so a person can compare tunstack's figures with the kernel's side by side.
//!
//! The names and meanings follow RFC 4293 (IP-MIB) and RFC 4022 (TCP-MIB), which Linux's
//! `/proc/net/snmp` and `/proc/net/netstat` export.

macro_rules! counters {
    ($( $(#[$doc:meta])* $field:ident => $name:literal, )*) => {
        /// The stack's counters. Each field is one `nstat` counter.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct Stats {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl Stats {
            /// Every counter as `(nstat name, value)`, in a fixed order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
                [$( ($name, self.$field), )*].into_iter()
            }

            /// The value of the counter with this `nstat` name, if there is one.
            pub fn get(&self, name: &str) -> Option<u64> {
                match name {
                    $( $name => Some(self.$field), )*
                    _ => None,
                }
            }
        }
    };
}

counters! {
    /// Datagrams received from interfaces, including those in error.
    ip_in_receives => "IpInReceives",
    /// Datagrams discarded for header errors (checksum, version, length, TTL on forwarding).
    ip_in_hdr_errors => "IpInHdrErrors",
    /// Datagrams discarded because the destination was not ours and we do not forward.
    ip_in_addr_errors => "IpInAddrErrors",
    /// Datagrams forwarded to another destination.
    ip_forw_datagrams => "IpForwDatagrams",
    /// Locally addressed datagrams with an unknown protocol.
    ip_in_unknown_protos => "IpInUnknownProtos",
    /// Input datagrams discarded for other reasons (no buffer space, ...).
    ip_in_discards => "IpInDiscards",
    /// Datagrams delivered to upper layers (ICMP, UDP, TCP).
    ip_in_delivers => "IpInDelivers",
    /// Datagrams that local protocols handed to IP for sending.
    ip_out_requests => "IpOutRequests",
    /// Output datagrams discarded (no room, ...).
    ip_out_discards => "IpOutDiscards",
    /// Datagrams discarded because no route could be found.
    ip_out_no_routes => "IpOutNoRoutes",
    /// Fragments received that needed reassembly.
    ip_reasm_reqds => "IpReasmReqds",
    /// Datagrams successfully reassembled.
    ip_reasm_oks => "IpReasmOKs",
    /// Reassembly failures (timeout, overlap, too big, out of room).
    ip_reasm_fails => "IpReasmFails",
    /// Reassembly timeouts (Linux `IpExtReasmTimeout` counts these in /proc/net/netstat).
    ip_reasm_timeout => "IpReasmTimeout",
    /// Datagrams successfully fragmented.
    ip_frag_oks => "IpFragOKs",
    /// Datagrams that needed fragmenting but could not be (DF set).
    ip_frag_fails => "IpFragFails",
    /// Fragments created.
    ip_frag_creates => "IpFragCreates",
    /// ICMP messages received.
    icmp_in_msgs => "IcmpInMsgs",
    /// ICMP messages received with errors (bad checksum, truncated).
    icmp_in_errors => "IcmpInErrors",
    /// Echo requests received.
    icmp_in_echos => "IcmpInEchos",
    /// Echo replies received.
    icmp_in_echo_reps => "IcmpInEchoReps",
    /// Destination unreachable messages received.
    icmp_in_dest_unreachs => "IcmpInDestUnreachs",
    /// Destination unreachable messages with code 4, fragmentation needed and DF set (RFC
    /// 1191 section 4); Linux counts them only among IcmpInDestUnreachs, the name is
    /// tunstack's own.
    icmp_in_frag_needed => "IcmpInFragNeeded",
    /// Time exceeded messages received.
    icmp_in_time_excds => "IcmpInTimeExcds",
    /// Parameter problem messages received.
    icmp_in_parm_probs => "IcmpInParmProbs",
    /// ICMP messages sent.
    icmp_out_msgs => "IcmpOutMsgs",
    /// ICMP messages not sent because of the rate limit (Linux `IcmpOutRateLimitGlobal`).
    icmp_out_rate_limit => "IcmpOutRateLimitGlobal",
    /// Echo requests sent.
    icmp_out_echos => "IcmpOutEchos",
    /// Echo replies sent.
    icmp_out_echo_reps => "IcmpOutEchoReps",
    /// Destination unreachable messages sent.
    icmp_out_dest_unreachs => "IcmpOutDestUnreachs",
    /// Time exceeded messages sent.
    icmp_out_time_excds => "IcmpOutTimeExcds",
    /// Parameter problem messages sent.
    icmp_out_parm_probs => "IcmpOutParmProbs",
    /// IPv6 packets received from interfaces, including those in error (RFC 4293
    /// ipSystemStatsInReceives for IPv6; Linux `/proc/net/snmp6`).
    ip6_in_receives => "Ip6InReceives",
    /// IPv6 packets discarded for header errors: a bad version, a refused extension
    /// header chain (RFC 8200 section 4).
    ip6_in_hdr_errors => "Ip6InHdrErrors",
    /// IPv6 packets shorter than their Payload Length says.
    ip6_in_truncated_pkts => "Ip6InTruncatedPkts",
    /// IPv6 packets discarded for their addresses: not ours (no forwarding), or a
    /// multicast source (RFC 4291 section 2.7).
    ip6_in_addr_errors => "Ip6InAddrErrors",
    /// IPv6 packets forwarded.
    ip6_out_forw_datagrams => "Ip6OutForwDatagrams",
    /// IPv6 packets not forwarded for want of a route.
    ip6_in_no_routes => "Ip6InNoRoutes",
    /// IPv6 packets not forwarded because they exceed the next link's MTU.
    ip6_in_too_big_errors => "Ip6InTooBigErrors",
    /// Locally addressed IPv6 packets with an unknown upper layer.
    ip6_in_unknown_protos => "Ip6InUnknownProtos",
    /// IPv6 packets delivered to upper layers.
    ip6_in_delivers => "Ip6InDelivers",
    /// IPv6 multicast packets received.
    ip6_in_mcast_pkts => "Ip6InMcastPkts",
    /// IPv6 packets that local protocols handed to IPv6 for sending.
    ip6_out_requests => "Ip6OutRequests",
    /// IPv6 packets discarded because no route could be found.
    ip6_out_no_routes => "Ip6OutNoRoutes",
    /// IPv6 fragments received that needed reassembly.
    ip6_reasm_reqds => "Ip6ReasmReqds",
    /// IPv6 packets reassembled.
    ip6_reasm_oks => "Ip6ReasmOKs",
    /// IPv6 reassembly failures (timeout, overlap, too big, out of room).
    ip6_reasm_fails => "Ip6ReasmFails",
    /// IPv6 reassembly timeouts (Linux counts them in `Ip6ReasmTimeout`).
    ip6_reasm_timeout => "Ip6ReasmTimeout",
    /// IPv6 packets fragmented by this source.
    ip6_frag_oks => "Ip6FragOKs",
    /// IPv6 packets that could not be fragmented.
    ip6_frag_fails => "Ip6FragFails",
    /// IPv6 fragments created.
    ip6_frag_creates => "Ip6FragCreates",
    /// ICMPv6 messages received.
    icmp6_in_msgs => "Icmp6InMsgs",
    /// ICMPv6 messages received in error (checksum, length, a malformed ND message).
    icmp6_in_errors => "Icmp6InErrors",
    /// ICMPv6 messages with a bad checksum.
    icmp6_in_csum_errors => "Icmp6InCsumErrors",
    /// ICMPv6 echo requests received.
    icmp6_in_echos => "Icmp6InEchos",
    /// ICMPv6 echo replies received.
    icmp6_in_echo_replies => "Icmp6InEchoReplies",
    /// ICMPv6 destination unreachable messages received.
    icmp6_in_dest_unreachs => "Icmp6InDestUnreachs",
    /// ICMPv6 packet too big messages received.
    icmp6_in_pkt_too_bigs => "Icmp6InPktTooBigs",
    /// ICMPv6 time exceeded messages received.
    icmp6_in_time_excds => "Icmp6InTimeExcds",
    /// ICMPv6 parameter problem messages received.
    icmp6_in_parm_problems => "Icmp6InParmProblems",
    /// Router solicitations received (the kernel sends them on a TUN link).
    icmp6_in_router_solicits => "Icmp6InRouterSolicits",
    /// Neighbor solicitations received.
    icmp6_in_neighbor_solicits => "Icmp6InNeighborSolicits",
    /// Neighbor advertisements received.
    icmp6_in_neighbor_advertisements => "Icmp6InNeighborAdvertisements",
    /// MLDv2 reports received (RFC 3810; not acted on).
    icmp6_in_mldv2_reports => "Icmp6InMLDv2Reports",
    /// ICMPv6 messages sent.
    icmp6_out_msgs => "Icmp6OutMsgs",
    /// ICMPv6 errors not sent because of the rate limit (RFC 4443 section 2.4 (f)).
    icmp6_out_rate_limit => "Icmp6OutRateLimitHost",
    /// ICMPv6 echo requests sent.
    icmp6_out_echos => "Icmp6OutEchos",
    /// ICMPv6 echo replies sent.
    icmp6_out_echo_replies => "Icmp6OutEchoReplies",
    /// ICMPv6 destination unreachable messages sent.
    icmp6_out_dest_unreachs => "Icmp6OutDestUnreachs",
    /// ICMPv6 packet too big messages sent.
    icmp6_out_pkt_too_bigs => "Icmp6OutPktTooBigs",
    /// Neighbor solicitations sent (address resolution, probes, DAD).
    icmp6_out_neighbor_solicits => "Icmp6OutNeighborSolicits",
    /// Neighbor advertisements sent.
    icmp6_out_neighbor_advertisements => "Icmp6OutNeighborAdvertisements",
    /// ICMPv6 time exceeded messages sent.
    icmp6_out_time_excds => "Icmp6OutTimeExcds",
    /// ICMPv6 parameter problem messages sent.
    icmp6_out_parm_problems => "Icmp6OutParmProblems",
    /// UDP datagrams delivered to sockets.
    udp_in_datagrams => "UdpInDatagrams",
    /// UDP datagrams for a port with no socket.
    udp_no_ports => "UdpNoPorts",
    /// UDP datagrams received in error (checksum, length).
    udp_in_errors => "UdpInErrors",
    /// UDP datagrams sent.
    udp_out_datagrams => "UdpOutDatagrams",
    /// UDP datagrams dropped because a socket's receive queue was full.
    udp_rcvbuf_errors => "UdpRcvbufErrors",
    /// UDP datagrams over IPv6 delivered to sockets (the IPv4 ones are in UdpInDatagrams,
    /// as Linux keeps them apart).
    udp6_in_datagrams => "Udp6InDatagrams",
    /// UDP datagrams over IPv6 for a port with no socket.
    udp6_no_ports => "Udp6NoPorts",
    /// UDP datagrams over IPv6 received in error (checksum, length, a full queue).
    udp6_in_errors => "Udp6InErrors",
    /// UDP datagrams over IPv6 whose checksum failed, a zero one included (RFC 8200
    /// section 8.1: IPv6 receivers discard UDP packets with a zero checksum).
    udp6_in_csum_errors => "Udp6InCsumErrors",
    /// UDP datagrams sent over IPv6.
    udp6_out_datagrams => "Udp6OutDatagrams",
    /// Connections opened actively (SYN sent).
    tcp_active_opens => "TcpActiveOpens",
    /// Connections opened passively (SYN received on a listener).
    tcp_passive_opens => "TcpPassiveOpens",
    /// Connection attempts that failed (SYN-SENT or SYN-RECEIVED to CLOSED).
    tcp_attempt_fails => "TcpAttemptFails",
    /// Established connections reset by the peer.
    tcp_estab_resets => "TcpEstabResets",
    /// Connections now in ESTABLISHED or CLOSE-WAIT.
    tcp_curr_estab => "TcpCurrEstab",
    /// Segments received (including in error).
    tcp_in_segs => "TcpInSegs",
    /// Segments sent, retransmissions included (Linux's TcpOutSegs excludes them; tunstack
    /// counts every segment and reports retransmissions in TcpRetransSegs).
    tcp_out_segs => "TcpOutSegs",
    /// Segments retransmitted.
    tcp_retrans_segs => "TcpRetransSegs",
    /// Segments received in error (checksum, malformed).
    tcp_in_errs => "TcpInErrs",
    /// Segments received with a bad checksum (RFC 9293 3.1; also counted in TcpInErrs, as
    /// Linux counts both).
    tcp_in_csum_errors => "TcpInCsumErrors",
    /// Resets sent.
    tcp_out_rsts => "TcpOutRsts",
    /// Challenge ACKs sent (RFC 5961).
    tcp_challenge_acks => "TcpExtTCPChallengeACK",
    /// Challenge ACKs suppressed by the rate limit (tunstack's own counter).
    tcp_challenge_ack_limited => "TcpExtTCPChallengeACKLimited",
    /// Connections taken out of TIME-WAIT before their 2 MSL were over because TIME-WAIT
    /// held its most ([`TcpConfig::max_time_wait`](crate::tcp::TcpConfig)) or the
    /// connection table was full (Linux's counter of the same name).
    tcp_time_wait_overflow => "TcpExtTCPTimeWaitOverflow",
    /// Segments dropped by PAWS (RFC 7323 5.3).
    tcp_paws_estab => "TcpExtPAWSEstab",
    /// Delayed ACKs sent when their timer fired.
    tcp_delayed_acks => "TcpExtDelayedACKs",
    /// Retransmission timeouts.
    tcp_timeouts => "TcpExtTCPTimeouts",
    /// Fast retransmits.
    tcp_fast_retrans => "TcpExtTCPFastRetrans",
    /// D-SACKs received: ACKs whose first SACK block reports a duplicate (RFC 2883
    /// section 4).
    tcp_dsack_recv => "TcpExtTCPDSACKRecv",
    /// Window reductions undone because D-SACKs showed every retransmission of the
    /// episode spurious (RFC 3708).
    tcp_dsack_undo => "TcpExtTCPDSACKUndo",
    /// Retransmission timeouts found spurious by the timestamp of the ACK that followed
    /// (Eifel detection, RFC 3522) and their window reduction undone (RFC 4015).
    tcp_spurious_rtos => "TcpExtTCPSpuriousRTOs",
    /// Tail loss probes sent (RFC 8985 section 7).
    tcp_loss_probes => "TcpExtTCPLossProbes",
    /// Losses a retransmitted tail loss probe repaired, answered with a window
    /// reduction (RFC 8985 7.4).
    tcp_loss_probe_recovery => "TcpExtTCPLossProbeRecovery",
    /// ICMP "fragmentation needed" or ICMPv6 "packet too big" messages whose quoted
    /// sequence number was outside SND.UNA..SND.NXT, ignored (RFC 5927 4.1; Linux's
    /// counter of the same name).
    tcp_out_of_window_icmps => "TcpExtOutOfWindowIcmps",
    /// Times a connection lowered its path MTU estimate on a too-big message (RFC 1191;
    /// tunstack's own counter).
    tcp_pmtu_lowered => "TcpPmtuLowered",
    /// Times a connection's path MTU estimate went back up when its timer ran out (RFC
    /// 1191 6.3; tunstack's own counter).
    tcp_pmtu_raised => "TcpPmtuRaised",
    /// Times consecutive timeouts lowered a connection's path MTU estimate as a
    /// suspected black hole (RFC 4821 7.7; tunstack's own counter).
    tcp_pmtu_black_holes => "TcpPmtuBlackHoles",
    /// Connections aborted because retransmissions or keep-alives went unanswered.
    tcp_abort_on_timeout => "TcpExtTCPAbortOnTimeout",
    /// SYN cookies sent.
    syncookies_sent => "TcpExtSyncookiesSent",
    /// Valid SYN cookies received.
    syncookies_recv => "TcpExtSyncookiesRecv",
    /// Invalid SYN cookies received.
    syncookies_failed => "TcpExtSyncookiesFailed",
    /// SYNs or handshake ACKs dropped because the accept queue was full.
    listen_overflows => "TcpExtListenOverflows",
    /// SYNs dropped at a listener for any reason.
    listen_drops => "TcpExtListenDrops",
    // Ethernet and ARP (TAP links). Linux keeps these per device and per neighbour
    // table (`ip -s link`, `ip -s ntable`); tunstack's names are its own.
    /// Ethernet frames too short for a header, or from a multicast source.
    eth_in_errors => "EthInErrors",
    /// Frames not for us: another unicast or a multicast destination, or a link broadcast
    /// carrying a unicast IP datagram (RFC 1122 3.3.6).
    eth_in_dropped => "EthInDropped",
    /// Frames with an EtherType other than IPv4 and ARP (IPv6 included).
    eth_in_unknown_protos => "EthInUnknownProtos",
    /// ARP requests received.
    arp_in_requests => "ArpInRequests",
    /// ARP replies received.
    arp_in_replies => "ArpInReplies",
    /// ARP packets malformed, of another hardware or protocol type, with an unknown
    /// operation, or claiming a broadcast or multicast hardware address.
    arp_in_errors => "ArpInErrors",
    /// ARP packets from another host claiming one of our addresses (RFC 5227 conflicts).
    arp_addr_conflicts => "ArpAddrConflicts",
    /// ARP requests sent (broadcast while resolving, unicast while polling).
    arp_out_requests => "ArpOutRequests",
    /// ARP replies sent.
    arp_out_replies => "ArpOutReplies",
    /// Gratuitous ARP announcements sent (RFC 5227 2.3).
    arp_out_gratuitous => "ArpOutGratuitous",
    /// Resolved entries evicted to make room in the neighbour cache.
    arp_cache_evictions => "ArpCacheEvictions",
    /// Resolutions given up after the last request went unanswered.
    arp_resolve_failures => "ArpResolveFailures",
    /// Datagrams dropped while waiting for an address (queue full, or resolution failed).
    arp_unresolved_discards => "ArpUnresolvedDiscards",
    // TUN offloads (virtio-net header). Linux counts super-segments per device only in
    // its drivers' ethtool statistics; these names are tunstack's own.
    /// TCP super-segments received whole from the device (each counts once here, and as
    /// the wire segments it stands for in TcpInSegs).
    tun_gso_in => "TunGsoIn",
    /// TCP super-segments handed to the device to segment (each counts once here, and as
    /// its wire segments in TcpOutSegs).
    tun_gso_out => "TunGsoOut",
    /// Frames dropped because their virtio-net header did not fit the packet (a checksum
    /// offset outside it, segmentation of a kind never asked for, ...).
    tun_vnet_hdr_errors => "TunVnetHdrErrors",
    // Receive coalescing (`stack/gro.rs`), tunstack's own as Linux's GRO counts are not
    // in nstat either.
    /// Runs of two or more in-order TCP segments that TCP took as one (each run counts
    /// once here).
    gro_runs => "TunstackGroRuns",
    /// The segments those runs held (every one also counts in TcpInSegs).
    gro_segs => "TunstackGroSegs",
}

impl Stats {
    /// The counters that are not zero, one `name value` per line, as `nstat` prints them.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.iter().filter(|(_, v)| *v != 0) {
            out.push_str(&format!("{name:<31} {value}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_fields_and_report_skips_zeroes() {
        let s = Stats {
            ip_in_receives: 3,
            icmp_out_echo_reps: 2,
            ..Stats::default()
        };
        assert_eq!(s.get("IpInReceives"), Some(3));
        assert_eq!(s.get("IcmpOutEchoReps"), Some(2));
        assert_eq!(s.get("NoSuchCounter"), None);
        assert_eq!(
            s.report(),
            format!("{:<31} 3\n{:<31} 2\n", "IpInReceives", "IcmpOutEchoReps")
        );
    }
}
