//! Events: what they are ([`model`]). The event service, subscriptions, filters and the
//! property state model build on the durable store in `crate::eventstore`.

pub mod model;
