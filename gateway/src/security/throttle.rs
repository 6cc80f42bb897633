//! Per-address lockout after repeated failed logins.
//!
//! After `max_failures` failed logins within `window`, an address is locked out for
//! `lockout`; each further lockout of the same address doubles, up to `max_lockout`, and the
//! doubling is forgotten after a quiet `2 × max_lockout`. A successful login does not clear
//! failures (else one valid account would let an attacker guess another's password without
//! limit); they age out of the window. IPv6 clients are tracked by /64, since one host
//! usually owns a whole /64. The table is bounded: when full, records with nothing to
//! remember go first; if every record still matters, a new address is not tracked.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
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

/// The key an address is tracked under: IPv4 as is, IPv6 by its /64 prefix.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
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
        let records = self.records.lock();
        match records.get(&key(addr)).and_then(|r| r.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed login; returns the lockout if this failure started one.
    pub fn failure(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let c = self.config;
        let addr = key(addr);
        let mut records = self.records.lock();
        if records.len() >= c.capacity && !records.contains_key(&addr) {
            // Forget records with nothing left to remember: not locked, failures out of the
            // window, lockout doubling forgotten.
            records.retain(|_, r| {
                r.locked_until.is_some_and(|u| u > now)
                    || now.duration_since(r.first_failure) <= c.window
                    || now.duration_since(r.last_seen) <= c.max_lockout * 2
            });
            if records.len() >= c.capacity {
                tracing::warn!(%addr, capacity = c.capacity, "lockout table full: this address is not tracked");
                return None;
            }
        }
        let r = records.entry(addr).or_insert(Record {
            failures: 0,
            first_failure: now,
            locked_until: None,
            lockouts: 0,
            last_seen: now,
        });
        if now.duration_since(r.last_seen) > c.max_lockout * 2 {
            r.lockouts = 0;
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn locks_out_after_repeated_failures_and_doubles() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(t.failure(ip, secs(t0, i)), None);
        }
        assert_eq!(t.failure(ip, secs(t0, 4)), Some(Duration::from_secs(30)));
        assert!(t.check(ip, secs(t0, 5)).is_err());
        assert!(
            t.check(other, secs(t0, 5)).is_ok(),
            "other addresses unaffected"
        );
        assert!(t.check(ip, secs(t0, 35)).is_ok(), "lockout ends");
        for i in 0..4 {
            t.failure(ip, secs(t0, 40 + i));
        }
        assert_eq!(t.failure(ip, secs(t0, 44)), Some(Duration::from_secs(60)));
        assert!(t.check(ip, secs(t0, 45)).is_err());
        // After a long quiet spell the doubling starts over.
        let later = 44 + 60 + 1801;
        for i in 0..4 {
            t.failure(ip, secs(t0, later + i));
        }
        assert_eq!(
            t.failure(ip, secs(t0, later + 4)),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip: IpAddr = "::1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(t.failure(ip, secs(t0, i * 61)), None);
        }
    }

    #[test]
    fn ipv6_is_tracked_by_prefix() {
        let t = Throttle::new(ThrottleConfig::default());
        let t0 = Instant::now();
        for i in 0..5u16 {
            t.failure(
                IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i + 1)),
                t0,
            );
        }
        let same_net = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        let other_net = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(
            t.check(same_net, t0).is_err(),
            "rotating addresses inside a /64 does not help"
        );
        assert!(t.check(other_net, t0).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(key(mapped), "192.0.2.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn table_is_bounded_and_keeps_locked_addresses() {
        let c = ThrottleConfig {
            capacity: 3,
            max_failures: 1,
            ..ThrottleConfig::default()
        };
        let t = Throttle::new(c);
        let t0 = Instant::now();
        let locked = IpAddr::from([10, 0, 0, 1]);
        assert!(t.failure(locked, t0).is_some());
        for i in 2..10u8 {
            t.failure(IpAddr::from([10, 0, 0, i]), t0);
        }
        assert!(t.records.lock().len() <= 3);
        assert!(
            t.check(locked, secs(t0, 1)).is_err(),
            "a full table never frees a locked address"
        );
        // Once everything is old, new addresses are tracked again.
        assert!(
            t.failure(IpAddr::from([10, 0, 1, 1]), secs(t0, 3600))
                .is_some()
        );
    }
}
