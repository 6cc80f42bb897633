//! The OSDP driver against a real peripheral device: PyPI `libosdp` (the reference C library's
//! Python binding) runs a reader (`tests/peers/osdp_pd.py`) on one end of a socat
//! pseudo-terminal pair, `OsdpBus` is the control panel on the other.
//!
//! Python comes from `$RAILGATE_PYTHON`, else `<workspace>/.venv/bin/python` (`tests/run`
//! installs `tests/interop/requirements.txt` there, which lists `libosdp` and `pyserial`).
//! Without them, or without socat, the tests are skipped with a message saying what is
//! missing; with `RAILGATE_REQUIRE_OSDP_PEER=1` (what `tests/run` should set) they fail
//! instead.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use railgate_adapters::osdp::{
    BusConfig, Buzzer, CommandError, Led, LedAction, LedColor, LedPattern, OsdpBus, OsdpCommand,
    OsdpHandle, OsdpReport, Output, OutputAction, PdConfig, RawFormat, Scbk, SecureChannel,
};
use railgate_adapters::wiegand::{Format, decode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use support::pty::PtyPair;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a reader may take to come online (identification, capabilities, and the secure
/// channel handshake; in install mode also the KEYSET and a second handshake).
const ONLINE: Duration = Duration::from_secs(8);

fn pd_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/osdp_pd.py")
}

/// The Python that has PyPI `libosdp` and `pyserial`, and socat; `None` (with a message) if
/// either is missing and the peer is not required.
fn peer_tools() -> Option<PathBuf> {
    let python = support::python();
    let has_osdp = support::succeeds(&python, &["-c", "import osdp, serial"]);
    let has_socat = support::pty::has_socat();
    let missing = match (has_osdp, has_socat) {
        (true, true) => return Some(python),
        (false, _) => format!(
            "`{} -c 'import osdp, serial'` failed: PyPI libosdp and pyserial are needed \
             (python3 -m venv .venv && .venv/bin/pip install -r tests/interop/requirements.txt, \
             or set RAILGATE_PYTHON)",
            python.display()
        ),
        (true, false) => {
            "socat is needed for the pseudo-terminal pair (apt-get install socat)".into()
        }
    };
    if std::env::var_os("RAILGATE_REQUIRE_OSDP_PEER").is_some_and(|v| v == "1") {
        panic!("the OSDP interop test needs its peer: {missing}");
    }
    eprintln!("SKIPPED: the OSDP interop test needs its peer: {missing}");
    None
}

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// The Python reader: lines in, JSON lines out.
struct Pd {
    child: Guard,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
}

impl Pd {
    async fn start(python: &Path, device: &Path, address: u8, scbk: Option<&Scbk>) -> Pd {
        Pd::start_many(python, device, &[(address, scbk)]).await
    }

    /// Several readers on the one line (a multi-drop bus), each `(address, key)`.
    async fn start_many(python: &Path, device: &Path, readers: &[(u8, Option<&Scbk>)]) -> Pd {
        let mut command = Command::new(python);
        command
            .arg(pd_script())
            .arg(device)
            .args(readers.iter().map(|(address, scbk)| match scbk {
                Some(key) => format!("{address}:{}", key.to_hex()),
                None => address.to_string(),
            }))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        Pd::from_child(command.spawn().expect("start the Python PD"), readers.len()).await
    }

    /// A started PD script (stdin and stdout piped) running `readers` readers.
    async fn from_child(mut child: Child, readers: usize) -> Pd {
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let value = serde_json::from_str(&line).unwrap_or(json!({ "unparsed": line }));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let mut pd = Pd {
            child: Guard(child),
            stdin,
            lines,
        };
        for _ in 0..readers {
            pd.expect("ready", Duration::from_secs(10), |v| {
                v.get("ready").is_some()
            })
            .await;
        }
        pd
    }

    async fn send(&mut self, msg: Value) {
        let line = format!("{msg}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("PD stdin");
        self.stdin.flush().await.expect("PD stdin");
    }

    /// The next line matching `want` within `limit` (others are skipped).
    async fn expect(
        &mut self,
        what: &str,
        limit: Duration,
        want: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = tokio::time::Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout_at(until, self.lines.recv()).await {
                Ok(Some(v)) if want(&v) => return v,
                Ok(Some(v)) => seen.push(v),
                Ok(None) => panic!("the PD ended before {what}; it said {seen:?}"),
                Err(_) => panic!("no {what} from the PD within {limit:?}; it said {seen:?}"),
            }
        }
    }

    /// Every command the PD reported so far.
    fn commands_so_far(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(v) = self.lines.try_recv() {
            if let Some(c) = v.get("command") {
                out.push(c.clone());
            }
        }
        out
    }

    async fn kill(mut self) {
        let _ = self.child.0.kill().await;
    }

    async fn quit(mut self) {
        self.send(json!({ "quit": true })).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.0.wait()).await;
    }
}

