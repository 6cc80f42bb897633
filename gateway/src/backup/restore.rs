//! Checking an uploaded backup in full, staging it, and applying a staged one at start (see
//! the module above for the order and why it is whole or nothing).

use std::collections::HashSet;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use super::archive::{Archive, FORMAT, File, sha256_hex};
use crate::config::Config;
use crate::security::access::UserLevel;
use crate::state::snapshot::{self, StateSnapshot};
use crate::state::{StateDb, datadir};

/// The largest backup accepted.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// The staged restore in the data folder.
pub const STAGED_FILE: &str = "restore-staged.json";

/// Why a restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The upload is not a backup this box can take (HTTP 415: nothing changed).
    #[error("{0}")]
    Invalid(String),
    /// The box failed (HTTP 500).
    #[error("{0}")]
    Device(String),
}

fn invalid(s: impl Into<String>) -> RestoreError {
    RestoreError::Invalid(s.into())
}

/// What applying a checked backup writes.
#[derive(Debug)]
struct Writes {
    files: Vec<(PathBuf, String)>,
    state: StateSnapshot,
}

/// Reads the file: size, shape, format version, checksum, payload.
fn decode(bytes: &[u8]) -> Result<Archive, RestoreError> {
    if bytes.len() > MAX_BYTES {
        return Err(invalid(format!(
            "{} bytes is more than a backup may have ({MAX_BYTES})",
            bytes.len()
        )));
    }
    let file: File = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("not a railgate backup: {e}")))?;
    if file.railgate_backup != FORMAT {
        return Err(invalid(format!(
            "backup format {} is not {FORMAT}, the one this railgate reads",
            file.railgate_backup
        )));
    }
    if sha256_hex(file.payload.as_bytes()) != file.sha256.to_ascii_lowercase() {
        return Err(invalid(
            "the checksum does not match: the file is damaged or was altered",
        ));
    }
    serde_json::from_str(&file.payload).map_err(|e| invalid(format!("the payload: {e}")))
}

/// Where a configuration's mapping goes: a relative path of plain names beside it.
fn mapping_target(config_path: &Path, mapping: &Path) -> Result<PathBuf, RestoreError> {
    let plain = mapping
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if !plain || mapping.as_os_str().is_empty() {
        return Err(invalid(format!(
            "the backup's configuration names its mapping {:?}: a restore writes the mapping only beside the configuration (a relative path without `..`)",
            mapping.display()
        )));
    }
    let dir = config_path.parent().unwrap_or(Path::new("."));
    Ok(dir.join(mapping))
}

/// The first lines of diagnostics, for a refusal.
fn first_lines(d: &impl std::fmt::Display) -> String {
    d.to_string().lines().take(3).collect::<Vec<_>>().join("; ")
}

/// Checks everything the restore would do on this box.
fn check(archive: Archive, config_path: Option<&Path>) -> Result<Writes, RestoreError> {
    let mut files = Vec::new();
    match (&archive.config, config_path) {
        (Some(_), None) => {
            return Err(invalid(
                "this railgate runs the built-in demo configuration: start it with --config to restore a backup that has one",
            ));
        }
        (None, _) if archive.mapping.is_some() => {
            return Err(invalid("the backup has a mapping but no configuration"));
        }
        (None, _) => {}
        (Some(text), Some(path)) => {
            let config = Config::parse(path, text).map_err(|d| {
                invalid(format!(
                    "the backup's configuration is not valid here: {}",
                    first_lines(&d)
                ))
            })?;
            match (&config.mapping, &archive.mapping) {
                (Some(m), Some(mapping_text)) => {
                    let target = mapping_target(path, m)?;
                    railgate_mappings::check_str(&target, mapping_text).map_err(|d| {
                        invalid(format!(
                            "the backup's mapping does not compile: {}",
                            first_lines(&d)
                        ))
                    })?;
                    files.push((target, mapping_text.clone()));
                }
                (Some(m), None) => {
                    return Err(invalid(format!(
                        "the backup's configuration names the mapping {} but the backup has none",
                        m.display()
                    )));
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        "the backup has a mapping its configuration does not name",
                    ));
                }
                (None, None) => {}
            }
            files.push((path.to_path_buf(), text.clone()));
        }
    }
    let mut names = HashSet::new();
    let mut admins = 0;
    for u in &archive.state.users {
        let level: UserLevel = u
            .level
            .parse()
            .map_err(|_| invalid(format!("user {:?} has the level {:?}", u.username, u.level)))?;
        if u.username.is_empty() || u.password.is_empty() || !names.insert(&u.username) {
            return Err(invalid(format!(
                "user {:?} is empty, has no password or appears twice",
                u.username
            )));
        }
        if level == UserLevel::Anonymous {
            return Err(invalid("an Anonymous user cannot be restored"));
        }
        admins += usize::from(level == UserLevel::Administrator);
    }
    if admins == 0 {
        return Err(invalid(
            "the backup has no Administrator: the box would be locked",
        ));
    }
    Ok(Writes {
        files,
        state: archive.state,
    })
}

/// Checks an upload in full and stages it in `data_dir` for the next start. Nothing else
/// changes.
pub fn check_and_stage(
    bytes: &[u8],
    data_dir: &Path,
    config_path: Option<&Path>,
) -> Result<(), RestoreError> {
    check(decode(bytes)?, config_path)?;
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8"))?;
    datadir::replace_private_file(&data_dir.join(STAGED_FILE), text)
        .map_err(|e| RestoreError::Device(format!("cannot stage the restore: {e}")))
}

