//! The line-protocol adapter (feature `runtime`): a [`LineProtocol`] spoken over a serial
//! port or a TCP socket.
//!
//! One task per controller. It opens the transport (reconnecting with backoff, see
//! `crate::backoff`), calls [`Decoder::gap`] on every new connection, and then:
//! - every decoded frame's outcomes become point updates: an input state a `Value::Bool`
//!   (reported on change), a value a `Value::U16` (the codec's `f64` must be a whole number
//!   in 0..=65535, the only numeric `Value` the seam has; anything else is dropped and logged
//!   at DEBUG), an event a `Value::Record` (on every occurrence);
//! - bad checksums and unmatched frames are counted and logged at DEBUG, never events;
//! - writes (`Command::Write`) are looked up in [`LineWrite`]s (point + value → command and
//!   parameters), rendered, sent, and answered by the command's acknowledgement (an
//!   [`Outcome::Nak`] → `WriteError::Refused(reason)`, no answer within the template's timeout
//!   → `WriteError::LinkDown`). One command at a time is on the line, with at least
//!   [`LineConfig::inter_frame`] between two frames sent. After a timeout the line is held
//!   for one more timeout: the first answer fitting the late command in that window is
//!   dropped, so a late acknowledgement is never taken for the next command's (the serial
//!   bus's "flush after a timeout", without discarding the panel's events);
//! - with [`Supervision`], its command is sent every period and the link is up only once the
//!   panel has said something sensible, and down (the connection closed and reopened) after
//!   the silence it allows. Without it, the link is up as soon as the transport opens.
//!
//! Parameters of a write (a disarm code) are never logged: the DEBUG line of a sent frame
//! names the command only.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::Params;
use super::command::answers;
use super::decoder::{Decoded, Decoder, show};
pub use super::link::LineWrite;
use super::link::{LineEndpoint, LineLink};
use super::protocol::LineProtocol;
use super::rules::Outcome;
use crate::adapter::{Adapter, AdapterError, AdapterIo, Command, WriteRequest};
use crate::backoff::ReconnectDelays;
use crate::event::{LinkEvent, LinkState, WriteError};
use crate::modbus::Backoff;
use crate::point::{PointId, PointUpdate, Quality, Value};
use crate::serial::LineSettings;
use crate::stats::LinkStats;

/// A byte stream the adapter can speak over.
pub trait LineStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> LineStream for T {}

/// A boxed open connection.
pub type BoxedStream = Box<dyn LineStream>;
/// Opens a connection (for tests and embedders: any stream).
pub type Opener =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = io::Result<BoxedStream>> + Send>> + Send + Sync>;

/// Where the panel is.
#[derive(Clone)]
pub enum LineTransport {
    /// A serial device with its line settings.
    Serial {
        /// The device node, e.g. `/dev/ttyUSB0`.
        device: PathBuf,
        /// Baud, parity, data and stop bits.
        line: LineSettings,
    },
    /// A TCP socket (a serial-to-Ethernet converter, a panel's IP module).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// Anything else that opens a byte stream.
    Custom(Opener),
}

impl std::fmt::Debug for LineTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineTransport::Serial { device, line } => f
                .debug_struct("Serial")
                .field("device", device)
                .field("line", line)
                .finish(),
            LineTransport::Tcp { host, port } => write!(f, "Tcp({host}:{port})"),
            LineTransport::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl LineTransport {
    async fn open(&self) -> io::Result<BoxedStream> {
        match self {
            LineTransport::Serial { device, line } => {
                let port = crate::serial::open(device, line).map_err(io::Error::other)?;
                Ok(Box::new(port))
            }
            LineTransport::Tcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                let _ = stream.set_nodelay(true);
                Ok(Box::new(stream))
            }
            LineTransport::Custom(open) => open().await,
        }
    }
}

