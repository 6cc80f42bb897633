//! The authentication gate: who is asking, and may they call this operation?
//!
//! ONVIF Core's flow for a device that supports both HTTP Digest and WS-UsernameToken:
//! - PRE_AUTH operations need no credentials (and none are checked, so a client whose clock
//!   is still wrong can call GetSystemDateAndTime to learn the offset);
//! - no credentials at all: HTTP 401 with a Digest challenge;
//! - HTTP Digest credentials that fail: 401 again (with `stale=true` for an expired nonce);
//! - a UsernameToken that fails: HTTP 400 with `env:Sender/ter:NotAuthorized`;
//! - both present: the HTTP layer is checked first, then the token, and the token's user is
//!   the one the access policy judges;
//! - authenticated, but the user level does not reach the operation's access class:
//!   `ter:NotAuthorized`.
//!
//! State is kept per principal, so that no account can make another's valid login fail:
//! - an (address, user name) pair that failed too often, or an address that failed too often
//!   over all names, is locked out (HTTP 429) before any credential is looked at; the user
//!   names come from the request (Digest `username`, the token's Username);
//! - a user whose credentials verified but who authenticates faster than its rate
//!   (`user_rate`) gets HTTP 429 before its nonce is remembered;
//! - the UsernameToken replay cache and the Digest nonce counts hold a bounded share per user.
//!
//! Refusals are logged at WARN through [`crate::ratelog`]: one line per kind per 10 s, with
//! the count suppressed in between.
//!
//! [`Gate`] holds exactly what the decision needs: the credential store (behind
//! [`Credentials`]), the UsernameToken verifier with its replay cache, the Digest verifier
//! with its nonce counts, the lockout table and the per-user rate. Time comes in as an
//! argument ([`Now`]), so every rule is tested on a simulated clock (`tests.rs`).

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

use crate::ratelog::RateLog;
use crate::soap::{Envelope, SoapFault};

use super::access::{AccessClass, Operation};
use super::digest::{self, DigestAuth};
use super::policy::AccessPolicy;
use super::throttle::{Locked, Throttle};
use super::user_rate::UserRate;
use super::users::UserDirectory;
use super::wsse::{self, WsseVerifier};
use super::{Principal, Secret, UserLevel};

#[cfg(test)]
mod tests;

/// Where the gate looks a user up: the stored password and the user's level, read together.
pub trait Credentials: Send + Sync {
    /// The password and level of `username`, if there is such a user.
    fn credentials(&self, username: &str) -> Option<(Secret, UserLevel)>;
}

impl Credentials for UserDirectory {
    fn credentials(&self, username: &str) -> Option<(Secret, UserLevel)> {
        UserDirectory::credentials(self, username)
    }
}

/// The time a request is judged at: the monotonic clock for lockouts, the wall clock for
/// Digest nonces and UsernameToken Created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time (lockouts).
    pub instant: Instant,
    /// Wall-clock time (nonce lifetimes, Created freshness).
    pub wall: SystemTime,
}

impl Now {
    /// The current time on both clocks.
    pub fn current() -> Now {
        Now {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    fn utc(self) -> DateTime<Utc> {
        DateTime::<Utc>::from(self.wall)
    }
}

/// What to do with a request.
#[derive(Debug)]
pub enum Decision {
    /// Go ahead, on behalf of this principal.
    Allow(Principal),
    /// Answer HTTP 401 with a Digest challenge (`stale`: only the nonce expired).
    Challenge {
        /// The nonce expired; the credentials were right.
        stale: bool,
        /// Digest credentials were given and were wrong (not only a stale nonce): an
        /// authentication failure to count.
        failed: bool,
    },
    /// Answer with this fault (`ter:NotAuthorized`).
    Refuse(SoapFault),
    /// The address, or this user at this address, is locked out after repeated failures;
    /// retry after this long (HTTP 429).
    Locked(Duration),
    /// The user authenticates faster than its rate; retry after this long (HTTP 429).
    RateLimited(Duration),
}

/// The HTTP facts the gate needs.
pub struct HttpAuth<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The request method.
    pub method: &'a str,
    /// The request target (path and query).
    pub uri: &'a str,
    /// The client's address.
    pub peer: IpAddr,
}

impl std::fmt::Debug for HttpAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Authorization header carries a (digested) credential: never printed.
        f.debug_struct("HttpAuth")
            .field("authorization", &self.authorization.map(|_| "***"))
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("peer", &self.peer)
            .finish()
    }
}

