//! What the device is and what it announces: its identity, its discovery scopes and its
//! discovery mode. These are state owners and value rules, not SOAP handlers (those are in
//! `services::device`): nothing here knows XML or SOAP.
//!
//! - [`identity`]: what GetDeviceInformation reports.
//! - [`scope`]: scope URI rules and the scopes a device starts with (pure).
//! - [`scopes`]: [`scopes::ScopeStore`] and [`scopes::DiscoveryMode`], persisted in the
//!   state database; each change notifies WS-Discovery.
//! - [`lifecycle`]: what the device is asked to do once stopped (restart).
//! - [`protocols`]: the HTTP ports served, changed without a restart.

pub mod identity;
pub mod lifecycle;
pub mod protocols;
pub mod scope;
pub mod scopes;
