//! Network facts: interfaces, host name, DNS, NTP servers, default gateways.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::{InterfaceFlags, if_nametoindex};
use tracing::debug;

use super::read_text;

/// One network interface (all its addresses merged into one entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Interface {
    /// Kernel name such as `eth0`; also used as the ONVIF interface token.
    pub name: String,
    /// Kernel interface index (`ifindex`), 0 if unknown.
    pub index: u32,
    /// Hardware address; `None` for loopback, all-zero or non-Ethernet addresses.
    pub mac: Option<[u8; 6]>,
    /// MTU from `/sys/class/net/<if>/mtu`.
    pub mtu: Option<u32>,
    /// `operstate` is `up`; when it is `unknown` (e.g. `lo`), `IFF_UP` and `IFF_RUNNING`.
    pub up: bool,
    /// `IFF_LOOPBACK` is set.
    pub loopback: bool,
    /// `IFF_MULTICAST` is set.
    pub multicast: bool,
    /// IPv4 addresses with prefix length.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses (link-local included) with prefix length.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// Best effort: an IPv4 DHCP lease file for the interface exists
    /// (systemd-networkd, dhclient or NetworkManager); it may be stale.
    pub dhcp_v4: bool,
    /// Link speed from `/sys/class/net/<if>/speed`, if readable and positive.
    pub speed_mbps: Option<u32>,
    /// `/sys/class/net/<if>/duplex`: `full` => true, `half` => false.
    pub full_duplex: Option<bool>,
}

impl Interface {
    /// Replaces the static IPv4 addresses by `manual`, keeping the link-local ones.
    pub fn set_static_v4(&mut self, manual: impl IntoIterator<Item = (Ipv4Addr, u8)>) {
        let link_local: Vec<_> = self
            .ipv4
            .iter()
            .copied()
            .filter(|(a, _)| a.is_link_local())
            .collect();
        self.ipv4 = manual.into_iter().chain(link_local).collect();
    }

    /// Replaces the static IPv6 addresses by `manual`, keeping the link-local ones.
    pub fn set_static_v6(&mut self, manual: impl IntoIterator<Item = (Ipv6Addr, u8)>) {
        let link_local: Vec<_> = self
            .ipv6
            .iter()
            .copied()
            .filter(|(a, _)| a.is_unicast_link_local())
            .collect();
        self.ipv6 = manual.into_iter().chain(link_local).collect();
    }
}

/// Lists the host's interfaces via `getifaddrs(3)`, one entry per interface
/// (IPv4 alias labels like `eth0:1` are merged into `eth0`), sorted by index.
///
/// # Errors
/// Only when `getifaddrs(3)` itself fails; sysfs and lease-file problems
/// just leave the corresponding fields empty.
pub fn interfaces() -> std::io::Result<Vec<Interface>> {
    let mut by_name: BTreeMap<String, (Interface, bool)> = BTreeMap::new();
    for ifa in getifaddrs().map_err(std::io::Error::from)? {
        // ':' cannot occur in a Linux interface name, only in an alias label.
        let name = ifa.interface_name.split(':').next().unwrap_or_default();
        let (entry, running) = by_name.entry(name.to_owned()).or_insert_with(|| {
            (
                Interface {
                    name: name.to_owned(),
                    ..Interface::default()
                },
                false,
            )
        });
        let flags = ifa.flags;
        entry.loopback |= flags.contains(InterfaceFlags::IFF_LOOPBACK);
        entry.multicast |= flags.contains(InterfaceFlags::IFF_MULTICAST);
        *running |= flags.contains(InterfaceFlags::IFF_UP | InterfaceFlags::IFF_RUNNING);
        let Some(addr) = ifa.address.as_ref() else {
            continue;
        };
        let mask = ifa.netmask.as_ref();
        if let Some(link) = addr.as_link_addr() {
            entry.index = u32::try_from(link.ifindex()).unwrap_or(0);
            entry.mac = (link.halen() == 6)
                .then(|| link.addr())
                .flatten()
                .filter(|m| *m != [0; 6]);
        } else if let Some(v4) = addr.as_sockaddr_in() {
            let prefix = mask.and_then(|m| m.as_sockaddr_in());
            let prefix = prefix.map_or(32, |m| u32::from(m.ip()).leading_ones());
            entry
                .ipv4
                .push((v4.ip(), u8::try_from(prefix).unwrap_or(32)));
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let prefix = mask.and_then(|m| m.as_sockaddr_in6());
            let prefix = prefix.map_or(128, |m| u128::from(m.ip()).leading_ones());
            entry
                .ipv6
                .push((v6.ip(), u8::try_from(prefix).unwrap_or(128)));
        }
    }
    let mut list: Vec<Interface> = by_name
        .into_values()
        .map(|(i, running)| with_sysfs(i, running))
        .collect();
    list.sort_by(|a, b| a.index.cmp(&b.index).then_with(|| a.name.cmp(&b.name)));
    Ok(list)
}

