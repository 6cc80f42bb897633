//! railgate: an ONVIF (IEC 60839-11-31) device in front of legacy access-control and alarm
//! panels.
//!
//! Northbound, railgate is a SOAP 1.2 web-services device: device management now; device I/O,
//! events and WS-Discovery as they land. Southbound adapters (crate `railgate-adapters`) talk
//! to the panels; the mapping language (crate `railgate-mappings`) binds the two.
//!
//! Layout (see ARCHITECTURE.md for the whole picture):
//! - [`runtime`]: start-up and shutdown of the whole gateway.
//! - [`config`]: the YAML configuration.
//! - [`app`]: shared state built at start.
//! - [`http`]: listeners, connections, routes, and the HTTP-to-SOAP bridge.
//! - [`soap`]: envelopes, faults, services.
//! - [`xml`]: the bounded namespace-aware element tree and the response writer.
//! - [`security`]: UsernameToken, HTTP Digest, throttling, users, access classes.
//! - [`services`]: the ONVIF services and their operations.
//! - [`state`]: the SQLite state database and the private data folder.
//! - [`events`], [`eventstore`]: events, and the durable SQLite store they are committed to.
//! - [`host`]: read-only facts about the host (network, clock).

#![warn(missing_debug_implementations)]

pub mod app;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod events;
pub mod eventstore;
pub mod host;
pub mod http;
pub mod runtime;
pub mod security;
pub mod services;
pub mod soap;
pub mod southbound;
pub mod state;
pub mod xml;
