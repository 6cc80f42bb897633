//! Which points of each controller keep failing: the last reading was `Bad` (the device
//! answered with an exception) or could not be decoded (a shape that does not fit the point).
//! A good, decodable reading ends it; `Stale` (the link is down: that is the link's state, not
//! the point's) leaves it as it was. Every change of a controller's set is an
//! [`Output::FailingPoints`].

use std::collections::{BTreeSet, HashMap};

use railgate_adapters::PointId;

use super::Output;
use crate::plan::Plan;

/// The failing points of every controller.
#[derive(Clone, Debug, Default)]
pub(super) struct Health {
    /// Controller names: the plan's controllers in file order, then any other a point names.
    controllers: Vec<String>,
    /// The failing points of `controllers[i]`, sorted.
    failing: Vec<BTreeSet<PointId>>,
    /// The controller (index into `controllers`) of every point read.
    owner: HashMap<PointId, usize>,
}

impl Health {
    pub(super) fn new(plan: &Plan) -> Health {
        let mut health = Health::default();
        for c in &plan.controllers {
            health.controller(&c.name);
        }
        let points = plan
            .inputs
            .iter()
            .map(|i| (&i.point, &i.controller))
            .chain(plan.relays.iter().map(|r| (&r.read, &r.controller)))
            .chain(plan.values.iter().map(|v| (&v.point, &v.controller)));
        for (point, controller) in points {
            let c = health.controller(controller);
            health.owner.entry(point.clone()).or_insert(c);
        }
        health
    }

    fn controller(&mut self, name: &str) -> usize {
        if let Some(i) = self.controllers.iter().position(|c| c == name) {
            return i;
        }
        self.controllers.push(name.to_string());
        self.failing.push(BTreeSet::new());
        self.controllers.len() - 1
    }

    /// The state at start: no point of any controller failing.
    pub(super) fn initial(&self) -> Vec<Output> {
        self.controllers
            .iter()
            .map(|c| Output::FailingPoints {
                controller: c.clone(),
                points: Vec::new(),
            })
            .collect()
    }

    /// A reading of `point`: `Some(true)` failed, `Some(false)` succeeded, `None` says
    /// nothing of the point (stale). Pushes the controller's new set if it changed.
    pub(super) fn record(&mut self, point: &PointId, failing: Option<bool>, out: &mut Vec<Output>) {
        let (Some(failing), Some(&c)) = (failing, self.owner.get(point)) else {
            return;
        };
        let (Some(set), Some(controller)) = (self.failing.get_mut(c), self.controllers.get(c))
        else {
            return;
        };
        let changed = if failing {
            set.insert(point.clone())
        } else {
            set.remove(point)
        };
        if changed {
            out.push(Output::FailingPoints {
                controller: controller.clone(),
                points: set.iter().cloned().collect(),
            });
        }
    }

    /// Takes over `old`'s failing points that this plan still reads from the same controller.
    pub(super) fn carry_over(&mut self, old: &Health) {
        for (point, &c) in &self.owner {
            let Some(name) = self.controllers.get(c) else {
                continue;
            };
            let was_failing = old.owner.get(point).is_some_and(|&o| {
                old.controllers.get(o) == Some(name)
                    && old.failing.get(o).is_some_and(|set| set.contains(point))
            });
            if let (true, Some(set)) = (was_failing, self.failing.get_mut(c)) {
                set.insert(point.clone());
            }
        }
    }

    /// Every controller's failing points now.
    pub(super) fn now(&self) -> Vec<Output> {
        self.controllers
            .iter()
            .zip(&self.failing)
            .map(|(c, set)| Output::FailingPoints {
                controller: c.clone(),
                points: set.iter().cloned().collect(),
            })
            .collect()
    }

    /// The failing points of `controller` now (empty for an unknown one).
    pub(super) fn failing(&self, controller: &str) -> Vec<PointId> {
        self.controllers
            .iter()
            .position(|c| c == controller)
            .and_then(|i| self.failing.get(i))
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
}
