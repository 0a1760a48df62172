//! The portal's PostgreSQL back-end: connecting, and the [`Dialect`]'s few statements of its own
//! (`lower(email)` for the case-insensitive lookup). Every other query is [`SqlStore`]'s.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::Postgres;

use super::sql::{Dialect, SqlStore};
use crate::error::PortalError;

/// The PostgreSQL back-end.
pub(crate) type PgStore = SqlStore<Postgres>;

impl Dialect for Postgres {
    const FIND_USER: &'static str = "SELECT id, email, given_name, family_name, contact_id, \
         phone, context_json, created_at FROM users WHERE lower(email) = lower($1)";
    const CREDENTIALS: &'static str =
        "SELECT id AS user_id, password_hash FROM users WHERE lower(email) = lower($1)";

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
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
        Ok(SqlStore {
            pool,
            session_reader: None,
        })
    }
}
