//! The seam between the gateway and a southbound protocol.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::point::{PointId, PointUpdate, Value};

/// State of the link to one controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Connected and answering.
    Up,
    /// Not connected, or not answering; the adapter keeps retrying with backoff.
    Down,
}

/// A change of a link's state, raised by the gateway as a `tns1:Monitoring/LinkStatus` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    /// The adapter (controller) name from the mapping.
    pub link: String,
    /// The new state.
    pub state: LinkState,
    /// Why it went down, for the log and the event.
    pub reason: Option<String>,
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
    /// The point is unknown to this adapter or read-only.
    #[error("not writable: {0}")]
    NotWritable(String),
}

/// A write the gateway asks for; the reply arrives once the controller acknowledged it.
#[derive(Debug)]
pub struct WriteRequest {
    /// Which point.
    pub id: PointId,
    /// The raw value to write.
    pub value: Value,
    /// Answered after the controller acknowledged (or refused) the write.
    pub reply: oneshot::Sender<Result<(), WriteError>>,
}

/// Everything an adapter talks to: the gateway hands one to [`Adapter::run`].
#[derive(Debug)]
pub struct AdapterIo {
    /// New readings, towards the gateway's core task.
    pub updates: mpsc::Sender<PointUpdate>,
    /// Writes, from the gateway.
    pub commands: mpsc::Receiver<WriteRequest>,
    /// Link up/down changes.
    pub link: mpsc::Sender<LinkEvent>,
}

/// Why an adapter stopped for good (not a link failure: those are retried).
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The adapter's configuration cannot work (e.g. a serial device that does not exist).
    #[error("configuration: {0}")]
    Config(String),
}

/// One southbound link. Implementations own their transport, reconnect with backoff on their
/// own, report link changes through [`AdapterIo::link`], and return when `stop` is cancelled.
pub trait Adapter: Send + 'static {
    /// The controller name used in logs and link events.
    fn name(&self) -> &str;
    /// Runs until `stop` is cancelled.
    fn run(
        self,
        io: AdapterIo,
        stop: CancellationToken,
    ) -> impl Future<Output = Result<(), AdapterError>> + Send;
}
