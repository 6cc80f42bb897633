//! [`SerialPorts`]: the mapping's serial ports as clients use them (DeviceIO GetSerialPorts,
//! Get/SetSerialPortConfiguration, SendReceiveSerialCommand).
//!
//! Each port the mapping exposes (`expose: true`) is owned by one
//! `railgate_adapters::serial::PortTask`, started beside the southbound core and stopped with
//! it; a port a Modbus RTU controller uses is owned by that controller's bus and is listed
//! read-only (the mapping compiler enforces the rule). Line settings a client sets are put on
//! the open port first, then stored in the state database like relay settings: a restart
//! keeps them, and the mapping wins again once the integrator changes the port there.

use std::sync::Arc;

use parking_lot::Mutex;
use railgate_adapters::serial::{Exchange, LineSettings, PortError, PortHandle, PortTask};
use railgate_mappings::plan::{Plan, SerialAccess, SerialKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::messages::IoError;
use super::settings;
use crate::state::StateDb;

/// A serial port as clients see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerialView {
    /// Its token.
    pub token: String,
    /// The electrical interface.
    pub kind: SerialKind,
    /// The line settings in force.
    pub line: LineSettings,
    /// Whether clients may send raw commands and change the settings.
    pub raw: bool,
}

struct Port {
    token: String,
    kind: SerialKind,
    access: SerialAccess,
    mapped: LineSettings,
    current: Mutex<LineSettings>,
    handle: Option<PortHandle>,
}

/// The serial ports of a site.
pub struct SerialPorts {
    db: Arc<StateDb>,
    ports: Vec<Port>,
    /// The port tasks, until [`SerialPorts::start`] runs them.
    unstarted: Mutex<Vec<PortTask>>,
    /// A client's configuration change at a time (apply, then store).
    configuring: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SerialPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialPorts")
            .field("ports", &self.ports.len())
            .finish_non_exhaustive()
    }
}

impl SerialPorts {
    /// The ports of `plan`, raw ones with the settings clients stored earlier.
    pub fn new(plan: &Plan, db: Arc<StateDb>) -> SerialPorts {
        let mut ports = Vec::new();
        let mut tasks = Vec::new();
        for p in &plan.serial_ports {
            let raw = p.access == SerialAccess::Raw;
            let current = if raw {
                settings::serial_line(&db, &p.token, p.line)
            } else {
                p.line
            };
            let handle = raw.then(|| {
                let (task, handle) = PortTask::new(p.device.clone(), current);
                tasks.push(task);
                handle
            });
            ports.push(Port {
                token: p.token.clone(),
                kind: p.kind,
                access: p.access.clone(),
                mapped: p.line,
                current: Mutex::new(current),
                handle,
            });
        }
        SerialPorts {
            db,
            ports,
            unstarted: Mutex::new(tasks),
            configuring: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs every port task on `tracker` until `stop` is cancelled. Call once.
    pub(super) fn start(&self, tracker: &TaskTracker, stop: &CancellationToken) {
        for task in std::mem::take(&mut *self.unstarted.lock()) {
            tracker.spawn(task.run(stop.clone()));
        }
    }

    /// How many ports the mapping lists.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Whether the mapping lists none.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    fn view(p: &Port) -> SerialView {
        SerialView {
            token: p.token.clone(),
            kind: p.kind,
            line: *p.current.lock(),
            raw: p.access == SerialAccess::Raw,
        }
    }

    /// Every port, in mapping order.
    pub fn list(&self) -> Vec<SerialView> {
        self.ports.iter().map(Self::view).collect()
    }

    fn port(&self, token: &str) -> Result<&Port, IoError> {
        self.ports
            .iter()
            .find(|p| p.token == token)
            .ok_or_else(|| IoError::UnknownSerialPort(token.to_string()))
    }

    /// One port.
    pub fn get(&self, token: &str) -> Result<SerialView, IoError> {
        self.port(token).map(Self::view)
    }

    /// The raw port task of `token`, or why there is none.
    fn raw(&self, token: &str) -> Result<(&Port, &PortHandle), IoError> {
        let port = self.port(token)?;
        match (&port.access, &port.handle) {
            (SerialAccess::Raw, Some(handle)) => Ok((port, handle)),
            (SerialAccess::ReadOnly { controllers }, _) if !controllers.is_empty() => {
                Err(IoError::SerialReadOnly {
                    token: token.to_string(),
                    why: format!(
                        "it is the serial line of Modbus controller {}",
                        controllers.join(", ")
                    ),
                })
            }
            _ => Err(IoError::SerialReadOnly {
                token: token.to_string(),
                why: "the mapping lists it with `expose: false`".to_string(),
            }),
        }
    }

    /// Whether clients may use `token` for raw commands and setting changes: `Ok`, or the
    /// error saying why not.
    pub fn writable(&self, token: &str) -> Result<(), IoError> {
        self.raw(token).map(|_| ())
    }

    /// Puts `line` on a raw port and stores it. Returns once the port took it (or, closed,
    /// will take it when it opens again).
    pub async fn configure(&self, token: &str, line: LineSettings) -> Result<(), IoError> {
        let (port, handle) = self.raw(token)?;
        line.check().map_err(|reason| IoError::SerialSettings {
            token: token.to_string(),
            reason,
        })?;
        let _one = self.configuring.lock().await;
        let before = *port.current.lock();
        handle
            .configure(line)
            .await
            .map_err(|e| port_error(token, e))?;
        if let Err(e) = settings::store_serial_line(&self.db, token, port.mapped, line) {
            // Not stored: the port goes back to what is stored, so a restart changes nothing.
            let _ = handle.configure(before).await;
            return Err(e.into());
        }
        *port.current.lock() = line;
        Ok(())
    }

    /// One exchange on a raw port: the bytes its device answered.
    pub async fn exchange(&self, token: &str, x: Exchange) -> Result<Vec<u8>, IoError> {
        let (_, handle) = self.raw(token)?;
        handle.exchange(x).await.map_err(|e| port_error(token, e))
    }
}

fn port_error(token: &str, e: PortError) -> IoError {
    match e {
        PortError::Settings(reason) => IoError::SerialSettings {
            token: token.to_string(),
            reason,
        },
        PortError::Stopped => IoError::Stopping,
        PortError::Unavailable(reason) | PortError::Io(reason) => IoError::SerialFailed {
            token: token.to_string(),
            reason,
        },
    }
}
