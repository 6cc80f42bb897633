//! Authentication and authorization, enforced before any operation runs.
//!
//! - [`gate`]: the decision on each request ([`gate::Gate::decide`]): credentials, lockout,
//!   access policy. Built from the pieces below, with time as an argument.
//! - [`access`]: access classes, user levels, the default access policy; [`access_table`]
//!   (generated) gives every operation its class, [`lookup`] finds a request's operation in it.
//! - [`wsse`]: WS-Security UsernameToken (PasswordDigest; PasswordText only when allowed),
//!   with a Created freshness window and a nonce replay cache (a bounded share per user).
//! - [`digest`]: HTTP Digest (RFC 7616: MD5 and SHA-256, qop=auth, expiring nonces, nc
//!   replay protection, bounded per user).
//! - [`throttle`]: lockout after repeated failed logins, per (address, user name), with a
//!   per-address ceiling.
//! - [`user_rate`]: authentications per second per user (token bucket).
//! - [`policy`]: the access policy in force (Core's default, or a bounded site document:
//!   GetAccessPolicy/SetAccessPolicy).
//! - [`users`]: the credential store both schemes share (GetUsers/CreateUsers/...).
//! - [`secret`]: a password type that never prints.

pub mod access;
pub mod access_table;
pub mod digest;
pub mod gate;
pub mod ip_filter;
pub mod lookup;
pub mod policy;
pub mod secret;
pub mod settings;
pub mod throttle;
pub mod user_rate;
pub mod user_table;
pub mod users;
pub mod wsse;

pub use access::{AccessClass, UserLevel};
pub use secret::Secret;

/// Whoever sent a request, as far as authentication could tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The user name; `None` for anonymous requests.
    pub username: Option<String>,
    /// The level the access policy uses.
    pub level: UserLevel,
}

impl Principal {
    /// An unauthenticated sender.
    pub fn anonymous() -> Self {
        Principal {
            username: None,
            level: UserLevel::Anonymous,
        }
    }

    /// The user name as a log field: `by=admin`, and no field at all when anonymous.
    pub fn log_name(&self) -> Option<tracing::field::DisplayValue<&str>> {
        self.username.as_deref().map(tracing::field::display)
    }
}

/// Compares two byte strings in time independent of their content and of where they differ:
/// both are hashed first, so neither the position of the first difference nor the length of
/// the stored value shows in the timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (ha, hb) = (Sha256::digest(a), Sha256::digest(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}
