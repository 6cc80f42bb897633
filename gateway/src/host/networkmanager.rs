//! The network part of the systemd backend: NetworkManager over D-Bus. Each interface's
//! settings live in one NetworkManager connection profile bound to it (`interface-name`;
//! railgate adds `railgate-<interface>` where there is none). A change reads the profile,
//! changes what the request names, writes it back whole (`Update`) and activates it on the
//! device, so it applies at once (RebootNeeded false). The Gets read the same profiles over
//! the kernel's facts: addresses, DHCP and MTU of a managed interface are what its profile
//! says.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

use super::net::{Dns, Interface};
use super::settings::{Gateways, HostError, InterfaceChange, Invalid};

/// A connection profile: setting name → key → value (`a{sa{sv}}`).
type Profile = HashMap<String, HashMap<String, OwnedValue>>;

#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager"
)]
trait NetworkManager {
    fn get_device_by_ip_iface(&self, iface: &str) -> zbus::Result<OwnedObjectPath>;
    fn activate_connection(
        &self,
        connection: &ObjectPath<'_>,
        device: &ObjectPath<'_>,
        specific_object: &ObjectPath<'_>,
    ) -> zbus::Result<OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager.Settings",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager/Settings"
)]
trait NmSettings {
    fn list_connections(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
    fn add_connection(&self, connection: Profile) -> zbus::Result<OwnedObjectPath>;
}

#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager.Settings.Connection",
    default_service = "org.freedesktop.NetworkManager"
)]
trait NmConnection {
    fn get_settings(&self) -> zbus::Result<Profile>;
    fn update(&self, properties: Profile) -> zbus::Result<()>;
    fn delete(&self) -> zbus::Result<()>;
}

fn failed(what: &str, e: &zbus::Error) -> HostError {
    HostError::Failed(format!("NetworkManager {what}: {e}"))
}

fn owned<'a>(v: impl Into<Value<'a>>) -> OwnedValue {
    OwnedValue::try_from(v.into()).unwrap_or_else(|_| OwnedValue::from(0u32))
}

fn text(p: &Profile, setting: &str, key: &str) -> Option<String> {
    let v = p.get(setting)?.get(key)?;
    String::try_from(v.try_clone().ok()?).ok()
}

/// IPv4 as NetworkManager's `au`: the address bytes in network order, as a u32.
fn nm_v4(a: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(a.octets())
}

/// The profile's IPv4 DNS servers (`ipv4.dns`, `au`).
fn dns_v4(p: &Profile) -> Vec<Ipv4Addr> {
    p.get("ipv4")
        .and_then(|s| s.get("dns"))
        .and_then(|v| Vec::<u32>::try_from(v.try_clone().ok()?).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|n| Ipv4Addr::from(n.to_ne_bytes()))
        .collect()
}

/// The profile's addresses of `setting` (`address-data`: `aa{sv}` of address and prefix).
fn addresses<A: std::str::FromStr>(p: &Profile, setting: &str) -> Vec<(A, u8)> {
    let Some(v) = p.get(setting).and_then(|s| s.get("address-data")) else {
        return Vec::new();
    };
    let Ok(list) =
        Vec::<HashMap<String, OwnedValue>>::try_from(v.try_clone().unwrap_or_else(|_| owned(0u32)))
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|d| {
            let a = String::try_from(d.get("address")?.try_clone().ok()?).ok()?;
            let prefix = u32::try_from(d.get("prefix")?.try_clone().ok()?).ok()?;
            Some((a.parse().ok()?, u8::try_from(prefix).ok()?))
        })
        .collect()
}

fn address_data<A: ToString>(list: &[(A, u8)]) -> OwnedValue {
    let dicts: Vec<HashMap<String, OwnedValue>> = list
        .iter()
        .map(|(a, p)| {
            HashMap::from([
                ("address".to_string(), owned(a.to_string())),
                ("prefix".to_string(), owned(u32::from(*p))),
            ])
        })
        .collect();
    owned(dicts)
}

/// NetworkManager on the system bus.
#[derive(Debug)]
pub(super) struct Nm<'a> {
    bus: &'a zbus::Connection,
}

impl<'a> Nm<'a> {
    pub(super) fn new(bus: &'a zbus::Connection) -> Self {
        Nm { bus }
    }

