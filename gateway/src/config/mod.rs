//! The YAML configuration an integrator writes, with defaults that are safe.
//!
//! Every key is optional; unknown keys are errors (a typo must not silently fall back to a
//! default). Errors carry file, line and column: a value's position comes from the mapping
//! crate's YAML node index (`railgate_mappings::Doc`), the one locator both files use.
//!
//! The text is read as YAML by [`Doc::read`] first, as a mapping file is: a syntax error is
//! reported as one, with its line and column. serde's own errors become diagnostics with the
//! key path, a "did you mean" and a hint in `errors.rs`.
//!
//! Checks use leaf validators only (`addr`, `device::scope`): the configuration sits below
//! everything that reads it.

mod errors;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use railgate_mappings::{Diagnostic, Diagnostics, Doc, Source};
use serde::Deserialize;

use crate::addr::{Network, is_plausible_authority};
use crate::device::scope::is_valid_scope;
use crate::host::BackendKind;

/// The built-in demo configuration, used when no `--config` is given.
pub const DEMO_YAML: &str = include_str!("../demo.yaml");

/// The whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// What the device says about itself.
    pub device: DeviceConfig,
    /// HTTP/SOAP server settings.
    pub server: ServerConfig,
    /// Authentication settings.
    pub security: SecurityConfig,
    /// The event store and subscriptions.
    pub events: EventsConfig,
    /// WS-Discovery.
    pub discovery: DiscoveryConfig,
    /// How the host itself (clock, names, network) is read and changed.
    pub host: HostConfig,
    /// The Prometheus metrics listener.
    pub metrics: MetricsConfig,
    /// The data folder (state database, event store); relative paths are taken from the
    /// working directory.
    pub data_dir: Option<PathBuf>,
    /// The mapping file (controllers, inputs, relays, values, commands: see
    /// `mappings/README.md`); a relative path is taken from this file's folder. Without one,
    /// the gateway serves no inputs or relays.
    pub mapping: Option<PathBuf>,
    /// The file this configuration was read from (`None` for the built-in demo); not a key.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The command line's settings put over the file's (kept so a reload puts them again).
    #[serde(skip)]
    pub overrides: Overrides,
}

/// Command-line flags that replace keys of the file (empty: the file's value stays).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// `--listen`: `server.listen`.
    pub listen: Vec<SocketAddr>,
    /// `--tls-listen`: `server.tls_listen`.
    pub tls_listen: Vec<SocketAddr>,
    /// `--metrics-listen`: `metrics.listen`.
    pub metrics_listen: Vec<SocketAddr>,
    /// `--discovery-interfaces`: `discovery.interfaces`.
    pub discovery_interfaces: Vec<String>,
}

impl Config {
    /// The configured mapping, compiled (None: no mapping configured).
    pub fn checked_mapping(&self) -> Result<Option<railgate_mappings::Checked>, Diagnostics> {
        self.mapping
            .as_deref()
            .map(railgate_mappings::check_file)
            .transpose()
    }

    /// Puts `overrides` over the file's settings, and keeps them.
    pub fn override_with(&mut self, overrides: Overrides) {
        if !overrides.listen.is_empty() {
            self.server.listen = overrides.listen.clone();
        }
        if !overrides.tls_listen.is_empty() {
            self.server.tls_listen = overrides.tls_listen.clone();
        }
        if !overrides.metrics_listen.is_empty() {
            self.metrics.listen = overrides.metrics_listen.clone();
        }
        if !overrides.discovery_interfaces.is_empty() {
            self.discovery.interfaces = overrides.discovery_interfaces.clone();
        }
        self.overrides = overrides;
    }
}

/// Identity of the device, as GetDeviceInformation and the scopes report it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// Manufacturer.
    pub manufacturer: String,
    /// Model; also the fixed `hardware` scope.
    pub model: String,
    /// Firmware version; defaults to railgate's version.
    pub firmware_version: String,
    /// Serial number; defaults to one derived from the host's machine id.
    pub serial_number: Option<String>,
    /// Hardware id.
    pub hardware_id: String,
    /// Initial `name` scope (clients may change it with SetScopes).
    pub name: String,
    /// Initial `location` scope (clients may change it).
    pub location: Option<String>,
    /// Further fixed scope URIs, e.g. `onvif://www.onvif.org/Profile/...` once a profile is
    /// conformed to, or site-specific ones.
    pub fixed_scopes: Vec<String>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            manufacturer: "railgate".into(),
            model: "railgate-gateway".into(),
            firmware_version: env!("CARGO_PKG_VERSION").into(),
            serial_number: None,
            hardware_id: "railgate-1".into(),
            name: "railgate".into(),
            location: None,
            fixed_scopes: Vec::new(),
        }
    }
}

