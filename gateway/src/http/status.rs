//! The status page on the metrics listener, for the person commissioning a site: `GET /` is a
//! plain HTML page (`status.html`, served as it is, no build step) whose script polls
//! `GET /status.json` every 250 ms: identity and version, every controller link with its state
//! and last error, every point with its value, raw reading and quality (the southbound core's
//! [`Status`]), the most recent events, and the configuration and mapping files in use.
//! Read-only and unauthenticated like `/metrics`: off unless `metrics.listen` is set (the
//! packaged configuration leaves it off; the guides bind it to loopback). The files hold no secrets (user passwords are
//! in the state database, OSDP keys in their key files).

use std::path::Path;

use serde::Serialize;

use crate::app::App;
use crate::events::model::describe;
use crate::southbound::status::Status;

/// The page.
pub const PAGE: &str = include_str!("status.html");

/// How many recent events the page lists.
const RECENT_EVENTS: usize = 20;

/// A file shown on the page is cut at this many bytes.
const FILE_LIMIT: u64 = 256 * 1024;

/// What `/status.json` answers (and `railgate points` reads).
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Report {
    /// Manufacturer, model, serial number and firmware version, as GetDeviceInformation says.
    pub identity: Identity,
    /// The program's version.
    pub version: String,
    /// Controller links and points.
    #[serde(flatten)]
    pub southbound: Status,
    /// The most recent events, newest last, one line each.
    pub events: Vec<String>,
    /// The configuration and mapping files in use.
    pub files: Vec<ShownFile>,
}

/// The device's identity.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Identity {
    /// GetDeviceInformation's Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// SerialNumber.
    pub serial_number: String,
    /// FirmwareVersion.
    pub firmware_version: String,
}

/// A file and its text.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ShownFile {
    /// What it is: `configuration` or `mapping`.
    pub role: String,
    /// Its path (or `built-in demo`).
    pub path: String,
    /// Its text (or why it cannot be read).
    pub text: String,
}

/// The report as it is now.
pub async fn report(app: &App) -> Report {
    let southbound = app.io.status().await.unwrap_or_default();
    let store = app.events.store();
    let latest = store.latest_seq();
    let from = latest.saturating_sub(RECENT_EVENTS as u64);
    // The ring of recent events holds them in memory; only after a restart are they read.
    let recent = store
        .after_recent(from, RECENT_EVENTS)
        .or_else(|| store.after(from, RECENT_EVENTS).ok())
        .unwrap_or_default();
    let id = &app.identity;
    Report {
        identity: Identity {
            manufacturer: id.manufacturer.clone(),
            model: id.model.clone(),
            serial_number: id.serial_number.clone(),
            firmware_version: id.firmware_version.clone(),
        },
        version: env!("CARGO_PKG_VERSION").to_string(),
        southbound,
        events: recent.iter().map(|e| describe(e)).collect(),
        files: files(app),
    }
}

fn files(app: &App) -> Vec<ShownFile> {
    let Some(source) = &app.config.source else {
        return vec![ShownFile {
            role: "configuration".into(),
            path: "built-in demo".into(),
            text: "(the embedded demo: simulated panel and demo mapping)".into(),
        }];
    };
    let mut files = vec![shown("configuration", source)];
    // Already taken from the configuration file's folder when it was read.
    if let Some(mapping) = &app.config.mapping {
        files.push(shown("mapping", mapping));
    }
    files
}

fn shown(role: &str, path: &Path) -> ShownFile {
    use std::io::Read as _;
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(FILE_LIMIT).read_to_string(&mut text).map(drop));
    if let Err(e) = read {
        text = format!("(cannot be read: {e})");
    }
    ShownFile {
        role: role.into(),
        path: path.display().to_string(),
        text,
    }
}
