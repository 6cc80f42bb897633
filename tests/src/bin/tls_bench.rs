//! HTTPS against HTTP (a load script, not a timed test).
//!
//! Starts railgate's HTTP stack in-process (as `railgate-load` does: the same warp routes and
//! hyper-util server, the same configuration) with a plain HTTP listener and a TLS listener
//! on loopback, the TLS one presenting the self-signed device certificate the gateway makes on
//! its first start. The client trusts that certificate alone (pinned from the data folder's
//! `tls/device.crt`, verified as usual, host name included). Cases, each request an
//! authenticated `GetDeviceInformation` (a fresh WS-UsernameToken digest):
//! - `http`: keep-alive connections over plain HTTP, the baseline of `https`;
//! - `https`: the same over TLS keep-alive connections (each connected, its handshake done,
//!   before the slice's clock starts, as `http`'s are connected);
//! - `tcp-connect`: a new plain TCP connection per request (connect, one request, close), the
//!   baseline of `tls-handshake`;
//! - `tls-handshake`: a new TLS connection per request (connect, a full handshake, with the
//!   client's session resumption off, one request, close_notify and close): handshakes per
//!   second.
//!
//! The client offers X25519 first by default (`--kx`), as OpenSSL-based SOAP clients (Python
//! requests/zeep, curl, gSOAP) and browsers do; the gateway follows the client's order, and
//! rustls' ring provider would offer secp384r1 first, which costs far more per handshake.
//!
//! Each at every concurrency level (default 1 and 64 connections, or connections at a time),
//! the cases taking turns in short slices round after round so that a noisy machine affects
//! them alike; a case's ratio is its throughput over its baseline's in the same round, the
//! median over rounds. Prints per second (requests, or connections for the per-connection
//! cases), p50/p99 latency (per request; for the per-connection cases from connect to the
//! response, close excluded), the ratio, and the server's and the client's CPU time per
//! request. The server runs on its own multi-thread runtime, the load generator on a
//! one-thread runtime (`railgate_tests::BenchRuntimes`).
//!
//! `cargo run --release -p railgate-tests --bin railgate-tls-bench` (options: `--help`)

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use railgate_tests::{
    BenchRuntimes, RawClient, Slice, TestGateway, Totals, device_information_digest, get,
    load_config, pinned_tls_client, run_slice,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use warp::Filter;

#[derive(Parser, Debug)]
struct Args {
    /// Seconds per slice (one case, one round).
    #[arg(long, default_value_t = 1)]
    seconds: u64,
    /// Rounds: every case runs once per round, in turn.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Concurrency levels (connections open at once).
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    connections: Vec<usize>,
    /// The key exchange group the client offers first (and sends its key share for).
    #[arg(long, value_enum, default_value = "x25519")]
    kx: Kx,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Kx {
    X25519,
    Secp256r1,
    Secp384r1,
}

impl Kx {
    /// Every group ring has, this one first.
    fn groups(self) -> Vec<&'static dyn rustls::crypto::SupportedKxGroup> {
        use rustls::crypto::ring::kx_group;
        let first = match self {
            Kx::X25519 => kx_group::X25519,
            Kx::Secp256r1 => kx_group::SECP256R1,
            Kx::Secp384r1 => kx_group::SECP384R1,
        };
        let mut groups = vec![first];
        groups.extend(
            rustls::crypto::ring::ALL_KX_GROUPS
                .iter()
                .filter(|g| g.name() != first.name()),
        );
        groups
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Http,
    Https,
    TcpConnect,
    TlsHandshake,
}

const CASES: [Case; 4] = [
    Case::Http,
    Case::Https,
    Case::TcpConnect,
    Case::TlsHandshake,
];

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::Http => "HTTP keep-alive (req/s)",
            Case::Https => "HTTPS keep-alive (req/s)",
            Case::TcpConnect => "new TCP conn + 1 req (conn/s)",
            Case::TlsHandshake => "new TLS conn + 1 req (handshakes/s)",
        }
    }

    /// The case its ratio is taken against.
    fn baseline(self) -> Case {
        match self {
            Case::Http | Case::Https => Case::Http,
            Case::TcpConnect | Case::TlsHandshake => Case::TcpConnect,
        }
    }
}

/// Where the cases connect.
struct Target {
    http: SocketAddr,
    https: SocketAddr,
    /// For keep-alive connections.
    tls: TlsConnector,
    /// For the handshake case: session resumption off, so every handshake is a full one.
    tls_full: TlsConnector,
}

/// Requests on one keep-alive connection until `deadline`.
async fn keep_alive<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: RawClient<S>,
    deadline: Instant,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut latencies = Vec::with_capacity(100_000);
    let mut errors = 0usize;
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let request = device_information_digest();
        let status = client.request(&request).await?;
        latencies.push(t0.elapsed());
        if status != 200 {
            errors += 1;
        }
    }
    client.close().await?;
    Ok((latencies, errors))
}

/// New connections (`connect`), one request each, then closed, until `deadline`.
async fn per_connection<S, C, F>(
    connect: C,
    deadline: Instant,
) -> anyhow::Result<(Vec<Duration>, usize)>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Fn() -> F,
    F: Future<Output = anyhow::Result<RawClient<S>>>,
{
    let mut latencies = Vec::with_capacity(10_000);
    let mut errors = 0usize;
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let request = device_information_digest();
        let mut client = connect().await?;
        let status = client.request(&request).await?;
        latencies.push(t0.elapsed());
        if status != 200 {
            errors += 1;
        }
        client.close().await?;
    }
    Ok((latencies, errors))
}

