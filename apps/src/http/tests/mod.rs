//! Unit tests of the server logic: request heads and limits, body framing, ranges,
//! conditional requests, path normalisation, and whole connections over an in-memory
//! stream.

mod conn;
mod parse;
mod paths;
mod ranges;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::net::NetStream;

/// A connection whose client side has sent `input` and then closed; what the server
/// writes collects in `output`.
#[derive(Clone)]
pub struct MemStream {
    input: Arc<Mutex<(Vec<u8>, usize)>>,
    pub output: Arc<Mutex<Vec<u8>>>,
}

impl MemStream {
    pub fn new(input: &[u8]) -> MemStream {
        MemStream {
            input: Arc::new(Mutex::new((input.to_vec(), 0))),
            output: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut g = self.input.lock().unwrap();
        let (data, pos) = &mut *g;
        // Hand out small pieces, so parsers see heads and bodies split across reads.
        let n = buf.len().min(data.len() - *pos).min(7);
        buf[..n].copy_from_slice(&data[*pos..*pos + n]);
        *pos += n;
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl NetStream for MemStream {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from(([192, 0, 2, 1], 40000)))
    }
    fn shutdown(&self, _: Shutdown) -> io::Result<()> {
        Ok(())
    }
    fn try_clone(&self) -> io::Result<Self> {
        Ok(self.clone())
    }
    fn set_nodelay(&self, _: bool) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let n = Read::read(&mut *self, buf.initialize_unfilled())?;
        buf.advance(n);
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(Write::write(&mut *self, buf))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl crate::aio::AsyncStream for MemStream {
    fn set_nodelay(&self, _: bool) -> io::Result<()> {
        Ok(())
    }
    async fn readable(&self) -> io::Result<()> {
        Ok(())
    }
    fn abort(self) {}
    async fn write_all_shutdown(&mut self, buf: &[u8]) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(self, buf).await?;
        tokio::io::AsyncWriteExt::shutdown(self).await
    }
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Splits what the server wrote into responses; `head_only[i]` says the i-th answered a
/// HEAD (its Content-Length describes a body that is not there).
pub fn split_responses(mut out: &[u8], head_only: &[bool]) -> Vec<Resp> {
    let mut v = Vec::new();
    while !out.is_empty() {
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Response::new(&mut hs);
        let n = match r.parse(out) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "bad response {other:?} in {:?}",
                String::from_utf8_lossy(out)
            ),
        };
        let headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).to_string(),
                )
            })
            .collect();
        let status = r.code.unwrap();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let len = if head_only.get(v.len()).copied().unwrap_or(false) {
            0
        } else {
            len
        };
        v.push(Resp {
            status,
            headers,
            body: out[n..n + len].to_vec(),
        });
        out = &out[n + len..];
    }
    v
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("tunstack-http-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
