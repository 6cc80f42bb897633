//! The writer thread: batch, commit, then publish.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot, watch};

use crate::events::model::{Event, StoredEvent};

use super::checkpoint::Checkpointer;
use super::{Command, Ring, StoreConfig, StoreError, codec};

/// Rows deleted per retention step (one short transaction each).
const PRUNE_CHUNK: i64 = 1000;

pub(super) fn spawn(
    conn: Connection,
    checkpointer: Checkpointer,
    rx: mpsc::Receiver<Command>,
    ring: Arc<RwLock<Ring>>,
    latest: watch::Sender<u64>,
    config: StoreConfig,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("event-store".into())
        .spawn(move || {
            Writer {
                conn,
                checkpointer,
                ring,
                latest,
                config,
                last_prune: None,
                last_chunk: Instant::now(),
            }
            .run(rx)
        })
        .map_err(|source| StoreError::Io {
            path: "event-store thread".into(),
            source,
        })
}

struct Writer {
    conn: Connection,
    checkpointer: Checkpointer,
    ring: Arc<RwLock<Ring>>,
    latest: watch::Sender<u64>,
    config: StoreConfig,
    last_prune: Option<Instant>,
    last_chunk: Instant,
}

type Ack = oneshot::Sender<Result<u64, String>>;
type Pending = (Event, Ack);

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
            if !batch.is_empty() {
                self.commit_and_publish(batch);
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

    fn commit_and_publish(&mut self, batch: Vec<Pending>) {
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
            tx.commit()?;
            self.checkpointer.committed();
            Ok(seqs)
        })();
        let seqs = match written {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "event store write failed; the events were not stored");
                for (_, ack) in batch {
                    let _ = ack.send(Err(e.to_string()));
                }
                return;
            }
        };
        let stored: Vec<(Arc<StoredEvent>, Ack)> = batch
            .into_iter()
            .zip(&seqs)
            .map(|((event, ack), &seq)| (Arc::new(StoredEvent { seq, event }), ack))
            .collect();
        {
            let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
            for (e, _) in &stored {
                ring.events.push_back(e.clone());
            }
            while ring.events.len() > ring.capacity {
                ring.events.pop_front();
            }
        }
        if let Some(&last) = seqs.last() {
            self.latest.send_replace(last);
        }
        for (e, ack) in stored {
            let _ = ack.send(Ok(e.seq));
        }
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
            let keep_from = *self.latest.borrow() as i64 - max as i64;
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
                tracing::warn!(error = %e, "event store retention failed");
                self.last_prune = Some(Instant::now());
                0
            }
        }
    }
}
