//! When a reading counts as a change: debounce (inputs), deadband and heartbeat (values).
//!
//! All timing is relative to the `Instant`s the caller passes in; deadlines are computed with
//! `checked_add`, so an absurd duration means "never" rather than a panic.

use std::time::{Duration, Instant};

use super::render::{Sample, mapped_text};
use crate::plan::Decode;

/// A debounced bit: a new value counts once it has been seen continuously for the period.
///
/// The first value ever seen counts at once (there is nothing to bounce from). With polling, a
/// value seen at `t1` counts when it is still seen at a later reading, or at a [`poll`] at or
/// after `t1 + period`; seeing the accepted value again before that cancels it.
///
/// [`poll`]: Debounce::poll
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Debounce {
    accepted: Option<bool>,
    pending: Option<(bool, Instant)>,
}

impl Debounce {
    /// The value that counts (None before the first reading).
    pub(crate) fn accepted(&self) -> Option<bool> {
        self.accepted
    }

    /// A reading of `value` at `now`. Returns the newly accepted value, if it changed.
    pub(crate) fn observe(&mut self, value: bool, now: Instant, period: Duration) -> Option<bool> {
        match self.accepted {
            None => {
                self.accept(value);
                Some(value)
            }
            Some(accepted) if accepted == value => {
                self.pending = None;
                None
            }
            Some(_) => {
                let since = match self.pending {
                    Some((pending, since)) if pending == value => since,
                    _ => now,
                };
                self.pending = Some((value, since));
                self.poll(now, period)
            }
        }
    }

    /// Time passed: accepts the pending value if it has held for `period` by `now`.
    pub(crate) fn poll(&mut self, now: Instant, period: Duration) -> Option<bool> {
        let (value, _) = self.pending?;
        let due = self.deadline(period)?;
        if now >= due {
            self.accept(value);
            Some(value)
        } else {
            None
        }
    }

    /// When the pending value will count, if one is pending.
    pub(crate) fn deadline(&self, period: Duration) -> Option<Instant> {
        let (_, since) = self.pending?;
        since.checked_add(period)
    }

    /// Forgets a pending value (the reading was interrupted: bad quality, link down).
    pub(crate) fn cancel(&mut self) {
        self.pending = None;
    }

    fn accept(&mut self, value: bool) {
        self.accepted = Some(value);
        self.pending = None;
    }
}

/// Whether `new` differs from `last` published enough to publish it.
///
/// Numbers with a deadband must move by more than the deadband; everything else publishes on
/// any change. Two map keys with the same text are the same published value.
pub(crate) fn differs(new: Sample, last: Sample, deadband: Option<f64>, decode: &Decode) -> bool {
    match (new, last) {
        (Sample::Mapped(a), Sample::Mapped(b)) => {
            a != b
                && match (mapped_text(decode, a), mapped_text(decode, b)) {
                    (Some(ta), Some(tb)) => ta != tb,
                    _ => true,
                }
        }
        _ if new == last => false,
        _ => match (deadband, new.number(), last.number()) {
            (Some(band), Some(n), Some(l)) => (n - l).abs() > band,
            _ => true,
        },
    }
}

