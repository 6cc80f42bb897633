//! [`Southbound`]: what request handlers hold. It answers what the mapping says (tokens,
//! commands) and what inputs and relays look like (a [`Views`] snapshot the core publishes)
//! by itself, and sends everything that changes state to the [`SouthboundCore`] task as a
//! [`Request`], waiting for its reply.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Instant;

use railgate_mappings::engine::Engine;
use railgate_mappings::plan::{IdleState, Plan};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::links::Links;
use super::messages::{InputView, IoError, RelayView, Reloaded, Reply, Request, Views, millis};
use super::owner::SouthboundCore;
use super::serial::SerialPorts;
use super::settings::{self, RelaySettings};
use crate::events::core::EventCore;
use crate::state::StateDb;

/// Client requests queued for the core.
const REQUEST_QUEUE: usize = 256;

/// What the handle answers from the mapping by itself; a reload replaces it whole.
#[derive(Debug)]
struct Mapped {
    plan: Arc<Plan>,
    /// Each relay's settings as the mapping gives them (what a stored setting differs from).
    relays: HashMap<String, RelaySettings>,
    /// Each input's idle state as the mapping gives it.
    inputs: HashMap<String, IdleState>,
}

/// The southbound side of one gateway, as request handlers use it.
pub struct Southbound {
    mapped: RwLock<Arc<Mapped>>,
    db: Arc<StateDb>,
    requests: mpsc::Sender<Request>,
    views: watch::Receiver<Views>,
    serial: SerialPorts,
    /// The core, until [`Southbound::run`] moves it into its task (built here so requests can
    /// queue before it runs).
    unstarted: Mutex<Option<SouthboundCore>>,
    /// Each controller's link counters, once its adapter started (the metrics read them).
    link_stats: Mutex<Vec<(String, Arc<railgate_adapters::stats::LinkStats>)>>,
}

impl std::fmt::Debug for Southbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plan = self.plan();
        f.debug_struct("Southbound")
            .field("controllers", &plan.controllers.len())
            .field("inputs", &plan.inputs.len())
            .field("relays", &plan.relays.len())
            .finish_non_exhaustive()
    }
}

/// The engine of `plan` with the settings clients stored (for tokens `plan` has), and what
/// the mapping itself says of each relay and input.
fn configured(plan: Plan, db: &StateDb) -> (Engine, Mapped) {
    let mut engine = Engine::new(&plan);
    let now = Instant::now();
    let mut relays = HashMap::new();
    for r in &plan.relays {
        let mapped = RelaySettings {
            mode: r.mode,
            delay_ms: millis(r.delay),
            idle: r.idle_state,
        };
        let s = settings::relay(db, &r.token, mapped);
        if s != mapped {
            // No state is known yet, so this produces no output.
            let _ = engine.set_relay_settings(&r.token, s.mode, s.delay(), s.idle, now);
        }
        relays.insert(r.token.clone(), mapped);
    }
    let mut inputs = HashMap::new();
    for i in &plan.inputs {
        let idle = settings::input_idle(db, &i.token, i.idle_state);
        if idle != i.idle_state {
            let _ = engine.set_input_idle_state(&i.token, idle, now);
        }
        inputs.insert(i.token.clone(), i.idle_state);
    }
    let plan = Arc::new(plan);
    (
        engine,
        Mapped {
            plan,
            relays,
            inputs,
        },
    )
}

impl Southbound {
    /// Builds the southbound side of `plan`, with the settings clients stored earlier.
    pub fn new(plan: Plan, db: Arc<StateDb>) -> Southbound {
        let serial = SerialPorts::new(&plan, db.clone());
        let (engine, mapped) = configured(plan, &db);
        let (requests, requests_rx) = mpsc::channel(REQUEST_QUEUE);
        let (views_tx, views) = watch::channel(Views::default());
        let core = SouthboundCore::new(mapped.plan.clone(), engine, requests_rx, views_tx);
        Southbound {
            mapped: RwLock::new(Arc::new(mapped)),
            db,
            requests,
            views,
            serial,
            unstarted: Mutex::new(Some(core)),
            link_stats: Mutex::new(Vec::new()),
        }
    }

    fn mapped(&self) -> Arc<Mapped> {
        self.mapped.read().clone()
    }

