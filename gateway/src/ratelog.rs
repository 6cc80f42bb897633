//! Rate-limited warnings: at most one line per key per period, the next one carrying the
//! count of those suppressed in between, so that a flood of refused requests cannot flood
//! the log.
//!
//! ```
//! # use std::time::{Duration, Instant};
//! # use railgate::ratelog::RateLog;
//! let log = RateLog::new(Duration::from_secs(10));
//! let t0 = Instant::now();
//! assert_eq!(log.check("refused", t0), Some(0)); // logged
//! assert_eq!(log.check("refused", t0), None); // suppressed
//! assert_eq!(log.check("refused", t0 + Duration::from_secs(10)), Some(1)); // logged: 1 suppressed
//! ```
//!
//! Callers pass the time (the gate's `Now`), so the behaviour is tested on a simulated
//! clock. Keys are meant to be few (a kind of warning, not a client address); the table is
//! bounded all the same ([`RateLog::MAX_KEYS`]): beyond it, keys quiet for a period go, and
//! if none is, new keys are suppressed and counted with the next line of any key.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
struct Entry {
    last: Instant,
    suppressed: u64,
}

#[derive(Debug)]
struct State<K> {
    entries: HashMap<K, Entry>,
    /// Suppressed because the table was full.
    overflow: u64,
}

/// One warning per key per period.
#[derive(Debug)]
pub struct RateLog<K> {
    every: Duration,
    state: Mutex<State<K>>,
}

impl<K: Hash + Eq> RateLog<K> {
    /// Most keys tracked.
    pub const MAX_KEYS: usize = 256;

    /// At most one line per key per `every`.
    pub fn new(every: Duration) -> Self {
        RateLog {
            every,
            state: Mutex::new(State {
                entries: HashMap::new(),
                overflow: 0,
            }),
        }
    }

    /// The usual period: 10 s.
    pub fn per_10s() -> Self {
        Self::new(Duration::from_secs(10))
    }

    /// Whether to log a warning of `key` at `now`: `Some(n)` to log it, `n` being how many of
    /// that key were suppressed since the last line; `None` to suppress it (it is counted).
    pub fn check(&self, key: K, now: Instant) -> Option<u64> {
        let mut state = self.state.lock();
        let State { entries, overflow } = &mut *state;
        if let Some(e) = entries.get_mut(&key) {
            if now.saturating_duration_since(e.last) >= self.every {
                let n = std::mem::take(&mut e.suppressed).saturating_add(std::mem::take(overflow));
                e.last = now;
                return Some(n);
            }
            e.suppressed = e.suppressed.saturating_add(1);
            return None;
        }
        if entries.len() >= Self::MAX_KEYS {
            let every = self.every;
            entries
                .retain(|_, e| e.suppressed > 0 || now.saturating_duration_since(e.last) < every);
            if entries.len() >= Self::MAX_KEYS {
                *overflow = overflow.saturating_add(1);
                return None;
            }
        }
        entries.insert(
            key,
            Entry {
                last: now,
                suppressed: 0,
            },
        );
        Some(std::mem::take(overflow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_key_per_period_with_the_count() {
        let log = RateLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.check("a", t0), Some(0));
        for i in 1..1000u64 {
            assert_eq!(log.check("a", t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.check("b", t0), Some(0), "keys are apart");
        assert_eq!(log.check("a", t0 + Duration::from_secs(9)), None);
        assert_eq!(
            log.check("a", t0 + Duration::from_secs(10)),
            Some(1000),
            "the next line carries the count"
        );
        assert_eq!(log.check("a", t0 + Duration::from_secs(30)), Some(0));
    }

    #[test]
    fn the_table_is_bounded_and_overflow_is_counted() {
        let log = RateLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..RateLog::<u32>::MAX_KEYS as u32 {
            assert_eq!(log.check(i, t0), Some(0));
            assert_eq!(log.check(i, t0), None);
        }
        assert_eq!(log.check(9999, t0), None, "full of busy keys: suppressed");
        assert_eq!(log.check(0, t0 + Duration::from_secs(10)), Some(2));
        assert!(log.state.lock().entries.len() <= RateLog::<u32>::MAX_KEYS);
    }
}
