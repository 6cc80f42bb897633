//! The systemd backend (`host.backend: systemd`): host changes through the host's own
//! services over D-Bus, on the system bus found the standard way (`DBUS_SYSTEM_BUS_ADDRESS`
//! when set, so tests point it at a private bus with mocks of these services):
//! - hostnamed: `SetStaticHostname` (an empty static name lets the DHCP one show);
//! - timedated: `SetNTP`, `SetTimezone` (the POSIX rule mapped to a zone: `zones.rs`),
//!   `SetTime` (manual mode, after NTP is off, as timedated requires);
//! - systemd-timesyncd: its servers in the drop-in `etc/systemd/timesyncd.conf.d/
//!   50-railgate.conf` under `host.root` (default `/`), then `TryRestartUnit` of
//!   `systemd-timesyncd.service` through systemd (timesyncd has no D-Bus setter);
//! - logind: `Reboot`, after railgate's clean stop (`reboot_host`).
//!
//! - NetworkManager: interfaces (addresses, DHCP, MTU), DNS and the default gateway, on each
//!   interface's connection profile (`networkmanager.rs`).
//!
//! Permissions come from polkit rules for the service user (`deploy/polkit/`), not from
//! running as root.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;

use super::net::{self, Dns, Interface, Ntp, NtpServer};
use super::networkmanager::Nm;
use super::settings::{
    ClockMode, DateTimeChange, DateTimeState, Gateways, HostError, Hostname, InterfaceChange,
    Invalid,
};
use super::tz::PosixTz;
use super::zones;

#[zbus::proxy(
    interface = "org.freedesktop.hostname1",
    default_service = "org.freedesktop.hostname1",
    default_path = "/org/freedesktop/hostname1"
)]
trait Hostname1 {
    fn set_static_hostname(&self, hostname: &str, interactive: bool) -> zbus::Result<()>;
    #[zbus(property)]
    fn hostname(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn static_hostname(&self) -> zbus::Result<String>;
}

#[zbus::proxy(
    interface = "org.freedesktop.timedate1",
    default_service = "org.freedesktop.timedate1",
    default_path = "/org/freedesktop/timedate1"
)]
trait Timedate1 {
    fn set_time(&self, usec_utc: i64, relative: bool, interactive: bool) -> zbus::Result<()>;
    fn set_timezone(&self, timezone: &str, interactive: bool) -> zbus::Result<()>;
    #[zbus(name = "SetNTP")]
    fn set_ntp(&self, use_ntp: bool, interactive: bool) -> zbus::Result<()>;
    #[zbus(property)]
    fn timezone(&self) -> zbus::Result<String>;
    #[zbus(property, name = "NTP")]
    fn ntp(&self) -> zbus::Result<bool>;
}

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait Login1 {
    fn reboot(&self, interactive: bool) -> zbus::Result<()>;
}

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1"
)]
trait Systemd1 {
    fn try_restart_unit(
        &self,
        name: &str,
        mode: &str,
    ) -> zbus::Result<zbus::zvariant::OwnedObjectPath>;
}

/// The timesyncd drop-in railgate writes, under `host.root`.
const TIMESYNCD_DROPIN: &str = "etc/systemd/timesyncd.conf.d/50-railgate.conf";
/// Its first line when the servers come from DHCP.
const FROM_DHCP_MARK: &str = "# railgate: NTP servers from DHCP";

/// A failed D-Bus call as a host error, saying what to install when it was refused.
fn failed(what: &str, e: &zbus::Error) -> HostError {
    let refused = matches!(e, zbus::Error::MethodError(name, _, _)
        if name.as_str().ends_with("AccessDenied")
            || name.as_str().ends_with("InteractiveAuthorizationRequired"));
    if refused {
        HostError::Failed(format!(
            "{what}: the host refused it ({e}); install railgate's polkit rule (deploy/polkit/50-railgate.rules)"
        ))
    } else {
        HostError::Failed(format!("{what}: {e}"))
    }
}

