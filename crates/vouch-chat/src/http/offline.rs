//! `POST /api/v1/chat/transcript-email?session_token=…`: a verified customer's transcript, to
//! their contact's own email. The request body is never read: the address comes only from the
//! verified contact.
//!
//! The widget calls it from the website's origin, so the answer carries CORS for the session's
//! widget's allowed origins (`attachments::session_cors`, the one CORS of the customer's REST
//! routes), as the widget routes do.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;

use super::attachments::query_param;
use super::error::ApiResult;
use super::AppState;

/// `POST /api/v1/chat/transcript-email?session_token=…`
#[utoipa::path(post, path = "/api/v1/chat/transcript-email", tag = "widget",
    params(("session_token" = String, Query, description = "The session's token from POST …/sessions")),
    responses(
        (status = 202, description = "Queued: the transcript goes to the verified contact's own email (any body is ignored)"),
        (status = 401, description = "`unauthorized`: unknown or expired session", body = super::error::ErrorBody),
        (status = 403, description = "`forbidden`: the session is Not verified", body = super::error::ErrorBody),
        (status = 409, description = "`conflict`: the contact has no email, or the service sends no email", body = super::error::ErrorBody),
        (status = 429, description = "`rate_limited`: this conversation's transcripts were sent too often", body = super::error::ErrorBody),
    ))]
pub async fn transcript_email(
    State(chat): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<StatusCode> {
    chat.request_transcript_email(
        &query_param(query.as_deref(), "session_token").unwrap_or_default(),
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}
