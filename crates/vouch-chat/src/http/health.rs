//! `GET /healthz` (the process serves) and `GET /readyz` (the database answers and every key URL
//! has keys), both public and cheap: `/readyz` waits at most [`READY_WAIT`].

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::openapi::{Health, NotReadyBody, Ready};
use super::AppState;

/// The longest `/readyz` waits for the database and for key fetches.
pub const READY_WAIT: Duration = Duration::from_secs(2);

/// `GET /healthz` — 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process serves", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// `GET /readyz` — 200 when the database answers and every chat authentication setting's key
/// URL has keys; otherwise 503 naming what is not ready.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready: the list says what", body = NotReadyBody),
    ))]
pub async fn readyz(State(chat): State<AppState>) -> Response {
    let not_ready = chat.readiness(READY_WAIT).await;
    if not_ready.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "checks": {"database": "ok", "keys": "ok"}})),
        )
            .into_response()
    } else {
        tracing::warn!(not_ready = ?not_ready, "readiness check failed");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "not_ready": not_ready})),
        )
            .into_response()
    }
}
