//! [`SerialPorts`]: the mapping's serial ports as clients use them (DeviceIO GetSerialPorts,
//! Get/SetSerialPortConfiguration, SendReceiveSerialCommand).
//!
//! Each port the mapping exposes (`expose: true`) is owned by one
//! `railgate_adapters::serial::PortTask`, started beside the southbound core and stopped with
//! it; a port a Modbus RTU controller uses is owned by that controller's bus and is listed
//! read-only (the mapping compiler enforces the rule on the paths as written; here, with the
//! paths resolved, a raw port that is a controller's line under another name, such as a
//! `/dev/serial/by-id/` symlink, is listed read-only too). Line settings a client sets are put on
//! the open port first, then stored in the state database like relay settings: a restart
//! keeps them, and the mapping wins again once the integrator changes the port there.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use railgate_adapters::modbus::Transport;
use railgate_adapters::serial::{Exchange, LineSettings, PortError, PortHandle, PortTask};
use railgate_mappings::plan::{Controller, Link, Plan, SerialAccess, SerialKind, SerialPortPoint};
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
    point: SerialPortPoint,
    access: SerialAccess,
    /// The line and type in force.
    current: Mutex<(LineSettings, SerialKind)>,
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
        let lines = rtu_lines(plan);
        for p in &plan.serial_ports {
            let mut access = p.access.clone();
            if access == SerialAccess::Raw
                && let Some(controllers) = owners_of(&lines, &p.device)
            {
                // Another name of a Modbus line (a symlink such as /dev/serial/by-id/...):
                // the compiler compares paths as written; here they are resolved.
                tracing::error!(
                    serial_port = %p.token, device = %p.device.display(), controllers = ?controllers,
                    "this serial port is the line of Modbus controllers under another name; it is listed read-only"
                );
                access = SerialAccess::ReadOnly { controllers };
            }
            let raw = access == SerialAccess::Raw;
            let current = if raw {
                settings::serial_config(&db, p)
            } else {
                (p.line, p.kind)
            };
            let handle = raw.then(|| {
                let (task, handle) = PortTask::new(p.device.clone(), current.0);
                tasks.push(task);
                handle
            });
            ports.push(Port {
                point: p.clone(),
                access,
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
        let (line, kind) = *p.current.lock();
        SerialView {
            token: p.point.token.clone(),
            kind,
            line,
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
            .find(|p| p.point.token == token)
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

    /// Puts `line` and type `kind` on a raw port and stores them. The port's RS-485 mode
    /// follows `kind` (a port without a kernel mode keeps the type its wiring gives). Returns
    /// once the port took them (or, closed, will take them when it opens again).
    pub async fn configure(
        &self,
        token: &str,
        line: LineSettings,
        kind: SerialKind,
    ) -> Result<(), IoError> {
        let (port, handle) = self.raw(token)?;
        let settings_error = |reason: String| IoError::SerialSettings {
            token: token.to_string(),
            reason,
        };
        let rs485 = port.point.rs485_mode(kind).ok_or_else(|| {
            settings_error(match port.point.rs485 {
                None => format!(
                    "the port is {} (its wiring); it cannot become {}",
                    port.point.kind.as_str(),
                    kind.as_str()
                ),
                Some(_) => format!(
                    "the port switches between RS232, RS485HalfDuplex and RS485FullDuplex; it cannot become {}",
                    kind.as_str()
                ),
            })
        })?;
        let line = LineSettings { rs485, ..line };
        line.check().map_err(settings_error)?;
        let _one = self.configuring.lock().await;
        let before = *port.current.lock();
        handle
            .configure(line)
            .await
            .map_err(|e| port_error(token, e))?;
        if let Err(e) = settings::store_serial_config(&self.db, &port.point, line, kind) {
            // Not stored: the port goes back to what is stored, so a restart changes nothing.
            let _ = handle.configure(before.0).await;
            return Err(e.into());
        }
        *port.current.lock() = (line, kind);
        Ok(())
    }

    /// One exchange on a raw port: the bytes its device answered.
    pub async fn exchange(&self, token: &str, x: Exchange) -> Result<Vec<u8>, IoError> {
        let (_, handle) = self.raw(token)?;
        handle.exchange(x).await.map_err(|e| port_error(token, e))
    }
}

/// The devices of `plan`'s serial ports, as resolved on this host.
pub(super) fn port_devices(plan: &Plan) -> Vec<PathBuf> {
    plan.serial_ports
        .iter()
        .map(|p| resolved(&p.device))
        .collect()
}

/// The serial device (or GPIO chip) `controller` opens, if any.
fn device_of(controller: &Controller) -> Option<&Path> {
    use railgate_adapters::line::LineEndpoint;
    use railgate_mappings::plan::ReaderTransport;
    match &controller.link {
        Link::Modbus(config) => match &config.transport {
            Transport::Rtu { device, .. } => Some(device),
            Transport::Tcp { .. } => None,
        },
        Link::Line(link) => match &link.endpoint {
            LineEndpoint::Serial { device, .. } => Some(device),
            LineEndpoint::Tcp { .. } => None,
        },
        Link::Readers(link) => match &link.transport {
            ReaderTransport::Osdp { device, .. }
            | ReaderTransport::WiegandSerial { device, .. } => Some(device),
            ReaderTransport::WiegandGpio { chip, .. } => Some(chip),
        },
    }
}

/// The devices `plan`'s controllers open for which `pick` holds, as resolved on this host,
/// each with its controller.
fn devices(plan: &Plan, pick: impl Fn(&Controller) -> bool) -> Vec<(PathBuf, String)> {
    plan.controllers
        .iter()
        .filter(|c| pick(c))
        .filter_map(|c| device_of(c).map(|d| (resolved(d), c.name.clone())))
        .collect()
}

/// The serial devices (and GPIO chips) `plan`'s controllers open, as resolved on this host,
/// each with its controller.
pub(super) fn controller_devices(plan: &Plan) -> Vec<(PathBuf, String)> {
    devices(plan, |_| true)
}

/// The Modbus RTU lines of `plan`: each device as resolved on this host, and its controllers
/// (a line protocol's or a reader's serial port is its own, not a shared Modbus line).
fn rtu_lines(plan: &Plan) -> Vec<(PathBuf, String)> {
    devices(plan, |c| matches!(c.link, Link::Modbus(_)))
}

/// A device path with its symlinks resolved (as written when it does not exist now).
fn resolved(device: &Path) -> PathBuf {
    std::fs::canonicalize(device).unwrap_or_else(|_| device.to_path_buf())
}

/// The controllers whose line `device` is, if any.
fn owners_of(lines: &[(PathBuf, String)], device: &Path) -> Option<Vec<String>> {
    let device = resolved(device);
    let owners: Vec<String> = lines
        .iter()
        .filter(|(d, _)| *d == device)
        .map(|(_, name)| name.clone())
        .collect();
    (!owners.is_empty()).then_some(owners)
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

#[cfg(test)]
mod tests {
    use super::*;
    use railgate_adapters::modbus::ModbusConfig;
    use railgate_adapters::modbus::Parity;
    use railgate_mappings::plan::{Controller, SerialPortPoint};

    #[test]
    fn a_modbus_line_under_another_name_is_not_open_for_raw_commands() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("ttyUSB0");
        std::fs::write(&real, "").unwrap();
        let alias = dir.path().join("by-id-adapter");
        std::os::unix::fs::symlink(&real, &alias).unwrap();
        let line = LineSettings {
            baud: 9600,
            parity: Parity::Even,
            data_bits: 8,
            stop_bits: 1,
            rs485: Default::default(),
        };
        let plan = Plan {
            controllers: vec![Controller {
                name: "panel".into(),
                link: Link::Modbus(ModbusConfig::new(
                    "panel",
                    Transport::Rtu {
                        device: real.clone(),
                        line,
                    },
                    3,
                )),
            }],
            serial_ports: vec![
                SerialPortPoint {
                    token: "Alias".into(),
                    device: alias,
                    line,
                    kind: SerialKind::Rs485HalfDuplex,
                    rs485: None,
                    access: SerialAccess::Raw,
                },
                SerialPortPoint {
                    token: "Other".into(),
                    device: dir.path().join("ttyUSB1"),
                    line,
                    kind: SerialKind::Rs232,
                    rs485: None,
                    access: SerialAccess::Raw,
                },
            ],
            ..Plan::default()
        };
        let db = Arc::new(StateDb::open(&dir.path().join("data")).unwrap());
        let ports = SerialPorts::new(&plan, db);
        assert!(matches!(
            ports.writable("Alias"),
            Err(IoError::SerialReadOnly { why, .. }) if why.contains("panel")
        ));
        assert!(ports.writable("Other").is_ok());
        assert!(matches!(
            ports.writable("nope"),
            Err(IoError::UnknownSerialPort(_))
        ));
        assert_eq!(
            ports.list().iter().map(|p| p.raw).collect::<Vec<_>>(),
            [false, true]
        );
        // Only the raw port has a task.
        assert_eq!(ports.unstarted.lock().len(), 1);
    }
}
