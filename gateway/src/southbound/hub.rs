//! [`Io`]: the mapping's inputs, relays and commands, and the operations clients call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use railgate_adapters::{Value, WriteError, WriteRequest};
use railgate_mappings::engine::{Engine, Output};
use railgate_mappings::plan::{IdleState, Plan, RelayMode, WriteValue};
use tokio::sync::{Notify, mpsc, oneshot};

use super::settings::{self, RelaySettings};
use crate::state::{StateDb, StateError};

/// How long a write may take from the request to the controller's acknowledgement
/// (including the adapter's own retries) before the client is told it failed.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);
/// Queued writes per controller.
const WRITE_QUEUE: usize = 64;

/// Why a client's request could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// No relay has this token.
    #[error("no relay output {0:?}")]
    UnknownRelay(String),
    /// No digital input has this token.
    #[error("no digital input {0:?}")]
    UnknownInput(String),
    /// No auxiliary command has this text.
    #[error("no auxiliary command {0:?}")]
    UnknownCommand(String),
    /// The controller's link is down; nothing was written.
    #[error("the link to controller {0:?} is down")]
    LinkDown(String),
    /// The controller refused the write.
    #[error("controller {controller:?} refused the write: {reason}")]
    Refused {
        /// The controller.
        controller: String,
        /// Its answer.
        reason: String,
    },
    /// The controller did not acknowledge in time.
    #[error("controller {0:?} did not acknowledge the write in time")]
    Timeout(String),
    /// The new setting could not be stored.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A digital input as clients see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputView {
    /// Its token.
    pub token: String,
    /// The idle state in force.
    pub idle: IdleState,
    /// The logical state, once known.
    pub active: Option<bool>,
}

/// A relay output as clients see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayView {
    /// Its token.
    pub token: String,
    /// The settings in force.
    pub settings: RelaySettings,
    /// The observed logical state, once known.
    pub active: Option<bool>,
}

/// Receivers [`Io::run`] takes over.
pub(super) struct Pending {
    pub(super) outputs: mpsc::UnboundedReceiver<Vec<Output>>,
    pub(super) writes: HashMap<String, mpsc::Receiver<WriteRequest>>,
}

