//! [`Fallbacks`]: when each monostable relay must return to inactive, and which returns are
//! still owed. Plain bookkeeping, no I/O and no clock of its own (instants are arguments),
//! owned by the southbound core.
//!
//! A monostable relay's fall-back goes through two stages:
//!
//! - **armed**: a pulse is running; it falls back at its deadline. Every state request of a
//!   relay starts a new *generation* ([`Fallbacks::request`]); once acknowledged, an `active`
//!   one arms its own deadline in place of an older one's ([`Fallbacks::arm`]), an inactive
//!   one disarms it ([`Fallbacks::released`]). A request that fails changes nothing: the
//!   relay is as it was, and so is its fall-back. A settings change voids the armed deadline
//!   at once ([`Fallbacks::supersede`]). An acknowledgement older than one already counted
//!   is void (writes to one relay are answered in order; this guards the rest).
//! - **owed**: the deadline passed (or the gateway is stopping) and the controller has not yet
//!   confirmed the relay inactive. An owed fall-back is a duty kept until confirmed: a failed
//!   write leaves it owed, retried with backoff while the link is up
//!   ([`Fallbacks::failed`], [`retry_delay`]) and on every reconnect before anything else is
//!   written to that controller ([`Fallbacks::reconnected`]).
//!
//! The supersede rule: only an acknowledged client write that leaves the relay inactive ends
//! an owed duty ([`Fallbacks::released`]). A newer request or a settings change may void an
//! *armed* deadline, never an owed one; an acknowledged client `active` on a monostable relay
//! arms a new pulse beside the owed release, which is still carried out (the relay may drive
//! a door strike: when in doubt it is released).
//!
//! A fall-back that had to wait (its first write failed) is reported [`Late`] once confirmed.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// The first retry of a failed fall-back while its link is up; doubled per attempt.
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// The longest wait between retries while the link is up.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// When to retry after `attempts` failed writes (1 → 0.5 s, 2 → 1 s, … at most 5 s).
pub(super) fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    RETRY_FIRST.saturating_mul(1 << doublings).min(RETRY_MAX)
}

/// A fall-back still to be confirmed.
#[derive(Debug, Clone)]
struct Owed {
    /// When it was due.
    due: Instant,
    /// Writes tried so far.
    attempts: u32,
    /// A write of it is on its way.
    in_flight: bool,
    /// The next retry; `None` while its link is down (then the reconnect retries it).
    retry_at: Option<Instant>,
    /// Why the last write failed.
    reason: String,
}

/// A fall-back confirmed only after at least one failed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Late {
    /// The relay.
    pub(super) token: String,
    /// From when it was due to its confirmation.
    pub(super) late: Duration,
    /// Writes it took, the successful one included.
    pub(super) attempts: u32,
    /// Why the last failed write failed.
    pub(super) reason: String,
}

/// Armed and owed monostable fall-backs, by relay token.
#[derive(Debug, Default)]
pub(super) struct Fallbacks {
    /// The generation of each relay's latest request.
    generations: HashMap<String, u64>,
    /// The latest generation whose outcome counted (acknowledged, or a settings change):
    /// acknowledgements of older ones are void.
    settled: HashMap<String, u64>,
    /// Pulses running: token → (generation, when it falls back).
    armed: HashMap<String, (u64, Instant)>,
    /// Fall-backs due and not yet confirmed.
    owed: HashMap<String, Owed>,
}

impl Fallbacks {
    /// A new state request for `token`: its generation. Nothing changes until it is
    /// acknowledged.
    pub(super) fn request(&mut self, token: &str) -> u64 {
        let generation = self.generations.entry(token.to_string()).or_default();
        *generation += 1;
        *generation
    }

    /// A new setting for `token` (or a pulse found running): voids its armed fall-back (not
    /// an owed one) and the acknowledgements still to come; returns the new generation.
    pub(super) fn supersede(&mut self, token: &str) -> u64 {
        self.armed.remove(token);
        let generation = self.request(token);
        self.settled.insert(token.to_string(), generation);
        generation
    }

    /// Whether an acknowledgement of `generation` still counts; if so it is the latest.
    fn settle(&mut self, token: &str, generation: u64) -> bool {
        let settled = self.settled.entry(token.to_string()).or_default();
        if generation < *settled {
            return false;
        }
        *settled = generation;
        true
    }

