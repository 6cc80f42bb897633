//! [`Running`]: an adapter under test in its own task, with its channels and a log of what it
//! reported.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterError, AdapterIo, Command, WriteRequest};
use crate::event::{AdapterEvent, LinkEvent, LinkState, WriteError};
use crate::point::{PointId, PointUpdate, Value};

/// Room in the harness's channels; far more than any check produces between two reads.
const CAPACITY: usize = 1024;

/// A failed conformance check, saying what was expected and what happened.
#[derive(Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    /// `Ok` if `condition` holds, else a failure with `message`.
    pub fn check(condition: bool, message: String) -> Result<(), Failure> {
        if condition {
            Ok(())
        } else {
            Err(Failure(message))
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conformance failure: {}", self.0)
    }
}

impl std::error::Error for Failure {}

/// An adapter running in its own task. Dropping it cancels the adapter.
#[derive(Debug)]
pub struct Running {
    events: mpsc::Receiver<AdapterEvent>,
    commands: mpsc::Sender<Command>,
    stop: CancellationToken,
    task: Option<JoinHandle<Result<(), AdapterError>>>,
    /// Received updates no wait has matched yet, oldest first.
    unseen: Vec<PointUpdate>,
    /// Received link events no wait has taken yet, oldest first.
    links: VecDeque<LinkEvent>,
    /// The newest update of every point.
    latest: HashMap<PointId, PointUpdate>,
    /// Every update received, for checks that count them.
    received: usize,
}

impl Running {
    /// Spawns `adapter` with fresh channels.
    pub fn start<A: Adapter>(adapter: A) -> Running {
        let (events_tx, events) = mpsc::channel(CAPACITY);
        let (commands, commands_rx) = mpsc::channel(CAPACITY);
        let stop = CancellationToken::new();
        let io = AdapterIo {
            events: events_tx,
            commands: commands_rx,
        };
        let task = tokio::spawn(adapter.run(io, stop.clone()));
        Running {
            events,
            commands,
            stop,
            task: Some(task),
            unseen: Vec::new(),
            links: VecDeque::new(),
            latest: HashMap::new(),
            received: 0,
        }
    }

    /// Files one event; returns the update it carried, if any.
    fn file(&mut self, event: AdapterEvent) -> Option<PointUpdate> {
        match event {
            AdapterEvent::Point(update) => {
                self.received += 1;
                self.latest.insert(update.id.clone(), update.clone());
                Some(update)
            }
            AdapterEvent::Link(link) => {
                self.links.push_back(link);
                None
            }
        }
    }

    fn drain(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            if let Some(update) = self.file(event) {
                self.unseen.push(update);
            }
        }
    }

    /// How many updates arrived so far (of any point).
    pub fn received(&mut self) -> usize {
        self.drain();
        self.received
    }

    /// The newest update of `point` received so far.
    pub fn latest(&mut self, point: &PointId) -> Option<PointUpdate> {
        self.drain();
        self.latest.get(point).cloned()
    }

    /// Forgets updates no wait has matched (the next waits see only newer ones).
    pub fn discard_unseen(&mut self) {
        self.drain();
        self.unseen.clear();
    }

    /// Waits for an update matching `matches` (received earlier and not yet matched, or new).
    pub async fn wait_update(
        &mut self,
        within: Duration,
        mut matches: impl FnMut(&PointUpdate) -> bool,
    ) -> Result<PointUpdate, Failure> {
        self.drain();
        if let Some(i) = self.unseen.iter().position(&mut matches) {
            return Ok(self.unseen.remove(i));
        }
        let deadline = Instant::now() + within;
        loop {
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => {
                    let Some(update) = self.file(event) else {
                        continue;
                    };
                    if matches(&update) {
                        return Ok(update);
                    }
                    self.unseen.push(update);
                }
                Ok(None) => {
                    return Err(Failure(
                        "the adapter closed its event channel (did it return?)".into(),
                    ));
                }
                Err(_) => {
                    let recent: Vec<String> = self
                        .unseen
                        .iter()
                        .rev()
                        .take(8)
                        .map(|u| format!("{}={:?}/{:?}", u.id, u.value, u.quality))
                        .collect();
                    return Err(Failure(format!(
                        "no matching update within {within:?} (latest unmatched: {})",
                        if recent.is_empty() {
                            "none".into()
                        } else {
                            recent.join(", ")
                        }
                    )));
                }
            }
        }
    }

    /// The next link event, waiting at most until `deadline` (updates meanwhile are kept).
    async fn next_link(&mut self, deadline: Instant) -> Result<Option<LinkEvent>, Failure> {
        self.drain();
        loop {
            if let Some(link) = self.links.pop_front() {
                return Ok(Some(link));
            }
            match timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => {
                    if let Some(update) = self.file(event) {
                        self.unseen.push(update);
                    }
                }
                Ok(None) => return Err(Failure("the adapter closed its event channel".into())),
                Err(_) => return Ok(None),
            }
        }
    }

    /// Waits for the next link event and checks it is `state`.
    pub async fn wait_link(
        &mut self,
        state: LinkState,
        within: Duration,
    ) -> Result<LinkEvent, Failure> {
        match self.next_link(Instant::now() + within).await? {
            Some(event) if event.state == state => Ok(event),
            Some(event) => Err(Failure(format!(
                "expected link {state:?}, got {:?} ({:?})",
                event.state, event.reason
            ))),
            None => Err(Failure(format!(
                "no link {state:?} event within {within:?}"
            ))),
        }
    }

    /// Checks that no link event arrives for `during`.
    pub async fn expect_no_link_event(&mut self, during: Duration) -> Result<(), Failure> {
        match self.next_link(Instant::now() + during).await? {
            None => Ok(()),
            Some(event) => Err(Failure(format!(
                "unexpected link event {:?} ({:?})",
                event.state, event.reason
            ))),
        }
    }

    /// Asks for a write and waits for its answer.
    pub async fn write(
        &mut self,
        point: &PointId,
        value: Value,
        within: Duration,
    ) -> Result<Result<(), WriteError>, Failure> {
        let (request, answer) = WriteRequest::new(point.clone(), value);
        self.commands
            .send(Command::Write(request))
            .await
            .map_err(|_| Failure("the adapter dropped its command channel".into()))?;
        match tokio::time::timeout(within, answer).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(_)) => Err(Failure(format!(
                "the write to {point} was dropped unanswered"
            ))),
            Err(_) => Err(Failure(format!(
                "the write to {point} got no answer within {within:?}"
            ))),
        }
    }

    /// Whether the adapter's task has ended.
    pub fn finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Cancels the adapter and checks that `run` returns `Ok(())` within `within`.
    pub async fn stop(mut self, within: Duration) -> Result<(), Failure> {
        self.stop.cancel();
        let Some(task) = self.task.take() else {
            return Err(Failure("the adapter was already stopped".into()));
        };
        match tokio::time::timeout(within, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(Failure(format!("run returned an error on stop: {e}"))),
            Ok(Err(e)) if e.is_panic() => Err(Failure("the adapter panicked".into())),
            Ok(Err(e)) => Err(Failure(format!("the adapter task failed: {e}"))),
            Err(_) => Err(Failure(format!(
                "the adapter did not stop within {within:?}"
            ))),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
