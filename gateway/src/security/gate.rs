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

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;

use crate::app::App;
use crate::soap::{Envelope, SoapFault};

use super::access::{AccessClass, Operation, allows};
use super::wsse;
use super::{Principal, UserLevel};

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

/// Decides on one request.
pub fn decide(app: &App, op: &Operation, envelope: &Envelope, http: &HttpAuth<'_>) -> Decision {
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
    if let Err(retry) = app.throttle.check(http.peer, Instant::now()) {
        tracing::warn!(peer = %http.peer, operation = op.name, retry_after_secs = retry.as_secs(), "refused: address locked out after failed logins");
        return Decision::Locked(retry);
    }
    // The user's level is read in the same lookup as the password.
    let mut principal: Option<(String, UserLevel)> = None;
    let level = std::cell::Cell::new(None);
    let credentials = |u: &str| {
        let (password, l) = app.users.credentials(u)?;
        level.set(Some(l));
        Some(password)
    };
    if let Some(header) = digest {
        match app.digest.verify(
            header,
            http.method,
            http.uri,
            credentials,
            SystemTime::now(),
        ) {
            Ok(user) => principal = Some((user, level.get().unwrap_or(UserLevel::Anonymous))),
            Err(e) => {
                note_failure(
                    app,
                    http.peer,
                    e.is_credential_failure(),
                    op,
                    "HTTP digest",
                    &e.to_string(),
                );
                return Decision::Challenge {
                    stale: e.is_stale(),
                };
            }
        }
    }
    match token {
        Ok(Some(token)) => match app.wsse.verify(&token, credentials, Utc::now()) {
            Ok(()) => {
                principal = Some((token.username, level.get().unwrap_or(UserLevel::Anonymous)))
            }
            Err(e) => {
                note_failure(
                    app,
                    http.peer,
                    e.is_credential_failure(),
                    op,
                    "UsernameToken",
                    &e.to_string(),
                );
                return Decision::Refuse(SoapFault::not_authorized());
            }
        },
        Ok(None) => {}
        Err(e) => {
            note_failure(app, http.peer, false, op, "UsernameToken", &e.to_string());
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

fn note_failure(app: &App, peer: IpAddr, counts: bool, op: &Operation, scheme: &str, reason: &str) {
    tracing::warn!(%peer, operation = op.name, scheme, reason, "authentication failed");
    if counts && let Some(lock) = app.throttle.failure(peer, Instant::now()) {
        tracing::warn!(%peer, lockout_secs = lock.as_secs(), "too many failed logins: address locked out");
    }
}
