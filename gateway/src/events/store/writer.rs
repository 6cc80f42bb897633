//! The writer thread: batch, commit, then publish.
//!
//! What it does when a batch fails (each raiser in the batch gets the typed error; nothing of
//! the batch is published):
//! - [`StoreErrorKind::DiskFull`]: an outage begins (`full.rs`): appends are refused, typed,
//!   without touching the disk until a retry (250 ms doubling to 4 s) finds space again; the
//!   store's own held monitoring event waits and is committed first. Logged once when the
//!   outage begins and once when it ends.
//! - [`StoreErrorKind::Io`], [`StoreErrorKind::Other`]: the batch is refused and the writer
//!   stays alive; the next appends are tried afresh. Logged once per failed batch with its
//!   kind, SQLite code, path and size.
//! - [`StoreErrorKind::Corrupt`]: the writer stops. Queued appends, and every append after,
//!   get the same `Corrupt` error ([`super::EventStore::stopped`]); already stored events
//!   stay readable as far as the damage allows. Restart with a repaired or moved-away file.
//!
//! After each commit the writer bounds the WAL (`wal.rs`) and notes the database's size in
//! use; retention (age, count, size) deletes between batches, in chunks that keep pace with
//! what was committed since the last chunk.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot, watch};

use crate::events::model::{Event, StoredEvent};

use super::checkpoint::Checkpointer;
use super::full::Full;
use super::wal::{SharedStats, WalBound};
use super::{Command, Pending, Reply, Ring, StoreConfig, StoreError, StoreErrorKind, codec};

/// Rows deleted per retention step at least (one short transaction each).
const PRUNE_CHUNK: u64 = 1000;
/// Rows deleted per retention step at most (under load a step deletes twice what was
/// committed since the last one, so retention catches up with any rate).
const PRUNE_CHUNK_MAX: u64 = 16_384;
/// Under load, retention steps come at most this often.
const PRUNE_SPACING: Duration = Duration::from_millis(100);
/// Size retention deletes down to this share of the bound (so it does not run every batch).
const SIZE_TARGET_PERCENT: u64 = 95;

/// Where the writer makes its work visible: the ring of recent events, the latest sequence
/// number, the fatal error it stopped on (for appends that come after), and its figures.
pub(super) struct Published {
    pub(super) ring: Arc<RwLock<Ring>>,
    pub(super) latest: Arc<watch::Sender<u64>>,
    /// Wakes the watchers of `latest` (see [`Announcer`]); declared after it, so dropped after
    /// it.
    pub(super) announce: Announcer,
    pub(super) fatal: Arc<OnceLock<StoreError>>,
    pub(super) stats: SharedStats,
}

/// How the writer wakes the tasks that watch the latest number (every waiting pull). Woken
/// from this thread, they would all go to the runtime's shared queue, behind the requests its
/// workers take from their own queues first (the answered clients' next pulls); woken by a
/// task on a worker, they go to that worker's own queue and are answered before new requests
/// are read. So with a runtime, the writer only tells a task, which wakes them.
pub(super) enum Announcer {
    /// No runtime at open (tests of the store alone): the writer wakes the watchers itself.
    Direct,
    /// A task on the runtime wakes them when notified.
    Task(Arc<tokio::sync::Notify>),
}

impl Announcer {
    /// A task on the current runtime, if there is one, that wakes `latest`'s watchers.
    pub(super) fn new(latest: &Arc<watch::Sender<u64>>) -> Announcer {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Announcer::Direct;
        };
        let notify = Arc::new(tokio::sync::Notify::new());
        let (wake, latest) = (notify.clone(), Arc::downgrade(latest));
        runtime.spawn(async move {
            loop {
                wake.notified().await;
                let Some(latest) = latest.upgrade() else {
                    return;
                };
                latest.send_modify(|_| {});
            }
        });
        Announcer::Task(notify)
    }

    fn announce(&self, latest: &watch::Sender<u64>) {
        match self {
            Announcer::Direct => latest.send_modify(|_| {}),
            Announcer::Task(notify) => notify.notify_one(),
        }
    }
}

