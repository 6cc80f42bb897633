//! The WS-Security header and UsernameToken reader (`railgate::security::wsse`) on parsed
//! envelopes: `extract`, `parse_created` and `WsseVerifier::verify`.
//!
//! Invariants:
//! - no panic, whatever the envelope (and whatever Created says: far past, far future,
//!   offsets, fractions);
//! - a token as sent is never accepted with a password the client could not know;
//! - when the token's Nonce and Created are readable, the same token with the correct
//!   PasswordDigest is accepted once at its Created time, refused as a replay the second
//!   time, and refused as stale once Created is older than the window; the same holds for a
//!   correct PasswordText when text passwords are allowed.
#![no_main]

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use railgate::security::Secret;
use railgate::security::wsse::{
    self, PasswordType, TokenError, UsernameToken, WsseConfig, WsseVerifier,
};
use railgate::soap::parse_envelope;
use railgate::xml::Limits;

const PASSWORD: &str = "\u{1}fuzz-password-never-sent\u{1}";
const WINDOW: Duration = Duration::from_secs(300);

fn config(allow_text: bool) -> WsseConfig {
    WsseConfig {
        max_skew: Some(WINDOW),
        allow_password_text: allow_text,
        ..WsseConfig::default()
    }
}

fn password_of(_user: &str) -> Option<Secret> {
    Some(Secret::new(PASSWORD))
}

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = parse_envelope(data, &Limits::default()) else {
        return;
    };
    let Ok(Some(token)) = wsse::extract(&envelope) else {
        return;
    };
    let fixed_now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("a date")
        .with_timezone(&Utc);
    let created = token.created.as_deref().and_then(wsse::parse_created);

    // The token as sent: a password nobody sent can never match (unless the input holds it).
    let knows = token.password.expose() == PASSWORD
        || match (&token.nonce, &token.created) {
            (Some(n), Some(c)) => token.password.expose() == wsse::password_digest(n, c, PASSWORD),
            _ => false,
        };
    for allow_text in [false, true].into_iter().filter(|_| !knows) {
        let v = WsseVerifier::new(config(allow_text));
        for now in [
            fixed_now,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ]
        .into_iter()
        .chain(created)
        {
            let r = v.verify(&token, password_of, now);
            assert!(
                r.is_err(),
                "accepted a token without the password: {token:?}"
            );
        }
    }

    // The same token with the right digest, when Nonce and Created are readable.
    if let (Some(nonce), Some(created_text), Some(when)) = (&token.nonce, &token.created, created) {
        let good = UsernameToken {
            password: Secret::new(wsse::password_digest(nonce, created_text, PASSWORD)),
            password_type: PasswordType::Digest,
            ..token.clone()
        };
        let v = WsseVerifier::new(config(false));
        assert_eq!(v.verify(&good, password_of, when), Ok(()), "{good:?}");
        assert_eq!(
            v.verify(&good, password_of, when),
            Err(TokenError::Replayed),
            "{good:?}"
        );
        let late = TimeDelta::from_std(WINDOW).expect("window") + TimeDelta::seconds(1);
        if let Some(later) = when.checked_add_signed(late) {
            assert_eq!(
                v.verify(&good, password_of, later),
                Err(TokenError::Stale),
                "{good:?}"
            );
        }
    }

    // A correct PasswordText, when allowed.
    let text = UsernameToken {
        password: Secret::new(PASSWORD),
        password_type: PasswordType::Text,
        ..token.clone()
    };
    let v = WsseVerifier::new(config(true));
    let now = created.unwrap_or(fixed_now);
    let r = v.verify(&text, password_of, now);
    match (&token.created, created) {
        (Some(_), None) => assert!(matches!(r, Err(TokenError::Malformed(_))), "{r:?}"),
        _ => assert_eq!(r, Ok(()), "{text:?}"),
    }
});
