//! One error type for every `/api/` answer: `{"error": "<code>", "message": "<text>"}`.
//! Internal errors are logged with their detail; the client gets a generic message.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{ChatError, ErrorCode};
use crate::storage::StoreError;

/// Every `/api/` error body: `{"error","message"}`; `invalid_token` adds `reason`,
/// `validation_failed` adds `field`, sign-in throttling adds `retry_after`. (Fields in sorted
/// order, as the answers have always been written.)
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `origin_not_allowed`, `unknown_widget`, `auth_required`, `invalid_token`,
    /// `invalid_credentials`, `validation_failed`, `conflict`, `rate_limited`, `internal`, …
    #[schema(value_type = String)]
    pub error: ErrorCode,
    /// For `validation_failed`: the first invalid field in request order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// For `invalid_token`: the verification reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For sign-in throttling: seconds to wait (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
}

/// An API error answer: a status and the body.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: code,
                field: None,
                message: message.into(),
                reason: None,
                retry_after: None,
            },
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "sign in first",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }
    pub fn origin_not_allowed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            "requests from this origin are not allowed",
        )
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "something went wrong on our side; try again",
        )
    }
    fn with_field(mut self, field: String) -> Self {
        self.body.field = Some(field);
        self
    }
    fn with_reason(mut self, reason: String) -> Self {
        self.body.reason = Some(reason);
        self
    }
    fn with_retry_after(mut self, secs: i64) -> Self {
        self.body.retry_after = Some(secs);
        self
    }
}

/// The HTTP status of each code an `/api/` answer may carry.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthorized
        | ErrorCode::AuthRequired
        | ErrorCode::InvalidToken
        | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
        ErrorCode::NotFound | ErrorCode::UnknownWidget => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::PayloadTooLarge | ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
        ErrorCode::ValidationFailed | ErrorCode::BadAttachment => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Conflict | ErrorCode::ConversationEnded => StatusCode::CONFLICT,
        ErrorCode::RateLimited | ErrorCode::AccountLocked => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::BadRequest
        | ErrorCode::BadFrame
        | ErrorCode::UnknownType
        | ErrorCode::FrameTooLarge
        | ErrorCode::BadClientMsgId
        | ErrorCode::EmptyText
        | ErrorCode::TextTooLong
        | ErrorCode::ReauthRequired => StatusCode::BAD_REQUEST,
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        use ChatError::*;
        let code = e.code();
        let answer = |message: String| ApiError::new(status_of(code), code, message);
        match e {
            Validation { field, message } => answer(message).with_field(field),
            NotFound(_) | Conflict(_) | ConversationEnded | BadClientMsgId | EmptyText
            | TextTooLong { .. } | TooManyMessages | TooManyFrames | NotVerified
            | InvalidCredentials | TooLarge { .. } | BadAttachment => answer(e.to_string()),
            UnsupportedMediaType(m) => answer(m),
            Forbidden(m) => answer(m),
            UnknownWidget => answer("no widget has this app id".into()),
            OriginNotAllowed => answer("this widget may not be used from this origin".into()),
            AuthRequired => answer(
                "this chat needs a signed-in user: send the AuthenticatedUserToken header".into(),
            ),
            InvalidToken { reason, detail } => answer(detail).with_reason(reason),
            RateLimited => answer("too many requests: wait a moment and try again".into()),
            TooManyAttempts { retry_after } => answer(format!(
                "Too many sign-in attempts. Please wait {retry_after} seconds and try again."
            ))
            .with_retry_after(retry_after),
            AccountLocked { retry_after } => answer(format!(
                "This account is temporarily locked after too many failed sign-in attempts. Try again in {}.",
                minutes(retry_after)
            ))
            .with_retry_after(retry_after),
            Unauthorized => ApiError::unauthorized(),
            Storage(StoreError::Unavailable(_)) | MessageNotStored(StoreError::Unavailable(_)) => {
                tracing::error!(error = %e, "storage unavailable");
                answer(
                    "the service cannot store data right now (its storage is failing): try again shortly"
                        .into(),
                )
            }
            Config(_) | Storage(_) | MessageNotStored(_) | Io(_) | Internal(_) => {
                tracing::error!(error = %e, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = (self.status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| self.body.retry_after.unwrap_or(1).max(1));
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
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UPGRADE_REQUIRED => ErrorCode::UpgradeRequired,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(e: ChatError) -> (StatusCode, String) {
        let a = ApiError::from(e);
        (a.status, serde_json::to_string(&a.body).expect("body"))
    }

    #[test]
    fn bodies_keep_their_fields_and_order() {
        assert_eq!(
            body(ChatError::validation("name", "bad")),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                r#"{"error":"validation_failed","field":"name","message":"bad"}"#.into()
            )
        );
        assert_eq!(
            body(ChatError::InvalidToken {
                reason: "expired".into(),
                detail: "the token expired".into()
            }),
            (
                StatusCode::UNAUTHORIZED,
                r#"{"error":"invalid_token","message":"the token expired","reason":"expired"}"#
                    .into()
            )
        );
        assert_eq!(
            body(ChatError::no_such_conversation()),
            (
                StatusCode::NOT_FOUND,
                r#"{"error":"not_found","message":"conversation not found"}"#.into()
            )
        );
        assert_eq!(
            body(ChatError::TooManyAttempts { retry_after: 5 }).1,
            r#"{"error":"rate_limited","message":"Too many sign-in attempts. Please wait 5 seconds and try again.","retry_after":5}"#
        );
        assert_eq!(
            body(ChatError::Internal("secret detail".into())),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":"internal","message":"something went wrong on our side; try again"}"#
                    .into()
            )
        );
    }

    #[test]
    fn every_code_has_a_status() {
        for c in ErrorCode::ALL {
            assert!(status_of(*c).is_client_error() || status_of(*c).is_server_error());
        }
    }
}
