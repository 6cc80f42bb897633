//! [`OsdpBus`]: one RS-485 bus, driven by the library's control panel on a thread of its own.
//!
//! ```text
//!  OsdpHandle::command ──► tokio mpsc ──┐                     ┌──► reports (tokio mpsc)
//!                                       ▼                     │
//!            thread "osdp-<bus>": loop every `refresh` (≤ 50 ms)
//!              take commands ─► ControlPanel::send_command ─► queued in the library
//!              ControlPanel::refresh ─► SerialChannel (the port) ─► tap: frames seen
//!              events (callback) ─► OsdpReport                  │
//!              frames ─► last answer per reader, ACK/NAK of commands ─► answers
//!              online/offline per reader ─► OsdpReport; install mode ─► key file
//! ```
//!
//! The thread owns the port and the control panel; nothing else touches them. It blocks only
//! in `refresh` (which does not wait on the wire), in `sleep(refresh)` and while the report
//! channel is full (reports are never dropped; a stop ends that wait). A port that fails is closed, every reader is
//! reported offline and the port is reopened a second later.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use libosdp::{
    ControlPanel, ControlPanelBuilder, OsdpCardFormats, OsdpCommandBuzzer, OsdpCommandLed,
    OsdpCommandOutput, OsdpEvent, OsdpFlag, OsdpLedColor, OsdpLedParams, OsdpStatusReportType,
    PdInfoBuilder,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::channel::{SerialChannel, TapHandle};
use super::command::{
    Buzzer, CommandError, Led, LedAction, LedColor, LedPattern, OsdpCommand, OsdpReport, Output,
    OutputAction, PdIndex, RawFormat,
};
use super::config::{BusConfig, Scbk, SecureChannel};
use super::keys;
use super::wire::{CMD_BUZ, CMD_LED, CMD_OUT, Frame, REPLY_ACK, REPLY_NAK, REPLY_OSTATR};
use crate::wiegand::Bits;

/// Commands queued towards one bus.
const QUEUE: usize = 64;
/// How long a failed port waits before it is opened again.
const REOPEN: Duration = Duration::from_secs(1);
/// An offline reader the library sent nothing to for this long is not being retried (built
/// as this repository builds it, the library tries again after 1 s).
const STALL: Duration = Duration::from_secs(3);

/// Why the driver could not start (failures of the wire are reported, not returned).
#[derive(Debug, thiserror::Error)]
pub enum OsdpError {
    /// The configuration cannot work ([`BusConfig::check`]).
    #[error("configuration of OSDP bus {bus}: {problems}")]
    Config {
        /// The bus.
        bus: String,
        /// Every problem, joined.
        problems: String,
    },
    /// A key file could not be read or written.
    #[error("key file of reader {pd:?}: {error}")]
    Key {
        /// The reader's name.
        pd: String,
        /// What failed.
        error: std::io::Error,
    },
    /// The library refused the readers (it says no more than that).
    #[error("the OSDP library refused to set up bus {0}")]
    Setup(String),
    /// The driver's thread could not be started, or ended without an answer.
    #[error("the OSDP thread of bus {0} failed")]
    Thread(String),
}

/// A command and where its answer goes.
#[derive(Debug)]
struct Request {
    pd: PdIndex,
    command: OsdpCommand,
    reply: oneshot::Sender<Result<(), CommandError>>,
}

/// Sends commands to the readers of one bus; cheap to clone.
#[derive(Clone, Debug)]
pub struct OsdpHandle {
    requests: mpsc::Sender<Request>,
}

impl OsdpHandle {
    /// Sends `command` to reader `pd`; answers once the reader acknowledged it (`osdp_ACK`,
    /// or `osdp_OSTATR` for an output), refused it (`osdp_NAK`), went offline, or did not
    /// answer within the command timeout.
    pub async fn command(&self, pd: PdIndex, command: OsdpCommand) -> Result<(), CommandError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request { pd, command, reply })
            .await
            .map_err(|_| CommandError::Stopped)?;
        answer.await.unwrap_or(Err(CommandError::Stopped))
    }
}

/// The driver of one OSDP bus (the control panel side). Build with [`OsdpBus::new`], run with
/// [`OsdpBus::run`].
#[derive(Debug)]
pub struct OsdpBus {
    config: BusConfig,
    requests: mpsc::Receiver<Request>,
}

