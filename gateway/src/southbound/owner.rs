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
//! Writes are queued on an adapter's command channel when the core decides them (not when
//! their future is first polled), so an adapter serves them in the core's order. A monostable
//! fall-back is a duty kept until the controller confirms it (see [`Fallbacks`]): a failed
//! one stays owed, is retried with backoff while the link is up, and on every reconnect before
//! anything else is written to that controller; once confirmed late it raises
//! `rg:Device/Trigger/RelayFallBackDelayed` ([`super::late_fallback`]).
//!
//! Shutdown, in order: stop taking client requests (queued ones answer
//! [`IoError::Stopping`]) → carry out every armed and owed fall-back now and wait for the
//! writes in flight, retrying owed ones (reconnect, backoff) for up to
//! [`SHUTDOWN_RELEASE_WINDOW`] (a relay may drive a door strike: it is never left held) →
//! stop the adapters → drop the output sender, so the publisher drains what is queued and
//! ends.

use std::collections::{BTreeSet, HashMap};
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
use railgate_mappings::plan::{Plan, RelayMode, WriteValue};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::fallback::{Fallbacks, Late};
use super::hold::Held;
use super::late_fallback;
use super::links::{self, Links};
use super::messages::{IoError, Reloaded, Reply, Request, Views};
use super::publish::{self, Outgoing, run_publisher};
use super::status;
use crate::events::core::EventCore;

/// The link state of a controller whose link a reload restarted, until it reports.
const RESTARTED: &str = "restarted by a reload";

/// How long a write may take from the request to the controller's acknowledgement
/// (including the adapter's own retries) before the client is told it failed.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);

/// How long stopping keeps retrying fall-backs still owed (a link down at that moment may
/// come back) before it gives up on them and stops the adapters.
pub(super) const SHUTDOWN_RELEASE_WINDOW: Duration = Duration::from_secs(5);

/// Why a write is made, and who waits for it.
enum Purpose {
    /// A client's; `relay` is set for a relay state request.
    Client {
        reply: Reply,
        relay: Option<RelayChange>,
    },
    /// A monostable relay returning to inactive.
    FallBack { token: String, controller: String },
}

impl Purpose {
    /// The relay the write is for, if it is a relay's.
    fn relay(&self) -> Option<&str> {
        match self {
            Purpose::Client { relay: Some(r), .. } => Some(&r.token),
            Purpose::Client { relay: None, .. } => None,
            Purpose::FallBack { token, .. } => Some(token),
        }
    }
}

