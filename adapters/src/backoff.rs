//! Reconnect delays: exponential from `initial`, doubling up to `max`, each with ±20 % jitter
//! so that several gateways restarted together do not hammer a panel in lockstep.

use std::time::Duration;

use crate::modbus::Backoff;

/// The shortest delay used, whatever the configuration says (a zero delay would spin).
const FLOOR: Duration = Duration::from_millis(10);

/// The delays before successive reconnect attempts.
#[derive(Clone, Debug)]
pub(crate) struct ReconnectDelays {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl ReconnectDelays {
    pub(crate) fn new(policy: &Backoff) -> ReconnectDelays {
        let initial = policy.initial.max(FLOOR);
        let max = policy.max.max(initial);
        ReconnectDelays {
            initial,
            max,
            next: initial,
        }
    }

    /// The next delay (with jitter); the one after it doubles, up to `max`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = base.saturating_mul(2).min(self.max);
        base.mul_f64(0.8 + 0.4 * fastrand::f64())
    }

    /// Back to `initial`, after the link worked again.
    pub(crate) fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within_jitter(delay: Duration, base: Duration) -> bool {
        delay >= base.mul_f64(0.8) && delay <= base.mul_f64(1.2)
    }

    #[test]
    fn delays_double_up_to_the_maximum_with_jitter() {
        let mut d = ReconnectDelays::new(&Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(500),
        });
        let bases = [100, 200, 400, 500, 500, 500];
        for base in bases {
            let delay = d.next_delay();
            assert!(
                within_jitter(delay, Duration::from_millis(base)),
                "{delay:?} vs {base} ms"
            );
        }
        d.reset();
        assert!(within_jitter(d.next_delay(), Duration::from_millis(100)));
    }

    #[test]
    fn jitter_varies_the_delays() {
        let policy = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(1),
        };
        let mut d = ReconnectDelays::new(&policy);
        let delays: std::collections::HashSet<_> = (0..20).map(|_| d.next_delay()).collect();
        assert!(delays.len() > 1, "20 delays, all equal: no jitter");
    }

    #[test]
    fn a_zero_or_inverted_policy_still_waits() {
        let mut d = ReconnectDelays::new(&Backoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
        });
        assert!(d.next_delay() >= FLOOR.mul_f64(0.8));
        let mut d = ReconnectDelays::new(&Backoff {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(1),
        });
        assert!(within_jitter(d.next_delay(), Duration::from_secs(2)));
        assert!(within_jitter(d.next_delay(), Duration::from_secs(2)));
    }
}
