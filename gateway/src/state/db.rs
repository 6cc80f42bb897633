//! The state database: the file, its schema (users, configurable scopes, settings) with
//! versioned migrations, and the queries for scopes and settings.
//!
//! Writes are rare (a client changes a user or a scope) and small, so one connection behind a
//! mutex serves; hot paths read from in-memory copies kept by their owners (see
//! `security::users`).

use parking_lot::Mutex;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::datadir;

/// The file name inside the data folder.
pub const FILE_NAME: &str = "state.db";

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: users, configurable scopes, settings.
    "CREATE TABLE users (
         username TEXT PRIMARY KEY NOT NULL,
         password TEXT NOT NULL,
         level    TEXT NOT NULL
     );
     CREATE TABLE scopes (
         position INTEGER PRIMARY KEY NOT NULL,
         uri      TEXT NOT NULL UNIQUE
     );
     CREATE TABLE settings (
         key   TEXT PRIMARY KEY NOT NULL,
         value TEXT NOT NULL
     );",
];

/// Why the state database failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The data folder or file could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer railgate.
    #[error("state database schema version {found} is newer than this railgate ({known})")]
    TooNew {
        /// The version found.
        found: usize,
        /// The newest this build knows.
        known: usize,
    },
    /// A stored value cannot be read.
    #[error("state database holds an unreadable value: {0}")]
    Corrupt(String),
}

/// The state database.
#[derive(Debug)]
pub struct StateDb {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl StateDb {
    /// Opens (creating if needed) `state.db` in `data_dir`, which is created 0700 if missing,
    /// and migrates it to the current schema.
    pub fn open(data_dir: &Path) -> Result<StateDb, StateError> {
        datadir::ensure_private_dir(data_dir).map_err(|source| StateError::Io {
            path: data_dir.into(),
            source,
        })?;
        let path = data_dir.join(FILE_NAME);
        datadir::create_private_file(&path).map_err(|source| StateError::Io {
            path: path.clone(),
            source,
        })?;
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(StateDb {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection (one caller at a time). The owners of rows that carry
    /// types of their own (users: `security::users`) keep their queries beside those types;
    /// the tables themselves are created here, by the migrations.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let mut conn = self.conn.lock();
        f(&mut conn)
    }

    /// A setting, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StateError> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    /// Sets a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// The configurable scopes, in order; `None` until they were first written.
    pub fn scopes(&self) -> Result<Option<Vec<String>>, StateError> {
        if self.setting("scopes_initialized")?.is_none() {
            return Ok(None);
        }
        self.with(|c| {
            let mut stmt = c.prepare("SELECT uri FROM scopes ORDER BY position")?;
            let uris = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(Some(uris))
        })
    }

    /// Replaces the configurable scopes.
    pub fn set_scopes(&self, uris: &[String]) -> Result<(), StateError> {
        self.with(|c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM scopes", [])?;
            for (i, uri) in uris.iter().enumerate() {
                tx.execute("INSERT INTO scopes (position, uri) VALUES (?1, ?2)", params![i as i64, uri])?;
            }
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('scopes_initialized', '1') ON CONFLICT(key) DO NOTHING",
                [],
            )?;
            tx.commit()?;
            Ok(())
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StateError> {
    super::migrate::migrate(conn, MIGRATIONS, "state").map_err(|e| match e {
        super::migrate::MigrationError::TooNew { found, known } => {
            StateError::TooNew { found, known }
        }
        super::migrate::MigrationError::Sqlite(e) => StateError::Sqlite(e),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn persists_across_reopen_with_private_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        {
            let db = StateDb::open(&dir).unwrap();
            assert_eq!(db.scopes().unwrap(), None);
            db.set_scopes(&["onvif://www.onvif.org/name/x".into()])
                .unwrap();
            db.set_setting("discovery_mode", "NonDiscoverable").unwrap();
        }
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(
            std::fs::metadata(dir.join(FILE_NAME)).unwrap().mode() & 0o777,
            0o600
        );
        let db = StateDb::open(&dir).unwrap();
        assert_eq!(
            db.scopes().unwrap(),
            Some(vec!["onvif://www.onvif.org/name/x".to_string()])
        );
        assert_eq!(
            db.setting("discovery_mode").unwrap().as_deref(),
            Some("NonDiscoverable")
        );
    }

    #[test]
    fn refuses_a_newer_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FILE_NAME);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            StateDb::open(tmp.path()),
            Err(StateError::TooNew { found: 99, .. })
        ));
    }
}
