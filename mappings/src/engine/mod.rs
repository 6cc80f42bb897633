//! The mapping engine: raw point readings in, ONVIF model changes out.
//!
//! [`Engine`] runs a [`Plan`]: adapters' [`PointUpdate`]s become digital input states, relay
//! states and value events ([`Output`]). It is pure, synchronous logic: no I/O, no clock (the
//! caller passes `now`), no async. The gateway calls [`Engine::update`] for every reading,
//! [`Engine::link`] when a link goes down or up, and [`Engine::tick`] at
//! [`Engine::next_deadline`] (debounce periods, heartbeats).
//!
//! Rules:
//! - Only `Good` readings move states. `Bad` and `Stale` readings, and a link going down, leave
//!   the published states as they were and only change the point's quality; when good readings
//!   resume, an unchanged value publishes nothing and a changed one publishes a change.
//! - A reading whose shape does not fit the point (a register for a bit, one register for a
//!   32-bit value, a NaN float) publishes nothing, marks the point `Bad` and is counted in
//!   [`Engine::rejected`].
//! - Digital inputs are debounced; the first reading counts at once. Relays are not debounced.
//! - Values publish their first reading, then changes (numbers beyond their deadband), and a
//!   heartbeat when nothing was published for the heartbeat period (only while good).
//! - Records (card reads, event frames) publish every good occurrence, with the data items
//!   their point names; a record missing one of them is rejected.
//! - Each controller's *failing points* (last reading `Bad`, or not decodable) are reported as
//!   [`Output::FailingPoints`] whenever that set changes; [`Engine::initial`] gives the empty
//!   sets at start. `Stale` readings (a link down) leave the set as it was.
//!
//! Layout: [`decode`] (wire ⇄ raw: byte orders, types, bit fields, scale, maps — both ways),
//! `render` (raw → published lexical form), `change` (debounce, deadband, heartbeat),
//! [`contact`] (invert and idle-state logic), `health` (failing points), and one module per
//! kind of point (`input`, `relay`, `value`, `record`).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use railgate_adapters::{PointId, PointUpdate, Quality, Value};

use crate::plan::{IdleState, Plan, RelayMode};

mod carry;
mod change;
pub mod contact;
pub mod decode;
mod health;
mod input;
mod record;
mod relay;
mod render;
mod value;

#[cfg(test)]
mod tests;

pub use carry::Moved;
pub use decode::{DecodeError, EncodeError, Raw};
pub use render::{Published, decode_value};

use health::Health;
use input::Input;
use record::RecordSlot;
use relay::Relay;
use value::ValueSlot;

/// A model change the engine reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A digital input's logical state became known (`initial`) or changed.
    Input {
        /// The input's token.
        token: String,
        /// The logical state (tt:DigitalInputState active).
        active: bool,
        /// Whether this is the first state known since start.
        initial: bool,
    },
    /// A relay's observed logical state became known or changed.
    Relay {
        /// The relay's token.
        token: String,
        /// The observed logical state (tt:RelayLogicalState active).
        active: bool,
        /// Whether this is the first state known since start.
        initial: bool,
    },
    /// A value to publish.
    Value {
        /// Index into [`Plan::values`].
        index: usize,
        /// The rendered value.
        value: Published,
        /// Why it is published.
        reason: Reason,
    },
    /// An occurrence of a record point (a card read, a panel's event frame), to publish as
    /// a plain event.
    Record {
        /// Index into [`Plan::records`].
        index: usize,
        /// The event's data items, in the point's order: (name, lexical value).
        items: Vec<(String, String)>,
    },
    /// The points of `controller` whose reads keep failing changed (see the module doc).
    FailingPoints {
        /// The controller's name, as in the mapping.
        controller: String,
        /// Its failing points now, sorted (empty: none).
        points: Vec<PointId>,
    },
}

impl Output {
    /// Whether this output is about a point's state (an input, relay or value), not the
    /// health of a controller.
    pub fn is_state(&self) -> bool {
        !matches!(self, Output::FailingPoints { .. })
    }
}

/// Why a value is published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The first good reading since start.
    Initial,
    /// The value changed (beyond the deadband, for numbers).
    Changed,
    /// Nothing was published for the heartbeat period: the current value again.
    Heartbeat,
}

/// What the engine knows of a digital input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputState {
    /// The logical state (None until the first good reading).
    pub active: Option<bool>,
    /// The debounced electrical state, `true` = contact closed (None until the first good
    /// reading).
    pub closed: Option<bool>,
    /// The idle state in force.
    pub idle_state: IdleState,
    /// Whether the wire value is inverted.
    pub invert: bool,
    /// The debounce period.
    pub debounce: Duration,
    /// The quality of the last reading (`Stale` while the link is down; None before any).
    pub quality: Option<Quality>,
}

/// What the engine knows of a relay output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayState {
    /// The observed logical state, from the read point (None until the first good reading).
    pub active: Option<bool>,
    /// The observed electrical state, `true` = energised (None until the first good reading).
    pub energised: Option<bool>,
    /// The mode in force.
    pub mode: RelayMode,
    /// The monostable delay in force.
    pub delay: Duration,
    /// The idle state in force.
    pub idle_state: IdleState,
    /// Whether the wire value is inverted.
    pub invert: bool,
    /// The quality of the last reading of the read point (`Stale` while the link is down; None
    /// before any).
    pub quality: Option<Quality>,
}

