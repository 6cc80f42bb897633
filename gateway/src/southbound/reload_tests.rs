//! A reload of the southbound side, end to end to the event store: only the changed link is
//! restarted; removed properties are Deleted; an input whose definition changed shows its new
//! state at once from its last reading; a restarted controller is "restarted by a reload"
//! until its new link reports; a monostable relay that leaves the mapping falls back first.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use railgate_adapters::{
    Adapter, AdapterError, AdapterEvent, AdapterIo, Command, LinkEvent, LinkState, PointId,
    PointUpdate, Quality, Value,
};
use railgate_mappings::plan::Plan;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Southbound;
use crate::events::core::EventCore;
use crate::events::model::{Event, PropertyOperation};
use crate::events::store::{EventStore, StoreConfig};
use crate::state::StateDb;

/// An adapter that reports what the test sends it and acknowledges every write (recording it).
struct Scripted {
    name: String,
    script: mpsc::UnboundedReceiver<AdapterEvent>,
    writes: Arc<Mutex<Vec<(String, PointId, Value)>>>,
    /// How long a write takes to be acknowledged.
    ack_delay: Arc<Mutex<Duration>>,
}

impl Adapter for Scripted {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(mut self, mut io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                next = self.script.recv() => match next {
                    Some(event) => io.report(event, &stop).await,
                    None => break,
                },
                Some(Command::Write(w)) = io.commands.recv() => {
                    self.writes.lock().push((self.name.clone(), w.id.clone(), w.value.clone()));
                    let delay = *self.ack_delay.lock();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = w.reply.send(Ok(()));
                    });
                }
            }
        }
        Ok(())
    }
}

const BEFORE: &str = "controllers:
  - name: io
    modbus_tcp: {host: 127.0.0.1, port: 1502}
    unit: 1
    address_base: 0
  - name: aux
    modbus_tcp: {host: 127.0.0.1, port: 1503}
    unit: 1
    address_base: 0
inputs:
  - {token: Door, controller: io, discrete_input: 1}
  - {token: Window, controller: aux, discrete_input: 1}
relays:
  - {token: Strike, controller: aux, coil: 1, mode: monostable, delay: 60s}
";

const AFTER: &str = "controllers:
  - name: io
    modbus_tcp: {host: 127.0.0.1, port: 1502}
    unit: 1
    address_base: 0
  - name: aux
    modbus_tcp: {host: 127.0.0.1, port: 1504}
    unit: 1
    address_base: 0
inputs:
  - {token: Door, controller: io, discrete_input: 1, invert: true}
  - {token: Gate, controller: aux, discrete_input: 2}
";

fn plan(text: &str) -> Plan {
    railgate_mappings::load_str(Path::new("site.yaml"), text).expect("a mapping")
}

type Scripts = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<AdapterEvent>>>>;

struct Site {
    southbound: Arc<Southbound>,
    events: EventCore,
    scripts: Scripts,
    started: Arc<Mutex<Vec<BTreeSet<String>>>>,
    writes: Arc<Mutex<Vec<(String, PointId, Value)>>>,
    ack_delay: Arc<Mutex<Duration>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start() -> Site {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = Arc::new(StateDb::open(dir.path()).expect("the state database"));
    let store = EventStore::open(dir.path(), StoreConfig::default()).expect("the event store");
    let events = EventCore::new(store);
    let southbound = Arc::new(Southbound::new(plan(BEFORE), db));
    let scripts: Scripts = Arc::default();
    let started: Arc<Mutex<Vec<BTreeSet<String>>>> = Arc::default();
    let writes: Arc<Mutex<Vec<(String, PointId, Value)>>> = Arc::default();
    let ack_delay: Arc<Mutex<Duration>> = Arc::default();
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (events, stop, southbound) = (events.clone(), stop.clone(), southbound.clone());
        let (scripts, started, writes) = (scripts.clone(), started.clone(), writes.clone());
        let ack_delay = ack_delay.clone();
        async move {
            southbound
                .run_with(events, stop, None, move |links, _, only| {
                    started.lock().push(only.clone());
                    for name in only {
                        let (tx, rx) = mpsc::unbounded_channel();
                        scripts.lock().insert(name.clone(), tx);
                        links.start(Scripted {
                            name: name.clone(),
                            script: rx,
                            writes: writes.clone(),
                            ack_delay: ack_delay.clone(),
                        });
                    }
                })
                .await;
        }
    });
    Site {
        southbound,
        events,
        scripts,
        started,
        writes,
        ack_delay,
        stop,
        task,
        _dir: dir,
    }
}

