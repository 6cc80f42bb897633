//! The log: a filter (`--log-level`, else `RUST_LOG`, else `info`) and a format, on standard
//! error or to journald; and beside it the system log ring of GetSystemLog
//! (`railgate::logring`).

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Journal when standard error is systemd's journal stream, else text.
    Auto,
    /// Human-readable lines.
    Text,
    /// One JSON object per line (log shippers).
    Json,
    /// journald's native protocol: every field of a record a journal field
    /// (`journalctl -u railgate -o verbose` shows them; `journalctl CONTROLLER=panel`).
    Journal,
}

/// Whether standard error is the journal stream systemd gave the service: `JOURNAL_STREAM`
/// (`<device>:<inode>`) names the file standard error is.
fn stderr_is_journal(journal_stream: Option<&str>, stderr: Option<(u64, u64)>) -> bool {
    let (Some(stream), Some((dev, ino))) = (journal_stream, stderr) else {
        return false;
    };
    stream
        .split_once(':')
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
        == Some((dev, ino))
}

fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata("/proc/self/fd/2").ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Installs the global subscriber.
pub(crate) fn init(filter: Option<&str>, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).unwrap_or_else(|e| {
            super::out::note(format_args!(
                "railgate: invalid --log-level {f:?} ({e}); using info"
            ));
            EnvFilter::new("info")
        }),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // Colours only on a terminal: journald, files and pipes get plain text.
    use std::io::IsTerminal;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let format = match format {
        LogFormat::Auto
            if stderr_is_journal(
                std::env::var("JOURNAL_STREAM").ok().as_deref(),
                stderr_identity(),
            ) =>
        {
            LogFormat::Journal
        }
        LogFormat::Auto => LogFormat::Text,
        other => other,
    };
    let journal = (format == LogFormat::Journal)
        .then(|| match tracing_journald::layer() {
            Ok(layer) => Some(layer.with_syslog_identifier("railgate".into())),
            Err(e) => {
                super::out::note(format_args!(
                    "railgate: journald is not reachable ({e}); logging text to standard error"
                ));
                None
            }
        })
        .flatten();
    let stderr = match (format, journal) {
        (LogFormat::Json, _) => stderr.json().with_filter(filter).boxed(),
        (_, Some(journal)) => journal.with_filter(filter).boxed(),
        _ => stderr.with_filter(filter).boxed(),
    };
    // GetSystemLog's ring records INFO and up of railgate and WARN and up of the rest,
    // whatever --log-level says for standard error.
    let ring = railgate::logring::RingLayer.with_filter(
        Targets::new()
            .with_target("railgate", LevelFilter::INFO)
            .with_default(LevelFilter::WARN),
    );
    tracing_subscriber::registry()
        .with(stderr)
        .with(ring)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_is_used_only_when_standard_error_is_its_stream() {
        assert!(stderr_is_journal(Some("8:1234"), Some((8, 1234))));
        assert!(!stderr_is_journal(Some("8:1234"), Some((8, 999))));
        assert!(!stderr_is_journal(None, Some((8, 1234))));
        assert!(!stderr_is_journal(Some("junk"), Some((8, 1234))));
        assert!(!stderr_is_journal(Some("8:1234"), None));
    }
}
