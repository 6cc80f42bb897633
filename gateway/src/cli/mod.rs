//! The subcommands of the `railgate` binary, one module each; `main.rs` only parses the
//! command line and dispatches. Shared: `files` (reading the file a subcommand is given,
//! YAML first, then its kind), `out` (EPIPE-safe output and aligned columns), `logging`.
//!
//! Exit codes follow sysexits.h: 0 success, 64 bad usage, 65 bad data (a damaged event
//! store, a point a device refuses), 69 unavailable (a listen address taken, a controller
//! unreachable), 70 internal error, 73 the data folder cannot be created, 74 I/O error,
//! 78 invalid configuration or mapping.

pub(crate) mod admin_password;
pub(crate) mod check;
pub(crate) mod discover;
pub(crate) mod events;
pub(crate) mod explain;
pub(crate) mod files;
pub(crate) mod ip_filter;
pub(crate) mod logging;
pub(crate) mod out;
pub(crate) mod points;
pub(crate) mod probe;
pub(crate) mod reload;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod sim;
pub(crate) mod upgrade;

use std::process::ExitCode;

pub(crate) const EX_USAGE: u8 = 64;
pub(crate) const EX_DATAERR: u8 = 65;
pub(crate) const EX_UNAVAILABLE: u8 = 69;
pub(crate) const EX_SOFTWARE: u8 = 70;
pub(crate) const EX_CANTCREAT: u8 = 73;
pub(crate) const EX_IOERR: u8 = 74;
pub(crate) const EX_CONFIG: u8 = 78;

/// The async runtime, or the exit code when it cannot start.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            out::note(format_args!(
                "railgate: cannot start the async runtime: {e}"
            ));
            ExitCode::from(EX_SOFTWARE)
        })
}
