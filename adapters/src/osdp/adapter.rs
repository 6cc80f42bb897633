//! [`OsdpAdapter`]: one OSDP bus behind the [`Adapter`] seam.
//!
//! - One [`OsdpBus`] per serial port; the adapter is the bus's controller. Its link is `Up`
//!   while every reader on the bus is online (with one reader per bus, the reader's own
//!   state); a reader going offline takes it `Down` with the reader named in the reason.
//! - A card read (`osdp_RAW`) is decoded with the reader's Wiegand format into a
//!   [`Value::Record`] on the reader's card point: `Format`, `FacilityCode` (when the format
//!   has one), `CardNumber`, `Bits` (hex) and `BitCount`. A read that does not decode (parity,
//!   length) is logged at DEBUG and counted, never an event. Card numbers are credentials:
//!   they are logged only at DEBUG.
//! - Keypad input is a record on the keypad point (`Keys`: digits, `*`, `#`); tamper and
//!   power are `Value::Bool` points (true: tampered / power failure).
//! - A write of `Value::Bool` to a reader's LED point sends `osdp_LED` (active: the
//!   configured colour, steady; inactive: off) and, if configured, `osdp_BUZ`; it is answered
//!   after the reader's `osdp_ACK`, and the point is then reported with the new state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo, Command};
use crate::event::{AdapterEvent, LinkEvent, WriteError};
use crate::point::{PointId, PointUpdate, Quality, Value};
use crate::stats::LinkStats;
use crate::wiegand::{self, Bits, Format};

use super::{
    BusConfig, Buzzer, CommandError, Led, LedAction, LedColor, LedPattern, OsdpBus, OsdpCommand,
    OsdpHandle, OsdpReport,
};

/// The points of one reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderPoints {
    /// The format raw reads are decoded with.
    pub format: Format,
    /// Card reads (`Value::Record`).
    pub card: PointId,
    /// Keypad input (`Value::Record`, field `Keys`).
    pub keypad: Option<PointId>,
    /// Tamper (`Value::Bool`, true: tampered).
    pub tamper: Option<PointId>,
    /// Power (`Value::Bool`, true: power failure).
    pub power: Option<PointId>,
    /// The LED as a relay.
    pub led: Option<LedPoint>,
}

/// A reader LED driven by `Value::Bool` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedPoint {
    /// The point written and reported back.
    pub point: PointId,
    /// The colour while active.
    pub color: LedColor,
    /// Whether the buzzer sounds while active.
    pub buzzer: bool,
}

/// An OSDP bus and the points of its readers (`readers[i]` is `bus.pds[i]`).
#[derive(Clone, Debug)]
pub struct OsdpAdapterConfig {
    /// The bus (its `name` is the controller name).
    pub bus: BusConfig,
    /// The points of each reader, in the order of `bus.pds`.
    pub readers: Vec<ReaderPoints>,
}

/// The OSDP adapter. Counters are shared with the caller ([`OsdpAdapter::bad_reads`]).
#[derive(Debug)]
pub struct OsdpAdapter {
    config: OsdpAdapterConfig,
    bad_reads: Arc<AtomicU64>,
    stats: Arc<LinkStats>,
}

impl OsdpAdapter {
    /// An adapter for `config`.
    pub fn new(config: OsdpAdapterConfig) -> OsdpAdapter {
        OsdpAdapter {
            config,
            bad_reads: Arc::new(AtomicU64::new(0)),
            stats: Arc::default(),
        }
    }

    /// The link's counters: every command the gateway sends a reader (LED, buzzer) is a
    /// request, a refused or undelivered one a failure. libosdp's own polls and retries are
    /// not seen from here.
    pub fn stats(&self) -> Arc<LinkStats> {
        self.stats.clone()
    }

    /// How many card reads did not decode with their reader's format (shared counter).
    pub fn bad_reads(&self) -> Arc<AtomicU64> {
        self.bad_reads.clone()
    }
}

/// A card read as the record the mapping's items take their fields from.
pub fn card_record(
    bits: &Bits,
    format: Format,
) -> Result<BTreeMap<String, String>, wiegand::WiegandError> {
    Ok(wiegand::decode(bits, format)?.record())
}

fn update(id: &PointId, value: Value, quality: Quality) -> AdapterEvent {
    AdapterEvent::Point(PointUpdate {
        id: id.clone(),
        value,
        quality,
        at: SystemTime::now(),
    })
}

