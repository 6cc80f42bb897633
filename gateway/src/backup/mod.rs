//! System backup and restore (GetSystemUris' SystemBackupUri, StartSystemRestore).
//!
//! A backup is one JSON file (`archive.rs`): the configuration file's text, the mapping's
//! text, and what clients set in the state database (users with their passwords, scopes,
//! client settings: `state::snapshot`), with a SHA-256 over its payload. It holds the users'
//! passwords: it is downloaded by Administrators only and must be kept as safe as the box.
//!
//! A restore (`restore.rs`) is checked in full before anything changes: the checksum, the
//! format, the size, the configuration (as `railgate check` would), the mapping (compiled),
//! every user, and where the files would go (only the running configuration's own path and,
//! for the mapping, a relative path beside it: a backup never names where it is written).
//! The checked upload is then staged as one file in the data folder and railgate restarts;
//! the next start applies a staged restore before it reads its configuration (files
//! written beside their targets and renamed over them, the state in one transaction), then
//! deletes the staged file. A crash in between leaves it staged, and the start after applies
//! it again: a restore happens whole or not at all.
//!
//! Not carried: the device's identity (serial number, endpoint reference), the host's own
//! network settings, the event store, OSDP reader keys, `profiles/` beside the mapping and
//! files named by `${file:...}` secrets.

pub mod archive;
pub mod restore;

pub use archive::{Archive, BackupError, create};
pub use restore::{RestoreError, apply_staged, check_and_stage};
