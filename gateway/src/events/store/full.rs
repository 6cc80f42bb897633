//! What the writer does when the disk is full (`SQLITE_FULL`, `ENOSPC`, `EDQUOT`: every one
//! is [`StoreErrorKind::DiskFull`]).
//!
//! The gateway keeps serving: readers, pull points and the HTTP server do not need to write.
//! The writer enters an *outage*:
//! - the batch that met the full disk, and every append until the store recovers, is refused
//!   with that `DiskFull` error (each raiser gets it, typed; nothing refused is published).
//!   Appends are refused without touching the disk until the next retry, so a storm of
//!   raisers against a full disk costs no I/O and writes no log line per batch (one line when
//!   the outage starts, one when it ends, with the count).
//! - a small reserve file (`events.reserve` beside `events.db`, [`RESERVE_BYTES`]) is deleted,
//!   so SQLite has room for a checkpoint, retention deletes and the store's own monitoring
//!   event (`rg:Monitoring/EventStorage`, raised through [`super::EventStore::enqueue_held`]).
//! - *held* appends (that monitoring event) are never refused for lack of space: they wait
//!   in the writer and are committed, first and in order, as soon as a write succeeds: at
//!   once when the reserve's space suffices, else on recovery. So the event that says the
//!   store is full is itself persisted and published like any other (never delivered from
//!   memory only), and it is not lost when even the reserve is taken.
//! - the writer retries with a backoff from [`RETRY_FIRST`] doubling to [`RETRY_MAX`]: a retry
//!   first recreates the reserve (if it cannot, the disk is still full), then commits what is
//!   held together with the batch at hand. The first retry that commits ends the outage; the
//!   store recovers by itself when space returns, with no restart.
//!
//! [`StorageState`] (on a `watch`, [`super::EventStore::storage`]) tells the monitoring task
//! about outages; it raises the event.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Pending, StoreError, StoreErrorKind};

/// The reserve's file name, in the data folder.
pub const RESERVE_FILE: &str = "events.reserve";
/// The reserve's size: room for a checkpoint of a few pages, retention and a few events.
pub const RESERVE_BYTES: u64 = 512 * 1024;
/// The first retry after a full disk.
pub const RETRY_FIRST: Duration = Duration::from_millis(250);
/// The longest wait between retries.
pub const RETRY_MAX: Duration = Duration::from_secs(4);

/// Whether the store can write, as the monitoring task sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageState {
    /// The disk is full: appends are refused (held ones wait).
    pub full: bool,
    /// Outages since the store opened (counts up when one starts).
    pub outages: u64,
    /// Appends refused in the current outage, or in the last one once it has ended.
    pub refused: u64,
}

struct Outage {
    since: Instant,
    error: StoreError,
    refused: u64,
    retry: Duration,
    next: Instant,
}

/// The writer's disk-full state: outage, reserve, held appends.
pub(super) struct Full {
    reserve: Option<PathBuf>,
    reserve_bytes: u64,
    state: watch::Sender<StorageState>,
    outage: Option<Outage>,
    /// Held appends not yet committed, in order.
    pub(super) held: Vec<Pending>,
}

impl Full {
    /// `reserve_bytes` 0 keeps no reserve. The reserve is created now (best effort: a disk
    /// already full at start is reported by the first append).
    pub(super) fn new(
        data_dir: &Path,
        reserve_bytes: u64,
        state: watch::Sender<StorageState>,
    ) -> Full {
        let full = Full {
            reserve: (reserve_bytes > 0).then(|| data_dir.join(RESERVE_FILE)),
            reserve_bytes,
            state,
            outage: None,
            held: Vec::new(),
        };
        if let Err(e) = full.make_reserve() {
            tracing::warn!(error = %e, "event store: cannot create its disk-full reserve file");
        }
        full
    }

    /// In an outage.
    pub(super) fn is_full(&self) -> bool {
        self.outage.is_some()
    }

    /// In an outage and its next retry is due.
    pub(super) fn retry_due(&self) -> bool {
        self.outage
            .as_ref()
            .is_some_and(|o| Instant::now() >= o.next)
    }

    /// How long until the next retry (zero when due or not in an outage).
    pub(super) fn until_retry(&self) -> Duration {
        self.outage.as_ref().map_or(Duration::ZERO, |o| {
            o.next.saturating_duration_since(Instant::now())
        })
    }

