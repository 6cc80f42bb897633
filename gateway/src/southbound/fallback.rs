//! [`Fallbacks`]: when each monostable relay must return to inactive. Plain bookkeeping, no
//! I/O and no clock of its own (instants are arguments), owned by the southbound core.
//!
//! Every state request or settings change of a relay starts a new *generation*; a fall-back
//! armed for an older generation is void. The guarantees this serves: a monostable relay set
//! active falls back after its delay, one found active at its first reading too, and at
//! shutdown every armed one falls back before the adapters stop.
//!
//! Kept apart so it can move: when the link owner takes over fall-backs (retrying them on
//! every reconnect before anything else is written), this struct goes with it unchanged.

use std::collections::HashMap;

use tokio::time::Instant;

/// Armed monostable fall-backs, by relay token.
#[derive(Debug, Default)]
pub(super) struct Fallbacks {
    /// The generation of each relay's latest request.
    generations: HashMap<String, u64>,
    /// Fall-backs still to do: token → (generation, when).
    armed: HashMap<String, (u64, Instant)>,
}

impl Fallbacks {
    /// A new request (or setting) for `token`: voids its armed fall-back; returns the new
    /// generation.
    pub(super) fn supersede(&mut self, token: &str) -> u64 {
        self.armed.remove(token);
        let generation = self.generations.entry(token.to_string()).or_default();
        *generation += 1;
        *generation
    }

    /// Arms `token` to fall back at `at`, if `generation` is still its latest (a newer
    /// request may have come while the write was on its way). Whether it was armed.
    pub(super) fn arm(&mut self, token: &str, generation: u64, at: Instant) -> bool {
        if self.generations.get(token) != Some(&generation) {
            return false;
        }
        self.armed.insert(token.to_string(), (generation, at));
        true
    }

    /// The earliest armed fall-back.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.armed.values().map(|&(_, at)| at).min()
    }

    /// The relays due at `now`, disarmed (each returned once).
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<String> {
        let mut due: Vec<String> = self
            .armed
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(token, _)| token.clone())
            .collect();
        due.sort();
        for token in &due {
            self.armed.remove(token);
        }
        due
    }

    /// Every armed relay, disarmed: what stopping carries out at once.
    pub(super) fn take_all(&mut self) -> Vec<String> {
        let mut all: Vec<String> = self.armed.drain().map(|(token, _)| token).collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_fall_back_is_due_at_its_deadline_once() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.supersede("R1");
        assert!(f.arm("R1", g, t0 + Duration::from_secs(1)));
        assert_eq!(f.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert!(f.take_due(t0 + Duration::from_millis(999)).is_empty());
        assert_eq!(
            f.take_due(t0 + Duration::from_secs(1)),
            vec!["R1".to_string()]
        );
        assert!(f.take_due(t0 + Duration::from_secs(2)).is_empty());
        assert_eq!(f.next_deadline(), None);
    }

    #[test]
    fn a_newer_request_voids_the_older_fall_back() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let first = f.supersede("R1");
        assert!(f.arm("R1", first, t0 + Duration::from_secs(1)));
        let second = f.supersede("R1");
        assert_eq!(f.next_deadline(), None);
        // The first write's acknowledgement arriving late arms nothing.
        assert!(!f.arm("R1", first, t0 + Duration::from_secs(1)));
        assert!(f.arm("R1", second, t0 + Duration::from_secs(3)));
        assert!(f.take_due(t0 + Duration::from_secs(2)).is_empty());
        assert_eq!(
            f.take_due(t0 + Duration::from_secs(3)),
            vec!["R1".to_string()]
        );
    }

    #[test]
    fn stopping_takes_every_armed_fall_back() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        for token in ["B", "A"] {
            let g = f.supersede(token);
            f.arm(token, g, t0 + Duration::from_secs(60));
        }
        let g = f.supersede("C");
        f.arm("C", g, t0 + Duration::from_secs(60));
        f.supersede("C");
        assert_eq!(f.take_all(), vec!["A".to_string(), "B".to_string()]);
        assert!(f.take_all().is_empty());
    }
}
