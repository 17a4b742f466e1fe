//! HTTP/1.1 over the socket traits in [`crate::net`], so the same server and client run on
//! the kernel's `std::net` sockets and on tunstack's.
//!
//! - [`server`]: static files from a web root (or a built-in index page), with the
//!   stack's own pages `/_stack/stats` and `/_stack/connections` from a [`StackInfo`].
//! - [`client`]: `GET` with redirects and every body framing; [`client::get_cmd`] is what
//!   `tunstack get URL [-o FILE]` runs.

pub mod chunked;
pub mod client;
pub mod date;
pub mod files;
pub mod io;
pub mod pages;
pub mod path;
pub mod range;
pub mod request;
pub mod response;
pub mod server;

#[cfg(test)]
mod tests;

pub use pages::{BbrRow, ConnRow, StackInfo};
pub use server::{Config, Server};

/// The `log` target of everything HTTP.
pub const LOG: &str = "tunstack::http";
