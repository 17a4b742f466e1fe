//! `tunstack::tokio`: tokio's AsyncRead/AsyncWrite on tunstack sockets over two real
//! runtimes joined by an in-memory link. No tokio reactor is involved: the tunstack
//! runtime wakes the tasks whose sockets a turn touched.

mod mem_pair;

#[path = "../stack/examples/tokio_echo.rs"]
mod tokio_echo;

use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use mem_pair::{sa, Pair, A, A6, B, B6};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tunstack::tokio::{TcpListener, TcpStream, UdpSocket};

/// A deterministic, non-repeating-looking pattern.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn the_tokio_echo_example_runs() {
    tokio_echo::main().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_64_mib_between_two_tunstack_sockets_byte_exact() {
    const LEN: usize = 64 << 20;
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 5001)).unwrap();
    let server = tokio::spawn(async move {
        let (mut conn, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::V4(A));
        let mut got = Vec::with_capacity(LEN);
        let n = tokio::io::copy(&mut conn, &mut got).await.unwrap();
        (n, got)
    });
    let data = pattern(LEN);
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 5001)).await.unwrap();
    let sent = tokio::io::copy(&mut &data[..], &mut c).await.unwrap();
    c.shutdown().await.unwrap();
    assert_eq!(sent, LEN as u64);
    let (n, got) = server.await.unwrap();
    assert_eq!(n, LEN as u64);
    assert!(got == data, "the bytes received differ from the bytes sent");
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_dropped_midway_leaves_the_socket_usable() {
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 5002)).unwrap();
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 5002)).await.unwrap();
    let (mut s, _) = l.accept().await.unwrap();
    let mut buf = [0u8; 64];
    // A read that nothing answers, cancelled by a timeout (the future is dropped).
    let r = tokio::time::timeout(Duration::from_millis(100), c.read(&mut buf)).await;
    assert!(
        r.is_err(),
        "nothing was sent, so the read must still be pending"
    );
    // And one cancelled by select! losing to another branch.
    tokio::select! {
        _ = c.read(&mut buf) => panic!("nothing was sent"),
        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
    }
    // The socket works as before, in both directions, with no byte lost or doubled.
    s.write_all(b"first line\nsecond line\n").await.unwrap();
    let mut lines = BufReader::new(&mut c).lines();
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("first line")
    );
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("second line")
    );
    c.write_all(b"back").await.unwrap();
    s.read_exact(&mut buf[..4]).await.unwrap();
    assert_eq!(&buf[..4], b"back");
    // End of stream reaches a reader.
    s.shutdown().await.unwrap();
    assert_eq!(c.read(&mut buf).await.unwrap(), 0);
}

/// The async sockets over IPv6: a listener on `[::]` (both families), a connection from
/// A's IPv6 address with IPv6 `local_addr`/`peer_addr` on both ends, 1 MiB echoed back
/// byte-exact; and a UDP exchange between the two IPv6 addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_udp_over_ipv6() {
    let p = Pair::new();
    let any6 = std::net::SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), 5006);
    let l = TcpListener::bind_on(&p.hb(), any6).unwrap();
    let server = tokio::spawn(async move {
        let (mut conn, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::V6(A6));
        let (mut r, mut w) = tokio::io::split(&mut conn);
        tokio::io::copy(&mut r, &mut w).await.unwrap()
    });
    let to = std::net::SocketAddr::new(B6.into(), 5006);
    let mut c = TcpStream::connect_on(&p.ha(), to).await.unwrap();
    assert_eq!(c.peer_addr().unwrap(), to);
    assert_eq!(c.local_addr().unwrap().ip(), std::net::IpAddr::V6(A6));
    let data = pattern(1 << 20);
    let (mut r, mut w) = tokio::io::split(&mut c);
    let send = {
        let data = data.clone();
        async move {
            w.write_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        }
    };
    let mut got = Vec::new();
    let ((), n) = tokio::join!(send, async { r.read_to_end(&mut got).await.unwrap() });
    assert_eq!(n, data.len());
    assert!(got == data, "the echo differs");
    assert_eq!(server.await.unwrap(), data.len() as u64);

    let ub = UdpSocket::bind_on(&p.hb(), (B6, 5353)).unwrap();
    let ua = UdpSocket::bind_on(&p.ha(), (A6, 0)).unwrap();
    ua.send_to(b"query", (B6, 5353)).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = ub.recv_from(&mut buf).await.unwrap();
    assert_eq!((&buf[..n], from), (&b"query"[..], ua.local_addr().unwrap()));
    ub.send_to(b"answer", from).await.unwrap();
    let (n, from) = ua.recv_from(&mut buf).await.unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"answer"[..], std::net::SocketAddr::new(B6.into(), 5353))
    );
}

