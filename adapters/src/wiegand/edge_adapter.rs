//! [`EdgeAdapter`]: a Wiegand reader wired to two GPIO lines, behind the [`Adapter`] seam.
//!
//! Generic over where the edges come from ([`OpenEdges`] → [`EdgeSource`]): on a device, the
//! Linux GPIO character device (`gpio::GpioEdges`, falling edges of D0/D1 with the kernel's
//! timestamps); in tests, a recorded edge sequence ([`Recording`], the
//! `adapters/tests/data/wiegand/*.txt` format) goes through the same adapter code. Edges go
//! into [`Framer`]; each frame is decoded with the reader's format into a
//! [`Value::Record`] (`Format`, `FacilityCode`, `CardNumber`, `Bits`, `BitCount`) on its card
//! point. Noise, dropped frames and reads that do not decode are counted and logged at DEBUG,
//! never events. The link is `Up` while the source is open; a source that fails is `Down` and
//! reopened with backoff. Nothing is writable (`WriteError::NotWritable`).

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo, Command};
use crate::backoff::ReconnectDelays;
use crate::event::{LinkEvent, WriteError};
use crate::modbus::Backoff;
use crate::point::{PointId, PointUpdate, Quality, Value};

use super::edges::{Edge, Framed, Framer, FramerConfig, RecordingError, parse_recording};
use super::{Format, decode};

/// A source of falling edges.
pub trait EdgeSource: Send + 'static {
    /// The next falling edge; `Ok(None)` when the source ended (a recording played out).
    fn next_edge(&mut self) -> impl Future<Output = io::Result<Option<Edge>>> + Send;
    /// The clock of the edges' timestamps, now (ns).
    fn now_ns(&self) -> u64;
}

/// Opens an [`EdgeSource`] (again, after a failure).
pub trait OpenEdges: Send + Sync + 'static {
    /// The source it opens.
    type Source: EdgeSource;
    /// Opens it.
    fn open(&mut self) -> io::Result<Self::Source>;
}

/// A Wiegand reader on edges.
#[derive(Clone, Debug)]
pub struct EdgeConfig {
    /// The controller name.
    pub name: String,
    /// The reader token (logs).
    pub reader: String,
    /// The cards' format.
    pub format: Format,
    /// The framer's timing.
    pub framer: FramerConfig,
    /// The point card reads are reported on.
    pub card: PointId,
    /// Reopen delays.
    pub backoff: Backoff,
}

/// The edge-source adapter.
#[derive(Debug)]
pub struct EdgeAdapter<O> {
    config: EdgeConfig,
    open: O,
    dropped: Arc<AtomicU64>,
}

impl<O: OpenEdges> EdgeAdapter<O> {
    /// An adapter reading `config`'s reader through `open`.
    pub fn new(config: EdgeConfig, open: O) -> EdgeAdapter<O> {
        EdgeAdapter {
            config,
            open,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Frames dropped or not decoded (shared counter).
    pub fn dropped(&self) -> Arc<AtomicU64> {
        self.dropped.clone()
    }
}

impl<O: OpenEdges> EdgeAdapter<O> {
    async fn framed(&self, io: &AdapterIo, stop: &CancellationToken, framed: Framed) {
        let c = &self.config;
        match framed {
            Framed::Frame(frame) => match decode(&frame.bits, c.format) {
                Ok(card) => {
                    let fields = card.record();
                    tracing::debug!(controller = %c.name, reader = %c.reader, card = ?fields, "card read");
                    io.point(
                        PointUpdate {
                            id: c.card.clone(),
                            value: Value::Record(fields),
                            quality: Quality::Good,
                            at: SystemTime::now(),
                        },
                        stop,
                    )
                    .await;
                }
                Err(e) => {
                    let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::debug!(controller = %c.name, reader = %c.reader, error = %e, dropped = n, "Wiegand frame does not decode; dropped");
                }
            },
            Framed::Dropped(d) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(controller = %c.name, reader = %c.reader, reason = ?d.reason, edges = d.edges, dropped = n, "Wiegand frame dropped");
            }
        }
    }
}

fn refuse(cmd: Option<Command>) {
    if let Some(Command::Write(req)) = cmd {
        let id = req.id.0.clone();
        req.answer(Err(WriteError::NotWritable(id)));
    }
}

impl<O: OpenEdges> Adapter for EdgeAdapter<O> {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(mut self, mut io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let mut delays = ReconnectDelays::new(&self.config.backoff);
        let mut down_reported = false;
        let name = self.config.name.clone();
        loop {
            let reason = match self.open.open() {
                Ok(mut source) => {
                    delays.reset();
                    down_reported = false;
                    io.link(LinkEvent::up(name.clone()), &stop).await;
                    let mut framer = Framer::new(self.config.framer);
                    loop {
                        let wait = framer
                            .deadline()
                            .map(|d| Duration::from_nanos(d.saturating_sub(source.now_ns())));
                        let sleep = async {
                            match wait {
                                Some(w) => tokio::time::sleep(w).await,
                                None => std::future::pending().await,
                            }
                        };
                        tokio::select! {
                            () = stop.cancelled() => return Ok(()),
                            cmd = io.commands.recv() => refuse(cmd),
                            () = sleep => {
                                if let Some(f) = framer.poll(source.now_ns()) {
                                    self.framed(&io, &stop, f).await;
                                }
                            }
                            edge = source.next_edge() => match edge {
                                Ok(Some(edge)) => {
                                    if let Some(f) = framer.edge(edge) {
                                        self.framed(&io, &stop, f).await;
                                    }
                                }
                                Ok(None) => {
                                    if let Some(f) = framer.flush() {
                                        self.framed(&io, &stop, f).await;
                                    }
                                    break "the edge source ended".to_string();
                                }
                                Err(e) => break format!("edges: {e}"),
                            },
                        }
                    }
                }
                Err(e) => format!("open: {e}"),
            };
            if !down_reported {
                down_reported = true;
                tracing::warn!(controller = %name, reason = %reason, "Wiegand link down");
                io.link(LinkEvent::down(name.clone(), reason), &stop).await;
            }
            let delay = delays.next_delay();
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
                cmd = io.commands.recv() => refuse(cmd),
            }
        }
        io.refuse_queued("stopping");
        Ok(())
    }
}

/// A recorded edge sequence as a source: its edges one after the other, then the end.
#[derive(Clone, Debug)]
pub struct Recording {
    edges: VecDeque<Edge>,
    last: u64,
}

impl Recording {
    /// Parses a recording (`<ns> D0|D1` lines, `#` comments).
    pub fn parse(text: &str) -> Result<Recording, RecordingError> {
        Ok(Recording {
            edges: parse_recording(text)?.into(),
            last: 0,
        })
    }
}

impl EdgeSource for Recording {
    async fn next_edge(&mut self) -> io::Result<Option<Edge>> {
        let edge = self.edges.pop_front();
        if let Some(e) = edge {
            self.last = e.ns;
        }
        Ok(edge)
    }

    fn now_ns(&self) -> u64 {
        self.last
    }
}

/// Opens recordings in turn: each `open` plays the next one; when none is left, `open`
/// fails (the adapter then reports its link down and retries, as for a missing chip).
#[derive(Debug, Default)]
pub struct Recordings(pub VecDeque<Recording>);

impl OpenEdges for Recordings {
    type Source = Recording;

    fn open(&mut self) -> io::Result<Recording> {
        self.0
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no more recordings"))
    }
}
