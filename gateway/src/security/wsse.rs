//! WS-Security UsernameToken (OASIS UsernameToken Profile 1.0), as ONVIF Core requires.
//!
//! PasswordDigest = Base64(SHA-1(nonce + created + password)), where `nonce` is the decoded
//! Nonce and `created` the Created string exactly as the client sent it. A token is accepted
//! once: its nonce goes into a replay cache. Created must be within a configurable window of
//! the device clock (clients correct their clock with GetSystemDateAndTime first), and its
//! nonce is remembered until Created + window, after which the token is stale anyway. The
//! window can be switched off for clients with absurd clocks; nonces are then remembered for
//! `replay_memory` (an hour by default) only.

use parking_lot::Mutex;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use sha1::{Digest, Sha1};

use crate::soap::Envelope;
use crate::xml::Element;
use crate::xml::ns::{WSSE, WSU};

use super::{Secret, constant_time_eq};

const PASSWORD_DIGEST: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

/// How the password is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordType {
    /// Base64(SHA-1(nonce + created + password)).
    Digest,
    /// The password itself (only accepted when configured).
    Text,
}

/// A UsernameToken as found in the request.
#[derive(Clone, Debug)]
pub struct UsernameToken {
    /// The user name.
    pub username: String,
    /// The password or its digest.
    pub password: Secret,
    /// How `password` is to be read.
    pub password_type: PasswordType,
    /// The decoded nonce.
    pub nonce: Option<Vec<u8>>,
    /// The Created string, exactly as sent (trimmed of XML white space).
    pub created: Option<String>,
}

/// Why a token was refused. Every variant becomes `ter:NotAuthorized`; only the first two
/// count as a failed login for throttling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No such user.
    #[error("unknown user")]
    UnknownUser,
    /// The password (digest) does not match.
    #[error("wrong password")]
    WrongPassword,
    /// The nonce was seen before.
    #[error("nonce replayed")]
    Replayed,
    /// Created is outside the freshness window.
    #[error("Created outside the accepted window")]
    Stale,
    /// Nonce or Created missing, or unreadable.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// PasswordText while only digests are allowed.
    #[error("PasswordText is not allowed")]
    TextNotAllowed,
    /// The user's replay-cache share is full and dropped tokens at least as old as this one
    /// (its Created is at or before the share's watermark): it might be a replay.
    #[error(
        "Created not newer than the tokens this user's replay-cache share forgot (security.replay_cache_size per user)"
    )]
    Forgotten,
}

impl TokenError {
    /// Whether this counts as a failed password guess.
    pub fn is_credential_failure(self) -> bool {
        matches!(self, TokenError::UnknownUser | TokenError::WrongPassword)
    }
}

/// Reads the UsernameToken from the request's Security header, if there is one.
pub fn extract(envelope: &Envelope) -> Result<Option<UsernameToken>, TokenError> {
    let Some(security) = envelope.header(WSSE, "Security") else {
        return Ok(None);
    };
    let Some(token) = security.child(WSSE, "UsernameToken") else {
        return Ok(None);
    };
    parse_token(token).map(Some)
}

fn parse_token(token: &Element) -> Result<UsernameToken, TokenError> {
    let username = token
        .child(WSSE, "Username")
        .map(|u| u.text_trim().to_string())
        .ok_or(TokenError::Malformed("no Username"))?;
    let password_el = token
        .child(WSSE, "Password")
        .ok_or(TokenError::Malformed("no Password"))?;
    let password_type = match password_el.attr("", "Type").map(str::trim) {
        None | Some(PASSWORD_TEXT) => PasswordType::Text,
        Some(PASSWORD_DIGEST) => PasswordType::Digest,
        Some(_) => return Err(TokenError::Malformed("unknown password Type")),
    };
    let nonce = match token.child(WSSE, "Nonce") {
        None => None,
        Some(n) => {
            let compact: String = n
                .text
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            Some(
                B64.decode(compact)
                    .map_err(|_| TokenError::Malformed("Nonce is not base64"))?,
            )
        }
    };
    // Created belongs to wsu:, but some clients put it in the wsse: namespace.
    let created = token
        .child(WSU, "Created")
        .or_else(|| token.child(WSSE, "Created"))
        .map(|c| c.text_trim().to_string());
    // A digest is base64 (white space around it is formatting); a PasswordText is the
    // password exactly as sent.
    let password = match password_type {
        PasswordType::Digest => password_el.text_trim(),
        PasswordType::Text => password_el.text.as_str(),
    };
    Ok(UsernameToken {
        username,
        password: Secret::new(password),
        password_type,
        nonce,
        created,
    })
}

