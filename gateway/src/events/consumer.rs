//! Basic-notification consumers: which addresses railgate may POST `wsnt:Notify` to, decided
//! once, at Subscribe.
//!
//! A ConsumerReference is a client value that makes the gateway open connections, so it is a
//! server-side request forgery vector unless checked. [`ConsumerPolicy::admit`] parses it
//! (only `http://`; `https://` is refused until there is a TLS client), resolves the host
//! **once** (through [`Resolve`], so tests can make a name answer differently the second
//! time), checks every address it resolves to, and returns a [`Consumer`] pinned to the first
//! one. Every delivery connects to [`Consumer::pinned`] and sends the name in `Host`, so a
//! name that later resolves elsewhere (DNS rebinding) cannot redirect delivery.
//!
//! Refused unless `events.consumer_networks` names them (a configured network that contains
//! the address and is no wider than the refused range, so `0.0.0.0/0` does not open
//! loopback): loopback (127/8, ::1), link-local (169.254/16, fe80::/10), multicast and
//! broadcast (224/4, 255.255.255.255, ff00::/8), unspecified (0/8, ::), and the host's own
//! interface addresses (name them one by one, `/32` or `/128`). When every listen address
//! of the gateway is loopback (a local test set-up), loopback consumers are allowed. When
//! `consumer_networks` is not empty, the consumer must also be inside one of them.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::addr::Network;

/// Longest wait for the consumer's host to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A consumer admitted at Subscribe: where every Notify goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    /// The address as the client gave it (`wsa:To` of each Notify; log it at DEBUG only).
    pub url: String,
    /// `host[:port]` as given: the `Host` header of every delivery.
    pub authority: String,
    /// The request target (origin form: path and query).
    pub target: String,
    /// The address every delivery connects to, resolved once at Subscribe.
    pub pinned: SocketAddr,
    /// The ConsumerReference's `wsa:ReferenceParameters`, as header blocks each marked
    /// `wsa:IsReferenceParameter="true"`: WS-Addressing puts them in every Notify.
    pub reference_parameters: String,
}

/// Resolves a host name to socket addresses (injectable, so tests control the answers).
pub trait Resolve: Send + Sync + fmt::Debug {
    /// Every address `host` has, with `port`.
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Where the host's own addresses come from (injectable for tests).
pub type OwnAddresses = fn() -> Vec<IpAddr>;

/// The host's interface addresses now (read at each Subscribe: DHCP may change them).
pub fn host_addresses() -> Vec<IpAddr> {
    crate::host::net::interfaces()
        .unwrap_or_default()
        .into_iter()
        .flat_map(|i| {
            let v4 = i.ipv4.into_iter().map(|(a, _)| IpAddr::V4(a));
            let v6 = i.ipv6.into_iter().map(|(a, _)| IpAddr::V6(a));
            v4.chain(v6).collect::<Vec<_>>()
        })
        .collect()
}

/// Address ranges refused by default, with the prefix length of each range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    Loopback,
    LinkLocal,
    Multicast,
    Unspecified,
}

impl Special {
    fn of(ip: IpAddr) -> Option<(Special, u8)> {
        match ip {
            IpAddr::V4(v4) => special_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => special_v4(v4),
                None => special_v6(v6),
            },
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Special::Loopback => "a loopback address",
            Special::LinkLocal => "a link-local address",
            Special::Multicast => "a multicast or broadcast address",
            Special::Unspecified => "an unspecified address",
        }
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<(Special, u8)> {
    let o = ip.octets();
    if o[0] == 0 {
        Some((Special::Unspecified, 8))
    } else if ip.is_loopback() {
        Some((Special::Loopback, 8))
    } else if ip.is_link_local() {
        Some((Special::LinkLocal, 16))
    } else if ip.is_multicast() {
        Some((Special::Multicast, 4))
    } else if ip.is_broadcast() {
        Some((Special::Multicast, 32))
    } else {
        None
    }
}

fn special_v6(ip: Ipv6Addr) -> Option<(Special, u8)> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some((Special::Unspecified, 128))
    } else if ip.is_loopback() {
        Some((Special::Loopback, 128))
    } else if first & 0xffc0 == 0xfe80 {
        Some((Special::LinkLocal, 10))
    } else if ip.is_multicast() {
        Some((Special::Multicast, 8))
    } else {
        None
    }
}

