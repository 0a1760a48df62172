//! The domain's one error type ([`ChatError`]) and the codes clients see ([`ErrorCode`]).
//!
//! Every refusal has a code; the protocol edges map an error to a wire answer: `http/error.rs`
//! to an `/api/` status and `{"error","message"}` body, `live/frames.rs` to an `error` frame.
//! The domain never builds either.

use crate::storage::StoreError;

/// A stable machine code, as `/api/` answers and `error` frames carry it in `"error"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // --- requests (`/api/`) ---
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    UpgradeRequired,
    OriginNotAllowed,
    UnknownWidget,
    AuthRequired,
    InvalidToken,
    InvalidCredentials,
    AccountLocked,
    ValidationFailed,
    Conflict,
    RateLimited,
    StorageUnavailable,
    Internal,
    // --- frames ---
    BadFrame,
    UnknownType,
    FrameTooLarge,
    BadClientMsgId,
    EmptyText,
    TextTooLong,
    ConversationEnded,
    ReauthRequired,
    // --- attachments ---
    TooLarge,
    BadAttachment,
}

impl ErrorCode {
    /// Every code the service can send, on a frame or in an `/api/` answer.
    pub const ALL: &[ErrorCode] = &[
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::UpgradeRequired,
        ErrorCode::OriginNotAllowed,
        ErrorCode::UnknownWidget,
        ErrorCode::AuthRequired,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidCredentials,
        ErrorCode::AccountLocked,
        ErrorCode::ValidationFailed,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::StorageUnavailable,
        ErrorCode::Internal,
        ErrorCode::BadFrame,
        ErrorCode::UnknownType,
        ErrorCode::FrameTooLarge,
        ErrorCode::BadClientMsgId,
        ErrorCode::EmptyText,
        ErrorCode::TextTooLong,
        ErrorCode::ConversationEnded,
        ErrorCode::ReauthRequired,
        ErrorCode::TooLarge,
        ErrorCode::BadAttachment,
    ];

    /// The wire form (`not_found`, `rate_limited`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::UpgradeRequired => "upgrade_required",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::UnknownWidget => "unknown_widget",
            ErrorCode::AuthRequired => "auth_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AccountLocked => "account_locked",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::StorageUnavailable => "storage_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::BadClientMsgId => "bad_client_msg_id",
            ErrorCode::EmptyText => "empty_text",
            ErrorCode::TextTooLong => "text_too_long",
            ErrorCode::ConversationEnded => "conversation_ended",
            ErrorCode::ReauthRequired => "reauth_required",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::BadAttachment => "bad_attachment",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Errors of the chat service's domain calls (and of [`crate::ChatService`]). The text of the
/// variants a client may see is the message it gets; the rest are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("configuration error: {0}")]
    Config(String),
    #[error("storage error: {0}")]
    Storage(#[from] StoreError),
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The thing named does not exist ([`ChatError::no_such_conversation`] for the usual one).
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
    // --- refusals of a message or a frame ---
    #[error("client_msg_id must be 1 to 64 characters of A-Z a-z 0-9 _ -")]
    BadClientMsgId,
    #[error("the message is empty")]
    EmptyText,
    #[error("messages may be at most {max} characters")]
    TextTooLong { max: usize },
    /// A conversation's sender is over its message rate.
    #[error("too many messages: wait a moment and send again")]
    TooManyMessages,
    /// A socket is over its frame rate (`auth` frames).
    #[error("too many frames: wait a moment")]
    TooManyFrames,
    /// An `auth` frame on a session that was never verified.
    #[error("this session is not verified: it needs no token")]
    NotVerified,
    /// An upload over `--max-attachment-bytes`.
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: usize },
    /// An upload whose bytes are none of the accepted types, or disagree with the declared type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A `send` named an attachment this sender did not upload to this conversation (or one
    /// already sent).
    #[error("an attachment is not one you uploaded to this conversation, or it was already sent")]
    BadAttachment,
    /// A message could not be stored: nothing of it was, and the same send may be tried again.
    #[error("the message could not be stored: {0}")]
    MessageNotStored(StoreError),
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

    /// The conversation named does not exist.
    pub fn no_such_conversation() -> Self {
        ChatError::NotFound("conversation")
    }

    /// The code a client gets for this error.
    pub fn code(&self) -> ErrorCode {
        use ChatError::*;
        match self {
            Validation { .. } => ErrorCode::ValidationFailed,
            NotFound(_) => ErrorCode::NotFound,
            Conflict(_) => ErrorCode::Conflict,
            Forbidden(_) => ErrorCode::Forbidden,
            UnknownWidget => ErrorCode::UnknownWidget,
            OriginNotAllowed => ErrorCode::OriginNotAllowed,
            AuthRequired => ErrorCode::AuthRequired,
            InvalidToken { .. } => ErrorCode::InvalidToken,
            RateLimited | TooManyAttempts { .. } | TooManyMessages | TooManyFrames => {
                ErrorCode::RateLimited
            }
            AccountLocked { .. } => ErrorCode::AccountLocked,
            InvalidCredentials => ErrorCode::InvalidCredentials,
            Unauthorized => ErrorCode::Unauthorized,
            ConversationEnded => ErrorCode::ConversationEnded,
            BadClientMsgId => ErrorCode::BadClientMsgId,
            EmptyText => ErrorCode::EmptyText,
            TextTooLong { .. } => ErrorCode::TextTooLong,
            NotVerified => ErrorCode::BadFrame,
            TooLarge { .. } => ErrorCode::TooLarge,
            UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            BadAttachment => ErrorCode::BadAttachment,
            Storage(StoreError::Unavailable(_)) | MessageNotStored(StoreError::Unavailable(_)) => {
                ErrorCode::StorageUnavailable
            }
            Config(_) | Storage(_) | MessageNotStored(_) | Io(_) | Internal(_) => {
                ErrorCode::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_with_a_distinct_wire_form() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(c
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        // A new variant must join ALL: the match in `as_str` lists every one.
        assert_eq!(seen.len(), ErrorCode::ALL.len());
    }
}
