//! The readiness API (`tunstack::socket::Poller`): many non-blocking sockets waited on by
//! one thread, reported when (and only when) they change; stopping the stack wakes every
//! waiter.

mod mem_pair;

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mem_pair::{sa, Pair, B};
use tunstack::socket::{Event, Interest, Poller, TcpListener, TcpStream};

const N: usize = 100;
const LISTENER: usize = usize::MAX;

/// Accepts `n` connections through the poller, registering each (token = its index).
#[track_caller]
fn accept_all(poller: &Poller, l: &TcpListener, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while streams.len() < n {
        assert!(
            Instant::now() < deadline,
            "accepted {} of {n}",
            streams.len()
        );
        poller
            .wait(&mut events, Some(Duration::from_secs(1)))
            .unwrap();
        for e in &events {
            assert_eq!(e.token, LISTENER, "no stream has been sent anything yet");
            loop {
                match l.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(true).unwrap();
                        poller
                            .register(&s, streams.len(), Interest::READABLE)
                            .unwrap();
                        streams.push(s);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("accept: {e}"),
                }
            }
        }
    }
    streams
}

/// Waits until the tokens reported cover `want`; returns every token reported.
#[track_caller]
fn collect(poller: &Poller, want: &BTreeSet<usize>) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut events: Vec<Event> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !want.is_subset(&seen) {
        assert!(Instant::now() < deadline, "saw {seen:?}, want {want:?}");
        poller
            .wait(&mut events, Some(Duration::from_secs(1)))
            .unwrap();
        seen.extend(events.iter().map(|e| e.token));
    }
    seen
}

#[test]
fn one_thread_waits_on_many_sockets_and_hears_only_those_that_changed() {
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 7)).unwrap();
    l.set_nonblocking(true).unwrap();
    let poller = Poller::new(&p.hb());
    poller.register(&l, LISTENER, Interest::READABLE).unwrap();
    let mut clients: Vec<TcpStream> = (0..N)
        .map(|_| TcpStream::connect_on(&p.ha(), sa(B, 7), None).unwrap())
        .collect();
    let streams = accept_all(&poller, &l, N);
    assert_eq!(poller.len(), N + 1);
    // Match each accepted stream to its client by port.
    let port_of = |s: &TcpStream| s.peer_addr().unwrap().port();
    let client_for = |i: usize| {
        clients
            .iter()
            .position(|c| c.local_addr().unwrap().port() == port_of(&streams[i]))
            .unwrap()
    };

    // Nothing sent: nothing reported.
    let mut events = Vec::new();
    assert_eq!(
        poller
            .wait(&mut events, Some(Duration::from_millis(300)))
            .unwrap(),
        0
    );

    let touched: BTreeSet<usize> = [3, 50, 97].into();
    for &i in &touched {
        (&clients[client_for(i)]).write_all(&[i as u8]).unwrap();
    }
    let seen = collect(&poller, &touched);
    assert_eq!(seen, touched, "only the sockets sent to are reported");

    // Level-triggered: still reported until read; then quiet again.
    assert_eq!(
        poller
            .wait(&mut events, Some(Duration::from_secs(1)))
            .unwrap(),
        3
    );
    for &i in &touched {
        let mut b = [0u8; 8];
        assert_eq!((&streams[i]).read(&mut b).unwrap(), 1);
        assert_eq!(b[0], i as u8);
        assert_eq!(
            (&streams[i]).read(&mut b).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    }
    assert_eq!(
        poller
            .wait(&mut events, Some(Duration::from_millis(300)))
            .unwrap(),
        0
    );

    // Writable interest: an established connection with an empty send buffer is ready.
    poller
        .reregister(&streams[10], 10, Interest::WRITABLE)
        .unwrap();
    poller
        .wait(&mut events, Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].token, 10);
    assert!(events[0].ready.writable && !events[0].ready.readable);
    poller
        .reregister(&streams[10], 10, Interest::READABLE)
        .unwrap();

    // A peer that closes: readable, end of stream.
    let c = client_for(20);
    drop(clients.remove(c));
    let seen = collect(&poller, &[20].into());
    assert_eq!(seen, [20].into());
    poller
        .wait(&mut events, Some(Duration::from_secs(1)))
        .unwrap();
    assert!(events[0].ready.readable && events[0].ready.read_closed);
    assert_eq!((&streams[20]).read(&mut [0u8; 4]).unwrap(), 0);
    poller.deregister(20);
}

#[test]
fn stopping_the_stack_wakes_every_waiter() {
    let p = Pair::new();
    let l = TcpListener::bind_on(&p.hb(), sa(B, 9)).unwrap();
    let clients: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect_on(&p.ha(), sa(B, 9), None).unwrap())
        .collect();
    let (done_tx, done_rx) = mpsc::channel();
    let mut threads = Vec::new();
    for i in 0..8 {
        let (s, _) = l.accept().unwrap();
        let done = done_tx.clone();
        let hb = p.hb();
        threads.push(std::thread::spawn(move || {
            let r = if i % 2 == 0 {
                // A poller waiting forever.
                let poller = Poller::new(&hb);
                poller.register(&s, i, Interest::READABLE).unwrap();
                poller.wait(&mut Vec::new(), None).map(drop)
            } else {
                // A blocking read.
                (&s).read(&mut [0u8; 16]).map(drop)
            };
            done.send((i, r.map_err(|e| e.kind()))).unwrap();
        }));
    }
    std::thread::sleep(Duration::from_millis(200));
    let Pair { a, b } = p;
    b.shutdown().unwrap();
    let mut woke = BTreeSet::new();
    for _ in 0..8 {
        let (i, r) = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("every waiter returns once the stack stops");
        assert_eq!(r, Err(ErrorKind::ConnectionAborted), "waiter {i}");
        woke.insert(i);
    }
    assert_eq!(woke.len(), 8);
    for t in threads {
        t.join().unwrap();
    }
    drop(clients);
    drop(a);
}
