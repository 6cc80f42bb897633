//! Start-up and shutdown.
//!
//! Order at start: bind every listener (a taken port fails here, before anything is
//! written), open the state, build the app, then serve.
//!
//! Every way the process ends that can run code goes through one shutdown path: SIGTERM,
//! SIGINT (SIGHUP is the reload, [`crate::reload`]), the caller's token, and a
//! fatal error — a task of the gateway panicking or ending on its own (the HTTP server, the
//! southbound core, monitoring, the subscription janitor), or a panic anywhere (the hook
//! [`Gateway::run`] installs). The path: stop accepting, let open requests finish within the
//! grace period, and meanwhile the southbound core's shutdown (every monostable relay falls
//! back, its writes awaited within a deadline, then the adapters stop); then the event store
//! is closed. [`Gateway::run`] returns [`Fatal`] only after all of that, so the `railgate`
//! command exits non-zero with the relays already released.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::app::{App, StartError};
use crate::config::Config;
use crate::device::lifecycle::Exit;
use crate::device::protocols;
use crate::http::{self, BindError, ServeSettings};
use crate::security::Secret;
use railgate_mappings::Diagnostics;
use railgate_mappings::plan::Plan;

/// Descriptors kept beside the HTTP connections: listeners, the databases, serial ports,
/// Modbus and push connections, discovery sockets, logs.
const OTHER_FILES: u64 = 256;

