//! Events: what they are ([`model`]), how they are raised ([`core`], with the property state
//! model in [`properties`]), which topics exist ([`topics`]), how clients select them
//! ([`filter`]), subscriptions and pull points ([`subscription`]), and their XML
//! ([`render`]). They are made durable by `crate::eventstore`.

pub mod core;
pub mod filter;
pub mod model;
pub mod monitoring;
pub mod properties;
pub mod push;
pub mod render;
pub mod subscription;
#[cfg(feature = "test-events")]
pub mod test_source;
pub mod time;
pub mod topics;
