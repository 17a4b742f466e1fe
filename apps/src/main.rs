//! The `tunstack` command: bring a stack up over a TUN device, ping and traceroute from
//! inside it.

use std::io::{self, Write};
use std::time::Duration;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tunstack::socket::StackHandle;
use tunstack_apps::cli::{self, Command, Serve};
use tunstack_apps::dns::resolver::Resolver;
use tunstack_apps::services::{self, Service};
use tunstack_apps::sys;
use tunstack_apps::tools::{ping, traceroute};
use tunstack_apps::up::{bring_up, Running};
use tunstack_apps::{dns, http, watch};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Bad arguments exit 2 with clap's message; --help and --version exit 0.
    let cmd = cli::parse(&args).unwrap_or_else(|e| e.exit());
    sys::catch_stop_signals();
    let code = match run(cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tunstack: {e}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cmd: Command) -> Result<i32, String> {
    match cmd {
        Command::Ss(target) => {
            let rows = watch::connections(&target)?;
            watch::print_ss(&rows, &mut io::stdout()).map_err(|e| e.to_string())?;
            Ok(0)
        }
        Command::Stats(target, opts) => stats(&target, &opts),
        Command::Plot(trace, out) => {
            let lines = watch::trace::read(&trace)?;
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            for (name, svg) in watch::plot::all(&lines) {
                let p = out.join(name);
                std::fs::write(&p, svg).map_err(|e| format!("{}: {e}", p.display()))?;
                println!("{}", p.display());
            }
            Ok(0)
        }
        Command::Completions(shell) => {
            cli::completions(shell, &mut io::stdout());
            Ok(0)
        }
        Command::Up(setup, link, serve) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            let svc_cfg = services::ServiceConfig {
                max_conns: serve.max_conns,
                ..services::ServiceConfig::default()
            };
            for svc in [Service::Echo, Service::Discard, Service::Chargen] {
                // `::` takes both families (dual-stack, as Linux's bindv6only=0).
                services::spawn(&handle, Ipv6Addr::UNSPECIFIED, svc, &svc_cfg)
                    .map_err(|e| format!("starting {svc:?} on port {}: {e}", svc.port()))?;
            }
            let dns = start_dns(&handle, &running, &serve)?;
            start_http(&handle, &serve)?;
            let mut traces = match &serve.trace {
                Some(dir) => Some(
                    watch::trace::TraceWriter::new(dir)
                        .map_err(|e| format!("--trace {}: {e}", dir.display()))?,
                ),
                None => None,
            };
            announce(&running);
            while !sys::stop_requested() && running.runtime.is_running() {
                std::thread::sleep(Duration::from_millis(100));
                if let Some(w) = traces.as_mut() {
                    let chunks = handle.with(|s, _| s.tcp_take_traces());
                    w.write(&chunks).map_err(|e| format!("--trace: {e}"))?;
                }
            }
            if let Some(w) = traces.as_mut() {
                // The connections still there when the stack stops.
                let chunks = handle.with(|s, _| s.tcp_take_traces());
                w.write(&chunks)
                    .and_then(|()| w.finish())
                    .map_err(|e| format!("--trace: {e}"))?;
            }
            let code = finish(running)?;
            print!("{}", dns.stats());
            Ok(code)
        }
        Command::Resolve(args, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            let mut resolver = resolver_on(&handle, &running, args.server)?;
            let r = dns::cmd::resolve_cmd(&mut resolver, &args, &mut io::stdout());
            drop(running);
            Ok(if r.is_ok() { 0 } else { 1 })
        }
        Command::Get(get, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            let resolver = std::sync::Mutex::new(resolver_on(&handle, &running, get.server)?);
            let h = handle.clone();
            let fetched = http::client::get_cmd(&get.url, get.output.as_deref(), |host, port| {
                // An address literal of either family (`http://[fd00:77::1]:8080/`), or
                // a name: its A record, else its AAAA.
                let ip = match host.parse::<IpAddr>() {
                    Ok(ip) => ip,
                    Err(_) => resolve_addr(
                        &mut resolver.lock().unwrap_or_else(|e| e.into_inner()),
                        host,
                    )?,
                };
                tunstack::TcpStream::connect_on(&h, (ip, port), Some(Duration::from_secs(10)))
            });
            drop(running);
            match fetched {
                Ok(_) => Ok(0),
                Err(e) => Err(format!("get: {e}")),
            }
        }
        Command::Ping(dst, opts, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            let report = ping::ping(&handle, dst, &opts, &mut io::stdout(), sys::stop_requested)
                .map_err(|e| format!("ping: {e}"))?;
            drop(running);
            Ok(if report.received > 0 { 0 } else { 1 })
        }
        Command::Ping6(dst, opts, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            let report = ping::ping6(&handle, dst, &opts, &mut io::stdout(), sys::stop_requested)
                .map_err(|e| format!("ping: {e}"))?;
            drop(running);
            Ok(if report.received > 0 { 0 } else { 1 })
        }
        Command::Traceroute6(dst, opts, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            traceroute::traceroute6(&handle, dst, &opts, &mut io::stdout(), sys::stop_requested)
                .map_err(|e| format!("traceroute: {e}"))?;
            drop(running);
            Ok(0)
        }
        Command::Traceroute(dst, opts, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            traceroute::traceroute(&handle, dst, &opts, &mut io::stdout(), sys::stop_requested)
                .map_err(|e| format!("traceroute: {e}"))?;
            drop(running);
            Ok(0)
        }
    }
}

