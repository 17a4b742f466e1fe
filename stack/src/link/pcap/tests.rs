use super::*;
use crate::link::MemoryLink;

#[test]
fn global_header_is_byte_exact() {
    let w = PcapWriter::new(Vec::new(), LinkType::Raw).unwrap();
    #[rustfmt::skip]
    let expected: [u8; 24] = [
        0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian, microseconds
        0x02, 0x00, 0x04, 0x00, // version 2.4
        0x00, 0x00, 0x00, 0x00, // thiszone
        0x00, 0x00, 0x00, 0x00, // sigfigs
        0x00, 0x00, 0x04, 0x00, // snaplen 262144: a 64 KiB super-segment with its link header fits
        0x65, 0x00, 0x00, 0x00, // LINKTYPE_RAW = 101
    ];
    assert_eq!(w.get_ref().as_slice(), &expected);
    let e = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    assert_eq!(&e.get_ref()[20..24], &[1, 0, 0, 0]);
}

#[test]
fn record_header_is_byte_exact() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    let ts = UNIX_EPOCH + std::time::Duration::new(0x6000_0102, 345_678_999);
    w.write_packet(ts, &[0xde, 0xad, 0xbe]).unwrap();
    #[rustfmt::skip]
    let expected: [u8; 19] = [
        0x02, 0x01, 0x00, 0x60, // seconds 0x60000102
        0x4e, 0x46, 0x05, 0x00, // microseconds 345678 (truncated, not rounded)
        0x03, 0x00, 0x00, 0x00, // captured length
        0x03, 0x00, 0x00, 0x00, // original length
        0xde, 0xad, 0xbe,
    ];
    assert_eq!(&w.get_ref()[24..], &expected);
}

#[test]
fn long_frames_are_cut_to_the_snaplen_keeping_the_original_length() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw).unwrap();
    let big = vec![0x42u8; 270_000];
    w.write_packet_at(1, 2, &big).unwrap();
    let bytes = w.into_inner();
    assert_eq!(bytes.len(), 24 + 16 + 262_144);
    let recs = PcapReader::new(bytes.as_slice())
        .unwrap()
        .records()
        .unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].data.len(), 262_144);
    assert_eq!(recs[0].orig_len, 270_000);
    assert_eq!((recs[0].secs, recs[0].frac), (1, 2));
}

#[test]
fn the_wrapper_records_both_directions_with_mapped_timestamps() {
    let (a, mut b) = MemoryLink::pair(Medium::Ip, 1500);
    let writer = PcapWriter::new(Vec::new(), LinkType::Raw).unwrap();
    let wall = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let mut cap = Pcap::with_epoch(a, writer, Instant::ZERO, wall);
    cap.send(b"out", Instant::from_micros(1_500_000)).unwrap();
    b.send(b"in!!", Instant::ZERO).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        cap.recv(&mut buf, Instant::from_micros(2_000_001)).unwrap(),
        Some(4)
    );
    // Nothing to receive: nothing recorded.
    assert_eq!(cap.recv(&mut buf, Instant::from_secs(3)).unwrap(), None);
    assert_eq!(b.recv(&mut buf, Instant::ZERO).unwrap(), Some(3));
    assert_eq!(cap.medium(), Medium::Ip);
    assert_eq!(cap.mtu(), 1500);
    let (_, writer) = cap.into_parts();
    let mut reader = PcapReader::new(writer.get_ref().as_slice()).unwrap();
    assert_eq!(reader.link_type(), 101);
    assert_eq!(reader.snaplen(), SNAPLEN);
    assert!(!reader.is_nanosecond());
    let r1 = reader.next_record().unwrap().unwrap();
    assert_eq!(
        (r1.secs, r1.frac, r1.data.as_slice()),
        (1_700_000_001, 500_000, &b"out"[..])
    );
    let r2 = reader.next_record().unwrap().unwrap();
    assert_eq!(
        (r2.secs, r2.frac, r2.data.as_slice()),
        (1_700_000_002, 1, &b"in!!"[..])
    );
    assert_eq!(reader.next_record().unwrap(), None);
}

