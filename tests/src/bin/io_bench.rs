//! I/O latency benchmark (a load script, not a timed test): from a coil changing on a Modbus
//! TCP server (the simulated panel) to the DigitalInput event arriving in a waiting
//! PullMessages (over HTTP, authenticated), with railgate polling every 50 ms.
//!
//! A polling gateway cannot see a change before its next poll, so the floor is set by the
//! poll phase. The same-run baseline is a plain tokio-modbus client polling the same coil at
//! the same interval and noticing the same changes: the ratio compares railgate's whole path
//! (adapter, engine, durable store, event service, HTTP) with bare polling.
//!
//! `cargo run --release -p railgate-tests --bin railgate-io-bench`

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use railgate::config::Config;
use railgate_adapters::sim::{self, SimOptions};
use railgate_tests::{
    ADMIN_PASSWORD, BenchRuntimes, RawClient, percentile, post, soap_envelope, username_token,
};
use tokio_modbus::client::Reader;

#[derive(Parser, Debug)]
struct Args {
    /// Coil changes per measurement.
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Poll interval, in milliseconds.
    #[arg(long, default_value_t = 50)]
    poll_ms: u64,
}

const CREATE: &str = "<tev:CreatePullPointSubscription xmlns:tev=\"http://www.onvif.org/ver10/events/wsdl\" xmlns:wsnt=\"http://docs.oasis-open.org/wsn/b-2\"><tev:Filter><wsnt:TopicExpression xmlns:tns1=\"http://www.onvif.org/ver10/topics\" Dialect=\"http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet\">tns1:Device/Trigger/DigitalInput</wsnt:TopicExpression></tev:Filter><tev:InitialTerminationTime>PT600S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>";
const PULL: &str = "<tev:PullMessages xmlns:tev=\"http://www.onvif.org/ver10/events/wsdl\"><tev:Timeout>PT10S</tev:Timeout><tev:MessageLimit>100</tev:MessageLimit></tev:PullMessages>";

fn mapping(addr: SocketAddr, poll_ms: u64) -> String {
    format!(
        "controllers:\n  - name: bench\n    modbus_tcp: {{host: {}, port: {}}}\n    unit: 1\n    address_base: 0\n    poll_interval: {poll_ms}ms\ninputs:\n  - {{token: B1, coil: 0}}\n",
        addr.ip(),
        addr.port()
    )
}

/// A random pause so changes land at every phase of the poll cycle.
fn phase(poll: Duration) -> Duration {
    poll.mul_f64(fastrand::f64()) + Duration::from_millis(5)
}

/// railgate: change the coil, time until the waiting PullMessages returns the event.
async fn through_railgate(
    gateway: SocketAddr,
    panel: &sim::SimPanel,
    changes: usize,
    poll: Duration,
) -> anyhow::Result<Vec<Duration>> {
    // Let the gateway see the panel's current state before subscribing.
    tokio::time::sleep(poll * 4).await;
    let mut c = RawClient::connect(gateway).await?;
    let token = || username_token("admin", ADMIN_PASSWORD);
    let path = c.create_pull_point(CREATE).await?;
    // Wait for the Initialized state, so every later message is a change.
    loop {
        c.request(&post(&path, &soap_envelope(&token(), PULL)))
            .await?;
        if String::from_utf8_lossy(&c.body).contains("Initialized") {
            break;
        }
    }
    let mut latencies = Vec::with_capacity(changes);
    let mut state = panel.coil(1, 0).unwrap_or(false);
    for _ in 0..changes {
        state = !state;
        let want = format!("Value=\"{state}\"");
        let request = post(&path, &soap_envelope(&token(), PULL));
        let (changed_tx, changed_rx) = tokio::sync::oneshot::channel::<Instant>();
        let waiting = async {
            c.request(&request).await?;
            let arrived = Instant::now();
            let t0 = changed_rx.await?;
            let body = String::from_utf8_lossy(&c.body);
            anyhow::ensure!(
                body.contains(&want),
                "PullMessages returned without the change: {body}"
            );
            anyhow::Ok(arrived - t0)
        };
        let change = async {
            tokio::time::sleep(phase(poll)).await;
            let t0 = Instant::now();
            panel.set_coil(1, 0, state)?;
            let _ = changed_tx.send(t0);
            anyhow::Ok(())
        };
        let (latency, changed) = tokio::join!(waiting, change);
        changed?;
        latencies.push(latency?);
    }
    latencies.sort_unstable();
    Ok(latencies)
}

