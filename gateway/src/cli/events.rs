//! `railgate events`: stored events from the data folder's event store, one per line, oldest
//! first; with `--follow`, new ones as they are stored.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use railgate::events::store::{FILE_NAME, Query, StoreError, StoreErrorKind, StoreReader};

use super::out::{self, OutError};
use super::{EX_DATAERR, EX_IOERR, EX_SOFTWARE, EX_USAGE};

/// What to list.
#[derive(Debug)]
pub(crate) struct Filter<'a> {
    /// A topic, or a prefix ending in `/`.
    pub topic: Option<String>,
    /// RFC 3339.
    pub since: Option<&'a str>,
    /// RFC 3339.
    pub until: Option<&'a str>,
    /// The most events (the newest, unless `since`).
    pub limit: usize,
    /// Keep printing.
    pub follow: bool,
}

fn parse_time(text: Option<&str>, what: &str) -> Result<Option<DateTime<Utc>>, ExitCode> {
    match text {
        None => Ok(None),
        Some(text) => railgate::security::wsse::parse_created(text)
            .map(Some)
            .ok_or_else(|| {
                out::note(format_args!(
                    "railgate events: --{what} {text:?} is not a date and time (e.g. 2026-11-25T08:00:00Z)"
                ));
                ExitCode::from(EX_USAGE)
            }),
    }
}

/// `--topic`: a path (`Monitoring/ControllerLink`), or one with a built-in prefix
/// (`rg:Monitoring/ControllerLink`, `tns1:Device/Trigger/`): the namespace and the path.
fn split_topic(text: String) -> Result<(Option<&'static str>, String), ExitCode> {
    let Some((prefix, path)) = text.split_once(':') else {
        return Ok((None, text));
    };
    match railgate_mappings::topics::BUILTIN_PREFIXES
        .iter()
        .find(|(p, _)| *p == prefix)
    {
        Some((_, ns)) => Ok((Some(ns), path.to_string())),
        None => {
            out::note(format_args!(
                "railgate events: --topic {text:?}: the prefix {prefix:?} is not one railgate knows (tns1, rg); give the path alone, e.g. {path:?}"
            ));
            Err(ExitCode::from(EX_USAGE))
        }
    }
}

/// A damaged or newer file is bad data, a failed read an I/O error (sysexits).
fn failed(e: StoreError) -> ExitCode {
    out::note(format_args!("railgate events: {e}"));
    ExitCode::from(match e.kind() {
        StoreErrorKind::Corrupt | StoreErrorKind::TooNew => EX_DATAERR,
        StoreErrorKind::Io | StoreErrorKind::DiskFull => EX_IOERR,
        StoreErrorKind::Closed | StoreErrorKind::Other => EX_SOFTWARE,
    })
}

/// Lists the events of the store in `data_dir`.
pub(crate) fn run(data_dir: &Path, filter: Filter<'_>) -> Result<ExitCode, OutError> {
    let (since, until) = match (
        parse_time(filter.since, "since"),
        parse_time(filter.until, "until"),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(code), _) | (_, Err(code)) => return Ok(code),
    };
    let (topic_ns, topic) = match filter.topic.map(split_topic).transpose() {
        Ok(Some((ns, path))) => (ns, Some(path)),
        Ok(None) => (None, None),
        Err(code) => return Ok(code),
    };
    let path = data_dir.join(FILE_NAME);
    if !path.exists() {
        out::note(format_args!(
            "railgate events: no event store at {}",
            path.display()
        ));
        return Ok(ExitCode::from(EX_USAGE));
    }
    let reader = match StoreReader::open(&path) {
        Ok(r) => r,
        Err(e) => return Ok(failed(e)),
    };
    let mut query = Query {
        topic,
        topic_ns: topic_ns.map(str::to_string),
        since,
        until,
        limit: filter.limit,
        newest: since.is_none(),
        ..Query::default()
    };
    loop {
        match reader.query(&query) {
            Ok(events) => {
                for e in &events {
                    out::line(railgate::events::model::describe(e))?;
                    query.after_seq = e.seq;
                }
            }
            Err(e) => return Ok(failed(e)),
        }
        if !filter.follow {
            return Ok(ExitCode::SUCCESS);
        }
        query.newest = false;
        query.since = None;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
