//! systemd's notify protocol (`Type=notify`), through the sd-notify crate: `READY=1` once the
//! gateway serves (every listener is bound and the state and event store are open before
//! this task starts), `STATUS=` with what is served and the controller links (sent again when
//! it changes), `WATCHDOG=1` at half of `WATCHDOG_USEC` from a task on the gateway's own
//! runtime (a stuck runtime sends none, and systemd restarts the service), `STOPPING=1` when
//! the stop begins; `RELOADING=1` … `READY=1` around a reload (SIGHUP, `crate::reload`). Without `NOTIFY_SOCKET` every send is a no-op.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

use crate::app::App;

/// How often the status line is recomputed.
const STATUS_EVERY: Duration = Duration::from_secs(1);

fn send(states: &[NotifyState<'_>]) {
    // Unset or empty: not run by a service manager (libsystemd would call empty invalid).
    if std::env::var_os("NOTIFY_SOCKET").is_none_or(|v| v.is_empty()) {
        return;
    }
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// A reload (SIGHUP) begins: `RELOADING=1` with the monotonic time systemd's
/// `Type=notify-reload` asks for.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

/// The reload is over (applied or refused): `READY=1` again.
pub fn reloaded() {
    send(&[NotifyState::Ready]);
}

/// The status line: the served addresses and every controller link.
pub fn status(app: &App) -> String {
    let served = app.protocols.served();
    let mut parts = Vec::new();
    if !served.http.is_empty() {
        parts.push(format!("HTTP {}", ports(&served.http)));
    }
    if !served.https.is_empty() {
        parts.push(format!("HTTPS {}", ports(&served.https)));
    }
    let controllers = &app.io.plan().controllers;
    if controllers.is_empty() {
        parts.push("no controllers".into());
    } else {
        let up = controllers
            .iter()
            .filter(|c| app.io.link_up(&c.name))
            .count();
        let links: Vec<String> = controllers
            .iter()
            .map(|c| {
                let state = if app.io.link_up(&c.name) {
                    "up"
                } else {
                    "down"
                };
                format!("{} {state}", c.name)
            })
            .collect();
        parts.push(format!(
            "{up}/{} controllers up: {}",
            controllers.len(),
            links.join(", ")
        ));
    }
    format!("serving; {}", parts.join("; "))
}

fn ports(addrs: &[std::net::SocketAddr]) -> String {
    let mut ports: Vec<u16> = addrs.iter().map(std::net::SocketAddr::port).collect();
    ports.sort_unstable();
    ports.dedup();
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The watchdog interval systemd asked for, halved (`None`: no watchdog). As libsystemd's
/// `sd_watchdog_enabled`: `WATCHDOG_USEC` set, and `WATCHDOG_PID`, if set, this process
/// (the crate's check also wants the PID when it is unset).
fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) {
        if std::env::var_os("WATCHDOG_PID").is_some() {
            return None;
        }
        usec = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(10)))
}

/// Says READY, keeps the status and the watchdog going until `stop`, then says STOPPING.
pub async fn run(app: Arc<App>, stop: CancellationToken) {
    let mut last = status(&app);
    send(&[NotifyState::Ready, NotifyState::Status(&last)]);
    let watchdog = watchdog_interval();
    if let Some(every) = watchdog {
        tracing::info!(every_ms = every.as_millis() as u64, "systemd watchdog on");
    }
    let mut ping = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refresh = tokio::time::interval(STATUS_EVERY);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = ping.tick(), if watchdog.is_some() => send(&[NotifyState::Watchdog]),
            _ = refresh.tick() => {
                let now = status(&app);
                if now != last {
                    send(&[NotifyState::Status(&now)]);
                    last = now;
                }
            }
        }
    }
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}
