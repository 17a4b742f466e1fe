//! Simulation: two stacks joined by an impaired in-memory link, in virtual time.
//!
//! Time jumps from event to event (the earliest of both stacks' deadlines and the link's
//! next delivery), after quinn's `tests/util.rs` `Pair::step`; nothing sleeps, and with a
//! fixed seed every run is identical, so a behaviour change shows as a diff. Tests and
//! benchmarks use it; so can anyone who wants to watch TCP recover from loss without root.

use crate::iface::IfaceId;
use crate::link::impair::{ImpairConfig, Impairment};
use crate::stack::Stack;
use crate::time::{Duration, Instant};

/// Two stacks, A and B, and the link between them.
#[derive(Debug)]
pub struct Sim {
    /// Stack A.
    pub a: Stack,
    /// Stack B.
    pub b: Stack,
    ia: IfaceId,
    ib: IfaceId,
    /// The A-to-B direction of the link.
    pub ab: Impairment,
    /// The B-to-A direction of the link.
    pub ba: Impairment,
    /// The virtual time.
    pub now: Instant,
    /// Frames carried A to B and B to A (after impairment).
    pub delivered: (u64, u64),
    /// The frames due in one step, handed over as a batch (kept for its allocation).
    batch: Vec<Vec<u8>>,
}

impl Sim {
    /// Joins `a` (its interface `ia`) and `b` (`ib`) with a link impaired as given in each
    /// direction; `seed` fixes the impairment.
    pub fn new(
        a: Stack,
        ia: IfaceId,
        b: Stack,
        ib: IfaceId,
        ab: ImpairConfig,
        ba: ImpairConfig,
        seed: u64,
    ) -> Sim {
        let mut ab = Impairment::new(ab, seed);
        let mut ba = Impairment::new(ba, seed ^ 0x9e37_79b9_7f4a_7c15);
        // A simulated link holds as much as the stacks may send in one go.
        ab.set_limit(100_000);
        ba.set_limit(100_000);
        Sim {
            a,
            b,
            ia,
            ib,
            ab,
            ba,
            now: Instant::from_secs(1),
            delivered: (0, 0),
            batch: Vec::new(),
        }
    }

    /// Does everything due at the current time; if nothing was, moves time to the next
    /// event. Returns `false` when nothing will ever happen again.
    pub fn step(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        while let Some(t) = self.a.poll_transmit() {
            self.ab.push_owned(now, t.frame);
        }
        while let Some(t) = self.b.poll_transmit() {
            self.ba.push_owned(now, t.frame);
        }
        // The frames due now are handed over as one batch, as the runtime hands over a
        // turn's frames (`Stack::receive_batch`, which merges runs of in-order TCP
        // segments). A frame's buffer then goes back to the stack that sent it, as the
        // runtime hands it back after the device send: the sender of a bulk transfer
        // reuses its buffers instead of allocating one per segment while the receiver's
        // pool overflows.
        let n = deliver(
            now,
            &mut self.ab,
            &mut self.b,
            self.ib,
            &mut self.a,
            &mut self.batch,
        );
        let m = deliver(
            now,
            &mut self.ba,
            &mut self.a,
            self.ia,
            &mut self.b,
            &mut self.batch,
        );
        self.delivered.0 += n;
        self.delivered.1 += m;
        busy |= n + m > 0;
        if self.a.poll_at().is_some_and(|t| t <= now) {
            self.a.handle_timeout(now);
            busy = true;
        }
        if self.b.poll_at().is_some_and(|t| t <= now) {
            self.b.handle_timeout(now);
            busy = true;
        }
        if busy {
            return true;
        }
        // Queued transmissions go out on the next step at the same time.
        let pending = [
            self.a.poll_at(),
            self.b.poll_at(),
            self.ab.poll_at(),
            self.ba.poll_at(),
        ];
        match pending.into_iter().flatten().min() {
            Some(t) => {
                self.now = self.now.max(t);
                true
            }
            None => false,
        }
    }

    /// Steps until `done` says so (checked after every step) or `limit` of virtual time
    /// passes; returns whether `done` was reached.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Sim) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            if self.now > end {
                return false;
            }
            if !self.step() {
                return done(self);
            }
        }
    }
}

/// Hands the frames `link` has due at `now` to `to` (on its interface `iface`) as one
/// batch, then their buffers back to `from`, which sent them; returns how many.
fn deliver(
    now: Instant,
    link: &mut Impairment,
    to: &mut Stack,
    iface: IfaceId,
    from: &mut Stack,
    batch: &mut Vec<Vec<u8>>,
) -> u64 {
    while let Some(f) = link.pop(now) {
        batch.push(f);
    }
    if batch.is_empty() {
        return 0;
    }
    let none = crate::wire::virtio::VirtioNetHdr::NONE;
    to.receive_batch(now, batch.iter().map(|f| (iface, &f[..], none)));
    let n = batch.len() as u64;
    for f in batch.drain(..) {
        from.recycle(f);
    }
    n
}
