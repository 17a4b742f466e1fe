//! Network tools that run from inside the stack: ping and traceroute.

pub mod ping;
pub mod traceroute;
