//! One error type for every `/api/` answer: `{"error": "<code>", "message": "<text>"}`.
//! Internal errors are logged with their detail; the client gets a generic message.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::error::ChatError;

/// An API error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({"error": code, "message": message.into()}),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn origin_not_allowed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "requests from this origin are not allowed",
        )
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; try again",
        )
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        use ChatError::*;
        match e {
            Validation { field, message } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: json!({"error": "validation_failed", "field": field, "message": message}),
            },
            NotFound(what) => ApiError::not_found(format!("{what} not found")),
            Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            Forbidden(m) => ApiError::forbidden(m),
            UnknownWidget => ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_widget",
                "no widget has this app id",
            ),
            OriginNotAllowed => ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this widget may not be used from this origin",
            ),
            AuthRequired => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "auth_required",
                "this chat needs a signed-in user: send the AuthenticatedUserToken header",
            ),
            InvalidToken { reason, detail } => ApiError {
                status: StatusCode::UNAUTHORIZED,
                body: json!({"error": "invalid_token", "reason": reason, "message": detail}),
            },
            RateLimited => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests: wait a moment and try again",
            ),
            TooManyAttempts { retry_after } => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: json!({
                    "error": "rate_limited",
                    "message": format!(
                        "Too many sign-in attempts. Please wait {retry_after} seconds and try again."
                    ),
                    "retry_after": retry_after,
                }),
            },
            AccountLocked { retry_after } => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                body: json!({
                    "error": "account_locked",
                    "message": format!(
                        "This account is temporarily locked after too many failed sign-in attempts. Try again in {}.",
                        minutes(retry_after)
                    ),
                    "retry_after": retry_after,
                }),
            },
            InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong email or password",
            ),
            Unauthorized => ApiError::unauthorized(),
            ConversationEnded => ApiError::new(
                StatusCode::CONFLICT,
                "conversation_ended",
                "the conversation has ended",
            ),
            Storage(crate::storage::StoreError::Unavailable(_)) => {
                tracing::error!(error = %e, "storage unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the service cannot store data right now (its storage is failing): try again shortly",
                )
            }
            Config(_) | Storage(_) | Io(_) | Internal(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = (self.status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| self.body["retry_after"].as_i64().unwrap_or(1).max(1));
        let mut res = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// "5 minutes", "1 minute", "45 seconds" for a wait in seconds.
fn minutes(secs: i64) -> String {
    match secs {
        s if s >= 120 => format!("{} minutes", (s + 59) / 60),
        s if s >= 60 => "1 minute".to_string(),
        1 => "1 second".to_string(),
        s => format!("{s} seconds"),
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

/// Keeps the design's promise that every `/api/` error is JSON: an error answer that is not
/// (an extractor's rejection — a bad query string, a path that is not UTF-8, a body over the
/// limit, a request that is not a WebSocket upgrade) becomes `{"error","message"}` with the
/// rejection's text as the message.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UPGRADE_REQUIRED => "upgrade_required",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}
