//! Errors of the portal's library API (opening, users, keys, serving).

use std::path::PathBuf;

/// Everything that can go wrong outside a single HTTP request.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("signing key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("a user with email {0} already exists")]
    DuplicateEmail(String),
    #[error("a user with contact id {0} already exists")]
    DuplicateContactId(uuid::Uuid),
    #[error("invalid {field}: {message}")]
    InvalidUser {
        field: &'static str,
        message: String,
    },
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("token signing failed: {0}")]
    Signing(String),
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

impl PortalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> PortalError {
        PortalError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn key(path: impl Into<PathBuf>, message: impl Into<String>) -> PortalError {
        PortalError::Key {
            path: path.into(),
            message: message.into(),
        }
    }
}
