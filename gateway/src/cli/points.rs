//! `railgate points [--watch]`: the status page's point table in a terminal. Reads
//! `/status.json` from the running gateway's metrics listener (`--url`, else the first
//! `metrics.listen` address of `--config`), prints the links and every point; with `--watch`,
//! again every second until interrupted.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use railgate::config::Config;
use railgate::http::status::Report;

use super::out::{self, OutError};
use super::{EX_CONFIG, EX_UNAVAILABLE, EX_USAGE};

/// A status answer larger than this is refused.
const LIMIT: u64 = 8 * 1024 * 1024;

/// Where the gateway's status is: `url` (`http://host:port`, or `host:port`), else the
/// configuration's first metrics address.
fn address(url: Option<&str>, config: Option<&Path>) -> Result<SocketAddr, ExitCode> {
    if let Some(url) = url {
        let authority = url.strip_prefix("http://").unwrap_or(url);
        let authority = authority.trim_end_matches('/');
        return authority
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| {
                out::note(format_args!(
                    "railgate points: --url {url:?} is not host:port (e.g. http://127.0.0.1:9898)"
                ));
                ExitCode::from(EX_USAGE)
            });
    }
    let Some(path) = config else {
        out::note(
            "railgate points: give --url http://HOST:PORT or --config FILE (with metrics.listen)",
        );
        return Err(ExitCode::from(EX_USAGE));
    };
    let config = Config::load(path).map_err(|d| {
        out::note(format_args!("{d}"));
        ExitCode::from(EX_CONFIG)
    })?;
    let Some(addr) = config.metrics.listen.first().copied() else {
        out::note(format_args!(
            "railgate points: {} has no metrics.listen: the status is served there",
            path.display()
        ));
        return Err(ExitCode::from(EX_CONFIG));
    };
    Ok(railgate::addr::connectable(addr))
}

/// One GET of `/status.json`.
fn fetch(addr: SocketAddr) -> Result<Report, String> {
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /status.json HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .take(LIMIT)
        .read_to_end(&mut answer)
        .map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP answer")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        return Err(format!("the gateway answered {status:?}"));
    }
    serde_json::from_slice(&answer[split + 4..]).map_err(|e| format!("unexpected answer: {e}"))
}

/// The table `railgate points` prints.
pub(crate) fn render(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for link in &report.southbound.links {
        let state = if link.up { "up" } else { "down" };
        let error = if link.last_error.is_empty() {
            String::new()
        } else {
            format!(" (last error: {})", link.last_error)
        };
        lines.push(format!("link {}: {state}{error}", link.controller));
    }
    let mut rows = vec![
        [
            "KIND",
            "NAME",
            "CONTROLLER",
            "POINT",
            "VALUE",
            "RAW",
            "QUALITY",
            "READ AT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in &report.southbound.points {
        let or_dash = |s: &str| {
            if s.is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        rows.push(vec![
            p.kind.clone(),
            p.name.clone(),
            p.controller.clone(),
            p.point.clone(),
            or_dash(&p.value),
            or_dash(&p.raw),
            or_dash(&p.quality),
            or_dash(&p.read_at),
        ]);
    }
    lines.extend(out::table(&rows));
    lines
}

/// Prints the table once, or every second with `watch`.
pub(crate) fn run(
    url: Option<&str>,
    config: Option<&Path>,
    watch: bool,
) -> Result<ExitCode, OutError> {
    let addr = match address(url, config) {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    loop {
        match fetch(addr) {
            Ok(report) => {
                if watch {
                    // Clear the screen and home the cursor, as `watch(1)` does.
                    out::line("\x1b[H\x1b[2J")?;
                }
                for line in render(&report) {
                    out::line(line)?;
                }
            }
            Err(e) => {
                out::note(format_args!(
                    "railgate points: no status from http://{addr}/status.json: {e}"
                ));
                if !watch {
                    return Ok(ExitCode::from(EX_UNAVAILABLE));
                }
            }
        }
        if !watch {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