impl Drop for Announcer {
    /// Lets the task end: it finds the sender gone (dropped before this, see `Published`).
    fn drop(&mut self) {
        if let Announcer::Task(notify) = self {
            notify.notify_one();
        }
    }
}

/// Starts the writer, the owner of the one writable connection, on its own thread.
pub(super) fn spawn(
    conn: Connection,
    path: PathBuf,
    checkpointer: Checkpointer,
    full: Full,
    out: Published,
    config: StoreConfig,
    rx: mpsc::Receiver<Command>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    let wal = WalBound::new(
        &path,
        config.max_wal_bytes,
        checkpointer.exclusive(),
        out.stats.clone(),
    );
    // A timer of its own, so that the writer can wait for the next append *or* a deadline
    // (retention, a disk-full retry) without sleeping through appends.
    let timer = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::io(&path, e).doing("start the writer's timer"))?;
    std::thread::Builder::new()
        .name("event-store".into())
        .spawn({
            let path = path.clone();
            move || {
                let mut writer = Writer {
                    timer,
                    conn,
                    path,
                    checkpointer,
                    out,
                    config,
                    wal,
                    full,
                    last_prune: None,
                    last_chunk: Instant::now(),
                    since_prune: 0,
                    used: 0,
                };
                writer.refresh_used();
                writer.run(rx)
            }
        })
        .map_err(|e| StoreError::io(&path, e).doing("start the writer thread"))
}

struct Writer {
    /// Waits on the queue with a deadline (`next_within`).
    timer: tokio::runtime::Runtime,
    conn: Connection,
    path: PathBuf,
    checkpointer: Checkpointer,
    out: Published,
    config: StoreConfig,
    wal: WalBound,
    full: Full,
    last_prune: Option<Instant>,
    last_chunk: Instant,
    /// Events committed since the last retention step.
    since_prune: u64,
    /// The database's size in use (pages in use × page size) after the last commit.
    used: u64,
}

