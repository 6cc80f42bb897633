//! The log: a filter (`--log-level`, else `RUST_LOG`, else `info`) and a format, on standard
//! error.

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
