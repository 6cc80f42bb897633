//! The property state model: the last known value of every property, so that a property
//! event is `Initialized` when it first becomes known, `Changed` only when its data really
//! changes, and `Deleted` when it goes away; and so that subscribers can be given the current
//! state (`Initialized`) when they subscribe or set a synchronization point.

use std::collections::BTreeMap;

use super::model::{Event, Item, PropertyOperation, Topic};

/// Identifies one property instance: its topic and its source items.
pub type PropertyKey = (Topic, Vec<Item>);

/// The current state of every known property.
#[derive(Debug, Default)]
pub struct PropertyState {
    current: BTreeMap<PropertyKeyOrd, Event>,
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
        let operation = match self.current.get(&key) {
            None => PropertyOperation::Initialized,
            Some(previous) if previous.data == event.data && previous.key == event.key => {
                return None;
            }
            Some(_) => PropertyOperation::Changed,
        };
        event.operation = Some(operation);
        self.current.insert(key, event.clone());
        Some(event)
    }

    /// Removes a property; returns the `Deleted` event to store, or `None` if it was unknown.
    pub fn delete(&mut self, topic: &Topic, source: &[Item], mut event: Event) -> Option<Event> {
        let previous = self.current.remove(&key_of(topic, source))?;
        event.operation = Some(PropertyOperation::Deleted);
        if event.data.is_empty() {
            event.data = previous.data;
        }
        Some(event)
    }

    /// Every known property as it is now, marked `Initialized`, in a stable order.
    pub fn snapshot(&self) -> Vec<Event> {
        self.current
            .values()
            .map(|e| Event {
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
}
