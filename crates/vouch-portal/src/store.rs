//! Storage of users and sessions: the only place with SQL. [`Store`] is SQLite (embedded, the
//! default) or PostgreSQL ([`postgres`], `--database-url postgres://…`), with the same schema,
//! migrations semantics and behaviour.

mod postgres;
mod session_read;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::config::PortalConfig;
use crate::error::PortalError;
use crate::users::{User, ValidUser};

/// A user with the password hash, for sign-in only.
pub(crate) struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
}

/// A session joined with its user: what one `/token` call needs, from one indexed lookup.
pub(crate) struct SessionRecord {
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub contact_id: String,
    pub phone: Option<String>,
    pub context_json: String,
}

/// The portal's database: one of the two back-ends.
#[derive(Clone)]
pub(crate) enum Store {
    Sqlite(SqliteStore),
    Postgres(postgres::PgStore),
}

/// Calls the same method on whichever back-end this is.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$method($($arg),*).await,
            Store::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database `--database-url` names (`sqlite://PATH`, created when missing, or
    /// `postgres://…`) and applies the migrations.
    pub async fn open(config: &PortalConfig) -> Result<Store, PortalError> {
        let url = config.effective_database_url();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store::Postgres(postgres::PgStore::open(&url).await?));
        }
        if !url.starts_with("sqlite:") {
            return Err(PortalError::Config(
                "--database-url: use sqlite://PATH or postgres://USER@HOST/DB".into(),
            ));
        }
        Ok(Store::Sqlite(SqliteStore::open(&url).await?))
    }

    pub async fn ping(&self) -> Result<(), PortalError> {
        dispatch!(self.ping())
    }

    pub async fn close(&self) {
        dispatch!(self.close())
    }

    pub async fn insert_user(
        &self,
        u: &ValidUser,
        password_hash: &str,
        now: i64,
    ) -> Result<User, PortalError> {
        dispatch!(self.insert_user(u, password_hash, now))
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, PortalError> {
        dispatch!(self.find_user_by_email(email))
    }

    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, PortalError> {
        dispatch!(self.credentials(email))
    }

    pub async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        now: i64,
    ) -> Result<(), PortalError> {
        dispatch!(self.create_session(id_hash, user_id, csrf_token, now))
    }

    pub async fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, PortalError> {
        dispatch!(self.session(id_hash))
    }

    pub async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), PortalError> {
        dispatch!(self.touch_session(id_hash, now))
    }

    pub async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), PortalError> {
        dispatch!(self.delete_session(id_hash))
    }

    /// Removes sessions idle since `idle_before` or created before `created_before`.
    pub async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, PortalError> {
        dispatch!(self.delete_expired_sessions(idle_before, created_before))
    }
}

/// The embedded SQLite back-end.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// `/token`'s session read without sqlx's thread hand-off (see [`session_read`]); `None`
    /// for in-memory databases and URLs with parameters, which use sqlx alone.
    session_reader: Option<Arc<session_read::SessionReader>>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database and applies the migrations.
    async fn open(url: &str) -> Result<SqliteStore, PortalError> {
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
        match res {
            Ok(done) => Ok(User {
                id: done.last_insert_rowid(),
                email: u.email.clone(),
                given_name: u.given_name.clone(),
                family_name: u.family_name.clone(),
                contact_id: u.contact_id,
                phone: u.phone.clone(),
                context: parse_context(&u.context_json),
                created_at: now,
            }),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                if db.message().contains("contact_id") {
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
             FROM users WHERE email = ?",
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
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = ?")
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

    pub async fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, PortalError> {
        if let Some(reader) = &self.session_reader {
            match reader.session(id_hash) {
                Ok(found) => return Ok(found),
                // Busy or failed: the sqlx path below waits and reports as it always did.
                Err(e) => tracing::debug!(error = %e, "direct session read failed; using sqlx"),
            }
        }
        let row = sqlx::query(
            "SELECT s.csrf_token, s.created_at, s.last_seen_at, u.email, u.given_name, \
             u.family_name, u.contact_id, u.phone, u.context_json \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
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
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(now)
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), PortalError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(&id_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes sessions idle since `idle_before` or created before `created_before`.
    pub async fn delete_expired_sessions(
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

pub(crate) fn parse_context(json: &str) -> Map<String, Value> {
    serde_json::from_str(json).unwrap_or_default()
}
