//! The task that owns one raw serial port, and the exchange rules it serves.
//!
//! ```text
//!  SendReceiveSerialCommand ─► PortHandle ─ Message ─► PortTask ──► /dev/ttyUSB1
//!                                 ▲ the bytes read, or why there are none
//! ```
//!
//! One exchange at a time, in arrival order ([`exchange`]):
//! 1. discard whatever the port received since the last exchange (a late answer to an
//!    earlier command is not taken for this one's);
//! 2. write the data (if any), within [`WRITE_LIMIT`];
//! 3. read until the first of: `length` bytes (exactly that many are returned), the
//!    delimiter (a sequence of one or more bytes, matched as a whole, returned with the data),
//!    or the wait is over (whatever arrived is returned, possibly nothing). A zero wait
//!    answers at once without reading.
//!
//! An exchange whose requester stopped waiting before its turn is skipped (nothing is
//! written for it), and one abandoned mid-way is dropped.
//!
//! The port is opened when the task starts. An I/O error closes it; it is reopened with
//! backoff (500 ms doubling to 30 s, [`crate::modbus::Backoff`]'s defaults) while idle, and an
//! exchange on a closed port tries to open it once at once: a USB adapter pulled and
//! plugged back works again without a restart. [`PortHandle::configure`] applies new line
//! settings to the open port, and keeps them for every later open.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_serial::{SerialPort, SerialStream};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::LineSettings;
use crate::backoff::ReconnectDelays;
use crate::modbus::Backoff;

/// How long to read when the client gives no time and no end condition.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(1);
/// The longest wait railgate holds a request for (a client's longer TimeOut, or no TimeOut
/// with an end condition, is cut to this).
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// The most bytes one exchange reads (a longer DataLength is refused).
pub const MAX_READ: usize = 64 * 1024;
/// The longest delimiter, in bytes.
pub const MAX_DELIMITER: usize = 32;
/// How long writing the data may take before the exchange fails.
const WRITE_LIMIT: Duration = Duration::from_secs(2);
/// Requests queued towards one port.
const QUEUE: usize = 16;

/// When reading stops early.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Until {
    /// After this many bytes (exactly these are returned).
    pub length: Option<usize>,
    /// After this byte sequence (returned with the data before it).
    pub delimiter: Option<Vec<u8>>,
}

impl Until {
    /// Whether either condition is set.
    pub fn is_set(&self) -> bool {
        self.length.is_some() || self.delimiter.is_some()
    }

    /// How much of `buf` is the answer, if it is complete. `searched` bytes at its start
    /// were already searched for the delimiter.
    fn complete(&self, buf: &[u8], searched: usize) -> Option<usize> {
        let by_delimiter = self.delimiter.as_deref().and_then(|d| {
            if d.is_empty() || buf.len() < d.len() {
                return None;
            }
            let from = searched.saturating_sub(d.len() - 1);
            buf[from..]
                .windows(d.len())
                .position(|w| w == d)
                .map(|i| from + i + d.len())
        });
        let by_length = self.length.filter(|&n| buf.len() >= n);
        match (by_delimiter, by_length) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// One command: what to send, and how to read the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Written first (nothing is written when empty).
    pub data: Vec<u8>,
    /// When reading stops before the wait is over.
    pub until: Until,
    /// The longest time to read after writing; zero: answer at once without reading.
    pub wait: Duration,
}

/// Why an exchange or a configuration failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The port cannot be opened (device missing, busy, no permission).
    #[error("{0}")]
    Unavailable(String),
    /// The port failed during the exchange; it is reopened.
    #[error("{0}")]
    Io(String),
    /// The settings cannot be put on the port.
    #[error("{0}")]
    Settings(String),
    /// The port task has ended (the gateway is stopping).
    #[error("the serial port task has ended")]
    Stopped,
}

