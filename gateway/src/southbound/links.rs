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
//!

//! Controllers are started and stopped in *groups*: a controller alone, or every RTU
//! controller of one serial device with their bus task. A reload ([`Links::retire`]) stops
//! only the groups that changed (a controller in them added, removed or changed), waits until
//! they have returned (so a serial port is free again), and says which controllers to start;
//! every other link keeps running untouched.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use railgate_adapters::line::LineAdapter;
use railgate_adapters::modbus::{Buses, Transport};
use railgate_adapters::stats::LinkStats;
use railgate_adapters::{Adapter, AdapterEvent, AdapterIo, Command};
use railgate_mappings::plan::{Controller, Link, Plan, ReaderTransport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Events buffered between the adapters and the core.
const EVENT_QUEUE: usize = 4096;
/// Queued commands per controller.
const COMMAND_QUEUE: usize = 64;

/// Controllers started and stopped together, with their tasks.
#[derive(Debug)]
struct Group {
    key: String,
    controllers: Vec<String>,
    /// Not a child of the gateway's stop token: adapters outlive it long enough to carry out
    /// the monostable fall-backs stopping requires, then are stopped by [`Links::stop`].
    stop: CancellationToken,
    tasks: TaskTracker,
}

/// The running adapters.
#[derive(Debug)]
pub(super) struct Links {
    /// Cloned into each adapter.
    events: mpsc::Sender<AdapterEvent>,
    commands: HashMap<String, mpsc::Sender<Command>>,
    groups: Vec<Group>,
    /// The link counters of the adapters that keep them.
    stats: Vec<(String, Arc<LinkStats>)>,
    /// The folder OSDP install-mode keys are kept in.
    data_dir: Option<PathBuf>,
}

/// The group a controller is started in: its serial device for a Modbus RTU controller
/// (units on one RS-485 line share the bus task), else itself.
fn group_key(controller: &Controller) -> String {
    match &controller.link {
        Link::Modbus(config) => match &config.transport {
            Transport::Rtu { device, .. } => format!("bus {}", device.display()),
            Transport::Tcp { .. } => format!("controller {}", controller.name),
        },
        _ => format!("controller {}", controller.name),
    }
}

/// Every group of `plan`: its key and its controllers, in file order.
fn groups_of(plan: &Plan) -> BTreeMap<String, Vec<&Controller>> {
    let mut groups: BTreeMap<String, Vec<&Controller>> = BTreeMap::new();
    for c in &plan.controllers {
        groups.entry(group_key(c)).or_default().push(c);
    }
    groups
}

/// Every controller of `plan`.
pub(super) fn all(plan: &Plan) -> BTreeSet<String> {
    plan.controllers.iter().map(|c| c.name.clone()).collect()
}

impl Links {
    /// No adapter yet; the receiver of every adapter's events. `data_dir`: the folder OSDP
    /// install-mode keys are kept in.
    pub(super) fn new(data_dir: Option<PathBuf>) -> (Links, mpsc::Receiver<AdapterEvent>) {
        let (events, receiver) = mpsc::channel(EVENT_QUEUE);
        let links = Links {
            events,
            commands: HashMap::new(),
            groups: Vec::new(),
            stats: Vec::new(),
            data_dir,
        };
        (links, receiver)
    }

    /// Starts the adapter of every controller of `plan` named in `only`, and the bus task of
    /// every serial port its RTU controllers share (`only` names whole groups: see
    /// [`Links::retire`]).
    pub(super) fn start_plan(&mut self, plan: &Plan, only: &BTreeSet<String>) {
        for (key, controllers) in groups_of(plan) {
            if !controllers.iter().any(|c| only.contains(&c.name)) {
                continue;
            }
            let group = self.group(&key);
            let mut buses = Buses::new();
            for controller in controllers {
                self.start_controller(group, controller, &mut buses);
            }
            for bus in buses.into_tasks() {
                self.groups[group].tasks.spawn(bus.run());
            }
            self.groups[group].tasks.close();
        }
    }

    fn start_controller(&mut self, group: usize, controller: &Controller, buses: &mut Buses) {
        let data_dir = self.data_dir.clone();
        let name = &controller.name;
        match &controller.link {
            Link::Modbus(config) => {
                let adapter = buses.adapter(config.clone());
                self.stats.push((name.clone(), adapter.stats()));
                self.spawn(group, adapter);
            }
            Link::Line(link) => {
                let adapter = LineAdapter::from_link((**link).clone());
                self.stats.push((name.clone(), adapter.stats()));
                self.spawn(group, adapter);
            }
            Link::Readers(link) => match &link.transport {
                ReaderTransport::Osdp { .. } => {
                    match super::readers::osdp_adapter(name, link, data_dir.as_deref()) {
                        Ok(adapter) => {
                            self.stats.push((name.clone(), adapter.stats()));
                            self.spawn(group, adapter);
                        }
                        Err(e) => tracing::error!(
                            controller = %name,
                            error = %e,
                            "OSDP controller not started"
                        ),
                    }
                }
                ReaderTransport::WiegandSerial { .. } => {
                    match super::readers::converter_adapter(name, link) {
                        Ok(adapter) => self.spawn(group, adapter),
                        Err(e) => tracing::error!(
                            controller = %name,
                            error = %e,
                            "Wiegand converter not started"
                        ),
                    }
                }
                ReaderTransport::WiegandGpio { .. } => {
                    match super::readers::gpio_adapter(name, link) {
                        Ok(adapter) => self.spawn(group, adapter),
                        Err(e) => tracing::error!(
                            controller = %name,
                            error = %e,
                            "Wiegand GPIO reader not started"
                        ),
                    }
                }
            },
        }
    }

    /// The link counters of the started adapters that keep them.
    pub(super) fn stats(&self) -> Vec<(String, Arc<LinkStats>)> {
        self.stats.clone()
    }

    /// Starts one adapter in a group of its own (tests bring their own adapters).
    #[cfg(test)]
    pub(super) fn start<A: Adapter>(&mut self, adapter: A) {
        let group = self.group(&format!("controller {}", adapter.name()));
        self.spawn(group, adapter);
        self.groups[group].tasks.close();
    }

    /// The index of the group `key`, made if new.
    fn group(&mut self, key: &str) -> usize {
        if let Some(i) = self.groups.iter().position(|g| g.key == key) {
            return i;
        }
        self.groups.push(Group {
            key: key.to_string(),
            controllers: Vec::new(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        self.groups.len() - 1
    }

    /// Runs `adapter` in its own task of `group`.
    fn spawn<A: Adapter>(&mut self, group: usize, adapter: A) {
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let name = adapter.name().to_string();
        self.commands.insert(name.clone(), commands);
        let io = AdapterIo {
            events: self.events.clone(),
            commands: receiver,
        };
        let group = &mut self.groups[group];
        group.controllers.push(name.clone());
        let stop = group.stop.clone();
        group.tasks.spawn(async move {
            if let Err(e) = adapter.run(io, stop).await {
                tracing::error!(controller = %name, error = %e, "adapter stopped");
            }
        });
    }

    /// The groups a reload from `old` to `new` keeps running: the same controllers, each with
    /// the same settings, in both, and every one of them started (one whose adapter could not
    /// start is tried again by a reload).
    fn kept(&self, old: &Plan, new: &Plan) -> BTreeSet<String> {
        let before = groups_of(old);
        groups_of(new)
            .into_iter()
            .filter(|(key, controllers)| {
                let running = self.groups.iter().find(|g| &g.key == key);
                before.get(key) == Some(controllers)
                    && running.is_some_and(|g| {
                        controllers.iter().all(|c| g.controllers.contains(&c.name))
                    })
            })
            .map(|(key, _)| key)
            .collect()
    }

    /// The controllers of `old` a reload to `new` stops (whole groups).
    pub(super) fn stopping(&self, old: &Plan, new: &Plan) -> BTreeSet<String> {
        let kept = self.kept(old, new);
        old.controllers
            .iter()
            .filter(|c| !kept.contains(&group_key(c)))
            .map(|c| c.name.clone())
            .collect()
    }

    /// A reload from `old` to `new`: stops every group it does not keep ([`Links::stopping`])
    /// and waits until its tasks have returned. Returns the controllers of `new` to start
    /// (whole groups; [`Links::start_plan`]).
    pub(super) async fn retire(&mut self, old: &Plan, new: &Plan) -> BTreeSet<String> {
        let after = groups_of(new);
        let kept = self.kept(old, new);
        let (retiring, staying): (Vec<Group>, Vec<Group>) = std::mem::take(&mut self.groups)
            .into_iter()
            .partition(|g| !kept.contains(&g.key));
        self.groups = staying;
        for group in &retiring {
            tracing::info!(controllers = %group.controllers.join(", "), "reload: stopping the changed link");
            group.stop.cancel();
            group.tasks.close();
        }
        for group in &retiring {
            group.tasks.wait().await;
            for name in &group.controllers {
                self.commands.remove(name);
                self.stats.retain(|(n, _)| n != name);
            }
        }
        after
            .into_iter()
            .filter(|(key, _)| !kept.contains(key))
            .flat_map(|(_, controllers)| controllers.into_iter().map(|c| c.name.clone()))
            .collect()
    }

    /// The command channel of `controller`'s adapter.
    pub(super) fn commands(&self, controller: &str) -> Option<mpsc::Sender<Command>> {
        self.commands.get(controller).cloned()
    }

    /// Stops every adapter and waits until each has returned.
    pub(super) async fn stop(&self) {
        for group in &self.groups {
            group.stop.cancel();
            group.tasks.close();
        }
        for group in &self.groups {
            group.tasks.wait().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const SITE: &str = "controllers:
  - {name: doors, modbus_rtu: {device: /nonexistent/railgate-ttyA, baud: 19200, parity: even}, unit: 5, address_base: 0, timeout: 200ms}
  - {name: alarm, modbus_rtu: {device: /nonexistent/railgate-ttyA, baud: 19200, parity: even}, unit: 6, address_base: 0, timeout: 200ms}
  - {name: hvac, modbus_tcp: {host: 127.0.0.1, port: 9}, unit: 1, address_base: 0}
inputs:
  - {token: Door, controller: doors, discrete_input: 1}
  - {token: Siren, controller: alarm, discrete_input: 1}
  - {token: Fan, controller: hvac, discrete_input: 1}
";

    fn plan(text: &str) -> Plan {
        railgate_mappings::load_str(Path::new("site.yaml"), text).expect("a mapping")
    }

    #[tokio::test]
    async fn a_change_on_a_serial_line_restarts_the_whole_line_and_nothing_else() {
        let old = plan(SITE);
        let (mut links, _events) = Links::new(None);
        links.start_plan(&old, &all(&old));
        assert_eq!(links.groups.len(), 2, "one bus group, one TCP controller");

        // Only the alarm unit's timeout changes: its line (doors too) restarts, hvac does not.
        let changed = SITE.replace(
            "unit: 6, address_base: 0, timeout: 200ms",
            "unit: 6, address_base: 0, timeout: 300ms",
        );
        let new = plan(&changed);
        let started = links.retire(&old, &new).await;
        assert_eq!(
            started,
            BTreeSet::from(["alarm".to_string(), "doors".to_string()])
        );
        assert!(links.commands("hvac").is_some(), "hvac's adapter runs on");
        assert!(links.commands("alarm").is_none() && links.commands("doors").is_none());
        links.start_plan(&new, &started);
        assert!(links.commands("alarm").is_some() && links.commands("doors").is_some());

        // The same plan again: nothing stops, nothing starts.
        assert!(links.retire(&new, &new).await.is_empty());

        // hvac leaves: only it stops.
        let without = changed
            .replace("  - {name: hvac, modbus_tcp: {host: 127.0.0.1, port: 9}, unit: 1, address_base: 0}\n", "")
            .replace("  - {token: Fan, controller: hvac, discrete_input: 1}\n", "");
        let without = plan(&without);
        let restarted = links.retire(&new, &without).await;
        assert!(restarted.is_empty(), "{restarted:?}");
        assert!(links.commands("hvac").is_none());
        assert!(links.commands("doors").is_some());
        links.stop().await;
    }
}
