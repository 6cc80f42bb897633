//! The bound on the write-ahead log.
//!
//! PASSIVE checkpoints (`checkpoint.rs`) copy committed frames into the database while the
//! writer goes on, but they never let the log *restart*: SQLite rewinds the WAL only when a
//! checkpoint has copied every frame and the writer then begins a transaction, which under
//! sustained commits never happens, so the file grows without bound (668 MiB after 12 s at
//! ~23k events/s of 2 KB each). `journal_size_limit` applies only when the log restarts.
//!
//! So the writer watches the WAL's file size after each commit. Past half the bound
//! (`events.max_wal_mib`) it runs `PRAGMA wal_checkpoint(RESTART)` itself, between batches:
//! that copies what the PASSIVE checkpointer has not copied yet and makes the next commit
//! write from the log's start; that commit truncates the file to `journal_size_limit` (a
//! quarter of the bound, [`journal_size_limit`]). A batch is also kept below a sixteenth of
//! the bound (`writer.rs`), so the file stays under the bound at any rate. The restart costs the
//! writer a pause (the copy of the frames not yet copied, and an fsync of the database), so
//! past a quarter of the bound the writer wakes the checkpoint thread after every commit: by
//! the restart most frames are copied and the pause is short. SQLite runs one checkpoint at a
//! time, so the restart waits for a PASSIVE one in progress (`checkpoint.rs`); each pause,
//! that wait included, is measured and the longest kept in [`StoreStats`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;

use super::checkpoint::Exclusive;

/// Figures of the store since it opened (for the storm benchmark and the logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Largest WAL file size seen after a commit, in bytes.
    pub largest_wal_bytes: u64,
    /// RESTART checkpoints run because the WAL passed half its bound.
    pub wal_restarts: u64,
    /// RESTART checkpoints that could not complete (a reader held the log).
    pub wal_restarts_busy: u64,
    /// The longest writer pause a RESTART checkpoint cost (the wait below included).
    pub longest_restart_pause: Duration,
    /// The longest part of such a pause spent waiting for a PASSIVE checkpoint to finish.
    pub longest_restart_wait: Duration,
    /// Events deleted because the store passed its size bound.
    pub deleted_for_size: u64,
    /// The database's size in use (pages in use × page size) after the last commit, bytes.
    pub used_bytes: u64,
}

/// Shared between the writer (which updates it) and [`super::EventStore::stats`].
pub(super) type SharedStats = Arc<Mutex<StoreStats>>;

/// `journal_size_limit` for a bound of `max_wal` bytes: a quarter of it.
pub(super) fn journal_size_limit(max_wal: u64) -> u64 {
    max_wal / 4
}

/// The writer's watch over the WAL file.
pub(super) struct WalBound {
    wal: PathBuf,
    /// Taken for the RESTART, so it never meets the checkpoint thread's PASSIVE one.
    exclusive: Exclusive,
    /// Restart the log when the file passes this size (`None`: no bound).
    restart_at: Option<u64>,
    /// The bound (0 when there is none).
    bound: u64,
    stats: SharedStats,
}

impl WalBound {
    /// For the database `db`, bounded to `max_wal` bytes (`None`: unbounded).
    pub(super) fn new(
        db: &Path,
        max_wal: Option<u64>,
        exclusive: Exclusive,
        stats: SharedStats,
    ) -> WalBound {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        WalBound {
            wal: PathBuf::from(wal),
            exclusive,
            restart_at: max_wal.map(|m| m / 2),
            bound: max_wal.unwrap_or(0),
            stats,
        }
    }

    /// The WAL file's size now (0 when there is none).
    pub(super) fn size(&self) -> u64 {
        std::fs::metadata(&self.wal).map_or(0, |m| m.len())
    }

    /// After a commit: records the WAL's size and restarts the log when it is past half the
    /// bound. Never fails: a failed checkpoint is logged and tried again after the next commit.
    /// Returns whether the checkpoint thread should run now: past a quarter of the bound, so
    /// that by the restart most frames are copied already and the restart's pause is short.
    pub(super) fn after_commit(&mut self, conn: &Connection) -> bool {
        let size = self.size();
        {
            let mut stats = self.stats.lock();
            stats.largest_wal_bytes = stats.largest_wal_bytes.max(size);
        }
        let Some(limit) = self.restart_at else {
            return false;
        };
        if size <= limit {
            return size > limit / 2;
        }
        // The pause counts the wait for a PASSIVE checkpoint in progress too. While one runs
        // the restart is put off to a later commit, until the log is past five eighths of the
        // bound (then the writer waits for it).
        let started = Instant::now();
        let running = match self.exclusive.try_lock() {
            Some(guard) => guard,
            None if size <= self.bound / 8 * 5 => return true,
            None => self.exclusive.lock(),
        };
        let waited = started.elapsed();
        let result = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        drop(running);
        let pause = started.elapsed();
        let mut stats = self.stats.lock();
        stats.wal_restarts += 1;
        let longest = pause > stats.longest_restart_pause;
        stats.longest_restart_pause = stats.longest_restart_pause.max(pause);
        stats.longest_restart_wait = stats.longest_restart_wait.max(waited);
        match result {
            Ok((busy, frames, copied)) => {
                if busy != 0 {
                    stats.wal_restarts_busy += 1;
                }
                if longest {
                    tracing::info!(
                        wal_bytes = size,
                        ?pause,
                        frames,
                        copied,
                        busy,
                        "event store: WAL restarted (longest writer pause so far)"
                    );
                } else {
                    tracing::debug!(
                        wal_bytes = size,
                        ?pause,
                        frames,
                        copied,
                        busy,
                        "event store: WAL restarted"
                    );
                }
            }
            Err(e) => {
                stats.wal_restarts_busy += 1;
                tracing::warn!(error = %e, wal_bytes = size, "event store: WAL restart checkpoint failed");
            }
        }
        false
    }
}
