//! What crosses between [`super::Southbound`] (the handle request handlers hold) and
//! `SouthboundCore` (the owner task): client [`Request`]s and their [`IoError`]s, and the
//! [`Views`] snapshot of inputs and relays the core publishes. Both sides import this module;
//! it imports neither.

use std::collections::HashMap;
use std::time::Duration;

use railgate_mappings::engine::Engine;
use railgate_mappings::plan::{IdleState, Plan};
use tokio::sync::oneshot;

use super::settings::RelaySettings;
use crate::state::StateError;

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
    /// The gateway is stopping: the southbound side takes no more requests.
    #[error("the gateway is stopping")]
    Stopping,
    /// The new setting could not be stored.
    #[error(transparent)]
    State(#[from] StateError),
    /// No serial port has this token.
    #[error("no serial port {0:?}")]
    UnknownSerialPort(String),
    /// The serial port is listed read-only (a Modbus controller's line, or `expose: false`):
    /// no raw commands, no setting changes.
    #[error("serial port {token:?} is read-only: {why}")]
    SerialReadOnly {
        /// The port.
        token: String,
        /// Whose it is.
        why: String,
    },
    /// The serial settings cannot be put on the port.
    #[error("serial port {token:?}: {reason}")]
    SerialSettings {
        /// The port.
        token: String,
        /// Why not.
        reason: String,
    },
    /// The serial port cannot be opened, or failed during the exchange.
    #[error("serial port {token:?} failed: {reason}")]
    SerialFailed {
        /// The port.
        token: String,
        /// What happened (for the log).
        reason: String,
    },
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

/// A client's answer.
pub(super) type Reply = oneshot::Sender<Result<(), IoError>>;

/// What clients ask of the core.
#[derive(Debug)]
pub(super) enum Request {
    /// SetRelayOutputState: answered once the controller acknowledged.
    SetRelayState {
        token: String,
        active: bool,
        reply: Reply,
    },
    /// New relay settings (already stored).
    SetRelaySettings {
        token: String,
        settings: RelaySettings,
        reply: Reply,
    },
    /// A new idle state of a digital input (already stored).
    SetInputIdle {
        token: String,
        idle: railgate_mappings::plan::IdleState,
        reply: Reply,
    },
    /// An auxiliary command: one write, answered once acknowledged. Looked up by the core in
    /// the mapping it runs (a reload may have moved or removed it since the client asked).
    Command { command: String, reply: Reply },
    /// The links and points for people (the status page, `railgate points`).
    Status {
        reply: oneshot::Sender<super::status::Status>,
    },
    /// A reload: run `plan` from now on, with `engine` (its engine, with the settings
    /// clients stored) taking over what the running one knows.
    Reload {
        plan: std::sync::Arc<Plan>,
        engine: Box<Engine>,
        reply: oneshot::Sender<Reloaded>,
    },
}

/// What a reload of the southbound side did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Controllers whose links were started (new, changed, or on a serial bus that changed).
    pub started: Vec<String>,
    /// Controllers whose links were stopped.
    pub stopped: Vec<String>,
    /// Relays the reload removed, changed or restarted the link of before their monostable
    /// fall-back was confirmed (they may still be active).
    pub unreleased: Vec<String>,
    /// The new mapping changed its serial ports: those started stay until a restart.
    pub serial_ports_kept: bool,
}

impl Request {
    /// Answers the request with `error`.
    pub(super) fn refuse(self, error: IoError) {
        let reply = match self {
            Request::SetRelayState { reply, .. }
            | Request::SetRelaySettings { reply, .. }
            | Request::SetInputIdle { reply, .. }
            | Request::Command { reply, .. } => reply,
            // Nothing to refuse: the asker sees the channel closed.
            Request::Status { .. } | Request::Reload { .. } => return,
        };
        let _ = reply.send(Err(error));
    }
}

/// What requests read without asking the core: published after every change.
#[derive(Clone, Debug, Default)]
pub(super) struct Views {
    pub(super) inputs: Vec<InputView>,
    pub(super) relays: Vec<RelayView>,
    pub(super) links_up: HashMap<String, bool>,
}

impl Views {
    pub(super) fn of(plan: &Plan, engine: &Engine, links_up: &HashMap<String, bool>) -> Views {
        let inputs = plan
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
            .collect();
        let relays = plan
            .relays
            .iter()
            .filter_map(|r| {
                let s = engine.relay_state(&r.token)?;
                Some(RelayView {
                    token: r.token.clone(),
                    settings: RelaySettings {
                        mode: s.mode,
                        delay_ms: millis(s.delay),
                        idle: s.idle_state,
                    },
                    active: s.active,
                })
            })
            .collect();
        Views {
            inputs,
            relays,
            links_up: links_up.clone(),
        }
    }
}

pub(super) fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}
