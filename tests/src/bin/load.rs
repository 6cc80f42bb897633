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
use std::time::Instant;

use clap::Parser;
use railgate_tests::{
    BenchRuntimes, RawClient, Slice, TestGateway, Totals, device_information_digest, get,
    load_config, post, run_slice, soap_envelope,
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

/// One slice of `case` at `connections` keep-alive connections (connected before the clock
/// starts).
async fn drive(
    addr: SocketAddr,
    case: Case,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Slice> {
    let connect = move || RawClient::connect(addr);
    run_slice(
        connections,
        seconds,
        connect,
        move |mut client, deadline| async move {
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
                    Case::DeviceInfoDigest => device_information_digest(),
                };
                let status = client.request(&request).await?;
                latencies.push(t0.elapsed());
                if status != 200 {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        },
    )
    .await
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = BenchRuntimes::new()?;
    let config = load_config();
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
                    let slice = drive(addr, case, connections, args.seconds).await?;
                    round_rps.push(slice.rate());
                    totals[i].add(slice);
                }
                for (i, rps) in round_rps.iter().enumerate() {
                    totals[i].ratios.push(rps / round_rps[0]);
                }
            }
            for (case, t) in args.cases.iter().zip(&mut totals) {
                t.finish();
                println!(
                    "{:<40} {:>5} {:>10.0} {:>9} {:>9} {:>7} {:>8.2} {:>14.1}",
                    case.name(),
                    connections,
                    t.rate(),
                    t.latency(0.50).as_micros(),
                    t.latency(0.99).as_micros(),
                    t.errors,
                    t.median_ratio(),
                    t.server_cpu_per_request()
                );
            }
        }
        anyhow::Ok(())
    })?;
    rt.stop(gateway)
}
