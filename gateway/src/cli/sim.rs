//! `railgate sim`: the simulated panel alone (a Modbus TCP server), until SIGTERM/SIGINT.

use std::net::SocketAddr;
use std::process::ExitCode;

use railgate::runtime::shutdown_signal;
use railgate_adapters::sim::{self, SimOptions};

use super::out;
use super::{EX_UNAVAILABLE, runtime};

/// Serves the panel on `listen`; inputs change over time when `animate`.
pub(crate) fn run(listen: SocketAddr, animate: bool) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let panel = match sim::start(listen, SimOptions { animate }).await {
            Ok(p) => p,
            Err(e) => {
                out::note(format_args!("railgate sim: cannot listen on {listen}: {e}"));
                return ExitCode::from(EX_UNAVAILABLE);
            }
        };
        tracing::info!(addr = %panel.local_addr(), "simulated panel serving Modbus TCP (unit 1: I/O module, unit 2: alarm panel)");
        shutdown_signal().await;
        panel.stop().await;
        ExitCode::SUCCESS
    })
}
