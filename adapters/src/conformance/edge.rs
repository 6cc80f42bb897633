//! A test-only adapter of the **edge source** shape (a Wiegand reader and a door contact on
//! GPIO lines), and its peer, fed a recorded edge stream. Not a product adapter: it shows the
//! seam carries a source that only emits, and runs the conformance suite.
//!
//! - Lines: [`D0`] and [`D1`] are the Wiegand data lines (idle high; a low pulse on D0 is a 0
//!   bit, on D1 a 1 bit), [`CONTACT`] a door contact (its level is a Bool point).
//! - A frame is 26 bits (even parity over the first 13, odd over the last 13): facility code
//!   (8 bits) and card number (16 bits). A read is an *event point*, reported on every
//!   occurrence as [`Value::Bytes`] `[facility, number high, number low]`. A gap of more than
//!   [`FRAME_GAP`] between two bits drops a partial frame; a bad parity drops the frame.
//! - The source reports every line's level first when opened (as a GPIO read does), then
//!   edges; it ending is the link failing. Writes: always [`WriteError::NotWritable`].

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo, Command};
use crate::event::WriteError;
use crate::modbus::Backoff;
use crate::point::{PointId, Value};

use super::Peer;
use super::reporter::Reporter;

/// Wiegand data line 0.
pub const D0: u8 = 0;
/// Wiegand data line 1.
pub const D1: u8 = 1;
/// The door contact line.
pub const CONTACT: u8 = 2;
/// Longest pause between two bits of one frame.
pub const FRAME_GAP: Duration = Duration::from_millis(25);

/// One recorded edge: a line changed level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// When, on the source's clock.
    pub at: Duration,
    /// Which line.
    pub line: u8,
    /// Its new level (`true` high).
    pub level: bool,
}

/// The edge adapter's configuration.
#[derive(Clone, Debug)]
pub struct EdgeConfig {
    /// Controller name.
    pub name: String,
    /// The door contact's point.
    pub contact: PointId,
    /// The card reader's (event) point.
    pub card: PointId,
    /// Reconnect policy.
    pub backoff: Backoff,
}

#[derive(Debug)]
struct SourceState {
    up: bool,
    clock: Duration,
    contact: bool,
    feed: Option<mpsc::UnboundedSender<Edge>>,
}

/// The GPIO lines' side: the conformance [`Peer`]; it records edges as a real line would
/// produce them.
#[derive(Clone, Debug)]
pub struct EdgePeer {
    contact: PointId,
    state: Arc<Mutex<SourceState>>,
}

/// Opens the edge stream of an [`EdgePeer`] (what opening a GPIO chip is to a real adapter).
#[derive(Clone, Debug)]
pub struct EdgeOpener {
    state: Arc<Mutex<SourceState>>,
}

impl EdgePeer {
    /// Lines up, contact low; `contact` names the contact's point.
    pub fn new(contact: PointId) -> EdgePeer {
        EdgePeer {
            contact,
            state: Arc::new(Mutex::new(SourceState {
                up: true,
                clock: Duration::ZERO,
                contact: false,
                feed: None,
            })),
        }
    }

    /// An opener for the adapter.
    pub fn opener(&self) -> EdgeOpener {
        EdgeOpener {
            state: self.state.clone(),
        }
    }

    /// Sends edges, advancing the source clock by `after` before each.
    fn send(&self, edges: impl IntoIterator<Item = (Duration, u8, bool)>) {
        let mut s = self.state.lock();
        for (after, line, level) in edges {
            s.clock += after;
            let edge = Edge {
                at: s.clock,
                line,
                level,
            };
            if let Some(feed) = &s.feed {
                let _ = feed.send(edge);
            }
        }
    }

    /// Pulses the data lines: one bit each, 2 ms apart (a 50 µs low pulse).
    pub fn pulse_bits(&self, bits: &[bool]) {
        let mut edges = Vec::new();
        for &bit in bits {
            let line = if bit { D1 } else { D0 };
            edges.push((Duration::from_millis(2), line, false));
            edges.push((Duration::from_micros(50), line, true));
        }
        self.send(edges);
    }

    /// Presents a card: a valid 26-bit frame, then a pause longer than a frame gap.
    pub fn present_card(&self, facility: u8, number: u16) {
        self.pulse_bits(&wiegand26(facility, number));
        let contact = self.state.lock().contact;
        self.send([(FRAME_GAP * 4, CONTACT, contact)]);
    }
}

/// The 26 bits of a card, parity included.
pub fn wiegand26(facility: u8, number: u16) -> Vec<bool> {
    let data = (u32::from(facility) << 16) | u32::from(number);
    let bits: Vec<bool> = (0..24).rev().map(|i| data & (1 << i) != 0).collect();
    let ones = |b: &[bool]| b.iter().filter(|&&x| x).count();
    let (first, last) = bits.split_at(12);
    let mut frame = vec![ones(first) % 2 == 1];
    frame.extend_from_slice(&bits);
    frame.push(ones(last) % 2 == 0);
    frame
}

/// A 26-bit frame's card, if its parity holds.
fn decode26(frame: &[bool]) -> Option<(u8, u16)> {
    if frame.len() != 26 {
        return None;
    }
    let ones = |b: &[bool]| b.iter().filter(|&&x| x).count();
    let (even, odd) = (frame.get(..13)?, frame.get(13..)?);
    if ones(even) % 2 != 0 || ones(odd) % 2 != 1 {
        return None;
    }
    let data = frame
        .get(1..25)?
        .iter()
        .fold(0u32, |acc, &b| (acc << 1) | u32::from(b));
    Some(((data >> 16) as u8, (data & 0xffff) as u16))
}