/// Parses an xs:dateTime as clients send Created: with or without fractional seconds, with
/// `Z` or an offset, or (leniently) with no zone, read as UTC.
///
/// A leap second (`23:59:60`) is read as the last instant of second 59: chrono keeps it as a
/// second 59 with more than 10^9 ns, and its differences then disagree with whole-second
/// timestamps by one second, which let a token pass the freshness check one second after
/// its nonce had left the replay cache.
pub fn parse_created(s: &str) -> Option<DateTime<Utc>> {
    let t = match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc(),
    };
    if t.nanosecond() >= 1_000_000_000 {
        return t.with_nanosecond(999_999_999);
    }
    Some(t)
}

/// The PasswordDigest a client computes.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    B64.encode(h.finalize())
}

/// Verification settings.
#[derive(Clone, Debug)]
pub struct WsseConfig {
    /// Largest accepted age of Created (device clock − Created); `None` switches the
    /// freshness check off, the future bound (`max_future`) with it.
    pub max_skew: Option<Duration>,
    /// Largest accepted Created − device clock (a client clock slightly ahead), while the
    /// freshness check is on.
    pub max_future: Duration,
    /// Whether PasswordText tokens are accepted.
    pub allow_password_text: bool,
    /// How long nonces are remembered when `max_skew` is off (a token can be replayed after
    /// that: switching the window off trades replay protection for tolerance of bad clocks).
    pub replay_memory: Duration,
    /// Most nonces remembered at once for one user (each user has its own share).
    pub replay_capacity: usize,
}

impl Default for WsseConfig {
    fn default() -> Self {
        WsseConfig {
            max_skew: Some(Duration::from_secs(300)),
            max_future: Duration::from_secs(5),
            allow_password_text: false,
            replay_memory: Duration::from_secs(3600),
            replay_capacity: 10_000,
        }
    }
}

/// A token whose password verified, not yet admitted (its nonce not yet remembered).
#[derive(Debug)]
pub struct Verified {
    username: String,
    nonce: Option<Vec<u8>>,
    /// Created in milliseconds since the epoch (the device clock when the token has none).
    created_ms: i64,
    /// Until when (Unix seconds) the nonce must be remembered.
    expiry: i64,
}

impl Verified {
    /// The token's user.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// Checks tokens against the user store and remembers nonces, per user.
#[derive(Debug)]
pub struct WsseVerifier {
    config: parking_lot::RwLock<WsseConfig>,
    /// After a reload widened the freshness window: tokens created at or before `.0` (ms)
    /// are refused until `.1` (Unix s), since their nonces may have been forgotten under the
    /// narrower window.
    floor: parking_lot::Mutex<Option<(i64, i64)>>,
    replay: Mutex<ReplayCache>,
}

impl WsseVerifier {
    /// A verifier with an empty replay cache.
    pub fn new(config: WsseConfig) -> Self {
        WsseVerifier {
            replay: Mutex::new(ReplayCache::new(config.replay_capacity)),
            config: parking_lot::RwLock::new(config),
            floor: parking_lot::Mutex::new(None),
        }
    }

    /// New settings (a reload at `now`). The nonces remembered stay: a replay is still
    /// refused; a smaller share size applies as shares fill. A wider freshness window (or
    /// none) would let a token pass whose nonce the narrower one already forgot, so the
    /// remembered nonces are kept longer by the difference, and tokens created before the old
    /// window began are refused until the new window has passed them too.
    pub fn set_config(&self, config: WsseConfig, now: DateTime<Utc>) {
        let old = self.config.read().clone();
        if let Some(was) = old.max_skew {
            let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let (longer, until) = match config.max_skew {
                Some(new) if new > was => (
                    secs(new - was).saturating_add(1),
                    now.timestamp().saturating_add(secs(new)).saturating_add(1),
                ),
                Some(_) => (0, 0),
                None => (secs(config.replay_memory), i64::MAX),
            };
            if longer > 0 {
                let was_ms = i64::try_from(was.as_millis()).unwrap_or(i64::MAX);
                *self.floor.lock() = Some((now.timestamp_millis().saturating_sub(was_ms), until));
                self.replay.lock().extend(longer);
            }
        }
        self.replay.lock().capacity = config.replay_capacity.max(1);
        *self.config.write() = config;
    }

