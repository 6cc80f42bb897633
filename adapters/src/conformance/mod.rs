//! The conformance suite: behaviour every [`Adapter`] must show, whatever its protocol or
//! shape (request/response bus, unsolicited line stream, edge source: see [`crate::adapter`]).
//!
//! An adapter's test file provides a [`Fixture`]: a [`Peer`] (the controller's stand-in, which
//! can be stopped, restarted, have an input set and an output read), a [`Subject`] (builds the
//! adapter under test for given [`Settings`]) and the roles of a few points. Each check is an
//! async function returning `Err(Failure)` with a message saying what went wrong:
//!
//! | Check | What must happen |
//! |---|---|
//! | [`initial_readings`] | every point reported after start, Good (the refused one Bad), link Up |
//! | [`input_change_reported`] | a changed input reported within 2 poll intervals (+ slack) |
//! | [`repeat_not_reported`] | the input set again to the value it has: no update (only changes) |
//! | [`peer_loss`] | peer gone: exactly one Down event, every point Stale, writes answer LinkDown, no panic |
//! | [`peer_return`] | peer back: Up event (after backoff) and every point reported Good again |
//! | [`write_round_trip`] | each output written both ways: acknowledged, read back at once, held by the peer |
//! | [`refused_read_is_bad`] | a point the peer refuses is Bad while the link stays Up |
//! | [`unknown_write_refused`] | a write to a point the adapter does not have is NotWritable |
//! | [`input_write_refused`] | a write to the input (read-only) is NotWritable |
//! | [`garbage_survived`] | the peer sends garbage: no panic, link stays Up, changes still reported |
//! | [`clean_stop`] | cancelled, `run` returns `Ok` within 1 s, hangs up, leaves no task behind |
//! | [`stop_while_down`] | the same while the link is down (during backoff) |
//!
//! Checks that do not apply to a shape pass trivially: no outputs (an edge source) makes
//! [`write_round_trip`] empty; a peer that cannot send garbage returns `Ok(false)` from
//! [`Peer::garbage`]; [`refused_read_is_bad`] is only run for fixtures with a refused point.
//!
//! # Adding an adapter
//! 1. Implement [`Adapter`] (see its contract) in a folder of this crate.
//! 2. Implement [`Peer`] for your protocol: a stand-in controller the test controls (a server
//!    on loopback, an in-memory stream, a recorded edge stream).
//! 3. Implement [`Subject`] (build the adapter pointed at the peer) and fill in a [`Fixture`].
//! 4. Call every check from a test file, as `adapters/tests/modbus_conformance.rs` (Modbus
//!    against [`SimPeer`]) and `adapters/tests/shapes_conformance.rs` (the test-only
//!    [`line::LineAdapter`] and [`edge::EdgeAdapter`] against their peers) do.

pub mod edge;
mod harness;
pub mod line;
mod reporter;
mod sim_peer;

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::time::Instant;

use crate::adapter::Adapter;
use crate::event::{LinkState, WriteError};
use crate::point::{PointId, Quality, Value};

pub use harness::{Failure, Running};
pub use sim_peer::{SimPeer, SimPoint};

/// The controller's stand-in.
pub trait Peer: Send + Sync {
    /// Makes the peer unreachable: listener closed and open connections dropped (or the
    /// process killed).
    fn stop(&self) -> impl Future<Output = ()> + Send;
    /// Brings it back at the same address.
    fn restart(&self) -> impl Future<Output = io::Result<()>> + Send;
    /// Sets the field value of an input point (as if a contact changed).
    fn set_input(&self, point: &PointId, value: &Value) -> Result<(), String>;
    /// What the peer itself holds for a point (to check a write landed).
    fn value(&self, point: &PointId) -> Result<Value, String>;
    /// Open connections, if the peer can tell (to check a stopped adapter hung up).
    fn connections(&self) -> Option<usize> {
        None
    }
    /// Sends input the adapter must survive (malformed frames, unknown lines, overlong
    /// data); `Ok(false)` if the peer cannot.
    fn garbage(&self) -> impl Future<Output = Result<bool, String>> + Send {
        async { Ok(false) }
    }
}

/// Knobs every adapter has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Time between the starts of two poll cycles.
    pub poll_interval: Duration,
}

/// Builds the adapter under test.
pub trait Subject {
    /// The adapter type.
    type Adapter: Adapter;
    /// An adapter talking to the fixture's peer, with these settings.
    fn build(&self, settings: &Settings) -> Self::Adapter;
}

