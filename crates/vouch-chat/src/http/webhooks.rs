//! The webhooks admin API: create (secret shown once), list, delete, deliveries, redeliver.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::Serialize;

use super::auth::AdminAuth;
use super::error::ApiResult;
use super::{json_object, path_uuid, Answer, AppState};
use crate::domain::webhooks::{CreatedWebhook, DeliveryView, WebhookView};

/// `GET /api/v1/admin/webhooks`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// `GET /api/v1/admin/webhooks/{id}/deliveries`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    /// Newest first (at most 200).
    pub deliveries: Vec<DeliveryView>,
}

/// `POST /api/v1/admin/webhooks {url, events}`
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created; `secret` is shown this once", body = CreatedWebhook),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: too many webhooks", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: `url` or `events`", body = super::error::ErrorBody),
    ))]
pub async fn create(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<CreatedWebhook>)> {
    let w = chat.create_webhook_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Answer(w)))
}

/// `GET /api/v1/admin/webhooks`
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every webhook (never its secret)", body = WebhookList),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
    ))]
pub async fn list(State(chat): State<AppState>, _a: AdminAuth) -> ApiResult<Answer<WebhookList>> {
    Ok(Answer(WebhookList {
        webhooks: chat.list_webhooks().await?,
    }))
}

/// `DELETE /api/v1/admin/webhooks/{id}` — with its deliveries.
#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
    ))]
pub async fn delete(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    chat.delete_webhook(path_uuid(&id, "webhook")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/admin/webhooks/{id}/deliveries`
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "Its deliveries, newest first", body = DeliveryList),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
    ))]
pub async fn deliveries(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<Answer<DeliveryList>> {
    let deliveries = chat.webhook_deliveries(path_uuid(&id, "webhook")?).await?;
    Ok(Answer(DeliveryList { deliveries }))
}

/// `POST /api/v1/admin/webhooks/{id}/deliveries/{event_id}/redeliver` — a failed delivery is
/// sent again (due now, a fresh 24 h of retries).
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/deliveries/{event_id}/redeliver", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The webhook's id"),
           ("event_id" = String, Path, description = "The event's id")),
    responses(
        (status = 202, description = "Pending again"),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: the delivery has not failed", body = super::error::ErrorBody),
    ))]
pub async fn redeliver(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path((id, event_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = path_uuid(&id, "webhook")?;
    let event_id = path_uuid(&event_id, "delivery")?;
    chat.redeliver(id, event_id).await?;
    Ok(StatusCode::ACCEPTED)
}
