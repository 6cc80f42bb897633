//! A serial port shared by several RTU controllers (RS-485 multi-drop): one task owns the port
//! and serves the exchanges of every unit on it, one at a time.
//!
//! ```text
//!  controller "door" (unit 5) ─ Runner ─ Link ─┐ Exchange { unit, request, timeout, reply }
//!  controller "alarm" (unit 6) ─ Runner ─ Link ─┼──► BusTask ──► /dev/ttyUSB0 (one RTU context)
//!  controller "spare" (unit 7) ─ Runner ─ Link ─┘      ▲ the answer, or why there is none
//! ```
//!
//! Each controller keeps its own runner (poll interval, timeout, retries, backoff, link state,
//! writes and reports); only the wire is shared. [`Buses`] groups the controllers of a plan by
//! device path; a controller alone on its port gets a bus of its own, run inside its adapter's
//! task.
//!
//! Discipline:
//! - **One frame at a time**, and between any two frames on the wire the larger of every
//!   unit's `inter_frame_delay` and the 3.5-character RTU silence.
//! - **Turns**: a write waits for no read (writes of any unit go first); among requests of the
//!   same kind the units take turns round-robin, by unit id, starting after the unit served
//!   last. A runner has at most one request in flight, so every unit with pending work is
//!   served within one turn of the others.
//! - **A silent unit** (timeout) or a garbled answer (wrong unit, bad CRC or count) fails that
//!   exchange only: the unit's own runner retries and, after its retries, reports its link
//!   down. The port stays open; before the next frame the bus drops the RTU context (a partial
//!   frame in its buffers) and discards whatever the port received meanwhile, so a late answer
//!   is not taken for the next unit's. An answer later still carries the wrong unit id and is
//!   refused as garbled (the next unit's runner retries). While one unit is silent, each of its
//!   attempts holds the line for its `timeout`: the other units' cycles slow down, they do not
//!   fail (their timeouts count only their own exchanges).
//! - **A failed port** (I/O error, e.g. a USB adapter pulled) is closed and reopened on the
//!   next exchange; an open that fails answers that exchange with the reason.
//! - The task ends when every controller's link is gone (their adapters stopped); an exchange
//!   whose requester stopped waiting is skipped, or abandoned mid-frame (then the port is
//!   flushed as after a timeout).
//!
//! Controllers sharing a port should have the same serial settings (`railgate check` says so);
//! at run time the first controller's are used and an error names both.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_modbus::client::{Client, Context};
use tokio_modbus::slave::SlaveContext;
use tokio_modbus::{Request, Slave};
use tokio_serial::{SerialPort, SerialStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::attempt::{Attempt, Call, classify, rtu_silence};
use super::config::{ModbusConfig, Transport};

/// Requests queued towards one bus (each runner has at most one in flight).
const QUEUE: usize = 32;

/// Opens the port (again).
type Opener = Box<dyn FnMut() -> Result<SerialStream, String> + Send>;

/// One request of one unit, and where its answer goes.
struct Exchange {
    unit: u8,
    request: Request<'static>,
    timeout: Duration,
    write: bool,
    /// The answer or exception, or why this attempt failed.
    reply: oneshot::Sender<Result<Call, String>>,
}

/// A controller's way onto a shared serial bus.
#[derive(Clone, Debug)]
pub(crate) struct BusHandle {
    requests: mpsc::Sender<Exchange>,
    device: Arc<PathBuf>,
}

impl BusHandle {
    /// One attempt of `request` to `unit`, in its turn on the bus, answered within `limit`
    /// once it is on the wire. `None` if `stop` was cancelled meanwhile.
    pub(crate) async fn exchange(
        &self,
        unit: u8,
        request: &Request<'static>,
        limit: Duration,
        stop: &CancellationToken,
    ) -> Option<Result<Call, String>> {
        let (reply, answer) = oneshot::channel();
        let exchange = Exchange {
            unit,
            request: request.clone(),
            timeout: limit,
            write: is_write(request),
            reply,
        };
        let ended = || format!("the bus task of {} has ended", self.device.display());
        if stop
            .run_until_cancelled(self.requests.send(exchange))
            .await?
            .is_err()
        {
            return Some(Err(ended()));
        }
        Some(
            stop.run_until_cancelled(answer)
                .await?
                .unwrap_or_else(|_| Err(ended())),
        )
    }
}

fn is_write(request: &Request<'_>) -> bool {
    matches!(
        request,
        Request::WriteSingleCoil(..)
            | Request::WriteMultipleCoils(..)
            | Request::WriteSingleRegister(..)
            | Request::WriteMultipleRegisters(..)
            | Request::MaskWriteRegister(..)
            | Request::ReadWriteMultipleRegisters(..)
    )
}

/// Which pending exchange goes next: writes first, then round-robin by unit id after `last`,
/// then the oldest. `pending` gives (unit, is a write) in arrival order.
fn next_turn(pending: impl Iterator<Item = (u8, bool)>, last: Option<u8>) -> Option<usize> {
    let distance = |unit: u8| match last {
        None => unit,
        Some(last) => unit.wrapping_sub(last).wrapping_sub(1),
    };
    pending
        .enumerate()
        .min_by_key(|&(i, (unit, write))| (!write, distance(unit), i))
        .map(|(i, _)| i)
}

/// The task that owns one serial port. Run it with [`BusTask::run`] (the gateway spawns it
/// beside the adapters of its controllers).
pub struct BusTask {
    device: PathBuf,
    gap: Duration,
    units: Vec<u8>,
    opener: Opener,
    requests: mpsc::Receiver<Exchange>,
}

impl std::fmt::Debug for BusTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusTask")
            .field("device", &self.device)
            .field("gap", &self.gap)
            .field("units", &self.units)
            .finish_non_exhaustive()
    }
}