fn reading(controller: &str, address: &str, value: bool) -> AdapterEvent {
    AdapterEvent::Point(PointUpdate {
        id: PointId(format!("{controller}/{address}")),
        value: Value::Bool(value),
        quality: Quality::Good,
        at: SystemTime::now(),
    })
}

fn up(controller: &str) -> AdapterEvent {
    AdapterEvent::Link(LinkEvent {
        link: controller.into(),
        state: LinkState::Up,
        reason: None,
    })
}

/// `Path Operation token-or-controller name=value ...`.
fn line(e: &Event) -> String {
    let op = e.operation.map(PropertyOperation::as_str).unwrap_or("-");
    let source = e.source.first().and_then(|i| i.value()).unwrap_or_default();
    let data: Vec<String> = e
        .data
        .iter()
        .map(|i| format!("{}={}", i.name(), i.value().unwrap_or_default()))
        .collect();
    let path = e.topic.path.rsplit('/').next().unwrap_or_default();
    format!("{path} {op} {source} {}", data.join(" "))
}

impl Site {
    fn send(&self, controller: &str, events: impl IntoIterator<Item = AdapterEvent>) {
        let script = self.scripts.lock().get(controller).cloned();
        let script = script.expect("the controller's adapter was started");
        for e in events {
            script.send(e).expect("the scripted adapter runs");
        }
    }

    /// Every stored event after `after`, once there are at least `n`.
    async fn stored(&self, after: u64, n: usize) -> Vec<String> {
        let got = super::link_tests::stored_after(&self.events, after, n).await;
        got.iter().map(line).collect()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("the core ends");
    }

    fn latest(&self) -> u64 {
        self.events.store().latest_seq()
    }
}

#[tokio::test]
async fn a_reload_restarts_only_the_changed_link_and_deletes_what_went() {
    let site = start().await;
    site.stored(0, 4).await;
    site.send("io", [reading("io", "discrete_input/1", true), up("io")]);
    site.send("aux", [reading("aux", "discrete_input/1", true), up("aux")]);
    // The strike is pulsed: its 60 s fall-back is armed when the reload comes.
    site.southbound
        .set_relay_state("Strike", true)
        .await
        .expect("aux acknowledges");
    site.send("aux", [reading("aux", "coil/1", true)]);
    let before = site.stored(0, 9).await;
    assert!(
        before.contains(&"DigitalInput Initialized Window LogicalState=true".to_string()),
        "{before:?}"
    );
    let mark = site.latest();

    let reloaded = site.southbound.reload(plan(AFTER)).await.expect("applied");
    assert_eq!(reloaded.started, vec!["aux".to_string()]);
    assert_eq!(reloaded.stopped, vec!["aux".to_string()]);
    assert!(reloaded.unreleased.is_empty());
    // io's adapter was started once, at the beginning; aux again.
    let started = site.started.lock().clone();
    assert_eq!(started.len(), 2, "{started:?}");
    assert_eq!(started[1], BTreeSet::from(["aux".to_string()]));
    // The strike fell back before it left the mapping: on, then off, to aux's coil 1.
    let writes: Vec<(String, Value)> = site
        .writes
        .lock()
        .iter()
        .map(|(c, _, v)| (c.clone(), v.clone()))
        .collect();
    assert_eq!(
        writes,
        [
            ("aux".into(), Value::Bool(true)),
            ("aux".into(), Value::Bool(false))
        ]
    );

    let after = site.stored(mark, 4).await;
    for expected in [
        "DigitalInput Deleted Window LogicalState=true",
        "Relay Deleted Strike LogicalState=active",
        "ControllerLink Changed aux Connected=false Reason=restarted by a reload",
        // Inverted now: the same contact, the other logical state, at once.
        "DigitalInput Changed Door LogicalState=false",
    ] {
        assert!(
            after.contains(&expected.to_string()),
            "{expected} not in {after:?}"
        );
    }
    assert!(
        !after
            .iter()
            .any(|l| l.starts_with("ControllerLink Changed io")),
        "io's link was not touched: {after:?}"
    );
    assert!(site.southbound.link_up("io"));
    assert!(!site.southbound.link_up("aux"));
    assert!(site.southbound.has_input("Gate") && !site.southbound.has_input("Window"));

    // The new link of aux reads the new input: Initialized.
    let mark = site.latest();
    site.send(
        "aux",
        [reading("aux", "discrete_input/2", false), up("aux")],
    );
    let back = site.stored(mark, 2).await;
    assert_eq!(
        back,
        [
            "ControllerLink Changed aux Connected=true Reason=connected",
            "DigitalInput Initialized Gate LogicalState=false",
        ]
    );
    site.stop().await;
}