/// Keys as text: digits as sent, `0x7F` as `*`, `0x0D` as `#`.
fn keys_text(keys: &[u8]) -> String {
    keys.iter()
        .map(|&k| match k {
            0x7F => '*',
            0x0D => '#',
            k if k.is_ascii_graphic() => k as char,
            _ => '?',
        })
        .collect()
}

impl Adapter for OsdpAdapter {
    fn name(&self) -> &str {
        &self.config.bus.name
    }

    async fn run(self, io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let name = self.config.bus.name.clone();
        let readers = self.config.readers.clone();
        let tokens: Vec<String> = self.config.bus.pds.iter().map(|p| p.name.clone()).collect();
        let (bus, handle) = OsdpBus::new(self.config.bus.clone());
        let (report_tx, mut reports) = mpsc::channel(64);
        let bus_stop = stop.child_token();
        let mut bus_task = Some(tokio::spawn(bus.run(report_tx, bus_stop.clone())));
        let AdapterIo { events, commands } = io;
        let writer = tokio::spawn(serve_writes(
            commands,
            handle,
            readers.clone(),
            events.clone(),
            self.stats.clone(),
            stop.clone(),
        ));
        let io = AdapterIo {
            events,
            commands: mpsc::channel(1).1,
        };

        let mut online = vec![false; readers.len()];
        let mut up = false;
        // The last state of every state point, for the stale reports of a link-down.
        let mut known: BTreeMap<PointId, Value> = BTreeMap::new();
        let mut down_reported = false;
        let result = loop {
            let report = tokio::select! {
                () = stop.cancelled() => break Ok(()),
                r = reports.recv() => r,
            };
            let Some(report) = report else {
                // The bus ended by itself: a configuration or key problem.
                let ended = match bus_task.take() {
                    Some(task) => task.await,
                    None => Ok(Ok(())),
                };
                break match ended {
                    Ok(Err(e)) => Err(AdapterError::Config(e.to_string())),
                    _ => Ok(()),
                };
            };
            let pd = report.pd();
            let Some(points) = readers.get(pd) else {
                continue;
            };
            let token = tokens.get(pd).map_or("?", String::as_str);
            match report {
                OsdpReport::Online { secure, .. } => {
                    tracing::info!(controller = %name, reader = token, secure, "OSDP reader online");
                    online[pd] = true;
                    if online.iter().all(|o| *o) && !up {
                        up = true;
                        io.link(LinkEvent::up(name.clone()), &stop).await;
                        for (id, value) in &known {
                            io.report(update(id, value.clone(), Quality::Good), &stop)
                                .await;
                        }
                        for r in &readers {
                            if let Some(led) = &r.led
                                && !known.contains_key(&led.point)
                            {
                                known.insert(led.point.clone(), Value::Bool(false));
                                io.report(
                                    update(&led.point, Value::Bool(false), Quality::Good),
                                    &stop,
                                )
                                .await;
                            }
                        }
                    }
                }
                OsdpReport::Offline { reason, .. } => {
                    online[pd] = false;
                    if up || !down_reported {
                        tracing::warn!(controller = %name, reader = token, reason = %reason, "OSDP reader offline");
                        up = false;
                        down_reported = true;
                        io.link(
                            LinkEvent::down(name.clone(), format!("reader {token}: {reason}")),
                            &stop,
                        )
                        .await;
                        for (id, value) in &known {
                            io.report(update(id, value.clone(), Quality::Stale), &stop)
                                .await;
                        }
                    }
                }
                OsdpReport::KeyInstalled { .. } => {
                    tracing::info!(controller = %name, reader = token, "OSDP secure channel key installed");
                }
                OsdpReport::CardRead { bits, .. } => match card_record(&bits, points.format) {
                    Ok(fields) => {
                        tracing::debug!(controller = %name, reader = token, card = ?fields, "card read");
                        io.report(
                            update(&points.card, Value::Record(fields), Quality::Good),
                            &stop,
                        )
                        .await;
                    }
                    Err(e) => {
                        let n = self.bad_reads.fetch_add(1, Ordering::Relaxed) + 1;
                        tracing::debug!(controller = %name, reader = token, error = %e, bad_reads = n, "card read does not decode; dropped");
                    }
                },
                OsdpReport::Keypad { keys, .. } => {
                    if let Some(id) = &points.keypad {
                        let mut fields = BTreeMap::new();
                        fields.insert("Keys".to_string(), keys_text(&keys));
                        io.report(update(id, Value::Record(fields), Quality::Good), &stop)
                            .await;
                    }
                }
                OsdpReport::Tamper { active, .. } => {
                    if let Some(id) = &points.tamper {
                        known.insert(id.clone(), Value::Bool(active));
                        io.report(update(id, Value::Bool(active), Quality::Good), &stop)
                            .await;
                    }
                }
                OsdpReport::Power { ok, .. } => {
                    if let Some(id) = &points.power {
                        known.insert(id.clone(), Value::Bool(!ok));
                        io.report(update(id, Value::Bool(!ok), Quality::Good), &stop)
                            .await;
                    }
                }
                OsdpReport::Inputs { .. } => {}
            }
        };
        bus_stop.cancel();
        writer.abort();
        let _ = writer.await;
        if let Some(task) = bus_task.take() {
            // The bus thread closes the port when it sees the stop.
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        result
    }
}

/// Serves writes in the core's order: an LED point's `Value::Bool` becomes `osdp_LED` (and
/// `osdp_BUZ`), answered after the reader's acknowledgement.
async fn serve_writes(
    mut commands: mpsc::Receiver<Command>,
    handle: OsdpHandle,
    readers: Vec<ReaderPoints>,
    events: mpsc::Sender<AdapterEvent>,
    stats: Arc<LinkStats>,
    stop: CancellationToken,
) {
    loop {
        let command = tokio::select! {
            () = stop.cancelled() => break,
            c = commands.recv() => c,
        };
        let Some(Command::Write(req)) = command else {
            break;
        };
        let target = readers.iter().enumerate().find_map(|(pd, r)| {
            r.led
                .as_ref()
                .filter(|l| l.point == req.id)
                .map(|l| (pd, l.clone()))
        });
        let Some((pd, led)) = target else {
            let id = req.id.clone();
            req.answer(Err(WriteError::NotWritable(id.0)));
            continue;
        };
        let Value::Bool(active) = req.value else {
            let message = format!("{}: an LED takes on/off", req.id);
            req.answer(Err(WriteError::NotWritable(message)));
            continue;
        };
        let color = if active { led.color } else { LedColor::Off };
        stats.request(false);
        let mut result = handle
            .command(
                pd,
                OsdpCommand::Led(Led {
                    reader: 0,
                    led: 0,
                    action: LedAction::Permanent(LedPattern::steady(color)),
                }),
            )
            .await;
        if result.is_ok() && led.buzzer {
            let buzzer = if active {
                Buzzer::Tone {
                    reader: 0,
                    on: Duration::from_millis(500),
                    off: Duration::from_millis(500),
                    repeat: 0,
                }
            } else {
                Buzzer::Off
            };
            stats.request(false);
            result = handle.command(pd, OsdpCommand::Buzzer(buzzer)).await;
        }
        if result.is_err() {
            stats.failure();
        }
        match result {
            Ok(()) => {
                req.answer(Ok(()));
                let _ = events
                    .send(update(&led.point, Value::Bool(active), Quality::Good))
                    .await;
            }
            Err(e) => req.answer(Err(write_error(e))),
        }
    }
    commands.close();
    while let Ok(Command::Write(req)) = commands.try_recv() {
        req.answer(Err(WriteError::LinkDown("stopping".into())));
    }
}

fn write_error(e: CommandError) -> WriteError {
    match e {
        CommandError::Refused(_) | CommandError::NoSuchPd(_) => WriteError::Refused(e.to_string()),
        other => WriteError::LinkDown(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_h10301_read_becomes_a_record() {
        let bits = wiegand::encode(Format::H10301, Some(123), 4567).expect("encodes");
        let fields = card_record(&bits, Format::H10301).expect("decodes");
        assert_eq!(fields["Format"], "h10301");
        assert_eq!(fields["FacilityCode"], "123");
        assert_eq!(fields["CardNumber"], "4567");
        assert_eq!(fields["BitCount"], "26");
    }

    #[test]
    fn a_read_with_bad_parity_is_refused() {
        let mut bad = wiegand::encode(Format::H10301, Some(123), 4567).expect("encodes");
        let first = bad.bit(1).expect("bit 1");
        bad.set(1, !first);
        assert!(card_record(&bad, Format::H10301).is_err());
    }

    #[test]
    fn keypad_keys_as_text() {
        assert_eq!(keys_text(b"12\x7f\x0d"), "12*#");
    }
}
