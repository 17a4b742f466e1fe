//! What `tunstack up` builds: interfaces (each a TUN device, maybe in its own namespace),
//! routes, impairment and capture; from command-line flags or a router config file.
//!
//! The config file is line-based; `#` starts a comment:
//!
//! ```text
//! forwarding on
//!
//! interface tunA          # a TUN device named tunA
//!   netns nsA             # created (if missing) and used for this device
//!   host-addr 10.1.0.1/24 # the kernel side of the link
//!   addr 10.1.0.2         # the stack's address (same prefix)
//!   mtu 1500
//!   host-addr6 fd00:1::1/64 # optional: the kernel side's IPv6 address and prefix
//!   addr6 fd00:1::2         # optional: the stack's IPv6 address (same prefix)
//!   host-route6 fd00:2::/64 # optional: the kernel side routes this IPv6 prefix via it
//!   host-route 10.2.0.0/24  # the kernel side routes this prefix via the stack
//!
//! interface tunB
//!   netns nsB
//!   host-addr 10.2.0.1/24
//!   addr 10.2.0.2
//!   host-route default
//!
//! route 192.168.0.0/16 via 10.2.0.1   # a route of the stack's own
//! route6 fd00:9::/64 via fd00:2::1     # an IPv6 route of the stack's own
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use tunstack::iface::{Ipv4Cidr, Ipv6Cidr};

/// One interface to bring up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceSpec {
    /// The TUN device's name.
    pub tun: String,
    /// The namespace it lives in (`None`: the current one).
    pub netns: Option<String>,
    /// The kernel side's address and prefix.
    pub host_addr: Ipv4Cidr,
    /// The stack's address on the link.
    pub addr: Ipv4Addr,
    /// The link MTU.
    pub mtu: usize,
    /// Prefixes the kernel side routes through the stack.
    pub host_routes: Vec<Ipv4Cidr>,
    /// The kernel side's IPv6 address and prefix (`None`: no IPv6 on this link).
    pub host_addr6: Option<Ipv6Cidr>,
    /// The stack's IPv6 address on the link (`None`: no IPv6 on this link).
    pub addr6: Option<Ipv6Addr>,
    /// IPv6 prefixes the kernel side routes through the stack.
    pub host_routes6: Vec<Ipv6Cidr>,
}

/// The default IPv6 addresses of the single interface: the kernel side `fd00:77::1/64`
/// (a unique local prefix, RFC 4193) and the stack `fd00:77::2`.
pub const DEFAULT_HOST_ADDR6: Ipv6Cidr =
    match Ipv6Cidr::new(Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 1), 64) {
        Some(c) => c,
        None => panic!("valid prefix"),
    };

/// See [`DEFAULT_HOST_ADDR6`].
pub const DEFAULT_ADDR6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x77, 0, 0, 0, 0, 0, 2);

impl IfaceSpec {
    /// The default single interface: `tunstack0`, host 10.77.0.1/24, stack 10.77.0.2.
    pub fn default_single() -> IfaceSpec {
        IfaceSpec {
            tun: "tunstack0".into(),
            netns: None,
            host_addr: Ipv4Cidr::new(Ipv4Addr::new(10, 77, 0, 1), 24).expect("valid"),
            addr: Ipv4Addr::new(10, 77, 0, 2),
            mtu: 1500,
            host_routes: Vec::new(),
            host_addr6: Some(DEFAULT_HOST_ADDR6),
            addr6: Some(DEFAULT_ADDR6),
            host_routes6: Vec::new(),
        }
    }

    /// The stack's IPv6 address with the link's prefix, if the link has IPv6.
    pub fn stack_cidr6(&self) -> Option<Ipv6Cidr> {
        let host = self.host_addr6?;
        Ipv6Cidr::new(self.addr6?, host.prefix_len())
    }

    /// Checks the IPv6 addresses: both or neither, the stack's in the kernel side's
    /// prefix and different from it, and a link MTU of at least 1280 (RFC 8200 section
    /// 5: "IPv6 requires that every link in the Internet have an MTU of 1280 octets or
    /// greater").
    pub fn check_ipv6(&self) -> Result<(), String> {
        match (self.host_addr6, self.addr6) {
            (None, None) if self.host_routes6.is_empty() => Ok(()),
            (None, None) => Err(format!("{}: host-route6 needs addr6", self.tun)),
            (Some(h), Some(a)) => {
                if !h.contains(a) || h.address() == a {
                    return Err(format!(
                        "{}: addr6 {a} must be another address in {}",
                        self.tun,
                        h.network()
                    ));
                }
                if self.mtu < 1280 {
                    return Err(format!(
                        "{}: MTU {} is below IPv6's minimum of 1280 (use --no-ipv6)",
                        self.tun, self.mtu
                    ));
                }
                Ok(())
            }
            _ => Err(format!(
                "{}: IPv6 needs both host-addr6 and addr6",
                self.tun
            )),
        }
    }