/// The systemd backend.
#[derive(Debug)]
pub struct Systemd {
    root: PathBuf,
    zoneinfo: PathBuf,
    bus: OnceCell<zbus::Connection>,
}

impl Systemd {
    /// A backend writing its files under `root`; the bus is connected at first use.
    pub fn new(root: &Path) -> Systemd {
        Systemd {
            root: root.to_path_buf(),
            zoneinfo: PathBuf::from(zones::ZONEINFO),
            bus: OnceCell::new(),
        }
    }

    async fn bus(&self) -> Result<&zbus::Connection, HostError> {
        self.bus
            .get_or_try_init(zbus::Connection::system)
            .await
            .map_err(|e| HostError::Failed(format!("cannot reach the system bus: {e}")))
    }

    async fn hostnamed(&self) -> Result<Hostname1Proxy<'static>, HostError> {
        let bus = self.bus().await?.clone();
        Hostname1Proxy::new(&bus)
            .await
            .map_err(|e| failed("hostnamed", &e))
    }

    async fn timedated(&self) -> Result<Timedate1Proxy<'static>, HostError> {
        let bus = self.bus().await?.clone();
        Timedate1Proxy::new(&bus)
            .await
            .map_err(|e| failed("timedated", &e))
    }

    /// The host name from hostnamed (an empty static name: the DHCP one is in use).
    pub async fn hostname(&self) -> Result<Hostname, HostError> {
        let h = self.hostnamed().await?;
        let name = h.hostname().await.map_err(|e| failed("hostnamed", &e))?;
        let static_name = h
            .static_hostname()
            .await
            .map_err(|e| failed("hostnamed", &e))?;
        Ok(Hostname {
            from_dhcp: static_name.is_empty(),
            name,
        })
    }

    /// Sets the static host name; an empty one hands the name to DHCP.
    pub async fn set_hostname(&self, name: &str) -> Result<(), HostError> {
        self.hostnamed()
            .await?
            .set_static_hostname(name, false)
            .await
            .map_err(|e| failed("SetStaticHostname", &e))
    }

    /// Takes the name from DHCP (clears the static one) or keeps the current one as static.
    pub async fn set_hostname_from_dhcp(&self, from_dhcp: bool) -> Result<(), HostError> {
        let name = if from_dhcp {
            String::new()
        } else {
            self.hostname().await?.name
        };
        self.set_hostname(&name).await
    }

    /// The clock as timedated reports it; local time from the zone's POSIX rule.
    pub async fn date_time(&self) -> Result<DateTimeState, HostError> {
        let t = self.timedated().await?;
        let ntp = t.ntp().await.map_err(|e| failed("timedated", &e))?;
        let zone = t.timezone().await.map_err(|e| failed("timedated", &e))?;
        let tz = zones::rule_of(&self.zoneinfo, &zone);
        let wall = SystemTime::now();
        let local = tz
            .as_deref()
            .and_then(|r| PosixTz::parse(r).ok())
            .and_then(|r| r.local_time(wall, true));
        Ok(DateTimeState {
            mode: if ntp {
                ClockMode::Ntp
            } else {
                ClockMode::Manual
            },
            dst_now: local.is_some_and(|l| l.dst),
            tz,
            wall,
            local,
        })
    }

    /// Applies SetSystemDateAndTime: the zone first, then NTP on or off, then (manual mode)
    /// the time.
    pub async fn set_date_time(&self, change: &DateTimeChange) -> Result<(), HostError> {
        let zone = match &change.tz {
            Some(tz) => Some(
                zones::zone_for(&self.zoneinfo, tz, change.daylight_savings).ok_or_else(|| {
                    HostError::Invalid(
                        Invalid::TimeZone,
                        format!("no time zone of this host has the rule {tz}"),
                    )
                })?,
            ),
            None => None,
        };
        if change.mode == ClockMode::Ntp && self.ntp().servers.is_empty() {
            return Err(HostError::Invalid(
                Invalid::NtpServerUndefined,
                "NTP mode needs an NTP server: set one with SetNTP first".into(),
            ));
        }
        let t = self.timedated().await?;
        if let Some(zone) = &zone {
            t.set_timezone(zone, false)
                .await
                .map_err(|e| failed("SetTimezone", &e))?;
        }
        t.set_ntp(change.mode == ClockMode::Ntp, false)
            .await
            .map_err(|e| failed("SetNTP", &e))?;
        if let (ClockMode::Manual, Some(utc)) = (change.mode, change.utc) {
            let usec = utc
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
            t.set_time(usec, false, false)
                .await
                .map_err(|e| failed("SetTime", &e))?;
        }
        Ok(())
    }

    fn dropin(&self) -> PathBuf {
        self.root.join(TIMESYNCD_DROPIN)
    }

    /// The NTP servers: railgate's timesyncd drop-in when there is one, else the host's.
    pub fn ntp(&self) -> Ntp {
        match std::fs::read_to_string(self.dropin()) {
            Ok(text) => Ntp {
                from_dhcp: text.starts_with(FROM_DHCP_MARK),
                servers: net::parse_timesyncd(&text),
            },
            Err(_) => net::ntp(),
        }
    }

    /// Writes the timesyncd drop-in and restarts timesyncd if it runs.
    pub async fn set_ntp(&self, ntp: &Ntp) -> Result<(), HostError> {
        let servers: Vec<String> = ntp
            .servers
            .iter()
            .map(|s| match s {
                NtpServer::Ip(IpAddr::V6(a)) => a.to_string(),
                NtpServer::Ip(a) => a.to_string(),
                NtpServer::Name(n) => n.clone(),
            })
            .collect();
        let mut text = String::new();
        if ntp.from_dhcp {
            text.push_str(FROM_DHCP_MARK);
            text.push('\n');
        }
        text.push_str(
            "# Written by railgate (ONVIF SetNTP); removed by a factory default.\n[Time]\n",
        );
        // An empty NTP= resets the list, so the servers DHCP gave are used.
        text.push_str(&format!("NTP={}\n", servers.join(" ")));
        let path = self.dropin();
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("conf.tmp");
            std::fs::write(&tmp, &text)?;
            std::fs::rename(&tmp, &path)
        };
        write()
            .map_err(|e| HostError::Failed(format!("{} cannot be written: {e}", path.display())))?;
        self.restart_timesyncd().await
    }

    /// Restarts systemd-timesyncd, if it runs, so it reads its configuration again.
    async fn restart_timesyncd(&self) -> Result<(), HostError> {
        let bus = self.bus().await?.clone();
        Systemd1Proxy::new(&bus)
            .await
            .map_err(|e| failed("systemd", &e))?
            .try_restart_unit("systemd-timesyncd.service", "replace")
            .await
            .map_err(|e| failed("TryRestartUnit systemd-timesyncd.service", &e))?;
        Ok(())
    }

    /// Factory default Hard: the drop-in removed (timesyncd back to the host's servers) and
    /// the host name handed back to DHCP.
    pub async fn reset(&self) -> Result<(), HostError> {
        match std::fs::remove_file(self.dropin()) {
            Ok(()) => self.restart_timesyncd().await?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(HostError::Failed(format!(
                    "{}: {e}",
                    self.dropin().display()
                )));
            }
        }
        Nm::new(self.bus().await?).reset().await?;
        self.set_hostname("").await
    }
}

