//! A token bucket, the one rate limiter of the crate (WS-Discovery's per-source and overall
//! limits, the authentication rate per user). A leaf: it imports nothing of the crate, and
//! takes the time as an argument, so its users test their rules on simulated time.

use std::time::{Duration, Instant};

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(burst: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(burst),
            last: now,
        }
    }

    fn refill(&mut self, rate: f64, burst: u32, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(burst));
        self.last = self.last.max(now);
    }

    /// Whether a token is available now (refills first, takes nothing).
    pub fn ready(&mut self, rate: f64, burst: u32, now: Instant) -> bool {
        self.refill(rate, burst, now);
        self.tokens >= 1.0
    }

    /// Takes one token; call after [`Bucket::ready`] said yes.
    pub fn take(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Whether the bucket is full again (then forgetting it changes nothing).
    pub fn is_full(&mut self, rate: f64, burst: u32, now: Instant) -> bool {
        self.refill(rate, burst, now);
        self.tokens >= f64::from(burst)
    }

    /// When it was last refilled.
    pub fn last(&self) -> Instant {
        self.last
    }

    /// Tokens saved up at the last refill.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// How long until a token is available at `rate` (zero when one is).
    pub fn wait(&self, rate: f64) -> Duration {
        if self.tokens >= 1.0 || rate <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(((1.0 - self.tokens) / rate).clamp(0.0, 3600.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate_up_to_its_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::full(2, t0);
        for _ in 0..2 {
            assert!(b.ready(1.0, 2, t0));
            b.take();
        }
        assert!(!b.ready(1.0, 2, t0));
        assert!(!b.ready(1.0, 2, t0 + Duration::from_millis(999)));
        assert!(b.ready(1.0, 2, t0 + Duration::from_secs(1)));
        assert!(b.is_full(1.0, 2, t0 + Duration::from_secs(60)));
        // Time going backwards takes nothing away.
        assert!(b.ready(1.0, 2, t0));
    }

    #[test]
    fn wait_is_the_time_to_the_next_token() {
        let t0 = Instant::now();
        let mut b = Bucket::full(1, t0);
        assert_eq!(b.wait(4.0), Duration::ZERO);
        b.take();
        assert_eq!(b.wait(4.0), Duration::from_millis(250));
        assert!(b.tokens() < 1.0);
    }
}
