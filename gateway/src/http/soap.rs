//! From an HTTP request to a SOAP operation and back: parse, authenticate, authorize,
//! dispatch, and write the response or the fault with the right HTTP status.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, StatusCode};

use crate::addr::is_plausible_authority;
use crate::app::App;
use crate::security::access::AccessClass;
use crate::security::gate::{Decision, HttpAuth, Now};
use crate::security::lookup::operation;
use crate::services::{self, Ctx};
use crate::soap::addressing::fault_header;
use crate::soap::{Service, SoapFault, parse_envelope};

use super::response::{self, plain};
use super::server::ConnInfo;

/// The parts of an HTTP request the SOAP layer needs.
pub struct HttpRequest<'a> {
    /// The subscription the path names, for subscription manager operations.
    pub subscription: Option<String>,
    /// Method.
    pub method: &'a str,
    /// Request target (path and query).
    pub target: &'a str,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// The connection.
    pub conn: ConnInfo,
    /// The body.
    pub body: &'a [u8],
}

impl std::fmt::Debug for HttpRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers and body may carry credentials (Authorization, PasswordText): never printed.
        f.debug_struct("HttpRequest")
            .field("subscription", &self.subscription)
            .field("method", &self.method)
            .field("target", &self.target)
            .field("conn", &self.conn)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// `scheme://authority` the client used to reach us, for XAddrs: the configured advertised