/// A started site whose aux link is up (and stored so).
async fn start_with_aux_up() -> Site {
    let site = start().await;
    site.stored(0, 4).await;
    site.send("aux", [up("aux")]);
    site.stored(0, 5).await;
    site
}

/// The strike's state writes to aux, in order (true: on).
fn strike_writes(site: &Site) -> Vec<bool> {
    site.writes
        .lock()
        .iter()
        .filter(|(c, p, _)| c == "aux" && p.0 == "aux/coil/1")
        .map(|(_, _, v)| *v == Value::Bool(true))
        .collect()
}

#[tokio::test]
async fn a_pulse_on_a_link_the_reload_restarts_ends_first_under_the_old_settings() {
    let site = start_with_aux_up().await;
    site.southbound
        .set_relay_state("Strike", true)
        .await
        .expect("acknowledged");
    // The strike stays in the mapping as it is; only its controller's address changes.
    let moved = BEFORE.replace("port: 1503", "port: 1505");
    let reloaded = site.southbound.reload(plan(&moved)).await.expect("applied");
    assert_eq!(reloaded.started, vec!["aux".to_string()]);
    assert!(reloaded.unreleased.is_empty());
    assert_eq!(
        strike_writes(&site),
        [true, false],
        "released through the old link before it stopped"
    );
    site.stop().await;
}

#[tokio::test]
async fn an_activation_in_flight_when_the_relay_leaves_is_released_before_the_reload_goes_on() {
    let site = start_with_aux_up().await;
    *site.ack_delay.lock() = Duration::from_millis(300);
    let pulse = tokio::spawn({
        let southbound = site.southbound.clone();
        async move { southbound.set_relay_state("Strike", true).await }
    });
    // The activation is on its way when the reload that removes the strike comes.
    while strike_writes(&site).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let reloaded = site.southbound.reload(plan(AFTER)).await.expect("applied");
    assert!(reloaded.unreleased.is_empty(), "{reloaded:?}");
    assert_eq!(strike_writes(&site), [true, false]);
    pulse
        .await
        .expect("joined")
        .expect("the activation was acknowledged");
    site.stop().await;
}

#[tokio::test]
async fn a_relay_that_cannot_be_released_does_not_hold_the_reload_past_its_window() {
    let site = start_with_aux_up().await;
    site.southbound
        .set_relay_state("Strike", true)
        .await
        .expect("acknowledged");
    // aux's link goes down: the strike's fall-back cannot be written.
    site.send(
        "aux",
        [AdapterEvent::Link(LinkEvent {
            link: "aux".into(),
            state: LinkState::Down,
            reason: Some("no answer".into()),
        })],
    );
    while site.southbound.link_up("aux") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let began = std::time::Instant::now();
    let reloaded = site.southbound.reload(plan(AFTER)).await.expect("applied");
    let took = began.elapsed();
    assert_eq!(reloaded.unreleased, vec!["Strike".to_string()]);
    assert!(
        took < super::owner::SHUTDOWN_RELEASE_WINDOW + Duration::from_secs(2),
        "{took:?}"
    );
    site.stop().await;
}
