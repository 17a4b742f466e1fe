//! Command-line parsing for `tunstack`, on `clap` (derive): one subcommand per command,
//! each with `--help`; values are checked as they are parsed, and a bad one is an error
//! that names the flag and says what a valid value looks like (exit status 2).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use tunstack::iface::Ipv4Cidr;
use tunstack::link::impair::{parse_duration, parse_percent, parse_rate, ImpairConfig};
use tunstack::tcp::congestion::Algorithm;
use tunstack::wire::EthernetAddress;

use crate::config::{parse_config, IfaceSpec, RouteSpec, Setup};
use crate::dns::cmd::{ResolveArgs, ResolveCli};
use crate::tools::ping::PingOptions;
use crate::tools::traceroute::TracerouteOptions;
use crate::up::LinkOptions;

/// `tunstack`: the command line as clap sees it.
#[derive(Debug, Parser)]
#[command(
    name = "tunstack",
    version,
    about = "a TCP/IP stack in user space over a TUN or TAP device",
    after_help = "The design map of the stack is docs/DESIGN.md in the repository."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the stack until Ctrl-C (HTTP on 80, DNS on 53, TCP echo 7, discard 9,
    /// chargen 19), then print counters.
    Up(UpCli),
    /// Look a name up through the stack, printing the answer as dig does.
    Resolve(ResolveCmd),
    /// Fetch a URL over HTTP/1.1 through the stack.
    Get(GetCli),
    /// Send ICMP echo requests from the stack.
    Ping(PingCli),
    /// Trace the route to a host from the stack (UDP probes).
    Traceroute(TracerouteCli),
    /// Show a running stack's TCP connections as `ss -ti` does (from its
    /// /_stack/connections, over HTTP through the kernel; needs no TUN device).
    Ss(WatchCli),
    /// Show a running stack's counters as `nstat` does (from its /_stack/stats); with -d,
    /// what changed every SECS seconds.
    Stats(StatsCli),
    /// Draw a saved connection trace (from `up --trace DIR`) as SVG: seq.svg
    /// (time-sequence), cwnd.svg, rtt.svg.
    Plot {
        /// The trace file (JSON lines, docs/TRACE.md).
        #[arg(value_name = "TRACE.jsonl")]
        trace: PathBuf,
        /// Write the SVG files into DIR (created if missing).
        #[arg(short = 'o', value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Print a shell completion script to standard output.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Link options: the device, addresses, impairment and capture (every command that
/// brings a stack up takes them).
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Link options")]
pub struct LinkArgs {
    /// TUN device name [default: tunstack0].
    #[arg(long, value_name = "NAME", conflicts_with = "tap")]
    pub tun: Option<String>,
    /// A TAP device instead: Ethernet, with ARP.
    #[arg(long, value_name = "NAME")]
    pub tap: Option<String>,
    /// The stack's Ethernet address on TAP [default: random, locally administered].
    #[arg(long, value_name = "MAC", requires = "tap", value_parser = mac)]
    pub mac: Option<EthernetAddress>,
    /// Kernel side of the link [default: 10.77.0.1/24].
    #[arg(long, value_name = "CIDR", value_parser = cidr)]
    pub host_addr: Option<Ipv4Cidr>,
    /// The stack's address [default: 10.77.0.2].
    #[arg(long, value_name = "IP", value_parser = ipv4)]
    pub addr: Option<Ipv4Addr>,
    /// Kernel side's IPv6 address and prefix [default: fd00:77::1/64].
    #[arg(long, value_name = "CIDR", conflicts_with = "no_ipv6")]
    pub host_addr6: Option<tunstack::iface::Ipv6Cidr>,
    /// The stack's IPv6 address [default: fd00:77::2].
    #[arg(long, value_name = "IP", conflicts_with = "no_ipv6")]
    pub addr6: Option<std::net::Ipv6Addr>,
    /// No IPv6 on the link (a link under IPv6's 1280-byte minimum MTU needs it).
    #[arg(long)]
    pub no_ipv6: bool,
    /// Link MTU, 68..=65535, at least 1280 with IPv6 [default: 1500].
    #[arg(long, value_name = "N", value_parser = mtu)]
    pub mtu: Option<usize>,
    /// The stack's default route: via IP (the kernel side, usually).
    #[arg(long, value_name = "IP", value_parser = ipv4)]
    pub gateway: Option<Ipv4Addr>,
    /// The stack's default IPv6 route: via IP.
    #[arg(long, value_name = "IP")]
    pub gateway6: Option<std::net::Ipv6Addr>,
    /// Create/use network namespace NS for the device.
    #[arg(long, value_name = "NS")]
    pub netns: Option<String>,
    /// Router mode: interfaces, namespaces and routes from FILE.
    #[arg(long, value_name = "FILE", value_parser = config_file)]
    pub config: Option<Setup>,
    /// Forward between interfaces (on by default with --config).
    #[arg(long)]
    pub forward: bool,
    /// Drop P of frames, each direction (e.g. 5% or 0.05).
    #[arg(long, value_name = "P", value_parser = percent)]
    pub loss: Option<f64>,
    /// One-way delay (e.g. 20ms).
    #[arg(long, value_name = "D", value_parser = duration)]
    pub delay: Option<tunstack::time::Duration>,
    /// Spread of the delay (e.g. 5ms).
    #[arg(long, value_name = "D", value_parser = duration)]
    pub jitter: Option<tunstack::time::Duration>,
    /// Reorder P of frames (e.g. 1%).
    #[arg(long, value_name = "P", value_parser = percent)]
    pub reorder: Option<f64>,
    /// Duplicate P of frames (e.g. 1%).
    #[arg(long, value_name = "P", value_parser = percent)]
    pub duplicate: Option<f64>,
    /// Corrupt one byte in P of frames (e.g. 1%).
    #[arg(long, value_name = "P", value_parser = percent)]
    pub corrupt: Option<f64>,
    /// Link rate (e.g. 10mbit).
    #[arg(long, value_name = "R", value_parser = rate)]
    pub rate: Option<u64>,
    /// Fix all randomness (impairment, IP IDs, ports).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Capture what the stack sends and receives (Wireshark opens it).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Open the TUN or TAP device without virtio-net offloads (TSO/checksum); the stack then
    /// sends and receives one wire-sized packet per syscall.
    #[arg(long)]
    pub no_offload: bool,
    /// Which devices get a writer thread, so the write system calls (and the kernel's
    /// receive work inside them) overlap the stack's work on another core: auto (devices
    /// without offloads), thread (every TUN/TAP device), inline (none).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub writer: tunstack::socket::WriterMode,
    /// TCP congestion control algorithm.
    #[arg(long = "cc", value_name = "NAME", value_parser = algorithm,
          help = algorithm_help())]
    pub congestion: Option<Algorithm>,
}

