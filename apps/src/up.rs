//! Bringing a stack up over TUN (or TAP) devices: what `tunstack up`, `ping` and
//! `traceroute` share.

use std::io;
use std::path::PathBuf;

use tunstack::iface::InterfaceConfig;
use tunstack::link::impair::{ImpairConfig, Impaired};
use tunstack::link::netdev;
use tunstack::link::pcap::Pcap;
use tunstack::link::tap::TapDevice;
use tunstack::link::tun::TunDevice;
use tunstack::link::{Device, Medium};
use tunstack::rand::Rng;
use tunstack::socket::{Runtime, RuntimeOptions};
use tunstack::stack::{Stack, StackConfig};
use tunstack::wire::EthernetAddress;

use crate::config::{IfaceSpec, Setup};
use crate::sys::{self, Netns};

/// How the links are impaired and captured.
#[derive(Clone, Debug, Default)]
pub struct LinkOptions {
    /// Impairment applied to each direction of every link.
    pub impair: ImpairConfig,
    /// Seed for impairment and the stack's randomness (`None`: from the OS).
    pub seed: Option<u64>,
    /// Capture file (with several interfaces, `FILE.IFNAME`). Its link type follows the
    /// device: raw IP for TUN, Ethernet for TAP.
    pub pcap: Option<PathBuf>,
    /// Open TAP devices (Ethernet, with ARP) instead of TUN devices.
    pub tap: bool,
    /// The stack's Ethernet address on TAP devices (`None`: a random locally
    /// administered one, from the seed).
    pub mac: Option<EthernetAddress>,
    /// Open the TUN or TAP device without virtio-net offloads (TSO/checksum): one wire-sized
    /// packet per syscall (`--no-offload`).
    pub no_offload: bool,
    /// Which devices get a writer thread (`--writer`; see `tunstack::socket::WriterMode`).
    pub writer: tunstack::socket::WriterMode,
    /// The TCP congestion control algorithm (`--cc`; `None`: the stack's default).
    pub congestion: Option<tunstack::tcp::congestion::Algorithm>,
    /// Events kept per TCP connection in its trace (0: no tracing; `tunstack up
    /// --trace`).
    pub trace_events: usize,
}

/// A running stack and what it holds on to.
pub struct Running {
    /// The runtime thread.
    pub runtime: Runtime,
    /// The interfaces as brought up.
    pub ifaces: Vec<IfaceSpec>,
    /// Whether the devices took TCP segmentation and checksum offloads (TSO): the ready
    /// line says `offload tso`, else `offload off`.
    pub offload: bool,
    /// The impairment's counters per interface (empty without impairment).
    pub impairments: Vec<tunstack::link::ImpairCounters>,
    /// Namespaces this process created (deleted when dropped, after the devices).
    _netns: Vec<Netns>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("ifaces", &self.ifaces)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Stops the runtime (closing the devices), then removes the namespaces this process
    /// created; returns the final counters.
    pub fn shutdown(self) -> io::Result<tunstack::stats::Stats> {
        let Running {
            runtime, _netns, ..
        } = self;
        let stats = runtime.shutdown();
        drop(_netns);
        stats
    }
}

/// The most a connection's receive buffer grows to under `tunstack up`: the most window
/// it offers. A fixed 256 KiB held only four of the kernel's 64 KiB super-segments, and
/// the window, not the CPU, then limited kernel -> stack transfers over an offloading TUN
/// device (in `cargo bench --bench tcp_throughput`, 1 MiB gave about 1.2-1.5 times the
/// throughput of 256 KiB, and 4 MiB about twice that of 1 MiB). The buffer starts at the
/// library's 256 KiB and autotunes up to this (`tcp::rcv_tune`, as Linux autotunes up to
/// 6 MiB): a reader that keeps up reaches it within a few round trips (kernel -> stack
/// over TUN moved 29.9 and 28.9 Gbit/s against 29.1 and 29.6 with 4 MiB from the start,
/// with less CPU per byte), and a connection whose application does not read holds 256
/// KiB, not 4 MiB.
pub const UP_RECV_BUFFER: usize = 4 * 1024 * 1024;

