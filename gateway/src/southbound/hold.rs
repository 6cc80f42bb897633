//! [`Held`]: the engine outputs of controllers whose link is not up, kept back until it is.
//!
//! An adapter may report readings before it reports its link up (the Modbus adapter says
//! "up" once a whole poll cycle succeeded), and a client may change an input's idle state
//! while the link is down. Publishing those at once would show a VMS input values of a
//! controller whose `rg:Monitoring/ControllerLink` still says disconnected, or show them
//! before the link-up. So the core holds them, per controller, and on link up publishes the
//! link state first, then what was held, in the order it was decided.
//!
//! While held, a newer output about the same property (an input, a relay, a property value,
//! the failing points) replaces the older one; plain value events are kept, at most
//! [`MAX_HELD_EVENTS`] per controller (the oldest go first, with a warning). No I/O, no
//! clock.

use std::collections::{BTreeSet, HashMap};

use railgate_mappings::engine::{Moved, Output};
use railgate_mappings::plan::Plan;

/// Most plain (non-property) value events held for one controller.
pub(super) const MAX_HELD_EVENTS: usize = 256;

/// What a held output is about: a newer one with the same subject replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Input(String),
    Relay(String),
    Value(usize),
    Health,
    /// A plain event: never replaced.
    Event,
}

/// Outputs held per controller (see the module doc).
#[derive(Debug, Default)]
pub(super) struct Held {
    input_controller: HashMap<String, String>,
    relay_controller: HashMap<String, String>,
    /// `plan.values[i]`: its controller, and whether it is a property.
    values: Vec<(String, bool)>,
    /// `plan.records[i]`: its controller.
    records: Vec<String>,
    held: HashMap<String, Vec<(Subject, Output)>>,
    /// Plain events dropped since start because too many were held.
    dropped: u64,
}

impl Held {
    pub(super) fn new(plan: &Plan) -> Held {
        Held {
            input_controller: plan
                .inputs
                .iter()
                .map(|i| (i.token.clone(), i.controller.clone()))
                .collect(),
            relay_controller: plan
                .relays
                .iter()
                .map(|r| (r.token.clone(), r.controller.clone()))
                .collect(),
            values: plan
                .values
                .iter()
                .map(|v| (v.controller.clone(), v.event.property))
                .collect(),
            records: plan.records.iter().map(|r| r.controller.clone()).collect(),
            held: HashMap::new(),
            dropped: 0,
        }
    }

    /// The controller an output is about, and what it is about.
    fn classify(&self, output: &Output) -> Option<(String, Subject)> {
        match output {
            Output::Input { token, .. } => self
                .input_controller
                .get(token)
                .map(|c| (c.clone(), Subject::Input(token.clone()))),
            Output::Relay { token, .. } => self
                .relay_controller
                .get(token)
                .map(|c| (c.clone(), Subject::Relay(token.clone()))),
            Output::Value { index, .. } => self.values.get(*index).map(|(c, property)| {
                let subject = if *property {
                    Subject::Value(*index)
                } else {
                    Subject::Event
                };
                (c.clone(), subject)
            }),
            Output::Record { index, .. } => self
                .records
                .get(*index)
                .map(|c| (c.clone(), Subject::Event)),
            Output::FailingPoints { controller, .. } => Some((controller.clone(), Subject::Health)),
        }
    }

    /// Holds the outputs of controllers that are not `up`; returns the others, in order.
    pub(super) fn pass(&mut self, outputs: Vec<Output>, up: impl Fn(&str) -> bool) -> Vec<Output> {
        let mut ready = Vec::with_capacity(outputs.len());
        for output in outputs {
            match self.classify(&output) {
                Some((controller, subject)) if !up(&controller) => {
                    self.hold(controller, subject, output);
                }
                _ => ready.push(output),
            }
        }
        ready
    }

    fn hold(&mut self, controller: String, subject: Subject, output: Output) {
        let list = self.held.entry(controller).or_default();
        if subject == Subject::Event {
            let events = list.iter().filter(|(s, _)| *s == Subject::Event).count();
            if events >= MAX_HELD_EVENTS
                && let Some(oldest) = list.iter().position(|(s, _)| *s == Subject::Event)
            {
                list.remove(oldest);
                self.dropped = self.dropped.saturating_add(1);
                if self.dropped == 1 || self.dropped.is_multiple_of(MAX_HELD_EVENTS as u64) {
                    tracing::warn!(
                        dropped = self.dropped,
                        "too many value events held while a link is not up: the oldest are dropped"
                    );
                }
            }
        } else {
            list.retain(|(s, _)| *s != subject);
        }
        list.push((subject, output));
    }