/// The line adapter's whole configuration.
#[derive(Clone, Debug)]
pub struct LineConfig {
    /// Controller name (the link's name in link events).
    pub name: String,
    /// Where the panel is.
    pub transport: LineTransport,
    /// What it speaks.
    pub protocol: LineProtocol,
    /// Points that may be written, and how.
    pub writes: Vec<LineWrite>,
    /// Least time between two frames sent.
    pub inter_frame: Duration,
    /// Reconnect policy.
    pub backoff: Backoff,
    /// Commands sent once per connection when the link comes up (see [`LineLink`]).
    pub on_connect: Vec<String>,
}

/// The adapter.
#[derive(Debug)]
pub struct LineAdapter {
    config: LineConfig,
    stats: Arc<LinkStats>,
}

impl LineAdapter {
    /// The adapter of a compiled line controller.
    pub fn from_link(link: LineLink) -> LineAdapter {
        let transport = match link.endpoint {
            LineEndpoint::Serial { device, line } => LineTransport::Serial { device, line },
            LineEndpoint::Tcp { host, port } => LineTransport::Tcp { host, port },
        };
        LineAdapter::new(LineConfig {
            name: link.name,
            transport,
            protocol: link.protocol,
            writes: link.writes,
            inter_frame: link.inter_frame,
            backoff: link.backoff,
            on_connect: link.on_connect,
        })
    }

    /// An adapter for `config`; the protocol is checked when it runs.
    pub fn new(config: LineConfig) -> LineAdapter {
        LineAdapter {
            config,
            stats: Arc::default(),
        }
    }

    /// The link's counters (frames sent as requests; acknowledgement timeouts; refused,
    /// unacknowledged or unwritable commands as failures; no retries: a command is sent once).
    pub fn stats(&self) -> Arc<LinkStats> {
        self.stats.clone()
    }
}

enum End {
    Stopped,
    Broken(String),
}

struct Pending {
    req: WriteRequest,
    key: Option<String>,
    sent: Instant,
    by: Instant,
    command: String,
}

/// A command whose acknowledgement did not come in time: until `until` (one more ack
/// timeout) nothing is sent, and the first answer that fits it is its late answer, dropped,
/// never taken for the next command's.
struct Late {
    key: Option<String>,
    until: Instant,
    command: String,
}

struct State {
    name: String,
    reported: Option<LinkState>,
    /// Last state of every point reported good this session (inputs and values).
    last: BTreeMap<PointId, Value>,
    io: AdapterIo,
    stop: CancellationToken,
}

impl State {
    async fn link(&mut self, state: LinkState, reason: Option<String>) {
        if self.reported == Some(state) {
            return;
        }
        self.reported = Some(state);
        match state {
            LinkState::Up => tracing::info!(link = %self.name, "line link up"),
            LinkState::Down => {
                tracing::warn!(link = %self.name, reason = reason.as_deref().unwrap_or(""), "line link down")
            }
        }
        let event = LinkEvent {
            link: self.name.clone(),
            state,
            reason,
        };
        self.io.link(event, &self.stop).await;
        if state == LinkState::Down {
            let last = std::mem::take(&mut self.last);
            for (id, value) in last {
                self.io
                    .point(update(id, value, Quality::Stale), &self.stop)
                    .await;
            }
        }
    }

    async fn state(&mut self, id: PointId, value: Value) {
        if self.last.get(&id) == Some(&value) {
            return;
        }
        self.last.insert(id.clone(), value.clone());
        self.io
            .point(update(id, value, Quality::Good), &self.stop)
            .await;
    }

    async fn occurrence(&mut self, id: PointId, value: Value) {
        self.io
            .point(update(id, value, Quality::Good), &self.stop)
            .await;
    }
}

fn update(id: PointId, value: Value, quality: Quality) -> PointUpdate {
    PointUpdate {
        id,
        value,
        quality,
        at: SystemTime::now(),
    }
}

/// A codec value as the seam's only number: a whole number in 0..=65535.
pub fn numeric_value(value: f64) -> Option<Value> {
    let fits = value.is_finite() && value.fract() == 0.0 && (0.0..=65535.0).contains(&value);
    // Checked just above: whole and in range, so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    if fits {
        Some(Value::U16(value as u16))
    } else {
        None
    }
}