/// Writes `x.data` to `stream` and reads its answer by the rules of the module doc (the
/// caller has discarded stale input). Returns the answer; an I/O error ends the exchange.
pub async fn exchange<S>(stream: &mut S, x: &Exchange) -> io::Result<Vec<u8>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if !x.data.is_empty() {
        let write = async {
            stream.write_all(&x.data).await?;
            stream.flush().await
        };
        match timeout(WRITE_LIMIT, write).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the data could not be written in time",
                ));
            }
        }
    }
    let mut buf = Vec::new();
    if x.wait.is_zero() || x.until.length == Some(0) {
        return Ok(buf);
    }
    let deadline = Instant::now() + x.wait;
    let mut chunk = [0u8; 1024];
    loop {
        let room = MAX_READ.saturating_sub(buf.len()).min(chunk.len());
        if room == 0 {
            return Ok(buf);
        }
        let read = tokio::select! {
            read = stream.read(&mut chunk[..room]) => read?,
            () = sleep_until(deadline) => return Ok(buf),
        };
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the serial port was closed",
            ));
        }
        let searched = buf.len();
        buf.extend_from_slice(&chunk[..read]);
        if let Some(end) = x.until.complete(&buf, searched) {
            buf.truncate(end);
            return Ok(buf);
        }
    }
}

/// Opens the port (again) with the given settings.
type Opener = Box<dyn FnMut(&LineSettings) -> Result<SerialStream, String> + Send>;

enum Message {
    Exchange(Exchange, oneshot::Sender<Result<Vec<u8>, PortError>>),
    Configure(LineSettings, oneshot::Sender<Result<(), PortError>>),
}

/// The way to a port task.
#[derive(Clone, Debug)]
pub struct PortHandle {
    requests: mpsc::Sender<Message>,
    device: Arc<PathBuf>,
}

impl PortHandle {
    /// The device the task owns.
    pub fn device(&self) -> &Path {
        &self.device
    }

    /// Carries out one exchange, in its turn.
    pub async fn exchange(&self, x: Exchange) -> Result<Vec<u8>, PortError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Message::Exchange(x, reply))
            .await
            .map_err(|_| PortError::Stopped)?;
        answer.await.unwrap_or(Err(PortError::Stopped))
    }

    /// Puts new line settings on the port (now if it is open, and at every later open).
    pub async fn configure(&self, line: LineSettings) -> Result<(), PortError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Message::Configure(line, reply))
            .await
            .map_err(|_| PortError::Stopped)?;
        answer.await.unwrap_or(Err(PortError::Stopped))
    }
}

/// The task that owns one raw serial port (see the module doc).
pub struct PortTask {
    device: PathBuf,
    line: LineSettings,
    opener: Opener,
    requests: mpsc::Receiver<Message>,
    port: Option<SerialStream>,
    delays: ReconnectDelays,
    next_open: Instant,
    /// The last open failed (its warning was logged).
    failing: bool,
}

