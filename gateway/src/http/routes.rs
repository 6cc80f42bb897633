//! The warp routes: SOAP endpoints take POST; anything else gets a short, harmless answer.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, Method, StatusCode};
use warp::Filter;
use warp::path::FullPath;

use crate::app::App;
use crate::soap::Service;

use super::body::{BodyError, read_capped};
use super::response::plain;
use super::server::ConnInfo;
use super::soap::{self, HttpRequest};
use super::system;
use crate::system_files::SystemFile;

/// Whether a Content-Type is one a SOAP request may come with (a missing one is tolerated).
fn acceptable_content_type(headers: &HeaderMap) -> bool {
    super::body::media_type(headers).is_none_or(|media| {
        matches!(
            media.as_str(),
            "application/soap+xml" | "text/xml" | "application/xml"
        )
    })
}

/// The connection facts of a request that came without them (only in tests of the routes).
fn unknown_conn() -> ConnInfo {
    ConnInfo {
        peer: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        local: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: false,
    }
}

/// The request target (path and query), as HTTP Digest signs it.
fn target_of(path: &FullPath, query: &str) -> String {
    if query.is_empty() {
        path.as_str().to_string()
    } else {
        format!("{}?{query}", path.as_str())
    }
}

/// Reads the body, at most `cap` bytes within the body timeout; the HTTP answer otherwise.
async fn read_body<S, B, E>(
    headers: &HeaderMap,
    body: S,
    cap: usize,
    app: &App,
    conn: Option<ConnInfo>,
) -> Result<Bytes, http::Response<String>>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: bytes::Buf,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let timeout = std::time::Duration::from_secs(app.config.server.body_timeout_secs);
    match read_capped(declared, body, cap, timeout).await {
        Ok(b) => Ok(b),
        Err(BodyError::TooLarge) => {
            tracing::info!(
                peer = conn.map(|c| tracing::field::display(c.peer)),
                limit = cap,
                "request body too large"
            );
            Err(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than this endpoint accepts",
            ))
        }
        Err(BodyError::Timeout) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            "the request body did not arrive in time",
        )),
        Err(BodyError::Broken) => Err(plain(
            StatusCode::BAD_REQUEST,
            "the request body could not be read",
        )),
    }
}

/// Every route railgate serves.
pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (http::Response<String>,), Error = Infallible> + Clone + Send + Sync + 'static
{
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<ConnInfo>())
        .and(warp::body::stream())
        .and(warp::any().map(move || app.clone()))
        .then(handle)
        .recover(|rejection: warp::Rejection| async move {
            // Only reachable if a filter above rejects, which none of them does for a request
            // that reached us; answer without revealing internals.
            tracing::error!(?rejection, "request rejected by the routes");
            Ok::<_, Infallible>(plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        })
        .unify()
}

#[allow(clippy::too_many_arguments)]
async fn handle<S, B, E>(
    method: Method,
    path: FullPath,
    query: String,
    headers: HeaderMap,
    conn: Option<ConnInfo>,
    body: S,
    app: Arc<App>,
) -> http::Response<String>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: bytes::Buf,
{
    if let Some(file) = SystemFile::from_path(path.as_str()) {
        let cap = match file {
            SystemFile::Restore => crate::backup::restore::MAX_BYTES,
            SystemFile::Firmware => crate::firmware::package::MAX_BYTES,
            _ => 0,
        };
        let body = match read_body(&headers, body, cap, &app, conn).await {
            Ok(b) => b,
            Err(res) => return res,
        };
        return system::handle(
            &app,
            file,
            &system::Request {
                method: &method,
                target: &target_of(&path, &query),
                headers: &headers,
                conn: conn.unwrap_or_else(unknown_conn),
                body,
            },
        )
        .await;
    }
    let Some((service, subscription)) = Service::route(path.as_str()) else {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: railgate serves ONVIF at /onvif/device_service",
        );
    };
    if method != Method::POST {
        let mut res = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "this is an ONVIF SOAP 1.2 endpoint: send requests with POST (Content-Type: application/soap+xml)",
        );
        res.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        return res;
    }
    if !acceptable_content_type(&headers) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "SOAP requests must be application/soap+xml (or text/xml)",
        );
    }
    let bytes = match read_body(&headers, body, app.config.server.max_body_bytes, &app, conn).await
    {
        Ok(b) => b,
        Err(res) => return res,
    };
    let conn = conn.unwrap_or_else(unknown_conn);
    let target = target_of(&path, &query);
    soap::handle(
        app,
        service,
        HttpRequest {
            subscription,
            method: method.as_str(),
            target: &target,
            headers: &headers,
            conn,
            body: &bytes,
        },
    )
    .await
}