/// The HTTP server.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Addresses to listen on (plain HTTP).
    pub listen: Vec<SocketAddr>,
    /// Host (and port) to put in XAddrs instead of the request's Host header, for clients
    /// behind NAT or port forwards whose Host header is not reachable.
    pub advertised_address: Option<String>,
    /// Largest request body accepted, in bytes (larger: HTTP 413).
    pub max_body_bytes: usize,
    /// Deepest XML nesting accepted.
    pub max_xml_depth: usize,
    /// Time a client has to send a request head, in seconds: from connecting, or from the
    /// first byte of a later request on a keep-alive connection.
    pub header_timeout_secs: u64,
    /// Time a keep-alive connection may stay idle between requests, in seconds.
    pub idle_timeout_secs: u64,
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Most connections from one client (an IPv4 address, an IPv6 /64); beyond it a client
    /// gets HTTP 503. At most `max_connections`; the default, half of it, leaves the other
    /// half to everyone else while one VMS server holds hundreds of long polls.
    pub max_connections_per_address: usize,
    /// Time a client has to send the request body, in seconds.
    pub body_timeout_secs: u64,
    /// Addresses to serve HTTPS on (`[]`: none), beside `listen`; the device certificate is
    /// made on first start if there is none (`<data_dir>/tls/`).
    pub tls_listen: Vec<SocketAddr>,
    /// Time a TLS client has to complete its handshake, in seconds.
    pub tls_handshake_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([0, 0, 0, 0], 8080))],
            advertised_address: None,
            max_body_bytes: 256 * 1024,
            max_xml_depth: 32,
            header_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: 1024,
            max_connections_per_address: 512,
            body_timeout_secs: 10,
            tls_listen: Vec::new(),
            tls_handshake_timeout_secs: 10,
        }
    }
}

/// The event store and subscriptions.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Delete stored events older than this many days (0: never by age; at most 36525).
    pub retention_days: u64,
    /// Keep at most this many stored events (0: no limit).
    pub max_events: u64,
    /// Bound on the event store's write-ahead log, in MiB (4 to 65536): past half of it the
    /// log is checkpointed and restarted, so an event storm cannot grow it further.
    pub max_wal_mib: u64,
    /// Delete the oldest stored events while the event database's size in use passes this
    /// many MiB (0: no size limit; else 16 to 1048576), besides age and count.
    pub max_store_mib: u64,
    /// Most pull-point subscriptions at once (MaxPullPoints), 1 to 100000.
    pub max_pull_points: usize,
    /// Most pull points one user (all anonymous clients together are one) holds at once,
    /// 1 to 100000 (above `max_pull_points`, the global limit is the bound);
    /// Administrators are bounded by `max_pull_points` alone.
    pub max_pull_points_per_user: usize,
    /// Most basic-notification (push) subscriptions at once (MaxNotificationProducers),
    /// 0 to 10000 (0: Subscribe refused).
    pub max_push_subscriptions: usize,
    /// Most push subscriptions one user holds at once, 0 to 10000 (above
    /// `max_push_subscriptions`, the global limit is the bound); Administrators are bounded
    /// by `max_push_subscriptions` alone.
    pub max_push_subscriptions_per_user: usize,
    /// Networks basic-notification consumers may be in (CIDR, e.g. `10.0.0.0/8`); empty
    /// means any address except loopback, link-local, multicast, unspecified and the
    /// device's own, which are refused unless a network here names them (no wider than the
    /// refused range: `127.0.0.0/8`, `169.254.0.0/16`, an own address as `/32`). Loopback
    /// is allowed when every listen address is loopback. Keeps railgate from being used to
    /// send requests to hosts a client could not reach itself.
    pub consumer_networks: Vec<String>,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            retention_days: 30,
            max_events: 1_000_000,
            max_wal_mib: 64,
            max_store_mib: 256,
            max_pull_points: 512,
            max_pull_points_per_user: 256,
            max_push_subscriptions: 32,
            max_push_subscriptions_per_user: 8,
            consumer_networks: Vec::new(),
        }
    }
}

