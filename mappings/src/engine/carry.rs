//! A reload: the engine of a new plan takes over what the running engine knows.
//!
//! A point whose definition is the same in both plans (the same [`crate::plan::InputPoint`],
//! relay, value or record, compared whole) keeps its state: debounce, published state,
//! quality, deadband and heartbeat memory, a client's settings. A point whose definition
//! changed starts unknown; an input or a value whose point was read before is given that
//! last reading again at once, through its new definition (an inverted input shows its new
//! logical state without waiting for the panel to change). Relays are not replayed: their
//! next reading decides (a relay's state must come from the controller), and records never
//! are (a card read happens once). Every point's last raw reading and the failing points of
//! the points still read are kept.

use std::collections::HashMap;
use std::time::Instant;

use railgate_adapters::{PointId, Quality};

use super::{Engine, Output};
use crate::plan::Plan;

/// Where the kept values and records moved: an index into the running plan's `values`
/// (`records`) to the new plan's.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// `old index → new index` of every value kept.
    pub values: HashMap<usize, usize>,
    /// `old index → new index` of every record kept.
    pub records: HashMap<usize, usize>,
}

/// The position in `old` of an entry equal to `entry`, not yet taken.
fn same<T: PartialEq>(old: &[T], entry: &T, taken: &mut [bool]) -> Option<usize> {
    let j = old
        .iter()
        .enumerate()
        .position(|(j, o)| o == entry && !taken.get(j).copied().unwrap_or(true))?;
    if let Some(t) = taken.get_mut(j) {
        *t = true;
    }
    Some(j)
}

impl Engine {
    /// Takes over from `old` (the engine of `old_plan`) what is still true under `plan`,
    /// this engine's plan (see the module doc). `link_kept(controller)`: whether that
    /// controller's link runs on; the raw readings of one whose link restarts (maybe another
    /// device now) are not taken over, so nothing is replayed from them. Returns where kept
    /// values and records moved and the outputs of the replayed readings (in plan order).
    pub fn carry_over(
        &mut self,
        plan: &Plan,
        old: &Engine,
        old_plan: &Plan,
        now: Instant,
        link_kept: impl Fn(&str) -> bool,
    ) -> (Moved, Vec<Output>) {
        for (point, reading) in &mut self.readings {
            if let Some(before) = old.readings.get(point)
                && before.controller == reading.controller
                && link_kept(&reading.controller)
            {
                reading.clone_from(before);
            }
        }
        let mut moved = Moved::default();
        let mut replay: Vec<(usize, bool)> = Vec::new();
        let mut taken = vec![false; old_plan.inputs.len()];
        for (i, input) in plan.inputs.iter().enumerate() {
            match same(&old_plan.inputs, input, &mut taken) {
                Some(j) => self.take(|e| &mut e.inputs, i, old.inputs.get(j)),
                None => replay.push((i, true)),
            }
        }
        let mut taken = vec![false; old_plan.relays.len()];
        for (i, relay) in plan.relays.iter().enumerate() {
            if let Some(j) = same(&old_plan.relays, relay, &mut taken) {
                self.take(|e| &mut e.relays, i, old.relays.get(j));
            }
        }
        let mut taken = vec![false; old_plan.values.len()];
        for (i, value) in plan.values.iter().enumerate() {
            match same(&old_plan.values, value, &mut taken) {
                Some(j) => {
                    self.take(|e| &mut e.values, i, old.values.get(j));
                    moved.values.insert(j, i);
                }
                None => replay.push((i, false)),
            }
        }
        let mut taken = vec![false; old_plan.records.len()];
        for (i, record) in plan.records.iter().enumerate() {
            if let Some(j) = same(&old_plan.records, record, &mut taken) {
                moved.records.insert(j, i);
            }
        }
        self.health.carry_over(&old.health);

        let mut out = Vec::new();
        for (i, is_input) in replay {
            let point = match is_input {
                true => plan.inputs.get(i).map(|p| &p.point),
                false => plan.values.get(i).map(|p| &p.point),
            };
            let Some(reading) = point.and_then(|p| self.last_good(p)) else {
                continue;
            };
            // A shape error shows on the point's quality; it was counted when first read.
            let _ = match is_input {
                true => self
                    .inputs
                    .get_mut(i)
                    .map(|p| p.update(&reading, Quality::Good, now, &mut out)),
                false => self
                    .values
                    .get_mut(i)
                    .map(|p| p.update(i, &reading, Quality::Good, now, &mut out)),
            };
        }
        (moved, out)
    }

    /// Every controller's failing points now (the set a reload publishes again, so points no
    /// longer read leave it).
    pub fn failing_now(&self) -> Vec<Output> {
        self.health.now()
    }

    fn take<T: Clone>(
        &mut self,
        slots: impl Fn(&mut Engine) -> &mut Vec<T>,
        i: usize,
        from: Option<&T>,
    ) {
        if let (Some(slot), Some(from)) = (slots(self).get_mut(i), from) {
            slot.clone_from(from);
        }
    }

    /// The last reading of `point` if it was good.
    fn last_good(&self, point: &PointId) -> Option<railgate_adapters::Value> {
        let reading = self.readings.get(point)?;
        match reading.quality {
            Some(Quality::Good) => reading.value.clone(),
            _ => None,
        }
    }
}
