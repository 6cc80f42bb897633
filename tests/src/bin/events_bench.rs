//! Event benchmarks (a load script, not a timed test):
//! 1. the durable store: appends/s with one raiser (each waits for its commit), with 64
//!    concurrent raisers (commits batched), and the same with 8 pull points reading;
//! 2. memory of 100 idle pull points;
//! 3. latency, as ratios to baselines measured in the same run (issue 12), each run
//!    `--runs` times (3) and reported with the median:
//!    1. raise → commit acknowledged (100 waiting pull points) against one `fdatasync` of
//!       4 KiB on the data folder's file system (limit 1.5);
//!    2. commit → all 100 waiting PullMessages answered (over HTTP, authenticated) against
//!       the same client receiving 100 answers of the same size from a bare server on the
//!       gateway's HTTP stack, the two taking turns event by event (limit 1.5);
//!    3. raise → PullMessages response with 1 subscription against 2 × the fdatasync + 1 ms
//!       (limit 1).
//!
//! `cargo run --release -p railgate-tests --bin railgate-events-bench`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use railgate::config::Config;
use railgate::events::model::{Event, Item, Topic};
use railgate::events::store::{EventStore, StoreConfig};
use railgate::events::subscription::Filter;
use railgate_mappings::plan::Plan;
use railgate_tests::{
    ADMIN_PASSWORD, BenchRuntimes, RawClient, TestGateway, percentile, post, soap_envelope,
    thread_cpu, username_token,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Counts live heap bytes while [`COUNT`] is set, for the memory figure. Only then: one
/// counter shared by every thread would be a contended atomic in every allocation of the
/// latency measurements (about 5% of the server's CPU time there).
struct Counting;

static LIVE: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
#[allow(
    unsafe_code,
    reason = "a counting allocator implements the unsafe GlobalAlloc trait over System"
)]
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if COUNT.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        }
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
    /// Events raised per latency measurement (each p99 of 400 is the 4th-worst value).
    #[arg(long, default_value_t = 400)]
    events: usize,
    /// Runs of every latency measurement (the ratios are reported with their median).
    #[arg(long, default_value_t = 3)]
    runs: usize,
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
/// What both servers' answers carry for each event: `Name="Index" Value="<i>"`.
const INDEX: &str = "Name=\"Index\" Value=\"";

/// When each value of a watch channel appeared (value → instant).
type Stamps = Arc<std::sync::Mutex<HashMap<u64, Instant>>>;

/// Stamps every change of `watch` on a thread of its own (a one-thread runtime), so the
/// instant is taken when the sender's wake-up arrives, not when a busy runtime gets round to
/// it. The gateway's commit (the store's latest sequence number, sent by the writer thread)
/// and the bare server's trigger are stamped the same way.
fn stamps(mut watch: watch::Receiver<u64>) -> std::io::Result<Stamps> {
    let stamps = Stamps::default();
    let out = stamps.clone();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    std::thread::Builder::new()
        .name("stamps".into())
        .spawn(move || {
            rt.block_on(async move {
                while watch.changed().await.is_ok() {
                    let value = *watch.borrow_and_update();
                    out.lock().unwrap().insert(value, Instant::now());
                }
            })
        })?;
    Ok(stamps)
}

/// Every index in a response body, and the body's length.
fn indices(body: &[u8]) -> Vec<usize> {
    String::from_utf8_lossy(body)
        .split(INDEX)
        .skip(1)
        .filter_map(|part| part.split('"').next()?.parse().ok())
        .collect()
}

/// What the long-poll clients saw: per event index, when each client received it.
struct Polls {
    arrivals: Vec<Vec<Instant>>,
    /// Length of the response bodies carrying one event.
    body_len: usize,
}

