//! The data folder: created private (0700), with private files (0600) inside.
//!
//! Files are created with their final mode in the `open` call itself, never chmod-ed after
//! the fact, so there is no moment at which another local user could read them.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700 if it does not exist. An existing
/// folder that others can read is accepted with a warning: it may be shared on purpose.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if meta.mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %dir.display(),
                    mode = format_args!("{:o}", meta.mode() & 0o777),
                    "the data folder is accessible to other users; it holds credentials and should be 0700"
                );
            }
            Ok(())
        }
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} is not a folder", dir.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            DirBuilder::new().recursive(true).mode(0o700).create(dir)
        }
        Err(e) => Err(e),
    }
}

/// Creates `path` with mode 0600 if it does not exist yet (an existing file is left as is).
pub fn create_private_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `contents` to a new file `path`, mode 0600; fails if the file exists.
pub fn write_private_file(path: &Path, contents: &str) -> io::Result<()> {
    let mut f: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// Writes `contents` to `path` (mode 0600), replacing any earlier file atomically: the new
/// text goes to a fresh private file first, which is then renamed over the old one.
pub fn replace_private_file(path: &Path, contents: &str) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_private_file(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_folder_and_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/data");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let f = dir.join("x.db");
        create_private_file(&f).unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
        let s = dir.join("secret");
        write_private_file(&s, "pw\n").unwrap();
        assert_eq!(std::fs::metadata(&s).unwrap().mode() & 0o777, 0o600);
        assert!(write_private_file(&s, "again").is_err(), "never overwrites");
        replace_private_file(&s, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&s).unwrap(), "new");
        assert_eq!(std::fs::metadata(&s).unwrap().mode() & 0o777, 0o600);
        assert!(ensure_private_dir(&f).is_err(), "a file is not a folder");
    }
}
