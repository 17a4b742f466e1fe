//! The `futures-io` feature: `futures_io::AsyncRead`/`AsyncWrite` on `tunstack::TcpStream`
//! over two real runtimes joined by an in-memory link. The traits are driven by hand
//! (`poll_fn`), as any `futures`-family executor or helper drives them; tokio's
//! current-thread runtime only supplies the executor.

mod mem_pair;

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use mem_pair::{sa, Pair, B};
use tunstack::socket::{TcpListener, TcpStream};

/// A deterministic, non-repeating-looking pattern.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x1234_5679_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn write_all(mut w: impl AsyncWrite + Unpin, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut w).poll_write(cx, buf)).await?;
        assert!(n > 0, "a write of a non-empty buffer made no progress");
        buf = &buf[n..];
    }
    poll_fn(|cx| Pin::new(&mut w).poll_flush(cx)).await
}

async fn read_to_end(mut r: impl AsyncRead + Unpin) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = poll_fn(|cx| Pin::new(&mut r).poll_read(cx, &mut buf)).await?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

async fn within<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f)
        .await
        .expect("the transfer did not finish in time")
}

/// 4 MiB one way through the futures-io traits, byte-exact, ended by `poll_close` (a FIN:
/// the reader sees the end of the stream); the closed-for-writing side still reads the
/// answer that comes back the other way.
#[test]
fn futures_io_moves_data_byte_exact_and_close_sends_a_fin() {
    const LEN: usize = 4 << 20;
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 5301)).unwrap();
    let ha = p.ha();
    let client = std::thread::spawn(move || TcpStream::connect_on(&ha, sa(B, 5301), None).unwrap());
    let (server, _) = l.accept().unwrap();
    let client = client.join().unwrap();
    let data = pattern(LEN);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    // A missing wake-up or FIN shows as a timeout rather than a hang.
    let limit = Duration::from_secs(60);
    let (sent, got) = rt.block_on(within(limit, async {
        let send = async {
            write_all(&client, &data).await?;
            poll_fn(|cx| Pin::new(&mut &client).poll_close(cx)).await
        };
        let recv = read_to_end(&server);
        tokio::join!(send, recv)
    }));
    sent.unwrap();
    let got = got.unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == data, "the bytes received differ from the bytes sent");
    // The other direction is still open: the server answers and closes, the client reads
    // the answer and then the end of the stream (owned streams this time).
    let (answered, back) = rt.block_on(within(limit, async {
        let mut server = server;
        let answer = async {
            write_all(&mut server, b"got it").await?;
            poll_fn(|cx| Pin::new(&mut server).poll_close(cx)).await
        };
        tokio::join!(answer, read_to_end(client))
    }));
    answered.unwrap();
    assert_eq!(back.unwrap(), b"got it");
}
