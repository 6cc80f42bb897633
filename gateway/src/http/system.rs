//! The system files over plain HTTP (`crate::system_files`): downloads of the backup, the
//! support information and the logs, and the restore upload. HTTP Digest only (there is no
//! SOAP header to carry a UsernameToken), through the same gate, lockout and access policy
//! as the SOAP operations that give the same thing; each one is in the access log.
//!
//! Restore upload: `application/octet-stream` (anything else 415), at most
//! `backup::restore::MAX_BYTES` (413); a file that is not a backup this box can take is 415
//! with the reason and nothing changes; a failure of the box 500; a checked one is staged
//! and answered 200, then railgate restarts to apply it.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::response::{self, plain};
use super::server::ConnInfo;
use super::soap::{access, device_now};
use crate::app::App;
use crate::backup::{self, RestoreError};
use crate::device::lifecycle::Exit;
use crate::security::access::Operation;
use crate::security::gate::{Decision, HttpAuth};
use crate::soap::Service;
use crate::system_files::SystemFile;
use crate::xml::ns::TDS;

/// What the request carried.
#[derive(Debug)]
pub struct Request<'a> {
    /// GET or POST.
    pub method: &'a Method,
    /// Path and query, as the Digest URI.
    pub target: &'a str,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The connection.
    pub conn: ConnInfo,
    /// The body (uploads).
    pub body: Bytes,
}

/// Whether the upload's Content-Type is `application/octet-stream`.
fn is_octet_stream(headers: &HeaderMap) -> bool {
    super::body::media_type(headers).as_deref() == Some("application/octet-stream")
}

/// Serves one system file request.
pub async fn handle(app: &Arc<App>, file: SystemFile, req: &Request<'_>) -> http::Response<String> {
    let expected = if file.is_upload() {
        Method::POST
    } else {
        Method::GET
    };
    if *req.method != expected {
        let mut res = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            if file.is_upload() {
                "upload the backup with POST (Content-Type: application/octet-stream)"
            } else {
                "download it with GET"
            },
        );
        res.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static(if file.is_upload() { "POST" } else { "GET" }),
        );
        return res;
    }
    let op = Operation {
        service: Service::Device,
        ns: TDS,
        name: file.operation(),
        class: file.class(),
    };
    let http_auth = HttpAuth {
        authorization: req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        method: req.method.as_str(),
        uri: req.target,
        peer: req.conn.peer.ip(),
    };
    let now = device_now(app);
    let principal = match app.gate.decide_http(&op, &http_auth, now) {
        Decision::Allow(p) => p,
        Decision::Challenge { stale, failed } => {
            if failed {
                app.metrics.auth_failure("digest");
            }
            return response::challenge(&app.gate.challenges(now, stale));
        }
        Decision::Refuse(_) => {
            access(app, &req.conn, None, op.name, "refused: not authorized");
            return plain(StatusCode::FORBIDDEN, "this needs an Administrator");
        }
        Decision::Locked(retry) => {
            access(app, &req.conn, None, op.name, "refused: locked out");
            return response::locked(retry);
        }
        Decision::RateLimited(retry) => {
            access(app, &req.conn, None, op.name, "refused: rate limited");
            return response::rate_limited(retry);
        }
    };
    let user = principal.username.as_deref();
    let (status, res) = match file {
        SystemFile::Backup => {
            match backup::create(&app.config, &app.db, &app.identity.serial_number) {
                Ok(text) => {
                    let name = format!(
                        "railgate-backup-{}-{}.json",
                        app.identity.serial_number,
                        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
                    );
                    let mut res = http::Response::new(text);
                    let h = res.headers_mut();
                    h.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/octet-stream"),
                    );
                    if let Ok(v) =
                        HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                    {
                        h.insert(http::header::CONTENT_DISPOSITION, v);
                    }
                    ("ok".to_string(), res)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "backup failed");
                    (
                        format!("failed: {e}"),
                        plain(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "the backup could not be made",
                        ),
                    )
                }
            }
        }
        SystemFile::Support => (
            "ok".into(),
            text(crate::services::device::support::support_text(app)),
        ),
        SystemFile::SystemLog => (
            "ok".into(),
            text(crate::services::device::support::system_log(app).await),
        ),
        SystemFile::AccessLog => ("ok".into(), text(app.access_log.text())),
        SystemFile::Restore => restore(app, req),
        SystemFile::Firmware => upgrade(app, req),
    };
    access(app, &req.conn, user, op.name, &status);
    res
}

