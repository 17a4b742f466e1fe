//! IPv6 fragmentation by the source (RFC 8200 section 4.5). Routers never fragment IPv6
//! packets (RFC 8200 section 5: they answer Packet Too Big instead), so this is only for
//! packets this stack originates.

use crate::wire::ipv6::next_header as nh;

/// Why a packet could not be fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frag6Error {
    /// Not a well-formed IPv6 packet, or it already has a Fragment header.
    Malformed,
    /// The MTU leaves no room for 8 octets of data after the per-fragment headers.
    MtuTooSmall,
    /// The first fragment could not hold the whole header chain (RFC 7112 section 5:
    /// "the first fragment MUST include the entire IPv6 header chain").
    ChainTooLong,
}

/// Splits the IPv6 packet `packet` into fragments of at most `mtu` octets, each handed
/// to `emit` in order of offset; returns the number of fragments.
///
/// RFC 8200 section 4.5:
/// * the Unfragmentable Part is the IPv6 header and every extension header up to and
///   including the Routing header if there is one, else the Hop-by-Hop header if there is
///   one, else none; it is repeated in every fragment, with its Payload Length set for
///   the fragment and the Next Header that named the first fragmentable header now
///   naming the Fragment header (44);
/// * each fragment's Fragment header carries that first fragmentable header's number,
///   the offset in 8-octet units, M set on all but the last, and `ident` (the caller
///   draws it unpredictably, RFC 7739 section 5);
/// * every fragment but the last carries a multiple of 8 octets.
///
/// The first fragment holds the rest of the extension header chain (RFC 7112). A packet
/// that fits the MTU is handed over unchanged, without a Fragment header (no atomic
/// fragments, RFC 8021 section 4).
pub fn fragment6(
    packet: &[u8],
    mtu: usize,
    ident: u32,
    mut emit: impl FnMut(Vec<u8>),
) -> Result<usize, Frag6Error> {
    if packet.len() < 40 || packet[0] >> 4 != 6 {
        return Err(Frag6Error::Malformed);
    }
    let plen = usize::from(u16::from_be_bytes([packet[4], packet[5]]));
    if 40 + plen > packet.len() {
        return Err(Frag6Error::Malformed);
    }
    let packet = &packet[..40 + plen];
    if packet.len() <= mtu {
        // RFC 8021 section 4: "IPv6 nodes SHOULD NOT generate atomic fragments".
        emit(packet.to_vec());
        return Ok(1);
    }
    let (unfrag_end, named_at, chain_end) = split_point(packet)?;
    let first_fragmentable = packet[named_at];
    let unfrag = &packet[..unfrag_end];
    let data = &packet[unfrag_end..];
    let room = mtu.saturating_sub(unfrag_end + 8) & !7;
    if room < 8 {
        return Err(Frag6Error::MtuTooSmall);
    }
    if chain_end - unfrag_end > room {
        return Err(Frag6Error::ChainTooLong);
    }
    let mut offset = 0;
    let mut count = 0;
    while offset < data.len() || count == 0 {
        let n = room.min(data.len() - offset);
        let more = offset + n < data.len();
        let mut f = Vec::with_capacity(unfrag_end + 8 + n);
        f.extend_from_slice(unfrag);
        f[named_at] = nh::FRAGMENT;
        let word = (offset as u16 & 0xfff8) | u16::from(more);
        f.extend_from_slice(&[first_fragmentable, 0]);
        f.extend_from_slice(&word.to_be_bytes());
        f.extend_from_slice(&ident.to_be_bytes());
        f.extend_from_slice(&data[offset..offset + n]);
        let flen = (f.len() - 40) as u16;
        f[4..6].copy_from_slice(&flen.to_be_bytes());
        emit(f);
        count += 1;
        offset += n;
    }
    Ok(count)
}

/// Finds where the Unfragmentable Part ends, the offset of the Next Header field naming
/// what follows it, and where the extension header chain ends.
fn split_point(packet: &[u8]) -> Result<(usize, usize, usize), Frag6Error> {
    let mut next = packet[6];
    let mut at = 40;
    let mut unfrag_end = 40;
    let mut named_at = 6;
    let mut seen_routing = false;
    for _ in 0..crate::wire::ipv6::ext::MAX_EXT_HEADERS {
        let len = match next {
            nh::HOP_BY_HOP | nh::DST_OPTS | nh::ROUTING => {
                let Some(&l) = packet.get(at + 1) else {
                    return Err(Frag6Error::Malformed);
                };
                (usize::from(l) + 1) * 8
            }
            nh::FRAGMENT => return Err(Frag6Error::Malformed),
            _ => return Ok((unfrag_end, named_at, at)),
        };
        if at + len > packet.len() {
            return Err(Frag6Error::Malformed);
        }
        // Hop-by-Hop only counts while no Routing header has been seen before it (it is
        // first anyway); everything up to the last Routing header is unfragmentable.
        if next == nh::ROUTING || (next == nh::HOP_BY_HOP && !seen_routing && at == 40) {
            seen_routing |= next == nh::ROUTING;
            unfrag_end = at + len;
            named_at = at;
        }
        next = packet[at];
        at += len;
    }
    Err(Frag6Error::Malformed)
}

#[cfg(test)]
mod tests;