/// `tunstack stats`: the totals once, or with `-d` what changed every interval.
fn stats(target: &watch::Target, opts: &cli::StatsOptions) -> Result<i32, String> {
    let mut out = io::stdout();
    let mut before = watch::counters(target)?;
    let Some(every) = opts.interval else {
        watch::print_counters(&before, None, opts.zeros, &mut out).map_err(|e| e.to_string())?;
        return Ok(0);
    };
    let mut reports = 0;
    while opts.count.is_none_or(|c| reports < c) {
        let started = std::time::Instant::now();
        while started.elapsed() < every {
            if sys::stop_requested() {
                return Ok(0);
            }
            std::thread::sleep(
                (every - started.elapsed().min(every)).min(Duration::from_millis(100)),
            );
        }
        let now = watch::counters(target)?;
        let secs = started.elapsed().as_secs_f64();
        writeln!(out, "#tunstack {} over {secs:.1} s", target.addr).map_err(|e| e.to_string())?;
        watch::print_counters(
            &watch::deltas(&before, &now),
            Some(secs),
            opts.zeros,
            &mut out,
        )
        .map_err(|e| e.to_string())?;
        let _ = out.flush();
        before = now;
        reports += 1;
    }
    Ok(0)
}

/// The authoritative DNS server on port 53 (UDP and TCP): the default zone
/// `tunstack.test`, reverse zones for the stack's addresses, and `--zone` files.
fn start_dns(
    handle: &StackHandle,
    running: &Running,
    serve: &Serve,
) -> Result<Arc<dns::server::Server>, String> {
    let own: Vec<Ipv4Addr> = running.ifaces.iter().map(|i| i.addr).collect();
    let addr6 = running.ifaces.first().and_then(|i| i.addr6);
    let mut zones = dns::zone::default_zones_with(own[0], addr6, &own);
    for path in &serve.zones {
        zones.push(dns::zone::Zone::load(path, None).map_err(|e| format!("--zone: {e}"))?);
    }
    let server = Arc::new(dns::server::Server::new(
        dns::server::Catalog::new(zones),
        dns::server::ServerConfig {
            max_tcp_connections: serve.max_conns,
            ..dns::server::ServerConfig::default()
        },
    ));
    let any53 = (Ipv6Addr::UNSPECIFIED, 53);
    let udp =
        tunstack::UdpSocket::bind_on(handle, any53).map_err(|e| format!("DNS on UDP 53: {e}"))?;
    let tcp = tunstack::TcpListener::bind_with_backlog(handle, any53, services::ACCEPT_BACKLOG)
        .map_err(|e| format!("DNS on TCP 53: {e}"))?;
    dns::server::spawn(&server, udp, tcp).map_err(|e| format!("starting DNS: {e}"))?;
    Ok(server)
}

/// The stack's counters and connections, for the web server's `/_stack/` pages.
struct Info(StackHandle);

impl http::StackInfo for Info {
    fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut c: Vec<_> = self.0.stats().iter().collect();
        c.push((
            tunstack_apps::aio::CONN_REFUSED_MAX,
            tunstack_apps::aio::conn_refused_max(),
        ));
        c
    }
    fn connections(&self) -> Vec<http::ConnRow> {
        let conns = self.0.with(|s, _| s.tcp_connections());
        conns.iter().map(http::ConnRow::from).collect()
    }
    fn trace(&self, id: u64) -> Option<Vec<watch::trace::TraceLine>> {
        let chunk = self.0.with(|s, _| s.tcp_trace(id))?;
        Some(watch::trace::snapshot(&chunk))
    }
}

