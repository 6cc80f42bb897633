//! The metrics listener's routes (`metrics.listen`, `--metrics-listen`): `GET /metrics`, the
//! Prometheus/OpenMetrics text; `GET /` the status page and `GET /status.json` its data
//! (`status.rs`); anything else 404. Unauthenticated, like every Prometheus
//! target: it is off by default, and its address is the operator's choice (loopback or a
//! management network).

use std::convert::Infallible;
use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode};
use warp::Filter;

use super::response::plain;
use super::status;
use crate::app::App;

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the listener serves.
enum Page {
    Metrics,
    Status,
    StatusJson,
}

/// The routes.
pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (http::Response<String>,), Error = Infallible> + Clone + Send + Sync + 'static
{
    warp::method().and(warp::path::full()).then(
        move |method: Method, path: warp::path::FullPath| {
            let app = app.clone();
            async move {
                let page = match path.as_str() {
                    "/metrics" => Page::Metrics,
                    "/" => Page::Status,
                    "/status.json" => Page::StatusJson,
                    _ => {
                        return plain(
                            StatusCode::NOT_FOUND,
                            "not found: the metrics are at /metrics, the status page at /",
                        );
                    }
                };
                if method != Method::GET && method != Method::HEAD {
                    return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only");
                }
                let (body, media_type) = match page {
                    Page::Metrics => (app.metrics.render(&app.metrics_snapshot()), CONTENT_TYPE),
                    Page::Status => (status::PAGE.to_string(), "text/html; charset=utf-8"),
                    Page::StatusJson => (
                        serde_json::to_string(&status::report(&app).await)
                            .unwrap_or_else(|_| "{}".into()),
                        "application/json",
                    ),
                };
                let mut res = http::Response::new(body);
                let headers = res.headers_mut();
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static(media_type),
                );
                headers.insert(
                    http::header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                );
                // The page runs only its own inline script and fetches only its own origin.
                headers.insert(
                    http::header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; \
                         style-src 'unsafe-inline'; frame-ancestors 'none'",
                    ),
                );
                headers.insert(
                    http::header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                res
            }
        },
    )
}
