//! The writer thread: batch, commit, then publish.
//!
//! What it does when a batch fails (each raiser in the batch gets the typed error; the
//! failure is logged once per batch with its kind, SQLite code, path and size; nothing of the
//! batch is published):
//! - [`StoreErrorKind::DiskFull`], [`StoreErrorKind::Io`], [`StoreErrorKind::Other`]: the
//!   batch is refused and the writer stays alive; the next appends are tried afresh, so the
//!   store recovers by itself once space is freed or the disk answers again.
//! - [`StoreErrorKind::Corrupt`]: the writer stops. Queued appends, and every append after,
//!   get the same `Corrupt` error ([`super::EventStore::stopped`]); already stored events
//!   stay readable as far as the damage allows. Restart with a repaired or moved-away file.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot, watch};

use crate::events::model::{Event, StoredEvent};

use super::checkpoint::Checkpointer;
use super::{Command, Ring, StoreConfig, StoreError, StoreErrorKind, codec};

/// Rows deleted per retention step (one short transaction each).
const PRUNE_CHUNK: i64 = 1000;

/// Where the writer makes its work visible: the ring of recent events, the latest sequence
/// number, and the fatal error it stopped on (for appends that come after).
pub(super) struct Published {
    pub(super) ring: Arc<RwLock<Ring>>,
    pub(super) latest: watch::Sender<u64>,
    pub(super) fatal: Arc<OnceLock<StoreError>>,
}

/// Starts the writer, the owner of the one writable connection, on its own thread.
pub(super) fn spawn(
    conn: Connection,
    path: PathBuf,
    checkpointer: Checkpointer,
    out: Published,
    config: StoreConfig,
    rx: mpsc::Receiver<Command>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("event-store".into())
        .spawn({
            let path = path.clone();
            move || {
                Writer {
                    conn,
                    path,
                    checkpointer,
                    out,
                    config,
                    last_prune: None,
                    last_chunk: Instant::now(),
                }
                .run(rx)
            }
        })
        .map_err(|e| StoreError::io(&path, e).doing("start the writer thread"))
}

struct Writer {
    conn: Connection,
    path: PathBuf,
    checkpointer: Checkpointer,
    out: Published,
    config: StoreConfig,
    last_prune: Option<Instant>,
    last_chunk: Instant,
}

