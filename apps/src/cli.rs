//! Command-line parsing for `tunstack`, by hand: a handful of flags does not need a
//! parser crate.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use tunstack::link::impair::{parse_duration, parse_percent, parse_rate};

use crate::config::{parse_config, IfaceSpec, Setup};
use crate::tools::ping::PingOptions;
use crate::tools::traceroute::TracerouteOptions;
use crate::up::LinkOptions;

/// The usage text.
pub const USAGE: &str = "\
tunstack: a TCP/IP stack in user space over a TUN or TAP device

usage:
  tunstack up [--www DIR] [--zone FILE]... [LINK OPTIONS]
                      run the stack until Ctrl-C (HTTP on 80, DNS on 53, TCP echo 7,
                      discard 9, chargen 19), then print counters
  tunstack resolve NAME [@SERVER[:PORT]] [TYPE] [-x ADDR] [-n COUNT] [LINK OPTIONS]
  tunstack get URL [-o FILE] [@SERVER] [LINK OPTIONS]
  tunstack ping HOST [-c N] [-i SECS] [-s SIZE] [-t TTL] [-W SECS] [LINK OPTIONS]
                      (HOST an IPv4 or IPv6 address)
  tunstack traceroute HOST [-m HOPS] [-q N] [-w SECS] [LINK OPTIONS]
                      (HOST an IPv4 or IPv6 address)

link options:
  --tun NAME          TUN device name (default tunstack0)
  --tap NAME          a TAP device instead: Ethernet, with ARP
  --mac MAC           the stack's Ethernet address on TAP (default: random, locally
                      administered)
  --host-addr CIDR    kernel side of the link (default 10.77.0.1/24)
  --addr IP           the stack's address (default 10.77.0.2)
  --host-addr6 CIDR   kernel side's IPv6 address (default fd00:77::1/64)
  --addr6 IP          the stack's IPv6 address (default fd00:77::2)
  --no-ipv6           no IPv6 on the link
  --mtu N             link MTU (default 1500)
  --gateway IP        the stack's default route: via IP (the kernel side, usually)
  --gateway6 IP       the stack's default IPv6 route: via IP
  --netns NS          create/use network namespace NS for the device
  --config FILE       router mode: interfaces, namespaces and routes from FILE
  --forward           forward between interfaces (on by default with --config)
  --loss P            drop P of frames, each direction (e.g. 5%)
  --delay D --jitter D   one-way delay and its spread (e.g. 20ms)
  --reorder P --duplicate P --corrupt P
  --rate R            link rate (e.g. 10mbit)
  --seed N            fix all randomness (impairment, IP IDs, ports)
  --pcap FILE         capture what the stack sends and receives (Wireshark opens it)
";

/// A parsed command line.
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
    /// `tunstack resolve`: the arguments after `resolve` that are not link options.
    Resolve(Vec<String>, Setup, LinkOptions),
    /// `tunstack get URL [-o FILE] [@SERVER]`.
    Get(GetArgs, Setup, LinkOptions),
    /// `tunstack help`.
    Help,
}

