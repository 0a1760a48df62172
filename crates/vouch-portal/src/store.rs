//! Storage of users and sessions: where the portal's SQL lives (this module and the two
//! back-ends below it). The capabilities are small traits — [`UserStore`], [`SessionStore`] and
//! [`Lifecycle`] (ping, close) — and [`PortalStore`] is all of them; SQLite ([`sqlite`], embedded,
//! the default) and PostgreSQL ([`postgres`], `--database-url postgres://…`) implement them with
//! the same schema, migration semantics and behaviour. [`Store`] is the handle the portal holds;
//! [`Store::open`] picks the back-end by the URL's scheme ([`vouch_db::Backend`]).
//!
//! What both back-ends map the same way is written once here: a user row (read as a tuple, which
//! sqlx decodes on either back-end), credentials and a session (`sqlx::FromRow`), and a new
//! user or the unique key that refused it.

mod postgres;
mod session_read;
mod sqlite;

use std::ops::Deref;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;
use vouch_db::Backend;

use crate::config::PortalConfig;
use crate::error::PortalError;
use crate::users::{User, ValidUser};

/// A user with the password hash, for sign-in only: `SELECT id AS user_id, password_hash`.
#[derive(sqlx::FromRow)]
pub(crate) struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
}

/// A session joined with its user: what one `/token` call needs, from one indexed lookup
/// (columns named as the fields).
#[derive(sqlx::FromRow)]
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

/// The connection itself.
#[async_trait]
pub(crate) trait Lifecycle: Send + Sync + 'static {
    /// Answers when the database answers (`/readyz`).
    async fn ping(&self) -> Result<(), PortalError>;
    /// Closes the connections: later calls fail.
    async fn close(&self);
}

/// Website users (only password hashes are stored).
#[async_trait]
pub(crate) trait UserStore: Send + Sync + 'static {
    /// `DuplicateEmail` / `DuplicateContactId` when either is taken.
    async fn insert_user(
        &self,
        u: &ValidUser,
        password_hash: &str,
        now: i64,
    ) -> Result<User, PortalError>;
    /// The user with this email, compared without regard to case.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, PortalError>;
    async fn credentials(&self, email: &str) -> Result<Option<Credentials>, PortalError>;
}

/// Sign-in sessions (only hashes of session ids are stored).
#[async_trait]
pub(crate) trait SessionStore: Send + Sync + 'static {
    async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user_id: i64,
        csrf_token: &str,
        now: i64,
    ) -> Result<(), PortalError>;
    async fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>, PortalError>;
    async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), PortalError>;
    async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), PortalError>;
    /// Removes sessions idle since `idle_before` or created before `created_before`.
    async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, PortalError>;
}

/// Every capability at once: what a back-end is. Implemented for every type that has them all.
pub(crate) trait PortalStore: Lifecycle + UserStore + SessionStore {}

impl<T: Lifecycle + UserStore + SessionStore> PortalStore for T {}

/// The portal's database, shared by its tasks: one of the two back-ends.
#[derive(Clone)]
pub(crate) struct Store(Arc<dyn PortalStore>);

impl Deref for Store {
    type Target = dyn PortalStore;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl Store {
    /// Opens the database `--database-url` names (`sqlite://PATH`, created when missing, or
    /// `postgres://…`) and applies the migrations.
    pub async fn open(config: &PortalConfig) -> Result<Store, PortalError> {
        let url = config.effective_database_url();
        Ok(Store(match Backend::of_url(&url) {
            Ok(Backend::Postgres) => Arc::new(postgres::PgStore::open(&url).await?),
            Ok(Backend::Sqlite) => Arc::new(sqlite::SqliteStore::open(&url).await?),
            Err(_) => {
                return Err(PortalError::Config(
                    "--database-url: use sqlite://PATH or postgres://USER@HOST/DB".into(),
                ))
            }
        }))
    }
}

pub(crate) fn parse_context(json: &str) -> Map<String, Value> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A user row as both back-ends select it:
/// `id, email, given_name, family_name, contact_id, phone, context_json, created_at`.
pub(crate) type UserRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
);

pub(crate) fn user_of(row: UserRow) -> User {
    let (id, email, given_name, family_name, contact, phone, context, created_at) = row;
    User {
        id,
        email,
        given_name,
        family_name,
        contact_id: Uuid::parse_str(&contact).unwrap_or_default(),
        phone,
        context: parse_context(&context),
        created_at,
    }
}

/// The user `u` stored with `id`, or why it was refused: the outcome of either back-end's insert.
pub(crate) fn inserted_user(
    res: Result<i64, sqlx::Error>,
    u: &ValidUser,
    now: i64,
) -> Result<User, PortalError> {
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
            // SQLite names the column in its message; PostgreSQL names the constraint.
            let on_contact = db.message().contains("contact_id")
                || db.constraint().unwrap_or_default().contains("contact_id");
            if on_contact {
                Err(PortalError::DuplicateContactId(u.contact_id))
            } else {
                Err(PortalError::DuplicateEmail(u.email.clone()))
            }
        }
        Err(e) => Err(e.into()),
    }
}