/// Applies a restore staged in `data_dir`, if there is one: `Ok(true)` when it was applied
/// (then deleted). Called at start, before the configuration is read.
pub fn apply_staged(data_dir: &Path, config_path: Option<&Path>) -> Result<bool, RestoreError> {
    let staged = data_dir.join(STAGED_FILE);
    let bytes = match std::fs::read(&staged) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(RestoreError::Device(format!("{}: {e}", staged.display()))),
    };
    let writes = check(decode(&bytes)?, config_path)?;
    let device =
        |what: &str, e: &dyn std::fmt::Display| RestoreError::Device(format!("{what}: {e}"));
    // Every file first beside its target, synced; then the state; then the renames.
    let mut written = Vec::new();
    for (target, text) in &writes.files {
        let tmp = target.with_extension("restore-tmp");
        let mode = std::fs::metadata(target).map_or(0o600, |m| m.permissions().mode() & 0o777);
        let mut f =
            std::fs::File::create(&tmp).map_err(|e| device(&tmp.display().to_string(), &e))?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .and_then(|()| f.write_all(text.as_bytes()))
            .and_then(|()| f.sync_all())
            .map_err(|e| device(&tmp.display().to_string(), &e))?;
        written.push((tmp, target.clone()));
    }
    let db = StateDb::open(data_dir).map_err(|e| device("state database", &e))?;
    snapshot::restore(&db, &writes.state).map_err(|e| device("state database", &e))?;
    drop(db);
    for (tmp, target) in &written {
        std::fs::rename(tmp, target).map_err(|e| device(&target.display().to_string(), &e))?;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
    }
    std::fs::remove_file(&staged).map_err(|e| device(&staged.display().to_string(), &e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::archive::encode;
    use super::*;
    use crate::state::snapshot::UserRow;

    fn archive(config: Option<&str>, mapping: Option<&str>) -> Archive {
        Archive {
            created: "2026-12-07T00:00:00Z".into(),
            railgate: "0.1.0".into(),
            serial_number: "RG1".into(),
            config: config.map(Into::into),
            mapping: mapping.map(Into::into),
            state: StateSnapshot {
                users: vec![UserRow {
                    username: "admin".into(),
                    password: "pw-123456".into(),
                    level: "Administrator".into(),
                }],
                ..StateSnapshot::default()
            },
        }
    }

    fn refused(bytes: &[u8], config_path: Option<&Path>) -> String {
        let dir = tempfile::tempdir().unwrap();
        let err = check_and_stage(bytes, dir.path(), config_path).expect_err("refused");
        assert!(matches!(err, RestoreError::Invalid(_)), "{err:?}");
        assert!(!dir.path().join(STAGED_FILE).exists(), "nothing staged");
        err.to_string()
    }

    #[test]
    fn hostile_or_broken_uploads_are_refused_with_nothing_staged() {
        let cfg_dir = tempfile::tempdir().unwrap();
        let cfg = cfg_dir.path().join("railgate.yaml");
        let good = encode(&archive(Some("device:\n  name: x\n"), None));
        // Altered after the checksum was computed.
        let altered = good.replace("name: x", "name: y");
        assert!(refused(altered.as_bytes(), Some(&cfg)).contains("checksum"));
        // Not JSON, too large.
        assert!(refused(b"PK\x03\x04", Some(&cfg)).contains("not a railgate backup"));
        let huge = vec![b' '; MAX_BYTES + 1];
        assert!(refused(&huge, Some(&cfg)).contains("more than a backup may have"));
        // A configuration that fails validation.
        let bad = encode(&archive(Some("server:\n  listen: []\n"), None));
        assert!(refused(bad.as_bytes(), Some(&cfg)).contains("not valid here"));
        // Path traversal through the mapping's name.
        for m in ["../../etc/cron.d/x", "/etc/passwd"] {
            let evil = encode(&archive(
                Some(&format!("mapping: {m}\n")),
                Some("inputs: []\n"),
            ));
            assert!(
                refused(evil.as_bytes(), Some(&cfg)).contains("beside the configuration"),
                "{m}"
            );
        }
        // No Administrator, or a level that does not exist.
        let mut a = archive(None, None);
        a.state.users[0].level = "Operator".into();
        assert!(refused(encode(&a).as_bytes(), Some(&cfg)).contains("no Administrator"));
        a.state.users[0].level = "Root".into();
        assert!(refused(encode(&a).as_bytes(), Some(&cfg)).contains("level"));
        // A configuration for a box that runs the demo.
        assert!(refused(good.as_bytes(), None).contains("built-in demo"));
        assert!(!cfg.exists());
    }

    #[test]
    fn a_staged_restore_is_applied_once_at_start() {
        let cfg_dir = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let cfg = cfg_dir.path().join("railgate.yaml");
        std::fs::write(&cfg, "device:\n  name: before\n").unwrap();
        let upload = encode(&archive(Some("device:\n  name: after\n"), None));
        check_and_stage(upload.as_bytes(), data.path(), Some(&cfg)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            "device:\n  name: before\n"
        );
        assert!(apply_staged(data.path(), Some(&cfg)).unwrap());
        assert_eq!(
            std::fs::read_to_string(&cfg).unwrap(),
            "device:\n  name: after\n"
        );
        assert!(!data.path().join(STAGED_FILE).exists());
        assert!(!apply_staged(data.path(), Some(&cfg)).unwrap());
        let db = StateDb::open(data.path()).unwrap();
        assert_eq!(snapshot::take(&db).unwrap().users[0].username, "admin");
    }
}
