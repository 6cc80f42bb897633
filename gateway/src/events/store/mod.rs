//! The durable event store: every notification railgate raises is committed to SQLite before
//! anyone sees it ("persist, then publish"), so an acknowledged event survives a crash or a
//! power cut, and clients can Seek back in time.
//!
//! One thread owns the only writable connection (`writer`). It takes whatever is queued,
//! writes it in one transaction, commits (WAL, `synchronous=FULL`), then publishes: the events
//! go into an in-memory ring of recent events and the latest sequence number is set on a
//! `watch` channel, then the raisers' acknowledgements are sent, and only then are the
//! watchers (waiting pulls) woken: an acknowledged event is visible to every read, and a
//! raiser's wake-up does not wait behind hundreds of pulls'. Readers (pull points,
//! Seek, `railgate events`) use the ring, or a separate read-only connection for older events.
//! Retention (by age, count and the database's size) deletes in short chunks between
//! batches, so it never holds up publishing; under sustained load a chunk is as large as what
//! was committed since the last one, so retention keeps pace with any rate.
//!
//! The store cannot fill the disk: the write-ahead log stays under `max_wal_bytes` (`wal.rs`),
//! the database under `max_store_bytes` (size retention), and a full disk anyway is an outage
//! the writer survives and recovers from by itself (`full.rs`).

mod checkpoint;
mod codec;
mod error;
mod full;
mod reader;
mod schema;
mod wal;
mod writer;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use crate::events::model::{Event, StoredEvent};

pub use error::{StoreError, StoreErrorKind};
pub use full::{RESERVE_BYTES, RESERVE_FILE, RETRY_FIRST, RETRY_MAX, StorageState};
pub use reader::{Query, StoreReader};
pub use wal::StoreStats;

/// The file name inside the data folder.
pub const FILE_NAME: &str = "events.db";

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Delete events older than this (`None`: keep by age forever).
    pub max_age: Option<Duration>,
    /// Keep at most this many events (`None`: no count limit).
    pub max_count: Option<u64>,
    /// Most events written in one transaction.
    pub batch_max: usize,
    /// Recent events kept in memory for readers.
    pub ring: usize,
    /// Queue of events waiting for the writer.
    pub queue: usize,
    /// How often retention looks for events to delete.
    pub prune_every: Duration,
    /// Largest database file, in pages (SQLite `max_page_count`; `None`: no limit). Past it,
    /// appends fail with [`StoreErrorKind::DiskFull`] as on a full disk (tests use it so).
    pub max_pages: Option<u64>,
    /// Bound on the write-ahead log file, in bytes (`None`: unbounded, the old behaviour).
    pub max_wal_bytes: Option<u64>,
    /// Delete the oldest events while the database's size in use (pages in use × page size)
    /// is above this many bytes (`None`: no size limit).
    pub max_store_bytes: Option<u64>,
    /// Size of the disk-full reserve file beside the database (0: none).
    pub reserve_bytes: u64,
    /// Told how long each committed transaction took (the metrics' histogram).
    pub on_commit: Option<CommitObserver>,
}

/// What [`StoreConfig::on_commit`] calls after each commit, on the writer thread (keep it
/// short: it delays the next batch).
#[derive(Clone)]
pub struct CommitObserver(pub std::sync::Arc<dyn Fn(Duration) + Send + Sync>);

impl std::fmt::Debug for CommitObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitObserver")
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
            max_count: Some(1_000_000),
            batch_max: 4096,
            ring: 16_384,
            queue: 65_536,
            prune_every: Duration::from_secs(5),
            max_pages: None,
            max_wal_bytes: Some(64 * 1024 * 1024),
            max_store_bytes: Some(256 * 1024 * 1024),
            reserve_bytes: RESERVE_BYTES,
            on_commit: None,
        }
    }
}

/// A queued event's acknowledgement: its sequence number once it is committed and
/// published, or why it was not stored.
pub type Ack = oneshot::Receiver<Result<u64, StoreError>>;

