//! Subscription filters of the event service: which topics a subscriber wants ([`topic`]:
//! the ONVIF ConcreteSet and WS-Topics Concrete dialects) and which messages of those topics
//! ([`content`]: the ONVIF ItemFilter subset of XPath 1.0). Both are parsed once, when the
//! subscription is made, and then only evaluated against events.

pub mod content;
pub mod topic;