/// A peer, an adapter builder and the roles of their points.
#[derive(Debug)]
pub struct Fixture<P, S> {
    /// The controller's stand-in.
    pub peer: P,
    /// Builds the adapter under test.
    pub subject: S,
    /// Every point the adapter reports (the refused one included).
    pub points: Vec<PointId>,
    /// A bool input the peer can change.
    pub input: PointId,
    /// Writable bool outputs, each checked by a round trip.
    pub outputs: Vec<PointId>,
    /// A point the peer answers with an error (e.g. an unmapped address), if the protocol
    /// has such answers.
    pub refused: Option<PointId>,
    /// The poll interval of most checks.
    pub poll_interval: Duration,
    /// How long the adapter may take to declare a dead peer down (its timeouts and retries).
    pub detect_within: Duration,
    /// How long it may take to be back after the peer returns (its longest backoff, plus a
    /// poll).
    pub recover_within: Duration,
    /// Scheduling allowance added to every deadline (loaded CI machines).
    pub slack: Duration,
}

impl<P: Peer, S: Subject> Fixture<P, S> {
    fn start(&self, poll_interval: Duration) -> Running {
        Running::start(self.subject.build(&Settings { poll_interval }))
    }

    fn settle(&self) -> Duration {
        self.detect_within + self.slack
    }

    /// Starts the adapter and waits until it is Up and every point was reported once.
    async fn started(&self, poll_interval: Duration) -> Result<Running, Failure> {
        let mut running = self.start(poll_interval);
        running
            .wait_link(LinkState::Up, self.settle() + poll_interval)
            .await?;
        for point in &self.points {
            running
                .wait_update(self.slack + poll_interval * 2, |u| &u.id == point)
                .await?;
        }
        Ok(running)
    }
}

/// Every point is reported after start (Good, or Bad for the refused one), the input with
/// the peer's value, and the link comes Up.
pub async fn initial_readings<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    fx.peer
        .set_input(&fx.input, &Value::Bool(true))
        .map_err(Failure)?;
    let mut running = fx.start(fx.poll_interval);
    running
        .wait_link(LinkState::Up, fx.settle() + fx.poll_interval)
        .await?;
    for point in &fx.points {
        let update = running
            .wait_update(fx.slack + fx.poll_interval * 2, |u| &u.id == point)
            .await?;
        let expected = if Some(point) == fx.refused.as_ref() {
            Quality::Bad
        } else {
            Quality::Good
        };
        Failure::check(
            update.quality == expected,
            format!(
                "{point} first reported {:?}, expected {expected:?}",
                update.quality
            ),
        )?;
    }
    let input = running
        .latest(&fx.input)
        .ok_or_else(|| Failure(format!("{} never reported", fx.input)))?;
    Failure::check(
        input.value == Value::Bool(true),
        format!(
            "{} reported {:?}, the peer holds true",
            fx.input, input.value
        ),
    )?;
    running.stop(Duration::from_secs(1)).await
}

/// A changed input is reported within two poll intervals.
pub async fn input_change_reported<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    fx.peer
        .set_input(&fx.input, &Value::Bool(false))
        .map_err(Failure)?;
    let mut running = fx.started(fx.poll_interval).await?;
    Failure::check(
        running.latest(&fx.input).map(|u| u.value) == Some(Value::Bool(false)),
        format!("{} did not start false", fx.input),
    )?;
    for value in [true, false] {
        fx.peer
            .set_input(&fx.input, &Value::Bool(value))
            .map_err(Failure)?;
        let changed = Instant::now();
        let within = fx.poll_interval * 2 + fx.slack;
        running
            .wait_update(within, |u| {
                u.id == fx.input && u.value == Value::Bool(value) && u.quality == Quality::Good
            })
            .await
            .map_err(|e| Failure(format!("input set to {value}: {e}")))?;
        let took = changed.elapsed();
        Failure::check(
            took <= within,
            format!("input change took {took:?}, allowed {within:?}"),
        )?;
    }
    running.stop(Duration::from_secs(1)).await
}

/// The peer disappears: exactly one Down event, every point Stale, writes answer LinkDown,
/// and the adapter keeps running (retrying) without another event.
pub async fn peer_loss<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let mut running = fx.started(fx.poll_interval).await?;
    lose_peer(fx, &mut running).await?;
    // Several reconnect attempts fail meanwhile; none may raise another event.
    let quiet = fx.recover_within.max(Duration::from_millis(500));
    running.expect_no_link_event(quiet).await?;
    Failure::check(
        !running.finished(),
        "the adapter returned while its peer was down".into(),
    )?;
    running.stop(Duration::from_secs(1)).await
}

