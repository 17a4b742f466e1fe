//! A seeded impairment model: loss, duplication, reordering, delay with jitter,
//! corruption and a rate limit, after Linux netem (`net/sched/sch_netem.c`, tc-netem(8))
//! and smoltcp's `phy/fault_injector.rs`.
//!
//! [`Impairment`] is sans-IO: [`push`](Impairment::push) a frame at `now`, and
//! [`pop`](Impairment::pop) frames that are due at a later `now`; [`poll_at`](Impairment::poll_at)
//! says when the next one will be. It works the same in virtual time (a simulation jumps to
//! `poll_at`) and in real time. All randomness comes from one seeded [`Rng`], so a seed
//! fixes the whole outcome.
//!
//! [`Impaired`] wraps any [`Device`] with an independent impairment per direction.
//!
//! # The model, per pushed frame
//!
//! 1. **Loss**: with probability `loss` the frame vanishes.
//! 2. **Duplication**: with probability `duplicate` a second copy follows it; each copy
//!    then goes through the remaining steps on its own (as netem re-enqueues its clone).
//! 3. **Queue limit**: a copy that finds the queue full ([`DEFAULT_LIMIT`] frames unless
//!    set) is dropped and counted.
//! 4. **Corruption**: with probability `corrupt` one uniformly chosen bit is flipped.
//! 5. **Rate**: with `rate_bps` set, frames are serialised one after another on a link of
//!    that speed: a frame leaves when the previous one has finished plus `8 * len / rate`.
//!    Bytes delivered in any interval of length `T` never exceed `rate * T / 8`.
//! 6. **Delay and reordering**: with a delay or jitter configured, each frame is held for
//!    a delay drawn uniformly from `[delay - jitter, delay + jitter]` (clamped at zero),
//!    except that with probability `reorder` it is sent at once, jumping ahead of the
//!    frames still being delayed (netem's `reorder` with the default gap of 1). Frames
//!    leave in order of their due times, so jitter alone also reorders, as in netem.
//!    With no delay configured, reordering instead holds a frame back until the next frame
//!    has passed it, or until [`DEFAULT_REORDER_GAP`] has gone by; the hold probability is
//!    chosen so that the fraction of frames overtaken equals `reorder` (at most one half).

use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::io;
use std::str::FromStr;

use super::{copy_truncated, Device, Medium};
use crate::rand::Rng;
use crate::time::{Duration, Instant};
use crate::wire::virtio::VirtioNetHdr;

/// How many frames an [`Impairment`] holds before it drops (netem's default `limit`).
pub const DEFAULT_LIMIT: usize = 1000;

/// How long a frame held back for reordering waits for a successor when no delay is
/// configured, before it is sent anyway.
pub const DEFAULT_REORDER_GAP: Duration = Duration::from_millis(1);

/// What to do to frames. Probabilities are fractions in `[0, 1]`; see the
/// [module documentation](self) for the exact model.
#[derive(Clone, Debug, Default)]
pub struct ImpairConfig {
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Probability that a frame is duplicated.
    pub duplicate: f64,
    /// Probability that a frame is sent out of order.
    pub reorder: f64,
    /// Base one-way delay.
    pub delay: Duration,
    /// Delay varies uniformly within `delay ± jitter`.
    pub jitter: Duration,
    /// Probability that one bit of a frame is flipped.
    pub corrupt: f64,
    /// Link rate in bits per second (`None` or `Some(0)`: unlimited).
    pub rate_bps: Option<u64>,
}

/// Counters of an [`Impairment`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpairStats {
    /// Frames pushed in.
    pub pushed: u64,
    /// Frames popped out (duplicates included).
    pub passed: u64,
    /// Frames lost on purpose.
    pub lost: u64,
    /// Frames that were duplicated (each adds one extra copy).
    pub duplicated: u64,
    /// Frames sent out of order on purpose: sent at once past delayed frames, or (without
    /// a delay) overtaken by their successor.
    pub reordered: u64,
    /// Frames with one bit flipped.
    pub corrupted: u64,
    /// Frames given a non-zero delay by `delay`/`jitter`.
    pub delayed: u64,
    /// Frames that had to wait for the rate limiter.
    pub throttled: u64,
    /// Frames dropped because the queue was full.
    pub dropped: u64,
    /// Super-segments split into the wire frames they stand for before the impairment
    /// (each piece is then counted in `pushed`).
    pub split: u64,
}

