//! BBR (draft-ietf-ccwg-bbr-06, BBRv3), wired into the sender: the delivery-rate
//! sampler of draft 4.1 is `tcp/rate.rs`, the pacer `tcp/pace.rs`. What is here reads no
//! clock and touches no connection:
//!
//! | file | draft sections |
//! |---|---|
//! | `filter.rs` | the BBR.max_bw max filter over ProbeBW cycles (5.5.3-5.5.6), BBR.min_rtt and the ProbeRTT schedule (5.3.4.3, 5.5.7) |
//! | `model.rs` | the state machine (Startup, Drain, ProbeBW DOWN/CRUISE/REFILL/UP, ProbeRTT; 5.3), round counting (5.5.1), pacing rate, send quantum and cwnd (5.6), packet conservation in recovery (5.6.4.4) |
//! | `cc.rs` | [`Bbr`], the model behind the [`CongestionControl`](super::CongestionControl) trait |
//!
//! Departures from the draft, each for the reason given where it is made, with its
//! measurement: no loss-based bounds (inflight_longterm, 5.5.10) and no Startup exit on
//! loss (5.3.1.3), as in Linux's BBRv1 (`cc.rs`); no packet conservation in Startup
//! (`STARTUP_WITHOUT_CONSERVATION`, `model.rs`); the full-pipe plateau test on BBR.max_bw
//! rather than one sample (`FULL_BW_ON_MAX_BW`, `model.rs`, as Linux). Not done yet: ACK aggregation (extra_acked, 5.5.9),
//! the offload budget (5.5.8) and BBR's own undo (5.5.11; the sender's RFC 3708 undo
//! restores the cwnd).

pub mod bounds;
pub mod cc;
pub mod filter;
pub mod model;

pub use cc::{Bbr, BbrInfo};
pub use filter::{MaxBwFilter, MinRttFilter};
pub use model::{BbrModel, RateSample, State};

#[cfg(test)]
mod tests;
