//! `GET /healthz` (the process serves) and `GET /readyz` (the database answers and every key URL
//! has keys), both public and cheap: `/readyz` waits at most [`READY_WAIT`].

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::{Answer, AppState};
use crate::domain::readiness::NotReady;

/// The longest `/readyz` waits for the database and for key fetches.
pub const READY_WAIT: Duration = Duration::from_secs(2);

/// `GET /healthz`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `GET /readyz` when ready.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready`
    pub status: &'static str,
    pub checks: ReadyChecks,
}

/// Each check of a ready service.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadyChecks {
    /// `ok`
    pub database: &'static str,
    /// `ok`
    pub keys: &'static str,
}

/// `GET /readyz` when not ready: what is not, for the operator.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotReadyBody {
    /// `not_ready`
    pub status: &'static str,
    pub not_ready: Vec<NotReady>,
}

/// `GET /healthz` — 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process serves", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
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
        let checks = ReadyChecks {
            database: "ok",
            keys: "ok",
        };
        (
            StatusCode::OK,
            Answer(Ready {
                status: "ready",
                checks,
            }),
        )
            .into_response()
    } else {
        tracing::warn!(not_ready = ?not_ready, "readiness check failed");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Answer(NotReadyBody {
                status: "not_ready",
                not_ready,
            }),
        )
            .into_response()
    }
}