/// When a heartbeat is next due after a publication at `published_at` (None: never; a zero
/// period counts as no heartbeat, since it would be due again at once).
pub(crate) fn heartbeat_deadline(
    published_at: Instant,
    every: Option<Duration>,
) -> Option<Instant> {
    let every = every.filter(|d| !d.is_zero())?;
    published_at.checked_add(every)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::{ByteOrder, WireType};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_value_counts_at_once() {
        let t = Instant::now();
        let mut d = Debounce::default();
        assert_eq!(d.observe(true, t, 100 * MS), Some(true));
        assert_eq!(d.accepted(), Some(true));
        assert_eq!(d.deadline(100 * MS), None);
    }

    #[test]
    fn bounce_shorter_than_period_is_ignored() {
        let t = Instant::now();
        let mut d = Debounce::default();
        d.observe(false, t, 100 * MS);
        assert_eq!(d.observe(true, t + 10 * MS, 100 * MS), None);
        assert_eq!(d.deadline(100 * MS), Some(t + 110 * MS));
        assert_eq!(d.observe(false, t + 50 * MS, 100 * MS), None);
        assert_eq!(d.deadline(100 * MS), None, "flip back cancels");
        assert_eq!(d.poll(t + 500 * MS, 100 * MS), None);
        assert_eq!(d.accepted(), Some(false));
    }

    #[test]
    fn stable_value_counts_at_a_later_reading_or_poll() {
        let t = Instant::now();
        let mut d = Debounce::default();
        d.observe(false, t, 100 * MS);
        assert_eq!(d.observe(true, t + 10 * MS, 100 * MS), None);
        assert_eq!(d.observe(true, t + 60 * MS, 100 * MS), None, "held 50 ms");
        assert_eq!(d.poll(t + 109 * MS, 100 * MS), None);
        assert_eq!(d.poll(t + 110 * MS, 100 * MS), Some(true));
        assert_eq!(d.poll(t + 200 * MS, 100 * MS), None, "counted once");

        let mut d = Debounce::default();
        d.observe(false, t, 100 * MS);
        d.observe(true, t + 10 * MS, 100 * MS);
        assert_eq!(d.observe(true, t + 120 * MS, 100 * MS), Some(true));
    }

    #[test]
    fn zero_period_is_immediate_and_cancel_forgets() {
        let t = Instant::now();
        let mut d = Debounce::default();
        d.observe(false, t, Duration::ZERO);
        assert_eq!(d.observe(true, t, Duration::ZERO), Some(true));
        d.observe(false, t, 100 * MS);
        d.cancel();
        assert_eq!(d.poll(t + 200 * MS, 100 * MS), None);
        assert_eq!(d.accepted(), Some(true));
    }

    #[test]
    fn huge_period_never_counts() {
        let t = Instant::now();
        let mut d = Debounce::default();
        d.observe(false, t, Duration::MAX);
        assert_eq!(d.observe(true, t, Duration::MAX), None);
        assert_eq!(d.deadline(Duration::MAX), None);
        assert_eq!(d.poll(t + 1000 * MS, Duration::MAX), None);
    }

    fn plain() -> Decode {
        Decode::raw(WireType::U16, ByteOrder::Abcd)
    }

    #[test]
    fn deadband_is_strictly_greater() {
        let d = plain();
        let band = Some(0.5);
        assert!(!differs(Sample::Double(1.5), Sample::Double(1.0), band, &d));
        assert!(differs(Sample::Double(1.51), Sample::Double(1.0), band, &d));
        assert!(differs(Sample::Double(0.49), Sample::Double(1.0), band, &d));
        assert!(!differs(Sample::Int(3), Sample::Int(3), band, &d));
        assert!(differs(Sample::Int(2), Sample::Int(3), band, &d));
        assert!(!differs(Sample::Float(2.25), Sample::Float(2.0), band, &d));
        assert!(differs(Sample::Float(2.25), Sample::Float(2.0), None, &d));
        assert!(!differs(Sample::Float(2.0), Sample::Float(2.0), None, &d));
        // A negative band (never loaded) still needs a change.
        assert!(!differs(Sample::Int(3), Sample::Int(3), Some(-1.0), &d));
    }

    #[test]
    fn booleans_and_texts_publish_on_any_change() {
        let mut d = plain();
        d.map = Some(BTreeMap::from([
            (0, "Off".to_string()),
            (1, "On".to_string()),
            (2, "On".to_string()),
        ]));
        assert!(differs(
            Sample::Bool(true),
            Sample::Bool(false),
            Some(10.0),
            &d
        ));
        assert!(!differs(Sample::Bool(true), Sample::Bool(true), None, &d));
        assert!(differs(
            Sample::Mapped(1),
            Sample::Mapped(0),
            Some(10.0),
            &d
        ));
        assert!(
            !differs(Sample::Mapped(2), Sample::Mapped(1), None, &d),
            "same text"
        );
        assert!(differs(Sample::Mapped(7), Sample::Mapped(1), None, &d));
        assert!(differs(Sample::Mapped(7), Sample::Mapped(8), None, &d));
    }

    #[test]
    fn heartbeat_deadlines() {
        let t = Instant::now();
        assert_eq!(heartbeat_deadline(t, Some(10 * MS)), Some(t + 10 * MS));
        assert_eq!(heartbeat_deadline(t, None), None);
        assert_eq!(heartbeat_deadline(t, Some(Duration::ZERO)), None);
        assert_eq!(heartbeat_deadline(t, Some(Duration::MAX)), None);
    }
}
