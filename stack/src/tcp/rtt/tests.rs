use super::*;
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// An estimator without the lower bound, so the raw RFC 6298 formulas show.
fn unclamped() -> RttEstimator {
    RttEstimator::new(DEFAULT_INITIAL_RTO, Duration::ZERO, DEFAULT_MAX_RTO)
}

/// RFC 6298 2.1: before any measurement the RTO is the initial value, 1 s by default.
#[test]
fn initial_rto_before_any_sample() {
    let e = RttEstimator::default();
    assert_eq!(e.rto(), Duration::from_secs(1));
    assert_eq!(e.srtt(), None);
    assert_eq!(e.rttvar(), Duration::ZERO);
    assert_eq!(e.backoffs(), 0);
    assert_eq!(e.min_rto(), ms(200));
    assert_eq!(e.max_rto(), Duration::from_secs(120));
    // Configurable, and clamped like any RTO.
    let e = RttEstimator::new(ms(50), ms(200), Duration::from_secs(60));
    assert_eq!(e.rto(), ms(200));
    let e = RttEstimator::new(Duration::from_secs(100), ms(200), Duration::from_secs(60));
    assert_eq!(e.rto(), Duration::from_secs(60));
}

/// RFC 6298 2.2: first measurement R: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR).
#[test]
fn first_sample_formulas() {
    let mut e = unclamped();
    e.sample(ms(100));
    assert_eq!(e.srtt(), Some(ms(100)));
    assert_eq!(e.rttvar(), ms(50));
    assert_eq!(e.rto(), ms(300)); // 100 + 4*50
}

/// RFC 6298 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| (with the old SRTT), then
/// SRTT = 7/8 SRTT + 1/8 R'. Samples 100 ms then 200 ms:
/// RTTVAR = 37.5 + 25 = 62.5 ms, SRTT = 87.5 + 25 = 112.5 ms, RTO = 112.5 + 250 = 362.5 ms.
#[test]
fn later_sample_formulas() {
    let mut e = unclamped();
    e.sample(ms(100));
    e.sample(ms(200));
    assert_eq!(e.rttvar(), us(62_500));
    assert_eq!(e.srtt(), Some(us(112_500)));
    assert_eq!(e.rto(), us(362_500));
    // A third, 50 ms: RTTVAR = 3/4*62.5 + 1/4*|112.5-50| = 46.875 + 15.625 = 62.5 ms,
    // SRTT = 7/8*112.5 + 1/8*50 = 98.4375 + 6.25 = 104.6875 ms, RTO = 104.6875 + 250.
    e.sample(ms(50));
    assert_eq!(e.rttvar(), us(62_500));
    assert_eq!(e.srtt(), Some(us(104_687)));
    assert_eq!(e.rto(), us(354_687));
}

/// RFC 6298 2.2/2.3: RTO = SRTT + max(G, K*RTTVAR): with a perfectly steady RTT, RTTVAR
/// decays and the clock granularity G = 1 ms takes over.
#[test]
fn clock_granularity_floor() {
    let mut e = unclamped();
    e.sample(Duration::ZERO);
    assert_eq!(e.srtt(), Some(Duration::ZERO));
    assert_eq!(e.rto(), CLOCK_GRANULARITY);
    let mut e = unclamped();
    for _ in 0..100 {
        e.sample(ms(10));
    }
    assert_eq!(e.srtt(), Some(ms(10)));
    assert_eq!(e.rttvar(), Duration::ZERO);
    assert_eq!(e.rto(), ms(11));
}

/// RFC 6298 2.4: the RTO is raised to the lower bound (200 ms in tunstack, as in Linux);
/// 2.5: a maximum of at least 60 s may be placed on it.
#[test]
fn min_and_max_clamping() {
    let mut e = RttEstimator::default();
    e.sample(ms(10)); // 10 + 4*5 = 30 ms
    assert_eq!(e.srtt(), Some(ms(10)));
    assert_eq!(e.rto(), ms(200));
    let mut e = RttEstimator::new(ms(1000), ms(200), Duration::from_secs(60));
    e.sample(Duration::from_secs(30)); // 30 + 4*15 = 90 s
    assert_eq!(e.rto(), Duration::from_secs(60));
    // A maximum below the minimum is raised to it.
    let e = RttEstimator::new(ms(1000), ms(300), ms(100));
    assert_eq!(e.max_rto(), ms(300));
    assert_eq!(e.rto(), ms(300));
}

/// RFC 6298 5.5: each expiry doubles the RTO, up to the maximum (2.5); the count of
/// back-offs keeps going so the caller can give up.
#[test]
fn back_off_doubles_and_caps() {
    let mut e = RttEstimator::default();
    let expected = [1, 2, 4, 8, 16, 32, 64, 120, 120];
    for (i, secs) in expected.iter().enumerate() {
        assert_eq!(e.backoffs(), i as u32);
        assert_eq!(e.rto(), Duration::from_secs(*secs));
        e.back_off();
    }
    for _ in 0..200 {
        e.back_off();
    }
    assert_eq!(e.rto(), Duration::from_secs(120));
    assert_eq!(e.backoffs(), expected.len() as u32 + 200);
}

