//! The `railgate` command: argument parsing and dispatch; each subcommand lives in `cli/`.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use cli::logging::LogFormat;
use cli::{EX_USAGE, out};

/// railgate: an ONVIF gateway for legacy access-control and alarm panels.
///
/// With no subcommand it runs the gateway. Without --config it runs the built-in demo
/// configuration. The global options (--config, --data-dir, --log-level, --log-format) may
/// be given before or after the subcommand. Exit codes: 0 success (also a stop by SIGTERM or SIGINT; SIGHUP checks the configuration again), 64 bad usage, 65 bad data
/// (a damaged event store, a point the device refuses), 69 a listen address is taken or a
/// controller unreachable, 70 internal error (also a fatal error at run time, once the relays were released), 73 the data folder or database cannot be
/// created, 74 I/O error, 78 invalid configuration or mapping.
#[derive(Debug, Parser)]
#[command(name = "railgate", version, about, long_about)]
struct Cli {
    /// The YAML configuration file (default: the built-in demo configuration).
    #[arg(short, long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// The data folder (state database; created 0700). Overrides data_dir (default ./data).
    #[arg(short, long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Log filter, e.g. info, debug, or railgate=debug,warp=info. Without it, RUST_LOG is
    /// used, else info.
    #[arg(long, value_name = "FILTER", global = true)]
    log_level: Option<String>,
    /// Log format: auto is journal when standard error is systemd's journal stream
    /// (JOURNAL_STREAM), else text.
    #[arg(long, value_enum, default_value = "auto", global = true)]
    log_format: LogFormat,
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The options of running the gateway (before `run`, or after it).
#[derive(Debug, Clone, Default, Args)]
struct RunArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080 or [::]:8080; repeat for several. Overrides
    /// server.listen of the configuration (default 0.0.0.0:8080).
    #[arg(short, long, value_name = "ADDR")]
    listen: Vec<std::net::SocketAddr>,
    /// Address to serve HTTPS on, e.g. 0.0.0.0:8443; repeat for several. Overrides
    /// server.tls_listen of the configuration (default: none).
    #[arg(long, value_name = "ADDR")]
    tls_listen: Vec<std::net::SocketAddr>,
    /// Address to serve the Prometheus metrics on (GET /metrics), e.g. 127.0.0.1:9898;
    /// repeat for several. Overrides metrics.listen (default: not served).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Vec<std::net::SocketAddr>,
    /// WS-Discovery interfaces: `all`, names such as `eth0,eth1`, or `off`. Overrides
    /// discovery.interfaces (default: loopback only; the demo too).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    discovery_interfaces: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Run(RunArgs),
    /// Check a configuration file (and the mapping it names) or a mapping file, and report
    /// every problem with file, line and column; exit 0 when valid, 78 when not.
    Check {
        /// The file to check (default: --config).
        file: Option<PathBuf>,
        /// Also print the resolved table: every point with its controller, unit, wire
        /// address, function codes, type, byte order and what it feeds.
        #[arg(long)]
        explain: bool,
    },
    /// Read every polled point of the mapping's controllers once and print the raw bits or
    /// registers and the decoded values, without starting the ONVIF side. Exit 0 when every
    /// point was read, 65 when the device refused some, 69 when a controller is unreachable.
    Probe {
        /// A configuration (its mapping is probed) or a mapping file (default: --config).
        file: Option<PathBuf>,
        /// Only this controller (repeat for several; default: every one).
        #[arg(long, value_name = "NAME")]
        controller: Vec<String>,
    },
    /// Print the JSON Schema of the mapping language (for editor completion).
    Schema,
    /// Print the manual page (roff; the package installs it as railgate(1)).
    #[command(hide = true)]
    Man,
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
    /// The IP address filter of the data folder: `clear` removes every rule (the recovery when
    /// a filter shut out every client; restart railgate afterwards).
    IpFilter {
        /// `clear`.
        #[arg(value_parser = ["clear"])]
        action: String,
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
        /// Only this topic, e.g. Device/Trigger/Relay or rg:Monitoring/ControllerLink (with a
        /// prefix, tns1 or rg, only that namespace); a trailing / takes everything below.
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
    /// Ask the running gateway of the data folder to check its configuration and mapping again
    /// (SIGHUP, as `systemctl reload railgate`); with --config, that file is checked here first
    /// and nothing is sent if it is invalid.
    Reload,
    /// Print the running gateway's controller links and every point with its value, raw
    /// reading and quality (the status page's table, read from its metrics listener).
    Points {
        /// The metrics listener, e.g. http://127.0.0.1:9898 (default: the first metrics.listen
        /// address of --config).
        #[arg(long)]
        url: Option<String>,
        /// Print the table again every second.
        #[arg(long)]
        watch: bool,
    },
}

/// The file a subcommand works on: its argument, else `--config`.
fn file_or_config(file: Option<PathBuf>, config: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    let path = file.or(config);
    if path.is_none() {
        out::note(format_args!(
            "railgate {what}: give a file (railgate {what} FILE)"
        ));
    }
    path
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
    cli::logging::init(cli.log_level.as_deref(), cli.log_format);
    let data_dir = || {
        cli.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"))
    };
    match cli.command {
        None | Some(Command::Run(_)) => {
            let mut run = cli.run.clone();
            if let Some(Command::Run(after)) = &cli.command {
                if !after.listen.is_empty() {
                    run.listen = after.listen.clone();
                }
                if !after.tls_listen.is_empty() {
                    run.tls_listen = after.tls_listen.clone();
                }
                if !after.metrics_listen.is_empty() {
                    run.metrics_listen = after.metrics_listen.clone();
                }
                if !after.discovery_interfaces.is_empty() {
                    run.discovery_interfaces = after.discovery_interfaces.clone();
                }
            }
            cli::run::run(cli::run::Options {
                config: cli.config.clone(),
                listen: run.listen,
                tls_listen: run.tls_listen,
                metrics_listen: run.metrics_listen,
                discovery_interfaces: run.discovery_interfaces,
                data_dir: cli.data_dir.clone(),
            })
        }
        Some(Command::Check { file, explain }) => {
            match file_or_config(file, cli.config.clone(), "check") {
                Some(path) => out::finish(cli::check::run(&path, explain)),
                None => ExitCode::from(EX_USAGE),
            }
        }
        Some(Command::Probe { file, controller }) => {
            match file_or_config(file, cli.config.clone(), "probe") {
                Some(path) => out::finish(cli::probe::run(&path, &controller)),
                None => ExitCode::from(EX_USAGE),
            }
        }
        Some(Command::Schema) => out::finish(cli::schema::run()),
        Some(Command::Man) => {
            use clap::CommandFactory as _;
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().write_all(&page);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    out::note(format_args!("railgate: cannot write the manual page: {e}"));
                    ExitCode::from(70)
                }
            }
        }
        Some(Command::Discover {
            timeout,
            to,
            interfaces,
        }) => out::finish(cli::discover::run(timeout, to.as_deref(), &interfaces)),
        Some(Command::Sim { listen, still }) => cli::sim::run(listen, !still),
        Some(Command::IpFilter { action: _ }) => cli::ip_filter::clear(&data_dir()),
        Some(Command::Reload) => out::finish(cli::reload::run(cli.config.as_deref(), &data_dir())),
        Some(Command::Points { url, watch }) => out::finish(cli::points::run(
            url.as_deref(),
            cli.config.as_deref(),
            watch,
        )),
        Some(Command::Events {
            topic,
            since,
            until,
            limit,
            follow,
        }) => out::finish(cli::events::run(
            &data_dir(),
            cli::events::Filter {
                topic,
                since: since.as_deref(),
                until: until.as_deref(),
                limit,
                follow,
            },
        )),
    }
}