    /// Verifies `token` at wall-clock time `now` and remembers its nonce ([`Self::check`]
    /// then [`Self::admit`]); `password_of` gives a user's stored password.
    pub fn verify(
        &self,
        token: &UsernameToken,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        let verified = self.check(token, password_of, now)?;
        self.admit(verified, now)
    }

    /// Checks the token's form, freshness and password, without remembering anything.
    pub fn check(
        &self,
        token: &UsernameToken,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: DateTime<Utc>,
    ) -> Result<Verified, TokenError> {
        if token.password_type == PasswordType::Text && !self.config.read().allow_password_text {
            return Err(TokenError::TextNotAllowed);
        }
        let digest_parts = match (token.password_type, &token.nonce, &token.created) {
            (PasswordType::Digest, Some(nonce), Some(created)) => Some((nonce, created)),
            (PasswordType::Digest, None, _) => return Err(TokenError::Malformed("no Nonce")),
            (PasswordType::Digest, _, None) => return Err(TokenError::Malformed("no Created")),
            (PasswordType::Text, ..) => None,
        };
        let created = match &token.created {
            Some(c) => {
                Some(parse_created(c).ok_or(TokenError::Malformed("Created is not a dateTime"))?)
            }
            None => None,
        };
        if let (Some(when), Some((floor, until))) = (created, *self.floor.lock())
            && when.timestamp_millis() <= floor
            && now.timestamp() < until
        {
            return Err(TokenError::Stale);
        }
        if let (Some(max_age), Some(when)) = (self.config.read().max_skew, created) {
            // Checked arithmetic only: Created is the client's value.
            let delta = now.signed_duration_since(when);
            let too_old = delta.to_std().is_ok_and(|age| age > max_age);
            let too_new = (-delta)
                .to_std()
                .is_ok_and(|ahead| ahead > self.config.read().max_future);
            if too_old || too_new {
                return Err(TokenError::Stale);
            }
        }
        // An unknown user costs the same hashing as a known one, so response times do not
        // tell which user names exist.
        let (stored, known) = match password_of(&token.username) {
            Some(p) => (p, true),
            None => (Secret::new("\u{0}unknown-user\u{0}"), false),
        };
        let matches = match digest_parts {
            Some((nonce, created)) => {
                let expected = password_digest(nonce, created, stored.expose());
                constant_time_eq(expected.as_bytes(), token.password.expose().as_bytes())
            }
            None => constant_time_eq(
                stored.expose().as_bytes(),
                token.password.expose().as_bytes(),
            ),
        };
        if !known {
            return Err(TokenError::UnknownUser);
        }
        if !matches {
            return Err(TokenError::WrongPassword);
        }
        // The nonce must be remembered for as long as its token passes the freshness check:
        // until Created + window.
        let now_secs = now.timestamp();
        let expiry = match (self.config.read().max_skew, created) {
            (Some(max), Some(when)) => when
                .timestamp()
                .saturating_add(i64::try_from(max.as_secs()).unwrap_or(i64::MAX))
                .saturating_add(1),
            _ => now_secs.saturating_add(
                i64::try_from(self.config.read().replay_memory.as_secs()).unwrap_or(i64::MAX),
            ),
        };
        Ok(Verified {
            username: token.username.clone(),
            nonce: token.nonce.clone(),
            created_ms: created.unwrap_or(now).timestamp_millis(),
            expiry,
        })
    }

    /// Whether [`Self::admit`] would refuse this token now, without remembering anything: the
    /// gate asks first, so that replays of a captured token do not use up its user's rate.
    pub fn refused(&self, verified: &Verified, now: DateTime<Utc>) -> Option<TokenError> {
        let nonce = verified.nonce.as_ref()?;
        match self.replay.lock().peek(
            &verified.username,
            nonce,
            verified.created_ms,
            now.timestamp(),
        ) {
            Admit::Fresh => None,
            Admit::Replayed => Some(TokenError::Replayed),
            Admit::Forgotten => Some(TokenError::Forgotten),
        }
    }