/// A running driver and its reports.
struct Cp {
    handle: OsdpHandle,
    reports: mpsc::Receiver<OsdpReport>,
    stop: CancellationToken,
    task: JoinHandle<()>,
    /// The reports [`Cp::expect`] passed over, in order.
    skipped: Vec<OsdpReport>,
}

impl Cp {
    fn start(config: BusConfig) -> Cp {
        let (bus, handle) = OsdpBus::new(config);
        let (tx, reports) = mpsc::channel(64);
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            bus.run(tx, token).await.expect("the OSDP bus runs");
        });
        Cp {
            handle,
            reports,
            stop,
            task,
            skipped: Vec::new(),
        }
    }

    /// The next report matching `want` within `limit`, and how long it took.
    async fn expect(
        &mut self,
        what: &str,
        limit: Duration,
        want: impl Fn(&OsdpReport) -> bool,
    ) -> (OsdpReport, Duration) {
        let start = Instant::now();
        let until = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(until, self.reports.recv()).await {
                Ok(Some(r)) if want(&r) => return (r, start.elapsed()),
                Ok(Some(r)) => self.skipped.push(r),
                Ok(None) => panic!(
                    "the driver ended before {what}; it reported {:?}",
                    self.skipped
                ),
                Err(_) => panic!(
                    "no {what} within {limit:?}; the driver reported {:?}",
                    self.skipped
                ),
            }
        }
    }

    /// Every report so far.
    fn drain(&mut self) -> Vec<OsdpReport> {
        let mut out = Vec::new();
        while let Ok(r) = self.reports.try_recv() {
            out.push(r);
        }
        out
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the driver stops within 5 s")
            .expect("the driver task ends cleanly");
    }
}

fn bus(line: &PtyPair, pd: PdConfig) -> BusConfig {
    BusConfig::new("test", &line.a, 115200).with_pd(pd)
}

fn online(secure: bool) -> impl Fn(&OsdpReport) -> bool {
    move |r| matches!(r, OsdpReport::Online { pd: 0, secure: s } if *s == secure)
}

fn is_keyset(v: &Value) -> bool {
    v.get("command")
        .and_then(|c| c.get("data"))
        .is_some_and(|d| d.as_str().is_some_and(|s| s.len() == 32))
        && v["command"].get("type").is_some()
}

