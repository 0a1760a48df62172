//! The console's agent API: sign-in, the conversation queue, accept, end.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::auth::{AgentAuth, COOKIE_NAME};
use super::error::{ApiError, ApiResult};
use super::{json_object, origin_of, path_uuid, Answer, AppState, ClientAddr};
use crate::domain::conversations::{ConversationDetail, ConversationSummary};
use crate::storage::{Agent, ConversationState, Role};

/// Body of `POST /api/v1/agent/login`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `200` of `POST /api/v1/agent/login` (the same token is set as the `vouch_agent` cookie).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub role: Role,
    pub agent: Agent,
}

/// `GET /api/v1/agent/conversations`
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationSummary>,
}

fn cookie(chat: &AppState, value: &str, max_age: u64) -> Option<HeaderValue> {
    let secure = if chat.public_origin().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// `POST /api/v1/agent/login {email, password}` → `{"token","role","agent"}` + cookie.
#[utoipa::path(post, path = "/api/v1/agent/login", tag = "agent",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; the token is also set as the `vouch_agent` cookie", body = LoginResponse),
        (status = 400, description = "`bad_request`: not a JSON object, or email/password missing", body = super::error::ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed`: an Origin that is not the service's own", body = super::error::ErrorBody),
        (status = 429, description = "`rate_limited`", body = super::error::ErrorBody),
    ))]
pub async fn login(
    State(chat): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    // A browser sign-in must come from the console's own pages (login CSRF).
    if let Some(o) = origin_of(&headers) {
        if !chat.is_own_origin(&o) {
            return Err(ApiError::origin_not_allowed());
        }
    }
    let obj = json_object(&body)?;
    let field = |name: &str| match obj.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(ApiError::bad_request(format!("{name} is required"))),
    };
    let req = LoginRequest {
        email: field("email")?,
        password: field("password")?,
    };
    let signed = chat.login(&req.email, &req.password, client).await?;
    let mut res = Answer(LoginResponse {
        role: signed.agent.role,
        agent: signed.agent,
        token: signed.token.clone(),
    })
    .into_response();
    if let Some(c) = cookie(&chat, &signed.token, chat.session_ttl.as_secs()) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `POST /api/v1/agent/logout` → 204; the token is revoked and the cookie cleared.
#[utoipa::path(post, path = "/api/v1/agent/logout", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out: the token is revoked, the cookie cleared"),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
    ))]
pub async fn logout(State(chat): State<AppState>, auth: AgentAuth) -> ApiResult<Response> {
    chat.logout(&auth.token).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Some(c) = cookie(&chat, "", 0) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `GET /api/v1/agent/me`
#[utoipa::path(get, path = "/api/v1/agent/me", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The signed-in agent with status, capacity and active count", body = crate::storage::DeskAgent),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
    ))]
pub async fn me(
    State(chat): State<AppState>,
    auth: AgentAuth,
) -> ApiResult<Answer<crate::storage::DeskAgent>> {
    Ok(Answer(chat.desk_agent(auth.agent.id).await?))
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

/// `GET /api/v1/agent/conversations?state=waiting|active|ended`
#[utoipa::path(get, path = "/api/v1/agent/conversations", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("state" = Option<ConversationState>, Query, description = "Only conversations in this state")),
    responses(
        (status = 200, description = "Conversations, newest first (at most 500)", body = ConversationList),
        (status = 400, description = "`bad_request`: unknown state", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
    ))]
pub async fn list(
    State(chat): State<AppState>,
    _auth: super::tokens::Scoped<super::tokens::ConversationsRead>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Answer<ConversationList>> {
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            ConversationState::parse(s)
                .ok_or_else(|| ApiError::bad_request("state must be waiting, active or ended"))?,
        ),
    };
    let conversations = chat.list_conversations(state).await?;
    Ok(Answer(ConversationList { conversations }))
}

/// `GET /api/v1/agent/conversations/{id}` — any agent may read any conversation.
#[utoipa::path(get, path = "/api/v1/agent/conversations/{id}", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id (a UUID)")),
    responses(
        (status = 200, description = "The conversation with its context and messages", body = ConversationDetail),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
    ))]
pub async fn detail(
    State(chat): State<AppState>,
    _auth: super::tokens::Scoped<super::tokens::ConversationsRead>,
    Path(id): Path<String>,
) -> ApiResult<Answer<ConversationDetail>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Answer(chat.conversation_detail(id).await?))
}

/// `POST /api/v1/agent/conversations/{id}/accept` — `409` when another agent was first.
#[utoipa::path(post, path = "/api/v1/agent/conversations/{id}/accept", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id (a UUID)")),
    responses(
        (status = 200, description = "Accepted: now active with this agent", body = ConversationSummary),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`origin_not_allowed` (cookie without the service's own Origin)", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: another agent accepted it, or it ended", body = super::error::ErrorBody),
    ))]
pub async fn accept(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Answer<ConversationSummary>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Answer(chat.accept(&auth.agent, id).await?))
}

/// `POST /api/v1/agent/conversations/{id}/end` — only the assigned agent (`403` otherwise).
#[utoipa::path(post, path = "/api/v1/agent/conversations/{id}/end", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id (a UUID)")),
    responses(
        (status = 200, description = "Ended; the transcript became an activity on the contact", body = ConversationSummary),
        (status = 401, description = "`unauthorized`: no or a bad token", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not the assigned agent, or an API token without conversations:write; or `origin_not_allowed`", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: already ended", body = super::error::ErrorBody),
    ))]
pub async fn end(
    State(chat): State<AppState>,
    auth: super::tokens::Scoped<super::tokens::ConversationsWrite>,
    Path(id): Path<String>,
) -> ApiResult<Answer<ConversationSummary>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Answer(match auth.0 {
        super::tokens::Caller::Agent(a) => chat.end_by_agent(&a.agent, id).await?,
        // An integration's API token with conversations:write.
        super::tokens::Caller::Integration(c) => chat.end_by_integration(&c, id).await?,
    }))
}
