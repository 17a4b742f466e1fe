//! IPv4 fragmentation (RFC 791 section 3.2, "An Example Fragmentation Procedure";
//! RFC 1812 section 5.2.6 for routers re-fragmenting fragments).

use crate::wire::checksum;

/// Why a datagram could not be fragmented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragError {
    /// The datagram is not a well-formed IPv4 datagram.
    Malformed,
    /// The MTU leaves no room for 8 bytes of data after the header.
    MtuTooSmall,
}

/// Splits the IPv4 datagram `packet` (header, options and payload, length as in its
/// header) into fragments of at most `mtu` bytes, handing each to `emit` in order of
/// offset. Returns the number of fragments.
///
/// * Every fragment but the last carries a multiple of 8 data bytes (RFC 791).
/// * The first fragment keeps all options; later ones keep only those whose "copied" flag
///   (the high bit of the option type) is set (RFC 791 section 3.1, "Options").
/// * A datagram that is itself a fragment (a router re-fragmenting) keeps its offset as
///   the base, and only its last piece keeps the original MF flag (RFC 1812 5.2.6).
/// * Identification, TTL, protocol and addresses are copied; each header's checksum is
///   recomputed.
///
/// The caller checks DF: this function fragments whatever it is given.
pub fn fragment(
    packet: &[u8],
    mtu: usize,
    mut emit: impl FnMut(Vec<u8>),
) -> Result<usize, FragError> {
    if packet.len() < 20 {
        return Err(FragError::Malformed);
    }
    let hl = usize::from(packet[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if hl < 20 || total < hl || total > packet.len() {
        return Err(FragError::Malformed);
    }
    let header = &packet[..hl];
    let payload = &packet[hl..total];
    let flags_off = u16::from_be_bytes([packet[6], packet[7]]);
    let base_offset = usize::from(flags_off & 0x1fff) * 8;
    let orig_more = flags_off & 0x2000 != 0;

    let later_header = copied_options_header(header);
    let mut offset = 0;
    let mut count = 0;
    while offset < payload.len() || (count == 0 && payload.is_empty()) {
        let hdr: &[u8] = if count == 0 { header } else { &later_header };
        let room = mtu.saturating_sub(hdr.len()) & !7;
        if room < 8 {
            return Err(FragError::MtuTooSmall);
        }
        let n = room.min(payload.len() - offset);
        let last = offset + n == payload.len();
        let mut frag = Vec::with_capacity(hdr.len() + n);
        frag.extend_from_slice(hdr);
        frag.extend_from_slice(&payload[offset..offset + n]);
        let len = frag.len() as u16;
        frag[2..4].copy_from_slice(&len.to_be_bytes());
        let more = !last || orig_more;
        let off8 = ((base_offset + offset) / 8) as u16;
        // The reserved bit and DF stay as they were; MF and the offset are this piece's.
        let flags = (flags_off & 0xc000) | if more { 0x2000 } else { 0 } | (off8 & 0x1fff);
        frag[6..8].copy_from_slice(&flags.to_be_bytes());
        frag[10] = 0;
        frag[11] = 0;
        let c = checksum::checksum(&frag[..hdr.len()]);
        frag[10..12].copy_from_slice(&c.to_be_bytes());
        emit(frag);
        count += 1;
        offset += n;
        if payload.is_empty() {
            break;
        }
    }
    Ok(count)
}

/// The header for fragments after the first: the fixed 20 bytes plus the options whose
/// copied flag is set, padded with EOL to a multiple of 4 (RFC 791 section 3.1).
fn copied_options_header(header: &[u8]) -> Vec<u8> {
    let mut out = header[..20].to_vec();
    let mut opts = &header[20..];
    while let Some(&kind) = opts.first() {
        match kind {
            0 => break,
            1 => opts = &opts[1..],
            _ => {
                let len = opts.get(1).map_or(0, |&l| usize::from(l));
                if len < 2 || len > opts.len() {
                    break; // malformed option: copy nothing further
                }
                if kind & 0x80 != 0 {
                    out.extend_from_slice(&opts[..len]);
                }
                opts = &opts[len..];
            }
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out[0] = 0x40 | (out.len() / 4) as u8;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iface::reassembly::{Fragment, Outcome, Reassembler, ReassemblyConfig};
    use crate::time::Instant;
    use std::net::Ipv4Addr;

    fn datagram(payload_len: usize, options: &[u8]) -> Vec<u8> {
        let hl = 20 + options.len();
        let total = hl + payload_len;
        let mut p = vec![0u8; total];
        p[0] = 0x40 | (hl / 4) as u8;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        p[8] = 64;
        p[9] = 1;
        p[12..16].copy_from_slice(&[10, 77, 0, 2]);
        p[16..20].copy_from_slice(&[10, 77, 0, 1]);
        p[20..hl].copy_from_slice(options);
        for (i, b) in p[hl..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let c = checksum::checksum(&p[..hl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn split(p: &[u8], mtu: usize) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        fragment(p, mtu, |f| v.push(f)).unwrap();
        v
    }

    /// RFC 791: a 4028-byte datagram over a 1500 MTU gives 1480 + 1480 + 1048 data bytes,
    /// offsets 0, 185, 370 (units of 8), MF on all but the last; reassembly restores it.
    #[test]
    fn fragments_have_right_sizes_offsets_and_flags() {
        let p = datagram(4008, &[]);
        let frags = split(&p, 1500);
        assert_eq!(
            frags.iter().map(|f| f.len()).collect::<Vec<_>>(),
            [1500, 1500, 1068]
        );
        let fo: Vec<u16> = frags
            .iter()
            .map(|f| u16::from_be_bytes([f[6], f[7]]))
            .collect();
        assert_eq!(fo, [0x2000, 0x2000 | 185, 370]);
        for f in &frags {
            assert_eq!(checksum::checksum(&f[..20]), 0);
            assert_eq!(&f[4..6], &[0x12, 0x34]);
        }
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut out = None;
        for f in frags.iter().rev() {
            let off = usize::from(u16::from_be_bytes([f[6], f[7]]) & 0x1fff) * 8;
            let o = r.push(
                Instant::ZERO,
                Fragment {
                    src: Ipv4Addr::new(10, 77, 0, 2),
                    dst: Ipv4Addr::new(10, 77, 0, 1),
                    protocol: 1,
                    ident: 0x1234,
                    offset: off,
                    more_frags: f[6] & 0x20 != 0,
                    header: &f[..20],
                    payload: &f[20..],
                },
            );
            if let Outcome::Complete(d) = o {
                out = Some(d);
            }
        }
        assert_eq!(out.unwrap(), p);
    }

    /// RFC 791 3.1: only options with the copied flag go into later fragments.
    #[test]
    fn only_copied_options_are_repeated() {
        // Record route (7, not copied), 7 bytes; loose source route (131, copied), 7 bytes;
        // NOP, EOL pad to 16.
        let opts = [7, 7, 4, 0, 0, 0, 0, 131, 7, 4, 1, 2, 3, 4, 1, 0];
        let p = datagram(100, &opts);
        let frags = split(&p, 36 + 40);
        assert_eq!(&frags[0][20..36], &opts);
        let later = &frags[1];
        assert_eq!(later[0] & 0x0f, 7, "20 + 7 copied bytes padded to 28");
        assert_eq!(&later[20..27], &opts[7..14]);
        assert_eq!(later[27], 0);
    }

    /// RFC 1812 5.2.6: re-fragmenting a fragment keeps its offset and only the last piece
    /// keeps its MF flag.
    #[test]
    fn refragmenting_a_fragment_keeps_offset_and_mf() {
        let mut p = datagram(64, &[]);
        p[6..8].copy_from_slice(&(0x2000u16 | 100).to_be_bytes());
        let frags = split(&p, 52);
        let fo: Vec<u16> = frags
            .iter()
            .map(|f| u16::from_be_bytes([f[6], f[7]]))
            .collect();
        assert_eq!(fo, [0x2000 | 100, 0x2000 | 104]);
    }

    #[test]
    fn mtu_too_small_and_malformed() {
        let p = datagram(100, &[]);
        assert_eq!(fragment(&p, 27, |_| {}), Err(FragError::MtuTooSmall));
        assert_eq!(fragment(&p[..10], 68, |_| {}), Err(FragError::Malformed));
        let mut q = p.clone();
        q[2] = 0xff;
        assert_eq!(fragment(&q, 68, |_| {}), Err(FragError::Malformed));
    }
}
