//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the commit that
//! crosses the threshold and fsyncs the database file there, stalling that append (and every
//! event behind it) by milliseconds. The writer therefore never checkpoints; this thread does,
//! on its own connection, in PASSIVE mode, which copies committed WAL frames into the database
//! while the writer goes on committing.
//!
//! SQLite runs one checkpoint at a time and answers any other at once with SQLITE_BUSY
//! (without a busy handler). The writer's own RESTART checkpoints (`wal.rs`) therefore take
//! [`Checkpointer::exclusive`] first, which this thread holds while it checkpoints.

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Commits after which a checkpoint is due (a few hundred WAL frames).
const EVERY_COMMITS: u64 = 128;
/// A quiet store is checkpointed this long after its last commit.
const IDLE: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    commits: u64,
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
        if state.commits == EVERY_COMMITS {
            wake.notify_one();
        }
    }

    /// Asks for a checkpoint now (the WAL is growing fast: copy it before the writer has to).
    pub(super) fn nudge(&self) {
        let (state, wake) = &*self.shared;
        let mut state = state.lock();
        if state.commits < EVERY_COMMITS {
            state.commits = EVERY_COMMITS;
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

fn run(conn: Connection, shared: Shared, exclusive: Exclusive) {
    let (state, wake) = &*shared;
    let mut guard = state.lock();
    let mut quiet = false;
    loop {
        if guard.stop {
            return;
        }
        // Due after a burst of commits, or after a quiet second with something to copy.
        let due = guard.commits >= EVERY_COMMITS || (quiet && guard.commits > 0);
        if !due {
            quiet = wake.wait_for(&mut guard, IDLE).timed_out();
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
