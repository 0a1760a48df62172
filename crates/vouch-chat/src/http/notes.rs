//! Internal notes and reply rendering for agents: `POST|GET /api/v1/agent/conversations/{id}/notes`,
//! `POST /api/v1/agent/conversations/{id}/render`. Agent routes only: no session token reads them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::auth::AgentAuth;
use super::error::ApiResult;
use super::{json_object, path_uuid, Answer, AppState};
use crate::error::ChatError;
use crate::storage::Note;

/// `GET /api/v1/agent/conversations/{id}/notes`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoteList {
    pub notes: Vec<Note>,
}

/// Body of `render` and of a note: `{"text"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TextBody {
    pub text: String,
}

fn text_field(body: &Bytes) -> ApiResult<String> {
    match json_object(body)?.get("text") {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(ChatError::validation("text", "text is required").into()),
        Some(_) => Err(ChatError::validation("text", "text must be a string").into()),
    }
}

/// `POST /api/v1/agent/conversations/{id}/notes {"text"}` → `201` the note; every agent socket
/// gets `{"type":"note",…}`.
#[utoipa::path(post, path = "/api/v1/agent/conversations/{id}/notes", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id (a UUID)")),
    request_body = TextBody,
    responses(
        (status = 201, description = "The note (agents only: never shown to the customer)", body = Note),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: the conversation has the most notes allowed (1,000)", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`, field `text`: missing, blank or too long", body = super::error::ErrorBody),
    ))]
pub async fn add_note(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<Note>)> {
    let id = path_uuid(&id, "conversation")?;
    let text = text_field(&body)?;
    let note = chat.add_note(&auth.agent, id, &text).await?;
    Ok((StatusCode::CREATED, Answer(note)))
}

/// `GET /api/v1/agent/conversations/{id}/notes`
#[utoipa::path(get, path = "/api/v1/agent/conversations/{id}/notes", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id (a UUID)")),
    responses(
        (status = 200, description = "The conversation's notes, oldest first", body = NoteList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
    ))]
pub async fn list_notes(
    State(chat): State<AppState>,
    _auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Answer<NoteList>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Answer(NoteList {
        notes: chat.notes(id).await?,
    }))
}

/// `POST /api/v1/agent/conversations/{id}/render {"text"}` → `{"text"}` with the placeholders
/// filled from the conversation (plain substitution: nothing is evaluated).
#[utoipa::path(post, path = "/api/v1/agent/conversations/{id}/render", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id (a UUID)")),
    request_body = TextBody,
    responses(
        (status = 200, description = "The text with `{{contact.given_name}}`, `{{contact.family_name}}`, `{{contact.email}}`, `{{agent.name}}` and `{{context.NAME}}` filled; anything else empty", body = TextBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`, field `text`: missing, or it or the result too long", body = super::error::ErrorBody),
    ))]
pub async fn render(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<TextBody>> {
    let id = path_uuid(&id, "conversation")?;
    let text = text_field(&body)?;
    let text = chat.render_for(&auth.agent, id, &text).await?;
    Ok(Answer(TextBody { text }))
}
