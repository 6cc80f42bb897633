//! The sandbox backend (`host.backend: sandbox`): a host that lives in one file,
//! `host.root/host.yaml`, for tests and demonstrations. It starts as a copy of what the
//! real host reports (host name, DNS, NTP, interfaces, gateways, time zone) and from then
//! on every Set changes the file and every Get reads it, so each operation runs end to end
//! without touching the machine. Its clock is the host's clock plus an offset that a manual
//! SetSystemDateAndTime sets and NTP mode clears.
//!
//! Every change is written to a temporary file, synced and renamed over `host.yaml`, so a
//! crash leaves the old or the new state, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::clock;
use super::net::{self, Dns, Interface, Ntp};
use super::settings::{
    ClockMode, DateTimeChange, DateTimeState, DynamicDns, Gateways, HostError, Hostname,
    InterfaceChange, Invalid,
};
use super::tz::PosixTz;

const STATE_FILE: &str = "host.yaml";

/// The sandbox's clock settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct Clock {
    mode: ClockMode,
    daylight_savings: bool,
    tz: Option<String>,
    /// Milliseconds added to the host's clock.
    offset_ms: i64,
}

/// Everything the sandbox host is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    clock: Clock,
    hostname: Hostname,
    dns: Dns,
    ntp: Ntp,
    interfaces: Vec<Interface>,
    gateways: Gateways,
    /// IPv4 link-local addressing per interface.
    zero_configuration: BTreeMap<String, bool>,
    dynamic_dns: DynamicDns,
}

impl State {
    /// What the real host reports now.
    fn from_host() -> State {
        let (v4, v6) = net::default_gateways();
        let tz = clock::posix_tz().filter(|t| PosixTz::parse(t).is_ok());
        State {
            clock: Clock {
                mode: ClockMode::Manual,
                daylight_savings: true,
                tz,
                offset_ms: 0,
            },
            hostname: Hostname {
                name: net::hostname(),
                from_dhcp: false,
            },
            dns: net::dns(),
            ntp: net::ntp(),
            interfaces: net::visible_interfaces().unwrap_or_default(),
            gateways: Gateways { v4, v6 },
            zero_configuration: BTreeMap::new(),
            dynamic_dns: DynamicDns::default(),
        }
    }
}

/// A host in a folder.
#[derive(Debug)]
pub struct Sandbox {
    file: PathBuf,
    state: Mutex<State>,
}