    /// Runs `plan` from now on (a reload the gateway checked): the links that changed are
    /// restarted, the others run on; points keep their state where their definition did not
    /// change; removed properties are `Deleted`. The mapping's serial ports are kept as they
    /// were started (`Reloaded::serial_ports_kept` says so when the new mapping changed them:
    /// a restart applies that).
    pub async fn reload(&self, mut plan: Plan) -> Result<Reloaded, IoError> {
        let running = self.plan();
        let serial_ports_kept = plan.serial_ports != running.serial_ports;
        if serial_ports_kept {
            plan.serial_ports = running.serial_ports.clone();
            // A raw port kept open for clients (one no controller of the running mapping
            // owns) may not be opened by a controller of the new one.
            let owned: Vec<_> = super::serial::controller_devices(&running)
                .into_iter()
                .map(|(d, _)| d)
                .collect();
            let raw: Vec<_> = super::serial::port_devices(&plan)
                .into_iter()
                .filter(|d| !owned.contains(d))
                .collect();
            if let Some((device, controller)) = super::serial::controller_devices(&plan)
                .into_iter()
                .find(|(d, _)| raw.contains(d))
            {
                return Err(IoError::Refused {
                    controller,
                    reason: format!(
                        "{} is still open as a serial port of the running mapping (its serial ports change only with a restart): restart railgate to apply this mapping",
                        device.display()
                    ),
                });
            }
        }
        let (engine, mapped) = configured(plan, &self.db);
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Reload {
                plan: mapped.plan.clone(),
                engine: Box::new(engine),
                reply,
            })
            .await
            .map_err(|_| IoError::Stopping)?;
        let reloaded = answer.await.map_err(|_| IoError::Stopping)?;
        *self.mapped.write() = Arc::new(mapped);
        Ok(Reloaded {
            serial_ports_kept,
            ..reloaded
        })
    }

    /// Runs the core (adapters, engine, publisher) until `stop` is cancelled, then shuts it
    /// down in order. Call once.
    pub async fn run(self: Arc<Self>, events: EventCore, stop: CancellationToken) {
        // The state database lives in the data folder; OSDP keys are kept beside it.
        let data_dir = self.db.path().parent().map(std::path::Path::to_path_buf);
        let this = self.clone();
        self.run_with(events, stop, data_dir, move |links, plan, only| {
            links.start_plan(plan, only);
            *this.link_stats.lock() = links.stats();
        })
        .await;
    }

    /// Each started controller's link counters now (Modbus links keep them).
    pub fn link_stats(&self) -> Vec<(String, railgate_adapters::stats::LinkStatsSnapshot)> {
        self.link_stats
            .lock()
            .iter()
            .map(|(name, s)| (name.clone(), s.snapshot()))
            .collect()
    }

    /// [`Southbound::run`] with the adapters `start` picks (tests bring their own): it is
    /// called with the controllers to start, all at first, those a reload restarts later.
    pub(super) async fn run_with(
        &self,
        events: EventCore,
        stop: CancellationToken,
        data_dir: Option<std::path::PathBuf>,
        start: impl FnMut(&mut Links, &Plan, &BTreeSet<String>),
    ) {
        let core = self.unstarted.lock().take();
        let Some(core) = core else {
            tracing::error!("the southbound side was started twice");
            return;
        };
        // Raw serial ports have no state to release: they stop with the gateway's token.
        let ports = TaskTracker::new();
        self.serial.start(&ports, &stop);
        ports.close();
        core.run(events, stop, data_dir, start).await;
        ports.wait().await;
    }

    /// The serial ports.
    pub fn serial(&self) -> &SerialPorts {
        &self.serial
    }

    /// The mapping in force.
    pub fn plan(&self) -> Arc<Plan> {
        self.mapped().plan.clone()
    }

    /// Every digital input, in mapping order.
    pub fn inputs(&self) -> Vec<InputView> {
        self.views.borrow().inputs.clone()
    }

    /// Every relay output, in mapping order.
    pub fn relays(&self) -> Vec<RelayView> {
        self.views.borrow().relays.clone()
    }

    /// Whether a relay with this token exists.
    pub fn has_relay(&self, token: &str) -> bool {
        self.mapped().relays.contains_key(token)
    }

    /// Whether a digital input with this token exists.
    pub fn has_input(&self, token: &str) -> bool {
        self.mapped().inputs.contains_key(token)
    }

    /// The auxiliary command strings, in mapping order.
    pub fn commands(&self) -> Vec<String> {
        self.plan()
            .commands
            .iter()
            .map(|c| c.command.clone())
            .collect()
    }

    /// Whether the link to `controller` is up.
    pub fn link_up(&self, controller: &str) -> bool {
        self.views
            .borrow()
            .links_up
            .get(controller)
            .copied()
            .unwrap_or(false)
    }

    /// The links and points as they are now, for people (None: the core has stopped).
    pub async fn status(&self) -> Option<super::status::Status> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(Request::Status { reply }).await.ok()?;
        answer.await.ok()
    }

    /// Sends a request to the core and waits for its answer.
    async fn ask(&self, request: impl FnOnce(Reply) -> Request) -> Result<(), IoError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| IoError::Stopping)?;
        answer.await.map_err(|_| IoError::Stopping)?
    }

    /// Sets a relay to `active` or inactive; returns once the controller acknowledged. A
    /// monostable relay set active falls back to inactive after its delay.
    pub async fn set_relay_state(&self, token: &str, active: bool) -> Result<(), IoError> {
        let token = token.to_string();
        self.ask(|reply| Request::SetRelayState {
            token,
            active,
            reply,
        })
        .await
    }

    /// Changes a relay's settings and stores them; a pending monostable fall-back is
    /// cancelled.
    pub async fn set_relay_settings(&self, token: &str, s: RelaySettings) -> Result<(), IoError> {
        let mapped = *self
            .mapped()
            .relays
            .get(token)
            .ok_or_else(|| IoError::UnknownRelay(token.to_string()))?;
        settings::store_relay(&self.db, token, mapped, s)?;
        let token = token.to_string();
        self.ask(|reply| Request::SetRelaySettings {
            token,
            settings: s,
            reply,
        })
        .await
    }

    /// Changes a digital input's idle state and stores it.
    pub async fn set_input_idle(&self, token: &str, idle: IdleState) -> Result<(), IoError> {
        let mapped = *self
            .mapped()
            .inputs
            .get(token)
            .ok_or_else(|| IoError::UnknownInput(token.to_string()))?;
        settings::store_input_idle(&self.db, token, mapped, idle)?;
        let token = token.to_string();
        self.ask(|reply| Request::SetInputIdle { token, idle, reply })
            .await
    }

    /// Carries out an auxiliary command; returns once the controller acknowledged.
    pub async fn send_command(&self, command: &str) -> Result<(), IoError> {
        let command = command.to_string();
        self.ask(|reply| Request::Command { command, reply }).await
    }
}