/// A seeded, sans-IO impairment queue. See the [module documentation](self).
#[derive(Debug)]
pub struct Impairment {
    config: ImpairConfig,
    rng: Rng,
    queue: BinaryHeap<Scheduled>,
    /// Frames whose due times arrived in order (the common case: no jitter or reordering),
    /// kept in a plain FIFO, which is much cheaper than the heap; `pop` takes the earlier
    /// of the two heads by (due, seq), so the order is exactly the heap's.
    fifo: VecDeque<Scheduled>,
    held: Option<Held>,
    next_seq: u64,
    /// When the rate limiter's virtual link finishes its current frame, in nanoseconds of
    /// the stack clock.
    link_free_ns: u64,
    limit: usize,
    reorder_gap: Duration,
    stats: ImpairStats,
    /// The configuration leaves frames untouched (`ImpairConfig::is_noop`), kept with it.
    noop: bool,
}

#[derive(Debug)]
struct Held {
    frame: Vec<u8>,
    deadline: Instant,
}

/// A frame waiting for its due time; ordered so that `BinaryHeap` pops the earliest due
/// time first and, among equal ones, the first scheduled.
#[derive(Debug)]
struct Scheduled {
    due: Instant,
    seq: u64,
    frame: Vec<u8>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

impl Impairment {
    /// An impairment applying `config`, whose random choices are fixed by `seed`.
    pub fn new(config: ImpairConfig, seed: u64) -> Impairment {
        Impairment {
            noop: config.is_noop(),
            config,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            fifo: VecDeque::new(),
            held: None,
            next_seq: 0,
            link_free_ns: 0,
            limit: DEFAULT_LIMIT,
            reorder_gap: DEFAULT_REORDER_GAP,
            stats: ImpairStats::default(),
        }
    }

    /// Sets how many frames may wait at once (beyond it, frames are dropped and counted).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Sets how long a frame held back for reordering (no delay configured) waits.
    pub fn set_reorder_gap(&mut self, gap: Duration) {
        self.reorder_gap = gap;
    }

    /// The configuration in force.
    pub fn config(&self) -> &ImpairConfig {
        &self.config
    }

    /// Replaces the configuration; frames already queued keep their due times.
    pub fn set_config(&mut self, config: ImpairConfig) {
        self.noop = config.is_noop();
        self.config = config;
    }

    /// The counters so far.
    pub fn stats(&self) -> ImpairStats {
        self.stats
    }

    /// Frames waiting (queued or held back).
    pub fn len(&self) -> usize {
        self.queue.len() + self.fifo.len() + usize::from(self.held.is_some())
    }

    /// Whether no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offers a frame at `now`.
    pub fn push(&mut self, now: Instant, frame: &[u8]) {
        self.push_owned(now, frame.to_vec());
    }

