//! `railgate run` (the default): the gateway, with a configuration or the built-in demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use railgate::config::Config;
use railgate::runtime::{Gateway, RunError};
use railgate::security::Secret;

use super::out;
use super::{EX_CANTCREAT, EX_CONFIG, EX_SOFTWARE, EX_UNAVAILABLE, runtime};

/// What the command line says about running.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// The configuration file; the demo without one.
    pub config: Option<PathBuf>,
    /// Overrides `server.listen`.
    pub listen: Vec<SocketAddr>,
    /// Overrides `discovery.interfaces`.
    pub discovery_interfaces: Vec<String>,
    /// Overrides `data_dir`.
    pub data_dir: Option<PathBuf>,
}

/// Runs until SIGTERM/SIGINT.
pub(crate) fn run(options: Options) -> ExitCode {
    let mut config = match &options.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(diagnostics) => {
                out::note(diagnostics);
                return ExitCode::from(EX_CONFIG);
            }
        },
        None => Config::demo(),
    };
    if !options.listen.is_empty() {
        config.server.listen = options.listen.clone();
    }
    if !options.discovery_interfaces.is_empty() {
        config.discovery.interfaces = options.discovery_interfaces.clone();
    }
    let data_dir = options
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"));
    let admin_password = match super::admin_password::take() {
        Ok(given) => given.map(|g| {
            tracing::debug!(from = g.origin, "first Administrator's password given");
            g.secret
        }),
        Err(e) => {
            out::note(format_args!("railgate: {e}"));
            return ExitCode::from(EX_CONFIG);
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let demo = options.config.is_none();
    runtime.block_on(serve(config, demo, &data_dir, admin_password))
}

async fn serve(
    config: Config,
    demo: bool,
    data_dir: &Path,
    admin_password: Option<Secret>,
) -> ExitCode {
    // Without a configuration, the demo: the simulated panel on loopback, polled through the
    // real Modbus adapter with the demo mapping.
    let mut panel = None;
    let started = if demo {
        match railgate::demo::start().await {
            Ok((p, plan)) => {
                tracing::info!(panel = %p.local_addr(), "demo: simulated panel started (unit 1: 16-in/8-out I/O module, unit 2: alarm panel)");
                panel = Some(p);
                Gateway::start_with_plan(config, plan, data_dir, admin_password)
            }
            Err(e) => {
                out::note(format_args!("railgate: {e}"));
                return ExitCode::from(EX_SOFTWARE);
            }
        }
    } else {
        Gateway::start(config, data_dir, admin_password)
    };
    let gateway = match started {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            out::note(format_args!("railgate: {e}"));
            return ExitCode::from(match e {
                RunError::Bind(_) => EX_UNAVAILABLE,
                RunError::Start(_) => EX_CANTCREAT,
                RunError::Mapping(_) => EX_CONFIG,
            });
        }
    };
    tracing::info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), "railgate started");
    let ran = gateway.run().await;
    if let Some(p) = panel {
        p.stop().await;
    }
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        // A fatal error at run time, reported by `run` once the relays were released.
        Err(_) => ExitCode::from(EX_SOFTWARE),
    }
}
