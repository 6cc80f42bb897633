//! Counters of one controller's link, kept by its adapter and read by the gateway's metrics:
//! requests sent, retries, timeouts, failed calls, and the poll cycles' durations in fixed
//! buckets. Plain atomics (no runtime, no metrics library): the gateway turns a
//! [`LinkStatsSnapshot`] into its exposition.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds (seconds) of the poll-cycle buckets; a last bucket takes the rest (+Inf).
pub const CYCLE_BUCKETS: [f64; 8] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The live counters.
#[derive(Debug, Default)]
pub struct LinkStats {
    requests: AtomicU64,
    retries: AtomicU64,
    timeouts: AtomicU64,
    failures: AtomicU64,
    cycles: [AtomicU64; CYCLE_BUCKETS.len() + 1],
    cycle_micros: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkStatsSnapshot {
    /// Requests sent (every attempt).
    pub requests: u64,
    /// Attempts after a first one failed.
    pub retries: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Calls that failed after every retry.
    pub failures: u64,
    /// Completed poll cycles per bucket of [`CYCLE_BUCKETS`] (the last: above them).
    pub cycles: Vec<u64>,
    /// The cycles' total duration, seconds.
    pub cycle_seconds: f64,
}

impl LinkStats {
    /// One request sent; `retry` when it repeats a failed one.
    pub fn request(&self, retry: bool) {
        self.requests.fetch_add(1, Relaxed);
        if retry {
            self.retries.fetch_add(1, Relaxed);
        }
    }

    /// One attempt timed out.
    pub fn timeout(&self) {
        self.timeouts.fetch_add(1, Relaxed);
    }

    /// One call failed after its retries.
    pub fn failure(&self) {
        self.failures.fetch_add(1, Relaxed);
    }

    /// One poll cycle completed in `took`.
    pub fn cycle(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = CYCLE_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(CYCLE_BUCKETS.len());
        self.cycles[bucket].fetch_add(1, Relaxed);
        self.cycle_micros
            .fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> LinkStatsSnapshot {
        LinkStatsSnapshot {
            requests: self.requests.load(Relaxed),
            retries: self.retries.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            failures: self.failures.load(Relaxed),
            cycles: self.cycles.iter().map(|c| c.load(Relaxed)).collect(),
            cycle_seconds: self.cycle_micros.load(Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let s = LinkStats::default();
        s.request(false);
        s.request(true);
        s.timeout();
        s.failure();
        s.cycle(Duration::from_millis(20));
        s.cycle(Duration::from_secs(9));
        let snap = s.snapshot();
        assert_eq!(
            (snap.requests, snap.retries, snap.timeouts, snap.failures),
            (2, 1, 1, 1)
        );
        assert_eq!(snap.cycles[1], 1, "20 ms is in the 25 ms bucket");
        assert_eq!(
            snap.cycles[CYCLE_BUCKETS.len()],
            1,
            "9 s is above every bound"
        );
        assert!((snap.cycle_seconds - 9.02).abs() < 1e-6);
    }
}