/// The interfaces ONVIF clients should see: every non-loopback one, or loopback alone when
/// the host has nothing else.
pub fn visible_interfaces() -> std::io::Result<Vec<Interface>> {
    let (lo, real): (Vec<Interface>, Vec<Interface>) =
        interfaces()?.into_iter().partition(|i| i.loopback);
    Ok(if real.is_empty() { lo } else { real })
}

/// The interface that identifies the device: the first one that is up and has a MAC.
pub fn primary(interfaces: &[Interface]) -> Option<&Interface> {
    interfaces
        .iter()
        .find(|i| i.up && i.mac.is_some())
        .or_else(|| interfaces.iter().find(|i| i.mac.is_some()))
        .or(interfaces.first())
}

/// The MAC address clients key the device by (Home Assistant uses the first one reported).
pub fn primary_mac() -> Option<[u8; 6]> {
    let interfaces = visible_interfaces()
        .map_err(|e| tracing::warn!(error = %e, "cannot list network interfaces"))
        .ok()?;
    primary(&interfaces)?.mac
}

/// Fills index (if getifaddrs gave none), MTU, state, speed, duplex and DHCP.
fn with_sysfs(mut i: Interface, running: bool) -> Interface {
    let sys = |attr: &str| {
        read_text(&Path::new("/sys/class/net").join(&i.name).join(attr))
            .map(|s| s.trim().to_owned())
    };
    if i.index == 0 {
        i.index = if_nametoindex(i.name.as_str()).unwrap_or(0);
    }
    i.mtu = sys("mtu").and_then(|s| s.parse().ok());
    i.up = match sys("operstate").as_deref() {
        Some("up") => true,
        None | Some("unknown" | "") => running,
        Some(_) => false,
    };
    i.speed_mbps = sys("speed")
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|&s| s > 0 && s != u32::MAX);
    i.full_duplex = match sys("duplex").as_deref() {
        Some("full") => Some(true),
        Some("half") => Some(false),
        _ => None,
    };
    i.dhcp_v4 = has_dhcp_lease(&i.name, i.index);
    i
}

fn has_dhcp_lease(name: &str, index: u32) -> bool {
    if index != 0 && Path::new(&format!("/run/systemd/netif/leases/{index}")).is_file() {
        return true;
    }
    [
        "/var/lib/dhcp",
        "/var/lib/dhclient",
        "/var/lib/NetworkManager",
    ]
    .iter()
    .filter_map(|dir| std::fs::read_dir(dir).ok())
    .flatten()
    .flatten()
    .any(|e| {
        e.file_name()
            .to_str()
            .is_some_and(|f| lease_file_matches(f, name))
    })
}

/// Whether `file` names an IPv4 lease file for interface `ifname`:
/// `dhclient.eth0.leases`, `dhclient-eth0.lease` (dhclient) or
/// `internal-<uuid>-eth0.lease` / `dhclient-<uuid>-eth0.lease` (NetworkManager).
/// DHCPv6 files (`dhclient6…`, `internal6-…`) do not count.
fn lease_file_matches(file: &str, ifname: &str) -> bool {
    let kind = file.split(['-', '.']).next().unwrap_or_default();
    !kind.ends_with('6')
        && [".", "-"].iter().any(|sep| {
            [".lease", ".leases"]
                .iter()
                .any(|ext| file.ends_with(&format!("{sep}{ifname}{ext}")))
        })
}