/// Raises the soft open-files limit towards the hard one so `max_connections` can be served
/// (systemd and most shells start services at a soft limit of 1024); a warning when the hard
/// limit is too low, since accepting would then fail with EMFILE before the cap is reached.
// `rlim_t` is 32 bits on armv7 (glibc), 64 elsewhere: widened for the arithmetic.
#[allow(clippy::useless_conversion)]
fn raise_open_files_limit(max_connections: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let needed = max_connections as u64 + OTHER_FILES;
    let Ok((soft_raw, hard_raw)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let (soft, hard) = (u64::from(soft_raw), u64::from(hard_raw));
    if soft >= needed {
        return;
    }
    let target = needed.min(hard);
    let raise = |t: u64| {
        t.try_into()
            .is_ok_and(|t| setrlimit(Resource::RLIMIT_NOFILE, t, hard_raw).is_ok())
    };
    if target > soft && raise(target) {
        tracing::debug!(from = soft, to = target, "raised the open-files limit");
    }
    if hard < needed {
        tracing::warn!(
            limit = hard,
            needed,
            "the open-files limit is below what server.max_connections needs; raise it \
             (systemd: LimitNOFILE=) or lower max_connections"
        );
    }
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A listener could not be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The state could not be opened.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The mapping file is invalid.
    #[error("the mapping is invalid:\n{0}")]
    Mapping(Diagnostics),
    /// HTTPS could not be set up (the device certificate).
    #[error("TLS: {0}")]
    Tls(String),
}

/// The gateway stopped because something failed, not because it was asked to (the relays
/// were released first).
#[derive(Debug, thiserror::Error)]
#[error("fatal: {reason}")]
pub struct Fatal {
    /// What failed, e.g. "the southbound core panicked".
    pub reason: String,
}

/// A gateway with its listeners bound and its state open, ready to serve.
#[derive(Debug)]
pub struct Gateway {
    /// The shared state.
    pub app: Arc<App>,
    /// The addresses actually bound (port 0 resolved).
    pub addrs: Vec<SocketAddr>,
    listeners: Vec<TcpListener>,
    /// The HTTPS listeners and the device's TLS side, when `server.tls_listen` names any.
    tls: Option<(Vec<TcpListener>, crate::tls::Tls)>,
    /// The metrics listeners (`metrics.listen`).
    metrics: Vec<TcpListener>,
    /// The same listeners as a reload changes them.
    metrics_listen: Arc<crate::listen::Relisten>,
}

impl Gateway {
    /// Binds the configured listeners, loads the configured mapping (if any) and opens the
    /// state in `data_dir`.
    pub fn start(
        config: Config,
        data_dir: &Path,
        admin_password: Option<Secret>,
    ) -> Result<Gateway, RunError> {
        let plan = match config.checked_mapping().map_err(RunError::Mapping)? {
            Some(checked) => {
                let path = config.mapping.clone().unwrap_or_default();
                for w in &checked.warnings.0 {
                    tracing::warn!(mapping = %path.display(), "{}", w.to_string().lines().next().unwrap_or_default());
                }
                checked.plan
            }
            None => Plan::default(),
        };
        Self::start_with_plan(config, plan, data_dir, admin_password)
    }

    /// Like [`Gateway::start`], with a mapping already loaded (the demo builds its own).
    pub fn start_with_plan(
        config: Config,
        plan: Plan,
        data_dir: &Path,
        admin_password: Option<Secret>,
    ) -> Result<Gateway, RunError> {
        raise_open_files_limit(config.server.max_connections);
        // What a client set with SetNetworkProtocols stands in for the configuration.
        let (http_stored, https_stored) = protocols::stored_protocols(data_dir);
        if http_stored.is_some() || https_stored.is_some() {
            tracing::info!(
                http = ?http_stored,
                https = ?https_stored,
                "protocols set by a client (SetNetworkProtocols) replace the configured ones; a Hard factory default forgets them"
            );
        }
        let listen = protocols::start_addresses(&config.server.listen, http_stored.as_ref());
        let tls_base = if config.server.tls_listen.is_empty() {
            &config.server.listen
        } else {
            &config.server.tls_listen
        };
        let tls_listen = match &https_stored {
            Some(p) => protocols::start_addresses(tls_base, Some(p)),
            None => config.server.tls_listen.clone(),
        };
        let listeners = http::bind(&listen)?;
        let tls_listeners = http::bind(&tls_listen)?;
        let metrics = http::bind(&config.metrics.listen)?;
        let metrics_listen = Arc::new(crate::listen::Relisten::new(
            &config.metrics.listen,
            &metrics,
        ));
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let app = Arc::new(App::build(
            config,
            plan,
            data_dir,
            addrs.clone(),
            admin_password,
        )?);
        let tls = if tls_listeners.is_empty() {
            None
        } else {
            let names = crate::tls::device_names(&tls_listen);
            let tls = app.keystore.serve_tls(&names).map_err(RunError::Tls)?;
            app.protocols.serving_https(
                tls_listeners
                    .iter()
                    .filter_map(|l| l.local_addr().ok())
                    .collect(),
            );
            Some((tls_listeners, tls))
        };
        Ok(Gateway {
            app,
            addrs,
            listeners,
            tls,
            metrics,
            metrics_listen,
        })
    }

    /// Runs the gateway as the `railgate` command does: until SIGTERM or SIGINT (a
    /// clean stop: `Ok`) or a fatal error, including a panic anywhere in the process (`Err`,
    /// once the relays are released). Installs the process's panic hook.
    ///
    /// A restart asked by a client (SystemReboot, SetSystemFactoryDefault:
    /// [`crate::device::lifecycle`]) stops the same way and returns [`Ended::Asked`]: the
    /// caller resets what it says and starts the program again.
    pub async fn run(self) -> Result<Ended, Fatal> {
        let stop = CancellationToken::new();
        let mut signals = StopSignals::watch();
        let mut hangups = signal(SignalKind::hangup())
            .map_err(|e| tracing::error!(error = %e, "cannot watch SIGHUP: no reload"))
            .ok();
        let panicked = install_panic_hook(stop.clone());
        let app = self.app.clone();
        let mut running = app.config.clone();
        let live = crate::reload::Live {
            metrics: self.metrics_listen.clone(),
        };
        let served = self.serve(stop.clone());
        tokio::pin!(served);
        let served = loop {
            tokio::select! {
                result = &mut served => break result,
                () = signals.recv(), if !stop.is_cancelled() => stop.cancel(),
                Some(()) = async { hangups.as_mut()?.recv().await }, if !stop.is_cancelled() => {
                    crate::service_manager::reloading();
                    // A stop asked meanwhile is not held up by the reload (the southbound core
                    // finishes a reload it began, then stops in order).
                    tokio::select! {
                        _ = crate::reload::on_hangup(&app, &mut running, &live) => {}
                        () = signals.recv() => {
                            tracing::warn!("stopping during a reload");
                            stop.cancel();
                        }
                    }
                    crate::service_manager::reloaded();
                }
                exit = app.lifecycle.wait(), if !stop.is_cancelled() => {
                    tracing::info!(?exit, "stopping for a restart a client asked for");
                    stop.cancel();
                }
            }
        };
        match panicked.get() {
            Some(reason) => Err(Fatal {
                reason: reason.clone(),
            }),
            None => served.map(|()| match app.lifecycle.requested() {
                Some(exit) => Ended::Asked(exit),
                None => Ended::Stopped,
            }),
        }
    }

    /// Serves until `stop` is cancelled (`Ok`) or a task of the gateway fails (`Err`, after the
    /// same shutdown).
    pub async fn serve(self, stop: CancellationToken) -> Result<(), Fatal> {
        let server = &self.app.config.server;
        let settings = ServeSettings {
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs),
            max_connections: server.max_connections,
            max_connections_per_address: server.max_connections_per_address,
            tls_handshake_timeout: Duration::from_secs(server.tls_handshake_timeout_secs),
            ..ServeSettings::default()
        };
        let app = self.app.clone();
        // Cancelled by the caller, or here on a fatal error; the gateway's own shutdown
        // follows it: long polls end, the southbound core releases relays, tasks stop.
        let stopping = stop.child_token();
        let linked = app.shutdown.clone();
        let cause = stopping.clone();
        tokio::spawn(async move {
            cause.cancelled().await;
            linked.cancel();
        });
        let shutdown = || app.shutdown.clone();
        let mut tasks = Tasks::default();
        tasks.spawn(
            "the subscription janitor",
            Ends::OnStop,
            app.subscriptions.clone().janitor(),
        );
        tasks.spawn(
            "the monitoring events",
            Ends::OnStop,
            crate::events::monitoring::run(app.events.clone(), shutdown()),
        );
        tasks.spawn(
            "the southbound core",
            Ends::OnStop,
            app.io.clone().run(app.events.clone(), shutdown()),
        );
        tasks.spawn(
            "WS-Discovery",
            Ends::Any,
            crate::discovery::service::run(app.clone(), shutdown()),
        );
        #[cfg(feature = "test-events")]
        tasks.spawn(
            "the test event source",
            Ends::Any,
            crate::events::test_source::run(app.events.clone(), app.topics.clone(), shutdown()),
        );
        // Taken once: this is the one server of this App.
        let (_, rebinds) = tokio::sync::mpsc::unbounded_channel();
        let rebinds = app.protocols.take_rebinds().unwrap_or(rebinds);
        let tls = self.tls.map(|(listeners, tls)| {
            for l in &listeners {
                if let Ok(addr) = l.local_addr() {
                    tracing::info!(%addr, paths = ?app.keystore.server_paths(), "serving ONVIF at https://{addr}/onvif/device_service");
                }
            }
            (listeners, tls)
        });
        for addr in &self.addrs {
            tracing::info!(%addr, "serving ONVIF at http://{addr}/onvif/device_service");
        }
        if self.addrs.is_empty() {
            tracing::info!("HTTP is off (SetNetworkProtocols): ONVIF is served over HTTPS only");
        }
        tasks.spawn(
            "the HTTP server",
            Ends::OnStop,
            http::serve(
                self.listeners,
                tls,
                Some(app.ip_filter.clone()),
                rebinds,
                http::routes(app.clone()),
                settings,
                stopping.clone(),
            ),
        );
        for l in &self.metrics {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "serving metrics at http://{addr}/metrics");
            }
        }
        // Served even without a listener: a reload may give it some.
        let (_keep, none) = tokio::sync::mpsc::unbounded_channel();
        let metrics_rebinds = self.metrics_listen.rebinds().unwrap_or(none);
        tasks.spawn(
            "the metrics server",
            Ends::OnStop,
            http::serve(
                self.metrics,
                None,
                None,
                metrics_rebinds,
                http::metrics::routes(app.clone()),
                settings,
                stopping.clone(),
            ),
        );
        // After every listener is handed to the server: READY=1 means "connect now".
        tasks.spawn(
            "the systemd notifier",
            Ends::OnStop,
            crate::service_manager::run(app.clone(), shutdown()),
        );
        let mut fatal = None;
        while let Some(failure) = tasks.next(&stopping).await {
            if let Some(reason) = failure {
                if fatal.is_none() {
                    tracing::error!(%reason, "fatal error: shutting down (monostable relays are released first)");
                    fatal = Some(Fatal { reason });
                }
                stopping.cancel();
            }
        }
        // Everything raised before this point is committed before the process exits.
        app.events.store().close().await;
        tracing::info!("stopped");
        fatal.map_or(Ok(()), Err)
    }
}

