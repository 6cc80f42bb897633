//! The one seam through which railgate reads and changes the host it runs on
//! (configuration `host.backend`):
//! - `none`: reads the real host (`net`, `clock`) and refuses every change with
//!   [`HostError::NotSupported`]; the capabilities say so, so clients do not offer it;
//! - `sandbox`: a host in a folder (`sandbox.rs`), every change applied there and read back;
//! - `systemd`: the host's own services over D-Bus (`systemd.rs`): host name, clock, time
//!   zone, NTP, reboot, and through NetworkManager interfaces, DNS and gateway.
//!
//! The device service calls only this type; it never reads `net` or `clock` itself, so what
//! a Get reports is what the backend a Set went to holds.

use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;

use super::clock;
use super::net::{self, Dns, Interface, Ntp};
use super::sandbox::Sandbox;
use super::settings::{
    ClockMode, DateTimeChange, DateTimeState, DynamicDns, Gateways, HostCapabilities, HostError,
    Hostname, InterfaceChange,
};
use super::systemd::Systemd;

/// Which backend applies host changes (configuration `host.backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Read the real host, change nothing.
    #[default]
    None,
    /// A host in `host.root`, for tests and demonstrations.
    Sandbox,
    /// The host's services over D-Bus (hostnamed, timedated, timesyncd, logind).
    Systemd,
}

impl BackendKind {
    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::None => "none",
            BackendKind::Sandbox => "sandbox",
            BackendKind::Systemd => "systemd",
        }
    }
}

/// Where backend `kind` installs firmware (`root`: the sandbox's folder): `None` for `none`,
/// which installs nothing. Read before the backend is opened, by a start that finds a trial.
pub fn firmware_dir(
    kind: BackendKind,
    root: Option<&Path>,
    data_dir: &Path,
) -> Option<std::path::PathBuf> {
    match kind {
        BackendKind::None => None,
        BackendKind::Sandbox => root.map(|r| r.join("firmware")),
        BackendKind::Systemd => Some(data_dir.join("firmware")),
    }
}

/// What SystemReboot does with a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootPlan {
    /// railgate stops cleanly and starts itself again; the host keeps running.
    RestartRailgate,
    /// railgate stops cleanly, then the host reboots (logind).
    RebootHost,
}

/// The host, as railgate sees and changes it.
#[derive(Debug)]
pub enum HostBackend {
    /// `none`.
    ReadOnly,
    /// `sandbox`.
    Sandbox(Box<Sandbox>),
    /// `systemd`.
    Systemd(Box<Systemd>),
}