/// Host name from `/proc/sys/kernel/hostname` (trimmed), falling back to
/// `gethostname(2)` and finally to `"localhost"`.
pub fn hostname() -> String {
    let proc = read_text(Path::new("/proc/sys/kernel/hostname"));
    if let Some(name) = proc.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        return name;
    }
    match nix::unistd::gethostname() {
        Ok(name) if !name.is_empty() => name.to_string_lossy().into_owned(),
        Ok(_) => "localhost".to_owned(),
        Err(error) => {
            debug!(%error, "gethostname failed");
            "localhost".to_owned()
        }
    }
}

/// Resolver configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Dns {
    /// `nameserver` addresses in file order (IPv6 zone ids dropped).
    pub servers: Vec<IpAddr>,
    /// Search domains (the last `search` or `domain` line wins, as in glibc).
    pub search: Vec<String>,
    /// The header says a DHCP client wrote the file; see [`parse_resolv_conf`].
    pub from_dhcp: bool,
}

/// Reads `/etc/resolv.conf`. When it only points at the systemd-resolved stub
/// (`127.0.0.53`), the upstream servers are taken from
/// `/run/systemd/resolve/resolv.conf` if that file lists any.
pub fn dns() -> Dns {
    let mut dns = read_text(Path::new("/etc/resolv.conf"))
        .map(|t| parse_resolv_conf(&t))
        .unwrap_or_default();
    let stub = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53));
    if dns.servers == [stub] {
        let upstream = read_text(Path::new("/run/systemd/resolve/resolv.conf"))
            .map(|t| parse_resolv_conf(&t).servers)
            .unwrap_or_default();
        if !upstream.is_empty() {
            dns.servers = upstream;
        }
    }
    dns
}

/// Parses resolv.conf text: `nameserver`, `search` and `domain` lines;
/// `#`/`;` comments are ignored.
///
/// `from_dhcp` heuristic (conservative): true only when a comment in the
/// header (before the first directive) names a DHCP client or NetworkManager:
/// `NetworkManager`, `dhclient`, `dhcpcd` or `udhcpc`. Files written by
/// systemd-resolved or resolvconf do not say where the servers came from, so
/// they give false. (NetworkManager also writes the header for static setups.)
pub fn parse_resolv_conf(text: &str) -> Dns {
    let mut dns = Dns::default();
    let mut in_header = true;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix(['#', ';']) {
            let c = comment.to_ascii_lowercase();
            dns.from_dhcp |= in_header
                && ["networkmanager", "dhclient", "dhcpcd", "udhcpc"]
                    .iter()
                    .any(|k| c.contains(k));
            continue;
        }
        in_header = false;
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                let ip = words.next().and_then(|w| w.split('%').next()?.parse().ok());
                if let Some(ip) = ip.filter(|ip| !dns.servers.contains(ip)) {
                    dns.servers.push(ip);
                }
            }
            Some("search" | "domain") => {
                dns.search = words
                    .take_while(|w| !w.starts_with(['#', ';']))
                    .map(str::to_owned)
                    .collect();
            }
            _ => {}
        }
    }
    dns
}

/// An NTP server as configured: an address or a host/pool name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum NtpServer {
    /// A literal IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A DNS name (host or pool).
    Name(String),
}

impl NtpServer {
    fn parse(word: &str) -> Option<Self> {
        let word = word.trim_start_matches('[').trim_end_matches(']');
        if word.is_empty() {
            None
        } else if let Ok(ip) = word.parse() {
            Some(Self::Ip(ip))
        } else {
            Some(Self::Name(word.to_owned()))
        }
    }
}

/// NTP configuration of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Ntp {
    /// Servers in configuration order.
    pub servers: Vec<NtpServer>,
    /// The servers came from DHCP (systemd-networkd lease `NTP=` entries).
    pub from_dhcp: bool,
}

const TIMESYNCD_CONF: &str = "/etc/systemd/timesyncd.conf";
const CHRONY_CONFS: [&str; 2] = ["/etc/chrony/chrony.conf", "/etc/chrony.conf"];
const NTPD_CONFS: [&str; 2] = ["/etc/ntp.conf", "/etc/ntpsec/ntp.conf"];

