//! Storage behind one interface ([`Store`]): embedded SQLite ([`sqlite::SqliteStore`], the default)
//! and PostgreSQL ([`postgres::PgStore`], for several chat nodes sharing one database). [`open`]
//! picks one by the URL's scheme; the domain and the handlers see only the trait.
//!
//! Where a message is stored: [`Store::append_message`]. Sequence numbers are allocated in the same
//! transaction as the insert, so they count from 1 without gaps.

pub mod model;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

pub use model::*;

/// Storage errors. `NotFound`/`Conflict` are expected outcomes; the rest are failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// An error of the embedded SQLite engine (a constraint, a bad statement).
    #[error("database error: {0}")]
    Engine(String),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    Unsupported(String),
    /// The database could not store a write (disk full, I/O error, writer stopped): nothing of
    /// it was stored, and the same write may be tried again.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    /// Errors that mean "cannot store right now" (disk full, I/O error, read-only, locked, the
    /// connection gone) become [`StoreError::Unavailable`]; the rest stay `Database`.
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The primary result code is the low byte of SQLite's extended code: BUSY 5,
                // LOCKED 6, READONLY 8, IOERR 10, FULL 13, CANTOPEN 14.
                code.parse::<i64>()
                    .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
            } else {
                // SQLSTATE classes: 08 connection exception, 53 insufficient resources (disk
                // full), 57 operator intervention, 58 system error (I/O).
                ["08", "53", "57", "58"].iter().any(|c| code.starts_with(c))
            }
        }
        _ => false,
    }
}

/// Which back-end a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite:…` or `postgres://…` / `postgresql://…`; anything else is `Unsupported`.
    pub fn of_url(url: &str) -> StoreResult<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::Unsupported(format!(
                "scheme {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }
}

/// Opens (and migrates) the database a URL names: `sqlite://PATH` or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(sqlite::SqliteStore::open(url).await?),
        Backend::Postgres => Arc::new(postgres::PgStore::open(url).await?),
    })
}