    /// The connection profile object at `path`.
    async fn connection(&self, path: &OwnedObjectPath) -> Result<NmConnectionProxy<'a>, HostError> {
        NmConnectionProxy::builder(self.bus)
            .path(path.clone())
            .map_err(|e| failed("Connection", &e))?
            .build()
            .await
            .map_err(|e| failed("Connection", &e))
    }

    /// Every profile with the interface it is bound to.
    async fn profiles(&self) -> Result<Vec<(String, OwnedObjectPath, Profile)>, HostError> {
        let settings = NmSettingsProxy::new(self.bus)
            .await
            .map_err(|e| failed("Settings", &e))?;
        let mut out = Vec::new();
        for path in settings
            .list_connections()
            .await
            .map_err(|e| failed("ListConnections", &e))?
        {
            let conn = self.connection(&path).await?;
            let profile = conn
                .get_settings()
                .await
                .map_err(|e| failed("GetSettings", &e))?;
            if let Some(iface) = text(&profile, "connection", "interface-name") {
                out.push((iface, path, profile));
            }
        }
        Ok(out)
    }

    /// The profile bound to `iface`, created if there is none.
    async fn profile_of(&self, iface: &str) -> Result<(OwnedObjectPath, Profile), HostError> {
        if let Some((_, path, p)) = self
            .profiles()
            .await?
            .into_iter()
            .find(|(i, _, _)| i == iface)
        {
            return Ok((path, p));
        }
        let profile: Profile = HashMap::from([
            (
                "connection".to_string(),
                HashMap::from([
                    ("id".to_string(), owned(format!("railgate-{iface}"))),
                    ("type".to_string(), owned("802-3-ethernet")),
                    ("interface-name".to_string(), owned(iface)),
                    ("autoconnect".to_string(), owned(true)),
                ]),
            ),
            (
                "ipv4".to_string(),
                HashMap::from([("method".to_string(), owned("auto"))]),
            ),
            (
                "ipv6".to_string(),
                HashMap::from([("method".to_string(), owned("auto"))]),
            ),
        ]);
        let settings = NmSettingsProxy::new(self.bus)
            .await
            .map_err(|e| failed("Settings", &e))?;
        let path = settings
            .add_connection(profile.clone())
            .await
            .map_err(|e| failed("AddConnection", &e))?;
        Ok((path, profile))
    }

    /// Writes `profile` back and activates it on `iface`'s device.
    async fn apply(
        &self,
        iface: &str,
        path: &OwnedObjectPath,
        profile: Profile,
    ) -> Result<(), HostError> {
        let nm = NetworkManagerProxy::new(self.bus)
            .await
            .map_err(|e| failed("", &e))?;
        let device = nm.get_device_by_ip_iface(iface).await.map_err(|_| {
            HostError::Invalid(
                Invalid::NetworkInterface,
                format!("NetworkManager does not manage {iface:?}"),
            )
        })?;
        let conn = self.connection(path).await?;
        conn.update(profile)
            .await
            .map_err(|e| failed("Update", &e))?;
        nm.activate_connection(path, &device, &ObjectPath::from_static_str_unchecked("/"))
            .await
            .map_err(|e| failed("ActivateConnection", &e))?;
        Ok(())
    }

    /// SetNetworkInterfaces on `change.token`'s profile.
    pub(super) async fn set_interface(&self, change: &InterfaceChange) -> Result<(), HostError> {
        let iface = change.token.as_str();
        let (path, mut p) = self.profile_of(iface).await?;
        if let Some(mtu) = change.mtu {
            p.entry("802-3-ethernet".into())
                .or_default()
                .insert("mtu".into(), owned(mtu));
        }
        if let Some(v4) = &change.ipv4 {
            let s = p.entry("ipv4".into()).or_default();
            if let Some(manual) = &v4.manual {
                s.insert("address-data".into(), address_data(manual));
            }
            let method = match (v4.enabled, v4.dhcp) {
                (Some(false), _) => Some("disabled"),
                (_, Some(true)) => Some("auto"),
                (_, Some(false)) => Some("manual"),
                _ if v4.manual.is_some() => Some("manual"),
                _ => None,
            };
            if let Some(m) = method {
                s.insert("method".into(), owned(m));
            }
        }
        if let Some(v6) = &change.ipv6 {
            let s = p.entry("ipv6".into()).or_default();
            if let Some(manual) = &v6.manual {
                s.insert("address-data".into(), address_data(manual));
                s.insert("method".into(), owned("manual"));
            }
            if v6.enabled == Some(false) {
                s.insert("method".into(), owned("disabled"));
            }
        }
        self.apply(iface, &path, p).await
    }

    /// SetDNS on the profile of `iface` (the primary interface).
    pub(super) async fn set_dns(&self, iface: &str, dns: &Dns) -> Result<(), HostError> {
        let (path, mut p) = self.profile_of(iface).await?;
        let v4: Vec<u32> = dns
            .servers
            .iter()
            .filter_map(|s| match s {
                IpAddr::V4(a) => Some(nm_v4(*a)),
                IpAddr::V6(_) => None,
            })
            .collect();
        let v6: Vec<Vec<u8>> = dns
            .servers
            .iter()
            .filter_map(|s| match s {
                IpAddr::V6(a) => Some(a.octets().to_vec()),
                IpAddr::V4(_) => None,
            })
            .collect();
        let s4 = p.entry("ipv4".into()).or_default();
        s4.insert("dns".into(), owned(v4));
        s4.insert("dns-search".into(), owned(dns.search.clone()));
        s4.insert("ignore-auto-dns".into(), owned(!dns.from_dhcp));
        let s6 = p.entry("ipv6".into()).or_default();
        s6.insert("dns".into(), owned(v6));
        s6.insert("ignore-auto-dns".into(), owned(!dns.from_dhcp));
        self.apply(iface, &path, p).await
    }

    /// SetNetworkDefaultGateway on the profile of `iface` (the first gateway of each family).
    pub(super) async fn set_gateways(
        &self,
        iface: &str,
        gateways: &Gateways,
    ) -> Result<(), HostError> {
        let (path, mut p) = self.profile_of(iface).await?;
        let s4 = p.entry("ipv4".into()).or_default();
        match gateways.v4.first() {
            Some(g) => s4.insert("gateway".into(), owned(g.to_string())),
            None => s4.remove("gateway"),
        };
        let s6 = p.entry("ipv6".into()).or_default();
        match gateways.v6.first() {
            Some(g) => s6.insert("gateway".into(), owned(g.to_string())),
            None => s6.remove("gateway"),
        };
        self.apply(iface, &path, p).await
    }

    /// Factory default Hard: the profiles railgate added are deleted (their interfaces go
    /// back to NetworkManager's defaults); profiles the host had stay.
    pub(super) async fn reset(&self) -> Result<(), HostError> {
        for (_, path, p) in self.profiles().await? {
            if text(&p, "connection", "id").is_some_and(|id| id.starts_with("railgate-")) {
                self.connection(&path)
                    .await?
                    .delete()
                    .await
                    .map_err(|e| failed("Delete", &e))?;
            }
        }
        Ok(())
    }

    /// The kernel's interfaces with what their profiles say laid over them.
    pub(super) async fn overlay(&self, interfaces: &mut [Interface]) -> Result<(), HostError> {
        let profiles = self.profiles().await?;
        for i in interfaces.iter_mut() {
            let Some((_, _, p)) = profiles.iter().find(|(n, _, _)| *n == i.name) else {
                continue;
            };
            if let Some(mtu) = p
                .get("802-3-ethernet")
                .and_then(|s| s.get("mtu"))
                .and_then(|v| u32::try_from(v.try_clone().ok()?).ok())
                .filter(|&m| m > 0)
            {
                i.mtu = Some(mtu);
            }
            match text(p, "ipv4", "method").as_deref() {
                Some("manual") => {
                    i.dhcp_v4 = false;
                    i.set_static_v4(addresses::<Ipv4Addr>(p, "ipv4"));
                }
                Some("auto") => i.dhcp_v4 = true,
                Some("disabled") => {
                    i.ipv4.clear();
                    i.dhcp_v4 = false;
                }
                _ => {}
            }
            if text(p, "ipv6", "method").as_deref() == Some("manual") {
                i.set_static_v6(addresses::<Ipv6Addr>(p, "ipv6"));
            }
        }
        Ok(())
    }

    /// The DNS settings of `iface`'s profile, if it has one.
    pub(super) async fn dns(&self, iface: &str) -> Result<Option<Dns>, HostError> {
        let profiles = self.profiles().await?;
        let Some((_, _, p)) = profiles.iter().find(|(n, _, _)| n == iface) else {
            return Ok(None);
        };
        let ignore_auto = p
            .get("ipv4")
            .and_then(|s| s.get("ignore-auto-dns"))
            .and_then(|v| bool::try_from(v.try_clone().ok()?).ok())
            .unwrap_or(false);
        let search = p
            .get("ipv4")
            .and_then(|s| s.get("dns-search"))
            .and_then(|v| Vec::<String>::try_from(v.try_clone().ok()?).ok())
            .unwrap_or_default();
        Ok(Some(Dns {
            servers: dns_v4(p).into_iter().map(IpAddr::V4).collect(),
            search,
            from_dhcp: !ignore_auto,
        }))
    }

    /// The default gateways the profiles name.
    pub(super) async fn gateways(&self) -> Result<Gateways, HostError> {
        let mut g = Gateways::default();
        for (_, _, p) in self.profiles().await? {
            if let Some(a) = text(&p, "ipv4", "gateway").and_then(|t| t.parse().ok()) {
                g.v4.push(a);
            }
            if let Some(a) = text(&p, "ipv6", "gateway").and_then(|t| t.parse().ok()) {
                g.v6.push(a);
            }
        }
        Ok(g)
    }
}