type Reply = oneshot::Sender<Result<u64, StoreError>>;
type Pending = (Event, Reply);

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut closing: Option<oneshot::Sender<()>> = None;
        loop {
            // Retention only when nothing waits, so it never delays an append.
            if rx.is_empty() && closing.is_none() {
                self.prune_step();
            }
            let first = if closing.is_some() {
                rx.try_recv().ok()
            } else if self.prune_due() && rx.is_empty() {
                // Wake up for retention even when idle.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            } else {
                rx.blocking_recv()
            };
            let Some(first) = first else { break };
            let mut batch: Vec<Pending> = Vec::new();
            match first {
                Command::Append(e, ack) => batch.push((e, ack)),
                Command::Close(ack) => {
                    rx.close();
                    closing = Some(ack);
                }
            }
            while batch.len() < self.config.batch_max {
                match rx.try_recv() {
                    Ok(Command::Append(e, ack)) => batch.push((e, ack)),
                    Ok(Command::Close(ack)) => {
                        rx.close();
                        closing = Some(ack);
                    }
                    Err(_) => break,
                }
            }
            if !batch.is_empty()
                && let Err(fatal) = self.commit_and_publish(batch)
            {
                self.refuse_all(&mut rx, fatal, &mut closing);
                break;
            }
            // Under sustained load the queue is never empty: retention still advances, one
            // short chunk at a time, at most every 100 ms.
            if !rx.is_empty()
                && self.prune_due()
                && self.last_chunk.elapsed() >= Duration::from_millis(100)
            {
                self.prune_step();
            }
        }
        self.checkpointer.stop();
        if let Err(e) = self.conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
            tracing::debug!(error = %e, "event store checkpoint at close failed");
        }
        if let Some(ack) = closing {
            let _ = ack.send(());
        }
    }

    /// Stops taking appends after a fatal error: it is recorded for later appends, and every
    /// append still queued is answered with it.
    fn refuse_all(
        &self,
        rx: &mut mpsc::Receiver<Command>,
        fatal: StoreError,
        closing: &mut Option<oneshot::Sender<()>>,
    ) {
        let _ = self.out.fatal.set(fatal.clone());
        rx.close();
        let mut refused = 0usize;
        while let Ok(command) = rx.try_recv() {
            match command {
                Command::Append(_, reply) => {
                    refused += 1;
                    let _ = reply.send(Err(fatal.clone()));
                }
                Command::Close(ack) => *closing = Some(ack),
            }
        }
        tracing::error!(kind = %fatal.kind(), path = %self.path.display(), refused, "event store stopped: it takes no more events until railgate is restarted with a sound file");
    }

    /// Writes `batch` in one transaction; after the commit, publishes it and acknowledges
    /// each event with its sequence number. When the batch fails, every raiser in it gets the
    /// error and nothing is published; the failure is logged once for the batch. Returns the
    /// error only when it is fatal ([`StoreErrorKind::Corrupt`]): the writer then stops.
    fn commit_and_publish(&mut self, batch: Vec<Pending>) -> Result<(), StoreError> {
        let written = (|| -> Result<Vec<u64>, rusqlite::Error> {
            let tx = self.conn.transaction()?;
            let mut seqs = Vec::with_capacity(batch.len());
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO events (utc_ms, topic_ns, topic, operation, source, key, data, producer)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for (e, _) in &batch {
                    insert.execute(params![
                        e.utc.timestamp_millis(),
                        e.topic.ns,
                        e.topic.path,
                        e.operation.map(|o| o.as_str()),
                        codec::encode(&e.source),
                        codec::encode(&e.key),
                        codec::encode(&e.data),
                        e.producer,
                    ])?;
                    seqs.push(tx.last_insert_rowid() as u64);
                }
            }
            // On failure the transaction is rolled back when `tx` is dropped (SQLite may
            // already have rolled it back itself).
            tx.commit()?;
            self.checkpointer.committed();
            Ok(seqs)
        })();
        let seqs = match written {
            Ok(s) => s,
            Err(e) => {
                let e = StoreError::sqlite(&self.path, e);
                tracing::error!(
                    kind = %e.kind(),
                    sqlite_code = e.sqlite_code(),
                    path = %self.path.display(),
                    events = batch.len(),
                    error = %e,
                    "event store: a batch was not stored; each of its raisers is told why"
                );
                for (_, reply) in batch {
                    let _ = reply.send(Err(e.clone()));
                }
                return match e.kind() {
                    StoreErrorKind::Corrupt => Err(e),
                    _ => Ok(()),
                };
            }
        };
        let stored: Vec<(Arc<StoredEvent>, Reply)> = batch
            .into_iter()
            .zip(&seqs)
            .map(|((event, ack), &seq)| (Arc::new(StoredEvent { seq, event }), ack))
            .collect();
        {
            let mut ring = self.out.ring.write();
            for (e, _) in &stored {
                ring.events.push_back(e.clone());
            }
            while ring.events.len() > ring.capacity {
                ring.events.pop_front();
            }
        }
        if let Some(&last) = seqs.last() {
            self.out.latest.send_replace(last);
        }
        for (e, reply) in stored {
            let _ = reply.send(Ok(e.seq));
        }
        Ok(())
    }

    fn prune_due(&self) -> bool {
        self.last_prune
            .is_none_or(|t| t.elapsed() >= self.config.prune_every)
    }

    /// Deletes one chunk of events past retention; marks retention done when none is left.
    fn prune_step(&mut self) {
        if !self.prune_due() {
            return;
        }
        let mut deleted = 0usize;
        if let Some(age) = self.config.max_age {
            let cutoff = chrono::Utc::now().timestamp_millis() - age.as_millis() as i64;
            deleted += self.delete_chunk("utc_ms < ?1", cutoff);
        }
        if let Some(max) = self.config.max_count {
            let keep_from = *self.out.latest.borrow() as i64 - max as i64;
            if keep_from > 0 {
                deleted += self.delete_chunk("seq <= ?1", keep_from);
            }
        }
        self.last_chunk = Instant::now();
        if deleted == 0 {
            self.last_prune = Some(Instant::now());
        } else {
            tracing::debug!(deleted, "event store retention");
        }
    }

    fn delete_chunk(&mut self, condition: &str, bound: i64) -> usize {
        let sql = format!(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE {condition} ORDER BY seq LIMIT {PRUNE_CHUNK})"
        );
        match self.conn.execute(&sql, [bound]) {
            Ok(n) => n,
            Err(e) => {
                // Not fatal: appends go on; retention tries again after `prune_every`.
                let e = StoreError::sqlite(&self.path, e);
                tracing::warn!(kind = %e.kind(), sqlite_code = e.sqlite_code(), error = %e, "event store retention failed");
                self.last_prune = Some(Instant::now());
                0
            }
        }
    }
}
