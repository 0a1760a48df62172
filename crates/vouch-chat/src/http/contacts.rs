//! `GET /api/v1/contacts/{id}`: a contact and its activities (agents only).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use super::auth::AgentAuth;
use super::error::ApiResult;
use super::{path_uuid, AppState};

pub async fn get_contact(
    State(chat): State<AppState>,
    _auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&id, "contact")?;
    Ok(Json(chat.contact_with_activities(id).await?))
}