/// How [`Gateway::run`] ended, when it ended cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// A stop signal.
    Stopped,
    /// A client asked for a restart (and maybe a reset first): start the program again.
    Asked(Exit),
}

/// When a task of the gateway may end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ends {
    /// Only once the gateway stops: ending before is fatal.
    OnStop,
    /// Whenever (it may have nothing to do); only a panic is fatal.
    Any,
}

/// The gateway's tasks, by name.
#[derive(Default)]
struct Tasks {
    set: JoinSet<()>,
    names: HashMap<Id, (&'static str, Ends)>,
}

impl Tasks {
    fn spawn(
        &mut self,
        name: &'static str,
        ends: Ends,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        let id = self.set.spawn(task).id();
        self.names.insert(id, (name, ends));
    }

    /// The next task to end: `Some(None)` when that is fine (or `stopping` was cancelled),
    /// `Some(Some(reason))` when it is fatal; `None` once all ended.
    async fn next(&mut self, stopping: &CancellationToken) -> Option<Option<String>> {
        let joined = self.set.join_next_with_id().await?;
        let stopping = stopping.is_cancelled();
        let (id, panicked) = match &joined {
            Ok((id, ())) => (*id, false),
            Err(e) => (e.id(), e.is_panic()),
        };
        let (name, ends) = self.names.remove(&id).unwrap_or(("a task", Ends::Any));
        Some(if panicked {
            Some(format!("{name} panicked"))
        } else if ends == Ends::OnStop && !stopping {
            Some(format!("{name} ended on its own"))
        } else {
            None
        })
    }
}

/// Installs the process's panic hook: it logs the panic, records it (the returned cell: the
/// first one) and cancels `stop`, so a panic anywhere runs the one shutdown path (the default
/// hook still prints it). A panic in the southbound core's own task leaves nobody to release
/// its relays: that task is written not to panic.
fn install_panic_hook(stop: CancellationToken) -> Arc<OnceLock<String>> {
    let panicked = Arc::new(OnceLock::new());
    let cell = panicked.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let reason = format!("panic: {info}");
        tracing::error!(%reason, "fatal error: shutting down (monostable relays are released first)");
        let _ = cell.set(reason);
        stop.cancel();
        previous(info);
    }));
    panicked
}