/// Reads the NTP servers; the first source that yields any server wins:
/// 1. systemd-timesyncd, if `/etc/systemd/timesyncd.conf` or a drop-in in
///    `/etc/systemd/timesyncd.conf.d/*.conf` exists: servers that
///    systemd-networkd learnt by DHCP (`NTP=` in `/run/systemd/netif/leases/*`,
///    `from_dhcp = true`, as timesyncd prefers them), else `NTP=` (the main
///    file then drop-ins in name order; an empty `NTP=` resets), else
///    `FallbackNTP=`;
/// 2. chrony: `/etc/chrony/chrony.conf`, `/etc/chrony.conf` (`server`/`pool`);
/// 3. ntpd: `/etc/ntp.conf`, `/etc/ntpsec/ntp.conf` (`server`/`pool`).
///
/// Included files (chrony `confdir`, ntpd `includefile`) are not followed.
pub fn ntp() -> Ntp {
    let mut texts: Vec<String> = read_text(Path::new(TIMESYNCD_CONF)).into_iter().collect();
    texts.extend(sorted_dir("/etc/systemd/timesyncd.conf.d", "conf").filter_map(|p| read_text(&p)));
    let mut found = None;
    if !texts.is_empty() {
        let leases: Vec<NtpServer> = sorted_dir("/run/systemd/netif/leases", "")
            .filter_map(|p| read_text(&p))
            .flat_map(|t| timesyncd_key(&format!("[Time]\n{t}"), "NTP").unwrap_or_default())
            .collect();
        // "[]" ends the section, so a drop-in without "[Time]" is not read as one.
        let all = texts.join("\n[]\n");
        let configured = timesyncd_key(&all, "NTP").filter(|s| !s.is_empty());
        let configured = configured.or_else(|| timesyncd_key(&all, "FallbackNTP"));
        found = if leases.is_empty() {
            configured.map(|s| (s, false))
        } else {
            Some((dedup(leases), true))
        };
    }
    let (servers, from_dhcp) = found.filter(|(s, _)| !s.is_empty()).unwrap_or_else(|| {
        let confs = CHRONY_CONFS.iter().chain(&NTPD_CONFS);
        let mut lists = confs
            .filter_map(|p| read_text(Path::new(p)))
            .map(|t| parse_ntp_lines(&t));
        (lists.find(|s| !s.is_empty()).unwrap_or_default(), false)
    });
    Ntp { servers, from_dhcp }
}

/// Files of `dir` (optionally only `*.ext`), sorted by name; empty on error.
fn sorted_dir(dir: &str, ext: &str) -> impl Iterator<Item = PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|error| debug!(dir, %error, "cannot list directory"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| ext.is_empty() || p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    paths.into_iter()
}

fn dedup(servers: Vec<NtpServer>) -> Vec<NtpServer> {
    let mut out: Vec<NtpServer> = Vec::with_capacity(servers.len());
    for s in servers {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Parses chrony/ntpd syntax: `server HOST [options]` and `pool HOST [options]`
/// (ntpd's `-4`/`-6` flags are skipped). Comments start with `#`, `!`, `;` or
/// `%`. ntpd reference-clock pseudo addresses `127.127.x.y` are left out.
pub fn parse_ntp_lines(text: &str) -> Vec<NtpServer> {
    let servers = text.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        if !matches!(words.next(), Some("server" | "pool")) {
            return None;
        }
        let host = words.find(|w| !matches!(*w, "-4" | "-6"))?;
        match NtpServer::parse(host)? {
            NtpServer::Ip(IpAddr::V4(v4)) if v4.octets()[..2] == [127, 127] => None,
            server => Some(server),
        }
    });
    dedup(servers.collect())
}

/// Parses a timesyncd.conf: the space-separated `NTP=` servers of `[Time]`
/// (several lines accumulate; an empty `NTP=` resets the list).
pub fn parse_timesyncd(text: &str) -> Vec<NtpServer> {
    timesyncd_key(text, "NTP").unwrap_or_default()
}