/// Authentication and authorization of requests.
pub struct Gate {
    users: Arc<dyn Credentials>,
    wsse: WsseVerifier,
    digest: DigestAuth,
    throttle: Throttle,
    rate: UserRate,
    policy: Arc<AccessPolicy>,
    warnings: RateLog<&'static str>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("wsse", &self.wsse)
            .field("digest", &self.digest)
            .field("throttle", &self.throttle)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate over `users` with these verifiers, this lockout table and this per-user rate.
    pub fn new(
        users: Arc<dyn Credentials>,
        wsse: WsseVerifier,
        digest: DigestAuth,
        throttle: Throttle,
        rate: UserRate,
    ) -> Self {
        Gate {
            users,
            wsse,
            digest,
            throttle,
            rate,
            policy: Arc::new(AccessPolicy::default()),
            warnings: RateLog::per_10s(),
        }
    }

    /// The gate under `policy` rather than Core's default access policy.
    /// New settings from a reload: the next request is judged by them. What the parts keep
    /// (nonces seen, lockouts running, buckets) stays.
    pub fn reconfigure(&self, settings: &super::settings::GateSettings, now: Now) {
        self.wsse.set_config(settings.wsse.clone(), now.utc());
        self.throttle.set_config(settings.throttle);
        self.rate.set_config(settings.rate);
        self.digest
            .set_nonce_lifetime(settings.nonce_lifetime, now.wall);
    }