    /// Remembers a verified token's nonce in its user's share: refused if the nonce was seen
    /// (under any user name) or if the token is not newer than what the share forgot.
    pub fn admit(&self, verified: Verified, now: DateTime<Utc>) -> Result<(), TokenError> {
        // Remember the nonce only for tokens that verified: a forged token must not be able
        // to burn a legitimate client's nonce.
        let Some(nonce) = &verified.nonce else {
            return Ok(());
        };
        let mut cache = self.replay.lock();
        match cache.insert(
            &verified.username,
            nonce,
            verified.created_ms,
            verified.expiry,
            now.timestamp(),
        ) {
            Admit::Fresh => Ok(()),
            Admit::Replayed => Err(TokenError::Replayed),
            Admit::Forgotten => Err(TokenError::Forgotten),
        }
    }

    /// Nonces remembered now, over all users (for figures and tests).
    pub fn remembered(&self) -> usize {
        self.replay
            .lock()
            .users
            .values()
            .map(|u| u.seen.len())
            .sum()
    }
}

/// Resident set size of this process (Linux), for the memory figures of the tests.
#[cfg(test)]
pub(crate) fn rss_for_tests() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// What the replay cache says about a nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admit {
    /// Not seen: now remembered.
    Fresh,
    /// Seen before and still remembered.
    Replayed,
    /// Its user's share dropped entries at least as old: it might have been seen.
    Forgotten,
}

/// Nonces of accepted tokens, each until its token could no longer pass the freshness check,
/// in one share per user name (only users whose password verified get one, so the number of
/// shares is bounded by the user directory).
///
/// A share holds at most `capacity` nonces. When it is full, its entry with the oldest
/// Created is dropped and that Created becomes the share's watermark: from then on a token
/// of that user with Created at or before the watermark is refused, so a nonce that could
/// still be replayed is never forgotten and then accepted. A user who sends faster than its
/// share covers shortens its own effective window; other users are untouched.
#[derive(Debug)]
struct ReplayCache {
    users: HashMap<String, UserShare>,
    hasher: RandomState,
    capacity: usize,
}

#[derive(Debug, Default)]
struct UserShare {
    /// Keyed hash of the nonce (SipHash with a per-process random key) to (expiry in Unix
    /// seconds, Created in ms).
    seen: HashMap<u64, (i64, i64)>,
    /// (Created ms, nonce hash), oldest first: expiry is Created + window, so this is also
    /// the expiry order while the freshness check is on.
    queue: BinaryHeap<Reverse<(i64, u64)>>,
    /// Tokens with Created (ms) at or before `.0` are refused, until `.1` (Unix s): the latest
    /// expiry of the entries dropped, after which every one of them would have been forgotten
    /// anyway.
    watermark: Option<(i64, i64)>,
}

impl UserShare {
    /// Whether a token with this Created is refused for being at or before the watermark.
    fn below_watermark(&self, created_ms: i64, now: i64) -> bool {
        self.watermark
            .is_some_and(|(w, until)| created_ms <= w && until > now)
    }

    /// Whether the share holds nothing that still matters at `now`.
    fn is_idle(&self, now: i64) -> bool {
        self.watermark.is_none_or(|(_, until)| until <= now)
            && self.seen.values().all(|&(at, _)| at <= now)
    }

    fn prune(&mut self, now: i64) {
        if self.watermark.is_some_and(|(_, until)| until <= now) {
            self.watermark = None;
        }
        while let Some(&Reverse((created, key))) = self.queue.peek() {
            match self.seen.get(&key) {
                Some(&(expiry, c)) if c == created => {
                    if expiry > now {
                        break;
                    }
                    self.seen.remove(&key);
                }
                _ => {}
            }
            self.queue.pop();
        }
    }

