//! Lockout after repeated failed logins, keyed by (address, user name), with a per-address
//! ceiling.
//!
//! After `max_failures` failed logins of one user name from one address within `window`, that
//! pair is locked out for `lockout`: a neighbour behind the same NAT guessing one account's
//! password does not lock the other accounts out. Failures of every name from one address
//! also add up, against password spraying: after `max_address_failures` within the window the
//! whole address is locked. Each further lockout of the same key doubles, up to
//! `max_lockout`, and the doubling is forgotten after a quiet `2 × max_lockout`. A successful
//! login does not clear failures (else one valid account would let an attacker guess another's
//! password without limit); they age out of the window. IPv6 clients are tracked by /64, since
//! one host usually owns a whole /64. User names are kept as keyed hashes (a fixed size,
//! whatever a client sends).
//!
//! The table is bounded (`capacity` keys). When it is full, the least recently seen key with
//! nothing left to remember goes, else the least recently seen key: a new failure is always
//! counted (never fail open), and no key is ever refused for the table being full.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::time::{Duration, Instant};

// An address is tracked under its client key: IPv4 as is, IPv6 by its /64.
use crate::addr::client_key as key;

/// Throttling settings.
#[derive(Clone, Copy, Debug)]
pub struct ThrottleConfig {
    /// Failures of one (address, user name) tolerated within `window`.
    pub max_failures: u32,
    /// Failures of any user name from one address tolerated within `window`.
    pub max_address_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// The first lockout.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// Most keys (pairs and addresses) tracked.
    pub capacity: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 5,
            max_address_failures: 50,
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
    /// Position in the recency order.
    seq: u64,
}

/// What a record is kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Every user name from this address.
    Address(IpAddr),
    /// One user name (keyed hash) from this address.
    Pair(IpAddr, u64),
}

#[derive(Debug)]
struct Table {
    records: HashMap<Key, Record>,
    /// Recency order: sequence number to key, least recent first.
    recency: BTreeMap<u64, Key>,
    seq: u64,
}

/// The lockout table.
#[derive(Debug)]
pub struct Throttle {
    config: parking_lot::RwLock<ThrottleConfig>,
    names: RandomState,
    table: Mutex<Table>,
}

/// Whose lockout refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locked {
    /// The (address, user name) pair.
    User(Duration),
    /// The whole address (too many failures over all names).
    Address(Duration),
}

impl Locked {
    /// How long until the lock ends.
    pub fn retry_after(self) -> Duration {
        match self {
            Locked::User(d) | Locked::Address(d) => d,
        }
    }
}

impl Throttle {
    /// An empty table.
    pub fn new(config: ThrottleConfig) -> Self {
        Throttle {
            config: parking_lot::RwLock::new(config),
            names: RandomState::new(),
            table: Mutex::new(Table {
                records: HashMap::new(),
                recency: BTreeMap::new(),
                seq: 0,
            }),
        }
    }

    /// New settings (a reload). Lockouts running keep their end; failures counted so far
    /// count against the new limits; a smaller table sheds its least recent keys as it fills.
    pub fn set_config(&self, config: ThrottleConfig) {
        *self.config.write() = config;
    }

    fn pair(&self, addr: IpAddr, user: &str) -> Key {
        Key::Pair(key(addr), self.names.hash_one(user))
    }

