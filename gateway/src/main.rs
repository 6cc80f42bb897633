//! The `railgate` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use railgate::config::Config;
use railgate::runtime::{Gateway, RunError, shutdown_signal};
use railgate::security::Secret;

/// Exit codes (sysexits.h).
const EX_USAGE: u8 = 64;
const EX_DATAERR: u8 = 65;
const EX_UNAVAILABLE: u8 = 69;
const EX_SOFTWARE: u8 = 70;
const EX_CANTCREAT: u8 = 73;
const EX_IOERR: u8 = 74;
const EX_CONFIG: u8 = 78;

/// railgate: an ONVIF gateway for legacy access-control and alarm panels.
///
/// With no subcommand it runs the gateway. Without --config it runs the built-in demo
/// configuration. Exit codes: 0 clean stop (SIGTERM, SIGINT, SIGHUP), 64 bad usage, 69 a
/// listen address is taken or not available, 70 internal error (also a fatal error at run
/// time, once the relays were released), 73 the data folder or database cannot be created,
/// 78 invalid configuration.
#[derive(Debug, Parser)]
#[command(name = "railgate", version, about, long_about)]
struct Cli {
    /// The YAML configuration file (default: the built-in demo configuration).
    #[arg(short, long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:8080 or [::]:8080; repeat for several. Overrides
    /// server.listen of the configuration (default 0.0.0.0:8080).
    #[arg(short, long, value_name = "ADDR")]
    listen: Vec<std::net::SocketAddr>,
    /// WS-Discovery interfaces: `all`, names such as `eth0,eth1`, or `off`. Overrides
    /// discovery.interfaces (default: loopback only; the demo too).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    discovery_interfaces: Vec<String>,
    /// The data folder (state database; created 0700). Overrides data_dir (default ./data).
    #[arg(short, long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log filter, e.g. info, debug, or railgate=debug,warp=info. Without it, RUST_LOG is
    /// used, else info.
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for journald/log shippers).
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Run,
    /// Check a configuration file (and the mapping it names) or a mapping file, and report
    /// every problem with file, line and column; exit 0 when valid, 78 when not.
    Check {
        /// The file to check (default: --config).
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of the mapping language (for editor completion).
    Schema,
    /// List the ONVIF devices on the local network (a WS-Discovery probe), to check what a
    /// site's VMS will find.
    Discover {
        /// Seconds to wait for answers.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
        /// Probe one address directly (`host` or `host:port`) instead of multicasting.
        #[arg(long, value_name = "ADDR")]
        to: Option<String>,
        /// Interfaces to probe through (default: every interface that is up and has
        /// multicast, and loopback).
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        interfaces: Vec<String>,
    },
    /// Run the simulated panel alone (a Modbus TCP server: unit 1 a 16-in/8-out I/O module,
    /// unit 2 an alarm panel), for bench work with other Modbus tools.
    Sim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:1502")]
        listen: std::net::SocketAddr,
        /// Keep inputs still (by default they change over time).
        #[arg(long)]
        still: bool,
    },
    /// List stored events (from the data folder's event store), oldest first; with
    /// --follow, keep printing new ones as they are stored.
    Events {
        /// Only this topic, e.g. Device/Trigger/Relay; a trailing / takes everything below.
        #[arg(long)]
        topic: Option<String>,
        /// Only events at or after this time (RFC 3339, e.g. 2026-11-25T08:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Only events before this time.
        #[arg(long)]
        until: Option<String>,
        /// At most this many (the newest ones, unless --since is given).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Keep printing new events.
        #[arg(long)]
        follow: bool,
    },
}

