//! The PostgreSQL back-end, for several chat nodes sharing one database: the same schema and
//! behaviour as [`super::sqlite`]. Each flow ([`super::flows`]) runs in one transaction on its
//! steps ([`steps`], where the row locks that make it hold across nodes are listed); every other
//! method is one statement on the pool.

mod attachments;
mod canned;
mod desk;
mod notes;
mod offline;
mod pipeline;
mod ratings;
mod reports;
mod search;
mod steps;
mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

use super::flows::{self, contact_key};
use super::rows::{cols, json_text};
use super::*;
use steps::{all, one, PgSteps};

/// The contact's newest conversation that has not ended.
const OPEN_CONVERSATION: &str = concat!(
    "SELECT ",
    cols!(conversation),
    " FROM conversations WHERE contact_id = $1 AND state <> 'ended' ORDER BY created_at DESC LIMIT 1"
);

/// The PostgreSQL back-end of every capability of [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and runs the migrations (sqlx serializes concurrent
    /// migrators with an advisory lock, so several nodes may start at once).
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, 16).await
    }

    /// As [`PgStore::open`] with a pool of at most `max_connections`.
    pub async fn open_with(url: &str, max_connections: u32) -> StoreResult<Self> {
        let opts: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction for a flow's steps.
    async fn begin(&self) -> StoreResult<PgSteps> {
        Ok(PgSteps(self.pool.begin().await?))
    }
}

