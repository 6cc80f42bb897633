//! Southbound side of railgate.
//!
//! An *adapter* owns one link to a legacy controller (a Modbus TCP socket, an RS-485 line, a
//! Wiegand input) and turns what it reads into [`AdapterEvent`]s, and [`Command`]s into
//! writes on the wire. Adapters know nothing of ONVIF, XML or SQLite: the gateway consumes
//! their events through [`AdapterIo`] and the mapping engine decides what they mean.
//!
//! Layout:
//! - [`point`], [`event`]: the vocabulary shared with the mapping engine (point ids, values,
//!   quality, link events, write errors). Plain data: always compiled.
//! - [`modbus`]: Modbus TCP and RTU. Its configuration and poll planning are plain data too;
//!   [`modbus::ModbusAdapter`] needs `runtime`.
//! - [`serial`]: raw serial ports for pass-through commands: their line settings (plain
//!   data) and, with `runtime`, the task that owns such a port.
//! - [`line`](mod@line): declared line protocols (framing, checksums, rules, command templates): the
//!   pure codec core, always compiled.
//! - `adapter` (feature `runtime`, on by default): the [`Adapter`] seam and its channels.
//! - `sim` (feature `sim`): the simulated legacy panel, a real Modbus TCP server.
//! - `conformance` (feature `conformance`): the tests every adapter must pass.
//! - [`osdp`]: the OSDP control-panel driver for RS-485 readers (feature `osdp`, on by
//!   default: it builds the reference C library). Its configuration, reports and commands
//!   are plain data.
//! - [`wiegand`]: Wiegand frames and formats (the table-driven decoder), the GPIO edge
//!   framer and the serial-converter line parser. Plain data: always compiled.
//!
//! `railgate-mappings` depends on this crate without default features, so it compiles no
//! runtime (no tokio, no tokio-modbus). Further protocols (serial line protocols, Wiegand on
//! GPIO) are added here, one folder each.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "runtime")]
pub mod adapter;
#[cfg(feature = "runtime")]
mod backoff;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod event;
pub mod line;
pub mod modbus;
pub mod osdp;
pub mod point;
pub mod serial;
#[cfg(feature = "sim")]
pub mod sim;
pub mod stats;
#[cfg(feature = "runtime")]
mod tracker;
pub mod wiegand;

#[cfg(feature = "runtime")]
pub use adapter::{Adapter, AdapterError, AdapterIo, Command, WriteRequest};
pub use event::{AdapterEvent, LinkEvent, LinkState, WriteError};
pub use point::{PointId, PointUpdate, Quality, Value};
