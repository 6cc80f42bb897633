//! Prometheus metrics (`--metrics-listen`, `metrics.listen`; off by default), in the
//! OpenMetrics text format written by the `prometheus-client` crate.
//!
//! Counted as they happen: SOAP requests by service, operation and result (`ok` or the
//! fault's most specific subcode), and refused authentications by kind. Read from their
//! owners at each scrape: live subscriptions by kind, events stored (the store's last
//! sequence number), events deleted for size, the store's size, the WAL's largest size, and
//! each controller link's state. A leaf: the HTTP layer counts, the serving side (`runtime`)
//! fills the scrape-time values.

use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use railgate_adapters::stats::{CYCLE_BUCKETS, LinkStatsSnapshot};

/// The labels of a request: all from static tables (the services, the operation table,
/// the fault subcodes), so counting a request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The service's endpoint name (`device`, `deviceio`, `event`, `advanced_security`).
    pub service: &'static str,
    /// The operation.
    pub operation: &'static str,
    /// `ok`, or the fault's most specific subcode (`ter:NotAuthorized`, ...).
    pub result: &'static str,
}

/// The labels of a refused authentication.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// `refused` (bad credentials or too low a level), `locked`, `rate_limited`.
    pub kind: String,
}

/// The label of the per-kind gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind.
    pub kind: String,
}

/// The label of a controller's gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabel {
    /// The controller's name in the mapping.
    pub controller: String,
}

/// The scrape-time values the serving side reads from the owners.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Live pull-point subscriptions.
    pub pull_points: i64,
    /// Live push (Subscribe) subscriptions.
    pub push: i64,
    /// The last event sequence number committed (events stored since the store began).
    pub events_stored: u64,
    /// Events deleted because the store passed its size bound.
    pub events_deleted_for_size: u64,
    /// The store's size in use, bytes.
    pub store_bytes: i64,
    /// The largest WAL size seen, bytes.
    pub wal_bytes: i64,
    /// Each controller, up or not.
    pub links: Vec<(String, bool)>,
    /// The link counters of the controllers that keep them (Modbus).
    pub link_stats: Vec<(String, LinkStatsSnapshot)>,
}

/// The poll-cycle histograms, encoded at each scrape from the last snapshot.
#[derive(Debug, Default, Clone)]
struct PollCycles(std::sync::Arc<Mutex<Vec<(String, LinkStatsSnapshot)>>>);

impl prometheus_client::collector::Collector for PollCycles {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        let stats = self.0.lock();
        if stats.is_empty() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(
            "poll_cycle_seconds",
            "Duration of each controller's poll cycles",
            None,
            prometheus_client::metrics::MetricType::Histogram,
        )?;
        for (name, s) in stats.iter() {
            let labels = ControllerLabel {
                controller: name.clone(),
            };
            let buckets: Vec<(f64, u64)> = CYCLE_BUCKETS
                .iter()
                .copied()
                // f64::MAX is how the encoder spells the +Inf bucket.
                .chain(std::iter::once(f64::MAX))
                .zip(s.cycles.iter().copied())
                .collect();
            let count = s.cycles.iter().sum();
            family
                .encode_family(&labels)?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    s.cycle_seconds,
                    count,
                    &buckets,
                    None,
                )?;
        }
        Ok(())
    }
}

