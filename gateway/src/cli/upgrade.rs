//! The process side of restarts and firmware trials (`railgate::firmware::install`): starting
//! a program in place of this one, and at start, what a trial file found in the firmware
//! folder means for this process: the trial's own program watches its deadline on a thread
//! (no answer in time: the previous program is started again) and confirms itself once its
//! endpoint answers; any other program reports the trial as failed and ends it.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use railgate::config::Config;
use railgate::firmware::install::{self, Trial};
use railgate::host::backend::firmware_dir;

/// This program's path (after an upgrade replaced the file, /proc/self/exe names the old one
/// "(deleted)": the path is where the new program is).
pub(crate) fn this_program() -> std::io::Result<PathBuf> {
    let p = std::env::current_exe()?;
    Ok(PathBuf::from(
        p.to_string_lossy()
            .strip_suffix(" (deleted)")
            .map_or_else(|| p.clone().into_os_string(), Into::into),
    ))
}

/// Replaces this process by `program` with the same arguments and environment (the process
/// id stays, so a supervisor sees no exit). Returns only the error if that fails.
pub(crate) fn exec(program: &Path) -> std::io::Error {
    tracing::info!(program = %program.display(), "starting");
    std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .exec()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A trial this process is.
#[derive(Debug)]
pub(crate) struct Trying {
    dir: PathBuf,
    trial: Trial,
}

/// What the firmware folder says about this start.
pub(crate) fn at_start(config: &Config, data_dir: &Path) -> Option<Trying> {
    let dir = firmware_dir(config.host.backend, config.host.root.as_deref(), data_dir)?;
    let trial = install::trial(&dir)?;
    let me = this_program().ok()?;
    if !same_file(&trial.program, &me) {
        tracing::error!(version = %trial.version, program = %me.display(), "the firmware upgrade did not come up: this program runs instead (rolled back)");
        install::abandon(&dir);
        return None;
    }
    tracing::warn!(version = %trial.version, deadline_secs = trial.deadline_secs, "trying firmware {}: confirmed once it answers, rolled back otherwise", trial.version);
    let watched = (dir.clone(), trial.clone());
    std::thread::spawn(move || watchdog(&watched.0, &watched.1));
    Some(Trying { dir, trial })
}

/// Waits out the deadline; a trial still open then is rolled back.
fn watchdog(dir: &Path, trial: &Trial) {
    std::thread::sleep(Duration::from_secs(trial.deadline_secs));
    if install::trial(dir).is_some_and(|t| t == *trial) {
        tracing::error!(version = %trial.version, previous = %trial.previous.display(), "firmware {} did not answer within {} s: rolling back", trial.version, trial.deadline_secs);
        install::abandon(dir);
        let error = exec(&trial.previous);
        tracing::error!(%error, "the previous program cannot be started");
        std::process::exit(70);
    }
}

/// Asks this railgate's own endpoint for the time until it answers, then confirms the trial.
pub(crate) async fn confirm_when_answering(trying: Trying, addrs: Vec<SocketAddr>) {
    #[cfg(feature = "test-events")]
    if std::env::var_os("RAILGATE_TEST_FIRMWARE_NEVER_READY").is_some() {
        tracing::warn!("test: this trial never reports ready");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(trying.trial.deadline_secs);
    while Instant::now() < deadline {
        for addr in &addrs {
            if answers(*addr).await {
                match install::confirm(&trying.dir, &trying.trial) {
                    Ok(()) => {
                        tracing::warn!(version = %trying.trial.version, "firmware {} confirmed", trying.trial.version)
                    }
                    Err(e) => tracing::error!(error = %e, "the firmware trial cannot be confirmed"),
                }
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether `addr` answers GetSystemDateAndTime with 200.
async fn answers(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = railgate::addr::connectable(addr);
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><env:Body><tds:GetSystemDateAndTime/></env:Body></env:Envelope>"#;
    let request = format!(
        "POST /onvif/device_service HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/soap+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.1 200"))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
