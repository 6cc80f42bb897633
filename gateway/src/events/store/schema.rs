//! The events database schema, its migrations, and connection settings.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: the events. AUTOINCREMENT: a sequence number is never reused, even after pruning.
    "CREATE TABLE events (
         seq       INTEGER PRIMARY KEY AUTOINCREMENT,
         utc_ms    INTEGER NOT NULL,
         topic_ns  TEXT NOT NULL,
         topic     TEXT NOT NULL,
         operation TEXT,
         source    TEXT NOT NULL,
         key       TEXT NOT NULL,
         data      TEXT NOT NULL,
         producer  TEXT NOT NULL
     );
     CREATE INDEX events_by_time ON events (utc_ms, seq);
     CREATE INDEX events_by_topic ON events (topic, utc_ms);",
];

/// Opens the writable connection: WAL, full sync, migrated; at most `max_pages` pages; the
/// WAL truncated to `journal_limit` bytes when it restarts (16 MiB when `None`).
pub(super) fn open_writable(
    path: &Path,
    max_pages: Option<u64>,
    journal_limit: Option<u64>,
) -> Result<Connection, StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let mut conn = Connection::open(path).map_err(sqlite)?;
    (|| {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run on their own thread (checkpoint.rs), never inside an append.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // After a checkpoint the WAL is reused from its start; keep its file from staying large
        // (the restart itself is the writer's, `wal.rs`).
        let limit = journal_limit.unwrap_or(16 * 1024 * 1024);
        conn.pragma_update(
            None,
            "journal_size_limit",
            i64::try_from(limit).unwrap_or(i64::MAX),
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
    })()
    .map_err(sqlite)?;
    crate::state::migrate::migrate(&mut conn, MIGRATIONS, "events").map_err(|e| match e {
        crate::state::migrate::MigrationError::TooNew { found, known } => {
            StoreError::too_new(path, found, known)
        }
        crate::state::migrate::MigrationError::Sqlite(e) => sqlite(e),
    })?;
    if let Some(pages) = max_pages {
        // Set after the migrations, which need their pages. SQLite answers the limit in force
        // (never below the file's current size).
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(sqlite)?;
    }
    Ok(conn)
}

/// Opens a read-only connection (WAL lets it read while the writer writes).
pub(super) fn open_readonly(path: &Path) -> Result<Connection, StoreError> {
    let sqlite = |e| StoreError::sqlite(path, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sqlite)?;
    Ok(conn)
}

/// The highest sequence number ever given (0 for a new store).
pub(super) fn last_seq(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let from_events: Option<i64> = conn
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .map_err(|e| StoreError::sqlite(path, e))?;
    let from_sequence: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
            [],
            |r| r.get(0),
        )
        .ok();
    Ok(from_events
        .into_iter()
        .chain(from_sequence)
        .max()
        .unwrap_or(0)
        .max(0) as u64)
}
