//! The seam between the gateway and a southbound protocol (feature `runtime`).
//!
//! One [`Adapter`] owns one controller link in one task. Messages cross the seam in two
//! closed enums, nothing else:
//!
//! ```text
//!   gateway ── Command::Write(WriteRequest) ──► adapter task ──► the wire
//!   gateway ◄── AdapterEvent::{Point, Link} ── adapter task ◄── the wire
//! ```
//!
//! The seam does not assume polling. Three shapes fit it without a special case in the
//! gateway:
//!
//! | Shape | Example | Events out | Commands in |
//! |---|---|---|---|
//! | request/response bus | Modbus (today), OSDP | the adapter polls and reports changes | writes, answered after the device's acknowledgement |
//! | unsolicited line stream | an alarm panel printing event lines on RS-485 | a point per line as it arrives | writes sent as command lines, or refused |
//! | edge source | Wiegand on GPIO | decoded card reads, line levels | none: every write is [`WriteError::NotWritable`] |
//!
//! `conformance` (feature `conformance`) holds a test adapter of each shape beside the Modbus
//! one, and the checks every adapter must pass.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::event::{AdapterEvent, LinkEvent, WriteError};
use crate::point::{PointId, PointUpdate, Value};

/// What the gateway asks of an adapter. Closed: a new kind of request is a new variant here,
/// and every adapter must answer it.
#[derive(Debug)]
pub enum Command {
    /// Write one point; answer once the controller acknowledged (or refused) it.
    Write(WriteRequest),
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

impl WriteRequest {
    /// A request for `value` at `id`, and the receiver its answer arrives on.
    pub fn new(
        id: PointId,
        value: Value,
    ) -> (WriteRequest, oneshot::Receiver<Result<(), WriteError>>) {
        let (reply, answer) = oneshot::channel();
        (WriteRequest { id, value, reply }, answer)
    }

    /// Answers the request (a requester that gave up is not an error).
    pub fn answer(self, result: Result<(), WriteError>) {
        let _ = self.reply.send(result);
    }
}

/// Everything an adapter talks to: the gateway hands one to [`Adapter::run`].
#[derive(Debug)]
pub struct AdapterIo {
    /// Point updates and link events, towards the gateway (shared by every adapter: the
    /// gateway reads one channel).
    pub events: mpsc::Sender<AdapterEvent>,
    /// Commands, from the gateway (one channel per adapter).
    pub commands: mpsc::Receiver<Command>,
}

impl AdapterIo {
    /// Sends an event; returns early if `stop` is cancelled, so a full channel never keeps an
    /// adapter from stopping.
    pub async fn report(&self, event: AdapterEvent, stop: &CancellationToken) {
        let _ = stop.run_until_cancelled(self.events.send(event)).await;
    }

    /// Reports a new reading (see [`AdapterIo::report`]).
    pub async fn point(&self, update: PointUpdate, stop: &CancellationToken) {
        self.report(AdapterEvent::Point(update), stop).await;
    }

    /// Reports a link change (see [`AdapterIo::report`]).
    pub async fn link(&self, event: LinkEvent, stop: &CancellationToken) {
        self.report(AdapterEvent::Link(event), stop).await;
    }

    /// Closes the command channel and answers every queued command with `reason` as
    /// [`WriteError::LinkDown`]: what an adapter does on its way out.
    pub fn refuse_queued(&mut self, reason: &str) {
        self.commands.close();
        while let Ok(Command::Write(req)) = self.commands.try_recv() {
            req.answer(Err(WriteError::LinkDown(reason.into())));
        }
    }
}

/// Why an adapter stopped for good (not a link failure: those are retried).
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The adapter's configuration cannot work (e.g. a serial device that does not exist).
    #[error("configuration: {0}")]
    Config(String),
}

/// One southbound link, run as one task that owns its transport.
///
/// Contract (checked by the conformance suite):
/// - report every point once after each (re)connect, then only changes of raw value or
///   quality (an *event point*, such as a card read or an event line, is reported on every
///   occurrence: each one is news);
/// - [`AdapterEvent::Link`] `Up` when the link works, `Down` once when it fails, every known
///   point once more as [`crate::Quality::Stale`]; then reconnect with backoff, for ever;
/// - answer every [`Command`]: after the device's acknowledgement, or at once with
///   [`WriteError::LinkDown`] while down, or [`WriteError::NotWritable`] for a point it
///   cannot write;
/// - no input from the wire may panic it;
/// - return `Ok(())` soon after `stop` is cancelled, having closed its transport.
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
