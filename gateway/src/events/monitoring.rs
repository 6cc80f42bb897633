//! Monitoring events about the gateway itself, as ONVIF Core defines them:
//! `tns1:Monitoring/ProcessorUsage` and `tns1:Monitoring/OperatingTime/{LastReboot,LastReset,
//! LastClockSynchronization}`. Each southbound controller's link state and failing points are
//! [`super::controllers`]' (published by the southbound publisher, in order with the
//! controller's readings).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::core::EventCore;
use super::model::{Event, Item, Topic};
use super::time::utc;

const PRODUCER: &str = "railgate";
/// ProcessorUsage is re-raised when it moves by at least this many percentage points.
const CPU_DEADBAND: f64 = 5.0;
/// Where systemd-timesyncd records its last synchronization (its modification time).
const TIMESYNC_CLOCK: &str = "/var/lib/systemd/timesync/clock";

fn property(topic: &str, source: Vec<Item>, data: Vec<Item>) -> Event {
    Event {
        utc: Utc::now(),
        topic: Topic::onvif(topic),
        operation: None,
        source,
        key: vec![],
        data,
        producer: PRODUCER.into(),
    }
}

/// Boot time of the host, from `/proc/stat`'s `btime`.
fn boot_time() -> Option<DateTime<Utc>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let secs: i64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// When the clock was last synchronized, if the host records it.
fn last_clock_sync() -> Option<DateTime<Utc>> {
    let modified: SystemTime = std::fs::metadata(TIMESYNC_CLOCK).ok()?.modified().ok()?;
    Some(modified.into())
}

/// Busy and total jiffies of all CPUs, from `/proc/stat`.
fn cpu_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    let total: u64 = fields.iter().sum();
    Some((total - idle, total))
}

/// "Never happened", as Core says to report it.
fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(0, 0).unwrap_or_default()
}

/// Raises the start-up states, then samples until `stop`.
pub async fn run(core: EventCore, stop: CancellationToken) {
    let status = |t: DateTime<Utc>| vec![Item::simple("Status", utc(t))];
    let startup = [
        (
            "Monitoring/OperatingTime/LastReboot",
            boot_time().unwrap_or_else(epoch),
        ),
        ("Monitoring/OperatingTime/LastReset", epoch()),
        (
            "Monitoring/OperatingTime/LastClockSynchronization",
            last_clock_sync().unwrap_or_else(epoch),
        ),
    ];
    for (topic, at) in startup {
        if let Err(e) = core.set_property(property(topic, vec![], status(at))).await {
            tracing::warn!(error = %e, topic, "cannot raise a monitoring event");
        }
    }
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut previous = cpu_jiffies();
    let mut reported: Option<f64> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => break,
        }
        let now = cpu_jiffies();
        if let (Some((busy0, total0)), Some((busy1, total1))) = (previous, now)
            && total1 > total0
        {
            let usage = 100.0 * (busy1.saturating_sub(busy0)) as f64 / (total1 - total0) as f64;
            if reported.is_none_or(|r| (r - usage).abs() >= CPU_DEADBAND) {
                reported = Some(usage);
                let e = property(
                    "Monitoring/ProcessorUsage",
                    vec![Item::simple("Token", "cpu")],
                    vec![Item::simple("Value", format!("{usage:.1}"))],
                );
                if let Err(e) = core.set_property(e).await {
                    tracing::warn!(error = %e, "cannot raise ProcessorUsage");
                }
            }
        }
        previous = now;
        if let Some(t) = last_clock_sync() {
            let e = property(
                "Monitoring/OperatingTime/LastClockSynchronization",
                vec![],
                status(t),
            );
            let _ = core.set_property(e).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_facts_are_readable() {
        assert!(boot_time().is_some_and(|t| t < Utc::now()));
        let (busy, total) = cpu_jiffies().unwrap();
        assert!(total >= busy && total > 0);
    }
}
