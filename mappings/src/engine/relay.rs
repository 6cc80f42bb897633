//! One relay output: settings, observed state (from its read point), quality, and the wire
//! value that sets it.

use std::time::Duration;

use railgate_adapters::{PointId, Quality, Value};

use super::contact::{contact_closed, is_active, wire_for};
use super::decode::DecodeError;
use super::{Output, RelayState, RelayWrite};
use crate::plan::{IdleState, RelayMode, RelayPoint};

/// The run-time state of one [`RelayPoint`].
#[derive(Clone, Debug)]
pub(super) struct Relay {
    pub(super) token: String,
    pub(super) controller: String,
    write: PointId,
    invert: bool,
    mode: RelayMode,
    delay: Duration,
    idle: IdleState,
    /// Observed electrical state (`true` = energised, contact closed).
    energised: Option<bool>,
    /// The logical state last reported in an [`Output::Relay`].
    published: Option<bool>,
    quality: Option<Quality>,
}

impl Relay {
    pub(super) fn new(point: &RelayPoint) -> Relay {
        Relay {
            token: point.token.clone(),
            controller: point.controller.clone(),
            write: point.write.clone(),
            invert: point.invert,
            mode: point.mode,
            delay: point.delay,
            idle: point.idle_state,
            energised: None,
            published: None,
            quality: None,
        }
    }

    /// A reading of the relay's read point (no debounce: a relay does not bounce for long, and
    /// a read-back must show at once).
    pub(super) fn update(
        &mut self,
        value: &Value,
        quality: Quality,
        out: &mut Vec<Output>,
    ) -> Result<(), DecodeError> {
        if quality != Quality::Good {
            self.quality = Some(quality);
            return Ok(());
        }
        let Value::Bool(wire) = value else {
            self.quality = Some(Quality::Bad);
            return Err(DecodeError::Shape);
        };
        self.quality = Some(Quality::Good);
        self.energised = Some(contact_closed(*wire, self.invert));
        self.emit(out);
        Ok(())
    }

    pub(super) fn link_down(&mut self) {
        self.quality = Some(Quality::Stale);
    }

    pub(super) fn set_settings(
        &mut self,
        mode: RelayMode,
        delay: Duration,
        idle: IdleState,
        out: &mut Vec<Output>,
    ) {
        self.mode = mode;
        self.delay = delay;
        self.idle = idle;
        self.emit(out);
    }

    pub(super) fn write(&self, active: bool) -> RelayWrite {
        RelayWrite {
            controller: self.controller.clone(),
            point: self.write.clone(),
            value: wire_for(active, self.idle, self.invert),
        }
    }

    pub(super) fn state(&self) -> RelayState {
        RelayState {
            active: self.active(),
            energised: self.energised,
            mode: self.mode,
            delay: self.delay,
            idle_state: self.idle,
            invert: self.invert,
            quality: self.quality,
        }
    }

    fn active(&self) -> Option<bool> {
        self.energised.map(|closed| is_active(closed, self.idle))
    }

    /// Reports the logical state if it differs from the one last reported.
    fn emit(&mut self, out: &mut Vec<Output>) {
        let Some(active) = self.active() else { return };
        if self.published != Some(active) {
            out.push(Output::Relay {
                token: self.token.clone(),
                active,
                initial: self.published.is_none(),
            });
            self.published = Some(active);
        }
    }
}
