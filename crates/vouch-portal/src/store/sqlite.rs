//! The portal's embedded SQLite back-end (the default): sqlx for writes and most reads, and
//! `/token`'s one session read straight on the calling thread ([`super::session_read`]).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{
    inserted_user, session_read, user_of, Credentials, Lifecycle, SessionRecord, SessionStore,
    UserRow, UserStore,
};
use crate::error::PortalError;
use crate::users::{User, ValidUser};

/// The embedded SQLite back-end.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// `/token`'s session read without sqlx's thread hand-off (see [`session_read`]); `None`
    /// for in-memory databases and URLs with parameters, which use sqlx alone.
    pub(super) session_reader: Option<Arc<session_read::SessionReader>>,
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
        Ok(SqliteStore {
            pool,
            session_reader,
        })
    }
}

#[async_trait]
impl Lifecycle for SqliteStore {
    async fn ping(&self) -> Result<(), PortalError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(
        &self,
        u: &ValidUser,
        password_hash: &str,
        now: i64,
    ) -> Result<User, PortalError> {
        let res = sqlx::query(
            "INSERT INTO users (email, given_name, family_name, contact_id, phone, context_json, \
             password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.email)
        .bind(&u.given_name)
        .bind(&u.family_name)
        .bind(u.contact_id.to_string())
        .bind(&u.phone)
        .bind(&u.context_json)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await;
        inserted_user(res.map(|done| done.last_insert_rowid()), u, now)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, PortalError> {
        // `email` is `COLLATE NOCASE` in this schema.
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, given_name, family_name, contact_id, phone, context_json, created_at \
             FROM users WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(user_of))
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, PortalError> {
        let found: Option<Credentials> =
            sqlx::query_as("SELECT id AS user_id, password_hash FROM users WHERE email = ?")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        now: i64,
    ) -> Result<(), PortalError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&id_hash[..])
        .bind(user_id)
        .bind(csrf_token)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, PortalError> {
        if let Some(reader) = &self.session_reader {
            match reader.session(id_hash) {
                Ok(found) => return Ok(found),
                // Busy or failed: the sqlx path below waits and reports as it always did.
                Err(e) => tracing::debug!(error = %e, "direct session read failed; using sqlx"),
            }
        }
        let found: Option<SessionRecord> = sqlx::query_as(session_read::SESSION_SQL)
            .bind(&id_hash[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(found)
    }

    async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), PortalError> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(now)
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), PortalError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, PortalError> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
