//! The southbound side as the gateway sees it: the compiled mapping, the engine that reads
//! it, the adapters that talk to controllers, and what ONVIF clients may ask of them (relay
//! states and settings, digital input settings, auxiliary commands).
//!
//! Data flow: adapters → point updates → [`Io::run`]'s pump → engine → outputs → the
//! publisher → [`crate::events::core::EventCore`] (durable, then to subscribers). Writes go
//! the other way: a SOAP handler → [`Io::set_relay_state`] → the controller's adapter, and the
//! handler answers once the controller acknowledged.
//!
//! One engine behind a mutex serves both directions; its outputs leave through one channel,
//! so events are published in the order the engine decided them.

mod hub;
pub mod publish;
mod run;
pub mod settings;

pub use hub::{InputView, Io, IoError, RelayView};