#[tokio::test]
async fn install_mode_keys_the_reader_then_only_the_stored_key_is_used() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let line = PtyPair::start(dir.path()).await;
    let key_file = dir.path().join("data/osdp-front.scbk");
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    let config = bus(
        &line,
        PdConfig::new(
            3,
            "front",
            SecureChannel::Install {
                key_file: key_file.clone(),
            },
        ),
    );

    // First contact: a reader out of the box (no key: install mode, accepts SCBK-D once).
    let mut pd = Pd::start(&python, &line.b, 3, None).await;
    let mut cp = Cp::start(config.clone());
    let keyset = pd.expect("KEYSET", ONLINE, is_keyset).await;
    cp.expect("key installed", ONLINE, |r| {
        matches!(r, OsdpReport::KeyInstalled { pd: 0 })
    })
    .await;
    // The secure channel is up with the new key (SCBK-D sessions do not count as secure).
    pd.expect("secure channel", ONLINE, |v| v["sc_active"] == json!(true))
        .await;
    // Before KeyInstalled came the secure Online report (the handshake with the new key).
    assert!(
        cp.skipped.contains(&OsdpReport::Online {
            pd: 0,
            secure: true
        }),
        "no secure Online report: {:?}",
        cp.skipped
    );

    // The key file: 0600, holding exactly the key the reader was given; no pending file.
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");
    let stored = std::fs::read_to_string(&key_file).unwrap();
    let key = Scbk::from_hex(&stored).expect("the key file holds a key");
    assert_eq!(
        keyset["command"]["data"].as_str().unwrap(),
        key.to_hex(),
        "the key file holds the key sent with KEYSET"
    );
    let leftovers: Vec<_> = std::fs::read_dir(key_file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("osdp-front.scbk")]);
    cp.stop().await;
    pd.quit().await;

    // Second start: the reader has the key, the driver uses the stored one: secure at once,
    // no KEYSET, nothing installed anew.
    let mut pd = Pd::start(&python, &line.b, 3, Some(&key)).await;
    let mut cp = Cp::start(config.clone());
    cp.expect("secure Online with the stored key", ONLINE, online(true))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !cp.drain()
            .iter()
            .any(|r| matches!(r, OsdpReport::KeyInstalled { .. })),
        "a second install"
    );
    assert!(
        !pd.commands_so_far()
            .iter()
            .any(|c| c.get("type").is_some() && c.get("data").is_some()),
        "KEYSET sent although a key was stored"
    );
    cp.stop().await;
    pd.quit().await;

    // Install mode is off once a key exists: a reader that was reset to factory state (back
    // to SCBK-D) is not accepted, in plain text or with SCBK-D.
    let mut pd = Pd::start(&python, &line.b, 3, None).await;
    let mut cp = Cp::start(config);
    cp.expect("Offline for a reset reader", ONLINE, |r| {
        matches!(r, OsdpReport::Offline { pd: 0, .. })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = cp.drain();
    assert!(
        !later.iter().any(|r| matches!(r, OsdpReport::Online { .. })),
        "a reset reader came online: {later:?}"
    );
    assert!(
        !pd.commands_so_far()
            .iter()
            .any(|c| c.get("type").is_some() && c.get("data").is_some()),
        "KEYSET sent to a reset reader"
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        stored,
        "key file unchanged"
    );
    cp.stop().await;
    pd.quit().await;
}

#[tokio::test]
async fn card_keypad_tamper_and_commands_cross_the_secure_channel() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let line = PtyPair::start(dir.path()).await;
    let key = Scbk(*b"railgate-test-k!");
    let mut pd = Pd::start(&python, &line.b, 5, Some(&key)).await;
    let mut cp = Cp::start(bus(
        &line,
        PdConfig::new(5, "door", SecureChannel::Key(key)),
    ));
    cp.expect("secure Online", ONLINE, online(true)).await;

    // H10301, facility 123, card 4567: 1 01111011 0001000111010111 0 = 0x2f623ae, packed MSB
    // first as osdp_RAW carries it.
    pd.send(json!({ "card": { "bits": 26, "data": "bd88eb80" } }))
        .await;
    let (card, _) = cp
        .expect("card read", Duration::from_secs(3), |r| {
            matches!(r, OsdpReport::CardRead { .. })
        })
        .await;
    let OsdpReport::CardRead {
        pd: 0,
        reader: 0,
        format: RawFormat::Wiegand,
        bits,
    } = card
    else {
        panic!("unexpected {card:?}");
    };
    assert_eq!(bits.len(), 26);
    assert_eq!(bits.value(), 0x2f623ae);
    let decoded = decode(&bits, Format::H10301).expect("a valid H10301 frame");
    assert_eq!((decoded.facility, decoded.number), (Some(123), 4567));

    pd.send(json!({ "keys": "1234#" })).await;
    let (keys, _) = cp
        .expect("keypad", Duration::from_secs(3), |r| {
            matches!(r, OsdpReport::Keypad { .. })
        })
        .await;
    assert_eq!(
        keys,
        OsdpReport::Keypad {
            pd: 0,
            reader: 0,
            keys: b"1234#".to_vec()
        }
    );

    pd.send(json!({ "tamper": true })).await;
    cp.expect("tamper", Duration::from_secs(3), |r| {
        *r == OsdpReport::Tamper {
            pd: 0,
            active: true,
        }
    })
    .await;
    pd.send(json!({ "tamper": false })).await;
    cp.expect("tamper cleared", Duration::from_secs(3), |r| {
        *r == OsdpReport::Tamper {
            pd: 0,
            active: false,
        }
    })
    .await;

    // An LED pattern: answered after the reader's ACK, and the reader got what was sent.
    let led = OsdpCommand::Led(Led {
        reader: 0,
        led: 0,
        action: LedAction::Temporary {
            pattern: LedPattern::blink(
                LedColor::Green,
                LedColor::Off,
                Duration::from_millis(300),
                Duration::from_millis(200),
            ),
            duration: Duration::from_secs(2),
        },
    });
    tokio::time::timeout(Duration::from_secs(5), cp.handle.command(0, led))
        .await
        .expect("the LED command is answered")
        .expect("the reader acknowledged the LED command");
    let got = pd
        .expect("LED command", Duration::from_secs(3), |v| {
            v.get("command")
                .is_some_and(|c| c.get("led_number").is_some())
        })
        .await;
    let c = &got["command"];
    assert_eq!(c["temporary"], json!(true), "{c}");
    assert_eq!(c["on_color"], json!(2), "green is colour 2: {c}");
    assert_eq!(c["off_color"], json!(0), "{c}");
    assert_eq!(
        (c["on_count"].clone(), c["off_count"].clone()),
        (json!(3), json!(2)),
        "{c}"
    );
    assert_eq!(c["timer_count"], json!(20), "{c}");

    let steady = OsdpCommand::Led(Led {
        reader: 0,
        led: 0,
        action: LedAction::Permanent(LedPattern::steady(LedColor::Red)),
    });
    cp.handle
        .command(0, steady)
        .await
        .expect("steady red acknowledged");
    let got = pd
        .expect("LED command", Duration::from_secs(3), |v| {
            v.get("command")
                .is_some_and(|c| c.get("led_number").is_some())
        })
        .await;
    assert_eq!(got["command"]["temporary"], json!(false), "{got}");
    assert_eq!(
        got["command"]["on_color"],
        json!(1),
        "red is colour 1: {got}"
    );

    let beep = OsdpCommand::Buzzer(Buzzer::Tone {
        reader: 0,
        on: Duration::from_millis(500),
        off: Duration::from_millis(500),
        repeat: 2,
    });
    cp.handle
        .command(0, beep)
        .await
        .expect("buzzer acknowledged");
    let got = pd
        .expect("buzzer command", Duration::from_secs(3), |v| {
            v.get("command")
                .is_some_and(|c| c.get("rep_count").is_some())
        })
        .await;
    assert_eq!(got["command"]["rep_count"], json!(2), "{got}");
    assert_eq!(
        got["command"]["control_code"],
        json!(2),
        "default tone: {got}"
    );

    let pulse = OsdpCommand::Output(Output {
        output: 0,
        action: OutputAction::Pulse(Duration::from_millis(1500)),
    });
    cp.handle
        .command(0, pulse)
        .await
        .expect("output acknowledged");
    let got = pd
        .expect("output command", Duration::from_secs(3), |v| {
            v.get("command")
                .is_some_and(|c| c.get("output_no").is_some())
        })
        .await;
    assert_eq!(got["command"]["control_code"], json!(5), "{got}");
    assert_eq!(got["command"]["timer_count"], json!(15), "{got}");

    // A reader that does not exist is refused at once.
    assert_eq!(
        cp.handle.command(7, OsdpCommand::Buzzer(Buzzer::Off)).await,
        Err(CommandError::NoSuchPd(7))
    );
    cp.stop().await;
    pd.quit().await;
}

