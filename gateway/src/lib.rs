//! railgate: an ONVIF (IEC 60839-11-31) device in front of legacy access-control and alarm
//! panels.
//!
//! Northbound, railgate is a SOAP 1.2 web-services device: device management, device I/O
//! (relays, digital inputs, auxiliary commands), events (pull points, basic notification,
//! a durable store) and WS-Discovery. Southbound adapters (crate `railgate-adapters`) talk
//! to the panels; the mapping language (crate `railgate-mappings`) binds the two.
//!
//! The modules are layered: a module imports only from layers below it (see ARCHITECTURE.md
//! for the whole picture). From the top:
//! - process: [`runtime`] (start-up, serving, shutdown; `main.rs` is the command line) and
//!   [`demo`] (the embedded demo panel).
//! - HTTP: [`http`]: listeners and connections (`server`), `routes` (plain HTTP answers),
//!   `soap` (the bridge: parse, ask the gate, dispatch), `response` (every response
//!   written).
//! - handlers and tasks: [`services`] (the ONVIF services, one module per service) and
//!   [`discovery`] (WS-Discovery: a pure state machine, its socket and its task).
//! - composition root: [`app`]: builds every shared state owner once, from [`config`].
//! - state owners: [`security`] (the gate, users, verifiers, lockout), [`device`]
//!   (identity, scopes, discovery mode), [`southbound`] (the mapping's points and the
//!   adapter tasks), [`events`] (raising, subscriptions, and `events::store`, the durable
//!   SQLite store), [`state`] (the SQLite state database and the private data folder).
//! - configuration: [`config`]: the YAML file, checked with leaf validators only.
//! - leaves: [`soap`] (envelopes, faults, services), [`xml`] (the bounded element tree and
//!   the writer), [`host`] (read-only host facts), [`addr`] (authority and network values),
//!   `device::scope` (scope URI rules), `security::access` (classes and policy).

#![warn(missing_debug_implementations)]

pub mod addr;
pub mod app;
pub mod backup;
pub mod bucket;
pub mod config;
pub mod demo;
pub mod device;
pub mod discovery;
pub mod events;
pub mod firmware;
pub mod host;
pub mod http;
pub mod keystore;
pub mod listen;
pub mod logring;
pub mod metrics;
pub mod ratelog;
pub mod reload;
pub mod runtime;
pub mod security;
pub mod service_manager;
pub mod services;
pub mod soap;
pub mod southbound;
pub mod state;
pub mod system_files;
pub mod tls;
pub mod xml;