impl std::fmt::Debug for PortTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortTask")
            .field("device", &self.device)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl PortTask {
    /// The task of `device` with `line` settings, and its handle. Nothing is opened before
    /// [`PortTask::run`].
    pub fn new(device: PathBuf, line: LineSettings) -> (PortTask, PortHandle) {
        let path = device.clone();
        let opener: Opener = Box::new(move |line: &LineSettings| super::open(&path, line));
        PortTask::with_opener(device, line, opener)
    }

    fn with_opener(device: PathBuf, line: LineSettings, opener: Opener) -> (PortTask, PortHandle) {
        let (tx, requests) = mpsc::channel(QUEUE);
        let handle = PortHandle {
            requests: tx,
            device: Arc::new(device.clone()),
        };
        let task = PortTask {
            device,
            line,
            opener,
            requests,
            port: None,
            delays: ReconnectDelays::new(&Backoff::default()),
            next_open: Instant::now(),
            failing: false,
        };
        (task, handle)
    }

    /// Serves exchanges until `stop` is cancelled or every handle is gone.
    pub async fn run(mut self, stop: CancellationToken) {
        info!(device = %self.device.display(), "serial port task started");
        let _ = self.open();
        loop {
            let reopen = self.port.is_none().then_some(self.next_open);
            let message = tokio::select! {
                () = stop.cancelled() => break,
                m = self.requests.recv() => match m {
                    Some(m) => m,
                    None => break,
                },
                () = sleep_until(reopen.unwrap_or_else(Instant::now)), if reopen.is_some() => {
                    let _ = self.open();
                    continue;
                }
            };
            match message {
                Message::Exchange(x, mut reply) => {
                    // A requester that stopped waiting (its client went away) gets nothing
                    // written for it: a raw command is never sent late.
                    if reply.is_closed() {
                        continue;
                    }
                    let result = tokio::select! {
                        r = self.serve(&x) => r,
                        () = stop.cancelled() => Err(PortError::Stopped),
                        // Abandoned mid-exchange: the rest of its answer is discarded before
                        // the next one.
                        () = reply.closed() => continue,
                    };
                    let _ = reply.send(result);
                }
                Message::Configure(line, reply) => {
                    let _ = reply.send(self.configure(line));
                }
            }
        }
        info!(device = %self.device.display(), "serial port task stopped");
    }

    /// Opens the port if it is closed; on failure schedules the next attempt.
    fn open(&mut self) -> Result<(), PortError> {
        if self.port.is_some() {
            return Ok(());
        }
        match (self.opener)(&self.line) {
            Ok(stream) => {
                info!(device = %self.device.display(), "serial port opened");
                self.failing = false;
                self.port = Some(stream);
                self.delays.reset();
                Ok(())
            }
            Err(e) => {
                let delay = self.delays.next_delay();
                let retry_ms = delay.as_millis() as u64;
                // Once per outage at WARN (the first failed open), then at DEBUG.
                if self.failing {
                    tracing::debug!(device = %self.device.display(), error = %e, retry_ms, "serial port still cannot be opened");
                } else {
                    warn!(device = %self.device.display(), error = %e, retry_ms, "serial port cannot be opened; retrying with backoff");
                    self.failing = true;
                }
                self.next_open = Instant::now() + delay;
                Err(PortError::Unavailable(e))
            }
        }
    }

    async fn serve(&mut self, x: &Exchange) -> Result<Vec<u8>, PortError> {
        self.open()?;
        let Some(port) = self.port.as_mut() else {
            return Err(PortError::Unavailable("the port is closed".into()));
        };
        if let Err(e) = port.clear(tokio_serial::ClearBuffer::Input) {
            tracing::debug!(device = %self.device.display(), error = %e, "discarding pending input failed");
        }
        match exchange(port, x).await {
            Ok(data) => Ok(data),
            Err(e) => {
                warn!(device = %self.device.display(), error = %e, "serial port failed; it is reopened");
                self.port = None;
                self.next_open = Instant::now() + self.delays.next_delay();
                Err(PortError::Io(format!("{}: {e}", self.device.display())))
            }
        }
    }

    fn configure(&mut self, line: LineSettings) -> Result<(), PortError> {
        line.check().map_err(PortError::Settings)?;
        if line.rs485 != self.line.rs485 && self.port.is_some() {
            // The RS-485 mode is set before the port is opened (see `serial::open`): close it
            // and open it with the new settings, or else as it was.
            self.port = None;
            match (self.opener)(&line) {
                Ok(stream) => self.port = Some(stream),
                Err(e) => {
                    self.port = (self.opener)(&self.line).ok();
                    return Err(PortError::Settings(e));
                }
            }
        }
        if let Some(port) = self.port.as_mut() {
            let applied = (|| {
                port.set_baud_rate(line.baud)?;
                port.set_parity(super::parity(line.parity))?;
                port.set_data_bits(super::data_bits(line.data_bits).map_err(|e| {
                    tokio_serial::Error::new(tokio_serial::ErrorKind::InvalidInput, e)
                })?)?;
                port.set_stop_bits(super::stop_bits(line.stop_bits).map_err(|e| {
                    tokio_serial::Error::new(tokio_serial::ErrorKind::InvalidInput, e)
                })?)
            })();
            if let Err(e) = applied {
                // Put the old settings back as far as they go; the port stays as it was.
                let old = self.line;
                let _ = port.set_baud_rate(old.baud);
                let _ = port.set_parity(super::parity(old.parity));
                return Err(PortError::Settings(format!(
                    "{}: the port refuses the settings: {e}",
                    self.device.display()
                )));
            }
        }
        info!(device = %self.device.display(), baud = line.baud, parity = ?line.parity, data_bits = line.data_bits, stop_bits = line.stop_bits, rs485 = %line.rs485, "serial port configured");
        self.line = line;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
