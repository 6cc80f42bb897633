//! Reading stored events with a read-only connection.

use parking_lot::Mutex;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use crate::events::model::{Event, PropertyOperation, StoredEvent, Topic};

use super::{StoreError, codec, schema};

/// Read-only access to the store file.
#[derive(Debug)]
pub struct StoreReader {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const COLUMNS: &str = "seq, utc_ms, topic_ns, topic, operation, source, key, data, producer";

fn row_to_event(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let utc_ms: i64 = r.get(1)?;
    let operation: Option<String> = r.get(4)?;
    Ok(StoredEvent {
        seq: r.get::<_, i64>(0)? as u64,
        event: Event {
            utc: DateTime::from_timestamp_millis(utc_ms).unwrap_or_default(),
            topic: Topic {
                ns: r.get(2)?,
                path: r.get(3)?,
            },
            operation: operation.as_deref().and_then(PropertyOperation::parse),
            source: codec::decode(&r.get::<_, String>(5)?),
            key: codec::decode(&r.get::<_, String>(6)?),
            data: codec::decode(&r.get::<_, String>(7)?),
            producer: r.get(8)?,
        },
    })
}

/// A query of the `railgate events` command.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Only this topic path (e.g. `Device/Trigger/Relay`) and, with a trailing `/`, below it.
    pub topic: Option<String>,
    /// Only topics of this namespace.
    pub topic_ns: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// Only events after this sequence number.
    pub after_seq: u64,
    /// At most this many (the newest ones when `newest` is set).
    pub limit: usize,
    /// Take the newest `limit` events instead of the oldest.
    pub newest: bool,
}

impl StoreReader {
    /// Opens the file read-only.
    pub fn open(path: &Path) -> Result<StoreReader, StoreError> {
        Ok(StoreReader {
            conn: Mutex::new(schema::open_readonly(path)?),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` on the connection; its failure is classified with the file's path.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let conn = self.conn.lock();
        f(&conn).map_err(|e| StoreError::sqlite(&self.path, e))
    }

    /// Up to `limit` events after sequence number `after`, oldest first.
    pub fn after(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.with(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))?;
            s.query_map(params![after as i64, limit as i64], row_to_event)?
                .collect()
        })
    }

    /// Up to `limit` events before sequence number `before`, newest first.
    pub fn before(&self, before: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.with(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
            ))?;
            s.query_map(params![before as i64, limit as i64], row_to_event)?
                .collect()
        })
    }

    /// The cursor that makes reading forward start at the first event at or after `t`
    /// (the sequence number just before it).
    pub fn cursor_at(&self, t: DateTime<Utc>) -> Result<u64, StoreError> {
        self.with(|c| {
            let first: Option<i64> = c.query_row(
                "SELECT min(seq) FROM events WHERE utc_ms >= ?1",
                [t.timestamp_millis()],
                |r| r.get(0),
            )?;
            match first {
                Some(s) => Ok((s - 1).max(0) as u64),
                None => c
                    .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map(|s| s as u64),
            }
        })
    }

    /// The oldest stored sequence number, if any event is stored.
    pub fn oldest_seq(&self) -> Result<Option<u64>, StoreError> {
        self.with(|c| {
            c.query_row("SELECT min(seq) FROM events", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|s| s.map(|v| v as u64))
        })
    }

    /// How many events are stored.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            c.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
    }

    /// Events matching `q`, oldest first.
    pub fn query(&self, q: &Query) -> Result<Vec<StoredEvent>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM events WHERE seq > ?1");
        let mut args: Vec<rusqlite::types::Value> = vec![(q.after_seq as i64).into()];
        if let Some(topic) = &q.topic {
            match topic.strip_suffix('/') {
                Some(prefix) => {
                    args.push(format!("{prefix}/%").into());
                    sql.push_str(&format!(" AND topic LIKE ?{}", args.len()));
                }
                None => {
                    args.push(topic.clone().into());
                    sql.push_str(&format!(" AND topic = ?{}", args.len()));
                }
            }
        }
        if let Some(ns) = &q.topic_ns {
            args.push(ns.clone().into());
            sql.push_str(&format!(" AND topic_ns = ?{}", args.len()));
        }
        if let Some(t) = q.since {
            args.push(t.timestamp_millis().into());
            sql.push_str(&format!(" AND utc_ms >= ?{}", args.len()));
        }
        if let Some(t) = q.until {
            args.push(t.timestamp_millis().into());
            sql.push_str(&format!(" AND utc_ms < ?{}", args.len()));
        }
        args.push((q.limit.max(1) as i64).into());
        sql.push_str(&format!(
            " ORDER BY seq {} LIMIT ?{}",
            if q.newest { "DESC" } else { "ASC" },
            args.len()
        ));
        let mut events = self.with(|c| {
            let mut s = c.prepare(&sql)?;
            s.query_map(rusqlite::params_from_iter(args), row_to_event)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        if q.newest {
            events.reverse();
        }
        Ok(events)
    }

    /// `PRAGMA integrity_check`: a finding is [`super::StoreErrorKind::Corrupt`], with the
    /// first few of SQLite's findings as its detail.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let findings: Vec<String> = self.with(|c| {
            let mut s = c.prepare("PRAGMA integrity_check(10)")?;
            s.query_map([], |r| r.get(0))?.collect()
        })?;
        match findings.as_slice() {
            [ok] if ok == "ok" => Ok(()),
            _ => Err(StoreError::corrupt(&self.path, findings.join("; "))),
        }
    }
}