/// Everything the chat service keeps. Implementations must be safe to share between tasks.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database answers (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Closes the connections: later calls fail ([`crate::ChatService::close_database`]).
    async fn close(&self) {}

    // --- chat authentication settings ---
    async fn insert_auth_settings(&self, s: &AuthSettings) -> StoreResult<()>;
    async fn update_auth_settings(&self, s: &AuthSettings) -> StoreResult<()>;
    async fn get_auth_settings(&self, id: Uuid) -> StoreResult<Option<AuthSettings>>;
    async fn list_auth_settings(&self) -> StoreResult<Vec<AuthSettings>>;

    // --- widgets ---
    async fn insert_widget(&self, w: &Widget) -> StoreResult<()>;
    async fn update_widget(&self, w: &Widget) -> StoreResult<()>;
    async fn get_widget(&self, app_id: Uuid) -> StoreResult<Option<Widget>>;
    async fn list_widgets(&self) -> StoreResult<Vec<Widget>>;

    // --- agents and their sign-in tokens (only hashes of tokens are stored) ---
    /// `Conflict` when the email is taken.
    async fn insert_agent(&self, a: &Agent, password_hash: &str) -> StoreResult<()>;
    /// The agent and its argon2id password hash.
    async fn find_agent_by_email(&self, email: &str) -> StoreResult<Option<(Agent, String)>>;
    async fn get_agent(&self, id: Uuid) -> StoreResult<Option<Agent>>;
    async fn insert_agent_token(
        &self,
        token_hash: &[u8],
        agent_id: Uuid,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The agent whose unexpired token has this hash.
    async fn find_agent_by_token(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<Agent>>;
    async fn delete_agent_token(&self, token_hash: &[u8]) -> StoreResult<()>;

    // --- contacts ---
    /// Creates the contact of (settings, external id) or updates its fields from fresh claims.
    async fn upsert_contact(
        &self,
        auth_settings_id: Uuid,
        external_id: &str,
        fields: &ContactFields,
        now: Millis,
    ) -> StoreResult<Contact>;
    async fn get_contact(&self, id: Uuid) -> StoreResult<Option<Contact>>;
    async fn activities_for_contact(&self, contact_id: Uuid) -> StoreResult<Vec<Activity>>;

    // --- conversations ---
    async fn insert_conversation(&self, c: &Conversation) -> StoreResult<()>;
    async fn get_conversation(&self, id: Uuid) -> StoreResult<Option<Conversation>>;
    /// The contact's conversation that is not ended, if any.
    async fn open_conversation_for_contact(
        &self,
        contact_id: Uuid,
    ) -> StoreResult<Option<Conversation>>;
    /// In one transaction: the open conversation of `c.contact_id` if there is one (returned with
    /// `false`), else `c` inserted (returned with `true`). Two browsers of one contact racing get one.
    async fn open_or_insert_conversation(
        &self,
        c: &Conversation,
    ) -> StoreResult<(Conversation, bool)>;
    async fn set_conversation_context(
        &self,
        id: Uuid,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()>;
    /// Newest first within the state filter; at most `limit`.
    async fn list_conversations(
        &self,
        state: Option<ConversationState>,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>>;
    /// Not ended, assigned to this agent, newest first, at most `limit`.
    async fn conversations_assigned_to(
        &self,
        agent_id: Uuid,
        limit: u32,
    ) -> StoreResult<Vec<Conversation>> {
        let mut list = self
            .list_conversations(Some(ConversationState::Active), limit)
            .await?;
        list.retain(|c| c.agent_id == Some(agent_id));
        Ok(list)
    }
    /// Appends a message, allocating the next `seq` in the same transaction. A resend with the same
    /// (sender, client_msg_id) returns the stored message with `duplicate = true` and stores nothing.
    /// An ended conversation refuses with `Conflict("ended")` (system messages of `end` excepted).
    async fn append_message(&self, m: &NewMessage) -> StoreResult<Appended>;
    /// Messages with `seq > after_seq`, in order, at most `limit`.
    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Assigns a waiting conversation to `agent_id` (conditional update: exactly one caller wins;
    /// the rest get `Conflict`) and appends the system message `joined_text`.
    async fn accept_conversation(
        &self,
        id: Uuid,
        agent_id: Uuid,
        joined_text: &str,
        now: Millis,
    ) -> StoreResult<(Conversation, Message)>;
    /// Ends a conversation: state `ended`, the system message `ended_text`, and (when it has a
    /// contact) the transcript activity — all in one transaction. `Conflict` if already ended.
    async fn end_conversation(&self, id: Uuid, ended_text: &str, now: Millis)
        -> StoreResult<Ended>;

    // --- customer sessions (only the hash of the session token is stored) ---
    /// A new customer session with what it needs: the contact upserted (when verified), the
    /// contact's open conversation joined (its context merged) or `start.conversation` created,
    /// and the session stored for that conversation. Back-ends that can do it in one transaction
    /// (and one commit) override this; the default takes one step at a time.
    async fn start_session(&self, start: SessionStart) -> StoreResult<SessionStarted> {
        let SessionStart {
            contact,
            mut conversation,
            max_context_entries,
            mut session,
        } = start;
        let now = session.created_at;
        let (conversation, created, contact) = match contact {
            Some(key) => {
                let contact = self
                    .upsert_contact(key.auth_settings_id, &key.external_id, &key.fields, now)
                    .await?;
                conversation.contact_id = Some(contact.id);
                let (mut open, created) = self.open_or_insert_conversation(&conversation).await?;
                if !created
                    && merge_context(
                        &mut open.context,
                        &conversation.context,
                        max_context_entries,
                    )
                {
                    self.set_conversation_context(open.id, &open.context)
                        .await?;
                }
                (open, created, Some(contact))
            }
            None => {
                self.insert_conversation(&conversation).await?;
                (conversation, true, None)
            }
        };
        session.conversation_id = conversation.id;
        self.insert_session(&session).await?;
        Ok(SessionStarted {
            contact,
            conversation,
            created,
        })
    }
    async fn insert_session(&self, s: &CustomerSession) -> StoreResult<()>;
    async fn find_session(
        &self,
        token_hash: &[u8],
        now: Millis,
    ) -> StoreResult<Option<CustomerSession>>;
    async fn update_session_jwt_exp(
        &self,
        token_hash: &[u8],
        jwt_exp: Option<i64>,
    ) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;

    // --- verification-failure diagnostics (never the token) ---
    /// Records a failure, counts it per reason, and keeps only the newest `keep` entries.
    async fn record_verification_failure(
        &self,
        f: &VerificationFailure,
        keep: u32,
    ) -> StoreResult<()>;
    async fn verification_failure_counts(&self) -> StoreResult<Vec<(String, i64)>>;
    async fn recent_verification_failures(
        &self,
        limit: u32,
    ) -> StoreResult<Vec<VerificationFailure>>;
}
