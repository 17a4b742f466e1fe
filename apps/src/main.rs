//! The `tunstack` command: bring a stack up over a TUN device, ping and traceroute from
//! inside it.

use std::io::{self, Write};
use std::time::Duration;

use tunstack_apps::cli::{self, Command};
use tunstack_apps::services::{self, Service};
use tunstack_apps::sys;
use tunstack_apps::tools::{ping, traceroute};
use tunstack_apps::up::{bring_up, Running};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tunstack: {e}\n(tunstack help for usage)");
            std::process::exit(2);
        }
    };
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
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(0)
        }
        Command::Up(setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            for svc in [Service::Echo, Service::Discard, Service::Chargen] {
                services::spawn(&handle, std::net::Ipv4Addr::UNSPECIFIED, svc)
                    .map_err(|e| format!("starting {svc:?} on port {}: {e}", svc.port()))?;
            }
            announce(&running);
            while !sys::stop_requested() && running.runtime.is_running() {
                std::thread::sleep(Duration::from_millis(100));
            }
            finish(running)
        }
        Command::Ping(dst, opts, setup, link) => {
            let running = bring_up(&setup, &link).map_err(|e| e.to_string())?;
            let handle = running.runtime.handle();
            let report = ping::ping(&handle, dst, &opts, &mut io::stdout(), sys::stop_requested)
                .map_err(|e| format!("ping: {e}"))?;
            drop(running);
            Ok(if report.received > 0 { 0 } else { 1 })
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
            format!("{} {}{ns} (host {})", i.tun, i.addr, i.host_addr)
        })
        .collect();
    println!(
        "tunstack: up on {}; TCP echo 7, discard 9, chargen 19; Ctrl-C to stop",
        parts.join(", ")
    );
    let _ = io::stdout().flush();
}

/// Stops the runtime and prints the counters, as `nstat` names them.
fn finish(running: Running) -> Result<i32, String> {
    let stats = running
        .shutdown()
        .map_err(|e| format!("runtime stopped: {e}"))?;
    println!("tunstack: stopped; counters:");
    print!("{}", stats.report());
    let _ = io::stdout().flush();
    Ok(0)
}
