//! TCP: `TcpPacket::new_checked`, every accessor and the option iterator, `TcpRepr::parse`,
//! then `emit` of the parsed repr into a fresh buffer and a re-parse that must give the
//! same repr.
//!
//! Input: 4 bytes source address, 4 bytes destination address (for the pseudo-header
//! checksum), then the TCP segment.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use tunstack::wire::tcp::{TcpPacket, TcpRepr};

fuzz_target!(|data: &[u8]| {
    let Some((addrs, segment)) = data.split_first_chunk::<8>() else {
        return;
    };
    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);

    let Ok(packet) = TcpPacket::new_checked(segment) else {
        return;
    };
    let _ = (
        packet.src_port(),
        packet.dst_port(),
        packet.seq_number(),
        packet.ack_number(),
    );
    let _ = (
        packet.flags().to_string(),
        packet.window_len(),
        packet.urgent_at(),
    );
    let _ = (packet.options(), packet.payload(), packet.segment_len());
    for option in packet.options_iter() {
        let _ = option.map(|o| o.buffer_len());
    }
    let as_is = TcpRepr::parse(&packet, src, dst);

    // Parse again with the checksum completed, so that the fuzzer reaches the options
    // without having to find checksums.
    let mut fixed = segment.to_vec();
    TcpPacket::new_unchecked(&mut fixed[..]).fill_checksum(src, dst);
    let packet = TcpPacket::new_checked(&fixed[..]).expect("same lengths");
    let Ok(repr) = TcpRepr::parse(&packet, src, dst) else {
        assert!(as_is.is_err());
        return;
    };
    if let Ok(first) = as_is {
        assert_eq!(
            first, repr,
            "a segment with a valid checksum parses the same"
        );
    }

    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
    let emitted = TcpPacket::new_checked(&out[..]).expect("emitted segment checks");
    let again = TcpRepr::parse(&emitted, src, dst).expect("emitted segment parses");

    // `emit` writes options in Linux's layout and cuts SACK blocks to what fits there
    // (`TcpRepr::sack_blocks_emitted`); a packed foreign layout can carry one more.
    let mut expected = repr;
    for slot in expected
        .sack_ranges
        .iter_mut()
        .skip(repr.sack_blocks_emitted())
    {
        *slot = None;
    }
    assert_eq!(again, expected);
});