impl Peer for EdgePeer {
    async fn stop(&self) {
        let mut s = self.state.lock();
        s.up = false;
        s.feed = None;
    }

    async fn restart(&self) -> io::Result<()> {
        self.state.lock().up = true;
        Ok(())
    }

    fn set_input(&self, point: &PointId, value: &Value) -> Result<(), String> {
        match value {
            Value::Bool(level) if *point == self.contact => {
                self.state.lock().contact = *level;
                // A bouncing contact may report the level it already has: sent as is.
                self.send([(Duration::from_millis(1), CONTACT, *level)]);
                Ok(())
            }
            _ => Err(format!("{point}: the edge peer can only set its contact")),
        }
    }

    fn value(&self, point: &PointId) -> Result<Value, String> {
        if *point == self.contact {
            Ok(Value::Bool(self.state.lock().contact))
        } else {
            Err(format!("{point}: the edge peer holds no such point"))
        }
    }

    fn connections(&self) -> Option<usize> {
        let s = self.state.lock();
        Some(usize::from(s.feed.as_ref().is_some_and(|f| !f.is_closed())))
    }

    async fn garbage(&self) -> Result<bool, String> {
        // A partial frame, then a pause: dropped.
        self.pulse_bits(&[true, false, true, true, false, true, false]);
        self.send([(FRAME_GAP * 2, D0, true)]);
        // A frame with a broken parity bit: dropped.
        let mut bad = wiegand26(7, 4242);
        if let Some(first) = bad.first_mut() {
            *first = !*first;
        }
        self.pulse_bits(&bad);
        self.send([(FRAME_GAP * 2, 9, true), (Duration::ZERO, 200, false)]);
        // Too many bits in a row.
        self.pulse_bits(&[false; 40]);
        self.send([(FRAME_GAP * 2, D1, true)]);
        Ok(true)
    }
}

impl EdgeOpener {
    /// Opens the lines: their levels first, then edges as they happen.
    pub fn open(&self) -> io::Result<mpsc::UnboundedReceiver<Edge>> {
        let mut s = self.state.lock();
        if !s.up {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the GPIO lines are gone",
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        for (line, level) in [(D0, true), (D1, true), (CONTACT, s.contact)] {
            let _ = tx.send(Edge {
                at: s.clock,
                line,
                level,
            });
        }
        s.feed = Some(tx);
        Ok(rx)
    }
}

/// The adapter: decodes edges as they come; never writes.
#[derive(Debug)]
pub struct EdgeAdapter {
    config: EdgeConfig,
    opener: EdgeOpener,
}

impl EdgeAdapter {
    /// An adapter for `config`, reading what `opener` opens.
    pub fn new(config: EdgeConfig, opener: EdgeOpener) -> EdgeAdapter {
        EdgeAdapter { config, opener }
    }
}

fn not_writable(id: &PointId) -> WriteError {
    WriteError::NotWritable(format!("{id}: an edge source writes nothing"))
}

/// Bits of the frame being received.
#[derive(Debug, Default)]
struct Frame {
    bits: Vec<bool>,
    last: Option<Duration>,
}

impl Frame {
    /// A falling edge on a data line; a card once 26 bits with good parity are in.
    fn bit(&mut self, at: Duration, bit: bool) -> Option<(u8, u16)> {
        if self
            .last
            .is_some_and(|last| at.saturating_sub(last) > FRAME_GAP)
            || self.bits.len() >= 26
        {
            self.bits.clear();
        }
        self.last = Some(at);
        self.bits.push(bit);
        let card = decode26(&self.bits)?;
        self.bits.clear();
        Some(card)
    }
}

impl Adapter for EdgeAdapter {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self, io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let points = vec![self.config.contact.clone()];
        let mut r = Reporter::new(&self.config.name, points, &self.config.backoff, io, stop);
        loop {
            let reason = match self.opener.open() {
                Ok(mut edges) => {
                    r.up().await;
                    match self.session(&mut r, &mut edges).await {
                        Some(reason) => reason,
                        None => break,
                    }
                }
                Err(e) => e.to_string(),
            };
            r.down(reason).await;
            if !r.back_off(|req| not_writable(&req.id)).await {
                break;
            }
        }
        r.finish();
        Ok(())
    }
}

impl EdgeAdapter {
    /// Reads edges until the source ends (`Some(reason)`) or stop (`None`).
    async fn session(
        &self,
        r: &mut Reporter,
        edges: &mut mpsc::UnboundedReceiver<Edge>,
    ) -> Option<String> {
        let mut frame = Frame::default();
        let mut open = true;
        loop {
            tokio::select! {
                biased;
                () = r.stop.cancelled() => return None,
                edge = edges.recv() => match edge {
                    None => return Some("the edge source ended".into()),
                    Some(Edge { line: CONTACT, level, .. }) => r.reading(0, Value::Bool(level)).await,
                    Some(Edge { at, line, level: false }) if line == D0 || line == D1 => {
                        if let Some((facility, number)) = frame.bit(at, line == D1) {
                            let [hi, lo] = number.to_be_bytes();
                            let card = self.config.card.clone();
                            r.occurrence(&card, Value::Bytes(vec![facility, hi, lo])).await;
                        }
                    }
                    // Rising data edges carry nothing; unknown lines are ignored.
                    Some(_) => {}
                },
                cmd = r.io.commands.recv(), if open => match cmd {
                    Some(Command::Write(req)) => {
                        let error = not_writable(&req.id);
                        req.answer(Err(error));
                    }
                    None => open = false,
                },
            }
        }
    }
}