/// The Prometheus metrics (`GET /metrics`): off unless `listen` names an address.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where to serve them, e.g. `[127.0.0.1:9898]`; empty (the default): not served.
    pub listen: Vec<SocketAddr>,
}

/// WS-Discovery: which interfaces announce the device and answer probes.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// `[all]` (every interface that is up and has multicast), interface names such as
    /// `[eth0, eth1]`, or `[off]`. The default is loopback only, so nothing is announced on a
    /// network until a site configuration says so (`deploy/railgate.example.yaml` shows how).
    pub interfaces: Vec<String>,
    /// Also announce the `dn:NetworkVideoTransmitter` type, for VMSs that probe only for it.
    pub network_video_transmitter: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            interfaces: vec!["lo".into()],
            network_video_transmitter: false,
        }
    }
}

/// The host seam (`gateway/src/host/backend.rs`): which backend applies SetSystemDateAndTime,
/// SetHostname, SetDNS, SetNTP, SetNetworkInterfaces and the other host changes.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// `none` (the default: read the host, refuse every change with the standard fault),
    /// `sandbox` (a host kept in the folder `root`, for tests and demonstrations) or
    /// `systemd` (the host's services over D-Bus: hostnamed, timedated, timesyncd, logind).
    pub backend: BackendKind,
    /// The sandbox's folder; for `systemd`, the root its files are written under (the
    /// timesyncd drop-in; default `/`). A relative path is taken from the working directory.
    pub root: Option<PathBuf>,
    /// The project's release key (ed25519 public key, base64) firmware packages must be
    /// signed with; installed by the package.
    pub release_key: PathBuf,
    /// How long an upgraded railgate has to answer before it is rolled back.
    pub upgrade_trial_secs: u64,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            backend: BackendKind::None,
            root: None,
            release_key: PathBuf::from("/usr/share/railgate/release-key.pub"),
            upgrade_trial_secs: 120,
        }
    }
}

/// Authentication.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Accept WS-Security PasswordText (the password in clear). Off by default.
    pub allow_password_text: bool,
    /// Largest accepted difference between a UsernameToken's Created and the device clock,
    /// in seconds; 0 switches the check off (for clients with broken clocks; the nonce replay
    /// cache still protects).
    pub created_window_secs: u64,
    /// HTTP Digest realm.
    pub realm: String,
    /// Lifetime of an HTTP Digest nonce, in seconds.
    pub digest_nonce_lifetime_secs: u64,
    /// Failed logins of one user name from one address tolerated within
    /// `lockout_window_secs` (then that user is locked out at that address only).
    pub lockout_after_failures: u32,
    /// Window in which failed logins are counted, in seconds.
    pub lockout_window_secs: u64,
    /// First lockout, in seconds; it doubles for repeated lockouts.
    pub lockout_secs: u64,
    /// Longest lockout, in seconds.
    pub max_lockout_secs: u64,
    /// Most users (MaxUsers).
    pub max_users: usize,
    /// Shortest password accepted by CreateUsers and SetUser.
    pub min_password_length: usize,
    /// Users that can be neither deleted nor changed through ONVIF.
    pub fixed_users: Vec<String>,
    /// UsernameToken nonces remembered at once for ONE user (each user has its own share;
    /// each nonce until its token goes stale). When a user's share is full its oldest entry is
    /// dropped and that user's tokens not newer than it are refused from then on (a nonce is
    /// never forgotten and then accepted); other users are not affected. The default covers
    /// ~33 tokens/s of one user over the default window without shortening it.
    pub replay_cache_size: usize,
    /// Largest accepted lead of a UsernameToken's Created over the device clock, in seconds
    /// (while `created_window_secs` is on).
    pub max_clock_skew_secs: u64,
    /// Authentications per second one user may sustain (verified credentials only; over it:
    /// HTTP 429); 0 switches the limit off.
    pub auth_rate_per_user: u32,
    /// Authentications one user may make in a burst above `auth_rate_per_user`.
    pub auth_burst_per_user: u32,
    /// HTTP Digest nonces whose counts are tracked for ONE user; the least recently used is
    /// dropped beyond it (its later use gets `stale=true`, and the client takes a new nonce).
    pub digest_nonces_per_user: usize,
    /// Failed logins from one address over all user names tolerated within
    /// `lockout_window_secs`, against password spraying (then the address is locked out).
    pub lockout_address_failures: u32,
    /// Lockout records kept (pairs of address and user name, and addresses); the least
    /// recently seen goes when it is full.
    pub lockout_table_size: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            allow_password_text: false,
            created_window_secs: 300,
            realm: "railgate".into(),
            digest_nonce_lifetime_secs: 300,
            lockout_after_failures: 5,
            lockout_window_secs: 60,
            lockout_secs: 30,
            max_lockout_secs: 900,
            max_users: 32,
            min_password_length: 8,
            fixed_users: Vec::new(),
            replay_cache_size: 10_000,
            max_clock_skew_secs: 5,
            auth_rate_per_user: 500,
            auth_burst_per_user: 1000,
            digest_nonces_per_user: 4096,
            lockout_address_failures: 50,
            lockout_table_size: 10_000,
        }
    }
}

