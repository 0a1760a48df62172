//! API tokens: the admin routes (create — the token shown once —, list, delete), the scoped
//! caller extractor ([`Scoped`]: an agent, or a `vch_…` token holding the route's scope), and
//! the sync routes an integration polls (`/api/v1/contacts?external_id=`,
//! `/api/v1/conversations?updated_since=`).

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::{token_of, AdminAuth, AgentAuth};
use super::error::{ApiError, ApiResult};
use super::{json_object, path_uuid, Answer, AppState};
use crate::domain::conversations::ConversationDetail;
use crate::domain::tokens::{self, ApiCaller, ApiTokenView, CreatedApiToken};
use crate::storage::{rfc3339, Contact};

/// A scope a route needs from an API token.
pub trait Scope: Send + Sync + 'static {
    const NAME: &'static str;
}

/// `contacts:read`
pub struct ContactsRead;
impl Scope for ContactsRead {
    const NAME: &'static str = tokens::CONTACTS_READ;
}

/// `conversations:read`
pub struct ConversationsRead;
impl Scope for ConversationsRead {
    const NAME: &'static str = tokens::CONVERSATIONS_READ;
}

/// `conversations:write`
pub struct ConversationsWrite;
impl Scope for ConversationsWrite {
    const NAME: &'static str = tokens::CONVERSATIONS_WRITE;
}

/// Who called a route that agents and integrations share.
#[derive(Debug, Clone)]
pub enum Caller {
    Agent(AgentAuth),
    Integration(ApiCaller),
}

/// An agent (any role), or an API token with scope `S` (`403 forbidden` without it). A deleted
/// token is `401` at once: tokens are looked up in the database on every request.
pub struct Scoped<S: Scope>(pub Caller, PhantomData<S>);

impl<S: Scope> FromRequestParts<AppState> for Scoped<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, chat: &AppState) -> Result<Self, ApiError> {
        if let Some((token, false)) = token_of(&parts.headers) {
            if token.starts_with(tokens::TOKEN_PREFIX) {
                let caller = chat
                    .api_caller(&token)
                    .await?
                    .ok_or_else(ApiError::unauthorized)?;
                if !caller.has(S::NAME) {
                    return Err(ApiError::forbidden(format!(
                        "this API token lacks the scope {}",
                        S::NAME
                    )));
                }
                return Ok(Scoped(Caller::Integration(caller), PhantomData));
            }
        }
        let agent = AgentAuth::from_request_parts(parts, chat).await?;
        Ok(Scoped(Caller::Agent(agent), PhantomData))
    }
}

/// `GET /api/v1/admin/api-tokens`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiTokenList {
    pub api_tokens: Vec<ApiTokenView>,
}

/// `POST /api/v1/admin/api-tokens {name, scopes}`
#[utoipa::path(post, path = "/api/v1/admin/api-tokens", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created; `token` is shown this once", body = CreatedApiToken),
        (status = 403, description = "`forbidden`: not an admin", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: `name` or `scopes`", body = super::error::ErrorBody),
    ))]
pub async fn create(
    State(chat): State<AppState>,
    _a: AdminAuth,
    body: Bytes,
) -> ApiResult<(StatusCode, Answer<CreatedApiToken>)> {
    let t = chat.create_api_token_from(&json_object(&body)?).await?;
    Ok((StatusCode::CREATED, Answer(t)))
}

/// `GET /api/v1/admin/api-tokens`
#[utoipa::path(get, path = "/api/v1/admin/api-tokens", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Every API token (never the token)", body = ApiTokenList)))]
pub async fn list(State(chat): State<AppState>, _a: AdminAuth) -> ApiResult<Answer<ApiTokenList>> {
    Ok(Answer(ApiTokenList {
        api_tokens: chat.list_api_tokens().await?,
    }))
}

/// `DELETE /api/v1/admin/api-tokens/{id}` — refused at once, on every node.
#[utoipa::path(delete, path = "/api/v1/admin/api-tokens/{id}", tag = "admin",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`not_found`", body = super::error::ErrorBody),
    ))]
