//! The core's ordering rules, with a fake controller (an [`Adapter`] that logs what it is
//! asked and acknowledges it; the test can take its link down and up and make it refuse
//! writes) and tokio's paused clock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use railgate_adapters::{
    Adapter, AdapterError, AdapterIo, Command, LinkEvent, LinkState, Value, WriteError,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{IoError, Southbound};
use crate::events::core::EventCore;
use crate::events::store::{EventStore, StoreConfig};
use crate::state::StateDb;

/// What the fake controller saw.
#[derive(Debug, PartialEq)]
enum Seen {
    /// A write of `value` to the coil of `point`, `at` after the start.
    Write {
        point: String,
        value: Value,
        at: Duration,
    },
    /// A write it refused (its link down, or told to fail writes).
    Failed { value: Value, at: Duration },
    /// Its stop token was cancelled.
    Stopped,
}

/// What the test makes the fake controller do.
#[derive(Debug)]
enum Control {
    /// Report the link down and refuse writes as an adapter whose link is down does.
    Down,
    /// Report the link up again.
    Up,
    /// Refuse (true) or acknowledge (false) writes while the link is up.
    FailWrites(bool),
}

struct FakePanel {
    log: mpsc::UnboundedSender<Seen>,
    control: mpsc::UnboundedReceiver<Control>,
    started: Instant,
}

fn link(state: LinkState) -> LinkEvent {
    LinkEvent {
        link: "io".into(),
        state,
        reason: (state == LinkState::Down).then(|| "no answer".into()),
    }
}

impl Adapter for FakePanel {
    fn name(&self) -> &str {
        "io"
    }

    async fn run(mut self, mut io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        io.link(link(LinkState::Up), &stop).await;
        let (mut down, mut fail) = (false, false);
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                Some(control) = self.control.recv() => match control {
                    Control::Down => {
                        down = true;
                        io.link(link(LinkState::Down), &stop).await;
                    }
                    Control::Up => {
                        down = false;
                        io.link(link(LinkState::Up), &stop).await;
                    }
                    Control::FailWrites(f) => fail = f,
                },
                cmd = io.commands.recv() => match cmd {
                    Some(Command::Write(req)) if down || fail => {
                        let _ = self.log.send(Seen::Failed {
                            value: req.value.clone(),
                            at: self.started.elapsed(),
                        });
                        let error = if down {
                            WriteError::LinkDown("no answer".into())
                        } else {
                            WriteError::Refused("SlaveDeviceBusy (exception 0x06)".into())
                        };
                        req.answer(Err(error));
                    }
                    Some(Command::Write(req)) => {
                        let _ = self.log.send(Seen::Write {
                            point: req.id.0.clone(),
                            value: req.value.clone(),
                            at: self.started.elapsed(),
                        });
                        req.answer(Ok(()));
                    }
                    None => break,
                },
            }
        }
        let _ = self.log.send(Seen::Stopped);
        Ok(())
    }
}