impl HostBackend {
    /// Opens the backend `kind`; `root` is the sandbox's folder.
    ///
    /// # Errors
    /// The sandbox folder or its file cannot be used.
    pub fn open(kind: BackendKind, root: Option<&Path>) -> std::io::Result<HostBackend> {
        match kind {
            BackendKind::None => Ok(HostBackend::ReadOnly),
            BackendKind::Sandbox => {
                let root = root.ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "host.backend sandbox needs host.root",
                    )
                })?;
                Ok(HostBackend::Sandbox(Box::new(Sandbox::open(root)?)))
            }
            BackendKind::Systemd => Ok(HostBackend::Systemd(Box::new(Systemd::new(
                root.unwrap_or(Path::new("/")),
            )))),
        }
    }

    /// The backend's configuration name.
    pub fn kind(&self) -> BackendKind {
        match self {
            HostBackend::ReadOnly => BackendKind::None,
            HostBackend::Sandbox(_) => BackendKind::Sandbox,
            HostBackend::Systemd(_) => BackendKind::Systemd,
        }
    }

    /// What SystemReboot does.
    pub fn reboot_plan(&self) -> RebootPlan {
        match self {
            HostBackend::ReadOnly | HostBackend::Sandbox(_) => RebootPlan::RestartRailgate,
            HostBackend::Systemd(_) => RebootPlan::RebootHost,
        }
    }

    /// SetSystemFactoryDefault Hard's part on the host: its names, network settings and
    /// clock back to the factory's. With `none` railgate never changed any, so there is
    /// nothing to undo.
    pub async fn reset_to_factory(&self) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly => Ok(()),
            HostBackend::Sandbox(s) => s.reset(),
            HostBackend::Systemd(s) => s.reset().await,
        }
    }

    /// Where this backend installs firmware: `None` where it does not (`none`).
    pub fn firmware_dir(&self, data_dir: &Path) -> Option<std::path::PathBuf> {
        let root = match self {
            HostBackend::Sandbox(s) => Some(s.root()),
            _ => None,
        };
        firmware_dir(self.kind(), root, data_dir)
    }

    /// The host's own record of railgate's log (systemd: the journal of its unit), if it
    /// keeps one; `None` means the in-memory ring is the system log.
    pub async fn system_log(&self) -> Option<String> {
        match self {
            HostBackend::Systemd(_) => super::systemd::journal(2000).await,
            HostBackend::ReadOnly | HostBackend::Sandbox(_) => None,
        }
    }

    /// What this backend can change.
    pub fn capabilities(&self) -> HostCapabilities {
        match self {
            HostBackend::ReadOnly => HostCapabilities::default(),
            HostBackend::Sandbox(_) => HostCapabilities {
                clock: true,
                network: true,
                hostname_from_dhcp: true,
                zero_configuration: true,
                dynamic_dns: true,
                ntp_servers: 4,
            },
            HostBackend::Systemd(_) => HostCapabilities {
                clock: true,
                network: true,
                hostname_from_dhcp: true,
                zero_configuration: false,
                dynamic_dns: false,
                ntp_servers: 4,
            },
        }
    }

    fn refuse<T>(&self, what: &str) -> Result<T, HostError> {
        Err(HostError::NotSupported(format!(
            "host.backend is {}: railgate does not change this host's {what}",
            self.kind().name()
        )))
    }

    /// The device's wall clock (what authentication checks a UsernameToken's Created
    /// against, and what GetSystemDateAndTime reports).
    pub fn wall_now(&self) -> SystemTime {
        match self {
            HostBackend::ReadOnly | HostBackend::Systemd(_) => SystemTime::now(),
            HostBackend::Sandbox(s) => s.wall_now(),
        }
    }

    /// The clock, for GetSystemDateAndTime.
    pub async fn date_time(&self) -> DateTimeState {
        match self {
            HostBackend::Systemd(s) => match s.date_time().await {
                Ok(state) => state,
                Err(e) => {
                    // GetSystemDateAndTime must answer (clients call it first): the host's
                    // own clock, as with `none`.
                    tracing::warn!(error = %e, "timedated cannot be read; reporting the host clock");
                    Self::ReadOnly.read_only_date_time()
                }
            },
            HostBackend::ReadOnly => self.read_only_date_time(),
            HostBackend::Sandbox(s) => s.date_time(),
        }
    }

    fn read_only_date_time(&self) -> DateTimeState {
        {
            {
                let wall = SystemTime::now();
                let local = clock::local_time(wall);
                let ntp = clock::clock_synchronized().unwrap_or(false);
                DateTimeState {
                    mode: if ntp {
                        ClockMode::Ntp
                    } else {
                        ClockMode::Manual
                    },
                    dst_now: local.is_some_and(|l| l.dst),
                    tz: clock::posix_tz_cached(),
                    wall,
                    local,
                }
            }
        }
    }

    /// SetSystemDateAndTime.
    pub async fn set_date_time(&self, change: &DateTimeChange) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("clock or time zone"),
            HostBackend::Sandbox(s) => s.set_date_time(change),
            HostBackend::Systemd(s) => s.set_date_time(change).await,
        }
    }

    /// GetHostname.
    pub async fn hostname(&self) -> Hostname {
        let host = || Hostname {
            name: net::hostname(),
            from_dhcp: false,
        };
        match self {
            HostBackend::ReadOnly => host(),
            HostBackend::Sandbox(s) => s.hostname(),
            HostBackend::Systemd(s) => s.hostname().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "hostnamed cannot be read; reporting the kernel's name");
                host()
            }),
        }
    }

    /// SetHostname (an empty name asks for the name from DHCP).
    pub async fn set_hostname(&self, name: &str) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("host name"),
            HostBackend::Sandbox(s) if name.is_empty() => s.set_hostname_from_dhcp(true),
            HostBackend::Sandbox(s) => s.set_hostname(name),
            HostBackend::Systemd(s) => s.set_hostname(name).await,
        }
    }

    /// SetHostnameFromDHCP; the answer is whether a reboot is needed.
    pub async fn set_hostname_from_dhcp(&self, from_dhcp: bool) -> Result<bool, HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("host name"),
            HostBackend::Sandbox(s) => s.set_hostname_from_dhcp(from_dhcp).map(|()| false),
            HostBackend::Systemd(s) => s.set_hostname_from_dhcp(from_dhcp).await.map(|()| false),
        }
    }

    /// GetDNS.
    pub async fn dns(&self) -> Dns {
        match self {
            HostBackend::ReadOnly => net::dns(),
            HostBackend::Systemd(s) => s.dns().await,
            HostBackend::Sandbox(s) => s.dns(),
        }
    }

    /// SetDNS.
    pub async fn set_dns(&self, dns: &Dns) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("DNS settings"),
            HostBackend::Systemd(s) => s.set_dns(dns).await,
            HostBackend::Sandbox(s) => s.set_dns(dns),
        }
    }

    /// GetNTP.
    pub async fn ntp(&self) -> Ntp {
        match self {
            HostBackend::ReadOnly => net::ntp(),
            HostBackend::Sandbox(s) => s.ntp(),
            HostBackend::Systemd(s) => s.ntp(),
        }
    }

    /// SetNTP.
    pub async fn set_ntp(&self, ntp: &Ntp) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("NTP servers"),
            HostBackend::Sandbox(s) => s.set_ntp(ntp),
            HostBackend::Systemd(s) => s.set_ntp(ntp).await,
        }
    }

    /// GetNetworkInterfaces.
    ///
    /// # Errors
    /// The host's interfaces cannot be listed.
    pub async fn interfaces(&self) -> std::io::Result<Vec<Interface>> {
        match self {
            HostBackend::ReadOnly => net::visible_interfaces(),
            HostBackend::Systemd(s) => s.interfaces().await,
            HostBackend::Sandbox(s) => Ok(s.interfaces()),
        }
    }

    /// SetNetworkInterfaces; the answer is whether a reboot is needed.
    pub async fn set_interface(&self, change: &InterfaceChange) -> Result<bool, HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("network interfaces"),
            HostBackend::Systemd(s) => s.set_interface(change).await,
            HostBackend::Sandbox(s) => s.set_interface(change),
        }
    }

    /// GetNetworkDefaultGateway.
    pub async fn gateways(&self) -> Gateways {
        match self {
            HostBackend::ReadOnly => {
                let (v4, v6) = net::default_gateways();
                Gateways { v4, v6 }
            }
            HostBackend::Systemd(s) => s.gateways().await,
            HostBackend::Sandbox(s) => s.gateways(),
        }
    }

    /// SetNetworkDefaultGateway.
    pub async fn set_gateways(&self, gateways: &Gateways) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly => self.refuse("default gateway"),
            HostBackend::Systemd(s) => s.set_gateways(gateways).await,
            HostBackend::Sandbox(s) => s.set_gateways(gateways),
        }
    }

    /// Whether IPv4 link-local addressing is on for `interface`; `None` where the backend
    /// cannot say (the real host: then an address in 169.254/16 is the evidence).
    pub fn zero_configuration(&self, interface: &Interface) -> Option<bool> {
        match self {
            HostBackend::ReadOnly | HostBackend::Systemd(_) => None,
            HostBackend::Sandbox(s) => Some(s.zero_configuration(&interface.name)),
        }
    }

    /// SetZeroConfiguration.
    pub async fn set_zero_configuration(
        &self,
        token: &str,
        enabled: bool,
    ) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly | HostBackend::Systemd(_) => self.refuse("link-local addressing"),
            HostBackend::Sandbox(s) => s.set_zero_configuration(token, enabled),
        }
    }

    /// GetDynamicDNS; `None` where the backend has no dynamic DNS.
    pub fn dynamic_dns(&self) -> Option<DynamicDns> {
        match self {
            HostBackend::ReadOnly | HostBackend::Systemd(_) => None,
            HostBackend::Sandbox(s) => Some(s.dynamic_dns()),
        }
    }

    /// SetDynamicDNS.
    pub async fn set_dynamic_dns(&self, dyn_dns: &DynamicDns) -> Result<(), HostError> {
        match self {
            HostBackend::ReadOnly | HostBackend::Systemd(_) => self.refuse("dynamic DNS"),
            HostBackend::Sandbox(s) => s.set_dynamic_dns(dyn_dns),
        }
    }
}
