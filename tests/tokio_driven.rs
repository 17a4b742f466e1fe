//! `Runtime::spawn_tokio`: the stack driven by a task on a single-threaded tokio runtime,
//! with the applications' tasks on the same thread (what `tunstack up` runs), over an
//! in-memory link: bulk data byte-exact, the blocking API from other threads beside it,
//! the core's deadlines (an impairment's delay) kept by the driver's timer, and shutdown.

mod mem_pair;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mem_pair::{sa, Pair, A, B};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::link::impair::{ImpairConfig, Impaired};
use tunstack::link::{Medium, MemoryLink};
use tunstack::socket::{Runtime, StackHandle};
use tunstack::tokio::{TcpListener, TcpStream};

/// A deterministic, non-repeating-looking pattern.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[track_caller]
fn rt(h: &StackHandle) -> tokio::runtime::Handle {
    h.tokio_runtime()
        .expect("a stack started with spawn_tokio has a tokio runtime")
}

/// An echo server as a task on `h`'s own runtime: every connection echoed until its end.
fn echo_on(h: &StackHandle, port: u16) {
    let l = TcpListener::bind_on(h, sa(B, port)).unwrap();
    rt(h).spawn(async move {
        loop {
            let Ok((mut c, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = tokio::io::split(&mut c);
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
}

#[tokio::test(flavor = "current_thread")]
async fn copy_64_mib_between_tasks_on_the_stacks_own_threads() {
    const LEN: usize = 64 << 20;
    let p = Pair::driven();
    let (ha, hb) = (p.ha(), p.hb());
    let l = TcpListener::bind_on(&hb, sa(B, 6001)).unwrap();
    let server = rt(&hb).spawn(async move {
        let (mut conn, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::V4(A));
        let mut got = Vec::with_capacity(LEN);
        let n = tokio::io::copy(&mut conn, &mut got).await.unwrap();
        (n, got)
    });
    let data = pattern(LEN);
    let sent = data.clone();
    let client = rt(&ha).spawn(async move {
        let mut c = TcpStream::connect_on(&ha, sa(B, 6001)).await.unwrap();
        let n = tokio::io::copy(&mut &sent[..], &mut c).await.unwrap();
        c.shutdown().await.unwrap();
        n
    });
    assert_eq!(client.await.unwrap(), LEN as u64);
    let (n, got) = server.await.unwrap();
    assert_eq!(n, LEN as u64);
    assert!(got == data, "the bytes received differ from the bytes sent");
}

#[test]
fn the_blocking_api_works_beside_a_driven_stack() {
    let p = Pair::driven();
    echo_on(&p.hb(), 6002);
    // Four threads at once, blocking calls on A's stack, each echoed byte-exact by B's
    // tasks.
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let ha = p.ha();
            std::thread::spawn(move || {
                let data = pattern(256 * 1024 + i);
                let mut c = tunstack::TcpStream::connect_on(
                    &ha,
                    sa(B, 6002),
                    Some(Duration::from_secs(10)),
                )
                .unwrap();
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut w = c.try_clone().unwrap();
                let d = data.clone();
                let writer = std::thread::spawn(move || {
                    w.write_all(&d).unwrap();
                    w.shutdown(std::net::Shutdown::Write).unwrap();
                });
                let mut back = Vec::new();
                c.read_to_end(&mut back).unwrap();
                writer.join().unwrap();
                assert!(back == data, "thread {i}: the echo differs");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Frames an impairment holds back are due at a time, not on a descriptor: only the
/// driver's timer brings them in, and an exchange over a link delayed 40 ms each way
/// takes at least the 80 ms round trip.
#[tokio::test(flavor = "current_thread")]
async fn frames_held_by_a_delay_are_delivered_on_time() {
    let (ea, eb) = MemoryLink::pair(Medium::Ip, 1500);
    let delay = ImpairConfig {
        delay: tunstack::time::Duration::from_millis(40),
        ..ImpairConfig::default()
    };
    let ea = Impaired::new(ea, delay.clone(), delay.clone(), 7);
    let p = Pair::with_devices(Box::new(ea), Box::new(eb), |s, d| {
        Runtime::spawn_tokio(s, d).unwrap()
    });
    echo_on(&p.hb(), 6003);
    let ha = p.ha();
    let exchange = rt(&ha).spawn(async move {
        let mut c = TcpStream::connect_on(&ha, sa(B, 6003)).await.unwrap();
        let started = Instant::now();
        c.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        (buf, started.elapsed())
    });
    let (buf, rtt) = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the delayed frames arrive")
        .unwrap();
    assert_eq!(&buf, b"ping");
    assert!(
        rtt >= Duration::from_millis(80),
        "the echo came back in {rtt:?}, under the link's 80 ms round trip"
    );
}

#[test]
fn shutting_a_driven_stack_down_ends_its_tasks_and_wakes_blocked_threads() {
    let p = Pair::driven();
    let hb = p.hb();
    let l = TcpListener::bind_on(&hb, sa(B, 6004)).unwrap();
    let accept = rt(&hb).spawn(async move { l.accept().await.map(drop) });
    // A thread blocked reading on B's stack (B connects to A, which answers nothing).
    let la = tunstack::TcpListener::bind_on(&p.ha(), sa(A, 6005)).unwrap();
    let c =
        tunstack::TcpStream::connect_on(&hb, sa(A, 6005), Some(Duration::from_secs(10))).unwrap();
    let _held = la.accept().unwrap();
    let reader = std::thread::spawn(move || {
        let mut c = c;
        c.read(&mut [0u8; 8]).map(drop)
    });
    std::thread::sleep(Duration::from_millis(100));
    let Pair { a, b } = p;
    let stats = b.shutdown().unwrap();
    assert!(
        stats.get("TcpActiveOpens").is_some_and(|n| n >= 1),
        "the final counters come back"
    );
    let r = reader.join().unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::ConnectionAborted);
    // The accept task went with the runtime (cancelled) or saw the stop; either way it
    // is over.
    let done = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), accept).await });
    match done.expect("the task ends with its stack") {
        Ok(r) => assert_eq!(r.unwrap_err().kind(), ErrorKind::ConnectionAborted),
        Err(e) => assert!(e.is_cancelled()),
    }
    drop(a);
}

/// A blocking call that has to wait, made on the thread that drives the stack, would
/// wait for a turn that cannot come: it panics (the task fails) instead of hanging the
/// stack, and the stack goes on serving.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_wait_on_the_drivers_thread_panics_instead_of_hanging() {
    let p = Pair::driven();
    let hb = p.hb();
    let l = tunstack::TcpListener::bind_on(&hb, sa(B, 6006)).unwrap();
    let _c = TcpStream::connect_on(&p.ha(), sa(B, 6006)).await.unwrap();
    let (s, _) = l.accept().unwrap();
    let task = rt(&hb).spawn(async move {
        let mut s = s;
        // Data already there would be returned at once; none is, so this would wait.
        s.read(&mut [0u8; 8]).map(drop)
    });
    let r = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the blocking call does not hang");
    assert!(r.unwrap_err().is_panic());
    echo_on(&hb, 6007);
    let mut c = TcpStream::connect_on(&p.ha(), sa(B, 6007)).await.unwrap();
    c.write_all(b"still here").await.unwrap();
    let mut buf = [0u8; 10];
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"still here");
}
