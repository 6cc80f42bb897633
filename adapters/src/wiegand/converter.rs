//! [`ConverterAdapter`]: a serial Wiegand converter (a box that prints one line per card
//! read, hex or decimal) behind the [`Adapter`] seam: one task owns the port, each line goes
//! through [`ascii::parse_line`] and [`decode`] into a [`Value::Record`] on the reader's card
//! point (`Format`, `FacilityCode`, `CardNumber`, `Bits`, `BitCount`). A line that does not
//! parse or decode is logged at DEBUG and counted, never an event. The link is `Up` while the
//! port is open (a converter is silent between reads); a port that fails or cannot be opened
//! is `Down` and reopened with backoff. Nothing is writable.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo, Command};
use crate::backoff::ReconnectDelays;
use crate::event::{LinkEvent, WriteError};
use crate::modbus::Backoff;
use crate::point::{PointId, PointUpdate, Quality, Value};
use crate::serial::LineSettings;

use super::ascii::{self, AsciiConfig};
use super::{Format, decode};

/// Longest line accepted (a 128-bit frame in decimal has 39 digits).
const MAX_LINE: usize = 256;

/// A serial converter and its reader.
#[derive(Clone, Debug)]
pub struct ConverterConfig {
    /// The controller name.
    pub name: String,
    /// The reader token (logs).
    pub reader: String,
    /// The serial device.
    pub device: PathBuf,
    /// Speed (8N1) and RS-485 mode.
    pub line: LineSettings,
    /// How the converter prints a read.
    pub ascii: AsciiConfig,
    /// The cards' format.
    pub format: Format,
    /// The point card reads are reported on.
    pub card: PointId,
    /// Reopen delays.
    pub backoff: Backoff,
}

/// The serial-converter adapter.
#[derive(Debug)]
pub struct ConverterAdapter {
    config: ConverterConfig,
    bad_reads: Arc<AtomicU64>,
}

impl ConverterAdapter {
    /// An adapter for `config`.
    pub fn new(config: ConverterConfig) -> ConverterAdapter {
        ConverterAdapter {
            config,
            bad_reads: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Lines that were not a good read (shared counter).
    pub fn bad_reads(&self) -> Arc<AtomicU64> {
        self.bad_reads.clone()
    }
}

/// One converter line as the record of a card read, or why it is not one.
pub fn line_record(
    line: &str,
    config: &AsciiConfig,
    format: Format,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let bits = ascii::parse_line(line, config, format).map_err(|e| e.to_string())?;
    let card = decode(&bits, format).map_err(|e| e.to_string())?;
    Ok(card.record())
}

impl Adapter for ConverterAdapter {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn run(self, mut io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let c = &self.config;
        let mut delays = ReconnectDelays::new(&c.backoff);
        let mut down_reported = false;
        let mut last_failure = String::new();
        loop {
            if stop.is_cancelled() {
                break;
            }
            let opened = crate::serial::open(&c.device, &c.line);
            let reason = match opened {
                Ok(port) => {
                    delays.reset();
                    down_reported = false;
                    last_failure.clear();
                    tracing::info!(controller = %c.name, device = %c.device.display(), "Wiegand converter port open");
                    io.link(LinkEvent::up(c.name.clone()), &stop).await;
                    let mut lines = BufReader::new(port);
                    let mut buf = Vec::new();
                    loop {
                        buf.clear();
                        let read = tokio::select! {
                            () = stop.cancelled() => return Ok(()),
                            cmd = io.commands.recv() => {
                                if let Some(Command::Write(req)) = cmd {
                                    let id = req.id.0.clone();
                                    req.answer(Err(WriteError::NotWritable(id)));
                                }
                                continue;
                            }
                            r = lines.read_until(b'\n', &mut buf) => r,
                        };
                        match read {
                            Ok(0) => break "the port closed".to_string(),
                            Err(e) => break format!("read: {e}"),
                            Ok(_) => {}
                        }
                        if buf.len() > MAX_LINE {
                            self.bad_reads.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let text = String::from_utf8_lossy(&buf);
                        let text = text.trim();
                        if text.is_empty() {
                            continue;
                        }
                        match line_record(text, &c.ascii, c.format) {
                            Ok(fields) => {
                                tracing::debug!(controller = %c.name, reader = %c.reader, card = ?fields, "card read");
                                io.point(
                                    PointUpdate {
                                        id: c.card.clone(),
                                        value: Value::Record(fields),
                                        quality: Quality::Good,
                                        at: SystemTime::now(),
                                    },
                                    &stop,
                                )
                                .await;
                            }
                            Err(e) => {
                                let n = self.bad_reads.fetch_add(1, Ordering::Relaxed) + 1;
                                tracing::debug!(controller = %c.name, reader = %c.reader, error = %e, bad_reads = n, "converter line is not a good read; dropped");
                            }
                        }
                    }
                }
                Err(e) => format!("open {}: {e}", c.device.display()),
            };
            if !down_reported {
                down_reported = true;
                tracing::warn!(controller = %c.name, reason = %reason, "Wiegand converter link down");
                io.link(LinkEvent::down(c.name.clone(), reason.clone()), &stop)
                    .await;
            } else if reason != last_failure {
                tracing::debug!(controller = %c.name, reason = %reason, "Wiegand converter still down");
            }
            last_failure = reason;
            let delay = delays.next_delay();
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
                cmd = io.commands.recv() => {
                    if let Some(Command::Write(req)) = cmd {
                        let id = req.id.0.clone();
                        req.answer(Err(WriteError::NotWritable(id)));
                    }
                }
            }
        }
        io.refuse_queued("stopping");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wiegand::ascii::Encoding;

    #[test]
    fn a_hex_line_becomes_a_card_record() {
        let config = AsciiConfig {
            encoding: Encoding::Hex,
            includes_parity: true,
            bits: 26,
        };
        let bits = crate::wiegand::encode(Format::H10301, Some(123), 4567).expect("encodes");
        let line = format!("{bits:x}");
        let fields = line_record(&line, &config, Format::H10301).expect("a read");
        assert_eq!(fields["FacilityCode"], "123");
        assert_eq!(fields["CardNumber"], "4567");
        assert!(line_record("zz", &config, Format::H10301).is_err());
    }
}
