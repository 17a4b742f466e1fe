use super::*;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// The error for `s`, as the user reads it, and its exit status.
#[track_caller]
fn error(s: &str) -> (String, i32) {
    match parse(&args(s)) {
        Ok(c) => panic!("{s:?} parsed: {c:?}"),
        Err(e) => (e.render().to_string(), e.exit_code()),
    }
}

#[test]
fn up_with_overrides_and_impairment() {
    let c = parse(&args(
        "up --tun t9 --host-addr 10.9.0.1/16 --addr 10.9.3.3 --loss 5% --delay 20ms --seed 7",
    ));
    let Ok(Command::Up(setup, link, serve)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(setup.ifaces[0].tun, "t9");
    assert_eq!(setup.ifaces[0].stack_cidr().to_string(), "10.9.3.3/16");
    assert!((link.impair.loss - 0.05).abs() < 1e-9);
    assert_eq!(link.impair.delay, tunstack::time::Duration::from_millis(20));
    assert_eq!(link.seed, Some(7));
    assert!(!link.no_offload);
    assert_eq!(link.congestion, None);
    assert_eq!(serve.max_conns, 10_000);
}

#[test]
fn defaults_without_flags() {
    let Ok(Command::Up(setup, link, _)) = parse(&args("up")) else {
        panic!()
    };
    assert_eq!(setup.ifaces, vec![IfaceSpec::default_single()]);
    assert!(!setup.forwarding && setup.routes.is_empty());
    assert!(link.impair.is_noop() && !link.tap && link.pcap.is_none());
}

/// `--writer`: which devices get a writer thread; `auto` unless asked, a wrong value
/// refused with the choices named.
#[test]
fn writer_mode_is_stored() {
    use tunstack::socket::WriterMode;
    let writer = |line: &str| match parse(&args(line)) {
        Ok(Command::Up(_, link, _)) => link.writer,
        c => panic!("{line}: {c:?}"),
    };
    assert_eq!(writer("up"), WriterMode::Auto);
    assert_eq!(writer("up --writer thread"), WriterMode::Thread);
    assert_eq!(
        writer("up --no-offload --writer inline"),
        WriterMode::Inline
    );
    assert_eq!(writer("up --writer auto"), WriterMode::Auto);
    let (e, code) = error("up --writer always");
    assert_eq!(code, 2);
    assert!(
        e.contains("--writer") && e.contains("auto, thread or inline"),
        "{e}"
    );
}

#[test]
fn new_flags_are_stored() {
    let c = parse(&args("up --no-offload --cc RENO --max-conns 3"));
    let Ok(Command::Up(_, link, serve)) = c else {
        panic!("{c:?}")
    };
    assert!(link.no_offload);
    assert_eq!(link.congestion, Some(Algorithm::Reno));
    assert_eq!(serve.max_conns, 3);
    let (e, code) = error("up --cc vegas");
    assert_eq!(code, 2);
    assert!(e.contains("--cc") && e.contains("reno"), "{e}");
    assert!(e.contains("known: reno cubic bbr"), "{e}");
    let c = parse(&args("up --cc bbr"));
    let Ok(Command::Up(_, link, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(link.congestion, Some(Algorithm::Bbr));
}

#[test]
fn ping_flags() {
    let c = parse(&args("ping 10.77.0.1 -c 3 -i 0.2 -s 4000 -t 5"));
    let Ok(Command::Ping(dst, p, _, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(dst, Ipv4Addr::new(10, 77, 0, 1));
    assert_eq!((p.count, p.size, p.ttl), (Some(3), 4000, Some(5)));
    assert_eq!(p.interval, Duration::from_millis(200));
    let (e, code) = error("ping 10.77.0.1 -s 70000");
    assert!(code == 2 && e.contains("-s"), "{e}");
    let (e, _) = error("ping 10.77.0.1 -i soon");
    assert!(e.contains("-i") && e.contains("seconds"), "{e}");
}

#[test]
fn traceroute_flags() {
    let c = parse(&args("traceroute 10.88.0.2 -m 5 -q 1 -w 0.5"));
    let Ok(Command::Traceroute(_, t, _, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!((t.max_hops, t.queries), (5, 1));
    assert_eq!(t.wait, Duration::from_millis(500));
}

#[test]
fn tap_and_mac() {
    let c = parse(&args("up --tap tap7 --mac 02:11:22:33:44:55"));
    let Ok(Command::Up(setup, link, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(setup.ifaces[0].tun, "tap7");
    assert!(link.tap);
    assert_eq!(link.mac.unwrap().to_string(), "02:11:22:33:44:55");
    let c = parse(&args("ping 10.77.0.9 --tap tap7"));
    let Ok(Command::Ping(_, _, _, link)) = c else {
        panic!("{c:?}")
    };
    assert!(link.tap && link.mac.is_none());
    let (e, code) = error("up --mac 02:00:00:00:00:01");
    assert!(code == 2 && e.contains("--tap"), "{e}");
    let (e, _) = error("up --tap t --mac 03:00:00:00:00:01");
    assert!(e.contains("--mac") && e.contains("multicast"), "{e}");
    let (e, _) = error("up --tap t --mac 02:00:00");
    assert!(e.contains("not an Ethernet address"), "{e}");
}

#[test]
fn gateway_adds_a_default_route() {
    let c = parse(&args("traceroute 10.88.0.2 --gateway 10.77.0.1"));
    let Ok(Command::Traceroute(_, _, setup, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(setup.routes.len(), 1);
    assert_eq!(setup.routes[0].dest.prefix_len(), 0);
    assert_eq!(setup.routes[0].via, Ipv4Addr::new(10, 77, 0, 1));
}

#[test]
fn resolve_and_get_arguments() {
    let c = parse(&args("resolve www.tunstack.test @10.77.0.2 MX --netns n1"));
    let Ok(Command::Resolve(r, setup, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(r.name.to_string(), "www.tunstack.test.");
    assert_eq!(r.rtype, crate::dns::RType::MX);
    assert_eq!(r.server, Some("10.77.0.2:53".parse().unwrap()));
    assert_eq!(setup.ifaces[0].netns.as_deref(), Some("n1"));
    let c = parse(&args("get http://www.tunstack.test/ -o /tmp/x @10.77.0.2"));
    let Ok(Command::Get(g, _, _)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(g.url, "http://www.tunstack.test/");
    assert_eq!(g.output.as_deref(), Some(std::path::Path::new("/tmp/x")));
    assert_eq!(g.server, Some("10.77.0.2:53".parse().unwrap()));
    let Ok(Command::Get(g, _, _)) = parse(&args("get @10.77.0.1:5353 http://x.test/")) else {
        panic!()
    };
    assert_eq!(g.url, "http://x.test/");
    assert_eq!(g.server, Some("10.77.0.1:5353".parse().unwrap()));
    let c = parse(&args("up --www /srv --zone a.zone --zone b.zone"));
    let Ok(Command::Up(_, _, serve)) = c else {
        panic!("{c:?}")
    };
    assert_eq!(serve.zones.len(), 2);
    let (e, code) = error("get");
    assert!(code == 2 && e.contains("URL"), "{e}");
    let (e, code) = error("resolve");
    assert!(code == 2 && e.contains("NAME"), "{e}");
}

/// Every bad value is refused before anything is opened, exit status 2, naming the flag
/// and saying what a valid value looks like.
#[test]
fn bad_values_name_the_flag() {
    for (line, flag, hint) in [
        ("up --loss banana", "--loss", "5%"),
        ("up --loss 150%", "--loss", "5%"),
        ("up --mtu 50", "--mtu", "68..=65535"),
        ("up --mtu 70000", "--mtu", "68..=65535"),
        ("up --delay 20", "--delay", "20ms"),
        ("up --rate fast", "--rate", "10mbit"),
        ("up --addr 10.77.0.999", "--addr", "10.77.0.2"),
        ("up --host-addr 10.77.0.1/40", "--host-addr", "10.77.0.1/24"),
        ("up --seed x", "--seed", ""),
        (
            "up --config /nonexistent/router.conf",
            "--config",
            "router.conf",
        ),
        ("ping 10.77.0.1 -c many", "-c", ""),
        ("traceroute 10.77.0.1 -m 300", "-m", ""),
        ("resolve x.test -n 0", "-n", ""),
        ("resolve -x nope", "-x", "10.77.0.2"),
    ] {
        let (e, code) = error(line);
        assert_eq!(code, 2, "{line}: {e}");
        assert!(e.contains(flag) && e.contains(hint), "{line}: {e}");
    }
}

#[test]
fn errors_name_the_problem() {
    let (e, code) = error("up --addr 10.78.0.2");
    assert!(code == 2 && e.contains("must be another address"), "{e}");
    let (e, code) = error("ping");
    assert!(code == 2 && e.contains("HOST"), "{e}");
    let (e, _) = error("ping 10.77.0.1 --bogus");
    assert!(e.contains("--bogus"), "{e}");
    let (e, _) = error("up -c 3");
    assert!(e.contains("-c"), "{e}");
    let (e, _) = error("frobnicate");
    assert!(e.contains("frobnicate"), "{e}");
    let (e, _) = error("up --tun a --tap b");
    assert!(e.contains("--tap") && e.contains("--tun"), "{e}");
}

#[test]
fn help_and_version_exit_zero() {
    for line in [
        "",
        "help",
        "--help",
        "up --help",
        "get -h",
        "help ping",
        "--version",
    ] {
        let (text, code) = error(line);
        assert_eq!(code, 0, "{line:?}: {text}");
        assert!(
            text.contains("tunstack") || text.contains("Usage"),
            "{text}"
        );
    }
    let (text, _) = error("up --help");
    for flag in [
        "--www",
        "--max-conns",
        "--loss",
        "--no-offload",
        "--writer",
        "--cc",
    ] {
        assert!(text.contains(flag), "{flag} missing from:\n{text}");
    }
    assert!(
        text.contains("reno, cubic, bbr"),
        "--cc help lists the algorithms:\n{text}"
    );
}

#[test]
fn completions_name_every_subcommand() {
    let Ok(Command::Completions(shell)) = parse(&args("completions bash")) else {
        panic!()
    };
    let mut out = Vec::new();
    completions(shell, &mut out);
    let script = String::from_utf8(out).unwrap();
    for word in [
        "up",
        "resolve",
        "get",
        "ping",
        "traceroute",
        "--loss",
        "--mtu",
    ] {
        assert!(script.contains(word), "{word}");
    }
    for shell in ["zsh", "fish"] {
        assert!(parse(&args(&format!("completions {shell}"))).is_ok());
    }
    let (e, code) = error("completions tcsh");
    assert!(code == 2 && e.contains("bash"), "{e}");
}
