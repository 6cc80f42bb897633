//! What a client may change on the host, as plain values, and the checks every backend
//! shares (host names, MTUs, prefixes). The device service parses a request into one of
//! these; a backend applies it or says why not ([`HostError`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::clock::LocalTime;
use super::tz::PosixTz;

/// How the clock is set (`tt:SetDateTimeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ClockMode {
    /// Set by hand (SetSystemDateAndTime with a UTCDateTime).
    #[default]
    Manual,
    /// Kept by NTP.
    Ntp,
}

/// The clock as GetSystemDateAndTime reports it.
#[derive(Debug, Clone)]
pub struct DateTimeState {
    /// Manual or NTP.
    pub mode: ClockMode,
    /// Daylight saving is in force now.
    pub dst_now: bool,
    /// The POSIX TZ rule, if known.
    pub tz: Option<String>,
    /// The device's wall clock.
    pub wall: SystemTime,
    /// Local time, if it can be computed.
    pub local: Option<LocalTime>,
}

/// A SetSystemDateAndTime request, validated.
#[derive(Debug, Clone)]
pub struct DateTimeChange {
    /// Manual or NTP.
    pub mode: ClockMode,
    /// Apply the daylight part of the zone.
    pub daylight_savings: bool,
    /// The new zone; `None` keeps the current one.
    pub tz: Option<PosixTz>,
    /// The new UTC time (manual mode only); `None` keeps the clock.
    pub utc: Option<SystemTime>,
}

/// The host name and where it comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hostname {
    /// The name (empty if none is assigned).
    pub name: String,
    /// The name comes from DHCP.
    pub from_dhcp: bool,
}

/// Default gateways.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateways {
    /// IPv4 gateways.
    pub v4: Vec<Ipv4Addr>,
    /// IPv6 gateways.
    pub v6: Vec<Ipv6Addr>,
}

/// The IPv4 part of a SetNetworkInterfaces request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipv4Change {
    /// Turn IPv4 on or off; `None` keeps it.
    pub enabled: Option<bool>,
    /// Use DHCP; `None` keeps the current choice.
    pub dhcp: Option<bool>,
    /// Static addresses (replace the current ones when given).
    pub manual: Option<Vec<(Ipv4Addr, u8)>>,
}

/// The IPv6 part of a SetNetworkInterfaces request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ipv6Change {
    /// Turn IPv6 on or off; `None` keeps it.
    pub enabled: Option<bool>,
    /// Static addresses (replace the current ones when given).
    pub manual: Option<Vec<(Ipv6Addr, u8)>>,
}

/// A SetNetworkInterfaces request, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceChange {
    /// The interface token (its kernel name).
    pub token: String,
    /// Bring the interface up or down; `None` keeps it.
    pub enabled: Option<bool>,
    /// New MTU.
    pub mtu: Option<u32>,
    /// IPv4 settings.
    pub ipv4: Option<Ipv4Change>,
    /// IPv6 settings.
    pub ipv6: Option<Ipv6Change>,
}

/// `tt:DynamicDNSType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum DynamicDnsType {
    /// No update.
    #[default]
    NoUpdate,
    /// The DHCP server updates the name.
    ServerUpdates,
    /// The device updates the name itself.
    ClientUpdates,
}

/// The dynamic DNS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicDns {
    /// Who updates.
    pub kind: DynamicDnsType,
    /// The name, when the device updates.
    pub name: Option<String>,
    /// The time to live, as an `xs:duration` text.
    pub ttl: Option<String>,
}

/// What a backend can change, for the capabilities and for refusing early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostCapabilities {
    /// Clock, time zone and NTP mode.
    pub clock: bool,
    /// Host name, DNS, interfaces, default gateway (ONVIF's "network configuration").
    pub network: bool,
    /// The host name can come from DHCP.
    pub hostname_from_dhcp: bool,
    /// IPv4 link-local addressing can be switched.
    pub zero_configuration: bool,
    /// Dynamic DNS can be configured.
    pub dynamic_dns: bool,
    /// The most NTP servers SetNTP takes (0: NTP cannot be configured).
    pub ntp_servers: u8,
}

/// Which request value was refused (the handler picks the `ter:` subcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a POSIX TZ rule.
    TimeZone,
    /// Not a date or time.
    DateTime,
    /// NTP mode without an NTP server.
    NtpServerUndefined,
    /// Removing the NTP servers while the clock follows NTP.
    TimeSyncedToNtp,
    /// Not an RFC 1123 host name.
    Hostname,
    /// A bad IPv4 address or prefix.
    Ipv4Address,
    /// A bad IPv6 address or prefix.
    Ipv6Address,
    /// A bad DNS name.
    DnsName,
    /// No such interface.
    NetworkInterface,
    /// An MTU out of range.
    Mtu,
    /// A gateway address that cannot be one.
    GatewayAddress,
}