/// Which consumers Subscribe accepts (built once from the configuration and listen
/// addresses).
#[derive(Clone, Debug)]
pub struct ConsumerPolicy {
    networks: Arc<parking_lot::RwLock<Vec<Network>>>,
    loopback_allowed: bool,
    own: OwnAddresses,
    resolver: Arc<dyn Resolve>,
}

impl ConsumerPolicy {
    /// The policy for `networks` (`events.consumer_networks`) on a gateway listening on
    /// `listen`, with the system resolver and the host's interface addresses.
    pub fn new(networks: Vec<Network>, listen: &[SocketAddr]) -> Self {
        ConsumerPolicy {
            networks: Arc::new(parking_lot::RwLock::new(networks)),
            loopback_allowed: !listen.is_empty() && listen.iter().all(|a| a.ip().is_loopback()),
            own: host_addresses,
            resolver: Arc::new(SystemResolver),
        }
    }

    /// New networks (a reload): Subscribe checks against them from now on; consumers already
    /// subscribed keep their pinned address.
    pub fn set_networks(&self, networks: Vec<Network>) {
        *self.networks.write() = networks;
    }

    /// The same policy with another resolver and source of own addresses (tests).
    pub fn with_host(mut self, resolver: Arc<dyn Resolve>, own: OwnAddresses) -> Self {
        self.resolver = resolver;
        self.own = own;
        self
    }

    /// Whether loopback consumers are allowed (every listen address is loopback).
    pub fn loopback_allowed(&self) -> bool {
        self.loopback_allowed
    }

    fn named(&self, ip: IpAddr, narrowest: u8) -> bool {
        self.networks
            .read()
            .iter()
            .any(|n| n.contains(ip) && n.prefix() >= narrowest)
    }

    /// Why `ip` may not be a consumer, if it may not. `own` is the host's addresses.
    fn refusal(&self, ip: IpAddr, own: &[IpAddr]) -> Option<String> {
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let width = if canonical.is_ipv4() { 32 } else { 128 };
        let loopback_exempt =
            self.loopback_allowed && matches!(Special::of(canonical), Some((Special::Loopback, _)));
        if !loopback_exempt {
            if let Some((special, prefix)) = Special::of(canonical) {
                if !self.named(canonical, prefix) {
                    return Some(format!(
                        "the consumer address is {}; name it in events.consumer_networks to allow it",
                        special.describe()
                    ));
                }
            } else if own.contains(&canonical) && !self.named(canonical, width) {
                return Some(
                    "the consumer address is one of this device's own addresses; name it in events.consumer_networks to allow it"
                        .into(),
                );
            }
        }
        let networks = self.networks.read();
        if !networks.is_empty() && !networks.iter().any(|n| n.contains(canonical)) {
            return Some(
                "the consumer is not in the networks consumers may be in (events.consumer_networks)"
                    .into(),
            );
        }
        None
    }

