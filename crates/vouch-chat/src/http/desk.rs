//! The support desk's routes: queues and routing, agent administration (admin), presence and
//! transfer (agents). Thin: parse, call `crate::domain::desk`, map errors.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;

use super::auth::{AdminAuth, AgentAuth};
use super::error::ApiResult;
use super::{json_object, path_uuid, Answer, AppState};
use crate::domain::conversations::ConversationSummary;
use crate::domain::desk::{AgentList, QueueList};
use crate::storage::{DeskAgent, Queue, Routing};

/// `GET /api/v1/admin/queues`
#[utoipa::path(get, path = "/api/v1/admin/queues", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every queue with its members, the default first", body = QueueList),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
    ))]
pub async fn list_queues(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Answer<QueueList>> {
    Ok(Answer(QueueList {
        queues: chat.list_queues().await?,
    }))
}

/// `GET /api/v1/agent/queues` — the queues for the console's queue views (any agent may read).
#[utoipa::path(get, path = "/api/v1/agent/queues", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every queue with its members, the default first", body = QueueList),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
    ))]
pub async fn agent_queues(
    State(chat): State<AppState>,
    _a: AgentAuth,
) -> ApiResult<Answer<QueueList>> {
    Ok(Answer(QueueList {
        queues: chat.list_queues().await?,
    }))
}

/// `GET /api/v1/agent/agents` — the active agents with status and load, to pick a transfer's
/// target (any agent may read).
#[utoipa::path(get, path = "/api/v1/agent/agents", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every active agent and admin with status and active count", body = AgentList),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
    ))]
pub async fn agent_colleagues(
    State(chat): State<AppState>,
    _a: AgentAuth,
) -> ApiResult<Answer<AgentList>> {
    let mut agents = chat.list_desk_agents().await?;
    agents.retain(|a| a.active);
    Ok(Answer(AgentList { agents }))
}

/// `POST /api/v1/admin/queues {name, priority?, auto_assign?}`
#[utoipa::path(post, path = "/api/v1/admin/queues", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created", body = Queue),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the field (a taken name: `name`)", body = super::error::ErrorBody),
    ))]
pub async fn create_queue(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<Queue>)> {
    let q = chat.create_queue_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Answer(q)))
}

/// `PUT /api/v1/admin/queues/{id}/members {"agent_ids": [...]}`
#[utoipa::path(put, path = "/api/v1/admin/queues/{id}/members", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The queue id")),
    responses(
        (status = 200, description = "The queue with its new members", body = Queue),
        (status = 404, description = "`not_found`: no such queue", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`, field `agent_ids` (an unknown agent)", body = super::error::ErrorBody),
    ))]
pub async fn set_members(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<Queue>> {
    let id = path_uuid(&id, "queue")?;
    Ok(Answer(
        chat.set_members_from(id, &json_object(&body)?).await?,
    ))
}

/// `GET /api/v1/admin/widgets/{app_id}/routing`
#[utoipa::path(get, path = "/api/v1/admin/widgets/{app_id}/routing", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("app_id" = String, Path, description = "The widget's app id")),
    responses(
        (status = 200, description = "The widget's rules (none: everything goes to General)", body = Routing),
        (status = 404, description = "`not_found`: no such widget", body = super::error::ErrorBody),
    ))]
pub async fn get_routing(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(app_id): Path<String>,
) -> ApiResult<Answer<Routing>> {
    let id = path_uuid(&app_id, "widget")?;
    Ok(Answer(chat.routing(id).await?))
}

/// `PUT /api/v1/admin/widgets/{app_id}/routing {"rules": [...], "default_queue_id"?}`
#[utoipa::path(put, path = "/api/v1/admin/widgets/{app_id}/routing", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("app_id" = String, Path, description = "The widget's app id")),
    request_body = Routing,
    responses(
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 200, description = "Saved", body = Routing),
        (status = 404, description = "`not_found`: no such widget", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the field (`queue_id` of no queue, …)", body = super::error::ErrorBody),
    ))]
pub async fn put_routing(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<Routing>> {
    let id = path_uuid(&app_id, "widget")?;
    Ok(Answer(
        chat.put_routing_from(id, &json_object(&body)?).await?,
    ))
}

/// `GET /api/v1/admin/agents`
#[utoipa::path(get, path = "/api/v1/admin/agents", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every agent and admin with status and active count", body = AgentList),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
    ))]
pub async fn list_agents(
    State(chat): State<AppState>,
    _a: AdminAuth,
) -> ApiResult<Answer<AgentList>> {
    Ok(Answer(AgentList {
        agents: chat.list_desk_agents().await?,
    }))
}

/// `POST /api/v1/admin/agents {email, name, role, password, capacity?}`
#[utoipa::path(post, path = "/api/v1/admin/agents", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created (a member of General)", body = DeskAgent),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the field (`capacity` outside 0..=100, a taken `email`, …)", body = super::error::ErrorBody),
    ))]
pub async fn create_agent(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<DeskAgent>)> {
    let a = chat.create_agent_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Answer(a)))
}

/// `PATCH /api/v1/admin/agents/{id} {name?, role?, capacity?, active?, password?}`
#[utoipa::path(patch, path = "/api/v1/admin/agents/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The agent id")),
    responses(
        (status = 200, description = "Updated; `active: false` ends the agent's sign-ins and sockets at once", body = DeskAgent),
        (status = 404, description = "`not_found`: no such agent", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming the field", body = super::error::ErrorBody),
    ))]
pub async fn patch_agent(
    State(chat): State<AppState>,
    AdminAuth(admin): AdminAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<DeskAgent>> {
    let id = path_uuid(&id, "agent")?;
    Ok(Answer(
        chat.patch_agent_from(&admin, id, &json_object(&body)?)
            .await?,
    ))
}

/// `PUT /api/v1/agent/presence {"status"}`
#[utoipa::path(put, path = "/api/v1/agent/presence", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The agent with its new status", body = DeskAgent),
        (status = 422, description = "`validation_failed`, field `status`", body = super::error::ErrorBody),
    ))]
pub async fn put_presence(
    State(chat): State<AppState>,
    auth: AgentAuth,
    body: Bytes,
) -> ApiResult<Answer<DeskAgent>> {
    let obj = json_object(&body)?;
    let status = match obj.get("status") {
        Some(serde_json::Value::String(s)) => s.as_str(),
        _ => "",
    };
    Ok(Answer(chat.set_presence(&auth.agent, status).await?))
}

/// `POST /api/v1/agent/conversations/{id}/transfer {"to_agent_id"? | "to_queue_id"?, "note"?}`
#[utoipa::path(post, path = "/api/v1/agent/conversations/{id}/transfer", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The conversation id")),
    responses(
        (status = 200, description = "Transferred (to the agent at once, or waiting in the queue)", body = ConversationSummary),
        (status = 403, description = "`forbidden`: neither the assigned agent nor an admin", body = super::error::ErrorBody),
        (status = 404, description = "`not_found`: no such conversation", body = super::error::ErrorBody),
        (status = 409, description = "`conversation_ended`", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` naming `to_agent_id`, `to_queue_id` or `note`", body = super::error::ErrorBody),
    ))]
pub async fn transfer(
    State(chat): State<AppState>,
    auth: AgentAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Answer<ConversationSummary>> {
    let id = path_uuid(&id, "conversation")?;
    Ok(Answer(
        chat.transfer_from(&auth.agent, id, &json_object(&body)?)
            .await?,
    ))
}
