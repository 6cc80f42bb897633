//! The core's ordering rules, with a fake controller (an [`Adapter`] that logs what it is
//! asked and acknowledges it) and tokio's paused clock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use railgate_adapters::{Adapter, AdapterError, AdapterIo, Command, LinkEvent, LinkState, Value};
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
    /// Its stop token was cancelled.
    Stopped,
}

struct FakePanel {
    log: mpsc::UnboundedSender<Seen>,
    started: Instant,
}

impl Adapter for FakePanel {
    fn name(&self) -> &str {
        "io"
    }

    async fn run(self, mut io: AdapterIo, stop: CancellationToken) -> Result<(), AdapterError> {
        let up = LinkEvent {
            link: "io".into(),
            state: LinkState::Up,
            reason: None,
        };
        io.link(up, &stop).await;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                cmd = io.commands.recv() => match cmd {
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
    let stop = CancellationToken::new();
    let panel = FakePanel {
        log: log_tx,
        started: Instant::now(),
    };
    let task = tokio::spawn({
        let (southbound, stop) = (southbound.clone(), stop.clone());
        async move {
            southbound
                .run_with(events, stop, move |links, _| links.start(panel))
                .await;
        }
    });
    while !southbound.link_up("io") {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Running {
        southbound,
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
async fn a_newer_request_cancels_the_older_fall_back() {
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