/// A client's relay state request, as fall-backs see it: an acknowledged `active` arms a
/// monostable relay's fall-back, an acknowledged inactive ends an owed one.
struct RelayChange {
    token: String,
    generation: u64,
    active: bool,
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
    /// Why each link last went down (for people: the status page).
    link_errors: HashMap<String, String>,
    fallbacks: Fallbacks,
    requests: mpsc::Receiver<Request>,
    views: watch::Sender<Views>,
    /// Outputs of controllers whose link is not up.
    held: Held,
    outputs: mpsc::UnboundedSender<Outgoing>,
    outputs_rx: Option<mpsc::UnboundedReceiver<Outgoing>>,
    writes: FuturesUnordered<InFlight>,
    /// Relay writes (a client's state request or a fall-back) in flight, by token.
    relay_writes: HashMap<String, usize>,
    /// Set once stopping: an acknowledged activation of a monostable relay falls back at once.
    stopping: bool,
    /// Something clients see changed since the last [`Views`].
    dirty: bool,
    /// Fall-backs confirmed late, to raise as events.
    late: Vec<Late>,
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
            link_errors: HashMap::new(),
            fallbacks: Fallbacks::default(),
            requests,
            views,
            outputs,
            outputs_rx: Some(outputs_rx),
            writes: FuturesUnordered::new(),
            relay_writes: HashMap::new(),
            stopping: false,
            dirty: true,
            late: Vec::new(),
        };
        core.publish_views();
        core
    }

    /// Starts the adapters (`start` starts those of the named controllers; the gateway uses
    /// [`Links::start_plan`]; a reload calls it again) and the publisher, and runs until
    /// `stop` is cancelled; then shuts down in order (see the module doc). `data_dir`: the
    /// folder OSDP install-mode keys are kept in.
    pub(super) async fn run(
        mut self,
        events: EventCore,
        stop: CancellationToken,
        data_dir: Option<std::path::PathBuf>,
        mut start: impl FnMut(&mut Links, &Plan, &BTreeSet<String>),
    ) {
        let (mut links, mut adapter_events) = Links::new(data_dir);
        start(&mut links, &self.plan, &links::all(&self.plan));
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
                Some(event) = adapter_events.recv() => self.adapter_event(event, &links),
                Some(done) = self.writes.next(), if !self.writes.is_empty() => self.write_done(done, &links),
                Some(request) = self.requests.recv() => match request {
                    Request::Reload { plan, engine, reply } => {
                        let reloaded = self.reload(plan, *engine, &mut links, &mut adapter_events, &events).await;
                        start(&mut links, &self.plan, &reloaded.started.iter().cloned().collect());
                        let _ = reply.send(reloaded);
                    }
                    request => self.request(request, &links),
                },
                () = sleep_until(engine_at) => {
                    let outputs = self.engine.tick(std::time::Instant::now());
                    self.emit(outputs);
                }
                () = sleep_until(fallback_at) => self.fall_back_due(&links),
            }
            self.raise_late(&events).await;
        }
        // 1. No more client requests.
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            request.refuse(IoError::Stopping);
        }
        // 2. Every armed and owed fall-back now, and every write in flight answered; owed
        // ones retried within the window.
        self.stopping = true;
        self.fall_back_all(&links);
        let give_up = Instant::now() + SHUTDOWN_RELEASE_WINDOW;
        while !self.writes.is_empty() || (self.fallbacks.any_owed() && Instant::now() < give_up) {
            let open = Instant::now() < give_up;
            let retry_at = self.fallbacks.next_deadline().map(|at| at.min(give_up));
            tokio::select! {
                biased;
                Some(event) = adapter_events.recv() => self.adapter_event(event, &links),
                Some(done) = self.writes.next(), if !self.writes.is_empty() => self.write_done(done, &links),
                () = sleep_until(retry_at), if open => self.fall_back_due(&links),
                () = tokio::time::sleep_until(give_up), if self.writes.is_empty() => {}
                else => break,
            }
            self.raise_late(&events).await;
        }
        if self.fallbacks.any_owed() {
            tracing::error!(relays = %self.fallbacks.owed().join(", "), "stopping: monostable relays not confirmed inactive; they may still be active");
        }
        self.publish_views();
        // 3. The adapters.
        links.stop().await;
        // 4. The publisher ends once the last output sender (ours) is gone.
        drop(self);
        let _ = publisher.await;
    }

    /// A reload to `plan` (see `reload.rs` for what the gateway checked first):
    ///
    /// 1. Relays that leave the mapping, change, or sit on a link that restarts, with a
    ///    monostable fall-back armed or owed (or a write in flight), fall back now under their
    ///    old definition (waiting up to [`SHUTDOWN_RELEASE_WINDOW`] for the controller to
    ///    confirm).
    /// 2. The links that changed are stopped ([`Links::retire`]); the others run on.
    /// 3. `engine` takes over what the running engine knows ([`Engine::carry_over`]).
    /// 4. The publisher deletes the properties that went, then reads outputs against `plan`;
    ///    new controllers and restarted ones are "not yet connected" until their new links
    ///    say otherwise; every controller's failing points are published again (a change
    ///    only where points went).
    ///
    /// The caller starts the returned `started` controllers.
    async fn reload(
        &mut self,
        plan: Arc<Plan>,
        mut engine: Engine,
        links: &mut Links,
        adapter_events: &mut mpsc::Receiver<AdapterEvent>,
        events: &EventCore,
    ) -> Reloaded {
        let old = self.plan.clone();
        // 1. Relays that leave, change, or sit on a link the reload restarts (a new host, unit
        // or address base may mean another coil): their pulses end now, under the old
        // definition, and their writes in flight are waited for (an acknowledged activation
        // arms a pulse, which then ends at once too).
        let stopping_links = links.stopping(&old, &plan);
        let leaving: BTreeSet<String> = old
            .relays
            .iter()
            .filter(|r| !plan.relays.contains(r) || stopping_links.contains(&r.controller))
            .map(|r| r.token.clone())
            .collect();
        let give_up = Instant::now() + SHUTDOWN_RELEASE_WINDOW;
        self.end_pulses(&leaving, true, links);
        loop {
            let busy = leaving
                .iter()
                .any(|t| self.fallbacks.pending(t) || self.relay_writes.contains_key(t));
            if !busy || Instant::now() >= give_up {
                break;
            }
            let retry_at = self.fallbacks.next_deadline().map(|at| at.min(give_up));
            tokio::select! {
                biased;
                Some(event) = adapter_events.recv() => self.adapter_event(event, links),
                Some(done) = self.writes.next(), if !self.writes.is_empty() => self.write_done(done, links),
                () = sleep_until(retry_at) => self.fall_back_due(links),
                () = tokio::time::sleep_until(give_up) => {}
            }
            self.raise_late(events).await;
            self.end_pulses(&leaving, false, links);
        }
        let unreleased: Vec<String> = leaving
            .iter()
            .filter(|t| self.fallbacks.pending(t))
            .cloned()
            .collect();
        for token in &leaving {
            self.fallbacks.forget(token);
        }
        if !unreleased.is_empty() {
            tracing::error!(relays = %unreleased.join(", "), "reload: monostable relays not confirmed inactive before the reload changed, removed or restarted them; they may still be active");
        }
        // 2. What the stopped adapters reported before they returned is still the old
        // mapping's: taken in under it.
        let started = links.retire(&old, &plan).await;
        while let Ok(event) = adapter_events.try_recv() {
            self.adapter_event(event, links);
        }
        let stopped: Vec<String> = old
            .controllers
            .iter()
            .filter(|c| stopping_links.contains(&c.name))
            .map(|c| c.name.clone())
            .collect();
        // 3.
        let now = std::time::Instant::now();
        let (moved, replayed) = engine.carry_over(&plan, &self.engine, &old, now, |c| {
            !stopping_links.contains(c)
        });
        self.engine = engine;
        for name in &stopped {
            let _ = self.engine.link(name, false, now);
        }
        let links_up = std::mem::take(&mut self.links_up);
        self.links_up = plan
            .controllers
            .iter()
            .map(|c| {
                let up =
                    !started.contains(&c.name) && links_up.get(&c.name).copied().unwrap_or(false);
                (c.name.clone(), up)
            })
            .collect();
        self.link_errors
            .retain(|name, _| !started.contains(name) && self.links_up.contains_key(name));
        self.held = std::mem::take(&mut self.held).reload(&plan, &moved, &started);
        // 4.
        let _ = self.outputs.send(Outgoing::Reload {
            deleted: publish::deleted(&old, &plan),
            plan: plan.clone(),
        });
        for name in &started {
            let reason = if old.controllers.iter().any(|c| &c.name == name) {
                RESTARTED
            } else {
                crate::events::controllers::NOT_YET_CONNECTED
            };
            let _ = self.outputs.send(Outgoing::down(name, reason));
        }
        let _ = self
            .outputs
            .send(Outgoing::Outputs(self.engine.failing_now()));
        self.plan = plan;
        self.emit(replayed);
        self.dirty = true;
        self.publish_views();
        tracing::info!(
            started = %started.iter().cloned().collect::<Vec<_>>().join(", "),
            stopped = %stopped.join(", "),
            "reload: the southbound side runs the new mapping"
        );
        Reloaded {
            started: started.into_iter().collect(),
            stopped,
            unreleased,
            serial_ports_kept: false,
        }
    }

    /// A reload's step 1: the pulses of `leaving` relays end now (`all`: the owed ones are
    /// tried again too; else only pulses armed since).
    fn end_pulses(&mut self, leaving: &BTreeSet<String>, all: bool, links: &Links) {
        let now = Instant::now();
        let due = if all {
            self.fallbacks.take_all_of(now, |t| leaving.contains(t))
        } else {
            self.fallbacks.take_armed_of(now, |t| leaving.contains(t))
        };
        for token in due {
            tracing::info!(relay = %token, "reload: the relay changes, leaves the mapping or its link restarts; it returns to inactive first");
            self.fall_back(token, links);
        }
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

    fn adapter_event(&mut self, event: AdapterEvent, links: &Links) {
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
            AdapterEvent::Link(link) => {
                let up = (link.state == LinkState::Up).then(|| link.link.clone());
                self.link_changed(link);
                if let Some(controller) = up {
                    self.fall_back_owed(&controller, links);
                }
            }
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
            self.link_errors
                .insert(link.link.clone(), reason.to_string());
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
                let generation = self.fallbacks.request(&token);
                let Some(write) = self.engine.relay_write(&token, active) else {
                    let _ = reply.send(Err(IoError::UnknownRelay(token)));
                    return;
                };
                let relay = Some(RelayChange {
                    token,
                    generation,
                    active,
                });
                self.write(
                    &write.controller,
                    write.point,
                    Value::Bool(write.value),
                    Purpose::Client { reply, relay },
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
            Request::Command { command, reply } => {
                let Some(c) = self.plan.commands.iter().find(|c| c.command == command) else {
                    let _ = reply.send(Err(IoError::UnknownCommand(command)));
                    return;
                };
                let value = match c.value {
                    WriteValue::Bool(b) => Value::Bool(b),
                    WriteValue::U16(v) => Value::U16(v),
                };
                let (controller, point) = (c.controller.clone(), c.point.clone());
                self.write(
                    &controller,
                    point,
                    value,
                    Purpose::Client { reply, relay: None },
                    links,
                );
            }
            Request::Status { reply } => {
                let _ = reply.send(status::Status {
                    links: status::links(&self.plan, &self.links_up, &self.link_errors),
                    points: status::points(&self.plan, &self.engine),
                });
            }
            // Carried out by the run loop, which owns the links.
            Request::Reload { .. } => {
                tracing::error!("a reload reached the request handler");
            }
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
        if let Some(token) = purpose.relay() {
            *self.relay_writes.entry(token.to_string()).or_default() += 1;
        }
        let up = self.link_up(controller);
        let sent = links
            .commands(controller)
            .filter(|_| up)
            .ok_or_else(|| IoError::LinkDown(controller.to_string()))
            .and_then(|commands| send_write(commands, controller, point, value));
        match sent {
            Ok(answer) => self.writes.push(Box::pin(async move {
                WriteDone {
                    purpose,
                    result: answer.await,
                }
            })),
            Err(e) => self.write_done(
                WriteDone {
                    purpose,
                    result: Err(e),
                },
                links,
            ),
        }
    }

    fn link_up(&self, controller: &str) -> bool {
        self.links_up.get(controller).copied().unwrap_or(false)
    }

    fn write_done(&mut self, done: WriteDone, links: &Links) {
        if let Some(token) = done.purpose.relay()
            && let Some(n) = self.relay_writes.get_mut(token)
        {
            *n -= 1;
            if *n == 0 {
                self.relay_writes.remove(token);
            }
        }
        match done.purpose {
            Purpose::Client { reply, relay } => {
                if let (Ok(()), Some(relay)) = (&done.result, relay) {
                    self.relay_written(relay, links);
                }
                let _ = reply.send(done.result);
            }
            Purpose::FallBack { token, controller } => match done.result {
                Ok(()) => {
                    if let Some(late) = self.fallbacks.confirmed(&token, Instant::now()) {
                        tracing::info!(relay = %token, late_ms = late.late.as_millis() as u64, attempts = late.attempts, "monostable relay confirmed inactive after a delayed fall-back");
                        self.late.push(late);
                    }
                }
                Err(e) => {
                    let up = self.link_up(&controller);
                    let reason = e.to_string();
                    let attempts = self.fallbacks.failed(&token, Instant::now(), up, &reason);
                    if attempts > 0 {
                        let retry = if up {
                            format!(
                                "retried in {} ms",
                                super::fallback::retry_delay(attempts).as_millis()
                            )
                        } else {
                            "retried first when the link is back".to_string()
                        };
                        tracing::warn!(relay = %token, %controller, error = %e, attempts, "monostable relay did not fall back; {retry}");
                    }
                }
            },
        }
    }

    /// A client's relay state write was acknowledged.
    fn relay_written(&mut self, relay: RelayChange, links: &Links) {
        let RelayChange {
            token,
            generation,
            active,
        } = relay;
        if !active {
            if self.fallbacks.released(&token, generation) {
                tracing::info!(relay = %token, "a client set the relay inactive: its owed fall-back is done");
            }
            return;
        }
        let Some(state) = self.engine.relay_state(&token) else {
            tracing::error!(relay = %token, "a relay activation was acknowledged after a reload removed the relay: nothing returns it to inactive");
            return;
        };
        if state.mode == RelayMode::Monostable {
            self.fallbacks
                .arm(&token, generation, Instant::now() + state.delay);
            if self.stopping {
                self.fall_back_all(links);
            }
        }
    }

    /// Armed fall-backs whose delay ended and owed ones whose retry is due.
    fn fall_back_due(&mut self, links: &Links) {
        for token in self.fallbacks.take_due(Instant::now()) {
            self.fall_back(token, links);
        }
    }

    /// `controller`'s link is back: its owed fall-backs, before anything else is written.
    fn fall_back_owed(&mut self, controller: &str, links: &Links) {
        let engine = &self.engine;
        let owed = self.fallbacks.reconnected(|token| {
            engine
                .relay_write(token, false)
                .is_some_and(|w| w.controller == controller)
        });
        for token in owed {
            tracing::info!(relay = %token, %controller, "link back: retrying the owed fall-back first");
            self.fall_back(token, links);
        }
    }

    /// Raises the events of fall-backs confirmed late (queued: the core does not wait for
    /// the commit).
    async fn raise_late(&mut self, events: &EventCore) {
        for late in std::mem::take(&mut self.late) {
            let controller = self
                .engine
                .relay_write(&late.token, false)
                .map(|w| w.controller)
                .unwrap_or_default();
            if let Err(e) = events.queue(late_fallback::event(&late, &controller)).await {
                tracing::error!(relay = %late.token, error = %e, "the delayed fall-back event was not stored");
            }
        }
    }

    /// Returns `token` to inactive now (it is owed and marked in flight).
    fn fall_back(&mut self, token: String, links: &Links) {
        let Some(write) = self.engine.relay_write(&token, false) else {
            self.fallbacks.forget(&token);
            return;
        };
        let purpose = Purpose::FallBack {
            token,
            controller: write.controller.clone(),
        };
        self.write(
            &write.controller,
            write.point,
            Value::Bool(write.value),
            purpose,
            links,
        );
    }

    /// Every armed and owed fall-back, now (they run concurrently: one silent controller does
    /// not hold up the others' relays).
    fn fall_back_all(&mut self, links: &Links) {
        for token in self.fallbacks.take_all(Instant::now()) {
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

/// Queues one write on an adapter's command channel now, so an adapter gets writes in the
/// order the core decided them; the answer (within [`WRITE_DEADLINE`]) is the returned
/// future. Only when the adapter has [`super::links`]' whole queue waiting does a write wait
/// for room (in the future), and then order among those waiting is not kept.
fn send_write(
    commands: mpsc::Sender<Command>,
    controller: &str,
    point: PointId,
    value: Value,
) -> Result<impl Future<Output = Result<(), IoError>> + Send + 'static, IoError> {
    let controller = controller.to_string();
    let (request, answer) = WriteRequest::new(point, value);
    let waiting = match commands.try_send(Command::Write(request)) {
        Ok(()) => None,
        Err(mpsc::error::TrySendError::Full(command)) => Some(command),
        Err(mpsc::error::TrySendError::Closed(_)) => return Err(IoError::LinkDown(controller)),
    };
    Ok(async move {
        let link_down = |controller: &str| IoError::LinkDown(controller.to_string());
        let answered = tokio::time::timeout(WRITE_DEADLINE, async {
            if let Some(command) = waiting {
                commands
                    .send(command)
                    .await
                    .map_err(|_| link_down(&controller))?;
            }
            answer.await.map_err(|_| link_down(&controller))
        })
        .await
        .map_err(|_| IoError::Timeout(controller.clone()))??;
        answered.map_err(|e| match e {
            WriteError::LinkDown(_) => link_down(&controller),
            WriteError::Refused(reason) | WriteError::NotWritable(reason) => IoError::Refused {
                controller: controller.clone(),
                reason,
            },
        })
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
