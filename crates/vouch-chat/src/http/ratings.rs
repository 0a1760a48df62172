//! `POST /api/v1/chat/rating?session_token=… {"score", "comment"?}`: the customer rates the
//! ended conversation of their session (once).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::attachments::session_of;
use super::error::{ApiError, ApiResult};
use super::{json_object, Answer, AppState};
use crate::domain::ratings::RatingInput;
use crate::storage::Rating;

/// `POST /api/v1/chat/rating`
#[utoipa::path(post, path = "/api/v1/chat/rating", tag = "widget",
    params(("session_token" = String, Query, description = "The session's token")),
    request_body(content = Object, description = "`{\"score\": 1..5, \"comment\"?: string}`"),
    responses(
        (status = 201, description = "Rated", body = Rating),
        (status = 400, description = "`bad_request`: not a JSON object", body = super::error::ErrorBody),
        (status = 401, description = "`unauthorized`: unknown or expired session", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: not ended yet, or already rated", body = super::error::ErrorBody),
        (status = 422, description = "`validation_failed`: score not 1..5, comment too long", body = super::error::ErrorBody),
    ))]
pub async fn rate(
    State(chat): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let ctx = session_of(&chat, query.as_deref()).await?;
    let obj = json_object(&body)?;
    // The session names the conversation; a body naming another one is a mistake, refused.
    if let Some(named) = obj.get("conversation_id") {
        if named.as_str() != Some(ctx.conversation_id.to_string().as_str()) {
            return Err(crate::error::ChatError::validation(
                "conversation_id",
                "this session rates its own conversation only",
            )
            .into());
        }
    }
    let comment = match obj.get("comment") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(
                crate::error::ChatError::validation("comment", "comment must be a string").into(),
            )
        }
    };
    let input = RatingInput {
        score: obj.get("score").and_then(Value::as_i64),
        comment,
    };
    let rating: Rating = chat
        .rate(ctx.conversation_id, input)
        .await
        .map_err(ApiError::from)?;
    Ok((StatusCode::CREATED, Answer(rating)).into_response())
}