    /// Drops the entry with the oldest Created and raises the watermark to it.
    fn drop_oldest(&mut self) {
        while let Some(Reverse((created, key))) = self.queue.pop() {
            if let Some(&(expiry, c)) = self.seen.get(&key)
                && c == created
            {
                self.seen.remove(&key);
                self.watermark = Some(match self.watermark {
                    None => (created, expiry),
                    Some((w, until)) => (w.max(created), until.max(expiry)),
                });
                return;
            }
        }
    }
}

impl ReplayCache {
    /// Every remembered nonce (and watermark) is kept `by` seconds longer.
    fn extend(&mut self, by: i64) {
        for share in self.users.values_mut() {
            for (expiry, _) in share.seen.values_mut() {
                *expiry = expiry.saturating_add(by);
            }
            if let Some((_, until)) = &mut share.watermark {
                *until = until.saturating_add(by);
            }
        }
    }

    fn new(capacity: usize) -> Self {
        ReplayCache {
            users: HashMap::new(),
            hasher: RandomState::new(),
            capacity: capacity.max(1),
        }
    }

    /// What [`Self::insert`] would say (before any pruning or dropping), changing nothing.
    fn peek(&self, user: &str, nonce: &[u8], created_ms: i64, now: i64) -> Admit {
        let key = self.hasher.hash_one(nonce);
        if self
            .users
            .values()
            .any(|s| s.seen.get(&key).is_some_and(|&(at, _)| at > now))
        {
            return Admit::Replayed;
        }
        match self.users.get(user) {
            Some(s) if s.below_watermark(created_ms, now) => Admit::Forgotten,
            _ => Admit::Fresh,
        }
    }

