//! Versioned schema migrations for railgate's SQLite files: `PRAGMA user_version` counts the
//! migrations applied; each runs in its own transaction.

use rusqlite::Connection;

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The file was written by a newer railgate.
    #[error("schema version {found} is newer than this railgate knows ({known})")]
    TooNew {
        /// Found.
        found: usize,
        /// Known.
        known: usize,
    },
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies the migrations `conn` has not had yet; `what` names the database in the log.
pub fn migrate(
    conn: &mut Connection,
    migrations: &[&str],
    what: &str,
) -> Result<(), MigrationError> {
    let version = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if version > migrations.len() {
        return Err(MigrationError::TooNew {
            found: version,
            known: migrations.len(),
        });
    }
    for (i, sql) in migrations.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(database = what, version = i + 1, "migrated");
    }
    Ok(())
}
