//! [`SouthboundCore`]: the one task that owns the southbound state: the mapping engine, each
//! link's state, the monostable fall-backs and the writes in flight. Nothing of it is behind a
//! lock; everything reaches it as a message:
//!
//! - [`Request`]s from clients (through [`super::Southbound`]), each with a oneshot reply;
//! - [`AdapterEvent`]s from the adapters (one channel, see [`super::links`]);
//! - its own timers: the engine's next deadline and the next fall-back;
//! - the answers of writes in flight, which it polls itself (no spawned task).
//!
//! It publishes a [`Views`] snapshot after every change (requests read inputs and relays
//! from it without a round trip) and sends link states and engine outputs to the publisher
//! ([`Outgoing`]) in the order it decided them: at start every controller's link state (not yet
//! connected) and failing points (none); a controller's outputs are held while its link is not
//! up ([`Held`]); on link up, its link state first, then what was held.
//!
//! Shutdown, in order: stop taking client requests (queued ones answer
//! [`IoError::Stopping`]) → carry out every armed fall-back now and wait for the writes in
//! flight (a relay may drive a door strike: it is never left held) → stop the adapters →
//! drop the output sender, so the publisher drains what is queued and ends.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use railgate_adapters::{
    AdapterEvent, Command, LinkEvent, LinkState, PointId, Value, WriteError, WriteRequest,
};
use railgate_mappings::engine::{Engine, Output};
use railgate_mappings::plan::{Plan, RelayMode};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fallback::Fallbacks;
use super::hold::Held;
use super::links::Links;
use super::messages::{IoError, Reply, Request, Views};
use super::publish::{self, Outgoing, run_publisher};
use crate::events::core::EventCore;

/// How long a write may take from the request to the controller's acknowledgement
/// (including the adapter's own retries) before the client is told it failed.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);

/// Why a write is made, and who waits for it.
enum Purpose {
    /// A client's; `activation` is set when it turns a relay active (a monostable one then
    /// falls back after its delay).
    Client {
        reply: Reply,
        activation: Option<(String, u64)>,
    },
    /// A monostable relay returning to inactive.
    FallBack { token: String },
}

/// A write that was answered (or timed out).
struct WriteDone {
    purpose: Purpose,
    result: Result<(), IoError>,
}

type InFlight = Pin<Box<dyn Future<Output = WriteDone> + Send>>;

/// The owner task's state (see the module doc).
pub(super) struct SouthboundCore {
    plan: Arc<Plan>,
    engine: Engine,
    links_up: HashMap<String, bool>,
    fallbacks: Fallbacks,
    requests: mpsc::Receiver<Request>,
    views: watch::Sender<Views>,
    /// Outputs of controllers whose link is not up.
    held: Held,
    outputs: mpsc::UnboundedSender<Outgoing>,
    outputs_rx: Option<mpsc::UnboundedReceiver<Outgoing>>,
    writes: FuturesUnordered<InFlight>,
    /// Set once stopping: an acknowledged activation of a monostable relay falls back at once.
    stopping: bool,
    /// Something clients see changed since the last [`Views`].
    dirty: bool,
}

impl std::fmt::Debug for SouthboundCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SouthboundCore")
            .field("controllers", &self.plan.controllers.len())
            .field("writes_in_flight", &self.writes.len())
            .finish_non_exhaustive()
    }
}

impl SouthboundCore {
    /// The core of `plan`, with `engine` already configured; `views` starts with its state.
    pub(super) fn new(
        plan: Arc<Plan>,
        engine: Engine,
        requests: mpsc::Receiver<Request>,
        views: watch::Sender<Views>,
    ) -> SouthboundCore {
        let links_up = plan
            .controllers
            .iter()
            .map(|c| (c.name.clone(), false))
            .collect();
        let (outputs, outputs_rx) = mpsc::unbounded_channel();
        for start in publish::initial(&plan, &engine) {
            let _ = outputs.send(start);
        }
        let mut core = SouthboundCore {
            held: Held::new(&plan),
            plan,
            engine,
            links_up,
            fallbacks: Fallbacks::default(),
            requests,
            views,
            outputs,
            outputs_rx: Some(outputs_rx),
            writes: FuturesUnordered::new(),
            stopping: false,
            dirty: true,
        };
        core.publish_views();
        core
    }