/// `tunstack up`'s own flags.
#[derive(Clone, Debug, Args)]
pub struct UpCli {
    /// Serve files from DIR over HTTP [default: a built-in index page].
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// An extra DNS zone file, served beside the default tunstack.test (repeatable).
    #[arg(long, value_name = "FILE")]
    pub zone: Vec<PathBuf>,
    /// Most connections each server holds at once; more are refused (HTTP 503 with
    /// Retry-After; other services reset them).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_conns: usize,
    /// Trace every TCP connection and write one JSON-lines file per connection into DIR
    /// (conn-ID.jsonl, docs/TRACE.md) as it goes and when the stack stops.
    #[arg(long, value_name = "DIR")]
    pub trace: Option<PathBuf>,
    /// Events kept per connection for its trace and live plots, about 56 bytes each
    /// [default: 16384 with --trace, else 0: no tracing].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub trace_events: Option<u32>,
    #[command(flatten)]
    link: LinkArgs,
}

/// `tunstack resolve`.
#[derive(Clone, Debug, Args)]
pub struct ResolveCmd {
    #[command(flatten)]
    query: ResolveCli,
    #[command(flatten)]
    link: LinkArgs,
}

/// `tunstack get`.
#[derive(Clone, Debug, Args)]
pub struct GetCli {
    /// The URL (http://HOST[:PORT]/PATH; HOST a name or an IPv4 address).
    #[arg(value_name = "URL")]
    url: String,
    /// The DNS server for names in the URL [default: the kernel side's address].
    #[arg(value_name = "@SERVER[:PORT]")]
    server: Option<String>,
    /// Write the body to FILE [default: standard output].
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    link: LinkArgs,
}