/// The southbound side of one gateway.
pub struct Io {
    pub(super) plan: Plan,
    pub(super) engine: Mutex<Engine>,
    pub(super) outputs: mpsc::UnboundedSender<Vec<Output>>,
    pub(super) links: Mutex<HashMap<String, bool>>,
    pub(super) pending: Mutex<Option<Pending>>,
    /// Woken when the engine's next deadline may have moved earlier.
    pub(super) wake: Notify,
    writers: HashMap<String, mpsc::Sender<WriteRequest>>,
    db: Arc<StateDb>,
    mapped_relays: HashMap<String, RelaySettings>,
    mapped_inputs: HashMap<String, IdleState>,
    /// Per relay, the generation of its last state request: a monostable fall-back only
    /// happens if no newer request came in the meantime.
    generations: Mutex<HashMap<String, u64>>,
    /// Monostable fall-backs still to do: relay token → the generation they belong to.
    fallbacks: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("controllers", &self.plan.controllers.len())
            .field("inputs", &self.plan.inputs.len())
            .field("relays", &self.plan.relays.len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Io {
    /// Builds the southbound side of `plan`, with the settings clients stored earlier.
    pub fn new(plan: Plan, db: Arc<StateDb>) -> Io {
        let mut engine = Engine::new(&plan);
        let now = Instant::now();
        let mut mapped_relays = HashMap::new();
        for r in &plan.relays {
            let mapped = RelaySettings {
                mode: r.mode,
                delay_ms: r.delay.as_millis().min(u64::MAX as u128) as u64,
                idle: r.idle_state,
            };
            let s = settings::relay(&db, &r.token, mapped);
            if s != mapped {
                // No state is known yet, so this produces no output.
                let _ = engine.set_relay_settings(&r.token, s.mode, s.delay(), s.idle, now);
            }
            mapped_relays.insert(r.token.clone(), mapped);
        }
        let mut mapped_inputs = HashMap::new();
        for i in &plan.inputs {
            let idle = settings::input_idle(&db, &i.token, i.idle_state);
            if idle != i.idle_state {
                let _ = engine.set_input_idle_state(&i.token, idle, now);
            }
            mapped_inputs.insert(i.token.clone(), i.idle_state);
        }
        let (outputs, outputs_rx) = mpsc::unbounded_channel();
        let mut writers = HashMap::new();
        let mut writes = HashMap::new();
        for c in &plan.controllers {
            let (tx, rx) = mpsc::channel(WRITE_QUEUE);
            writers.insert(c.name.clone(), tx);
            writes.insert(c.name.clone(), rx);
        }
        let links = plan
            .controllers
            .iter()
            .map(|c| (c.name.clone(), false))
            .collect();
        Io {
            plan,
            engine: Mutex::new(engine),
            outputs,
            links: Mutex::new(links),
            pending: Mutex::new(Some(Pending {
                outputs: outputs_rx,
                writes,
            })),
            wake: Notify::new(),
            writers,
            db,
            mapped_relays,
            mapped_inputs,
            generations: Mutex::new(HashMap::new()),
            fallbacks: Mutex::new(HashMap::new()),
        }
    }

    /// The mapping.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Every digital input, in mapping order.
    pub fn inputs(&self) -> Vec<InputView> {
        let engine = lock(&self.engine);
        self.plan
            .inputs
            .iter()
            .filter_map(|i| {
                let s = engine.input_state(&i.token)?;
                Some(InputView {
                    token: i.token.clone(),
                    idle: s.idle_state,
                    active: s.active,
                })
            })
            .collect()
    }

    /// Every relay output, in mapping order.
    pub fn relays(&self) -> Vec<RelayView> {
        let engine = lock(&self.engine);
        self.plan
            .relays
            .iter()
            .filter_map(|r| {
                let s = engine.relay_state(&r.token)?;
                Some(RelayView {
                    token: r.token.clone(),
                    settings: RelaySettings {
                        mode: s.mode,
                        delay_ms: s.delay.as_millis().min(u64::MAX as u128) as u64,
                        idle: s.idle_state,
                    },
                    active: s.active,
                })
            })
            .collect()
    }

    /// Whether a relay with this token exists.
    pub fn has_relay(&self, token: &str) -> bool {
        self.mapped_relays.contains_key(token)
    }

    /// Whether a digital input with this token exists.
    pub fn has_input(&self, token: &str) -> bool {
        self.mapped_inputs.contains_key(token)
    }

    /// The auxiliary command strings, in mapping order.
    pub fn commands(&self) -> impl Iterator<Item = &str> {
        self.plan.commands.iter().map(|c| c.command.as_str())
    }

    /// Whether the link to `controller` is up.
    pub fn link_up(&self, controller: &str) -> bool {
        lock(&self.links).get(controller).copied().unwrap_or(false)
    }

    /// Sets a relay to `active` or inactive; returns once the controller acknowledged. A
    /// monostable relay set active falls back to inactive after its delay.
    pub async fn set_relay_state(
        self: &Arc<Self>,
        token: &str,
        active: bool,
    ) -> Result<(), IoError> {
        let generation = self.next_generation(token);
        self.write_relay(token, active).await?;
        let mode = lock(&self.engine)
            .relay_state(token)
            .map(|s| (s.mode, s.delay));
        if let (true, Some((RelayMode::Monostable, delay))) = (active, mode) {
            self.schedule_fallback(token.to_string(), generation, delay);
        }
        Ok(())
    }

    /// A new state request for `token`: later requests supersede pending fall-backs.
    pub(super) fn next_generation(&self, token: &str) -> u64 {
        let mut g = lock(&self.generations);
        let n = g.entry(token.to_string()).or_default();
        *n += 1;
        *n
    }

    /// Returns relay `token` to inactive after `delay`, unless a newer request came first.
    pub(super) fn schedule_fallback(
        self: &Arc<Self>,
        token: String,
        generation: u64,
        delay: Duration,
    ) {
        lock(&self.fallbacks).insert(token.clone(), generation);
        let io = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            io.fall_back(&token, generation).await;
        });
    }

    /// Carries out one pending fall-back (once, and only if it is still the latest request).
    async fn fall_back(&self, token: &str, generation: u64) {
        {
            let mut pending = lock(&self.fallbacks);
            if pending.get(token) != Some(&generation)
                || lock(&self.generations).get(token) != Some(&generation)
            {
                return;
            }
            pending.remove(token);
        }
        if let Err(e) = self.write_relay(token, false).await {
            tracing::warn!(relay = %token, error = %e, "monostable relay did not fall back");
        }
    }

