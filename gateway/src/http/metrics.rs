//! The metrics listener's routes (`metrics.listen`, `--metrics-listen`): `GET /metrics`, the
//! Prometheus/OpenMetrics text; anything else 404. Unauthenticated, like every Prometheus
//! target: it is off by default, and its address is the operator's choice (loopback or a
//! management network).

use std::convert::Infallible;
use std::sync::Arc;

use http::{HeaderValue, Method, StatusCode};
use warp::Filter;

use super::response::plain;
use crate::app::App;

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The routes.
pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (http::Response<String>,), Error = Infallible> + Clone + Send + Sync + 'static
{
    warp::method()
        .and(warp::path::full())
        .map(move |method: Method, path: warp::path::FullPath| {
            if path.as_str() != "/metrics" {
                return plain(
                    StatusCode::NOT_FOUND,
                    "not found: the metrics are at /metrics",
                );
            }
            if method != Method::GET && method != Method::HEAD {
                return plain(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics");
            }
            let mut res = http::Response::new(app.metrics.render(&app.metrics_snapshot()));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(CONTENT_TYPE),
            );
            res
        })
}