/// `tunstack ping`.
#[derive(Clone, Debug, Args)]
pub struct PingCli {
    /// The IPv4 or IPv6 address to ping.
    #[arg(value_name = "HOST", value_parser = ip)]
    host: std::net::IpAddr,
    /// Stop after N requests [default: until Ctrl-C].
    #[arg(short = 'c', value_name = "N")]
    count: Option<u32>,
    /// Seconds between requests [default: 1].
    #[arg(short = 'i', value_name = "SECS", value_parser = secs)]
    interval: Option<Duration>,
    /// Data bytes per request, at most 65507 [default: 56].
    #[arg(short = 's', value_name = "SIZE", value_parser = clap::value_parser!(u16).range(0..=65_507))]
    size: Option<u16>,
    /// TTL of the requests [default: 64].
    #[arg(short = 't', value_name = "TTL")]
    ttl: Option<u8>,
    /// Seconds to wait for each reply [default: 1].
    #[arg(short = 'W', value_name = "SECS", value_parser = secs)]
    timeout: Option<Duration>,
    #[command(flatten)]
    link: LinkArgs,
}

/// `tunstack traceroute`.
#[derive(Clone, Debug, Args)]
pub struct TracerouteCli {
    /// The IPv4 or IPv6 address to trace the route to.
    #[arg(value_name = "HOST", value_parser = ip)]
    host: std::net::IpAddr,
    /// The largest TTL tried [default: 30].
    #[arg(short = 'm', value_name = "HOPS")]
    max_hops: Option<u8>,
    /// Probes per hop [default: 3].
    #[arg(short = 'q', value_name = "N")]
    queries: Option<u8>,
    /// Seconds to wait for each probe's answer [default: 2].
    #[arg(short = 'w', value_name = "SECS", value_parser = secs)]
    wait: Option<Duration>,
    #[command(flatten)]
    link: LinkArgs,
}

/// Which running stack `ss` and `stats` ask.
#[derive(Clone, Debug, Args)]
pub struct WatchCli {
    /// The stack's web server, IP or IP:PORT [default: 10.77.0.2:80].
    #[arg(value_name = "ADDR", value_parser = crate::watch::parse_addr)]
    addr: Option<std::net::SocketAddr>,
    /// Connect from inside network namespace NS (where `tunstack up --netns NS` runs).
    #[arg(long, value_name = "NS")]
    netns: Option<String>,
}

impl WatchCli {
    fn target(self) -> crate::watch::Target {
        let d = crate::watch::Target::default();
        crate::watch::Target {
            addr: self.addr.unwrap_or(d.addr),
            netns: self.netns,
        }
    }
}

/// `tunstack stats`.
#[derive(Clone, Debug, Args)]
pub struct StatsCli {
    #[command(flatten)]
    target: WatchCli,
    /// Print what changed every SECS seconds (with the rate per second) instead of the
    /// totals.
    #[arg(short = 'd', value_name = "SECS", value_parser = interval)]
    interval: Option<Duration>,
    /// Stop after COUNT reports of -d [default: until Ctrl-C].
    #[arg(short = 'c', value_name = "COUNT", requires = "interval",
          value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Show counters that are zero (or did not change) too.
    #[arg(short = 'z', long)]
    zeros: bool,
}

/// What `tunstack stats` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsOptions {
    /// `-d`: deltas over this interval; `None`: the totals, once.
    pub interval: Option<Duration>,
    /// `-c`: how many delta reports (`None`: until stopped).
    pub count: Option<u64>,
    /// `-z`: show zeros.
    pub zeros: bool,
}

