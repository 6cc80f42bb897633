//! The property state model: the last known value of every property, so that a property
//! event is `Initialized` when it first becomes known, `Changed` only when its data really
//! changes, and `Deleted` when it goes away; and so that subscribers can be given the current
//! state (`Initialized`) when they subscribe or set a synchronization point.
//!
//! The snapshot lists properties in the order they first became known (a `Changed` keeps a
//! property's place; one deleted and known again goes last), so a subscriber learns a
//! controller's link state before the inputs read over that link.

use std::collections::BTreeMap;

use super::model::{Event, Item, PropertyOperation, Topic};

/// Identifies one property instance: its topic and its source items.
pub type PropertyKey = (Topic, Vec<Item>);

/// The current state of every known property.
#[derive(Debug, Default)]
pub struct PropertyState {
    /// Every known property: when it first became known (a sequence number) and its value.
    current: BTreeMap<PropertyKeyOrd, (u64, Event)>,
    /// The sequence number of the next property to become known.
    next: u64,
}

/// A sortable form of [`PropertyKey`] (items compared by their JSON form).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PropertyKeyOrd(Topic, String);

fn key_of(topic: &Topic, source: &[Item]) -> PropertyKeyOrd {
    PropertyKeyOrd(
        topic.clone(),
        serde_json::to_string(source).unwrap_or_default(),
    )
}

impl PropertyState {
    /// Applies a new value; returns the event to store, or `None` when nothing changed.
    pub fn set(&mut self, mut event: Event) -> Option<Event> {
        let key = key_of(&event.topic, &event.source);
        let (operation, known) = match self.current.get(&key) {
            None => {
                self.next += 1;
                (PropertyOperation::Initialized, self.next)
            }
            Some((_, previous)) if previous.data == event.data && previous.key == event.key => {
                return None;
            }
            Some((known, _)) => (PropertyOperation::Changed, *known),
        };
        event.operation = Some(operation);
        self.current.insert(key, (known, event.clone()));
        Some(event)
    }

    /// Removes a property; returns the `Deleted` event to store, or `None` if it was unknown.
    pub fn delete(&mut self, topic: &Topic, source: &[Item], mut event: Event) -> Option<Event> {
        let (_, previous) = self.current.remove(&key_of(topic, source))?;
        event.operation = Some(PropertyOperation::Deleted);
        if event.data.is_empty() {
            event.data = previous.data;
        }
        Some(event)
    }

    /// Every known property as it is now, marked `Initialized`, in the order they first
    /// became known.
    pub fn snapshot(&self) -> Vec<Event> {
        let mut known: Vec<&(u64, Event)> = self.current.values().collect();
        known.sort_unstable_by_key(|(seq, _)| *seq);
        known
            .into_iter()
            .map(|(_, e)| Event {
                operation: Some(PropertyOperation::Initialized),
                ..e.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(token: &str, state: bool) -> Event {
        Event {
            utc: chrono::Utc::now(),
            topic: Topic::onvif("Device/Trigger/DigitalInput"),
            operation: None,
            source: vec![Item::simple("InputToken", token)],
            key: vec![],
            data: vec![Item::simple("LogicalState", state.to_string())],
            producer: "test".into(),
        }
    }

    #[test]
    fn initialized_then_changed_only_on_real_edges_then_deleted() {
        let mut s = PropertyState::default();
        assert_eq!(
            s.set(input("in1", false)).unwrap().operation,
            Some(PropertyOperation::Initialized)
        );
        assert!(s.set(input("in1", false)).is_none(), "no edge, no event");
        assert_eq!(
            s.set(input("in1", true)).unwrap().operation,
            Some(PropertyOperation::Changed)
        );
        assert_eq!(
            s.set(input("in2", true)).unwrap().operation,
            Some(PropertyOperation::Initialized),
            "another source"
        );
        let snapshot = s.snapshot();
        assert_eq!(snapshot.len(), 2);
        assert!(
            snapshot
                .iter()
                .all(|e| e.operation == Some(PropertyOperation::Initialized))
        );
        assert_eq!(
            snapshot[0].data,
            input("in1", true).data,
            "the current value"
        );
        let topic = Topic::onvif("Device/Trigger/DigitalInput");
        let deleted = s
            .delete(
                &topic,
                &[Item::simple("InputToken", "in1")],
                input("in1", true),
            )
            .unwrap();
        assert_eq!(deleted.operation, Some(PropertyOperation::Deleted));
        assert!(
            s.delete(
                &topic,
                &[Item::simple("InputToken", "in1")],
                input("in1", true)
            )
            .is_none()
        );
        assert_eq!(s.snapshot().len(), 1);
    }

    #[test]
    fn the_snapshot_keeps_first_known_order() {
        let mut s = PropertyState::default();
        let link = |connected: bool| Event {
            topic: Topic {
                ns: "urn:railgate:topics".into(),
                path: "Monitoring/ControllerLink".into(),
            },
            source: vec![Item::simple("Controller", "panel")],
            data: vec![Item::simple("Connected", connected.to_string())],
            ..input("x", false)
        };
        // "zz" sorts last by key, the link's namespace first: neither decides the order.
        s.set(input("zz", false));
        s.set(link(false));
        s.set(input("aa", true));
        s.set(input("zz", true)); // Changed: keeps its place
        let order = |s: &PropertyState| -> Vec<String> {
            s.snapshot()
                .iter()
                .map(|e| e.source[0].value().unwrap_or_default().to_string())
                .collect()
        };
        assert_eq!(order(&s), ["zz", "panel", "aa"]);
        let topic = Topic::onvif("Device/Trigger/DigitalInput");
        let source = [Item::simple("InputToken", "zz")];
        s.delete(&topic, &source, input("zz", true));
        s.set(input("zz", false)); // known again: last
        assert_eq!(order(&s), ["panel", "aa", "zz"]);
        assert_eq!(s.snapshot()[2].data, input("zz", false).data);
    }
}