/// One slice of `case` at `connections` connections at a time (the keep-alive ones connected,
/// and their handshakes done, before the clock starts).
async fn drive(
    target: &Target,
    case: Case,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Slice> {
    let (http, https) = (target.http, target.https);
    let tls = |connector: &TlsConnector| {
        let connector = connector.clone();
        move || {
            let connector = connector.clone();
            async move { RawClient::connect_tls(https, &connector).await }
        }
    };
    let nothing = || async { anyhow::Ok(()) };
    match case {
        Case::Http => {
            let connect = move || RawClient::connect(http);
            run_slice(connections, seconds, connect, keep_alive).await
        }
        Case::Https => run_slice(connections, seconds, tls(&target.tls), keep_alive).await,
        Case::TcpConnect => {
            let work =
                move |(), deadline| per_connection(move || RawClient::connect(http), deadline);
            run_slice(connections, seconds, nothing, work).await
        }
        Case::TlsHandshake => {
            let connect = tls(&target.tls_full);
            let work = move |(), deadline| per_connection(connect.clone(), deadline);
            run_slice(connections, seconds, nothing, work).await
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = BenchRuntimes::new()?;
    let mut config = load_config();
    // Any address: TestGateway serves HTTPS on 127.0.0.1:0.
    config.server.tls_listen = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
    // The same stack as railgate-load's (its /hello route in front of the gateway's).
    let hello = warp::path("hello").map(|| http::Response::new("hello\n".to_string()));
    let gateway = rt
        .server
        .block_on(TestGateway::start_http_stack(config, hello))?;
    let https = gateway
        .tls_addr
        .ok_or_else(|| anyhow::anyhow!("the gateway serves no HTTPS"))?;
    let cert = gateway.device_certificate();
    let client_config = pinned_tls_client(&cert, &args.kx.groups())?;
    let mut full = client_config.clone();
    full.resumption = rustls::client::Resumption::disabled();
    let target = Target {
        http: gateway.addr,
        https,
        tls: TlsConnector::from(Arc::new(client_config)),
        tls_full: TlsConnector::from(Arc::new(full)),
    };
    rt.client.block_on(async {
        // What the TLS connections negotiate, and that both listeners answer.
        let mut probe = RawClient::connect_tls(https, &target.tls_full).await?;
        let session = probe.session();
        let negotiated = format!(
            "{:?}, {:?}, key exchange {:?}, ALPN {}",
            session.protocol_version(),
            session.negotiated_cipher_suite().map(|s| s.suite()),
            session.negotiated_key_exchange_group().map(|g| g.name()),
            session
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_else(|| "none".into())
        );
        anyhow::ensure!(probe.request(&device_information_digest()).await? == 200);
        anyhow::ensure!(probe.request(&get("/hello")).await? == 200);
        probe.close().await?;
        let mut plain = RawClient::connect(target.http).await?;
        anyhow::ensure!(plain.request(&device_information_digest()).await? == 200);
        plain.close().await?;

        println!(
            "railgate TLS benchmark: {} rounds of {}s slices per case, loopback http://{} https://{https}, {} CPUs; ratio = median over rounds of the case's rate over its baseline's",
            args.rounds,
            args.seconds,
            target.http,
            std::thread::available_parallelism()?
        );
        println!("TLS: {negotiated}; server certificate pinned from {}", cert.display());
        println!("each request: GetDeviceInformation with a fresh UsernameToken digest");
        println!(
            "{:<36} {:>5} {:>9} {:>8} {:>8} {:>7} {:>6} {:>14} {:>14}",
            "case",
            "conns",
            "per s",
            "p50 µs",
            "p99 µs",
            "errors",
            "ratio",
            "server CPU µs",
            "client CPU µs"
        );
        for &connections in &args.connections {
            let mut totals: Vec<Totals> = CASES.iter().map(|_| Totals::default()).collect();
            for _ in 0..args.rounds {
                let mut round_rate = Vec::with_capacity(CASES.len());
                for (i, &case) in CASES.iter().enumerate() {
                    let slice = drive(&target, case, connections, args.seconds).await?;
                    round_rate.push(slice.rate());
                    totals[i].add(slice);
                }
                for (i, case) in CASES.iter().enumerate() {
                    let base = CASES
                        .iter()
                        .position(|&c| c == case.baseline())
                        .expect("every baseline is a case");
                    totals[i].ratios.push(round_rate[i] / round_rate[base]);
                }
            }
            for (case, t) in CASES.iter().zip(&mut totals) {
                t.finish();
                println!(
                    "{:<36} {:>5} {:>9.0} {:>8} {:>8} {:>7} {:>6.2} {:>14.1} {:>14.1}",
                    case.name(),
                    connections,
                    t.rate(),
                    t.latency(0.50).as_micros(),
                    t.latency(0.99).as_micros(),
                    t.errors,
                    t.median_ratio(),
                    t.server_cpu_per_request(),
                    t.client_cpu_per_request()
                );
            }
        }
        anyhow::Ok(())
    })?;
    rt.stop(gateway)
}