/// A parsed command line, checked, in the form the commands take.
#[derive(Debug)]
pub enum Command {
    /// `tunstack up`.
    Up(Setup, LinkOptions, Serve),
    /// `tunstack ping`.
    Ping(Ipv4Addr, PingOptions, Setup, LinkOptions),
    /// `tunstack ping` to an IPv6 address.
    Ping6(std::net::Ipv6Addr, PingOptions, Setup, LinkOptions),
    /// `tunstack traceroute` to an IPv6 address.
    Traceroute6(std::net::Ipv6Addr, TracerouteOptions, Setup, LinkOptions),
    /// `tunstack traceroute`.
    Traceroute(Ipv4Addr, TracerouteOptions, Setup, LinkOptions),
    /// `tunstack resolve`.
    Resolve(ResolveArgs, Setup, LinkOptions),
    /// `tunstack get URL [-o FILE] [@SERVER]`.
    Get(GetArgs, Setup, LinkOptions),
    /// `tunstack ss [ADDR]`.
    Ss(crate::watch::Target),
    /// `tunstack stats [ADDR] [-d SECS]`.
    Stats(crate::watch::Target, StatsOptions),
    /// `tunstack plot TRACE -o DIR`.
    Plot(PathBuf, PathBuf),
    /// `tunstack completions SHELL`.
    Completions(clap_complete::Shell),
}

/// What `tunstack up` serves.
#[derive(Clone, Debug)]
pub struct Serve {
    /// The web root (`--www`); without one, the built-in index page.
    pub www: Option<PathBuf>,
    /// Extra zone files (`--zone`), served beside the default `tunstack.test`.
    pub zones: Vec<PathBuf>,
    /// The most connections each server holds at once (`--max-conns`).
    pub max_conns: usize,
    /// Where connection traces go (`--trace`).
    pub trace: Option<PathBuf>,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            www: None,
            zones: Vec::new(),
            max_conns: 10_000,
            trace: None,
        }
    }
}

/// What `tunstack get` was asked.
#[derive(Clone, Debug, Default)]
pub struct GetArgs {
    /// The URL.
    pub url: String,
    /// Where to write the body (`-o`); standard output otherwise.
    pub output: Option<PathBuf>,
    /// The DNS server for names in the URL (`@SERVER`); the kernel side's address
    /// otherwise.
    pub server: Option<std::net::SocketAddr>,
}

/// An error in the command line, formatted by clap with the usage (exit status 2).
pub fn usage_error(msg: impl std::fmt::Display) -> clap::Error {
    Cli::command().error(ErrorKind::ValueValidation, msg)
}

impl LinkArgs {
    /// The setup and link options these flags ask for, with the checks that span flags.
    pub fn into_parts(self) -> Result<(Setup, LinkOptions), clap::Error> {
        let mut single = IfaceSpec::default_single();
        if let Some(n) = self.tun {
            single.tun = n;
        }
        if let Some(n) = &self.tap {
            single.tun = n.clone();
        }
        if let Some(a) = self.host_addr {
            single.host_addr = a;
        }
        if let Some(a) = self.addr {
            single.addr = a;
        }
        if let Some(m) = self.mtu {
            single.mtu = m;
        }
        if let Some(a) = self.host_addr6 {
            single.host_addr6 = Some(a);
        }
        if let Some(a) = self.addr6 {
            single.addr6 = Some(a);
        }
        if self.no_ipv6 {
            (single.host_addr6, single.addr6) = (None, None);
        }
        single.netns = self.netns;
        let mut impair = ImpairConfig::default();
        let set = |field: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut impair.loss, self.loss);
        set(&mut impair.reorder, self.reorder);
        set(&mut impair.duplicate, self.duplicate);
        set(&mut impair.corrupt, self.corrupt);
        if let Some(d) = self.delay {
            impair.delay = d;
        }
        if let Some(d) = self.jitter {
            impair.jitter = d;
        }
        impair.rate_bps = self.rate.or(impair.rate_bps);
        let link = LinkOptions {
            impair,
            seed: self.seed,
            pcap: self.pcap,
            tap: self.tap.is_some(),
            mac: self.mac,
            no_offload: self.no_offload,
            writer: self.writer,
            congestion: self.congestion,
            trace_events: 0,
        };
        let mut setup = match self.config {
            Some(_) if link.tap => {
                return Err(usage_error(
                    "--tap: router configs (--config) are TUN only for now",
                ));
            }
            Some(mut s) => {
                s.forwarding |= self.forward;
                s
            }
            None => {
                // RFC 8200 5: every IPv6 link carries 1280-octet packets.
                if single.addr6.is_some() && single.mtu < 1280 {
                    return Err(usage_error(format!(
                        "--mtu {} is below IPv6's minimum of 1280 (add --no-ipv6)",
                        single.mtu
                    )));
                }
                single.check_ipv6().map_err(usage_error)?;
                if !single.host_addr.contains(single.addr)
                    || single.host_addr.address() == single.addr
                {
                    return Err(usage_error(format!(
                        "--addr {} must be another address in {} (--host-addr)",
                        single.addr,
                        single.host_addr.network()
                    )));
                }
                Setup {
                    ifaces: vec![single],
                    routes: Vec::new(),
                    routes6: Vec::new(),
                    forwarding: self.forward,
                }
            }
        };
        if let Some(via) = self.gateway {
            let dest = Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).expect("valid");
            setup.routes.push(RouteSpec { dest, via });
        }
        if let Some(via) = self.gateway6 {
            let dest = "::/0".parse().expect("valid");
            setup.routes6.push(crate::config::Route6Spec { dest, via });
        }
        Ok((setup, link))
    }
}

