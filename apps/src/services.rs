//! The small TCP services `tunstack up` runs, which make transfers easy to test with
//! `nc`: echo (RFC 862, port 7), discard (RFC 863, port 9) and chargen (RFC 864, port 19).
//! Event-driven: one thread per service, a task per connection (see [`crate::aio`]).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::socket::StackHandle;

use crate::aio::{self, within, AsyncStream, ConnLimit, IntoAsyncListener};

const LOG: &str = "tunstack::apps";

/// The accept queue of the servers `tunstack up` runs: room for a burst of handshakes
/// while the server's thread catches up (Linux's default `somaxconn`).
pub const ACCEPT_BACKLOG: usize = 4096;

/// How much one read takes; allocated when data arrives, not while a connection idles.
const READ_CHUNK: usize = 128 * 1024;

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

/// How a service treats its connections.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Connections held at once; the next is reset and counted (`--max-conns`).
    pub max_conns: usize,
    /// A connection with nothing to read for this long is closed.
    pub idle_timeout: Duration,
    /// A peer that takes no bytes for this long (a slow reader, or one that stopped
    /// reading) is cut off: each write must finish within it.
    pub write_timeout: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_conns: 10_000,
            idle_timeout: Duration::from_secs(300),
            write_timeout: Duration::from_secs(30),
        }
    }
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

    /// Serves one connection; returns the bytes moved.
    async fn serve<S: AsyncStream>(
        self,
        mut s: S,
        cfg: &ServiceConfig,
        block: &[u8],
    ) -> io::Result<u64> {
        let mut total = 0u64;
        match self {
            Service::Echo | Service::Discard => loop {
                // Idle connections hold no buffer: wait first, then read.
                within(cfg.idle_timeout, s.readable()).await?;
                let mut buf = take_read_buffer();
                let read = s.read(&mut buf).await;
                if self == Service::Discard {
                    give_read_buffer(std::mem::take(&mut buf));
                }
                let n = read?;
                if n == 0 {
                    if self == Service::Echo {
                        s.shutdown().await?;
                    }
                    return Ok(total);
                }
                if self == Service::Echo {
                    let wrote = within(cfg.write_timeout, s.write_all(&buf[..n])).await;
                    give_read_buffer(buf);
                    wrote?;
                }
                total += n as u64;
            },
            // A short write continues where it stopped, so the stream keeps RFC 864's
            // rotation across writes (the block is whole cycles of 95 lines).
            Service::Chargen => loop {
                let at = (total % block.len() as u64) as usize;
                match within(cfg.write_timeout, s.write(&block[at..])).await {
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
            },
        }
    }
}

/// Read buffers between reads, per server thread: a busy connection takes one for a read
/// and gives it back after, so a bulk transfer neither allocates nor zeroes 128 KiB per
/// read, and an idle connection still holds none.
const SPARE_READ_BUFFERS: usize = 4;

thread_local! {
    static READ_BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn take_read_buffer() -> Vec<u8> {
    READ_BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| vec![0u8; READ_CHUNK])
}

fn give_read_buffer(buf: Vec<u8>) {
    if buf.len() == READ_CHUNK {
        READ_BUFFERS.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < SPARE_READ_BUFFERS {
                b.push(buf);
            }
        });
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

/// Starts `service` on `addr` of `handle`'s stack (`::` for every address of both
/// families), on a thread of its own (every connection a task on it, at most
/// `cfg.max_conns` at once).
pub fn spawn(
    handle: &StackHandle,
    addr: impl Into<IpAddr>,
    service: Service,
    cfg: &ServiceConfig,
) -> io::Result<Arc<ConnLimit>> {
    let at = SocketAddr::new(addr.into(), service.port());
    let listener = tunstack::TcpListener::bind_with_backlog(handle, at, ACCEPT_BACKLOG)?;
    serve_on(listener, service, cfg.clone())
}

/// Starts `service` on `listener` (tunstack's or the kernel's), as [`spawn`] does; the
/// returned limit tells how many connections it holds and refused.
pub fn serve_on<L: IntoAsyncListener>(
    listener: L,
    service: Service,
    cfg: ServiceConfig,
) -> io::Result<Arc<ConnLimit>> {
    let limit = ConnLimit::new(cfg.max_conns);
    let lim = Arc::clone(&limit);
    let name = format!("tunstack-{service:?}").to_lowercase();
    let on = listener.runtime();
    aio::spawn_server(&name, on, move || {
        let l = listener.into_async()?;
        let cfg = Arc::new(cfg);
        let block: Arc<[u8]> = chargen_block(64 * 1024).into();
        Ok(aio::accept_loop(
            l,
            lim,
            || false,
            move |s, peer: SocketAddr| {
                let (cfg, block) = (Arc::clone(&cfg), Arc::clone(&block));
                async move {
                    match service.serve(s, &cfg, &block).await {
                        Ok(n) => log::info!(target: LOG, "{service:?} {peer}: {n} bytes"),
                        Err(e) => log::info!(target: LOG, "{service:?} {peer}: {e}"),
                    }
                }
            },
            aio::reset,
        ))
    })?;
    Ok(limit)
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