impl BusTask {
    /// The bus of `config`'s serial port, with `config` as its first controller; fails if the
    /// settings cannot exist. Nothing is opened until the first exchange.
    pub(crate) fn open(config: &ModbusConfig) -> Result<(BusTask, BusHandle), String> {
        let Transport::Rtu { device, line } = &config.transport else {
            return Err("not a serial transport".into());
        };
        line.check()?;
        let (path, line) = (device.clone(), *line);
        let opener = Box::new(move || crate::serial::open(&path, &line));
        let gap = config.inter_frame_delay.max(rtu_silence(line.baud));
        Ok(BusTask::with_opener(
            device.clone(),
            gap,
            config.unit,
            opener,
        ))
    }

    fn with_opener(
        device: PathBuf,
        gap: Duration,
        unit: u8,
        opener: Opener,
    ) -> (BusTask, BusHandle) {
        let (tx, requests) = mpsc::channel(QUEUE);
        let handle = BusHandle {
            requests: tx,
            device: Arc::new(device.clone()),
        };
        let task = BusTask {
            device,
            gap,
            units: vec![unit],
            opener,
            requests,
        };
        (task, handle)
    }

    /// The serial device it owns.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// The silence kept between two frames.
    pub fn gap(&self) -> Duration {
        self.gap
    }

    /// Serves exchanges until every controller's link is gone.
    pub async fn run(mut self) {
        info!(
            device = %self.device.display(), units = ?self.units,
            gap_us = self.gap.as_micros() as u64, "serial bus started"
        );
        let mut pending: Vec<Exchange> = Vec::new();
        let mut last: Option<u8> = None;
        let mut port: Option<Port> = None;
        let mut quiet_until: Option<Instant> = None;
        loop {
            if pending.is_empty() {
                match self.requests.recv().await {
                    Some(exchange) => pending.push(exchange),
                    None => break,
                }
            }
            if let Some(quiet) = quiet_until {
                sleep_until(quiet).await;
            }
            // Whatever arrived during the silence takes part in this turn.
            while let Ok(exchange) = self.requests.try_recv() {
                pending.push(exchange);
            }
            pending.retain(|e| !e.reply.is_closed());
            let Some(index) = next_turn(pending.iter().map(|e| (e.unit, e.write)), last) else {
                continue;
            };
            let mut exchange = pending.remove(index);
            last = Some(exchange.unit);
            let result = self.serve(&mut port, &mut exchange).await;
            quiet_until = Some(Instant::now() + self.gap);
            if let Some(result) = result {
                let _ = exchange.reply.send(result);
            }
        }
        info!(device = %self.device.display(), "serial bus stopped");
    }

