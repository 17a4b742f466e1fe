//! TCP (RFC 9293), one mechanism per file:
//!
//! | file | mechanism |
//! |---|---|
//! | `seq.rs` | sequence number arithmetic (RFC 9293 3.4) |
//! | `rtt.rs` | round-trip estimation and retransmission timeout (RFC 6298) |
//! | `congestion/` | congestion control behind a trait: Reno (RFC 5681), CUBIC (RFC 9438) with HyStart++ (RFC 9406), BBR (draft-ietf-ccwg-bbr-06) |
//! | `recv.rs` | receive buffer: reassembly of out-of-order data, window |
//! | `send.rs` | send buffer |
//! | `sack.rs` | the sender's SACK scoreboard (RFC 2018, RFC 6675) |
//! | `rack.rs` | RACK time-based loss detection (RFC 8985 section 6) |
//! | `recovery.rs` | loss recovery behind a small interface: the episode's state, duplicate ACKs, NewReno, RACK glue, PRR, D-SACK undo, go-back |
//! | `tlp.rs` | the tail loss probe (RFC 8985 section 7), SACK connections only |
//! | `frto.rs` | F-RTO, spurious timeouts detected without timestamps (RFC 5682) |
//! | `undo.rs` | spurious retransmissions undone: D-SACK (RFC 3708), Eifel (RFC 3522/4015), F-RTO (RFC 5682) |
//! | `isn.rs` | initial sequence numbers (RFC 6528) |
//! | `syncookie.rs` | SYN cookies (RFC 4987 3.6) |
//! | `state.rs` | the eleven states (RFC 9293 3.3.2) |
//! | `conn.rs` | the connection (TCB) and the user calls (RFC 9293 3.10.1-3.10.6) |
//! | `input.rs` | SEGMENT ARRIVES (RFC 9293 3.10.7), RFC 5961, PAWS |
//! | `output.rs` | sending: Nagle, SWS, retransmission, probes, timers |
//! | `pmtu.rs` | path MTU discovery (RFC 1191, RFC 8201, RFC 5927 checks) |
//! | `pace.rs` | pacing (a rate, bursts of a send quantum through the timer table) |
//! | `rate.rs` | delivery-rate sampling (draft-ietf-ccwg-bbr-06 4.1) |
//! | `timer.rs` | the timer table |
//! | `layer.rs` | connection table, listeners, timer heap |
//! | `trace.rs` | the per-connection event trace (sends, ACKs, cwnd, RTT, states) |

pub mod config;
pub mod congestion;
pub mod conn;
pub mod frto;
pub mod icmp_err;
pub(crate) mod input;
pub mod isn;
pub(crate) mod layer;
pub(crate) mod output;
pub mod pace;
pub mod pmtu;
pub mod prr;
pub mod rack;
pub mod rate;
pub mod rcv_tune;
pub(crate) mod recovery;
pub mod recv;
pub mod rtt;
pub mod sack;
pub mod send;
pub mod seq;
pub mod siphash;
pub mod state;
pub mod syncookie;
pub mod timer;
pub(crate) mod tlp;
pub mod trace;
pub mod undo;
pub mod window_use;

pub use config::TcpConfig;
pub use conn::{ConnError, ConnInfo, ConnStats, Connection};
pub use icmp_err::Unreachable;
pub use layer::{ListenHandle, TcpHandle};
pub use seq::SeqNum;
pub use state::State;

#[cfg(test)]
mod tests;
