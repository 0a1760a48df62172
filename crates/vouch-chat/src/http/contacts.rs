//! `GET /api/v1/contacts/{id}`: a contact and its activities (agents, and API tokens with
//! `contacts:read`).

use super::error::ApiResult;
use super::tokens::{ContactsRead, Scoped};
use super::{path_uuid, Answer, AppState};
use crate::domain::conversations::ContactWithActivities;
use axum::extract::{Path, State};

/// `GET /api/v1/contacts/{id}`
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The contact's id (a UUID; not its external_id)")),
    responses(
        (status = 200, description = "The contact and its activities", body = ContactWithActivities),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: an API token without contacts:read", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
    ))]
pub async fn get_contact(
    State(chat): State<AppState>,
    _auth: Scoped<ContactsRead>,
    Path(id): Path<String>,
) -> ApiResult<Answer<ContactWithActivities>> {
    let id = path_uuid(&id, "contact")?;
    Ok(Answer(chat.contact_with_activities(id).await?))
}