struct Running {
    southbound: Arc<Southbound>,
    events: EventCore,
    control: mpsc::UnboundedSender<Control>,
    log: mpsc::UnboundedReceiver<Seen>,
    stop: CancellationToken,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// A gateway's southbound side with one monostable relay `Strike` (coil 1, `delay`).
async fn start(delay: &str) -> Running {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = Arc::new(StateDb::open(dir.path()).expect("the state database"));
    let mapping = format!(
        "controllers:\n  - name: io\n    modbus_tcp: {{host: 127.0.0.1, port: 1502}}\n    unit: 1\n    address_base: 0\nrelays:\n  - {{token: Strike, coil: 1, mode: monostable, delay: {delay}}}\n"
    );
    let plan = railgate_mappings::load_str(Path::new("site.yaml"), &mapping).expect("a mapping");
    let store = EventStore::open(dir.path(), StoreConfig::default()).expect("the event store");
    let events = EventCore::new(store);
    let southbound = Arc::new(Southbound::new(plan, db));
    let (log_tx, log) = mpsc::unbounded_channel();
    let (control, control_rx) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let panel = FakePanel {
        log: log_tx,
        control: control_rx,
        started: Instant::now(),
    };
    let task = tokio::spawn({
        let (southbound, stop, events) = (southbound.clone(), stop.clone(), events.clone());
        async move {
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
    while !southbound.link_up("io") {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Running {
        southbound,
        events,
        control,
        log,
        stop,
        task,
        _dir: dir,
    }
}

impl Running {
    async fn next(&mut self) -> Seen {
        self.log.recv().await.expect("the fake panel logs")
    }

    /// Tells the fake panel `control` and waits until the core sees the link as it says.
    async fn control(&mut self, control: Control) {
        let up = match control {
            Control::Down => Some(false),
            Control::Up => Some(true),
            Control::FailWrites(_) => None,
        };
        self.control.send(control).expect("the fake panel runs");
        while let Some(up) = up
            && self.southbound.link_up("io") != up
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The stored `rg:Device/Trigger/RelayFallBackDelayed` events' data, waiting (on the
    /// real clock: the store commits on its own thread) until `count` are stored.
    async fn late_events(&self, count: usize) -> Vec<Vec<(String, String)>> {
        let topic = super::late_fallback::topic();
        for _ in 0..5000 {
            let stored = self.events.store().after(0, 1000).expect("the store reads");
            let late: Vec<Vec<(String, String)>> = stored
                .iter()
                .filter(|s| s.event.topic == topic)
                .map(|s| {
                    let items = s.event.source.iter().chain(&s.event.data);
                    items
                        .map(|i| (i.name().to_string(), i.value().unwrap_or("").to_string()))
                        .collect()
                })
                .collect();
            if late.len() >= count {
                return late;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            tokio::task::yield_now().await;
        }
        panic!("fewer than {count} delayed fall-back events were stored");
    }
}

fn item<'a>(items: &'a [(String, String)], name: &str) -> &'a str {
    items
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no item {name} in {items:?}"))
}

/// Seconds of an `xs:duration` the late event writes (`PT3.000S`).
fn late_secs(text: &str) -> f64 {
    text.strip_prefix("PT")
        .and_then(|t| t.strip_suffix('S'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not a PTn.nnnS duration: {text}"))
}

fn write(value: bool) -> impl Fn(&Seen) -> Option<Duration> {
    move |seen| match seen {
        Seen::Write {
            point,
            value: Value::Bool(v),
            at,
        } if *v == value && point.contains("coil") => Some(*at),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_monostable_relay_falls_back_after_its_delay() {
    let mut sb = start("1s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    let set = write(true)(&sb.next().await).expect("the relay set active");
    let fell = write(false)(&sb.next().await).expect("the relay falls back");
    assert!(
        fell - set >= Duration::from_secs(1),
        "fell back after {:?}",
        fell - set
    );
    assert!(
        fell - set < Duration::from_millis(1100),
        "fell back after {:?}",
        fell - set
    );
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
    assert_eq!(sb.next().await, Seen::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_newer_acknowledged_request_replaces_the_older_fall_back() {
    let mut sb = start("1s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    let first = write(true)(&sb.next().await).expect("set active");
    tokio::time::sleep(Duration::from_millis(600)).await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    let second = write(true)(&sb.next().await).expect("set active again");
    // The first fall-back (due 1 s after the first request) is void: the next write is the
    // second one's, 1 s after it.
    let fell = write(false)(&sb.next().await).expect("the relay falls back");
    assert!(second - first >= Duration::from_millis(600));
    assert!(
        fell - second >= Duration::from_secs(1),
        "fell back {:?} after the second request",
        fell - second
    );
    // A setting change voids a pending fall-back too.
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    write(true)(&sb.next().await).expect("set active");
    let settings = sb.southbound.relays()[0].settings;
    sb.southbound
        .set_relay_settings("Strike", settings)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        sb.log.try_recv().is_err(),
        "a fall-back after a settings change"
    );
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stopping_carries_out_fall_backs_before_the_adapters_stop() {
    let mut sb = start("60s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    write(true)(&sb.next().await).expect("set active");
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
    let fell = write(false)(&sb.next().await).expect("the relay falls back at once");
    assert!(
        fell < Duration::from_secs(60),
        "fell back only after {fell:?}"
    );
    assert_eq!(sb.next().await, Seen::Stopped);
    // Requests after that are refused, not lost.
    assert!(matches!(
        sb.southbound.set_relay_state("Strike", true).await,
        Err(IoError::Stopping)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_fall_back_owed_across_a_link_loss_is_the_first_write_when_it_is_back() {
    let mut sb = start("2s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    write(true)(&sb.next().await).expect("set active");
    // The link is lost 0.3 s into the pulse, and comes back 5 s later.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sb.control(Control::Down).await;
    assert!(matches!(
        sb.southbound.set_relay_state("Strike", true).await,
        Err(IoError::LinkDown(_))
    ));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        sb.log.try_recv().is_err(),
        "nothing reaches a controller whose link is down"
    );
    sb.control(Control::Up).await;
    // A client races the reconnect: its write comes after the owed fall-back.
    let client = loop {
        match sb.southbound.set_relay_state("Strike", true).await {
            Err(IoError::LinkDown(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
            other => break other,
        }
    };
    client.expect("the client's write is acknowledged");
    let first = sb.next().await;
    let fell = write(false)(&first)
        .unwrap_or_else(|| panic!("the first write after the link is back: {first:?}"));
    assert!(fell >= Duration::from_millis(5300), "fell back at {fell:?}");
    write(true)(&sb.next().await).expect("then the client's write");
    let late = sb.late_events(1).await;
    assert_eq!(item(&late[0], "RelayToken"), "Strike");
    assert_eq!(item(&late[0], "Attempts"), "2");
    assert!(item(&late[0], "Reason").contains("is down"), "{late:?}");
    let secs = late_secs(item(&late[0], "Late"));
    assert!((3.0..4.0).contains(&secs), "late by {secs} s");
    // The client's new pulse falls back after its own delay, on time: no second event.
    write(false)(&sb.next().await).expect("the new pulse falls back");
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
    assert_eq!(sb.late_events(1).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refused_fall_back_is_retried_with_backoff_until_acknowledged() {
    let mut sb = start("1s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    let set = write(true)(&sb.next().await).expect("set active");
    sb.control(Control::FailWrites(true)).await;
    let mut refused = vec![];
    for _ in 0..3 {
        match sb.next().await {
            Seen::Failed {
                value: Value::Bool(false),
                at,
            } => refused.push(at - set),
            other => panic!("expected a refused fall-back, saw {other:?}"),
        }
    }
    // Due at 1 s, then 0.5 s and 1 s later.
    let gaps: Vec<Duration> = refused.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(refused[0] >= Duration::from_secs(1), "{refused:?}");
    assert!(
        gaps[0] >= Duration::from_millis(500) && gaps[1] >= Duration::from_millis(1000),
        "{gaps:?}"
    );
    assert!(gaps[1] < Duration::from_millis(1500), "{gaps:?}");
    sb.control(Control::FailWrites(false)).await;
    let fell = write(false)(&sb.next().await).expect("the retry is acknowledged");
    assert!(fell - set < Duration::from_secs(7), "{:?}", fell - set);
    let late = sb.late_events(1).await;
    assert_eq!(item(&late[0], "Attempts"), "4");
    assert!(item(&late[0], "Reason").contains("refused"), "{late:?}");
    // Confirmed: no more retries.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(sb.log.try_recv().is_err(), "a retry after confirmation");
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_acknowledged_client_inactive_ends_the_owed_fall_back() {
    let mut sb = start("1s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    write(true)(&sb.next().await).expect("set active");
    sb.control(Control::FailWrites(true)).await;
    assert!(matches!(sb.next().await, Seen::Failed { .. }));
    sb.control(Control::FailWrites(false)).await;
    // Before the retry (0.5 s later), a client sets the relay inactive.
    sb.southbound
        .set_relay_state("Strike", false)
        .await
        .unwrap();
    write(false)(&sb.next().await).expect("the client's write");
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        sb.log.try_recv().is_err(),
        "the duty was retried after a release"
    );
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
    assert_eq!(sb.next().await, Seen::Stopped);
    let stored = sb.events.store().after(0, 1000).unwrap();
    let topic = super::late_fallback::topic();
    assert!(stored.iter().all(|s| s.event.topic != topic));
}

#[tokio::test(start_paused = true)]
async fn stopping_during_a_link_loss_waits_a_while_for_the_link_to_release_the_relay() {
    let mut sb = start("60s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    write(true)(&sb.next().await).expect("set active");
    sb.control(Control::Down).await;
    sb.stop.cancel();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!sb.task.is_finished(), "stopped with the relay held");
    sb.control.send(Control::Up).unwrap();
    (&mut sb.task).await.unwrap();
    write(false)(&sb.next().await).expect("released once the link is back");
    assert_eq!(sb.next().await, Seen::Stopped);
}

#[tokio::test(start_paused = true)]
async fn stopping_gives_up_on_a_link_that_stays_down() {
    let mut sb = start("60s").await;
    sb.southbound.set_relay_state("Strike", true).await.unwrap();
    write(true)(&sb.next().await).expect("set active");
    sb.control(Control::Down).await;
    let t = Instant::now();
    sb.stop.cancel();
    (&mut sb.task).await.unwrap();
    assert!(t.elapsed() >= super::owner::SHUTDOWN_RELEASE_WINDOW);
    assert!(t.elapsed() < super::owner::SHUTDOWN_RELEASE_WINDOW + Duration::from_secs(1));
    assert_eq!(sb.next().await, Seen::Stopped);
}