pub async fn delete(
    State(chat): State<AppState>,
    _a: AdminAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    chat.delete_api_token(path_uuid(&id, "API token")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct ContactsQuery {
    external_id: Option<String>,
}

/// `GET /api/v1/contacts?external_id=`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactList {
    pub contacts: Vec<Contact>,
}

/// `GET /api/v1/contacts?external_id=…` — the contacts with this website contact id.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "integration",
    security(("bearer" = [])),
    params(("external_id" = String, Query, description = "The website's contact id (the token's sub)")),
    responses(
        (status = 200, description = "Matching contacts", body = ContactList),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks contacts:read", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: `external_id`", body = super::error::ErrorBody),
    ))]
pub async fn contacts(
    State(chat): State<AppState>,
    _c: Scoped<ContactsRead>,
    Query(q): Query<ContactsQuery>,
) -> ApiResult<Answer<ContactList>> {
    let contacts = chat
        .contacts_by_external_id(q.external_id.as_deref().unwrap_or(""))
        .await?;
    Ok(Answer(ContactList { contacts }))
}

#[derive(Debug, Deserialize)]
pub struct SyncQuery {
    updated_since: Option<String>,
    after_id: Option<String>,
    limit: Option<u32>,
}

/// Where the next page starts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncCursor {
    #[schema(format = DateTime)]
    pub updated_since: String,
    pub after_id: Uuid,
}

/// `GET /api/v1/conversations?updated_since=`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SyncPage {
    /// Oldest change first, each with its messages.
    pub conversations: Vec<ConversationDetail>,
    /// The next page's query (`updated_since` and `after_id`) when this page is full; else null.
    #[schema(required = true)]
    pub next: Option<SyncCursor>,
}

fn bad(field: &str, message: &str) -> ApiError {
    ApiError::from(crate::error::ChatError::validation(field, message))
}

/// `GET /api/v1/conversations?updated_since=RFC3339[&after_id=UUID][&limit=1..100]`
#[utoipa::path(get, path = "/api/v1/conversations", tag = "integration",
    security(("bearer" = [])),
    params(
        ("updated_since" = String, Query, description = "RFC 3339: conversations changed at or after this"),
        ("after_id" = Option<String>, Query, description = "With updated_since from `next`: resume after this conversation"),
        ("limit" = Option<u32>, Query, description = "1 to 100 (default 100)"),
    ),
    responses(
        (status = 400, description = "`bad_request`: a query parameter that does not parse", body = super::error::ErrorBody),
        (status = 200, description = "One page, oldest change first", body = SyncPage),
        (status = 401, description = "`unauthorized`", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks conversations:read", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: `updated_since`, `after_id` or `limit`", body = super::error::ErrorBody),
    ))]
pub async fn conversations(
    State(chat): State<AppState>,
    _c: Scoped<ConversationsRead>,
    Query(q): Query<SyncQuery>,
) -> ApiResult<Answer<SyncPage>> {
    let since = q
        .updated_since
        .as_deref()
        .and_then(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .ok_or_else(|| {
            bad(
                "updated_since",
                "give an RFC 3339 time, e.g. 2026-01-01T00:00:00Z",
            )
        })?;
    let since = (since.unix_timestamp_nanos() / 1_000_000) as i64;
    let after_id = match q.after_id.as_deref() {
        None | Some("") => None,
        Some(s) => {
            Some(Uuid::parse_str(s).map_err(|_| bad("after_id", "a conversation id from `next`"))?)
        }
    };
    let limit = q.limit.unwrap_or(tokens::MAX_SYNC_PAGE);
    if !(1..=tokens::MAX_SYNC_PAGE).contains(&limit) {
        return Err(bad("limit", "1 to 100"));
    }
    let conversations = chat.conversations_since(since, after_id, limit).await?;
    let next = (conversations.len() as u32 == limit)
        .then(|| conversations.last())
        .flatten()
        .map(|c| SyncCursor {
            updated_since: rfc3339(c.summary.updated_at),
            after_id: c.summary.id,
        });
    Ok(Answer(SyncPage {
        conversations,
        next,
    }))
}
