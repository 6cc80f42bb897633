//! Abuse resistance for the target service: token buckets (overall and per source) so that
//! railgate cannot be used to amplify traffic, and a bounded memory of recent MessageIDs so
//! that the repetitions SOAP-over-UDP makes of one request are answered once.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub(super) use crate::bucket::Bucket;

/// Who a source is for rate limiting: an IPv4 address, an IPv6 /64 (one host may use a whole
/// /64), or a full IPv6 link-local address (every on-link host shares `fe80::/64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum SourceKey {
    /// IPv4 (IPv4-mapped IPv6 included).
    V4([u8; 4]),
    /// The upper 64 bits of a global IPv6 address.
    V6Prefix(u64),
    /// A link-local IPv6 address.
    V6LinkLocal(u128),
}

impl SourceKey {
    /// The key of a source address.
    pub(super) fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => SourceKey::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                if v6.is_unicast_link_local() {
                    SourceKey::V6LinkLocal(bits)
                } else {
                    SourceKey::V6Prefix((bits >> 64) as u64)
                }
            }
        }
    }
}

/// One bucket per source, at most `capacity` of them.
#[derive(Debug)]
pub(super) struct PerSource {
    buckets: HashMap<SourceKey, Bucket>,
    capacity: usize,
}

impl PerSource {
    /// An empty table.
    pub(super) fn new(capacity: usize) -> Self {
        PerSource {
            buckets: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The bucket of `key`, created full. When the table is full, buckets that are full
    /// again are forgotten first (they are as good as new), then the least recently used.
    pub(super) fn bucket(
        &mut self,
        key: SourceKey,
        rate: f64,
        burst: u32,
        now: Instant,
    ) -> &mut Bucket {
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.capacity {
            self.buckets.retain(|_, b| !b.is_full(rate, burst, now));
            if self.buckets.len() >= self.capacity
                && let Some(oldest) = self
                    .buckets
                    .iter()
                    .min_by_key(|(_, b)| b.last())
                    .map(|(k, _)| *k)
            {
                self.buckets.remove(&oldest);
            }
        }
        self.buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(burst, now))
    }

    /// How many sources are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buckets.len()
    }
}

/// The MessageIDs of recent requests, by source address, for `window`; at most `capacity`
/// (the oldest are forgotten first).
#[derive(Debug)]
pub(super) struct RecentIds {
    entries: VecDeque<(Instant, IpAddr, String)>,
    window: Duration,
    capacity: usize,
}

impl RecentIds {
    /// An empty memory.
    pub(super) fn new(window: Duration, capacity: usize) -> Self {
        RecentIds {
            entries: VecDeque::new(),
            window,
            capacity: capacity.max(1),
        }
    }

    /// Records `id` from `from`; `false` if it was already seen within the window.
    pub(super) fn first_time(&mut self, from: IpAddr, id: &str, now: Instant) -> bool {
        while let Some((at, _, _)) = self.entries.front() {
            if now.saturating_duration_since(*at) < self.window {
                break;
            }
            self.entries.pop_front();
        }
        let from = from.to_canonical();
        if self
            .entries
            .iter()
            .any(|(_, ip, seen)| *ip == from && seen == id)
        {
            return false;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((now, from, id.to_string()));
        true
    }

    /// How many MessageIDs are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_grouped_sensibly() {
        let a = SourceKey::of("2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0; 4])));
        let b = SourceKey::of(
            "2001:db8:1:2:ffff::9"
                .parse()
                .unwrap_or(IpAddr::from([0; 4])),
        );
        let c = SourceKey::of("2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4])));
        assert_eq!(a, b, "one /64");
        assert_ne!(a, c);
        let l1 = SourceKey::of("fe80::1".parse().unwrap_or(IpAddr::from([0; 4])));
        let l2 = SourceKey::of("fe80::2".parse().unwrap_or(IpAddr::from([0; 4])));
        assert_ne!(l1, l2, "link-local hosts are told apart");
        let mapped = SourceKey::of("::ffff:192.0.2.1".parse().unwrap_or(IpAddr::from([0; 4])));
        assert_eq!(mapped, SourceKey::V4([192, 0, 2, 1]));
    }

    #[test]
    fn per_source_table_is_bounded() {
        let t0 = Instant::now();
        let mut table = PerSource::new(4);
        for i in 0..10u8 {
            let b = table.bucket(SourceKey::V4([10, 0, 0, i]), 1.0, 2, t0);
            b.take();
            assert!(table.len() <= 4);
        }
        // Later, every bucket is full again and they all make room.
        let later = t0 + Duration::from_secs(10);
        table.bucket(SourceKey::V4([10, 0, 1, 0]), 1.0, 2, later);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn recent_ids_expire_and_are_bounded() {
        let t0 = Instant::now();
        let ip = IpAddr::from([192, 0, 2, 1]);
        let other = IpAddr::from([192, 0, 2, 2]);
        let mut recent = RecentIds::new(Duration::from_secs(5), 3);
        assert!(recent.first_time(ip, "a", t0));
        assert!(!recent.first_time(ip, "a", t0 + Duration::from_secs(4)));
        assert!(recent.first_time(other, "a", t0), "another source");
        assert!(recent.first_time(ip, "a", t0 + Duration::from_secs(5)));
        for id in ["b", "c", "d", "e"] {
            assert!(recent.first_time(ip, id, t0 + Duration::from_secs(6)));
        }
        assert_eq!(recent.len(), 3);
    }
}