/// Parses the arguments after the program name. No arguments at all shows the help.
/// `--help` and `--version` come back as clap errors whose `exit()` prints them and
/// exits 0.
pub fn parse(args: &[String]) -> Result<Command, clap::Error> {
    let argv = std::iter::once("tunstack".to_string()).chain(if args.is_empty() {
        vec!["help".to_string()]
    } else {
        args.to_vec()
    });
    let cli = Cli::try_parse_from(argv)?;
    Ok(match cli.command {
        Cmd::Up(u) => {
            let (setup, mut link) = u.link.into_parts()?;
            // A connection moving a few hundred Mbit/s under loss records several thousand
            // events between the writer's turns (100 ms, later on a loaded machine).
            let default_events = if u.trace.is_some() { 16_384 } else { 0 };
            link.trace_events = u.trace_events.map_or(default_events, |n| n as usize);
            let serve = Serve {
                www: u.www,
                zones: u.zone,
                max_conns: u.max_conns,
                trace: u.trace,
            };
            Command::Up(setup, link, serve)
        }
        Cmd::Resolve(r) => {
            let args = r.query.into_args().map_err(usage_error)?;
            let (setup, link) = r.link.into_parts()?;
            Command::Resolve(args, setup, link)
        }
        Cmd::Get(g) => {
            let (mut url, mut server) = (g.url, g.server);
            // `get @SERVER URL` works as well as `get URL @SERVER`.
            if url.starts_with('@') {
                if let Some(s) = server.take() {
                    server = Some(std::mem::replace(&mut url, s));
                }
            }
            let server = server.map(|s| get_server(&s)).transpose()?;
            let (setup, link) = g.link.into_parts()?;
            let get = GetArgs {
                url,
                output: g.output,
                server,
            };
            Command::Get(get, setup, link)
        }
        Cmd::Ping(p) => {
            let d = PingOptions::default();
            let opts = PingOptions {
                count: p.count,
                interval: p.interval.unwrap_or(d.interval),
                size: p.size.map_or(d.size, usize::from),
                ttl: p.ttl,
                timeout: p.timeout.unwrap_or(d.timeout),
            };
            let (setup, link) = p.link.into_parts()?;
            match p.host {
                std::net::IpAddr::V4(a) => Command::Ping(a, opts, setup, link),
                std::net::IpAddr::V6(a) => Command::Ping6(a, opts, setup, link),
            }
        }
        Cmd::Traceroute(t) => {
            let d = TracerouteOptions::default();
            let opts = TracerouteOptions {
                max_hops: t.max_hops.unwrap_or(d.max_hops),
                queries: t.queries.unwrap_or(d.queries),
                wait: t.wait.unwrap_or(d.wait),
            };
            let (setup, link) = t.link.into_parts()?;
            match t.host {
                std::net::IpAddr::V4(a) => Command::Traceroute(a, opts, setup, link),
                std::net::IpAddr::V6(a) => Command::Traceroute6(a, opts, setup, link),
            }
        }
        Cmd::Ss(w) => Command::Ss(w.target()),
        Cmd::Stats(s) => Command::Stats(
            s.target.target(),
            StatsOptions {
                interval: s.interval,
                count: s.count,
                zeros: s.zeros,
            },
        ),
        Cmd::Plot { trace, out } => Command::Plot(trace, out),
        Cmd::Completions { shell } => Command::Completions(shell),
    })
}

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "tunstack", out);
}

