//! `railgate reload`: what `systemctl reload railgate` does, for a gateway run by hand. The
//! configuration (`--config`) is checked here first, problems printed with file:line:column
//! and nothing sent if it is invalid; then the running gateway of the data folder (its process
//! number in `<data_dir>/railgate.pid`, written while it runs) gets SIGHUP and checks and
//! logs it again itself (`railgate::reload`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::EX_UNAVAILABLE;
use super::out::{self, OutError};

/// The file that names the running gateway's process.
pub(crate) const PID_FILE: &str = "railgate.pid";

/// Writes `<data_dir>/railgate.pid` for as long as the value lives.
#[derive(Debug)]
pub(crate) struct PidFile(PathBuf);

impl PidFile {
    /// Writes the file (a failure is logged: reload by signal still works).
    pub(crate) fn write(data_dir: &Path) -> Option<PidFile> {
        let path = data_dir.join(PID_FILE);
        match std::fs::write(&path, format!("{}\n", std::process::id())) {
            Ok(()) => Some(PidFile(path)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the pid file: `railgate reload` will not find this gateway");
                None
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Checks `config` (if given), then signals the gateway of `data_dir`.
pub(crate) fn run(config: Option<&Path>, data_dir: &Path) -> Result<ExitCode, OutError> {
    if let Some(path) = config {
        let checked = super::check::run(path, false)?;
        if checked != ExitCode::SUCCESS {
            out::note("railgate reload: not sent: the configuration is invalid (above)");
            return Ok(checked);
        }
    }
    let path = data_dir.join(PID_FILE);
    let pid = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.trim().parse::<i32>().ok())
        .filter(|pid| *pid > 0);
    let Some(pid) = pid else {
        out::note(format_args!(
            "railgate reload: no running gateway for {} (no {})",
            data_dir.display(),
            path.display()
        ));
        return Ok(ExitCode::from(EX_UNAVAILABLE));
    };
    if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGHUP) {
        out::note(format_args!(
            "railgate reload: cannot signal process {pid} (from {}): {e}",
            path.display()
        ));
        return Ok(ExitCode::from(EX_UNAVAILABLE));
    }
    out::line(format_args!(
        "asked railgate (process {pid}) to reload; its log says what it found"
    ))?;
    Ok(ExitCode::SUCCESS)
}
