//! The conformance suite for the declarative line adapter (`railgate_adapters::line`): the
//! test panel of `conformance::line` (one ASCII line per point, `SET name=0|1` answered by
//! `OK` or `ERR reason`), described as a `LineProtocol` — data only, as the mapping compiler
//! would produce it — and spoken by the real `LineAdapter`. Twice: over an in-memory stream,
//! and over a real serial line (a socat pseudo-terminal pair, opened by `serial::open` as a
//! site's `/dev/ttyUSB0` is), where the peer's loss is the device node disappearing (socat
//! killed: a USB adapter pulled) and its return the node coming back at the same path.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::bytes::Regex;

use railgate_adapters::conformance::line::LinePeer;
use railgate_adapters::conformance::{self, Fixture, Peer, Settings, Subject};
use railgate_adapters::line::adapter::{BoxedStream, Opener};
use railgate_adapters::line::{
    AckSpec, Action, CommandTemplate, Framing, LineAdapter, LineConfig, LineProtocol,
    LineTransport, LineWrite, Matcher, Rule, TextTemplate,
};
use railgate_adapters::modbus::Backoff;
use railgate_adapters::serial::LineSettings;
use railgate_adapters::{PointId, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::pty::PtyPair;

const LAYOUT: [(&str, bool, bool); 4] = [
    ("zone1", false, false),
    ("zone2", false, false),
    ("siren", false, true),
    ("pgm1", true, true),
];

fn id(name: &str) -> PointId {
    PointId(format!("panel/{name}"))
}

fn t(s: &str) -> TextTemplate {
    TextTemplate::parse(s).unwrap()
}

fn rule(name: &str, regex: &str, action: Action) -> Rule {
    Rule {
        name: name.into(),
        matcher: Matcher::Text(Regex::new(regex).unwrap()),
        actions: vec![action],
    }
}

/// The test panel's protocol, declared.
fn protocol() -> LineProtocol {
    let set = |name: &str, template: &str| {
        let mut c = CommandTemplate::text(name, template).unwrap();
        c.ack = Some(AckSpec {
            key: None,
            timeout: Duration::from_secs(1),
        });
        c
    };
    LineProtocol {
        name: "conformance-line".into(),
        framing: Framing::Delimiter {
            delimiter: b"\n".to_vec(),
        },
        max_frame: 256,
        checksum: None,
        rules: vec![
            rule(
                "on",
                r"^(?P<name>[a-z0-9]+)=1$",
                Action::InputState {
                    point: t("panel/{name}"),
                    state: true,
                },
            ),
            rule(
                "off",
                r"^(?P<name>[a-z0-9]+)=0$",
                Action::InputState {
                    point: t("panel/{name}"),
                    state: false,
                },
            ),
            rule("ok", r"^OK$", Action::Ack { key: None }),
            rule(
                "err",
                r"^ERR (?P<reason>.*)$",
                Action::Nak {
                    key: None,
                    reason: Some("reason".into()),
                },
            ),
        ],
        commands: vec![
            set("set_on", "SET {name}=1"),
            set("set_off", "SET {name}=0"),
            // Sent on connect over the serial line: the panel prints every point.
            CommandTemplate::text("status", "STATUS").unwrap(),
        ],
        supervision: None,
    }
}

/// The declared panel, reached in memory or on a serial device.
enum Declared {
    Memory(LinePeer),
    Serial(PathBuf),
}

impl Subject for Declared {
    type Adapter = LineAdapter;

    fn build(&self, _settings: &Settings) -> LineAdapter {
        let (transport, on_connect) = match self {
            Declared::Memory(peer) => {
                let dialer = peer.dialer();
                let opener: Opener = Arc::new(move || {
                    let dialed = dialer.dial();
                    Box::pin(async move { dialed.map(|s| Box::new(s) as BoxedStream) })
                });
                (LineTransport::Custom(opener), Vec::new())
            }
            Declared::Serial(device) => (
                LineTransport::Serial {
                    device: device.clone(),
                    line: LineSettings::eight_n_one(115_200),
                },
                vec!["status".to_string()],
            ),
        };
        let mut writes = Vec::new();
        for (name, _, writable) in LAYOUT {
            if !writable {
                continue;
            }
            for (value, command) in [(true, "set_on"), (false, "set_off")] {
                writes.push(LineWrite {
                    point: id(name),
                    value: Value::Bool(value),
                    command: command.into(),
                    params: [("name".to_string(), name.to_string())].into(),
                });
            }
        }
        LineAdapter::new(LineConfig {
            name: "line-panel".into(),
            transport,
            protocol: protocol(),
            writes,
            inter_frame: Duration::ZERO,
            backoff: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_millis(400),
            },
            on_connect,
        })
    }
}

/// The fixture of the declared panel behind `peer`, reached by `subject`.
fn fixture<P: Peer>(
    peer: P,
    subject: Declared,
    detect_ms: u64,
    recover_ms: u64,
) -> Fixture<P, Declared> {
    Fixture {
        subject,
        peer,
        points: LAYOUT.iter().map(|(n, _, _)| id(n)).collect(),
        input: id("zone1"),
        outputs: vec![id("siren"), id("pgm1")],
        refused: None,
        poll_interval: Duration::from_millis(100),
        detect_within: Duration::from_millis(detect_ms),
        recover_within: Duration::from_millis(recover_ms),
        slack: Duration::from_millis(500),
    }
}