    /// Starts the adapters (`start` picks them; the gateway uses [`Links::start_plan`]) and
    /// the publisher, and runs until `stop` is cancelled; then shuts down in order (see the
    /// module doc).
    pub(super) async fn run(
        mut self,
        events: EventCore,
        stop: CancellationToken,
        start: impl FnOnce(&mut Links, &Plan),
    ) {
        let (mut links, mut adapter_events) = Links::new();
        start(&mut links, &self.plan);
        links.started();
        let Some(outputs_rx) = self.outputs_rx.take() else {
            return;
        };
        let publisher = tokio::spawn(run_publisher(self.plan.clone(), outputs_rx, events.clone()));
        tracing::info!(
            controllers = self.plan.controllers.len(),
            inputs = self.plan.inputs.len(),
            relays = self.plan.relays.len(),
            values = self.plan.values.len(),
            commands = self.plan.commands.len(),
            "southbound started"
        );
        loop {
            self.publish_views();
            let engine_at = self.engine.next_deadline().map(Instant::from_std);
            let fallback_at = self.fallbacks.next_deadline();
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                Some(event) = adapter_events.recv() => self.adapter_event(event),
                Some(done) = self.writes.next(), if !self.writes.is_empty() => self.write_done(done, &links),
                Some(request) = self.requests.recv() => self.request(request, &links),
                () = sleep_until(engine_at) => {
                    let outputs = self.engine.tick(std::time::Instant::now());
                    self.emit(outputs);
                }
                () = sleep_until(fallback_at) => {
                    for token in self.fallbacks.take_due(Instant::now()) {
                        self.fall_back(token, &links);
                    }
                }
            }
        }
        // 1. No more client requests.
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            request.refuse(IoError::Stopping);
        }
        // 2. Every armed fall-back now, and every write in flight answered.
        self.stopping = true;
        self.fall_back_all(&links);
        while !self.writes.is_empty() {
            tokio::select! {
                biased;
                Some(event) = adapter_events.recv() => self.adapter_event(event),
                Some(done) = self.writes.next() => self.write_done(done, &links),
                else => break,
            }
        }
        self.publish_views();
        // 3. The adapters.
        links.stop().await;
        // 4. The publisher ends once the last output sender (ours) is gone.
        drop(self);
        let _ = publisher.await;
    }

    fn publish_views(&mut self) {
        if std::mem::take(&mut self.dirty) {
            let views = Views::of(&self.plan, &self.engine, &self.links_up);
            self.views.send_replace(views);
        }
    }

    /// Hands engine outputs to the publisher, in engine order; those of a controller whose
    /// link is not up are held until it is.
    fn emit(&mut self, outputs: Vec<Output>) {
        self.dirty = true;
        let links_up = &self.links_up;
        let ready = self
            .held
            .pass(outputs, |c| links_up.get(c).copied().unwrap_or(false));
        if !ready.is_empty() {
            let _ = self.outputs.send(Outgoing::Outputs(ready));
        }
    }

    fn adapter_event(&mut self, event: AdapterEvent) {
        match event {
            AdapterEvent::Point(update) => {
                let outputs = self.engine.update(&update, std::time::Instant::now());
                let held = held_monostables(&self.engine, &outputs);
                self.emit(outputs);
                for (token, delay) in held {
                    tracing::info!(relay = %token, "monostable relay found active when first read: it returns to inactive after its delay");
                    let generation = self.fallbacks.supersede(&token);
                    self.fallbacks
                        .arm(&token, generation, Instant::now() + delay);
                }
            }
            AdapterEvent::Link(link) => self.link_changed(link),
        }
    }

    fn link_changed(&mut self, link: LinkEvent) {
        let up = link.state == LinkState::Up;
        // A link down before it was ever up is news too: its reason replaces "not yet
        // connected" (the property state drops a repeat with the same reason).
        if self.links_up.insert(link.link.clone(), up) == Some(up) && up {
            return;
        }
        let outputs = self.engine.link(&link.link, up, std::time::Instant::now());
        if up {
            tracing::info!(controller = %link.link, "link up");
            // On link up, first: the link state; then what the link's readings decided while
            // it was not up (held), then anything else.
            let _ = self.outputs.send(Outgoing::up(&link.link));
            let held = self.held.release(&link.link);
            self.emit(held);
        } else {
            let reason = link.reason.as_deref().unwrap_or("link down");
            tracing::warn!(controller = %link.link, reason, "link down");
            let _ = self.outputs.send(Outgoing::down(&link.link, reason));
        }
        self.emit(outputs);
    }

    fn request(&mut self, request: Request, links: &Links) {
        match request {
            Request::SetRelayState {
                token,
                active,
                reply,
            } => {
                let generation = self.fallbacks.supersede(&token);
                let Some(write) = self.engine.relay_write(&token, active) else {
                    let _ = reply.send(Err(IoError::UnknownRelay(token)));
                    return;
                };
                let activation = active.then_some((token, generation));
                self.write(
                    &write.controller,
                    write.point,
                    Value::Bool(write.value),
                    Purpose::Client { reply, activation },
                    links,
                );
            }
            Request::SetRelaySettings {
                token,
                settings,
                reply,
            } => {
                let result = self
                    .engine
                    .set_relay_settings(
                        &token,
                        settings.mode,
                        settings.delay(),
                        settings.idle,
                        std::time::Instant::now(),
                    )
                    .ok_or_else(|| IoError::UnknownRelay(token.clone()));
                if let Ok(outputs) = result.as_ref() {
                    self.emit(outputs.clone());
                    // A newer setting cancels a pending monostable fall-back.
                    self.fallbacks.supersede(&token);
                }
                self.publish_views();
                let _ = reply.send(result.map(drop));
            }
            Request::SetInputIdle { token, idle, reply } => {
                let result = self
                    .engine
                    .set_input_idle_state(&token, idle, std::time::Instant::now())
                    .ok_or_else(|| IoError::UnknownInput(token.clone()));
                if let Ok(outputs) = result.as_ref() {
                    self.emit(outputs.clone());
                }
                self.publish_views();
                let _ = reply.send(result.map(drop));
            }
            Request::Write {
                controller,
                point,
                value,
                reply,
            } => self.write(
                &controller,
                point,
                value,
                Purpose::Client {
                    reply,
                    activation: None,
                },
                links,
            ),
        }
    }

    /// Sends a write to `controller`'s adapter; its answer comes back through `self.writes`.
    fn write(
        &mut self,
        controller: &str,
        point: PointId,
        value: Value,
        purpose: Purpose,
        links: &Links,
    ) {
        let up = self.links_up.get(controller).copied().unwrap_or(false);
        let commands = links.commands(controller).filter(|_| up);
        let Some(commands) = commands else {
            let result = Err(IoError::LinkDown(controller.to_string()));
            self.write_done(WriteDone { purpose, result }, links);
            return;
        };
        let controller = controller.to_string();
        self.writes.push(Box::pin(async move {
            let result = send_write(commands, &controller, point, value).await;
            WriteDone { purpose, result }
        }));
    }

    fn write_done(&mut self, done: WriteDone, links: &Links) {
        match done.purpose {
            Purpose::Client { reply, activation } => {
                if let (Ok(()), Some((token, generation))) = (&done.result, activation) {
                    let monostable = self
                        .engine
                        .relay_state(&token)
                        .filter(|s| s.mode == RelayMode::Monostable);
                    if let Some(state) = monostable {
                        self.fallbacks
                            .arm(&token, generation, Instant::now() + state.delay);
                        if self.stopping {
                            self.fall_back_all(links);
                        }
                    }
                }
                let _ = reply.send(done.result);
            }
            Purpose::FallBack { token } => {
                if let Err(e) = done.result {
                    tracing::warn!(relay = %token, error = %e, "monostable relay did not fall back");
                }
            }
        }
    }

    /// Returns `token` to inactive now.
    fn fall_back(&mut self, token: String, links: &Links) {
        let Some(write) = self.engine.relay_write(&token, false) else {
            return;
        };
        self.write(
            &write.controller,
            write.point,
            Value::Bool(write.value),
            Purpose::FallBack { token },
            links,
        );
    }

    /// Every armed fall-back, now (they run concurrently: one silent controller does not
    /// hold up the others' relays).
    fn fall_back_all(&mut self, links: &Links) {
        for token in self.fallbacks.take_all() {
            tracing::info!(relay = %token, "stopping: monostable relay returns to inactive now");
            self.fall_back(token, links);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One write through an adapter's command channel, within [`WRITE_DEADLINE`].
async fn send_write(
    commands: mpsc::Sender<Command>,
    controller: &str,
    point: PointId,
    value: Value,
) -> Result<(), IoError> {
    let link_down = || IoError::LinkDown(controller.to_string());
    let (request, answer) = WriteRequest::new(point, value);
    let answered = tokio::time::timeout(WRITE_DEADLINE, async {
        commands
            .send(Command::Write(request))
            .await
            .map_err(|_| link_down())?;
        answer.await.map_err(|_| link_down())
    })
    .await
    .map_err(|_| IoError::Timeout(controller.to_string()))??;
    answered.map_err(|e| match e {
        WriteError::LinkDown(_) => link_down(),
        WriteError::Refused(reason) | WriteError::NotWritable(reason) => IoError::Refused {
            controller: controller.to_string(),
            reason,
        },
    })
}

/// Monostable relays the engine reports active on their first reading (held by an earlier
/// run that stopped abruptly, or by someone else): nothing would ever return them to idle.
fn held_monostables(engine: &Engine, outputs: &[Output]) -> Vec<(String, Duration)> {
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
