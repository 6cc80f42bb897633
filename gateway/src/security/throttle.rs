//! Per-address lockout after repeated failed logins.
//!
//! After `max_failures` failed logins within `window`, an address is locked out for
//! `lockout`; each further lockout of the same address doubles, up to `max_lockout`. A
//! successful login clears the record. The table is bounded: when full, the stalest records go.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Throttling settings.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleConfig {
    /// Failures tolerated within `window`.
    pub max_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// The first lockout.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// Most addresses tracked.
    pub capacity: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(30),
            max_lockout: Duration::from_secs(15 * 60),
            capacity: 10_000,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Record {
    failures: u32,
    first_failure: Instant,
    locked_until: Option<Instant>,
    lockouts: u32,
    last_seen: Instant,
}

/// The lockout table.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    records: Mutex<HashMap<IpAddr, Record>>,
}

impl Throttle {
    /// An empty table.
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            config,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` while `addr` is locked out.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let records = self.records.lock().expect("throttle poisoned");
        match records.get(&addr).and_then(|r| r.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login; returns the lockout if this failure started one.
    pub fn failure(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let c = self.config;
        let mut records = self.records.lock().expect("throttle poisoned");
        if records.len() >= c.capacity && !records.contains_key(&addr) {
            let stalest = records
                .iter()
                .min_by_key(|(_, r)| r.last_seen)
                .map(|(a, _)| *a);
            if let Some(a) = stalest {
                records.remove(&a);
            }
        }
        let r = records.entry(addr).or_insert(Record {
            failures: 0,
            first_failure: now,
            locked_until: None,
            lockouts: 0,
            last_seen: now,
        });
        r.last_seen = now;
        if now.duration_since(r.first_failure) > c.window {
            r.failures = 0;
            r.first_failure = now;
        }
        r.failures += 1;
        if r.failures < c.max_failures {
            return None;
        }
        let lock = c
            .lockout
            .saturating_mul(1 << r.lockouts.min(16))
            .min(c.max_lockout);
        r.lockouts += 1;
        r.failures = 0;
        r.first_failure = now;
        r.locked_until = Some(now + lock);
        Some(lock)
    }

    /// Clears `addr`'s record after a successful login.
    pub fn success(&self, addr: IpAddr) {
        self.records
            .lock()
            .expect("throttle poisoned")
            .remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_repeated_failures_and_doubles() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(t.failure(ip, t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(
            t.failure(ip, t0 + Duration::from_secs(4)),
            Some(Duration::from_secs(30))
        );
        assert!(t.check(ip, t0 + Duration::from_secs(5)).is_err());
        assert!(
            t.check(other, t0 + Duration::from_secs(5)).is_ok(),
            "other addresses unaffected"
        );
        assert!(
            t.check(ip, t0 + Duration::from_secs(35)).is_ok(),
            "lockout ends"
        );
        for i in 0..4 {
            t.failure(ip, t0 + Duration::from_secs(40 + i));
        }
        assert_eq!(
            t.failure(ip, t0 + Duration::from_secs(44)),
            Some(Duration::from_secs(60))
        );
        t.success(ip);
        assert!(t.check(ip, t0 + Duration::from_secs(45)).is_ok());
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip: IpAddr = "::1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(t.failure(ip, t0 + Duration::from_secs(i * 61)), None);
        }
    }

    #[test]
    fn table_is_bounded() {
        let t = Throttle::new(ThrottleConfig {
            capacity: 3,
            ..ThrottleConfig::default()
        });
        let t0 = Instant::now();
        for i in 0..10u8 {
            t.failure(IpAddr::from([10, 0, 0, i]), t0);
        }
        assert!(t.records.lock().unwrap().len() <= 3);
    }
}
