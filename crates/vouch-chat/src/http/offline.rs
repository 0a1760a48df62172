//! `POST /api/v1/chat/transcript-email?session_token=…`: a verified customer's transcript, to
//! their contact's own email. The request body is never read: the address comes only from the
//! verified contact.
//!
//! The widget calls it from the website's origin, so the answer carries CORS for the session's
//! widget's allowed origins ([`session_cors`]), as the widget routes do.

use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiResult;
use super::{origin_of, AppState};

/// The `session_token` of a query string.
pub fn session_token(query: Option<&str>) -> String {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "session_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// CORS for routes a widget calls with its `session_token`: the exact origin echoed when the
/// session's widget allows it (methods POST, GET; header Content-Type; no credentials).
pub async fn session_cors(State(chat): State<AppState>, req: Request, next: Next) -> Response {
    let origin = origin_of(req.headers());
    let token = session_token(req.uri().query());
    let allowed = match origin.as_deref() {
        Some(o) => match chat.session_for_token(&token).await {
            Ok(ctx) => ctx.widget.allows_origin(o),
            Err(_) => false,
        },
        None => false,
    };
    let mut res = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        if let Some(v) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Content-Type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    res
}

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
    chat.request_transcript_email(&session_token(query.as_deref()))
        .await?;
    Ok(StatusCode::ACCEPTED)
}
