//! An ICMP echo socket, for ping and traceroute from inside the stack.

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::StackHandle;
use crate::icmp::EchoEvent;
use crate::stack::SendError;

/// An echo socket: sends echo requests with its own identifier and receives the replies
/// and the ICMP errors that quote its requests.
#[derive(Debug)]
pub struct EchoSocket {
    handle: StackHandle,
    ident: u16,
}

impl EchoSocket {
    /// Opens an echo socket on the stack.
    pub fn open(handle: &StackHandle) -> io::Result<EchoSocket> {
        let ident = handle
            .with(|s, _| s.echo_open())
            .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "too many echo sockets"))?;
        Ok(EchoSocket {
            handle: handle.clone(),
            ident,
        })
    }

    /// The echo identifier.
    pub fn ident(&self) -> u16 {
        self.ident
    }

    /// Sends an echo request.
    pub fn send(&self, dst: Ipv4Addr, seq: u16, ttl: Option<u8>, data: &[u8]) -> io::Result<()> {
        let ident = self.ident;
        self.handle
            .with(|s, now| s.echo_send(now, ident, dst, seq, ttl, data))
            .map_err(to_io)
    }

    /// The next reply or error, waiting up to `timeout` (`None`: forever).
    pub fn recv(&self, timeout: Option<Duration>) -> Option<EchoEvent> {
        let ident = self.ident;
        self.handle
            .wait(crate::stack::WaitKey::Echo(ident), timeout, |s, _| {
                s.echo_recv(ident)
            })
    }
}

impl Drop for EchoSocket {
    fn drop(&mut self) {
        let ident = self.ident;
        self.handle.with(|s, _| s.echo_close(ident));
    }
}

pub(crate) fn to_io(e: SendError) -> io::Error {
    match e {
        SendError::NoRoute => io::Error::new(io::ErrorKind::HostUnreachable, e),
        SendError::MessageTooLong { .. } => io::Error::new(io::ErrorKind::InvalidInput, e),
        SendError::NotOpen => io::Error::new(io::ErrorKind::NotConnected, e),
    }
}
