//! `GET /api/v1/agent/search?q=`: agents only (Bearer or the console's cookie); a customer's
//! session token is no credential here.

use axum::extract::{RawQuery, State};

use super::auth::AgentAuth;
use super::error::ApiResult;
use super::{Answer, AppState};
use crate::domain::search::SearchResults;

/// `GET /api/v1/agent/search?q=TEXT`
#[utoipa::path(get, path = "/api/v1/agent/search", tag = "agent",
    security(("bearer" = []), ("cookie" = [])),
    params(("q" = String, Query, description = "Words to find (1 to 256 characters; every word must match)")),
    responses(
        (status = 200, description = "At most 50 contacts and 50 conversations, newest first", body = SearchResults),
        (status = 401, description = "`unauthorized`: no or a bad agent token", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed` (field `q`): empty or longer than 256 characters", body = super::error::ErrorBody),
    ))]
pub async fn search(
    State(chat): State<AppState>,
    _auth: AgentAuth,
    RawQuery(query): RawQuery,
) -> ApiResult<Answer<SearchResults>> {
    let q = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.into_owned());
    Ok(Answer(chat.search(q.as_deref()).await?))
}