    /// Checks a ConsumerReference address and pins it (see the module doc). The error is a
    /// short reason for the client, without the address.
    pub async fn admit(&self, address: &str) -> Result<Consumer, String> {
        let uri: http::Uri = address
            .parse()
            .map_err(|_| "the consumer address is not a URI".to_string())?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(
                    "https consumers are not supported yet (no TLS client); use http://".into(),
                );
            }
            _ => return Err("the consumer address must be an http:// URI".into()),
        }
        let authority = uri
            .authority()
            .ok_or("the consumer address has no host")?
            .as_str();
        if authority.contains('@') {
            return Err("the consumer address may not carry user information".into());
        }
        let host = uri.host().ok_or("the consumer address has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("the consumer address has no host".into());
        }
        let port = uri.port_u16().unwrap_or(80);
        if port == 0 {
            return Err("the consumer address has port 0".into());
        }
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                match tokio::time::timeout(RESOLVE_TIMEOUT, self.resolver.resolve(host, port)).await
                {
                    Ok(Ok(a)) => a,
                    Ok(Err(_)) | Err(_) => {
                        return Err("the consumer's host name does not resolve".into());
                    }
                }
            }
        };
        let Some(&pinned) = addrs.first() else {
            return Err("the consumer's host name does not resolve".into());
        };
        let own = (self.own)();
        // Every address must pass, so the answer does not depend on which one is first.
        for a in &addrs {
            if let Some(why) = self.refusal(a.ip(), &own) {
                return Err(why);
            }
        }
        let target = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .to_string();
        Ok(Consumer {
            url: address.to_string(),
            authority: authority.to_string(),
            target,
            pinned,
            reference_parameters: String::new(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use parking_lot::Mutex;

    /// Answers each lookup with the next list of addresses (the last one repeats), and
    /// counts lookups.
    #[derive(Debug, Default)]
    pub(crate) struct Scripted {
        pub answers: Mutex<Vec<Vec<SocketAddr>>>,
        pub lookups: Mutex<Vec<String>>,
    }

    impl Scripted {
        pub(crate) fn new(answers: Vec<Vec<SocketAddr>>) -> Arc<Self> {
            Arc::new(Scripted {
                answers: Mutex::new(answers),
                lookups: Mutex::new(Vec::new()),
            })
        }
    }

    impl Resolve for Scripted {
        fn resolve<'a>(
            &'a self,
            host: &'a str,
            port: u16,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>> {
            self.lookups.lock().push(host.to_string());
            let mut answers = self.answers.lock();
            let next = if answers.len() > 1 {
                answers.remove(0)
            } else {
                answers.first().cloned().unwrap_or_default()
            };
            let next = next
                .into_iter()
                .map(|a| SocketAddr::new(a.ip(), port))
                .collect();
            Box::pin(async move { Ok(next) })
        }
    }

    fn own() -> Vec<IpAddr> {
        vec![
            "127.0.0.1".parse().unwrap(),
            "10.1.2.3".parse().unwrap(),
            "fd00::3".parse().unwrap(),
        ]
    }

    fn policy(networks: &[&str], listen: &str) -> ConsumerPolicy {
        ConsumerPolicy::new(
            networks
                .iter()
                .map(|n| Network::parse(n).unwrap())
                .collect(),
            &[listen.parse().unwrap()],
        )
        .with_host(Scripted::new(vec![]), own)
    }

    async fn admitted(p: &ConsumerPolicy, url: &str) -> Result<SocketAddr, String> {
        p.admit(url).await.map(|c| c.pinned)
    }

    #[tokio::test]
    async fn special_addresses_are_refused_on_a_network_listener() {
        let p = policy(&[], "0.0.0.0:8080");
        assert!(!p.loopback_allowed());
        for bad in [
            "http://127.0.0.1:9/n",
            "http://127.8.9.10/n",
            "http://[::1]:9/n",
            "http://[::ffff:127.0.0.1]:9/n",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/n",
            "http://224.0.0.1/n",
            "http://255.255.255.255/n",
            "http://[ff02::1]/n",
            "http://0.0.0.0:80/n",
            "http://0.1.2.3/n",
            "http://[::]/n",
            "http://10.1.2.3:8080/onvif/device_service",
            "http://[fd00::3]/n",
        ] {
            let why = admitted(&p, bad).await.unwrap_err();
            assert!(why.contains("events.consumer_networks"), "{bad}: {why}");
            assert!(!why.contains("127.") && !why.contains("169."), "{why}");
        }
        for good in [
            "http://10.1.2.4:9/n",
            "http://192.0.2.7/x",
            "http://[2001:db8::1]/n",
        ] {
            assert!(admitted(&p, good).await.is_ok(), "{good}");
        }
    }

    #[tokio::test]
    async fn loopback_consumers_are_allowed_when_every_listener_is_loopback() {
        let p = policy(&[], "127.0.0.1:0");
        assert!(p.loopback_allowed());
        assert!(admitted(&p, "http://127.0.0.1:9/n").await.is_ok());
        assert!(admitted(&p, "http://[::1]:9/n").await.is_ok());
        // Still refused: link-local, and own non-loopback addresses.
        assert!(admitted(&p, "http://169.254.1.1/n").await.is_err());
        assert!(admitted(&p, "http://10.1.2.3/n").await.is_err());
        let mixed = ConsumerPolicy::new(
            vec![],
            &[
                "127.0.0.1:80".parse().unwrap(),
                "10.1.2.3:80".parse().unwrap(),
            ],
        );
        assert!(!mixed.loopback_allowed());
        assert!(!ConsumerPolicy::new(vec![], &[]).loopback_allowed());
    }

    #[tokio::test]
    async fn consumer_networks_name_refused_ranges_only_narrowly() {
        // 0.0.0.0/0 means "anywhere" but does not open loopback or link-local.
        let any = policy(&["0.0.0.0/0"], "0.0.0.0:80");
        assert!(admitted(&any, "http://127.0.0.1/n").await.is_err());
        assert!(admitted(&any, "http://169.254.1.1/n").await.is_err());
        assert!(admitted(&any, "http://192.0.2.1/n").await.is_ok());
        let named = policy(
            &["127.0.0.0/8", "169.254.7.0/24", "10.1.2.3/32", "10.0.0.0/8"],
            "0.0.0.0:80",
        );
        assert!(admitted(&named, "http://127.0.0.1/n").await.is_ok());
        assert!(admitted(&named, "http://169.254.7.9/n").await.is_ok());
        assert!(admitted(&named, "http://169.254.8.9/n").await.is_err());
        assert!(admitted(&named, "http://10.1.2.3/n").await.is_ok());
        // The LAN named, the device's own address not: refused.
        let lan = policy(&["10.0.0.0/8"], "0.0.0.0:80");
        assert!(admitted(&lan, "http://10.1.2.3/n").await.is_err());
        assert!(admitted(&lan, "http://10.1.2.4/n").await.is_ok());
        // The allow-list still applies to loopback on a loopback-only gateway.
        let why = admitted(
            &policy(&["10.0.0.0/8"], "127.0.0.1:0"),
            "http://127.0.0.1:9/",
        )
        .await
        .unwrap_err();
        assert!(why.contains("consumer_networks"), "{why}");
    }

    #[tokio::test]
    async fn addresses_that_are_not_plain_http_are_refused() {
        let p = policy(&[], "0.0.0.0:80");
        for (bad, says) in [
            ("https://192.0.2.1/n", "https"),
            ("ftp://192.0.2.1/n", "http://"),
            ("not a uri", "URI"),
            ("/relative", "http://"),
            ("http://user:pw@192.0.2.1/n", "user information"),
            ("http://192.0.2.1:0/n", "port 0"),
            ("http://no-such-name.invalid/n", "resolve"),
        ] {
            let why = admitted(&p, bad).await.unwrap_err();
            assert!(why.contains(says), "{bad}: {why}");
        }
    }

    #[tokio::test]
    async fn a_name_is_resolved_once_and_every_address_must_pass() {
        let a: SocketAddr = "192.0.2.10:0".parse().unwrap();
        let r = Scripted::new(vec![vec![a]]);
        let p = policy(&[], "0.0.0.0:80").with_host(r.clone(), own);
        let c = p
            .admit("http://camera-vms.example:8081/notify?x=1")
            .await
            .unwrap();
        assert_eq!(c.pinned, "192.0.2.10:8081".parse().unwrap());
        assert_eq!(c.authority, "camera-vms.example:8081");
        assert_eq!(c.target, "/notify?x=1");
        assert_eq!(r.lookups.lock().len(), 1);
        // A name with one public and one loopback address is refused.
        let mixed = Scripted::new(vec![vec![a, "127.0.0.1:0".parse().unwrap()]]);
        let p = policy(&[], "0.0.0.0:80").with_host(mixed, own);
        assert!(p.admit("http://rebind.example/").await.is_err());
        // Default target and port.
        let p = policy(&[], "0.0.0.0:80").with_host(Scripted::new(vec![vec![a]]), own);
        let c = p.admit("http://vms.example").await.unwrap();
        assert_eq!((c.target.as_str(), c.pinned.port()), ("/", 80));
    }
}