async fn panel() -> Fixture<LinePeer, Declared> {
    let peer = LinePeer::new(&LAYOUT);
    fixture(peer.clone(), Declared::Memory(peer), 200, 1000)
}

macro_rules! conformance_tests {
    ($fixture:ident: $($name:ident => $check:path;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fx = $fixture().await;
                if let Err(failure) = $check(&fx).await {
                    panic!("{}: {failure}", stringify!($check));
                }
            }
        )*
    };
}

conformance_tests! { panel:
    declared_line_initial_readings => conformance::initial_readings;
    declared_line_input_change_reported => conformance::input_change_reported;
    declared_line_repeat_not_reported => conformance::repeat_not_reported;
    declared_line_peer_loss => conformance::peer_loss;
    declared_line_peer_return => conformance::peer_return;
    declared_line_write_round_trip => conformance::write_round_trip;
    declared_line_unknown_write_refused => conformance::unknown_write_refused;
    declared_line_input_write_refused => conformance::input_write_refused;
    declared_line_garbage_survived => conformance::garbage_survived;
    declared_line_clean_stop => conformance::clean_stop;
    declared_line_stop_while_down => conformance::stop_while_down;
}

/// The panel on the far end of a socat pty pair. A bridge task holds the device's end and one
/// panel session, carries lines both ways, and answers the adapter's `STATUS` by printing
/// every point (what it printed before is dropped). Stopping the peer kills socat (the device node disappears), a restart starts
/// it again at the same paths. A serial device cannot see the adapter hang up, so this peer
/// counts no connections.
struct SerialPanel {
    panel: LinePeer,
    pty: tokio::sync::Mutex<PtyPair>,
    bridge: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
    _dir: tempfile::TempDir,
}

impl SerialPanel {
    fn bridge(&self, device: PathBuf) {
        let panel = self.panel.clone();
        let Ok(mut session) = panel.dialer().dial() else {
            return;
        };
        let task = tokio::spawn(async move {
            let Ok(mut port) =
                railgate_adapters::serial::open(&device, &LineSettings::eight_n_one(115_200))
            else {
                return;
            };
            let mut partial = Vec::new();
            // What the panel prints before the adapter's first `STATUS` is for nobody (a
            // real panel's output while the port is closed is lost the same way).
            let mut heard = false;
            let (mut from_port, mut from_panel) = ([0u8; 512], [0u8; 512]);
            loop {
                tokio::select! {
                    n = port.read(&mut from_port) => {
                        let Ok(n @ 1..) = n else { return };
                        for &b in &from_port[..n] {
                            partial.push(b);
                            if b != b'\n' {
                                continue;
                            }
                            let line = std::mem::take(&mut partial);
                            if line == b"STATUS\n" {
                                heard = true;
                                for (name, _, _) in LAYOUT {
                                    if let Ok(Value::Bool(on)) = panel.value(&id(name)) {
                                        panel.print(format!("{name}={}", u8::from(on)).as_bytes());
                                    }
                                }
                            } else if session.write_all(&line).await.is_err() {
                                return;
                            }
                        }
                    }
                    n = session.read(&mut from_panel) => {
                        let Ok(n @ 1..) = n else { return };
                        if heard && port.write_all(&from_panel[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        if let Some(old) = self.bridge.lock().replace(task) {
            old.abort();
        }
    }
}

impl Peer for SerialPanel {
    async fn stop(&self) {
        self.panel.stop().await;
        if let Some(bridge) = self.bridge.lock().take() {
            bridge.abort();
        }
        self.pty.lock().await.unplug().await;
    }

    async fn restart(&self) -> std::io::Result<()> {
        self.panel.restart().await?;
        let mut pty = self.pty.lock().await;
        pty.plug().await;
        self.bridge(pty.b.clone());
        Ok(())
    }

    fn set_input(&self, point: &PointId, value: &Value) -> Result<(), String> {
        self.panel.set_input(point, value)
    }

    fn value(&self, point: &PointId) -> Result<Value, String> {
        self.panel.value(point)
    }

    async fn garbage(&self) -> Result<bool, String> {
        self.panel.garbage().await
    }
}

async fn serial_panel() -> Fixture<SerialPanel, Declared> {
    let dir = tempfile::tempdir().unwrap();
    let pty = PtyPair::start(dir.path()).await;
    let (a, b) = (pty.a.clone(), pty.b.clone());
    let peer = SerialPanel {
        panel: LinePeer::new(&LAYOUT),
        pty: tokio::sync::Mutex::new(pty),
        bridge: parking_lot::Mutex::new(None),
        _dir: dir,
    };
    peer.bridge(b);
    // Detection and recovery include socat going and coming.
    fixture(peer, Declared::Serial(a), 300, 1500)
}

conformance_tests! { serial_panel:
    serial_line_initial_readings => conformance::initial_readings;
    serial_line_input_change_reported => conformance::input_change_reported;
    serial_line_repeat_not_reported => conformance::repeat_not_reported;
    serial_line_device_disappears => conformance::peer_loss;
    serial_line_device_comes_back => conformance::peer_return;
    serial_line_write_round_trip => conformance::write_round_trip;
    serial_line_unknown_write_refused => conformance::unknown_write_refused;
    serial_line_input_write_refused => conformance::input_write_refused;
    serial_line_garbage_survived => conformance::garbage_survived;
    serial_line_clean_stop => conformance::clean_stop;
    serial_line_stop_while_down => conformance::stop_while_down;
}
