//! The portal's queries, written once for both back-ends: one generic [`SqlStore`] over sqlx's
//! [`Database`], with `$n` placeholders (which sqlx accepts on SQLite too). A back-end is a
//! [`Dialect`]: the few statements whose SQL differs, and how a write counts its rows.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::{
    inserted_user, session_read::SessionReader, user_of, Credentials, Lifecycle, SessionRecord,
    SessionStore, UserRow, UserStore,
};
use crate::error::PortalError;
use crate::users::{User, ValidUser};

/// What differs between the back-ends' SQL.
pub(crate) trait Dialect: Database {
    /// A user row ([`UserRow`]) by email, compared without regard to case.
    const FIND_USER: &'static str;
    /// `id AS user_id, password_hash` ([`Credentials`]) by email, compared without regard to case.
    const CREDENTIALS: &'static str;
    /// How many rows a write changed.
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

/// `/token`'s session read, in [`SessionRecord`]'s field order (rusqlite runs the same text).
pub(super) const SESSION_SQL: &str = "SELECT s.csrf_token, s.created_at, s.last_seen_at, u.email, \
     u.given_name, u.family_name, u.contact_id, u.phone, u.context_json \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1";

/// One back-end's pool.
#[derive(Clone)]
pub(crate) struct SqlStore<DB: Database> {
    pub(super) pool: Pool<DB>,
    /// SQLite files only: `/token`'s session read without sqlx's thread hand-off (see
    /// [`super::session_read`]). `None` on PostgreSQL, for in-memory SQLite databases and for
    /// URLs with parameters, which use sqlx alone.
    pub(super) session_reader: Option<Arc<SessionReader>>,
}

#[async_trait]
impl<DB: Dialect> Lifecycle for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    async fn ping(&self) -> Result<(), PortalError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl<DB: Dialect> UserStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> Credentials: FromRow<'r, DB::Row>,
{
    async fn insert_user(
        &self,
        u: &ValidUser,
        password_hash: &str,
        now: i64,
    ) -> Result<User, PortalError> {
        let res: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO users (email, given_name, family_name, contact_id, phone, context_json, \
             password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&u.email)
        .bind(&u.given_name)
        .bind(&u.family_name)
        .bind(u.contact_id.to_string())
        .bind(&u.phone)
        .bind(&u.context_json)
        .bind(password_hash)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        inserted_user(res, u, now)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, PortalError> {
        let row: Option<UserRow> = sqlx::query_as(DB::FIND_USER)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(user_of))
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, PortalError> {
        let found: Option<Credentials> = sqlx::query_as(DB::CREDENTIALS)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found)
    }
}

#[async_trait]
impl<DB: Dialect> SessionStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'r> SessionRecord: FromRow<'r, DB::Row>,
{
    async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        now: i64,
    ) -> Result<(), PortalError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5)",
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
        let found: Option<SessionRecord> = sqlx::query_as(SESSION_SQL)
            .bind(&id_hash[..])
            .fetch_optional(&self.pool)
            .await?;
        Ok(found)
    }

    async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), PortalError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), PortalError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
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
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&done))
    }
}