impl OsdpBus {
    /// The driver of `config`'s bus and the handle that sends it commands. Nothing is opened
    /// until [`OsdpBus::run`].
    pub fn new(config: BusConfig) -> (OsdpBus, OsdpHandle) {
        let (tx, requests) = mpsc::channel(QUEUE);
        (OsdpBus { config, requests }, OsdpHandle { requests: tx })
    }

    /// Runs the bus until `stop` is cancelled: reads the key files, starts the bus thread and
    /// waits for it. Returns an error only for what cannot be retried (configuration, key
    /// files); a port that fails is reopened, a reader that is silent is reported offline and
    /// retried.
    pub async fn run(
        self,
        reports: mpsc::Sender<OsdpReport>,
        stop: CancellationToken,
    ) -> Result<(), OsdpError> {
        let problems = self.config.check();
        if !problems.is_empty() {
            return Err(OsdpError::Config {
                bus: self.config.name.clone(),
                problems: problems.join("; "),
            });
        }
        let keys = self
            .config
            .pds
            .iter()
            .map(|pd| {
                KeyPlan::prepare(&pd.secure).map_err(|error| OsdpError::Key {
                    pd: pd.name.clone(),
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = self.config.name.clone();
        let (done, finished) = oneshot::channel();
        let worker = Worker::new(self.config, keys, self.requests, reports, stop.clone());
        std::thread::Builder::new()
            .name(format!("osdp-{name}"))
            .spawn(move || {
                let _ = done.send(worker.run());
            })
            .map_err(|_| OsdpError::Thread(name.clone()))?;
        finished.await.unwrap_or(Err(OsdpError::Thread(name)))
    }
}

/// How one reader's secure channel is set up at this start.
#[derive(Debug)]
enum KeyPlan {
    /// No secure channel.
    Off,
    /// A known key; SCBK-D refused.
    Known(Scbk),
    /// Install mode: offer `key` (then SCBK-D), send it with KEYSET, commit it to `key_file`
    /// once the secure channel is up with it.
    Install { key: Scbk, key_file: PathBuf },
}

impl KeyPlan {
    fn prepare(secure: &SecureChannel) -> std::io::Result<KeyPlan> {
        Ok(match secure {
            SecureChannel::Off => KeyPlan::Off,
            SecureChannel::Key(key) => KeyPlan::Known(key.clone()),
            SecureChannel::Install { key_file } => {
                if let Some(key) = keys::load(key_file)? {
                    KeyPlan::Known(key)
                } else {
                    let pending = keys::pending_path(key_file);
                    let key = match keys::load(&pending)? {
                        Some(key) => key,
                        None => {
                            let key = keys::fresh()?;
                            keys::store(&pending, &key)?;
                            key
                        }
                    };
                    KeyPlan::Install {
                        key,
                        key_file: key_file.clone(),
                    }
                }
            }
        })
    }
}

/// What the driver last told about a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Told {
    Nothing,
    Online,
    Offline,
}

/// A command sent to the library, waiting for the reader's answer.
#[derive(Debug)]
struct Pending {
    code: u8,
    deadline: Instant,
    reply: oneshot::Sender<Result<(), CommandError>>,
}

/// One reader's state in the bus thread.
#[derive(Debug)]
struct PdState {
    address: u8,
    name: String,
    told: Told,
    secure: bool,
    /// When a valid frame from it was last seen.
    heard: Option<Instant>,
    /// The code of the last frame sent to it (for matching its answer).
    last_sent: Option<u8>,
    /// When the library last sent it a frame.
    sent_at: Option<Instant>,
    /// When it was last reported offline.
    offline_since: Option<Instant>,
    pending: VecDeque<Pending>,
}

/// Events the library's callback hands to the loop.
type Events = std_mpsc::Receiver<(i32, OsdpEvent)>;

struct Worker {
    config: BusConfig,
    keys: Vec<KeyPlan>,
    pds: Vec<PdState>,
    requests: mpsc::Receiver<Request>,
    reports: mpsc::Sender<OsdpReport>,
    stop: CancellationToken,
    started: Instant,
}

impl Worker {
    fn new(
        config: BusConfig,
        keys: Vec<KeyPlan>,
        requests: mpsc::Receiver<Request>,
        reports: mpsc::Sender<OsdpReport>,
        stop: CancellationToken,
    ) -> Worker {
        let pds = config
            .pds
            .iter()
            .map(|pd| PdState {
                address: pd.address,
                name: pd.name.clone(),
                told: Told::Nothing,
                secure: false,
                heard: None,
                last_sent: None,
                sent_at: None,
                offline_since: None,
                pending: VecDeque::new(),
            })
            .collect();
        Worker {
            config,
            keys,
            pds,
            requests,
            reports,
            stop,
            started: Instant::now(),
        }
    }

    fn run(mut self) -> Result<(), OsdpError> {
        let bus = self.config.name.clone();
        // The last failure to open the port, logged once until it changes or the port opens.
        let mut open_failure: Option<String> = None;
        while !self.stop.is_cancelled() {
            let (cp, tap, events) = match self.open() {
                Ok(opened) => {
                    open_failure = None;
                    opened
                }
                Err(Opened::Port(reason)) => {
                    if open_failure.as_ref() != Some(&reason) {
                        warn!(bus = %bus, "{reason}; retrying every {REOPEN:?}");
                        open_failure = Some(reason.clone());
                    }
                    self.all_offline(&reason);
                    self.idle(REOPEN);
                    continue;
                }
                Err(Opened::Setup) => return Err(OsdpError::Setup(bus)),
            };
            info!(bus = %bus, device = %self.config.device.display(), "OSDP bus open");
            let reason = self.drive(cp, &tap, &events);
            if let Some(reason) = reason {
                warn!(bus = %bus, "{reason}; reopening in {REOPEN:?}");
                self.all_offline(&reason);
                self.idle(REOPEN);
            }
        }
        self.requests.close();
        while let Ok(req) = self.requests.try_recv() {
            let _ = req.reply.send(Err(CommandError::Stopped));
        }
        for pd in &mut self.pds {
            for p in pd.pending.drain(..) {
                let _ = p.reply.send(Err(CommandError::Stopped));
            }
        }
        Ok(())
    }

    /// Opens the port and sets up the control panel on it.
    fn open(&self) -> Result<(ControlPanel, TapHandle, Events), Opened> {
        let (channel, tap) = SerialChannel::open(&self.config.device, &self.config.line())
            .map_err(|e| Opened::Port(e.to_string()))?;
        let mut infos = Vec::new();
        for (pd, key) in self.config.pds.iter().zip(&self.keys) {
            let mut info = PdInfoBuilder::new()
                .name(&pd.name)
                .and_then(|b| b.address(i32::from(pd.address)))
                .and_then(|b| b.baud_rate(self.config.baud as i32))
                .map_err(|_| Opened::Setup)?;
            match key {
                KeyPlan::Off => {}
                KeyPlan::Known(key) => {
                    // Install mode off: only this key, never SCBK-D, never plain text.
                    info = info.secure_channel_key(key.0).flag(OsdpFlag::EnforceSecure);
                }
                KeyPlan::Install { key, .. } => {
                    // The library offers this key, falls back to SCBK-D, then sends this key
                    // with KEYSET and restarts the secure channel with it.
                    info = info.secure_channel_key(key.0);
                }
            }
            infos.push(info);
        }
        let mut cp = ControlPanelBuilder::new()
            .add_channel(Box::new(channel), infos)
            .build()
            .map_err(|_| Opened::Setup)?;
        let (tx, events) = std_mpsc::channel();
        // Runs inside `refresh`, on this thread; it must not panic (it would cross into C).
        cp.set_event_callback(move |pd, event| {
            let _ = tx.send((pd, event));
            0
        });
        Ok((cp, tap, events))
    }

    /// Drives an open bus until `stop` or a port failure (returned).
    fn drive(&mut self, mut cp: ControlPanel, tap: &TapHandle, events: &Events) -> Option<String> {
        let refresh = self.config.timings.refresh;
        let opened = Instant::now();
        let mut warned = vec![false; self.pds.len()];
        loop {
            if self.stop.is_cancelled() {
                return None;
            }
            let now = Instant::now();
            while let Ok(req) = self.requests.try_recv() {
                self.submit(&mut cp, req, now);
            }
            cp.refresh();
            while let Ok((pd, event)) = events.try_recv() {
                self.event(&cp, pd, event);
            }
            let seen = tap.take();
            for (at, frame) in seen.frames {
                self.frame(at, frame);
            }
            if let Some(error) = seen.error {
                return Some(error);
            }
            let now = Instant::now();
            self.supervise(&cp, now);
            if let Some(reason) = self.stalled(now, opened, &mut warned) {
                return Some(reason);
            }
            std::thread::sleep(refresh);
        }
    }

    fn report(&self, mut report: OsdpReport) {
        // Waits while the channel is full: reports are never dropped, but a stop ends the
        // wait. A receiver that is gone is not an error here (the stop follows).
        loop {
            match self.reports.try_send(report) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(again)) => {
                    if self.stop.is_cancelled() {
                        return;
                    }
                    report = again;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// Waits `d`, answering commands meanwhile (the bus is down).
    fn idle(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.stop.is_cancelled() {
            while let Ok(req) = self.requests.try_recv() {
                let _ = req.reply.send(Err(CommandError::Offline(
                    "the serial port is closed".into(),
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn all_offline(&mut self, reason: &str) {
        for i in 0..self.pds.len() {
            self.set_offline(i, reason);
        }
    }

    fn set_offline(&mut self, i: PdIndex, reason: &str) {
        let pd = &mut self.pds[i];
        for p in pd.pending.drain(..) {
            let _ = p.reply.send(Err(CommandError::Offline(reason.into())));
        }
        pd.last_sent = None;
        pd.secure = false;
        if pd.told != Told::Offline {
            pd.told = Told::Offline;
            pd.offline_since = Some(Instant::now());
            warn!(bus = %self.config.name, reader = %pd.name, "OSDP reader offline: {reason}");
            self.report(OsdpReport::Offline {
                pd: i,
                reason: reason.into(),
            });
        }
    }

    /// Hands a command to the library.
    fn submit(&mut self, cp: &mut ControlPanel, req: Request, now: Instant) {
        let Some(pd) = self.pds.get_mut(req.pd) else {
            let _ = req.reply.send(Err(CommandError::NoSuchPd(req.pd)));
            return;
        };
        if pd.told != Told::Online {
            let _ = req
                .reply
                .send(Err(CommandError::Offline("not online".into())));
            return;
        }
        let (code, command) = to_library(req.command);
        match cp.send_command(req.pd as i32, command) {
            Ok(()) => pd.pending.push_back(Pending {
                code,
                deadline: now + self.config.timings.command_timeout,
                reply: req.reply,
            }),
            Err(_) => {
                let _ = req.reply.send(Err(CommandError::Busy));
            }
        }
    }

    /// A frame seen on the wire: who answered, and what a command's answer was.
    fn frame(&mut self, at: Instant, frame: Frame) {
        let Some(pd) = self.pds.iter_mut().find(|p| p.address == frame.address) else {
            return;
        };
        if !frame.reply {
            pd.last_sent = Some(frame.code);
            pd.sent_at = Some(at);
            return;
        }
        pd.heard = Some(at);
        let Some(sent) = pd.last_sent.take() else {
            return;
        };
        if !matches!(sent, CMD_LED | CMD_BUZ | CMD_OUT) {
            return;
        }
        let Some(at) = pd.pending.iter().position(|p| p.code == sent) else {
            return;
        };
        let Some(p) = pd.pending.remove(at) else {
            return;
        };
        let answer = match frame.code {
            REPLY_ACK => Ok(()),
            REPLY_OSTATR if sent == CMD_OUT => Ok(()),
            REPLY_NAK => Err(CommandError::Refused(frame.nak_code)),
            _ => Err(CommandError::Refused(None)),
        };
        debug!(reader = %pd.name, code = sent, ok = answer.is_ok(), "OSDP command answered");
        let _ = p.reply.send(answer);
    }

    /// Whether reader `i` is online as its keying requires: a reader with a key (or in
    /// install mode) counts only with its secure channel up, never in plain text.
    fn usable(&self, cp: &ControlPanel, i: PdIndex) -> (bool, bool) {
        let secure = cp.is_sc_active(i as i32);
        let needs_sc = !matches!(self.keys[i], KeyPlan::Off);
        (cp.is_online(i as i32) && (secure || !needs_sc), secure)
    }

    /// An event from the library.
    fn event(&mut self, cp: &ControlPanel, pd: i32, event: OsdpEvent) {
        let Some(i) = usize::try_from(pd).ok().filter(|&i| i < self.pds.len()) else {
            return;
        };
        if !self.usable(cp, i).0 {
            // A reader in plain text that should not be: nothing it says counts.
            debug!(reader = %self.pds[i].name, "OSDP event of a reader not online dropped");
            return;
        }
        match event {
            OsdpEvent::CardRead(card) => {
                let format = match card.format {
                    OsdpCardFormats::Wiegand => RawFormat::Wiegand,
                    OsdpCardFormats::Unspecified => RawFormat::Unspecified,
                };
                match Bits::from_bytes(&card.data, card.nr_bits) {
                    Ok(bits) => self.report(OsdpReport::CardRead {
                        pd: i,
                        reader: card.reader_no.clamp(0, 255) as u8,
                        format,
                        bits,
                    }),
                    Err(e) => warn!(reader = %self.pds[i].name, "OSDP card read dropped: {e}"),
                }
            }
            OsdpEvent::KeyPress(keys) => self.report(OsdpReport::Keypad {
                pd: i,
                reader: keys.reader_no.clamp(0, 255) as u8,
                keys: keys.data,
            }),
            OsdpEvent::Status(status) => {
                let n = status.nr_entries.min(status.report.len());
                let entries = &status.report[..n];
                match status.type_ {
                    OsdpStatusReportType::Local => {
                        if let Some(&t) = entries.first() {
                            self.report(OsdpReport::Tamper {
                                pd: i,
                                active: t != 0,
                            });
                        }
                        if let Some(&p) = entries.get(1) {
                            self.report(OsdpReport::Power { pd: i, ok: p == 0 });
                        }
                    }
                    OsdpStatusReportType::Input => self.report(OsdpReport::Inputs {
                        pd: i,
                        states: entries.iter().map(|&b| b != 0).collect(),
                    }),
                    other => debug!(reader = %self.pds[i].name, "OSDP status {other:?} ignored"),
                }
            }
            OsdpEvent::MfgReply(_) => {
                debug!(reader = %self.pds[i].name, "OSDP manufacturer reply ignored");
            }
        }
    }

    /// Online and offline, secure channel and install mode, command deadlines.
    fn supervise(&mut self, cp: &ControlPanel, now: Instant) {
        let offline_after = self.config.timings.offline_after;
        for i in 0..self.pds.len() {
            let (online, secure) = self.usable(cp, i);
            // Online for the library, but without the secure channel its keying requires.
            let plain = !online && cp.is_online(i as i32);
            let since = self.pds[i].heard.unwrap_or(self.started);
            let silent = now.saturating_duration_since(since) >= offline_after;
            match self.pds[i].told {
                Told::Nothing | Told::Online if plain => self.set_offline(
                    i,
                    "answers without a secure channel (it took neither its key nor, in install \
                     mode, SCBK-D): refused in plain text",
                ),
                Told::Online if !online => {
                    self.set_offline(i, "the library gave up after its retries");
                }
                Told::Online if silent => {
                    let reason = format!("no answer for {offline_after:?}");
                    self.set_offline(i, &reason);
                }
                Told::Online if secure != self.pds[i].secure => {
                    // The secure channel restarted (e.g. after KEYSET): report anew.
                    self.pds[i].secure = secure;
                    self.report(OsdpReport::Online { pd: i, secure });
                }
                Told::Nothing | Told::Offline if online && !silent => {
                    let pd = &mut self.pds[i];
                    pd.told = Told::Online;
                    pd.secure = secure;
                    info!(bus = %self.config.name, reader = %pd.name, secure, "OSDP reader online");
                    self.report(OsdpReport::Online { pd: i, secure });
                }
                Told::Nothing if silent => self.set_offline(i, "no answer since start"),
                _ => {}
            }
            if secure {
                self.commit_key(i);
            }
            let pd = &mut self.pds[i];
            while pd.pending.front().is_some_and(|p| p.deadline <= now) {
                if let Some(p) = pd.pending.pop_front() {
                    let timeout = self.config.timings.command_timeout;
                    let _ = p.reply.send(Err(CommandError::Timeout(timeout)));
                }
            }
        }
    }

    /// The safety net for a library built without this repository's `CFLAGS` (which make it
    /// contact an offline reader again after 1 s; its default is 300 s): a reader offline
    /// to which the library has sent nothing for [`STALL`] is not being retried. When that is
    /// true of every reader of the bus, the control panel is rebuilt (returned as a reason);
    /// otherwise it is logged once per outage, as rebuilding would reset the readers online.
    fn stalled(&mut self, now: Instant, opened: Instant, warned: &mut [bool]) -> Option<String> {
        let mut all = !self.pds.is_empty();
        for (pd, warned) in self.pds.iter().zip(warned.iter_mut()) {
            let last = [pd.sent_at, pd.offline_since, Some(opened)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(opened);
            let stalled = pd.told == Told::Offline && now.saturating_duration_since(last) >= STALL;
            if !stalled {
                *warned = false;
                all = false;
            } else if !*warned {
                *warned = true;
                warn!(
                    bus = %self.config.name, reader = %pd.name,
                    "the OSDP library has not tried the offline reader for {STALL:?}: built \
                     without -DOSDP_ONLINE_RETRY_WAIT_MAX_MS (.cargo/config.toml)? It retries \
                     after up to 300 s"
                );
            }
        }
        all.then(|| format!("the library retries no reader for {STALL:?}; restarting it"))
    }

    /// Install mode finished for reader `i` (the secure channel is up with the fresh key):
    /// the pending key becomes the installed one.
    fn commit_key(&mut self, i: PdIndex) {
        let KeyPlan::Install { key, key_file } = &self.keys[i] else {
            return;
        };
        let name = &self.pds[i].name;
        match keys::commit(key_file) {
            Ok(()) => {
                info!(reader = %name, file = %key_file.display(), "OSDP secure channel key installed");
                self.keys[i] = KeyPlan::Known(key.clone());
                self.report(OsdpReport::KeyInstalled { pd: i });
            }
            Err(e) => {
                // The reader has the key; keep it pending (the next start offers it again).
                warn!(reader = %name, file = %key_file.display(), "storing the installed key failed: {e}");
                self.keys[i] = KeyPlan::Known(key.clone());
            }
        }
    }
}

/// Why a bus could not be opened.
enum Opened {
    /// The port (retried).
    Port(String),
    /// The library (not retried).
    Setup,
}

/// A duration in units of 100 ms, saturating at `max`.
fn tenths(d: Duration, max: u64) -> u64 {
    (d.as_millis() / 100).min(u128::from(max)) as u64
}

fn color(c: LedColor) -> OsdpLedColor {
    match c {
        LedColor::Off => OsdpLedColor::None,
        LedColor::Red => OsdpLedColor::Red,
        LedColor::Green => OsdpLedColor::Green,
        LedColor::Amber => OsdpLedColor::Amber,
        LedColor::Blue => OsdpLedColor::Blue,
        LedColor::Magenta => OsdpLedColor::Magenta,
        LedColor::Cyan => OsdpLedColor::Cyan,
    }
}

fn led_params(control_code: u8, p: &LedPattern, timer: Duration) -> OsdpLedParams {
    OsdpLedParams {
        control_code,
        on_count: tenths(p.on, 255) as u8,
        off_count: tenths(p.off, 255) as u8,
        on_color: color(p.on_color),
        off_color: color(p.off_color),
        timer_count: tenths(timer, u64::from(u16::MAX)) as u16,
    }
}

/// A command in the library's terms, with the wire code its frame carries.
fn to_library(command: OsdpCommand) -> (u8, libosdp::OsdpCommand) {
    let nop = OsdpLedParams::default();
    match command {
        OsdpCommand::Led(Led {
            reader,
            led,
            action,
        }) => {
            let (temporary, permanent) = match action {
                LedAction::Permanent(p) => (nop, led_params(1, &p, Duration::ZERO)),
                LedAction::Temporary { pattern, duration } => {
                    (led_params(2, &pattern, duration), nop)
                }
                LedAction::CancelTemporary => (
                    OsdpLedParams {
                        control_code: 1,
                        ..nop
                    },
                    nop,
                ),
            };
            (
                CMD_LED,
                libosdp::OsdpCommand::Led(OsdpCommandLed {
                    reader,
                    led_number: led,
                    temporary,
                    permanent,
                }),
            )
        }
        OsdpCommand::Buzzer(b) => {
            let cmd = match b {
                Buzzer::Off => OsdpCommandBuzzer {
                    reader: 0,
                    control_code: 1,
                    on_count: 0,
                    off_count: 0,
                    rep_count: 0,
                },
                Buzzer::Tone {
                    reader,
                    on,
                    off,
                    repeat,
                } => OsdpCommandBuzzer {
                    reader,
                    control_code: 2,
                    on_count: tenths(on, 255) as u8,
                    off_count: tenths(off, 255) as u8,
                    rep_count: repeat,
                },
            };
            (CMD_BUZ, libosdp::OsdpCommand::Buzzer(cmd))
        }
        OsdpCommand::Output(Output { output, action }) => {
            let (control_code, timer) = match action {
                OutputAction::Off => (1, 0),
                OutputAction::On => (2, 0),
                OutputAction::Pulse(d) => (5, tenths(d, u64::from(u16::MAX)) as u16),
            };
            (
                CMD_OUT,
                libosdp::OsdpCommand::Output(OsdpCommandOutput {
                    output_no: output,
                    control_code,
                    timer_count: timer,
                }),
            )
        }
    }
}
