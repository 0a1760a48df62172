//! The embedded SQLite back-end: WAL, `synchronous=FULL`, foreign keys on.
//!
//! Every write goes to one writer connection on its own thread, which stores the writes queued at
//! the same time by GROUP COMMIT — one transaction, one fsync of the WAL for the batch, every
//! caller answered only after the commit that covers its write ([`writer`]). Seqs are allocated
//! inside that transaction, so they stay gapless per conversation, and a resend within the same
//! batch sees the first copy. Reads run on a few read-only connections ([`readers`]).
//!
//! A write of several statements is a flow ([`super::flows`]) run inside its write's savepoint on
//! [`steps`], this back-end's SQL; every other method is one statement (or two) here.
//!
//! sqlx creates the file and runs the migrations (so existing databases carry on); the queries
//! themselves use `rusqlite` — see [`writer`] for why.

mod attachments;
mod canned;
mod desk;
mod notes;
mod offline;
mod pipeline;
mod ratings;
mod readers;
mod reports;
mod search;
mod steps;
mod webhooks;
mod writer;

use std::path::PathBuf;
use std::str::FromStr;

use async_trait::async_trait;
use rusqlite::{params, Connection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions;
use uuid::Uuid;

pub use writer::MAX_BATCH;

use super::flows::{self, contact_key, ready};
use super::rows::{cols, json_text};
use super::*;
use readers::Readers;
use steps::{conversation, execute, open_conversation, query_all, query_one, Id, SqliteSteps};
use writer::{is_unique_violation, Writer};

/// The SQLite back-end of every capability of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    readers: Readers,
    writer: Writer,
    /// Where attachments' bytes are kept: `attachments/` beside the database file.
    files: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `url` (`sqlite://PATH`) and runs the
    /// migrations. An in-memory database is refused: the chat service's answers promise that
    /// messages are on disk.
    pub async fn open(url: &str) -> StoreResult<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Unsupported(
                "an in-memory SQLite database keeps nothing: use sqlite://PATH to a file".into(),
            ));
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let path: PathBuf = opts.get_filename().to_path_buf();
        let mut migrator = opts.connect().await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut migrator)
            .await?;
        sqlx::Connection::close(migrator).await?;
        Ok(SqliteStore {
            readers: Readers::new(&path),
            writer: Writer::start(&path)?,
            files: attachments::files_dir(&path),
        })
    }

    async fn read<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.readers.run(query).await
    }

    /// A one-row lookup by key, on the calling task ([`Readers::lookup`]).
    fn lookup<T>(&self, query: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.readers.lookup(query)
    }

    async fn write<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.run(write).await
    }
}

#[async_trait]
impl Lifecycle for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.prepare_cached("SELECT 1")?.query_row([], |_| Ok(()))?))
            .await
    }

    async fn close(&self) {
        self.readers.close();
        self.writer.close();
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            execute(
                c,
                concat!(
                    "INSERT INTO auth_settings (",
                    cols!(auth_settings),
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                params![
                    Id::of(s.id),
                    s.name,
                    s.public_key_url,
                    s.function_name,
                    s.issuer,
                    s.leeway_secs as i64,
                    s.key_count as i64,
                    s.created_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE auth_settings SET name = ?, public_key_url = ?, function_name = ?, issuer = ?, leeway_secs = ?, key_count = ? WHERE id = ?",
                params![
                    s.name,
                    s.public_key_url,
                    s.function_name,
                    s.issuer,
                    s.leeway_secs as i64,
                    s.key_count as i64,
                    Id::of(s.id)
                ],
            )? as u64)
        })
        .await
    }

    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    cols!(auth_settings),
                    " FROM auth_settings WHERE id = ?"
                ),
                [Id::of(id)],
            )
        })
    }

    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(auth_settings),
                    " FROM auth_settings ORDER BY created_at, id"
                ),
                [],
            )
        })
        .await
    }

    async fn insert_widget(&self, w: &Widget) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |c| {
            execute(
                c,
                concat!(
                    "INSERT INTO widgets (",
                    cols!(widget),
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                params![
                    Id::of(w.app_id),
                    w.name,
                    json_text(&w.allowed_origins)?,
                    Id::opt(w.auth_settings_id),
                    w.require_auth,
                    w.title,
                    w.created_at,
                    w.business_hours.as_ref().map(json_text).transpose()?,
                    w.offline_message
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_widget(&self, w: &Widget) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |c| {
            updated(execute(
                c,
                "UPDATE widgets SET name = ?, allowed_origins = ?, auth_settings_id = ?, require_auth = ?, title = ?, business_hours = ?, offline_message = ? WHERE app_id = ?",
                params![
                    w.name,
                    json_text(&w.allowed_origins)?,
                    Id::opt(w.auth_settings_id),
                    w.require_auth,
                    w.title,
                    w.business_hours.as_ref().map(json_text).transpose()?,
                    w.offline_message,
                    Id::of(w.app_id)
                ],
            )? as u64)
        })
        .await
    }

    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!("SELECT ", cols!(widget), " FROM widgets WHERE app_id = ?"),
                [Id::of(app_id)],
            )
        })
    }

    async fn list_widgets(&self) -> StoreResult<Vec<Widget>> {
        self.read(|c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(widget),
                    " FROM widgets ORDER BY created_at, app_id"
                ),
                [],
            )
        })
        .await
    }
}

