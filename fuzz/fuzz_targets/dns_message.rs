//! DNS messages: `tunstack_apps::dns::fuzz_one`, which parses the input as a DNS message
//! (every RFC 9267 check), writes whatever parses back out and re-reads it (the re-read
//! must equal the first parse), and hands the raw bytes to the authoritative server (the
//! default `tunstack.test` zone) over UDP and over TCP, whose answers must fit the
//! transport's limit and parse.
//!
//! Input: one DNS message as it travels in a UDP payload (no TCP length prefix).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tunstack_apps::dns::fuzz_one(data);
});
