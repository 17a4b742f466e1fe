//! Applications on tunstack sockets, and the pieces of the `tunstack` command. The map of
//! the code (layers, rules of the house, test layers) is `docs/DESIGN.md` in the
//! repository.

pub mod aio;
pub mod cli;
pub mod config;
pub mod dns;
pub mod http;
pub mod net;
pub mod services;
pub mod sys;
pub mod tools;
pub mod up;
pub mod watch;
