//! What has been reported for each point, to report only changes.
//!
//! Rules: after every (re)connect each point is reported once, whatever it was before; after
//! that only a point whose raw value or quality changed. When the link goes down every point
//! that had a value is reported once more, with its last value and [`Quality::Stale`].

use crate::point::{Quality, Value};

#[derive(Clone, Debug, Default)]
struct Slot {
    last: Option<(Value, Quality)>,
    reported_this_session: bool,
}

/// The last reported state of every point (indexed like the configuration's points).
#[derive(Clone, Debug)]
pub(crate) struct Tracker {
    slots: Vec<Slot>,
}

impl Tracker {
    pub(crate) fn new(points: usize) -> Tracker {
        Tracker {
            slots: vec![Slot::default(); points],
        }
    }

    /// A new connection: the next reading of every point is reported.
    pub(crate) fn new_session(&mut self) {
        for slot in &mut self.slots {
            slot.reported_this_session = false;
        }
    }

    /// Records a reading; returns it if it must be reported.
    pub(crate) fn record(&mut self, index: usize, value: Value, quality: Quality) -> Option<Value> {
        let slot = self.slots.get_mut(index)?;
        let unchanged = slot
            .last
            .as_ref()
            .is_some_and(|(v, q)| *q == quality && *v == value);
        if unchanged && slot.reported_this_session {
            return None;
        }
        slot.reported_this_session = true;
        slot.last = Some((value.clone(), quality));
        Some(value)
    }

    /// The last value read (whatever its quality).
    pub(crate) fn last_value(&self, index: usize) -> Option<&Value> {
        self.slots.get(index)?.last.as_ref().map(|(v, _)| v)
    }

    /// Marks a point stale; returns its last value if that is news.
    pub(crate) fn stale(&mut self, index: usize) -> Option<Value> {
        let slot = self.slots.get_mut(index)?;
        match slot.last.as_mut() {
            Some((value, quality)) if *quality != Quality::Stale => {
                *quality = Quality::Stale;
                Some(value.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_are_reported_within_a_session() {
        let mut t = Tracker::new(1);
        t.new_session();
        assert_eq!(
            t.record(0, Value::U16(1), Quality::Good),
            Some(Value::U16(1))
        );
        assert_eq!(t.record(0, Value::U16(1), Quality::Good), None);
        assert_eq!(
            t.record(0, Value::U16(2), Quality::Good),
            Some(Value::U16(2))
        );
        assert_eq!(
            t.record(0, Value::U16(2), Quality::Bad),
            Some(Value::U16(2))
        );
        assert_eq!(t.record(0, Value::U16(2), Quality::Bad), None);
    }

    #[test]
    fn every_point_is_reported_again_after_a_reconnect() {
        let mut t = Tracker::new(2);
        t.new_session();
        t.record(0, Value::Bool(true), Quality::Good);
        t.new_session();
        assert_eq!(
            t.record(0, Value::Bool(true), Quality::Good),
            Some(Value::Bool(true))
        );
    }

    #[test]
    fn stale_is_reported_once_and_only_for_known_points() {
        let mut t = Tracker::new(2);
        t.new_session();
        t.record(0, Value::U16(5), Quality::Good);
        assert_eq!(t.stale(0), Some(Value::U16(5)));
        assert_eq!(t.stale(0), None);
        assert_eq!(t.stale(1), None, "never read: nothing to mark");
        assert_eq!(t.stale(7), None, "unknown index: no panic");
        t.new_session();
        assert_eq!(
            t.record(0, Value::U16(5), Quality::Good),
            Some(Value::U16(5))
        );
        assert_eq!(t.last_value(0), Some(&Value::U16(5)));
    }
}
