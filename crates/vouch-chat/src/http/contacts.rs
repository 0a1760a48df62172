//! `GET /api/v1/contacts/{id}`: a contact and its activities (agents only).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use super::auth::AgentAuth;
use super::error::ApiResult;
use super::{path_uuid, AppState};

/// `GET /api/v1/contacts/{id}`
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The contact's id (a UUID; not its external_id)")),
    responses(
        (status = 200, description = "The contact and its activities", body = super::openapi::ContactWithActivities),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::openapi::ErrorBody),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorBody),
    ))]
pub async fn get_contact(
    State(chat): State<AppState>,
    _auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&id, "contact")?;
    Ok(Json(chat.contact_with_activities(id).await?))
}
