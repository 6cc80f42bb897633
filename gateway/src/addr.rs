//! Address values the configuration and the request path both check: an HTTP authority
//! (`host[:port]`) fit for XAddrs, a network in CIDR form, and where to connect to reach a
//! listener. A leaf: it imports nothing of
//! the crate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where to connect to reach a listener bound to `addr`: an unspecified address (`0.0.0.0`,
/// `[::]`) becomes the loopback address of its family, anything else stays.
pub fn connectable(addr: SocketAddr) -> SocketAddr {
    if !addr.ip().is_unspecified() {
        return addr;
    }
    let loopback: IpAddr = if addr.is_ipv6() {
        Ipv6Addr::LOCALHOST.into()
    } else {
        Ipv4Addr::LOCALHOST.into()
    };
    SocketAddr::new(loopback, addr.port())
}

/// The address a client is counted under by per-client limits (connections, lockout): IPv4
/// as is (an IPv4-mapped IPv6 peer as its IPv4 address), IPv6 by its /64, the block one host
/// or site is normally given, so hopping addresses inside it does not multiply a share.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// host, host:port, IPv4, or `[IPv6]:port`; nothing that could smuggle a path or markup.
pub fn is_plausible_authority(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_' | '%')
        })
}

/// A network in CIDR form, for the consumer allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a single address.
    pub fn parse(s: &str) -> Option<Network> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse().ok()?, p.parse().ok()?),
            None => {
                let a: IpAddr = s.trim().parse().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if matches!(addr, IpAddr::V4(_)) {
            32
        } else {
            128
        };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    /// The prefix length (`8` in `10.0.0.0/8`).
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let ((a, width_a), (b, width_b)) = (bits(self.addr), bits(ip));
        if width_a != width_b {
            return false;
        }
        let shift = u32::from(width_a - self.prefix);
        self.prefix == 0 || (a >> shift) == (b >> shift)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unspecified_listener_is_reached_on_loopback() {
        let at = |s: &str| super::connectable(s.parse().unwrap()).to_string();
        assert_eq!(at("0.0.0.0:9898"), "127.0.0.1:9898");
        assert_eq!(at("[::]:9898"), "[::1]:9898");
        assert_eq!(at("192.0.2.1:80"), "192.0.2.1:80");
    }

    use super::*;

    #[test]
    fn authority_check() {
        for ok in ["192.0.2.1:8080", "[::1]:80", "gateway.local", "host_name"] {
            assert!(is_plausible_authority(ok), "{ok}");
        }
        for bad in ["", "a/b", "x\"><y", "a b", "user@host"] {
            assert!(!is_plausible_authority(bad), "{bad}");
        }
    }

    #[test]
    fn networks() {
        let lan = Network::parse("10.0.0.0/8").unwrap();
        assert!(lan.contains("10.1.2.3".parse().unwrap()));
        assert!(lan.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!lan.contains("192.0.2.1".parse().unwrap()));
        assert!(
            Network::parse("127.0.0.1")
                .unwrap()
                .contains("127.0.0.1".parse().unwrap())
        );
        assert!(
            Network::parse("0.0.0.0/0")
                .unwrap()
                .contains("203.0.113.9".parse().unwrap())
        );
        assert!(
            Network::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(Network::parse(bad).is_none(), "{bad}");
        }
    }
}