/// Why a backend did not apply a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// This backend does not change that (`host.backend: none`, or the host lacks the
    /// service).
    NotSupported(String),
    /// A value of the request cannot be applied.
    Invalid(Invalid, String),
    /// The host failed to apply it.
    Failed(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::NotSupported(s) | HostError::Invalid(_, s) | HostError::Failed(s) => {
                f.write_str(s)
            }
        }
    }
}

/// Whether `name` is a host name by RFC 1123 section 2.1 (labels of letters, digits and
/// inner hyphens, 1–63 characters each, 253 in all; a label may start with a digit).
pub fn is_valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        // An all-numeric last label would read as an address.
        && !name
            .rsplit('.')
            .next()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks an MTU (IPv4's minimum of 68 up to a jumbo frame).
pub fn check_mtu(mtu: u32) -> Result<(), HostError> {
    if (68..=9216).contains(&mtu) {
        Ok(())
    } else {
        Err(HostError::Invalid(
            Invalid::Mtu,
            format!("an MTU of {mtu} is outside 68 to 9216"),
        ))
    }
}

/// Checks a static IPv4 address and prefix an interface may take.
pub fn check_ipv4(address: Ipv4Addr, prefix: u8) -> Result<(), HostError> {
    let bad = |why: &str| {
        Err(HostError::Invalid(
            Invalid::Ipv4Address,
            format!("{address}/{prefix}: {why}"),
        ))
    };
    if !(1..=32).contains(&prefix) {
        return bad("the prefix length must be 1 to 32");
    }
    if address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_loopback()
        || address.octets()[0] >= 240
    {
        return bad("not a unicast host address");
    }
    if prefix <= 30 {
        let host_bits = u32::from(address) & (u32::MAX >> prefix);
        if host_bits == 0 || host_bits == u32::MAX >> prefix {
            return bad("that is the network's or its broadcast address");
        }
    }
    Ok(())
}

/// Checks a static IPv6 address and prefix an interface may take.
pub fn check_ipv6(address: Ipv6Addr, prefix: u8) -> Result<(), HostError> {
    if !(1..=128).contains(&prefix)
        || address.is_unspecified()
        || address.is_multicast()
        || address.is_loopback()
    {
        return Err(HostError::Invalid(
            Invalid::Ipv6Address,
            format!("{address}/{prefix} is not a unicast address with a prefix of 1 to 128"),
        ));
    }
    Ok(())
}

/// Checks a server address (DNS, NTP): any unicast address.
pub fn check_server(address: IpAddr) -> Result<(), HostError> {
    match address {
        IpAddr::V4(a) if a.is_unspecified() || a.is_broadcast() || a.is_multicast() => Err(
            HostError::Invalid(Invalid::Ipv4Address, format!("{a} is not a server address")),
        ),
        IpAddr::V6(a) if a.is_unspecified() || a.is_multicast() => Err(HostError::Invalid(
            Invalid::Ipv6Address,
            format!("{a} is not a server address"),
        )),
        _ => Ok(()),
    }
}

/// Checks a default gateway address.
pub fn check_gateway(address: IpAddr) -> Result<(), HostError> {
    let unusable = match address {
        IpAddr::V4(a) => {
            a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback()
        }
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.is_loopback(),
    };
    if unusable {
        return Err(HostError::Invalid(
            Invalid::GatewayAddress,
            format!("{address} cannot be a gateway"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_follow_rfc_1123() {
        for good in ["railgate", "rg-01", "3com", "a.b.example", "x1"] {
            assert!(is_valid_hostname(good), "{good}");
        }
        let long_label = "a".repeat(64);
        for bad in [
            "",
            "-rg",
            "rg-",
            "rg_01",
            "rg 01",
            "a..b",
            "192.168.0.1",
            long_label.as_str(),
            "rg.",
        ] {
            assert!(!is_valid_hostname(bad), "{bad}");
        }
    }

    #[test]
    fn addresses_an_interface_cannot_take_are_refused() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert!(check_ipv4(a("192.168.1.20"), 24).is_ok());
        assert!(check_ipv4(a("10.0.0.1"), 32).is_ok());
        for (addr, prefix) in [
            ("192.168.1.0", 24),
            ("192.168.1.255", 24),
            ("0.0.0.0", 8),
            ("224.0.0.1", 24),
            ("127.0.0.2", 8),
            ("192.168.1.20", 0),
            ("192.168.1.20", 33),
        ] {
            assert!(
                matches!(
                    check_ipv4(a(addr), prefix),
                    Err(HostError::Invalid(Invalid::Ipv4Address, _))
                ),
                "{addr}/{prefix}"
            );
        }
        assert!(check_ipv6("fd00::5".parse().unwrap(), 64).is_ok());
        assert!(check_ipv6("ff02::1".parse().unwrap(), 64).is_err());
        assert!(check_mtu(1500).is_ok() && check_mtu(67).is_err() && check_mtu(9217).is_err());
        assert!(check_gateway("192.168.1.1".parse().unwrap()).is_ok());
        assert!(matches!(
            check_gateway("255.255.255.255".parse().unwrap()),
            Err(HostError::Invalid(Invalid::GatewayAddress, _))
        ));
    }
}