    /// Puts one exchange on the wire; `None` if its requester stopped waiting.
    async fn serve(
        &mut self,
        port: &mut Option<Port>,
        exchange: &mut Exchange,
    ) -> Option<Result<Call, String>> {
        let open = match port.take() {
            Some(open) => open,
            None => match (self.opener)() {
                Ok(stream) => {
                    debug!(device = %self.device.display(), "serial port opened");
                    Port::new(stream, &self.device)
                }
                Err(e) => return Some(Err(e)),
            },
        };
        let open = port.insert(open);
        if open.dirty {
            open.resync(&self.device);
        }
        open.ctx.set_slave(Slave(exchange.unit));
        let limit = exchange.timeout;
        let outcome = tokio::select! {
            outcome = timeout(limit, open.ctx.call(exchange.request.clone())) => outcome,
            () = exchange.reply.closed() => {
                open.dirty = true;
                return None;
            }
        };
        match classify(&exchange.request, outcome, limit) {
            Attempt::Done(call) => Some(Ok(call)),
            Attempt::Silent(e) | Attempt::Garbled(e) => {
                debug!(device = %self.device.display(), unit = exchange.unit, reason = %e, "exchange failed; flushing the port before the next frame");
                open.dirty = true;
                Some(Err(e))
            }
            Attempt::Failed(e) => {
                warn!(device = %self.device.display(), unit = exchange.unit, reason = %e, "serial port failed; it is reopened for the next exchange");
                *port = None;
                Some(Err(e))
            }
        }
    }
}

/// An open port and the RTU context on it.
struct Port {
    stream: Arc<Mutex<SerialStream>>,
    ctx: Context,
    /// A frame failed or was abandoned: drop the context and flush before the next one.
    dirty: bool,
}

impl Port {
    fn new(stream: SerialStream, device: &Path) -> Port {
        let stream = Arc::new(Mutex::new(stream));
        let mut port = Port {
            ctx: tokio_modbus::client::rtu::attach(SharedPort(stream.clone())),
            stream,
            dirty: true,
        };
        port.resync(device);
        port
    }

    /// A fresh context (nothing half-read or half-written in it) and an empty port.
    fn resync(&mut self, device: &Path) {
        self.ctx = tokio_modbus::client::rtu::attach(SharedPort(self.stream.clone()));
        if let Err(e) = self.stream.lock().clear(tokio_serial::ClearBuffer::All) {
            debug!(device = %device.display(), error = %e, "flushing the serial port failed");
        }
        self.dirty = false;
    }
}

/// The port as the RTU context's transport, while the bus keeps it to flush it. Only the bus
/// task touches it, so the lock is never contended.
struct SharedPort(Arc<Mutex<SerialStream>>);

impl AsyncRead for SharedPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.lock()).poll_read(cx, buf)
    }
}

impl AsyncWrite for SharedPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0.lock()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.lock()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0.lock()).poll_shutdown(cx)
    }
}

/// Groups RTU controllers by serial device: the controllers of one port share one
/// [`BusTask`]. TCP controllers keep a connection each.
#[derive(Debug, Default)]
pub struct Buses {
    buses: Vec<Shared>,
}

#[derive(Debug)]
struct Shared {
    first: ModbusConfig,
    handle: BusHandle,
    task: BusTask,
}

impl Buses {
    /// No bus yet.
    pub fn new() -> Buses {
        Buses::default()
    }

    /// The bus of `config`'s serial device (made by the first controller on it) with
    /// `config`'s unit on it; `None` for a TCP controller, or settings no port can have (its
    /// adapter reports them when it runs). [`Buses::adapter`] makes the adapter.
    pub(crate) fn join(&mut self, config: &ModbusConfig) -> Option<BusHandle> {
        let Transport::Rtu { device, .. } = &config.transport else {
            return None;
        };
        if let Some(shared) = self.buses.iter_mut().find(|b| b.task.device == *device) {
            if shared.first.transport != config.transport {
                error!(
                    device = %device.display(),
                    first = %shared.first.name, first_settings = ?shared.first.transport,
                    controller = %config.name, settings = ?config.transport,
                    "controllers on one serial port disagree on its settings; the port keeps the first one's"
                );
            }
            if shared.task.units.contains(&config.unit) {
                error!(
                    device = %device.display(), unit = config.unit, controller = %config.name,
                    "another controller on this serial port has the same unit id; their answers cannot be told apart"
                );
            }
            shared.task.units.push(config.unit);
            shared.task.gap = shared.task.gap.max(config.inter_frame_delay);
            return Some(shared.handle.clone());
        }
        let (task, handle) = BusTask::open(config).ok()?;
        self.buses.push(Shared {
            first: config.clone(),
            handle: handle.clone(),
            task,
        });
        Some(handle)
    }

    /// The bus tasks to run, one per serial device.
    pub fn into_tasks(self) -> Vec<BusTask> {
        self.buses.into_iter().map(|b| b.task).collect()
    }
}

#[cfg(test)]
mod tests;
