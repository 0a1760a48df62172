//! `GET /metrics` (Prometheus text format) and the per-request counter.
//!
//! Access: /metrics is served on the service's own port only when the service was started with
//! `--metrics-token` (env `VOUCH_CHAT_METRICS_TOKEN`), and only to requests bearing
//! `Authorization: Bearer <that token>` (compared in constant time). Without the flag it answers
//! 404 like any unknown route, so it is never public by accident — not even behind a reverse
//! proxy on the same host, where every client would look like loopback.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counts every routed request by route template, method and status (a `route_layer`, so the
/// template is known; unmatched paths are counted by the fallback as `route="unmatched"`).
pub async fn track_http(State(chat): State<AppState>, req: Request, next: Next) -> Response {
    // MatchedPath and a standard Method clone without copying text.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let res = next.run(req).await;
    chat.metrics.http_request(
        route.as_ref().map_or("unmatched", |p| p.as_str()),
        &method,
        res.status().as_u16(),
    );
    res
}

/// `GET /metrics` — see the module doc for who may read it.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security(("metrics_token" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
        (status = 401, description = "`unauthorized`: no or another token", body = super::error::ErrorBody),
        (status = 404, description = "Metrics are off (started without --metrics-token)", body = super::error::ErrorBody),
    ))]
pub async fn metrics(State(chat): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(expected) = &chat.metrics_token else {
        return ApiError::not_found("no such route").into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match presented {
        Some(t) if expected.matches(t) => {}
        _ => {
            let mut res = ApiError::new(
                StatusCode::UNAUTHORIZED,
                crate::error::ErrorCode::Unauthorized,
                "send Authorization: Bearer <the --metrics-token>",
            )
            .into_response();
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return res;
        }
    }
    chat.metrics.group_commits(chat.store.group_commits());
    let body = chat.metrics.render(chat.keys.stats());
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}
