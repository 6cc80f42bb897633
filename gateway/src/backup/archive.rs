//! The backup file: `{"railgate_backup": 1, "sha256": "<hex>", "payload": "<JSON text>"}`,
//! the checksum over the payload's bytes exactly as written, the payload an [`Archive`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::state::snapshot::{self, StateSnapshot};
use crate::state::{StateDb, StateError};

/// The format version this railgate writes and reads.
pub const FORMAT: u32 = 1;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    /// When it was made (RFC 3339).
    pub created: String,
    /// The railgate version that made it.
    pub railgate: String,
    /// The serial number of the box it was made on (informational).
    pub serial_number: String,
    /// The configuration file's text; `None` when that box ran the built-in demo.
    pub config: Option<String>,
    /// The mapping's text; `None` when the configuration names none.
    pub mapping: Option<String>,
    /// Users, scopes and client settings.
    pub state: StateSnapshot,
}

/// The outer file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) railgate_backup: u32,
    pub(super) sha256: String,
    pub(super) payload: String,
}

/// Why a backup could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// Which.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The hex SHA-256 of `bytes`.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Makes a backup of the running box: its configuration file and mapping as they are on
/// disk, and the state database's client rows.
pub fn create(config: &Config, db: &StateDb, serial_number: &str) -> Result<String, BackupError> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| BackupError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let archive = Archive {
        created: crate::logring::timestamp(),
        railgate: env!("CARGO_PKG_VERSION").into(),
        serial_number: serial_number.into(),
        config: config.source.as_deref().map(read).transpose()?,
        mapping: config.mapping.as_deref().map(read).transpose()?,
        state: snapshot::take(db)?,
    };
    Ok(encode(&archive))
}

/// The file text of `archive`.
pub fn encode(archive: &Archive) -> String {
    let payload = serde_json::to_string(archive).unwrap_or_default();
    let file = File {
        railgate_backup: FORMAT,
        sha256: sha256_hex(payload.as_bytes()),
        payload,
    };
    serde_json::to_string_pretty(&file).unwrap_or_default()
}
