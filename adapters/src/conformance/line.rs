//! A test-only adapter of the **unsolicited line stream** shape (an alarm panel printing
//! event lines on RS-485), and its peer. Not a product protocol: it shows the seam carries
//! this shape, and runs the conformance suite.
//!
//! The made-up protocol, one ASCII line each:
//! - the panel prints `<name>=<0|1>` when a point changes, and every point once when a
//!   connection opens (as real panels print a status dump);
//! - the adapter sends `SET <name>=<0|1>`; the panel answers `OK` (then prints the new state)
//!   or `ERR <reason>`;
//! - anything else, and lines over [`MAX_LINE`] bytes, is garbage: skipped.
//!
//! The "serial port" is an in-memory [`tokio::io::duplex`] pair that [`LineDialer::dial`]
//! opens while the peer is up; stopping the peer drops its end (the adapter reads EOF).

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo, Command, WriteRequest};
use crate::event::WriteError;
use crate::modbus::Backoff;
use crate::point::{PointId, Value};

use super::Peer;
use super::reporter::Reporter;

/// Longest line kept; longer ones are dropped whole.
pub const MAX_LINE: usize = 256;
/// How long the adapter waits for `OK`/`ERR` after a `SET`.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// One point of the line protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinePoint {
    /// The gateway's id.
    pub id: PointId,
    /// The name on the line.
    pub name: String,
    /// Whether `SET` may be sent for it.
    pub writable: bool,
}

/// The line adapter's configuration.
#[derive(Clone, Debug)]
pub struct LineConfig {
    /// Controller name.
    pub name: String,
    /// Its points.
    pub points: Vec<LinePoint>,
    /// Reconnect policy.
    pub backoff: Backoff,
}

#[derive(Debug, Default)]
struct PanelState {
    up: bool,
    values: BTreeMap<String, bool>,
    writable: Vec<String>,
    /// Lines to print, one sender per open connection.
    connections: Vec<mpsc::UnboundedSender<Vec<u8>>>,
    /// Connection tasks still running.
    live: usize,
}

/// The simulated panel's side: the conformance [`Peer`].
#[derive(Clone, Debug, Default)]
pub struct LinePeer {
    state: Arc<Mutex<PanelState>>,
}

/// Opens connections to a [`LinePeer`] (what a serial port's `open` is to a real adapter).
#[derive(Clone, Debug)]
pub struct LineDialer {
    state: Arc<Mutex<PanelState>>,
}

impl LinePeer {
    /// A panel (up) with these points and their start values.
    pub fn new(points: &[(&str, bool, bool)]) -> LinePeer {
        let peer = LinePeer::default();
        {
            let mut s = peer.state.lock();
            s.up = true;
            for &(name, value, writable) in points {
                s.values.insert(name.into(), value);
                if writable {
                    s.writable.push(name.into());
                }
            }
        }
        peer
    }

    /// A dialer for the adapter.
    pub fn dialer(&self) -> LineDialer {
        LineDialer {
            state: self.state.clone(),
        }
    }

    /// Prints `line` (a newline is added) on every open connection.
    pub fn print(&self, line: &[u8]) {
        let mut line = line.to_vec();
        line.push(b'\n');
        self.state
            .lock()
            .connections
            .retain(|c| c.send(line.clone()).is_ok());
    }
}

fn name_of(id: &PointId) -> &str {
    id.0.rsplit('/').next().unwrap_or(&id.0)
}

impl Peer for LinePeer {
    async fn stop(&self) {
        let mut s = self.state.lock();
        s.up = false;
        s.connections.clear();
    }

    async fn restart(&self) -> io::Result<()> {
        self.state.lock().up = true;
        Ok(())
    }

    fn set_input(&self, point: &PointId, value: &Value) -> Result<(), String> {
        let Value::Bool(on) = value else {
            return Err(format!("{point}: the line peer holds bools only"));
        };
        let name = name_of(point);
        self.state.lock().values.insert(name.into(), *on);
        self.print(format!("{name}={}", u8::from(*on)).as_bytes());
        Ok(())
    }