#[tokio::test]
async fn a_killed_reader_is_offline_within_seconds_and_back_within_seconds() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let line = PtyPair::start(dir.path()).await;
    let key = Scbk(*b"0123456789abcdef");
    let pd = Pd::start(&python, &line.b, 9, Some(&key)).await;
    let mut cp = Cp::start(bus(
        &line,
        PdConfig::new(9, "gate", SecureChannel::Key(key.clone())),
    ));
    cp.expect("secure Online", ONLINE, online(true)).await;

    pd.kill().await;
    let (offline, took) = cp
        .expect(
            "Offline after the reader was killed",
            Duration::from_secs(3),
            |r| matches!(r, OsdpReport::Offline { pd: 0, .. }),
        )
        .await;
    eprintln!("offline after {took:?}: {offline:?}");
    // While offline, a command fails at once.
    let refused = cp.handle.command(0, OsdpCommand::Buzzer(Buzzer::Off)).await;
    assert!(
        matches!(refused, Err(CommandError::Offline(_))),
        "{refused:?}"
    );

    // Down for a while (longer than the library's verdict), then back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut pd = Pd::start(&python, &line.b, 9, Some(&key)).await;
    let (_, took) = cp
        .expect(
            "Online again after the restart",
            Duration::from_secs(6),
            online(true),
        )
        .await;
    eprintln!("online again {took:?} after the restart");
    cp.handle
        .command(0, OsdpCommand::Buzzer(Buzzer::Off))
        .await
        .expect("commands work again");
    let _ = pd
        .expect("buzzer", Duration::from_secs(3), |v| {
            v.get("command").is_some()
        })
        .await;
    cp.stop().await;
    pd.quit().await;
}