/// The send buffer `tunstack up` gives each TCP connection: the most data it holds that
/// the peer has not acknowledged, so the most a loss recovery can keep in flight. Under
/// loss, data SACKed above a hole stays in the buffer until the hole is filled, and the
/// library's default (256 KiB) then bounds the flight: in `cargo bench --bench
/// loss_race` (`TUNSTACK_LOSS_RACE_SNDBUF`, one run each) BBR sending through 2% loss at
/// 10 ms one way moved 47 Mbit/s with 256 KiB and 245 with 4 MiB, and 13 against 63 at
/// 1% and 50 ms; CUBIC, bounded by its window, moved about the same. Linux autotunes its
/// own up to 4 MiB (`tcp_wmem`). Storage grows with use and is given back once
/// everything is acknowledged (`tcp::send`), so an idle connection holds none.
pub const UP_SEND_BUFFER: usize = 4 * 1024 * 1024;

/// What went wrong bringing the stack up, worded for a person.
#[derive(Debug)]
pub struct UpError(pub String);

impl std::fmt::Display for UpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn explain(what: &str, e: io::Error) -> UpError {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => UpError(format!(
            "{what}: permission denied; tunstack needs CAP_NET_ADMIN to create TUN devices and \
             namespaces: run it as root (sudo tunstack ...)"
        )),
        Some(libc::EBUSY) => UpError(format!(
            "{what}: device busy (is another tunstack using it?)"
        )),
        _ => UpError(format!("{what}: {e}")),
    }
}

/// Opens and configures one TUN or TAP device (in the current thread's namespace).
fn open_device(spec: &IfaceSpec, tap: bool, offload: bool) -> io::Result<Box<dyn Device + Send>> {
    let (dev, name): (Box<dyn Device + Send>, String) = if tap {
        let mut dev = TapDevice::open_with(&spec.tun, offload)?;
        let name = dev.name().to_string();
        if spec.host_addr6.is_none() {
            disable_ipv6(&name);
        } else {
            // The kernel side's address is usable at once (the stack, on the other end,
            // runs its own DAD before it uses its address).
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/accept_dad"), "0");
        }
        dev.set_mtu(spec.mtu)?;
        (Box::new(dev), name)
    } else {
        let mut dev = TunDevice::open_with(&spec.tun, offload)?;
        let name = dev.name().to_string();
        if spec.host_addr6.is_none() {
            disable_ipv6(&name);
        }
        dev.set_mtu(spec.mtu)?;
        (Box::new(dev), name)
    };
    netdev::set_ipv4(&name, spec.host_addr.address(), spec.host_addr.prefix_len())?;
    netdev::set_up(&name)?;
    if let Some(host6) = spec.host_addr6 {
        // A TUN device is IFF_NOARP, so the kernel skips duplicate address detection and
        // the address (with its on-link prefix route) is usable at once; on TAP,
        // accept_dad is off for the same effect.
        sys::set_ipv6(&name, host6)?;
    }
    for r in &spec.host_routes {
        sys::add_route(*r, Some(spec.addr), &name)?;
    }
    if let Some(via) = spec.addr6 {
        for r in &spec.host_routes6 {
            sys::add_route6(*r, via, &name)?;
        }
    }
    Ok(dev)
}

/// On a link without IPv6 (`--no-ipv6`): keep the kernel's IPv6 chatter off the link
/// (and out of captures). Best effort: a kernel without IPv6 has no such file.
fn disable_ipv6(name: &str) {
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
}

