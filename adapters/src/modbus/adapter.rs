//! [`ModbusAdapter`]: the [`Adapter`] for one Modbus TCP or RTU controller.

use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo};

use super::config::ModbusConfig;
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
#[derive(Clone, Debug)]
pub struct ModbusAdapter {
    config: ModbusConfig,
}

impl ModbusAdapter {
    /// An adapter for `config`; nothing is checked or opened until [`Adapter::run`].
    pub fn new(config: ModbusConfig) -> ModbusAdapter {
        ModbusAdapter { config }
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
        Link::new(&self.config)
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
        let link = Link::new(&self.config)
            .map_err(|e| AdapterError::Config(format!("{}: {e}", self.config.name)))?;
        Runner::new(self.config, plan, link, io, stop).run().await;
        Ok(())
    }
}