#[async_trait]
impl AgentStore for SqliteStore {
    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()> {
        let (a, password_hash) = (a.clone(), password_hash.to_string());
        self.write(move |c| {
            let res = c
                .prepare_cached(concat!(
                    "INSERT INTO agents (",
                    cols!(agent),
                    ", password_hash) VALUES (?, ?, ?, ?, ?, ?)"
                ))?
                .execute(params![
                    Id::of(a.id),
                    a.email,
                    a.name,
                    a.role.as_str(),
                    a.created_at,
                    password_hash
                ]);
            match res {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(Conflict::EmailTaken(a.email)))
                }
                Err(e) => return Err(e.into()),
            }
            // Every new agent works the default queue until an admin says otherwise.
            execute(
                c,
                "INSERT INTO queue_members (queue_id, agent_id) SELECT id, ? FROM queues WHERE is_default = 1",
                [Id::of(a.id)],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_agent_by_email(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        let email = email.to_string();
        self.read(move |c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    cols!(agent),
                    ", password_hash FROM agents WHERE email = ? AND active = 1"
                ),
                [email],
            )
        })
        .await
    }

    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!("SELECT ", cols!(agent), " FROM agents WHERE id = ?"),
                [Id::of(id)],
            )
        })
    }

    async fn insert_agent_token(
        &self,
        token_hash: &[u8],
        agent_id: Uuid,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        let now = now_millis();
        self.write(move |c| {
            execute(c, "DELETE FROM agent_tokens WHERE expires_at <= ?", [now])?;
            execute(
                c,
                "INSERT INTO agent_tokens (token_hash, agent_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                params![token_hash, Id::of(agent_id), expires_at, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn find_agent_by_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<Agent>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    cols!(agent),
                    " FROM agents WHERE id = (SELECT agent_id FROM agent_tokens WHERE token_hash = ? AND expires_at > ?) AND active = 1"
                ),
                params![token_hash, now],
            )
        })
    }

    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |c| {
            execute(
                c,
                "DELETE FROM agent_tokens WHERE token_hash = ?",
                [token_hash],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl ContactStore for SqliteStore {
    async fn upsert_contact(
        &self,
        auth_settings_id: Uuid,
        external_id: &str,
        f: &ContactFields,
        now: Millis,
    ) -> StoreResult<Contact> {
        use super::flows::Steps;
        let key = contact_key(auth_settings_id, external_id, f);
        self.write(move |c| ready(SqliteSteps(c).upsert_contact(&key, now)))
            .await
    }

    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!("SELECT ", cols!(contact), " FROM contacts WHERE id = ?"),
                [Id::of(id)],
            )
        })
    }

    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(activity),
                    " FROM activities WHERE contact_id = ? ORDER BY created_at DESC, id"
                ),
                [Id::of(contact_id)],
            )
        })
        .await
    }
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn insert_conversation(&self, conv: &Conversation) -> StoreResult<()> {
        use super::flows::Steps;
        let conv = conv.clone();
        self.write(move |c| ready(SqliteSteps(c).insert_conversation(&conv)))
            .await
    }

    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>> {
        self.lookup(|c| conversation(c, id))
    }

    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>> {
        self.read(move |c| open_conversation(c, contact_id)).await
    }

    async fn open_or_insert_conversation(
        &self,
        conv: &Conversation,
    ) -> StoreResult<(Conversation, bool)> {
        let conv = conv.clone();
        self.write(move |c| ready(flows::open_or_insert(&mut SqliteSteps(c), &conv)))
            .await
    }

    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()> {
        use super::flows::Steps;
        let context = context.clone();
        self.write(move |c| ready(SqliteSteps(c).set_context(id, &context)))
            .await
    }

    async fn list_conversations(
        &self,
        state: Option<ConversationState>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.read(move |c| match state {
            Some(s) => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE state = ? ORDER BY created_at DESC, id LIMIT ?"
                ),
                params![s.as_str(), limit as i64],
            ),
            None => query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations ORDER BY created_at DESC, id LIMIT ?"
                ),
                [limit as i64],
            ),
        })
        .await
    }

    async fn conversations_assigned_to(
        &self,
        agent_id: Uuid,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(conversation),
                    " FROM conversations WHERE agent_id = ? AND state != 'ended' ORDER BY created_at DESC, id LIMIT ?"
                ),
                params![Id::of(agent_id), limit as i64],
            )
        })
        .await
    }

    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended> {
        let m = m.clone();
        self.write(move |c| ready(flows::append(&mut SqliteSteps(c), &m)))
            .await
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(message),
                    " FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?"
                ),
                params![Id::of(conversation_id), after_seq, limit as i64],
            )
        })
        .await
    }

    async fn accept_conversation(
        &self,
        id: Uuid,
        agent_id: Uuid,
        joined_text: &str,
        now: Millis,
    ) -> StoreResult<(Conversation, Message)> {
        let joined_text = joined_text.to_string();
        self.write(move |c| {
            ready(flows::accept(
                &mut SqliteSteps(c),
                id,
                agent_id,
                &joined_text,
                now,
            ))
        })
        .await
    }

    async fn end_conversation(
        &self,
        id: Uuid,
        ended_text: &str,
        now: Millis,
    ) -> StoreResult<Ended> {
        let ended_text = ended_text.to_string();
        self.write(move |c| ready(flows::end(&mut SqliteSteps(c), id, &ended_text, now)))
            .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    /// One write of the writer: one commit for the whole session.
    async fn start_session(&self, start: SessionStart) -> StoreResult<SessionStarted> {
        self.write(move |c| ready(flows::start_session(&mut SqliteSteps(c), start)))
            .await
    }

    async fn insert_session(&self, s: &CustomerSession) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| ready(flows::insert_session(&mut SqliteSteps(c), &s)))
            .await
    }

    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>> {
        self.lookup(|c| {
            query_one(
                c,
                concat!(
                    "SELECT ",
                    cols!(session),
                    " FROM customer_sessions WHERE token_hash = ? AND expires_at > ?"
                ),
                params![token_hash, now],
            )
        })
    }

    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |c| {
            execute(
                c,
                "UPDATE customer_sessions SET jwt_exp = ? WHERE token_hash = ?",
                params![jwt_exp, token_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |c| {
            execute(
                c,
                "DELETE FROM customer_sessions WHERE token_hash = ?",
                [token_hash],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl DiagnosticsStore for SqliteStore {
    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()> {
        let f = f.clone();
        self.write(move |c| ready(flows::record_failure(&mut SqliteSteps(c), &f, keep)))
            .await
    }

    async fn verification_failure_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        self.read(|c| {
            query_all(
                c,
                "SELECT reason, count FROM verification_failure_counts ORDER BY reason",
                [],
            )
        })
        .await
    }

    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>> {
        self.read(move |c| {
            query_all(
                c,
                concat!(
                    "SELECT ",
                    cols!(failure),
                    " FROM verification_failures ORDER BY id DESC LIMIT ?"
                ),
                [limit as i64],
            )
        })
        .await
    }
}
