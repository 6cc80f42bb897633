//! Southbound side of railgate.
//!
//! An *adapter* owns one link to a legacy controller (a Modbus TCP socket, an RS-485 line, a
//! Wiegand input) and turns what it reads into [`PointUpdate`]s, and [`WriteRequest`]s into
//! writes on the wire. Adapters know nothing of ONVIF, XML or SQLite: the gateway consumes
//! their updates through [`AdapterIo`] and the mapping engine decides what they mean.
//!
//! Layout:
//! - [`point`]: the vocabulary shared with the mapping engine (point ids, values, quality).
//! - [`adapter`]: the [`Adapter`] seam, its I/O context and link-state events.
//! - [`modbus`]: Modbus TCP and RTU ([`modbus::ModbusAdapter`]).
//! - `sim` (feature `sim`): the simulated legacy panel, a real Modbus TCP server.
//! - `conformance` (feature `conformance`): the tests every adapter must pass.
//!
//! Further protocols (serial line protocols, Wiegand, OSDP) are added here, one folder each.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod adapter;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod modbus;
pub mod point;
#[cfg(feature = "sim")]
pub mod sim;

pub use adapter::{
    Adapter, AdapterError, AdapterIo, LinkEvent, LinkState, WriteError, WriteRequest,
};
pub use point::{PointId, PointUpdate, Quality, Value};
