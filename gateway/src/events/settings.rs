//! The `events` section of the configuration as the subscriptions and the push consumer check
//! take it: built for the start (`App::build`) and again for a reload.
//!
//! Changed by a reload: the subscription limits (`max_pull_points`, `max_push_subscriptions`
//! and their per-user shares; subscriptions already there stay, also above a lowered limit)
//! and `consumer_networks` (checked at the next Subscribe). Read only at start
//! ([`read_at_start`]): the store's bounds (`retention_days`, `max_events`, `max_wal_mib`,
//! `max_store_mib`), which its writer thread holds.

use crate::addr::Network;
use crate::config::EventsConfig;

use super::subscription::SubscriptionLimits;

/// The subscription limits `ev` gives.
pub fn limits(ev: &EventsConfig) -> SubscriptionLimits {
    SubscriptionLimits {
        max_pull_points: ev.max_pull_points,
        max_pull_points_per_user: ev.max_pull_points_per_user,
        max_push: ev.max_push_subscriptions,
        max_push_per_user: ev.max_push_subscriptions_per_user,
        ..SubscriptionLimits::default()
    }
}

/// The push consumer networks `ev` names (the configuration check refused any that do not
/// parse).
pub fn consumer_networks(ev: &EventsConfig) -> Vec<Network> {
    ev.consumer_networks
        .iter()
        .filter_map(|n| Network::parse(n))
        .collect()
}

/// The keys of `events` that differ between `old` and `new` and are read only at start.
pub fn read_at_start(old: &EventsConfig, new: &EventsConfig) -> Vec<&'static str> {
    [
        (
            "events.retention_days",
            old.retention_days != new.retention_days,
        ),
        ("events.max_events", old.max_events != new.max_events),
        ("events.max_wal_mib", old.max_wal_mib != new.max_wal_mib),
        (
            "events.max_store_mib",
            old.max_store_mib != new.max_store_mib,
        ),
    ]
    .into_iter()
    .filter_map(|(key, differs)| differs.then_some(key))
    .collect()
}

/// What runs after a reload from `old` to `new`: `new`, with the keys read only at start as
/// they were.
pub fn applied(old: &EventsConfig, new: &EventsConfig) -> EventsConfig {
    EventsConfig {
        retention_days: old.retention_days,
        max_events: old.max_events,
        max_wal_mib: old.max_wal_mib,
        max_store_mib: old.max_store_mib,
        ..new.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_networks_change_live_and_the_store_bounds_are_named() {
        let old = EventsConfig::default();
        let mut new = old.clone();
        new.max_pull_points = 3;
        new.consumer_networks = vec!["10.0.0.0/8".into()];
        assert!(read_at_start(&old, &new).is_empty());
        assert_eq!(limits(&new).max_pull_points, 3);
        assert_eq!(consumer_networks(&new).len(), 1);
        new.retention_days += 1;
        assert_eq!(read_at_start(&old, &new), ["events.retention_days"]);
        let running = applied(&old, &new);
        assert_eq!(
            (running.retention_days, running.max_pull_points),
            (old.retention_days, 3)
        );
    }
}