#[test]
fn stack_time_before_the_epoch_maps_backwards() {
    let (a, _b) = MemoryLink::pair(Medium::Ip, 1500);
    let writer = PcapWriter::new(Vec::new(), LinkType::Raw).unwrap();
    let wall = UNIX_EPOCH + std::time::Duration::from_secs(100);
    let cap = Pcap::with_epoch(a, writer, Instant::from_secs(10), wall);
    assert_eq!(
        cap.wall_time(Instant::from_secs(4)),
        UNIX_EPOCH + std::time::Duration::from_secs(94)
    );
    let far = Pcap::with_epoch(
        MemoryLink::pair(Medium::Ip, 1).0,
        PcapWriter::new(Vec::new(), LinkType::Raw).unwrap(),
        Instant::from_secs(1000),
        UNIX_EPOCH,
    );
    assert_eq!(far.wall_time(Instant::ZERO), UNIX_EPOCH);
}

#[test]
fn a_live_capture_is_flushed_every_100_ms_of_stack_time() {
    let (a, _b) = MemoryLink::pair(Medium::Ip, 1500);
    let w = PcapWriter::new(
        std::io::BufWriter::with_capacity(1 << 16, Vec::new()),
        LinkType::Raw,
    )
    .unwrap();
    let mut cap = Pcap::with_epoch(a, w, Instant::ZERO, UNIX_EPOCH);
    cap.send(b"x", Instant::from_millis(50)).unwrap();
    assert_eq!(cap.writer().get_ref().get_ref().len(), 0);
    cap.send(b"y", Instant::from_millis(100)).unwrap();
    assert_eq!(cap.writer().get_ref().get_ref().len(), 24 + 2 * 17);
}

#[test]
fn the_reader_handles_big_endian_and_nanosecond_files() {
    let mut f = Vec::new();
    f.extend_from_slice(&MAGIC_NANOS.to_be_bytes());
    f.extend_from_slice(&[
        0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
    ]);
    f.extend_from_slice(&[
        0, 0, 0, 7, 0x3b, 0x9a, 0xc9, 0xff, 0, 0, 0, 2, 0, 0, 0, 2, 0xaa, 0xbb,
    ]);
    let mut r = PcapReader::new(f.as_slice()).unwrap();
    assert!(r.is_nanosecond());
    assert_eq!(LinkType::from_u32(r.link_type()), Some(LinkType::Ethernet));
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!((rec.secs, rec.frac, rec.orig_len), (7, 999_999_999, 2));
    assert_eq!(rec.data, vec![0xaa, 0xbb]);
}

#[test]
fn the_reader_rejects_malformed_files_without_panicking() {
    assert!(PcapReader::new(&b"short"[..]).is_err());
    assert!(PcapReader::new(&[0u8; 24][..]).is_err());
    let mut w = PcapWriter::new(Vec::new(), LinkType::Raw).unwrap();
    w.write_packet_at(1, 1, &[1, 2, 3, 4, 5]).unwrap();
    let full = w.into_inner();
    // Every truncation point of a valid file is an error or a clean end, never a panic.
    for cut in 24..full.len() {
        let res = PcapReader::new(&full[..cut]).unwrap().records();
        assert_eq!(res.is_ok(), cut == 24, "cut at {cut}");
    }
    // An absurd record length is refused before allocating it.
    let mut bad = full[..24].to_vec();
    bad.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
    assert!(PcapReader::new(bad.as_slice())
        .unwrap()
        .next_record()
        .is_err());
    // Arbitrary bytes after a valid header.
    let mut rng = crate::rand::Rng::new(5);
    for _ in 0..200 {
        let mut junk = full[..24].to_vec();
        let mut tail = vec![0u8; rng.range_u64(0, 64) as usize];
        rng.fill(&mut tail);
        junk.extend_from_slice(&tail);
        let _ = PcapReader::new(junk.as_slice()).unwrap().records();
    }
}

#[test]
fn link_types_follow_the_medium() {
    assert_eq!(LinkType::for_medium(Medium::Ip), LinkType::Raw);
    assert_eq!(LinkType::for_medium(Medium::Ethernet), LinkType::Ethernet);
    assert_eq!(LinkType::from_u32(101), Some(LinkType::Raw));
    assert_eq!(LinkType::from_u32(113), None);
}
