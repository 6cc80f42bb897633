//! Secure channel keys on disk: the installed SCBK of a reader in its key file, and the key an
//! install in progress offers.
//!
//! - `key_file`: the installed key, 32 hex digits and a newline, mode 0600.
//! - `key_file` + `.pending`: a fresh key made for install mode, kept before it is offered so
//!   that a crash between the reader's `osdp_KEYSET` acknowledgement and the commit cannot
//!   lock the reader out: the next start offers the same key again (and SCBK-D after it).
//!
//! Both are written the same way: a new temporary file beside the target, created with mode
//! 0600 in the `open` call itself (`create_new`, never world-readable, not even briefly), the
//! key written and synced, then renamed over the target and the folder synced. A key file
//! that others may read is refused rather than used. Keys are never logged.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::config::Scbk;

/// The key an install in progress offers (beside the key file).
pub(crate) fn pending_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".pending");
    PathBuf::from(name)
}

/// Reads a key file: `None` if it does not exist; an error if it is not a key or others may
/// read it.
pub(crate) fn load(path: &Path) -> io::Result<Option<Scbk>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} has mode {:o}: a key file must be readable by its owner only (chmod 600)",
                path.display(),
                mode & 0o777
            ),
        ));
    }
    let text = io::read_to_string(file)?;
    Scbk::from_hex(&text).map(Some).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} does not hold a key (32 hex digits)", path.display()),
        )
    })
}

/// Writes `key` to `path` atomically, mode 0600.
pub(crate) fn store(path: &Path, key: &Scbk) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{}-{:08x}", std::process::id(), random_u32()?));
    let tmp = PathBuf::from(tmp_name);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The umask may only remove bits: make sure of 0600 whatever it was.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Moves the pending key of `key_file` into place (the install is done).
pub(crate) fn commit(key_file: &Path) -> io::Result<()> {
    fs::rename(pending_path(key_file), key_file)?;
    let dir = key_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// A fresh random key from the operating system.
pub(crate) fn fresh() -> io::Result<Scbk> {
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(Scbk(key))
}

fn random_u32() -> io::Result<u32> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(u32::from_ne_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("front.scbk");
        assert_eq!(load(&path).unwrap(), None);
        let key = fresh().unwrap();
        store(&path, &key).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load(&path).unwrap(), Some(key.clone()));
        // Only the key file is left: no temporary beside it.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // Overwriting replaces it whole.
        let other = fresh().unwrap();
        assert_ne!(other, key);
        store(&path, &other).unwrap();
        assert_eq!(load(&path).unwrap(), Some(other));
    }

    #[test]
    fn pending_keys_commit_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("back.scbk");
        let key = fresh().unwrap();
        store(&pending_path(&path), &key).unwrap();
        assert_eq!(load(&path).unwrap(), None);
        commit(&path).unwrap();
        assert_eq!(load(&path).unwrap(), Some(key));
        assert!(!pending_path(&path).exists());
    }

    #[test]
    fn readable_or_garbled_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        fs::write(&path, "000102030405060708090a0b0c0d0e0f\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("mode 644"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load(&path).unwrap().is_some());
        fs::write(&path, "not a key").unwrap();
        assert!(load(&path).is_err());
    }
}