async fn lose_peer<P: Peer, S: Subject>(
    fx: &Fixture<P, S>,
    running: &mut Running,
) -> Result<(), Failure> {
    fx.peer.stop().await;
    let down = running.wait_link(LinkState::Down, fx.settle()).await?;
    Failure::check(
        down.reason.as_deref().is_some_and(|r| !r.is_empty()),
        "the Down event gives no reason".into(),
    )?;
    for point in &fx.points {
        running
            .wait_update(fx.slack + Duration::from_millis(200), |u| {
                &u.id == point && u.quality == Quality::Stale
            })
            .await
            .map_err(|e| Failure(format!("after link down: {e}")))?;
    }
    if let Some(output) = fx.outputs.first() {
        match running
            .write(output, Value::Bool(true), Duration::from_secs(1))
            .await?
        {
            Err(WriteError::LinkDown(_)) => {}
            other => {
                return Err(Failure(format!(
                    "a write while the link is down answered {other:?}, expected LinkDown"
                )));
            }
        }
    }
    Ok(())
}

/// The peer returns: an Up event and every point reported Good again.
pub async fn peer_return<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let mut running = fx.started(fx.poll_interval).await?;
    lose_peer(fx, &mut running).await?;
    fx.peer
        .restart()
        .await
        .map_err(|e| Failure(format!("peer restart: {e}")))?;
    running
        .wait_link(LinkState::Up, fx.recover_within + fx.slack)
        .await?;
    for point in &fx.points {
        let expected = if Some(point) == fx.refused.as_ref() {
            Quality::Bad
        } else {
            Quality::Good
        };
        running
            .wait_update(fx.slack + fx.poll_interval * 2, |u| {
                &u.id == point && u.quality == expected
            })
            .await
            .map_err(|e| Failure(format!("after the peer returned: {e}")))?;
    }
    running.stop(Duration::from_secs(1)).await
}

/// Each output is written to the opposite of its state and back: every write acknowledged,
/// the new state reported at once (long before the next poll) and held by the peer.
pub async fn write_round_trip<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    // A slow poll, so a prompt report can only come from the read-back after the write.
    let slow = Duration::from_secs(5);
    let mut running = fx.started(slow).await?;
    let prompt = Duration::from_millis(500) + fx.slack;
    for output in &fx.outputs {
        let initial = match running.latest(output).map(|u| u.value.clone()) {
            Some(Value::Bool(b)) => b,
            other => return Err(Failure(format!("{output} reported {other:?}, not a bool"))),
        };
        for value in [!initial, initial] {
            let asked = Instant::now();
            match running
                .write(output, Value::Bool(value), Duration::from_secs(2))
                .await?
            {
                Ok(()) => {}
                Err(e) => return Err(Failure(format!("writing {value} to {output}: {e}"))),
            }
            running
                .wait_update(prompt, |u| {
                    &u.id == output && u.value == Value::Bool(value) && u.quality == Quality::Good
                })
                .await
                .map_err(|e| Failure(format!("read-back of {output} = {value}: {e}")))?;
            Failure::check(
                asked.elapsed() < slow,
                format!("{output}: the read-back waited for the next poll"),
            )?;
            let held = fx.peer.value(output).map_err(Failure)?;
            Failure::check(
                held == Value::Bool(value),
                format!("{output} written {value}, but the peer holds {held:?}"),
            )?;
        }
    }
    running.stop(Duration::from_secs(1)).await
}

/// A point the peer refuses is reported Bad while the link stays Up.
pub async fn refused_read_is_bad<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let Some(refused) = &fx.refused else {
        return Err(Failure("the fixture names no refused point".into()));
    };
    let mut running = fx.started(fx.poll_interval).await?;
    let latest = running
        .latest(refused)
        .ok_or_else(|| Failure(format!("{refused} never reported")))?;
    Failure::check(
        latest.quality == Quality::Bad,
        format!("{refused} reported {:?}, expected Bad", latest.quality),
    )?;
    // Several more cycles: the refusal must not take the link down.
    running
        .expect_no_link_event(fx.poll_interval * 5)
        .await
        .map_err(|e| Failure(format!("a refused read changed the link: {e}")))?;
    for point in fx.points.iter().filter(|p| *p != refused) {
        let quality = running.latest(point).map(|u| u.quality);
        Failure::check(
            quality == Some(Quality::Good),
            format!("{point} is {quality:?} beside a refused point, expected Good"),
        )?;
    }
    running.stop(Duration::from_secs(1)).await
}