/// Brings up every interface of `setup` and starts the runtime.
pub fn bring_up(setup: &Setup, link: &LinkOptions) -> Result<Running, UpError> {
    let mut rng = match link.seed {
        Some(s) => Rng::new(s),
        None => Rng::from_os(),
    };
    let impair_seed = rng.next_u64();
    let mut config = StackConfig {
        forwarding: setup.forwarding,
        ..StackConfig::default()
    };
    config.tcp.congestion = link.congestion.unwrap_or(config.tcp.congestion);
    config.tcp.trace_events = link.trace_events;
    config.tcp.recv_buffer_max = UP_RECV_BUFFER;
    config.tcp.send_buffer = UP_SEND_BUFFER;
    let mut stack = Stack::new(config, rng);
    let mut devices: Vec<(tunstack::iface::IfaceId, Box<dyn Device + Send>)> = Vec::new();
    let mut namespaces = Vec::new();
    let mut offload_all = true;
    let mut impairments = Vec::new();

    for (n, spec) in setup.ifaces.iter().enumerate() {
        spec.check_ipv6().map_err(UpError)?;
        let what = format!("bringing up {}", spec.tun);
        let dev = match &spec.netns {
            Some(ns) => {
                let s = spec.clone();
                let (tap, offload) = (link.tap, !link.no_offload);
                let (dev, guard) = sys::in_netns(ns, move || open_device(&s, tap, offload))
                    .map_err(|e| explain(&what, e))?;
                namespaces.push(guard);
                dev
            }
            None => open_device(spec, link.tap, !link.no_offload).map_err(|e| explain(&what, e))?,
        };
        offload_all &= dev.offload();
        let id = stack.add_interface(InterfaceConfig {
            name: spec.tun.clone(),
            addr: spec.stack_cidr(),
            mtu: spec.mtu,
            medium: if link.tap {
                Medium::Ethernet
            } else {
                Medium::Ip
            },
            mac: link.mac,
            addr6: spec.stack_cidr6(),
        });
        let mut boxed = dev;
        if !link.impair.is_noop() {
            let seed = impair_seed.wrapping_add(n as u64);
            let impaired = Impaired::new(boxed, link.impair.clone(), link.impair.clone(), seed);
            impairments.push(impaired.counters());
            boxed = Box::new(impaired);
        }
        if let Some(path) = &link.pcap {
            let path = if setup.ifaces.len() == 1 {
                path.clone()
            } else {
                let mut p = path.clone().into_os_string();
                p.push(format!(".{}", spec.tun));
                PathBuf::from(p)
            };
            let pcap = Pcap::create(boxed, &path)
                .map_err(|e| explain(&format!("opening {}", path.display()), e))?;
            boxed = Box::new(pcap);
        }
        stack.set_offload(id, boxed.offload());
        devices.push((id, boxed));
    }
    for r in &setup.routes {
        let Some(iface) = stack.routes().lookup(r.via).map(|x| x.iface) else {
            return Err(UpError(format!(
                "route {} via {}: gateway is on no interface",
                r.dest, r.via
            )));
        };
        stack.routes_mut().add(tunstack::iface::Route {
            dest: r.dest,
            gateway: Some(r.via),
            iface,
        });
    }
    for r in &setup.routes6 {
        let on_link = setup
            .ifaces
            .iter()
            .position(|i| i.stack_cidr6().is_some_and(|c| c.contains(r.via)));
        let Some(n) = on_link else {
            return Err(UpError(format!(
                "route6 {} via {}: gateway is on no interface",
                r.dest, r.via
            )));
        };
        stack.routes6_mut().add(tunstack::iface::Route6 {
            dest: r.dest,
            gateway: Some(r.via),
            iface: tunstack::iface::IfaceId(n),
        });
    }
    // The stack's turns and the servers' tasks on one thread (see `Runtime::spawn_tokio`);
    // `TUNSTACK_RUNTIME=thread` gives the stack a thread of its own, the servers theirs
    // (for comparisons).
    let start = if std::env::var_os("TUNSTACK_RUNTIME").is_some_and(|v| v == "thread") {
        Runtime::spawn_with
    } else {
        Runtime::spawn_tokio_with
    };
    let options = RuntimeOptions::with_writer(link.writer);
    let runtime = start(stack, devices, options).map_err(|e| explain("starting the runtime", e))?;
    Ok(Running {
        runtime,
        ifaces: setup.ifaces.clone(),
        offload: offload_all,
        impairments,
        _netns: namespaces,
    })
}