/// The web server on port 80.
fn start_http(handle: &StackHandle, serve: &Serve) -> Result<(), String> {
    let cfg = http::Config {
        root: serve.www.clone(),
        max_connections: serve.max_conns,
        ..http::Config::default()
    };
    let server = http::Server::new(cfg)
        .map_err(|e| format!("--www: {e}"))?
        .with_stack_info(Arc::new(Info(handle.clone())));
    let any80 = (Ipv6Addr::UNSPECIFIED, 80);
    let l = tunstack::TcpListener::bind_with_backlog(handle, any80, services::ACCEPT_BACKLOG)
        .map_err(|e| format!("HTTP on 80: {e}"))?;
    Arc::new(server)
        .spawn(l)
        .map_err(|e| format!("starting HTTP: {e}"))?;
    Ok(())
}

type StackResolver = Resolver<tunstack::UdpSocket, tunstack::TcpStream>;

/// A resolver on the stack's sockets, asking `server` (default: the kernel side's
/// address, port 53), with TCP fallback.
fn resolver_on(
    handle: &StackHandle,
    running: &Running,
    server: Option<SocketAddr>,
) -> Result<StackResolver, String> {
    let iface = &running.ifaces[0];
    let server = server.unwrap_or_else(|| SocketAddr::from((iface.host_addr.address(), 53)));
    let sock = tunstack::UdpSocket::bind_on(handle, (iface.addr, 0))
        .map_err(|e| format!("resolver socket: {e}"))?;
    let h = handle.clone();
    Ok(
        Resolver::new(sock, server, tunstack::rand::Rng::from_os()).with_tcp(
            move |a: SocketAddr| {
                tunstack::TcpStream::connect_on(&h, a, Some(Duration::from_secs(5)))
            },
        ),
    )
}

/// The address of `host`: its A record, or if it has none its AAAA record (RFC 3596).
fn resolve_addr(r: &mut StackResolver, host: &str) -> io::Result<IpAddr> {
    let name = dns::Name::parse(host)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    for rtype in [dns::RType::A, dns::RType::AAAA] {
        let answer = r.lookup(&name, rtype)?;
        let found = answer.answers.iter().find_map(|rec| match rec.data {
            dns::rr::RData::A(ip) => Some(IpAddr::V4(ip)),
            dns::rr::RData::Aaaa(ip) => Some(IpAddr::V6(ip)),
            _ => None,
        });
        if let Some(ip) = found {
            return Ok(ip);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("{host}: no address"),
    ))
}

/// The one line that says the stack is ready.
fn announce(r: &Running) {
    let parts: Vec<String> = r
        .ifaces
        .iter()
        .map(|i| {
            let ns = i
                .netns
                .as_ref()
                .map(|n| format!(" in netns {n}"))
                .unwrap_or_default();
            match (i.addr6, i.host_addr6) {
                (Some(a6), Some(h6)) => {
                    format!("{} {} {a6}{ns} (host {} {h6})", i.tun, i.addr, i.host_addr)
                }
                _ => format!("{} {}{ns} (host {})", i.tun, i.addr, i.host_addr),
            }
        })
        .collect();
    let offload = if r.offload { "tso" } else { "off" };
    println!(
        "tunstack: up on {}; offload {offload}; TCP echo 7, discard 9, chargen 19; Ctrl-C to stop",
        parts.join(", ")
    );
    let _ = io::stdout().flush();
}

/// Stops the runtime and prints the counters, as `nstat` names them.
fn finish(running: Running) -> Result<i32, String> {
    let impairments = running.impairments.clone();
    let stats = running
        .shutdown()
        .map_err(|e| format!("runtime stopped: {e}"))?;
    println!("tunstack: stopped; counters:");
    print!("{}", stats.report());
    for i in &impairments {
        print!("{}", i.report());
    }
    let refused = tunstack_apps::aio::conn_refused_max();
    if refused > 0 {
        println!("{:<31} {refused}", tunstack_apps::aio::CONN_REFUSED_MAX);
    }
    let _ = io::stdout().flush();
    Ok(0)
}