fn get_server(word: &str) -> Result<std::net::SocketAddr, clap::Error> {
    let s = word.strip_prefix('@').ok_or_else(|| {
        usage_error(format!(
            "unexpected argument {word:?}; a DNS server is given as @IP or @IP:PORT"
        ))
    })?;
    s.parse::<std::net::SocketAddr>()
        .or_else(|_| s.parse::<Ipv4Addr>().map(|ip| (ip, 53).into()))
        .map_err(|_| {
            usage_error(format!(
                "not a server address: {word} (expected @IP or @IP:PORT, e.g. @10.77.0.1)"
            ))
        })
}

// Value parsers: each error says what a valid value looks like; clap adds the flag.

fn ip(s: &str) -> Result<std::net::IpAddr, String> {
    s.parse()
        .map_err(|_| "expected an IPv4 or IPv6 address like 10.77.0.2 or fd00:77::2".to_string())
}

fn ipv4(s: &str) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| "expected an IPv4 address like 10.77.0.2".to_string())
}

fn cidr(s: &str) -> Result<Ipv4Cidr, String> {
    s.parse()
        .map_err(|e: tunstack::iface::route::ParseCidrError| e.to_string())
}

fn mac(s: &str) -> Result<EthernetAddress, String> {
    let mac: EthernetAddress = s
        .parse()
        .map_err(|_| "not an Ethernet address; expected six hex pairs like 02:00:5e:00:00:02")?;
    if !mac.is_unicast() {
        return Err("a multicast address; the stack's own address must be unicast (first byte even, e.g. 02:...)".into());
    }
    Ok(mac)
}

/// RFC 791: every IPv4 link carries 68-octet datagrams; a TUN device takes at most
/// 65535.
fn mtu(s: &str) -> Result<usize, String> {
    let range = "expected an MTU in 68..=65535 (IPv4's minimum to the largest IP datagram)";
    match s.parse::<usize>() {
        Ok(m) if (68..=65_535).contains(&m) => Ok(m),
        _ => Err(range.into()),
    }
}

fn percent(s: &str) -> Result<f64, String> {
    parse_percent(s)
        .map_err(|e| format!("{e}; expected a percentage like 5% or a fraction like 0.05"))
}

fn duration(s: &str) -> Result<tunstack::time::Duration, String> {
    parse_duration(s).map_err(|e| format!("{e}; expected a duration like 20ms, 1.5s or 250us"))
}

fn rate(s: &str) -> Result<u64, String> {
    parse_rate(s).map_err(|e| format!("{e}; expected a rate like 10mbit, 500kbit or 1mbps"))
}

fn secs(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=3600.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err("expected a number of seconds from 0 to 3600, like 0.2".into()),
    }
}

fn interval(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err("expected a number of seconds above 0 and at most 3600, like 1 or 0.5".into()),
    }
}

fn algorithm(s: &str) -> Result<Algorithm, String> {
    s.parse()
        .map_err(|e: tunstack::tcp::congestion::UnknownAlgorithm| e.to_string())
}

fn algorithm_help() -> String {
    let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    format!(
        "TCP congestion control: {} [default: {}]",
        names.join(", "),
        Algorithm::default()
    )
}

fn config_file(path: &str) -> Result<Setup, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    parse_config(&text).map_err(|e| format!("{path}: {e}"))
}

#[cfg(test)]
mod tests;