    /// Offers a frame at `now`, taking its buffer (no copy). Same model as [`push`]:
    /// the random draws happen in the same order, so both give identical runs.
    ///
    /// [`push`]: Impairment::push
    pub fn push_owned(&mut self, now: Instant, frame: Vec<u8>) {
        if self.noop && self.held.is_none() {
            // A transparent link (a clean `Sim` link): scheduled at once, with the same
            // bound and counters as the full path below (which draws no random number
            // for a zero probability, so runs stay identical).
            self.stats.pushed += 1;
            if self.len() >= self.limit {
                self.stats.dropped += 1;
                return;
            }
            self.schedule(now, frame, Duration::ZERO);
            return;
        }
        self.release_held(now);
        self.stats.pushed += 1;
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return;
        }
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            self.admit(now, frame.clone());
        }
        self.admit(now, frame);
    }

    /// The next frame due at or before `now`, if any.
    pub fn pop(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.release_held(now);
        let heap_head = self.queue.peek().map(|s| (s.due, s.seq));
        let fifo_head = self.fifo.front().map(|s| (s.due, s.seq));
        let from_fifo = match (fifo_head, heap_head) {
            (Some(f), Some(h)) => f < h,
            (Some(_), None) => true,
            _ => false,
        };
        let due = if from_fifo { fifo_head } else { heap_head }?.0;
        if due > now {
            return None;
        }
        let s = if from_fifo {
            self.fifo.pop_front()
        } else {
            self.queue.pop()
        }?;
        self.stats.passed += 1;
        Some(s.frame)
    }

    /// When the next frame becomes due (possibly already past), if any is waiting.
    pub fn poll_at(&self) -> Option<Instant> {
        let queued = match (
            self.queue.peek().map(|s| s.due),
            self.fifo.front().map(|s| s.due),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let held = self.held.as_ref().map(|h| h.deadline);
        match (queued, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn delay_mode(&self) -> bool {
        self.config.delay > Duration::ZERO || self.config.jitter > Duration::ZERO
    }

    /// Steps 3 to 6 of the model for one copy.
    fn admit(&mut self, now: Instant, mut frame: Vec<u8>) {
        if self.len() >= self.limit {
            self.stats.dropped += 1;
            return;
        }
        if self.rng.chance(self.config.corrupt) && !frame.is_empty() {
            let bit = self.rng.range_u64(0, frame.len() as u64 * 8 - 1);
            if let Some(byte) = frame.get_mut((bit / 8) as usize) {
                *byte ^= 1 << (bit % 8);
                self.stats.corrupted += 1;
            }
        }
        if self.delay_mode() {
            if self.rng.chance(self.config.reorder) {
                self.stats.reordered += 1;
                self.schedule(now, frame, Duration::ZERO);
            } else {
                let lo = self.config.delay.saturating_sub(self.config.jitter);
                let hi = self.config.delay + self.config.jitter;
                let d =
                    Duration::from_micros(self.rng.range_u64(lo.total_micros(), hi.total_micros()));
                self.schedule(now, frame, d);
            }
        } else if let Some(held) = self.held.take() {
            // This frame overtakes the one held back, which follows right behind it.
            self.stats.reordered += 1;
            self.schedule(now, frame, Duration::ZERO);
            self.schedule(now, held.frame, Duration::ZERO);
        } else if self.config.reorder > 0.0
            && self.rng.chance(hold_probability(self.config.reorder))
        {
            self.held = Some(Held {
                frame,
                deadline: now + self.reorder_gap,
            });
        } else {
            self.schedule(now, frame, Duration::ZERO);
        }
    }

    /// Sends a held-back frame whose gap has expired, as of its deadline.
    fn release_held(&mut self, now: Instant) {
        if self.held.as_ref().is_some_and(|h| h.deadline <= now) {
            if let Some(h) = self.held.take() {
                self.schedule(h.deadline, h.frame, Duration::ZERO);
            }
        }
    }

    /// Queues `frame`, due after the rate limiter has serialised it and `delay` more.
    fn schedule(&mut self, now: Instant, frame: Vec<u8>, delay: Duration) {
        let depart = match self.config.rate_bps {
            Some(rate) if rate > 0 => {
                let now_ns = now.total_micros().saturating_mul(1000);
                if self.link_free_ns > now_ns {
                    self.stats.throttled += 1;
                }
                let start = now_ns.max(self.link_free_ns);
                let bits = frame.len() as u128 * 8;
                let tx_ns = (bits * 1_000_000_000).div_ceil(u128::from(rate));
                self.link_free_ns = start.saturating_add(u64::try_from(tx_ns).unwrap_or(u64::MAX));
                Instant::from_micros(self.link_free_ns.div_ceil(1000))
            }
            _ => now,
        };
        if delay > Duration::ZERO {
            self.stats.delayed += 1;
        }
        let item = Scheduled {
            due: depart + delay,
            seq: self.next_seq,
            frame,
        };
        self.next_seq += 1;
        if self.fifo.back().is_none_or(|b| item.due >= b.due) {
            self.fifo.push_back(item);
        } else {
            self.queue.push(item);
        }
    }
}

/// The chance of holding an eligible frame back so that a fraction `r` of all frames is
/// overtaken: a frame right after a held one is never held itself, so holding with
/// probability `q` overtakes a fraction `q / (1 + q)`; `q = r / (1 - r)` makes that `r`.
fn hold_probability(r: f64) -> f64 {
    if r >= 0.5 {
        1.0
    } else {
        r / (1.0 - r)
    }
}

/// A device whose frames pass through an [`Impairment`] in each direction.
///
/// Sent frames go into the `tx` impairment and reach the inner device when due; received
/// frames are drained from the inner device into the `rx` impairment and returned when
/// due. Due transmit frames are flushed on every `send` and `recv` call (and by
/// [`flush`](Impaired::flush)), so a runtime that calls `recv` at [`Device::poll_at`]
/// keeps delayed frames moving in both directions.
#[derive(Debug)]
pub struct Impaired<D: Device> {
    inner: D,
    tx: Impairment,
    rx: Impairment,
    scratch: Vec<u8>,
    /// The counters of both directions, for readers on other threads.
    shared: ImpairCounters,
}

/// The counters of an [`Impaired`] device, readable from another thread while the device
/// runs (a runtime owns it): `(transmit, receive)`, updated after every call.
#[derive(Clone, Debug, Default)]
pub struct ImpairCounters(std::sync::Arc<std::sync::Mutex<(ImpairStats, ImpairStats)>>);

impl ImpairCounters {
    /// The transmit and receive counters as of the device's latest call.
    pub fn get(&self) -> (ImpairStats, ImpairStats) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counters as `nstat`-style lines (`ImpairTxLost 12`), non-zero ones only; these
    /// names are tunstack's own. Frames are counted as a wire carries them: a
    /// super-segment is split before the impairment sees it.
    pub fn report(&self) -> String {
        let (tx, rx) = self.get();
        let mut out = String::new();
        for (dir, s) in [("Tx", tx), ("Rx", rx)] {
            for (name, v) in [
                ("Frames", s.pushed),
                ("Lost", s.lost),
                ("Duplicated", s.duplicated),
                ("Reordered", s.reordered),
                ("Corrupted", s.corrupted),
                ("Delayed", s.delayed),
                ("Throttled", s.throttled),
                ("QueueDrops", s.dropped),
                ("SuperSegmentsSplit", s.split),
            ] {
                if v != 0 {
                    out.push_str(&format!("{:<31} {v}\n", format!("Impair{dir}{name}")));
                }
            }
        }
        out
    }
}

/// How many frames one `recv` call moves from the inner device into the rx impairment.
const DRAIN_BATCH: usize = 64;

impl<D: Device> Impaired<D> {
    /// Wraps `inner`; the two directions draw from independent streams derived from `seed`
    /// ([`Impaired::stream_seeds`]).
    pub fn new(inner: D, tx: ImpairConfig, rx: ImpairConfig, seed: u64) -> Impaired<D> {
        let (tx_seed, rx_seed) = Self::stream_seeds(seed);
        Self::with_stream_seeds(inner, tx, rx, tx_seed, rx_seed)
    }

    /// The seeds [`Impaired::new`] derives from `seed` for its two directions' streams:
    /// (transmit, receive).
    pub fn stream_seeds(seed: u64) -> (u64, u64) {
        let mut seeds = Rng::new(seed);
        (seeds.next_u64(), seeds.next_u64())
    }

    /// As [`Impaired::new`], each direction's stream seeded directly. A race between a
    /// sender behind this device and one in front of it gives the data direction the
    /// same stream either way (the transmit seed of one run as the receive seed of the
    /// other), so both senders' n-th frames meet the same fate.
    pub fn with_stream_seeds(
        inner: D,
        tx: ImpairConfig,
        rx: ImpairConfig,
        tx_seed: u64,
        rx_seed: u64,
    ) -> Impaired<D> {
        Impaired {
            inner,
            tx: Impairment::new(tx, tx_seed),
            rx: Impairment::new(rx, rx_seed),
            scratch: vec![0; 65_535 + Medium::Ethernet.header_len()],
            shared: ImpairCounters::default(),
        }
    }

    /// A handle on the counters of both directions, for another thread.
    pub fn counters(&self) -> ImpairCounters {
        self.shared.clone()
    }

    fn publish(&self) {
        *self.shared.0.lock().unwrap_or_else(|e| e.into_inner()) =
            (self.tx.stats(), self.rx.stats());
    }

    /// Sends every transmit frame due at `now` to the inner device.
    pub fn flush(&mut self, now: Instant) -> io::Result<()> {
        while let Some(frame) = self.tx.pop(now) {
            self.inner.send(&frame, now)?;
        }
        Ok(())
    }

    /// The transmit-direction impairment (its stats, limit, configuration).
    pub fn tx(&mut self) -> &mut Impairment {
        &mut self.tx
    }

    /// The receive-direction impairment.
    pub fn rx(&mut self) -> &mut Impairment {
        &mut self.rx
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Unwraps the device; frames still waiting are discarded.
    pub fn into_inner(self) -> D {
        self.inner
    }
}

impl<D: Device> Device for Impaired<D> {
    fn recv(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        self.flush(now)?;
        let link_hl = self.inner.medium().header_len();
        for _ in 0..DRAIN_BATCH {
            match self.inner.recv_offload(&mut self.scratch, now)? {
                Some((n, hdr)) if hdr.is_none() => self.rx.push(now, &self.scratch[..n]),
                Some((n, hdr)) => {
                    // A super-segment is split before the impairment, so that its rates
                    // are per wire segment.
                    if hdr.is_gso() {
                        self.rx.stats.split += 1;
                    }
                    let rx = &mut self.rx;
                    if let Err(e) =
                        super::wire_frames(link_hl, &self.scratch[..n], &hdr, &mut |f| {
                            rx.push(now, f)
                        })
                    {
                        log::debug!(target: "tunstack::link", "dropped a frame with a bad offload header: {e}");
                    }
                }
                None => break,
            }
        }
        let got = self.rx.pop(now).map(|f| copy_truncated(&f, buf));
        self.publish();
        Ok(got)
    }

    fn send(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        self.tx.push(now, frame);
        let r = self.flush(now);
        self.publish();
        r
    }

    /// Super-segments are taken (and split in software by the default
    /// [`Device::send_offload`] before they are impaired) when the inner device takes
    /// them, so the stack builds them the same with impairment or without.
    fn offload(&self) -> bool {
        self.inner.offload()
    }

    fn send_offload(&mut self, frame: &[u8], hdr: &VirtioNetHdr, now: Instant) -> io::Result<()> {
        if hdr.is_gso() {
            self.tx.stats.split += 1;
        }
        super::send_as_wire(self, frame, hdr, now)
    }

    fn medium(&self) -> Medium {
        self.inner.medium()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_at(&self) -> Option<Instant> {
        [self.tx.poll_at(), self.rx.poll_at(), self.inner.poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.inner.raw_fd()
    }
}

/// Why an impairment setting could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parses a probability: `"5%"` is 0.05, a bare number is a fraction (`"0.05"`). Must lie
/// in `[0, 1]`.
pub fn parse_percent(s: &str) -> Result<f64, ParseError> {
    let s = s.trim();
    let (num, scale) = match s.strip_suffix('%') {
        Some(n) => (n, 100.0),
        None => (s, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| ParseError(format!("not a probability: {s:?}")))?;
    let p = v / scale;
    if !(0.0..=1.0).contains(&p) {
        return err(format!("probability out of range: {s:?}"));
    }
    Ok(p)
}

/// Parses a duration with a unit: `"20ms"`, `"1.5s"`, `"250us"`, `"0"`.
pub fn parse_duration(s: &str) -> Result<Duration, ParseError> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let (num, micros_per_unit) = if let Some(n) = s.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e6)
    } else {
        return err(format!("duration needs a unit (us, ms, s): {s:?}"));
    };
    let v: f64 = num
        .parse()
        .map_err(|_| ParseError(format!("not a duration: {s:?}")))?;
    let micros = v * micros_per_unit;
    if !(0.0..1e15).contains(&micros) {
        return err(format!("duration out of range: {s:?}"));
    }
    Ok(Duration::from_micros(micros.round() as u64))
}

/// Parses a rate in bits per second, with tc's units: `bit` (or none), `kbit`, `mbit`,
/// `gbit` (powers of 1000) and `bps`, `kbps`, `mbps`, `gbps` (bytes per second).
pub fn parse_rate(s: &str) -> Result<u64, ParseError> {
    let t = s.trim().to_ascii_lowercase();
    const UNITS: [(&str, f64); 8] = [
        ("kbit", 1e3),
        ("mbit", 1e6),
        ("gbit", 1e9),
        ("bit", 1.0),
        ("kbps", 8e3),
        ("mbps", 8e6),
        ("gbps", 8e9),
        ("bps", 8.0),
    ];
    let (num, mult) = UNITS
        .iter()
        .find_map(|(u, m)| t.strip_suffix(u).map(|n| (n, *m)))
        .unwrap_or((t.as_str(), 1.0));
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| ParseError(format!("not a rate: {s:?}")))?;
    let bps = v * mult;
    if !(1.0..1.8e19).contains(&bps) {
        return err(format!("rate out of range: {s:?}"));
    }
    Ok(bps.round() as u64)
}

impl FromStr for ImpairConfig {
    type Err = ParseError;

    /// Parses netem-like settings, separated by spaces or commas, as `key value` or
    /// `key=value`: `loss 5%`, `duplicate 1%`, `reorder 25%`, `delay 20ms [5ms]`,
    /// `jitter 5ms`, `corrupt 0.1%`, `rate 10mbit`. The empty string is no impairment.
    fn from_str(s: &str) -> Result<ImpairConfig, ParseError> {
        let mut tokens: Vec<&str> = Vec::new();
        for t in s.split(|c: char| c.is_whitespace() || c == ',') {
            if t.is_empty() {
                continue;
            }
            match t.split_once('=') {
                Some((k, v)) => tokens.extend([k, v]),
                None => tokens.push(t),
            }
        }
        let mut c = ImpairConfig::default();
        let mut it = tokens.into_iter().peekable();
        while let Some(key) = it.next() {
            let Some(value) = it.next() else {
                return err(format!("{key:?} needs a value"));
            };
            match key {
                "loss" => c.loss = parse_percent(value)?,
                "duplicate" => c.duplicate = parse_percent(value)?,
                "reorder" => c.reorder = parse_percent(value)?,
                "corrupt" => c.corrupt = parse_percent(value)?,
                "jitter" => c.jitter = parse_duration(value)?,
                "rate" => c.rate_bps = Some(parse_rate(value)?),
                "delay" => {
                    c.delay = parse_duration(value)?;
                    if let Some(j) = it.peek().and_then(|t| parse_duration(t).ok()) {
                        c.jitter = j;
                        it.next();
                    }
                }
                _ => return err(format!("unknown impairment {key:?}")),
            }
        }
        Ok(c)
    }
}

impl ImpairConfig {
    /// Whether this configuration leaves frames untouched.
    pub fn is_noop(&self) -> bool {
        self.loss <= 0.0
            && self.duplicate <= 0.0
            && self.reorder <= 0.0
            && self.corrupt <= 0.0
            && self.delay == Duration::ZERO
            && self.jitter == Duration::ZERO
            && !matches!(self.rate_bps, Some(r) if r > 0)
    }
}

#[cfg(test)]
mod tests;
