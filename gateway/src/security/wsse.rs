//! WS-Security UsernameToken (OASIS UsernameToken Profile 1.0), as ONVIF Core requires.
//!
//! PasswordDigest = Base64(SHA-1(nonce + created + password)), where `nonce` is the decoded
//! Nonce and `created` the Created string exactly as the client sent it. A token is accepted
//! once: its nonce goes into a replay cache. Created must be within a configurable window of
//! the device clock (clients correct their clock with GetSystemDateAndTime first); the window
//! can be switched off for clients with absurd clocks, and the replay cache still protects.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, NaiveDateTime, Utc};
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
    Ok(UsernameToken {
        username,
        password: Secret::new(password_el.text_trim()),
        password_type,
        nonce,
        created,
    })
}

/// Parses an xs:dateTime as clients send Created: with or without fractional seconds, with
/// `Z` or an offset, or (leniently) with no zone, read as UTC.
pub fn parse_created(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
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
    /// How long nonces are remembered when `max_skew` is off.
    pub replay_memory: Duration,
    /// Most nonces remembered; the oldest are forgotten first.
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

    /// Verifies `token`; `password_of` gives a user's stored password.
    pub fn verify(
        &self,
        token: &UsernameToken,
        password_of: impl FnOnce(&str) -> Option<Secret>,
        now: DateTime<Utc>,
        instant: Instant,
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
        if let Some(created) = &token.created {
            let when =
                parse_created(created).ok_or(TokenError::Malformed("Created is not a dateTime"))?;
            if let Some(max) = self.config.max_skew {
                let skew = (now - when).abs().to_std().unwrap_or(Duration::MAX);
                if skew > max {
                    return Err(TokenError::Stale);
                }
            }
        }
        let stored = password_of(&token.username).ok_or(TokenError::UnknownUser)?;
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
        if !matches {
            return Err(TokenError::WrongPassword);
        }
        // Remember the nonce only for tokens that verified: a forged token must not be able
        // to burn a legitimate client's nonce.
        if let Some(nonce) = &token.nonce {
            let ttl = self
                .config
                .max_skew
                .map(|s| s * 2)
                .unwrap_or(self.config.replay_memory);
            let fresh = self.replay.lock().expect("replay cache poisoned").insert(
                &token.username,
                nonce,
                instant,
                ttl,
            );
            if !fresh {
                return Err(TokenError::Replayed);
            }
        }
        Ok(())
    }
}

/// Nonces seen recently, bounded in time and count.
#[derive(Debug)]
struct ReplayCache {
    seen: HashMap<[u8; 20], Instant>,
    order: VecDeque<([u8; 20], Instant)>,
    capacity: usize,
}

impl ReplayCache {
    fn new(capacity: usize) -> Self {
        ReplayCache {
            seen: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records a nonce; false if it was already there.
    fn insert(&mut self, user: &str, nonce: &[u8], now: Instant, ttl: Duration) -> bool {
        while let Some(&(key, expiry)) = self.order.front() {
            if expiry > now && self.order.len() < self.capacity {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&key) == Some(&expiry) {
                self.seen.remove(&key);
            }
        }
        let mut h = Sha1::new();
        h.update(user.as_bytes());
        h.update([0]);
        h.update(nonce);
        let key: [u8; 20] = h.finalize().into();
        if self.seen.get(&key).is_some_and(|&expiry| expiry > now) {
            return false;
        }
        let expiry = now + ttl;
        self.seen.insert(key, expiry);
        self.order.push_back((key, expiry));
        true
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
        let i = Instant::now();
        assert_eq!(v.verify(&t, store, now, i), Ok(()));
        assert_eq!(v.verify(&t, store, now, i), Err(TokenError::Replayed));
    }

    #[test]
    fn refuses_wrong_password_unknown_user_stale_and_text() {
        let v = WsseVerifier::new(WsseConfig::default());
        let now = at("2026-01-01T00:00:00Z");
        let i = Instant::now();
        assert_eq!(
            v.verify(&token(b"a", "2026-01-01T00:00:00Z", "nope"), store, now, i),
            Err(TokenError::WrongPassword)
        );
        let mut other = token(b"b", "2026-01-01T00:00:00Z", "pass");
        other.username = "eve".into();
        assert_eq!(
            v.verify(&other, store, now, i),
            Err(TokenError::UnknownUser)
        );
        assert_eq!(
            v.verify(&token(b"c", "2025-12-31T23:50:00Z", "pass"), store, now, i),
            Err(TokenError::Stale)
        );
        assert_eq!(
            v.verify(&token(b"d", "2255-11-30T00:00:00Z", "pass"), store, now, i),
            Err(TokenError::Stale)
        );
        let text = UsernameToken {
            password: Secret::new("pass"),
            password_type: PasswordType::Text,
            ..token(b"e", "2026-01-01T00:00:00Z", "x")
        };
        assert_eq!(
            v.verify(&text, store, now, i),
            Err(TokenError::TextNotAllowed)
        );
        let mut no_nonce = token(b"f", "2026-01-01T00:00:00Z", "pass");
        no_nonce.nonce = None;
        assert!(matches!(
            v.verify(&no_nonce, store, now, i),
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
        let i = Instant::now();
        assert_eq!(v.verify(&t, store, now, i), Ok(()));
        assert_eq!(v.verify(&t, store, now, i), Err(TokenError::Replayed));
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
        assert_eq!(v.verify(&t, store, Utc::now(), Instant::now()), Ok(()));
    }

    #[test]
    fn replay_cache_forgets_after_ttl_and_is_bounded() {
        let mut c = ReplayCache::new(2);
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        assert!(c.insert("u", b"1", t0, ttl));
        assert!(!c.insert("u", b"1", t0, ttl));
        assert!(c.insert("v", b"1", t0, ttl), "same nonce, other user");
        assert!(
            c.insert("u", b"1", t0 + Duration::from_secs(11), ttl),
            "expired"
        );
        assert!(c.seen.len() <= 2);
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
