//! Applications on tunstack sockets, and the pieces of the `tunstack` command.

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