/// Where a queued event's acknowledgement goes.
type Reply = oneshot::Sender<Result<u64, StoreError>>;
/// An event waiting for its commit, with its acknowledgement.
type Pending = (Event, Reply);

enum Command {
    Append(Event, Reply),
    /// Never refused for lack of space: kept until it can be written (`full.rs`).
    AppendHeld(Event, Reply),
    Close(oneshot::Sender<()>),
}

/// Recent committed events, in sequence order.
#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Arc<StoredEvent>>,
    capacity: usize,
}

/// The event store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::Sender<Command>,
    latest: watch::Receiver<u64>,
    ring: Arc<RwLock<Ring>>,
    reader: StoreReader,
    /// Set by the writer when it stops on a fatal error: what every later append gets.
    fatal: Arc<OnceLock<StoreError>>,
    storage: watch::Receiver<StorageState>,
    stats: wal::SharedStats,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EventStore {
    /// Deletes the store's files in `data_dir` (the database, its WAL and shared-memory
    /// files, the reserve file): SetSystemFactoryDefault Hard, while no store is open. Files
    /// already missing are no error.
    pub fn remove_files(data_dir: &Path) -> std::io::Result<()> {
        for name in [
            FILE_NAME.to_owned(),
            format!("{FILE_NAME}-wal"),
            format!("{FILE_NAME}-shm"),
            RESERVE_FILE.to_owned(),
        ] {
            match std::fs::remove_file(data_dir.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Opens (creating if needed) `events.db` in `data_dir` and starts the writer thread.
    /// A damaged file is [`StoreErrorKind::Corrupt`], naming the file.
    pub fn open(data_dir: &Path, config: StoreConfig) -> Result<EventStore, StoreError> {
        let path = data_dir.join(FILE_NAME);
        crate::state::datadir::ensure_private_dir(data_dir)
            .map_err(|e| StoreError::io(data_dir, e))?;
        crate::state::datadir::create_private_file(&path).map_err(|e| StoreError::io(&path, e))?;
        let conn = schema::open_writable(
            &path,
            config.max_pages,
            config.max_wal_bytes.map(wal::journal_size_limit),
        )?;
        let last = schema::last_seq(&conn, &path)?;
        let ring = Arc::new(RwLock::new(Ring {
            events: VecDeque::new(),
            capacity: config.ring.max(1),
        }));
        let (latest_tx, latest) = watch::channel(last);
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let reader = StoreReader::open(&path)?;
        let checkpointer = checkpoint::Checkpointer::spawn(&path)?;
        let fatal = Arc::new(OnceLock::new());
        let (storage_tx, storage) = watch::channel(StorageState::default());
        let stats = wal::SharedStats::default();
        let latest_tx = Arc::new(latest_tx);
        let published = writer::Published {
            ring: ring.clone(),
            announce: writer::Announcer::new(&latest_tx),
            latest: latest_tx,
            fatal: fatal.clone(),
            stats: stats.clone(),
        };
        let full = full::Full::new(data_dir, config.reserve_bytes, storage_tx);
        let thread = writer::spawn(conn, path, checkpointer, full, published, config, rx)?;
        Ok(EventStore {
            inner: Arc::new(Inner {
                tx,
                latest,
                ring,
                reader,
                fatal,
                storage,
                stats,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Commits `event`; returns its sequence number once it is durable and published, or
    /// why it was not stored.
    pub async fn append(&self, event: Event) -> Result<u64, StoreError> {
        let ack = self.enqueue(event).await?;
        match ack.await {
            Ok(result) => result,
            Err(_) => Err(self.stopped()),
        }
    }

    /// Queues `event` and returns its acknowledgement without waiting for it (for raisers
    /// that must keep their order but not wait for the disk).
    pub async fn enqueue(&self, event: Event) -> Result<Ack, StoreError> {
        let (ack, done) = oneshot::channel();
        self.inner
            .tx
            .send(Command::Append(event, ack))
            .await
            .map_err(|_| self.stopped())?;
        Ok(done)
    }

    /// Queues the store's own monitoring event (`rg:Monitoring/EventStorage`): unlike
    /// [`EventStore::enqueue`], a full disk does not refuse it; it waits in the writer and is
    /// committed first as soon as a write succeeds (`full.rs`). Only for a few events:
    /// everything held stays in memory until then.
    pub async fn enqueue_held(&self, event: Event) -> Result<Ack, StoreError> {
        let (ack, done) = oneshot::channel();
        self.inner
            .tx
            .send(Command::AppendHeld(event, ack))
            .await
            .map_err(|_| self.stopped())?;
        Ok(done)
    }

    /// Whether the store can write (disk-full outages), and its changes.
    pub fn storage(&self) -> watch::Receiver<StorageState> {
        self.inner.storage.clone()
    }

    /// The store's figures since it opened (WAL size and restarts, size retention).
    pub fn stats(&self) -> StoreStats {
        *self.inner.stats.lock()
    }

    /// Why the writer no longer takes appends: the fatal error it stopped on, else closed.
    pub fn stopped(&self) -> StoreError {
        self.inner
            .fatal
            .get()
            .cloned()
            .unwrap_or_else(StoreError::closed)
    }

    /// The latest committed sequence number (0 before the first event), and its changes.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.latest.clone()
    }

    /// The latest committed sequence number.
    pub fn latest_seq(&self) -> u64 {
        *self.inner.latest.borrow()
    }

    /// Up to `limit` events after `after` if they are all still in memory (`None` when the
    /// file must be read).
    pub fn after_recent(&self, after: u64, limit: usize) -> Option<Vec<Arc<StoredEvent>>> {
        let ring = self.inner.ring.read();
        let covered = ring
            .events
            .front()
            .is_some_and(|first| first.seq <= after + 1);
        if covered || (ring.events.is_empty() && after >= self.latest_seq()) {
            let start = ring.events.partition_point(|e| e.seq <= after);
            return Some(
                ring.events
                    .iter()
                    .skip(start)
                    .take(limit)
                    .cloned()
                    .collect(),
            );
        }
        None
    }

    /// Up to `limit` events with a sequence number above `after`, in order: from memory when
    /// they are recent, else from the file.
    pub fn after(&self, after: u64, limit: usize) -> Result<Vec<Arc<StoredEvent>>, StoreError> {
        if let Some(recent) = self.after_recent(after, limit) {
            return Ok(recent);
        }
        Ok(self
            .inner
            .reader
            .after(after, limit)?
            .into_iter()
            .map(Arc::new)
            .collect())
    }

    /// The read-only view of the file (Seek, history, the `events` command).
    pub fn reader(&self) -> &StoreReader {
        &self.inner.reader
    }

    /// The sequence number to resume after so that reading forward starts at the first event
    /// at or after `t`.
    pub fn cursor_at(&self, t: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.reader.cursor_at(t)
    }

    /// Drains the queue, commits, and stops the writer thread.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.inner.tx.send(Command::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
        let handle = self.inner.thread.lock().take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

/// Test helpers shared with the events modules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use chrono::{DateTime, Utc};

    use super::{EventStore, FILE_NAME, StoreConfig};
    use crate::events::model::{Event, Item, PropertyOperation, Topic};

    /// The `i`-th test event: recent enough for the default age retention, whole seconds
    /// apart, four inputs changing in turn.
    pub(crate) fn event(i: usize) -> Event {
        Event {
            utc: DateTime::from_timestamp((Utc::now().timestamp() / 3600 - 1) * 3600 + i as i64, 0)
                .unwrap_or_default(),
            topic: Topic::onvif("Device/Trigger/DigitalInput"),
            operation: Some(PropertyOperation::Changed),
            source: vec![Item::simple("InputToken", format!("in{}", i % 4))],
            key: vec![],
            data: vec![Item::simple(
                "LogicalState",
                if i.is_multiple_of(2) { "true" } else { "false" },
            )],
            producer: "test".into(),
        }
    }

    /// A store whose next commit fails with `SQLITE_CORRUPT` (one event, seq 1, is stored).
    pub(crate) async fn writer_meets_corruption(dir: &Path) -> EventStore {
        let store = EventStore::open(dir, StoreConfig::default()).expect("open");
        store.append(event(0)).await.expect("append");
        store.close().await;
        // Point the topic index at the table's root page: the next insert meets a page of
        // the wrong kind, which SQLite reports as SQLITE_CORRUPT.
        let c = rusqlite::Connection::open(dir.join(FILE_NAME)).expect("open");
        c.execute_batch(
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET rootpage = (SELECT rootpage FROM sqlite_schema WHERE name = 'events')
              WHERE name = 'events_by_topic';",
        )
        .expect("damage the index");
        drop(c);
        EventStore::open(dir, StoreConfig::default()).expect("reopen")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{event, writer_meets_corruption};
    use super::*;
    use crate::events::model::{Item, Topic};

    #[tokio::test]
    async fn appends_are_numbered_published_and_survive_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            tmp.path(),
            StoreConfig {
                ring: 4,
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let mut watch = store.watch();
        let mut seqs = Vec::new();
        for i in 0..10 {
            seqs.push(store.append(event(i)).await.unwrap());
        }
        assert_eq!(seqs, (1..=10).collect::<Vec<u64>>());
        assert_eq!(*watch.borrow_and_update(), 10);
        // Recent ones from memory, older ones from the file: the same events either way.
        let recent = store.after(7, 10).unwrap();
        assert_eq!(recent.iter().map(|e| e.seq).collect::<Vec<_>>(), [8, 9, 10]);
        let all = store.after(0, 100).unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all[3].event, event(3));
        assert_eq!(store.cursor_at(event(5).utc).unwrap(), 5);
        assert_eq!(
            store
                .reader()
                .before(4, 10)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>(),
            [3, 2, 1]
        );
        store.close().await;
        let closed = store.append(event(11)).await.unwrap_err();
        assert_eq!(closed.kind(), StoreErrorKind::Closed);
        assert_eq!(
            store.enqueue(event(11)).await.unwrap_err().kind(),
            StoreErrorKind::Closed
        );

        let again = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        assert_eq!(again.latest_seq(), 10);
        assert_eq!(
            again.append(event(11)).await.unwrap(),
            11,
            "numbering continues"
        );
        again.reader().integrity_check().unwrap();
        again.close().await;
    }

    /// An acknowledgement means published: when `append` returns, the number and the event
    /// are visible; a watcher that waited is woken for each commit, and sees its number.
    #[tokio::test]
    async fn an_acknowledged_event_is_published_and_watchers_are_woken() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        let mut watch = store.watch();
        for i in 0..20 {
            let waiter = {
                let mut watch = store.watch();
                watch.borrow_and_update();
                tokio::spawn(async move {
                    watch.changed().await.unwrap();
                    *watch.borrow_and_update()
                })
            };
            tokio::task::yield_now().await;
            let seq = store.append(event(i)).await.unwrap();
            assert_eq!(store.latest_seq(), seq);
            let recent = store.after_recent(seq - 1, 10).unwrap();
            assert_eq!(recent.iter().map(|e| e.seq).collect::<Vec<_>>(), [seq]);
            let woken = tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("the watcher is woken")
                .unwrap();
            assert_eq!(woken, seq);
            assert!(watch.has_changed().unwrap(), "each commit is announced");
            assert_eq!(*watch.borrow_and_update(), seq);
        }
        store.close().await;
    }

    #[tokio::test]
    async fn concurrent_raisers_are_batched_and_all_acknowledged() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..500 {
            let s = store.clone();
            tasks.spawn(async move { s.append(event(i)).await.unwrap() });
        }
        let mut seqs = Vec::new();
        while let Some(seq) = tasks.join_next().await {
            seqs.push(seq.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=500).collect::<Vec<u64>>());
        assert_eq!(store.reader().count().unwrap(), 500);
        store.close().await;
    }

    #[tokio::test]
    async fn retention_by_count_keeps_the_newest_and_never_reuses_numbers() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            tmp.path(),
            StoreConfig {
                max_count: Some(100),
                prune_every: Duration::from_millis(20),
                ..StoreConfig::default()
            },
        )
        .unwrap();
        for i in 0..250 {
            store.append(event(i)).await.unwrap();
        }
        // Retention runs while the writer is idle.
        for _ in 0..100 {
            if store.reader().count().unwrap() <= 100 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(store.reader().count().unwrap(), 100);
        assert_eq!(store.reader().oldest_seq().unwrap(), Some(151));
        store.close().await;
        let again = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        assert_eq!(again.append(event(0)).await.unwrap(), 251);
        again.close().await;
    }

    #[test]
    fn query_filters_topic_and_time() {
        let tmp = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
            for i in 0..6 {
                let mut e = event(i);
                if i % 3 == 0 {
                    e.topic = Topic::onvif("Device/Trigger/Relay");
                }
                store.append(e).await.unwrap();
            }
            let relays = store
                .reader()
                .query(&Query {
                    topic: Some("Device/Trigger/Relay".into()),
                    limit: 10,
                    ..Query::default()
                })
                .unwrap();
            assert_eq!(relays.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 4]);
            let triggers = store
                .reader()
                .query(&Query {
                    topic: Some("Device/Trigger/".into()),
                    limit: 10,
                    ..Query::default()
                })
                .unwrap();
            assert_eq!(triggers.len(), 6);
            let window = Query {
                since: Some(event(2).utc),
                until: Some(event(4).utc),
                limit: 10,
                ..Query::default()
            };
            assert_eq!(
                store
                    .reader()
                    .query(&window)
                    .unwrap()
                    .iter()
                    .map(|e| e.seq)
                    .collect::<Vec<_>>(),
                [3, 4]
            );
            let newest = Query {
                limit: 2,
                newest: true,
                ..Query::default()
            };
            assert_eq!(
                store
                    .reader()
                    .query(&newest)
                    .unwrap()
                    .iter()
                    .map(|e| e.seq)
                    .collect::<Vec<_>>(),
                [5, 6]
            );
            store.close().await;
        });
    }

    fn big(i: usize) -> Event {
        let mut e = event(i);
        e.data.push(Item::simple("Blob", "x".repeat(2000)));
        e
    }

    #[tokio::test]
    async fn a_full_disk_reaches_every_raiser_typed_and_the_writer_stays_alive() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            tmp.path(),
            StoreConfig {
                max_pages: Some(16),
                ..StoreConfig::default()
            },
        )
        .unwrap();
        // Fill it, one event at a time.
        let mut stored = 0u64;
        let full = loop {
            match store.append(big(stored as usize)).await {
                Ok(seq) => {
                    stored += 1;
                    assert_eq!(seq, stored);
                }
                Err(e) => break e,
            }
            assert!(stored < 1000, "the page limit was never reached");
        };
        assert!(stored > 0);
        assert_eq!(full.kind(), StoreErrorKind::DiskFull, "{full}");
        assert_eq!(full.sqlite_code(), Some(13), "SQLITE_FULL");
        assert_eq!(full.path(), Some(tmp.path().join(FILE_NAME).as_path()));
        // A batch of many raisers: each gets the typed error, none is published.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50 {
            let s = store.clone();
            tasks.spawn(async move { s.append(big(i)).await });
        }
        while let Some(result) = tasks.join_next().await {
            let e = result.unwrap().unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::DiskFull, "{e}");
        }
        assert_eq!(store.latest_seq(), stored, "nothing unstored is published");
        assert_eq!(store.after(0, 10_000).unwrap().len() as u64, stored);
        assert_eq!(store.reader().count().unwrap(), stored);
        // Still alive: a later append is tried afresh (and fails the same way, not closed).
        assert_eq!(store.stopped().kind(), StoreErrorKind::Closed);
        let again = store.append(big(0)).await.unwrap_err();
        assert_eq!(again.kind(), StoreErrorKind::DiskFull);
        store.close().await;
        // Every acknowledged event is on disk and the file is sound.
        let reopened = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        assert_eq!(reopened.reader().count().unwrap(), stored);
        reopened.reader().integrity_check().unwrap();
        assert_eq!(reopened.append(event(0)).await.unwrap(), stored + 1);
        reopened.close().await;
    }

    /// Queues `n` 2 KB events from 8 raisers back to back (the writer's full rate) while
    /// sampling the WAL file; returns its largest size seen.
    async fn storm(store: &EventStore, dir: &Path, n: usize) -> u64 {
        let wal = dir.join(format!("{FILE_NAME}-wal"));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut largest = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                    std::thread::sleep(Duration::from_millis(2));
                }
                largest
            }
        });
        let mut tasks = tokio::task::JoinSet::new();
        for r in 0..8 {
            let s = store.clone();
            tasks.spawn(async move {
                let mut acks = Vec::new();
                for i in (r..n).step_by(8) {
                    acks.push(s.enqueue(big(i)).await.unwrap());
                }
                for ack in acks {
                    ack.await.unwrap().unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.join().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_under_its_bound_at_the_full_rate_and_grows_without_it() {
        const MIB: u64 = 1024 * 1024;
        let n = 12_000; // about 26 MiB of rows
        let bounded = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            bounded.path(),
            StoreConfig {
                max_wal_bytes: Some(4 * MIB),
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let largest = storm(&store, bounded.path(), n).await;
        let stats = store.stats();
        assert!(largest <= 4 * MIB, "WAL reached {largest} bytes: {stats:?}");
        assert!(stats.largest_wal_bytes <= 4 * MIB, "{stats:?}");
        assert!(stats.wal_restarts >= 3, "the log restarted: {stats:?}");
        assert!(stats.longest_restart_pause > Duration::ZERO, "{stats:?}");
        assert_eq!(store.latest_seq(), n as u64, "every event acknowledged");
        assert_eq!(store.reader().count().unwrap(), n as u64);
        store.close().await;

        // The same storm without the bound: the log grows past it (what the bound prevents).
        let unbounded = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            unbounded.path(),
            StoreConfig {
                max_wal_bytes: None,
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let largest = storm(&store, unbounded.path(), n).await;
        assert!(
            largest > 8 * MIB,
            "unbounded WAL only reached {largest} bytes"
        );
        assert_eq!(store.stats().wal_restarts, 0);
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retention_by_size_deletes_the_oldest_and_keeps_pace_with_a_storm() {
        const MIB: u64 = 1024 * 1024;
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            tmp.path(),
            StoreConfig {
                max_store_bytes: Some(2 * MIB),
                max_wal_bytes: Some(4 * MIB),
                // Age and count retention out of the way: only size deletes here.
                prune_every: Duration::from_secs(3600),
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let n = 8_000u64; // about 18 MiB of rows, nine times the bound
        storm(&store, tmp.path(), n as usize).await;
        // The last chunk runs once the writer is idle.
        for _ in 0..100 {
            if store.stats().used_bytes <= 2 * MIB {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stats = store.stats();
        assert!(stats.used_bytes <= 2 * MIB, "{stats:?}");
        assert!(stats.deleted_for_size > n / 2, "{stats:?}");
        // The newest are kept, without a gap; the oldest went.
        let count = store.reader().count().unwrap();
        let oldest = store.reader().oldest_seq().unwrap().unwrap();
        assert!(oldest > 1 && count < n, "{oldest} {count}");
        assert_eq!(
            oldest + count - 1,
            n,
            "kept events are contiguous to the newest"
        );
        // The file stays near the bound: deleted pages are reused, not appended.
        let file = std::fs::metadata(tmp.path().join(FILE_NAME)).unwrap().len();
        assert!(file <= 6 * MIB, "database file is {file} bytes");
        store.close().await;
    }

    #[tokio::test]
    async fn a_held_event_waits_out_a_full_disk_while_appends_are_refused_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let store = EventStore::open(
            tmp.path(),
            StoreConfig {
                max_pages: Some(16),
                ..StoreConfig::default()
            },
        )
        .unwrap();
        let mut storage = store.storage();
        assert!(!storage.borrow_and_update().full);
        assert!(
            tmp.path().join(RESERVE_FILE).exists(),
            "reserve created at open"
        );
        let mut stored = 0u64;
        let full = loop {
            match store.append(big(stored as usize)).await {
                Ok(_) => stored += 1,
                Err(e) => break e,
            }
            assert!(stored < 1000);
        };
        assert_eq!(full.kind(), StoreErrorKind::DiskFull);
        let state = *storage.borrow_and_update();
        assert!(
            state.full && state.outages == 1 && state.refused == 1,
            "{state:?}"
        );
        assert!(
            !tmp.path().join(RESERVE_FILE).exists(),
            "reserve released for the checkpoint and the monitoring event"
        );
        // A held event is not refused: it waits (the page limit leaves it no room).
        let mut held = store.enqueue_held(big(0)).await.unwrap();
        // Appends meanwhile are refused at once, typed, without a commit.
        let started = std::time::Instant::now();
        for i in 0..200 {
            let e = store.append(big(i)).await.unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::DiskFull);
        }
        assert!(started.elapsed() < Duration::from_secs(2));
        tokio::time::sleep(RETRY_FIRST * 3).await;
        assert!(
            held.try_recv().is_err(),
            "still held, neither stored nor refused"
        );
        assert_eq!(store.latest_seq(), stored, "nothing refused is published");
        store.close().await;
        assert_eq!(
            held.await.map_err(|_| ()).and_then(|r| r.map_err(|_| ())),
            Err(()),
            "answered (closed) at shutdown"
        );
        let reopened = EventStore::open(tmp.path(), StoreConfig::default()).unwrap();
        assert_eq!(reopened.reader().count().unwrap(), stored);
        reopened.reader().integrity_check().unwrap();
        reopened.close().await;
    }

    #[tokio::test]
    async fn a_corrupt_file_is_corrupt_at_open_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(FILE_NAME);
        std::fs::write(
            &path,
            b"this is not a SQLite database, just garbage ".repeat(200),
        )
        .unwrap();
        let e = EventStore::open(tmp.path(), StoreConfig::default()).unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
        assert_eq!(e.sqlite_code(), Some(26), "SQLITE_NOTADB");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        // `railgate events` reads with a reader: the same kind, at the first query.
        let read = StoreReader::open(&path)
            .and_then(|r| {
                r.query(&Query {
                    limit: 10,
                    ..Query::default()
                })
            })
            .unwrap_err();
        assert_eq!(read.kind(), StoreErrorKind::Corrupt, "{read}");
        assert!(
            read.to_string().contains(&path.display().to_string()),
            "{read}"
        );
    }

    #[tokio::test]
    async fn corruption_found_by_a_commit_stops_the_writer_and_every_later_append_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let store = writer_meets_corruption(tmp.path()).await;
        let e = store.append(event(1)).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
        assert_eq!(
            e.sqlite_code().map(|c| c & 0xff),
            Some(11),
            "SQLITE_CORRUPT"
        );
        // Stopped: later appends get the same error without touching the file.
        let later = store.append(event(2)).await.unwrap_err();
        assert_eq!(later.kind(), StoreErrorKind::Corrupt, "{later}");
        assert_eq!(store.stopped().kind(), StoreErrorKind::Corrupt);
        assert_eq!(store.latest_seq(), 1, "nothing unstored is published");
        store.close().await;
    }
}