/// A write that sets a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayWrite {
    /// The controller to write to.
    pub controller: String,
    /// The relay's write point.
    pub point: PointId,
    /// The wire value.
    pub value: bool,
}

/// What a point's reading feeds.
#[derive(Clone, Copy, Debug)]
enum Target {
    Input(usize),
    Relay(usize),
    Value(usize),
    Record(usize),
}

/// The last reading of one point, as the adapter reported it (for people: the status page and
/// `railgate points`; nothing is decided on it).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The controller the point is read from.
    pub controller: String,
    /// The raw value (None before the first reading).
    pub value: Option<Value>,
    /// Its quality (`Stale` once the link went down; None before the first reading).
    pub quality: Option<Quality>,
    /// When it was read.
    pub at: Option<SystemTime>,
}

/// Runs a [`Plan`]: see the module documentation.
#[derive(Clone, Debug)]
pub struct Engine {
    inputs: Vec<Input>,
    relays: Vec<Relay>,
    values: Vec<ValueSlot>,
    records: Vec<RecordSlot>,
    /// Every point read, and what it feeds (one point may feed several things).
    points: HashMap<PointId, Vec<Target>>,
    input_tokens: HashMap<String, usize>,
    relay_tokens: HashMap<String, usize>,
    health: Health,
    rejected: u64,
    /// Every point the plan reads, with its last reading.
    readings: HashMap<PointId, Reading>,
}

impl Engine {
    /// An engine for `plan`, with nothing known yet. Should the plan repeat a token, the first
    /// one wins for the token lookups.
    pub fn new(plan: &Plan) -> Engine {
        let mut points: HashMap<PointId, Vec<Target>> = HashMap::new();
        let mut input_tokens = HashMap::new();
        let mut relay_tokens = HashMap::new();
        for (i, input) in plan.inputs.iter().enumerate() {
            points
                .entry(input.point.clone())
                .or_default()
                .push(Target::Input(i));
            input_tokens.entry(input.token.clone()).or_insert(i);
        }
        for (i, relay) in plan.relays.iter().enumerate() {
            points
                .entry(relay.read.clone())
                .or_default()
                .push(Target::Relay(i));
            relay_tokens.entry(relay.token.clone()).or_insert(i);
        }
        for (i, value) in plan.values.iter().enumerate() {
            points
                .entry(value.point.clone())
                .or_default()
                .push(Target::Value(i));
        }
        for (i, record) in plan.records.iter().enumerate() {
            points
                .entry(record.point.clone())
                .or_default()
                .push(Target::Record(i));
        }
        let mut readings = HashMap::new();
        let read = (plan.inputs.iter().map(|p| (&p.point, &p.controller)))
            .chain(plan.relays.iter().map(|p| (&p.read, &p.controller)))
            .chain(plan.values.iter().map(|p| (&p.point, &p.controller)))
            .chain(plan.records.iter().map(|p| (&p.point, &p.controller)));
        for (point, controller) in read {
            readings.entry(point.clone()).or_insert_with(|| Reading {
                controller: controller.clone(),
                value: None,
                quality: None,
                at: None,
            });
        }
        Engine {
            inputs: plan.inputs.iter().map(Input::new).collect(),
            relays: plan.relays.iter().map(Relay::new).collect(),
            values: plan.values.iter().map(ValueSlot::new).collect(),
            records: plan.records.iter().map(RecordSlot::new).collect(),
            points,
            input_tokens,
            relay_tokens,
            health: Health::new(plan),
            rejected: 0,
            readings,
        }
    }

    /// What is known at start, before any reading: every controller's failing points, none.
    pub fn initial(&self) -> Vec<Output> {
        self.health.initial()
    }

    /// A reading from an adapter. Returns the model changes it causes (maybe none). Readings of
    /// points the plan does not use are ignored. Allocates only when something is published.
    pub fn update(&mut self, update: &PointUpdate, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(targets) = self.points.get(&update.id) else {
            return out;
        };
        if let Some(reading) = self.readings.get_mut(&update.id) {
            // In place: a register block's vector is reused, not reallocated.
            match &mut reading.value {
                Some(value) => value.clone_from(&update.value),
                None => reading.value = Some(update.value.clone()),
            }
            reading.quality = Some(update.quality);
            reading.at = Some(update.at);
        }
        let mut undecodable = false;
        for target in targets {
            let result = match *target {
                Target::Input(i) => self
                    .inputs
                    .get_mut(i)
                    .map(|input| input.update(&update.value, update.quality, now, &mut out)),
                Target::Relay(i) => self
                    .relays
                    .get_mut(i)
                    .map(|relay| relay.update(&update.value, update.quality, &mut out)),
                Target::Value(i) => self
                    .values
                    .get_mut(i)
                    .map(|value| value.update(i, &update.value, update.quality, now, &mut out)),
                Target::Record(i) => self
                    .records
                    .get(i)
                    .map(|record| record.update(i, &update.value, update.quality, &mut out)),
            };
            if let Some(Err(_)) = result {
                self.rejected = self.rejected.saturating_add(1);
                undecodable = true;
            }
        }
        let failing = match update.quality {
            Quality::Good => Some(undecodable),
            Quality::Bad => Some(true),
            Quality::Stale => None,
        };
        self.health.record(&update.id, failing, &mut out);
        out
    }