/// The metrics of one gateway.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    auth_failures: Family<AuthLabels, Counter>,
    subscriptions: Family<KindLabel, Gauge>,
    events_stored: Counter<u64, AtomicU64>,
    events_deleted: Counter<u64, AtomicU64>,
    store_bytes: Gauge,
    wal_bytes: Gauge,
    link_up: Family<ControllerLabel, Gauge>,
    commit_seconds: Histogram,
    notifications: Family<KindLabel, Counter>,
    link_requests: Family<ControllerLabel, Counter>,
    link_retries: Family<ControllerLabel, Counter>,
    link_timeouts: Family<ControllerLabel, Counter>,
    link_failures: Family<ControllerLabel, Counter>,
    poll_cycles: PollCycles,
    /// One scrape at a time (the counters set from the snapshot move forward only).
    scraping: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("railgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "soap_requests",
            "SOAP requests by service, operation and result (ok or the fault's subcode)",
            requests.clone(),
        );
        let auth_failures = Family::<AuthLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Refused authentications by kind",
            auth_failures.clone(),
        );
        let subscriptions = Family::<KindLabel, Gauge>::default();
        registry.register(
            "subscriptions",
            "Live event subscriptions by kind (pull_point, push)",
            subscriptions.clone(),
        );
        let events_stored = Counter::<u64, AtomicU64>::default();
        registry.register(
            "events_stored",
            "Events committed to the event store",
            events_stored.clone(),
        );
        let events_deleted = Counter::<u64, AtomicU64>::default();
        registry.register(
            "events_deleted_for_size",
            "Events deleted because the store passed its size bound",
            events_deleted.clone(),
        );
        let store_bytes = Gauge::default();
        registry.register(
            "event_store_bytes",
            "The event store's size in use",
            store_bytes.clone(),
        );
        let wal_bytes = Gauge::default();
        registry.register(
            "event_store_wal_bytes",
            "The largest write-ahead log size seen",
            wal_bytes.clone(),
        );
        let link_up = Family::<ControllerLabel, Gauge>::default();
        registry.register(
            "controller_link_up",
            "Each controller's link: 1 up, 0 down",
            link_up.clone(),
        );
        // 0.25 ms to 4 s: an fsync on an SD card takes milliseconds to a second.
        let commit_seconds = Histogram::new([0.000_25, 0.001, 0.004, 0.016, 0.064, 0.25, 1.0, 4.0]);
        registry.register(
            "event_store_commit_seconds",
            "Time of each event store transaction (batch insert, commit, fsync)",
            commit_seconds.clone(),
        );
        let notifications = Family::<KindLabel, Counter>::default();
        registry.register(
            "push_notifications",
            "Push (Subscribe) notification messages: delivered, failed (retried), dropped (queue full)",
            notifications.clone(),
        );
        let controller_counter = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<ControllerLabel, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let link_requests = controller_counter(
            &mut registry,
            "controller_requests",
            "Requests sent to each controller (every attempt)",
        );
        let link_retries = controller_counter(
            &mut registry,
            "controller_retries",
            "Attempts repeating a failed request, per controller",
        );
        let link_timeouts = controller_counter(
            &mut registry,
            "controller_timeouts",
            "Attempts a controller did not answer in time",
        );
        let link_failures = controller_counter(
            &mut registry,
            "controller_failures",
            "Requests that failed after every retry, per controller",
        );
        let poll_cycles = PollCycles::default();
        registry.register_collector(Box::new(poll_cycles.clone()));
        Metrics {
            link_requests,
            link_retries,
            link_timeouts,
            link_failures,
            poll_cycles,
            notifications,
            commit_seconds,
            registry,
            requests,
            auth_failures,
            subscriptions,
            events_stored,
            events_deleted,
            store_bytes,
            wal_bytes,
            link_up,
            scraping: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Counts one SOAP request.
    pub fn request(&self, service: &'static str, operation: &'static str, result: &'static str) {
        self.requests
            .get_or_create(&RequestLabels {
                service,
                operation,
                result,
            })
            .inc();
    }

    /// Counts `n` push notification messages of `kind` (delivered, failed, dropped).
    pub fn notifications(&self, kind: &str, n: u64) {
        if n > 0 {
            self.notifications
                .get_or_create(&KindLabel {
                    kind: kind.to_owned(),
                })
                .inc_by(n);
        }
    }

    /// Observes one event store commit.
    pub fn commit(&self, took: std::time::Duration) {
        self.commit_seconds.observe(took.as_secs_f64());
    }

    /// Counts one refused authentication.
    pub fn auth_failure(&self, kind: &str) {
        self.auth_failures
            .get_or_create(&AuthLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// The exposition, with the scrape-time values of `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let _one = self.scraping.lock();
        let kind = |k: &str| KindLabel { kind: k.to_owned() };
        self.subscriptions
            .get_or_create(&kind("pull_point"))
            .set(snapshot.pull_points);
        self.subscriptions
            .get_or_create(&kind("push"))
            .set(snapshot.push);
        let forward = |c: &Counter<u64, AtomicU64>, to: u64| {
            let now = c.get();
            if to > now {
                c.inc_by(to - now);
            }
        };
        forward(&self.events_stored, snapshot.events_stored);
        forward(&self.events_deleted, snapshot.events_deleted_for_size);
        self.store_bytes.set(snapshot.store_bytes);
        self.wal_bytes.set(snapshot.wal_bytes);
        for (name, stats) in &snapshot.link_stats {
            let label = ControllerLabel {
                controller: name.clone(),
            };
            for (family, value) in [
                (&self.link_requests, stats.requests),
                (&self.link_retries, stats.retries),
                (&self.link_timeouts, stats.timeouts),
                (&self.link_failures, stats.failures),
            ] {
                forward(&family.get_or_create(&label), value);
            }
        }
        self.poll_cycles.0.lock().clone_from(&snapshot.link_stats);
        for (name, up) in &snapshot.links {
            self.link_up
                .get_or_create(&ControllerLabel {
                    controller: name.clone(),
                })
                .set(i64::from(*up));
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics could not be written");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_snapshots_are_exposed() {
        let m = Metrics::default();
        m.request("device", "GetDeviceInformation", "ok");
        m.request("device", "GetDeviceInformation", "ok");
        m.request("device", "GetUsers", "ter:NotAuthorized");
        m.auth_failure("refused");
        let stats = railgate_adapters::stats::LinkStats::default();
        stats.request(false);
        stats.request(true);
        stats.timeout();
        stats.cycle(std::time::Duration::from_millis(30));
        let text = m.render(&Snapshot {
            pull_points: 2,
            events_stored: 7,
            links: vec![("panel".into(), true), ("io".into(), false)],
            link_stats: vec![("panel".into(), stats.snapshot())],
            ..Snapshot::default()
        });
        assert!(
            text.contains(r#"railgate_controller_requests_total{controller="panel"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"railgate_controller_retries_total{controller="panel"} 1"#));
        assert!(text.contains(r#"railgate_controller_timeouts_total{controller="panel"} 1"#));
        assert!(
            text.contains(r#"railgate_poll_cycle_seconds_bucket{le="0.025",controller="panel"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"railgate_poll_cycle_seconds_bucket{le="0.05",controller="panel"} 1"#)
        );
        assert!(text.contains(r#"railgate_poll_cycle_seconds_count{controller="panel"} 1"#));
        assert!(text.contains(
            r#"railgate_soap_requests_total{service="device",operation="GetDeviceInformation",result="ok"} 2"#
        ), "{text}");
        assert!(text.contains(r#"railgate_auth_failures_total{kind="refused"} 1"#));
        assert!(text.contains(r#"railgate_subscriptions{kind="pull_point"} 2"#));
        assert!(text.contains("railgate_events_stored_total 7"));
        assert!(text.contains(r#"railgate_controller_link_up{controller="io"} 0"#));
        assert!(text.ends_with("# EOF\n"));
        m.commit(std::time::Duration::from_millis(2));
        let with_commit = m.render(&Snapshot::default());
        assert!(
            with_commit.contains("railgate_event_store_commit_seconds_count 1"),
            "{with_commit}"
        );
        assert!(
            with_commit.contains(r#"railgate_event_store_commit_seconds_bucket{le="0.004"} 1"#)
        );
        // A counter taken from a snapshot never goes back.
        let again = m.render(&Snapshot::default());
        assert!(again.contains("railgate_events_stored_total 7"));
    }
}
