//! Poll-cycle throughput over Modbus TCP on loopback against the simulated panel.
//!
//! 500 registers in five blocks of 100 (holding 0, 1000, 2000; input 0, 1000) on a scratch
//! unit, one point per register. Measured twice in the same run, each for a few seconds:
//! - **adapter**: the `ModbusAdapter` polling back to back (poll interval 0), counted by the
//!   requests the simulator served;
//! - **plain**: a bare tokio-modbus client doing the same five reads in a loop.
//!
//! Prints registers/second for each and the ratio adapter ÷ plain (1.0 = no overhead).
//! `cargo bench -p railgate-adapters --bench poll`; about 10 s (`cargo test --benches`: a
//! 0.3 s smoke run). `POLL_BENCH_SECS` sets the duration of each measurement.

use std::net::SocketAddr;
use std::time::Duration;

use railgate_adapters::conformance::Running;
use railgate_adapters::modbus::{ModbusAdapter, ModbusConfig, ModbusPoint, Table, Transport};
use railgate_adapters::sim::{self, SimOptions, SimPanel};
use railgate_adapters::{LinkState, PointId};
use tokio::time::Instant;
use tokio_modbus::client::{Client, Context};
use tokio_modbus::{Request, Slave};

const UNIT: u8 = 10;
const BLOCK: u16 = 100;
const BLOCKS: [(Table, u16); 5] = [
    (Table::Holding, 0),
    (Table::Holding, 1000),
    (Table::Holding, 2000),
    (Table::Input, 0),
    (Table::Input, 1000),
];

fn registers() -> u64 {
    BLOCKS.len() as u64 * u64::from(BLOCK)
}

fn points() -> Vec<ModbusPoint> {
    BLOCKS
        .iter()
        .flat_map(|&(table, start)| {
            (start..start + BLOCK).map(move |address| ModbusPoint {
                id: PointId(format!("{}/{address}", table.name())),
                table,
                address,
                count: 1,
                bit: None,
                writable: false,
                polled: true,
            })
        })
        .collect()
}

/// Registers per second read by the adapter polling back to back.
async fn adapter_rate(sim: &SimPanel, duration: Duration) -> f64 {
    let addr = sim.local_addr();
    let mut config = ModbusConfig::new(
        "bench",
        Transport::Tcp {
            host: addr.ip().to_string(),
            port: addr.port(),
        },
        UNIT,
    );
    config.poll_interval = Duration::ZERO;
    config.points = points();
    let adapter = ModbusAdapter::new(config);
    let requests_per_cycle = adapter.plan().expect("a valid plan").blocks.len();
    assert_eq!(requests_per_cycle, BLOCKS.len(), "one request per block");
    let mut running = Running::start(adapter);
    running
        .wait_link(LinkState::Up, Duration::from_secs(5))
        .await
        .expect("the adapter connects");
    let before = sim.requests();
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    let requests = sim.requests() - before;
    let elapsed = started.elapsed();
    running
        .stop(Duration::from_secs(1))
        .await
        .expect("the adapter stops");
    (requests * u64::from(BLOCK)) as f64 / elapsed.as_secs_f64()
}

/// Registers per second read by a bare tokio-modbus client.
async fn plain_rate(addr: SocketAddr, duration: Duration) -> f64 {
    let mut ctx: Context = tokio_modbus::client::tcp::connect_slave(addr, Slave(UNIT))
        .await
        .expect("connect");
    let started = Instant::now();
    let mut cycles = 0u64;
    while started.elapsed() < duration {
        for &(table, start) in &BLOCKS {
            let request = match table {
                Table::Holding => Request::ReadHoldingRegisters(start, BLOCK),
                _ => Request::ReadInputRegisters(start, BLOCK),
            };
            ctx.call(request)
                .await
                .expect("no transport error")
                .expect("no exception");
        }
        cycles += 1;
    }
    let elapsed = started.elapsed();
    let _ = ctx.disconnect().await;
    (cycles * registers()) as f64 / elapsed.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then only a smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs = std::env::var("POLL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(if quick { 0.3 } else { 4.0 });
    let duration = Duration::from_secs_f64(secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let sim = sim::start("127.0.0.1:0".parse().expect("an address"), SimOptions { animate: false })
            .await
            .expect("the simulator starts");
        sim.add_scratch_unit(UNIT).expect("a scratch unit");
        // Both clients run as spawned tasks on the same two workers as the simulator.
        let addr = sim.local_addr();
        // Warm up the simulator and the loopback path once.
        tokio::spawn(plain_rate(addr, duration / 4)).await.expect("warm-up");
        let plain = tokio::spawn(plain_rate(addr, duration))
            .await
            .expect("the plain client");
        let adapter = adapter_rate(&sim, duration).await;
        println!(
            "poll throughput, {} registers in {} requests per cycle, Modbus TCP on loopback, {secs} s each:",
            registers(),
            BLOCKS.len()
        );
        println!("  plain tokio-modbus loop: {plain:>12.0} registers/s");
        println!("  ModbusAdapter:           {adapter:>12.0} registers/s");
        println!("  ratio adapter / plain:   {:>12.3}", adapter / plain);
        sim.stop().await;
    });
}