    pub fn with_policy(mut self, policy: Arc<AccessPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// UsernameToken nonces and Digest nonces remembered now, over all users.
    pub fn remembered(&self) -> (usize, usize) {
        (self.wsse.remembered(), self.digest.tracked())
    }

    /// Logs a warning of kind `key` unless one was logged in the last 10 s.
    fn warn(&self, key: &'static str, now: Now, emit: impl FnOnce(u64)) {
        if let Some(suppressed) = self.warnings.check(key, now.instant) {
            emit(suppressed);
        }
    }

    /// The `WWW-Authenticate` values of a 401 (see [`DigestAuth::challenges`]).
    pub fn challenges(&self, now: Now, stale: bool) -> [String; 2] {
        self.digest.challenges(now.wall, stale)
    }

    /// Decides on one request at time `now`.
    pub fn decide(
        &self,
        op: &Operation,
        envelope: &Envelope,
        http: &HttpAuth<'_>,
        now: Now,
    ) -> Decision {
        if op.class == AccessClass::PreAuth {
            return Decision::Allow(Principal::anonymous());
        }
        self.decide_with(op, wsse::extract(envelope), http, now)
    }

    /// Decides on a request that is no SOAP message (the HTTP downloads and uploads of
    /// GetSystemUris and StartSystemRestore): HTTP Digest only, under the same lockout, rate
    /// and access policy; `op` names what it does and its access class.
    pub fn decide_http(&self, op: &Operation, http: &HttpAuth<'_>, now: Now) -> Decision {
        if op.class == AccessClass::PreAuth {
            return Decision::Allow(Principal::anonymous());
        }
        self.decide_with(op, Ok(None), http, now)
    }

    fn decide_with(
        &self,
        op: &Operation,
        token: Result<Option<wsse::UsernameToken>, wsse::TokenError>,
        http: &HttpAuth<'_>,
        now: Now,
    ) -> Decision {
        let digest = http.authorization.filter(|h| {
            h.trim_start()
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("digest "))
        });
        let has_token = !matches!(token, Ok(None));
        if digest.is_none() && !has_token {
            return Decision::Challenge {
                stale: false,
                failed: false,
            };
        }
        // The lockout is judged on the names the request claims, before any is verified.
        let digest_user = digest.and_then(digest::username_of);
        let token_user = match &token {
            Ok(Some(t)) => Some(t.username.as_str()),
            _ => None,
        };
        let claimed = digest_user.as_deref().into_iter().chain(token_user);
        if let Err(locked) = self.throttle.check(http.peer, claimed, now.instant) {
            let retry = locked.retry_after();
            self.warn("locked", now, |suppressed| {
                tracing::warn!(peer = %http.peer, operation = op.name, by = ?locked_by(locked), retry_after_secs = retry.as_secs(), suppressed, "refused: locked out after failed logins")
            });
            return Decision::Locked(retry);
        }
        // The user's level is read in the same lookup as the password.
        let mut principal: Option<(String, UserLevel)> = None;
        let level = Cell::new(None);
        let credentials = |u: &str| {
            let (password, l) = self.users.credentials(u)?;
            level.set(Some(l));
            Some(password)
        };
        if let Some(header) = digest {
            let authenticated =
                self.digest
                    .authenticate(header, http.method, http.uri, credentials, now.wall);
            let counted = match authenticated {
                Ok(a) => {
                    if let Some(e) = self.digest.refused(&a) {
                        // A replay: refused before it can use up the user's rate.
                        Err(e)
                    } else if let Err(retry) = self.rate.take(a.username(), now.instant) {
                        return self.rate_limited(a.username(), op, retry, now);
                    } else {
                        self.digest.count(a)
                    }
                }
                Err(e) => Err(e),
            };
            match counted {
                Ok(user) => principal = Some((user, level.get().unwrap_or(UserLevel::Anonymous))),
                Err(e) => {
                    self.note_failure(
                        http.peer,
                        e.is_credential_failure()
                            .then_some(digest_user.as_deref().unwrap_or("")),
                        op,
                        "HTTP digest",
                        &e.to_string(),
                        now,
                    );
                    return Decision::Challenge {
                        stale: e.is_stale(),
                        failed: !e.is_stale(),
                    };
                }
            }
        }
        match token {
            Ok(Some(token)) => {
                let level = Cell::new(None);
                let credentials = |u: &str| {
                    let (password, l) = self.users.credentials(u)?;
                    level.set(Some(l));
                    Some(password)
                };
                let checked = self.wsse.check(&token, credentials, now.utc());
                let admitted = match checked {
                    Ok(v) => match self.wsse.refused(&v, now.utc()) {
                        // A replay (or a token its user's share forgot): refused before it can
                        // use up the user's rate.
                        Some(e) => Err(e),
                        None => {
                            // Charged once per request: not again when the Digest user is the
                            // same.
                            let charged = principal
                                .as_ref()
                                .is_some_and(|(u, _)| *u == token.username);
                            if !charged
                                && let Err(retry) = self.rate.take(v.username(), now.instant)
                            {
                                return self.rate_limited(v.username(), op, retry, now);
                            }
                            self.wsse.admit(v, now.utc())
                        }
                    },
                    Err(e) => Err(e),
                };
                match admitted {
                    Ok(()) => {
                        principal =
                            Some((token.username, level.get().unwrap_or(UserLevel::Anonymous)))
                    }
                    Err(e) => {
                        self.note_failure(
                            http.peer,
                            e.is_credential_failure().then_some(token.username.as_str()),
                            op,
                            "UsernameToken",
                            &e.to_string(),
                            now,
                        );
                        return Decision::Refuse(SoapFault::not_authorized());
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                self.note_failure(http.peer, None, op, "UsernameToken", &e.to_string(), now);
                return Decision::Refuse(SoapFault::not_authorized());
            }
        }
        let Some((username, level)) = principal else {
            return Decision::Challenge {
                stale: false,
                failed: false,
            };
        };
        if !self.policy.allows(level, op.class) {
            self.warn("level", now, |suppressed| {
                tracing::warn!(user = %username, %level, operation = op.name, class = ?op.class, suppressed, "refused: user level too low")
            });
            return Decision::Refuse(SoapFault::not_authorized());
        }
        Decision::Allow(Principal {
            username: Some(username),
            level,
        })
    }

    fn rate_limited(&self, user: &str, op: &Operation, retry: Duration, now: Now) -> Decision {
        self.warn("rate", now, |suppressed| {
            tracing::warn!(
                user,
                operation = op.name,
                retry_after_ms = retry.as_millis() as u64,
                suppressed,
                "refused: user over its authentication rate (security.auth_rate_per_user)"
            )
        });
        Decision::RateLimited(retry)
    }

    /// Logs a refused credential; `guess` names the user a failed password guess counts
    /// against (`None`: not a guess).
    fn note_failure(
        &self,
        peer: IpAddr,
        guess: Option<&str>,
        op: &Operation,
        scheme: &'static str,
        reason: &str,
        now: Now,
    ) {
        let key = match (scheme, guess.is_some()) {
            ("HTTP digest", true) => "digest-guess",
            ("HTTP digest", false) => "digest",
            (_, true) => "token-guess",
            (_, false) => "token",
        };
        self.warn(key, now, |suppressed| {
            tracing::warn!(%peer, operation = op.name, scheme, reason, suppressed, "authentication failed")
        });
        if let Some(user) = guess
            && let Some(lock) = self.throttle.failure(peer, user, now.instant)
        {
            self.warn("lockout", now, |suppressed| {
                tracing::warn!(%peer, by = ?locked_by(lock), lockout_secs = lock.retry_after().as_secs(), suppressed, "too many failed logins: locked out")
            });
        }
    }
}

/// What a lockout is on, as a log field (the user name is not logged: it may be a password
/// typed in the wrong field).
fn locked_by(l: Locked) -> &'static str {
    match l {
        Locked::User(_) => "address and user",
        Locked::Address(_) => "address",
    }
}