/// Counts how often it is woken.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn only_the_tasks_of_touched_sockets_are_woken() {
    const N: usize = 50;
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 5003)).unwrap();
    let mut pairs = Vec::new();
    for _ in 0..N {
        let c = TcpStream::connect_on(&p.ha(), sa(B, 5003)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        pairs.push((c, s));
    }
    // Let the handshakes' last ACKs settle.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Every server-side socket has a pending read with its own counting waker.
    let counters: Vec<Arc<Counter>> = (0..N)
        .map(|_| Arc::new(Counter(AtomicUsize::new(0))))
        .collect();
    for ((_, s), k) in pairs.iter().zip(&counters) {
        let waker = Waker::from(Arc::clone(k));
        let mut cx = Context::from_waker(&waker);
        let r = s.get_ref().poll_read(&mut cx, &mut [0u8; 16]);
        assert!(r.is_pending());
    }
    pairs[17].0.write_all(b"x").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters[17].0.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the touched socket's task was never woken"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Give any stray wake-up time to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let woken: Vec<usize> = (0..N)
        .filter(|&i| counters[i].0.load(Ordering::SeqCst) > 0)
        .collect();
    assert_eq!(woken, vec![17]);
    assert_eq!(counters[17].0.load(Ordering::SeqCst), 1, "woken once");
}

#[tokio::test(flavor = "current_thread")]
async fn stopping_the_stack_wakes_every_task() {
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 5004)).unwrap();
    let mut clients = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..10 {
        clients.push(TcpStream::connect_on(&p.ha(), sa(B, 5004)).await.unwrap());
        let (mut s, _) = l.accept().await.unwrap();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                s.read(&mut [0u8; 8]).await.map(drop)
            } else {
                s.readable().await
            }
        }));
    }
    let accept = tokio::spawn(async move { l.accept().await.map(drop) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let Pair { a, b } = p;
    tokio::task::spawn_blocking(move || b.shutdown().unwrap())
        .await
        .unwrap();
    tasks.push(accept);
    for t in tasks {
        let r = tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .expect("every task is woken when the stack stops")
            .unwrap();
        assert_eq!(r.unwrap_err().kind(), ErrorKind::ConnectionAborted);
    }
    drop(clients);
    drop(a);
}

#[tokio::test(flavor = "current_thread")]
async fn udp_datagrams_round_trip() {
    let p = Pair::new();
    let srv = UdpSocket::bind_on(&p.hb(), sa(B, 5353)).unwrap();
    let cli = UdpSocket::bind_on(&p.ha(), sa(A, 0)).unwrap();
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        let (n, from) = srv.recv_from(&mut buf).await.unwrap();
        srv.send_to(&buf[..n], from).await.unwrap();
    });
    cli.send_to(b"ping", sa(B, 5353)).await.unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = cli.recv_from(&mut buf).await.unwrap();
    assert_eq!((&buf[..n], from), (&b"ping"[..], sa(B, 5353)));
    echo.await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn connecting_to_a_closed_port_is_refused() {
    let p = Pair::new();
    let e = TcpStream::connect_on(&p.ha(), sa(B, 5999))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}