/// The baseline: a bare tokio-modbus client polling the coil at the same interval.
async fn bare_polling(
    panel: &sim::SimPanel,
    changes: usize,
    poll: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let mut ctx =
        tokio_modbus::client::tcp::connect_slave(panel.local_addr(), tokio_modbus::Slave(1))
            .await?;
    let mut latencies = Vec::with_capacity(changes);
    let mut state = panel.coil(1, 0).unwrap_or(false);
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..changes {
        state = !state;
        let pause = phase(poll);
        let (t0_tx, mut t0_rx) = tokio::sync::oneshot::channel::<Instant>();
        let change = async {
            tokio::time::sleep(pause).await;
            let t0 = Instant::now();
            panel.set_coil(1, 0, state)?;
            let _ = t0_tx.send(t0);
            anyhow::Ok(())
        };
        let watch = async {
            loop {
                ticker.tick().await;
                let bits = ctx.read_coils(0, 1).await??;
                if bits.first() == Some(&state) {
                    let seen = Instant::now();
                    let t0 = (&mut t0_rx).await?;
                    return anyhow::Ok(seen - t0);
                }
            }
        };
        let (latency, changed) = tokio::join!(watch, change);
        changed?;
        latencies.push(latency?);
    }
    latencies.sort_unstable();
    Ok(latencies)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let poll = Duration::from_millis(args.poll_ms);
    // The gateway on its own runtime, as in the binary; the panel and the client on another.
    let rt = BenchRuntimes::new()?;
    let panel = rt.client.block_on(sim::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SimOptions { animate: false },
    ))?;
    let plan = railgate_mappings::load_str(
        Path::new("io-bench.yaml"),
        &mapping(panel.local_addr(), args.poll_ms),
    )
    .map_err(|d| anyhow::anyhow!("{d}"))?;
    let mut config = Config::default();
    config.security.replay_cache_size = 100_000;
    // One account at benchmark rate: the per-user authentication rate off.
    config.security.auth_rate_per_user = 0;
    let gateway = rt.start(config, plan)?;
    let addr = gateway.addr;
    println!(
        "railgate I/O latency: coil change on the Modbus server -> event in a waiting PullMessages, poll every {} ms, {} changes, {} CPUs",
        args.poll_ms,
        args.changes,
        std::thread::available_parallelism()?
    );
    rt.client.block_on(async {
        let base = bare_polling(&panel, args.changes, poll).await?;
        let gw = through_railgate(addr, &panel, args.changes, poll).await?;
        let (b50, b99) = (percentile(&base, 0.5), percentile(&base, 0.99));
        let (g50, g99) = (percentile(&gw, 0.5), percentile(&gw, 0.99));
        println!(
            "bare tokio-modbus polling (baseline): p50 {:6.1} ms  p99 {:6.1} ms  max {:6.1} ms",
            ms(b50),
            ms(b99),
            ms(*base.last().unwrap_or(&Duration::ZERO))
        );
        println!(
            "railgate -> PullMessages:             p50 {:6.1} ms  p99 {:6.1} ms  max {:6.1} ms",
            ms(g50),
            ms(g99),
            ms(*gw.last().unwrap_or(&Duration::ZERO))
        );
        println!(
            "p99 railgate / p99 baseline: {:.2}; p99 railgate - p99 baseline: {:.1} ms; target p99 < poll + 10 ms = {} ms: {}",
            g99.as_secs_f64() / b99.as_secs_f64().max(1e-9),
            ms(g99) - ms(b99),
            args.poll_ms + 10,
            if g99 < poll + Duration::from_millis(10) { "met" } else { "NOT met" }
        );
        anyhow::Ok(())
    })?;
    let stopped = rt.stop(gateway);
    rt.client.block_on(panel.stop());
    stopped
}