impl Adapter for LineAdapter {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self, io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        self.config
            .protocol
            .check()
            .map_err(|e| AdapterError::Config(format!("{}: {e}", self.config.name)))?;
        if let Some(name) = self
            .config
            .on_connect
            .iter()
            .find(|n| self.config.protocol.command(n).is_none())
        {
            return Err(AdapterError::Config(format!(
                "{}: on-connect command {name:?} is not a command of the protocol",
                self.config.name
            )));
        }
        for w in &self.config.writes {
            if !w.command.is_empty() && self.config.protocol.command(&w.command).is_none() {
                return Err(AdapterError::Config(format!(
                    "{}: write of {} names no command {:?}",
                    self.config.name, w.point, w.command
                )));
            }
        }
        let mut st = State {
            name: self.config.name.clone(),
            reported: None,
            last: BTreeMap::new(),
            io,
            stop,
        };
        let mut delays = ReconnectDelays::new(&self.config.backoff);
        let mut decoder = Decoder::new(&self.config.protocol);
        let mut last_error: Option<String> = None;
        loop {
            let end = match self.config.transport.open().await {
                Ok(stream) => {
                    last_error = None;
                    decoder.gap();
                    self.session(&mut st, &mut decoder, &mut delays, stream)
                        .await
                }
                Err(e) => {
                    let reason = format!("cannot open {:?}: {e}", self.config.transport);
                    if last_error.as_deref() != Some(reason.as_str()) {
                        tracing::warn!(link = %st.name, "{reason}");
                    }
                    last_error = Some(reason.clone());
                    End::Broken(reason)
                }
            };
            match end {
                End::Stopped => break,
                End::Broken(reason) => {
                    st.link(LinkState::Down, Some(reason.clone())).await;
                    if !wait(&mut st, delays.next_delay(), &reason).await {
                        break;
                    }
                }
            }
        }
        st.io.refuse_queued("the adapter stopped");
        Ok(())
    }
}

