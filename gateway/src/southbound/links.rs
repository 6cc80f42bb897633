//! [`Links`]: one task per controller link (an [`Adapter`]), tracked, stopped together.
//!
//! Every adapter shares one event channel towards the southbound core (so the core reads one
//! stream, in the order things happened) and has its own command channel. This is the one
//! place that turns a mapping's controller into an adapter; whatever its shape (a polled
//! bus, a line stream, an edge source), the rest of the gateway only sees
//! [`AdapterEvent`]s and [`Command`]s.
//!
//! RTU controllers on one serial device (units on one RS-485 line) share that port's bus task
//! ([`Buses`]): it is tracked with the adapters and ends once the last of them has returned.

use std::collections::HashMap;

use railgate_adapters::line::LineAdapter;
use railgate_adapters::modbus::Buses;
use railgate_adapters::{Adapter, AdapterEvent, AdapterIo, Command};
use railgate_mappings::plan::{Link, Plan, ReaderTransport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Events buffered between the adapters and the core.
const EVENT_QUEUE: usize = 4096;
/// Queued commands per controller.
const COMMAND_QUEUE: usize = 64;

/// The running adapters.
#[derive(Debug)]
pub(super) struct Links {
    /// Cloned into each adapter; dropped by [`Links::started`], so the core's receiver ends
    /// once every adapter has.
    events: Option<mpsc::Sender<AdapterEvent>>,
    commands: HashMap<String, mpsc::Sender<Command>>,
    tasks: TaskTracker,
    /// Not a child of the gateway's stop token: adapters outlive it long enough to carry out
    /// the monostable fall-backs stopping requires, then are stopped by [`Links::stop`].
    stop: CancellationToken,
    /// The link counters of the adapters that keep them (Modbus).
    stats: Vec<(String, std::sync::Arc<railgate_adapters::stats::LinkStats>)>,
}

impl Links {
    /// No adapter yet; the receiver of every adapter's events.
    pub(super) fn new() -> (Links, mpsc::Receiver<AdapterEvent>) {
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let links = Links {
            events: Some(events),
            commands: HashMap::new(),
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            stats: Vec::new(),
        };
        (links, receiver)
    }

    /// Starts the adapter of every controller in `plan`, and the bus task of every serial
    /// port its RTU controllers share.
    /// `data_dir`: the folder OSDP install-mode keys are kept in.
    pub(super) fn start_plan(&mut self, plan: &Plan, data_dir: Option<&std::path::Path>) {
        let mut buses = Buses::new();
        for controller in &plan.controllers {
            match &controller.link {
                Link::Modbus(config) => {
                    let adapter = buses.adapter(config.clone());
                    self.stats.push((controller.name.clone(), adapter.stats()));
                    self.start(adapter);
                }
                Link::Line(link) => {
                    let adapter = LineAdapter::from_link((**link).clone());
                    self.stats.push((controller.name.clone(), adapter.stats()));
                    self.start(adapter);
                }
                Link::Readers(link) => match &link.transport {
                    ReaderTransport::Osdp { .. } => {
                        match super::readers::osdp_adapter(&controller.name, link, data_dir) {
                            Ok(adapter) => {
                                self.stats.push((controller.name.clone(), adapter.stats()));
                                self.start(adapter);
                            }
                            Err(e) => tracing::error!(
                                controller = %controller.name,
                                error = %e,
                                "OSDP controller not started"
                            ),
                        }
                    }
                    ReaderTransport::WiegandSerial { .. } => {
                        match super::readers::converter_adapter(&controller.name, link) {
                            Ok(adapter) => self.start(adapter),
                            Err(e) => tracing::error!(
                                controller = %controller.name,
                                error = %e,
                                "Wiegand converter not started"
                            ),
                        }
                    }
                    ReaderTransport::WiegandGpio { .. } => {
                        match super::readers::gpio_adapter(&controller.name, link) {
                            Ok(adapter) => self.start(adapter),
                            Err(e) => tracing::error!(
                                controller = %controller.name,
                                error = %e,
                                "Wiegand GPIO reader not started"
                            ),
                        }
                    }
                },
            }
        }
        for bus in buses.into_tasks() {
            self.tasks.spawn(bus.run());
        }
    }

    /// The link counters of the started adapters that keep them.
    pub(super) fn stats(
        &self,
    ) -> Vec<(String, std::sync::Arc<railgate_adapters::stats::LinkStats>)> {
        self.stats.clone()
    }

    /// Starts one adapter in its own tracked task.
    pub(super) fn start<A: Adapter>(&mut self, adapter: A) {
        let Some(events) = self.events.clone() else {
            tracing::error!(
                controller = adapter.name(),
                "adapter started after the others"
            );
            return;
        };
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let name = adapter.name().to_string();
        self.commands.insert(name.clone(), commands);
        let io = AdapterIo {
            events,
            commands: receiver,
        };
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            if let Err(e) = adapter.run(io, stop).await {
                tracing::error!(controller = %name, error = %e, "adapter stopped");
            }
        });
    }

    /// Every adapter is started.
    pub(super) fn started(&mut self) {
        self.events = None;
        self.tasks.close();
    }

    /// The command channel of `controller`'s adapter.
    pub(super) fn commands(&self, controller: &str) -> Option<mpsc::Sender<Command>> {
        self.commands.get(controller).cloned()
    }

    /// Stops every adapter and waits until each has returned.
    pub(super) async fn stop(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}
