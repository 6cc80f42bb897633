//! An event storm against the durable store (a load script, not a timed test): many raisers
//! queue ~2 KB events back to back for a minute, as a chattering contact or a misconfigured
//! mapping would, with the store's bounds on and (the baseline) off, in one run.
//!
//! Per run it prints: events/s acknowledged, the largest WAL file (sampled every 5 ms from
//! outside the store, and as the writer saw it after its commits), the WAL restarts and the
//! longest writer pause one cost, the longest wait of a raiser for its acknowledgement, the
//! database file's size and its size in use, the events deleted by size retention; then it
//! checks that every acknowledged event is numbered and stored without gaps (size retention
//! deletes only the oldest).
//!
//! `cargo run --release -p railgate-tests --bin railgate-store-storm -- --seconds 60`

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use railgate::events::model::{Event, Item, Topic};
use railgate::events::store::{EventStore, FILE_NAME, StoreConfig};

#[derive(Parser, Debug)]
struct Args {
    /// Seconds per run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent raisers.
    #[arg(long, default_value_t = 32)]
    raisers: usize,
    /// Events each raiser queues before waiting for their acknowledgements.
    #[arg(long, default_value_t = 128)]
    burst: usize,
    /// Bytes of payload per event (the stored row is a little larger).
    #[arg(long, default_value_t = 2000)]
    bytes: usize,
    /// `events.max_wal_mib` of the bounded run.
    #[arg(long, default_value_t = 64)]
    max_wal_mib: u64,
    /// `events.max_store_mib` of the bounded run (0: no size bound, the WAL bound alone).
    #[arg(long, default_value_t = 256)]
    max_store_mib: u64,
    /// Skip the unbounded baseline run.
    #[arg(long)]
    no_baseline: bool,
    /// Folder for the stores (a fresh temporary folder inside it per run).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

fn event(raiser: usize, i: u64, payload: &str) -> Event {
    Event {
        utc: Utc::now(),
        topic: Topic::onvif("Storm/Event"),
        operation: None,
        source: vec![Item::simple("Raiser", raiser.to_string())],
        key: vec![],
        data: vec![
            Item::simple("Index", i.to_string()),
            Item::simple("Payload", payload),
        ],
        producer: "storm".into(),
    }
}

struct Figures {
    acked: u64,
    rate: f64,
    wal_sampled: u64,
    wal_seen: u64,
    restarts: u64,
    restarts_busy: u64,
    pause: Duration,
    wait: Duration,
    ack_wait: Duration,
    db_file: u64,
    used: u64,
    deleted_for_size: u64,
    stored: u64,
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

async fn storm(args: &Args, dir: &Path, config: StoreConfig) -> anyhow::Result<Figures> {
    let store = EventStore::open(dir, config)?;
    let db = dir.join(FILE_NAME);
    let wal = dir.join(format!("{FILE_NAME}-wal"));
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let longest_wait = Arc::new(AtomicU64::new(0));
    let sampler = std::thread::spawn({
        let (stop, wal) = (stop.clone(), wal.clone());
        move || {
            let mut largest = 0;
            while !stop.load(Ordering::Relaxed) {
                largest = largest.max(file_len(&wal));
                std::thread::sleep(Duration::from_millis(5));
            }
            largest
        }
    });
    let payload: Arc<str> = "x".repeat(args.bytes).into();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..args.raisers {
        let (store, stop, acked, longest_wait, payload) = (
            store.clone(),
            stop.clone(),
            acked.clone(),
            longest_wait.clone(),
            payload.clone(),
        );
        let burst = args.burst;
        tasks.spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let queued = Instant::now();
                let mut acks = Vec::with_capacity(burst);
                for _ in 0..burst {
                    acks.push(store.enqueue(event(r, i, &payload)).await?);
                    i += 1;
                }
                for ack in acks {
                    ack.await??;
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                let waited = u64::try_from(queued.elapsed().as_micros()).unwrap_or(u64::MAX);
                longest_wait.fetch_max(waited, Ordering::Relaxed);
            }
            anyhow::Ok(())
        });
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    let wal_sampled = sampler.join().unwrap_or(0);
    let stats = store.stats();
    let acked = acked.load(Ordering::Relaxed);
    // Every acknowledged event is numbered, and stored without a gap after the oldest kept.
    anyhow::ensure!(
        store.latest_seq() == acked,
        "acknowledged {acked}, latest {}",
        store.latest_seq()
    );
    let stored = store.reader().count()?;
    let oldest = store.reader().oldest_seq()?.unwrap_or(0);
    anyhow::ensure!(
        stored == acked - oldest + 1,
        "stored {stored} events from {oldest} to {acked}: a gap"
    );
    let figures = Figures {
        acked,
        rate: acked as f64 / elapsed.as_secs_f64(),
        wal_sampled,
        wal_seen: stats.largest_wal_bytes,
        restarts: stats.wal_restarts,
        restarts_busy: stats.wal_restarts_busy,
        pause: stats.longest_restart_pause,
        wait: stats.longest_restart_wait,
        ack_wait: Duration::from_micros(longest_wait.load(Ordering::Relaxed)),
        db_file: file_len(&db),
        used: stats.used_bytes,
        deleted_for_size: stats.deleted_for_size,
        stored,
    };
    store.close().await;
    Ok(figures)
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn print(name: &str, f: &Figures) {
    println!("{name}:");
    println!(
        "  events acknowledged     {} ({:.0} events/s)",
        f.acked, f.rate
    );
    println!(
        "  largest WAL             {:.1} MiB sampled, {:.1} MiB after commits",
        mib(f.wal_sampled),
        mib(f.wal_seen)
    );
    println!(
        "  WAL restarts            {} ({} could not complete)",
        f.restarts, f.restarts_busy
    );
    println!(
        "  longest writer pause    {:.1} ms (a restart checkpoint; of it waiting for a PASSIVE one: {:.1} ms at most)",
        f.pause.as_secs_f64() * 1e3,
        f.wait.as_secs_f64() * 1e3
    );
    println!(
        "  longest burst ack wait  {:.1} ms",
        f.ack_wait.as_secs_f64() * 1e3
    );
    println!(
        "  database                {:.1} MiB file, {:.1} MiB in use, {} events stored, {} deleted by size",
        mib(f.db_file),
        mib(f.used),
        f.stored,
        f.deleted_for_size
    );
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    println!(
        "storm: {} s, {} raisers queueing {} events each before waiting, {} B payload",
        args.seconds, args.raisers, args.burst, args.bytes
    );
    let bounded = StoreConfig {
        max_age: None,
        max_count: None,
        max_wal_bytes: Some(args.max_wal_mib * 1024 * 1024),
        max_store_bytes: (args.max_store_mib > 0).then(|| args.max_store_mib * 1024 * 1024),
        ..StoreConfig::default()
    };
    let dir = tempfile::tempdir_in(&base)?;
    let on = rt.block_on(storm(&args, dir.path(), bounded))?;
    drop(dir);
    print(
        &format!(
            "bounded (max_wal_mib {}, max_store_mib {})",
            args.max_wal_mib, args.max_store_mib
        ),
        &on,
    );
    if !args.no_baseline {
        let unbounded = StoreConfig {
            max_age: None,
            max_count: None,
            max_wal_bytes: None,
            max_store_bytes: None,
            ..StoreConfig::default()
        };
        let dir = tempfile::tempdir_in(&base)?;
        let off = rt.block_on(storm(&args, dir.path(), unbounded))?;
        drop(dir);
        print("baseline (no WAL or size bound)", &off);
    }
    Ok(())
}