/// Runs `events` events past one long-polling client per entry of `requests` (a client's
/// requests, built before the measurement so that the client's own hashing is not counted;
/// the one sent next is `requests[pick(pulls so far, next index)]`). Before each event it
/// waits until every client is waiting again, then calls `raise(i)` (which pauses first).
async fn long_polls(
    addr: SocketAddr,
    requests: Vec<Vec<Vec<u8>>>,
    pick: fn(usize, usize) -> usize,
    events: usize,
    mut raise: impl AsyncFnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<Polls> {
    let subs = requests.len();
    // Requests sent, and a wake-up when a round of `subs` is complete (not a timer: the
    // orchestrating task stays asleep while the clients take their answers).
    let armed = Arc::new((AtomicU64::new(0), tokio::sync::Notify::new()));
    let mut clients = tokio::task::JoinSet::new();
    for requests in requests {
        let armed = armed.clone();
        let mut c = RawClient::connect(addr).await?;
        clients.spawn(async move {
            let (mut pulls, mut next) = (0usize, 0usize);
            let mut arrivals = Vec::new();
            let mut body_len = 0;
            while next < events {
                let request = requests
                    .get(pick(pulls, next))
                    .ok_or_else(|| anyhow::anyhow!("out of prepared requests"))?;
                pulls += 1;
                if (armed.0.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(subs as u64) {
                    armed.1.notify_one();
                }
                let status = c.request(request).await?;
                let at = Instant::now();
                anyhow::ensure!(status == 200, "long poll: {status}");
                let got = indices(&c.body);
                if got.len() == 1 {
                    body_len = c.body.len();
                }
                for index in got {
                    arrivals.push((index, at));
                    next = next.max(index + 1);
                }
            }
            anyhow::Ok((arrivals, body_len))
        });
    }
    for i in 0..events {
        // Every client waits again, so each event meets waiting polls.
        let target = (subs * (i + 1)) as u64;
        let deadline = Instant::now() + Duration::from_secs(5);
        while armed.0.load(Ordering::SeqCst) < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = tokio::time::timeout(left, armed.1.notified()).await;
        }
        raise(i).await?;
    }
    let mut polls = Polls {
        arrivals: vec![Vec::new(); events],
        body_len: 0,
    };
    let collect = async {
        while let Some(r) = clients.join_next().await {
            let (arrivals, body_len) = r??;
            polls.body_len = polls.body_len.max(body_len);
            for (index, at) in arrivals {
                if let Some(slot) = polls.arrivals.get_mut(index) {
                    slot.push(at);
                }
            }
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(Duration::from_secs(60), collect).await??;
    Ok(polls)
}

/// One side's figures, each sorted.
#[derive(Default)]
struct Side {
    /// From the start (raise, commit, trigger) to each single response.
    each: Vec<Duration>,
    /// From the start to the last of an event's responses (one value per event).
    all: Vec<Duration>,
    /// Server CPU per response (incl. the client's next request).
    cpu_per_response: Duration,
    /// Events left out: no stamp (a watch change the stamping thread did not see) or no
    /// response.
    missing: usize,
}

impl Side {
    /// From `starts[i]` (event i) to its arrivals.
    fn from(polls: &Polls, starts: &[Option<Instant>], cpu: Duration) -> Side {
        let mut side = Side::default();
        for (arrivals, start) in polls.arrivals.iter().zip(starts) {
            let (Some(start), Some(last)) = (start, arrivals.iter().max()) else {
                side.missing += 1;
                continue;
            };
            side.each
                .extend(arrivals.iter().map(|a| a.saturating_duration_since(*start)));
            side.all.push(last.saturating_duration_since(*start));
        }
        side.each.sort_unstable();
        side.all.sort_unstable();
        side.cpu_per_response = cpu / side.each.len().max(1) as u32;
        side
    }
}

/// The gateway's figures of one measurement with `subs` waiting pull points.
struct Gateway {
    /// The baseline, sampled before each event (see [`Fsync`]).
    fsync: Vec<Duration>,
    /// Raise → each PullMessages response.
    delivery: Vec<Duration>,
    /// Raise → the raiser has the commit acknowledgement.
    commits: Vec<Duration>,
    /// Commit (the store's announcement) → responses.
    after_commit: Side,
    body_len: usize,
}

/// Alternates two measurements event by event (the gateway with 100 pull points and the
/// bare server), so that a change of the machine's load hits both alike: a side raises its
/// next event only once its own clients wait again and the other side's last event is done
/// the same way. The server CPU time of each turn is counted to the side that had it.
struct Baton {
    turns: [tokio::sync::Semaphore; 2],
    /// The reading at the start of the current turn, and each side's total.
    cpu: std::sync::Mutex<(Duration, [Duration; 2])>,
}

impl Baton {
    fn new() -> Baton {
        Baton {
            turns: [
                tokio::sync::Semaphore::new(1),
                tokio::sync::Semaphore::new(0),
            ],
            cpu: std::sync::Mutex::new((thread_cpu("server"), [Duration::ZERO; 2])),
        }
    }

    /// Side `me` (0 or 1) waits for its turn, handing over first unless this is its first.
    /// Its clients wait again already; 2 ms let the server finish taking their requests, so
    /// that work is counted to this side's turn.
    async fn take(&self, me: usize, first: bool) {
        tokio::time::sleep(Duration::from_millis(2)).await;
        if !first {
            self.pass(me);
        }
        self.turns[me]
            .acquire()
            .await
            .expect("never closed")
            .forget();
        self.cpu.lock().unwrap().0 = thread_cpu("server");
    }

    /// Side `me` ends its turn: its CPU time is counted, the other side's turn begins.
    fn pass(&self, me: usize) {
        let now = thread_cpu("server");
        {
            let mut cpu = self.cpu.lock().unwrap();
            let turn = now.saturating_sub(cpu.0);
            cpu.1[me] += turn;
            cpu.0 = now;
        }
        self.turns[1 - me].add_permits(1);
    }

    /// The server CPU time of side `me`'s turns so far.
    fn cpu(&self, me: usize) -> Duration {
        self.cpu.lock().unwrap().1[me]
    }
}

/// Events raised inside the gateway, each answering `subs` waiting PullMessages (over HTTP,
/// authenticated with a fresh UsernameToken each). Before each event, while every client
/// waits, 2 ms pass (or the turn comes), then one fdatasync of the baseline in `data` (the
/// store's folder) is timed.
async fn through_gateway(
    addr: SocketAddr,
    app: &railgate::app::App,
    data: &std::path::Path,
    committed: &Stamps,
    subs: usize,
    events: usize,
    baton: Option<(&Baton, usize)>,
) -> anyhow::Result<Gateway> {
    let mut baseline = Fsync::create(data)?;
    let mut fsync = Vec::with_capacity(events);
    let mut requests = Vec::with_capacity(subs);
    for _ in 0..subs {
        let mut c = RawClient::connect(addr).await?;
        let path = c.create_pull_point(CREATE).await?;
        requests.push(
            (0..=events)
                .map(|_| {
                    post(
                        &path,
                        &soap_envelope(&username_token("admin", ADMIN_PASSWORD), PULL),
                    )
                })
                .collect(),
        );
    }
    let mut raised = Vec::with_capacity(events);
    let mut seqs = Vec::with_capacity(events);
    let mut commits = Vec::with_capacity(events);
    let cpu_before = thread_cpu("server");
    // Every pull is a new request: the next prepared one.
    let polls = long_polls(
        addr,
        requests,
        |pulls, _| pulls,
        events,
        async |i| {
            match baton {
                Some((baton, me)) => baton.take(me, i == 0).await,
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
            fsync.push(baseline.sample()?);
            let t0 = Instant::now();
            raised.push(t0);
            seqs.push(app.events.raise(event(i as u64)).await?);
            commits.push(t0.elapsed());
            Ok(())
        },
    )
    .await?;
    let cpu = match baton {
        Some((baton, me)) => {
            baton.pass(me);
            baton.cpu(me)
        }
        None => thread_cpu("server").saturating_sub(cpu_before),
    };
    let committed = committed.lock().unwrap();
    let starts: Vec<Option<Instant>> = seqs.iter().map(|s| committed.get(s).copied()).collect();
    let mut delivery: Vec<Duration> = polls
        .arrivals
        .iter()
        .zip(&raised)
        .flat_map(|(arrivals, t0)| arrivals.iter().map(move |a| *a - *t0))
        .collect();
    delivery.sort_unstable();
    commits.sort_unstable();
    fsync.sort_unstable();
    Ok(Gateway {
        fsync,
        delivery,
        commits,
        after_commit: Side::from(&polls, &starts, cpu),
        body_len: polls.body_len,
    })
}

/// The bare server: the gateway's HTTP stack ([`TestGateway::start_http_stack`]: the warp
/// routes served by the same hyper-util server) with a route `POST /bare/<next>` that holds
/// the request until event `next` is triggered, then answers with a body of `len` bytes
/// carrying the latest event's index as the gateway's answers do.
fn bare_route(
    trigger: watch::Receiver<u64>,
    len: Arc<AtomicUsize>,
) -> impl warp::Filter<Extract = (http::Response<String>,), Error = warp::Rejection>
+ Clone
+ Send
+ Sync
+ 'static {
    use warp::Filter;
    warp::path!("bare" / u64)
        .and(warp::post())
        .and(warp::body::bytes())
        .and_then(move |next: u64, _request: bytes::Bytes| {
            let (mut trigger, len) = (trigger.clone(), len.load(Ordering::Relaxed));
            async move {
                // The trigger counts events raised: event `next` is out once it passes next.
                let count = *trigger
                    .wait_for(|&count| count > next)
                    .await
                    .map_err(|_| warp::reject::not_found())?;
                let mut body = format!("<bare {INDEX}{}\"/>", count - 1);
                body.extend(std::iter::repeat_n(' ', len.saturating_sub(body.len())));
                let mut res = http::Response::new(body);
                res.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/soap+xml; charset=utf-8"),
                );
                Ok::<_, warp::Rejection>(res)
            }
        })
}

/// The bare server's trigger, its stamps and where it listens.
struct Bare {
    addr: SocketAddr,
    trigger: watch::Sender<u64>,
    triggered: Stamps,
    len: Arc<AtomicUsize>,
}

/// `subs` long polls of the same client kind and request size on the bare server, answered
/// with bodies of `body_len` bytes (the gateway's PullMessagesResponse).
async fn through_bare(
    bare: &Bare,
    subs: usize,
    events: usize,
    body_len: usize,
    baton: Option<(&Baton, usize)>,
) -> anyhow::Result<Side> {
    bare.len.store(body_len, Ordering::Relaxed);
    // Counts events from 0 again (no request is waiting between measurements), without the
    // stamps of the last measurement.
    bare.trigger.send_replace(0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    bare.triggered.lock().unwrap().clear();
    // Requests of the gateway's size (same envelope and token), one per next index.
    let requests = (0..subs)
        .map(|_| {
            (0..=events)
                .map(|next| {
                    post(
                        &format!("/bare/{next}"),
                        &soap_envelope(&username_token("admin", ADMIN_PASSWORD), PULL),
                    )
                })
                .collect()
        })
        .collect();
    let cpu_before = thread_cpu("server");
    let polls = long_polls(
        bare.addr,
        requests,
        |_, next| next,
        events,
        async |i| {
            match baton {
                Some((baton, me)) => baton.take(me, i == 0).await,
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
            bare.trigger.send_modify(|count| *count += 1);
            Ok(())
        },
    )
    .await;
    let cpu = match baton {
        Some((baton, me)) => {
            baton.pass(me);
            baton.cpu(me)
        }
        None => thread_cpu("server").saturating_sub(cpu_before),
    };
    let polls = polls?;
    let triggered = bare.triggered.lock().unwrap();
    let starts: Vec<Option<Instant>> = (0..events)
        .map(|i| triggered.get(&(i as u64 + 1)).copied())
        .collect();
    Ok(Side::from(&polls, &starts, cpu))
}

/// The baseline: one durable 4 KiB write (`fdatasync`) on the same file system as the store,
/// each at the next offset of one file (so that it grows, as the WAL does).
struct Fsync {
    file: std::fs::File,
    next: u64,
}

impl Fsync {
    fn create(dir: &std::path::Path) -> std::io::Result<Fsync> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(dir.join("fsync-baseline"))?;
        Ok(Fsync { file, next: 0 })
    }

    /// Times one write and its fdatasync.
    fn sample(&mut self) -> std::io::Result<Duration> {
        use std::os::unix::fs::FileExt;
        let t = Instant::now();
        self.file.write_all_at(&[0x5au8; 4096], self.next)?;
        self.file.sync_data()?;
        self.next += 4096;
        Ok(t.elapsed())
    }
}

/// One run of every latency measurement.
struct Run {
    one: Gateway,
    hundred: Gateway,
    bare: Side,
}

impl Run {
    fn ratios(&self) -> [f64; 3] {
        let p99 = |v: &[Duration]| percentile(v, 0.99).as_secs_f64();
        [
            p99(&self.hundred.commits) / p99(&self.hundred.fsync).max(1e-9),
            p99(&self.hundred.after_commit.all) / p99(&self.bare.all).max(1e-9),
            p99(&self.one.delivery) / (2.0 * p99(&self.one.fsync) + 1e-3),
        ]
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn print_runs(runs: &[Run]) {
    let n = runs.len();
    let head: String = (1..=n)
        .map(|r| format!("{:>13}", format!("run {r}")))
        .collect();
    println!(
        "\n{:<58}{head}{:>13}{:>8}",
        "ratio (p99 / p99)", "median", "limit"
    );
    let ratios: Vec<[f64; 3]> = runs.iter().map(Run::ratios).collect();
    for (k, (name, limit)) in [
        ("1 raise → commit ack (100 subs) / fdatasync 4 KiB", 1.5),
        ("2 commit → all 100 answered / bare: trigger → all 100", 1.5),
        ("3 raise → delivery (1 sub) / (2 × fdatasync + 1 ms)", 1.0),
    ]
    .into_iter()
    .enumerate()
    {
        let values: Vec<f64> = ratios.iter().map(|r| r[k]).collect();
        let cells: String = values.iter().map(|v| format!("{v:>13.2}")).collect();
        println!("{name:<58}{cells}{:>13.2}{limit:>8.1}", median(values));
    }
    println!("\n{:<58}{head}", "raw, µs: p50 / p99");
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let row = |name: &str, get: &dyn Fn(&Run) -> &[Duration]| {
        let cells: String = runs
            .iter()
            .map(|r| {
                let v = get(r);
                format!(
                    "{:>13}",
                    format!(
                        "{:.0} / {:.0}",
                        us(percentile(v, 0.5)),
                        us(percentile(v, 0.99))
                    )
                )
            })
            .collect();
        println!("{name:<58}{cells}");
    };
    row("fdatasync 4 KiB (beside the 100-sub events)", &|r| {
        &r.hundred.fsync
    });
    row("raise → commit ack, 100 subs", &|r| &r.hundred.commits);
    row("commit → all 100 answered (per event)", &|r| {
        &r.hundred.after_commit.all
    });
    row("bare: trigger → all 100 answered (per trigger)", &|r| {
        &r.bare.all
    });
    row("commit → each answered, 100 subs", &|r| {
        &r.hundred.after_commit.each
    });
    row("bare: trigger → each answered", &|r| &r.bare.each);
    row("fdatasync 4 KiB (beside the 1-sub events)", &|r| {
        &r.one.fsync
    });
    row("raise → delivery, 1 sub", &|r| &r.one.delivery);
    row("raise → commit ack, 1 sub", &|r| &r.one.commits);
    row("raise → delivery, 100 subs", &|r| &r.hundred.delivery);
    let cells: String = runs
        .iter()
        .map(|r| {
            format!(
                "{:>13}",
                format!(
                    "{:.1} / {:.1}",
                    us(r.hundred.after_commit.cpu_per_response),
                    us(r.bare.cpu_per_response)
                )
            )
        })
        .collect();
    println!(
        "{:<58}{cells}",
        "server CPU µs per response, 100 subs: gateway / bare"
    );
    let missing: usize = runs
        .iter()
        .map(|r| r.one.after_commit.missing + r.hundred.after_commit.missing + r.bare.missing)
        .sum();
    println!(
        "(each run: {} events; the 100-sub and bare measurements alternate event by event; response body {} bytes on both servers; CPU includes the client's next request; {missing} events without a stamp left out)",
        runs[0].one.delivery.len(),
        runs[0].hundred.body_len
    );
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

        // 2. Memory of idle subscriptions.
        COUNT.store(true, Ordering::SeqCst);
        let before = live_bytes();
        let mut idle = Vec::new();
        for _ in 0..100 {
            idle.push(subs.create(Filter::default(), Utc::now() + chrono::Duration::hours(1), &railgate::events::subscription::Caller::user(None), None).await?);
        }
        let grown = live_bytes().wrapping_sub(before).cast_signed().max(0);
        COUNT.store(false, Ordering::SeqCst);
        println!("memory of 100 idle pull points: {} KiB of heap ({} bytes each)", grown / 1024, grown / 100);
        drop(idle);
        store.close().await;

        anyhow::Ok(())
    })?;

    // 3. Latency over HTTP. The gateway runs on its own runtime, as in the binary; the
    // clients on another, as they would in another process. The bare server shares the
    // gateway's runtime.
    let rt = BenchRuntimes::new()?;
    let mut config = Config::default();
    // Each run creates 101 pull points (the earlier ones stay, idle).
    config.events.max_pull_points = 1000;
    config.security.replay_cache_size = 2_000_000;
    // One account at benchmark rate: the per-user authentication rate off.
    config.security.auth_rate_per_user = 0;
    let gateway = rt.start(config, Plan::default())?;
    let (addr, app) = (gateway.addr, gateway.app.clone());
    let committed = stamps(app.events.store().watch())?;
    let (trigger, triggered) = watch::channel(0u64);
    let len = Arc::new(AtomicUsize::new(0));
    let bare_server = rt.server.block_on(TestGateway::start_http_stack(
        Config::default(),
        bare_route(triggered.clone(), len.clone()),
    ))?;
    let bare = Bare {
        addr: bare_server.addr,
        trigger,
        triggered: stamps(triggered)?,
        len,
    };
    rt.client.block_on(async {
        let mut runs = Vec::with_capacity(args.runs);
        for _ in 0..args.runs.max(1) {
            let data = gateway.data.path();
            let one = through_gateway(addr, &app, data, &committed, 1, args.events, None).await?;
            // The 100-subscription measurement and the bare one take turns, event by event.
            let baton = Baton::new();
            let (hundred, bare) = tokio::join!(
                through_gateway(
                    addr,
                    &app,
                    data,
                    &committed,
                    100,
                    args.events,
                    Some((&baton, 0))
                ),
                through_bare(&bare, 100, args.events, one.body_len, Some((&baton, 1))),
            );
            let (hundred, bare) = (hundred?, bare?);
            runs.push(Run { one, hundred, bare });
        }
        print_runs(&runs);
        anyhow::Ok(())
    })?;
    rt.stop(bare_server)?;
    rt.stop(gateway)
}
