//! `railgate run` (the default): the gateway, with a configuration or the built-in demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use railgate::config::Config;
use railgate::device::lifecycle::{Exit, FactoryDefault};
use railgate::runtime::{Ended, Gateway, RunError};
use railgate::security::Secret;

use super::{EX_CANTCREAT, EX_CONFIG, EX_SOFTWARE, EX_UNAVAILABLE, runtime};
use super::{out, upgrade};

/// What the command line says about running.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// The configuration file; the demo without one.
    pub config: Option<PathBuf>,
    /// Overrides `server.listen`.
    pub listen: Vec<SocketAddr>,
    /// Overrides `server.tls_listen`.
    pub tls_listen: Vec<SocketAddr>,
    /// Overrides `metrics.listen`.
    pub metrics_listen: Vec<SocketAddr>,
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
    apply_overrides(&mut config, &options);
    let data_dir = options
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"));
    // A restore staged before the last restart is applied before anything reads the files
    // it replaces; then the configuration is read again.
    match railgate::backup::apply_staged(&data_dir, options.config.as_deref()) {
        Ok(false) => {}
        Ok(true) => {
            tracing::warn!(data_dir = %data_dir.display(), "system restore applied");
            if let Some(path) = &options.config {
                match Config::load(path) {
                    Ok(c) => config = c,
                    Err(diagnostics) => {
                        out::note(diagnostics);
                        return ExitCode::from(EX_CONFIG);
                    }
                }
                apply_overrides(&mut config, &options);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "the staged system restore cannot be applied");
            out::note(format_args!(
                "railgate: the staged system restore cannot be applied: {e} (remove {} to start without it)",
                data_dir
                    .join(railgate::backup::restore::STAGED_FILE)
                    .display()
            ));
            return ExitCode::from(EX_SOFTWARE);
        }
    }
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
    let trying = upgrade::at_start(&config, &data_dir);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let demo = options.config.is_none();
    match runtime.block_on(serve(config, demo, &data_dir, admin_password, trying)) {
        After::Exit(code) => code,
        After::Restart(exit) => {
            if exit == Exit::RebootHost {
                match runtime.block_on(railgate::host::systemd::reboot_host()) {
                    Ok(()) => {
                        tracing::warn!("the host reboots (logind)");
                        return ExitCode::SUCCESS;
                    }
                    // Told the client it reboots: at least come back.
                    Err(e) => {
                        tracing::error!(error = %e, "the host cannot be rebooted; restarting railgate instead")
                    }
                }
            }
            // Blocking tasks (serial reads) are not waited for: everything that must be
            // saved was saved by the clean stop.
            runtime.shutdown_timeout(Duration::from_secs(2));
            if let Exit::FactoryDefault(kind) = exit
                && let Err(code) = factory_default(&data_dir, kind)
            {
                return code;
            }
            if let Exit::Upgrade(program) = &exit {
                let error = upgrade::exec(program);
                // It cannot even start: the trial ends here, and this program runs again.
                tracing::error!(program = %program.display(), %error, "the new firmware cannot be started; rolling back");
                if let Some(dir) = program.parent() {
                    railgate::firmware::install::abandon(dir);
                }
            }
            restart()
        }
    }
}

/// The command line's settings over the file's.
fn apply_overrides(config: &mut Config, options: &Options) {
    config.override_with(railgate::config::Overrides {
        listen: options.listen.clone(),
        tls_listen: options.tls_listen.clone(),
        metrics_listen: options.metrics_listen.clone(),
        discovery_interfaces: options.discovery_interfaces.clone(),
    });
}

/// What the command does once the gateway has stopped.
enum After {
    /// Exit with this code.
    Exit(ExitCode),
    /// Start again, after a reset if asked (SystemReboot, SetSystemFactoryDefault).
    Restart(Exit),
}

/// Resets the data folder to factory defaults (`railgate::state::factory`); Hard also deletes
/// the event store and the keystore (keys, certificates; Soft keeps the device's HTTPS
/// identity, as it keeps the network settings).
fn factory_default(data_dir: &Path, kind: FactoryDefault) -> Result<(), ExitCode> {
    let fail = |what: String| {
        tracing::error!("factory default failed: {what}");
        out::note(format_args!("railgate: factory default failed: {what}"));
        ExitCode::from(EX_SOFTWARE)
    };
    railgate::state::factory::reset(data_dir, kind).map_err(|e| fail(e.to_string()))?;
    if kind == FactoryDefault::Hard {
        railgate::events::store::EventStore::remove_files(data_dir)
            .map_err(|e| fail(format!("event store: {e}")))?;
        railgate::keystore::Keystore::remove_files(data_dir)
            .map_err(|e| fail(format!("keystore: {e}")))?;
    }
    tracing::warn!(?kind, data_dir = %data_dir.display(), "factory default applied");
    Ok(())
}

/// Replaces this process by a fresh start of the same program, with the same arguments and
/// environment (the process id stays, so a supervisor sees no exit). Returns only if that
/// fails.
fn restart() -> ExitCode {
    let error = match upgrade::this_program() {
        Ok(exe) => upgrade::exec(&exe),
        Err(e) => e,
    };
    tracing::error!(%error, "cannot start again");
    out::note(format_args!("railgate: cannot restart: {error}"));
    ExitCode::from(EX_SOFTWARE)
}

async fn serve(
    config: Config,
    demo: bool,
    data_dir: &Path,
    admin_password: Option<Secret>,
    trying: Option<upgrade::Trying>,
) -> After {
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
                return After::Exit(ExitCode::from(EX_SOFTWARE));
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
            return After::Exit(ExitCode::from(match e {
                RunError::Bind(_) => EX_UNAVAILABLE,
                RunError::Start(_) | RunError::Tls(_) => EX_CANTCREAT,
                RunError::Mapping(_) => EX_CONFIG,
            }));
        }
    };
    tracing::info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), "railgate started");
    if let Some(trying) = trying {
        tokio::spawn(upgrade::confirm_when_answering(
            trying,
            gateway.addrs.clone(),
        ));
    }
    // For `railgate reload`; removed when the gateway ends.
    let pid_file = super::reload::PidFile::write(data_dir);
    let ran = gateway.run().await;
    drop(pid_file);
    if let Some(p) = panel {
        p.stop().await;
    }
    match ran {
        Ok(Ended::Stopped) => After::Exit(ExitCode::SUCCESS),
        Ok(Ended::Asked(exit)) => After::Restart(exit),
        // A fatal error at run time, reported by `run` once the relays were released.
        Err(_) => After::Exit(ExitCode::from(EX_SOFTWARE)),
    }
}
