//! What an adapter reports, and why a write fails: plain data, no runtime.
//!
//! These types are shared with the mapping engine and the gateway; they compile without the
//! `runtime` feature.

use crate::point::PointUpdate;

/// Everything an adapter tells the gateway, in the order it happened: one closed enum, on one
/// channel, so a link going down is always seen before the stale values it causes.
#[derive(Clone, Debug, PartialEq)]
pub enum AdapterEvent {
    /// A new reading of one point (see [`PointUpdate`] for when one is due).
    Point(PointUpdate),
    /// The link to the controller came up or went down.
    Link(LinkEvent),
}

/// State of the link to one controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Connected and answering.
    Up,
    /// Not connected, or not answering; the adapter keeps retrying with backoff.
    Down,
}

/// A change of a link's state, raised by the gateway as an `rg:Monitoring/ControllerLink` property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    /// The adapter (controller) name from the mapping.
    pub link: String,
    /// The new state.
    pub state: LinkState,
    /// Why it went down, for the log and the event.
    pub reason: Option<String>,
}

impl LinkEvent {
    /// `link` came up.
    pub fn up(link: impl Into<String>) -> LinkEvent {
        LinkEvent {
            link: link.into(),
            state: LinkState::Up,
            reason: None,
        }
    }

    /// `link` went down, because of `reason`.
    pub fn down(link: impl Into<String>, reason: impl Into<String>) -> LinkEvent {
        LinkEvent {
            link: link.into(),
            state: LinkState::Down,
            reason: Some(reason.into()),
        }
    }
}

/// Why a write failed. A broken link and a device's refusal are different answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The link is down; nothing was written.
    #[error("link down: {0}")]
    LinkDown(String),
    /// The controller answered, and refused (e.g. a Modbus exception code).
    #[error("device refused the write: {0}")]
    Refused(String),
    /// The point is unknown to this adapter or read-only (an edge source has no writable
    /// point at all).
    #[error("not writable: {0}")]
    NotWritable(String),
}
