//! The core's link-state ordering, end to end to the event store: every controller's link
//! state and failing points exist from start; readings that arrive before a link is up are
//! held; on link up, the link state is stored first, then what was held; new subscribers get
//! the link state before the inputs. A scripted adapter replays what a test tells it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use railgate_adapters::{
    Adapter, AdapterError, AdapterEvent, AdapterIo, LinkEvent, LinkState, PointId, PointUpdate,
    Quality, Value,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Southbound;
use crate::events::core::EventCore;
use crate::events::model::{Event, Item, PropertyOperation};
use crate::events::store::{EventStore, StoreConfig};
use crate::state::StateDb;

/// An adapter that reports what the test sends it, in order.
struct Scripted {
    script: mpsc::UnboundedReceiver<AdapterEvent>,
}

impl Adapter for Scripted {
    fn name(&self) -> &str {
        "io"
    }

    async fn run(mut self, io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                next = self.script.recv() => match next {
                    Some(event) => io.report(event, &stop).await,
                    None => break,
                },
            }
        }
        Ok(())
    }
}

struct Site {
    script: mpsc::UnboundedSender<AdapterEvent>,
    events: EventCore,
    door: PointId,
    battery: PointId,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start() -> Site {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = Arc::new(StateDb::open(dir.path()).expect("the state database"));
    let mapping = "controllers:\n  - name: io\n    modbus_tcp: {host: 127.0.0.1, port: 1502}\n    unit: 1\n    address_base: 0\ninputs:\n  - {token: Door, discrete_input: 1}\nvalues:\n  - {name: battery, holding_register: 60, type: u16, topic: 'rg:Panel/Battery'}\n";
    let plan = railgate_mappings::load_str(Path::new("site.yaml"), mapping).expect("a mapping");
    let door = plan.inputs[0].point.clone();
    let battery = plan.values[0].point.clone();
    let store = EventStore::open(dir.path(), StoreConfig::default()).expect("the event store");
    let events = EventCore::new(store);
    let southbound = Arc::new(Southbound::new(plan, db));
    let (script, rx) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (events, stop) = (events.clone(), stop.clone());
        async move {
            let panel = Scripted { script: rx };
            southbound
                .run_with(events, stop, None, {
                    let mut panel = Some(panel);
                    move |links, _, _| {
                        if let Some(panel) = panel.take() {
                            links.start(panel);
                        }
                    }
                })
                .await;
        }
    });
    Site {
        script,
        events,
        door,
        battery,
        stop,
        task,
        _dir: dir,
    }
}

fn reading(id: &PointId, value: Value, quality: Quality) -> AdapterEvent {
    AdapterEvent::Point(PointUpdate {
        id: id.clone(),
        value,
        quality,
        at: SystemTime::now(),
    })
}

fn link(state: LinkState, reason: Option<&str>) -> AdapterEvent {
    AdapterEvent::Link(LinkEvent {
        link: "io".into(),
        state,
        reason: reason.map(str::to_string),
    })
}

/// `Path Operation name=value ...` of an event's data.
fn line(e: &Event) -> String {
    let op = e.operation.map(PropertyOperation::as_str).unwrap_or("-");
    let data: Vec<String> = e
        .data
        .iter()
        .map(|i| format!("{}={}", i.name(), i.value().unwrap_or_default()))
        .collect();
    let path = e.topic.path.rsplit('/').next().unwrap_or_default();
    format!("{path} {op} {}", data.join(" "))
}

/// Every stored event after `after`, once there are at least `n` (waits up to 20 s).
pub(super) async fn stored_after(events: &EventCore, after: u64, n: usize) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = events.store().after(after, 100).expect("the store reads");
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            return got.iter().map(|s| s.event.clone()).collect();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

impl Site {
    fn send(&self, events: impl IntoIterator<Item = AdapterEvent>) {
        for e in events {
            self.script.send(e).expect("the scripted adapter runs");
        }
    }

