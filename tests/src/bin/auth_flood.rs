//! Authentication flood: what one flooding User account achieves, and what an Administrator
//! sees meanwhile (a load script, not a timed test).
//!
//! Starts railgate in-process with the DEFAULT configuration (the point is what the defaults
//! do) and a User account `flood`, then runs, for `--seconds` each:
//! 1. baseline: the Administrator alone, one login every `--admin-interval-ms` on one
//!    keep-alive connection (`GetDeviceInformation`);
//! 2. the same Administrator while `--connections` connections of `flood` send fresh
//!    UsernameTokens as fast as they can;
//! 3. the same with Digest: the flooder logs in on a fresh nonce every time (what fills
//!    nonce-count state), and the Administrator logs in by Digest too.
//!
//! Prints per phase the flooder's accepted and refused authentications per second (by
//! status: 200, 429 rate-limited, 400/401 refused), the Administrator's success rate and
//! p50/p99 latency, and the replay-cache and nonce-count entries held at the end.
//! Digest nonces are taken from `Gate::challenges` in-process (a 401 challenge is stateless:
//! this saves the flooder a round trip, which only makes it stronger).
//!
//! `cargo run --release -p railgate-tests --bin railgate-auth-flood` (options: `--help`;
//! `--auth-rate-per-user 0` switches the rate off to load the per-user shares alone)

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use md5::{Digest, Md5};
use railgate::app::App;
use railgate::config::Config;
use railgate::security::gate::Now;
use railgate::security::hex;
use railgate_mappings::plan::Plan;
use railgate_tests::{
    ADMIN_PASSWORD, BenchRuntimes, RawClient, percentile, soap_envelope, username_token,
};

const FLOOD_PASSWORD: &str = "flood-password";
const PATH: &str = "/onvif/device_service";

#[derive(Parser, Debug)]
struct Args {
    /// Seconds per phase.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Flooder connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Milliseconds between two Administrator logins.
    #[arg(long, default_value_t = 20)]
    admin_interval_ms: u64,
    /// `security.auth_rate_per_user` (default: the configuration's default; 0 = off, to see
    /// the per-user replay share and nonce table alone hold a benchmark-rate flooder).
    #[arg(long)]
    auth_rate_per_user: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Token,
    Digest,
}

fn info(header: &str) -> String {
    soap_envelope(header, "<tds:GetDeviceInformation/>")
}

