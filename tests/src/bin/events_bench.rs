//! Event benchmarks (a load script, not a timed test):
//! 1. the durable store: appends/s with one raiser (each waits for its commit), with 64
//!    concurrent raisers (commits batched), and the same with 8 pull points reading;
//! 2. latency from an event raised inside the gateway to a waiting PullMessages (over HTTP,
//!    authenticated) returning it, p50/p99, with 1 and with 100 subscriptions;
//! 3. memory of 100 idle pull points.
//!
//! `cargo run --release -p railgate-tests --bin railgate-events-bench`

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use railgate::config::Config;
use railgate::events::model::{Event, Item, Topic};
use railgate::events::store::{EventStore, StoreConfig};
use railgate::events::subscription::Filter;
use railgate_mappings::plan::Plan;
use railgate_tests::{
    ADMIN_PASSWORD, BenchRuntimes, RawClient, percentile, post, soap_envelope, thread_cpu,
    username_token,
};
use tokio_util::sync::CancellationToken;

/// Counts live heap bytes, for the memory figure.
struct Counting;

static LIVE: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
#[allow(
    unsafe_code,
    reason = "a counting allocator implements the unsafe GlobalAlloc trait over System"
)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Parser, Debug)]
struct Args {
    /// Seconds per store measurement.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Events raised per latency measurement.
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// Only the latency measurement (for profiling it).
    #[arg(long)]
    latency_only: bool,
}

fn event(i: u64) -> Event {
    Event {
        utc: Utc::now(),
        topic: Topic::onvif("Bench/Event"),
        operation: None,
        source: vec![Item::simple("Source", "bench")],
        key: vec![],
        data: vec![Item::simple("Index", i.to_string())],
        producer: "bench".into(),
    }
}

