//! WS-Discovery (2005/04, SOAP-over-UDP on port 3702), as ONVIF Core requires: the target
//! service that answers Probe and Resolve and announces Hello and Bye, and the probe client of
//! `railgate discover`.
//!
//! - `message`: the messages, parsed and written (no I/O).
//! - `machine`: the target service's protocol logic as a state machine without I/O (time and
//!   randomness come in as arguments), so every rule is tested with simulated time.
//! - `socket`: the thin UDP layer (port 3702, group membership, arrival interface).
//! - `service`: the task that wires the machine to the sockets and the app.
//! - `client`: the probe client of `railgate discover`.

pub mod client;
pub mod machine;
pub mod message;
pub mod service;
pub mod socket;
