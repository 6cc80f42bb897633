//! Running the southbound side: one task per adapter, the pump that feeds the engine, and
//! the publisher that turns its outputs into events.

use std::sync::Arc;
use std::time::Instant;

use railgate_adapters::modbus::ModbusAdapter;
use railgate_adapters::{Adapter, AdapterIo, LinkEvent, LinkState, PointUpdate};
use railgate_mappings::engine::{Engine, Output};
use railgate_mappings::plan::{Link, Plan, RelayMode};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::hub::{Io, Pending};
use super::publish::{Publication, publication};
use crate::events::core::{EventCore, wait};
use crate::events::monitoring;

/// Point updates buffered between the adapters and the engine.
const UPDATE_QUEUE: usize = 4096;

impl Io {
    /// Starts every adapter and runs until `stop` is cancelled; then stops the adapters and
    /// publishes what the engine had already decided. Call once.
    pub async fn run(self: Arc<Self>, events: EventCore, stop: CancellationToken) {
        let Some(Pending {
            outputs,
            mut writes,
        }) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            tracing::error!("the southbound side was started twice");
            return;
        };
        let (updates_tx, mut updates) = mpsc::channel::<PointUpdate>(UPDATE_QUEUE);
        let (links_tx, mut links) = mpsc::channel::<LinkEvent>(64);
        // Not a child of `stop`: the adapters outlive it long enough to carry out the
        // monostable fall-backs that stopping requires, then are stopped explicitly.
        let adapters_stop = CancellationToken::new();
        let mut adapters = tokio::task::JoinSet::new();
        for controller in &self.plan.controllers {
            let Some(commands) = writes.remove(&controller.name) else {
                continue;
            };
            let io = AdapterIo {
                updates: updates_tx.clone(),
                commands,
                link: links_tx.clone(),
            };
            let name = controller.name.clone();
            let stop = adapters_stop.clone();
            match &controller.link {
                Link::Modbus(config) => {
                    let adapter = ModbusAdapter::new(config.clone());
                    adapters.spawn(async move {
                        if let Err(e) = adapter.run(io, stop).await {
                            tracing::error!(controller = %name, error = %e, "adapter stopped");
                        }
                    });
                }
            }
        }
        drop((updates_tx, links_tx));
        let publisher = tokio::spawn(publish(self.plan.clone(), outputs, events.clone()));
        tracing::info!(
            controllers = self.plan.controllers.len(),
            inputs = self.plan.inputs.len(),
            relays = self.plan.relays.len(),
            values = self.plan.values.len(),
            commands = self.plan.commands.len(),
            "southbound started"
        );
        loop {
            let deadline = self.lock_engine().next_deadline();
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                Some(update) = updates.recv() => {
                    let held = {
                        let mut engine = self.lock_engine();
                        let outputs = engine.update(&update, Instant::now());
                        let held = held_monostables(&engine, &outputs);
                        self.emit(outputs);
                        held
                    };
                    for (token, delay) in held {
                        tracing::info!(relay = %token, "monostable relay found active when first read: it returns to inactive after its delay");
                        let generation = self.next_generation(&token);
                        self.schedule_fallback(token, generation, delay);
                    }
                }
                Some(link) = links.recv() => self.link_changed(&events, link).await,
                _ = timer => {
                    let mut engine = self.lock_engine();
                    let outputs = engine.tick(Instant::now());
                    self.emit(outputs);
                }
                _ = self.wake.notified() => {}
            }
        }
        self.fall_back_all().await;
        adapters_stop.cancel();
        while adapters.join_next().await.is_some() {}
        // The publisher ends once every output sender is gone; ours lives in `self`, so it
        // is told to finish what is queued and stop.
        let _ = self.outputs.send(Vec::new());
        let _ = publisher.await;
    }

    fn lock_engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn link_changed(&self, events: &EventCore, link: LinkEvent) {
        let up = link.state == LinkState::Up;
        let was = self
            .links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(link.link.clone(), up);
        if was == Some(up) {
            return;
        }
        if up {
            tracing::info!(controller = %link.link, "link up");
        } else {
            tracing::warn!(controller = %link.link, reason = link.reason.as_deref().unwrap_or(""), "link down");
        }
        {
            let mut engine = self.lock_engine();
            let outputs = engine.link(&link.link, up, Instant::now());
            self.emit(outputs);
        }
        monitoring::link_changed(events, &link.link, up).await;
    }
}

/// Monostable relays the engine reports active on their first reading (held by an earlier
/// run that stopped abruptly, or by someone else): nothing would ever return them to idle.
fn held_monostables(engine: &Engine, outputs: &[Output]) -> Vec<(String, std::time::Duration)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Relay {
                token,
                active: true,
                initial: true,
            } => engine
                .relay_state(token)
                .filter(|s| s.mode == RelayMode::Monostable)
                .map(|s| (token.clone(), s.delay)),
            _ => None,
        })
        .collect()
}

/// Publishes engine outputs in order. Events are queued to the store one after another
/// without waiting for each commit (the store batches them); commits are awaited only to
/// report failures. An empty batch means "finish": the gateway is stopping.
async fn publish(plan: Plan, mut outputs: mpsc::UnboundedReceiver<Vec<Output>>, events: EventCore) {
    let mut commits = tokio::task::JoinSet::new();
    let mut stopping = false;
    loop {
        let batch = if stopping {
            match outputs.try_recv() {
                Ok(b) => b,
                Err(_) => break,
            }
        } else {
            match outputs.recv().await {
                Some(b) if b.is_empty() => {
                    stopping = true;
                    continue;
                }
                Some(b) => b,
                None => break,
            }
        };
        for output in batch {
            let queued = match publication(&plan, output) {
                Some(Publication::Property(e)) => events.queue_property(e).await,
                Some(Publication::Plain(e)) => events.queue(e).await.map(Some),
                None => Ok(None),
            };
            match queued {
                Ok(Some(ack)) => {
                    commits.spawn(async move {
                        if let Err(e) = wait(ack).await {
                            tracing::error!(error = %e, "an event from a controller was not stored");
                        }
                    });
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "an event from a controller was not stored"),
            }
            while commits.try_join_next().is_some() {}
        }
    }
    while commits.join_next().await.is_some() {}
}