/// A rough size of an event as stored (for the batch's share of the WAL bound).
fn approx_bytes(e: &Event) -> usize {
    use crate::events::model::Item;
    let items = |v: &[Item]| -> usize {
        v.iter()
            .map(|i| match i {
                Item::Simple { name, value } => 32 + name.len() + value.len(),
                Item::Element { name, xml } => 32 + name.len() + xml.len(),
            })
            .sum()
    };
    128 + e.topic.ns.len()
        + e.topic.path.len()
        + e.producer.len()
        + items(&e.source)
        + items(&e.key)
        + items(&e.data)
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut closing: Option<oneshot::Sender<()>> = None;
        // A batch stays below a sixteenth of the WAL bound (by a byte estimate; the WAL takes
        // whole pages, somewhat more), so a batch or two cannot overshoot it.
        let batch_bytes = self.config.max_wal_bytes.map_or(usize::MAX, |b| {
            usize::try_from(b / 16).unwrap_or(usize::MAX)
        });
        loop {
            // Retention only when nothing waits, so it never delays an append.
            if rx.is_empty() && closing.is_none() {
                self.prune_step();
            }
            let first = if closing.is_some() {
                rx.try_recv().ok()
            } else if rx.is_empty() && (self.prune_due() || self.over_size() || self.full.is_full())
            {
                // Wake up for retention, or for a disk-full retry, even when idle.
                if self.full.retry_due()
                    && let Err(fatal) = self.write(Vec::new(), Vec::new())
                {
                    self.refuse_all(&mut rx, fatal, &mut closing);
                    break;
                }
                let nap = Duration::from_millis(50);
                let wait = if self.full.is_full() {
                    nap.min(self.full.until_retry().max(Duration::from_millis(1)))
                } else {
                    nap
                };
                // Wakes for an append at once (a full disk refuses it without delay), else
                // at the deadline.
                match self.next_within(&mut rx, wait) {
                    Some(Some(command)) => Some(command),
                    Some(None) => None,
                    None => continue,
                }
            } else {
                rx.blocking_recv()
            };
            let Some(first) = first else { break };
            let mut batch: Vec<Pending> = Vec::new();
            let mut held: Vec<Pending> = Vec::new();
            let mut bytes = 0usize;
            let mut take = |command: Command,
                            batch: &mut Vec<Pending>,
                            held: &mut Vec<Pending>,
                            closing: &mut Option<oneshot::Sender<()>>,
                            rx: &mut mpsc::Receiver<Command>| {
                match command {
                    Command::Append(e, ack) => {
                        bytes = bytes.saturating_add(approx_bytes(&e));
                        batch.push((e, ack));
                    }
                    Command::AppendHeld(e, ack) => {
                        bytes = bytes.saturating_add(approx_bytes(&e));
                        held.push((e, ack));
                    }
                    Command::Close(ack) => {
                        rx.close();
                        *closing = Some(ack);
                    }
                }
                bytes
            };
            let mut size = take(first, &mut batch, &mut held, &mut closing, &mut rx);
            while batch.len() + held.len() < self.config.batch_max && size < batch_bytes {
                match rx.try_recv() {
                    Ok(command) => {
                        size = take(command, &mut batch, &mut held, &mut closing, &mut rx)
                    }
                    Err(_) => break,
                }
            }
            if !(batch.is_empty() && held.is_empty())
                && let Err(fatal) = self.write(batch, held)
            {
                self.refuse_all(&mut rx, fatal, &mut closing);
                break;
            }
            // Under sustained load the queue is never empty: retention still advances, one
            // chunk at a time, at most every 100 ms; past the size bound after every batch, so
            // the file outgrows the bound by a batch at most.
            if !rx.is_empty()
                && (self.over_size()
                    || (self.prune_due() && self.last_chunk.elapsed() >= PRUNE_SPACING))
            {
                self.prune_step();
            }
        }
        self.checkpointer.stop();
        if let Err(e) = self.conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
            tracing::debug!(error = %e, "event store checkpoint at close failed");
        }
        if !self.full.held.is_empty() {
            tracing::warn!(
                events = self.full.held.len(),
                "event store closed while full: its own monitoring events were not stored"
            );
        }
        if let Some(ack) = closing {
            let _ = ack.send(());
        }
    }

    /// The next command within `wait`: `None` at the deadline, `Some(None)` when every sender
    /// is gone.
    fn next_within(
        &self,
        rx: &mut mpsc::Receiver<Command>,
        wait: Duration,
    ) -> Option<Option<Command>> {
        self.timer
            .block_on(async { tokio::time::timeout(wait, rx.recv()).await })
            .ok()
    }

    /// Stops taking appends after a fatal error: it is recorded for later appends, and every
    /// append still queued or held is answered with it.
    fn refuse_all(
        &mut self,
        rx: &mut mpsc::Receiver<Command>,
        fatal: StoreError,
        closing: &mut Option<oneshot::Sender<()>>,
    ) {
        let _ = self.out.fatal.set(fatal.clone());
        rx.close();
        let mut refused = 0usize;
        for (_, reply) in self.full.held.drain(..) {
            refused += 1;
            let _ = reply.send(Err(fatal.clone()));
        }
        while let Ok(command) = rx.try_recv() {
            match command {
                Command::Append(_, reply) | Command::AppendHeld(_, reply) => {
                    refused += 1;
                    let _ = reply.send(Err(fatal.clone()));
                }
                Command::Close(ack) => *closing = Some(ack),
            }
        }
        tracing::error!(kind = %fatal.kind(), path = %self.path.display(), refused, "event store stopped: it takes no more events until railgate is restarted with a sound file");
    }

    /// Stores `batch` (raisers' appends) and `held` (appends a full disk does not refuse),
    /// or refuses it; during a disk-full outage, retries when due (`full.rs`). Returns an
    /// error only when it is fatal ([`StoreErrorKind::Corrupt`]): the writer then stops.
    fn write(&mut self, mut batch: Vec<Pending>, held: Vec<Pending>) -> Result<(), StoreError> {
        let new_held = !held.is_empty();
        self.full.held.extend(held);
        let mut held_only = false;
        if self.full.is_full() {
            if !self.full.retry_due() {
                self.full.refuse(std::mem::take(&mut batch));
                if !new_held {
                    return Ok(());
                }
                // A held event arrived: try it alone, at once, in the reserve's room.
                held_only = true;
            } else if !self.full.begin_retry() {
                self.full.refuse(batch);
                return Ok(());
            }
        }
        let mut all = std::mem::take(&mut self.full.held);
        let held_count = all.len();
        if !held_only {
            all.extend(batch);
        }
        if all.is_empty() {
            // A retry found space and nothing waits: the outage is over.
            self.full.succeeded();
            return Ok(());
        }
        match self.commit(&all) {
            Ok(seqs) => {
                self.publish(all, &seqs);
                if !held_only {
                    self.full.succeeded();
                }
                Ok(())
            }
            Err(e) if e.kind() == StoreErrorKind::DiskFull => {
                let rest = all.split_off(held_count);
                self.full.held = all;
                if held_only {
                    tracing::debug!(error = %e, "event store: no room for the held events yet");
                } else {
                    // Counted as refused by `failed`; each raiser gets this commit's error.
                    self.full.failed(&e, rest.len() as u64);
                    for (_, reply) in rest {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(
                    kind = %e.kind(),
                    sqlite_code = e.sqlite_code(),
                    path = %self.path.display(),
                    events = all.len(),
                    error = %e,
                    "event store: a batch was not stored; each of its raisers is told why"
                );
                for (_, reply) in all {
                    let _ = reply.send(Err(e.clone()));
                }
                match e.kind() {
                    StoreErrorKind::Corrupt => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Writes `events` in one transaction and returns their sequence numbers; then bounds the
    /// WAL and notes the database's size. On failure nothing is written (the transaction is
    /// rolled back).
    fn commit(&mut self, events: &[Pending]) -> Result<Vec<u64>, StoreError> {
        let started = Instant::now();
        let written = (|| -> Result<Vec<u64>, rusqlite::Error> {
            let tx = self.conn.transaction()?;
            let mut seqs = Vec::with_capacity(events.len());
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO events (utc_ms, topic_ns, topic, operation, source, key, data, producer)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for (e, _) in events {
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
            Ok(seqs)
        })()
        .map_err(|e| StoreError::sqlite(&self.path, e))?;
        if let Some(observe) = &self.config.on_commit {
            (observe.0)(started.elapsed());
        }
        self.checkpointer.committed();
        self.since_prune = self.since_prune.saturating_add(written.len() as u64);
        if self.wal.after_commit(&self.conn) {
            self.checkpointer.nudge();
        }
        self.refresh_used();
        Ok(written)
    }

    /// After the commit: the events go into the ring and the latest sequence number is set,
    /// each raiser is acknowledged with its event's number, then the number is announced.
    /// An acknowledged event is published (`latest_seq`, the ring and every read have it);
    /// only the wake-up of the watchers (every waiting pull: hundreds of tasks) comes after
    /// the acknowledgements, so a raiser is not queued behind the fan-out it caused.
    fn publish(&mut self, events: Vec<Pending>, seqs: &[u64]) {
        let stored: Vec<(Arc<StoredEvent>, Reply)> = events
            .into_iter()
            .zip(seqs)
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
        let Some(&last) = seqs.last() else { return };
        // Set without a notification (tokio's documented "silent modification": `borrow`
        // sees it, `changed` does not fire yet). A pull that reads meanwhile finds the events
        // in the ring; one that already waits is woken below.
        self.out.latest.send_if_modified(|latest| {
            *latest = last;
            false
        });
        for (e, reply) in stored {
            let _ = reply.send(Ok(e.seq));
        }
        self.out.announce.announce(&self.out.latest);
    }

    /// Reads the database's size in use: (page count − free pages) × page size.
    fn refresh_used(&mut self) {
        let used = self.conn.query_row(
            "SELECT p.page_count, f.freelist_count, s.page_size
               FROM pragma_page_count() AS p, pragma_freelist_count() AS f, pragma_page_size() AS s",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
        );
        if let Ok((pages, free, size)) = used {
            self.used = u64::try_from(pages.saturating_sub(free).saturating_mul(size)).unwrap_or(0);
            self.out.stats.lock().used_bytes = self.used;
        }
    }

    fn prune_due(&self) -> bool {
        self.last_prune
            .is_none_or(|t| t.elapsed() >= self.config.prune_every)
    }

    /// The database's size in use is past its bound.
    fn over_size(&self) -> bool {
        self.config
            .max_store_bytes
            .is_some_and(|max| self.used > max)
    }

    /// Deletes one chunk of events past retention (age, count, size); marks retention done
    /// when none is left.
    fn prune_step(&mut self) {
        let over_size = self.over_size();
        if !self.prune_due() && !over_size {
            return;
        }
        let chunk = self
            .since_prune
            .saturating_mul(2)
            .clamp(PRUNE_CHUNK, PRUNE_CHUNK_MAX);
        self.since_prune = 0;
        let mut deleted = 0usize;
        if self.prune_due() {
            if let Some(age) = self.config.max_age {
                let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                let cutoff = chrono::Utc::now().timestamp_millis().saturating_sub(age_ms);
                deleted += self.delete_chunk("utc_ms < ?1", cutoff, chunk);
            }
            if let Some(max) = self.config.max_count {
                let latest = i64::try_from(*self.out.latest.borrow()).unwrap_or(i64::MAX);
                let keep_from = latest.saturating_sub(i64::try_from(max).unwrap_or(i64::MAX));
                if keep_from > 0 {
                    deleted += self.delete_chunk("seq <= ?1", keep_from, chunk);
                }
            }
        }
        let mut by_size = 0usize;
        if over_size {
            self.refresh_used();
            by_size = self.delete_for_size(chunk);
            deleted += by_size;
        }
        self.last_chunk = Instant::now();
        if deleted > 0 {
            if self.wal.after_commit(&self.conn) {
                self.checkpointer.nudge();
            }
            self.refresh_used();
            if by_size > 0 {
                self.out.stats.lock().deleted_for_size += by_size as u64;
            }
            tracing::debug!(
                deleted,
                by_size,
                used_bytes = self.used,
                "event store retention"
            );
        } else if !over_size {
            self.last_prune = Some(Instant::now());
        }
    }

    /// Deletes the oldest events while the size in use is past its bound: as many as the
    /// excess over 95% of the bound holds at the average event size, at most `chunk`.
    fn delete_for_size(&mut self, chunk: u64) -> usize {
        let Some(max) = self.config.max_store_bytes else {
            return 0;
        };
        let target = max / 100 * SIZE_TARGET_PERCENT;
        let Some(excess) = self.used.checked_sub(target).filter(|&e| e > 0) else {
            return 0;
        };
        let oldest: Option<i64> = self
            .conn
            .query_row("SELECT min(seq) FROM events", [], |r| r.get(0))
            .ok()
            .flatten();
        let Some(oldest) = oldest else { return 0 };
        let latest = i64::try_from(*self.out.latest.borrow()).unwrap_or(i64::MAX);
        let rows = u64::try_from(latest.saturating_sub(oldest).saturating_add(1))
            .unwrap_or(1)
            .max(1);
        let per_row = (self.used / rows).max(1);
        let n = excess.div_ceil(per_row).clamp(1, chunk);
        let below = oldest.saturating_add(i64::try_from(n).unwrap_or(i64::MAX));
        self.delete_chunk("seq < ?1", below, n)
    }

    fn delete_chunk(&mut self, condition: &str, bound: i64, limit: u64) -> usize {
        let sql = format!(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE {condition} ORDER BY seq LIMIT {limit})"
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
