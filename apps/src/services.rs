//! The small TCP services `tunstack up` runs, which make transfers easy to test with
//! `nc`: echo (RFC 862, port 7), discard (RFC 863, port 9) and chargen (RFC 864, port 19).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tunstack::socket::{StackHandle, TcpListener, TcpStream};

const LOG: &str = "tunstack::apps";

/// The most connections one service serves at once; more wait in the accept queue.
pub const MAX_CONNECTIONS: usize = 256;

/// Which service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// RFC 862: send back what arrives.
    Echo,
    /// RFC 863: throw away what arrives.
    Discard,
    /// RFC 864: send a rotating pattern of printable characters until the peer closes.
    Chargen,
}

impl Service {
    /// The well-known port.
    pub fn port(self) -> u16 {
        match self {
            Service::Echo => 7,
            Service::Discard => 9,
            Service::Chargen => 19,
        }
    }

    fn serve(self, mut s: TcpStream) -> io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        match self {
            Service::Echo => loop {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    s.shutdown(std::net::Shutdown::Write)?;
                    return Ok(total);
                }
                s.write_all(&buf[..n])?;
                total += n as u64;
            },
            Service::Discard => loop {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    return Ok(total);
                }
                total += n as u64;
            },
            Service::Chargen => {
                let block = chargen_block(64 * 1024);
                loop {
                    match s.write(&block) {
                        Ok(n) => total += n as u64,
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
                            ) =>
                        {
                            return Ok(total)
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

/// RFC 864's pattern: lines of 72 printable ASCII characters (codes 32-126), each line
/// starting one character later than the one before, ending in CR LF; at least `len`
/// bytes, in whole cycles of 95 lines.
pub fn chargen_block(len: usize) -> Vec<u8> {
    // The pattern repeats after 95 lines; whole cycles keep it seamless across writes.
    let cycle = 74 * 95;
    let cycles = len.div_ceil(cycle).max(1);
    let mut out = Vec::with_capacity(cycles * cycle);
    for line in 0..95 * cycles {
        for i in 0..72 {
            out.push(32 + ((line + i) % 95) as u8);
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Starts `service` on `addr` in a background thread (a thread per connection, at most
/// [`MAX_CONNECTIONS`] at once).
pub fn spawn(handle: &StackHandle, addr: Ipv4Addr, service: Service) -> io::Result<()> {
    let listener = TcpListener::bind_on(handle, SocketAddrV4::new(addr, service.port()))?;
    let active = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name(format!("tunstack-{service:?}").to_lowercase())
        .spawn(move || loop {
            let (stream, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) => {
                    log::debug!(target: LOG, "{service:?}: accept: {e}");
                    return;
                }
            };
            while active.load(Ordering::Acquire) >= MAX_CONNECTIONS {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            active.fetch_add(1, Ordering::AcqRel);
            let slot = Arc::clone(&active);
            let spawned = std::thread::Builder::new()
                .name("tunstack-conn".into())
                .spawn(move || {
                    match service.serve(stream) {
                        Ok(n) => log::info!(target: LOG, "{service:?} {peer}: {n} bytes"),
                        Err(e) => log::info!(target: LOG, "{service:?} {peer}: {e}"),
                    }
                    slot.fetch_sub(1, Ordering::AcqRel);
                });
            if spawned.is_err() {
                // The connection was dropped with the closure: give its slot back.
                active.fetch_sub(1, Ordering::AcqRel);
                log::warn!(target: LOG, "{service:?}: could not start a thread");
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 864: 72 printable characters a line, each line shifted by one, CR LF.
    #[test]
    fn chargen_lines_rotate() {
        let b = chargen_block(74 * 95);
        assert_eq!(b.len(), 74 * 95);
        let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 95);
        assert_eq!(&lines[0][..3], b" !\"");
        assert_eq!(&lines[1][..3], b"!\"#");
        assert!(lines.iter().all(|l| l.len() == 73 && l[72] == b'\r'));
        assert!(b
            .iter()
            .all(|&c| (32..=126).contains(&c) || c == b'\r' || c == b'\n'));
    }
}
