//! From an HTTP request to a SOAP operation and back: parse, authenticate, authorize,
//! dispatch, and write the response or the fault with the right HTTP status.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderMap, HeaderValue, StatusCode};

use crate::app::App;
use crate::security::access::operation;
use crate::security::gate::{self, Decision, HttpAuth};
use crate::services::{self, Ctx};
use crate::soap::{Service, SoapFault, parse_envelope, write_envelope};

use super::routes::plain;
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

const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

fn soap_response(status: StatusCode, header: Option<&str>, body: &str) -> http::Response<String> {
    let mut res = http::Response::new(write_envelope(header, body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(SOAP_CONTENT_TYPE),
    );
    res
}

/// The response carrying `fault`.
pub fn fault_response(fault: &SoapFault) -> http::Response<String> {
    let status =
        StatusCode::from_u16(fault.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    soap_response(status, fault.header_xml().as_deref(), &fault.body_xml())
}

fn challenge_response(app: &App, stale: bool) -> http::Response<String> {
    let mut res = plain(
        StatusCode::UNAUTHORIZED,
        "authentication required (HTTP Digest or WS-Security UsernameToken)",
    );
    for value in app.digest.challenges(std::time::SystemTime::now(), stale) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(http::header::WWW_AUTHENTICATE, v);
        }
    }
    res
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

/// host, host:port, IPv4, or [IPv6]:port; nothing that could smuggle a path or markup.
pub fn is_plausible_authority(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_' | '%')
        })
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
            return challenge_response(&app, false);
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
            return fault_response(&fault);
        }
    };
    let (ns, name) = (&*envelope.body.ns, &*envelope.body.name);
    let Some(op) = operation(service, ns, name) else {
        tracing::info!(peer = %req.conn.peer, ?service, namespace = ns, operation = name, "unknown operation");
        return fault_response(&SoapFault::action_not_supported(format!(
            "{name} is not an operation of the {service:?} service"
        )));
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
    let principal = match gate::decide(&app, op, &envelope, &http_auth) {
        Decision::Allow(p) => p,
        Decision::Challenge { stale } => return challenge_response(&app, stale),
        Decision::Refuse(fault) => return fault_response(&fault),
        Decision::Locked(retry) => {
            let mut res = plain(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins from this address; try again later",
            );
            if let Ok(v) = HeaderValue::from_str(&retry.as_secs().max(1).to_string()) {
                res.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            return res;
        }
    };
    let Some(handler) = services::handler(service, ns, name) else {
        tracing::debug!(operation = name, "not implemented");
        return fault_response(&SoapFault::action_not_supported(format!(
            "railgate does not implement {name}"
        )));
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
            tracing::debug!(operation = name, user = ?ctx.principal.username, peer = %ctx.peer, elapsed_us, "ok");
            soap_response(StatusCode::OK, None, &body)
        }
        Err(fault) => {
            tracing::info!(operation = name, user = ?ctx.principal.username, peer = %ctx.peer, reason = %fault.reason, "fault");
            fault_response(&fault)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_check() {
        for ok in ["192.0.2.1:8080", "[::1]:80", "gateway.local", "host_name"] {
            assert!(is_plausible_authority(ok), "{ok}");
        }
        for bad in ["", "a/b", "x\"><y", "a b", "user@host"] {
            assert!(!is_plausible_authority(bad), "{bad}");
        }
    }
}
