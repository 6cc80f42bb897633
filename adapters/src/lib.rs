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
//!
//! Protocol implementations (Modbus, serial line protocols, Wiegand, OSDP) and the simulated
//! panel are added here, one folder per protocol.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod adapter;
pub mod modbus;
pub mod point;

pub use adapter::{
    Adapter, AdapterError, AdapterIo, LinkEvent, LinkState, WriteError, WriteRequest,
};
pub use point::{PointId, PointUpdate, Quality, Value};
