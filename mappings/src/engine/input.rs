//! One digital input: debounced contact state, idle state, logical state, quality.

use std::time::{Duration, Instant};

use railgate_adapters::{Quality, Value};

use super::change::Debounce;
use super::contact::{contact_closed, is_active};
use super::decode::DecodeError;
use super::{InputState, Output};
use crate::plan::{IdleState, InputPoint};

/// The run-time state of one [`InputPoint`].
#[derive(Clone, Debug)]
pub(super) struct Input {
    pub(super) token: String,
    pub(super) controller: String,
    invert: bool,
    debounce: Duration,
    idle: IdleState,
    /// Electrical state (`true` = closed), debounced.
    contact: Debounce,
    /// The logical state last reported in an [`Output::Input`].
    published: Option<bool>,
    quality: Option<Quality>,
}

impl Input {
    pub(super) fn new(point: &InputPoint) -> Input {
        Input {
            token: point.token.clone(),
            controller: point.controller.clone(),
            invert: point.invert,
            debounce: point.debounce,
            idle: point.idle_state,
            contact: Debounce::default(),
            published: None,
            quality: None,
        }
    }

    /// A reading of the input's point. Only a good `Bool` reading moves the state; any other
    /// good reading is a shape error (the input's quality becomes `Bad`).
    pub(super) fn update(
        &mut self,
        value: &Value,
        quality: Quality,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> Result<(), DecodeError> {
        if quality != Quality::Good {
            self.interrupt(quality);
            return Ok(());
        }
        let Value::Bool(wire) = value else {
            self.interrupt(Quality::Bad);
            return Err(DecodeError::Shape);
        };
        self.quality = Some(Quality::Good);
        let closed = contact_closed(*wire, self.invert);
        if self.contact.observe(closed, now, self.debounce).is_some() {
            self.emit(out);
        }
        Ok(())
    }

    /// The reading cannot be trusted: keep the published state, forget a pending change.
    pub(super) fn interrupt(&mut self, quality: Quality) {
        self.quality = Some(quality);
        self.contact.cancel();
    }

    /// Time passed: a pending change may have held long enough.
    pub(super) fn tick(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.contact.poll(now, self.debounce).is_some() {
            self.emit(out);
        }
    }

    /// When [`Input::tick`] next has something to do.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.contact.deadline(self.debounce)
    }

    pub(super) fn set_idle_state(&mut self, idle: IdleState, out: &mut Vec<Output>) {
        self.idle = idle;
        self.emit(out);
    }

    pub(super) fn state(&self) -> InputState {
        InputState {
            active: self.active(),
            closed: self.contact.accepted(),
            idle_state: self.idle,
            invert: self.invert,
            debounce: self.debounce,
            quality: self.quality,
        }
    }

    fn active(&self) -> Option<bool> {
        self.contact
            .accepted()
            .map(|closed| is_active(closed, self.idle))
    }

    /// Reports the logical state if it differs from the one last reported.
    fn emit(&mut self, out: &mut Vec<Output>) {
        let Some(active) = self.active() else { return };
        if self.published != Some(active) {
            out.push(Output::Input {
                token: self.token.clone(),
                active,
                initial: self.published.is_none(),
            });
            self.published = Some(active);
        }
    }
}
