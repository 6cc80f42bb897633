//! The log: a filter (`--log-level`, else `RUST_LOG`, else `info`) and a format, on standard
//! error; and beside it the system log ring of GetSystemLog (`railgate::logring`).

/// Log format.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for journald/log shippers).
    Json,
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
    let stderr = match format {
        LogFormat::Text => stderr.with_filter(filter).boxed(),
        LogFormat::Json => stderr.json().with_filter(filter).boxed(),
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
