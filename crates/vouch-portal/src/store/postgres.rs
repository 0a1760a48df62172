//! The portal's PostgreSQL back-end: the SQLite back-end's queries in PostgreSQL's dialect
//! (`$n` parameters, `RETURNING id`, `lower(email)` for the case-insensitive lookup).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{
    inserted_user, user_of, Credentials, Lifecycle, SessionRecord, SessionStore, UserRow, UserStore,
};
use crate::error::PortalError;
use crate::users::{User, ValidUser};

#[derive(Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and applies the migrations (several portals may start at once: sqlx takes an
    /// advisory lock while migrating).
    pub(crate) async fn open(url: &str) -> Result<PgStore, PortalError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }
}

#[async_trait]
impl Lifecycle for PgStore {
    async fn ping(&self) -> Result<(), PortalError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl UserStore for PgStore {
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
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, given_name, family_name, contact_id, phone, context_json, created_at \
             FROM users WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(user_of))
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, PortalError> {
        let found: Option<Credentials> = sqlx::query_as(
            "SELECT id AS user_id, password_hash FROM users WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found)
    }
}

#[async_trait]
impl SessionStore for PgStore {
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
        let found: Option<SessionRecord> = sqlx::query_as(
            "SELECT s.csrf_token, s.created_at, s.last_seen_at, u.email, u.given_name, \
             u.family_name, u.contact_id, u.phone, u.context_json \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
        )
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
        Ok(done.rows_affected())
    }
}