/// RFC 6298 section 5 (after 5.7): a new measurement recomputes the RTO from SRTT and
/// RTTVAR, "collapsing" a backed-off RTO.
#[test]
fn new_sample_clears_back_off() {
    let mut e = unclamped();
    e.sample(ms(100));
    e.back_off();
    e.back_off();
    assert_eq!(e.rto(), ms(1200));
    e.sample(ms(100));
    assert_eq!(e.backoffs(), 0);
    // RTTVAR = 3/4*50 + 0 = 37.5, SRTT = 100, RTO = 100 + 150.
    assert_eq!(e.rto(), ms(250));
}

/// RFC 6298 5.7: after a SYN retransmission with no valid measurement, the RTO becomes
/// 3 s when data transmission begins; with a measurement it is left alone.
#[test]
fn reset_after_syn_loss() {
    let mut e = RttEstimator::default();
    e.back_off(); // the SYN timer fired once: 2 s
    e.reset_after_syn_loss();
    assert_eq!(e.backoffs(), 0);
    assert_eq!(e.rto(), SYN_LOSS_RTO);
    // A larger computed RTO (here a larger configured initial one) is kept.
    let mut e = RttEstimator::new(Duration::from_secs(5), ms(200), ms(120_000));
    e.reset_after_syn_loss();
    assert_eq!(e.rto(), Duration::from_secs(5));
    // Capped by the maximum.
    let mut e = RttEstimator::new(ms(1000), ms(200), ms(2000));
    e.reset_after_syn_loss();
    assert_eq!(e.rto(), ms(2000));
    // A timestamp measurement was taken during the handshake: trusted.
    let mut e = unclamped();
    e.sample(ms(100));
    e.reset_after_syn_loss();
    assert_eq!(e.rto(), ms(300));
}

/// RFC 6298 section 3 (Karn): the segment's RTT is measured when the ACK covers it.
#[test]
fn sampler_times_one_segment() {
    let mut s = RttSampler::new();
    let t0 = Instant::from_millis(1000);
    s.start(SeqNum(1000), t0);
    // A second segment while one is timed is not timed.
    s.start(SeqNum(2000), t0 + ms(5));
    assert!(s.is_timing());
    // A partial ACK does not cover the timed segment.
    assert_eq!(s.on_ack(SeqNum(999), t0 + ms(40)), None);
    assert_eq!(s.on_ack(SeqNum(1000), t0 + ms(50)), Some(ms(50)));
    assert!(!s.is_timing());
    // Nothing is being timed: no more samples.
    assert_eq!(s.on_ack(SeqNum(2000), t0 + ms(55)), None);
    // The next new segment starts a fresh measurement.
    s.start(SeqNum(3000), t0 + ms(60));
    assert_eq!(s.on_ack(SeqNum(3500), t0 + ms(90)), Some(ms(30)));
}

/// RFC 6298 section 3 / Karn & Partridge: no sample from a retransmitted segment; the
/// sampler starts again with the next segment of new data.
#[test]
fn karn_retransmission_gives_no_sample() {
    let mut s = RttSampler::new();
    let t0 = Instant::from_secs(1);
    s.start(SeqNum(100), t0);
    s.on_retransmit(); // the RTO fired, the segment went out again
                       // Its ACK is ambiguous and yields nothing.
    assert_eq!(s.on_ack(SeqNum(100), t0 + ms(1200)), None);
    // The next new segment is timed.
    s.start(SeqNum(200), t0 + ms(1300));
    assert_eq!(s.on_ack(SeqNum(200), t0 + ms(1380)), Some(ms(80)));
}

/// RFC 9293 3.4: coverage is tested modulo 2^32.
#[test]
fn sampler_wraps_sequence_space() {
    let mut s = RttSampler::new();
    let t0 = Instant::from_secs(1);
    s.start(SeqNum(5), t0); // ends just past the wrap
    assert_eq!(s.on_ack(SeqNum(u32::MAX - 10), t0 + ms(1)), None);
    assert_eq!(s.on_ack(SeqNum(10), t0 + ms(2)), Some(ms(2)));
}

/// RFC 7323 4.1 (RTTM): RTT = now - TSecr on the sender's timestamp clock, modulo 2^32;
/// TSecr 0 and implausible values (over 60 s, or from the future) give nothing.
#[test]
fn timestamp_samples() {
    assert_eq!(sample_from_tsecr(1_100, 1_000), Some(ms(100)));
    assert_eq!(sample_from_tsecr(1_000, 1_000), Some(Duration::ZERO));
    // Clock wrap: TSecr just before 2^32, now just after.
    assert_eq!(sample_from_tsecr(20, u32::MAX - 29), Some(ms(50)));
    assert_eq!(sample_from_tsecr(1_000, 0), None);
    assert_eq!(sample_from_tsecr(61_001, 1_000), None);
    assert_eq!(
        sample_from_tsecr(61_000, 1_000),
        Some(Duration::from_secs(60))
    );
    assert_eq!(sample_from_tsecr(1_000, 1_001), None); // from the future
}

proptest! {
    /// No sequence of samples and back-offs takes the RTO outside [min, max], or panics.
    #[test]
    fn rto_stays_within_bounds(
        ops in proptest::collection::vec(prop_oneof![
            any::<u64>().prop_map(Some),
            Just(None),
        ], 0..64),
        min in 0u64..2_000_000,
        extra in 0u64..200_000_000,
    ) {
        let min = us(min);
        let max = min + us(extra);
        let mut e = RttEstimator::new(DEFAULT_INITIAL_RTO, min, max);
        for op in ops {
            match op {
                Some(rtt) => e.sample(us(rtt)),
                None => e.back_off(),
            }
            prop_assert!(e.rto() >= min && e.rto() <= max);
        }
    }
}