/// A write to a point the adapter does not have is answered NotWritable.
pub async fn unknown_write_refused<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let mut running = fx.started(fx.poll_interval).await?;
    let unknown = PointId("conformance/no-such-point".into());
    match running
        .write(&unknown, Value::Bool(true), Duration::from_secs(1))
        .await?
    {
        Err(WriteError::NotWritable(_)) => {}
        other => {
            return Err(Failure(format!(
                "a write to an unknown point answered {other:?}, expected NotWritable"
            )));
        }
    }
    running.expect_no_link_event(fx.poll_interval * 2).await?;
    running.stop(Duration::from_secs(1)).await
}

/// The input set again to the value it already has: no new update (adapters report changes).
pub async fn repeat_not_reported<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    fx.peer
        .set_input(&fx.input, &Value::Bool(true))
        .map_err(Failure)?;
    let mut running = fx.started(fx.poll_interval).await?;
    running.discard_unseen();
    for _ in 0..2 {
        fx.peer
            .set_input(&fx.input, &Value::Bool(true))
            .map_err(Failure)?;
    }
    if let Ok(update) = running
        .wait_update(fx.poll_interval * 3 + fx.slack, |u| u.id == fx.input)
        .await
    {
        return Err(Failure(format!(
            "{} reported again without a change: {:?}/{:?}",
            fx.input, update.value, update.quality
        )));
    }
    running.stop(Duration::from_secs(1)).await
}

/// A write to the input (a read-only point) is answered NotWritable.
pub async fn input_write_refused<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let mut running = fx.started(fx.poll_interval).await?;
    match running
        .write(&fx.input, Value::Bool(true), Duration::from_secs(1))
        .await?
    {
        Err(WriteError::NotWritable(_)) => {}
        other => {
            return Err(Failure(format!(
                "a write to the input {} answered {other:?}, expected NotWritable",
                fx.input
            )));
        }
    }
    running.stop(Duration::from_secs(1)).await
}

/// Garbage from the peer: the adapter neither panics nor drops the link, and still reports
/// the next change.
pub async fn garbage_survived<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    fx.peer
        .set_input(&fx.input, &Value::Bool(false))
        .map_err(Failure)?;
    let mut running = fx.started(fx.poll_interval).await?;
    if !fx.peer.garbage().await.map_err(Failure)? {
        return running.stop(Duration::from_secs(1)).await;
    }
    running
        .expect_no_link_event(fx.poll_interval * 2 + fx.slack)
        .await
        .map_err(|e| Failure(format!("after garbage: {e}")))?;
    Failure::check(
        !running.finished(),
        "the adapter returned after garbage".into(),
    )?;
    running.discard_unseen();
    fx.peer
        .set_input(&fx.input, &Value::Bool(true))
        .map_err(Failure)?;
    running
        .wait_update(fx.slack + fx.poll_interval * 2, |u| {
            u.id == fx.input && u.value == Value::Bool(true)
        })
        .await
        .map_err(|e| Failure(format!("a change after garbage: {e}")))?;
    running.stop(Duration::from_secs(1)).await
}

/// Cancelled while connected: `run` returns `Ok` within 1 s, the connection is closed and no
/// task is left behind.
pub async fn clean_stop<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let baseline = alive_tasks();
    let running = fx.started(fx.poll_interval).await?;
    if let Some(open) = fx.peer.connections() {
        Failure::check(open >= 1, "the peer sees no connection while Up".into())?;
    }
    running.stop(Duration::from_secs(1)).await?;
    let deadline = Instant::now() + Duration::from_secs(1) + fx.slack;
    loop {
        let hung_up = fx.peer.connections().is_none_or(|n| n == 0);
        let tasks = alive_tasks();
        if hung_up && tasks <= baseline {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure(format!(
                "1 s after stop: {} connection(s) open at the peer, {tasks} task(s) alive (before start: {baseline})",
                fx.peer
                    .connections()
                    .map_or_else(|| "unknown".into(), |n| n.to_string())
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Cancelled while the link is down (waiting to reconnect): `run` returns `Ok` within 1 s.
pub async fn stop_while_down<P: Peer, S: Subject>(fx: &Fixture<P, S>) -> Result<(), Failure> {
    let mut running = fx.started(fx.poll_interval).await?;
    fx.peer.stop().await;
    running.wait_link(LinkState::Down, fx.settle()).await?;
    running.stop(Duration::from_secs(1)).await
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}