/// address, else the Host header if it is a plausible authority, else our socket address.
pub fn base_url(app: &App, headers: &HeaderMap, conn: &ConnInfo) -> String {
    let scheme = if conn.tls { "https" } else { "http" };
    if let Some(advertised) = &app.config.server.advertised_address {
        return format!("{scheme}://{advertised}");
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .filter(|h| is_plausible_authority(h));
    match host {
        Some(h) => format!("{scheme}://{h}"),
        None => format!("{scheme}://{}", conn.local),
    }
}

/// Serves one SOAP request.
pub async fn handle(
    app: Arc<App>,
    service: Service,
    req: HttpRequest<'_>,
) -> http::Response<String> {
    let started = Instant::now();
    if req.body.iter().all(u8::is_ascii_whitespace) {
        // No SOAP message at all: an HTTP error, not a fault. Digest clients such as curl
        // probe with an empty POST first and expect the challenge.
        if req.headers.get(http::header::AUTHORIZATION).is_none() {
            return response::challenge(&app.gate.challenges(device_now(&app), false));
        }
        return plain(
            StatusCode::BAD_REQUEST,
            "empty request: send a SOAP 1.2 envelope",
        );
    }
    let envelope = match parse_envelope(req.body, &app.xml_limits) {
        Ok(e) => e,
        Err(fault) => {
            tracing::info!(peer = %req.conn.peer, reason = %fault.reason, "malformed SOAP request");
            return response::fault(&fault);
        }
    };
    let (ns, name) = (&*envelope.body.ns, &*envelope.body.name);
    let Some(op) = operation(service, ns, name) else {
        tracing::info!(peer = %req.conn.peer, ?service, namespace = ns, operation = name, "unknown operation");
        return related_fault(
            &SoapFault::action_not_supported(format!(
                "{name} is not an operation of the {service:?} service"
            )),
            service,
            &envelope,
        );
    };
    let authorization = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let http_auth = HttpAuth {
        authorization,
        method: req.method,
        uri: req.target,
        peer: req.conn.peer.ip(),
    };
    let now = device_now(&app);
    let principal = match app.gate.decide(op, &envelope, &http_auth, now) {
        Decision::Allow(p) => p,
        Decision::Challenge { stale, failed } => {
            if failed {
                app.metrics.auth_failure("digest");
            }
            return response::challenge(&app.gate.challenges(now, stale));
        }
        Decision::Refuse(fault) => {
            app.metrics.auth_failure("refused");
            count(&app, op, Some(&fault));
            access(
                &app,
                &req.conn,
                None,
                name,
                &format!("refused: {}", fault.reason),
            );
            return related_fault(&fault, service, &envelope);
        }
        Decision::Locked(retry) => {
            app.metrics.auth_failure("locked");
            access(&app, &req.conn, None, name, "refused: locked out");
            return response::locked(retry);
        }
        Decision::RateLimited(retry) => {
            app.metrics.auth_failure("rate_limited");
            access(&app, &req.conn, None, name, "refused: rate limited");
            return response::rate_limited(retry);
        }
    };
    let audited = !matches!(
        op.class,
        AccessClass::PreAuth
            | AccessClass::ReadSystem
            | AccessClass::ReadSystemSensitive
            | AccessClass::ReadMedia
    );
    let Some(handler) = services::handler(service, ns, name) else {
        tracing::debug!(operation = name, "not implemented");
        return related_fault(
            &SoapFault::action_not_supported(format!("railgate does not implement {name}")),
            service,
            &envelope,
        );
    };
    let ctx = Ctx {
        base_url: base_url(&app, req.headers, &req.conn),
        principal,
        peer: req.conn.peer,
        subscription: req.subscription.clone(),
        app,
    };
    let result = handler(&ctx, &envelope.body).await;
    let elapsed_us = started.elapsed().as_micros() as u64;
    match result {
        Ok(body) => {
            count(&ctx.app, op, None);
            tracing::debug!(operation = name, user = ctx.principal.log_name(), peer = %ctx.peer, elapsed_us, "ok");
            if audited {
                access(
                    &ctx.app,
                    &req.conn,
                    ctx.principal.username.as_deref(),
                    name,
                    "ok",
                );
            }
            let header = crate::soap::addressing::reply_header(
                crate::soap::addressing::response_action(service, ns, name),
                &envelope,
            );
            response::soap(StatusCode::OK, header.as_deref(), &body)
        }
        Err(fault) => {
            count(&ctx.app, op, Some(&fault));
            tracing::info!(operation = name, user = ctx.principal.log_name(), peer = %ctx.peer, reason = %fault.reason, "fault");
            if audited {
                let outcome = format!("fault: {}", fault.reason);
                access(
                    &ctx.app,
                    &req.conn,
                    ctx.principal.username.as_deref(),
                    name,
                    &outcome,
                );
            }
            related_fault(&fault, service, &envelope)
        }
    }
}

/// Counts a request in the metrics: `ok`, or the fault's most specific subcode.
fn count(app: &App, op: &crate::security::access::Operation, fault: Option<&SoapFault>) {
    let result = match fault {
        None => "ok",
        Some(f) => f.subcodes.last().copied().unwrap_or("env:Fault"),
    };
    app.metrics
        .request(op.service.metric_name(), op.name, result);
}

/// One line of the access log (GetSystemLog Access): when, from where, who, what, and how it
/// ended.
pub(super) fn access(
    app: &App,
    conn: &ConnInfo,
    user: Option<&str>,
    operation: &str,
    outcome: &str,
) {
    app.access_log.push(format!(
        "{} peer={} user={} operation={operation} {outcome}",
        crate::logring::timestamp(),
        conn.peer,
        user.unwrap_or("-"),
    ));
}

/// A fault answering a parsed request: with WS-Addressing headers where its service uses them.
fn related_fault(
    fault: &SoapFault,
    service: Service,
    envelope: &crate::soap::Envelope,
) -> http::Response<String> {
    response::fault_with_header(fault, fault_header(fault, service, envelope).as_deref())
}

/// Now, on the device's wall clock: the one SetSystemDateAndTime sets (the sandbox's own),
/// which a UsernameToken's Created is checked against, since clients take their offset from
/// GetSystemDateAndTime.
pub fn device_now(app: &App) -> Now {
    Now {
        wall: app.host.wall_now(),
        ..Now::current()
    }
}
