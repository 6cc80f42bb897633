//! The composition root: [`App::build`] builds every state owner the requests share
//! (configuration, identity, users, the security gate, scopes, events, the southbound side)
//! from the configuration and the mapping, once at start. Nothing here decides anything:
//! the gate decides on requests (`security::gate`), handlers serve them (`services`), and
//! the owners below keep their own rules.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use railgate_mappings::plan::Plan;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::device::identity::Identity;
use crate::device::lifecycle::Lifecycle;
use crate::device::protocols::NetworkProtocols;
use crate::device::scope::{self, FixedFacts};
use crate::device::scopes::{DiscoveryMode, ScopeStore};
use crate::events::consumer::ConsumerPolicy;
use crate::events::core::EventCore;
use crate::events::store::{EventStore, StoreConfig, StoreError};
use crate::events::subscription::Subscriptions;
use crate::events::topics::TopicRegistry;
use crate::host::HostBackend;
use crate::keystore::Keystore;
use crate::logring::LogRing;
use crate::security::Secret;
use crate::security::digest::DigestAuth;
use crate::security::gate::Gate;
use crate::security::ip_filter::IpFilter;
use crate::security::policy::AccessPolicy;
use crate::security::settings::GateSettings;
use crate::security::throttle::Throttle;
use crate::security::user_rate::UserRate;
use crate::security::users::{BootstrapError, UserDirectory, UserLimits};
use crate::security::wsse::WsseVerifier;
use crate::southbound::Southbound;
use crate::state::{StateDb, StateError};
use crate::xml::Limits;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The first Administrator could not be created.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// The event store could not be opened.
    #[error(transparent)]
    Events(#[from] StoreError),
    /// The host backend could not be opened (the sandbox folder).
    #[error("host backend: {0}")]
    Host(std::io::Error),
    /// The keystore file could not be read.
    #[error("keystore: {0}")]
    Keystore(String),
}

/// The gateway.
#[derive(Debug)]
pub struct App {
    /// The configuration in force.
    pub config: Config,
    /// Device identity.
    pub identity: Identity,
    /// The state database.
    pub db: Arc<StateDb>,
    /// Users and their credentials (the gate reads the same store).
    pub users: Arc<UserDirectory>,
    /// Authentication and authorization: UsernameToken, HTTP Digest, lockout, access policy.
    pub gate: Gate,
    /// Discovery scopes.
    pub scopes: ScopeStore,
    /// Discovery mode.
    pub discovery_mode: DiscoveryMode,
    /// The stable WS-Discovery endpoint reference (`urn:uuid:...`).
    pub endpoint_reference: String,
    /// The addresses and ports railgate serves HTTP on (SetNetworkProtocols changes them).
    pub protocols: NetworkProtocols,
    /// Bounds on request XML.
    pub xml_limits: Limits,
    /// Raises events (into the durable store).
    pub events: EventCore,
    /// Event subscriptions and pull points.
    pub subscriptions: Arc<Subscriptions>,
    /// The topics railgate can emit.
    pub topics: Arc<TopicRegistry>,
    /// Cancelled when the gateway stops: long polls end, background tasks stop.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Which basic-notification consumers Subscribe admits (and pins).
    pub consumer_policy: ConsumerPolicy,
    /// The southbound side: the mapping's controllers, inputs, relays and commands.
    pub io: Arc<Southbound>,
    /// Notified when what WS-Discovery announces changes (scopes, discovery mode).
    /// The WS-Discovery settings in force (`discovery`; a reload replaces them, and the
    /// WS-Discovery task starts again with them).
    pub discovery: tokio::sync::watch::Sender<crate::config::DiscoveryConfig>,
    pub discovery_changed: Arc<tokio::sync::Notify>,
    /// The host: its clock, names and network, read and changed through one backend.
    pub host: HostBackend,
    /// What the device is asked to do once stopped (SystemReboot: restart).
    pub lifecycle: Lifecycle,
    /// What clients did (GetSystemLog Access): changes, actions, secret reads, refusals.
    pub access_log: LogRing,
    /// Which client addresses may talk to the device (SetIPAddressFilter).
    pub ip_filter: Arc<IpFilter>,
    /// Keys, certificates and the HTTPS server's certificate (Advanced Security).
    pub keystore: Arc<Keystore>,
    /// Which user levels may call each access class (the gate reads the same one).
    pub access_policy: Arc<AccessPolicy>,
    /// The Prometheus metrics (served with `metrics.listen`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl App {
    /// The metrics' scrape-time values, read from the owners.
    pub fn metrics_snapshot(&self) -> crate::metrics::Snapshot {
        let (pull_points, push) = self.subscriptions.counts();
        let stats = self.events.store().stats();
        crate::metrics::Snapshot {
            pull_points: pull_points as i64,
            push: push as i64,
            events_stored: self.events.store().latest_seq(),
            events_deleted_for_size: stats.deleted_for_size,
            store_bytes: stats.used_bytes as i64,
            wal_bytes: stats.largest_wal_bytes as i64,
            links: self
                .io
                .plan()
                .controllers
                .iter()
                .map(|c| (c.name.clone(), self.io.link_up(&c.name)))
                .collect(),
            link_stats: self.io.link_stats(),
        }
    }