    /// At shutdown: every monostable relay still held returns to inactive now, so stopping
    /// the gateway never leaves, say, a door strike released.
    pub(super) async fn fall_back_all(&self) {
        let pending: Vec<(String, u64)> = lock(&self.fallbacks)
            .iter()
            .map(|(t, g)| (t.clone(), *g))
            .collect();
        // Concurrently: one silent controller must not hold up the others' relays.
        futures_util::future::join_all(pending.iter().map(|(token, generation)| {
            tracing::info!(relay = %token, "stopping: monostable relay returns to inactive now");
            self.fall_back(token, *generation)
        }))
        .await;
    }

    async fn write_relay(&self, token: &str, active: bool) -> Result<(), IoError> {
        let write = lock(&self.engine)
            .relay_write(token, active)
            .ok_or_else(|| IoError::UnknownRelay(token.to_string()))?;
        self.write(&write.controller, write.point, Value::Bool(write.value))
            .await
    }

    /// Writes `value` to `point` of `controller` and waits for the acknowledgement.
    async fn write(
        &self,
        controller: &str,
        point: railgate_adapters::PointId,
        value: Value,
    ) -> Result<(), IoError> {
        if !self.link_up(controller) {
            return Err(IoError::LinkDown(controller.to_string()));
        }
        let Some(writer) = self.writers.get(controller) else {
            return Err(IoError::LinkDown(controller.to_string()));
        };
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            id: point,
            value,
            reply,
        };
        let result = tokio::time::timeout(WRITE_DEADLINE, async {
            writer
                .send(request)
                .await
                .map_err(|_| IoError::LinkDown(controller.to_string()))?;
            answer
                .await
                .map_err(|_| IoError::LinkDown(controller.to_string()))
        })
        .await
        .map_err(|_| IoError::Timeout(controller.to_string()))??;
        result.map_err(|e| match e {
            WriteError::LinkDown(_) => IoError::LinkDown(controller.to_string()),
            WriteError::Refused(reason) | WriteError::NotWritable(reason) => IoError::Refused {
                controller: controller.to_string(),
                reason,
            },
        })
    }

    /// Changes a relay's settings and stores them.
    pub fn set_relay_settings(&self, token: &str, s: RelaySettings) -> Result<(), IoError> {
        let mapped = *self
            .mapped_relays
            .get(token)
            .ok_or_else(|| IoError::UnknownRelay(token.to_string()))?;
        settings::store_relay(&self.db, token, mapped, s)?;
        let mut engine = lock(&self.engine);
        let outputs = engine
            .set_relay_settings(token, s.mode, s.delay(), s.idle, Instant::now())
            .ok_or_else(|| IoError::UnknownRelay(token.to_string()))?;
        self.emit(outputs);
        drop(engine);
        // A newer setting cancels a pending monostable fall-back.
        self.next_generation(token);
        lock(&self.fallbacks).remove(token);
        Ok(())
    }

    /// Changes a digital input's idle state and stores it.
    pub fn set_input_idle(&self, token: &str, idle: IdleState) -> Result<(), IoError> {
        let mapped = *self
            .mapped_inputs
            .get(token)
            .ok_or_else(|| IoError::UnknownInput(token.to_string()))?;
        settings::store_input_idle(&self.db, token, mapped, idle)?;
        let mut engine = lock(&self.engine);
        let outputs = engine
            .set_input_idle_state(token, idle, Instant::now())
            .ok_or_else(|| IoError::UnknownInput(token.to_string()))?;
        self.emit(outputs);
        Ok(())
    }

    /// Carries out an auxiliary command; returns once the controller acknowledged.
    pub async fn send_command(&self, command: &str) -> Result<(), IoError> {
        let c = self
            .plan
            .commands
            .iter()
            .find(|c| c.command == command)
            .ok_or_else(|| IoError::UnknownCommand(command.to_string()))?;
        let value = match c.value {
            WriteValue::Bool(b) => Value::Bool(b),
            WriteValue::U16(v) => Value::U16(v),
        };
        self.write(&c.controller, c.point.clone(), value).await
    }

    /// Hands engine outputs to the publisher (called with the engine locked, so outputs
    /// keep the engine's order).
    pub(super) fn emit(&self, outputs: Vec<Output>) {
        if !outputs.is_empty() {
            let _ = self.outputs.send(outputs);
        }
        self.wake.notify_one();
    }
}