#[tokio::test]
async fn an_unplugged_bus_takes_its_reader_offline_and_is_reopened_when_it_returns() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut line = PtyPair::start(dir.path()).await;
    let pd = Pd::start(&python, &line.b, 9, None).await;
    let mut cp = Cp::start(bus(&line, PdConfig::new(9, "gate", SecureChannel::Off)));
    cp.expect("Online", ONLINE, online(false)).await;

    // The USB RS-485 adapter is pulled: the device node disappears.
    line.unplug().await;
    pd.kill().await;
    let (offline, took) = cp
        .expect("Offline after the unplug", Duration::from_secs(3), |r| {
            matches!(r, OsdpReport::Offline { pd: 0, .. })
        })
        .await;
    eprintln!("offline after {took:?}: {offline:?}");

    // Plugged back at the same path, with the reader on it: the port is reopened.
    line.plug().await;
    let pd = Pd::start(&python, &line.b, 9, None).await;
    let (_, took) = cp
        .expect(
            "Online again after the replug",
            Duration::from_secs(8),
            online(false),
        )
        .await;
    eprintln!("online again {took:?} after the replug");
    cp.stop().await;
    pd.quit().await;
}

#[tokio::test]
async fn a_refused_command_is_answered_as_refused_in_plain_text() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let line = PtyPair::start(dir.path()).await;
    let mut pd = Pd::start(&python, &line.b, 1, None).await;
    let mut cp = Cp::start(bus(&line, PdConfig::new(1, "plain", SecureChannel::Off)));
    cp.expect("plain Online", ONLINE, online(false)).await;

    pd.send(json!({ "refuse": true })).await;
    // Let the PD read the line before the command goes out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = cp.handle.command(0, OsdpCommand::Buzzer(Buzzer::Off)).await;
    // osdp_NAK with error code 9 ("unable to process command record"): what libosdp's PD
    // sends when its application refuses a command; in plain text, so the code is seen.
    assert_eq!(answer, Err(CommandError::Refused(Some(9))));
    let got = pd
        .expect("the refused command", Duration::from_secs(3), |v| {
            v.get("command").is_some()
        })
        .await;
    assert_eq!(got["refused"], json!(true), "{got}");

    // The library takes a reader that NAKs a command offline, then contacts it again.
    pd.send(json!({ "refuse": false })).await;
    cp.expect(
        "Online again after the NAK",
        Duration::from_secs(6),
        online(false),
    )
    .await;
    assert!(
        cp.skipped
            .iter()
            .any(|r| matches!(r, OsdpReport::Offline { pd: 0, .. })),
        "no Offline between: {:?}",
        cp.skipped
    );
    cp.handle
        .command(0, OsdpCommand::Buzzer(Buzzer::Off))
        .await
        .expect("accepted again");
    cp.stop().await;
    pd.quit().await;
}