    /// Everything held for `controller`, in order; nothing is held for it afterwards.
    pub(super) fn release(&mut self, controller: &str) -> Vec<Output> {
        self.held
            .remove(controller)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, o)| o)
            .collect()
    }

    /// A reload to `plan`: held outputs are kept with their value and record indices moved to
    /// `plan`'s (an output of a point `plan` no longer has goes), except the failing points
    /// (the reload publishes every controller's set as it is now) and, for controllers in
    /// `restarted`, the states (their new links read them again; occurrences such as card
    /// reads happened once and stay).
    pub(super) fn reload(self, plan: &Plan, moved: &Moved, restarted: &BTreeSet<String>) -> Held {
        let mut next = Held::new(plan);
        next.dropped = self.dropped;
        for (controller, list) in self.held {
            let restarting = restarted.contains(&controller);
            for (subject, output) in list {
                if subject == Subject::Health || (restarting && subject != Subject::Event) {
                    continue;
                }
                let output = match output {
                    Output::Value {
                        index,
                        value,
                        reason,
                    } => match moved.values.get(&index) {
                        Some(&index) => Output::Value {
                            index,
                            value,
                            reason,
                        },
                        None => continue,
                    },
                    Output::Record { index, items } => match moved.records.get(&index) {
                        Some(&index) => Output::Record { index, items },
                        None => continue,
                    },
                    other => other,
                };
                if let Some((controller, subject)) = next.classify(&output) {
                    next.hold(controller, subject, output);
                }
            }
        }
        next
    }

    /// Plain value events dropped since start because too many were held.
    #[cfg(test)]
    fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use railgate_adapters::PointId;
    use std::path::Path;

    fn plan() -> Plan {
        let mapping = "controllers:\n  - name: a\n    modbus_tcp: {host: 127.0.0.1, port: 1502}\n    unit: 1\n    address_base: 0\n  - name: b\n    modbus_tcp: {host: 127.0.0.1, port: 1503}\n    unit: 1\n    address_base: 0\ninputs:\n  - {token: DoorA, controller: a, discrete_input: 1}\n  - {token: DoorB, controller: b, discrete_input: 1}\nvalues:\n  - {name: count, controller: a, holding_register: 10, type: u16, topic: 'rg:Panel/Count', property: false}\n";
        railgate_mappings::load_str(Path::new("site.yaml"), mapping).expect("a mapping")
    }

    fn input(token: &str, active: bool) -> Output {
        Output::Input {
            token: token.into(),
            active,
            initial: false,
        }
    }

    fn failing(controller: &str, points: &[&str]) -> Output {
        Output::FailingPoints {
            controller: controller.into(),
            points: points.iter().map(|p| PointId(p.to_string())).collect(),
        }
    }

    #[test]
    fn holds_what_a_down_link_decided_and_releases_it_in_order() {
        let plan = plan();
        let mut held = Held::new(&plan);
        let only_b = |c: &str| c == "b";
        let ready = held.pass(
            vec![
                input("DoorA", true),
                input("DoorB", true),
                failing("a", &["a/holding/10"]),
            ],
            only_b,
        );
        assert_eq!(ready, vec![input("DoorB", true)], "b is up: it passes");
        // A newer state of the same input replaces the held one (and moves behind the set).
        assert!(held.pass(vec![input("DoorA", false)], only_b).is_empty());
        assert_eq!(
            held.release("a"),
            vec![failing("a", &["a/holding/10"]), input("DoorA", false)]
        );
        assert!(held.release("a").is_empty(), "released once");
        assert!(held.release("b").is_empty());
    }

    #[test]
    fn plain_events_are_kept_up_to_a_bound() {
        let plan = plan();
        let index = plan.values.iter().position(|v| v.name == "count").unwrap();
        assert!(!plan.values[index].event.property);
        let mut held = Held::new(&plan);
        let event = |n: u16| Output::Value {
            index,
            value: railgate_mappings::engine::Published {
                text: n.to_string(),
                number: Some(f64::from(n)),
            },
            reason: railgate_mappings::engine::Reason::Changed,
        };
        let n = MAX_HELD_EVENTS as u16 + 3;
        for i in 0..n {
            assert!(held.pass(vec![event(i)], |_| false).is_empty());
        }
        let released = held.release("a");
        assert_eq!(released.len(), MAX_HELD_EVENTS);
        assert_eq!(released.first(), Some(&event(3)), "the oldest were dropped");
        assert_eq!(released.last(), Some(&event(n - 1)));
        assert_eq!(held.dropped(), 3);
    }
}