/// A POST in wire form with an optional `Authorization`.
fn request(body: &str, authorization: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: railgate\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = authorization {
        head.push_str(&format!("Authorization: {a}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

/// A Digest login of `user` on a fresh nonce of this gateway.
fn digest_request(app: &App, user: &str, password: &str) -> Vec<u8> {
    let challenge = &app.gate.challenges(Now::current(), false)[0];
    let start = challenge.find("nonce=\"").expect("a nonce") + 7;
    let nonce = &challenge[start..start + challenge[start..].find('"').expect("quote")];
    let realm = &app.config.security.realm;
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("POST:{PATH}"));
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    let auth = format!(
        r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{PATH}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee", response="{response}""#
    );
    request(&info(""), Some(&auth))
}

fn login(app: &App, scheme: Scheme, user: &str, password: &str) -> Vec<u8> {
    match scheme {
        Scheme::Token => request(&info(&username_token(user, password)), None),
        Scheme::Digest => digest_request(app, user, password),
    }
}

/// What the Administrator saw.
struct AdminView {
    ok: usize,
    total: usize,
    latencies: Vec<Duration>,
}

async fn administrator(
    addr: SocketAddr,
    app: Arc<App>,
    scheme: Scheme,
    until: Instant,
    every: Duration,
) -> anyhow::Result<AdminView> {
    let mut c = RawClient::connect(addr).await?;
    let mut view = AdminView {
        ok: 0,
        total: 0,
        latencies: Vec::new(),
    };
    let mut tick = tokio::time::interval(every);
    while Instant::now() < until {
        tick.tick().await;
        let req = login(&app, scheme, "admin", ADMIN_PASSWORD);
        let t0 = Instant::now();
        let status = c.request(&req).await?;
        view.latencies.push(t0.elapsed());
        view.total += 1;
        if status == 200 {
            view.ok += 1;
        }
    }
    view.latencies.sort_unstable();
    Ok(view)
}

async fn flooder(
    addr: SocketAddr,
    app: Arc<App>,
    scheme: Scheme,
    until: Instant,
) -> anyhow::Result<BTreeMap<u16, usize>> {
    let mut c = RawClient::connect(addr).await?;
    let mut counts = BTreeMap::new();
    while Instant::now() < until {
        let req = login(&app, scheme, "flood", FLOOD_PASSWORD);
        let status = c.request(&req).await?;
        *counts.entry(status).or_insert(0) += 1;
    }
    Ok(counts)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = BenchRuntimes::new()?;
    let mut config = Config::default();
    if let Some(rate) = args.auth_rate_per_user {
        config.security.auth_rate_per_user = rate;
    }
    let rate = config.security.auth_rate_per_user;
    let gateway = rt.start(config, Plan::default())?;
    let (addr, app) = (gateway.addr, gateway.app.clone());
    let every = Duration::from_millis(args.admin_interval_ms.max(1));
    let seconds = Duration::from_secs(args.seconds);
    rt.client.block_on(async {
        // The flooding account: a User.
        let mut c = RawClient::connect(addr).await?;
        let create = format!(
            "<tds:CreateUsers><tds:User><tt:Username>flood</tt:Username><tt:Password>{FLOOD_PASSWORD}</tt:Password><tt:UserLevel>User</tt:UserLevel></tds:User></tds:CreateUsers>"
        );
        let status = c
            .request(&request(
                &soap_envelope(&username_token("admin", ADMIN_PASSWORD), &create),
                None,
            ))
            .await?;
        anyhow::ensure!(status == 200, "CreateUsers answered {status}");
        println!(
            "railgate auth flood: default config (auth_rate_per_user {rate}), loopback {addr}, {} CPUs, {} s per phase, {} flooder connections, admin login every {} ms",
            std::thread::available_parallelism()?,
            args.seconds,
            args.connections,
            args.admin_interval_ms
        );
        println!(
            "{:<34} {:>10} {:>10} {:>10} {:>10} {:>8} {:>9} {:>9} {:>8} {:>8}",
            "phase", "flood ok/s", "429/s", "refused/s", "flood n", "admin ok", "p50 ms", "p99 ms", "replay", "nonces"
        );
        for (name, scheme, flood) in [
            ("baseline: admin alone (token)", Scheme::Token, false),
            ("User token flood + admin token", Scheme::Token, true),
            ("baseline: admin alone (digest)", Scheme::Digest, false),
            ("User digest flood + admin digest", Scheme::Digest, true),
        ] {
            let until = Instant::now() + seconds;
            let admin = tokio::spawn(administrator(addr, app.clone(), scheme, until, every));
            let mut flooders = tokio::task::JoinSet::new();
            if flood {
                for _ in 0..args.connections {
                    flooders.spawn(flooder(addr, app.clone(), scheme, until));
                }
            }
            let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
            while let Some(r) = flooders.join_next().await {
                for (k, v) in r?? {
                    *counts.entry(k).or_insert(0) += v;
                }
            }
            let view = admin.await??;
            let secs = seconds.as_secs_f64();
            let ok = counts.get(&200).copied().unwrap_or(0);
            let limited = counts.get(&429).copied().unwrap_or(0);
            let total: usize = counts.values().sum();
            let refused = total - ok - limited;
            let (replay, nonces) = app.gate.remembered();
            println!(
                "{:<34} {:>10.0} {:>10.0} {:>10.0} {:>10} {:>7.1}% {:>9.2} {:>9.2} {:>8} {:>8}",
                name,
                ok as f64 / secs,
                limited as f64 / secs,
                refused as f64 / secs,
                total,
                100.0 * view.ok as f64 / view.total.max(1) as f64,
                percentile(&view.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&view.latencies, 0.99).as_secs_f64() * 1e3,
                replay,
                nonces,
            );
            // Let the flooder's bucket refill between phases.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        anyhow::Ok(())
    })?;
    rt.stop(gateway)
}
