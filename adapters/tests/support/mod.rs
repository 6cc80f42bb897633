//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

pub(crate) mod pty;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether `program args...` runs and exits 0 (its output discarded).
pub(crate) fn succeeds(program: impl AsRef<OsStr>, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python of the peers: `RAILGATE_PYTHON`, else the workspace's `.venv`.
pub(crate) fn python() -> PathBuf {
    std::env::var_os("RAILGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

/// The workspace's root folder.
pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf)
}