    fn value(&self, point: &PointId) -> Result<Value, String> {
        self.state
            .lock()
            .values
            .get(name_of(point))
            .map(|v| Value::Bool(*v))
            .ok_or_else(|| format!("{point}: not a point of the line peer"))
    }

    fn connections(&self) -> Option<usize> {
        Some(self.state.lock().live)
    }

    async fn garbage(&self) -> Result<bool, String> {
        self.print(b"\xff\xfe\x00 not a line");
        self.print(b"zone1=7");
        self.print(b"=1");
        self.print(b"OK");
        self.print(b"ERR out of the blue");
        self.print(&[b'x'; 4 * MAX_LINE]);
        self.print(b"no-such-point=1");
        Ok(true)
    }
}

impl LineDialer {
    /// Opens a connection: the panel prints every point, then changes as they happen.
    pub fn dial(&self) -> io::Result<DuplexStream> {
        let mut s = self.state.lock();
        if !s.up {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the line panel is off",
            ));
        }
        let (adapter_end, panel_end) = tokio::io::duplex(4096);
        let (tx, rx) = mpsc::unbounded_channel();
        for (name, value) in &s.values {
            let _ = tx.send(format!("{name}={}\n", u8::from(*value)).into_bytes());
        }
        s.connections.push(tx);
        s.live += 1;
        tokio::spawn(serve_panel(self.state.clone(), panel_end, rx));
        Ok(adapter_end)
    }
}

/// One connection, panel side: prints what it is given, answers `SET`s.
async fn serve_panel(
    state: Arc<Mutex<PanelState>>,
    mut end: DuplexStream,
    mut print: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let mut lines = LineBuffer::default();
    let mut chunk = [0u8; 512];
    loop {
        tokio::select! {
            line = print.recv() => match line {
                Some(line) => if end.write_all(&line).await.is_err() { break },
                None => break,
            },
            n = end.read(&mut chunk) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for line in lines.push(chunk.get(..n).unwrap_or_default()) {
                        let answer = answer_set(&state, &line);
                        if end.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                }
            },
        }
    }
    state.lock().live -= 1;
}

fn answer_set(state: &Mutex<PanelState>, line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let Some((name, value)) = text.strip_prefix("SET ").and_then(|t| t.split_once('=')) else {
        return "ERR unknown command\n".into();
    };
    let on = match value {
        "0" => false,
        "1" => true,
        _ => return "ERR bad value\n".into(),
    };
    let mut s = state.lock();
    if !s.writable.iter().any(|w| w == name) {
        return format!("ERR {name} is read-only\n");
    }
    s.values.insert(name.into(), on);
    format!("OK\n{name}={}\n", u8::from(on))
}

/// Splits a byte stream into lines, dropping lines over [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
struct LineBuffer {
    partial: Vec<u8>,
    overlong: bool,
}

impl LineBuffer {
    fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.partial);
                if !std::mem::take(&mut self.overlong) {
                    lines.push(line);
                }
            } else if self.partial.len() >= MAX_LINE {
                self.overlong = true;
                self.partial.clear();
            } else if !self.overlong {
                self.partial.push(b);
            }
        }
        lines
    }
}

/// The adapter: one task, reading lines as they come; writes are `SET` lines answered by
/// `OK`/`ERR`, one at a time.
#[derive(Debug)]
pub struct LineAdapter {
    config: LineConfig,
    dialer: LineDialer,
}

impl LineAdapter {
    /// An adapter for `config`, talking through `dialer`.
    pub fn new(config: LineConfig, dialer: LineDialer) -> LineAdapter {
        LineAdapter { config, dialer }
    }
}

enum End {
    Stopped,
    Broken(String),
}

