//! What the mapping compiler hands the gateway for a line controller (plain data, no
//! runtime): where the panel is, its protocol, and how points are written.

use std::path::PathBuf;
use std::time::Duration;

use super::command::Params;
use super::protocol::LineProtocol;
use crate::modbus::Backoff;
use crate::point::{PointId, Value};
use crate::serial::LineSettings;

/// Where a line panel is.
#[derive(Clone, Debug, PartialEq)]
pub enum LineEndpoint {
    /// A serial device with its line settings.
    Serial {
        /// The device node, e.g. `/dev/ttyUSB0`.
        device: PathBuf,
        /// Baud, parity, data and stop bits.
        line: LineSettings,
    },
    /// A TCP socket (a serial-to-Ethernet converter, a panel's IP module).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

/// One way a point is written: writing `value` to `point` sends `command` with `params`.
#[derive(Clone, Debug, PartialEq)]
pub struct LineWrite {
    /// The point written (a relay's, an auxiliary command's).
    pub point: PointId,
    /// The value this case is for (`Bool(true)` for a relay's active state).
    pub value: Value,
    /// The protocol command sent; empty: nothing is sent and the write succeeds (a momentary
    /// output that returns to idle by itself, written `false` by the monostable fall-back).
    pub command: String,
    /// Its parameters (may hold a secret: never logged).
    pub params: Params,
}

/// A line controller, compiled.
#[derive(Clone, Debug)]
pub struct LineLink {
    /// Controller name.
    pub name: String,
    /// Where the panel is.
    pub endpoint: LineEndpoint,
    /// What it speaks.
    pub protocol: LineProtocol,
    /// Points that may be written, and how.
    pub writes: Vec<LineWrite>,
    /// Least time between two frames sent.
    pub inter_frame: Duration,
    /// Reconnect policy.
    pub backoff: Backoff,
    /// Commands sent once on every new connection, after the first sign of life (a panel's
    /// status request, so that states are known again after a reconnect).
    pub on_connect: Vec<String>,
}

/// Structural equality: a protocol's rules hold compiled regexes, compared by their pattern
/// (their `Debug` shows it), so the whole link compares by its `Debug` rendering.
impl PartialEq for LineLink {
    fn eq(&self, other: &LineLink) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}