impl Config {
    /// Parses a configuration text; `path` names it in diagnostics.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
        // YAML syntax and duplicate keys first, exactly as for a mapping file.
        let (doc, _) = Doc::read(path, text)?;
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text).map_err(|e| Diagnostics(vec![errors::diagnose(&doc, &e)]))?
        };
        config.validate(&doc)?;
        Ok(config)
    }

    /// Parses a configuration text read from `path`, taking a relative `mapping` path from
    /// the file's folder.
    pub fn from_file_text(path: &Path, text: &str) -> Result<Config, Diagnostics> {
        let mut config = Self::parse(path, text)?;
        config.source = Some(path.to_path_buf());
        if let Some(mapping) = &config.mapping
            && mapping.is_relative()
            && let Some(dir) = path.parent()
        {
            config.mapping = Some(dir.join(mapping));
        }
        Ok(config)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostics(vec![Diagnostic::at(
                &Source::new(path, ""),
                0,
                0,
                "",
                format!("cannot read: {e}"),
            )])
        })?;
        Self::from_file_text(path, &text)
    }

    /// The built-in demo configuration.
    pub fn demo() -> Config {
        Self::parse(Path::new("<built-in demo>"), DEMO_YAML)
            .expect("the built-in demo configuration is valid")
    }

    /// The checks serde cannot express; each problem points at its key (`pointer` is a JSON
    /// pointer into the file, e.g. `/server/listen`).
    fn validate(&self, doc: &Doc) -> Result<(), Diagnostics> {
        let mut problems = Vec::new();
        let mut problem = |pointer: &str, message: String| {
            problems.push(doc.at_key(pointer, message));
        };
        if self.server.listen.is_empty() {
            problem("/server/listen", "at least one address is needed".into());
        }
        if let Some(a) = &self.server.advertised_address
            && !is_plausible_authority(a)
        {
            problem(
                "/server/advertised_address",
                format!("{a:?} is not a host or host:port"),
            );
        }
        if !(1..=60).contains(&self.server.tls_handshake_timeout_secs) {
            problem(
                "/server/tls_handshake_timeout_secs",
                "must be between 1 and 60".into(),
            );
        }
        if self.server.max_body_bytes < 1024 {
            problem("/server/max_body_bytes", "must be at least 1024".into());
        }
        if !(4..=256).contains(&self.server.max_xml_depth) {
            problem("/server/max_xml_depth", "must be between 4 and 256".into());
        }
        if self.security.max_users == 0 {
            problem("/security/max_users", "must be at least 1".into());
        }
        let sec = &self.security;
        for (key, value, range) in [
            (
                "/security/lockout_after_failures",
                u64::from(sec.lockout_after_failures),
                1..=1000,
            ),
            (
                "/security/created_window_secs",
                sec.created_window_secs,
                0..=86_400,
            ),
            (
                "/security/digest_nonce_lifetime_secs",
                sec.digest_nonce_lifetime_secs,
                1..=86_400,
            ),
            (
                "/security/lockout_window_secs",
                sec.lockout_window_secs,
                1..=86_400,
            ),
            ("/security/lockout_secs", sec.lockout_secs, 1..=86_400),
            (
                "/security/max_lockout_secs",
                sec.max_lockout_secs,
                1..=604_800,
            ),
            (
                "/security/replay_cache_size",
                sec.replay_cache_size as u64,
                100..=10_000_000,
            ),
            (
                "/security/max_clock_skew_secs",
                sec.max_clock_skew_secs,
                0..=3600,
            ),
            (
                "/security/auth_rate_per_user",
                u64::from(sec.auth_rate_per_user),
                0..=10_000_000,
            ),
            (
                "/security/auth_burst_per_user",
                u64::from(sec.auth_burst_per_user),
                1..=10_000_000,
            ),
            (
                "/security/digest_nonces_per_user",
                sec.digest_nonces_per_user as u64,
                16..=1_000_000,
            ),
            (
                "/security/lockout_address_failures",
                u64::from(sec.lockout_address_failures),
                1..=1_000_000,
            ),
            (
                "/security/lockout_table_size",
                sec.lockout_table_size as u64,
                100..=10_000_000,
            ),
            (
                "/security/min_password_length",
                sec.min_password_length as u64,
                1..=64,
            ),
            (
                "/server/header_timeout_secs",
                self.server.header_timeout_secs,
                1..=3600,
            ),
            (
                "/server/idle_timeout_secs",
                self.server.idle_timeout_secs,
                1..=3600,
            ),
            (
                "/server/max_connections",
                self.server.max_connections as u64,
                16..=65_536,
            ),
            (
                "/server/body_timeout_secs",
                self.server.body_timeout_secs,
                1..=3600,
            ),
            ("/events/max_wal_mib", self.events.max_wal_mib, 4..=65_536),
            (
                "/events/retention_days",
                self.events.retention_days,
                0..=36_525,
            ),
        ] {
            if !range.contains(&value) {
                problem(
                    key,
                    format!("must be between {} and {}", range.start(), range.end()),
                );
            }
        }
        let per_address = self.server.max_connections_per_address;
        if per_address == 0 || per_address > self.server.max_connections {
            problem(
                "/server/max_connections_per_address",
                format!(
                    "must be between 1 and max_connections ({})",
                    self.server.max_connections
                ),
            );
        }
        let store_mib = self.events.max_store_mib;
        if store_mib != 0 && !(16..=1_048_576).contains(&store_mib) {
            problem(
                "/events/max_store_mib",
                "must be 0 (no size limit) or between 16 and 1048576".into(),
            );
        }
        if self.security.realm.is_empty() || self.security.realm.contains('"') {
            problem(
                "/security/realm",
                "must be non-empty and without quotes".into(),
            );
        }
        let ev = &self.events;
        if !(1..=100_000).contains(&ev.max_pull_points) {
            problem(
                "/events/max_pull_points",
                "must be between 1 and 100000".into(),
            );
        }
        if !(1..=100_000).contains(&ev.max_pull_points_per_user) {
            problem(
                "/events/max_pull_points_per_user",
                "must be between 1 and 100000".into(),
            );
        }
        if ev.max_push_subscriptions > 10_000 {
            problem(
                "/events/max_push_subscriptions",
                "must be between 0 and 10000".into(),
            );
        }
        if ev.max_push_subscriptions_per_user > 10_000 {
            problem(
                "/events/max_push_subscriptions_per_user",
                "must be between 0 and 10000".into(),
            );
        }
        for (i, net) in self.events.consumer_networks.iter().enumerate() {
            if Network::parse(net).is_none() {
                problem(
                    &format!("/events/consumer_networks/{i}"),
                    format!("{net:?} is not a network such as 10.0.0.0/8"),
                );
            }
        }
        for (i, name) in self.discovery.interfaces.iter().enumerate() {
            if let Some(meant) = errors::interface_keyword(name) {
                problem(
                    &format!("/discovery/interfaces/{i}"),
                    format!(
                        "{name:?} is not `all`, `off` or an interface name; did you mean `{meant}`?"
                    ),
                );
            }
        }
        if !(5..=3600).contains(&self.host.upgrade_trial_secs) {
            problem(
                "/host/upgrade_trial_secs",
                "must be between 5 and 3600".into(),
            );
        }
        match (self.host.backend, &self.host.root) {
            (BackendKind::Sandbox, None) => problem(
                "/host/backend",
                "the sandbox backend needs `root`, the folder its host lives in".into(),
            ),
            (BackendKind::None, Some(_)) => problem(
                "/host/root",
                "`root` is the sandbox's folder; it means nothing with backend none".into(),
            ),
            _ => {}
        }
        for (i, scope) in self.device.fixed_scopes.iter().enumerate() {
            if !is_valid_scope(scope) {
                problem(
                    &format!("/device/fixed_scopes/{i}"),
                    format!("{scope:?} is not an absolute URI"),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_and_example_configs_parse() {
        let demo = Config::demo();
        assert!(!demo.server.listen.is_empty());
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/railgate.example.yaml"
        );
        let example = Config::load(Path::new(example)).unwrap_or_else(|d| panic!("{d}"));
        // It claims to show the defaults: discovery stays on loopback until a site opens it.
        assert_eq!(
            example.discovery.interfaces,
            DiscoveryConfig::default().interfaces
        );
        let mapping = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/site-mapping.example.yaml"
        );
        let plan =
            railgate_mappings::load_file(Path::new(mapping)).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(plan.controllers.len(), 2);
    }

    #[test]
    fn a_relative_mapping_path_is_taken_from_the_config_file_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("railgate.yaml");
        std::fs::write(&path, "mapping: site/mapping.yaml\n").unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.mapping, Some(dir.path().join("site/mapping.yaml")));
        std::fs::write(&path, "mapping: /etc/railgate/m.yaml\n").unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.mapping, Some(PathBuf::from("/etc/railgate/m.yaml")));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse(Path::new("x.yaml"), "").unwrap();
        assert_eq!(
            c.server.listen,
            vec![SocketAddr::from(([0, 0, 0, 0], 8080))]
        );
        assert!(!c.security.allow_password_text);
    }

    #[test]
    fn unknown_key_reports_line_column_and_path() {
        let d =
            Config::parse(Path::new("site.yaml"), "device:\n  model: x\n  nmae: y\n").unwrap_err();
        let text = d.to_string();
        assert!(
            text.starts_with("site.yaml:3:3: error: unknown key `nmae`; did you mean `name`?"),
            "{text}"
        );
        assert!(text.contains("(at `device.nmae`)"), "{text}");
    }

    #[test]
    fn bad_value_reports_its_position() {
        let d = Config::parse(
            Path::new("s.yaml"),
            "server:\n  listen:\n    - 0.0.0.0:80\n    - nonsense\n",
        )
        .unwrap_err();
        assert_eq!((d.0[0].line, d.0[0].column), (4, 7), "{d}");
    }

    #[test]
    fn per_user_auth_settings_default_bound_and_match_the_example() {
        let d = SecurityConfig::default();
        assert_eq!(
            (
                d.replay_cache_size,
                d.max_clock_skew_secs,
                d.auth_rate_per_user,
                d.auth_burst_per_user,
                d.digest_nonces_per_user,
                d.lockout_address_failures,
                d.lockout_table_size
            ),
            (10_000, 5, 500, 1000, 4096, 50, 10_000)
        );
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/railgate.example.yaml"
        );
        let e = Config::load(Path::new(example)).unwrap().security;
        assert_eq!(
            (
                e.replay_cache_size,
                e.auth_rate_per_user,
                e.digest_nonces_per_user
            ),
            (
                d.replay_cache_size,
                d.auth_rate_per_user,
                d.digest_nonces_per_user
            )
        );
        // 0 switches the rate off; the other bounds refuse nonsense.
        assert!(Config::parse(Path::new("s.yaml"), "security:\n  auth_rate_per_user: 0\n").is_ok());
        let yaml = "security:\n  replay_cache_size: 10\n  auth_burst_per_user: 0\n  digest_nonces_per_user: 1\n  lockout_address_failures: 0\n  lockout_table_size: 5\n  max_clock_skew_secs: 100000\n";
        let d = Config::parse(Path::new("s.yaml"), yaml).unwrap_err();
        let mut found: Vec<_> = d.0.iter().map(|d| d.path.as_str()).collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                "security.auth_burst_per_user",
                "security.digest_nonces_per_user",
                "security.lockout_address_failures",
                "security.lockout_table_size",
                "security.max_clock_skew_secs",
                "security.replay_cache_size",
            ]
        );
    }

    #[test]
    fn numeric_settings_are_bounded() {
        let yaml = "security:\n  created_window_secs: 99999999999\n  lockout_secs: 0\n";
        let d = Config::parse(Path::new("s.yaml"), yaml).unwrap_err();
        let found: Vec<_> = d.0.iter().map(|d| (d.path.as_str(), d.line)).collect();
        assert_eq!(
            found,
            [
                ("security.created_window_secs", 2),
                ("security.lockout_secs", 3)
            ]
        );
    }

    #[test]
    fn retention_days_is_bounded() {
        let d = Config::parse(
            Path::new("s.yaml"),
            "events:\n  retention_days: 18446744073709551615\n",
        )
        .unwrap_err();
        assert_eq!(d.0[0].path, "events.retention_days", "{d}");
        assert!(Config::parse(Path::new("s.yaml"), "events:\n  retention_days: 36525\n").is_ok());
    }

    #[test]
    fn the_example_events_section_shows_the_defaults() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/railgate.example.yaml"
        );
        let e = Config::load(Path::new(example)).unwrap().events;
        let d = EventsConfig::default();
        let key = |c: &EventsConfig| {
            (
                c.retention_days,
                c.max_events,
                c.max_wal_mib,
                c.max_store_mib,
                c.max_pull_points,
                c.max_pull_points_per_user,
                c.max_push_subscriptions,
                c.max_push_subscriptions_per_user,
                c.consumer_networks.clone(),
            )
        };
        assert_eq!(key(&e), key(&d));
    }

    #[test]
    fn store_bounds_have_defaults_and_ranges() {
        let c = Config::parse(Path::new("s.yaml"), "").unwrap();
        assert_eq!((c.events.max_wal_mib, c.events.max_store_mib), (64, 256));
        let ok = "events:\n  max_wal_mib: 4\n  max_store_mib: 0\n";
        let c = Config::parse(Path::new("s.yaml"), ok).unwrap();
        assert_eq!((c.events.max_wal_mib, c.events.max_store_mib), (4, 0));
        let yaml = "events:\n  max_wal_mib: 2\n  max_store_mib: 8\n";
        let d = Config::parse(Path::new("s.yaml"), yaml).unwrap_err();
        let found: Vec<_> = d.0.iter().map(|d| (d.path.as_str(), d.line)).collect();
        assert_eq!(
            found,
            [("events.max_wal_mib", 2), ("events.max_store_mib", 3)]
        );
    }

    #[test]
    fn semantic_errors_are_all_reported_with_positions() {
        let yaml = "server:\n  listen: []\n  max_xml_depth: 1000\nsecurity:\n  max_users: 0\n";
        let d = Config::parse(Path::new("s.yaml"), yaml).unwrap_err();
        let found: Vec<_> = d.0.iter().map(|d| (d.path.as_str(), d.line)).collect();
        assert_eq!(
            found,
            [
                ("server.listen", 2),
                ("server.max_xml_depth", 3),
                ("security.max_users", 5)
            ]
        );
    }

    #[test]
    fn a_bad_list_item_is_pointed_at_itself() {
        let yaml = "device:\n  fixed_scopes:\n    - urn:site:lobby\n    - not a uri\nevents:\n  consumer_networks: [10.0.0.0/8, nope]\n";
        let d = Config::parse(Path::new("s.yaml"), yaml).unwrap_err();
        let found: Vec<_> =
            d.0.iter()
                .map(|d| (d.path.as_str(), d.line, d.column))
                .collect();
        assert_eq!(
            found,
            [
                ("events.consumer_networks[1]", 6, 35),
                ("device.fixed_scopes[1]", 4, 7),
            ]
        );
    }

    #[test]
    fn subscription_limits_default_and_range() {
        let c = Config::parse(Path::new("x.yaml"), "").unwrap();
        let ev = &c.events;
        assert_eq!(
            (
                ev.max_pull_points,
                ev.max_pull_points_per_user,
                ev.max_push_subscriptions,
                ev.max_push_subscriptions_per_user
            ),
            (512, 256, 32, 8)
        );
        // A per-user limit above the global one is allowed (the global one bounds it).
        let c = Config::parse(
            Path::new("x.yaml"),
            "events:\n  max_pull_points: 2\n  max_push_subscriptions: 0\n",
        )
        .unwrap();
        assert_eq!(c.events.max_pull_points_per_user, 256);
        let yaml = "events:\n  max_pull_points: 0\n  max_pull_points_per_user: 0\n  max_push_subscriptions: 10001\n  max_push_subscriptions_per_user: 10001\n";
        let d = Config::parse(Path::new("s.yaml"), yaml).unwrap_err();
        let found: Vec<_> = d.0.iter().map(|d| (d.path.as_str(), d.line)).collect();
        assert_eq!(
            found,
            [
                ("events.max_pull_points", 2),
                ("events.max_pull_points_per_user", 3),
                ("events.max_push_subscriptions", 4),
                ("events.max_push_subscriptions_per_user", 5)
            ]
        );
    }
}
