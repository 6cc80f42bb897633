//! Where the first Administrator's password comes from, on the first start only (with users
//! in the state database it is ignored). In order, the first one present wins:
//!
//! 1. the file named by `RAILGATE_ADMIN_PASSWORD_FILE`;
//! 2. the systemd credential `admin-password` (`$CREDENTIALS_DIRECTORY/admin-password`, from
//!    `LoadCredential=` or `SetCredentialEncrypted=`), so that no secret sits in the unit file or
//!    in a process environment;
//! 3. the environment variable `RAILGATE_ADMIN_PASSWORD` (kept for quick trials), removed from
//!    the environment once read.
//!
//! Without any, the gateway generates one and writes it to a 0600 file in the data folder
//! (`UserDirectory::bootstrap`); it is never logged. One trailing line break of a file is not
//! part of the password. An empty value counts as absent.

use std::path::{Path, PathBuf};

use railgate::security::Secret;

/// The variable naming a file that holds the password.
pub(crate) const FILE_VAR: &str = "RAILGATE_ADMIN_PASSWORD_FILE";
/// The variable holding the password itself.
pub(crate) const VALUE_VAR: &str = "RAILGATE_ADMIN_PASSWORD";
/// The systemd credential's name.
pub(crate) const CREDENTIAL: &str = "admin-password";

/// Why a named password file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot read the first Administrator's password ({origin}): {source}", path.display())]
pub(crate) struct PasswordFileError {
    path: PathBuf,
    origin: &'static str,
    source: std::io::Error,
}

/// What the sources gave, and which one (for the log; never the value).
#[derive(Debug)]
pub(crate) struct Given {
    pub secret: Secret,
    pub origin: &'static str,
}

/// Reads the sources in order; the environment variable is removed in every case.
pub(crate) fn take() -> Result<Option<Given>, PasswordFileError> {
    let value = std::env::var(VALUE_VAR).ok();
    // SAFETY: no other thread exists yet (the async runtime starts after this), so nothing
    // reads or writes the environment concurrently.
    #[allow(
        unsafe_code,
        reason = "removing a variable is unsafe in edition 2024; see SAFETY"
    )]
    unsafe {
        std::env::remove_var(VALUE_VAR)
    };
    choose(
        std::env::var_os(FILE_VAR).map(PathBuf::from),
        std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
        value,
    )
}

/// The choice, on given values (tested without touching the process environment).
fn choose(
    file: Option<PathBuf>,
    credentials: Option<PathBuf>,
    value: Option<String>,
) -> Result<Option<Given>, PasswordFileError> {
    if let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) {
        // Named explicitly: unreadable is an error, not a silent fall-back to a random one.
        if let Some(secret) = read(&path, FILE_VAR)? {
            return Ok(Some(Given {
                secret,
                origin: FILE_VAR,
            }));
        }
    }
    if let Some(dir) = credentials.filter(|p| !p.as_os_str().is_empty()) {
        let path = dir.join(CREDENTIAL);
        // The credentials folder holds whatever the unit loads; this one is optional.
        if path.exists()
            && let Some(secret) = read(&path, "systemd credential admin-password")?
        {
            return Ok(Some(Given {
                secret,
                origin: "systemd credential admin-password",
            }));
        }
    }
    Ok(value.filter(|v| !v.is_empty()).map(|v| Given {
        secret: Secret::new(v),
        origin: VALUE_VAR,
    }))
}

fn read(path: &Path, origin: &'static str) -> Result<Option<Secret>, PasswordFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PasswordFileError {
        path: path.to_owned(),
        origin,
        source,
    })?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    Ok((!text.is_empty()).then(|| Secret::new(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn file_then_credential_then_variable() {
        let t = tempfile::tempdir().unwrap();
        let file = write(t.path(), "pw", "from-file\n");
        let creds = t.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        write(&creds, CREDENTIAL, "from-credential");
        let env = Some("from-env".to_string());

        let g = choose(Some(file), Some(creds.clone()), env.clone())
            .unwrap()
            .unwrap();
        assert_eq!((g.secret.expose(), g.origin), ("from-file", FILE_VAR));
        let g = choose(None, Some(creds), env.clone()).unwrap().unwrap();
        assert_eq!(g.secret.expose(), "from-credential");
        let g = choose(None, Some(t.path().join("no-such")), env)
            .unwrap()
            .unwrap();
        assert_eq!((g.secret.expose(), g.origin), ("from-env", VALUE_VAR));
        assert!(choose(None, None, Some(String::new())).unwrap().is_none());
        assert!(choose(None, None, None).unwrap().is_none());
    }

    #[test]
    fn one_trailing_line_break_is_not_part_of_the_password() {
        let t = tempfile::tempdir().unwrap();
        for (text, want) in [("a b\r\n", "a b"), ("x\n\n", "x\n"), ("  sp  ", "  sp  ")] {
            let f = write(t.path(), "pw", text);
            let g = choose(Some(f), None, None).unwrap().unwrap();
            assert_eq!(g.secret.expose(), want);
        }
        let empty = write(t.path(), "empty", "\n");
        assert!(choose(Some(empty), None, None).unwrap().is_none());
    }

    #[test]
    fn a_named_file_that_cannot_be_read_is_an_error_without_the_secret() {
        let t = tempfile::tempdir().unwrap();
        let e = choose(
            Some(t.path().join("missing")),
            None,
            Some("hunter22".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing") && e.contains(FILE_VAR), "{e}");
        assert!(!e.contains("hunter22"));
    }
}