/// A text/plain 200 answer.
fn text(body: String) -> http::Response<String> {
    let mut res = http::Response::new(body);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// The refusal of an upload that is not `application/octet-stream`.
fn not_octet_stream(req: &Request<'_>) -> Option<(String, http::Response<String>)> {
    (!is_octet_stream(req.headers)).then(|| {
        (
            "refused: not application/octet-stream".into(),
            plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "upload it as application/octet-stream",
            ),
        )
    })
}

/// A failure of the box: 500, logged.
fn device_failure(what: String) -> (String, http::Response<String>) {
    tracing::warn!(reason = %what, "upload not applied");
    (
        format!("failed: {what}"),
        plain(StatusCode::INTERNAL_SERVER_ERROR, &what),
    )
}

fn upgrade(app: &Arc<App>, req: &Request<'_>) -> (String, http::Response<String>) {
    use crate::firmware::{install, package};
    if let Some(refused) = not_octet_stream(req) {
        return refused;
    }
    let Some(dir) = app.host.firmware_dir(&app.data_dir()) else {
        return device_failure(format!(
            "host.backend {} installs no firmware",
            app.host.kind().name()
        ));
    };
    let key_path = &app.config.host.release_key;
    let key = match std::fs::read_to_string(key_path)
        .map_err(|e| e.to_string())
        .and_then(|t| package::read_key(&t).map_err(|e| e.to_string()))
    {
        Ok(k) => k,
        Err(e) => {
            return device_failure(format!(
                "no usable release key at {}: {e}",
                key_path.display()
            ));
        }
    };
    let package = match package::verify(&req.body, &key) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(reason = %e, "firmware package refused");
            return (
                format!("refused: {e}"),
                plain(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &format!("not installed: {e}"),
                ),
            );
        }
    };
    if app.lifecycle.requested().is_some() {
        return device_failure("a restart is already under way".into());
    }
    let previous = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return device_failure(format!("the running program cannot be named: {e}")),
    };
    let trial = match install::install(
        &dir,
        &package,
        &previous,
        app.config.host.upgrade_trial_secs,
    ) {
        Ok(t) => t,
        Err(e) => return device_failure(format!("cannot install into {}: {e}", dir.display())),
    };
    tracing::warn!(version = %trial.version, program = %trial.program.display(), "firmware verified and installed: restarting into it");
    app.lifecycle
        .request_after_answer(Exit::Upgrade(trial.program.clone()));
    (
        format!("ok: {} installed, restarting", trial.version),
        plain(
            StatusCode::OK,
            &format!(
                "release {} verified and installed: railgate restarts into it in 1 s and rolls back unless it answers within {} s",
                trial.version, trial.deadline_secs
            ),
        ),
    )
}

fn restore(app: &Arc<App>, req: &Request<'_>) -> (String, http::Response<String>) {
    if let Some(refused) = not_octet_stream(req) {
        return refused;
    }
    let data_dir = app.data_dir();
    match backup::check_and_stage(&req.body, &data_dir, app.config.source.as_deref()) {
        Ok(()) => {
            tracing::warn!("system restore checked and staged: restarting to apply it");
            app.lifecycle.request_after_answer(Exit::Restart);
            (
                "ok: staged, restarting".into(),
                plain(
                    StatusCode::OK,
                    "the backup was checked and will be applied: railgate restarts in 1 s",
                ),
            )
        }
        Err(RestoreError::Invalid(why)) => {
            tracing::info!(reason = %why, "system restore refused");
            (
                format!("refused: {why}"),
                plain(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &format!("not restored: {why}"),
                ),
            )
        }
        Err(RestoreError::Device(why)) => {
            tracing::warn!(reason = %why, "system restore failed");
            (
                format!("failed: {why}"),
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the restore could not be staged",
                ),
            )
        }
    }
}