    /// The `active` request `generation` of `token` was acknowledged: it falls back at `at`,
    /// in place of an older pulse's deadline. Whether it was armed (not when a newer
    /// acknowledgement or setting came first).
    pub(super) fn arm(&mut self, token: &str, generation: u64, at: Instant) -> bool {
        if !self.settle(token, generation) {
            return false;
        }
        self.armed.insert(token.to_string(), (generation, at));
        true
    }

    /// The earliest armed deadline or retry of an owed fall-back.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let armed = self.armed.values().map(|&(_, at)| at);
        let retries = self
            .owed
            .values()
            .filter(|o| !o.in_flight)
            .filter_map(|o| o.retry_at);
        armed.chain(retries).min()
    }

    /// The relays to write inactive at `now`: armed ones whose deadline passed (now owed)
    /// and owed ones whose retry is due. Each is marked in flight until [`Fallbacks::failed`]
    /// or [`Fallbacks::confirmed`].
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<(String, Instant)> = self
            .armed
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(token, &(_, at))| (token.clone(), at))
            .collect();
        for (token, at) in expired {
            self.armed.remove(&token);
            self.owe(token, at);
        }
        self.attempt(|_, o| o.retry_at.is_some_and(|at| at <= now))
    }

    /// Every armed and owed relay not in flight, at once: what stopping carries out.
    pub(super) fn take_all(&mut self, now: Instant) -> Vec<String> {
        self.take_all_of(now, |_| true)
    }

    /// [`Fallbacks::take_all`] for the relays `which` names (a reload: relays that leave the
    /// mapping or change fall back first, under their old definition).
    pub(super) fn take_all_of(
        &mut self,
        now: Instant,
        which: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        self.owe_armed(now, &which);
        self.attempt(|token, _| which(token))
    }

    /// The armed fall-backs of the relays `which` names, owed and handed out now (the owed
    /// ones not in flight are left to their retry or the reconnect).
    pub(super) fn take_armed_of(
        &mut self,
        now: Instant,
        which: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let armed = self.owe_armed(now, &which);
        self.attempt(|token, _| armed.iter().any(|a| a == token))
    }

    /// The armed pulses of the relays `which` names end: owed from `now`. Returns them.
    fn owe_armed(&mut self, now: Instant, which: &impl Fn(&str) -> bool) -> Vec<String> {
        let armed: Vec<String> = self
            .armed
            .keys()
            .filter(|token| which(token))
            .cloned()
            .collect();
        for token in &armed {
            self.armed.remove(token);
            self.owe(token.clone(), now);
        }
        armed
    }

    /// Whether `token`'s fall-back is armed or owed.
    pub(super) fn pending(&self, token: &str) -> bool {
        self.armed.contains_key(token) || self.owed.contains_key(token)
    }

    /// `controller`'s link came back: its owed fall-backs (`on_link` says which relays are
    /// on it), to write before anything else.
    pub(super) fn reconnected(&mut self, on_link: impl Fn(&str) -> bool) -> Vec<String> {
        self.attempt(|token, _| on_link(token))
    }

    /// A fall-back write of `token` failed: it stays owed. Retried after [`retry_delay`]
    /// when `link_up`, else on reconnect. The attempts so far (0: it was not owed).
    pub(super) fn failed(&mut self, token: &str, now: Instant, link_up: bool, reason: &str) -> u32 {
        let Some(o) = self.owed.get_mut(token) else {
            return 0;
        };
        o.in_flight = false;
        o.retry_at = link_up.then(|| now + retry_delay(o.attempts));
        o.reason = reason.to_string();
        o.attempts
    }

    /// The controller confirmed `token` inactive: the duty is done. [`Late`] when it had to
    /// wait.
    pub(super) fn confirmed(&mut self, token: &str, now: Instant) -> Option<Late> {
        let o = self.owed.remove(token)?;
        (o.attempts > 1).then(|| Late {
            token: token.to_string(),
            late: now.saturating_duration_since(o.due),
            attempts: o.attempts,
            reason: o.reason,
        })
    }

    /// A client's write leaving `token` inactive (request `generation`) was acknowledged: the
    /// armed pulse (unless a newer one was acknowledged) and the owed fall-back are done.
    /// Whether one was owed.
    pub(super) fn released(&mut self, token: &str, generation: u64) -> bool {
        if self.settle(token, generation) {
            self.armed.remove(token);
        }
        self.owed.remove(token).is_some()
    }

    /// `token` is no relay any more (nothing to write): forgets it.
    pub(super) fn forget(&mut self, token: &str) {
        self.armed.remove(token);
        self.owed.remove(token);
    }

    /// Whether any fall-back is still owed.
    pub(super) fn any_owed(&self) -> bool {
        !self.owed.is_empty()
    }

    /// The owed relays, sorted (for the log when stopping gives up).
    pub(super) fn owed(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self.owed.keys().cloned().collect();
        tokens.sort();
        tokens
    }

    fn owe(&mut self, token: String, due: Instant) {
        self.owed.entry(token).or_insert(Owed {
            due,
            attempts: 0,
            in_flight: false,
            retry_at: Some(due),
            reason: String::new(),
        });
    }

    /// Marks the owed relays `pick` chooses (and not in flight) as attempted; sorted.
    fn attempt(&mut self, pick: impl Fn(&str, &Owed) -> bool) -> Vec<String> {
        let mut tokens: Vec<String> = self
            .owed
            .iter()
            .filter(|(token, o)| !o.in_flight && pick(token, o))
            .map(|(token, _)| token.clone())
            .collect();
        tokens.sort();
        for token in &tokens {
            if let Some(o) = self.owed.get_mut(token) {
                o.in_flight = true;
                o.attempts += 1;
                o.retry_at = None;
            }
        }
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_fall_back_is_due_at_its_deadline_once() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.request("R1");
        assert!(f.arm("R1", g, t0 + secs(1)));
        assert_eq!(f.next_deadline(), Some(t0 + secs(1)));
        assert!(f.take_due(t0 + Duration::from_millis(999)).is_empty());
        assert_eq!(f.take_due(t0 + secs(1)), strings(&["R1"]));
        // In flight: not due again, nothing to wait for.
        assert!(f.take_due(t0 + secs(2)).is_empty());
        assert_eq!(f.next_deadline(), None);
        // Confirmed at the first attempt: not late, nothing owed.
        assert_eq!(f.confirmed("R1", t0 + secs(1)), None);
        assert!(!f.any_owed());
    }

    #[test]
    fn a_newer_acknowledged_request_replaces_the_older_fall_back() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let first = f.request("R1");
        assert!(f.arm("R1", first, t0 + secs(1)));
        let second = f.request("R1");
        // Not acknowledged yet: the first pulse still falls back at its time.
        assert_eq!(f.next_deadline(), Some(t0 + secs(1)));
        assert!(f.arm("R1", second, t0 + secs(3)));
        assert_eq!(f.next_deadline(), Some(t0 + secs(3)));
        // An older acknowledgement arriving after a newer one arms nothing.
        assert!(!f.arm("R1", first, t0 + secs(1)));
        assert!(f.take_due(t0 + secs(2)).is_empty());
        assert_eq!(f.take_due(t0 + secs(3)), strings(&["R1"]));
    }

    #[test]
    fn a_request_that_fails_leaves_the_armed_fall_back() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let first = f.request("R1");
        assert!(f.arm("R1", first, t0 + secs(2)));
        // Refused (the link is down): never acknowledged, nothing changes.
        let _refused = f.request("R1");
        assert_eq!(f.take_due(t0 + secs(2)), strings(&["R1"]));
    }

    #[test]
    fn a_setting_voids_the_armed_fall_back_and_older_acknowledgements() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.request("R1");
        assert!(f.arm("R1", g, t0 + secs(1)));
        let in_flight = f.request("R1");
        f.supersede("R1");
        assert_eq!(f.next_deadline(), None);
        assert!(!f.arm("R1", in_flight, t0 + secs(3)));
        // A pulse found running arms at once.
        let found = f.supersede("R1");
        assert!(f.arm("R1", found, t0 + secs(4)));
        // An acknowledged inactive disarms it.
        let off = f.request("R1");
        assert!(!f.released("R1", off), "nothing was owed");
        assert_eq!(f.next_deadline(), None);
    }

    #[test]
    fn stopping_takes_every_armed_and_owed_fall_back() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        for token in ["B", "A"] {
            let g = f.request(token);
            f.arm(token, g, t0 + secs(60));
        }
        let g = f.request("C");
        f.arm("C", g, t0 + secs(60));
        f.supersede("C");
        // D is owed (its write failed while the link was down).
        let g = f.request("D");
        f.arm("D", g, t0 + secs(1));
        assert_eq!(f.take_due(t0 + secs(1)), strings(&["D"]));
        f.failed("D", t0 + secs(1), false, "link down");
        assert_eq!(f.take_all(t0 + secs(2)), strings(&["A", "B", "D"]));
        assert!(f.take_all(t0 + secs(2)).is_empty());
    }

    #[test]
    fn a_failed_fall_back_stays_owed_until_confirmed() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.request("R1");
        f.arm("R1", g, t0 + secs(2));
        assert_eq!(f.take_due(t0 + secs(2)), strings(&["R1"]));
        // The link is down: no timer, the reconnect retries it.
        assert_eq!(f.failed("R1", t0 + secs(2), false, "the link is down"), 1);
        assert!(f.any_owed());
        assert_eq!(f.next_deadline(), None);
        assert!(f.take_due(t0 + secs(60)).is_empty());
        // Reconnected; retried first, and only the relays on that link.
        assert!(f.reconnected(|_| false).is_empty());
        assert_eq!(f.reconnected(|t| t == "R1"), strings(&["R1"]));
        assert!(f.reconnected(|t| t == "R1").is_empty(), "in flight already");
        // The retry is confirmed 7 s after it was due: late, two attempts.
        assert_eq!(
            f.confirmed("R1", t0 + secs(9)),
            Some(Late {
                token: "R1".into(),
                late: secs(7),
                attempts: 2,
                reason: "the link is down".into(),
            })
        );
        assert!(!f.any_owed());
        assert_eq!(f.confirmed("R1", t0 + secs(10)), None);
    }

    #[test]
    fn failures_on_a_live_link_are_retried_with_backoff() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.request("R1");
        f.arm("R1", g, t0);
        let mut now = t0;
        let mut waits = vec![];
        for _ in 0..6 {
            assert_eq!(f.take_due(now), strings(&["R1"]));
            f.failed("R1", now, true, "timeout");
            let next = f.next_deadline().expect("a retry is scheduled");
            waits.push(next - now);
            assert!(f.take_due(next - Duration::from_millis(1)).is_empty());
            now = next;
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![500, 1000, 2000, 4000, 5000, 5000]);
        // A reconnect does not wait for the timer.
        assert_eq!(f.reconnected(|_| true), strings(&["R1"]));
        assert_eq!(f.next_deadline(), None, "in flight: no timer");
        let late = f.confirmed("R1", now).expect("late");
        assert_eq!(late.attempts, 7);
    }

    #[test]
    fn only_an_acknowledged_inactive_write_ends_an_owed_duty() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.request("R1");
        f.arm("R1", g, t0 + secs(1));
        f.take_due(t0 + secs(1));
        f.failed("R1", t0 + secs(1), false, "the link is down");
        // Client requests (refused) and a settings change leave the duty.
        let g = f.request("R1");
        f.supersede("R1");
        assert!(f.any_owed());
        // An explicit `active` arms a new pulse beside the owed release.
        let g2 = f.request("R1");
        assert!(!f.arm("R1", g, t0 + secs(5)));
        assert!(f.arm("R1", g2, t0 + secs(5)));
        assert_eq!(f.reconnected(|_| true), strings(&["R1"]));
        assert!(f.any_owed());
        f.failed("R1", t0 + secs(2), true, "timeout");
        // The client's acknowledged `inactive` write is the release (of the pulse too).
        let off = f.request("R1");
        assert!(f.released("R1", off));
        assert!(!f.any_owed());
        assert!(!f.released("R1", off));
        assert_eq!(f.next_deadline(), None);
    }

    #[test]
    fn an_older_inactive_acknowledgement_does_not_disarm_a_newer_pulse() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let off = f.request("R1");
        let on = f.request("R1");
        assert!(f.arm("R1", on, t0 + secs(5)));
        f.released("R1", off);
        assert_eq!(f.next_deadline(), Some(t0 + secs(5)));
    }

    #[test]
    fn a_release_while_the_fall_back_is_in_flight_is_not_undone() {
        let t0 = Instant::now();
        let mut f = Fallbacks::default();
        let g = f.request("R1");
        f.arm("R1", g, t0);
        f.take_due(t0);
        let off = f.request("R1");
        assert!(f.released("R1", off));
        // The fall-back's own answer comes after: nothing owed, nothing late, no retry.
        assert_eq!(f.failed("R1", t0 + secs(1), true, "timeout"), 0);
        assert_eq!(f.confirmed("R1", t0 + secs(1)), None);
        assert_eq!(f.next_deadline(), None);
    }
}
