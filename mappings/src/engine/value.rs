//! One published value: decode, deadband, heartbeat, quality.

use std::time::{Duration, Instant};

use railgate_adapters::{Quality, Value};

use super::change::{differs, heartbeat_deadline};
use super::decode::DecodeError;
use super::render::{Published, Sample, render, sample};
use super::{Output, Reason};
use crate::plan::{Decode, ItemType, ValuePoint};

/// The run-time state of one [`ValuePoint`].
#[derive(Clone, Debug)]
pub(super) struct ValueSlot {
    pub(super) controller: String,
    decode: Decode,
    ty: ItemType,
    deadband: Option<f64>,
    heartbeat: Option<Duration>,
    /// The latest good reading (may differ from `last` by less than the deadband).
    current: Option<Sample>,
    /// The sample last published.
    last: Option<Sample>,
    published: Option<Published>,
    published_at: Option<Instant>,
    quality: Option<Quality>,
}

impl ValueSlot {
    pub(super) fn new(point: &ValuePoint) -> ValueSlot {
        ValueSlot {
            controller: point.controller.clone(),
            decode: point.decode.clone(),
            ty: point.event.data_type,
            deadband: point.deadband,
            heartbeat: point.heartbeat,
            current: None,
            last: None,
            published: None,
            published_at: None,
            quality: None,
        }
    }

    /// A reading of the value's point. Publishes the first good reading, a change (beyond the
    /// deadband), or a heartbeat that is due. A reading that cannot be decoded (wrong shape,
    /// NaN, out of range) is not published and makes the quality `Bad`.
    pub(super) fn update(
        &mut self,
        index: usize,
        value: &Value,
        quality: Quality,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> Result<(), DecodeError> {
        if quality != Quality::Good {
            self.quality = Some(quality);
            return Ok(());
        }
        let new = match sample(value, &self.decode, self.ty) {
            Ok(new) => new,
            Err(error) => {
                self.quality = Some(Quality::Bad);
                return Err(error);
            }
        };
        self.quality = Some(Quality::Good);
        self.current = Some(new);
        let reason = match self.last {
            None => Some(Reason::Initial),
            Some(last) if differs(new, last, self.deadband, &self.decode) => Some(Reason::Changed),
            Some(_) if self.heartbeat_due(now) => Some(Reason::Heartbeat),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            self.publish(index, new, reason, now, out);
        }
        Ok(())
    }

    pub(super) fn link_down(&mut self) {
        self.quality = Some(Quality::Stale);
    }

    /// Time passed: republishes the current value if its heartbeat is due.
    pub(super) fn tick(&mut self, index: usize, now: Instant, out: &mut Vec<Output>) {
        let Some(current) = self.current else { return };
        if self.heartbeat_due(now) {
            self.publish(index, current, Reason::Heartbeat, now, out);
        }
    }

    /// When the next heartbeat is due: only while the value is good (a stale value is not
    /// republished).
    pub(super) fn deadline(&self) -> Option<Instant> {
        if self.quality != Some(Quality::Good) || self.current.is_none() {
            return None;
        }
        heartbeat_deadline(self.published_at?, self.heartbeat)
    }

    pub(super) fn published(&self) -> Option<&Published> {
        self.published.as_ref()
    }

    pub(super) fn quality(&self) -> Option<Quality> {
        self.quality
    }

    fn heartbeat_due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|due| now >= due)
    }

    fn publish(
        &mut self,
        index: usize,
        new: Sample,
        reason: Reason,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let value = render(new, &self.decode, self.ty);
        self.last = Some(new);
        self.published_at = Some(now);
        self.published = Some(value.clone());
        out.push(Output::Value {
            index,
            value,
            reason,
        });
    }
}