/// What `tunstack up` serves.
#[derive(Clone, Debug, Default)]
pub struct Serve {
    /// The web root (`--www`); without one, the built-in index page.
    pub www: Option<PathBuf>,
    /// Extra zone files (`--zone`), served beside the default `tunstack.test`.
    pub zones: Vec<PathBuf>,
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

fn value<'a>(args: &mut impl Iterator<Item = &'a str>, flag: &str) -> Result<&'a str, String> {
    args.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn secs(s: &str, flag: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{flag}: not a number of seconds: {s}"))?;
    if !(0.0..=3600.0).contains(&v) {
        return Err(format!("{flag}: out of range: {s}"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn num<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{flag}: bad number: {s}"))
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter().map(String::as_str);
    let cmd = it.next().unwrap_or("help");
    let mut target6 = None;
    let target = match cmd {
        "ping" | "traceroute" => {
            let host = it.next().ok_or_else(|| format!("{cmd} needs a HOST"))?;
            if let Ok(a) = host.parse::<std::net::Ipv6Addr>() {
                target6 = Some(a);
                None
            } else {
                Some(
                    host.parse::<Ipv4Addr>()
                        .map_err(|_| format!("{cmd}: not an IPv4 address: {host}"))?,
                )
            }
        }
        "up" | "resolve" | "get" => None,
        "help" | "-h" | "--help" => return Ok(Command::Help),
        other => return Err(format!("unknown command {other:?}")),
    };

    let mut single = IfaceSpec::default_single();
    let mut config: Option<Setup> = None;
    let mut forward = false;
    let mut gateway: Option<Ipv4Addr> = None;
    let mut gateway6: Option<std::net::Ipv6Addr> = None;
    let mut link = LinkOptions::default();
    let mut ping = PingOptions::default();
    let mut trace = TracerouteOptions::default();
    let mut serve = Serve::default();
    let mut rest: Vec<String> = Vec::new();
    let mut get = GetArgs::default();
    while let Some(flag) = it.next() {
        match flag {
            "--tun" => single.tun = value(&mut it, flag)?.to_string(),
            "--tap" => {
                single.tun = value(&mut it, flag)?.to_string();
                link.tap = true;
            }
            "--mac" => {
                let v = value(&mut it, flag)?;
                let mac: tunstack::wire::EthernetAddress = v
                    .parse()
                    .map_err(|_| format!("{flag}: not an Ethernet address: {v}"))?;
                if !mac.is_unicast() {
                    return Err(format!("{flag}: {v} is a multicast address"));
                }
                link.mac = Some(mac);
            }
            "--host-addr" => {
                single.host_addr = value(&mut it, flag)?
                    .parse()
                    .map_err(|e| format!("{flag}: {e}"))?
            }
            "--addr" => {
                let v = value(&mut it, flag)?;
                single.addr = v
                    .parse()
                    .map_err(|_| format!("{flag}: not an IPv4 address: {v}"))?
            }
            "--host-addr6" => {
                let v = value(&mut it, flag)?;
                single.host_addr6 = Some(v.parse().map_err(|e| format!("{flag}: {e}"))?);
            }
            "--addr6" => {
                let v = value(&mut it, flag)?;
                single.addr6 = Some(
                    v.parse()
                        .map_err(|_| format!("{flag}: not an IPv6 address: {v}"))?,
                );
            }
            "--no-ipv6" => (single.host_addr6, single.addr6) = (None, None),
            "--mtu" => single.mtu = num(value(&mut it, flag)?, flag)?,
            "--gateway" => {
                let v = value(&mut it, flag)?;
                gateway = Some(
                    v.parse()
                        .map_err(|_| format!("{flag}: not an IPv4 address: {v}"))?,
                )
            }
            "--gateway6" => {
                let v = value(&mut it, flag)?;
                gateway6 = Some(
                    v.parse()
                        .map_err(|_| format!("{flag}: not an IPv6 address: {v}"))?,
                )
            }
            "--netns" => single.netns = Some(value(&mut it, flag)?.to_string()),
            "--config" => {
                let path = value(&mut it, flag)?;
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                config = Some(parse_config(&text).map_err(|e| format!("{path}: {e}"))?);
            }
            "--forward" => forward = true,
            "--loss" => {
                link.impair.loss =
                    parse_percent(value(&mut it, flag)?).map_err(|e| e.to_string())?
            }
            "--delay" => {
                link.impair.delay =
                    parse_duration(value(&mut it, flag)?).map_err(|e| e.to_string())?
            }
            "--jitter" => {
                link.impair.jitter =
                    parse_duration(value(&mut it, flag)?).map_err(|e| e.to_string())?
            }
            "--reorder" => {
                link.impair.reorder =
                    parse_percent(value(&mut it, flag)?).map_err(|e| e.to_string())?
            }
            "--duplicate" => {
                link.impair.duplicate =
                    parse_percent(value(&mut it, flag)?).map_err(|e| e.to_string())?
            }
            "--corrupt" => {
                link.impair.corrupt =
                    parse_percent(value(&mut it, flag)?).map_err(|e| e.to_string())?
            }
            "--rate" => {
                link.impair.rate_bps =
                    Some(parse_rate(value(&mut it, flag)?).map_err(|e| e.to_string())?)
            }
            "--seed" => link.seed = Some(num(value(&mut it, flag)?, flag)?),
            "--pcap" => link.pcap = Some(PathBuf::from(value(&mut it, flag)?)),
            "-c" if cmd == "ping" => ping.count = Some(num(value(&mut it, flag)?, flag)?),
            "-i" if cmd == "ping" => ping.interval = secs(value(&mut it, flag)?, flag)?,
            "-s" if cmd == "ping" => {
                ping.size = num(value(&mut it, flag)?, flag)?;
                if ping.size > 65_507 {
                    return Err("-s: at most 65507 bytes".into());
                }
            }
            "-t" if cmd == "ping" => ping.ttl = Some(num(value(&mut it, flag)?, flag)?),
            "-W" if cmd == "ping" => ping.timeout = secs(value(&mut it, flag)?, flag)?,
            "-m" if cmd == "traceroute" => trace.max_hops = num(value(&mut it, flag)?, flag)?,
            "-q" if cmd == "traceroute" => trace.queries = num(value(&mut it, flag)?, flag)?,
            "-w" if cmd == "traceroute" => trace.wait = secs(value(&mut it, flag)?, flag)?,
            "--www" if cmd == "up" => serve.www = Some(PathBuf::from(value(&mut it, flag)?)),
            "--zone" if cmd == "up" => serve.zones.push(PathBuf::from(value(&mut it, flag)?)),
            "-o" if cmd == "get" => get.output = Some(PathBuf::from(value(&mut it, flag)?)),
            server if cmd == "get" && server.starts_with('@') => {
                let s = &server[1..];
                let a = s
                    .parse::<std::net::SocketAddr>()
                    .or_else(|_| s.parse::<Ipv4Addr>().map(|ip| (ip, 53).into()))
                    .map_err(|_| format!("not a server address: {server}"))?;
                get.server = Some(a);
            }
            url if cmd == "get" && get.url.is_empty() && !url.starts_with('-') => {
                get.url = url.to_string()
            }
            "-x" | "-n" if cmd == "resolve" => {
                rest.push(flag.to_string());
                rest.push(value(&mut it, flag)?.to_string());
            }
            other if cmd == "resolve" && !other.starts_with("--") => rest.push(other.to_string()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if link.mac.is_some() && !link.tap {
        return Err("--mac needs --tap".into());
    }
    let mut setup = match config {
        Some(_) if link.tap => {
            return Err("--tap: router configs (--config) are TUN only for now".into());
        }
        Some(mut s) => {
            s.forwarding |= forward;
            s
        }
        None => {
            if !single.host_addr.contains(single.addr) || single.host_addr.address() == single.addr
            {
                return Err(format!(
                    "--addr {} must be another address in {}",
                    single.addr,
                    single.host_addr.network()
                ));
            }
            Setup {
                ifaces: vec![single],
                routes: Vec::new(),
                routes6: Vec::new(),
                forwarding: forward,
            }
        }
    };
    if let Some(via) = gateway {
        let dest = tunstack::iface::Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).expect("valid");
        setup.routes.push(crate::config::RouteSpec { dest, via });
    }
    if let Some(via) = gateway6 {
        let dest = "::/0".parse().expect("valid");
        setup.routes6.push(crate::config::Route6Spec { dest, via });
    }
    Ok(match (cmd, target) {
        ("ping", Some(t)) => Command::Ping(t, ping, setup, link),
        ("ping", None) if target6.is_some() => {
            Command::Ping6(target6.expect("checked"), ping, setup, link)
        }
        ("traceroute", Some(t)) => Command::Traceroute(t, trace, setup, link),
        ("traceroute", None) if target6.is_some() => {
            Command::Traceroute6(target6.expect("checked"), trace, setup, link)
        }
        ("resolve", _) => {
            if rest.is_empty() {
                return Err("resolve needs a NAME".into());
            }
            Command::Resolve(rest, setup, link)
        }
        ("get", _) => {
            if get.url.is_empty() {
                return Err("get needs a URL".into());
            }
            Command::Get(get, setup, link)
        }
        _ => Command::Up(setup, link, serve),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn up_with_overrides_and_impairment() {
        let c = parse(&args(
            "up --tun t9 --host-addr 10.9.0.1/16 --addr 10.9.3.3 --loss 5% --delay 20ms --seed 7",
        ));
        let Ok(Command::Up(setup, link, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(setup.ifaces[0].tun, "t9");
        assert_eq!(setup.ifaces[0].stack_cidr().to_string(), "10.9.3.3/16");
        assert!((link.impair.loss - 0.05).abs() < 1e-9);
        assert_eq!(link.impair.delay, tunstack::time::Duration::from_millis(20));
        assert_eq!(link.seed, Some(7));
    }

    #[test]
    fn ipv6_flags() {
        let c = parse(&args("up --host-addr6 fd00:9::1/64 --addr6 fd00:9::7"));
        let Ok(Command::Up(setup, _, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(
            setup.ifaces[0].stack_cidr6().unwrap().to_string(),
            "fd00:9::7/64"
        );
        let c = parse(&args("up --no-ipv6"));
        let Ok(Command::Up(setup, _, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(
            (setup.ifaces[0].host_addr6, setup.ifaces[0].addr6),
            (None, None)
        );
        assert!(parse(&args("up --addr6 10.0.0.1")).is_err());
    }

    #[test]
    fn ping6_host() {
        let c = parse(&args("ping fd00:77::1 -c 2"));
        let Ok(Command::Ping6(dst, p, _, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!((dst, p.count), ("fd00:77::1".parse().unwrap(), Some(2)));
        let c = parse(&args("traceroute fd00:9::1 --gateway6 fd00:77::1"));
        let Ok(Command::Traceroute6(dst, _, setup, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(dst, "fd00:9::1".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(setup.routes6[0].dest.prefix_len(), 0);
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
        assert!(parse(&args("up --mac 02:00:00:00:00:01"))
            .unwrap_err()
            .contains("needs --tap"));
        assert!(parse(&args("up --tap t --mac 03:00:00:00:00:01"))
            .unwrap_err()
            .contains("multicast"));
        assert!(parse(&args("up --tap t --mac 02:00:00"))
            .unwrap_err()
            .contains("not an Ethernet address"));
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
        let Ok(Command::Resolve(rest, setup, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(rest, ["www.tunstack.test", "@10.77.0.2", "MX"]);
        assert_eq!(setup.ifaces[0].netns.as_deref(), Some("n1"));
        let c = parse(&args("get http://www.tunstack.test/ -o /tmp/x @10.77.0.2"));
        let Ok(Command::Get(g, _, _)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(g.url, "http://www.tunstack.test/");
        assert_eq!(g.output.as_deref(), Some(std::path::Path::new("/tmp/x")));
        assert_eq!(g.server, Some("10.77.0.2:53".parse().unwrap()));
        let c = parse(&args("up --www /srv --zone a.zone --zone b.zone"));
        let Ok(Command::Up(_, _, serve)) = c else {
            panic!("{c:?}")
        };
        assert_eq!(serve.zones.len(), 2);
        assert!(parse(&args("get")).unwrap_err().contains("needs a URL"));
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse(&args("up --addr 10.78.0.2"))
            .unwrap_err()
            .contains("must be another address"));
        assert!(parse(&args("ping")).unwrap_err().contains("needs a HOST"));
        assert!(parse(&args("up --bogus"))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&args("up -c 3"))
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&args("frobnicate"))
            .unwrap_err()
            .contains("unknown command"));
    }
}
