//! Authentication rate per user: a token bucket per user name.
//!
//! Charged only for requests whose credentials verified (so nobody without the password can
//! drain an account's bucket), before the request's nonce is remembered (so a user over its
//! rate takes no replay-cache or nonce-count space). Over the rate the gate answers HTTP 429
//! with `Retry-After`. A rate of 0 switches the limit off.
//!
//! The table holds one bucket per user name that authenticated; it is bounded by the user
//! directory in practice; past [`MAX_BUCKETS`] the buckets that are full again (idle users)
//! are dropped, and if none is, the fullest.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::bucket::Bucket;

/// Buckets kept before full (idle) ones are dropped.
pub const MAX_BUCKETS: usize = 1024;

/// Rate settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UserRateConfig {
    /// Authentications per second one user may sustain; 0: no limit.
    pub per_second: u32,
    /// Authentications one user may make at once (the bucket's size).
    pub burst: u32,
}

impl Default for UserRateConfig {
    fn default() -> Self {
        UserRateConfig {
            per_second: 500,
            burst: 1000,
        }
    }
}

/// The buckets.
#[derive(Debug)]
pub struct UserRate {
    config: parking_lot::RwLock<UserRateConfig>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl UserRate {
    /// Every bucket full.
    pub fn new(config: UserRateConfig) -> Self {
        UserRate {
            config: parking_lot::RwLock::new(config),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// New settings (a reload): every bucket refills at the new rate, up to the new size.
    pub fn set_config(&self, config: UserRateConfig) {
        *self.config.write() = config;
    }

    /// Takes one authentication from `user`'s bucket; `Err(retry_after)` when it is empty.
    pub fn take(&self, user: &str, now: Instant) -> Result<(), Duration> {
        let config = *self.config.read();
        if config.per_second == 0 {
            return Ok(());
        }
        let rate = f64::from(config.per_second);
        let burst = config.burst.max(1);
        let mut buckets = self.buckets.lock();
        if !buckets.contains_key(user) {
            if buckets.len() >= MAX_BUCKETS {
                buckets.retain(|_, b| !b.is_full(rate, burst, now));
                // Still full of busy users (more names than any directory holds): the
                // fullest bucket goes, the one whose user loses least by a fresh start.
                if buckets.len() >= MAX_BUCKETS
                    && let Some(fullest) = buckets
                        .iter()
                        .max_by(|a, b| a.1.tokens().total_cmp(&b.1.tokens()))
                        .map(|(k, _)| k.clone())
                {
                    buckets.remove(&fullest);
                }
            }
            // The name is copied only for a user new to the table, not on every request.
            buckets.insert(user.to_string(), Bucket::full(burst, now));
        }
        let b = buckets.get_mut(user).expect("inserted above");
        if b.ready(rate, burst, now) {
            b.take();
            Ok(())
        } else {
            Err(b.wait(rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate_and_users_are_apart() {
        let r = UserRate::new(UserRateConfig {
            per_second: 10,
            burst: 20,
        });
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(r.take("flood", t0).is_ok(), "{i}");
        }
        let wait = r.take("flood", t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100) && wait > Duration::ZERO);
        assert!(r.take("admin", t0).is_ok(), "another user's bucket is full");
        // A tenth of a second later one more.
        let t1 = t0 + Duration::from_millis(100);
        assert!(r.take("flood", t1).is_ok());
        assert!(r.take("flood", t1).is_err());
        // Sustained: 10 per second over 10 s, all accepted.
        for tick in 1..=100u64 {
            let t = t1 + Duration::from_millis(tick * 100);
            assert!(r.take("flood", t).is_ok(), "tick {tick}");
        }
    }

    #[test]
    fn defaults_serve_a_fleet_on_one_account() {
        // 20 clients × 10 req/s plus 256 long polls returning every second, for a minute.
        let r = UserRate::new(UserRateConfig::default());
        let t0 = Instant::now();
        for ms in (0..60_000u64).step_by(100) {
            let t = t0 + Duration::from_millis(ms);
            let polls = if ms % 1000 == 0 { 256 } else { 0 };
            for i in 0..(20 + polls) {
                assert!(r.take("vms", t).is_ok(), "at {ms} ms, request {i}");
            }
        }
    }

    #[test]
    fn zero_is_off_and_the_table_is_bounded() {
        let off = UserRate::new(UserRateConfig {
            per_second: 0,
            burst: 1,
        });
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(off.take("bench", t0).is_ok());
        }
        let r = UserRate::new(UserRateConfig::default());
        for i in 0..(MAX_BUCKETS * 3) {
            assert!(
                r.take(&format!("u{i}"), t0 + Duration::from_secs(10))
                    .is_ok()
            );
            assert!(r.buckets.lock().len() <= MAX_BUCKETS + 1);
        }
    }
}
