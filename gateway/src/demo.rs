//! The embedded demo: `railgate` without `--config` runs the simulated panel (a real Modbus
//! TCP server, from `railgate-adapters`' `sim` feature) on loopback, and polls it through the
//! real Modbus adapter using the demo mapping (`mappings/demo.yaml`), so a newcomer sees
//! relays, inputs and events in any ONVIF client with one command.

use std::net::SocketAddr;

use railgate_adapters::modbus::Transport;
use railgate_adapters::sim::{self, SimOptions, SimPanel};
use railgate_mappings::plan::{Link, Plan};

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The simulated panel could not listen.
    #[error("the simulated panel cannot listen: {0}")]
    Panel(#[from] std::io::Error),
    /// The built-in mapping is invalid (a bug).
    #[error("the built-in demo mapping is invalid:\n{0}")]
    Mapping(railgate_mappings::Diagnostics),
}

/// Starts the simulated panel on an ephemeral loopback port and returns it with the demo
/// mapping pointed at it.
pub async fn start() -> Result<(SimPanel, Plan), DemoError> {
    let panel = sim::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SimOptions { animate: true },
    )
    .await?;
    let mut plan = railgate_mappings::load_demo().map_err(DemoError::Mapping)?;
    point_at(&mut plan, panel.local_addr());
    Ok((panel, plan))
}

/// Points every Modbus TCP controller of `plan` at `addr`.
pub fn point_at(plan: &mut Plan, addr: SocketAddr) {
    for c in &mut plan.controllers {
        let Link::Modbus(m) = &mut c.link else {
            continue;
        };
        if let Transport::Tcp { host, port } = &mut m.transport {
            *host = addr.ip().to_string();
            *port = addr.port();
        }
    }
}
