//! Monitoring events about the gateway itself, as ONVIF Core defines them:
//! `tns1:Monitoring/ProcessorUsage` and `tns1:Monitoring/OperatingTime/{LastReboot,LastReset,
//! LastClockSynchronization}`; and, in railgate's namespace, `rg:Monitoring/EventStorage`:
//! whether the event store can write (Source `Store` = `events`; Data `State`: `Ok` or `Full`,
//! and `Refused` (xs:int): events refused in the outage that began (at `Full`: those of the
//! batch that met the full disk) or ended (at `Ok`: all of them)). It exists from start
//! (`Ok`, 0) and changes on each outage. It is raised *held* (`EventStore::enqueue_held`): a
//! full disk does not refuse it; the store writes it in the room its reserve file leaves, or
//! else first on recovery, so it is persisted and published like every event, never lost and
//! never delivered from memory only. Each southbound controller's link state and failing points
//! are [`super::controllers`]' (published by the southbound publisher, in order with the
//! controller's readings).

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use railgate_mappings::topics::{EVENT_STORAGE, RAILGATE_TOPICS};

use super::core::EventCore;
use super::model::{Event, Item, Topic};
use super::store::StorageState;
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

/// `rg:Monitoring/EventStorage`.
pub fn event_storage_topic() -> Topic {
    Topic {
        ns: RAILGATE_TOPICS.to_string(),
        path: EVENT_STORAGE.to_string(),
    }
}

/// The `rg:Monitoring/EventStorage` property for `state`.
pub fn event_storage(state: StorageState) -> Event {
    Event {
        utc: Utc::now(),
        topic: event_storage_topic(),
        operation: None,
        source: vec![Item::simple("Store", "events")],
        key: vec![],
        data: vec![
            Item::simple("State", if state.full { "Full" } else { "Ok" }),
            Item::simple("Refused", state.refused.to_string()),
        ],
        producer: PRODUCER.into(),
    }
}

/// The states to raise, in order, when the store's state moved from `seen` to `now` (a watch
/// keeps only the latest value: an outage that began and ended in between is raised too).
fn storage_transitions(seen: StorageState, now: StorageState) -> Vec<StorageState> {
    if now.outages == seen.outages {
        return if now.full == seen.full {
            vec![]
        } else {
            vec![now]
        };
    }
    let mut states = Vec::new();
    if seen.full {
        states.push(StorageState {
            full: false,
            ..seen
        });
    }
    if !now.full {
        states.push(StorageState { full: true, ..now });
    }
    states.push(now);
    states
}

/// Queues the EventStorage property held; never waits for its commit (during an outage that
/// comes only on recovery).
async fn raise_storage(core: &EventCore, state: StorageState) {
    if let Err(e) = core.queue_property_held(event_storage(state)).await {
        tracing::warn!(error = %e, "cannot raise rg:Monitoring/EventStorage");
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
    let mut storage = core.store().storage();
    let mut seen = *storage.borrow_and_update();
    raise_storage(&core, seen).await;
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut previous = cpu_jiffies();
    let mut reported: Option<f64> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = storage.changed() => {
                if changed.is_err() {
                    // The store has closed: nothing more to report.
                    stop.cancelled().await;
                    break;
                }
                let now = *storage.borrow_and_update();
                for state in storage_transitions(seen, now) {
                    raise_storage(&core, state).await;
                }
                seen = now;
                continue;
            }
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

    fn state(full: bool, outages: u64, refused: u64) -> StorageState {
        StorageState {
            full,
            outages,
            refused,
        }
    }

    #[test]
    fn every_storage_transition_is_raised_even_those_a_watch_skipped() {
        let fulls = |v: Vec<StorageState>| v.iter().map(|s| s.full).collect::<Vec<_>>();
        assert!(storage_transitions(state(false, 0, 0), state(false, 0, 0)).is_empty());
        assert_eq!(
            storage_transitions(state(false, 0, 0), state(true, 1, 5)),
            [state(true, 1, 5)]
        );
        assert_eq!(
            storage_transitions(state(true, 1, 5), state(false, 1, 70)),
            [state(false, 1, 70)]
        );
        // Began and ended in between: Full, then Ok.
        assert_eq!(
            fulls(storage_transitions(state(false, 0, 0), state(false, 1, 9))),
            [true, false]
        );
        // Ended, and another began: Ok, then Full.
        assert_eq!(
            fulls(storage_transitions(state(true, 1, 5), state(true, 2, 1))),
            [false, true]
        );
        assert_eq!(
            fulls(storage_transitions(state(true, 1, 5), state(false, 3, 1))),
            [false, true, false]
        );
        let e = event_storage(state(true, 1, 5));
        assert_eq!(e.topic, event_storage_topic());
        assert_eq!(e.topic.ns, RAILGATE_TOPICS);
        assert_eq!(e.source, [Item::simple("Store", "events")]);
        assert_eq!(
            e.data,
            [Item::simple("State", "Full"), Item::simple("Refused", "5")]
        );
    }

    #[test]
    fn host_facts_are_readable() {
        assert!(boot_time().is_some_and(|t| t < Utc::now()));
        let (busy, total) = cpu_jiffies().unwrap();
        assert!(total >= busy && total > 0);
    }
}
