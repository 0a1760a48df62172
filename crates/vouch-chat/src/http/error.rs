//! One error type for every `/api/` answer: `{"error": "<code>", "message": "<text>"}`.
//! Internal errors are logged with their detail; the client gets a generic message.

use axum::http::{header, HeaderValue, StatusCode};
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
            Config(_) | Storage(_) | Io(_) | Internal(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::TOO_MANY_REQUESTS;
        let mut res = (self.status, axum::Json(self.body)).into_response();
        if retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        res
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
