//! BBR's model pieces (draft-ietf-ccwg-bbr-06, BBRv3), not yet wired into the sender: BBR
//! needs pacing and a delivery-rate sampler (draft 4.1) in the sender, which the
//! super-segment sender rewrite is changing at the same time. What is here reads no
//! clock and touches no connection:
//!
//! | file | draft sections |
//! |---|---|
//! | `filter.rs` | the BBR.max_bw max filter over ProbeBW cycles (5.5.3-5.5.6), BBR.min_rtt and the ProbeRTT schedule (5.3.4.3, 5.5.7) |
//! | `model.rs` | the state machine (Startup, Drain, ProbeBW DOWN/CRUISE/REFILL/UP, ProbeRTT; 5.3), round counting (5.5.1), pacing rate, send quantum and cwnd (5.6) |
//!
//! Left for the wiring: the loss-based bounds (inflight_longterm, the short-term model),
//! Startup's loss exit, ACK aggregation (extra_acked), the offload budget and undo.

pub mod filter;
pub mod model;

pub use filter::{MaxBwFilter, MinRttFilter};
pub use model::{BbrModel, RateSample, State};

#[cfg(test)]
mod tests;
