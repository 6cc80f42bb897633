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
    /// Every replay-cache slot holds a nonce that could still be replayed.
    #[error("replay cache full: raise security.replay_cache_size or lower created_window_secs")]
    CacheFull,
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
    /// Largest accepted |Created - device clock|; `None` switches the check off.
    pub max_skew: Option<Duration>,
    /// Whether PasswordText tokens are accepted.
    pub allow_password_text: bool,
    /// How long nonces are remembered when `max_skew` is off (a token can be replayed after
    /// that: switching the window off trades replay protection for tolerance of bad clocks).
    pub replay_memory: Duration,
    /// Most nonces remembered at once; beyond that, tokens are refused.
    pub replay_capacity: usize,
}

impl Default for WsseConfig {
    fn default() -> Self {
        WsseConfig {
            max_skew: Some(Duration::from_secs(300)),
            allow_password_text: false,
            replay_memory: Duration::from_secs(3600),
            replay_capacity: 100_000,
        }
    }
}

/// Checks tokens against the user store and remembers nonces.
#[derive(Debug)]
pub struct WsseVerifier {
    config: WsseConfig,
    replay: Mutex<ReplayCache>,
}

impl WsseVerifier {
    /// A verifier with an empty replay cache.
    pub fn new(config: WsseConfig) -> Self {
        WsseVerifier {
            replay: Mutex::new(ReplayCache::new(config.replay_capacity)),
            config,
        }
    }

    /// Verifies `token` at wall-clock time `now`; `password_of` gives a user's stored
    /// password.
    pub fn verify(
        &self,
        token: &UsernameToken,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        if token.password_type == PasswordType::Text && !self.config.allow_password_text {
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
        if let (Some(max), Some(when)) = (self.config.max_skew, created) {
            let skew = (now - when).abs().to_std().unwrap_or(Duration::MAX);
            if skew > max {
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
        // Remember the nonce only for tokens that verified: a forged token must not be able
        // to burn a legitimate client's nonce. The nonce must be remembered for as long as its
        // token passes the freshness check: until Created + window.
        if let Some(nonce) = &token.nonce {
            let now_secs = now.timestamp();
            let expiry = match (self.config.max_skew, created) {
                (Some(max), Some(when)) => when
                    .timestamp()
                    .saturating_add(max.as_secs() as i64)
                    .saturating_add(1),
                _ => now_secs.saturating_add(self.config.replay_memory.as_secs() as i64),
            };
            let mut cache = self.replay.lock();
            match cache.insert(nonce, expiry, now_secs) {
                Ok(true) => {}
                Ok(false) => return Err(TokenError::Replayed),
                Err(Full) => return Err(TokenError::CacheFull),
            }
        }
        Ok(())
    }
}

/// The replay cache holds as many live nonces as it may.
#[derive(Debug)]
struct Full;

/// Nonces of accepted tokens, each until its token could no longer pass the freshness check.
/// Bounded: when every slot holds a live nonce, new tokens are refused (fail closed) rather
/// than forgetting a nonce that could still be replayed.
#[derive(Debug)]
struct ReplayCache {
    /// Keyed hash of the nonce (SipHash with a per-process random key) to expiry (Unix s).
    seen: HashMap<u64, i64>,
    /// Expiries in order, for pruning.
    queue: BinaryHeap<Reverse<(i64, u64)>>,
    hasher: RandomState,
    capacity: usize,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        ReplayCache {
            seen: HashMap::new(),
            queue: BinaryHeap::new(),
            hasher: RandomState::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records a nonce until `expiry`; `Ok(false)` if it is already there.
    fn insert(&mut self, nonce: &[u8], expiry: i64, now: i64) -> Result<bool, Full> {
        while let Some(&Reverse((at, key))) = self.queue.peek() {
            if at > now {
                break;
            }
            self.queue.pop();
            if self.seen.get(&key) == Some(&at) {
                self.seen.remove(&key);
            }
        }
        let key = self.hasher.hash_one(nonce);
        if self.seen.get(&key).is_some_and(|&at| at > now) {
            return Ok(false);
        }
        if self.seen.len() >= self.capacity {
            return Err(Full);
        }
        self.seen.insert(key, expiry);
        self.queue.push(Reverse((expiry, key)));
        Ok(true)
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
    fn replay_cache_forgets_after_expiry_and_fails_closed_when_full() {
        let mut c = ReplayCache::new(2);
        assert_eq!(c.insert(b"1", 10, 0).ok(), Some(true));
        assert_eq!(
            c.insert(b"1", 10, 5).ok(),
            Some(false),
            "replayed before expiry"
        );
        assert_eq!(c.insert(b"2", 10, 5).ok(), Some(true));
        assert!(
            c.insert(b"3", 10, 5).is_err(),
            "full of live nonces: refused, nothing forgotten"
        );
        assert_eq!(c.insert(b"1", 10, 5).ok(), Some(false), "still remembered");
        assert_eq!(
            c.insert(b"3", 20, 11).ok(),
            Some(true),
            "expired entries make room"
        );
        assert_eq!(
            c.insert(b"1", 20, 11).ok(),
            Some(true),
            "an expired nonce is forgotten"
        );
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
