//! TCP (RFC 9293), one mechanism per file:
//!
//! | file | mechanism |
//! |---|---|
//! | `seq.rs` | sequence number arithmetic (RFC 9293 3.4) |
//! | `rtt.rs` | round-trip estimation and retransmission timeout (RFC 6298) |
//! | `congestion/` | congestion control behind a trait: Reno (RFC 5681) |
//! | `recv.rs` | receive buffer: reassembly of out-of-order data, window |
//! | `send.rs` | send buffer |
//! | `isn.rs` | initial sequence numbers (RFC 6528) |
//! | `syncookie.rs` | SYN cookies (RFC 4987 3.6) |

pub mod congestion;
pub mod isn;
pub mod recv;
pub mod rtt;
pub mod send;
pub mod seq;
pub mod siphash;
pub mod syncookie;

pub use seq::SeqNum;