    /// A controller's link went down (`up == false`) or came back.
    ///
    /// Down marks every point of the controller `Stale` and cancels pending debounces; the
    /// published states stay. Up changes nothing by itself: points stay `Stale` until their
    /// next good reading. Neither publishes anything today (the result is kept for the API's
    /// stability).
    pub fn link(&mut self, controller: &str, up: bool, now: Instant) -> Vec<Output> {
        let _ = now;
        if !up {
            for reading in self.readings.values_mut() {
                if reading.controller == controller && reading.quality.is_some() {
                    reading.quality = Some(Quality::Stale);
                }
            }
            for input in self
                .inputs
                .iter_mut()
                .filter(|p| p.controller == controller)
            {
                input.interrupt(Quality::Stale);
            }
            for relay in self
                .relays
                .iter_mut()
                .filter(|p| p.controller == controller)
            {
                relay.link_down();
            }
            for value in self
                .values
                .iter_mut()
                .filter(|p| p.controller == controller)
            {
                value.link_down();
            }
        }
        Vec::new()
    }

    /// Time passed: debounce periods that ended, heartbeats that are due.
    pub fn tick(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        for input in &mut self.inputs {
            input.tick(now, &mut out);
        }
        for (i, value) in self.values.iter_mut().enumerate() {
            value.tick(i, now, &mut out);
        }
        out
    }

    /// When [`Engine::tick`] next has something to do (None: nothing scheduled). A `tick` at or
    /// after this instant always moves it forward.
    pub fn next_deadline(&self) -> Option<Instant> {
        let inputs = self.inputs.iter().filter_map(Input::deadline);
        let values = self.values.iter().filter_map(ValueSlot::deadline);
        inputs.chain(values).min()
    }

    /// A digital input's state (None: unknown token).
    pub fn input_state(&self, token: &str) -> Option<InputState> {
        self.input(token).map(Input::state)
    }

    /// A relay's state and settings (None: unknown token).
    pub fn relay_state(&self, token: &str) -> Option<RelayState> {
        self.relay(token).map(Relay::state)
    }

    /// Changes an input's idle state (SetDigitalInputConfigurations). The same electrical state
    /// may now mean the other logical state: that change is returned. None: unknown token.
    pub fn set_input_idle_state(
        &mut self,
        token: &str,
        idle: IdleState,
        now: Instant,
    ) -> Option<Vec<Output>> {
        let _ = now;
        let i = *self.input_tokens.get(token)?;
        let input = self.inputs.get_mut(i)?;
        let mut out = Vec::new();
        input.set_idle_state(idle, &mut out);
        Some(out)
    }

    /// Changes a relay's settings (SetRelayOutputSettings). A new idle state may change the
    /// observed logical state: that change is returned. None: unknown token.
    pub fn set_relay_settings(
        &mut self,
        token: &str,
        mode: RelayMode,
        delay: Duration,
        idle: IdleState,
        now: Instant,
    ) -> Option<Vec<Output>> {
        let _ = now;
        let i = *self.relay_tokens.get(token)?;
        let relay = self.relays.get_mut(i)?;
        let mut out = Vec::new();
        relay.set_settings(mode, delay, idle, &mut out);
        Some(out)
    }

    /// What to write to make relay `token` logically `active` under its current settings: the
    /// controller, point and wire value. None: unknown token.
    pub fn relay_write(&self, token: &str, active: bool) -> Option<RelayWrite> {
        self.relay(token).map(|relay| relay.write(active))
    }

    /// The last published value of `plan.values[index]` (None: nothing published yet, or no
    /// such index).
    pub fn value_state(&self, index: usize) -> Option<&Published> {
        self.values.get(index)?.published()
    }

    /// The quality of `plan.values[index]`'s last reading (`Stale` while the link is down; None
    /// before any reading or for no such index).
    pub fn value_quality(&self, index: usize) -> Option<Quality> {
        self.values.get(index)?.quality()
    }

    /// The last reading of `point` (None: the plan does not read it).
    pub fn reading(&self, point: &PointId) -> Option<&Reading> {
        self.readings.get(point)
    }

    /// The points of `controller` whose reads keep failing, sorted.
    pub fn failing_points(&self, controller: &str) -> Vec<PointId> {
        self.health.failing(controller)
    }

    /// How many readings were rejected since start: shapes that do not fit their point, and
    /// values that cannot be published (NaN, out of range for the data type).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    fn input(&self, token: &str) -> Option<&Input> {
        self.inputs.get(*self.input_tokens.get(token)?)
    }

    fn relay(&self, token: &str) -> Option<&Relay> {
        self.relays.get(*self.relay_tokens.get(token)?)
    }
}
