//! The portal's PostgreSQL back-end: the SQLite back-end's queries in PostgreSQL's dialect
//! (`$n` parameters, `RETURNING id`, `lower(email)` for the case-insensitive lookup).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use uuid::Uuid;

use super::{parse_context, Credentials, SessionRecord};
use crate::error::PortalError;
use crate::users::{User, ValidUser};

#[derive(Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and applies the migrations (several portals may start at once: sqlx takes an
    /// advisory lock while migrating).
    pub async fn open(url: &str) -> Result<PgStore, PortalError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    pub async fn ping(&self) -> Result<(), PortalError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn insert_user(
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
        match res {
            Ok(id) => Ok(User {
                id,
                email: u.email.clone(),
                given_name: u.given_name.clone(),
                family_name: u.family_name.clone(),
                contact_id: u.contact_id,
                phone: u.phone.clone(),
                context: parse_context(&u.context_json),
                created_at: now,
            }),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                if db.constraint().unwrap_or_default().contains("contact_id") {
                    Err(PortalError::DuplicateContactId(u.contact_id))
                } else {
                    Err(PortalError::DuplicateEmail(u.email.clone()))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, PortalError> {
        let row = sqlx::query(
            "SELECT id, email, given_name, family_name, contact_id, phone, context_json, created_at \
             FROM users WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let contact: String = row.try_get("contact_id")?;
        let context: String = row.try_get("context_json")?;
        Ok(Some(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            given_name: row.try_get("given_name")?,
            family_name: row.try_get("family_name")?,
            contact_id: Uuid::parse_str(&contact).unwrap_or_default(),
            phone: row.try_get("phone")?,
            context: parse_context(&context),
            created_at: row.try_get("created_at")?,
        }))
    }

    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, PortalError> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(Credentials {
                user_id: r.try_get("id")?,
                password_hash: r.try_get("password_hash")?,
            })),
        }
    }

    pub async fn create_session(
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

    pub async fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, PortalError> {
        let row = sqlx::query(
            "SELECT s.csrf_token, s.created_at, s.last_seen_at, u.email, u.given_name, \
             u.family_name, u.contact_id, u.phone, u.context_json \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
        )
        .bind(&id_hash[..])
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            csrf_token: r.try_get(0)?,
            created_at: r.try_get(1)?,
            last_seen_at: r.try_get(2)?,
            email: r.try_get(3)?,
            given_name: r.try_get(4)?,
            family_name: r.try_get(5)?,
            contact_id: r.try_get(6)?,
            phone: r.try_get(7)?,
            context_json: r.try_get(8)?,
        }))
    }

    pub async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), PortalError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), PortalError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(
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
