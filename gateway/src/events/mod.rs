//! Events: what they are ([`model`]), how they are raised ([`core`], with the property state
//! model in [`properties`]), the gateway's own ([`monitoring`], and [`controllers`] for each
//! southbound controller's link and failing points), which topics exist ([`topics`]), how clients select them
//! ([`filter`]), subscriptions and pull points ([`subscription`]), push delivery ([`push`]) to consumers admitted by [`consumer`], and their XML
//! ([`render`]), and the durable SQLite store they are committed to ([`store`]).

pub mod consumer;
pub mod controllers;
pub mod core;
pub mod filter;
pub mod keystore;
pub mod model;
pub mod monitoring;
pub mod properties;
pub mod push;
pub mod render;
pub mod settings;
pub mod store;
pub mod subscription;
#[cfg(feature = "test-events")]
pub mod test_source;
pub mod time;
pub mod topics;