/// Waits out a backoff delay, refusing writes; false when stopped.
async fn wait(st: &mut State, delay: Duration, reason: &str) -> bool {
    let until = tokio::time::sleep(delay);
    tokio::pin!(until);
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            () = st.stop.cancelled() => return false,
            cmd = st.io.commands.recv(), if open => match cmd {
                Some(Command::Write(req)) => req.answer(Err(WriteError::LinkDown(reason.into()))),
                None => open = false,
            },
            () = &mut until => return true,
        }
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl LineAdapter {
    async fn session(
        &self,
        st: &mut State,
        decoder: &mut Decoder,
        delays: &mut ReconnectDelays,
        mut stream: BoxedStream,
    ) -> End {
        let protocol = &self.config.protocol;
        let supervision = protocol.supervision.clone();
        let mut up = supervision.is_none();
        if up {
            delays.reset();
            st.link(LinkState::Up, None).await;
        }
        let now = Instant::now();
        let mut silent_by = supervision.as_ref().map(|s| now + s.silence);
        let mut poll_at = supervision
            .as_ref()
            .filter(|s| s.command.is_some())
            .map(|_| now);
        let mut pending: Option<Pending> = None;
        let mut late: Option<Late> = None;
        let mut next_send = now;
        // Sent once the link is up, one at a time, before writes.
        let mut greetings: std::collections::VecDeque<String> =
            self.config.on_connect.iter().cloned().collect();
        let mut chunk = [0u8; 1024];
        let mut open = true;
        loop {
            let ack_by = pending.as_ref().map(|p| p.by);
            let late_until = late.as_ref().map(|l| l.until);
            let can_send = pending.is_none() && late.is_none();
            tokio::select! {
                biased;
                () = st.stop.cancelled() => {
                    if let Some(p) = pending.take() {
                        p.req.answer(Err(WriteError::LinkDown("the adapter is stopping".into())));
                    }
                    return End::Stopped;
                }
                n = stream.read(&mut chunk) => {
                    let n = match n {
                        Ok(0) => return broken(pending, "the line closed".into()),
                        Err(e) => return broken(pending, format!("read: {e}")),
                        Ok(n) => n,
                    };
                    for decoded in decoder.push(chunk.get(..n).unwrap_or_default()) {
                        if decoded.is_sign_of_life() {
                            if let (Some(s), Some(by)) = (&supervision, silent_by.as_mut()) {
                                *by = Instant::now() + s.silence;
                            }
                            if !up {
                                up = true;
                                delays.reset();
                                st.link(LinkState::Up, None).await;
                            }
                        }
                        self.decoded(st, decoded, &mut pending, &mut late).await;
                    }
                }
                () = sleep_opt(ack_by) => {
                    if let Some(p) = pending.take() {
                        tracing::debug!(link = %st.name, command = %p.command, "no acknowledgement in time");
                        self.stats.timeout();
                        self.stats.failure();
                        let timeout = p.by.saturating_duration_since(p.sent);
                        late = Some(Late { key: p.key, until: Instant::now() + timeout, command: p.command.clone() });
                        p.req.answer(Err(WriteError::LinkDown(format!(
                            "the panel did not acknowledge {} in time", p.command
                        ))));
                    }
                }
                () = sleep_opt(late_until) => {
                    late = None;
                }
                () = sleep_opt(silent_by) => {
                    return broken(pending, "the panel is silent (supervision)".into());
                }
                () = sleep_opt(poll_at.map(|at| at.max(next_send))), if can_send => {
                    let (Some(s), Some(name)) = (&supervision, supervision.as_ref().and_then(|s| s.command.clone())) else {
                        poll_at = None;
                        continue;
                    };
                    poll_at = Some(Instant::now() + s.every);
                    match protocol.render(&name, &Params::new()) {
                        Ok(bytes) => {
                            if let Err(e) = send(&mut stream, &bytes, &self.stats).await {
                                return broken(pending, format!("write: {e}"));
                            }
                            next_send = Instant::now() + self.config.inter_frame;
                        }
                        Err(e) => tracing::debug!(link = %st.name, "supervision command: {e}"),
                    }
                }
                () = sleep_until(next_send), if can_send && up && !greetings.is_empty() => {
                    let Some(name) = greetings.pop_front() else { continue };
                    match protocol.render(&name, &Params::new()) {
                        Ok(bytes) => {
                            if let Err(e) = send(&mut stream, &bytes, &self.stats).await {
                                return broken(pending, format!("write: {e}"));
                            }
                            tracing::debug!(link = %st.name, command = %name, "on-connect command sent");
                            next_send = Instant::now() + self.config.inter_frame;
                        }
                        Err(e) => tracing::debug!(link = %st.name, "on-connect command {name}: {e}"),
                    }
                }
                () = sleep_until(next_send), if can_send && open && Instant::now() < next_send => {}
                cmd = st.io.commands.recv(), if can_send && open && greetings.is_empty() && Instant::now() >= next_send => match cmd {
                    None => open = false,
                    Some(Command::Write(req)) => {
                        if !up {
                            req.answer(Err(WriteError::LinkDown("the panel has not answered yet".into())));
                            continue;
                        }
                        if self.sends_nothing(&req) {
                            // A momentary output going idle by itself: nothing to send.
                            req.answer(Ok(()));
                            continue;
                        }
                        match self.frame_for(&req) {
                            Err(e) => req.answer(Err(e)),
                            Ok((bytes, command, key, timeout)) => {
                                if let Err(e) = send(&mut stream, &bytes, &self.stats).await {
                                    let reason = format!("write: {e}");
                                    req.answer(Err(WriteError::LinkDown(reason.clone())));
                                    return broken(pending, reason);
                                }
                                tracing::debug!(link = %st.name, %command, "command sent");
                                next_send = Instant::now() + self.config.inter_frame;
                                match timeout {
                                    Some(t) => {
                                        let sent = Instant::now();
                                        pending = Some(Pending { req, key, by: sent + t, sent, command });
                                    }
                                    None => req.answer(Ok(())),
                                }
                            }
                        }
                    }
                },
            }
        }
    }

    /// Whether the write's case has no command (see [`LineWrite::command`]).
    fn sends_nothing(&self, req: &WriteRequest) -> bool {
        self.config
            .writes
            .iter()
            .any(|w| w.point == req.id && w.value == req.value && w.command.is_empty())
    }

    /// Bytes, command name, ack key and ack timeout for a write.
    #[allow(clippy::type_complexity)]
    fn frame_for(
        &self,
        req: &WriteRequest,
    ) -> Result<(Vec<u8>, String, Option<String>, Option<Duration>), WriteError> {
        let mut of_point = self
            .config
            .writes
            .iter()
            .filter(|w| w.id_is(&req.id))
            .peekable();
        if of_point.peek().is_none() {
            return Err(WriteError::NotWritable(format!(
                "{} is not a writable point of {}",
                req.id, self.config.name
            )));
        }
        let write = of_point.find(|w| w.value == req.value).ok_or_else(|| {
            WriteError::NotWritable(format!("{}: no command for {:?}", req.id, req.value))
        })?;
        let protocol = &self.config.protocol;
        let template = protocol
            .command(&write.command)
            .ok_or_else(|| WriteError::NotWritable(format!("no command {}", write.command)))?;
        let bytes = protocol
            .render(&write.command, &write.params)
            .map_err(|e| WriteError::NotWritable(format!("{}: {e}", write.command)))?;
        let key = template
            .ack_key(&write.params)
            .map_err(|e| WriteError::NotWritable(format!("{}: {e}", write.command)))?;
        let timeout = template.ack.as_ref().map(|a| a.timeout);
        Ok((bytes, write.command.clone(), key, timeout))
    }

    async fn decoded(
        &self,
        st: &mut State,
        decoded: Decoded,
        pending: &mut Option<Pending>,
        late: &mut Option<Late>,
    ) {
        match decoded {
            Decoded::BadChecksum { body, error } => {
                tracing::debug!(link = %st.name, frame = %show(&body), "bad checksum: {error}");
            }
            Decoded::Unmatched { message, why } => {
                tracing::debug!(link = %st.name, frame = %show(&message), why = why.as_deref().unwrap_or("no rule"), "unmatched frame");
            }
            Decoded::Matched { rule, outcomes } => {
                for outcome in outcomes {
                    match outcome {
                        Outcome::InputState { point, state } => {
                            st.state(point, Value::Bool(state)).await;
                        }
                        Outcome::Value { point, value } => match numeric_value(value) {
                            Some(v) => st.state(point, v).await,
                            None => {
                                tracing::debug!(link = %st.name, %rule, %point, value, "value is not a whole number in 0..=65535: dropped")
                            }
                        },
                        Outcome::Event { topic, items } => {
                            st.occurrence(PointId(topic), Value::Record(items)).await;
                        }
                        answer @ (Outcome::Ack { .. } | Outcome::Nak { .. }) => {
                            if let Some(l) = late.as_ref()
                                && answers(l.key.as_deref(), &answer).is_some()
                            {
                                tracing::debug!(link = %st.name, command = %l.command, "late acknowledgement dropped");
                                *late = None;
                                continue;
                            }
                            let Some(p) = pending.take() else { continue };
                            match answers(p.key.as_deref(), &answer) {
                                Some(Ok(())) => p.req.answer(Ok(())),
                                Some(Err(reason)) => {
                                    self.stats.failure();
                                    p.req.answer(Err(WriteError::Refused(reason)));
                                }
                                None => *pending = Some(p),
                            }
                        }
                    }
                }
            }
        }
    }
}

impl LineWrite {
    fn id_is(&self, id: &PointId) -> bool {
        &self.point == id
    }
}

/// Sends one frame; counted as a request (and a failure if it cannot be written).
async fn send(stream: &mut BoxedStream, bytes: &[u8], stats: &LinkStats) -> io::Result<()> {
    stats.request(false);
    if let Err(e) = stream.write_all(bytes).await {
        stats.failure();
        return Err(e);
    }
    stream.flush().await
}

fn broken(pending: Option<Pending>, reason: String) -> End {
    if let Some(p) = pending {
        p.req.answer(Err(WriteError::LinkDown(reason.clone())));
    }
    End::Broken(reason)
}