async fn appends(store: &EventStore, raisers: usize, seconds: u64) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..raisers {
        let (store, count, stop) = (store.clone(), count.clone(), stop.clone());
        tasks.spawn(async move {
            let mut i = r as u64 * 1_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                store.append(event(i)).await.expect("append");
                count.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed)
}

const CREATE: &str = "<tev:CreatePullPointSubscription xmlns:tev=\"http://www.onvif.org/ver10/events/wsdl\" xmlns:wsnt=\"http://docs.oasis-open.org/wsn/b-2\"><tev:Filter><wsnt:TopicExpression xmlns:tns1=\"http://www.onvif.org/ver10/topics\" Dialect=\"http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet\">tns1:Bench/Event</wsnt:TopicExpression></tev:Filter><tev:InitialTerminationTime>PT600S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>";
const PULL: &str = "<tev:PullMessages xmlns:tev=\"http://www.onvif.org/ver10/events/wsdl\"><tev:Timeout>PT30S</tev:Timeout><tev:MessageLimit>100</tev:MessageLimit></tev:PullMessages>";

/// When each sequence number was published (recorded on the gateway's runtime).
type Published = Arc<std::sync::Mutex<std::collections::HashMap<u64, Instant>>>;

/// The latency figures of one measurement, each sorted.
struct Latency {
    /// Raise -> PullMessages response received.
    delivery: Vec<Duration>,
    /// Raise -> the raiser has the commit acknowledgement.
    commits: Vec<Duration>,
    /// Published (committed) -> PullMessages response received: the gateway's own share.
    after_publish: Vec<Duration>,
}

/// Latency of raise -> PullMessages response over HTTP, with `subs` waiting subscribers.
async fn latency(
    addr: SocketAddr,
    app: &railgate::app::App,
    subs: usize,
    events: usize,
    published: &Published,
) -> anyhow::Result<Latency> {
    let mut paths = Vec::new();
    for _ in 0..subs {
        let mut c = RawClient::connect(addr).await?;
        paths.push(c.create_pull_point(CREATE).await?);
    }
    let mut raised = Vec::with_capacity(events);
    let mut seqs = Vec::with_capacity(events);
    let armed = Arc::new(AtomicU64::new(0));
    let done = CancellationToken::new();
    let mut clients = tokio::task::JoinSet::new();
    for path in paths {
        let (armed, done) = (armed.clone(), done.clone());
        clients.spawn(async move {
            let mut c = RawClient::connect(addr).await?;
            // Requests (each with its own UsernameToken) are built before the measurement,
            // so the client's own hashing is not counted as the gateway's latency.
            let requests: Vec<Vec<u8>> = (0..=events)
                .map(|_| {
                    post(
                        &path,
                        &soap_envelope(&username_token("admin", ADMIN_PASSWORD), PULL),
                    )
                })
                .collect();
            let mut requests = requests.into_iter();
            let mut seen = 0usize;
            let mut arrivals = Vec::new();
            while seen < events && !done.is_cancelled() {
                let Some(request) = requests.next() else {
                    break;
                };
                armed.fetch_add(1, Ordering::SeqCst);
                let status = c.request(&request).await?;
                let at = Instant::now();
                anyhow::ensure!(status == 200, "PullMessages: {status}");
                let body = String::from_utf8_lossy(&c.body).to_string();
                for part in body.split("Name=\"Index\" Value=\"").skip(1) {
                    let index: usize = part.split('"').next().unwrap_or("0").parse().unwrap_or(0);
                    arrivals.push((index, at));
                    seen += 1;
                }
            }
            anyhow::Ok(arrivals)
        });
    }
    let mut commits = Vec::new();
    for i in 0..events {
        // Wait until every client is waiting again, so each event meets a waiting pull.
        let target = (subs * (i + 1)) as u64;
        let deadline = Instant::now() + Duration::from_secs(5);
        while armed.load(Ordering::SeqCst) < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        let t0 = Instant::now();
        raised.push(t0);
        seqs.push(app.events.raise(event(i as u64)).await?);
        commits.push(t0.elapsed());
    }
    let mut arrivals = Vec::new();
    let collect = async {
        while let Some(r) = clients.join_next().await {
            arrivals.extend(r??);
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(60), collect).await??;
    done.cancel();
    let published = published.lock().unwrap();
    let mut delivery = Vec::with_capacity(arrivals.len());
    let mut after_publish = Vec::with_capacity(arrivals.len());
    for (index, at) in arrivals {
        let Some(&t0) = raised.get(index) else {
            continue;
        };
        delivery.push(at - t0);
        if let Some(p) = published.get(&seqs[index]) {
            after_publish.push(at.saturating_duration_since(*p));
        }
    }
    for v in [&mut delivery, &mut commits, &mut after_publish] {
        v.sort_unstable();
    }
    Ok(Latency {
        delivery,
        commits,
        after_publish,
    })
}

/// The baseline: one durable 4 KiB write (`fdatasync`) on the same file system, paced like
/// the events in the latency measurement.
fn fsync_baseline(dir: &std::path::Path, n: usize) -> std::io::Result<Vec<Duration>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(dir.join("fsync-baseline"))?;
    let page = [0x5au8; 4096];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        std::thread::sleep(Duration::from_millis(2));
        let t = Instant::now();
        file.write_all_at(&page, (i * 4096) as u64)?;
        file.sync_data()?;
        out.push(t.elapsed());
    }
    out.sort_unstable();
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        println!("railgate events benchmark on {} CPUs", std::thread::available_parallelism()?);

        if args.latency_only {
            return anyhow::Ok(());
        }
        // 1. Store.
        let dir = tempfile::tempdir()?;
        let store = EventStore::open(dir.path(), StoreConfig { max_age: None, max_count: None, ..StoreConfig::default() })?;
        let single = appends(&store, 1, args.seconds).await;
        let batched = appends(&store, 64, args.seconds).await;
        let core = railgate::events::core::EventCore::new(store.clone());
        let stop = CancellationToken::new();
        let limits = railgate::events::subscription::SubscriptionLimits { max_pull_points: 1000, ..Default::default() };
        let subs = Arc::new(railgate::events::subscription::Subscriptions::new(core, limits, stop.clone()));
        let read = Arc::new(AtomicU64::new(0));
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let sub = subs.create(Filter::default(), Utc::now() + chrono::Duration::hours(1), &railgate::events::subscription::Caller::user(None), None).await?;
            let (subs, read, stop) = (subs.clone(), read.clone(), stop.clone());
            readers.spawn(async move {
                while !stop.is_cancelled() {
                    match subs.pull(&sub, Duration::from_millis(200), 1000).await {
                        Ok(p) => read.fetch_add(p.events.len() as u64, Ordering::Relaxed),
                        Err(_) => break,
                    };
                }
            });
        }
        let with_readers = appends(&store, 64, args.seconds).await;
        stop.cancel();
        while readers.join_next().await.is_some() {}
        println!("durable appends/s  1 raiser: {single:>9.0}   64 raisers: {batched:>9.0}   64 raisers + 8 pull points reading: {with_readers:>9.0} (ratio {:.2}; readers took {} events)", with_readers / batched, read.load(Ordering::Relaxed));

        // 3. Memory of idle subscriptions.
        let before = live_bytes();
        let mut idle = Vec::new();
        for _ in 0..100 {
            idle.push(subs.create(Filter::default(), Utc::now() + chrono::Duration::hours(1), &railgate::events::subscription::Caller::user(None), None).await?);
        }
        let after = live_bytes();
        println!("memory of 100 idle pull points: {} KiB of heap ({} bytes each)", after.saturating_sub(before) / 1024, after.saturating_sub(before) / 100);
        drop(idle);
        store.close().await;

        anyhow::Ok(())
    })?;

    // 2. Latency over HTTP. The gateway runs on its own runtime, as in the binary; the
    // clients on another, as they would in another process.
    let rt = BenchRuntimes::new()?;
    let mut config = Config::default();
    config.events.max_pull_points = 200;
    config.security.replay_cache_size = 2_000_000;
    // One account at benchmark rate: the per-user authentication rate off.
    config.security.auth_rate_per_user = 0;
    let gateway = rt.start(config, Plan::default())?;
    let (addr, app) = (gateway.addr, gateway.app.clone());
    let published: Published = Arc::default();
    rt.server.spawn({
        let (mut latest, published) = (app.events.store().watch(), published.clone());
        async move {
            while latest.changed().await.is_ok() {
                let seq = *latest.borrow_and_update();
                published.lock().unwrap().insert(seq, Instant::now());
            }
        }
    });
    rt.client.block_on(async {
        let mut p99s = Vec::new();
        for subs in [1usize, 100] {
            let cpu_before = thread_cpu("server");
            let Latency { delivery: l, commits, after_publish } =
                latency(addr, &app, subs, args.events, &published).await?;
            let server_cpu = thread_cpu("server").saturating_sub(cpu_before);
            let (p50, p99) = (percentile(&l, 0.5), percentile(&l, 0.99));
            p99s.push(p99);
            println!(
                "raise -> PullMessages response, {subs:>3} subscription(s): p50 {:>7.0} µs  p99 {:>7.0} µs  ({} deliveries; gateway CPU {:.0} µs per delivery incl. the next pull)",
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6,
                l.len(),
                server_cpu.as_secs_f64() * 1e6 / l.len().max(1) as f64
            );
            println!(
                "    raise -> commit acknowledged: p50 {:>7.0} µs  p99 {:>7.0} µs;  published -> response: p50 {:>7.0} µs  p99 {:>7.0} µs",
                percentile(&commits, 0.5).as_secs_f64() * 1e6,
                percentile(&commits, 0.99).as_secs_f64() * 1e6,
                percentile(&after_publish, 0.5).as_secs_f64() * 1e6,
                percentile(&after_publish, 0.99).as_secs_f64() * 1e6
            );
        }
        println!("p99 with 100 subscriptions / p99 with 1: {:.1}", p99s[1].as_secs_f64() / p99s[0].as_secs_f64().max(1e-9));
        let base = fsync_baseline(gateway.data.path(), args.events)?;
        let base_p99 = percentile(&base, 0.99);
        println!(
            "baseline, one fdatasync of 4 KiB on the data folder's file system: p50 {:>7.0} µs  p99 {:>7.0} µs; p99 with 100 subscriptions / baseline p99: {:.1}",
            percentile(&base, 0.5).as_secs_f64() * 1e6,
            base_p99.as_secs_f64() * 1e6,
            p99s[1].as_secs_f64() / base_p99.as_secs_f64().max(1e-9)
        );
        anyhow::Ok(())
    })?;
    rt.stop(gateway)
}