fn init_logging(filter: Option<&str>, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).unwrap_or_else(|e| {
            eprintln!("railgate: invalid --log-level {f:?} ({e}); using info");
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

/// `railgate events`: prints stored events, one per line.
fn events_command(
    data_dir: &std::path::Path,
    topic: Option<String>,
    since: Option<&str>,
    until: Option<&str>,
    limit: usize,
    follow: bool,
) -> ExitCode {
    use railgate::events::store::{Query, StoreReader};
    let parse = |s: Option<&str>,
                 what: &str|
     -> Result<Option<chrono::DateTime<chrono::Utc>>, ExitCode> {
        match s {
            None => Ok(None),
            Some(text) => railgate::security::wsse::parse_created(text).map(Some).ok_or_else(|| {
                eprintln!("railgate events: --{what} {text:?} is not a date and time (e.g. 2026-11-25T08:00:00Z)");
                ExitCode::from(EX_USAGE)
            }),
        }
    };
    let (since, until) = match (parse(since, "since"), parse(until, "until")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let path = data_dir.join(railgate::events::store::FILE_NAME);
    if !path.exists() {
        eprintln!("railgate events: no event store at {}", path.display());
        return ExitCode::from(EX_USAGE);
    }
    // A damaged or newer file is bad data, a failed read an I/O error (sysexits).
    let failed = |e: railgate::events::store::StoreError| {
        use railgate::events::store::StoreErrorKind as K;
        eprintln!("railgate events: {e}");
        ExitCode::from(match e.kind() {
            K::Corrupt | K::TooNew => EX_DATAERR,
            K::Io | K::DiskFull => EX_IOERR,
            K::Closed | K::Other => EX_SOFTWARE,
        })
    };
    let reader = match StoreReader::open(&path) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let mut query = Query {
        topic,
        since,
        until,
        limit,
        newest: since.is_none(),
        ..Query::default()
    };
    loop {
        match reader.query(&query) {
            Ok(events) => {
                for e in &events {
                    println!("{}", railgate::events::model::describe(e));
                    query.after_seq = e.seq;
                }
            }
            Err(e) => return failed(e),
        }
        if !follow {
            return ExitCode::SUCCESS;
        }
        query.newest = false;
        query.since = None;
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The async runtime, or the exit code when it cannot start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("railgate: cannot start the async runtime: {e}");
            ExitCode::from(EX_SOFTWARE)
        })
}

/// Keys only a mapping file has at its top level.
const MAPPING_KEYS: &[&str] = &["controllers", "inputs", "relays", "values", "commands"];

/// `railgate check FILE`: a mapping file, or a configuration and the mapping it names.
fn check_command(path: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", path.display());
            return ExitCode::from(EX_CONFIG);
        }
    };
    let is_mapping = serde_yaml::from_str::<serde_yaml::Value>(&text)
        .ok()
        .and_then(|v| v.as_mapping().cloned())
        .is_some_and(|m| {
            m.keys()
                .filter_map(|k| k.as_str())
                .any(|k| MAPPING_KEYS.contains(&k))
        });
    // Warnings are printed and do not fail the check.
    let report = |result: Result<railgate_mappings::Checked, railgate_mappings::Diagnostics>,
                  path: &std::path::Path| match result {
        Ok(checked) => {
            if !checked.warnings.0.is_empty() {
                eprintln!("{}", checked.warnings);
            }
            println!("{}: ok", path.display());
            true
        }
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            false
        }
    };
    let ok = if is_mapping {
        report(railgate_mappings::check_file(path), path)
    } else {
        match Config::load(path) {
            Ok(config) => {
                println!("{}: ok", path.display());
                match &config.mapping {
                    Some(m) => report(railgate_mappings::check_file(m), m),
                    None => true,
                }
            }
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                false
            }
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EX_CONFIG)
    }
}

