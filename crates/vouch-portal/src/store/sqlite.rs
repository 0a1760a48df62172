//! The portal's embedded SQLite back-end (the default): opening the file, and the [`Dialect`]'s
//! few statements of its own. Every query is [`SqlStore`]'s, with `/token`'s one session read
//! straight on the calling thread ([`super::session_read`]).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Sqlite;

use super::session_read;
use super::sql::{Dialect, SqlStore};
use crate::error::PortalError;

/// The embedded SQLite back-end.
pub(crate) type SqliteStore = SqlStore<Sqlite>;

impl Dialect for Sqlite {
    // `email` is `COLLATE NOCASE` in this schema, so the index serves the lookup.
    const FIND_USER: &'static str = "SELECT id, email, given_name, family_name, contact_id, \
         phone, context_json, created_at FROM users WHERE email = $1";
    const CREDENTIALS: &'static str =
        "SELECT id AS user_id, password_hash FROM users WHERE email = $1";

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database and applies the migrations.
    pub(crate) async fn open(url: &str) -> Result<SqliteStore, PortalError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // A plain file URL only: the reader must open exactly the file sqlx opened.
        let plain_file = !url.contains('?') && !url.contains(":memory:");
        let session_reader = if plain_file {
            match session_read::SessionReader::open(options.get_filename()) {
                Ok(reader) => Some(Arc::new(reader)),
                Err(e) => {
                    tracing::warn!(error = %e, "session reads go through sqlx's worker threads");
                    None
                }
            }
        } else {
            None
        };
        Ok(SqlStore {
            pool,
            session_reader,
        })
    }
}
