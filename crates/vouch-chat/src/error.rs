//! The domain's error type: what went wrong, in terms a handler can map to a status.

use crate::storage::StoreError;

/// Errors of the chat service's domain calls (and of [`crate::ChatService`]).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("configuration error: {0}")]
    Config(String),
    #[error("storage error: {0}")]
    Storage(#[from] StoreError),
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("unknown widget")]
    UnknownWidget,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("this chat requires a signed-in user")]
    AuthRequired,
    #[error("invalid token: {reason}: {detail}")]
    InvalidToken { reason: String, detail: String },
    #[error("too many requests")]
    RateLimited,
    #[error("too many sign-in attempts: wait {retry_after} s")]
    TooManyAttempts { retry_after: i64 },
    #[error("account locked for {retry_after} s after too many failed sign-ins")]
    AccountLocked { retry_after: i64 },
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("not signed in")]
    Unauthorized,
    #[error("the conversation has ended")]
    ConversationEnded,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ChatError {
    pub(crate) fn validation(field: &str, message: impl Into<String>) -> Self {
        ChatError::Validation {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
