//! Start-up and shutdown.
//!
//! Order at start: bind every listener (a taken port fails here, before anything is
//! written), open the state, build the app, then serve. At shutdown (SIGTERM/SIGINT or the
//! caller's token): stop accepting, let open requests finish within the grace period.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{App, StartError};
use crate::config::Config;
use crate::http::{self, BindError, ServeSettings};
use crate::security::Secret;
use railgate_mappings::Diagnostics;
use railgate_mappings::plan::Plan;

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
}

/// A gateway with its listeners bound and its state open, ready to serve.
#[derive(Debug)]
pub struct Gateway {
    /// The shared state.
    pub app: Arc<App>,
    /// The addresses actually bound (port 0 resolved).
    pub addrs: Vec<SocketAddr>,
    listeners: Vec<TcpListener>,
}

impl Gateway {
    /// Binds the configured listeners, loads the configured mapping (if any) and opens the
    /// state in `data_dir`.
    pub fn start(
        config: Config,
        data_dir: &Path,
        admin_password: Option<Secret>,
    ) -> Result<Gateway, RunError> {
        let plan = match &config.mapping {
            Some(path) => {
                let checked = railgate_mappings::check_file(path).map_err(RunError::Mapping)?;
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
        let listeners = http::bind(&config.server.listen)?;
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let ports = addrs.iter().map(SocketAddr::port).collect();
        let app = Arc::new(App::build(config, plan, data_dir, ports, admin_password)?);
        Ok(Gateway {
            app,
            addrs,
            listeners,
        })
    }

    /// Serves until `stop` is cancelled.
    pub async fn serve(self, stop: CancellationToken) {
        let server = &self.app.config.server;
        let settings = ServeSettings {
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            ..ServeSettings::default()
        };
        let app = self.app.clone();
        // The gateway's own shutdown follows the caller's: long polls end, tasks stop.
        let linked = app.shutdown.clone();
        let caller = stop.clone();
        tokio::spawn(async move {
            caller.cancelled().await;
            linked.cancel();
        });
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(app.subscriptions.clone().janitor());
        tasks.spawn(crate::events::monitoring::run(
            app.events.clone(),
            app.shutdown.clone(),
        ));
        tasks.spawn(app.io.clone().run(app.events.clone(), app.shutdown.clone()));
        tasks.spawn(crate::discovery::service::run(
            app.clone(),
            app.shutdown.clone(),
        ));
        #[cfg(feature = "test-events")]
        tasks.spawn(crate::events::test_source::run(
            app.events.clone(),
            app.topics.clone(),
            app.shutdown.clone(),
        ));
        for addr in &self.addrs {
            tracing::info!(%addr, "serving ONVIF at http://{addr}/onvif/device_service");
        }
        http::serve(self.listeners, http::routes(app.clone()), settings, stop).await;
        app.shutdown.cancel();
        while tasks.join_next().await.is_some() {}
        // Everything raised before this point is committed before the process exits.
        app.events.store().close().await;
        tracing::info!("stopped");
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot watch SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
}