#[async_trait]
impl Lifecycle for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl SettingsStore for PgStore {
    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO auth_settings (",
            cols!(auth_settings),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(sql)
            .bind(s.id)
            .bind(&s.name)
            .bind(&s.public_key_url)
            .bind(&s.function_name)
            .bind(&s.issuer)
            .bind(s.leeway_secs as i64)
            .bind(s.key_count as i64)
            .bind(s.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE auth_settings SET name = $1, public_key_url = $2, function_name = $3, issuer = $4, leeway_secs = $5, key_count = $6 WHERE id = $7",
        )
        .bind(&s.name)
        .bind(&s.public_key_url)
        .bind(&s.function_name)
        .bind(&s.issuer)
        .bind(s.leeway_secs as i64)
        .bind(s.key_count as i64)
        .bind(s.id)
        .execute(&self.pool)
        .await?;
        updated(done.rows_affected())
    }

    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>> {
        let sql = concat!(
            "SELECT ",
            cols!(auth_settings),
            " FROM auth_settings WHERE id = $1"
        );
        one(sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>> {
        let sql = concat!(
            "SELECT ",
            cols!(auth_settings),
            " FROM auth_settings ORDER BY created_at, id"
        );
        all(sqlx::query(sql).fetch_all(&self.pool).await?)
    }

    async fn insert_widget(&self, w: &Widget) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO widgets (",
            cols!(widget),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        sqlx::query(sql)
            .bind(w.app_id)
            .bind(&w.name)
            .bind(json_text(&w.allowed_origins)?)
            .bind(w.auth_settings_id)
            .bind(w.require_auth)
            .bind(&w.title)
            .bind(w.created_at)
            .bind(w.business_hours.as_ref().map(json_text).transpose()?)
            .bind(&w.offline_message)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn update_widget(&self, w: &Widget) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE widgets SET name = $1, allowed_origins = $2, auth_settings_id = $3, require_auth = $4, title = $5, business_hours = $6, offline_message = $7 WHERE app_id = $8",
        )
        .bind(&w.name)
        .bind(json_text(&w.allowed_origins)?)
        .bind(w.auth_settings_id)
        .bind(w.require_auth)
        .bind(&w.title)
        .bind(w.business_hours.as_ref().map(json_text).transpose()?)
        .bind(&w.offline_message)
        .bind(w.app_id)
        .execute(&self.pool)
        .await?;
        updated(done.rows_affected())
    }

    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>> {
        let sql = concat!("SELECT ", cols!(widget), " FROM widgets WHERE app_id = $1");
        one(sqlx::query(sql)
            .bind(app_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_widgets(&self) -> StoreResult<Vec<Widget>> {
        let sql = concat!(
            "SELECT ",
            cols!(widget),
            " FROM widgets ORDER BY created_at, app_id"
        );
        all(sqlx::query(sql).fetch_all(&self.pool).await?)
    }
}

#[async_trait]
impl AgentStore for PgStore {
    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()> {
        let sql = concat!(
            "INSERT INTO agents (",
            cols!(agent),
            ", password_hash) VALUES ($1, $2, $3, $4, $5, $6)"
        );
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query(sql)
            .bind(a.id)
            .bind(&a.email)
            .bind(&a.name)
            .bind(a.role.as_str())
            .bind(a.created_at)
            .bind(password_hash)
            .execute(&mut *tx)
            .await;
        match res {
            Ok(_) => {}
            Err(e) if vouch_db::is_unique_violation(&e) => {
                return Err(StoreError::Conflict(Conflict::EmailTaken(a.email.clone())))
            }
            Err(e) => return Err(e.into()),
        }
        // Every new agent works the default queue until an admin says otherwise.
        sqlx::query(
            "INSERT INTO queue_members (queue_id, agent_id) SELECT id, $1 FROM queues WHERE is_default",
        )
        .bind(a.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_agent_by_email(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let sql = concat!(
            "SELECT ",
            cols!(agent),
            ", password_hash FROM agents WHERE email = $1 AND active"
        );
        one(sqlx::query(sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>> {
        let sql = concat!("SELECT ", cols!(agent), " FROM agents WHERE id = $1");
        one(sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn insert_agent_token(
        &self,
        token_hash: &[u8],
        agent_id: Uuid,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM agent_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO agent_tokens (token_hash, agent_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(agent_id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_agent_by_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<Agent>> {
        let sql = concat!(
            "SELECT ",
            cols!(agent),
            " FROM agents WHERE id = (SELECT agent_id FROM agent_tokens WHERE token_hash = $1 AND expires_at > $2) AND active"
        );
        let row = sqlx::query(sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        one(row)
    }

    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM agent_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl ContactStore for PgStore {
    async fn upsert_contact(
        &self,
        auth_settings_id: Uuid,
        external_id: &str,
        f: &ContactFields,
        now: Millis,
    ) -> StoreResult<Contact> {
        use super::flows::Steps;
        let mut tx = self.begin().await?;
        let contact = tx
            .upsert_contact(&contact_key(auth_settings_id, external_id, f), now)
            .await?;
        tx.commit().await?;
        Ok(contact)
    }

    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>> {
        let sql = concat!("SELECT ", cols!(contact), " FROM contacts WHERE id = $1");
        one(sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>> {
        let sql = concat!(
            "SELECT ",
            cols!(activity),
            " FROM activities WHERE contact_id = $1 ORDER BY created_at DESC, id"
        );
        all(sqlx::query(sql)
            .bind(contact_id)
            .fetch_all(&self.pool)
            .await?)
    }
}

#[async_trait]
impl ConversationStore for PgStore {
    async fn insert_conversation(&self, c: &Conversation) -> StoreResult<()> {
        use super::flows::Steps;
        let mut tx = self.begin().await?;
        tx.insert_conversation(c).await?;
        tx.commit().await
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        let sql = concat!(
            "SELECT ",
            cols!(conversation),
            " FROM conversations WHERE id = $1"
        );
        one(sqlx::query(sql).bind(id).fetch_optional(&self.pool).await?)
    }

    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>> {
        let row = sqlx::query(OPEN_CONVERSATION)
            .bind(contact_id)
            .fetch_optional(&self.pool)
            .await?;
        one(row)
    }

    async fn open_or_insert_conversation(
        &self,
        c: &Conversation,
    ) -> StoreResult<(Conversation, bool)> {
        let mut tx = self.begin().await?;
        let out = flows::open_or_insert(&mut tx, c).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE conversations SET context = $1 WHERE id = $2")
            .bind(json_text(context)?)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_conversations(
        &self,
        state: Option<ConversationState>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let rows = match state {
            Some(s) => {
                let sql = concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE state = $1 ORDER BY created_at DESC, id LIMIT $2"
                );
                sqlx::query(sql)
                    .bind(s.as_str())
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations ORDER BY created_at DESC, id LIMIT $1"
                );
                sqlx::query(sql)
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        all(rows)
    }

    async fn conversations_assigned_to(
        &self,
        agent_id: Uuid,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let sql = concat!(
            "SELECT ",
            cols!(conversation),
            " FROM conversations WHERE agent_id = $1 AND state <> 'ended' ORDER BY created_at DESC, id LIMIT $2"
        );
        let rows = sqlx::query(sql)
            .bind(agent_id)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        all(rows)
    }

    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended> {
        let mut tx = self.begin().await?;
        let appended = flows::append(&mut tx, m).await?;
        tx.commit().await?;
        Ok(appended)
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let sql = concat!(
            "SELECT ",
            cols!(message),
            " FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let rows = sqlx::query(sql)
            .bind(conversation_id)
            .bind(after_seq)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        all(rows)
    }

    async fn accept_conversation(
        &self,
        id: Uuid,
        agent_id: Uuid,
        joined_text: &str,
        now: Millis,
    ) -> StoreResult<(Conversation, Message)> {
        let mut tx = self.begin().await?;
        let accepted = flows::accept(&mut tx, id, agent_id, joined_text, now).await?;
        tx.commit().await?;
        Ok(accepted)
    }

    async fn end_conversation(
        &self,
        id: Uuid,
        ended_text: &str,
        now: Millis,
    ) -> StoreResult<Ended> {
        let mut tx = self.begin().await?;
        let ended = flows::end(&mut tx, id, ended_text, now).await?;
        tx.commit().await?;
        Ok(ended)
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn start_session(&self, start: SessionStart) -> StoreResult<SessionStarted> {
        let mut tx = self.begin().await?;
        let started = flows::start_session(&mut tx, start).await?;
        tx.commit().await?;
        Ok(started)
    }

    async fn insert_session(&self, s: &CustomerSession) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        flows::insert_session(&mut tx, s).await?;
        tx.commit().await
    }

    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>> {
        let sql = concat!(
            "SELECT ",
            cols!(session),
            " FROM customer_sessions WHERE token_hash = $1 AND expires_at > $2"
        );
        let row = sqlx::query(sql)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        one(row)
    }

    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE customer_sessions SET jwt_exp = $1 WHERE token_hash = $2")
            .bind(jwt_exp)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query("DELETE FROM customer_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl DiagnosticsStore for PgStore {
    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        flows::record_failure(&mut tx, f, keep).await?;
        tx.commit().await
    }

    async fn verification_failure_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        let sql = "SELECT reason, count FROM verification_failure_counts ORDER BY reason";
        all(sqlx::query(sql).fetch_all(&self.pool).await?)
    }

    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>> {
        let sql = concat!(
            "SELECT ",
            cols!(failure),
            " FROM verification_failures ORDER BY id DESC LIMIT $1"
        );
        all(sqlx::query(sql)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?)
    }
}