impl Adapter for LineAdapter {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self, io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let ids = self.config.points.iter().map(|p| p.id.clone()).collect();
        let mut r = Reporter::new(&self.config.name, ids, &self.config.backoff, io, stop);
        loop {
            let end = match self.dialer.dial() {
                Ok(stream) => {
                    r.up().await;
                    self.session(&mut r, stream).await
                }
                Err(e) => End::Broken(e.to_string()),
            };
            match end {
                End::Stopped => break,
                End::Broken(reason) => {
                    r.down(reason.clone()).await;
                    if !r.back_off(|_| WriteError::LinkDown(reason.clone())).await {
                        break;
                    }
                }
            }
        }
        r.finish();
        Ok(())
    }
}

impl LineAdapter {
    async fn session(&self, r: &mut Reporter, mut stream: DuplexStream) -> End {
        let mut lines = LineBuffer::default();
        let mut chunk = [0u8; 512];
        let mut pending: Option<(WriteRequest, Instant)> = None;
        let mut open = true;
        loop {
            let answer_by = pending.as_ref().map(|(_, at)| *at);
            tokio::select! {
                biased;
                () = r.stop.cancelled() => {
                    if let Some((req, _)) = pending.take() {
                        req.answer(Err(WriteError::LinkDown("the adapter is stopping".into())));
                    }
                    return End::Stopped;
                }
                n = stream.read(&mut chunk) => match n {
                    Ok(0) => return self.broken(pending, "the panel closed the line"),
                    Err(e) => return self.broken(pending, &e.to_string()),
                    Ok(n) => {
                        for line in lines.push(chunk.get(..n).unwrap_or_default()) {
                            self.line(r, &line, &mut pending).await;
                        }
                    }
                },
                cmd = r.io.commands.recv(), if open && pending.is_none() => match cmd {
                    Some(Command::Write(req)) => match self.set_line(&req) {
                        Ok(line) => {
                            if let Err(e) = stream.write_all(line.as_bytes()).await {
                                return self.broken(Some((req, Instant::now())), &e.to_string());
                            }
                            pending = Some((req, Instant::now() + ANSWER_WITHIN));
                        }
                        Err(e) => req.answer(Err(e)),
                    },
                    None => open = false,
                },
                () = async { if let Some(at) = answer_by { sleep_until(at).await } }, if answer_by.is_some() => {
                    return self.broken(pending, "the panel did not answer a SET");
                }
            }
        }
    }

    fn broken(&self, pending: Option<(WriteRequest, Instant)>, reason: &str) -> End {
        if let Some((req, _)) = pending {
            req.answer(Err(WriteError::LinkDown(reason.into())));
        }
        End::Broken(reason.into())
    }

    /// The `SET` line for a write, or why there is none.
    fn set_line(&self, req: &WriteRequest) -> Result<String, WriteError> {
        let point = self
            .config
            .points
            .iter()
            .find(|p| p.id == req.id && p.writable)
            .ok_or_else(|| {
                WriteError::NotWritable(format!("{} is not a writable point", req.id))
            })?;
        match req.value {
            Value::Bool(on) => Ok(format!("SET {}={}\n", point.name, u8::from(on))),
            ref other => Err(WriteError::NotWritable(format!(
                "{}: {other:?} is not a bool",
                req.id
            ))),
        }
    }

    async fn line(
        &self,
        r: &mut Reporter,
        line: &[u8],
        pending: &mut Option<(WriteRequest, Instant)>,
    ) {
        let text = String::from_utf8_lossy(line);
        if text == "OK" {
            if let Some((req, _)) = pending.take() {
                req.answer(Ok(()));
            }
            return;
        }
        if let Some(reason) = text.strip_prefix("ERR ") {
            if let Some((req, _)) = pending.take() {
                req.answer(Err(WriteError::Refused(reason.into())));
            }
            return;
        }
        let Some((name, value)) = text.split_once('=') else {
            return;
        };
        let on = match value {
            "0" => false,
            "1" => true,
            _ => return,
        };
        let Some(index) = self.config.points.iter().position(|p| p.name == name) else {
            return;
        };
        r.reading(index, Value::Bool(on)).await;
    }
}