/// `railgate discover`: probe, wait, print what answered.
fn discover_command(timeout: u64, to: Option<&str>, interfaces: &[String]) -> ExitCode {
    use railgate::discovery::client::{self, ProbeTo};
    use railgate::discovery::socket::Selection;
    let target = match to {
        Some(text) => match client::directed_address(text) {
            Some(addr) => ProbeTo::Directed(addr),
            None => {
                eprintln!("railgate discover: --to {text:?} is not an address (host or host:port)");
                return ExitCode::from(EX_USAGE);
            }
        },
        None => {
            let host = match railgate::host::net::interfaces() {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("railgate discover: cannot list the interfaces: {e}");
                    return ExitCode::from(EX_SOFTWARE);
                }
            };
            let selection = if interfaces.is_empty() {
                Selection::All
            } else {
                Selection::parse(interfaces)
            };
            let (picked, missing) = selection.pick(&host);
            for m in missing {
                eprintln!("railgate discover: no interface {m:?} that is up");
            }
            ProbeTo::Multicast(picked)
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(client::discover(
        &target,
        std::time::Duration::from_secs(timeout),
    )) {
        Ok(found) => {
            for f in &found {
                println!("{}", client::describe(f));
            }
            eprintln!("{} ONVIF device(s) answered", found.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("railgate discover: {e}");
            ExitCode::from(EX_UNAVAILABLE)
        }
    }
}

/// `railgate sim`: the simulated panel alone, until SIGTERM/SIGINT.
fn sim_command(listen: std::net::SocketAddr, animate: bool) -> ExitCode {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let panel = match railgate_adapters::sim::start(
            listen,
            railgate_adapters::sim::SimOptions { animate },
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!("railgate sim: cannot listen on {listen}: {e}");
                return ExitCode::from(EX_UNAVAILABLE);
            }
        };
        tracing::info!(addr = %panel.local_addr(), "simulated panel serving Modbus TCP (unit 1: I/O module, unit 2: alarm panel)");
        shutdown_signal().await;
        panel.stop().await;
        ExitCode::SUCCESS
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EX_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Everything railgate creates (data folder, database, password file) is private.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    init_logging(cli.log_level.as_deref(), cli.log_format);

    if let Some(Command::Events {
        topic,
        since,
        until,
        limit,
        follow,
    }) = &cli.command
    {
        let data_dir = cli
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"));
        return events_command(
            &data_dir,
            topic.clone(),
            since.as_deref(),
            until.as_deref(),
            *limit,
            *follow,
        );
    }
    if let Some(Command::Check { file }) = &cli.command {
        let Some(path) = file.as_ref().or(cli.config.as_ref()) else {
            eprintln!("railgate check: give a file (railgate check FILE)");
            return ExitCode::from(EX_USAGE);
        };
        return check_command(path);
    }
    if let Some(Command::Schema) = &cli.command {
        match serde_json::to_string_pretty(&railgate_mappings::json_schema()) {
            Ok(text) => {
                println!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("railgate schema: {e}");
                return ExitCode::from(EX_SOFTWARE);
            }
        }
    }
    if let Some(Command::Discover {
        timeout,
        to,
        interfaces,
    }) = &cli.command
    {
        return discover_command(*timeout, to.as_deref(), interfaces);
    }
    if let Some(Command::Sim { listen, still }) = &cli.command {
        return sim_command(*listen, !*still);
    }

    let mut config = match &cli.config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(diagnostics) => {
                eprintln!("{diagnostics}");
                return ExitCode::from(EX_CONFIG);
            }
        },
        None => Config::demo(),
    };
    if !cli.listen.is_empty() {
        config.server.listen = cli.listen.clone();
    }
    if !cli.discovery_interfaces.is_empty() {
        config.discovery.interfaces = cli.discovery_interfaces.clone();
    }
    let data_dir = cli
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from("data"));
    let admin_password = std::env::var("RAILGATE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(Secret::new);
    // The password is not left in the environment for later readers of it (child processes,
    // diagnostics). SAFETY: no other thread exists yet (the async runtime starts below), so
    // nothing reads or writes the environment concurrently.
    #[allow(
        unsafe_code,
        reason = "removing a variable is unsafe in edition 2024; see SAFETY"
    )]
    unsafe {
        std::env::remove_var("RAILGATE_ADMIN_PASSWORD")
    };

    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let demo = cli.config.is_none();
    runtime.block_on(async move {
        // Without a configuration, the demo: the simulated panel on loopback, polled through
        // the real Modbus adapter with the demo mapping.
        let mut panel = None;
        let started = if demo {
            match railgate::demo::start().await {
                Ok((p, plan)) => {
                    tracing::info!(panel = %p.local_addr(), "demo: simulated panel started (unit 1: 16-in/8-out I/O module, unit 2: alarm panel)");
                    panel = Some(p);
                    Gateway::start_with_plan(config, plan, &data_dir, admin_password)
                }
                Err(e) => {
                    eprintln!("railgate: {e}");
                    return ExitCode::from(EX_SOFTWARE);
                }
            }
        } else {
            Gateway::start(config, &data_dir, admin_password)
        };
        let gateway = match started {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                eprintln!("railgate: {e}");
                return ExitCode::from(match e {
                    RunError::Bind(_) => EX_UNAVAILABLE,
                    RunError::Start(_) => EX_CANTCREAT,
                    RunError::Mapping(_) => EX_CONFIG,
                });
            }
        };
        tracing::info!(data_dir = %data_dir.display(), version = env!("CARGO_PKG_VERSION"), "railgate started");
        let ran = gateway.run().await;
        if let Some(p) = panel {
            p.stop().await;
        }
        match ran {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EX_SOFTWARE),
        }
    })
}