    /// The stack's address with the link's prefix.
    pub fn stack_cidr(&self) -> Ipv4Cidr {
        Ipv4Cidr::new(self.addr, self.host_addr.prefix_len()).expect("prefix checked")
    }
}

/// A route of the stack's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination prefix.
    pub dest: Ipv4Cidr,
    /// Gateway, which must be on one of the interfaces' links.
    pub via: Ipv4Addr,
}

/// An IPv6 route of the stack's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route6Spec {
    /// Destination prefix.
    pub dest: Ipv6Cidr,
    /// Gateway, which must be on one of the interfaces' IPv6 links.
    pub via: Ipv6Addr,
}

/// A whole setup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The interfaces.
    pub ifaces: Vec<IfaceSpec>,
    /// Extra routes.
    pub routes: Vec<RouteSpec>,
    /// Extra IPv6 routes.
    pub routes6: Vec<Route6Spec>,
    /// Whether the stack forwards between interfaces.
    pub forwarding: bool,
}

fn parse_prefix(s: &str) -> Result<Ipv4Cidr, String> {
    if s == "default" {
        return Ok(Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 0).expect("valid"));
    }
    s.parse::<Ipv4Cidr>().map_err(|e| e.to_string())
}

/// Parses a router config file (format in the module documentation).
pub fn parse_config(text: &str) -> Result<Setup, String> {
    let mut setup = Setup {
        ifaces: Vec::new(),
        routes: Vec::new(),
        routes6: Vec::new(),
        forwarding: true,
    };
    let mut current: Option<(IfaceSpec, bool, bool)> = None; // spec, has host-addr, has addr
    let finish = |cur: Option<(IfaceSpec, bool, bool)>, setup: &mut Setup| -> Result<(), String> {
        if let Some((spec, has_host, has_addr)) = cur {
            if !has_host || !has_addr {
                return Err(format!(
                    "interface {}: needs both host-addr and addr",
                    spec.tun
                ));
            }
            if !spec.host_addr.contains(spec.addr) || spec.host_addr.address() == spec.addr {
                return Err(format!(
                    "interface {}: addr {} must be another address in {}",
                    spec.tun,
                    spec.addr,
                    spec.host_addr.network()
                ));
            }
            spec.check_ipv6()?;
            setup.ifaces.push(spec);
        }
        Ok(())
    };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let err = |m: &str| format!("line {}: {m}: {raw:?}", n + 1);
        match words.as_slice() {
            ["forwarding", v] => {
                setup.forwarding = match *v {
                    "on" | "yes" | "true" => true,
                    "off" | "no" | "false" => false,
                    _ => return Err(err("forwarding takes on or off")),
                }
            }
            ["interface", name] => {
                finish(current.take(), &mut setup)?;
                let mut spec = IfaceSpec::default_single();
                spec.tun = (*name).to_string();
                // IPv6 only where the file asks for it (host-addr6, addr6).
                spec.host_addr6 = None;
                spec.addr6 = None;
                current = Some((spec, false, false));
            }
            ["route", dest, "via", gw] => {
                let dest = parse_prefix(dest).map_err(|e| err(&e))?;
                let via = gw.parse().map_err(|_| err("bad gateway address"))?;
                setup.routes.push(RouteSpec { dest, via });
            }
            ["route6", dest, "via", gw] => {
                let d = if *dest == "default" { "::/0" } else { dest };
                let dest = d.parse().map_err(|_| err("bad IPv6 prefix"))?;
                let via = gw.parse().map_err(|_| err("bad IPv6 gateway address"))?;
                setup.routes6.push(Route6Spec { dest, via });
            }
            [key, value] => {
                let Some((spec, has_host, has_addr)) = current.as_mut() else {
                    return Err(err("setting outside an interface block"));
                };
                match *key {
                    "netns" => spec.netns = Some((*value).to_string()),
                    "host-addr" => {
                        spec.host_addr = value.parse().map_err(
                            |e: tunstack::iface::route::ParseCidrError| err(&e.to_string()),
                        )?;
                        *has_host = true;
                    }
                    "addr" => {
                        spec.addr = value.parse().map_err(|_| err("bad address"))?;
                        *has_addr = true;
                    }
                    "host-addr6" => {
                        spec.host_addr6 = Some(value.parse().map_err(
                            |e: tunstack::iface::route6::ParseCidr6Error| err(&e.to_string()),
                        )?);
                    }
                    "addr6" => {
                        spec.addr6 = Some(value.parse().map_err(|_| err("bad IPv6 address"))?);
                    }
                    "mtu" => {
                        spec.mtu = value.parse().map_err(|_| err("bad MTU"))?;
                        if !(68..=65_535).contains(&spec.mtu) {
                            return Err(err("MTU must be 68..65535"));
                        }
                    }
                    "host-route" => spec
                        .host_routes
                        .push(parse_prefix(value).map_err(|e| err(&e))?),
                    "host-route6" => {
                        let v = if *value == "default" { "::/0" } else { value };
                        spec.host_routes6.push(v.parse().map_err(
                            |e: tunstack::iface::route6::ParseCidr6Error| err(&e.to_string()),
                        )?)
                    }
                    _ => return Err(err("unknown setting")),
                }
            }
            _ => return Err(err("cannot parse")),
        }
    }
    finish(current.take(), &mut setup)?;
    if setup.ifaces.is_empty() {
        return Err("no interfaces in the config".into());
    }
    Ok(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single interface has IPv6 by default (fd00:77::1/64 and fd00:77::2); a
    /// router config has it only where asked; RFC 8200 section 5's 1280-octet minimum
    /// MTU is enforced when a link has IPv6.
    #[test]
    fn ipv6_addresses() {
        let single = IfaceSpec::default_single();
        assert_eq!(single.stack_cidr6().unwrap().to_string(), "fd00:77::2/64");
        assert_eq!(single.check_ipv6(), Ok(()));
        let small = IfaceSpec {
            mtu: 1279,
            ..single.clone()
        };
        assert!(small.check_ipv6().unwrap_err().contains("1280"));
        let off = IfaceSpec {
            mtu: 576,
            host_addr6: None,
            addr6: None,
            ..single.clone()
        };
        assert_eq!((off.check_ipv6(), off.stack_cidr6()), (Ok(()), None));
        let outside = IfaceSpec {
            addr6: Some("fd00:78::2".parse().unwrap()),
            ..single
        };
        assert!(outside.check_ipv6().is_err());

        let s = parse_config(
            "interface a\n host-addr 10.1.0.1/24\n addr 10.1.0.2\n host-addr6 fd00:1::1/64\n addr6 fd00:1::2\n\
             interface b\n host-addr 10.2.0.1/24\n addr 10.2.0.2\n",
        )
        .unwrap();
        assert_eq!(
            s.ifaces[0].stack_cidr6().unwrap().to_string(),
            "fd00:1::2/64"
        );
        assert_eq!(s.ifaces[1].stack_cidr6(), None);
        let e =
            parse_config("interface a\n host-addr 10.1.0.1/24\n addr 10.1.0.2\n addr6 fd00:1::2\n");
        assert!(e.unwrap_err().contains("both"));
        assert!(parse_config("interface a\n host-addr6 fd00::1/200\n").is_err());
        let s = parse_config(
            "interface a\n host-addr 10.1.0.1/24\n addr 10.1.0.2\n host-addr6 fd00:1::1/64\n addr6 fd00:1::2\n host-route6 fd00:2::/64\n host-route6 default\n",
        )
        .unwrap();
        assert_eq!(s.ifaces[0].host_routes6.len(), 2);
        assert_eq!(s.ifaces[0].host_routes6[1].prefix_len(), 0);
        let e = parse_config(
            "interface a\n host-addr 10.1.0.1/24\n addr 10.1.0.2\n host-route6 fd00:2::/64\n",
        );
        assert!(e.unwrap_err().contains("host-route6 needs addr6"));
    }

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
forwarding on
interface tunA          # a TUN device named tunA
  netns nsA
  host-addr 10.1.0.1/24
  addr 10.1.0.2
  mtu 1400
  host-route 10.2.0.0/24
interface tunB
  netns nsB
  host-addr 10.2.0.1/24
  addr 10.2.0.2
  host-route default
route 192.168.0.0/16 via 10.2.0.1
"#;
        let s = parse_config(text).unwrap();
        assert!(s.forwarding);
        assert_eq!(s.ifaces.len(), 2);
        assert_eq!(s.ifaces[0].tun, "tunA");
        assert_eq!(s.ifaces[0].netns.as_deref(), Some("nsA"));
        assert_eq!(s.ifaces[0].mtu, 1400);
        assert_eq!(s.ifaces[0].stack_cidr().to_string(), "10.1.0.2/24");
        assert_eq!(s.ifaces[1].host_routes[0].prefix_len(), 0);
        assert_eq!(s.routes[0].via, Ipv4Addr::new(10, 2, 0, 1));
    }

    #[test]
    fn rejects_bad_configs_with_the_line() {
        assert!(parse_config("").unwrap_err().contains("no interfaces"));
        let e = parse_config("interface a\n host-addr 10.0.0.1/24\n").unwrap_err();
        assert!(e.contains("needs both"), "{e}");
        let e = parse_config("interface a\n host-addr 10.0.0.1/24\n addr 10.9.0.2\n").unwrap_err();
        assert!(e.contains("must be another address"), "{e}");
        let e = parse_config("mtu 9000\n").unwrap_err();
        assert!(e.starts_with("line 1"), "{e}");
        let e = parse_config("interface a\n colour blue\n").unwrap_err();
        assert!(e.contains("unknown setting"), "{e}");
    }
}
