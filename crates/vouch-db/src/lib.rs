//! What the chat service's storage (`vouch-chat`'s `storage/`) and the portal's (`vouch-portal`'s
//! `store.rs`) both need and neither owns: which back-end a `--database-url` names, and how a
//! sqlx error is classed (a unique violation; "cannot store right now").
//!
//! A crate of its own because the two services share no code path at run time: the portal must
//! not depend on the chat service, nor the chat service on the portal. It has no I/O.

/// Which back-end a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL whose scheme names no back-end; its message says which schemes do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedUrl(pub String);

impl std::fmt::Display for UnsupportedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnsupportedUrl {}

impl Backend {
    /// `sqlite:…` or `postgres://…` / `postgresql://…`; anything else is [`UnsupportedUrl`].
    pub fn of_url(url: &str) -> Result<Backend, UnsupportedUrl> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(UnsupportedUrl(format!(
                "scheme {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }
}

/// Whether `e` is a unique-constraint violation (either back-end).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Whether `e` means "cannot store right now" — disk full, I/O error, read-only, locked, the
/// connection or pool gone — rather than a fault of the statement: the same write may succeed
/// when tried again.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The primary result code is the low byte of SQLite's extended code: BUSY 5,
                // LOCKED 6, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
                code.parse::<i64>()
                    .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
            } else {
                // SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk
                // full), 57 operator intervention, 58 system error (I/O).
                ["08", "53", "57", "58"].iter().any(|c| code.starts_with(c))
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite:x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://u@h/d"), Ok(Backend::Postgres));
        assert_eq!(Backend::of_url("postgresql://u@h/d"), Ok(Backend::Postgres));
        let e = Backend::of_url("mysql://u@h/d").unwrap_err();
        assert!(e.0.contains("\"mysql\""), "{e}");
    }
}
