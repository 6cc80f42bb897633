//! What the test adapters share: reporting a link's state and its points' changes, and
//! waiting out a backoff while answering commands. (The Modbus adapter has its own runner;
//! a real line or edge adapter would start from this.)

use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::adapter::{AdapterIo, Command, WriteRequest};
use crate::backoff::ReconnectDelays;
use crate::event::{LinkEvent, LinkState, WriteError};
use crate::modbus::Backoff;
use crate::point::{PointId, PointUpdate, Quality, Value};
use crate::tracker::Tracker;

/// One link's reporting state.
pub(super) struct Reporter {
    name: String,
    points: Vec<PointId>,
    tracker: Tracker,
    reported: Option<LinkState>,
    pub(super) delays: ReconnectDelays,
    pub(super) io: AdapterIo,
    pub(super) stop: CancellationToken,
}

impl Reporter {
    pub(super) fn new(
        name: &str,
        points: Vec<PointId>,
        backoff: &Backoff,
        io: AdapterIo,
        stop: CancellationToken,
    ) -> Reporter {
        Reporter {
            name: name.into(),
            tracker: Tracker::new(points.len()),
            points,
            reported: None,
            delays: ReconnectDelays::new(backoff),
            io,
            stop,
        }
    }

    /// Connected: the next reading of every point is reported, and the link is Up.
    pub(super) async fn up(&mut self) {
        self.tracker.new_session();
        self.delays.reset();
        if self.reported != Some(LinkState::Up) {
            self.reported = Some(LinkState::Up);
            let event = LinkEvent::up(self.name.clone());
            self.io.link(event, &self.stop).await;
        }
    }

    /// A reading of point `index`; reported if it changed (or is the first this session).
    pub(super) async fn reading(&mut self, index: usize, value: Value) {
        let Some(value) = self.tracker.record(index, value, Quality::Good) else {
            return;
        };
        if let Some(id) = self.points.get(index) {
            let update = update(id, value, Quality::Good);
            self.io.point(update, &self.stop).await;
        }
    }

    /// An occurrence of an event point (a card read): reported every time.
    pub(super) async fn occurrence(&mut self, id: &PointId, value: Value) {
        self.io
            .point(update(id, value, Quality::Good), &self.stop)
            .await;
    }

    /// The link failed: Down once, every known point Stale once.
    pub(super) async fn down(&mut self, reason: String) {
        if self.reported != Some(LinkState::Down) {
            self.reported = Some(LinkState::Down);
            let event = LinkEvent::down(self.name.clone(), reason);
            self.io.link(event, &self.stop).await;
        }
        for index in 0..self.points.len() {
            if let (Some(value), Some(id)) = (self.tracker.stale(index), self.points.get(index)) {
                let update = update(id, value, Quality::Stale);
                self.io.point(update, &self.stop).await;
            }
        }
    }

    /// Waits the next backoff delay, answering writes with `refusal`; `false` if stopped.
    pub(super) async fn back_off(&mut self, refusal: impl Fn(&WriteRequest) -> WriteError) -> bool {
        let delay = self.delays.next_delay();
        self.wait(delay, refusal).await
    }

    async fn wait(
        &mut self,
        delay: Duration,
        refusal: impl Fn(&WriteRequest) -> WriteError,
    ) -> bool {
        let until = tokio::time::sleep(delay);
        tokio::pin!(until);
        let mut open = true;
        loop {
            tokio::select! {
                biased;
                () = self.stop.cancelled() => return false,
                cmd = self.io.commands.recv(), if open => match cmd {
                    Some(Command::Write(req)) => {
                        let error = refusal(&req);
                        req.answer(Err(error));
                    }
                    None => open = false,
                },
                () = &mut until => return true,
            }
        }
    }

    /// On the way out: every queued command answered.
    pub(super) fn finish(&mut self) {
        self.io.refuse_queued("the adapter stopped");
    }
}

fn update(id: &PointId, value: Value, quality: Quality) -> PointUpdate {
    PointUpdate {
        id: id.clone(),
        value,
        quality,
        at: SystemTime::now(),
    }
}