    /// Waits (generously) until the store holds `n` events after `after`; returns them.
    async fn stored(&self, after: u64, n: usize) -> Vec<String> {
        let got = stored_after(&self.events, after, n).await;
        got.iter().map(line).collect()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("the core ends");
    }
}

#[tokio::test]
async fn link_state_comes_first_at_start_on_link_up_and_for_new_subscribers() {
    let site = start().await;
    // At start, before any reading: the link (not yet connected) and no failing point.
    let start_states = site.stored(0, 2).await;
    assert_eq!(
        start_states,
        [
            "ControllerLink Initialized Connected=false Reason=not yet connected",
            "FailingPoints Initialized Failing= Count=0",
        ]
    );
    // A first poll cycle reports its readings before the link is up: they are held...
    site.send([
        reading(&site.door, Value::Bool(true), Quality::Good),
        reading(&site.battery, Value::U16(0), Quality::Bad),
    ]);
    // ...and stored after the link-up, in the engine's order.
    site.send([link(LinkState::Up, None)]);
    let up = site.stored(2, 3).await;
    assert_eq!(
        up,
        [
            "ControllerLink Changed Connected=true Reason=connected",
            "DigitalInput Initialized LogicalState=true",
            "FailingPoints Changed Failing=io/holding/60 Count=1",
        ]
    );
    // Down: the link state says why; stale readings publish nothing.
    site.send([
        link(LinkState::Down, Some("no response within 500 ms")),
        reading(&site.door, Value::Bool(true), Quality::Stale),
    ]);
    let down = site.stored(5, 1).await;
    assert_eq!(
        down,
        ["ControllerLink Changed Connected=false Reason=no response within 500 ms"]
    );
    // Reconnect: the cycle's readings, then up. Link-up comes before the inputs' changes.
    site.send([
        reading(&site.door, Value::Bool(false), Quality::Good),
        reading(&site.battery, Value::U16(87), Quality::Good),
        link(LinkState::Up, None),
    ]);
    let back = site.stored(6, 4).await;
    assert_eq!(
        back,
        [
            "ControllerLink Changed Connected=true Reason=connected",
            "DigitalInput Changed LogicalState=false",
            "Battery Initialized Value=87",
            "FailingPoints Changed Failing= Count=0",
        ]
    );
    // No repeat of an unchanged link state.
    site.send([link(LinkState::Up, None)]);
    // A new subscriber's Initialized messages: the link state before the inputs.
    let snapshot: Vec<String> = site.events.snapshot().await.iter().map(line).collect();
    assert_eq!(
        snapshot,
        [
            "ControllerLink Initialized Connected=true Reason=connected",
            "FailingPoints Initialized Failing= Count=0",
            "DigitalInput Initialized LogicalState=false",
            "Battery Initialized Value=87",
        ]
    );
    let source = &site.events.snapshot().await[0].source;
    assert_eq!(source, &vec![Item::simple("Controller", "io")]);
    site.stop().await;
}

#[tokio::test]
async fn a_controller_never_up_has_link_state_and_no_inputs() {
    let site = start().await;
    site.send([
        reading(&site.door, Value::Bool(true), Quality::Good),
        link(
            LinkState::Down,
            Some("connect to 127.0.0.1:1502: Connection refused"),
        ),
    ]);
    let stored = site.stored(0, 3).await;
    assert_eq!(
        stored,
        [
            "ControllerLink Initialized Connected=false Reason=not yet connected",
            "FailingPoints Initialized Failing= Count=0",
            "ControllerLink Changed Connected=false Reason=connect to 127.0.0.1:1502: Connection refused",
        ]
    );
    // The held reading is not published while the link is not up.
    let snapshot = site.events.snapshot().await;
    assert!(
        snapshot
            .iter()
            .all(|e| e.topic.path != "Device/Trigger/DigitalInput"),
        "{snapshot:?}"
    );
    site.stop().await;
}