#[tokio::test]
async fn two_readers_share_a_bus_and_one_going_silent_leaves_the_other_alone() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let line = PtyPair::start(dir.path()).await;
    let (left, right) = (Scbk(*b"left-reader-key!"), Scbk(*b"right-reader-key"));
    let mut pds = Pd::start_many(&python, &line.b, &[(2, Some(&left)), (4, Some(&right))]).await;
    let config = BusConfig::new("multidrop", &line.a, 115200)
        .with_pd(PdConfig::new(2, "left", SecureChannel::Key(left)))
        .with_pd(PdConfig::new(4, "right", SecureChannel::Key(right)));
    let mut cp = Cp::start(config);
    let secure = |pd| move |r: &OsdpReport| *r == OsdpReport::Online { pd, secure: true };
    cp.expect("left online", ONLINE, secure(0)).await;
    if !cp.skipped.contains(&OsdpReport::Online {
        pd: 1,
        secure: true,
    }) {
        cp.expect("right online", ONLINE, secure(1)).await;
    }

    // Reports and commands name the right reader.
    pds.send(json!({ "pd": 4, "card": { "bits": 26, "data": "bd88eb80" } }))
        .await;
    let (card, _) = cp
        .expect("card read", Duration::from_secs(3), |r| {
            matches!(r, OsdpReport::CardRead { .. })
        })
        .await;
    assert_eq!(card.pd(), 1, "{card:?}");
    let green = OsdpCommand::Led(Led {
        reader: 0,
        led: 0,
        action: LedAction::Permanent(LedPattern::steady(LedColor::Green)),
    });
    cp.handle
        .command(0, green)
        .await
        .expect("left acknowledged");
    let got = pds
        .expect("LED command", Duration::from_secs(3), |v| {
            v.get("command").is_some()
        })
        .await;
    assert_eq!(
        got["pd"],
        json!(2),
        "the LED went to the left reader: {got}"
    );

    // The right reader goes silent: reported offline; the left one is not disturbed.
    pds.send(json!({ "pd": 4, "mute": true })).await;
    let (offline, took) = cp
        .expect("right offline", Duration::from_secs(3), |r| {
            matches!(r, OsdpReport::Offline { pd: 1, .. })
        })
        .await;
    eprintln!("right offline after {took:?}: {offline:?}");
    cp.handle
        .command(0, OsdpCommand::Buzzer(Buzzer::Off))
        .await
        .expect("the left reader still answers");
    pds.send(json!({ "pd": 2, "keys": "7" })).await;
    cp.expect("left keypad", Duration::from_secs(3), |r| {
        matches!(r, OsdpReport::Keypad { pd: 0, .. })
    })
    .await;

    // Plugged back after 9 s (longer than the library's default retry phase of ~8 s): online
    // again within seconds. Beside an online reader only the library's own retry brings it
    // back (built with OSDP_ONLINE_RETRY_WAIT_MAX_MS=1000; its default is 300 s), so this
    // fails if .cargo/config.toml's CFLAGS were not in effect.
    tokio::time::sleep(Duration::from_secs(8)).await;
    pds.send(json!({ "pd": 4, "mute": false })).await;
    let (_, took) = cp
        .expect("right online again", Duration::from_secs(5), secure(1))
        .await;
    eprintln!("right online again {took:?} after it was plugged back");
    assert!(
        !cp.skipped
            .iter()
            .any(|r| matches!(r, OsdpReport::Offline { pd: 0, .. })),
        "the left reader went offline: {:?}",
        cp.skipped
    );
    cp.stop().await;
    pds.quit().await;
}