impl Sandbox {
    /// Opens the sandbox in `root`, creating `root/host.yaml` from the real host if it does
    /// not exist yet.
    ///
    /// # Errors
    /// The folder cannot be created, or the file cannot be read, parsed or written.
    pub fn open(root: &Path) -> std::io::Result<Sandbox> {
        std::fs::create_dir_all(root)?;
        let file = root.join(STATE_FILE);
        let state = match std::fs::read_to_string(&file) {
            Ok(text) => serde_yaml::from_str(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", file.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let state = State::from_host();
                write_atomically(&file, &state)?;
                state
            }
            Err(e) => return Err(e),
        };
        Ok(Sandbox {
            file,
            state: Mutex::new(state),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Applies `f` to a copy of the state and stores it; the state changes only if the
    /// file was written.
    fn change<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = guard.clone();
        let out = f(&mut next)?;
        write_atomically(&self.file, &next).map_err(|e| {
            HostError::Failed(format!(
                "the sandbox file {} cannot be written: {e}",
                self.file.display()
            ))
        })?;
        *guard = next;
        Ok(out)
    }

    /// The sandbox's folder.
    pub fn root(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    /// Back to what the real host reports (SetSystemFactoryDefault Hard): names, network,
    /// clock and zone.
    pub fn reset(&self) -> Result<(), HostError> {
        self.change(|s| {
            *s = State::from_host();
            Ok(())
        })
    }

    /// The sandbox's wall clock.
    pub fn wall_now(&self) -> SystemTime {
        let offset = self.read(|s| s.clock.offset_ms);
        shift(SystemTime::now(), offset)
    }

    /// The clock as GetSystemDateAndTime reports it.
    pub fn date_time(&self) -> DateTimeState {
        let clock = self.read(|s| s.clock.clone());
        let wall = shift(SystemTime::now(), clock.offset_ms);
        let tz = clock.tz.as_deref().and_then(|t| PosixTz::parse(t).ok());
        let local = tz
            .as_ref()
            .and_then(|tz| tz.local_time(wall, clock.daylight_savings));
        DateTimeState {
            mode: clock.mode,
            dst_now: local.is_some_and(|l| l.dst),
            tz: clock.tz,
            wall,
            local,
        }
    }

    /// Sets the clock mode, zone and (manual) time.
    pub fn set_date_time(&self, change: &DateTimeChange) -> Result<(), HostError> {
        self.change(|s| {
            if change.mode == ClockMode::Ntp && s.ntp.servers.is_empty() {
                return Err(HostError::Invalid(
                    Invalid::NtpServerUndefined,
                    "NTP mode needs an NTP server: set one with SetNTP first".into(),
                ));
            }
            s.clock.mode = change.mode;
            s.clock.daylight_savings = change.daylight_savings;
            if let Some(tz) = &change.tz {
                s.clock.tz = Some(tz.as_str().to_owned());
            }
            match (change.mode, change.utc) {
                // NTP keeps the clock in step: the sandbox's time source is the host's.
                (ClockMode::Ntp, _) => s.clock.offset_ms = 0,
                (ClockMode::Manual, Some(utc)) => s.clock.offset_ms = millis_between(utc),
                (ClockMode::Manual, None) => {}
            }
            Ok(())
        })
    }

    /// The host name.
    pub fn hostname(&self) -> Hostname {
        self.read(|s| s.hostname.clone())
    }

    /// Sets a fixed host name.
    pub fn set_hostname(&self, name: &str) -> Result<(), HostError> {
        self.change(|s| {
            s.hostname = Hostname {
                name: name.to_owned(),
                from_dhcp: false,
            };
            Ok(())
        })
    }

    /// Takes the host name from DHCP (or not). The sandbox has no DHCP server: the name
    /// stays as it is and is reported as coming from DHCP.
    pub fn set_hostname_from_dhcp(&self, from_dhcp: bool) -> Result<(), HostError> {
        self.change(|s| {
            s.hostname.from_dhcp = from_dhcp;
            Ok(())
        })
    }

    /// The DNS settings.
    pub fn dns(&self) -> Dns {
        self.read(|s| s.dns.clone())
    }

    /// Sets the DNS settings.
    pub fn set_dns(&self, dns: &Dns) -> Result<(), HostError> {
        self.change(|s| {
            s.dns = dns.clone();
            Ok(())
        })
    }

    /// The NTP settings.
    pub fn ntp(&self) -> Ntp {
        self.read(|s| s.ntp.clone())
    }

    /// Sets the NTP servers; refused when it would leave an NTP clock without a server.
    pub fn set_ntp(&self, ntp: &Ntp) -> Result<(), HostError> {
        self.change(|s| {
            if s.clock.mode == ClockMode::Ntp && ntp.servers.is_empty() && !ntp.from_dhcp {
                return Err(HostError::Invalid(
                    Invalid::TimeSyncedToNtp,
                    "the clock follows NTP: it needs a server (switch to Manual first)".into(),
                ));
            }
            s.ntp = ntp.clone();
            Ok(())
        })
    }

    /// The interfaces.
    pub fn interfaces(&self) -> Vec<Interface> {
        self.read(|s| s.interfaces.clone())
    }

    /// Changes one interface. The sandbox applies at once (no reboot needed).
    pub fn set_interface(&self, change: &InterfaceChange) -> Result<bool, HostError> {
        self.change(|s| {
            let Some(i) = s.interfaces.iter_mut().find(|i| i.name == change.token) else {
                return Err(HostError::Invalid(
                    Invalid::NetworkInterface,
                    format!("there is no interface {:?}", change.token),
                ));
            };
            apply_interface(i, change);
            Ok(false)
        })
    }

    /// The default gateways.
    pub fn gateways(&self) -> Gateways {
        self.read(|s| s.gateways.clone())
    }

    /// Sets the default gateways.
    pub fn set_gateways(&self, gateways: &Gateways) -> Result<(), HostError> {
        self.change(|s| {
            s.gateways = gateways.clone();
            Ok(())
        })
    }

    /// Whether IPv4 link-local addressing is on for `token` (off unless set).
    pub fn zero_configuration(&self, token: &str) -> bool {
        self.read(|s| s.zero_configuration.get(token).copied().unwrap_or(false))
    }

    /// Switches IPv4 link-local addressing on `token`.
    pub fn set_zero_configuration(&self, token: &str, enabled: bool) -> Result<(), HostError> {
        self.change(|s| {
            if !s.interfaces.iter().any(|i| i.name == token) {
                return Err(HostError::Invalid(
                    Invalid::NetworkInterface,
                    format!("there is no interface {token:?}"),
                ));
            }
            s.zero_configuration.insert(token.to_owned(), enabled);
            Ok(())
        })
    }

    /// The dynamic DNS settings.
    pub fn dynamic_dns(&self) -> DynamicDns {
        self.read(|s| s.dynamic_dns.clone())
    }

    /// Sets the dynamic DNS settings.
    pub fn set_dynamic_dns(&self, dyn_dns: &DynamicDns) -> Result<(), HostError> {
        self.change(|s| {
            s.dynamic_dns = dyn_dns.clone();
            Ok(())
        })
    }
}

/// Applies a SetNetworkInterfaces change to the sandbox's copy of an interface.
fn apply_interface(i: &mut Interface, change: &InterfaceChange) {
    if let Some(up) = change.enabled {
        i.up = up;
    }
    if let Some(mtu) = change.mtu {
        i.mtu = Some(mtu);
    }
    if let Some(v4) = &change.ipv4 {
        if let Some(dhcp) = v4.dhcp {
            i.dhcp_v4 = dhcp;
        }
        if let Some(manual) = &v4.manual {
            i.set_static_v4(manual.iter().copied());
        }
        if v4.enabled == Some(false) {
            i.ipv4.clear();
            i.dhcp_v4 = false;
        }
    }
    if let Some(v6) = &change.ipv6 {
        if let Some(manual) = &v6.manual {
            i.set_static_v6(manual.iter().copied());
        }
        if v6.enabled == Some(false) {
            i.ipv6.clear();
        }
    }
}

/// `at` moved by `offset_ms`.
fn shift(at: SystemTime, offset_ms: i64) -> SystemTime {
    let d = Duration::from_millis(offset_ms.unsigned_abs());
    if offset_ms >= 0 {
        at.checked_add(d).unwrap_or(at)
    } else {
        at.checked_sub(d).unwrap_or(at)
    }
}

/// Milliseconds from the host's clock now to `target`.
fn millis_between(target: SystemTime) -> i64 {
    let ms = |t: SystemTime| match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    };
    ms(target).saturating_sub(ms(SystemTime::now()))
}

/// Writes `state` to `file` through a synced temporary file and a rename.
fn write_atomically(file: &Path, state: &State) -> std::io::Result<()> {
    let text = serde_yaml::to_string(state)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let tmp = file.with_extension("yaml.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, file)?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::settings::Ipv4Change;

    #[test]
    fn a_change_survives_reopening_and_a_refused_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::open(dir.path()).unwrap();
        sandbox.set_hostname("door-gw-7").unwrap();
        let before = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        let refused = sandbox.set_interface(&InterfaceChange {
            token: "no-such-if".into(),
            ..InterfaceChange::default()
        });
        assert!(matches!(
            refused,
            Err(HostError::Invalid(Invalid::NetworkInterface, _))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap(),
            before
        );
        drop(sandbox);
        let again = Sandbox::open(dir.path()).unwrap();
        assert_eq!(again.hostname().name, "door-gw-7");
    }

    #[test]
    fn a_manual_time_moves_the_sandbox_clock_and_ntp_brings_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::open(dir.path()).unwrap();
        let target = SystemTime::now() + Duration::from_secs(3 * 86400);
        sandbox
            .set_date_time(&DateTimeChange {
                mode: ClockMode::Manual,
                daylight_savings: true,
                tz: Some(PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()),
                utc: Some(target),
            })
            .unwrap();
        let skew = sandbox
            .wall_now()
            .duration_since(target)
            .unwrap_or_default();
        assert!(skew < Duration::from_secs(5), "{skew:?}");
        let state = sandbox.date_time();
        assert_eq!(state.tz.as_deref(), Some("CET-1CEST,M3.5.0,M10.5.0/3"));
        assert!(state.local.is_some());

        sandbox
            .set_ntp(&Ntp {
                servers: vec![net::NtpServer::Name("pool.ntp.org".into())],
                from_dhcp: false,
            })
            .unwrap();
        sandbox
            .set_date_time(&DateTimeChange {
                mode: ClockMode::Ntp,
                daylight_savings: true,
                tz: None,
                utc: None,
            })
            .unwrap();
        let drift = sandbox
            .wall_now()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        assert!(drift < Duration::from_secs(5), "{drift:?}");
        let emptied = sandbox.set_ntp(&Ntp::default());
        assert!(matches!(
            emptied,
            Err(HostError::Invalid(Invalid::TimeSyncedToNtp, _))
        ));
    }

    #[test]
    fn ntp_mode_needs_a_server() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::open(dir.path()).unwrap();
        sandbox.set_ntp(&Ntp::default()).unwrap();
        let refused = sandbox.set_date_time(&DateTimeChange {
            mode: ClockMode::Ntp,
            daylight_savings: false,
            tz: None,
            utc: None,
        });
        assert!(matches!(
            refused,
            Err(HostError::Invalid(Invalid::NtpServerUndefined, _))
        ));
    }

    #[test]
    fn static_addresses_replace_the_old_ones_and_keep_link_local() {
        let mut i = Interface {
            name: "eth0".into(),
            ipv4: vec![
                ("10.1.1.5".parse().unwrap(), 24),
                ("169.254.3.4".parse().unwrap(), 16),
            ],
            dhcp_v4: true,
            ..Interface::default()
        };
        apply_interface(
            &mut i,
            &InterfaceChange {
                token: "eth0".into(),
                ipv4: Some(Ipv4Change {
                    enabled: Some(true),
                    dhcp: Some(false),
                    manual: Some(vec![("192.168.7.9".parse().unwrap(), 24)]),
                }),
                mtu: Some(1400),
                ..InterfaceChange::default()
            },
        );
        assert_eq!(
            i.ipv4,
            vec![
                ("192.168.7.9".parse().unwrap(), 24),
                ("169.254.3.4".parse().unwrap(), 16)
            ]
        );
        assert!(!i.dhcp_v4);
        assert_eq!(i.mtu, Some(1400));
    }
}
