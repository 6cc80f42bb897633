//! The `security` section of the configuration as the gate's parts take it: built for the
//! start (`App::build`) and again for a reload, which hands it to [`super::gate::Gate::reconfigure`].
//!
//! Changed by a reload: the UsernameToken rules (`allow_password_text`, `created_window_secs`,
//! `max_clock_skew_secs`, `replay_cache_size`), the lockout (`lockout_*`), the
//! authentication rate (`auth_rate_per_user`, `auth_burst_per_user`) and
//! `digest_nonce_lifetime_secs`. Read only at start ([`read_at_start`]): `realm` (clients hold
//! digests computed with it), `digest_nonces_per_user`, and the user directory's limits
//! (`max_users`, `min_password_length`, `fixed_users`).

use std::time::Duration;

use super::throttle::ThrottleConfig;
use super::user_rate::UserRateConfig;
use super::wsse::WsseConfig;
use crate::config::SecurityConfig;

/// The settings of the gate's parts.
#[derive(Clone, Debug)]
pub struct GateSettings {
    /// UsernameToken verification.
    pub wsse: WsseConfig,
    /// The lockout.
    pub throttle: ThrottleConfig,
    /// Authentications per user.
    pub rate: UserRateConfig,
    /// How long an HTTP Digest nonce is accepted.
    pub nonce_lifetime: Duration,
}

impl GateSettings {
    /// The settings `sec` gives.
    pub fn of(sec: &SecurityConfig) -> GateSettings {
        GateSettings {
            wsse: WsseConfig {
                max_skew: (sec.created_window_secs > 0)
                    .then(|| Duration::from_secs(sec.created_window_secs)),
                allow_password_text: sec.allow_password_text,
                max_future: Duration::from_secs(sec.max_clock_skew_secs),
                replay_capacity: sec.replay_cache_size,
                ..WsseConfig::default()
            },
            throttle: ThrottleConfig {
                max_failures: sec.lockout_after_failures,
                window: Duration::from_secs(sec.lockout_window_secs),
                lockout: Duration::from_secs(sec.lockout_secs),
                max_lockout: Duration::from_secs(sec.max_lockout_secs),
                max_address_failures: sec.lockout_address_failures,
                capacity: sec.lockout_table_size,
            },
            rate: UserRateConfig {
                per_second: sec.auth_rate_per_user,
                burst: sec.auth_burst_per_user,
            },
            nonce_lifetime: Duration::from_secs(sec.digest_nonce_lifetime_secs),
        }
    }
}

/// The keys of `security` that differ between `old` and `new` and are read only at start.
pub fn read_at_start(old: &SecurityConfig, new: &SecurityConfig) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut key = |name, differs: bool| {
        if differs {
            keys.push(name);
        }
    };
    key("security.realm", old.realm != new.realm);
    key(
        "security.digest_nonces_per_user",
        old.digest_nonces_per_user != new.digest_nonces_per_user,
    );
    key("security.max_users", old.max_users != new.max_users);
    key(
        "security.min_password_length",
        old.min_password_length != new.min_password_length,
    );
    key("security.fixed_users", old.fixed_users != new.fixed_users);
    keys
}

/// What runs after a reload from `old` to `new`: `new`, with the keys read only at start as
/// they were (so the next reload names them again until a restart).
pub fn applied(old: &SecurityConfig, new: &SecurityConfig) -> SecurityConfig {
    SecurityConfig {
        realm: old.realm.clone(),
        digest_nonces_per_user: old.digest_nonces_per_user,
        max_users: old.max_users,
        min_password_length: old.min_password_length,
        fixed_users: old.fixed_users.clone(),
        ..new.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_only_keys_are_named_and_the_live_ones_are_not() {
        let old = SecurityConfig::default();
        let mut new = old.clone();
        new.allow_password_text = !old.allow_password_text;
        new.lockout_secs += 1;
        assert!(read_at_start(&old, &new).is_empty());
        new.realm = "elsewhere".into();
        new.max_users += 1;
        assert_eq!(
            read_at_start(&old, &new),
            ["security.realm", "security.max_users"]
        );
        let running = applied(&old, &new);
        assert_eq!(running.realm, old.realm);
        assert_eq!(running.allow_password_text, new.allow_password_text);
        assert!(
            read_at_start(&running, &new).len() == 2,
            "named again next time"
        );
        let s = GateSettings::of(&new);
        assert_eq!(s.wsse.allow_password_text, new.allow_password_text);
        assert_eq!(s.throttle.lockout, Duration::from_secs(new.lockout_secs));
    }
}
