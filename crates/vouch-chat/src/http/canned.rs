//! Canned replies: shared ones under `/api/v1/admin/canned-replies` (admins), each agent's own
//! under `/api/v1/agent/canned-replies`; the agent's list holds both, own first. Each route
//! reaches only its own scope: an agent can neither change a shared reply nor another agent's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde::Serialize;

use super::auth::{AdminAuth, AgentAuth};
use super::error::ApiResult;
use super::{json_object, path_uuid, Answer, AppState};
use crate::domain::canned::CannedReplyBody;

/// `{"canned_replies": [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CannedReplyList {
    pub canned_replies: Vec<CannedReplyBody>,
}

/// Body of a create or update: `{shortcut, text}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CannedReplyRequest {
    /// 1–32 of `a-z 0-9 _ -`, unique in its scope.
    pub shortcut: String,
    /// 1 to the message limit (4,000 by default) of characters; may hold placeholders.
    pub text: String,
}

/// `GET /api/v1/agent/canned-replies` — the agent's own, then the shared ones.
#[utoipa::path(get, path = "/api/v1/agent/canned-replies", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The agent's own replies first, then the shared ones, each part by shortcut", body = CannedReplyList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
    ))]
pub async fn list_for_agent(
    State(chat): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Answer<CannedReplyList>> {
    Ok(Answer(CannedReplyList {
        canned_replies: chat.canned_replies(Some(auth.agent.id)).await?,
    }))
}

/// `POST /api/v1/agent/canned-replies {shortcut, text}` — one of the agent's own.
#[utoipa::path(post, path = "/api/v1/agent/canned-replies", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CannedReplyRequest,
    responses(
        (status = 201, description = "Created (`shared: false`)", body = CannedReplyBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: the agent already has this shortcut, or has the most replies allowed", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming `shortcut` or `text`", body = super::error::ErrorBody),
    ))]
pub async fn create_for_agent(
    State(chat): State<AppState>,
    auth: AgentAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<CannedReplyBody>)> {
    let r = chat
        .create_canned_reply_from(Some(auth.agent.id), &json_object(&body)?)
        .await?;
    Ok((StatusCode::CREATED, Answer(r)))
}

/// `PUT /api/v1/agent/canned-replies/{id} {shortcut, text}` — only the agent's own.
#[utoipa::path(put, path = "/api/v1/agent/canned-replies/{id}", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The reply's id (a UUID)")),
    request_body = CannedReplyRequest,
    responses(
        (status = 200, description = "Updated", body = CannedReplyBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`: no such reply of this agent's own", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: another of the agent's replies has this shortcut", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming `shortcut` or `text`", body = super::error::ErrorBody),
    ))]
pub async fn update_for_agent(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<CannedReplyBody>> {
    let id = path_uuid(&id, "canned reply")?;
    let r = chat
        .update_canned_reply_from(id, Some(auth.agent.id), &json_object(&body)?)
        .await?;
    Ok(Answer(r))
}

/// `DELETE /api/v1/agent/canned-replies/{id}` → `204` — only the agent's own.
#[utoipa::path(delete, path = "/api/v1/agent/canned-replies/{id}", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The reply's id (a UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`: no such reply of this agent's own", body = super::error::ErrorBody),
    ))]
pub async fn delete_for_agent(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_uuid(&id, "canned reply")?;
    chat.delete_canned_reply(id, Some(auth.agent.id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/admin/canned-replies` — the shared replies.
#[utoipa::path(get, path = "/api/v1/admin/canned-replies", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The shared replies, by shortcut", body = CannedReplyList),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
    ))]
pub async fn list_shared(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Answer<CannedReplyList>> {
    Ok(Answer(CannedReplyList {
        canned_replies: chat.canned_replies(None).await?,
    }))
}

/// `POST /api/v1/admin/canned-replies {shortcut, text}` — a shared reply.
#[utoipa::path(post, path = "/api/v1/admin/canned-replies", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CannedReplyRequest,
    responses(
        (status = 201, description = "Created (`shared: true`)", body = CannedReplyBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: a shared reply has this shortcut, or there are the most allowed", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming `shortcut` or `text`", body = super::error::ErrorBody),
    ))]
pub async fn create_shared(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<CannedReplyBody>)> {
    let r = chat
        .create_canned_reply_from(None, &json_object(&body)?)
        .await?;
    Ok((StatusCode::CREATED, Answer(r)))
}

/// `PUT /api/v1/admin/canned-replies/{id} {shortcut, text}` — a shared reply.
#[utoipa::path(put, path = "/api/v1/admin/canned-replies/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The reply's id (a UUID)")),
    request_body = CannedReplyRequest,
    responses(
        (status = 200, description = "Updated", body = CannedReplyBody),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`: no such shared reply", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: another shared reply has this shortcut", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming `shortcut` or `text`", body = super::error::ErrorBody),
    ))]
pub async fn update_shared(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<CannedReplyBody>> {
    let id = path_uuid(&id, "canned reply")?;
    let r = chat
        .update_canned_reply_from(id, None, &json_object(&body)?)
        .await?;
    Ok(Answer(r))
}

/// `DELETE /api/v1/admin/canned-replies/{id}` → `204` — a shared reply.
#[utoipa::path(delete, path = "/api/v1/admin/canned-replies/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The reply's id (a UUID)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`: no such shared reply", body = super::error::ErrorBody),
    ))]
pub async fn delete_shared(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = path_uuid(&id, "canned reply")?;
    chat.delete_canned_reply(id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