#[tokio::test]
async fn a_reader_keyed_elsewhere_is_refused_in_plain_text_in_install_mode() {
    let Some(python) = peer_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let line = PtyPair::start(dir.path()).await;
    let key_file = dir.path().join("osdp-old.scbk");
    // The reader was keyed by another panel: it takes neither our fresh key nor SCBK-D, and
    // the library then runs it in plain text (install mode cannot use EnforceSecure).
    let theirs = Scbk(*b"another-panel-ky");
    let mut pd = Pd::start(&python, &line.b, 6, Some(&theirs)).await;
    let mut cp = Cp::start(bus(
        &line,
        PdConfig::new(
            6,
            "old",
            SecureChannel::Install {
                key_file: key_file.clone(),
            },
        ),
    ));
    let (offline, _) = cp
        .expect("Offline for a plain-text reader", ONLINE, |r| {
            matches!(r, OsdpReport::Offline { pd: 0, .. })
        })
        .await;
    let OsdpReport::Offline { reason, .. } = &offline else {
        unreachable!()
    };
    assert!(reason.contains("without a secure channel"), "{reason}");
    // What it says does not count, and nothing is installed.
    pd.send(json!({ "card": { "bits": 26, "data": "bd88eb80" } }))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = cp.drain();
    assert!(
        !later
            .iter()
            .any(|r| matches!(r, OsdpReport::Online { .. } | OsdpReport::CardRead { .. })),
        "{later:?} (before: {:?})",
        cp.skipped
    );
    assert!(!key_file.exists());
    cp.stop().await;
    pd.quit().await;
}

#[tokio::test]
async fn a_missing_port_is_reported_offline_and_commands_fail_at_once() {
    // No peer needed: the device does not exist.
    let dir = tempfile::tempdir().unwrap();
    let config = BusConfig::new("nowhere", dir.path().join("ttyGONE"), 9600)
        .with_pd(PdConfig::new(0, "a", SecureChannel::Off))
        .with_pd(PdConfig::new(1, "b", SecureChannel::Off));
    let mut cp = Cp::start(config);
    for pd in [0, 1] {
        let (r, _) = cp
            .expect(
                "Offline",
                Duration::from_secs(2),
                |r| matches!(r, OsdpReport::Offline { pd: p, .. } if *p == pd),
            )
            .await;
        let OsdpReport::Offline { reason, .. } = r else {
            unreachable!()
        };
        assert!(reason.contains("ttyGONE"), "{reason}");
    }
    let answer = tokio::time::timeout(
        Duration::from_secs(2),
        cp.handle.command(1, OsdpCommand::Buzzer(Buzzer::Off)),
    )
    .await
    .expect("answered at once");
    assert!(
        matches!(answer, Err(CommandError::Offline(_))),
        "{answer:?}"
    );
    cp.stop().await;
}

#[tokio::test]
async fn a_configuration_that_cannot_work_is_refused() {
    let config = BusConfig::new("bad", "/dev/null", 1200)
        .with_pd(PdConfig::new(0, "a", SecureChannel::Off))
        .with_pd(PdConfig::new(0, "b", SecureChannel::Off));
    let (bus, _handle) = OsdpBus::new(config);
    let (tx, _rx) = mpsc::channel(1);
    let err = bus.run(tx, CancellationToken::new()).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("baud rate 1200") && text.contains("share address 0"),
        "{text}"
    );
}
