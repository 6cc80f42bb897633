//! [`ModbusAdapter`]: the [`Adapter`] for one Modbus TCP or RTU controller.

use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo};

use super::bus::{BusHandle, BusTask, Buses};
use super::config::{ModbusConfig, Transport};
use super::link::Link;
use super::plan::{PollPlan, plan_poll};
use super::runner::Runner;

/// Polls one Modbus controller and performs writes on it.
///
/// Built from a [`ModbusConfig`] (the mapping compiler's output). [`Adapter::run`] checks the
/// configuration first and returns [`AdapterError::Config`] if it cannot work; afterwards it
/// only returns when `stop` is cancelled: link failures are retried with backoff for ever.
///
/// What it reports (see the `modbus` module doc for the full contract):
/// - after every (re)connect, every point once; then only points whose raw value or quality
///   changed;
/// - `LinkEvent { state: Up }` when a poll cycle completes after a (re)connect, and
///   `LinkEvent { state: Down }` once when the link fails, with every known point reported
///   once more as [`crate::Quality::Stale`];
/// - [`crate::Quality::Bad`] for the points of a read the device refuses with an exception
///   (the link stays up).
///
/// An RTU controller made with [`ModbusAdapter::new`] is alone on its serial port (the port's
/// bus task runs inside the adapter's task); controllers sharing a port are made by
/// [`super::Buses::adapter`].
#[derive(Clone, Debug)]
pub struct ModbusAdapter {
    config: ModbusConfig,
    pub(super) bus: Option<BusHandle>,
    stats: std::sync::Arc<crate::stats::LinkStats>,
}

impl ModbusAdapter {
    /// An adapter for `config`; nothing is checked or opened until [`Adapter::run`].
    pub fn new(config: ModbusConfig) -> ModbusAdapter {
        ModbusAdapter {
            config,
            bus: None,
            stats: std::sync::Arc::default(),
        }
    }

    /// An adapter for `config`'s unit on a serial bus shared with other controllers.
    pub(crate) fn on_bus(config: ModbusConfig, bus: BusHandle) -> ModbusAdapter {
        ModbusAdapter {
            config,
            bus: Some(bus),
            stats: std::sync::Arc::default(),
        }
    }

    /// Its link's counters (requests, retries, timeouts, poll cycles), live while it runs.
    pub fn stats(&self) -> std::sync::Arc<crate::stats::LinkStats> {
        self.stats.clone()
    }

    /// The configuration it runs.
    pub fn config(&self) -> &ModbusConfig {
        &self.config
    }

    /// Checks the configuration and returns the reads of one poll cycle, without any I/O
    /// (for `railgate check` and diagnostics).
    pub fn plan(&self) -> Result<PollPlan, AdapterError> {
        let plan = plan_poll(&self.config)
            .map_err(|e| AdapterError::Config(format!("{}: {e}", self.config.name)))?;
        Link::check(&self.config)
            .map_err(|e| AdapterError::Config(format!("{}: {e}", self.config.name)))?;
        Ok(plan)
    }
}

impl From<ModbusConfig> for ModbusAdapter {
    fn from(config: ModbusConfig) -> ModbusAdapter {
        ModbusAdapter::new(config)
    }
}

impl Adapter for ModbusAdapter {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self, io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let plan = self.plan()?;
        let name = self.config.name.clone();
        let config_error = |e: String| AdapterError::Config(format!("{name}: {e}"));
        match (self.bus, &self.config.transport) {
            (None, Transport::Rtu { .. }) => {
                // Alone on its port: the port's bus task runs beside the runner, in this task;
                // it ends when the runner (and with it the link's handle) is gone.
                let (bus, handle) = BusTask::open(&self.config).map_err(config_error)?;
                let mut link = Link::new(&self.config, Some(handle)).map_err(config_error)?;
                link.stats = self.stats.clone();
                let runner = Runner::new(self.config, plan, link, io, stop);
                tokio::join!(bus.run(), runner.run());
            }
            (bus, _) => {
                let mut link = Link::new(&self.config, bus).map_err(config_error)?;
                link.stats = self.stats.clone();
                Runner::new(self.config, plan, link, io, stop).run().await;
            }
        }
        Ok(())
    }
}

impl Buses {
    /// The adapter of `config`: on the bus of its serial device (made by the first controller
    /// on it), or on its own TCP connection.
    pub fn adapter(&mut self, config: ModbusConfig) -> ModbusAdapter {
        match self.join(&config) {
            Some(handle) => ModbusAdapter::on_bus(config, handle),
            None => ModbusAdapter::new(config),
        }
    }
}
