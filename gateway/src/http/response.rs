//! The HTTP responses railgate writes: plain-text errors (before a SOAP message could be
//! read), SOAP envelopes, faults with the HTTP status their code maps to, the 401 Digest
//! challenge and the 429 (lockout, per-user authentication rate). Routing (`routes`) and the SOAP bridge (`soap`) both build
//! their answers here.

use std::time::Duration;

use http::{HeaderValue, StatusCode};

use crate::soap::{SoapFault, write_envelope};

const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// A plain-text response (errors that happen before any SOAP message could be read).
pub fn plain(status: StatusCode, text: &str) -> http::Response<String> {
    let mut res = http::Response::new(format!("{text}\n"));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// A SOAP envelope with `body` (and `header` blocks, if any).
pub fn soap(status: StatusCode, header: Option<&str>, body: &str) -> http::Response<String> {
    let mut res = http::Response::new(write_envelope(header, body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(SOAP_CONTENT_TYPE),
    );
    res
}

/// The response carrying `fault`, with the HTTP status its code maps to.
pub fn fault(fault: &SoapFault) -> http::Response<String> {
    fault_with_header(fault, fault.header_xml().as_deref())
}

/// [`fault`] with the given header blocks (e.g. `soap::addressing::fault_header`).
pub fn fault_with_header(fault: &SoapFault, header: Option<&str>) -> http::Response<String> {
    let status =
        StatusCode::from_u16(fault.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    soap(status, header, &fault.body_xml())
}

/// HTTP 401 with one `WWW-Authenticate` header per Digest challenge.
pub fn challenge(challenges: &[String]) -> http::Response<String> {
    let mut res = plain(
        StatusCode::UNAUTHORIZED,
        "authentication required (HTTP Digest or WS-Security UsernameToken)",
    );
    for value in challenges {
        if let Ok(v) = HeaderValue::from_str(value) {
            res.headers_mut().append(http::header::WWW_AUTHENTICATE, v);
        }
    }
    res
}

/// HTTP 429 for an address (or a user at an address) locked out after failed logins, with
/// `Retry-After`.
pub fn locked(retry: Duration) -> http::Response<String> {
    too_many(
        retry,
        "too many failed logins from this address; try again later",
    )
}

/// HTTP 429 for a user over its authentication rate, with `Retry-After`.
pub fn rate_limited(retry: Duration) -> http::Response<String> {
    too_many(retry, "too many authentications for this user; slow down")
}

fn too_many(retry: Duration, text: &str) -> http::Response<String> {
    let mut res = plain(StatusCode::TOO_MANY_REQUESTS, text);
    // Whole seconds, rounded up, at least 1.
    let secs = retry
        .as_secs()
        .saturating_add(u64::from(retry.subsec_nanos() > 0))
        .max(1);
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
    res
}