    /// Opens the state in `data_dir` and builds the gateway around the mapping `plan`.
    /// `admin_password` seeds the first Administrator when there is no user yet.
    pub fn build(
        config: Config,
        plan: Plan,
        data_dir: &Path,
        served: Vec<SocketAddr>,
        admin_password: Option<Secret>,
    ) -> Result<App, StartError> {
        let db = Arc::new(StateDb::open(data_dir)?);
        let sec = &config.security;
        let users = Arc::new(UserDirectory::load(
            db.clone(),
            UserLimits {
                max_users: sec.max_users,
                min_password_len: sec.min_password_length,
                fixed_users: sec.fixed_users.clone(),
                ..UserLimits::default()
            },
        )?);
        users.bootstrap(admin_password, data_dir)?;
        let serial_number = match &config.device.serial_number {
            Some(s) => s.clone(),
            None => persistent_setting(&db, "serial_number", derive_serial)?,
        };
        let endpoint_reference = persistent_setting(&db, "endpoint_reference", || {
            format!("urn:uuid:{}", uuid::Uuid::new_v4())
        })?;
        let d = &config.device;
        let identity = Identity {
            manufacturer: d.manufacturer.clone(),
            model: d.model.clone(),
            firmware_version: d.firmware_version.clone(),
            serial_number,
            hardware_id: d.hardware_id.clone(),
        };
        let discovery = tokio::sync::watch::Sender::new(config.discovery.clone());
        let discovery_changed = Arc::new(tokio::sync::Notify::new());
        let fixed_scopes = scope::fixed_scopes(FixedFacts {
            model: &d.model,
            mac: crate::host::net::primary_mac(),
            serial_number: &identity.serial_number,
            extra: &d.fixed_scopes,
        });
        let initial_scopes = scope::initial_scopes(&d.name, d.location.as_deref());
        let scopes = ScopeStore::load(
            db.clone(),
            fixed_scopes,
            initial_scopes,
            discovery_changed.clone(),
        )?;
        let discovery_mode = DiscoveryMode::load(db.clone(), discovery_changed.clone())?;
        let settings = GateSettings::of(sec);
        let wsse = WsseVerifier::new(settings.wsse);
        let digest = DigestAuth::new(sec.realm.clone(), settings.nonce_lifetime)
            .with_nonces_per_user(sec.digest_nonces_per_user);
        let throttle = Throttle::new(settings.throttle);
        let rate = UserRate::new(settings.rate);
        let access_policy = Arc::new(AccessPolicy::load(db.clone())?);
        let gate = Gate::new(users.clone(), wsse, digest, throttle, rate)
            .with_policy(access_policy.clone());
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let observed = metrics.clone();
        let ev = &config.events;
        let store = EventStore::open(
            data_dir,
            StoreConfig {
                max_age: (ev.retention_days > 0)
                    .then(|| Duration::from_secs(ev.retention_days.saturating_mul(86_400))),
                max_count: (ev.max_events > 0).then_some(ev.max_events),
                max_wal_bytes: Some(ev.max_wal_mib.saturating_mul(1024 * 1024)),
                max_store_bytes: (ev.max_store_mib > 0)
                    .then(|| ev.max_store_mib.saturating_mul(1024 * 1024)),
                on_commit: Some(crate::events::store::CommitObserver(Arc::new(
                    move |took| {
                        observed.commit(took);
                    },
                ))),
                ..StoreConfig::default()
            },
        )?;
        let events = EventCore::new(store);
        let consumer_policy = ConsumerPolicy::new(
            crate::events::settings::consumer_networks(ev),
            &config.server.listen,
        );
        let shutdown = tokio_util::sync::CancellationToken::new();
        let subscriptions = Arc::new(Subscriptions::new(
            events.clone(),
            crate::events::settings::limits(ev),
            shutdown.clone(),
        ));
        let xml_limits = Limits {
            max_depth: config.server.max_xml_depth,
            ..Limits::default()
        };
        let topics = Arc::new(TopicRegistry::default());
        crate::southbound::publish::register_topics(&plan, &topics);
        let io = Arc::new(Southbound::new(plan, db.clone()));
        let ip_filter = Arc::new(IpFilter::load(db.clone())?);
        let keystore = Arc::new(Keystore::open(data_dir).map_err(StartError::Keystore)?);
        keystore.on_key_status(crate::events::keystore::status_listener(events.clone()));
        let protocols = NetworkProtocols::new(
            db.clone(),
            config.server.listen.clone(),
            config.server.tls_listen.clone(),
            served,
        );
        let host = HostBackend::open(config.host.backend, config.host.root.as_deref())
            .map_err(StartError::Host)?;
        Ok(App {
            config,
            identity,
            db,
            users,
            gate,
            scopes,
            discovery_mode,
            endpoint_reference,
            protocols,
            xml_limits,
            events,
            subscriptions,
            topics,
            consumer_policy,
            shutdown,
            io,
            discovery,
            discovery_changed,
            host,
            lifecycle: Lifecycle::default(),
            access_log: LogRing::new(crate::logring::RING_BYTES),
            ip_filter,
            keystore,
            access_policy,
            metrics,
        })
    }
}

impl App {
    /// The data folder (where the state database is).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.db
            .path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// Whether firmware can be upgraded: the backend installs it and a release key is there.
    pub fn firmware_upgradable(&self) -> bool {
        self.host.firmware_dir(&self.data_dir()).is_some() && self.config.host.release_key.is_file()
    }
}

/// A setting created once (on first start) and then read back forever.
fn persistent_setting(
    db: &StateDb,
    key: &str,
    create: impl FnOnce() -> String,
) -> Result<String, StateError> {
    if let Some(v) = db.setting(key)? {
        return Ok(v);
    }
    let v = create();
    db.set_setting(key, &v)?;
    Ok(v)
}

/// A serial number derived from the host's machine id (stable across reinstalls of railgate
/// on the same host), or random when there is none.
fn derive_serial() -> String {
    let seed = std::fs::read_to_string("/etc/machine-id")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let digest = Sha256::digest(format!("railgate:{seed}").as_bytes());
    format!(
        "RG{}",
        crate::security::hex(&digest[..8]).to_ascii_uppercase()
    )
}