    /// A commit met a full disk (`error`) with `refused` raisers' appends in it: starts an
    /// outage (or, on a failed retry, backs off further).
    pub(super) fn failed(&mut self, error: &StoreError, refused: u64) {
        debug_assert_eq!(error.kind(), StoreErrorKind::DiskFull);
        let now = Instant::now();
        match &mut self.outage {
            Some(o) => {
                o.refused = o.refused.saturating_add(refused);
                o.retry = o.retry.saturating_mul(2).min(RETRY_MAX);
                o.next = now + o.retry;
                tracing::debug!(retry_in = ?o.retry, "event store: still full");
            }
            None => {
                self.outage = Some(Outage {
                    since: now,
                    error: error.clone(),
                    refused,
                    retry: RETRY_FIRST,
                    next: now + RETRY_FIRST,
                });
                let released = self.release_reserve();
                tracing::error!(
                    kind = %error.kind(),
                    sqlite_code = error.sqlite_code(),
                    error = %error,
                    released_reserve = released,
                    "event store: the disk is full; new events are refused (the gateway keeps serving) and the store retries by itself"
                );
                self.state.send_modify(|s| {
                    s.full = true;
                    s.outages = s.outages.saturating_add(1);
                    s.refused = refused;
                });
            }
        }
    }

    /// Refuses `batch` with the outage's error, without touching the disk.
    pub(super) fn refuse(&mut self, batch: Vec<Pending>) {
        let Some(o) = &mut self.outage else { return };
        o.refused = o.refused.saturating_add(batch.len() as u64);
        for (_, reply) in batch {
            let _ = reply.send(Err(o.error.clone()));
        }
    }

    /// A retry is starting: recreates the reserve first. `false`: the disk is still full
    /// (the retry has failed; the next one is scheduled).
    pub(super) fn begin_retry(&mut self) -> bool {
        match self.make_reserve() {
            Ok(()) => true,
            Err(e) => {
                let error = StoreError::io(self.reserve.as_deref().unwrap_or(Path::new("")), e);
                self.failed(&error, 0);
                false
            }
        }
    }

    /// A commit succeeded: ends the outage, if there is one.
    pub(super) fn succeeded(&mut self) {
        let Some(o) = self.outage.take() else { return };
        tracing::warn!(
            refused = o.refused,
            lasted = ?o.since.elapsed(),
            "event store: space is back, storing events again"
        );
        self.state.send_modify(|s| {
            s.full = false;
            s.refused = o.refused;
        });
        if let Err(e) = self.make_reserve() {
            tracing::debug!(error = %e, "event store: reserve file not recreated yet");
        }
    }

    /// Deletes the reserve file; whether there was one.
    fn release_reserve(&self) -> bool {
        self.reserve
            .as_deref()
            .is_some_and(|p| std::fs::remove_file(p).is_ok())
    }

    /// Creates the reserve file (written, not sparse, and synced) if it is missing. A
    /// partly written one is removed again.
    fn make_reserve(&self) -> std::io::Result<()> {
        let Some(path) = &self.reserve else {
            return Ok(());
        };
        if std::fs::metadata(path).is_ok_and(|m| m.len() >= self.reserve_bytes) {
            return Ok(());
        }
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(path)?;
            let chunk = vec![0u8; 64 * 1024];
            let mut left = self.reserve_bytes;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                f.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            f.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(path);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_backs_off_releases_and_recreates_the_reserve() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = watch::channel(StorageState::default());
        let mut full = Full::new(dir.path(), 4096, tx);
        let reserve = dir.path().join(RESERVE_FILE);
        assert_eq!(std::fs::metadata(&reserve).unwrap().len(), 4096);
        let error = StoreError::io(dir.path(), std::io::Error::from_raw_os_error(28));
        full.failed(&error, 3);
        assert!(full.is_full() && !full.retry_due());
        assert!(
            !reserve.exists(),
            "released for the checkpoint and the event"
        );
        assert_eq!(
            *rx.borrow(),
            StorageState {
                full: true,
                outages: 1,
                refused: 3
            }
        );
        let retry = |f: &Full| f.outage.as_ref().unwrap().retry;
        assert_eq!(retry(&full), RETRY_FIRST);
        for _ in 0..10 {
            full.failed(&error, 1);
        }
        assert_eq!(retry(&full), RETRY_MAX, "doubles up to the maximum");
        assert!(full.until_retry() <= RETRY_MAX && full.until_retry() > Duration::ZERO);
        let (reply, answer) = tokio::sync::oneshot::channel();
        full.refuse(vec![(crate::events::store::testing::event(0), reply)]);
        let refused = answer.blocking_recv().unwrap().unwrap_err();
        assert_eq!(refused.kind(), StoreErrorKind::DiskFull);
        assert!(full.begin_retry(), "the disk has room: the reserve is back");
        assert!(reserve.exists());
        full.succeeded();
        assert!(!full.is_full());
        assert_eq!(
            *rx.borrow(),
            StorageState {
                full: false,
                outages: 1,
                refused: 3 + 10 + 1
            }
        );
    }
}