/// The unit this process runs in (from its cgroup), if it is a service.
fn own_unit() -> Option<String> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    cgroup
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .find(|c| c.ends_with(".service"))
        .map(str::to_owned)
}

/// The last `lines` journal records of railgate's unit (its own unit, else
/// `railgate.service`), read with `journalctl`; `None` if there is no journal to read.
pub async fn journal(lines: usize) -> Option<String> {
    let unit = own_unit().unwrap_or_else(|| "railgate.service".into());
    let out = tokio::process::Command::new("journalctl")
        .arg(format!("--unit={unit}"))
        .args(["--no-pager", "--output=short-iso-precise", "--quiet"])
        .arg(format!("--lines={lines}"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(std::time::Duration::from_secs(10), out).await {
        Ok(Ok(o)) if o.status.success() && !o.stdout.is_empty() => {
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Ok(Ok(o)) => {
            tracing::debug!(status = %o.status, "journalctl gave nothing");
            None
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "journalctl cannot run");
            None
        }
        Err(_) => {
            tracing::warn!("journalctl did not answer within 10 s");
            None
        }
    }
}

impl Systemd {
    /// The interface DNS and the default gateway are set on: the primary one.
    fn primary_interface() -> Result<String, HostError> {
        let interfaces = net::visible_interfaces()
            .map_err(|e| HostError::Failed(format!("the interfaces cannot be listed: {e}")))?;
        net::primary(&interfaces)
            .map(|i| i.name.clone())
            .ok_or_else(|| HostError::Failed("the host has no network interface".into()))
    }

    /// SetNetworkInterfaces through NetworkManager; applied at once.
    pub async fn set_interface(&self, change: &InterfaceChange) -> Result<bool, HostError> {
        let known = net::visible_interfaces()
            .map_err(|e| HostError::Failed(format!("the interfaces cannot be listed: {e}")))?;
        if !known.iter().any(|i| i.name == change.token) {
            return Err(HostError::Invalid(
                Invalid::NetworkInterface,
                format!("there is no interface {:?}", change.token),
            ));
        }
        Nm::new(self.bus().await?).set_interface(change).await?;
        Ok(false)
    }

    /// SetDNS on the primary interface's profile.
    pub async fn set_dns(&self, dns: &Dns) -> Result<(), HostError> {
        let iface = Self::primary_interface()?;
        Nm::new(self.bus().await?).set_dns(&iface, dns).await
    }

    /// SetNetworkDefaultGateway on the primary interface's profile.
    pub async fn set_gateways(&self, gateways: &Gateways) -> Result<(), HostError> {
        let iface = Self::primary_interface()?;
        Nm::new(self.bus().await?)
            .set_gateways(&iface, gateways)
            .await
    }

    /// The kernel's interfaces with NetworkManager's profiles over them.
    pub async fn interfaces(&self) -> std::io::Result<Vec<Interface>> {
        let mut interfaces = net::visible_interfaces()?;
        if let Ok(bus) = self.bus().await
            && let Err(e) = Nm::new(bus).overlay(&mut interfaces).await
        {
            tracing::debug!(error = %e, "NetworkManager's profiles cannot be read; the kernel's facts only");
        }
        Ok(interfaces)
    }

    /// The primary interface's DNS profile, else the resolver's.
    pub async fn dns(&self) -> Dns {
        if let (Ok(iface), Ok(bus)) = (Self::primary_interface(), self.bus().await)
            && let Ok(Some(dns)) = Nm::new(bus).dns(&iface).await
        {
            return dns;
        }
        net::dns()
    }

    /// The gateways the profiles name, else the kernel's routes.
    pub async fn gateways(&self) -> Gateways {
        if let Ok(bus) = self.bus().await
            && let Ok(g) = Nm::new(bus).gateways().await
            && (!g.v4.is_empty() || !g.v6.is_empty())
        {
            return g;
        }
        let (v4, v6) = net::default_gateways();
        Gateways { v4, v6 }
    }
}

/// Reboots the host through logind (after railgate stopped cleanly).
pub async fn reboot_host() -> Result<(), HostError> {
    let bus = zbus::Connection::system()
        .await
        .map_err(|e| HostError::Failed(format!("cannot reach the system bus: {e}")))?;
    Login1Proxy::new(&bus)
        .await
        .map_err(|e| failed("logind", &e))?
        .reboot(false)
        .await
        .map_err(|e| failed("Reboot", &e))
}