    /// `Err` while `addr` is locked out, or the pair of `addr` and any of `users` is.
    pub fn check<'a>(
        &self,
        addr: IpAddr,
        users: impl IntoIterator<Item = &'a str>,
        now: Instant,
    ) -> Result<(), Locked> {
        let table = self.table.lock();
        let left = |k: &Key| {
            table
                .records
                .get(k)
                .and_then(|r| r.locked_until)
                .filter(|until| *until > now)
                .map(|until| until - now)
        };
        if let Some(d) = left(&Key::Address(key(addr))) {
            return Err(Locked::Address(d));
        }
        for user in users {
            if let Some(d) = left(&self.pair(addr, user)) {
                return Err(Locked::User(d));
            }
        }
        Ok(())
    }

    /// Records a failed login of `user` from `addr`; returns the lockout if this failure
    /// started one.
    pub fn failure(&self, addr: IpAddr, user: &str, now: Instant) -> Option<Locked> {
        let pair = self.pair(addr, user);
        let address = Key::Address(key(addr));
        let c = *self.config.read();
        let mut table = self.table.lock();
        let by_address = table
            .count(address, c.max_address_failures, &c, now)
            .map(Locked::Address);
        let by_pair = table.count(pair, c.max_failures, &c, now).map(Locked::User);
        by_address.or(by_pair)
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.table.lock().records.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Table {
    /// Counts one failure against `k`; the lockout if it started one.
    fn count(&mut self, k: Key, max: u32, c: &ThrottleConfig, now: Instant) -> Option<Duration> {
        if !self.records.contains_key(&k) && self.records.len() >= c.capacity.max(2) {
            self.evict(c, now);
        }
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let r = self.records.entry(k).or_insert(Record {
            failures: 0,
            first_failure: now,
            locked_until: None,
            lockouts: 0,
            last_seen: now,
            seq,
        });
        let old_seq = std::mem::replace(&mut r.seq, seq);
        if now.saturating_duration_since(r.last_seen) > c.max_lockout.saturating_mul(2) {
            r.lockouts = 0;
        }
        r.last_seen = now;
        if now.saturating_duration_since(r.first_failure) > c.window {
            r.failures = 0;
            r.first_failure = now;
        }
        r.failures = r.failures.saturating_add(1);
        let locked = if r.failures < max {
            None
        } else {
            let lock = c
                .lockout
                .saturating_mul(1 << r.lockouts.min(16))
                .min(c.max_lockout);
            r.lockouts = r.lockouts.saturating_add(1);
            r.failures = 0;
            r.first_failure = now;
            r.locked_until = Some(now + lock);
            Some(lock)
        };
        self.recency.remove(&old_seq);
        self.recency.insert(seq, k);
        locked
    }

    /// Makes room for one key: the least recently seen key with nothing left to remember
    /// (among the oldest few), else the least recently seen.
    fn evict(&mut self, c: &ThrottleConfig, now: Instant) {
        let idle = |r: &Record| {
            r.locked_until.is_none_or(|u| u <= now)
                && now.saturating_duration_since(r.first_failure) > c.window
                && now.saturating_duration_since(r.last_seen) > c.max_lockout.saturating_mul(2)
        };
        let victim = self
            .recency
            .iter()
            .take(64)
            .find(|(_, k)| self.records.get(k).is_some_and(idle))
            .or_else(|| self.recency.iter().next())
            .map(|(&seq, &k)| (seq, k));
        if let Some((seq, k)) = victim {
            self.recency.remove(&seq);
            self.records.remove(&k);
        }
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
            assert_eq!(t.failure(ip, "admin", secs(t0, i)), None);
        }
        assert_eq!(
            t.failure(ip, "admin", secs(t0, 4)),
            Some(Locked::User(Duration::from_secs(30)))
        );
        assert!(t.check(ip, ["admin"], secs(t0, 5)).is_err());
        assert!(
            t.check(ip, ["operator"], secs(t0, 5)).is_ok(),
            "another user at the same address is not locked"
        );
        assert!(
            t.check(other, ["admin"], secs(t0, 5)).is_ok(),
            "other addresses unaffected"
        );
        assert!(t.check(ip, ["admin"], secs(t0, 35)).is_ok(), "lockout ends");
        for i in 0..4 {
            t.failure(ip, "admin", secs(t0, 40 + i));
        }
        assert_eq!(
            t.failure(ip, "admin", secs(t0, 44)),
            Some(Locked::User(Duration::from_secs(60)))
        );
        assert!(t.check(ip, ["admin"], secs(t0, 45)).is_err());
        // After a long quiet spell the doubling starts over.
        let later = 44 + 60 + 1801;
        for i in 0..4 {
            t.failure(ip, "admin", secs(t0, later + i));
        }
        assert_eq!(
            t.failure(ip, "admin", secs(t0, later + 4)),
            Some(Locked::User(Duration::from_secs(30)))
        );
    }

    #[test]
    fn spraying_names_from_one_address_locks_the_address() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..49 {
            assert_eq!(t.failure(ip, &format!("name{i}"), t0), None, "{i}");
        }
        assert!(t.check(ip, ["admin"], t0).is_ok());
        assert_eq!(
            t.failure(ip, "name49", t0),
            Some(Locked::Address(Duration::from_secs(30)))
        );
        assert_eq!(
            t.check(ip, ["admin"], t0),
            Err(Locked::Address(Duration::from_secs(30)))
        );
        assert!(t.check("192.0.2.2".parse().unwrap(), ["admin"], t0).is_ok());
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let t = Throttle::new(ThrottleConfig::default());
        let ip: IpAddr = "::1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            assert_eq!(t.failure(ip, "admin", secs(t0, i * 61)), None);
        }
    }

    #[test]
    fn ipv6_is_tracked_by_prefix() {
        let t = Throttle::new(ThrottleConfig::default());
        let t0 = Instant::now();
        for i in 0..5u16 {
            t.failure(
                IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, i + 1)),
                "admin",
                t0,
            );
        }
        let same_net = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        let other_net = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(
            t.check(same_net, ["admin"], t0).is_err(),
            "rotating addresses inside a /64 does not help"
        );
        assert!(t.check(other_net, ["admin"], t0).is_ok());
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(key(mapped), "192.0.2.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_full_table_evicts_the_least_recent_and_never_fails_open() {
        let c = ThrottleConfig {
            capacity: 8,
            max_failures: 1,
            ..ThrottleConfig::default()
        };
        let t = Throttle::new(c);
        let t0 = Instant::now();
        let guesser = IpAddr::from([10, 0, 0, 1]);
        assert!(t.failure(guesser, "admin", t0).is_some());
        // Many other addresses fail once each: the table stays bounded ...
        for i in 2..200u8 {
            t.failure(IpAddr::from([10, 0, 1, i]), "x", secs(t0, 1));
            assert!(t.len() <= 8);
        }
        // ... every new failure is still counted (max_failures 1: each locks its pair) ...
        assert!(
            t.check(IpAddr::from([10, 0, 1, 199]), ["x"], secs(t0, 2))
                .is_err()
        );
        // ... and nobody else is refused for it.
        assert!(
            t.check(IpAddr::from([10, 0, 2, 1]), ["x"], secs(t0, 2))
                .is_ok()
        );
        // The guesser, active again, is the most recent and stays tracked.
        assert!(t.failure(guesser, "admin", secs(t0, 3)).is_some());
        for i in 2..5u8 {
            t.failure(IpAddr::from([10, 0, 3, i]), "x", secs(t0, 3));
        }
        assert!(t.check(guesser, ["admin"], secs(t0, 4)).is_err());
    }

    #[test]
    fn bytes_per_lockout_entry() {
        let n = 100_000usize;
        let t = Throttle::new(ThrottleConfig {
            capacity: 2 * n,
            ..ThrottleConfig::default()
        });
        let t0 = Instant::now();
        let before = crate::security::wsse::rss_for_tests();
        for i in 0..n as u32 {
            t.failure(IpAddr::from(i.to_be_bytes()), "admin", t0);
        }
        let after = crate::security::wsse::rss_for_tests();
        assert_eq!(t.len(), 2 * n, "an address and a pair each");
        if let (Some(b), Some(a)) = (before, after) {
            println!(
                "lockout table: {} bytes per key (RSS growth over {} keys)",
                a.saturating_sub(b) / (2 * n) as u64,
                2 * n
            );
        }
    }
}