/// Value list of `key` in the `[Time]` section; `None` if never assigned.
fn timesyncd_key(text: &str, key: &str) -> Option<Vec<NtpServer>> {
    let mut section = "";
    let mut result: Option<Vec<NtpServer>> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if let Some((k, v)) = line.split_once('=')
            && section == "[Time]"
            && k.trim() == key
        {
            let list = result.get_or_insert_with(Vec::new);
            if v.trim().is_empty() {
                list.clear();
            }
            list.extend(v.split_whitespace().filter_map(NtpServer::parse));
        }
    }
    result.map(dedup)
}

/// Default gateways from `/proc/net/route` and `/proc/net/ipv6_route`.
pub fn default_gateways() -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
    let v4 = read_text(Path::new("/proc/net/route")).map(|t| parse_proc_net_route(&t));
    let v6 = read_text(Path::new("/proc/net/ipv6_route")).map(|t| parse_proc_ipv6_route(&t));
    (v4.unwrap_or_default(), v6.unwrap_or_default())
}

/// Parses `/proc/net/route`: routes with destination and mask `00000000` and
/// `RTF_UP|RTF_GATEWAY` set. Addresses are the kernel's native-endian hex
/// dump of the network-order bytes (little-endian on x86/ARM).
pub fn parse_proc_net_route(text: &str) -> Vec<Ipv4Addr> {
    const RTF_UP_GATEWAY: u32 = 0x0003;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hex = |i: usize| f.get(i).and_then(|s| u32::from_str_radix(s, 16).ok());
        let (Some(dest), Some(gw), Some(flags)) = (hex(1), hex(2), hex(3)) else {
            continue;
        };
        if dest == 0 && hex(7).unwrap_or(0) == 0 && flags & RTF_UP_GATEWAY == RTF_UP_GATEWAY {
            let ip = Ipv4Addr::from(gw.to_ne_bytes());
            if !ip.is_unspecified() && !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// Parses `/proc/net/ipv6_route`: routes to `::/0` with a non-zero next hop
/// (field 5), which excludes the `lo` unreachable default.
pub fn parse_proc_ipv6_route(text: &str) -> Vec<Ipv6Addr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let addr = |i: usize| f.get(i).and_then(|s| u128::from_str_radix(s, 16).ok());
        if let (Some(0), Some("00"), Some(hop)) = (addr(0), f.get(1).copied(), addr(4)) {
            let ip = Ipv6Addr::from(hop);
            if hop != 0 && !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> NtpServer {
        NtpServer::Name(s.into())
    }
    fn ip(s: &str) -> NtpServer {
        NtpServer::Ip(s.parse().unwrap())
    }

    #[test]
    fn proc_net_route() {
        let sample = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT \n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0    \n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0    \n\
            wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
            tun0\t0000000A\t0100000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n\
            eth1\t00000000\t010000C6\t0002\t0\t0\t0\t00000000\t0\t0\t0\n";
        let want: Vec<Ipv4Addr> = vec![[192, 0, 2, 1].into(), [192, 168, 1, 1].into()];
        if cfg!(target_endian = "little") {
            assert_eq!(parse_proc_net_route(sample), want);
        }
        assert!(parse_proc_net_route("").is_empty());
        assert!(parse_proc_net_route("Iface\nbogus line\neth0 zz yy\n").is_empty());
    }

    #[test]
    fn proc_ipv6_route() {
        let sample = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe80000000000000021122fffe334455 00000400 00000002 00000000 00450003    wlan0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";
        let want: Vec<Ipv6Addr> = vec![
            "fd00::1".parse().unwrap(),
            "fe80::211:22ff:fe33:4455".parse().unwrap(),
        ];
        assert_eq!(parse_proc_ipv6_route(sample), want);
        assert!(parse_proc_ipv6_route("garbage\n\n").is_empty());
    }

    #[test]
    fn resolv_conf_variants() {
        let plain = parse_resolv_conf("nameserver 10.255.255.53\n");
        assert_eq!(plain.servers, vec![IpAddr::from([10, 255, 255, 53])]);
        assert!(!plain.from_dhcp && plain.search.is_empty());

        let nm = parse_resolv_conf(
            "# Generated by NetworkManager\nsearch lan example.com\nnameserver 192.168.1.1\n\
             nameserver fe80::1%wlan0\nnameserver 192.168.1.1\noptions edns0\n",
        );
        assert!(nm.from_dhcp);
        assert_eq!(nm.search, ["lan", "example.com"]);
        assert_eq!(nm.servers.len(), 2);
        assert_eq!(nm.servers[1], "fe80::1".parse::<IpAddr>().unwrap());

        let resolved = parse_resolv_conf(
            "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n\
             # Do not edit.\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
        );
        assert!(!resolved.from_dhcp);
        assert_eq!(resolved.search, ["."]);

        let dhclient = parse_resolv_conf(
            "; generated by /usr/sbin/dhclient-script\ndomain corp.example\nsearch a.example b.example # trailing\nnameserver bogus\n",
        );
        assert!(dhclient.from_dhcp && dhclient.servers.is_empty());
        assert_eq!(dhclient.search, ["a.example", "b.example"]);

        let late = parse_resolv_conf("nameserver 1.1.1.1\n# written by dhclient? no, by hand\n");
        assert!(!late.from_dhcp, "only header comments count");
    }

    #[test]
    fn ntp_lines() {
        let chrony = "# Use Debian vendor zone.\npool 2.debian.pool.ntp.org iburst\n\
            server 192.168.1.10 iburst prefer\n! server commented.example\n\
            server fd00::123 iburst\nsourcedir /run/chrony-dhcp\nmakestep 1 3\n";
        assert_eq!(
            parse_ntp_lines(chrony),
            [
                name("2.debian.pool.ntp.org"),
                ip("192.168.1.10"),
                ip("fd00::123")
            ]
        );
        let ntpd = "driftfile /var/lib/ntp/ntp.drift\nserver -4 ntp1.example.org iburst\n\
            pool 0.pool.ntp.org\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 10\n\
            restrict default kod\nserver\n";
        assert_eq!(
            parse_ntp_lines(ntpd),
            [name("ntp1.example.org"), name("0.pool.ntp.org")]
        );
    }

    #[test]
    fn timesyncd() {
        let conf = "#  This file is part of systemd.\n[Time]\n#NTP=\n\
            NTP=0.de.pool.ntp.org 192.0.2.123\nFallbackNTP=ntp.ubuntu.com\n";
        assert_eq!(
            parse_timesyncd(conf),
            [name("0.de.pool.ntp.org"), ip("192.0.2.123")]
        );
        assert_eq!(
            timesyncd_key(conf, "FallbackNTP"),
            Some(vec![name("ntp.ubuntu.com")])
        );
        assert!(parse_timesyncd("[Time]\n#NTP=\n").is_empty());
        assert_eq!(timesyncd_key("[Time]\n", "NTP"), None);
        assert!(parse_timesyncd("[Time]\nNTP=a.example\nNTP=\n").is_empty());
        assert!(parse_timesyncd("[Other]\nNTP=a.example\n").is_empty());
        let joined = [
            "[Time]\nNTP=a.example",
            "NTP=b.example",
            "[Time]\nNTP=c.example",
        ]
        .join("\n[]\n");
        assert_eq!(
            parse_timesyncd(&joined),
            [name("a.example"), name("c.example")]
        );
    }

    #[test]
    fn lease_files() {
        assert!(lease_file_matches("dhclient.eth0.leases", "eth0"));
        assert!(lease_file_matches("dhclient-eth0.lease", "eth0"));
        assert!(lease_file_matches(
            "internal-1b2c3d4e-aaaa-bbbb-cccc-0123456789ab-eth0.lease",
            "eth0"
        ));
        assert!(!lease_file_matches("dhclient.eth10.leases", "eth1"));
        assert!(!lease_file_matches("dhclient6.eth0.leases", "eth0"));
        assert!(!lease_file_matches("internal6-1b2c-eth0.lease", "eth0"));
    }

    #[test]
    fn live_readers() {
        let list = interfaces().expect("getifaddrs");
        let lo = list
            .iter()
            .find(|i| i.loopback)
            .expect("a loopback interface");
        assert!(lo.ipv4.contains(&(Ipv4Addr::LOCALHOST, 8)), "{lo:?}");
        assert!(lo.mac.is_none() && lo.index > 0 && lo.up);
        assert!(list.windows(2).all(|w| w[0].index <= w[1].index));
        assert!(!hostname().is_empty());
        let _ = (dns(), ntp(), default_gateways());
    }
}
