//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the commit that
//! crosses the threshold and fsyncs the database file there, stalling that append (and every
//! event behind it) by milliseconds. The writer therefore never checkpoints; this thread does,
//! on its own connection, in PASSIVE mode, which copies committed WAL frames into the database
//! while the writer goes on committing.
//!
//! A checkpoint fsyncs the database file, and that fsync competes for the disk with the next
//! commit's: one that lands beside a commit delays its acknowledgement by about a disk flush.
//! So a checkpoint that is due waits for the writer to pause ([`PAUSE`] without a commit);
//! under a load with no pause it runs anyway once [`HARD_LIMIT`] commits are waiting, and at
//! once when the writer nudges (the WAL is growing fast).
//!
//! SQLite runs one checkpoint at a time and answers any other at once with SQLITE_BUSY
//! (without a busy handler). The writer's own RESTART checkpoints (`wal.rs`) therefore take
//! [`Checkpointer::exclusive`] first, which this thread holds while it checkpoints.

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::StoreError;

/// Commits after which a checkpoint is due (a few hundred WAL frames).
const EVERY_COMMITS: u64 = 128;
/// A due checkpoint waits for this long a gap between two commits.
const PAUSE: Duration = Duration::from_millis(5);
/// Commits after which a due checkpoint no longer waits for a pause.
const HARD_LIMIT: u64 = 8 * EVERY_COMMITS;
/// A quiet store is checkpointed this long after its last commit.
const IDLE: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    commits: u64,
    /// When the writer last committed.
    last_commit: Option<Instant>,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// Held while a checkpoint runs (this thread's, or the writer's RESTART).
pub(super) type Exclusive = Arc<Mutex<()>>;

/// The checkpointing thread; the writer tells it about commits.
pub(super) struct Checkpointer {
    shared: Shared,
    exclusive: Exclusive,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(super) fn spawn(path: &Path) -> Result<Checkpointer, StoreError> {
        let sqlite = |e| StoreError::sqlite(path, e);
        let conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
        let shared: Shared = Arc::default();
        let exclusive = Exclusive::default();
        let thread = std::thread::Builder::new()
            .name("event-checkpoint".into())
            .spawn({
                let (shared, exclusive) = (shared.clone(), exclusive.clone());
                move || run(conn, shared, exclusive)
            })
            .map_err(|e| StoreError::io(path, e).doing("start the checkpoint thread"))?;
        Ok(Checkpointer {
            shared,
            exclusive,
            thread: Some(thread),
        })
    }

    /// The lock a checkpoint holds while it runs.
    pub(super) fn exclusive(&self) -> Exclusive {
        self.exclusive.clone()
    }

    /// Called by the writer after each commit.
    pub(super) fn committed(&self) {
        let (state, wake) = &*self.shared;
        let mut state = state.lock();
        state.commits += 1;
        state.last_commit = Some(Instant::now());
        if state.commits == EVERY_COMMITS || state.commits == HARD_LIMIT {
            wake.notify_one();
        }
    }

    /// Asks for a checkpoint now (the WAL is growing fast: copy it before the writer has to).
    pub(super) fn nudge(&self) {
        let (state, wake) = &*self.shared;
        let mut state = state.lock();
        if state.commits < HARD_LIMIT {
            state.commits = HARD_LIMIT;
            wake.notify_one();
        }
    }

    /// Stops the thread and waits for it (before the writer's final checkpoint).
    pub(super) fn stop(&mut self) {
        {
            let (state, wake) = &*self.shared;
            state.lock().stop = true;
            wake.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a checkpoint is due (`Ok`), or how long to wait before asking again: due after a
/// burst of commits once the writer pauses (or at once past the hard limit), or after a quiet
/// second with something to copy. `since` is the time since the last commit, `quiet` whether
/// the last wait was a whole idle period without a commit.
fn next(commits: u64, since: Option<Duration>, quiet: bool) -> Result<(), Duration> {
    let paused = since.is_none_or(|d| d >= PAUSE);
    if commits >= HARD_LIMIT || (commits >= EVERY_COMMITS && paused) || (quiet && commits > 0) {
        Ok(())
    } else if commits >= EVERY_COMMITS {
        Err(PAUSE)
    } else {
        Err(IDLE)
    }
}

fn run(conn: Connection, shared: Shared, exclusive: Exclusive) {
    let (state, wake) = &*shared;
    let mut guard = state.lock();
    let mut quiet = false;
    loop {
        if guard.stop {
            return;
        }
        let since = guard.last_commit.map(|t| t.elapsed());
        if let Err(wait) = next(guard.commits, since, quiet) {
            quiet = wake.wait_for(&mut guard, wait).timed_out() && wait == IDLE;
            continue;
        }
        guard.commits = 0;
        drop(guard);
        let result = {
            let _running = exclusive.lock();
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
        };
        match result {
            Ok((frames, copied)) => tracing::trace!(frames, copied, "event store checkpoint"),
            Err(e) => tracing::warn!(error = %e, "event store checkpoint failed"),
        }
        guard = state.lock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_checkpoint_waits_for_the_writer_to_pause_up_to_the_hard_limit() {
        let ms = Duration::from_millis;
        // Not due yet: wait a quiet period; after one, copy what there is.
        assert_eq!(next(10, Some(ms(1)), false), Err(IDLE));
        assert_eq!(next(10, Some(ms(1)), true), Ok(()));
        assert_eq!(next(0, None, true), Err(IDLE));
        // Due, but the writer is busy: wait for a pause; then run.
        assert_eq!(next(EVERY_COMMITS, Some(ms(1)), false), Err(PAUSE));
        assert_eq!(next(EVERY_COMMITS, Some(PAUSE), false), Ok(()));
        // Past the hard limit (or nudged there), no waiting for a pause.
        assert_eq!(next(HARD_LIMIT, Some(ms(0)), false), Ok(()));
    }

    #[test]
    fn copies_the_wal_into_the_database_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let mut cp = Checkpointer::spawn(&path).unwrap();
        for _ in 0..EVERY_COMMITS {
            writer
                .execute("INSERT INTO t VALUES (zeroblob(3000))", [])
                .unwrap();
            cp.committed();
        }
        let db_len = || std::fs::metadata(&path).unwrap().len();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while db_len() < 128 * 3000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            db_len() >= 128 * 3000,
            "database file is {} bytes",
            db_len()
        );
        cp.stop();
        assert!(cp.thread.is_none());
    }
}
