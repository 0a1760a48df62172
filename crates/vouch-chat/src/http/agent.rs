//! The console's agent API: sign-in, the conversation queue, accept, end.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::auth::{AgentAuth, COOKIE_NAME};
use super::error::{ApiError, ApiResult};
use super::{json_object, origin_of, path_uuid, AppState, ClientAddr};
use crate::storage::{Agent, ConversationState};

fn agent_json(a: &Agent) -> Value {
    json!({"id": a.id, "email": a.email, "name": a.name, "role": a.role})
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
    let (email, password) = (field("email")?, field("password")?);
    let signed = chat.login(&email, &password, client).await?;
    let mut res = Json(json!({
        "token": signed.token,
        "role": signed.agent.role,
        "agent": agent_json(&signed.agent),
    }))
    .into_response();
    if let Some(c) = cookie(&chat, &signed.token, chat.session_ttl.as_secs()) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `POST /api/v1/agent/logout` → 204; the token is revoked and the cookie cleared.
pub async fn logout(State(chat): State<AppState>, auth: AgentAuth) -> ApiResult<Response> {
    chat.logout(&auth.token).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Some(c) = cookie(&chat, "", 0) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// `GET /api/v1/agent/me`
pub async fn me(auth: AgentAuth) -> Json<Value> {
    Json(agent_json(&auth.agent))
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

/// `GET /api/v1/agent/conversations?state=waiting|active|ended`
pub async fn list(
    State(chat): State<AppState>,
    _auth: AgentAuth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            ConversationState::parse(s)
                .ok_or_else(|| ApiError::bad_request("state must be waiting, active or ended"))?,
        ),
    };
    let conversations = chat.list_conversations(state).await?;
    Ok(Json(json!({"conversations": conversations})))
}

/// `GET /api/v1/agent/conversations/{id}` — any agent may read any conversation.
pub async fn detail(
    State(chat): State<AppState>,
    _auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Json(chat.conversation_detail(id).await?))
}

/// `POST /api/v1/agent/conversations/{id}/accept` — `409` when another agent was first.
pub async fn accept(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Json(chat.accept(&auth.agent, id).await?))
}

/// `POST /api/v1/agent/conversations/{id}/end` — only the assigned agent (`403` otherwise).
pub async fn end(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Json(chat.end_by_agent(&auth.agent, id).await?))
}
