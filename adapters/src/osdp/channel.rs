//! The library's channel: the serial port, read without blocking, with a tap that splits both
//! directions into frames for the driver ([`super::wire`]).

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libosdp::{Channel, ChannelError};
use parking_lot::Mutex;
use tokio_serial::SerialPort;

use super::wire::{Frame, Splitter};
use crate::serial::LineSettings;

/// What the tap saw since the driver last looked.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Frames in wire order, with the time they were complete and whether the CP sent them.
    pub(crate) frames: Vec<(Instant, Frame)>,
    /// The first I/O error of the port (the driver reopens it).
    pub(crate) error: Option<String>,
}

#[derive(Debug, Default)]
struct Tap {
    sent: Splitter,
    received: Splitter,
    seen: Seen,
}

/// The driver's side of the tap.
#[derive(Clone, Debug, Default)]
pub(crate) struct TapHandle(Arc<Mutex<Tap>>);

impl TapHandle {
    /// Takes what was seen since the last call.
    pub(crate) fn take(&self) -> Seen {
        std::mem::take(&mut self.0.lock().seen)
    }
}

/// Which way bytes crossed the port.
#[derive(Clone, Copy)]
enum Direction {
    Sent,
    Received,
}

/// Whether an I/O error only means "nothing now" (a non-blocking port, or its short timeout).
fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A serial port as the library's channel.
pub(crate) struct SerialChannel {
    port: Option<Box<dyn SerialPort>>,
    tap: TapHandle,
}

impl SerialChannel {
    /// Opens `device` with `line` (OSDP: 8N1), no flow control; writes block for at most
    /// 100 ms. Whatever arrived before we were listening is discarded.
    pub(crate) fn open(
        device: &std::path::Path,
        line: &LineSettings,
    ) -> io::Result<(Self, TapHandle)> {
        let port = crate::serial::open_blocking(device, line, Duration::from_millis(100))
            .map_err(io::Error::other)?;
        let tap = TapHandle::default();
        Ok((
            SerialChannel {
                port: Some(port),
                tap: tap.clone(),
            },
            tap,
        ))
    }

    /// Feeds bytes that crossed the port into the tap's splitter for their direction.
    fn record(&self, direction: Direction, bytes: &[u8]) {
        let now = Instant::now();
        let mut tap = self.tap.0.lock();
        let Tap {
            sent,
            received,
            seen,
        } = &mut *tap;
        let splitter = match direction {
            Direction::Sent => sent,
            Direction::Received => received,
        };
        splitter.push(bytes, |f| seen.frames.push((now, f)));
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) -> ChannelError {
        let mut tap = self.tap.0.lock();
        if tap.seen.error.is_none() {
            tap.seen.error = Some(format!("{what}: {e}"));
        }
        ChannelError::TransportError
    }
}

impl Channel for SerialChannel {
    fn get_id(&self) -> i32 {
        // One channel per control panel: every PD of the bus shares it (and its lock).
        0
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        let Some(port) = self.port.as_mut() else {
            return Err(ChannelError::TransportError);
        };
        // Read only what is there, so the library's refresh never waits on the wire.
        let ready = match port.bytes_to_read() {
            Ok(n) => n as usize,
            Err(e) => return Err(self.fail("serial port", e)),
        };
        if ready == 0 {
            return Err(ChannelError::WouldBlock);
        }
        let want = ready.min(buf.len());
        match port.read(&mut buf[..want]) {
            Ok(n) => {
                self.record(Direction::Received, &buf[..n]);
                Ok(n)
            }
            Err(e) if would_block(&e) => Err(ChannelError::WouldBlock),
            Err(e) => Err(self.fail("serial read", e)),
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        let Some(port) = self.port.as_mut() else {
            return Err(ChannelError::TransportError);
        };
        match port.write(buf) {
            Ok(n) => {
                self.record(Direction::Sent, &buf[..n]);
                Ok(n)
            }
            Err(e) if would_block(&e) => Err(ChannelError::WouldBlock),
            Err(e) => Err(self.fail("serial write", e)),
        }
    }

    fn flush(&mut self) -> Result<(), ChannelError> {
        // The library flushes before it retries a command: drop what a late answer left.
        if let Some(port) = self.port.as_mut() {
            let _ = port.clear(tokio_serial::ClearBuffer::Input);
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), ChannelError> {
        // Called once per PD at teardown; the port closes on the first.
        self.port = None;
        Ok(())
    }
}