    /// Records `user`'s nonce until `expiry` (Unix s).
    fn insert(
        &mut self,
        user: &str,
        nonce: &[u8],
        created_ms: i64,
        expiry: i64,
        now: i64,
    ) -> Admit {
        let key = self.hasher.hash_one(nonce);
        // A nonce is a replay under any user name (the digest does not cover the name).
        // Users are few (the directory's bound), so this is a handful of lookups.
        for share in self.users.values() {
            if share.seen.get(&key).is_some_and(|&(at, _)| at > now) {
                return Admit::Replayed;
            }
        }
        if !self.users.contains_key(user) {
            // Shares of users with nothing left to remember (e.g. deleted users) go first.
            self.users.retain(|_, s| !s.is_idle(now));
            self.users.insert(user.to_string(), UserShare::default());
        }
        let share = self.users.get_mut(user).expect("inserted above");
        share.prune(now);
        if share.below_watermark(created_ms, now) {
            return Admit::Forgotten;
        }
        if share.seen.len() >= self.capacity {
            share.drop_oldest();
            if share.below_watermark(created_ms, now) {
                return Admit::Forgotten;
            }
        }
        share.seen.insert(key, (expiry, created_ms));
        share.queue.push(Reverse((created_ms, key)));
        Admit::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(nonce: &[u8], created: &str, password: &str) -> UsernameToken {
        UsernameToken {
            username: "admin".into(),
            password: Secret::new(password_digest(nonce, created, password)),
            password_type: PasswordType::Digest,
            nonce: Some(nonce.to_vec()),
            created: Some(created.into()),
        }
    }

    fn store(name: &str) -> Option<Secret> {
        (name == "admin").then(|| Secret::new("pass"))
    }

    fn at(s: &str) -> DateTime<Utc> {
        parse_created(s).unwrap()
    }

    #[test]
    fn digest_matches_an_independent_computation() {
        // python3: base64(sha1(b"abc" + b"2024-01-01T00:00:00Z" + b"pass"))
        assert_eq!(
            password_digest(b"abc", "2024-01-01T00:00:00Z", "pass"),
            "VPc2C9EZ9n1zsd/ccU7Hj9tUJ1A="
        );
    }

    #[test]
    fn a_reload_that_widens_the_window_opens_no_replay() {
        let v = WsseVerifier::new(WsseConfig::default()); // 300 s
        // Admitted under the old window: its nonce would be forgotten after 00:11:01.
        let seen = token(b"n3", "2026-01-01T00:06:00Z", "pass");
        assert_eq!(v.verify(&seen, store, at("2026-01-01T00:06:05Z")), Ok(()));
        // Stale at the reload, never seen: nothing remembers its nonce.
        let old = token(b"n2", "2026-01-01T00:01:00Z", "pass");
        let reload = at("2026-01-01T00:06:30Z");
        v.set_config(
            WsseConfig {
                max_skew: Some(Duration::from_secs(900)),
                ..WsseConfig::default()
            },
            reload,
        );
        // Inside the new window, but created before the old window began at the reload:
        // its nonce may have been forgotten, so it is refused.
        assert_eq!(v.verify(&old, store, reload), Err(TokenError::Stale));
        // Past the old window's memory, inside the new window: still a replay.
        let later = at("2026-01-01T00:11:30Z");
        assert_eq!(v.verify(&seen, store, later), Err(TokenError::Replayed));
        // A fresh token passes.
        let fresh = token(b"n4", "2026-01-01T00:11:29Z", "pass");
        assert_eq!(v.verify(&fresh, store, later), Ok(()));
    }

    #[test]
    fn accepts_once_then_refuses_replay() {
        let v = WsseVerifier::new(WsseConfig::default());
        let now = at("2026-01-01T00:00:10Z");
        let t = token(b"n1", "2026-01-01T00:00:00.123Z", "pass");
        assert_eq!(v.verify(&t, store, now), Ok(()));
        assert_eq!(v.verify(&t, store, now), Err(TokenError::Replayed));
    }

    #[test]
    fn refuses_wrong_password_unknown_user_stale_and_text() {
        let v = WsseVerifier::new(WsseConfig::default());
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(
            v.verify(&token(b"a", "2026-01-01T00:00:00Z", "nope"), store, now),
            Err(TokenError::WrongPassword)
        );
        let mut other = token(b"b", "2026-01-01T00:00:00Z", "pass");
        other.username = "eve".into();
        assert_eq!(v.verify(&other, store, now), Err(TokenError::UnknownUser));
        assert_eq!(
            v.verify(&token(b"c", "2025-12-31T23:50:00Z", "pass"), store, now),
            Err(TokenError::Stale)
        );
        assert_eq!(
            v.verify(&token(b"d", "2255-11-30T00:00:00Z", "pass"), store, now),
            Err(TokenError::Stale)
        );
        let text = UsernameToken {
            password: Secret::new("pass"),
            password_type: PasswordType::Text,
            ..token(b"e", "2026-01-01T00:00:00Z", "x")
        };
        assert_eq!(v.verify(&text, store, now), Err(TokenError::TextNotAllowed));
        let mut no_nonce = token(b"f", "2026-01-01T00:00:00Z", "pass");
        no_nonce.nonce = None;
        assert!(matches!(
            v.verify(&no_nonce, store, now),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn freshness_can_be_switched_off_and_replay_still_protects() {
        let v = WsseVerifier::new(WsseConfig {
            max_skew: None,
            ..WsseConfig::default()
        });
        let now = at("2026-01-01T00:00:00Z");
        let t = token(b"x", "2255-11-30T00:00:00Z", "pass");
        assert_eq!(v.verify(&t, store, now), Ok(()));
        assert_eq!(v.verify(&t, store, now), Err(TokenError::Replayed));
    }

    #[test]
    fn password_text_when_allowed() {
        let v = WsseVerifier::new(WsseConfig {
            allow_password_text: true,
            ..WsseConfig::default()
        });
        let t = UsernameToken {
            username: "admin".into(),
            password: Secret::new("pass"),
            password_type: PasswordType::Text,
            nonce: None,
            created: None,
        };
        assert_eq!(v.verify(&t, store, Utc::now()), Ok(()));
    }

    #[test]
    fn replay_cache_forgets_after_expiry_and_refuses_what_a_full_share_dropped() {
        let mut c = ReplayCache::new(2);
        assert_eq!(c.insert("u", b"1", 1_000, 10, 0), Admit::Fresh);
        assert_eq!(c.insert("u", b"1", 1_000, 10, 5), Admit::Replayed);
        assert_eq!(c.insert("u", b"2", 2_000, 10, 5), Admit::Fresh);
        // Full: the oldest (Created 1 000) is dropped and becomes the watermark.
        assert_eq!(c.insert("u", b"3", 3_000, 10, 5), Admit::Fresh);
        assert_eq!(
            c.insert("u", b"1", 1_000, 10, 5),
            Admit::Forgotten,
            "a dropped live nonce is refused, never accepted again"
        );
        assert_eq!(
            c.insert("u", b"9", 1_000, 10, 5),
            Admit::Forgotten,
            "Created at the watermark"
        );
        assert_eq!(c.insert("u", b"2", 2_000, 10, 5), Admit::Replayed);
        // Another user's share is its own: full of nothing.
        assert_eq!(c.insert("v", b"a", 500, 10, 5), Admit::Fresh);
        assert_eq!(c.insert("v", b"b", 600, 10, 5), Admit::Fresh);
        // ... and a nonce is a replay under any user name.
        assert_eq!(c.insert("v", b"3", 4_000, 10, 5), Admit::Replayed);
        // Expired entries make room and are forgotten.
        assert_eq!(c.insert("u", b"4", 11_000, 20, 11), Admit::Fresh);
        assert_eq!(c.insert("u", b"2", 11_500, 20, 11), Admit::Fresh);
        assert!(c.users.values().all(|s| s.seen.len() <= 2));
        // Once everything it dropped has expired, the watermark goes, and an idle share is
        // dropped when another user needs one.
        assert_eq!(c.insert("w", b"x", 30_000, 40, 30), Admit::Fresh);
        assert_eq!(c.users.len(), 1, "the idle shares of u and v went");
        assert_eq!(
            c.insert("u", b"1", 500, 41, 30),
            Admit::Fresh,
            "no watermark any more"
        );
    }

    #[test]
    fn a_flooding_user_degrades_only_itself() {
        let v = WsseVerifier::new(WsseConfig {
            replay_capacity: 100,
            ..WsseConfig::default()
        });
        let both = |name: &str| (name == "admin" || name == "flood").then(|| Secret::new("pass"));
        let t0 = at("2026-01-01T00:00:00Z");
        // The flooder sends 10 000 fresh tokens within one second (Created all equal).
        let mut refused = 0;
        for i in 0..10_000u32 {
            let mut t = token(&i.to_be_bytes(), "2026-01-01T00:00:00Z", "pass");
            t.username = "flood".into();
            if v.verify(&t, both, t0).is_err() {
                refused += 1;
            }
        }
        assert!(refused >= 9_800, "its share covers little: {refused}");
        assert!(v.remembered() <= 100);
        // The administrator's tokens are untouched, in the same second and after.
        for i in 0..100u32 {
            let t = token(
                &(1_000_000 + i).to_be_bytes(),
                "2026-01-01T00:00:00Z",
                "pass",
            );
            assert_eq!(v.verify(&t, both, t0), Ok(()), "admin token {i}");
        }
        assert!(v.remembered() <= 200, "bounded by users × share");
        // The flooder is served again from the next Created on (its watermark is behind it).
        let mut t = token(b"later", "2026-01-01T00:00:01Z", "pass");
        t.username = "flood".into();
        assert_eq!(v.verify(&t, both, at("2026-01-01T00:00:01Z")), Ok(()));
        assert_eq!(
            v.verify(&t, both, at("2026-01-01T00:00:01Z")),
            Err(TokenError::Replayed)
        );
    }

    #[test]
    fn a_fleet_sharing_one_account_fits_the_default_share() {
        // 20 clients × 10 req/s on one account for 10 simulated minutes (longer than the
        // window): every token accepted with the default share and window.
        let v = WsseVerifier::new(WsseConfig::default());
        let t0 = at("2026-01-01T00:00:00Z");
        let mut n = 0u64;
        for tenth in 0..6_000i64 {
            let now = t0 + chrono::Duration::milliseconds(tenth * 100);
            for _client in 0..20 {
                n += 1;
                let created = now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
                let t = token(&n.to_be_bytes(), &created, "pass");
                assert_eq!(v.verify(&t, store, now), Ok(()), "token {n}");
            }
        }
        assert!(v.remembered() <= 10_000);
    }

    #[test]
    fn created_in_the_future_beyond_the_skew_is_refused() {
        let v = WsseVerifier::new(WsseConfig::default());
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(
            v.verify(&token(b"f5", "2026-01-01T00:00:05Z", "pass"), store, now),
            Ok(())
        );
        for created in [
            "2026-01-01T00:00:06Z",
            "2026-01-01T00:01:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(
                v.verify(&token(created.as_bytes(), created, "pass"), store, now),
                Err(TokenError::Stale),
                "{created}"
            );
        }
        // Far in the past, at the edge of what chrono reads: stale, no overflow.
        assert_eq!(
            v.verify(&token(b"old", "0001-01-01T00:00:00Z", "pass"), store, now),
            Err(TokenError::Stale)
        );
    }

    #[test]
    fn bytes_per_replay_entry() {
        // Fills one share of 100 000 and reads the process's resident memory before and
        // after: the figure (printed with --nocapture) goes into the documentation.
        let v = WsseVerifier::new(WsseConfig {
            replay_capacity: 100_000,
            ..WsseConfig::default()
        });
        let now = at("2026-01-01T00:00:00Z");
        let before = rss_bytes();
        for i in 0..100_000u64 {
            let mut nonce = [0u8; 16];
            nonce[..8].copy_from_slice(&i.to_be_bytes());
            let created = (now + chrono::Duration::milliseconds(i as i64 / 100))
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(
                v.verify(&token(&nonce, &created, "pass"), store, now),
                Ok(())
            );
        }
        let after = rss_bytes();
        assert_eq!(v.remembered(), 100_000);
        if let (Some(b), Some(a)) = (before, after) {
            println!(
                "replay cache: {} bytes per entry (RSS growth over 100000 entries)",
                a.saturating_sub(b) / 100_000
            );
        }
    }

    fn rss_bytes() -> Option<u64> {
        rss_for_tests()
    }

    #[test]
    fn a_nonce_is_remembered_until_its_token_goes_stale() {
        let v = WsseVerifier::new(WsseConfig::default());
        let t = token(b"late", "2026-01-01T00:00:00Z", "pass");
        assert_eq!(v.verify(&t, store, at("2026-01-01T00:04:59Z")), Ok(()));
        // Replayed just inside the window: refused as a replay; just after: stale.
        assert_eq!(
            v.verify(&t, store, at("2026-01-01T00:05:00Z")),
            Err(TokenError::Replayed)
        );
        assert_eq!(
            v.verify(&t, store, at("2026-01-01T00:05:01Z")),
            Err(TokenError::Stale)
        );
        // The same nonce under another user name is still a replay.
        let mut other = t.clone();
        other.username = "operator".into();
        let both =
            |name: &str| (name == "admin" || name == "operator").then(|| Secret::new("pass"));
        assert_eq!(
            v.verify(&other, both, at("2026-01-01T00:01:00Z")),
            Err(TokenError::Replayed)
        );
        // A Created just inside the future skew is remembered until Created + window too.
        let ahead = token(b"ahead", "2026-01-01T00:00:05Z", "pass");
        assert_eq!(v.verify(&ahead, store, at("2026-01-01T00:00:00Z")), Ok(()));
        assert_eq!(
            v.verify(&ahead, store, at("2026-01-01T00:05:05Z")),
            Err(TokenError::Replayed)
        );
    }

    /// Found by the wsse_header fuzz target: a token with Created at a leap second was
    /// accepted again at Created + window + 1 s, when its nonce had already expired.
    #[test]
    fn a_leap_second_created_is_never_replayed() {
        for created in [
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2017-01-01T00:59:60+01:00",
        ] {
            let v = WsseVerifier::new(WsseConfig::default());
            let t = token(b"leap", created, "pass");
            let when = parse_created(created).unwrap();
            assert_eq!(when.timestamp(), 1_483_228_799, "{created}");
            assert_eq!(when.nanosecond(), 999_999_999, "{created}");
            assert_eq!(v.verify(&t, store, when), Ok(()));
            for later in 0..=302 {
                let now = when + chrono::TimeDelta::seconds(later);
                assert!(
                    v.verify(&t, store, now).is_err(),
                    "{created} replayed at +{later} s"
                );
            }
        }
    }

    #[test]
    fn created_forms() {
        for s in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.5Z",
            "2026-01-01T01:00:00+01:00",
            "2026-01-01T00:00:00",
        ] {
            assert_eq!(
                parse_created(s).map(|t| t.timestamp()),
                Some(1767225600),
                "{s}"
            );
        }
        assert!(parse_created("yesterday").is_none());
    }
}