/// The signals that stop the process: SIGTERM, SIGINT (SIGHUP is the reload,
/// [`crate::reload`]). Watched from [`StopSignals::watch`] on.
#[derive(Debug)]
pub struct StopSignals {
    watched: Vec<(&'static str, Signal)>,
}

impl StopSignals {
    /// Starts watching (a signal that cannot be watched is logged and left out).
    pub fn watch() -> StopSignals {
        let kinds = [
            ("SIGTERM", SignalKind::terminate()),
            ("SIGINT", SignalKind::interrupt()),
        ];
        let watched = kinds
            .into_iter()
            .filter_map(|(name, kind)| match signal(kind) {
                Ok(s) => Some((name, s)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch {name}");
                    None
                }
            })
            .collect();
        StopSignals { watched }
    }

    /// Resolves when one arrives, and logs it.
    pub async fn recv(&mut self) {
        let arrived = futures_util::future::select_all(
            self.watched
                .iter_mut()
                .map(|(name, s)| Box::pin(async move { s.recv().await.map(|_| *name) })),
        );
        match arrived.await.0 {
            Some(name) => tracing::info!("{name}: shutting down"),
            None => std::future::pending().await,
        }
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    StopSignals::watch().recv().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_or_ends_before_the_stop_is_fatal() {
        let (running, stopped) = (CancellationToken::new(), CancellationToken::new());
        stopped.cancel();
        let mut tasks = Tasks::default();
        tasks.spawn("the discovery", Ends::Any, async {});
        assert_eq!(tasks.next(&running).await, Some(None));
        tasks.spawn("the southbound core", Ends::OnStop, async {});
        assert_eq!(
            tasks.next(&running).await,
            Some(Some("the southbound core ended on its own".into()))
        );
        // Whether it was asked to end is read once it has ended.
        let asked = CancellationToken::new();
        let ending = asked.clone();
        tasks.spawn("the HTTP server", Ends::OnStop, async move {
            ending.cancelled().await;
        });
        let next = tasks.next(&asked);
        asked.cancel();
        assert_eq!(next.await, Some(None), "ended as asked");
        tasks.spawn("the test source", Ends::Any, async {
            panic!("on purpose");
        });
        assert_eq!(
            tasks.next(&stopped).await,
            Some(Some("the test source panicked".into()))
        );
        assert_eq!(tasks.next(&running).await, None);
    }
}
