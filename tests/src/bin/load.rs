//! Load benchmark of the SOAP stack (a load script, not a timed test).
//!
//! Starts railgate in-process with one extra route, `/hello` (a plain text reply served by the
//! very same warp routes + hyper-util server), then drives each of these on loopback for a
//! time at 1 and at 64 concurrent keep-alive connections, the cases taking turns in short
//! slices so that a noisy machine affects them alike:
//! - `hello`: the plain HTTP baseline (GET);
//! - `hello-post`: the same reply to a POST carrying a SOAP-sized body (not read);
//! - `GetSystemDateAndTime`: unauthenticated SOAP;
//! - `GetDeviceInformation`: SOAP with a fresh WS-UsernameToken digest per request.
//!
//! Prints requests/s, p50 and p99 latency, and each SOAP case's throughput as a ratio of the
//! baseline measured in the same run, and the server threads' CPU time per request. The server
//! runs on its own multi-thread runtime, as in the `railgate` binary; the load generator on a
//! separate one, sending each request in one write as SOAP client libraries do
//! (`railgate_tests::BenchRuntimes`).
//!
//! `cargo run --release -p railgate-tests --bin railgate-load` (options: `--help`)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use railgate::config::Config;
use railgate_tests::{
    ADMIN_PASSWORD, BenchRuntimes, RawClient, TestGateway, get, percentile, post, soap_envelope,
    thread_cpu, username_token,
};
use warp::Filter;

#[derive(Parser, Debug)]
struct Args {
    /// Seconds per slice (one case, one round).
    #[arg(long, default_value_t = 1)]
    seconds: u64,
    /// Rounds: every case runs once per round, in turn.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    connections: Vec<usize>,
    /// Cases to run (the first one is the baseline of the ratios).
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "hello,hello-post,date-time,device-info-digest"
    )]
    cases: Vec<Case>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Case {
    Hello,
    HelloPost,
    DateTime,
    DeviceInfoDigest,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Hello => "hello (plain HTTP GET)",
            Case::HelloPost => "hello (POST, SOAP-sized body)",
            Case::DateTime => "GetSystemDateAndTime",
            Case::DeviceInfoDigest => "GetDeviceInformation + UsernameToken",
        }
    }
}

/// One case's measurements over all rounds.
#[derive(Default)]
struct Totals {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    ratios: Vec<f64>,
    server_cpu: Duration,
}

struct Outcome {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn drive(
    addr: SocketAddr,
    case: Case,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Outcome> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        tasks.spawn(async move {
            let mut client = RawClient::connect(addr).await?;
            let mut latencies = Vec::with_capacity(100_000);
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let request = match case {
                    Case::Hello => get("/hello"),
                    Case::HelloPost => {
                        post("/hello", &soap_envelope("", "<tds:GetSystemDateAndTime/>"))
                    }
                    Case::DateTime => post(
                        "/onvif/device_service",
                        &soap_envelope("", "<tds:GetSystemDateAndTime/>"),
                    ),
                    Case::DeviceInfoDigest => post(
                        "/onvif/device_service",
                        &soap_envelope(
                            &username_token("admin", ADMIN_PASSWORD),
                            "<tds:GetDeviceInformation/>",
                        ),
                    ),
                };
                let status = client.request(&request).await?;
                latencies.push(t0.elapsed());
                if status != 200 {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        });
    }
    let mut all = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r??;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    Ok(Outcome {
        requests: all.len(),
        errors,
        elapsed: started.elapsed(),
        latencies: all,
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = BenchRuntimes::new()?;
    let mut config = Config::default();
    // Tens of thousands of UsernameTokens per second must each stay in the replay cache until
    // they go stale: a tight window (client and server share one clock here) and a large cache.
    config.security.created_window_secs = 10;
    // One account at benchmark rate: the per-user share (replay_cache_size is per user) holds
    // them all, and the per-user authentication rate is off (0).
    config.security.replay_cache_size = 2_000_000;
    config.security.auth_rate_per_user = 0;
    let hello = warp::path("hello").map(|| http::Response::new("hello\n".to_string()));
    let gateway = rt
        .server
        .block_on(TestGateway::start_http_stack(config, hello))?;
    let addr = gateway.addr;
    rt.client.block_on(async {
        println!(
            "railgate load benchmark: {} rounds of {}s slices per case, loopback {addr}, {} CPUs; ratio = median over rounds",
            args.rounds,
            args.seconds,
            std::thread::available_parallelism()?
        );
        println!(
            "{:<40} {:>5} {:>10} {:>9} {:>9} {:>7} {:>8} {:>14}",
            "case", "conns", "req/s", "p50 µs", "p99 µs", "errors", "ratio", "server CPU µs"
        );
        for &connections in &args.connections {
            // Cases alternate in short slices, round after round, so that a slow spell of a
            // noisy machine hits every case alike; each round's throughput is divided by the
            // baseline's throughput of the same round, and the median ratio is reported.
            let mut totals: Vec<Totals> = args.cases.iter().map(|_| Totals::default()).collect();
            for _ in 0..args.rounds {
                let mut round_rps = Vec::with_capacity(args.cases.len());
                for (i, &case) in args.cases.iter().enumerate() {
                    let cpu_before = thread_cpu("server");
                    let o = drive(addr, case, connections, args.seconds).await?;
                    let t = &mut totals[i];
                    t.server_cpu += thread_cpu("server").saturating_sub(cpu_before);
                    t.requests += o.requests;
                    t.errors += o.errors;
                    t.elapsed += o.elapsed;
                    t.latencies.extend(o.latencies);
                    round_rps.push(o.requests as f64 / o.elapsed.as_secs_f64());
                }
                for (i, rps) in round_rps.iter().enumerate() {
                    totals[i].ratios.push(rps / round_rps[0]);
                }
            }
            for (case, t) in args.cases.iter().zip(&mut totals) {
                t.latencies.sort_unstable();
                t.ratios.sort_by(f64::total_cmp);
                println!(
                    "{:<40} {:>5} {:>10.0} {:>9} {:>9} {:>7} {:>8.2} {:>14.1}",
                    case.name(),
                    connections,
                    t.requests as f64 / t.elapsed.as_secs_f64(),
                    percentile(&t.latencies, 0.50).as_micros(),
                    percentile(&t.latencies, 0.99).as_micros(),
                    t.errors,
                    t.ratios[t.ratios.len() / 2],
                    t.server_cpu.as_secs_f64() * 1e6 / t.requests.max(1) as f64
                );
            }
        }
        anyhow::Ok(())
    })?;
    rt.stop(gateway)
}
