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
//! An address that failed too often is locked out before any credential is looked at.
//!
//! [`Gate`] holds exactly what the decision needs: the credential store (behind
//! [`Credentials`]), the UsernameToken verifier with its replay cache, the Digest verifier
//! with its nonce counts, and the lockout table. Time comes in as an argument ([`Now`]), so
//! every rule is tested on a simulated clock (`tests.rs`).

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};

use crate::soap::{Envelope, SoapFault};

use super::access::{AccessClass, Operation, allows};
use super::digest::DigestAuth;
use super::throttle::Throttle;
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
    },
    /// Answer with this fault (`ter:NotAuthorized`).
    Refuse(SoapFault),
    /// The address is locked out after repeated failures; retry after this long.
    Locked(Duration),
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
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("wsse", &self.wsse)
            .field("digest", &self.digest)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate over `users` with these verifiers and this lockout table.
    pub fn new(
        users: Arc<dyn Credentials>,
        wsse: WsseVerifier,
        digest: DigestAuth,
        throttle: Throttle,
    ) -> Self {
        Gate {
            users,
            wsse,
            digest,
            throttle,
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
        let digest = http.authorization.filter(|h| {
            h.trim_start()
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("digest "))
        });
        let token = wsse::extract(envelope);
        let has_token = !matches!(token, Ok(None));
        if digest.is_none() && !has_token {
            return Decision::Challenge { stale: false };
        }
        if let Err(retry) = self.throttle.check(http.peer, now.instant) {
            tracing::warn!(peer = %http.peer, operation = op.name, retry_after_secs = retry.as_secs(), "refused: address locked out after failed logins");
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
            match self
                .digest
                .verify(header, http.method, http.uri, credentials, now.wall)
            {
                Ok(user) => principal = Some((user, level.get().unwrap_or(UserLevel::Anonymous))),
                Err(e) => {
                    self.note_failure(
                        http.peer,
                        e.is_credential_failure(),
                        op,
                        "HTTP digest",
                        &e.to_string(),
                        now,
                    );
                    return Decision::Challenge {
                        stale: e.is_stale(),
                    };
                }
            }
        }
        match token {
            Ok(Some(token)) => match self.wsse.verify(&token, credentials, now.utc()) {
                Ok(()) => {
                    principal = Some((token.username, level.get().unwrap_or(UserLevel::Anonymous)))
                }
                Err(e) => {
                    self.note_failure(
                        http.peer,
                        e.is_credential_failure(),
                        op,
                        "UsernameToken",
                        &e.to_string(),
                        now,
                    );
                    return Decision::Refuse(SoapFault::not_authorized());
                }
            },
            Ok(None) => {}
            Err(e) => {
                self.note_failure(http.peer, false, op, "UsernameToken", &e.to_string(), now);
                return Decision::Refuse(SoapFault::not_authorized());
            }
        }
        let Some((username, level)) = principal else {
            return Decision::Challenge { stale: false };
        };
        if !allows(level, op.class) {
            tracing::warn!(user = %username, %level, operation = op.name, class = ?op.class, "refused: user level too low");
            return Decision::Refuse(SoapFault::not_authorized());
        }
        Decision::Allow(Principal {
            username: Some(username),
            level,
        })
    }

    fn note_failure(
        &self,
        peer: IpAddr,
        counts: bool,
        op: &Operation,
        scheme: &str,
        reason: &str,
        now: Now,
    ) {
        tracing::warn!(%peer, operation = op.name, scheme, reason, "authentication failed");
        if counts && let Some(lock) = self.throttle.failure(peer, now.instant) {
            tracing::warn!(%peer, lockout_secs = lock.as_secs(), "too many failed logins: address locked out");
        }
    }
}
